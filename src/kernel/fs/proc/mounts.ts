// /proc/<pid>/mounts (= /proc/mounts) and /proc/<pid>/mountinfo, from the mount table as
// the reading process sees it (paths relative to its root).
import type { Mount, Path } from '../path.js';
import type { Dentry } from '../path.js';
import type { ProcKernel } from './kernel-view.js';
import { major, minor } from '../devnums.js';

/** Mount ids for mountinfo: stable for a mount's life. */
const ids = new WeakMap<Mount, number>();
let nextId = 21;
export function mountId(m: Mount): number {
  let id = ids.get(m);
  if (id === undefined) ids.set(m, (id = nextId++));
  return id;
}

/** Octal escapes for the characters that would break the columns (Linux's mangle()). */
export function mangle(s: string): string {
  return s.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'));
}

/** Per-mount flags as Linux shows them (show_mnt_opts). */
function mountFlags(m: Mount): string {
  const f = [m.readOnly ? 'ro' : 'rw'];
  if (m.flags.nosuid) f.push('nosuid');
  if (m.flags.nodev) f.push('nodev');
  if (m.flags.noexec) f.push('noexec');
  f.push('relatime');
  return f.join(',');
}

/** A file system's own options, without the rw/ro its mountOptions() may begin with. */
function fsOptions(m: Mount): string[] {
  return m.fs.mountOptions().split(',').filter((o) => o !== '' && o !== 'rw' && o !== 'ro');
}

/** Whether a mount is visible from `root` (inside the reader's chroot). */
function under(k: ProcKernel, m: Mount, root: Path): boolean {
  let cur: Mount | null = m;
  let d: Dentry | null = m.root;
  while (cur) {
    for (let x: Dentry | null = d; x; x = x.parent) if (cur === root.mount && x === root.dentry) return true;
    d = cur.mountpoint;
    cur = cur.parent;
  }
  void k;
  return false;
}

function mountPoint(k: ProcKernel, m: Mount, root: Path): string {
  return k.mounts.pathString({ mount: m, dentry: m.root }, root);
}

/** The path of a mount's root dentry inside its own file system (bind mounts). */
function rootInFs(m: Mount): string {
  const parts: string[] = [];
  for (let d: Dentry | null = m.root; d && d.parent && d.inode !== m.fs.root; d = d.parent) parts.push(d.name);
  return '/' + parts.reverse().join('/');
}

/** /proc/mounts: "source mountpoint fstype options 0 0". */
export function mountsText(k: ProcKernel, root: Path): string {
  let out = '';
  for (const m of k.mounts.all()) {
    if (!under(k, m, root)) continue;
    const opts = [mountFlags(m), ...fsOptions(m)].join(',');
    out += `${mangle(m.source)} ${mangle(mountPoint(k, m, root))} ${m.fs.name} ${opts} 0 0\n`;
  }
  return out;
}

/** /proc/<pid>/mountinfo (proc(5)). */
export function mountinfoText(k: ProcKernel, root: Path): string {
  let out = '';
  for (const m of k.mounts.all()) {
    if (!under(k, m, root)) continue;
    const parent = m.parent ? mountId(m.parent) : 1;
    const dev = `${major(m.fs.dev)}:${minor(m.fs.dev)}`;
    const sb = [m.readOnly || m.fs.readOnly ? 'ro' : 'rw', ...fsOptions(m)].join(',');
    out += `${mountId(m)} ${parent} ${dev} ${mangle(rootInFs(m))} ${mangle(mountPoint(k, m, root))} ${mountFlags(m)} - ${m.fs.name} ${mangle(m.source)} ${sb}\n`;
  }
  return out;
}
