// Maps an ELF image (and its interpreter) into a task whose host image was just replaced
// by a fresh stub, as binfmt_elf does: segments by injected mmaps of the file's backing
// host fd, bss as anonymous memory.
import type { Kernel } from '../kernel.js';
import type { Task } from '../task/task.js';
import type { File } from '../fs/file.js';
import { ET_DYN, PT_LOAD, PF_R, PF_W, PF_X, type ElfInfo } from './elf.js';
import { mapSource, injectAnonMap, MAP_FIXED, MAP_PRIVATE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE } from './../mm/inject.js';
import { injectCall } from '../mm/inject.js';
import { SYS } from '../abi/syscalls.js';
import { Errno } from '../errno.js';
import { ENOEXEC } from '../abi/errno.js';

const PAGE = 4096;
const pageDown = (a: number) => a - (a % PAGE);
const pageUp = (a: number) => Math.ceil(a / PAGE) * PAGE;
/** Where Linux puts a PIE executable (ELF_ET_DYN_BASE on x86-64, without randomization). */
export const ELF_ET_DYN_BASE = 0x555555554000;

export interface LoadedImage { base: number; entry: number; phdrAddr: number; end: number }

function protOf(flags: number): number {
  return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) | (flags & PF_X ? PROT_EXEC : 0);
}

export function loadElf(k: Kernel, t: Task, file: File, elf: ElfInfo, guestPath: string, isInterp: boolean): LoadedImage {
  const loads = elf.phdrs.filter((p) => p.type === PT_LOAD);
  if (loads.length === 0) throw new Errno(ENOEXEC);
  const lo = pageDown(Math.min(...loads.map((p) => p.vaddr)));
  const hi = pageUp(Math.max(...loads.map((p) => p.vaddr + p.memsz)));
  let bias = 0;
  if (elf.type === ET_DYN) {
    // Reserve the whole span first so the segments land together.
    const hint = isInterp ? 0 : ELF_ET_DYN_BASE;
    const at = injectAnonMap(k, t, hint, hi - lo, PROT_NONE, 0);
    bias = at - lo;
  }
  const src = file.mmapSource(false);
  for (const p of loads) {
    const start = pageDown(bias + p.vaddr);
    const fileEnd = bias + p.vaddr + p.filesz;
    const memEnd = bias + p.vaddr + p.memsz;
    const prot = protOf(p.flags);
    if (p.filesz > 0) {
      mapSource(k, t, src, start, pageUp(fileEnd) - start, prot | (p.memsz > p.filesz ? PROT_WRITE : 0), MAP_PRIVATE | MAP_FIXED, pageDown(p.offset), guestPath);
      if (p.memsz > p.filesz) {
        // Zero the tail of the last file page (bss start), then drop the temporary write bit.
        const zlen = pageUp(fileEnd) - fileEnd;
        if (zlen > 0) t.tracee.writeFrom(fileEnd, Buffer.alloc(zlen));
        if (!(prot & PROT_WRITE)) injectCall(k, t, SYS.mprotect, [start, pageUp(fileEnd) - start, prot]);
      }
    }
    const anonStart = p.filesz > 0 ? pageUp(fileEnd) : start;
    if (pageUp(memEnd) > anonStart) injectAnonMap(k, t, anonStart, pageUp(memEnd) - anonStart, prot, MAP_FIXED);
  }
  const first = loads[0]!;
  const phdrAddr = bias + first.vaddr - first.offset + elf.phoff;
  return { base: bias, entry: bias + elf.entry, phdrAddr, end: bias + hi };
}
