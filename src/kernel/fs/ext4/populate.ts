// Copy a host directory tree into a volume (tuml mkfs -d): files, directories, symlinks,
// hard links, device nodes, FIFOs and sockets, with modes, owners and timestamps.
import { lstatSync, openSync, readSync, closeSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Ext4Volume } from './volume.js';

export function populateFromDir(v: Ext4Volume, hostDir: string, dirIno = v.rootIno): void {
  const seen = new Map<string, number>();
  const walk = (host: string, ino: number): void => {
    for (const name of readdirSync(host).sort()) {
      const p = join(host, name);
      const st = lstatSync(p, { bigint: false });
      const key = `${st.dev}:${st.ino}`;
      if (!st.isDirectory() && st.nlink > 1 && seen.has(key)) { v.link(seen.get(key)!, ino, name); continue; }
      let child: number;
      if (st.isDirectory()) {
        child = v.mkdir(ino, name, st.mode & 0o7777, st.uid, st.gid);
        walk(p, child);
      } else if (st.isSymbolicLink()) {
        child = v.symlink(ino, name, readlinkSync(p, { encoding: 'buffer' }), st.uid, st.gid);
      } else if (st.isFile()) {
        child = v.create(ino, name, st.mode & 0o7777, st.uid, st.gid);
        const fd = openSync(p, 'r');
        try {
          const buf = Buffer.alloc(1 << 20);
          let off = 0;
          for (;;) {
            const n = readSync(fd, buf, 0, buf.length, off);
            if (n === 0) break;
            // Blocks of zeros stay holes, as mke2fs -d keeps sparse files sparse.
            if (buf.subarray(0, n).some((b) => b !== 0)) v.write(child, off, buf.subarray(0, n));
            off += n;
          }
          if (off > 0) v.setattr(child, { size: off });
        } finally { closeSync(fd); }
      } else {
        child = v.mknod(ino, name, st.mode, Number(st.rdev), st.uid, st.gid);
      }
      if (st.nlink > 1 && !st.isDirectory()) seen.set(key, child);
      const ts = (ms: number): { sec: number; nsec: number } => ({ sec: Math.floor(ms / 1000), nsec: Math.round((ms % 1000) * 1e6) });
      v.setattr(child, { atime: ts(st.atimeMs), mtime: ts(st.mtimeMs), ctime: ts(st.ctimeMs) });
    }
  };
  walk(hostDir, dirIno);
}
