// The receive side every AF_INET datagram socket shares (UDP, raw, ping; Linux's
// skb_recv_datagram and udp_poll): a queue bounded by SO_RCVBUF, recvmsg with MSG_PEEK and
// MSG_TRUNC, shutdown(2) and the poll mask.
import { Errno } from '../../errno.js';
import { EAGAIN, EINVAL, ENOTCONN, EOPNOTSUPP } from '../../abi/errno.js';
import { MSG_ERRQUEUE, MSG_OOB, MSG_PEEK, MSG_TRUNC, SHUT_RD, SHUT_RDWR } from '../../abi/socket.js';
import { POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, POLLRDNORM, POLLWRNORM } from '../../fs/file.js';
import type { Task } from '../../task/task.js';
import { notify } from '../../event/notify.js';
import type { RecvResult } from '../socket.js';
import { formatSockaddrIn } from './address.js';
import { InetSocket, type PacketInfo } from './inet-socket.js';

/** Bits of `shut`: shutdown(how) sets how + 1. */
export const RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2;
/** Bookkeeping each queued datagram costs against SO_RCVBUF (skb truesize beyond the data). */
const SKB_OVERHEAD = 768;

/** A received datagram; `sport` is 0 where the protocol has no ports (raw, ping). */
export interface InetDatagram { data: Buffer; src: number; sport: number; info: PacketInfo }

export abstract class InetDgramSocket extends InetSocket {
  protected readonly queue: InetDatagram[] = [];
  private queued = 0;
  protected shut = 0;

  /** Whether a peer is fixed by connect(2): shutdown of an unconnected socket is ENOTCONN. */
  protected abstract hasPeer(): boolean;

  protected inq(): number {
    return this.queue[0]?.data.length ?? 0;
  }

  enqueue(d: InetDatagram): void {
    if (this.shut & RCV_SHUTDOWN) return;
    // As Linux, one datagram is always accepted into an empty queue, however large.
    if (this.queued + d.data.length + SKB_OVERHEAD > this.opts.rcvbuf && this.queue.length > 0) return;
    this.queue.push(d);
    this.queued += d.data.length + SKB_OVERHEAD;
    notify(this, POLLIN | POLLRDNORM);
  }

  recvmsg(_t: Task, len: number, flags: number, _nonblock: boolean): RecvResult {
    if (flags & MSG_OOB) throw new Errno(EOPNOTSUPP);
    if (flags & MSG_ERRQUEUE) throw new Errno(EAGAIN);
    const err = this.takeError();
    if (err) throw new Errno(err);
    const d = this.queue[0];
    if (!d) {
      if (this.shut & RCV_SHUTDOWN) return { data: Buffer.alloc(0), fullLength: 0, addr: null, rights: null, creds: null, flags: 0 };
      throw new Errno(EAGAIN);
    }
    if (!(flags & MSG_PEEK)) {
      this.queue.shift();
      this.queued -= d.data.length + SKB_OVERHEAD;
    }
    const trunc = d.data.length > len;
    return {
      data: trunc ? d.data.subarray(0, len) : d.data,
      fullLength: d.data.length,
      addr: formatSockaddrIn(d.src, d.sport),
      rights: null,
      creds: null,
      flags: trunc ? MSG_TRUNC : 0,
      cmsgs: this.controlFor(d.info),
    };
  }

  override shutdown(_t: Task, how: number): void {
    if (how < SHUT_RD || how > SHUT_RDWR) throw new Errno(EINVAL);
    this.shut |= how + 1;
    notify(this, POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
    if (!this.hasPeer()) throw new Errno(ENOTCONN);
  }

  override poll(): number {
    let m = POLLOUT | POLLWRNORM;
    if (this.error) m |= POLLERR;
    if (this.queue.length) m |= POLLIN | POLLRDNORM;
    if (this.shut & RCV_SHUTDOWN) m |= POLLIN | POLLRDNORM | POLLRDHUP;
    if (this.shut === (RCV_SHUTDOWN | SEND_SHUTDOWN)) m |= POLLHUP;
    return m;
  }
}
