// SIGPIPE for a write to a pipe or stream socket nobody will read: sent to the writing
// thread, as Linux's send_sig(SIGPIPE, current, 0). Tests replace the sender (the real one
// signals a host thread).
import type { Task } from '../task/task.js';
import { SIGPIPE } from '../abi/signals.js';
import { sendToTask } from '../signal/deliver.js';

type Sender = (t: Task) => void;
let sender: Sender = (t) => sendToTask(t.kernel, t, SIGPIPE);

export function raiseSigpipe(t: Task): void {
  sender(t);
}

/** For unit tests: route SIGPIPE somewhere observable. Returns the previous sender. */
export function setSigpipeSender(fn: Sender): Sender {
  const prev = sender;
  sender = fn;
  return prev;
}
