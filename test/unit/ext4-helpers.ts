// Shared helpers for the ext4 tests: temp dirs, host mke2fs/e2fsck/debugfs, tree walks.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlockBackend } from '../../src/kernel/fs/ext4/device.js';
import { Ext4Volume } from '../../src/kernel/fs/ext4/volume.js';

export const E2FSPROGS = ['/usr/sbin/mke2fs', '/sbin/mke2fs', '/usr/bin/mke2fs'].some((p) => spawnSync('test', ['-x', p]).status === 0)
  || spawnSync('mke2fs', ['-V']).status === 0;

export function tempDir(): { dir: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tuml-ext4-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

export function mkfs(image: string, type: string, sizeMb: number, opts: string[] = [], from?: string): void {
  execFileSync('mke2fs', ['-q', '-F', '-t', type, ...opts, ...(from ? ['-d', from] : []), image, `${sizeMb}M`], {
    env: { ...process.env, E2FSPROGS_FAKE_TIME: undefined, MKE2FS_CONFIG: '/etc/mke2fs.conf' }, stdio: 'pipe',
  });
}

export function fsck(image: string): { ok: boolean; out: string } {
  const r = spawnSync('e2fsck', ['-fn', image], { encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '') + (r.stderr ?? '') };
}

export function debugfsCat(image: string, path: string): Buffer {
  return execFileSync('debugfs', ['-R', `cat "${path}"`, image], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
}

export function debugfs(image: string, cmd: string): string {
  return execFileSync('debugfs', ['-R', cmd, image], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

export function open(image: string, readOnly = false): Ext4Volume {
  return Ext4Volume.mount(new FileBlockBackend(image, readOnly), { readOnly });
}

/** Resolve a slash path from the root through the volume (no symlink following). */
export function resolve(v: Ext4Volume, path: string): number {
  let ino = v.rootIno;
  for (const part of path.split('/').filter(Boolean)) ino = v.lookup(ino, part);
  return ino;
}
