// procps reads tuml's procfs: the files of a fake machine are copied into a directory that
// is bind-mounted on /proc in a private mount and pid namespace (ps then runs as pid 1, the
// fake init), and ps, free, uptime, vmstat, top and pgrep must parse them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawn as spawnChild, spawnSync } from 'node:child_process';
import { fakeMachine } from './proc-fake-kernel.js';
import { readlinkAs } from '../../src/kernel/fs/proc/links.js';
import type { Inode } from '../../src/kernel/fs/inode.js';
import type { Task } from '../../src/kernel/task/task.js';
import { S_IFDIR, S_IFLNK, S_IFMT, O_RDONLY } from '../../src/kernel/abi/fcntl.js';

const child = spawnChild('sleep', ['30'], { stdio: 'ignore' });
after(() => child.kill());

function dump(inode: Inode, path: string, reader: Task, depth = 0): void {
  const type = inode.getattr().mode & S_IFMT;
  if (type === S_IFDIR) {
    fs.mkdirSync(path, { recursive: true });
    if (depth > 5) return;
    for (const e of inode.readdir!()) {
      const c = inode.lookup!(e.name);
      if (c) dump(c, `${path}/${e.name}`, reader, depth + 1);
    }
  } else if (type === S_IFLNK) {
    fs.symlinkSync(readlinkAs(inode, reader), path);
  } else {
    const f = inode.open(O_RDONLY, reader);
    fs.writeFileSync(path, f.read(reader, 1 << 22));
    f.unref();
  }
}

const m = fakeMachine();
const init = m.spawn(process.pid, { comm: 'init', argv: ['/sbin/init'] });
const sleeper = m.spawn(child.pid!, { parent: init.group, comm: 'sleep', argv: ['sleep', '30'] });
sleeper.group.pgid = sleeper.tid;
const dir = fs.mkdtempSync(`${os.tmpdir()}/tuml-proc-`);
after(() => fs.rmSync(dir, { recursive: true, force: true }));
dump(m.proc.root, `${dir}/proc`, init);

function inNamespace(cmd: string): { status: number | null; out: string } {
  const r = spawnSync('unshare', ['-m', '-p', '-f', 'sh', '-c', `mount --bind ${dir}/proc /proc && exec ${cmd}`], { encoding: 'utf8', timeout: 10000 });
  return { status: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

const probe = inNamespace('true');
const skip = probe.status !== 0 ? `unshare/mount not permitted here: ${probe.out.trim()}` : false;

test('ps aux, ps -ef, ps axjf', { skip }, () => {
  const aux = inNamespace('ps aux');
  assert.equal(aux.status, 0, aux.out);
  const lines = aux.out.trim().split('\n');
  assert.match(lines[0]!, /^USER +PID %CPU %MEM +VSZ +RSS TTY +STAT START +TIME COMMAND$/);
  assert.equal(lines.length, 3, aux.out);
  assert.ok(lines.some((l) => /^root +1 .* Rs +\S+ +\S+ \/sbin\/init$/.test(l)), aux.out);
  assert.ok(lines.some((l) => /^root +2 .* S +\S+ +\S+ sleep 30$/.test(l)), aux.out);
  const ef = inNamespace('ps -eo pid,ppid,pgid,sid,stat,comm');
  assert.match(ef.out, /\n +2 +1 +2 +1 S +sleep\n/);
  assert.equal(inNamespace('ps axjf').status, 0);
});

test('free, uptime, vmstat, top, pgrep', { skip }, () => {
  const free = inNamespace('free');
  assert.match(free.out, /^ +total +used +free +shared +buff\/cache +available\nMem: +262144 +\d+ +\d+ +0 +\d+ +\d+\nSwap: +0 +0 +0\n$/);
  assert.match(inNamespace('uptime').out, /up +\d+ min, +0 users?, +load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d\n$/);
  const vm = inNamespace('vmstat');
  assert.equal(vm.status, 0, vm.out);
  const top = inNamespace('top -b -n1');
  assert.match(top.out, /Tasks: +2 total, +1 running, +1 sleeping, +0 stopped, +0 zombie/);
  assert.match(top.out, /MiB Mem : +256\.0 total/);
  assert.equal(inNamespace('pgrep -l sleep').out, '2 sleep\n');
});
