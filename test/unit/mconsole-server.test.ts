// Debian's uml_mconsole against tuml's mconsole server (fake machine): every reply and exit
// status must be what Debian's UML 6.1 gave for the same command (recorded in the table;
// mconsole-uml.test.ts checks the same table against a live linux.uml).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { fakeMachine, run, RECORDED, UML_VERSION, type FakeMachine } from './mconsole-fake.js';

const haveUmlMconsole = spawnSync('uml_mconsole', [], { stdio: 'ignore' }).error === undefined;
let dir: string;
let sock: string;
let server: MconsoleServer;
let machine: FakeMachine;

before(() => {
  dir = mkdtempSync(`${tmpdir()}/mct-`);
  sock = `${dir}/mconsole`;
  machine = fakeMachine();
  server = MconsoleServer.listen(sock, machine);
});
after(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

test('uml_mconsole gets the recorded UML replies', { skip: !haveUmlMconsole && 'uml_mconsole not installed (apt-get install uml-utilities)' }, async () => {
  for (const [cmd, stdout, code] of RECORDED) {
    const r = await run('uml_mconsole', [sock, ...cmd.split(' ')]);
    assert.equal(r.stdout, stdout, `stdout of '${cmd}'`);
    assert.equal(r.code, code, `exit status of '${cmd}'`);
  }
  assert.deepEqual(machine.logs, ['hello', '\n']);
});

test('uml_mconsole: multi-packet proc, sysrq, stack, stop/go, halt, cad, hot-plug', { skip: !haveUmlMconsole && 'uml_mconsole not installed' }, async () => {
  const mc = async (cmd: string) => { const r = await run('uml_mconsole', [sock, ...cmd.split(' ')]); return { code: r.code, stdout: r.stdout }; };
  assert.deepEqual(await mc('proc loadavg'), { code: 0, stdout: 'OK \n0.00 0.00 0.00 1/31 449\n\n' });
  assert.equal((await mc('proc big')).stdout, `OK \n${'x'.repeat(9000)}\n\n`);
  assert.equal((await mc('sysrq h')).stdout, 'OK sysrq: HELP : loglevel(0-9) reboot(b)\n\n');
  assert.equal((await mc('sysrq')).stdout, 'OK sysrq: HELP : loglevel(0-9) reboot(b)\n\n');
  assert.equal((await mc('stack 1')).stdout, 'OK Call Trace:\n [<0>] schedule\n\n');
  assert.deepEqual([(await mc('stop')).stdout, (await mc('stop')).stdout, (await mc('version')).stdout, (await mc('go')).stdout],
    ['OK stopped\n', 'ERR Already stopped\n', `OK ${UML_VERSION}\n`, 'OK \n']);
  assert.equal(server.stopped, false);
  assert.equal((await mc('config ubd3=/tmp/disk.img')).stdout, 'OK \n');
  assert.equal((await mc('config ubd3')).stdout, 'OK /tmp/disk.img\n');
  machine.ubd.get(3)!.open = true;
  assert.deepEqual(await mc('remove ubd3'), { code: 240, stdout: 'ERR Device is currently open\n' });
  machine.ubd.get(3)!.open = false;
  assert.equal((await mc('remove ubd3')).stdout, 'OK \n');
  assert.equal((await mc('config mem=-64M')).stdout, 'OK \n');
  assert.equal((await mc('config mem')).stdout, `OK ${1610612736 - 64 * 1024 * 1024}\n`);
  assert.equal((await mc('cad')).stdout, 'OK \n');
  assert.equal((await mc('sysrq b')).stdout, 'OK \n');
  assert.equal((await mc('halt')).stdout, 'OK \n');
  assert.equal((await mc('reboot')).stdout, 'OK \n');
  assert.deepEqual(machine.calls, ['sysrq h', 'sysrq ', 'stop', 'go', 'cad', 'sysrq b', 'halt', 'reboot']);
});
