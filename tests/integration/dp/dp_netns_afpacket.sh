#!/usr/bin/env bash
# Three aegis-dpnode processes on DPDK net_af_packet, one per network
# namespace, each owning veth dp0 whose peer is a port of a Linux bridge in
# a fourth "switch" namespace (lib.sh dp_star: any two nodes one hop apart;
# the kernel has no IPv4 address on dp0, the nodes do their own ARP).
# Round 1 (arp): nodes 2 and 3 echo, node 1 sends MSGS messages to node 2,
# then to node 3, resolving both by ARP (no static entries); two workers
# per node (af_packet qpairs=2, worker w on UDP 7400 + w, frames that the
# kernel's fanout puts on the other worker's queue are steered in software),
# each worker sending to its namesake.
# Round 2 (static): the same, one worker, with --static-arp and @MAC peers, plus a
# fourth peer without a MAC that nobody may ask for: no ARP request may
# leave any node.
# Pass iff every send run verifies all echoes, the echo nodes got every
# message, nothing was dropped, and ARP was used exactly as configured.
# Usage: dp_netns_afpacket.sh AEGIS_DPNODE [MSGS]
DPNODE=$1
MSGS=${2:-20000}
. "$(dirname "$0")/lib.sh"
dp_require
dp_star 3

# afp_node NAME I CPUS MAIN ARGS...: node I on its namespace's dp0.
afp_node() {
	local name=$1 i=$2 cpus=$3 main=$4
	shift 4
	# shellcheck disable=SC2046
	dp_node "$name" "$(dp_ns "n$i")" "$DP_PROC_SECS" $(dp_eal "$name" "$cpus" "net_af_packet0,iface=dp0,qpairs=$QPAIRS") \
		--main-lcore="$main" -- --node "$i" --ip "$(dp_ip "$i")" "${DP_PEERS[@]}" "$@"
}

# round TAG ARGS...: echo nodes 2 and 3, node 1 sends to each in turn.
round() {
	local tag=$1 dst i
	shift
	afp_node "echo2$tag" 2 0-1 1 --mode echo --duration "$DP_ECHO_SECS" "$@"
	afp_node "echo3$tag" 3 0-1 0 --mode echo --duration "$DP_ECHO_SECS" "$@"
	dp_wait_ready "echo2$tag"
	dp_wait_ready "echo3$tag"
	for dst in 2 3; do
		afp_node "send$dst$tag" 1 0-1 1 --mode send --dst "$dst" --msgs "$MSGS" \
			--duration "$DP_SEND_SECS" "$@"
		dp_wait_exit "send$dst$tag" "$DP_SEND_WAIT"
		dp_check_sender "send$dst$tag" "$MSGS"
		dp_check_batched "send$dst$tag"
		dp_check_clean "send$dst$tag"
	done
	for i in 2 3; do
		dp_check_echo "echo$i$tag" "$MSGS"
	done
}

dp_peers 3
QPAIRS=2
round -arp --workers 2
# Node 1 had to resolve both destinations: it asked and got a reply, or
# the destination asked first and node 1 learned it from that request.
for dst in 2 3; do
	dp_json v "$DP_TMP/send$dst-arp.json" 'int(p["arp_requests_tx"] >= 1 and p["arp_replies_rx"] >= 1 or p["arp_requests_rx"] >= 1)'
	dp_expect "send$dst-arp ARP resolved (asked and answered, or learned from a request)" "$v" -eq 1
done

dp_peers 3 static
# Node 4 has no MAC and no host: without --static-arp every node would ask
# for it (peers are resolved from the start).
DP_PEERS+=(--peer "4=$(dp_ip 4)")
QPAIRS=1
round -static --static-arp
for f in echo2-static echo3-static send2-static send3-static; do
	dp_json v "$DP_TMP/$f.json" 'p["arp_requests_tx"]'
	dp_expect "$f ARP requests sent" "$v" -eq 0
done
grep -h "layout" "$DP_TMP"/*.log >&2
echo "ok"
