// /proc/<pid>/maps and smaps: the host's own record of the task's address space (it is the
// truth: guest code runs there), translated to the guest's view. Addresses, permissions and
// offsets stay; a mapped file's host path becomes the guest path the kernel mapped it from
// (ThreadGroup.mappedFiles, keyed `${st_dev}:${st_ino}` of the host file, st_dev as glibc's
// makedev encodes it); the stub tuml runs every task in is hidden; [stack], [heap], [vdso]
// and [vvar] are shown as the host shows them.
import type { ThreadGroup } from '../../task/thread-group.js';
import { hostMaps, hostSmaps } from '../../../host/proc-stat.js';
import { STUB_BASE } from '../../../host/stub-elf.js';
import { makedev } from '../devnums.js';

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) ([0-9a-f]+):([0-9a-f]+) (\d+) *(.*)$/;
/** The stub image is one page at STUB_BASE. */
const STUB_END = STUB_BASE + 0x1000;
/** Linux pads the name column to this width (25 + sizeof(void *) * 6 - 1) plus one space. */
const NAME_COLUMN = 72;

export interface MapsLine { start: number; end: number; text: string }

/** Rewrites one maps header line; null when it must not be shown. */
export function translateMapsLine(line: string, mapped: ReadonlyMap<string, string>): string | null {
  const m = HEADER.exec(line);
  if (!m) return null;
  const start = parseInt(m[1]!, 16);
  if (start >= STUB_BASE && start < STUB_END) return null;
  const [maj, min, ino] = [parseInt(m[5]!, 16), parseInt(m[6]!, 16), m[7]!];
  let name = m[8] ?? '';
  if (!name.startsWith('[')) {
    // File mappings show the guest's name for the file, or nothing if tuml did not map it
    // (the host path means nothing inside the machine).
    name = ino !== '0' ? mapped.get(`${makedev(maj, min)}:${ino}`) ?? '' : '';
  }
  const prefix = `${m[1]}-${m[2]} ${m[3]} ${m[4]} ${m[5]}:${m[6]} ${ino} `;
  return name ? prefix.padEnd(NAME_COLUMN, ' ') + ' ' + name : prefix;
}

/** /proc/<pid>/maps. */
export function pidMaps(g: ThreadGroup): string {
  const text = g.alive ? hostMaps(g.hostPid) : null;
  if (!text) return '';
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const t = translateMapsLine(line, g.mappedFiles);
    if (t !== null) out.push(t);
  }
  return out.map((l) => l + '\n').join('');
}

/** /proc/<pid>/smaps: the host's per-mapping statistics under translated headers. */
export function pidSmaps(g: ThreadGroup): string {
  const text = g.alive ? hostSmaps(g.hostPid) : null;
  if (!text) return '';
  const out: string[] = [];
  let keep = false;
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (HEADER.test(line)) {
      const t = translateMapsLine(line, g.mappedFiles);
      keep = t !== null;
      if (keep) out.push(t!);
    } else if (keep) out.push(line);
  }
  return out.map((l) => l + '\n').join('');
}
