// Wait queues: a blocked syscall (or poll/epoll) registers here on the object it waits
// for, and the object wakes it when its state changes. Waiters are plain callbacks: the
// kernel's callback re-runs the parked syscall.
export type Waker = () => void;

export class WaitQueue {
  private readonly waiters = new Set<Waker>();

  /** Registers a waker; returns the function that removes it. */
  add(w: Waker): () => void {
    this.waiters.add(w);
    return () => this.waiters.delete(w);
  }

  get empty(): boolean {
    return this.waiters.size === 0;
  }

  wake(): void {
    if (this.waiters.size === 0) return;
    for (const w of [...this.waiters]) w();
  }
}
