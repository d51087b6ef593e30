// The guest half of ubd (ubd_kern.c): disks ubda…ubdp on major 98, 16 minors each (the
// whole disk and 15 partitions). The host half (opening image and COW files) is in
// src/drivers/ubd/.
import { BlockDevice, type BlockStore } from './block-device.js';
import { blockDevices } from './registry.js';
import { major as majorOf, minor as minorOf } from '../fs/devnums.js';

export const UBD_MAJOR = 98;
export const UBD_SHIFT = 4;
export const UBD_MINORS = 1 << UBD_SHIFT;
export const MAX_DEV = 16;

/** ubd_disk_register's name: ubda, ubdb, … */
export function ubdName(index: number): string {
  return 'ubd' + String.fromCharCode(0x61 + index);
}

export interface UbdDiskOptions { readOnly?: boolean; noTrim?: boolean; serial?: string | null }

/** Adds ubd<index> over `store`, with its partitions. */
export function addUbdDisk(index: number, store: BlockStore, o: UbdDiskOptions = {}): BlockDevice {
  const disk = new BlockDevice(store, {
    name: ubdName(index), major: UBD_MAJOR, minor: index << UBD_SHIFT, start: 0, size: store.size,
    readOnly: !!o.readOnly, noTrim: o.noTrim, serial: o.serial,
  });
  return blockDevices.addDisk(disk, UBD_MINORS, 'ubd');
}

/**
 * The block device a `root=` value names: /dev/ubda, /dev/ubda1, /dev/ubd0 (= ubda, as old
 * UML systems with /dev/ubd0 nodes spelled it), /dev/ubd0p1, any registered name, or a
 * device number as `98:0` or hex `6200`.
 */
export function resolveBlockDevice(spec: string): BlockDevice | null {
  const name = spec.startsWith('/dev/') ? spec.slice(5) : spec;
  const direct = blockDevices.byName(name);
  if (direct) return direct;
  const num = /^ubd(\d+)(?:p(\d+))?$/.exec(name);
  if (num) {
    const n = Number(num[1]);
    if (n >= MAX_DEV) return null;
    return blockDevices.byName(ubdName(n) + (num[2] ?? ''));
  }
  const mm = /^(\d+):(\d+)$/.exec(spec);
  if (mm) return byNumber(Number(mm[1]), Number(mm[2]));
  if (/^[0-9a-fA-F]{3,4}$/.test(spec)) {
    const v = parseInt(spec, 16);
    return byNumber(v >> 8, v & 0xff);
  }
  return null;
}

function byNumber(maj: number, min: number): BlockDevice | null {
  return blockDevices.all().find((d) => majorOf(d.rdev) === maj && minorOf(d.rdev) === min) ?? null;
}
