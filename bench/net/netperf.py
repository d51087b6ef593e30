# The network benchmark's two ends, run inside the machines under test (the same script in
# tuml and in UML). `server PORT` serves two connections: the first is a bulk transfer it
# reads to EOF and answers with the byte count; the second echoes 1-byte requests.
# `client HOST PORT MB ROUNDS` sends MB MiB on the first and times ROUNDS request/response
# exchanges on the second, printing "NET tput_MBps <v>" and "NET rr_us <v>".
import socket, sys, time
mode = sys.argv[1]
if mode == 'server':
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('0.0.0.0', int(sys.argv[2]))); s.listen(2)
    print('NET server ready', flush=True)
    a, _ = s.accept(); n = 0
    while True:
        b = a.recv(1 << 16)
        if not b: break
        n += len(b)
    a.sendall(str(n).encode()); a.close()
    a, _ = s.accept(); a.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        b = a.recv(1)
        if not b: break
        a.sendall(b)
    a.close()
    print('NET server done', n, flush=True)
else:
    host, port, mb, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    def connect():
        for i in range(300):
            try: return socket.create_connection((host, port), timeout=30)
            except OSError: time.sleep(0.1)
        sys.exit('NET error: cannot connect')
    block = bytes(range(256)) * 4096
    c = connect(); t0 = time.perf_counter()
    for i in range(mb): c.sendall(block)
    c.shutdown(socket.SHUT_WR)
    got = int(c.recv(100).decode()); dt = time.perf_counter() - t0; c.close()
    if got != mb << 20: sys.exit('NET error: server got %d bytes' % got)
    print('NET tput_MBps %.2f' % ((mb << 20) / dt / 1e6), flush=True)
    c = connect(); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(10): c.sendall(b'x'); c.recv(1)
    t0 = time.perf_counter()
    for i in range(rounds): c.sendall(b'x'); c.recv(1)
    dt = time.perf_counter() - t0; c.close()
    print('NET rr_us %.1f' % (dt / rounds * 1e6), flush=True)
