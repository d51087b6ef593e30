# AF_INET basics over loopback (UDP, TCP errors, non-blocking connect, options, poll):
# the output must be the same natively and under tuml.
import socket, errno
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0)); port = u.getsockname()[1]
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.sendto(b'ping', ('127.0.0.1', port))
d, a = u.recvfrom(100); print('udp', d, a[0], a[1] == v.getsockname()[1])
u.sendto(b'pong', a); print(v.recvfrom(100)[0])
# truncation + MSG_PEEK
v.sendto(b'x' * 3000, ('127.0.0.1', port))
print(len(u.recv(10, socket.MSG_PEEK)), len(u.recv(5000)))
# connected UDP to a closed port -> ECONNREFUSED
w = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); w.connect(('127.0.0.1', 9)); w.send(b'x')
try: w.recv(10)
except OSError as e: print('refused', e.errno == errno.ECONNREFUSED)
# TCP refused
t = socket.socket()
try: t.connect(('127.0.0.1', 9))
except OSError as e: print('tcp refused', e.errno == errno.ECONNREFUSED)
# EADDRINUSE
a1 = socket.socket(); a1.bind(('127.0.0.1', 6000)); a1.listen()
a2 = socket.socket()
try: a2.bind(('127.0.0.1', 6000))
except OSError as e: print('inuse', e.errno == errno.EADDRINUSE)
# nonblocking connect
n = socket.socket(); n.setblocking(False)
print('nb', n.connect_ex(('127.0.0.1', 6000)) == errno.EINPROGRESS)
import select
print(select.select([], [n], [], 2)[1] == [n], n.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
print(n.connect_ex(('127.0.0.1', 6000)), n.connect_ex(('127.0.0.1', 6000)))
print(socket.socket().getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF), socket.socket().getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF), u.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
print(t.getsockopt(socket.IPPROTO_IP, socket.IP_TTL), t.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
nb = socket.socket(); nb.setblocking(False); nb.bind(('127.0.0.1', 0))
try: nb.send(b'x')
except OSError as e: print('send unconnected', e.errno)
try: nb.recv(1)
except OSError as e: print('recv unconnected', e.errno)
import select
p = select.poll(); p.register(nb, select.POLLIN|select.POLLOUT); print('poll fresh', [ev for _, ev in p.poll(0)])
