// Partition tables (block/partitions/msdos.c and efi.c): primary and logical MBR partitions,
// and GPT behind a protective MBR. Offsets and sizes are in 512-byte sectors.

export interface PartitionEntry {
  /** The number in the device name: ubda1… (logical MBR partitions start at 5). */
  index: number;
  start: number;
  sectors: number;
}

const SECTOR = 512;
const MSDOS_LABEL_MAGIC = 0xaa55;
const EFI_PMBR_OSTYPE = 0xee;
const EXTENDED = new Set([0x05, 0x0f, 0x85]);
const GPT_SIGNATURE = 'EFI PART';
/** At most this many logical partitions are followed (a loop in the EBR chain ends there). */
const MAX_LOGICAL = 64;

export type SectorReader = (sector: number, count: number) => Buffer;

interface MbrEntry { boot: number; type: number; start: number; sectors: number }

function mbrEntries(s: Buffer): MbrEntry[] | null {
  if (s.readUInt16LE(510) !== MSDOS_LABEL_MAGIC) return null;
  const out: MbrEntry[] = [];
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    out.push({ boot: s[o]!, type: s[o + 4]!, start: s.readUInt32LE(o + 8), sectors: s.readUInt32LE(o + 12) });
  }
  // msdos_partition: a boot indicator other than 0 or 0x80 means this is no partition table
  // (a FAT boot sector, say).
  if (out.some((e) => e.boot !== 0 && e.boot !== 0x80)) return null;
  return out;
}

function gpt(read: SectorReader, totalSectors: number): PartitionEntry[] | null {
  const hdr = read(1, 1);
  if (hdr.subarray(0, 8).toString('latin1') !== GPT_SIGNATURE) return null;
  const entriesLba = Number(hdr.readBigUInt64LE(72));
  const count = hdr.readUInt32LE(80);
  const size = hdr.readUInt32LE(84);
  if (size < 128 || count === 0 || count > 1024 || entriesLba >= totalSectors) return null;
  const raw = read(entriesLba, Math.ceil((count * size) / SECTOR));
  const out: PartitionEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = raw.subarray(i * size, i * size + size);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const first = Number(e.readBigUInt64LE(32));
    const last = Number(e.readBigUInt64LE(40));
    if (last < first || last >= totalSectors) continue;
    out.push({ index: i + 1, start: first, sectors: last - first + 1 });
  }
  return out;
}

/** The partitions of a disk of `totalSectors`, or [] when it has no table. */
export function scanPartitions(read: SectorReader, totalSectors: number): PartitionEntry[] {
  if (totalSectors < 2) return [];
  const mbr = mbrEntries(read(0, 1));
  if (!mbr) return [];
  if (mbr.some((e) => e.type === EFI_PMBR_OSTYPE)) return gpt(read, totalSectors) ?? [];
  const out: PartitionEntry[] = [];
  const inDisk = (start: number, n: number) => start > 0 && n > 0 && start + n <= totalSectors;
  mbr.forEach((e, i) => {
    if (e.type === 0 || !inDisk(e.start, e.sectors)) return;
    if (!EXTENDED.has(e.type)) {
      out.push({ index: i + 1, start: e.start, sectors: e.sectors });
      return;
    }
    // Linux shows the extended partition itself as a tiny device (its first sectors).
    out.push({ index: i + 1, start: e.start, sectors: Math.min(2, e.sectors) });
    let ebr = e.start;
    let next = 5;
    for (let n = 0; n < MAX_LOGICAL && ebr > 0 && ebr < totalSectors; n++) {
      const l = mbrEntries(read(ebr, 1));
      if (!l) break;
      const data = l[0]!;
      if (data.type !== 0 && !EXTENDED.has(data.type) && inDisk(ebr + data.start, data.sectors)) {
        out.push({ index: next++, start: ebr + data.start, sectors: data.sectors });
      }
      const link = l[1]!;
      if (!EXTENDED.has(link.type) || link.start === 0) break;
      ebr = e.start + link.start;
    }
  });
  return out.sort((a, b) => a.index - b.index);
}
