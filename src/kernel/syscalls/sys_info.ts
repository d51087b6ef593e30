// System information and per-process settings: uname, sysinfo, times, rlimits, prctl,
// scheduling and affinity.
import type { HandlerMap } from './handler.js';
import type { Task, SyscallReturn } from '../task/task.js';
import { Native } from '../task/task.js';
import { REG } from '../../host/ptrace/constants.js';
import { Errno } from '../errno.js';
import { EINVAL, EPERM, ESRCH, EFAULT } from '../abi/errno.js';
import { RLIM_NLIMITS, RLIMIT_CPU, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_AS, RLIMIT_MEMLOCK, RLIMIT_RTTIME } from '../task/rlimits.js';
import { injectCall, scratchAddress } from '../mm/inject.js';
import { SYS } from '../abi/syscalls.js';
import * as os from 'node:os';
import { selfTimes, encodeRusage, ticks } from '../task/cpu-times.js';
import { memoryUsage } from '../fs/proc/meminfo.js';

export const UTS_RELEASE = '6.12.0-tuml';
export const UTS_VERSION = '#1 SMP PREEMPT tuml';
const RLIM_INFINITY = 0xffffffffffffffffn;

function utsField(s: string): Buffer {
  const b = Buffer.alloc(65);
  b.write(s.slice(0, 64), 0, 'utf8');
  return b;
}

function groupOf(t: Task, pid: number) {
  if (pid === 0) return t.group;
  const g = t.kernel.groups.get(pid);
  if (!g || !g.alive) throw new Errno(ESRCH);
  return g;
}

function readRlimit(t: Task, addr: number): { cur: number; max: number } {
  const b = t.mem.read(addr, 16);
  const conv = (v: bigint) => (v === RLIM_INFINITY ? Infinity : Number(v));
  return { cur: conv(b.readBigUInt64LE(0)), max: conv(b.readBigUInt64LE(8)) };
}
function writeRlimit(t: Task, addr: number, l: { cur: number; max: number }): void {
  const b = Buffer.alloc(16);
  const conv = (v: number) => (v === Infinity ? RLIM_INFINITY : BigInt(v));
  b.writeBigUInt64LE(conv(l.cur), 0);
  b.writeBigUInt64LE(conv(l.max), 8);
  t.mem.write(addr, b);
}

const PR_SET_PDEATHSIG = 1, PR_GET_PDEATHSIG = 2, PR_GET_DUMPABLE = 3, PR_SET_DUMPABLE = 4,
  PR_SET_NAME = 15, PR_GET_NAME = 16, PR_GET_SECCOMP = 21, PR_SET_SECCOMP = 22,
  PR_SET_NO_NEW_PRIVS = 38, PR_GET_NO_NEW_PRIVS = 39, PR_SET_CHILD_SUBREAPER = 36,
  PR_GET_CHILD_SUBREAPER = 37, PR_CAPBSET_READ = 23, PR_SET_KEEPCAPS = 8, PR_GET_KEEPCAPS = 7,
  PR_SET_TIMERSLACK = 29, PR_GET_TIMERSLACK = 30, PR_SET_VMA = 0x53564d41, PR_SET_THP_DISABLE = 41,
  PR_GET_THP_DISABLE = 42, PR_CAP_AMBIENT = 47, PR_SET_MM = 35;

export const infoCalls: HandlerMap = {
  uname: (t, a) => {
    const k = t.kernel;
    const b = Buffer.concat([utsField('Linux'), utsField(k.hostname), utsField(UTS_RELEASE), utsField(UTS_VERSION), utsField('x86_64'), utsField(k.domainname)]);
    t.mem.write(a[0]!, b);
    return 0;
  },
  sethostname: (t, a) => {
    if (t.cred.euid !== 0) throw new Errno(EPERM);
    const n = a[1]! | 0;
    if (n < 0 || n > 64) throw new Errno(EINVAL);
    t.kernel.hostname = t.mem.read(a[0]!, n).toString('utf8').replace(/\0.*$/s, '');
    return 0;
  },
  setdomainname: (t, a) => {
    if (t.cred.euid !== 0) throw new Errno(EPERM);
    const n = a[1]! | 0;
    if (n < 0 || n > 64) throw new Errno(EINVAL);
    t.kernel.domainname = t.mem.read(a[0]!, n).toString('utf8').replace(/\0.*$/s, '');
    return 0;
  },
  sysinfo: (t, a) => {
    const k = t.kernel;
    const b = Buffer.alloc(112);
    b.writeBigInt64LE(BigInt(Math.floor(k.uptimeMs() / 1000)), 0);
    const load = os.loadavg();
    for (let i = 0; i < 3; i++) b.writeBigUInt64LE(BigInt(Math.floor(load[i]! * 65536)), 8 + i * 8);
    const mem = memoryUsage(k);
    b.writeBigUInt64LE(BigInt(mem.total), 32);
    b.writeBigUInt64LE(BigInt(mem.free), 40);
    b.writeBigUInt64LE(0n, 48);
    b.writeBigUInt64LE(0n, 56);
    b.writeBigUInt64LE(0n, 64);
    b.writeBigUInt64LE(0n, 72);
    b.writeUInt16LE(Math.min(k.groups.size, 65535), 80);
    b.writeUInt32LE(1, 104); // mem_unit
    t.mem.write(a[0]!, b);
    return 0;
  },
  times: (t, a) => {
    if (a[0]) {
      const self = selfTimes(t.group);
      const c = t.group.childTimes;
      const b = Buffer.alloc(32);
      [self.utime, self.stime, c.utime, c.stime].forEach((us, i) => b.writeBigInt64LE(BigInt(ticks(us)), i * 8));
      t.mem.write(a[0]!, b);
    }
    return Math.floor(t.kernel.uptimeMs() / 10);
  },
  getrusage: (t, a) => {
    const who = a[0]! | 0;
    const RUSAGE_SELF = 0, RUSAGE_CHILDREN = -1, RUSAGE_THREAD = 1;
    if (who !== RUSAGE_SELF && who !== RUSAGE_CHILDREN && who !== RUSAGE_THREAD) throw new Errno(EINVAL);
    const times = who === RUSAGE_CHILDREN ? t.group.childTimes : selfTimes(t.group);
    t.mem.write(a[1]!, encodeRusage(times));
    return 0;
  },
  umask: (t, a) => {
    const old = t.fs.umask;
    t.fs.umask = a[0]! & 0o777;
    return old;
  },
  getrlimit: (t, a) => {
    const r = a[0]! | 0;
    if (r < 0 || r >= RLIM_NLIMITS) throw new Errno(EINVAL);
    writeRlimit(t, a[1]!, t.group.rlimits.get(r));
    return 0;
  },
  setrlimit: (t, a) => {
    const r = a[0]! | 0;
    if (r < 0 || r >= RLIM_NLIMITS) throw new Errno(EINVAL);
    setLimit(t, t.group, r, readRlimit(t, a[1]!));
    applyOnHost(t, r);
    return 0;
  },
  prlimit64: (t, a) => {
    const g = groupOf(t, a[0]! | 0);
    const r = a[1]! | 0;
    if (r < 0 || r >= RLIM_NLIMITS) throw new Errno(EINVAL);
    const old = { ...g.rlimits.get(r) };
    if (a[2]) {
      setLimit(t, g, r, readRlimit(t, a[2]!));
      if (g === t.group) applyOnHost(t, r);
    }
    if (a[3]) writeRlimit(t, a[3]!, old);
    return 0;
  },
  getpriority: (t, a) => onHostProcess(t, a, () => 20),
  setpriority: (t, a) => onHostProcess(t, a, () => 0),
  sched_getaffinity: (t, a) => {
    groupOf(t, a[0]! | 0);
    const len = a[1]! | 0;
    if (len < 8 || len % 8) throw new Errno(EINVAL);
    const ncpu = os.cpus().length;
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE((1n << BigInt(ncpu)) - 1n);
    t.mem.write(a[2]!, b);
    return 8;
  },
  sched_setaffinity: (t, a) => { groupOf(t, a[0]! | 0); return 0; },
  sched_getscheduler: (t, a) => { groupOf(t, a[0]! | 0); return 0; },
  sched_setscheduler: (t, a) => { groupOf(t, a[0]! | 0); return 0; },
  sched_getparam: (t, a) => { groupOf(t, a[0]! | 0); t.mem.writeI32(a[1]!, 0); return 0; },
  sched_setparam: (t, a) => { groupOf(t, a[0]! | 0); return 0; },
  sched_get_priority_max: (_t, a) => ((a[0]! | 0) === 1 || (a[0]! | 0) === 2 ? 99 : 0),
  sched_get_priority_min: (_t, a) => ((a[0]! | 0) === 1 || (a[0]! | 0) === 2 ? 1 : 0),
  personality: (t, a) => {
    const old = t.group.personality;
    if ((a[0]! >>> 0) !== 0xffffffff) t.group.personality = a[0]! >>> 0;
    return old;
  },
  prctl: (t, a) => {
    const op = a[0]! | 0;
    switch (op) {
      case PR_SET_NAME: {
        const b = t.mem.readPartial(a[1]!, 16);
        const z = b.indexOf(0);
        t.name = b.subarray(0, z < 0 ? 15 : Math.min(z, 15)).toString('utf8');
        if (t.isLeader) t.group.comm = t.name;
        return 0;
      }
      case PR_GET_NAME: {
        const b = Buffer.alloc(16);
        b.write(t.name || t.group.comm);
        t.mem.write(a[1]!, b);
        return 0;
      }
      case PR_SET_PDEATHSIG: return (a[1]! | 0) >= 0 && (a[1]! | 0) <= 64 ? 0 : -EINVAL;
      case PR_GET_PDEATHSIG: t.mem.writeI32(a[1]!, 0); return 0;
      case PR_GET_DUMPABLE: return t.group.dumpable;
      case PR_SET_DUMPABLE: t.group.dumpable = a[1]! | 0; return 0;
      case PR_SET_NO_NEW_PRIVS: t.group.noNewPrivs = true; return 0;
      case PR_GET_NO_NEW_PRIVS: return t.group.noNewPrivs ? 1 : 0;
      case PR_GET_SECCOMP: return 0;
      case PR_SET_SECCOMP: return -EINVAL;
      case PR_SET_CHILD_SUBREAPER: t.group.isSubreaper = a[1] !== 0; return 0;
      case PR_GET_CHILD_SUBREAPER: t.mem.writeI32(a[1]!, t.group.isSubreaper ? 1 : 0); return 0;
      case PR_CAPBSET_READ: return (a[1]! | 0) >= 0 && (a[1]! | 0) <= 40 ? 1 : -EINVAL;
      case PR_SET_KEEPCAPS: case PR_SET_TIMERSLACK: case PR_SET_THP_DISABLE: return 0;
      case PR_GET_KEEPCAPS: case PR_GET_THP_DISABLE: return 0;
      case PR_GET_TIMERSLACK: return 50000;
      case PR_SET_VMA: return 0;
      case PR_CAP_AMBIENT: return (a[1]! | 0) === 2 /* IS_SET */ ? 0 : -EINVAL;
      case PR_SET_MM: return -EPERM;
      default: return -EINVAL;
    }
  },
  getcpu: (t, a) => { if (a[0]) t.mem.writeU32(a[0], 0); if (a[1]) t.mem.writeU32(a[1], 0); return 0; },
  // One memory node: the default policy is all there is.
  get_mempolicy: (t, a) => {
    if (a[0]) t.mem.writeI32(a[0], 0 /* MPOL_DEFAULT */);
    if (a[1]) {
      const maxnode = a[2]!;
      if (maxnode > 0) t.mem.write(a[1], Buffer.alloc(Math.ceil(maxnode / 64) * 8));
    }
    return 0;
  },
  set_mempolicy: (_t, a) => ((a[0]! | 0) >= 0 && (a[0]! | 0) <= 5 ? 0 : -EINVAL),
  mbind: () => 0,
  ioprio_get: () => 0,
  ioprio_set: () => 0,
  reboot: (t, a) => {
    const MAGIC1 = 0xfee1dead, MAGIC2 = [672274793, 85072278, 369367448, 537993216];
    const CMD_RESTART = 0x01234567, CMD_HALT = 0xcdef0123, CMD_POWER_OFF = 0x4321fedc, CMD_CAD_ON = 0x89abcdef, CMD_CAD_OFF = 0;
    if ((a[0]! >>> 0) !== MAGIC1 || !MAGIC2.includes(a[1]! >>> 0)) throw new Errno(EINVAL);
    if (t.cred.euid !== 0) throw new Errno(EPERM);
    const cmd = a[2]! >>> 0;
    const k = t.kernel;
    switch (cmd) {
      case CMD_CAD_ON: k.cadEnabled = true; return 0;
      case CMD_CAD_OFF: k.cadEnabled = false; return 0;
      case CMD_HALT: case CMD_POWER_OFF: case CMD_RESTART:
        for (const m of k.mounts.all()) m.fs.sync?.();
        k.log.info(cmd === CMD_RESTART ? 'reboot: Restarting system' : cmd === CMD_HALT ? 'reboot: System halted' : 'reboot: Power down');
        k.shutdown(cmd === CMD_RESTART ? 'reboot' : 'halt');
        return 0;
      default: throw new Errno(EINVAL);
    }
  },
  syslog: (t, a) => syslog(t, a[0]! | 0, a[1]!, a[2]! | 0),
};

function setLimit(t: Task, g: { rlimits: { get(r: number): { cur: number; max: number } } }, r: number, l: { cur: number; max: number }): void {
  if (l.cur > l.max) throw new Errno(EINVAL);
  const cur = g.rlimits.get(r);
  if (l.max > cur.max && t.cred.euid !== 0) throw new Errno(EPERM);
  cur.cur = l.cur;
  cur.max = l.max;
  if (r === 7 /* NOFILE */) t.fds.limit = Number.isFinite(l.cur) ? l.cur : 1048576;
}

const PRIO_PROCESS = 0, PRIO_USER = 2;

/** get/setpriority: a thread's nice value is the host's (the host schedules it, and fork
 *  inherits it there), so PRIO_PROCESS runs on the host with the guest tid translated. */
function onHostProcess(t: Task, a: number[], groupOrUser: () => number): SyscallReturn {
  const which = a[0]! | 0, who = a[1]! | 0;
  if (which < PRIO_PROCESS || which > PRIO_USER) throw new Errno(EINVAL);
  if (which !== PRIO_PROCESS) return groupOrUser();
  if (who !== 0) {
    const target = t.kernel.byTid.get(who);
    if (!target) throw new Errno(ESRCH);
    t.tracee.setReg(REG.rsi, target.hostTid);
  }
  return new Native();
}

/** Limits the host enforces on the guest's own host process (memory, CPU time): the guest's
 *  value is set there too. The others are the kernel's alone (files, processes, signals). */
const HOST_ENFORCED = new Set([RLIMIT_CPU, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_AS, RLIMIT_MEMLOCK, RLIMIT_RTTIME]);

function applyOnHost(t: Task, r: number): void {
  if (!HOST_ENFORCED.has(r)) return;
  const want = t.group.rlimits.get(r);
  const at = scratchAddress(t);
  // A hard limit above the host's own cannot be had without privilege: stay within it.
  if (injectCall(t.kernel, t, SYS.prlimit64, [0, r, 0, at]) !== 0) return;
  const host = readRlimit(t, at);
  const max = Math.min(want.max, host.max);
  writeRlimit(t, at, { cur: Math.min(want.cur, max), max });
  injectCall(t.kernel, t, SYS.prlimit64, [0, r, at, 0]);
}

const SYSLOG_ACTION_READ_ALL = 3, SYSLOG_ACTION_READ_CLEAR = 4, SYSLOG_ACTION_CLEAR = 5,
  SYSLOG_ACTION_SIZE_UNREAD = 9, SYSLOG_ACTION_SIZE_BUFFER = 10;

/** syslog(2): what dmesg calls. */
function syslog(t: Task, type: number, buf: number, len: number): number {
  const log = t.kernel.log;
  switch (type) {
    case 0: case 1: return 0;
    case SYSLOG_ACTION_READ_ALL: case SYSLOG_ACTION_READ_CLEAR: {
      if (len < 0) throw new Errno(EINVAL);
      if (!buf && len) throw new Errno(EFAULT);
      const text = Buffer.from(log.all().map((r) => `<${r.level}>[${(r.usec / 1e6).toFixed(6).padStart(12, ' ')}] ${r.text}\n`).join(''));
      const out = text.subarray(Math.max(0, text.length - len));
      t.mem.write(buf, out);
      if (type === SYSLOG_ACTION_READ_CLEAR) log.clear();
      return out.length;
    }
    case SYSLOG_ACTION_CLEAR: log.clear(); return 0;
    case 6: case 7: case 8: return 0;
    case SYSLOG_ACTION_SIZE_UNREAD: return 0;
    case SYSLOG_ACTION_SIZE_BUFFER: return 1 << 17;
    default: throw new Errno(EINVAL);
  }
}
