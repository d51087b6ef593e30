# A minimal DHCP client (DISCOVER, OFFER, REQUEST, ACK) over a UDP socket bound to the
# device, for guests without AF_PACKET; prints what it was given as "dhcp <key>=<value> ...".
import random
import socket
import struct
import sys

dev = sys.argv[1] if len(sys.argv) > 1 else 'eth0'
mac = bytes.fromhex(open(f'/sys/class/net/{dev}/address').read().strip().replace(':', ''))
xid = random.getrandbits(32)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
s.bind(('0.0.0.0', 68))
s.settimeout(3)


def message(kind, extra=b''):
    head = struct.pack('!BBBBIHHIIII', 1, 1, 6, 0, xid, 0, 0x8000, 0, 0, 0, 0) + mac + bytes(10) + bytes(192)
    return head + struct.pack('!I', 0x63825363) + bytes([53, 1, kind]) + extra + bytes([255])


def options(b):
    out, i = {}, 240
    while i < len(b) and b[i] != 255:
        if b[i] == 0:
            i += 1
            continue
        out[b[i]] = b[i + 2:i + 2 + b[i + 1]]
        i += 2 + b[i + 1]
    return out


def exchange(kind, extra, want):
    for _ in range(3):
        s.sendto(message(kind, extra), ('255.255.255.255', 67))
        try:
            while True:
                b, _ = s.recvfrom(1500)
                if len(b) >= 240 and b[0] == 2 and struct.unpack('!I', b[4:8])[0] == xid and options(b).get(53) == bytes([want]):
                    return b
        except socket.timeout:
            continue
    sys.exit('dhcp: no answer')


ip4 = lambda b: socket.inet_ntoa(b)
offer = exchange(1, b'', 2)
yiaddr, server = offer[16:20], options(offer)[54]
ack = exchange(3, bytes([50, 4]) + yiaddr + bytes([54, 4]) + server, 5)
o = options(ack)
prefix = bin(struct.unpack('!I', o[1])[0]).count('1')
print(f'dhcp ip={ip4(ack[16:20])} prefix={prefix} router={ip4(o[3][:4])} dns={ip4(o[6][:4])} server={ip4(o[54])} lease={struct.unpack("!I", o[51])[0]}')
