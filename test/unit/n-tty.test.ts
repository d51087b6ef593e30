// The n_tty line discipline without a kernel: what Linux echoes, returns and signals for
// given input under given termios flags (table-driven), and the bounded buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NTty, N_TTY_BUF_SIZE, type LdiscPort } from '../../src/kernel/tty/n-tty.js';
import { stdTermios, ICANON, ECHO, ECHOE, ECHOK, ECHOKE, ECHOPRT, ISIG, TAB3, VMIN, type Termios } from '../../src/kernel/tty/termios.js';
import { SIGINT, SIGTSTP } from '../../src/kernel/abi/signals.js';
import { TelnetParser, greeting, escapeOutput } from '../../src/drivers/chan/telnet.js';

function ldisc(tweak: (t: Termios) => void = () => {}) {
  const termios = stdTermios();
  tweak(termios);
  const echoed: Buffer[] = [];
  const sigs: number[] = [];
  const port: LdiscPort & { outputStopped: boolean } = {
    termios, outputStopped: false,
    echo: (b) => echoed.push(Buffer.from(b)),
    signal: (s) => sigs.push(s),
    stopOutput() { this.outputStopped = true; },
    startOutput() { this.outputStopped = false; },
  };
  const l = new NTty(port);
  return { l, port, echo: () => Buffer.concat(echoed).toString('latin1'), sigs };
}

const cases: { name: string; tweak?: (t: Termios) => void; input: string; echo: string; reads: string[] }[] = [
  { name: 'erase with ECHOE', input: 'ab\x7fc\r', echo: 'ab\b \bc\r\n', reads: ['ac\n'] },
  { name: 'erase without ECHOE echoes the erase char', tweak: (t) => { t.lflag &= ~ECHOE; }, input: 'ab\x7f\n', echo: 'ab^?\r\n', reads: ['a\n'] },
  { name: 'erase of a control char (ECHOCTL) takes two columns', input: 'a\x01\x7f\n', echo: 'a^A\b \b\b \b\r\n', reads: ['a\n'] },
  { name: 'ECHOPRT shows erased chars between \\ and /', tweak: (t) => { t.lflag |= ECHOPRT; }, input: 'abc\x7f\x7fd\n', echo: 'abc\\cb/d\r\n', reads: ['ad\n'] },
  { name: 'kill with ECHOKE erases the line visually', input: 'xy\x15z\n', echo: 'xy\b \b\b \bz\r\n', reads: ['z\n'] },
  { name: 'kill without ECHOKE echoes ^U and a newline (ECHOK)', tweak: (t) => { t.lflag &= ~ECHOKE; }, input: 'xy\x15z\n', echo: 'xy^U\r\nz\r\n', reads: ['z\n'] },
  { name: 'werase removes the last word', input: 'one two\x17x\n', echo: 'one two\b \b\b \b\b \bx\r\n', reads: ['one x\n'] },
  { name: 'EOF on an empty line reads as end of file', input: '\x04', echo: '', reads: [''] },
  { name: 'EOF ends a line without a newline', input: 'ab\x04', echo: 'ab', reads: ['ab'] },
  { name: 'LNEXT quotes the next char', input: '\x16\x03\n', echo: '^\b^C\r\n', reads: ['\x03\n'] },
  { name: 'raw mode, VMIN 1: bytes as typed, control echo', tweak: (t) => { t.lflag &= ~ICANON; }, input: 'a\x01', echo: 'a^A', reads: ['a\x01'] },
  { name: 'no echo', tweak: (t) => { t.lflag &= ~(ECHO | ECHOK); }, input: 'secret\n', echo: '', reads: ['secret\n'] },
  { name: 'tab erase backs up to the tab stop', input: 'ab\t\x7f\n', echo: 'ab\t\b\b\b\b\b\b\r\n', reads: ['ab\n'] },
];

for (const c of cases) {
  test(`n_tty: ${c.name}`, () => {
    const { l, echo } = ldisc(c.tweak);
    assert.equal(l.receive(Buffer.from(c.input, 'latin1')), c.input.length);
    assert.equal(echo(), c.echo);
    for (const r of c.reads) assert.equal(l.read(100)?.toString('latin1'), r);
    assert.equal(l.read(100), null);
  });
}

test('n_tty: signal characters flush and signal', () => {
  const { l, echo, sigs } = ldisc();
  l.receive(Buffer.from('abc\x03'));
  assert.deepEqual(sigs, [SIGINT]);
  assert.equal(echo(), 'abc^C');
  assert.equal(l.read(100), null);
  l.receive(Buffer.from('\x1a'));
  assert.deepEqual(sigs, [SIGINT, SIGTSTP]);
  const noisig = ldisc((t) => { t.lflag &= ~ISIG; });
  noisig.l.receive(Buffer.from('\x03\n'));
  assert.deepEqual(noisig.sigs, []);
});

test('n_tty: IXON ^S stops and ^Q restarts output, neither is read', () => {
  const { l, port } = ldisc();
  l.receive(Buffer.from('\x13'));
  assert.equal(port.outputStopped, true);
  l.receive(Buffer.from('\x11x\n'));
  assert.equal(port.outputStopped, false);
  assert.equal(l.read(10)?.toString(), 'x\n');
});

test('n_tty: a full buffer refuses input instead of dropping it', () => {
  const { l } = ldisc((t) => { t.lflag &= ~(ICANON | ECHO); t.cc[VMIN] = 1; });
  const big = Buffer.alloc(10000, 0x61);
  const took = l.receive(big);
  assert.equal(took, N_TTY_BUF_SIZE - 1);
  assert.equal(l.receive(big), 0);
  assert.equal(l.read(1000)?.length, 1000);
  assert.equal(l.receive(big), 1000);
});

test('n_tty: canonical lines keep their boundaries; mode switches keep the data', () => {
  const { l, port } = ldisc((t) => { t.lflag &= ~ECHO; });
  l.receive(Buffer.from('one\ntwo\nthr'));
  assert.equal(l.read(100)?.toString(), 'one\n');
  port.termios.lflag &= ~ICANON;
  l.modeChanged();
  assert.equal(l.read(100)?.toString(), 'two\nthr');
});

test('n_tty: output processing (ONLCR, XTABS, columns)', () => {
  const { l, port } = ldisc();
  assert.equal(l.processOutput(Buffer.from('a\nb')).out.toString(), 'a\r\nb');
  port.termios.oflag |= TAB3;
  assert.equal(l.processOutput(Buffer.from('\tx')).out.toString(), '       x');
  const { out, consumed } = l.processOutput(Buffer.from('\n\n\n'), 4);
  assert.equal(out.toString(), '\r\n\r\n');
  assert.equal(consumed, 2);
});

test('telnet: negotiation replies, NAWS, CR NUL, IAC escaping', () => {
  const replies: number[][] = [];
  let size: number[] = [];
  const p = new TelnetParser({ reply: (b) => replies.push([...b]), winsize: (c, r) => { size = [c, r]; } });
  assert.deepEqual([...greeting()], [255, 251, 1, 255, 251, 3, 255, 253, 31]);
  const data = p.input(Buffer.from([255, 251, 31, 255, 250, 31, 0, 100, 0, 30, 255, 240, 97, 13, 0, 98, 13, 10, 255, 255, 255, 253, 24]));
  assert.deepEqual([...data], [97, 13, 98, 13, 255]);
  assert.deepEqual(size, [100, 30]);
  assert.deepEqual(replies, [[255, 252, 24]]); // DO TTYPE refused; WILL NAWS needs no reply
  assert.deepEqual([...escapeOutput(Buffer.from([1, 255, 2]))], [1, 255, 255, 2]);
});
