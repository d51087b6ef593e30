// ICMP (net/ipv4/icmp.c): answers echo requests, sends destination-unreachable errors, and
// hands received errors to the protocol whose packet caused them.
import {
  IPPROTO_ICMP, IPPROTO_UDP, IPPROTO_TCP, IFF_LOOPBACK, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_DEST_UNREACH,
  ICMP_TIME_EXCEEDED,
} from '../../abi/inet.js';
import { checksum } from './checksum.js';
import { ipOutput, type IpPacket } from './ip.js';
import { isMulticast } from './address.js';
import type { NetStack } from './stack.js';

export const ICMP_HLEN = 8;
/** An error quotes at most this much of the offending datagram (576 - headers). */
const ICMP_ERROR_QUOTE = 576 - 20 - ICMP_HLEN;

export class IcmpLayer {
  /** net.ipv4.icmp_echo_ignore_all / icmp_echo_ignore_broadcasts. */
  echoIgnoreAll = false;
  echoIgnoreBroadcasts = true;
  readonly counters = { inMsgs: 0, inErrors: 0, inEchos: 0, inEchoReps: 0, inDestUnreachs: 0, outMsgs: 0, outEchoReps: 0, outDestUnreachs: 0 };

  constructor(readonly stack: NetStack) {}

  input(p: IpPacket): void {
    const m = p.payload;
    this.counters.inMsgs++;
    if (m.length < ICMP_HLEN || (!(p.dev.flags & IFF_LOOPBACK) && checksum(m) !== 0)) { this.counters.inErrors++; return; }
    const type = m[0]!, code = m[1]!;
    switch (type) {
      case ICMP_ECHO: {
        this.counters.inEchos++;
        if (this.echoIgnoreAll) return;
        if ((this.stack.isBroadcast(p.dst) || isMulticast(p.dst)) && this.echoIgnoreBroadcasts) return;
        const reply = Buffer.from(m);
        reply[0] = ICMP_ECHOREPLY;
        reply.writeUInt16BE(0, 2);
        reply.writeUInt16BE(checksum(reply), 2);
        const src = this.stack.isLocal(p.dst) ? p.dst : this.stack.sourceFor(p.src);
        this.counters.outMsgs++;
        this.counters.outEchoReps++;
        try { ipOutput(this.stack, { src, dst: p.src, proto: IPPROTO_ICMP, payload: reply, tos: p.tos }); } catch { /* no route back */ }
        return;
      }
      case ICMP_ECHOREPLY:
        this.counters.inEchoReps++;
        this.stack.raw.pingDeliver(p);
        return;
      case ICMP_DEST_UNREACH: case ICMP_TIME_EXCEEDED: {
        if (type === ICMP_DEST_UNREACH) this.counters.inDestUnreachs++;
        const inner = m.subarray(ICMP_HLEN);
        if (inner.length < 20) return;
        switch (inner[9]) {
          case IPPROTO_UDP: this.stack.udp.error(type, code, inner); break;
          case IPPROTO_TCP: this.stack.tcp.error(type, code, inner); break;
          case IPPROTO_ICMP: this.stack.raw.pingError(type, code, inner); break;
        }
        return;
      }
      default:
    }
  }

  /** Sends a destination-unreachable about `p` (never about an ICMP error or a broadcast). */
  sendUnreachable(p: IpPacket, code: number): void {
    this.sendError(p, ICMP_DEST_UNREACH, code);
  }

  sendError(p: IpPacket, type: number, code: number): void {
    if (this.stack.isBroadcast(p.dst) || isMulticast(p.dst)) return;
    if (p.proto === IPPROTO_ICMP && p.payload.length > 0 && ![ICMP_ECHO, ICMP_ECHOREPLY].includes(p.payload[0]!)) return;
    if ((p.raw.readUInt16BE(6) & 0x1fff) !== 0) return; // only about first fragments
    const quote = p.raw.subarray(0, Math.min(p.raw.length, ICMP_ERROR_QUOTE));
    const msg = Buffer.alloc(ICMP_HLEN + quote.length);
    msg[0] = type;
    msg[1] = code;
    quote.copy(msg, ICMP_HLEN);
    msg.writeUInt16BE(checksum(msg), 2);
    const src = this.stack.isLocal(p.dst) ? p.dst : this.stack.sourceFor(p.src);
    this.counters.outMsgs++;
    if (type === ICMP_DEST_UNREACH) this.counters.outDestUnreachs++;
    try { ipOutput(this.stack, { src, dst: p.src, proto: IPPROTO_ICMP, payload: msg, tos: 0xc0 }); } catch { /* no route */ }
  }
}
