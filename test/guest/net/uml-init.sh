#!/bin/sh
# init for a real UML (Debian's user-mode-linux) on the same switch as a tuml machine:
# configure eth0, ping tuml, stay up for tuml's pings, send it 4 MiB over TCP, halt.
mount -t proc proc /proc 2>/dev/null
ip addr add 10.0.0.3/24 dev eth0
ip link set eth0 up
ping -c 2 -i 0.3 -w 15 10.0.0.1
sleep 2
python3 "$(dirname "$0")/tcp_peer.py" client 10.0.0.1 5001 4
halt -f
