// tmpfs mount options (mm/shmem.c's shmem_parse_one / shmem_show_options): size=, nr_inodes=,
// mode=, uid=, gid=. Sizes take k/m/g/t/p/e suffixes or a percentage of RAM.
import { Errno } from '../../errno.js';
import { EINVAL } from '../../abi/errno.js';

export const PAGE_SIZE = 4096;

export interface TmpfsOptions {
  /** Limit in pages; 0 means unlimited. */
  maxBlocks: number;
  /** Limit on inodes; 0 means unlimited. */
  maxInodes: number;
  /** Permission bits of the root directory (with S_ISVTX). */
  mode: number;
  uid: number;
  gid: number;
}

/** Linux's defaults: half of RAM in pages, and as many inodes as half the pages of RAM (lowmem). */
export function defaultOptions(ramBytes: number): TmpfsOptions {
  const pages = Math.floor(ramBytes / PAGE_SIZE);
  return { maxBlocks: Math.floor(pages / 2), maxInodes: Math.floor(pages / 2), mode: 0o1777, uid: 0, gid: 0 };
}

/** memparse(): a number with an optional binary suffix. */
function memparse(s: string): number {
  const m = /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)([kmgtpe]?)$/i.exec(s);
  if (!m) throw new Errno(EINVAL, `tmpfs: bad size '${s}'`);
  const n = Number(m[1]!.startsWith('0x') || m[1]!.startsWith('0X') ? parseInt(m[1]!, 16)
    : m[1]!.length > 1 && m[1]!.startsWith('0') ? parseInt(m[1]!, 8) : parseInt(m[1]!, 10));
  const shift = ' kmgtpe'.indexOf((m[2] || ' ').toLowerCase());
  return n * 2 ** (10 * shift);
}

function parseId(v: string, what: string): number {
  if (!/^[0-9]+$/.test(v)) throw new Errno(EINVAL, `tmpfs: bad ${what} '${v}'`);
  return Number(v);
}

/**
 * Parses a tmpfs option string ("size=10M,mode=755"). Options tmpfs does not know
 * (including generic ones like rw, nosuid, relatime, which the mount layer handles) are
 * ignored here; a malformed value of a known option is EINVAL, as Linux has it.
 */
export function parseOptions(text: string, ramBytes: number): TmpfsOptions {
  const o = defaultOptions(ramBytes);
  for (const item of text.split(',')) {
    if (!item) continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const val = eq < 0 ? '' : item.slice(eq + 1);
    switch (key) {
      case 'size': {
        let bytes: number;
        if (val.endsWith('%')) {
          const pct = Number(val.slice(0, -1));
          if (!Number.isInteger(pct) || pct < 0) throw new Errno(EINVAL, `tmpfs: bad size '${val}'`);
          bytes = Math.floor((ramBytes / PAGE_SIZE) * pct / 100) * PAGE_SIZE;
        } else bytes = memparse(val);
        o.maxBlocks = Math.ceil(bytes / PAGE_SIZE);
        break;
      }
      case 'nr_blocks': o.maxBlocks = memparse(val); break;
      case 'nr_inodes': o.maxInodes = memparse(val); break;
      case 'mode':
        if (!/^[0-7]+$/.test(val)) throw new Errno(EINVAL, `tmpfs: bad mode '${val}'`);
        o.mode = parseInt(val, 8) & 0o7777;
        break;
      case 'uid': o.uid = parseId(val, 'uid'); break;
      case 'gid': o.gid = parseId(val, 'gid'); break;
      default: break;
    }
  }
  return o;
}

/** The fs-specific part of /proc/mounts' options column: only what differs from the defaults. */
export function showOptions(o: TmpfsOptions, ramBytes: number): string {
  const d = defaultOptions(ramBytes);
  let s = '';
  if (o.maxBlocks !== d.maxBlocks) s += `,size=${o.maxBlocks * (PAGE_SIZE / 1024)}k`;
  if (o.maxInodes !== d.maxInodes) s += `,nr_inodes=${o.maxInodes}`;
  if (o.mode !== 0o1777) s += `,mode=${o.mode.toString(8).padStart(3, '0')}`;
  if (o.uid !== 0) s += `,uid=${o.uid}`;
  if (o.gid !== 0) s += `,gid=${o.gid}`;
  return s;
}
