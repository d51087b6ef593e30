// The DNS forwarder on the virtual LAN's DNS address: it takes the guest's queries and
// answers them with the host's resolver (node:dns), so the guest sees the names the host
// sees — /etc/hosts included, through getaddrinfo for A and AAAA. Other types go to the
// host's configured DNS servers; what the host cannot answer is SERVFAIL, NXDOMAIN or
// NOTIMP as the host's error says.
import * as dns from 'node:dns';
import type { UdpDatagram, VirtualLan } from './gateway.js';

export const DNS_PORT = 53;
export const TYPE_A = 1;
export const TYPE_NS = 2;
export const TYPE_CNAME = 5;
export const TYPE_PTR = 12;
export const TYPE_MX = 15;
export const TYPE_TXT = 16;
export const TYPE_AAAA = 28;
const CLASS_IN = 1;
export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;
const TTL = 60;
const QR = 0x8000, OPCODE_MASK = 0x7800, RD = 0x0100, RA = 0x0080;

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  type: number;
  klass: number;
  /** The question section's bytes (echoed in the answer). */
  raw: Buffer;
}

/** One question of a standard query; null when the message is not one. */
export function parseQuery(b: Buffer): DnsQuestion | null {
  if (b.length < 12 || (b.readUInt16BE(2) & QR) || b.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let i = 12;
  for (;;) {
    const n = b[i];
    if (n === undefined || n > 63) return null; // compression has no place in a question
    i++;
    if (n === 0) break;
    if (i + n > b.length) return null;
    labels.push(b.toString('latin1', i, i + n));
    i += n;
  }
  if (i + 4 > b.length) return null;
  return { id: b.readUInt16BE(0), flags: b.readUInt16BE(2), name: labels.join('.'), type: b.readUInt16BE(i), klass: b.readUInt16BE(i + 2), raw: b.subarray(12, i + 4) };
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter((l) => l !== '');
  const bufs = parts.map((l) => Buffer.concat([Buffer.from([Math.min(63, l.length)]), Buffer.from(l.slice(0, 63), 'latin1')]));
  return Buffer.concat([...bufs, Buffer.from([0])]);
}

/** An answer's RDATA. */
type Rdata = Buffer;

export function buildResponse(q: DnsQuestion, rcode: number, answers: Rdata[] = []): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id, 0);
  h.writeUInt16BE(QR | (q.flags & (OPCODE_MASK | RD)) | RA | rcode, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers.length, 6);
  const rrs = answers.map((rd) => {
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // the name in the question
    rr.writeUInt16BE(q.type, 2);
    rr.writeUInt16BE(CLASS_IN, 4);
    rr.writeUInt32BE(TTL, 6);
    rr.writeUInt16BE(rd.length, 10);
    return Buffer.concat([rr, rd]);
  });
  return Buffer.concat([h, q.raw, ...rrs]);
}

function ipv4Rdata(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function ipv6Rdata(a: string): Buffer {
  const b = Buffer.alloc(16);
  const [head, tail] = a.includes('::') ? a.split('::') as [string, string] : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const words = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  words.forEach((w, i) => b.writeUInt16BE(parseInt(w, 16) || 0, i * 2));
  return b;
}

function rcodeOf(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === dns.NOTFOUND || code === 'ENOTFOUND' || code === dns.NODATA) return RCODE_NXDOMAIN;
  if (code === dns.NOTIMP) return RCODE_NOTIMP;
  return RCODE_SERVFAIL;
}

/** Answers one question with the host's resolver. */
export async function resolveQuestion(q: DnsQuestion): Promise<Buffer> {
  if (q.klass !== CLASS_IN) return buildResponse(q, RCODE_NOTIMP);
  const lookup = async (family: 4 | 6): Promise<string[]> =>
    (await dns.promises.lookup(q.name, { family, all: true })).map((r) => r.address);
  try {
    switch (q.type) {
      case TYPE_A:
      case TYPE_AAAA: {
        const want = q.type === TYPE_A ? 4 : 6;
        try {
          const addrs = await lookup(want);
          return buildResponse(q, RCODE_NOERROR, addrs.map(want === 4 ? ipv4Rdata : ipv6Rdata));
        } catch (e) {
          // A name that has only the other family exists: an empty answer, not NXDOMAIN.
          try {
            await lookup(want === 4 ? 6 : 4);
            return buildResponse(q, RCODE_NOERROR);
          } catch {
            throw e;
          }
        }
      }
      case TYPE_PTR: {
        const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/i.exec(q.name);
        if (!m) return buildResponse(q, RCODE_NXDOMAIN);
        const names = await dns.promises.reverse(`${m[4]}.${m[3]}.${m[2]}.${m[1]}`);
        return buildResponse(q, RCODE_NOERROR, names.map(encodeName));
      }
      case TYPE_MX: {
        const mx = await dns.promises.resolveMx(q.name);
        return buildResponse(q, RCODE_NOERROR, mx.map((r) => {
          const p = Buffer.alloc(2);
          p.writeUInt16BE(r.priority);
          return Buffer.concat([p, encodeName(r.exchange)]);
        }));
      }
      case TYPE_TXT: {
        const txt = await dns.promises.resolveTxt(q.name);
        return buildResponse(q, RCODE_NOERROR, txt.map((parts) => Buffer.concat(parts.map((s) => {
          const v = Buffer.from(s).subarray(0, 255);
          return Buffer.concat([Buffer.from([v.length]), v]);
        }))));
      }
      case TYPE_CNAME:
      case TYPE_NS: {
        const names = q.type === TYPE_NS ? await dns.promises.resolveNs(q.name) : await dns.promises.resolveCname(q.name);
        return buildResponse(q, RCODE_NOERROR, names.map(encodeName));
      }
      default:
        return buildResponse(q, RCODE_NOTIMP);
    }
  } catch (e) {
    return buildResponse(q, rcodeOf(e));
  }
}

export class DnsForwarder {
  constructor(private readonly lan: VirtualLan) {}

  input(d: UdpDatagram): void {
    const q = parseQuery(d.data);
    if (!q) {
      if (d.data.length >= 12 && !(d.data.readUInt16BE(2) & QR)) {
        const h = Buffer.from(d.data.subarray(0, 12));
        h.writeUInt16BE(QR | RCODE_FORMERR, 2);
        h.fill(0, 4);
        this.lan.sendUdp(d.dst, DNS_PORT, d.src, d.sport, h);
      }
      return;
    }
    void resolveQuestion(q).then((answer) => this.lan.sendUdp(d.dst, DNS_PORT, d.src, d.sport, answer));
  }
}
