// epoll (fs/eventpoll.c): an interest list of (file, fd) items, each registered on its
// file's wait queue. Level-triggered items are reported while ready; edge-triggered ones
// only after a wake-up whose events they asked for; EPOLLONESHOT disables an item once
// reported. An epoll file is itself pollable (readable when an item is ready).
import { Errno } from '../errno.js';
import { EEXIST, EINVAL, ELOOP, ENOENT, EPERM } from '../abi/errno.js';
import { S_IFMT, S_IFREG, S_IFDIR } from '../abi/fcntl.js';
import {
  EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLWAKEUP,
  EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT,
} from '../abi/event.js';
import { File, POLLIN, POLLRDNORM } from '../fs/file.js';
import type { Stat } from '../fs/inode.js';
import type { FdTable } from '../fs/fd-table.js';
import { notify, wakeKey } from './notify.js';
import { anonStat } from './eventfd.js';

/** Bits that steer epoll rather than name events. */
const EP_PRIVATE_BITS = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/** What may accompany EPOLLEXCLUSIVE. */
const EPOLLEXCLUSIVE_OK_BITS = EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;
/** Nesting limit for epoll inside epoll (EP_MAX_NESTS). */
const EP_MAX_NESTS = 4;

interface EpItem {
  readonly file: File;
  readonly fd: number;
  events: number;
  data: bigint;
  /** A wake-up came since the item was last reported (edge-triggered readiness). */
  pending: boolean;
  unsubscribe: () => void;
}

export interface EpollEvent { events: number; data: bigint }

export class EpollFile extends File {
  readonly anonName = 'anon_inode:[eventpoll]';
  private items: EpItem[] = [];

  /** `owner` is the fd table whose closes end registrations (see alive()). */
  constructor(flags: number, private readonly owner: FdTable) {
    super(flags);
  }

  stat(): Stat {
    return anonStat();
  }

  private find(file: File, fd: number): EpItem | undefined {
    return this.items.find((i) => i.file === file && i.fd === fd);
  }

  /** Files this epoll watches, for loop detection. */
  private watchesEpoll(target: EpollFile, depth: number): boolean {
    if (depth > EP_MAX_NESTS) return true;
    for (const i of this.items) {
      if (i.file === target) return true;
      if (i.file instanceof EpollFile && i.file.watchesEpoll(target, depth + 1)) return true;
    }
    return false;
  }

  /** epoll_ctl(2). */
  ctl(op: number, fd: number, file: File, events: number, data: bigint): void {
    if (file === this) throw new Errno(EINVAL);
    const type = file.stat().mode & S_IFMT;
    if (type === S_IFREG || type === S_IFDIR) throw new Errno(EPERM);
    const item = this.find(file, fd);
    if (op !== EPOLL_CTL_DEL && (events & EPOLLEXCLUSIVE)) {
      if (op === EPOLL_CTL_MOD || file instanceof EpollFile || (events & ~EPOLLEXCLUSIVE_OK_BITS)) throw new Errno(EINVAL);
    }
    switch (op) {
      case EPOLL_CTL_ADD: {
        if (item) throw new Errno(EEXIST);
        if (file instanceof EpollFile && (file.watchesEpoll(this, 1) || file === this)) throw new Errno(ELOOP);
        const it: EpItem = { file, fd, events: events | EPOLLERR | EPOLLHUP, data, pending: true, unsubscribe: () => {} };
        it.unsubscribe = file.waitQueue.add(() => this.onWake(it));
        this.items.push(it);
        if (this.readyEvents(it)) notify(this, POLLIN | POLLRDNORM);
        return;
      }
      case EPOLL_CTL_MOD: {
        if (!item) throw new Errno(ENOENT);
        if (item.events & EPOLLEXCLUSIVE) throw new Errno(EINVAL);
        item.events = events | EPOLLERR | EPOLLHUP;
        item.data = data;
        item.pending = true;
        if (this.readyEvents(item)) notify(this, POLLIN | POLLRDNORM);
        return;
      }
      case EPOLL_CTL_DEL: {
        if (!item) throw new Errno(ENOENT);
        this.remove(item);
        return;
      }
      default: throw new Errno(EINVAL);
    }
  }

  private remove(item: EpItem): void {
    item.unsubscribe();
    this.items = this.items.filter((i) => i !== item);
  }

  private onWake(item: EpItem): void {
    const wanted = item.events & ~EP_PRIVATE_BITS;
    if (!wanted) return; // disabled by EPOLLONESHOT
    const key = wakeKey(item.file);
    if (key !== undefined && !(key & wanted)) return;
    item.pending = true;
    notify(this, POLLIN | POLLRDNORM);
  }

  /**
   * Linux drops an item when its file is finally closed. Files here do not announce that,
   * so an item lives while its file is still open in the owner's fd table.
   */
  private alive(item: EpItem): boolean {
    if (this.owner.entry(item.fd)?.file === item.file) return true;
    for (const [, e] of this.owner.entries()) if (e.file === item.file) return true;
    return false;
  }

  private readyEvents(item: EpItem): number {
    const wanted = item.events & ~EP_PRIVATE_BITS;
    if (!wanted) return 0;
    if ((item.events & EPOLLET) && !item.pending) return 0;
    return item.file.poll() & wanted;
  }

  /** Collects up to max ready events (epoll_wait without the sleeping). */
  collect(max: number): EpollEvent[] {
    const out: EpollEvent[] = [];
    const requeue: EpItem[] = [];
    for (const item of [...this.items]) {
      if (out.length >= max) break;
      if (!this.alive(item)) {
        this.remove(item);
        continue;
      }
      const ev = this.readyEvents(item);
      if (item.events & EPOLLET) item.pending = false;
      if (!ev) continue;
      out.push({ events: ev, data: item.data });
      if (item.events & EPOLLONESHOT) item.events &= EP_PRIVATE_BITS;
      else if (!(item.events & EPOLLET)) requeue.push(item);
    }
    // Level-triggered items go to the back, so a busy one cannot starve the rest.
    if (requeue.length) this.items = [...this.items.filter((i) => !requeue.includes(i)), ...requeue];
    return out;
  }

  override poll(): number {
    for (const item of this.items) if (this.alive(item) && this.readyEvents(item)) return POLLIN | POLLRDNORM;
    return 0;
  }

  get size(): number {
    return this.items.length;
  }

  /** For /proc/<pid>/fdinfo. */
  fdinfo(): string {
    return this.items.map((i) => `tfd: ${String(i.fd).padStart(8)} events: ${(i.events >>> 0).toString(16).padStart(8)} data: ${i.data.toString(16).padStart(16, '0')}\n`).join('');
  }

  protected override release(): void {
    for (const i of this.items) i.unsubscribe();
    this.items = [];
  }
}
