// Whether a CLI module is the program node was started with (`node dist/src/cli/x.js`), as
// opposed to imported by tuml's main entry.
import { realpathSync } from 'node:fs';

/** True when `moduleUrl` (the caller's import.meta.url) is the script in process.argv[1]. */
export function invokedDirectly(moduleUrl: string): boolean {
  try {
    return process.argv[1] !== undefined && moduleUrl === new URL(`file://${realpathSync(process.argv[1])}`).href;
  } catch {
    return false;
  }
}
