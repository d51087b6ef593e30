// The host side of a guest Ethernet device: something that carries raw Ethernet frames
// (no preamble, no FCS) between this machine and the outside. UML's transports (daemon,
// mcast, ucast, tuntap, vde, slirp, ...) are each one implementation; the kernel's ethN
// device sees only this interface. Transports live on the main thread (Node event loop).

export type FrameHandler = (frame: Buffer) => void;

/** Counters a transport keeps for itself; the guest device keeps its own /proc/net/dev ones. */
export interface TransportStats {
  txFrames: number;
  txBytes: number;
  /** Frames the host refused (peer queue full, peer gone): a wire drops them silently. */
  txDropped: number;
  rxFrames: number;
  rxBytes: number;
}

export interface NetTransport {
  /** The transport's name in `ethN=<name>,...` (daemon, mcast, ...). */
  readonly name: string;
  readonly stats: TransportStats;
  /** Send one frame. Never throws for a lost frame: losing frames is what networks do. */
  send(frame: Buffer): void;
  /** Register the receiver of incoming frames (one receiver; a later call replaces it). */
  onFrame(cb: FrameHandler): void;
  /** Called once when the far side goes away for good (e.g. the switch exits). */
  onDisconnect(cb: () => void): void;
  close(): void;
  /** The configuration as `ethN=` would spell it after the name (for mconsole config queries). */
  describe(): string;
  /** The text UML logs after "Netdevice N (mac) : " at configure time. */
  info(): string;
}

export function newStats(): TransportStats {
  return { txFrames: 0, txBytes: 0, txDropped: 0, rxFrames: 0, rxBytes: 0 };
}

/**
 * Shared plumbing of the transports: the receiver slot, disconnect notification and counters.
 * A subclass calls `deliver()` for each frame received and `countTx()` for each frame sent.
 */
export abstract class TransportBase implements NetTransport {
  abstract readonly name: string;
  readonly stats: TransportStats = newStats();
  private receiver: FrameHandler | null = null;
  private disconnectCb: (() => void) | null = null;
  private disconnected = false;

  abstract send(frame: Buffer): void;
  abstract close(): void;
  abstract describe(): string;
  abstract info(): string;

  onFrame(cb: FrameHandler): void {
    this.receiver = cb;
  }

  onDisconnect(cb: () => void): void {
    this.disconnectCb = cb;
    if (this.disconnected) cb();
  }

  protected deliver(frame: Buffer): void {
    this.stats.rxFrames++;
    this.stats.rxBytes += frame.length;
    this.receiver?.(frame);
  }

  protected countTx(frame: Buffer, ok: boolean): void {
    if (ok) {
      this.stats.txFrames++;
      this.stats.txBytes += frame.length;
    } else {
      this.stats.txDropped++;
    }
  }

  protected signalDisconnect(): void {
    if (this.disconnected) return;
    this.disconnected = true;
    this.disconnectCb?.();
  }
}

/** Ethernet helpers every transport and the switch need. */
export const ETH_ALEN = 6;
export const ETH_HLEN = 14;

export function formatMac(mac: Buffer): string {
  return [...mac.subarray(0, ETH_ALEN)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The I/G bit: group (broadcast or multicast) destination. */
export function isMulticastMac(mac: Buffer, offset = 0): boolean {
  return (mac[offset] & 1) === 1;
}
