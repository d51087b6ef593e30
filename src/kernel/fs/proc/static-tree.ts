// Fixed directories of procfs (and sysfs) built from a table: /proc/sys, and whatever other
// subsystems register (/proc/net, /proc/exitcode, /proc/mconsole, …).
import type { Inode } from '../inode.js';
import { SynthDir, SynthFile, SynthLink, type Children, type Generator, type SynthFs, type Writer } from './nodes.js';

export interface FileSpec { kind: 'file'; gen: Generator; write?: Writer; mode: number }
export interface LinkSpec { kind: 'link'; target: string }
export interface DirSpec { kind: 'dir'; entries: Map<string, Spec>; mode: number }
export type Spec = FileSpec | LinkSpec | DirSpec;

export function newDirSpec(mode = 0o555): DirSpec {
  return { kind: 'dir', entries: new Map(), mode };
}

/** Adds `spec` at `path` ("sys/kernel/hostname") under `root`, making directories on the way. */
export function addSpec(root: DirSpec, path: string, spec: Spec): void {
  const parts = path.split('/').filter(Boolean);
  let dir = root;
  for (const p of parts.slice(0, -1)) {
    let next = dir.entries.get(p);
    if (!next) dir.entries.set(p, (next = newDirSpec(root.mode)));
    if (next.kind !== 'dir') throw new Error(`static tree: ${p} in ${path} is not a directory`);
    dir = next;
  }
  dir.entries.set(parts[parts.length - 1]!, spec);
}

/** The inode for a spec at `key` (its path inside the file system). */
export function specInode(fs: SynthFs, key: string, spec: Spec): Inode {
  switch (spec.kind) {
    case 'file': return new SynthFile(fs, key, spec.mode, spec.gen, spec.write);
    case 'link': return new SynthLink(fs, key, () => spec.target);
    case 'dir': return new SynthDir(fs, key, spec.mode, () => specChildren(fs, key, spec));
  }
}

export function specChildren(fs: SynthFs, key: string, dir: DirSpec): Children {
  return [...dir.entries].map(([name, s]) => [name, () => specInode(fs, `${key}/${name}`, s)] as [string, () => Inode]);
}
