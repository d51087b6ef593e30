// The UDP socket shared by the mcast and ucast transports (Linux umcast_user.c): each
// datagram's payload is exactly one raw Ethernet frame, no header of any kind.
import * as dgram from 'node:dgram';

/** Bind a UDP socket (SO_REUSEADDR, as umcast_open sets) and resolve once it listens. */
export function bindUdp(address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    const onError = (e: NodeJS.ErrnoException): void => {
      s.close();
      reject(new Error(`umcast_open : data bind failed, errno = ${e.code ?? e.message} (${address}:${port})`));
    };
    s.once('error', onError);
    s.bind({ address, port }, () => {
      s.off('error', onError);
      resolve(s);
    });
  });
}
