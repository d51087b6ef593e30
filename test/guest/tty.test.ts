// The console as a terminal, driven through tmux like a user would: bash job control, full
// screen programs, a window resize reaching the guest as SIGWINCH, `stty -a` as Linux prints
// it for the same settings, guest ptys (script, tmux inside), and a 10 MB paste that loses
// nothing and ends with no premature EOF (UML's 2005 pitfall).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { Tmux, haveTmux, tumlBin } from './tty-helpers.js';

const skip = haveTmux() ? false : 'tmux is not installed (apt-get install tmux)';
const PROMPT = /root@tuml:~# ?$/m;
let tm: Tmux;

before(async () => {
  if (skip) return;
  tm = new Tmux();
  tm.start(`${tumlBin} 2>/dev/null`, 100, 30);
  await tm.waitFor(PROMPT);
});
after(() => tm?.kill());

test('bash job control: ^Z, bg, jobs, fg, ^C', { skip }, async () => {
  tm.line('clear; sleep 100');
  await new Promise((r) => setTimeout(r, 300));
  tm.key('C-z');
  await tm.waitFor(/Stopped\s+sleep 100/);
  tm.line('bg; jobs');
  await tm.waitFor(/Running\s+sleep 100 &/);
  tm.line('fg');
  await tm.waitFor(/^sleep 100$/m);
  tm.key('C-c');
  tm.line('echo status=$?');
  await tm.waitFor(/status=130/);
});

test('less and vi run full screen', { skip }, async () => {
  tm.line('clear; seq 1 500 > /root/n.txt; less /root/n.txt');
  const s0 = await tm.waitFor(/^1\n2\n[\s\S]*^29$/m);
  let s = s0;
  assert.doesNotMatch(s, /seq 1 500/); // less owns the whole screen
  tm.send(' ');
  await tm.waitFor(/^58$/m);
  tm.send('q');
  await tm.waitFor(PROMPT);
  tm.line('clear; vi /root/n.txt');
  s = await tm.waitFor(/^1\n2\n[\s\S]*500L/m);
  assert.match(s, /^29$/m);
  tm.send('Gdd:wq\r');
  await tm.waitFor(PROMPT);
  tm.line('clear; tail -1 /root/n.txt');
  await tm.waitFor(/^499$/m);
});

test('a resize reaches the foreground job as SIGWINCH with the new size', { skip }, async () => {
  tm.line(`clear; trap 'echo WINCH $(stty size)' WINCH; sleep 2 & wait; trap - WINCH`);
  await new Promise((r) => setTimeout(r, 400));
  tm.resize(90, 25);
  await tm.waitFor(/WINCH 25 90/);
  await tm.waitFor(PROMPT);
  tm.resize(100, 30);
  await new Promise((r) => setTimeout(r, 300));
});

test('stty -a prints what Linux prints for the same settings', { skip }, async () => {
  const settings = 'sane hupcl iutf8 -imaxbel -echoe intr ^X eol ^A min 3 time 7 -ixon ixany tostop cols 100 rows 30';
  const cmd = `clear; stty ${settings}; echo BEGIN; stty -a; echo END; stty sane`;
  const grab = (s: string) => s.slice(s.indexOf('\nBEGIN') + 7, s.indexOf('\nEND')).trim();
  tm.line(cmd);
  const guest = grab(await tm.waitFor(/^END$/m));
  const host = new Tmux();
  try {
    host.start('bash --norc --noprofile', 100, 30);
    await new Promise((r) => setTimeout(r, 300));
    host.line(cmd);
    const native = grab(await host.waitFor(/^END$/m));
    assert.equal(guest, native);
  } finally {
    host.kill();
  }
});

test('guest ptys: script, and tmux inside the guest', { skip }, async () => {
  tm.line(`clear; python3 -c 'import pty,os; pty.spawn(["sh","-c","tty; stty size"])'`);
  await tm.waitFor(/^\/dev\/pts\/\d+\s*\n0 0$/m); // a new pty has no size yet, as on Linux
  tm.line('clear; tmux -L inner -f /dev/null new-session');
  await tm.waitFor(/\[0\] 0:/);
  tm.line('echo inner-$((6*7)); stty size');
  await tm.waitFor(/inner-42\s*\n29 100/m);
  tm.line('tmux -L inner kill-server');
  await tm.waitFor(PROMPT);
});

test('a 10 MB paste into cat > file arrives whole, with no early EOF', { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-paste-'));
  const file = path.join(dir, 'paste.txt');
  const lines: string[] = [];
  let n = 0, seed = 1;
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789 ';
  while (n < 10 << 20) {
    let l = '';
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const len = seed % 150;
    for (let i = 0; i < len; i++) l += chars[(seed >> (i % 16)) % chars.length];
    lines.push(l);
    n += len + 1;
  }
  const data = lines.join('\n') + '\n';
  fs.writeFileSync(file, data);
  const md5 = createHash('md5').update(data).digest('hex');
  tm.line('clear; stty -echo; cat > /root/f; stty echo; echo done-$(md5sum < /root/f | cut -c1-32)-$(wc -c < /root/f)');
  await new Promise((r) => setTimeout(r, 300));
  const t0 = Date.now();
  tm.paste(file);
  tm.key('C-d');
  const s = await tm.waitFor(/done-\w+-\d+/, 120000);
  const ms = Date.now() - t0;
  const m = /done-(\w+)-(\d+)/.exec(s)!;
  assert.equal(Number(m[2]), data.length);
  assert.equal(m[1], md5);
  process.stderr.write(`# 10 MB paste through the console: ${ms} ms\n`);
  fs.rmSync(dir, { recursive: true });
});
