// /proc/mconsole: a guest write arrives at the notify socket as MCONSOLE_USER_NOTIFY; without
// mconsole=notify: the file does not exist (as in UML).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repo, tumlBin } from './harness.js';

const MCONSOLE_MAGIC = 0xcafebabe, MCONSOLE_SOCKET = 0, MCONSOLE_USER_NOTIFY = 3;

test('a write to /proc/mconsole reaches the notify socket as MCONSOLE_USER_NOTIFY', { timeout: 30000 }, (t) => {
  if (spawnSync('python3', ['-c', '1']).status !== 0) return t.skip('python3 is needed for the listener');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-mcproc-'));
  try {
    const sock = path.join(dir, 'notify');
    const out = path.join(dir, 'packets');
    // A listener that keeps every datagram it gets for a few seconds, in order.
    const listener = `import socket,sys,time
s=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)}); s.settimeout(0.2)
open(${JSON.stringify(out + '.ready')},'w').close()
end=time.time()+15; pk=[]
while time.time()<end and len(pk)<2:
  try: pk.append(s.recv(2048))
  except socket.timeout: pass
open(${JSON.stringify(out)},'wb').write(b''.join(len(p).to_bytes(4,'little')+p for p in pk))`;
    const py = spawnSync('sh', ['-c', `python3 -c '${listener.replace(/'/g, `'\\''`)}' & while [ ! -e ${out}.ready ]; do sleep 0.05; done; ` +
      `${tumlBin} umid=mcproc${process.pid} uml_dir=${dir} mconsole=notify:${sock} -- sh -c 'printf hello > /proc/mconsole && echo written'; wait`],
    { cwd: repo, encoding: 'utf8', timeout: 25000 });
    assert.match(py.stdout, /written/, py.stderr);
    const raw = fs.readFileSync(out);
    const packets: Buffer[] = [];
    for (let o = 0; o < raw.length;) { const n = raw.readUInt32LE(o); packets.push(raw.subarray(o + 4, o + 4 + n)); o += 4 + n; }
    assert.equal(packets.length, 2, 'MCONSOLE_SOCKET, then the user notification');
    const [first, second] = packets as [Buffer, Buffer];
    assert.equal(first.readUInt32LE(0), MCONSOLE_MAGIC);
    assert.equal(first.readUInt32LE(8), MCONSOLE_SOCKET);
    assert.equal(second.readUInt32LE(8), MCONSOLE_USER_NOTIFY);
    const len = second.readUInt32LE(12);
    assert.equal(second.subarray(16, 16 + len).toString().replace(/\0+$/, ''), 'hello');

    const none = spawnSync(tumlBin, [`umid=mcproc${process.pid}b`, `uml_dir=${dir}`, '--', 'sh', '-c', 'test -e /proc/mconsole && echo yes || echo no'],
      { cwd: repo, encoding: 'utf8', timeout: 15000 });
    assert.equal(none.stdout, 'no\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
