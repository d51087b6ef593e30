# TCP bulk transfer over 127.0.0.1 between two processes; checks the sha256 end to end.
import socket, os, hashlib, sys, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 10*1024*1024
data = os.urandom(1 << 20) * (N >> 20)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', 0)); s.listen(1); port = s.getsockname()[1]
pid = os.fork()
if pid == 0:
    s.close()
    c = socket.create_connection(('127.0.0.1', port))
    c.sendall(data); c.shutdown(socket.SHUT_WR)
    echo = c.recv(100)
    c.close(); os._exit(0 if echo == hashlib.sha256(data).hexdigest().encode() else 3)
a, _ = s.accept()
t0 = time.time(); h = hashlib.sha256(); n = 0
while True:
    b = a.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
dt = time.time() - t0
a.sendall(h.hexdigest().encode()); a.close()
_, st = os.waitpid(pid, 0)
print(n, h.hexdigest() == hashlib.sha256(data).hexdigest(), st, "%.1f MB/s" % (n / dt / 1e6))
