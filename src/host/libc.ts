// FFI bindings to the host C library. This file and its siblings in src/host/ are the
// only code that calls the host kernel directly.
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');

export const ptraceNum = libc.func('long ptrace(long request, int pid, uintptr_t addr, uintptr_t data)') as
  (req: number, pid: number, addr: number | bigint, data: number | bigint) => number;
export const ptraceBuf = libc.func('long ptrace(long request, int pid, uintptr_t addr, _Inout_ uint8_t *data)') as
  (req: number, pid: number, addr: number | bigint, data: Buffer) => number;
export const waitpidRaw = libc.func('int waitpid(int pid, _Out_ int *status, int options)') as
  (pid: number, status: number[], options: number) => number;
export const wait4Raw = libc.func('int wait4(int pid, _Out_ int *status, int options, _Out_ uint8_t *rusage)') as
  (pid: number, status: number[], options: number, rusage: Buffer) => number;
/** wait4 on raw addresses (of a Buffer that outlives the call): the kernel loop's hot path,
 *  where koffi's marshalling of an out array and a buffer costs as much as the call. */
export const wait4Ptr = libc.func('int wait4(int pid, uintptr_t status, int options, uintptr_t rusage)') as
  (pid: number, status: number, options: number, rusage: number) => number;
export const posixSpawn = libc.func(
  'int posix_spawn(_Out_ int *pid, const char *path, void *file_actions, void *attrp, const char **argv, const char **envp)') as
  (pid: number[], path: string, fa: Buffer | null, attr: Buffer | null, argv: (string | null)[], envp: (string | null)[]) => number;
export const posixSpawnattrInit = libc.func('int posix_spawnattr_init(_Inout_ uint8_t *attr)') as (attr: Buffer) => number;
export const posixSpawnattrSetflags = libc.func('int posix_spawnattr_setflags(_Inout_ uint8_t *attr, short flags)') as
  (attr: Buffer, flags: number) => number;
export const posixSpawnattrSetsigmask = libc.func('int posix_spawnattr_setsigmask(_Inout_ uint8_t *attr, const uint8_t *mask)') as
  (attr: Buffer, mask: Buffer) => number;
export const posixSpawnattrSetsigdefault = libc.func('int posix_spawnattr_setsigdefault(_Inout_ uint8_t *attr, const uint8_t *mask)') as
  (attr: Buffer, mask: Buffer) => number;
export const kill = libc.func('int kill(int pid, int sig)') as (pid: number, sig: number) => number;
export const tgkill = libc.func('int tgkill(int tgid, int tid, int sig)') as (tgid: number, tid: number, sig: number) => number;
export const processVmReadv = libc.func(
  'intptr_t process_vm_readv(int pid, const uint8_t *local, unsigned long liovcnt, const uint8_t *remote, unsigned long riovcnt, unsigned long flags)') as
  (pid: number, local: Buffer, lcnt: number, remote: Buffer, rcnt: number, flags: number) => number;
export const processVmWritev = libc.func(
  'intptr_t process_vm_writev(int pid, const uint8_t *local, unsigned long liovcnt, const uint8_t *remote, unsigned long riovcnt, unsigned long flags)') as
  (pid: number, local: Buffer, lcnt: number, remote: Buffer, rcnt: number, flags: number) => number;
export const memfdCreate = libc.func('int memfd_create(const char *name, unsigned int flags)') as
  (name: string, flags: number) => number;
export const pollRaw = libc.func('int poll(_Inout_ uint8_t *fds, unsigned long nfds, int timeout)') as
  (fds: Buffer, nfds: number, timeout: number) => number;
export const ftruncate = libc.func('int ftruncate(int fd, int64_t length)') as (fd: number, len: number) => number;
export const fallocateRaw = libc.func('int fallocate(int fd, int mode, int64_t offset, int64_t len)') as
  (fd: number, mode: number, off: number, len: number) => number;
export const tcgetattr = libc.func('int tcgetattr(int fd, _Out_ uint8_t *termios)') as (fd: number, t: Buffer) => number;
export const tcsetattr = libc.func('int tcsetattr(int fd, int act, const uint8_t *termios)') as (fd: number, act: number, t: Buffer) => number;
export const ioctlBuf = libc.func('int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)') as (fd: number, req: number, arg: Buffer) => number;
export const gettid = libc.func('int gettid(void)') as () => number;
export const prctl = libc.func('int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)') as
  (opt: number, a2: number, a3: number, a4: number, a5: number) => number;
export const getuid = libc.func('unsigned int getuid(void)') as () => number;
export const getgid = libc.func('unsigned int getgid(void)') as () => number;
export const flock = libc.func('int flock(int fd, int op)') as (fd: number, op: number) => number;
export const lseek = libc.func('int64_t lseek(int fd, int64_t off, int whence)') as (fd: number, off: number, whence: number) => number;
export const fsyncRaw = libc.func('int fsync(int fd)') as (fd: number) => number;
export const mknodRaw = libc.func('int mknod(const char *path, unsigned int mode, unsigned long dev)') as
  (path: string, mode: number, dev: number) => number;
export const renameat2 = libc.func('int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)') as
  (ofd: number, op: string, nfd: number, np: string, flags: number) => number;
export const utimensatRaw = libc.func('int utimensat(int dirfd, const char *path, const uint8_t *times, int flags)') as
  (dirfd: number, path: string, times: Buffer, flags: number) => number;
export const lgetxattr = libc.func('intptr_t lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)') as
  (path: string, name: string, value: Buffer | null, size: number) => number;
export const lsetxattr = libc.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)') as
  (path: string, name: string, value: Buffer, size: number, flags: number) => number;
export const llistxattr = libc.func('intptr_t llistxattr(const char *path, _Out_ uint8_t *list, size_t size)') as
  (path: string, list: Buffer | null, size: number) => number;
export const lremovexattr = libc.func('int lremovexattr(const char *path, const char *name)') as (path: string, name: string) => number;
export const statfsRaw = libc.func('int statfs(const char *path, _Out_ uint8_t *buf)') as (path: string, buf: Buffer) => number;

/** The errno left by the last FFI call on this thread. */
export function errno(): number {
  return koffi.errno();
}

/** The address of a Buffer's bytes, for building iovecs and pointer arguments. */
export function addressOf(buf: Buffer): bigint {
  return koffi.address(buf) as bigint;
}

/** syscall(2) with up to three integer arguments (glibc's wrapper only shuffles registers). */
export const syscall3 = libc.func('long syscall(long nr, long a, long b, long c)') as
  (nr: number, a: number, b: number, c: number) => number;

/** fcntl(2) with a pointer argument (F_SETLK & co.); glibc's wrapper only moves registers. */
export const fcntlPtr = libc.func('int fcntl(int fd, int cmd, _Inout_ uint8_t *arg)') as
  (fd: number, cmd: number, arg: Buffer) => number;
