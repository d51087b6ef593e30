// The uml_switch wire protocol (Linux arch/um/drivers/daemon_user.c; uml_utilities
// uml_switch.c), shared by the daemon transport (client) and `tuml switch` (server).
//
// Control: a SOCK_STREAM connection to the switch's control socket; the client writes one
// request naming its own SOCK_DGRAM data socket, the switch answers with the 110-byte
// sockaddr_un of its data socket, and the connection stays open (EOF = port gone).
// Data: each datagram on the data sockets is one raw Ethernet frame.
import { HostSocketError, SOCKADDR_UN_SIZE, type UnixDgramSocket } from '../../host/unix-dgram.js';
import { EADDRINUSE } from '../../kernel/abi/errno.js';

export const SWITCH_MAGIC = 0xfeedface;
export const SWITCH_VERSION = 3;
export const REQ_NEW_CONTROL = 0;
/** The control socket both uml_switch and mainline UML default to. */
export const DEFAULT_CTL_SOCK = '/tmp/uml.ctl';

/** sizeof(struct request_v3) = 4 + 4 + 4 + 110, padded to 4: what UML writes. */
export const REQUEST_V3_SIZE = 124;
/** The meaningful bytes of a v3 request (without the tail padding). */
const REQUEST_V3_MIN = 12 + SOCKADDR_UN_SIZE;
/** v1: {magic, type, mac[6], sockaddr_un} = 4 + 4 + 6 + 110 = 124. */
const REQUEST_V1_SIZE = 124;
/** v0: {type, mac[6], sockaddr_un} = 4 + 6 + 110 = 120. */
const REQUEST_V0_SIZE = 120;

/** Encode the request a UML sends: request_v3{magic, 3, REQ_NEW_CONTROL, dataAddr}. */
export function encodeRequestV3(dataAddr: Buffer): Buffer {
  const b = Buffer.alloc(REQUEST_V3_SIZE);
  b.writeUInt32LE(SWITCH_MAGIC, 0);
  b.writeUInt32LE(SWITCH_VERSION, 4);
  b.writeUInt32LE(REQ_NEW_CONTROL, 8);
  dataAddr.copy(b, 12, 0, Math.min(dataAddr.length, SOCKADDR_UN_SIZE));
  return b;
}

export type DecodedRequest =
  | { kind: 'incomplete' }
  | { kind: 'error'; message: string }
  | { kind: 'port'; version: number; dataAddr: Buffer; consumed: number };

/**
 * Decode a request from the bytes read so far on a control connection. The version is
 * told apart as uml_switch does: with the magic, version 3 is v3, 2 is refused, and
 * anything else is v1 (whose second word is the request type); without it, v0.
 */
export function decodeRequest(buf: Buffer): DecodedRequest {
  if (buf.length < 8) return { kind: 'incomplete' };
  if (buf.readUInt32LE(0) === SWITCH_MAGIC) {
    const version = buf.readUInt32LE(4);
    if (version === SWITCH_VERSION) {
      if (buf.length < REQUEST_V3_MIN) return { kind: 'incomplete' };
      const type = buf.readUInt32LE(8);
      if (type !== REQ_NEW_CONTROL) return { kind: 'error', message: `Bad request type : ${type}` };
      return { kind: 'port', version: 3, dataAddr: Buffer.from(buf.subarray(12, 12 + SOCKADDR_UN_SIZE)), consumed: Math.min(buf.length, REQUEST_V3_SIZE) };
    }
    if (version === 2) return { kind: 'error', message: 'Version 2 is not supported' };
    // v1: the word at offset 4 is the request type.
    if (version !== REQ_NEW_CONTROL) return { kind: 'error', message: `Bad request type : ${version}` };
    if (buf.length < REQUEST_V1_SIZE) return { kind: 'incomplete' };
    return { kind: 'port', version: 1, dataAddr: Buffer.from(buf.subarray(14, 14 + SOCKADDR_UN_SIZE)), consumed: REQUEST_V1_SIZE };
  }
  const type = buf.readUInt32LE(0);
  if (type !== REQ_NEW_CONTROL) return { kind: 'error', message: `Bad request type : ${type}` };
  if (buf.length < REQUEST_V0_SIZE) return { kind: 'incomplete' };
  return { kind: 'port', version: 0, dataAddr: Buffer.from(buf.subarray(10, 10 + SOCKADDR_UN_SIZE)), consumed: REQUEST_V0_SIZE };
}

/**
 * The abstract data-socket address UML and uml_switch bind: sun_path holds
 * struct {char zero; int pid; int usecs;} (zero at 0, pid at 4, usecs at 8), the rest zero,
 * and it is bound with the full sizeof(struct sockaddr_un).
 */
export function abstractDataAddress(pid: number, usecs: number): Buffer {
  const b = Buffer.alloc(SOCKADDR_UN_SIZE);
  b.writeUInt16LE(1 /* AF_UNIX */, 0);
  b.writeInt32LE(pid | 0, 2 + 4);
  b.writeInt32LE(usecs | 0, 2 + 8);
  return b;
}

/** Microseconds of the wall clock, like gettimeofday's tv_usec. */
function usecsNow(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000) % 1_000_000;
}

/**
 * Bind `sock` to a fresh abstract {zero, pid, usecs} address and return it. Two sockets
 * bound in the same microsecond would clash, so the usecs field steps on EADDRINUSE.
 */
export function bindDataSocket(sock: UnixDgramSocket): Buffer {
  for (let usecs = usecsNow(), tries = 0; ; usecs = (usecs + 1) % 1_000_000, tries++) {
    const addr = abstractDataAddress(process.pid, usecs);
    try {
      sock.bind(addr);
      return addr;
    } catch (e) {
      if (!(e instanceof HostSocketError) || e.errno !== EADDRINUSE || tries > 1000) throw e;
    }
  }
}
