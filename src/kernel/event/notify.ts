// Wake-ups with a key: which poll events changed. Linux passes that key to every waiter
// (wake_up_poll), and epoll uses it to skip wake-ups its items do not care about (an ET
// reader must not see a "new" EPOLLIN edge when the writer side merely got space).
// WaitQueue.wake() carries no argument, so the key rides alongside for the wake's duration.
import type { File } from '../fs/file.js';

let currentFile: File | null = null;
let currentKey = 0;

/** Wakes the file's waiters, telling those that ask which events changed. */
export function notify(file: File, events: number): void {
  const prevFile = currentFile, prevKey = currentKey;
  currentFile = file;
  currentKey = events;
  try {
    file.waitQueue.wake();
  } finally {
    currentFile = prevFile;
    currentKey = prevKey;
  }
}

/** The events of the wake-up in progress on `file`, or undefined if unknown (all events). */
export function wakeKey(file: File): number | undefined {
  return currentFile === file ? currentKey : undefined;
}
