// `tuml mconsole <umid|socket> [command]`: the mconsole client, behaving as Debian's
// uml_mconsole (uml-utilities 20070815) does — same lookup of the socket, same warnings, same
// local commands, same "OK ..."/"ERR ..." output and the same exit status (the last reply
// packet's err, as the process exit code).
import { readFileSync, realpathSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { EAGAIN } from '../kernel/abi/errno.js';
import { UnixDgramSocket, sockaddrAbstract, sockaddrUn } from '../host/unix-dgram.js';
import { MCONSOLE_MAX_DATA, MCONSOLE_VERSION, REQUEST_SIZE, decodeReply, encodeRequest } from '../drivers/mconsole/protocol.js';
import { invokedDirectly } from './invoked-directly.js';

export interface CliIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Whether stdin is a terminal (then readline edits lines and keeps history). */
  isTTY: boolean;
}

const LOCAL_HELP =
  'Additional local mconsole commands:\n' +
  '    quit - Quit mconsole\n' +
  '    switch <socket-name> - Switch control to the given machine\n' +
  '    log -f <filename> - use contents of <filename> as UML log messages\n' +
  '    mconsole-version - version of this mconsole program\n' +
  '    int  - Interrupt UML session\n';

/** uml_mconsole's exit(): the process ends with this status. */
class Exit {
  constructor(readonly status: number) {}
}

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const known: Record<string, string> = {
    ENOENT: 'No such file or directory', EACCES: 'Permission denied', ENOTDIR: 'Not a directory',
    EINVAL: 'Invalid argument', ECONNREFUSED: 'Connection refused', EISDIR: 'Is a directory',
    ENAMETOOLONG: 'File name too long', EAGAIN: 'Resource temporarily unavailable',
  };
  return (code && known[code]) ?? (e as Error).message;
}

/** Datagrams arriving on the client's socket, handed out one at a time. */
class Inbox {
  private readonly queue: Buffer[] = [];
  private waiter: ((b: Buffer) => void) | null = null;

  constructor(private readonly sock: UnixDgramSocket) {
    sock.ref(false);
    sock.whenReadable(() => {
      for (let d = sock.recvFrom(); d; d = sock.recvFrom()) this.queue.push(d.data);
      this.wake();
    });
  }

  next(): Promise<Buffer> {
    const b = this.queue.shift();
    if (b) return Promise.resolve(b);
    // Only while a reply is awaited does the socket keep the process alive, as a blocking recvfrom would.
    this.sock.ref(true);
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  private wake(): void {
    if (!this.waiter || this.queue.length === 0) return;
    const w = this.waiter;
    this.waiter = null;
    this.sock.ref(false);
    w(this.queue.shift()!);
  }
}

let clientSerial = 0;

/** One mconsole client session: the current machine and the socket replies come back to. */
export class MconsoleClient {
  /** uml_name: the prompt shows at most its first 11 bytes. */
  name = '[None]';
  /** The machine's socket path (empty until a switch succeeds, as in uml_mconsole). */
  socketPath = '';
  /** The machine's pid from its pid file, or -1. */
  pid = -1;
  private readonly sock: UnixDgramSocket;
  private readonly inbox: Inbox;

  constructor(private readonly io: CliIo) {
    this.sock = UnixDgramSocket.open(REQUEST_SIZE + 1);
    // uml_mconsole binds "\0%5d" of its pid; several clients may share a process here.
    this.sock.bind(sockaddrAbstract(`${String(process.pid).padStart(5)}-tuml-${clientSerial++}`));
    this.inbox = new Inbox(this.sock);
  }

  close(): void {
    this.sock.close();
  }

  private warn(s: string): void {
    this.io.stderr.write(s);
  }

  private doSwitch(dir: string, file: string, name: string): boolean {
    try {
      statSync(file);
    } catch (e) {
      this.warn(`Warning: couldn't stat file: ${file} - ${strerror(e)}\n`);
      return false;
    }
    this.socketPath = file;
    this.name = name;
    this.pid = -1;
    try {
      const m = /^\s*([+-]?\d+)/.exec(readFileSync(`${dir}/${name}/pid`, 'latin1'));
      if (m) this.pid = parseInt(m[1], 10);
    } catch { /* no pid file: int cannot work */ }
    return true;
  }

  /** switch_common(): ~/.uml/<name>/mconsole, then /tmp/uml/<name>/mconsole, then <name> itself. */
  switchTo(name: string): boolean {
    let tryFile = true;
    let file = '';
    const home = process.env.HOME;
    if (home !== undefined) {
      const dir = `${home}/.uml`;
      file = `${dir}/${name}/mconsole`;
      if (!name.startsWith(dir)) {
        if (this.doSwitch(dir, file, name)) return true;
        tryFile = false;
      }
    }
    if (!name.startsWith('/tmp/uml/')) {
      if (this.doSwitch(`/tmp/uml/${name}`, `/tmp/uml/${name}/mconsole`, name)) return true;
    }
    if (this.doSwitch('./', name, name)) return true;
    if (!tryFile) return false;
    return this.doSwitch('./', file, name);
  }

  /** Send one command; resolves to the last packet's err and the concatenated text (null: not sent). */
  async send(command: string): Promise<{ err: number; output: string | null }> {
    const to = this.socketPath === '' ? Buffer.alloc(2) : sockaddrUn(this.socketPath);
    const req = encodeRequest(command);
    let e = this.sock.sendTo(req, to);
    while (e === EAGAIN) {
      // The machine's queue is full (uml_mconsole would block in sendto): wait until it has room.
      await waitForRoom(to);
      e = this.sock.sendTo(req, to);
    }
    if (e !== 0) {
      this.warn(`Sending command to '${this.socketPath}' : ${strerror({ code: errnoName(e) })}\n`);
      return { err: 1, output: null };
    }
    let output = '';
    for (;;) {
      const r = decodeReply(await this.inbox.next());
      output += r.text;
      if (!r.more) return { err: r.err | 0, output };
    }
  }

  /** default_cmd(): send it to the machine and print "OK <text>" or "ERR <text>". */
  async defaultCmd(command: string): Promise<number> {
    const { err, output } = await this.send(this.fixFilenames(command));
    if (output !== null) this.io.stdout.write(`${err ? 'ERR' : 'OK'} ${output}\n`);
    return err;
  }

  /** fix_filenames(): `config ubdN=cow,backing` gets absolute paths, since the machine has another cwd. */
  fixFilenames(command: string): string {
    if (!command.startsWith('config')) return command;
    const rest = command.slice('config'.length).replace(/^\s+/, '');
    if (!rest.startsWith('ubd')) return command;
    const eq = command.indexOf('=');
    if (eq < 0) return command;
    const spec = command.slice(eq + 1);
    const comma = spec.indexOf(',');
    const cow = comma < 0 ? null : spec.slice(0, comma);
    const backing = comma < 0 ? spec : spec.slice(comma + 1);
    const absBacking = this.absolutize(backing) ?? backing;
    const absCow = cow === null ? null : (this.absolutize(cow) ?? cow);
    return command.slice(0, eq) + '=' + (absCow !== null ? absCow + ',' : '') + absBacking;
  }

  private absolutize(from: string): string | null {
    const slash = from.lastIndexOf('/');
    if (slash < 0) return `${process.cwd()}/${from}`;
    const dir = from.slice(0, slash);
    try {
      if (dir === '') throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      if (!statSync(dir).isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
      return realpathSync(dir) + from.slice(slash);
    } catch (e) {
      this.warn(`absolutize : Can't cd to '${dir}', ${strerror(e)}\n`);
      return null;
    }
  }

  /** issue_command(): local commands first (by prefix), everything else goes to the machine. */
  async issue(line: string): Promise<number> {
    const command = line.replace(/[ \t\n\v\f\r]+$/, '');
    const local: [string, (c: string) => Promise<number>][] = [
      ['quit', async () => { throw new Exit(0); }],
      ['help', async (c) => { await this.defaultCmd(c); this.io.stdout.write(LOCAL_HELP); return 0; }],
      ['switch', async (c) => this.switchCmd(c)],
      ['log', async (c) => this.logCmd(c)],
      ['umlfs', async (c) => this.umlfsCmd(c)],
      ['mconsole-version', async () => { this.io.stdout.write(`uml_mconsole client version ${MCONSOLE_VERSION}\n`); return 0; }],
      ['int', async () => this.intCmd()],
    ];
    for (const [name, fn] of local) if (command.startsWith(name)) return fn(command);
    return this.defaultCmd(command);
  }

  private switchCmd(command: string): number {
    const target = command.slice('switch'.length).replace(/^\s+/, '');
    if (!this.switchTo(target)) return 1;
    this.io.stdout.write(`Switched to '${target}'\n`);
    return 0;
  }

  /** log_cmd(): split into requests that fit, and end the kernel's line if the text did not. */
  private async logCmd(command: string): Promise<number> {
    let arg = command.slice('log'.length).replace(/^\s+/, '');
    const max = MCONSOLE_MAX_DATA - 'log \0'.length - 1;
    let newline = false;
    if (arg.startsWith('-f')) {
      const path = arg.slice(2).replace(/^\s+/, '');
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch (e) {
        this.warn(`opening file: ${strerror(e)}\n`);
        throw new Exit(1);
      }
      const buf = Buffer.alloc(max);
      try {
        for (let n = readSync(fd, buf, 0, max, null); n > 0; n = readSync(fd, buf, 0, max, null)) {
          const chunk = buf.subarray(0, n);
          const nul = chunk.indexOf(0);
          await this.defaultCmd('log ' + chunk.subarray(0, nul < 0 ? n : nul).toString('latin1'));
          newline = chunk[n - 1] === 0x0a;
        }
      } catch (e) {
        if (e instanceof Exit) throw e;
        this.warn(`reading file: ${strerror(e)}\n`);
        throw new Exit(1);
      } finally {
        closeSync(fd);
      }
    } else {
      const bytes = Buffer.from(arg, 'latin1');
      for (let off = 0; off < bytes.length; off += max) {
        const chunk = bytes.subarray(off, off + max);
        await this.defaultCmd('log ' + chunk.toString('latin1'));
        newline = chunk[chunk.length - 1] === 0x0a;
      }
      arg = '';
    }
    if (!newline) await this.defaultCmd('log \n');
    return 0;
  }

  /** umlfs_cmd(): no kernel implements it; the request is sent without the descriptor. */
  private async umlfsCmd(command: string): Promise<number> {
    const arg = command.slice('umlfs'.length).replace(/^\s+/, '');
    if (!/^(0[xX][0-9a-fA-F]+|\d+)$/.test(arg)) {
      this.io.stdout.write('ERR Failed to parse file descriptor\n');
      return -22;
    }
    const { err, output } = await this.send(command);
    this.io.stdout.write(`${err ? 'ERR' : 'OK'} ${output ?? ''}\n`);
    return err;
  }

  private intCmd(): number {
    if (this.pid === -1) {
      this.io.stdout.write('Cannot determine the PID of your UML session, not sending signal.\n');
      return 0;
    }
    try { process.kill(this.pid, 'SIGINT'); } catch { /* as kill(2)'s result is ignored */ }
    return 0;
  }

  /** The interactive prompt: "(<first 11 bytes of the name>) ". */
  prompt(): string {
    return `(${Buffer.from(this.name).subarray(0, 11).toString()}) `;
  }
}

/** A connected datagram socket polls writable when its peer's queue has room. */
async function waitForRoom(to: Buffer): Promise<void> {
  const h = UnixDgramSocket.open(1);
  try {
    if (h.connect(to) !== 0) return;
    await new Promise<void>((resolve) => h.whenWritable(resolve));
  } finally {
    h.close();
  }
}

function errnoName(e: number): string {
  const names: Record<number, string> = { 2: 'ENOENT', 13: 'EACCES', 20: 'ENOTDIR', 22: 'EINVAL', 111: 'ECONNREFUSED', 11: 'EAGAIN' };
  return names[e] ?? `errno ${e}`;
}

async function interactive(client: MconsoleClient, io: CliIo): Promise<number> {
  const rl = createInterface({ input: io.stdin, output: io.isTTY ? io.stdout : undefined, terminal: io.isTTY, historySize: 500 });
  const lines = rl[Symbol.asyncIterator]();
  try {
    for (;;) {
      const p = client.prompt();
      if (io.isTTY) { rl.setPrompt(p); rl.prompt(); } else io.stdout.write(p);
      const next = await lines.next();
      if (next.done) break;
      const line = next.value;
      // GNU readline echoes a line read from a non-terminal; so do we, for identical transcripts.
      if (!io.isTTY) io.stdout.write(line + '\n');
      await client.issue(line);
    }
  } finally {
    rl.close();
  }
  io.stdout.write('\n');
  return 0;
}

/** Entry point of `tuml mconsole`; resolves to the exit status. */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const cio: CliIo = io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, isTTY: process.stdin.isTTY === true };
  if (argv.length < 1) {
    cio.stderr.write('Usage : tuml mconsole socket-name [command]\n');
    return 1;
  }
  const client = new MconsoleClient(cio);
  try {
    client.switchTo(argv[0]);
    if (argv.length > 1) return (await client.issue(argv.slice(1).join(' '))) & 0xff;
    return await interactive(client, cio);
  } catch (e) {
    if (e instanceof Exit) return e.status;
    throw e;
  } finally {
    client.close();
  }
}

if (invokedDirectly(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => { process.stderr.write(`tuml mconsole: ${String(e)}\n`); process.exitCode = 1; });
}
