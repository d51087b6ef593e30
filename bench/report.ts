// Turns repeated runs into best-of numbers, the side-by-side table, the issue's targets, and
// the JSON record.
import type { Measurement, RunResult } from './runners.js';

/** tuml-cpu0: tuml and all its guests pinned to one CPU (--pinned), to show what placement costs. */
export const ENVS = ['native', 'tuml', 'uml', 'tuml-cpu0'] as const;
export type Env = (typeof ENVS)[number];

/** Rates and throughputs are better when higher; everything else is a time. */
export function higherIsBetter(unit: string): boolean {
  return unit === 'per_s' || unit === 'MB/s';
}

export interface MetricRow {
  metric: string;
  unit: string;
  best: Partial<Record<Env, number>>;
  all: Partial<Record<Env, number[]>>;
}

/** Best of all runs per metric and environment, in ubench's order of first appearance. */
export function bestOf(runs: readonly RunResult[]): MetricRow[] {
  const rows = new Map<string, MetricRow>();
  for (const run of runs) {
    const env = run.env as Env;
    for (const [metric, m] of run.metrics) {
      let row = rows.get(metric);
      if (!row) rows.set(metric, (row = { metric, unit: m.unit, best: {}, all: {} }));
      (row.all[env] ??= []).push(m.value);
    }
  }
  for (const row of rows.values()) {
    const pick = higherIsBetter(row.unit) ? Math.max : Math.min;
    for (const env of ENVS) {
      const v = row.all[env];
      if (v?.length) row.best[env] = pick(...v);
    }
  }
  return [...rows.values()];
}

/** How many times slower `a` is than `b` (>1: slower), whatever the unit's direction. */
export function slowdown(unit: string, a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || a <= 0 || b <= 0) return undefined;
  return higherIsBetter(unit) ? b / a : a / b;
}

export interface Floor {
  /** ns per trapped getppid under the bare C tracer, by placement and trap kind. */
  ns: Record<string, Record<string, number>>;
}

export interface Target {
  name: string;
  rule: string;
  tuml?: number;
  reference?: number;
  limit?: number;
  unit: string;
  met: boolean | null;
  note?: string;
}

export function targets(rows: readonly MetricRow[], floor: Floor, umlRan: boolean): Target[] {
  const get = (metric: string, env: Env) => rows.find((r) => r.metric === metric)?.best[env];
  const out: Target[] = [];
  const floorNs = floor.ns.any?.seccomp_trace_cont_ns;
  const trap = get('getppid_ns', 'tuml');
  out.push(within('trapped syscall (getppid)', trap, floorNs, 1.3, 'ns', '≤ 1.3× bare C ptrace round trip (seccomp RET_TRACE + PTRACE_CONT)'));
  // Both sides on one CPU: what tuml adds to the round trip, without the placement lottery.
  const pinned = get('getppid_ns', 'tuml-cpu0');
  if (pinned !== undefined) out.push(within('trapped syscall, 1 CPU', pinned, floor.ns.same?.seccomp_trace_cont_ns, 1.3, 'ns', '≤ 1.3× the same round trip with both on one CPU'));
  out.push(within('clock_gettime (vDSO)', get('clock_gettime_vdso_ns', 'tuml'), get('clock_gettime_vdso_ns', 'native'), 1.2, 'ns', '≤ 1.2× native'));
  out.push(within('page fault', get('pagefault_ns', 'tuml'), get('pagefault_ns', 'native'), 1.2, 'ns', '≤ 1.2× native'));
  for (const [name, metric] of [['fork+exec+wait', 'fork_exec_wait_us'], ['pipe ping-pong (64 B)', 'pipe_pingpong64_us']] as const) {
    const t = get(metric, 'tuml');
    const u = get(metric, 'uml');
    const target: Target = { name, rule: 'faster than UML', tuml: t, reference: u, limit: u, unit: 'us', met: null };
    if (!umlRan) target.note = 'UML not run';
    else if (t !== undefined && u !== undefined) target.met = t < u;
    out.push(target);
  }
  return out;
}

function within(name: string, value: number | undefined, ref: number | undefined, factor: number, unit: string, rule: string): Target {
  const t: Target = { name, rule, tuml: value, reference: ref, unit, met: null };
  if (value !== undefined && ref !== undefined) {
    t.limit = ref * factor;
    t.met = value <= t.limit;
  }
  return t;
}

// ---- text ----

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 100) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function ratio(v: number | undefined): string {
  return v === undefined ? '—' : `${v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2)}×`;
}

function table(header: string[], lines: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ');
  return [row(header), w.map((n) => '-'.repeat(n)).join('-|-'), ...lines.map(row)].join('\n');
}

export function metricsTable(rows: readonly MetricRow[]): string {
  const pinned = rows.some((r) => r.best['tuml-cpu0'] !== undefined);
  return table(
    ['metric', 'unit', 'native', 'tuml', 'UML', 'tuml/native', 'tuml/UML', ...(pinned ? ['tuml 1 CPU'] : [])],
    rows.map((r) => [
      r.metric, r.unit, fmt(r.best.native), fmt(r.best.tuml), fmt(r.best.uml),
      ratio(slowdown(r.unit, r.best.tuml, r.best.native)), ratio(slowdown(r.unit, r.best.tuml, r.best.uml)),
      ...(pinned ? [fmt(r.best['tuml-cpu0'])] : []),
    ]),
  );
}

export function floorLines(floor: Floor): string {
  const us = (ns: number | undefined) => (ns === undefined ? '—' : `${(ns / 1000).toFixed(1)} µs`);
  const parts = (kind: string) =>
    (['any', 'same', 'cross'] as const)
      .filter((p) => floor.ns[p])
      .map((p) => `${p === 'any' ? 'as scheduled' : p === 'same' ? 'same CPU' : 'across CPUs'} ${us(floor.ns[p]?.[kind])}`)
      .join(', ');
  return [
    `bare C ptrace round trip, seccomp RET_TRACE + PTRACE_CONT: ${parts('seccomp_trace_cont_ns')}`,
    `bare C ptrace round trip, PTRACE_SYSEMU:                   ${parts('sysemu_ns')}`,
  ].join('\n');
}

export function targetsTable(ts: readonly Target[]): string {
  return table(
    ['target', 'rule', 'tuml', 'limit', 'status'],
    ts.map((t) => [
      t.name, t.rule, t.tuml === undefined ? '—' : `${fmt(t.tuml)} ${t.unit}`,
      t.limit === undefined ? '—' : `${fmt(t.limit)} ${t.unit}`,
      t.met === null ? `n/a${t.note ? ` (${t.note})` : ''}` : t.met ? 'met' : 'NOT MET',
    ]),
  );
}

export function toJson(meta: Record<string, unknown>, rows: readonly MetricRow[], floor: Floor, ts: readonly Target[], runs: readonly RunResult[]): unknown {
  return {
    ...meta,
    metrics: Object.fromEntries(rows.map((r) => [r.metric, {
      unit: r.unit, ...r.best,
      tuml_over_native: slowdown(r.unit, r.best.tuml, r.best.native),
      tuml_over_uml: slowdown(r.unit, r.best.tuml, r.best.uml),
      runs: r.all,
    }])),
    ptrace_floor_ns: floor.ns,
    targets: ts,
    errors: runs.filter((r) => r.error).map((r) => ({ env: r.env, error: r.error })),
    wall_seconds: Object.fromEntries(ENVS.map((e) => [e, runs.filter((r) => r.env === e).map((r) => Math.round(r.wallSeconds * 10) / 10)])),
  };
}

export type { Measurement };
