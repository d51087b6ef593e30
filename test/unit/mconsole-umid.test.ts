// The umid directory (UML's messages and rules), the notify socket, and tuml ls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { resolveUmlDir, setupUmid } from '../../src/drivers/umid.js';
import { MconsoleNotifier, parseNotifyOption } from '../../src/drivers/mconsole/notify.js';
import { decodeNotify, MCONSOLE_MAGIC, MCONSOLE_SOCKET, MCONSOLE_USER_NOTIFY, MCONSOLE_PANIC } from '../../src/drivers/mconsole/protocol.js';
import { UnixDgramSocket, sockaddrUn } from '../../src/host/unix-dgram.js';
import { MconsoleServer } from '../../src/drivers/mconsole/server.js';
import { listMachines } from '../../src/cli/ls.js';
import { fakeMachine, recvWithin } from './mconsole-fake.js';

function tmp(): string {
  return mkdtempSync(`${tmpdir()}/mcu-`);
}

test('uml_dir resolution: ~ is $HOME, a slash is appended', () => {
  assert.equal(resolveUmlDir(undefined, '/h'), '/h/.uml/');
  assert.equal(resolveUmlDir('/var/uml', '/h'), '/var/uml/');
  assert.equal(resolveUmlDir('~/x/', '/h'), '/h/x/');
});

test('umid dir: pid file, in-use fallback with UML\'s messages, stale takeover, removal', () => {
  const d = tmp();
  const lines: string[] = [];
  const log = (l: string) => { lines.push(l); };
  try {
    const a = setupUmid({ umid: 'm1', umlDir: `${d}/uml`, log });
    assert.equal(a.dir, `${d}/uml/m1`);
    assert.equal(readFileSync(a.file('pid'), 'utf8'), `${process.pid}\n`);
    assert.equal(statSync(a.file('pid')).mode & 0o777, 0o644);
    assert.deepEqual(lines, []);

    // Alive owner (this process): UML's two lines, then a random 6-character umid.
    const b = setupUmid({ umid: 'm1', umlDir: `${d}/uml`, log });
    assert.deepEqual(lines, [`umid "m1" is already in use by pid ${process.pid}\n`, 'Failed to initialize umid "m1", trying with a random umid\n']);
    assert.match(b.umid, /^[A-Za-z0-9]{6}$/);
    assert.ok(existsSync(b.file('pid')));
    b.remove();
    assert.ok(!existsSync(b.dir));

    // Dead owner: its directory (and leftover files) are taken over silently.
    a.remove();
    mkdirSync(`${d}/uml/m2`);
    writeFileSync(`${d}/uml/m2/pid`, '999999999\n');
    writeFileSync(`${d}/uml/m2/mconsole`, '');
    lines.length = 0;
    const c = setupUmid({ umid: 'm2', umlDir: `${d}/uml`, log, pid: 4242 });
    assert.equal(c.umid, 'm2');
    assert.deepEqual(readdirSync(c.dir), ['pid']);
    assert.equal(readFileSync(c.file('pid'), 'utf8'), '4242\n');
    assert.deepEqual(lines, []);

    // Too long a umid is ignored, as set_umid() refuses it.
    const e = setupUmid({ umid: 'x'.repeat(64), umlDir: `${d}/uml`, log });
    assert.match(e.umid, /^[A-Za-z0-9]{6}$/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('the umid dir disappears on SIGTERM (exit 1, as UML) and on normal exit', async () => {
  const d = tmp();
  const mod = new URL('../../src/drivers/umid.js', import.meta.url).href;
  const script = (extra: string) =>
    `import { setupUmid, installUmidCleanup } from '${mod}';` +
    `const u = setupUmid({ umid: 'sig', umlDir: '${d}' }); installUmidCleanup(u); console.log('up'); ${extra}`;
  try {
    // The normal-exit child lives until its stdin closes, so the pid file is checked before it goes.
    for (const [extra, signal, code] of [['setInterval(() => {}, 1000);', 'SIGTERM', 1], ['process.stdin.resume();', null, 0]] as const) {
      const p = spawn(process.execPath, ['--input-type=module', '-e', script(extra)], { stdio: ['pipe', 'pipe', 'inherit'] });
      await new Promise<void>((r) => p.stdout.once('data', () => r()));
      assert.ok(existsSync(`${d}/sig/pid`));
      if (signal) p.kill(signal);
      else p.stdin.end();
      const status = await new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
      assert.equal(status, code);
      assert.ok(!existsSync(`${d}/sig`));
    }
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('notify: MCONSOLE_SOCKET, MCONSOLE_PANIC, MCONSOLE_USER_NOTIFY datagrams', async () => {
  const d = tmp();
  const listener = UnixDgramSocket.open(4096);
  try {
    listener.bind(sockaddrUn(`${d}/notify`));
    assert.equal(parseNotifyOption(`notify:${d}/notify`), `${d}/notify`);
    assert.equal(parseNotifyOption('foo'), null);
    const n = new MconsoleNotifier(`${d}/notify`);
    assert.equal(n.socket('/h/.uml/rt3/mconsole'), 0);
    assert.equal(n.panic('Attempted to kill init!'), 0);
    assert.equal(n.user(Buffer.from('hello\n')), 0);
    n.close();
    const got = [await recvWithin(listener, 500), await recvWithin(listener, 500), await recvWithin(listener, 500)];
    // Observed from UML 6.1: a 16-byte header, then the path with its NUL.
    assert.equal(got[0]!.length, 16 + '/h/.uml/rt3/mconsole'.length + 1);
    assert.deepEqual(got.map((p) => { const x = decodeNotify(p!)!; return [x.magic, x.version, x.type, x.data.toString('latin1')]; }), [
      [MCONSOLE_MAGIC, 2, MCONSOLE_SOCKET, '/h/.uml/rt3/mconsole\0'],
      [MCONSOLE_MAGIC, 2, MCONSOLE_PANIC, 'Attempted to kill init!\0'],
      [MCONSOLE_MAGIC, 2, MCONSOLE_USER_NOTIFY, 'hello\n'],
    ]);
  } finally {
    listener.close();
    rmSync(d, { recursive: true, force: true });
  }
});

test('tuml ls lists live machines with what mconsole tells', async () => {
  const d = tmp();
  const u = setupUmid({ umid: 'lsme', umlDir: d });
  mkdirSync(`${d}/dead`);
  writeFileSync(`${d}/dead/pid`, '999999999\n');
  const server = MconsoleServer.listen(u.file('mconsole'), fakeMachine());
  try {
    const ms = await listMachines(`${d}/`);
    assert.equal(ms.length, 1);
    assert.equal(ms[0].umid, 'lsme');
    assert.equal(ms[0].pid, process.pid);
    assert.equal(ms[0].memory, 1610612736);
    assert.deepEqual(ms[0].devices, { ubd0: 'root_fs', con0: 'null', ssl0: 'pty' });
    assert.equal(typeof ms[0].uptime, 'number');
  } finally {
    server.close();
    u.remove();
    rmSync(d, { recursive: true, force: true });
  }
});
