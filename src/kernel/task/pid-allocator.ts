// Virtual pids: init is 1; numbers count up and wrap at pid_max, skipping those in use.
export const PID_MAX = 4194304;

export class PidAllocator {
  private next = 1;
  private readonly used = new Set<number>();
  alloc(): number {
    for (;;) {
      const p = this.next;
      this.next = this.next >= PID_MAX - 1 ? 300 : this.next + 1;
      if (!this.used.has(p)) {
        this.used.add(p);
        return p;
      }
    }
  }
  free(pid: number): void {
    this.used.delete(pid);
  }
  get count(): number {
    return this.used.size;
  }
}
