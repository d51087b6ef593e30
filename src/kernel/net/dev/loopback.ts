// The loopback device: every packet sent comes straight back in. Linux queues it on the
// receiving CPU's backlog and processes it in a softirq; here the stack's receive queue
// plays that part, so a send never re-enters the stack it came from.
import { ARPHRD_LOOPBACK, IFF_LOOPBACK, IFF_UP, IFF_RUNNING, IFF_LOWER_UP } from '../../abi/inet.js';
import { NetDevice } from './netdev.js';

export const LOOPBACK_MTU = 65536;

export class LoopbackDevice extends NetDevice {
  constructor() {
    super('lo', ARPHRD_LOOPBACK, Buffer.alloc(6), IFF_LOOPBACK | IFF_UP | IFF_RUNNING | IFF_LOWER_UP, LOOPBACK_MTU, 1000);
  }

  override get broadcastMac(): Buffer {
    return Buffer.alloc(6);
  }

  protected override get operUpName(): 'up' | 'unknown' {
    return 'unknown';
  }

  transmit(proto: number, packet: Buffer, _nextHop: number): void {
    if (!this.up) { this.stats.txDropped++; return; }
    this.stats.txPackets++;
    this.stats.txBytes += packet.length;
    this.stats.rxPackets++;
    this.stats.rxBytes += packet.length;
    this.sink?.receive(this, proto, packet);
  }
}
