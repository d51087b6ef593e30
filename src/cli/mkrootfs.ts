// tuml mkrootfs: a bootable root_fs image (UML's root_fs, made without privileges), from
// debootstrap when asked for and available, else from a static busybox, else from the host's
// own binaries. The tree is built in a temporary directory and written with `tuml mkfs`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main as mkfs } from './mkfs.js';

const USAGE = 'usage: tuml mkrootfs [--from busybox|host|debootstrap] [-t ext2|ext3|ext4] [--size SIZE] [--suite SUITE] [--mirror URL] IMAGE\n';
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];
/** Host programs a root made from the host's own binaries gets (with their libraries). */
const HOST_PROGRAMS = ['sh', 'bash', 'ls', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ln', 'echo', 'ps', 'mount', 'umount',
  'grep', 'sed', 'awk', 'head', 'tail', 'wc', 'sort', 'uniq', 'tr', 'cut', 'env', 'id', 'uname', 'sleep', 'kill', 'touch',
  'chmod', 'chown', 'df', 'du', 'find', 'xargs', 'tar', 'gzip', 'date', 'hostname', 'dmesg', 'stty', 'tty', 'less', 'vi'];

interface Options { from: 'auto' | 'busybox' | 'host' | 'debootstrap'; type: string; size: string; suite: string; mirror: string; image: string }

function parse(argv: string[]): Options | string {
  const o: Options = { from: 'auto', type: 'ext4', size: '', suite: 'bookworm', mirror: 'http://deb.debian.org/debian', image: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--from') {
        const v = val();
        if (v !== 'busybox' && v !== 'host' && v !== 'debootstrap') return `--from: unknown source '${v}'`;
        o.from = v;
      } else if (a === '-t') o.type = val();
      else if (a === '--size') o.size = val();
      else if (a === '--suite') o.suite = val();
      else if (a === '--mirror') o.mirror = val();
      else if (a === '-h' || a === '--help') return '';
      else if (a.startsWith('-')) return `unknown option '${a}'`;
      else if (!o.image) o.image = a;
      else return `unexpected argument '${a}'`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!o.image) return 'missing IMAGE';
  if (!['ext2', 'ext3', 'ext4'].includes(o.type)) return `-t: unknown file system '${o.type}'`;
  return o;
}

/** A one-line progress bar on a terminal, plain lines elsewhere. */
function progress(step: number, total: number, what: string): void {
  if (process.stderr.isTTY) {
    const width = 30, done = Math.round((step / total) * width);
    process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${step}/${total} ${what}`.padEnd(78) + (step === total ? '\n' : ''));
  } else process.stderr.write(`mkrootfs: ${step}/${total} ${what}\n`);
}

function writeFile(root: string, rel: string, text: string, mode = 0o644): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text, { mode });
}

/** The files every root needs: users, hosts, fstab, an inittab for busybox init. */
function baseFiles(root: string): void {
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'home', 'mnt', 'var/log', 'usr/bin', 'usr/sbin', 'lib', 'lib64', 'run']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.chmodSync(path.join(root, 'root'), 0o700);
  writeFile(root, 'etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  writeFile(root, 'etc/group', 'root:x:0:\ntty:x:5:\ndisk:x:6:\nnogroup:x:65534:\n');
  writeFile(root, 'etc/shadow', 'root::19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n', 0o640);
  writeFile(root, 'etc/hostname', 'tuml\n');
  writeFile(root, 'etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\ttuml\n');
  writeFile(root, 'etc/fstab', '/dev/ubda\t/\tauto\tdefaults\t0 1\nproc\t/proc\tproc\tdefaults\t0 0\n');
  writeFile(root, 'etc/inittab', '::sysinit:/bin/mount -a\n::sysinit:/bin/hostname -F /etc/hostname\ntty0::respawn:-/bin/sh\n::ctrlaltdel:/sbin/reboot\n::shutdown:/bin/umount -a -r\n');
  writeFile(root, 'etc/profile', 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1="\\u@\\h:\\w# "\n');
}

function fromBusybox(root: string): void {
  const bb = BUSYBOX_CANDIDATES.find((p) => fs.existsSync(p));
  if (!bb) throw new Error('no static busybox found (apt-get install busybox-static)');
  fs.copyFileSync(bb, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  const list = spawnSync(bb, ['--list-full'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`${bb} --list-full failed`);
  for (const rel of list.stdout.split('\n').filter(Boolean)) {
    const p = path.join(root, rel);
    if (fs.existsSync(p)) continue;
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.symlinkSync('/bin/busybox', p);
  }
}

/** Libraries a dynamic program needs, from ldd. */
function libsOf(prog: string): string[] {
  const r = spawnSync('ldd', [prog], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return [...r.stdout.matchAll(/(\/[^\s]+)/g)].map((m) => m[1]!).filter((p) => fs.existsSync(p));
}

function copyKeepingPath(root: string, hostPath: string): void {
  const dest = path.join(root, hostPath);
  if (fs.existsSync(dest)) return;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(fs.realpathSync(hostPath), dest);
  fs.chmodSync(dest, fs.statSync(hostPath).mode & 0o7777);
}

function fromHost(root: string): void {
  let found = 0;
  for (const name of HOST_PROGRAMS) {
    const w = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const p = w.stdout.trim();
    if (w.status !== 0 || !p.startsWith('/')) continue;
    copyKeepingPath(root, p);
    for (const lib of libsOf(p)) copyKeepingPath(root, lib);
    const inBin = path.join(root, 'bin', name);
    if (!fs.existsSync(inBin)) fs.symlinkSync(p, inBin);
    found++;
  }
  if (found === 0) throw new Error('no host programs found to copy');
  writeFile(root, 'sbin/init', '#!/bin/sh\nmount -t proc proc /proc 2>/dev/null\nexec /bin/sh\n', 0o755);
}

function fromDebootstrap(root: string, o: Options): void {
  const db = spawnSync('sh', ['-c', 'command -v debootstrap'], { encoding: 'utf8' });
  if (db.status !== 0) throw new Error('debootstrap is not installed (apt-get install debootstrap)');
  const r = spawnSync('debootstrap', ['--variant=minbase', o.suite, root, o.mirror], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`debootstrap failed (status ${r.status})`);
}

function dirBytes(dir: string): number {
  const r = spawnSync('du', ['-sb', dir], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : 64 << 20;
}

export async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (typeof o === 'string') {
    if (o) process.stderr.write(`tuml mkrootfs: ${o}\n`);
    process.stderr.write(USAGE);
    return o ? 2 : 0;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tuml-rootfs-'));
  try {
    const total = 4;
    progress(1, total, 'base files');
    baseFiles(root);
    let source = o.from;
    if (source === 'auto') source = BUSYBOX_CANDIDATES.some((p) => fs.existsSync(p)) ? 'busybox' : 'host';
    progress(2, total, `programs from ${source}`);
    if (source === 'debootstrap') fromDebootstrap(root, o);
    else if (source === 'busybox') fromBusybox(root);
    else fromHost(root);
    const size = o.size || `${Math.max(64, Math.ceil((dirBytes(root) * 1.5) / (1 << 20)) + 32)}M`;
    progress(3, total, `writing ${o.type} image of ${size}`);
    const rc = await mkfs(['-t', o.type, '-d', root, '-L', 'root_fs', o.image, size]);
    if (rc !== 0) return rc;
    progress(4, total, `done: boot it with  tuml ubd0=${o.image} root=/dev/ubda`);
    return 0;
  } catch (e) {
    process.stderr.write(`\ntuml mkrootfs: ${(e as Error).message}\n`);
    return 1;
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
