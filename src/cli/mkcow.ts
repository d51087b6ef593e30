// tuml mkcow = uml_mkcow: makes an empty COW file over a backing file, byte for byte what
// Debian's uml_mkcow makes (V3 header, 512-byte sectors, page alignment, sparse).
// Same usage, messages and exit codes (usage 2, failure 1), except that -f truncates the old
// file (uml_mkcow kept its stale bitmap) and a failed run leaves no new empty file behind.
import * as fs from 'node:fs';
import { CowError, PAGE_SIZE, SECTOR_SIZE } from '../drivers/ubd/cow-header.js';
import { newCowHeaderFor, writeNewCowFile } from '../drivers/ubd/cow-file.js';
import { errnoOf, strerror } from '../drivers/ubd/host-file.js';

export async function main(argv: string[], prog = 'tuml mkcow'): Promise<number> {
  const usage = (): number => {
    process.stderr.write(`${prog} usage: \n\t${prog} [-f] <COW file> <backing file>\n` +
      '\t-f forces overwrite of an existing COW file\n');
    return 2;
  };
  const args = argv.slice();
  if (args.length < 1) return usage();
  const force = args[0] === '-f';
  if (force) args.shift();
  if (args.length < 2) return usage();
  const [cowFile, backingFile] = args as [string, string];

  let fd: number;
  let created = false;
  try {
    const flags = fs.constants.O_RDWR | fs.constants.O_CREAT;
    if (force) fd = fs.openSync(cowFile, flags, 0o644);
    else { fd = fs.openSync(cowFile, flags | fs.constants.O_EXCL, 0o644); created = true; }
  } catch (e) {
    process.stderr.write(`open COW file: ${strerror(errnoOf(e))}\n`);
    return 1;
  }
  try {
    const header = newCowHeaderFor(backingFile, SECTOR_SIZE, PAGE_SIZE);
    if (force) fs.ftruncateSync(fd, 0);
    writeNewCowFile(fd, header);
    return 0;
  } catch (e) {
    if (e instanceof CowError) process.stdout.write(`${e.message}\n`);
    process.stderr.write(`write_cow_header: ${strerror(e instanceof CowError ? e.errno : errnoOf(e))}\n`);
    if (created) fs.rmSync(cowFile, { force: true });
    return 1;
  } finally {
    fs.closeSync(fd);
  }
}
