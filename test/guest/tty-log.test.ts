// tty logging (tty_log_dir=): a session on the console, recorded, and `tuml ttylog replay`
// giving back exactly the bytes the terminal got; with -a the input too (an unechoed
// password included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Tmux, haveTmux, tumlBin, repo } from './tty-helpers.js';

test('a replayed tty log reproduces the session byte for byte', { skip: haveTmux() ? false : 'needs tmux' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-ttylog-'));
  const logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  const raw = path.join(dir, 'raw.bin');
  const tm = new Tmux();
  try {
    // The console's output goes through tee: raw.bin is every byte the terminal received.
    tm.start(`${tumlBin} tty_log_dir=${logs} 2>/dev/null | tee ${raw}`, 100, 30);
    await tm.waitFor(/root@tuml:~# ?$/m);
    tm.line('printf "tab\\there\\n"; read -s pw; echo got-${#pw}');
    await new Promise((r) => setTimeout(r, 300));
    tm.line('hunter2');
    await tm.waitFor(/got-7/);
    tm.line('exit');
    await new Promise((r) => setTimeout(r, 800));
  } finally {
    tm.kill();
  }
  const files = fs.readdirSync(logs);
  assert.equal(files.length, 1);
  const log = path.join(logs, files[0]!);
  const replay = spawnSync(tumlBin, ['ttylog', 'replay', '-n', log], { cwd: repo });
  assert.equal(replay.status, 0, replay.stderr.toString());
  const got = fs.readFileSync(raw);
  assert.ok(got.length > 50);
  assert.ok(replay.stdout.equals(got), `replay differs: ${JSON.stringify(replay.stdout.toString())} vs ${JSON.stringify(got.toString())}`);
  // The password was never echoed: only -a shows it.
  assert.ok(!replay.stdout.includes('hunter2'));
  const all = spawnSync(tumlBin, ['ttylog', 'replay', '-n', '-a', log], { cwd: repo });
  assert.ok(all.stdout.includes('hunter2'));
  // At the original pace, the replay takes about as long as the session's gaps.
  const t0 = Date.now();
  spawnSync(tumlBin, ['ttylog', 'replay', '-s', '4', log], { cwd: repo });
  assert.ok(Date.now() - t0 > 150);
  fs.rmSync(dir, { recursive: true });
});
