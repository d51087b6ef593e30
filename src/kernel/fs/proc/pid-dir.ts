// /proc/<pid>/ and /proc/<pid>/task/<tid>/: one directory per process (or thread), its
// files generated from the ThreadGroup and Task when opened.
import { Errno } from '../../errno.js';
import { EINVAL, ENOENT, EPERM } from '../../abi/errno.js';
import type { ThreadGroup } from '../../task/thread-group.js';
import type { Task } from '../../task/task.js';
import type { Inode } from '../inode.js';
import type { Path } from '../path.js';
import type { ProcKernel } from './kernel-view.js';
import { SynthDir, SynthFile, SynthLink, type Children, type Owner, type SynthFs } from './nodes.js';
import { checkPeek, pathText, readerRoot } from './pid-common.js';
import { pidStat, pidStatm } from './pid-stat.js';
import { pidStatus } from './pid-status.js';
import { pidMaps, pidSmaps } from './pid-maps.js';
import { fdDir, fdinfoDir } from './fd-dir.js';
import { mountsText, mountinfoText } from './mounts.js';
import { limitsText } from './limits.js';
import { hostIo, hostSmapsRollup } from '../../../host/proc-stat.js';

/** Per-process settings that only procfs knows about. */
interface ProcSettings { oomScoreAdj: number; loginuid: number; sessionid: number }
const settings = new WeakMap<ThreadGroup, ProcSettings>();
function settingsOf(g: ThreadGroup): ProcSettings {
  let s = settings.get(g);
  if (!s) {
    const p = g.parent ? settingsOf(g.parent) : null;
    s = { oomScoreAdj: p?.oomScoreAdj ?? 0, loginuid: p?.loginuid ?? 0xffffffff, sessionid: p?.sessionid ?? 0xffffffff };
    settings.set(g, s);
  }
  return s;
}

/** Namespace inode numbers as a fresh Linux boot shows them. */
const NAMESPACES: [string, number][] = [
  ['cgroup', 4026531835], ['ipc', 4026531839], ['mnt', 4026531841], ['net', 4026531840],
  ['pid', 4026531836], ['pid_for_children', 4026531836], ['time', 4026531834],
  ['time_for_children', 4026531834], ['user', 4026531837], ['uts', 4026531838],
];

function nulJoined(list: readonly Buffer[]): Buffer {
  return Buffer.concat(list.flatMap((b) => [b, Buffer.alloc(1)]));
}

function parseIntWrite(data: Buffer): number {
  const s = data.toString('latin1').trim();
  if (!/^-?\d+$/.test(s)) throw new Errno(EINVAL);
  return Number(s);
}

/**
 * The directory of process `g` (t === null) or of its thread `t` (task/<tid>/). `key` is the
 * directory's path inside procfs, for inode numbers.
 */
export function pidDir(fs: SynthFs, k: ProcKernel, g: ThreadGroup, t: Task | null, key: string): Inode {
  const alive = t ? () => k.byTid.get(t.tid) === t : () => k.groups.get(g.tgid) === g;
  const owner = (): Owner => (g.dumpable ? { uid: g.cred.euid, gid: g.cred.egid } : { uid: 0, gid: 0 });
  const file = (name: string, mode: number, gen: (r: Task | null) => string | Buffer, write?: (w: Task | null, d: Buffer) => void) =>
    (): Inode => new SynthFile(fs, `${key}/${name}`, mode, gen, write, owner, alive);
  /** A link into the process's file-system context (exe, cwd, root). */
  const ctxLink = (name: string, where: () => Path | null, fallback?: () => string) => (): Inode => new SynthLink(fs, `${key}/${name}`, (r) => {
    checkPeek(r, g);
    const p = where();
    if (p) return pathText(k, p, r);
    const text = live() ? fallback?.() : '';
    if (!text) throw new Errno(ENOENT);
    return text;
  }, (r) => {
    checkPeek(r, g);
    return where();
  }, owner, alive);
  const live = (): boolean => g.alive;

  const kids = (): Children => {
    const list: Children = [
      ['cgroup', file('cgroup', 0o444, () => '0::/\n')],
      ['cmdline', file('cmdline', 0o444, () => (live() ? nulJoined(g.argv) : Buffer.alloc(0)))],
      ['comm', file('comm', 0o644, () => `${(t ? t.name || g.comm : g.comm).slice(0, 15)}\n`, (w, d) => {
        if (w && w.group !== g) throw new Errno(EINVAL);
        const name = d.toString('utf8').replace(/\n$/, '').slice(0, 15);
        if (t) t.name = name;
        else {
          g.comm = name;
          if (g.leader) g.leader.name = name;
        }
      })],
      ['cwd', ctxLink('cwd', () => (live() ? g.fs.cwd : null))],
      ['environ', file('environ', 0o400, (r) => {
        checkPeek(r, g);
        return live() ? nulJoined(g.envp) : Buffer.alloc(0);
      })],
      ['exe', ctxLink('exe', () => (live() ? g.exe : null), () => g.exePath)],
      ['fd', () => fdDir(fs, k, g, `${key}/fd`, owner, alive)],
      ['fdinfo', () => fdinfoDir(fs, g, `${key}/fdinfo`, owner, alive)],
      ['io', file('io', 0o400, () => ioText(g))],
      ['limits', file('limits', 0o444, () => limitsText(g.rlimits))],
      ['loginuid', file('loginuid', 0o644, () => String(settingsOf(g).loginuid), (w, d) => {
        if (w && w.cred.euid !== 0) throw new Errno(EPERM);
        settingsOf(g).loginuid = parseIntWrite(d) >>> 0;
      })],
      ['maps', file('maps', 0o444, (r) => {
        checkPeek(r, g);
        return pidMaps(g);
      })],
      ['mountinfo', file('mountinfo', 0o444, (r) => mountinfoText(k, readerRoot(k, r)))],
      ['mounts', file('mounts', 0o444, (r) => mountsText(k, readerRoot(k, r)))],
      ['ns', () => new SynthDir(fs, `${key}/ns`, 0o511, () => NAMESPACES.map(([n, ino]) =>
        [n, () => new SynthLink(fs, `${key}/ns/${n}`, () => `${n.replace(/_for_children$/, '')}:[${ino}]`, undefined, owner, alive)] as [string, () => Inode]),
      undefined, owner, alive)],
      ['oom_adj', file('oom_adj', 0o644, () => `${Math.trunc((settingsOf(g).oomScoreAdj * 17) / 1000)}\n`, (_w, d) => {
        const v = parseIntWrite(d);
        if (v < -17 || v > 15) throw new Errno(EINVAL);
        settingsOf(g).oomScoreAdj = v === 15 ? 1000 : Math.trunc((v * 1000) / 17);
      })],
      ['oom_score', file('oom_score', 0o444, () => `${Math.max(0, 666 + settingsOf(g).oomScoreAdj)}\n`)],
      ['oom_score_adj', file('oom_score_adj', 0o644, () => `${settingsOf(g).oomScoreAdj}\n`, (w, d) => {
        const v = parseIntWrite(d);
        if (v < -1000 || v > 1000) throw new Errno(EINVAL);
        if (v < settingsOf(g).oomScoreAdj && w && w.cred.euid !== 0) throw new Errno(EPERM);
        settingsOf(g).oomScoreAdj = v;
      })],
      ['personality', file('personality', 0o400, () => `${g.personality.toString(16).padStart(8, '0')}\n`)],
      ['root', ctxLink('root', () => (live() ? g.fs.root : null))],
      ['sessionid', file('sessionid', 0o444, () => String(settingsOf(g).sessionid))],
      ['smaps', file('smaps', 0o444, (r) => {
        checkPeek(r, g);
        return pidSmaps(g);
      })],
      ['smaps_rollup', file('smaps_rollup', 0o444, (r) => {
        checkPeek(r, g);
        return (g.alive ? hostSmapsRollup(g.hostPid) : null) ?? '';
      })],
      ['stat', file('stat', 0o444, (r) => pidStat(k, g, t, r))],
      ['statm', file('statm', 0o444, () => pidStatm(g))],
      ['status', file('status', 0o444, (r) => pidStatus(k, g, t, r))],
      ['wchan', file('wchan', 0o444, () => '0')],
    ];
    if (!t) list.splice(list.findIndex(([n]) => n === 'root') + 1, 0, ['task', () => taskDir(fs, k, g, `${key}/task`, owner, alive)]);
    list.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return list;
  };
  return new SynthDir(fs, key, 0o555, kids, undefined, owner, alive);
}

function taskDir(fs: SynthFs, k: ProcKernel, g: ThreadGroup, key: string, owner: () => Owner, alive: () => boolean): Inode {
  const kids = (): Children => [...g.threads]
    .sort((a, b) => a.tid - b.tid)
    .map((t) => [String(t.tid), () => pidDir(fs, k, g, t, `${key}/${t.tid}`)] as [string, () => Inode]);
  return new SynthDir(fs, key, 0o555, kids, undefined, owner, alive);
}

/** /proc/<pid>/io: the host's I/O counters of the task's host process. */
function ioText(g: ThreadGroup): string {
  const keys = ['rchar', 'wchar', 'syscr', 'syscw', 'read_bytes', 'write_bytes', 'cancelled_write_bytes'];
  const v = g.alive ? hostIo(g.hostPid) : new Map<string, string>();
  return keys.map((key) => `${key}: ${v.get(key) ?? 0}\n`).join('');
}
