// The initial stack of a new program: argc, argv, envp, auxv and the strings they point
// to, laid out as the x86-64 ABI and Linux's create_elf_tables have it.
import { randomBytes } from 'node:crypto';

export const AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
  AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
  AT_PLATFORM = 15, AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25,
  AT_HWCAP2 = 26, AT_EXECFN = 31, AT_SYSINFO_EHDR = 33, AT_MINSIGSTKSZ = 51;

export interface StackImage {
  /** Bytes to write at `bottom` (the new rsp). */
  bytes: Buffer;
  bottom: number;
}

export function buildStack(top: number, argv: Buffer[], envp: Buffer[], execfn: string, aux: [number, number][]): StackImage {
  // Strings area (grows down from top).
  const strings: Buffer[] = [];
  let cursor = top;
  const place = (b: Buffer): number => {
    cursor -= b.length;
    strings.push(b);
    return cursor;
  };
  const withNul = (b: Buffer) => Buffer.concat([b, Buffer.from([0])]);
  place(Buffer.alloc(8)); // end marker
  const execfnAddr = place(withNul(Buffer.from(execfn)));
  // Laid out like Linux: argv strings then envp strings, ascending.
  const envAddrs = envp.slice().reverse().map((e) => place(withNul(e))).reverse();
  const argAddrs = argv.slice().reverse().map((a) => place(withNul(a))).reverse();
  const platformAddr = place(Buffer.from('x86_64\0'));
  if (cursor % 16) place(Buffer.alloc(cursor % 16));
  const randomAddr = place(randomBytes(16));
  const stringsLow = cursor;

  const auxv: [number, number][] = [...aux, [AT_RANDOM, randomAddr], [AT_EXECFN, execfnAddr], [AT_PLATFORM, platformAddr], [AT_NULL, 0]];
  const words = 1 + argv.length + 1 + envp.length + 1 + auxv.length * 2;
  let bottom = stringsLow - words * 8;
  bottom -= bottom % 16;
  const table = Buffer.alloc(stringsLow - bottom);
  let o = 0;
  const w = (v: number) => { table.writeBigUInt64LE(BigInt(v), o); o += 8; };
  w(argv.length);
  argAddrs.forEach(w);
  w(0);
  envAddrs.forEach(w);
  w(0);
  for (const [k, v] of auxv) { w(k); w(v); }
  // Strings were placed top-down; lay them out bottom-up in one buffer.
  const strBuf = Buffer.concat(strings.slice().reverse());
  return { bytes: Buffer.concat([table, strBuf]), bottom };
}

/** Reads the auxv the host gave the fresh stub (vDSO address, hwcaps) from its stack. */
export function parseHostAuxv(stack: Buffer): Map<number, number> {
  const m = new Map<number, number>();
  let o = 0;
  const argc = Number(stack.readBigUInt64LE(o));
  o += 8 * (1 + argc + 1);
  while (o + 8 <= stack.length && stack.readBigUInt64LE(o) !== 0n) o += 8;
  o += 8;
  while (o + 16 <= stack.length) {
    const k = Number(stack.readBigUInt64LE(o));
    const v = Number(stack.readBigUInt64LE(o + 8));
    if (k === AT_NULL) break;
    m.set(k, v);
    o += 16;
  }
  return m;
}
