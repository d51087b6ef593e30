// ELF64 headers as the loader needs them.
import { Errno } from '../errno.js';
import { ENOEXEC } from '../abi/errno.js';

export const ET_EXEC = 2, ET_DYN = 3;
export const PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6, PT_GNU_STACK = 0x6474e551;
export const PF_X = 1, PF_W = 2, PF_R = 4;

export interface ProgramHeader {
  type: number; flags: number; offset: number; vaddr: number; filesz: number; memsz: number; align: number;
}
export interface ElfInfo {
  type: number; entry: number; phoff: number; phentsize: number; phnum: number;
  phdrs: ProgramHeader[];
}

export function isElf(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

export function parseElf(readAt: (off: number, len: number) => Buffer): ElfInfo {
  const h = readAt(0, 64);
  if (h.length < 64 || !isElf(h)) throw new Errno(ENOEXEC);
  if (h[4] !== 2 || h[5] !== 1) throw new Errno(ENOEXEC); // ELFCLASS64, little endian
  const type = h.readUInt16LE(16);
  const machine = h.readUInt16LE(18);
  if (machine !== 62 || (type !== ET_EXEC && type !== ET_DYN)) throw new Errno(ENOEXEC);
  const entry = Number(h.readBigUInt64LE(24));
  const phoff = Number(h.readBigUInt64LE(32));
  const phentsize = h.readUInt16LE(54);
  const phnum = h.readUInt16LE(56);
  if (phentsize !== 56 || phnum === 0 || phnum > 256) throw new Errno(ENOEXEC);
  const raw = readAt(phoff, phnum * 56);
  if (raw.length < phnum * 56) throw new Errno(ENOEXEC);
  const phdrs: ProgramHeader[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = i * 56;
    phdrs.push({
      type: raw.readUInt32LE(o), flags: raw.readUInt32LE(o + 4),
      offset: Number(raw.readBigUInt64LE(o + 8)), vaddr: Number(raw.readBigUInt64LE(o + 16)),
      filesz: Number(raw.readBigUInt64LE(o + 32)), memsz: Number(raw.readBigUInt64LE(o + 40)),
      align: Number(raw.readBigUInt64LE(o + 48)),
    });
  }
  return { type, entry, phoff, phentsize, phnum, phdrs };
}
