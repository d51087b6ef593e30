// The tuml command: a machine (UML's switches), or one of the tools.
import { parseCmdline, CmdlineError, HELP } from './cmdline.js';
import { runMachine } from './run-machine.js';
import { UTS_RELEASE } from '../kernel/syscalls/sys_info.js';

type Tool = (argv: string[]) => Promise<number>;

const tools: Record<string, () => Promise<Tool>> = {
  mconsole: async () => (await import('./mconsole.js')).main as Tool,
  ls: async () => (await import('./ls.js')).main as Tool,
  mkcow: async () => ((argv) => import('./mkcow.js').then((m) => m.main(argv, 'tuml mkcow'))),
  moo: async () => ((argv) => import('./moo.js').then((m) => m.main(argv, 'tuml moo'))),
  mkfs: async () => (await import('./mkfs.js')).main as Tool,
  mkrootfs: async () => (await import('./mkrootfs.js')).main as Tool,
  switch: async () => (await import('./switch.js')).main as Tool,
  ttylog: async () => (await import('./ttylog.js')).main as Tool,
};

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first && tools[first]) return (await tools[first]!())(argv.slice(1));
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (first === '--version') {
    process.stdout.write(`tuml ${UTS_RELEASE}\n`);
    return 0;
  }
  let cfg;
  try {
    cfg = parseCmdline(argv);
  } catch (e) {
    if (e instanceof CmdlineError) {
      process.stderr.write(`tuml: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return runMachine(cfg);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`tuml: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
