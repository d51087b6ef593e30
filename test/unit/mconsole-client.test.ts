// tuml mconsole against tuml's server: the same output and exit status as uml_mconsole
// (recorded table, and side-by-side transcripts where uml_mconsole is installed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { main, type CliIo } from '../../src/cli/mconsole.js';
import { fakeMachine, run, RECORDED, UML_VERSION } from './mconsole-fake.js';

const haveUmlMconsole = spawnSync('uml_mconsole', [], { stdio: 'ignore' }).error === undefined;

function capture(input = ''): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write(c: Buffer, _e, cb) { f(c.toString()); cb(); } });
  return {
    io: { stdin: Readable.from([input]), stdout: sink((s) => { out += s; }), stderr: sink((s) => { err += s; }), isTTY: false },
    out: () => out,
    err: () => err,
  };
}

async function tuml(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = capture(input);
  const code = await main(args, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

let dir: string;
let sock: string;
let server: MconsoleServer;

before(() => {
  dir = mkdtempSync(`${tmpdir()}/mcc-`);
  sock = `${dir}/mconsole`;
  server = MconsoleServer.listen(sock, fakeMachine());
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('one-shot commands print what uml_mconsole prints, with its exit status', async () => {
  for (const [cmd, stdout, code] of RECORDED) {
    const r = await tuml([sock, ...cmd.split(' ')]);
    assert.equal(r.stdout, stdout, `stdout of '${cmd}'`);
    assert.equal(r.code, code, `exit status of '${cmd}'`);
  }
});

test('interactive transcript equals uml_mconsole\'s', { skip: !haveUmlMconsole && 'uml_mconsole not installed' }, async () => {
  const input = 'version\n\nfoo\nconfig ubd0\nproc loadavg\nmconsole-version\nint\nswitch /nonexistent\nlog two words\n';
  const ours = await tuml([sock], input);
  const theirs = await run('uml_mconsole', [sock], input);
  assert.equal(ours.stdout, theirs.stdout);
  assert.equal(ours.stderr, theirs.stderr);
  assert.equal(ours.code, theirs.code);
  assert.match(ours.stdout, /^\(\/tmp\/mcc-\S{0,4}\) version\nOK Linux/);
  const quit = await tuml([sock], 'version\nquit\nversion\n');
  assert.equal(quit.stdout.split('OK ').length, 2);
});

test('lookup by umid in ~/.uml, warnings and exit status when nothing is found', { skip: !haveUmlMconsole && 'uml_mconsole not installed' }, async () => {
  const home = `${dir}/home`;
  mkdirSync(`${home}/.uml/m1`, { recursive: true });
  writeFileSync(`${home}/.uml/m1/pid`, `${process.pid}\n`);
  const s2 = MconsoleServer.listen(`${home}/.uml/m1/mconsole`, fakeMachine());
  const savedHome = process.env.HOME;
  process.env.HOME = home;
  try {
    const r = await tuml(['m1', 'version']);
    assert.deepEqual(r, { code: 0, stdout: `OK ${UML_VERSION}\n`, stderr: '' });
    for (const args of [['nosuch', 'version'], ['m1', 'switch', 'nosuch'], [sock, 'config ubd0=cow.img,/back.img']]) {
      const ours = await tuml(args);
      const theirs = await run('uml_mconsole', args);
      assert.deepEqual(ours, theirs, args.join(' '));
    }
  } finally {
    process.env.HOME = savedHome;
    s2.close();
  }
});
