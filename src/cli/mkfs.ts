// tuml mkfs: an ext2/ext4 image from a directory, no privileges needed. Uses the host's
// mke2fs when present (it knows every feature); otherwise tuml's own formatter and
// copier (src/kernel/fs/ext4/format.ts, populate.ts).
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, openSync, statSync } from 'node:fs';
import { FileBlockBackend } from '../kernel/fs/ext4/device.js';
import { formatVolume } from '../kernel/fs/ext4/format.js';
import { populateFromDir } from '../kernel/fs/ext4/populate.js';
import { Ext4Volume } from '../kernel/fs/ext4/volume.js';

const USAGE = 'usage: tuml mkfs [-t ext2|ext3|ext4] [-d DIR] [-L LABEL] [--builtin] IMAGE SIZE\n' +
  '  SIZE in bytes, or with a K, M or G suffix (e.g. 64M)\n';

export function parseSize(s: string): number | null {
  const m = /^(\d+)([KMGT]?)i?B?$/i.exec(s);
  if (!m) return null;
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2]!.toUpperCase()]!;
  return Number(m[1]) * mult;
}

function findMke2fs(): string | null {
  for (const p of ['/usr/sbin/mke2fs', '/sbin/mke2fs', '/usr/bin/mke2fs']) if (existsSync(p)) return p;
  return spawnSync('mke2fs', ['-V']).status === 0 ? 'mke2fs' : null;
}

export async function main(argv: string[]): Promise<number> {
  let type = 'ext4';
  let dir: string | undefined;
  let label: string | undefined;
  let builtin = false;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-t') type = argv[++i] ?? '';
    else if (a === '-d') dir = argv[++i];
    else if (a === '-L') label = argv[++i];
    else if (a === '--builtin') builtin = true;
    else if (a === '-h' || a === '--help') { process.stdout.write(USAGE); return 0; }
    else if (a.startsWith('-')) { process.stderr.write(`tuml mkfs: unknown option ${a}\n${USAGE}`); return 2; }
    else pos.push(a);
  }
  if (pos.length !== 2) { process.stderr.write(USAGE); return 2; }
  const [image, sizeArg] = pos as [string, string];
  if (!['ext2', 'ext3', 'ext4'].includes(type)) { process.stderr.write(`tuml mkfs: unsupported type ${type}\n`); return 2; }
  const size = parseSize(sizeArg);
  if (size === null || size < 1024 * 1024) { process.stderr.write(`tuml mkfs: bad size ${sizeArg} (at least 1M)\n`); return 2; }
  if (dir !== undefined && !(existsSync(dir) && statSync(dir).isDirectory())) {
    process.stderr.write(`tuml mkfs: ${dir}: not a directory\n`);
    return 1;
  }
  if (label !== undefined && Buffer.byteLength(label) > 16) { process.stderr.write('tuml mkfs: label longer than 16 bytes\n'); return 2; }
  try {
    // A sparse image of the requested size.
    const fd = openSync(image, 'w');
    ftruncateSync(fd, size);
    closeSync(fd);
  } catch (e) {
    process.stderr.write(`tuml mkfs: ${image}: ${(e as Error).message}\n`);
    return 1;
  }
  const mke2fs = builtin ? null : findMke2fs();
  if (mke2fs) {
    const args = ['-q', '-F', '-t', type, ...(label ? ['-L', label] : []), ...(dir ? ['-d', dir] : []), image];
    const r = spawnSync(mke2fs, args, { encoding: 'utf8' });
    if (r.status !== 0) { process.stderr.write(`tuml mkfs: mke2fs failed:\n${r.stderr ?? ''}${r.stdout ?? ''}`); return 1; }
    return 0;
  }
  if (type === 'ext3') { process.stderr.write('tuml mkfs: ext3 needs the host mke2fs (the built-in formatter makes ext2 and ext4 without a journal)\n'); return 1; }
  try {
    const dev = new FileBlockBackend(image);
    formatVolume(dev, { type: type as 'ext2' | 'ext4', label });
    if (dir) {
      const v = Ext4Volume.mount(new FileBlockBackend(image));
      populateFromDir(v, dir);
      v.unmount();
    }
    return 0;
  } catch (e) {
    process.stderr.write(`tuml mkfs: ${(e as Error).message}\n`);
    return 1;
  }
}
