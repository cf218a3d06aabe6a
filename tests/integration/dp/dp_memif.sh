#!/usr/bin/env bash
# Two aegis-dpnode processes over net_memif (DPDK shared-memory packet
# interface): node 2 is the memif server in echo mode, node 1 the client in
# send mode; --no-huge, their own --file-prefix, one worker on CPU 1 and
# one on CPU 0. Both run in a namespace of their own, so the abstract memif
# socket cannot meet another run's. Pass iff the sender exits 0 (all echoes
# verified), both sides batched (more than one message per packet) and
# nothing was dropped or resent. The echo side is stopped only after the
# sender exited: a memif peer leaving while traffic flows can crash the
# other side (DPDK 22.11, see DPDK-ON-THIS-MACHINE.md).
# Usage: dp_memif.sh AEGIS_DPNODE [MSGS]
DPNODE=$1
MSGS=${2:-50000}
. "$(dirname "$0")/lib.sh"
dp_require
dp_netns_add m || dp_fail "netns"
ns=$(dp_ns m)
sock="/run/$DP_ID-memif.sock" # abstract (@/run/...), per namespace
dp_peers 2
memif() { # I ROLE
	echo "net_memif0,role=$2,socket=$sock,mac=$(dp_mac "$1")"
}
# Echo side: main lcore 0, worker on CPU 1.
# shellcheck disable=SC2046
dp_node echo2 "$ns" "$DP_PROC_SECS" $(dp_eal echo2 0-1 "$(memif 2 server)") --main-lcore=0 -- \
	--node 2 --ip "$(dp_ip 2)" "${DP_PEERS[@]}" --mode echo --duration "$DP_ECHO_SECS"
dp_wait_ready echo2
# Send side: main lcore 1, worker on CPU 0.
# shellcheck disable=SC2046
dp_node send1 "$ns" "$DP_PROC_SECS" $(dp_eal send1 0-1 "$(memif 1 client)") --main-lcore=1 -- \
	--node 1 --ip "$(dp_ip 1)" "${DP_PEERS[@]}" --mode send --dst 2 --msgs "$MSGS" \
	--duration "$DP_SEND_SECS"
dp_wait_exit send1 "$DP_SEND_WAIT"
dp_check_sender send1 "$MSGS"
dp_check_lossless send1
dp_check_batched send1
# The sender has gone: only now stop the echo side.
dp_check_echo echo2 "$MSGS"
dp_check_lossless echo2
dp_json v "$DP_TMP/echo2.json" 't["rx_msgs"]'
dp_expect "echo2 messages received" "$v" -eq "$MSGS"
grep -h "layout\|steering\|cores" "$DP_TMP"/echo2.log "$DP_TMP"/send1.log >&2
echo "ok"
