# One end of a TCP transfer between two machines: `server PORT` receives until EOF and prints
# the byte count and sha256; `client HOST PORT MB` sends MB MiB of seeded pseudo-random data
# and prints the same for what it sent. UDP: `userver PORT` echoes one datagram; `uclient HOST PORT`.
import socket, sys, hashlib, random, time
mode = sys.argv[1]
if mode == 'server':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(sys.argv[2]))); s.listen(1)
    a, peer = s.accept(); h = hashlib.sha256(); n = 0; t0 = time.time()
    while True:
        b = a.recv(1 << 16)
        if not b: break
        h.update(b); n += len(b)
    print('recv', n, h.hexdigest(), '%.1f MB/s' % (n / max(1e-6, time.time() - t0) / 1e6), flush=True)
    a.sendall(h.hexdigest().encode()); a.close()
elif mode == 'client':
    rnd = random.Random(1); block = rnd.randbytes(1 << 20)
    for i in range(50):
        try: c = socket.create_connection((sys.argv[2], int(sys.argv[3]))); break
        except OSError: time.sleep(0.2)
    h = hashlib.sha256(); n = int(sys.argv[4])
    for i in range(n):
        c.sendall(block); h.update(block)
    c.shutdown(socket.SHUT_WR)
    got = c.recv(100).decode()
    print('sent', n << 20, h.hexdigest(), 'match' if got == h.hexdigest() else 'MISMATCH', flush=True)
elif mode == 'userver':
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('0.0.0.0', int(sys.argv[2])))
    d, a = u.recvfrom(2000); u.sendto(d.upper(), a); print('udp from', a[0], flush=True)
elif mode == 'uclient':
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(0.5)
    for i in range(20):
        u.sendto(b'hello over udp', (sys.argv[2], int(sys.argv[3])))
        try: print('udp reply', u.recv(100).decode(), flush=True); break
        except socket.timeout: pass
