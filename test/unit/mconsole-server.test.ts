// Debian's uml_mconsole against tuml's mconsole server (fake machine): every reply and exit
// status must be what Debian's UML 6.1 gave for the same command (recorded in the table;
// mconsole-uml.test.ts checks the same table against a live linux.uml).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { HELP_TEXT } from '../../src/drivers/mconsole/commands.js';
import { fakeMachine, run, UML_VERSION, type FakeMachine } from './mconsole-fake.js';

const LOCAL_HELP =
  'Additional local mconsole commands:\n    quit - Quit mconsole\n    switch <socket-name> - Switch control to the given machine\n' +
  '    log -f <filename> - use contents of <filename> as UML log messages\n    mconsole-version - version of this mconsole program\n' +
  '    int  - Interrupt UML session\n';

/** [command, stdout, exit status] as Debian's UML 6.1 answered uml_mconsole. */
export const RECORDED: [string, string, number][] = [
  ['version', `OK ${UML_VERSION}\n`, 0],
  ['versionXYZ', `OK ${UML_VERSION}\n`, 0],
  ['help', `OK ${HELP_TEXT}\n${LOCAL_HELP}`, 0],
  ['foo', 'ERR Unknown command\n', 1],
  ['hel', 'ERR Unknown command\n', 1],
  ['config', 'ERR Bad configuration option\n', 1],
  ['config xyz', 'ERR Bad configuration option\n', 1],
  ['config ubd0', 'OK root_fs\n', 0],
  ['config ubd1', 'OK \n', 0],
  ['config con0', 'OK null\n', 0],
  ['config con', 'ERR line_get_config failed to parse device number\n', 1],
  ['config ssl0', 'OK pty\n', 0],
  ['config eth0', 'ERR No get_config routine defined\n', 1],
  ['config mem', 'OK 1610612736\n', 0],
  ['config mem=', "ERR Expected increment to start with '-' or '+'\n", 234],
  ['config mem=5', "ERR Expected increment to start with '-' or '+'\n", 234],
  ['config mem=+abc', 'ERR Failed to parse memory increment\n', 234],
  ['config ubd0=/tmp/x.img', 'ERR Device is already configured\n', 240],
  ['remove', 'ERR Bad remove option\n', 1],
  ['remove xyz', 'ERR Bad remove option\n', 1],
  ['remove ubd', "ERR Couldn't parse device number\n", 1],
  ['remove ubdx', 'ERR Invalid device number - must be between 0 and 15\n', 1],
  ['remove ubd99', 'ERR Invalid device number - must be between 0 and 15\n', 1],
  ['remove ubd5', "ERR Device doesn't exist\n", 237],
  ['remove con', "ERR Couldn't parse device number\n", 1],
  ['remove mem', "ERR Memory doesn't support the remove operation\n", 240],
  ['go', 'ERR Not stopped\n', 1],
  ['stack', 'ERR Please specify a pid\n', 1],
  ['stack abc', 'ERR Please specify a pid\n', 1],
  ['stack 0', "ERR Couldn't find that pid\n", 1],
  ['stack 99999', "ERR Couldn't find that pid\n", 1],
  ['proc', 'ERR Read of file failed\n', 1],
  ['proc nonexist', 'ERR Failed to open file\n', 1],
  ['log hello', 'OK \nOK \n', 0],
  ['mconsole-version', 'uml_mconsole client version 2\n', 0],
];

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
