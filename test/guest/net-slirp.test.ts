// The user-mode network (eth0=slirp): the guest configures itself by DHCP, fetches pages
// from an HTTP server on the host's loopback through the gateway's address, resolves names
// through the DNS forwarder, exchanges UDP with a host socket, pings the gateway, and a host client reaches a guest server
// through a forwarded port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tuml = path.join(repo, 'tuml');
const dhcpClient = path.join(repo, 'test/guest/net/dhcp_client.py');

function tumlBoots(): boolean {
  return spawnSync(tuml, ['--', '/bin/true'], { timeout: 20000 }).status === 0;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The guest's server for the port forward: echoes one connection with a prefix. */
const guestEcho = `
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 22)); s.listen(1)
print("guest listening", flush=True)
c, a = s.accept()
print("guest accepted from", a[0], flush=True)
n = 0
c.sendall(b"hello from the guest\\n")
while True:
    d = c.recv(65536)
    if not d: break
    n += len(d); c.sendall(d)
c.shutdown(socket.SHUT_WR)
print("guest echoed", n, flush=True)
# The machine stops when this script ends: stay up until the client has read everything.
s.accept()[0].close()
`;

test('slirp: DHCP, HTTP from the host, DNS forwarder, ping, host port forward', { timeout: 60000 }, async (t) => {
  if (spawnSync('sh', ['-c', 'command -v python3 && command -v ping && command -v ip && test -x /bin/busybox']).status !== 0) return t.skip('python3, ping, ip and /bin/busybox are needed');
  if (!tumlBoots()) return t.skip('the engine does not boot');

  const page = Buffer.from('<html><body>tuml over slirp</body></html>\n');
  const big = randomBytes(3 << 20);
  const server = http.createServer((req, res) => {
    const body = req.url === '/big' ? big : page;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const httpPort = (server.address() as net.AddressInfo).port;
  const fwdPort = await freePort();
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => udp.send(Buffer.concat([Buffer.from('echo '), m]), r.port, r.address));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const udpPort = udp.address().port;

  const script = [
    'ip link set eth0 up',
    // busybox udhcpc needs AF_PACKET; a UDP-socket client does the same exchange without it.
    `if busybox udhcpc -i eth0 -n -q -t 2 -T 1 -s /bin/true >/dev/null 2>&1; then echo "udhcpc ok"; fi`,
    `L=$(python3 ${dhcpClient} eth0) || exit 1`,
    'echo "$L"',
    'eval "$(echo "$L" | sed "s/^dhcp //; s/ /;/g")"',
    'ip addr add $ip/$prefix dev eth0 && ip route add default via $router',
    'ip -4 -br addr show dev eth0',
    'ping -c 2 -i 0.2 -w 10 10.0.2.2',
    `busybox wget -q -O - http://10.0.2.2:${httpPort}/ | sed 's/^/wget: /'`,
    `python3 -c "import urllib.request, hashlib; b = urllib.request.urlopen('http://10.0.2.2:${httpPort}/big').read(); print('big', len(b), hashlib.sha256(b).hexdigest())"`,
    `python3 -c "import socket; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(5); u.sendto(b'over udp', ('10.0.2.2', ${udpPort})); d, a = u.recvfrom(100); print('udp', d.decode(), 'from', a[0], a[1])"`,
    'busybox nslookup localhost 10.0.2.3 2>&1 | sed "s/^/ns1: /"',
    'busybox nslookup no-such-host.invalid 10.0.2.3 2>&1 | sed "s/^/ns2: /"',
    `python3 -c '${guestEcho}'`,
  ].join('\n');
  const child = spawn(tuml, ['quiet', `eth0=slirp,,hostfwd=tcp:127.0.0.1:${fwdPort}-:22`, '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let client: Promise<{ greeting: string; echoed: Buffer }> | null = null;
  const upload = randomBytes(1 << 20);
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (client === null && out.includes('guest listening')) client = talk(fwdPort, upload);
  });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    const code = await new Promise<number | null>((r) => child.on('close', r));
    assert.equal(code, 0, out);
    assert.match(out, /dhcp ip=10\.0\.2\.15 prefix=24 router=10\.0\.2\.2 dns=10\.0\.2\.3 server=10\.0\.2\.2 lease=86400/);
    assert.match(out, /eth0 +UP +10\.0\.2\.15\/24/);
    assert.match(out, /2 packets transmitted, 2 received, 0% packet loss/);
    assert.match(out, /wget: <html><body>tuml over slirp<\/body><\/html>/);
    assert.match(out, new RegExp(`big ${big.length} ${sha(big)}`));
    assert.match(out, new RegExp(`udp echo over udp from 10\\.0\\.2\\.2 ${udpPort}`));
    assert.match(out, /ns1: Name:\s+localhost\nns1: Address:? 127\.0\.0\.1/);
    assert.match(out, /ns2: .*(NXDOMAIN|can't find)/);
    assert.match(out, /guest accepted from 10\.0\.2\.2/);
    assert.match(out, new RegExp(`guest echoed ${upload.length}`));
    assert.ok(client, out);
    const r = await (client as Promise<{ greeting: string; echoed: Buffer }>);
    assert.equal(r.greeting, 'hello from the guest\n');
    assert.equal(sha(r.echoed), sha(upload));
    if (out.includes('udhcpc ok')) t.diagnostic('busybox udhcpc configured eth0 too');
  } finally {
    child.kill();
    server.close();
    udp.close();
  }
});

/** The host client of the forwarded port: sends `data`, half-closes, reads everything back. */
function talk(port: number, data: Buffer): Promise<{ greeting: string; echoed: Buffer }> {
  return new Promise((resolve, reject) => {
    const greeting = 'hello from the guest\n';
    const chunks: Buffer[] = [];
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(data));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', reject);
    s.on('end', () => {
      const all = Buffer.concat(chunks);
      s.destroy();
      net.connect({ host: '127.0.0.1', port }).on('error', () => {}).end();
      resolve({ greeting: all.subarray(0, greeting.length).toString(), echoed: all.subarray(greeting.length) });
    });
  });
}
