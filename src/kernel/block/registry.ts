// The machine's block devices (the gendisk list): disks with their partitions, the nodes
// devtmpfs creates for them, /proc/partitions and /sys/block, and the opener the device
// registry calls for a block node.
import { Errno } from '../errno.js';
import { EEXIST, ENXIO } from '../abi/errno.js';
import { S_IFBLK } from '../abi/fcntl.js';
import { major as majorOf, minor as minorOf, makedev } from '../fs/devnums.js';
import type { Inode } from '../fs/inode.js';
import { Cred } from '../task/cred.js';
import { registerBlockDevice, ANY_MINOR } from '../fs/dev/registry.js';
import type { DeviceNode } from '../fs/dev/standard-devices.js';
import type { Partition } from '../fs/proc/system-files.js';
import type { SysBlockDevice } from '../fs/sys/sysfs.js';
import type { File } from '../fs/file.js';
import type { Task } from '../task/task.js';
import { BlockDevice, SECTOR_SIZE } from './block-device.js';
import { BlockDeviceFile } from './block-file.js';
import { scanPartitions, type PartitionEntry } from './partitions.js';

/** The group that owns disk nodes (Debian's "disk"). */
export const DISK_GID = 6;

export class BlockRegistry {
  private readonly disks: BlockDevice[] = [];
  private readonly majors = new Set<number>();
  /** Called when a disk is added or its partitions change. */
  onChange: ((dev: BlockDevice) => void) | null = null;
  /** The /dev directory whose nodes follow the devices. */
  private devfs: Inode | null = null;

  /** Nodes of drivers that are not disks yet (unbound loop devices, loop-control). */
  private readonly extraNodes: DeviceNode[] = [];

  /** Adds a whole disk (and the partitions its table names) and registers its major
   *  (driverName null: the driver registered the major itself). */
  addDisk(disk: BlockDevice, minorsPerDisk: number, driverName: string | null): BlockDevice {
    if (this.disks.some((d) => d.name === disk.name || d.rdev === disk.rdev)) throw new Errno(EEXIST);
    if (driverName !== null && !this.majors.has(disk.major)) {
      this.majors.add(disk.major);
      registerBlockDevice(disk.major, ANY_MINOR, (flags, task, rdev) => this.open(rdev, flags, task), driverName);
    }
    this.disks.push(disk);
    this.scan(disk, minorsPerDisk);
    this.disks.sort((a, b) => a.major - b.major || a.minor - b.minor);
    this.changed(disk);
    return disk;
  }

  removeDisk(disk: BlockDevice): void {
    const i = this.disks.indexOf(disk);
    if (i >= 0) this.disks.splice(i, 1);
  }

  /**
   * Hot-unplug (del_gendisk): forgets the disk and its partitions, and unlinks their nodes
   * from devtmpfs (nodes that name a driver without a disk, like loopN, stay). The caller
   * has checked nobody holds it and closes its store.
   */
  unplugDisk(disk: BlockDevice): void {
    const gone = [disk, ...disk.partitions];
    this.removeDisk(disk);
    const dir = this.devfs;
    if (dir) {
      for (const d of gone) {
        if (this.extraNodes.some((x) => x.name === d.name)) continue;
        try {
          const ino = dir.lookup?.(d.name);
          if (ino && ino.getattr().rdev === d.rdev) dir.unlink?.(d.name);
        } catch { /* already gone */ }
      }
    }
    this.onChange?.(disk);
  }

  /** The devtmpfs directory the nodes live in. */
  get devfsDir(): Inode | null {
    return this.devfs;
  }

  /** Adds /dev nodes that exist without a disk behind them. */
  addNodes(nodes: DeviceNode[]): void {
    for (const n of nodes) if (!this.extraNodes.some((x) => x.name === n.name)) this.extraNodes.push(n);
    this.syncNodes();
  }

  /** (Re)reads the partition table of a disk (at add time and for BLKRRPART). */
  scan(disk: BlockDevice, minorsPerDisk = 16): void {
    const sectors = disk.sectors;
    let entries: PartitionEntry[];
    try {
      entries = scanPartitions((s, n) => disk.read(s * SECTOR_SIZE, Math.min(n * SECTOR_SIZE, disk.size - s * SECTOR_SIZE)), sectors);
    } catch {
      entries = [];
    }
    disk.partitions = entries
      .filter((e) => e.index < minorsPerDisk)
      .map((e) => new BlockDevice(disk.store, {
        name: /\d$/.test(disk.name) ? `${disk.name}p${e.index}` : `${disk.name}${e.index}`,
        major: disk.major, minor: disk.minor + e.index,
        start: disk.start + e.start * SECTOR_SIZE, size: e.sectors * SECTOR_SIZE,
        readOnly: disk.readOnly, noTrim: disk.noTrim,
      }, disk));
  }

  rescan(disk: BlockDevice): void {
    this.scan(disk);
    this.changed(disk);
  }

  private changed(disk: BlockDevice): void {
    this.syncNodes();
    this.onChange?.(disk);
  }

  /** Keeps block nodes in `dir` (devtmpfs's root) in step with the devices. */
  attachDevfs(dir: Inode): void {
    this.devfs = dir;
    this.syncNodes();
  }

  private syncNodes(): void {
    const dir = this.devfs;
    if (!dir) return;
    const cred = new Cred();
    for (const n of this.nodes()) {
      if (dir.lookup?.(n.name)) continue;
      try {
        const ino = dir.mknod!(n.name, n.mode, makedev(n.major, n.minor), cred);
        if (n.gid) ino.setattr({ gid: n.gid });
      } catch { /* a name taken by something else stays as it is */ }
    }
  }

  /** Every device, disks each followed by their partitions. */
  all(): BlockDevice[] {
    return this.disks.flatMap((d) => [d, ...d.partitions]);
  }

  byName(name: string): BlockDevice | null {
    return this.all().find((d) => d.name === name) ?? null;
  }

  byRdev(rdev: number): BlockDevice | null {
    const maj = majorOf(rdev), min = minorOf(rdev);
    return this.all().find((d) => d.major === maj && d.minor === min) ?? null;
  }

  open(rdev: number, flags: number, _task: Task | null): File {
    const d = this.byRdev(rdev);
    if (!d) throw new Errno(ENXIO);
    return new BlockDeviceFile(d, flags, (disk) => this.rescan(disk));
  }

  /** /proc/partitions rows (#blocks in KiB). */
  partitions(): Partition[] {
    return this.all().map((d) => ({ major: d.major, minor: d.minor, blocks: Math.floor(d.size / 1024), name: d.name }));
  }

  /** /sys/block entries (whole disks). */
  sysBlock(): SysBlockDevice[] {
    return this.disks.map((d) => ({ name: d.name, major: d.major, minor: d.minor, sectors: d.sectors, readOnly: d.readOnly }));
  }

  /** Nodes for devtmpfs: brw-rw---- root:disk. */
  nodes(): DeviceNode[] {
    const disks = this.all().map((d) => ({ name: d.name, major: d.major, minor: d.minor, mode: S_IFBLK | 0o660, gid: DISK_GID }));
    return [...disks, ...this.extraNodes.filter((n) => !disks.some((d) => d.name === n.name))];
  }
}

/** The machine's block devices (one kernel per worker thread). */
export const blockDevices = new BlockRegistry();
