// Socket ABI (x86-64): address families, socket types, levels, options, message flags,
// control-message types and the layouts of msghdr/cmsghdr/ucred.
export const AF_UNSPEC = 0, AF_UNIX = 1, AF_INET = 2, AF_AX25 = 3, AF_IPX = 4, AF_APPLETALK = 5,
  AF_INET6 = 10, AF_KEY = 15, AF_NETLINK = 16, AF_PACKET = 17, AF_VSOCK = 40, AF_ALG = 38, AF_MAX = 46;

export const SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_RDM = 4, SOCK_SEQPACKET = 5,
  SOCK_PACKET = 10;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;

export const SOL_SOCKET = 1;
export const SO_DEBUG = 1, SO_REUSEADDR = 2, SO_TYPE = 3, SO_ERROR = 4, SO_DONTROUTE = 5,
  SO_BROADCAST = 6, SO_SNDBUF = 7, SO_RCVBUF = 8, SO_KEEPALIVE = 9, SO_OOBINLINE = 10,
  SO_NO_CHECK = 11, SO_PRIORITY = 12, SO_LINGER = 13, SO_BSDCOMPAT = 14, SO_REUSEPORT = 15,
  SO_PASSCRED = 16, SO_PEERCRED = 17, SO_RCVLOWAT = 18, SO_SNDLOWAT = 19, SO_RCVTIMEO = 20,
  SO_SNDTIMEO = 21, SO_ACCEPTCONN = 30, SO_PEERSEC = 31, SO_SNDBUFFORCE = 32,
  SO_RCVBUFFORCE = 33, SO_PASSSEC = 34, SO_PROTOCOL = 38, SO_DOMAIN = 39, SO_PEEK_OFF = 42,
  SO_PEERGROUPS = 59;

export const MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_DONTROUTE = 0x4, MSG_CTRUNC = 0x8,
  MSG_TRUNC = 0x20, MSG_DONTWAIT = 0x40, MSG_EOR = 0x80, MSG_WAITALL = 0x100,
  MSG_CONFIRM = 0x800, MSG_ERRQUEUE = 0x2000, MSG_NOSIGNAL = 0x4000, MSG_MORE = 0x8000,
  MSG_WAITFORONE = 0x10000, MSG_CMSG_CLOEXEC = 0x40000000;

export const SCM_RIGHTS = 1, SCM_CREDENTIALS = 2;
/** Most fds one SCM_RIGHTS message may carry. */
export const SCM_MAX_FD = 253;

export const SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;

/** struct msghdr offsets (56 bytes) and struct mmsghdr (64 bytes). */
export const MSGHDR = { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48, size: 56 } as const;
export const MMSGHDR_SIZE = 64, MMSGHDR_LEN = 56;
/** struct cmsghdr: u64 len, i32 level, i32 type; data 8-aligned. */
export const CMSG_HDR = 16;
export function cmsgAlign(n: number): number { return (n + 7) & ~7; }
export function cmsgSpace(n: number): number { return CMSG_HDR + cmsgAlign(n); }
export function cmsgLen(n: number): number { return CMSG_HDR + n; }

export const UIO_MAXIOV = 1024;
/** sizeof(struct sockaddr_un) and offsetof(sun_path). */
export const SOCKADDR_UN_SIZE = 110, SUN_PATH_OFFSET = 2;
/** net.core.somaxconn, wmem_max/rmem_max and the default buffer sizes. */
export const SOMAXCONN = 4096, SK_WMEM_MAX = 212992, SK_RMEM_MAX = 212992;
export const SOCK_MIN_SNDBUF = 4608, SOCK_MIN_RCVBUF = 2304;
