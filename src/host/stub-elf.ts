// The stub: a tiny static ELF generated as bytes at run time (no compiler needed on the
// user's machine). Every guest task is a host process whose image is this stub; the kernel
// loads the guest's ELF into it by injected mmaps. Its code is two gadgets:
//   idle:    pause() in a loop — where a freshly spawned stub waits to be seized;
//   syscall: `syscall; int3` — where the kernel injects host syscalls on a task's behalf.
export const STUB_BASE = 0x200000000000;
const HEADER_SIZE = 64 + 56; // one ELF header + one program header

const code = Buffer.from([
  0xb8, 0x22, 0x00, 0x00, 0x00, // idle: mov eax, SYS_pause
  0x0f, 0x05, //                   syscall
  0xeb, 0xf7, //                   jmp idle
  0x0f, 0x05, //                   gadget: syscall
  0xcc, //                         int3
]);

export const STUB_ENTRY = STUB_BASE + HEADER_SIZE;
/** Address of the `syscall` of the injection gadget; the int3 follows it. */
export const STUB_SYSCALL_GADGET = STUB_ENTRY + 9;
/** rip after the gadget's int3 has trapped. */
export const STUB_GADGET_DONE = STUB_SYSCALL_GADGET + 3;

export function buildStubElf(): Buffer {
  const total = HEADER_SIZE + code.length;
  const h = Buffer.alloc(HEADER_SIZE);
  h.write('\x7fELF', 0, 'latin1');
  h[4] = 2; // ELFCLASS64
  h[5] = 1; // little endian
  h[6] = 1; // EV_CURRENT
  h.writeUInt16LE(2, 16); // ET_EXEC
  h.writeUInt16LE(62, 18); // EM_X86_64
  h.writeUInt32LE(1, 20);
  h.writeBigUInt64LE(BigInt(STUB_ENTRY), 24);
  h.writeBigUInt64LE(64n, 32); // e_phoff
  h.writeUInt16LE(64, 52); // e_ehsize
  h.writeUInt16LE(56, 54); // e_phentsize
  h.writeUInt16LE(1, 56); // e_phnum
  const ph = 64;
  h.writeUInt32LE(1, ph); // PT_LOAD
  h.writeUInt32LE(5, ph + 4); // PF_R | PF_X
  h.writeBigUInt64LE(0n, ph + 8);
  h.writeBigUInt64LE(BigInt(STUB_BASE), ph + 16);
  h.writeBigUInt64LE(BigInt(STUB_BASE), ph + 24);
  h.writeBigUInt64LE(BigInt(total), ph + 32);
  h.writeBigUInt64LE(BigInt(total), ph + 40);
  h.writeBigUInt64LE(0x1000n, ph + 48);
  return Buffer.concat([h, code]);
}
