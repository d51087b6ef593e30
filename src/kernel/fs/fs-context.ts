// Root, working directory and umask of a task (struct fs_struct), shared by CLONE_FS.
import type { Path } from './path.js';

export class FsContext {
  constructor(public root: Path, public cwd: Path, public umask = 0o022) {}
  clone(): FsContext {
    return new FsContext(this.root, this.cwd, this.umask);
  }
}
