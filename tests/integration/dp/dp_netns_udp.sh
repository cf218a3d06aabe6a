#!/usr/bin/env bash
# Three aegis-dpnode processes on the kernel-UDP fallback (--port udp), one
# per network namespace, joined by veths to a Linux bridge in a fourth
# "switch" namespace (lib.sh dp_star); the kernel does ARP. Node 1 sends
# MSGS messages per worker to node 2, then to node 3; both echo. Pass iff
# both send runs verify every echo, the echo nodes received them all, and
# no frame was dropped as bad. (Kernel sockets may lose a datagram when a
# buffer is full: the sender resends after 200 ms, and that is allowed.)
# Two workers per node by default (sockets on UDP 7400 and 7401; unpinned
# threads, so the kernel reorders datagrams when one moves to the other
# CPU): this once failed with "too_old" wire drops, when sequence numbers
# followed the wall clock in ns; aeg_wire_seq_next now counts frames.
# Usage: dp_netns_udp.sh AEGIS_DPNODE [MSGS]
DPNODE=$1
MSGS=${2:-20000}
. "$(dirname "$0")/lib.sh"
dp_require
dp_star 3 kernel-ip
dp_peers 3
dp_udp_node() { # NAME I ARGS...
	local name=$1 i=$2
	shift 2
	dp_node "$name" "$(dp_ns "n$i")" "$DP_PROC_SECS" --port udp --node "$i" --ip "$(dp_ip "$i")" \
		"${DP_PEERS[@]}" --workers "${DP_UDP_WORKERS:-2}" "$@"
}
for i in 2 3; do
	dp_udp_node "echo$i" "$i" --mode echo --duration "$DP_ECHO_SECS"
done
dp_wait_ready echo2
dp_wait_ready echo3
for dst in 2 3; do
	dp_udp_node "send$dst" 1 --mode send --dst "$dst" --msgs "$MSGS" --duration "$DP_SEND_SECS"
	dp_wait_exit "send$dst" "$DP_SEND_WAIT"
	dp_check_sender "send$dst" "$MSGS"
	dp_check_clean "send$dst"
	dp_check_batched "send$dst"
done
for i in 2 3; do
	dp_check_echo "echo$i" "$MSGS"
done
echo "ok"
