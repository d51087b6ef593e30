// execve: find the binary format (#! or ELF), and — past the point of no return — replace
// the task's host image with a fresh stub, map the program into it, build its stack and
// start it. Everything that can fail with an errno the caller sees happens before that point.
import type { Task } from '../task/task.js';
import type { Path } from '../fs/path.js';
import type { File } from '../fs/file.js';
import { Errno } from '../errno.js';
import { E2BIG, ELOOP, ENOEXEC, ENOENT } from '../abi/errno.js';
import { O_RDONLY } from '../abi/fcntl.js';
import { REG } from '../../host/ptrace/constants.js';
import { parseElf, isElf, PT_INTERP, type ElfInfo } from './elf.js';
import { loadElf } from './loader.js';
import { buildStack, parseHostAuxv, AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_FLAGS, AT_GID, AT_HWCAP, AT_HWCAP2, AT_MINSIGSTKSZ, AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_SECURE, AT_SYSINFO_EHDR, AT_UID } from './stack.js';
import { lookupAt, mayExec, openPath, walkContext } from '../fs/vfs.js';
import { walk } from '../fs/namei.js';
import { scratchAddress } from '../mm/inject.js';
import { dropPosixTimers } from '../signal/interval-timers.js';
import { sysvIpcExec } from '../ipc/sysv/process.js';

export const MAX_ARG_STRLEN = 131072, MAX_ARG_STRINGS = 0x7fffffff, BINPRM_BUF_SIZE = 256;
const MAX_INTERP_DEPTH = 4;

interface Binary { path: Path; file: File; elf: ElfInfo; interp: { path: Path; file: File; elf: ElfInfo; name: string } | null }

function readerOf(f: File, t: Task) {
  return (off: number, len: number) => f.pread(t, len, off);
}

function openExecutable(t: Task, p: Path): File {
  mayExec(t, p);
  return openPath(t, p, O_RDONLY);
}

/** Resolves #! chains and the ELF interpreter. May rewrite argv. */
function prepare(t: Task, pathname: string, start: Path, argv: Buffer[], depth: number, dirfd: number, atFlags: number): { bin: Binary; argv: Buffer[]; filename: string } {
  if (depth > MAX_INTERP_DEPTH) throw new Errno(ELOOP);
  const p = depth === 0 ? lookupAt(t, dirfd, pathname, !(atFlags & 0x100), atFlags) : walk(walkContext(t), start, pathname, { follow: true });
  const f = openExecutable(t, p);
  let ok = false;
  try {
    const head = f.pread(t, BINPRM_BUF_SIZE, 0);
    if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      let nl = head.indexOf(0x0a);
      if (nl < 0) nl = head.length;
      const line = head.toString('latin1', 2, nl).replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
      if (line === '') throw new Errno(ENOEXEC);
      const sp = line.search(/[ \t]/);
      const interp = sp < 0 ? line : line.slice(0, sp);
      const arg = sp < 0 ? '' : line.slice(sp).replace(/^[ \t]+/, '');
      const newArgv: Buffer[] = [Buffer.from(interp, 'latin1')];
      if (arg) newArgv.push(Buffer.from(arg, 'latin1'));
      newArgv.push(Buffer.from(pathname));
      newArgv.push(...argv.slice(1));
      f.unref();
      ok = true;
      return prepare(t, interp, t.fs.cwd, newArgv, depth + 1, -100, 0);
    }
    if (!isElf(head)) throw new Errno(ENOEXEC);
    const elf = parseElf(readerOf(f, t));
    let interp: Binary['interp'] = null;
    const pi = elf.phdrs.find((ph) => ph.type === PT_INTERP);
    if (pi) {
      const raw = f.pread(t, Math.min(pi.filesz, 4096), pi.offset);
      const name = raw.toString('latin1').replace(/\0.*$/s, '');
      if (!name) throw new Errno(ENOEXEC);
      let ip: Path;
      try {
        ip = walk(walkContext(t), t.fs.root, name, { follow: true });
      } catch (e) {
        if (e instanceof Errno && e.errno === ENOENT) throw new Errno(ENOENT);
        throw e;
      }
      const ifile = openPath(t, ip, O_RDONLY);
      try {
        interp = { path: ip, file: ifile, elf: parseElf(readerOf(ifile, t)), name };
      } catch (e) {
        ifile.unref();
        throw e;
      }
    }
    ok = true;
    return { bin: { path: p, file: f, elf, interp }, argv, filename: pathname };
  } finally {
    if (!ok) f.unref();
  }
}

function checkArgs(argv: Buffer[], envp: Buffer[], stackLimit: number): void {
  let total = 0;
  for (const s of [...argv, ...envp]) {
    if (s.length + 1 > MAX_ARG_STRLEN) throw new Errno(E2BIG);
    total += s.length + 1 + 8;
  }
  if (total > Math.max(stackLimit / 4, 128 * 1024)) throw new Errno(E2BIG);
}

/** A thread other than the leader exec'd: it becomes the leader, with the leader's ids. */
function takeOverLeader(t: Task, oldHostTid: number): void {
  const k = t.kernel;
  const g = t.group;
  const leader = g.leader;
  k.byHostTid.delete(oldHostTid);
  k.byTid.delete(t.tid);
  k.pids.free(t.tid);
  g.threads.delete(leader);
  k.byTid.delete(leader.tid);
  leader.syscall?.unpark?.();
  t.tid = leader.tid;
  g.leader = t;
  k.byHostTid.set(t.hostTid, t);
  k.byTid.set(t.tid, t);
}

export interface ExecArgs { dirfd: number; pathname: string; argv: Buffer[]; envp: Buffer[]; flags: number }

/**
 * Replaces the task's program. Throws Errno before the point of no return; afterwards
 * the task is running the new program (or has been killed if loading failed).
 */
export function execve(t: Task, req: ExecArgs): void {
  const k = t.kernel;
  const stackLimit = t.group.rlimits.get(3).cur;
  checkArgs(req.argv, req.envp, Number.isFinite(stackLimit) ? stackLimit : 8 << 20);
  const { bin, argv } = prepare(t, req.pathname, t.fs.cwd, req.argv, 0, req.dirfd, req.flags);
  checkArgs(argv, req.envp, Number.isFinite(stackLimit) ? stackLimit : 8 << 20);
  const guestPath = k.mounts.pathString(bin.path, t.fs.root);
  const comm = Buffer.from(req.pathname.split('/').pop() || req.pathname).subarray(0, 15).toString();
  try {
    // ---- point of no return ----
    const oldHostTid = t.hostTid;
    k.platform.execStub(t.tracee, scratchAddress(t), comm, t.group.leader.hostTid);
    if (t.hostTid !== oldHostTid) takeOverLeader(t, oldHostTid);
    const tr = t.tracee;
    tr.invalidateRegs();
    const rsp = tr.getRegNum(REG.rsp);
    const hostAux = parseHostAuxv(t.mem.readPartial(rsp, 4096));
    const exe = loadElf(k, t, bin.file, bin.elf, guestPath, false);
    let entry = exe.entry;
    let interpBase = 0;
    if (bin.interp) {
      const ip = k.mounts.pathString(bin.interp.path, t.fs.root);
      const li = loadElf(k, t, bin.interp.file, bin.interp.elf, ip, true);
      entry = li.entry;
      interpBase = li.base;
    }
    const c = t.cred;
    const aux: [number, number][] = [
      [AT_SYSINFO_EHDR, hostAux.get(AT_SYSINFO_EHDR) ?? 0],
      [AT_MINSIGSTKSZ, hostAux.get(AT_MINSIGSTKSZ) ?? 2048],
      [AT_HWCAP, hostAux.get(AT_HWCAP) ?? 0],
      [AT_PAGESZ, 4096], [AT_CLKTCK, 100],
      [AT_PHDR, exe.phdrAddr], [AT_PHENT, 56], [AT_PHNUM, bin.elf.phnum],
      [AT_BASE, interpBase], [AT_FLAGS, 0], [AT_ENTRY, exe.entry],
      [AT_UID, c.uid], [AT_EUID, c.euid], [AT_GID, c.gid], [AT_EGID, c.egid], [AT_SECURE, 0],
      [AT_HWCAP2, hostAux.get(AT_HWCAP2) ?? 0],
    ].filter(([key]) => key !== AT_SYSINFO_EHDR || hostAux.has(AT_SYSINFO_EHDR)) as [number, number][];
    const top = Math.floor((rsp - 256) / 16) * 16;
    const st = buildStack(top, argv, req.envp, req.pathname, aux);
    t.mem.write(st.bottom, st.bytes);
    for (let i = 0; i < 27; i++) if (i !== REG.cs && i !== REG.ss && i !== REG.eflags && i !== REG.ds && i !== REG.es && i !== REG.fs && i !== REG.gs) tr.setReg(i, 0);
    tr.setReg(REG.orig_rax, -1n);
    tr.setReg(REG.rip, entry);
    tr.setReg(REG.rsp, st.bottom);
    // The process now runs the new program.
    const g = t.group;
    g.exe = bin.path;
    g.exePath = guestPath;
    g.argv = argv;
    g.envp = req.envp;
    g.comm = comm;
    t.name = comm;
    g.fds.closeOnExec();
    g.sigactions.resetOnExec();
    dropPosixTimers(g);
    sysvIpcExec(k, g);
    g.mappedFiles.clear();
    t.syscall = null;
    tr.cont();
  } catch (e) {
    // Past the point of no return a failure kills the process, as in Linux.
    k.log.warn(`tuml: exec of ${guestPath} failed after the point of no return: ${(e as Error).message} ${process.env.TUML_DEBUG ? (e as Error).stack : ""}`);
    try { k.platform.kill(t.hostTid, 9); t.tracee.cont(); } catch { /* gone */ }
  } finally {
    bin.file.unref();
    bin.interp?.file.unref();
  }
}
