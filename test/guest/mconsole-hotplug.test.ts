// Device hot-plug through mconsole on a running tuml machine, driven by Debian's uml_mconsole:
// an ext2 image added as ubd1 shows up in the guest's /dev, /proc/partitions and /sys/block,
// is mounted and written, `remove ubd1` is refused while it is mounted and succeeds after
// umount, and the file is in the image (debugfs). Also con/ssl lines and an eth device on
// `tuml switch`. Expected replies and exit statuses are the ones Debian's UML 6.1 gave for
// the same commands (captured with linux.uml and uml_mconsole).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TUML = path.join(repo, 'tuml');

let skip: string | false = false;
let dir = '';
let sock = '';
let img = '';
let machine: ChildProcess | null = null;
let sw: ChildProcess | null = null;
let exited: Promise<number | null> = Promise.resolve(null);
let out = '';
/** A port for `ssl0=port:N` that nothing else here uses. */
const port = 20000 + (process.pid % 20000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** uml_mconsole one-shot; a machine that never answers fails the test instead of hanging it. */
function mc(cmd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn('uml_mconsole', [sock, ...cmd.split(' ')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (signal) reject(new Error(`uml_mconsole ${cmd}: no reply within 5 s; the machine's output:\n${out}`));
      else resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Asserts one command's output and exit status as uml_mconsole prints them. */
async function expect(cmd: string, stdout: string, code: number): Promise<void> {
  const r = await mc(cmd);
  assert.equal(r.stdout, stdout, `stdout of '${cmd}'`);
  assert.equal(r.code, code, `exit status of '${cmd}'`);
}

/** What the guest reported as `name` (it prints "<<name", the text, ">>name"). */
async function report(name: string, ms = 8000): Promise<string> {
  const re = new RegExp(`<<${name}\\n([^]*?)>>${name}\\n`);
  for (let t = 0; t < ms; t += 25) {
    const m = re.exec(out);
    if (m) return m[1]!;
    if (machine?.exitCode !== null) break;
    await sleep(25);
  }
  throw new Error(`the guest did not report ${name}; its output:\n${out}`);
}

/** Lets the guest go on to its next step (it polls for the flag file on the host). */
const go = (step: string) => writeFileSync(path.join(dir, step), '');

/** The guest: waits for each step's flag file from the test, reports on its stdout. */
function guestScript(d: string): string {
  return `W=${d}
w() { while [ ! -e $W/$1 ]; do sleep 0.05; done; }
r() { echo "<<$1"; cat /tmp/r; echo ">>$1"; }
echo up > /tmp/r; r ready
w go1
{ cat /proc/partitions; ls -l /dev/ubdb; ls /sys/block; cat /sys/block/ubdb/size; } > /tmp/r 2>&1; r seen
{ mkdir -p /mnt/h && mount /dev/ubdb /mnt/h && echo hot-plugged > /mnt/h/hello && sync && echo mounted; } > /tmp/r 2>&1; r mounted
w go2
umount /mnt/h > /tmp/r 2>&1 && echo umounted >> /tmp/r; r umounted
w go3
{ ls /dev/ubdb; cat /proc/partitions; ls /sys/block; } > /tmp/r 2>&1; r gone
sleep 30 < /dev/tty1 &
echo opened > /tmp/r; r tty-open
w go4
{ cat /sys/class/net/eth1/address && ip link set eth1 up && ip addr add 10.77.0.1/24 dev eth1 && ip -o link show eth1; } > /tmp/r 2>&1; r eth-up
ping -c 2 -i 0.2 -W 1 10.77.0.2 > /dev/null 2>&1; echo > /tmp/r; r pinged
w go5
ip link set eth1 down > /tmp/r 2>&1 && echo down >> /tmp/r; r eth-down
w go6
{ cat /proc/net/dev; ls /sys/class/net; } > /tmp/r 2>&1; r eth-gone
w go7
`;
}

before(async () => {
  if (spawnSync('uml_mconsole', [], { stdio: 'ignore' }).error) { skip = 'uml_mconsole is not installed (apt-get install uml-utilities)'; return; }
  if (spawnSync('mke2fs', ['-V'], { stdio: 'ignore' }).error || spawnSync('debugfs', ['-V'], { stdio: 'ignore' }).error) {
    skip = 'mke2fs/debugfs are not installed (apt-get install e2fsprogs)';
    return;
  }
  if (spawnSync(TUML, ['quiet', '--', '/bin/true'], { timeout: 20000 }).status !== 0) { skip = './tuml -- /bin/true does not run: the engine is not ready'; return; }
  // Not under /tmp: the guest has its own /tmp, and it reads the step flags from this directory.
  dir = mkdtempSync('/var/tmp/tuml-hp-');
  sock = `${dir}/hp/mconsole`;
  img = `${dir}/disk.img`;
  writeFileSync(img, '');
  truncateSync(img, 8 << 20);
  const mk = spawnSync('mke2fs', ['-q', '-F', '-t', 'ext2', img]);
  if (mk.status !== 0) throw new Error(`mke2fs: ${mk.stderr}`);
  sw = spawn(TUML, ['switch', '-unix', `${dir}/sw.ctl`], { stdio: 'ignore' });
  machine = spawn(TUML, ['umid=hp', `uml_dir=${dir}`, `eth1.pcap=${dir}/eth1.pcap`, 'quiet', '--', 'sh', '-c', guestScript(dir)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  machine.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  machine.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  exited = new Promise((r) => machine!.once('exit', (code) => r(code)));
  await report('ready', 15000);
  for (let i = 0; i < 100 && !existsSync(`${dir}/sw.ctl`); i++) await sleep(50);
});

after(async () => {
  if (machine && machine.exitCode === null) {
    machine.kill('SIGKILL');
    await exited;
  }
  sw?.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('ubd: hot-add an ext2 image, mount it in the guest, remove refused while mounted, removed after umount', { timeout: 20000 }, async (t) => {
  if (skip) return t.skip(skip);
  await expect('config ubd1', 'OK \n', 0);
  await expect(`config ubd1=${img}`, 'OK \n', 0);
  await expect('config ubd1', `OK ${img}\n`, 0);
  await expect('config ubdb', `OK ${img}\n`, 0);
  // Replies of UML 6.1 to the same mistakes.
  await expect(`config ubd1=${img}`, 'ERR Device is already configured\n', 240);
  await expect('config ubd99', 'ERR ubd_get_config : device number out of range\n', 1);
  await expect(`config ubd2=${dir}/nonexistent`, "ERR Couldn't determine size of device's file\n", 254);
  await expect('config ubd2', 'OK \n', 0);
  await expect('config ubd20=/x', 'ERR Device number out of range\n', 1);
  await expect(`config ubd4x=${img}`, "ERR Expected '=' or flag letter (r, s, c, t or d)\n", 234);

  go('go1');
  assert.equal(await report('mounted'), 'mounted\n', out);
  const seen = await report('seen');
  assert.match(seen, /^ +98 +16 +8192 ubdb$/m);
  assert.match(seen, /^brw-rw---- 1 root disk 98, 16 .* \/dev\/ubdb$/m);
  assert.match(seen, /^ubdb$/m);
  assert.match(seen, /^16384$/m);

  // Mounted: UML's -EBUSY reply (err 4294967280, uml_mconsole exits 240).
  await expect('remove ubd1', 'ERR Device is currently open\n', 240);
  go('go2');
  assert.equal(await report('umounted'), 'umounted\n');
  await expect('remove ubd1', 'OK \n', 0);
  await expect('remove ubd1', "ERR Device doesn't exist\n", 237);
  await expect('config ubd1', 'OK \n', 0);
  go('go3');
  // Gone from /dev, /proc/partitions and /sys/block.
  const gone = await report('gone');
  assert.match(gone, /\/dev\/ubdb': No such file or directory/);
  assert.doesNotMatch(gone, /(^| )ubdb$/m);

  // A COW file over the image: the query shows both, as UML prints them.
  await expect(`config ubd3=${dir}/disk.cow,${img}`, 'OK \n', 0);
  await expect('config ubd3', `OK ${dir}/disk.cow,${img}\n`, 0);
  await expect('remove ubd3', 'OK \n', 0);

  const cat = spawnSync('debugfs', ['-R', 'cat /hello', img], { encoding: 'utf8' });
  assert.equal(cat.stdout, 'hot-plugged\n');
  const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
  assert.equal(fsck.status, 0, fsck.stdout + fsck.stderr);
});

test('con/ssl: config, query and remove as UML answers', { timeout: 20000 }, async (t) => {
  if (skip) return t.skip(skip);
  await report('tty-open');
  // tty1 is held open by the guest (on a null channel).
  await expect('config con1', 'OK null\n', 0);
  await expect('config con1=pts', 'ERR Device is already open\n', 234);
  await expect('remove con1', 'ERR Device is already open\n', 234);
  await expect('config con2=pts', 'OK \n', 0);
  await expect('config con2', 'OK pts\n', 0);
  await expect('remove con2', 'OK \n', 0);
  await expect('config con2', 'OK none\n', 0);
  await expect('remove con2', "ERR configured as 'none'\n", 234);
  await expect('config con2=none', "ERR configured as 'none'\n", 234);
  await expect('config con3=null', 'OK \n', 0);
  await expect('config con3=none', "OK configured as 'none'\n", 0);
  await expect('config con4=null,fd:1', 'OK \n', 0);
  await expect('config con4', 'OK null\n', 0);
  await expect(`config ssl0=port:${port}`, 'OK \n', 0);
  await expect('config ssl0', `OK port:${port}\n`, 0);
  await expect('remove ssl0', 'OK \n', 0);
  await expect('config con=pts', "ERR Can't configure all devices from mconsole\n", 234);
  await expect('config con99=pts', 'ERR Device number out of range\n', 234);
  await expect('config con5=bogus', 'ERR failed to parse channel pair\n', 255);
  await expect('config con5x=null', "ERR Couldn't parse device number\n", 234);
  await expect('remove con99', 'ERR Device number out of range\n', 234);
  await expect('remove con5x', "ERR Couldn't parse device number\n", 1);
  await expect('config ssl', 'ERR line_get_config failed to parse device number\n', 1);
  await expect('config ssl99', 'ERR device number out of range\n', 1);
});

test('eth: hot-add onto tuml switch, frames flow, remove refused while up, removed when down', { timeout: 20000 }, async (t) => {
  if (skip) return t.skip(skip);
  if (spawnSync('sh', ['-c', 'command -v ip && command -v ping'], { stdio: 'ignore' }).status !== 0) return t.skip('ip (iproute2) and ping are needed');
  const ctl = `${dir}/sw.ctl`;
  await expect('config eth1', 'ERR No get_config routine defined\n', 1);
  await expect('remove eth1', "ERR Device doesn't exist\n", 237);
  await expect('config eth1=bogus', 'ERR \n', 1);
  await expect('config ethx=daemon', 'ERR Bad device number\n', 234);
  await expect('config eth1x=daemon', "ERR Expected '=' after device number\n", 234);
  await expect(`config eth1=daemon,,unix,${ctl}`, 'OK \n', 0);
  await expect(`config eth1=daemon,,unix,${ctl}`, 'ERR Device already configured\n', 234);
  go('go4');
  await report('pinged');
  const up = await report('eth-up');
  const mac = /^([0-9a-f]{2}(:[0-9a-f]{2}){5})$/m.exec(up)?.[1];
  assert.ok(mac, up);
  assert.match(up, /eth1: <BROADCAST,MULTICAST,UP,LOWER_UP> .* state UP /);
  // The guest's ARP requests went out through the hot-plugged transport (its capture file).
  const pcap = readFileSync(`${dir}/eth1.pcap`);
  const macBytes = Buffer.from(mac.replace(/:/g, ''), 'hex');
  assert.ok(pcap.length > 24 && pcap.includes(macBytes), `no frame from ${mac} in the capture`);
  await expect('remove eth1', 'ERR Device is currently open\n', 240);
  go('go5');
  assert.equal(await report('eth-down'), 'down\n');
  await expect('remove eth1', 'OK \n', 0);
  await expect('remove eth1', "ERR Device doesn't exist\n", 237);
  go('go6');
  assert.doesNotMatch(await report('eth-gone'), /eth1/);
  // A transport that cannot be opened: UML answers OK and has no device.
  await expect(`config eth2=daemon,,unix,${dir}/nosuch.ctl`, 'OK \n', 0);
  await expect('remove eth2', "ERR Device doesn't exist\n", 237);
  go('go7');
});
