// Shared by the switch*.test.ts files: frames, a receive queue per transport, temp dirs.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NetTransport } from '../../src/drivers/net/transport.js';

export function mac(n: number): Buffer {
  return Buffer.from([0x02, 0, 0, 0, 0, n]);
}

export const BROADCAST = Buffer.alloc(6, 0xff);

/** An Ethernet frame with ethertype 0x88b5 (local experimental) and a text payload. */
export function frame(dst: Buffer, src: Buffer, text: string): Buffer {
  return Buffer.concat([dst, src, Buffer.from([0x88, 0xb5]), Buffer.from(text)]);
}

export function payload(f: Buffer): string {
  return f.subarray(14).toString();
}

/** Collects a transport's frames and hands them out in order. */
export class FrameQueue {
  private readonly frames: Buffer[] = [];
  private waiter: ((f: Buffer) => void) | null = null;

  constructor(t: NetTransport) {
    t.onFrame((f) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(f);
      } else {
        this.frames.push(f);
      }
    });
  }

  /** The next frame, or a rejection after `ms`. */
  next(ms = 2000): Promise<Buffer> {
    const f = this.frames.shift();
    if (f) return Promise.resolve(f);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no frame within ${ms} ms`));
      }, ms);
      this.waiter = (fr) => {
        clearTimeout(timer);
        resolve(fr);
      };
    });
  }

  /** The payload of the next frame. */
  async nextText(ms = 2000): Promise<string> {
    return payload(await this.next(ms));
  }

  get pending(): number {
    return this.frames.length;
  }
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tuml-${tag}-`));
}

/** Path of a host tool, installing its Debian package once if it is missing. */
export function ensureTool(bin: string, pkg: string): string | null {
  const which = (): string | null => {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
  };
  const found = which();
  if (found) return found;
  spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore', timeout: 120_000 });
  return which();
}
