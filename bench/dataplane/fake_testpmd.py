#!/usr/bin/env python3
"""A stand-in for dpdk-testpmd in the dataplane benchmark's driver test: it
listens like the memif server (abstract unix socket), answers the
interactive commands the driver sends with testpmd's output format, and
exits 3 when the driver breaks the teardown protocol (forwarding not
stopped before quit, client started before the server listened,
tx_first on the server). At the n-th "show port stats 0", Rx-pps is
5000000 + n * 100000 on the client and 6000000 + n * 100000 on the server
(Tx-pps 50000 more, so that reading the wrong line shows)."""
import socket
import sys
import threading
import time

args = sys.argv[1:]
vdev = next(a for a in args if a.startswith('--vdev='))
kv = dict(x.split('=', 1) for x in vdev[len('--vdev='):].split(',')[1:])
role, sock = kv['role'], kv['socket']


def fail(why):
    print('fake testpmd (%s): %s' % (role, why), flush=True)
    sys.exit(3)


def spin():
    # The forwarding lcore: busy, named as EAL names it, so that the
    # driver finds its CPU time in /proc.
    with open('/proc/self/task/%d/comm' % threading.get_native_id(), 'w') as f:
        f.write('rte-worker-1')
    while True:
        sum(range(2000))
        time.sleep(0.0005)


if role == 'server':
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind('\0' + sock)
    listener.listen(1)
else:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        probe.connect('\0' + sock)
    except OSError:
        fail('client started before the server listened')
threading.Thread(target=spin, daemon=True).start()
print('EAL: Detected CPU lcores: 2', flush=True)
base = 5000000 if role == 'client' else 6000000
shows, fwd_io, running = 0, False, False
print('testpmd> ', end='', flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == 'set fwd io':
        fwd_io = True
    elif cmd in ('start', 'start tx_first'):
        if not fwd_io or (cmd == 'start tx_first') != (role == 'client'):
            fail('unexpected ' + cmd)
        running = True
    elif cmd == 'stop':
        running = False
    elif cmd == 'show port stats 0':
        shows += 1
        print('\n  ######################## NIC statistics for port 0  ########################')
        print('  RX-packets: %-10d RX-missed: 0          RX-bytes:  0' % (shows * 1000000))
        print('  RX-errors: 0\n  RX-nombuf:  0         ')
        print('  TX-packets: 0          TX-errors: 0          TX-bytes:  0\n')
        print('  Throughput (since last show)')
        print('  Rx-pps: %12d          Rx-bps: %12d' % (base + shows * 100000, 0))
        print('  Tx-pps: %12d          Tx-bps: %12d' % (base + shows * 100000 + 50000, 0))
        print('  ' + '#' * 76, flush=True)
    elif cmd == 'quit':
        if running:
            fail('quit while forwarding')
        print('Bye...', flush=True)
        sys.exit(0)
    print('testpmd> ', end='', flush=True)
fail('stdin closed without quit')
