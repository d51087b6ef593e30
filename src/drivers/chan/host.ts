// The main thread's half of the consoles and serial lines: opens every line's host
// channels from the command line (con=, conN=, ssl=, sslN=, xterm=), serves the kernel's
// requests (want-input, output, chan-open/close for hotplug) and writes tty logs.
import type { MachineConfig } from '../../cli/cmdline.js';
import type { FromKernel, ToKernel } from '../../kernel/interrupts.js';
import { parseLines, parseXterm, type ChanSpec, type LineSpec } from '../../kernel/tty/line-spec.js';
import { FdChannel, NullChannel, type Channel, type ChannelEvents } from './channel.js';
import { PortChannel } from './port.js';
import { PtsChannel, TtyDevChannel, XtermChannel, type XtermConfig } from './host-pty.js';
import { TtyLogWriter } from './ttylog-writer.js';

export class ChannelHost {
  private readonly inputs = new Map<number, Channel>();
  private readonly outputs = new Map<number, Channel>();
  private readonly xterm: XtermConfig;
  private readonly ttyLog: TtyLogWriter;

  constructor(private readonly cfg: MachineConfig, private readonly send: (m: ToKernel) => void) {
    let specs: LineSpec[] = [];
    try {
      specs = parseLines(cfg.devices);
    } catch {
      specs = parseLines(new Map()); // the kernel reports the error
    }
    try { this.xterm = parseXterm(cfg.devices); } catch { this.xterm = { emulator: 'xterm', titleSwitch: '-T', execSwitch: '-e' }; }
    const fdText = cfg.devices.get('tty_log_fd');
    this.ttyLog = new TtyLogWriter(fdText !== undefined && /^\d+$/.test(fdText) ? Number(fdText) : null);
    for (const s of specs) this.open(s);
  }

  private events(s: LineSpec): ChannelEvents {
    const chan = s.chan;
    return {
      input: (data) => this.send({ type: 'input', chan, data }),
      eof: () => this.send({ type: 'eof', chan }),
      connect: () => this.send({ type: 'chan-connect', chan }),
      winsize: (rows, cols) => this.send({ type: 'winch', chan, rows, cols }),
      log: (text) => this.send({ type: 'chan-log', text }),
    };
  }

  private make(c: ChanSpec, s: LineSpec, ev: ChannelEvents): Channel {
    const what = s.kind === 'con' ? `Virtual console ${s.index}` : `Serial line ${s.index}`;
    try {
      switch (c.type) {
        case 'fd': return new FdChannel(c.fd, ev);
        case 'null': return new NullChannel();
        case 'port': return new PortChannel(c.port, ev);
        case 'pty': case 'pts': return new PtsChannel(ev, what);
        case 'tty': return new TtyDevChannel(c.path, ev);
        case 'xterm': return new XtermChannel(ev, what, `${this.cfg.umid ?? 'tuml'} ${s.kind === 'con' ? 'console' : 'serial line'} #${s.index}`, this.xterm);
      }
    } catch (e) {
      ev.log(`tuml: ${what}: cannot open ${c.type} channel: ${(e as Error).message}`);
      return new NullChannel();
    }
  }

  /** Opens a line's channels (at boot, or when mconsole adds one). */
  open(s: LineSpec): void {
    const ev = this.events(s);
    const input = this.make(s.input, s, ev);
    this.inputs.set(s.chan, input);
    // One channel serves both directions when the line names one; fd output the kernel writes itself.
    if (s.output === s.input || JSON.stringify(s.output) === JSON.stringify(s.input)) {
      if (s.output.type !== 'fd') this.outputs.set(s.chan, input);
    } else if (s.output.type !== 'fd') {
      this.outputs.set(s.chan, this.make(s.output, s, { ...ev, input: () => {}, eof: () => {} }));
    }
  }

  close(chan: number): void {
    const i = this.inputs.get(chan), o = this.outputs.get(chan);
    i?.close();
    if (o && o !== i) o.close();
    this.inputs.delete(chan);
    this.outputs.delete(chan);
  }

  /** A message from the kernel; false when it is not about channels. */
  handle(m: FromKernel): boolean {
    switch (m.type) {
      case 'want-input': this.inputs.get(m.chan)?.want(); return true;
      case 'output': {
        const chan = m.chan, n = m.data.length;
        const o = this.outputs.get(chan);
        const done = () => this.send({ type: 'output-ack', chan, n });
        if (o) o.write(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.length), done);
        else done();
        return true;
      }
      case 'tty-log': this.ttyLog.write(m.file, m.data); return true;
      case 'chan-open': this.open(m.spec); return true;
      case 'chan-close': this.close(m.chan); return true;
      default: return false;
    }
  }

  closeAll(): void {
    for (const chan of [...this.inputs.keys()]) this.close(chan);
    this.ttyLog.close();
  }
}
