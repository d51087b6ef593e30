// tuml switch = uml_switch: a virtual Ethernet switch (or hub, -hub) for UMLs and tumls,
// with uml_switch's options, messages and default control socket (/tmp/uml.ctl).
// Differences: -tap and -compat-v0 are reported unsupported for now; a full or vanished
// port loses frames instead of stalling the switch. tuml-only options (left out of the usage
// text, which stays uml_switch's): -loss <percent>, -reorder <percent>, -seed <n> make a bad
// link for testing what runs over it.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CTL_SOCK } from '../drivers/net/switch-protocol.js';
import { UmlSwitch } from '../drivers/net/uml-switch.js';

/** Set in the child of -daemon: the fd on which to report readiness. */
const READY_FD_ENV = 'TUML_SWITCH_READY_FD';

interface SwitchArgs {
  ctl: string;
  hub: boolean;
  tap: string | null;
  daemon: boolean;
  compatV0: boolean;
  loss: number;
  reorder: number;
  seed: number;
}

function usage(prog: string): number {
  const tap = '[ -tap tap-device ]';
  process.stderr.write(`Usage : ${prog} [ -unix control-socket ] [ -hub ] ${tap}\n` +
    `or : ${prog} -compat-v0 [ -unix control-socket data-socket ] [ -hub ] ${tap}\n`);
  return 1;
}

function parseArgs(argv: string[], prog: string): SwitchArgs | null {
  const a: SwitchArgs = { ctl: DEFAULT_CTL_SOCK, hub: false, tap: null, daemon: false, compatV0: false, loss: 0, reorder: 0, seed: 1 };
  const percent = (v: string | undefined): number | null => {
    const n = v === undefined || v.trim() === '' ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 && n <= 100 ? n : null;
  };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '-unix':
        if (i + 1 >= argv.length) return null;
        a.ctl = argv[++i];
        if (a.compatV0) { if (i + 1 >= argv.length) return null; i++; }
        break;
      case '-hub':
        process.stdout.write(`${prog} will be a hub instead of a switch\n`);
        a.hub = true;
        break;
      case '-tap':
        if (i + 1 >= argv.length) return null;
        a.tap = argv[++i];
        break;
      case '-daemon':
        a.daemon = true;
        break;
      case '-compat-v0':
        a.compatV0 = true;
        break;
      case '-loss':
      case '-reorder': {
        const n = percent(argv[i + 1]);
        if (n === null) return null;
        if (argv[i] === '-loss') a.loss = n; else a.reorder = n;
        i++;
        break;
      }
      case '-seed': {
        const n = Number(argv[i + 1]);
        if (!Number.isInteger(n)) return null;
        a.seed = n;
        i++;
        break;
      }
      default:
        return null;
    }
  }
  return a;
}

export async function main(argv: string[], prog = 'tuml switch'): Promise<number> {
  const args = parseArgs(argv, prog);
  if (args === null) return usage(prog);
  if (args.compatV0) {
    process.stderr.write(`${prog}: -compat-v0 (control protocol 0) is not supported; UMLs since 2.4.19 speak version 3\n`);
    return 1;
  }
  if (args.tap !== null) {
    process.stderr.write(`${prog}: -tap ${args.tap}: tap ports are not supported yet\n`);
    return 1;
  }
  if (args.daemon) return daemonize(argv, prog, args.ctl);

  const readyFd = process.env[READY_FD_ENV] !== undefined ? Number(process.env[READY_FD_ENV]) : null;
  let sw: UmlSwitch;
  try {
    const impair = args.loss > 0 || args.reorder > 0 ? { lossPercent: args.loss, reorderPercent: args.reorder, seed: args.seed } : undefined;
    sw = await UmlSwitch.start({ ctlPath: args.ctl, hub: args.hub, impair, log: (l) => process.stdout.write(l + '\n') });
  } catch (e) {
    const msg = `${prog}: ${args.ctl}: ${(e as Error).message}`;
    process.stderr.write(msg + '\n');
    if (readyFd !== null) { try { fs.writeSync(readyFd, 'E' + msg + '\n'); fs.closeSync(readyFd); } catch { /* parent gone */ } }
    return 1;
  }
  process.stdout.write(`${prog} attached to unix socket '${args.ctl}'\n`);
  if (readyFd !== null) { try { fs.writeSync(readyFd, 'R\n'); fs.closeSync(readyFd); } catch { /* parent gone */ } }

  return new Promise<number>((resolve) => {
    const stop = (why: string): void => {
      process.stdout.write(why + '\n');
      for (const s of signals) process.off(s, handlers[s]);
      process.stdin.off('end', onEof);
      if (process.stdin.isTTY) process.stdin.pause();
      void sw.close().then(() => resolve(0));
    };
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const numbers: Record<(typeof signals)[number], number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
    const handlers = {} as Record<(typeof signals)[number], () => void>;
    for (const s of signals) {
      handlers[s] = () => stop(`Caught signal ${numbers[s]}, cleaning up and exiting`);
      process.on(s, handlers[s]);
    }
    // uml_switch watches a terminal on stdin and quits when it closes.
    const onEof = (): void => stop('EOF on stdin, cleaning up and exiting');
    if (process.stdin.isTTY) {
      process.stdin.on('data', () => {});
      process.stdin.once('end', onEof);
    }
  });
}

/** -daemon: run the switch in a detached child; return once it listens (or failed). */
async function daemonize(argv: string[], prog: string, ctl: string): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, [...process.execArgv, self, ...argv.filter((a) => a !== '-daemon')], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: '3' },
  });
  const pipe = child.stdio[3] as NodeJS.ReadableStream | null;
  const answer = await new Promise<string>((resolve) => {
    let got = '';
    if (pipe === null) { resolve(''); return; }
    pipe.on('data', (d: Buffer) => { got += d.toString(); });
    pipe.on('end', () => resolve(got));
    pipe.on('error', () => resolve(got));
  });
  child.unref();
  if (answer.startsWith('R')) {
    process.stdout.write(`${prog} attached to unix socket '${ctl}'\n`);
    return 0;
  }
  process.stderr.write(answer.startsWith('E') ? answer.slice(1) : `${prog}: the switch did not start\n`);
  return 1;
}

// Run directly (`node dist/src/cli/switch.js ...`), as the -daemon child does.
if (process.argv[1] !== undefined && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    process.stderr.write(`tuml switch: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
