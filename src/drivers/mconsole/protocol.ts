// The mconsole wire format (Linux arch/um/drivers/mconsole.h, protocol version 2). All
// integers are host-endian, which on x86-64 means little-endian; nothing is byte-swapped.

export const MCONSOLE_MAGIC = 0xcafebabe;
export const MCONSOLE_MAX_DATA = 512;
export const MCONSOLE_VERSION = 2;

/** struct mconsole_request { u32 magic, version, len; char data[512]; } */
export const REQUEST_SIZE = 12 + MCONSOLE_MAX_DATA;
/** struct mconsole_reply { u32 err, more, len; char data[512]; } — header size. */
export const REPLY_HEADER = 12;
/** struct mconsole_notify { u32 magic, version; int type; u32 len; char data[512]; } — header size. */
export const NOTIFY_HEADER = 16;

/** Reply texts of mconsole_get_request() (Linux mconsole_user.c). */
export const V0_REPLY = 'ERR Version 0 mconsole clients are not supported by this driver';
export const TOO_LARGE = 'Request too large';
export const BAD_VERSION = `This driver only supports version ${MCONSOLE_VERSION} clients`;
export const UNKNOWN_COMMAND = 'Unknown command';

/** enum mconsole_notify types. MCONSOLE_HANG exists but Linux never sends it. */
export const MCONSOLE_SOCKET = 0;
export const MCONSOLE_PANIC = 1;
export const MCONSOLE_HANG = 2;
export const MCONSOLE_USER_NOTIFY = 3;

export interface Reply {
  /** u32 on the wire: negative errnos arrive as 2^32 - errno. */
  err: number;
  more: boolean;
  text: string;
}

/** The request uml_mconsole's format_cmd() builds: always the full 524-byte struct. */
export function encodeRequest(command: string, version = MCONSOLE_VERSION): Buffer {
  const data = Buffer.from(command, 'utf8');
  const len = Math.min(data.length, MCONSOLE_MAX_DATA - 1);
  const b = Buffer.alloc(REQUEST_SIZE);
  b.writeUInt32LE(MCONSOLE_MAGIC, 0);
  b.writeUInt32LE(version, 4);
  b.writeUInt32LE(len, 8);
  data.copy(b, 12, 0, len);
  return b;
}

/**
 * Split a reply into datagrams as mconsole_reply_len() does: chunks of at most 511 bytes,
 * each sent with its NUL (len = chunk + 1); err only on the first; more=1 on all but the
 * last, which carries the caller's `more`. An empty string is one 13-byte packet.
 */
export function encodeReply(text: string | Buffer, err: number, more: boolean): Buffer[] {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const out: Buffer[] = [];
  let off = 0;
  do {
    const len = Math.min(bytes.length - off, MCONSOLE_MAX_DATA - 1);
    const last = off + len === bytes.length;
    const p = Buffer.alloc(REPLY_HEADER + len + 1);
    p.writeUInt32LE(out.length === 0 ? err >>> 0 : 0, 0);
    p.writeUInt32LE(last ? (more ? 1 : 0) : 1, 4);
    p.writeUInt32LE(len + 1, 8);
    bytes.copy(p, REPLY_HEADER, off, off + len);
    out.push(p);
    off += len;
  } while (off < bytes.length);
  return out;
}

/** Decode one reply datagram; data is read as a C string, as uml_mconsole's strcat does. */
export function decodeReply(p: Buffer): Reply {
  if (p.length < REPLY_HEADER) return { err: 0, more: false, text: '' };
  const data = p.subarray(REPLY_HEADER, Math.min(p.length, REPLY_HEADER + MCONSOLE_MAX_DATA));
  const nul = data.indexOf(0);
  return {
    err: p.readUInt32LE(0),
    more: p.readUInt32LE(4) !== 0,
    text: data.subarray(0, nul < 0 ? data.length : nul).toString('utf8'),
  };
}

/** struct mconsole_notify with `len` bytes of data (truncated to 512), as mconsole_notify() sends it. */
export function encodeNotify(type: number, data: Buffer): Buffer {
  const len = Math.min(data.length, MCONSOLE_MAX_DATA);
  const p = Buffer.alloc(NOTIFY_HEADER + len);
  p.writeUInt32LE(MCONSOLE_MAGIC, 0);
  p.writeUInt32LE(MCONSOLE_VERSION, 4);
  p.writeInt32LE(type, 8);
  p.writeUInt32LE(len, 12);
  data.copy(p, NOTIFY_HEADER, 0, len);
  return p;
}

export interface Notification { magic: number; version: number; type: number; data: Buffer }

export function decodeNotify(p: Buffer): Notification | null {
  if (p.length < NOTIFY_HEADER) return null;
  const len = Math.min(p.readUInt32LE(12), p.length - NOTIFY_HEADER);
  return {
    magic: p.readUInt32LE(0),
    version: p.readUInt32LE(4),
    type: p.readInt32LE(8),
    data: Buffer.from(p.subarray(NOTIFY_HEADER, NOTIFY_HEADER + len)),
  };
}
