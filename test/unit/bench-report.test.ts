// The benchmark's arithmetic: ubench's output parsed, best of runs chosen in the right
// direction per unit, slowdowns, and the engine issue's targets judged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResults, type RunResult } from '../../bench/runners.js';
import { bestOf, slowdown, targets } from '../../bench/report.js';

const run = (env: string, text: string): RunResult => ({ env, metrics: parseResults(text), wallSeconds: 1 });

test('RESULT lines are parsed, console carriage returns and noise ignored', () => {
  const m = parseResults('INFO x uname Linux\r\nRESULT uml getppid_ns 52550.589 ns/call\r\nsysrq: Power Off\nRESULT uml pipe_bulk_MBps 1567.5 MB/s\n');
  assert.deepEqual([...m.keys()], ['getppid_ns', 'pipe_bulk_MBps']);
  assert.deepEqual(m.get('getppid_ns'), { value: 52550.589, unit: 'ns/call' });
});

test('best of runs: the lowest time, the highest rate', () => {
  const rows = bestOf([
    run('tuml', 'RESULT t getppid_ns 12000 ns/call\nRESULT t pipe_bulk_MBps 500 MB/s\n'),
    run('tuml', 'RESULT t getppid_ns 11000 ns/call\nRESULT t pipe_bulk_MBps 700 MB/s\n'),
    run('native', 'RESULT n getppid_ns 100 ns/call\nRESULT n pipe_bulk_MBps 7000 MB/s\n'),
  ]);
  const get = (m: string) => rows.find((r) => r.metric === m)!;
  assert.equal(get('getppid_ns').best.tuml, 11000);
  assert.equal(get('pipe_bulk_MBps').best.tuml, 700);
  assert.deepEqual(get('getppid_ns').all.tuml, [12000, 11000]);
  // Slowdown is >1 when tuml is worse, whatever the unit's direction.
  assert.equal(slowdown('ns/call', 11000, 100), 110);
  assert.equal(slowdown('MB/s', 700, 7000), 10);
  assert.equal(slowdown('ns/call', undefined, 100), undefined);
});

test('targets: trapped call against the C floor, vDSO and faults against native, exec and pipes against UML', () => {
  const rows = bestOf([
    run('native', 'RESULT n clock_gettime_vdso_ns 20 ns/call\nRESULT n pagefault_ns 1000 ns/page\n'),
    run('tuml', 'RESULT t getppid_ns 13000 ns/call\nRESULT t clock_gettime_vdso_ns 25 ns/call\nRESULT t pagefault_ns 1100 ns/page\nRESULT t fork_exec_wait_us 1500 us/iter\nRESULT t pipe_pingpong64_us 100 us/roundtrip\n'),
    run('uml', 'RESULT u fork_exec_wait_us 2000 us/iter\nRESULT u pipe_pingpong64_us 60 us/roundtrip\n'),
  ]);
  const ts = targets(rows, { ns: { any: { seccomp_trace_cont_ns: 10000 } } }, true);
  const met = Object.fromEntries(ts.map((t) => [t.name, t.met]));
  assert.deepEqual(met, {
    'trapped syscall (getppid)': true, // 13000 <= 1.3 * 10000
    'clock_gettime (vDSO)': false, // 25 > 1.2 * 20
    'page fault': true,
    'fork+exec+wait': true,
    'pipe ping-pong (64 B)': false,
  });
  const noUml = targets(rows, { ns: {} }, false);
  assert.equal(noUml.find((t) => t.name === 'fork+exec+wait')!.met, null);
  assert.equal(noUml.find((t) => t.name === 'trapped syscall (getppid)')!.met, null);
});
