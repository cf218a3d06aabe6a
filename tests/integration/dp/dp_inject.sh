#!/usr/bin/env bash
# Bad packets on a real port. A star of three namespaces (lib.sh dp_star):
# n2 runs aegis-dpnode node 2 (echo) on net_af_packet over its veth, n1 runs
# node 1 (send to node 2) the same way, and n3 is the injector's: its
# kernel owns 10.77.0.3 on dp0, and dp_inject writes raw frames from there
# to node 2 (a cluster member, node 3, with the test key, so that valid,
# replayed and bad-tag frames are real). Within each layer the counts all
# differ, so that a frame counted under the wrong reason shows.
# Pass iff, on node 2, every injected kind is counted under its reason
# exactly (wire drops per worker reason, L2/L3 drops per port reason, all
# other reasons 0), the valid injected frames come back as verified echoes,
# and node 1's send runs (one before, one while the injector runs, one
# after it) verify all their echoes. The first run also measures the
# message rate, so that the second lasts about 3 s however fast or loaded
# the machine is, and the injection (~0.1 s) falls inside it.
# Usage: dp_inject.sh AEGIS_DPNODE DP_INJECT [MSGS]
DPNODE=$1
INJECT=$2
MSGS=${3:-} # of the run the injection falls into; default: ~3 s worth
. "$(dirname "$0")/lib.sh"
dp_require
dp_star 2
dp_star_arm 3 kernel-ip
# A 9000-byte MTU from the injector to node 2, so that a jumbo frame gets
# there (the af_packet ring cuts it to its 2 KiB frames: the node sees an
# IPv4 datagram longer than the frame, "truncated").
for i in 2 3; do
	nsenter --net=/run/netns/"$(dp_ns "n$i")" -- ip link set dp0 mtu 9000 || dp_fail "mtu n$i"
	nsenter --net=/run/netns/"$(dp_ns sw)" -- ip link set "p$i" mtu 9000 || dp_fail "mtu p$i"
done
nsenter --net=/run/netns/"$(dp_ns sw)" -- ip link set br0 mtu 9000 || dp_fail "mtu br0"
# Node 3 (the injector) is a member with a static neighbour entry: echoes
# to it need no ARP round.
dp_peers 2
DP_PEERS+=(--peer "3=$(dp_ip 3)@$(dp_mac 3)")

afp_node() { # NAME I MAIN ARGS...
	local name=$1 i=$2 main=$3
	shift 3
	# shellcheck disable=SC2046
	dp_node "$name" "$(dp_ns "n$i")" "$DP_PROC_SECS" $(dp_eal "$name" 0-1 net_af_packet0,iface=dp0) \
		--main-lcore="$main" -- --node "$i" --ip "$(dp_ip "$i")" "${DP_PEERS[@]}" "$@"
}

# kind=count as dp_inject takes them; reason each must be counted under.
KINDS=(valid=5 replay=3 bad_tag=7 wrong_cluster=4 unknown_node=6 bad_version=9
	truncated=10 oversized=2 eth_truncated=4 jumbo=8 bad_ipv4_csum=6 bad_udp_len=5)
WIRE_EXPECT='{"replayed":3,"bad_tag":7,"wrong_cluster":4,"unknown_node":6,
	"bad_version":9,"truncated":10,"bad_length":2}'
NET_EXPECT='{"truncated":12,"bad_ipv4_csum":6,"bad_udp_len":5}' # truncated: 4 + 8 jumbo

afp_node echo2 2 1 --mode echo --duration "$DP_ECHO_SECS"
dp_wait_ready echo2
# Valid traffic before the injection; its rate sizes the next run.
afp_node send0 1 1 --mode send --dst 2 --msgs 50000 --duration "$DP_SEND_SECS"
dp_wait_exit send0 "$DP_SEND_WAIT"
dp_check_sender send0 50000
[ -n "$MSGS" ] ||
	dp_json MSGS "$DP_TMP/send0.json" 'int(min(max(3 * 50000 / max(d["elapsed_s"], 1e-3), 1e5), 5e6))'
afp_node send1 1 1 --mode send --dst 2 --msgs "$MSGS" --duration "$DP_SEND_SECS"
dp_wait_ready send1
sleep 0.2 # traffic is flowing
nsenter --net=/run/netns/"$(dp_ns n3)" -- timeout -k 2 20 "$INJECT" --iface dp0 --dst-mac "$(dp_mac 2)" \
	--src-ip "$(dp_ip 3)" --dst-ip "$(dp_ip 2)" --key "$DP_KEY" --cluster "$DP_CLUSTER" \
	--src-node 3 --dst-node 2 --echo-wait 5 "${KINDS[@]}" >"$DP_TMP/inject.log" 2>&1
rc=$?
cat "$DP_TMP/inject.log" >&2
[ "$rc" -eq 0 ] || dp_fail "dp_inject exited with $rc (echoes of valid frames missing?)"
kill -0 "${DP_PID[send1]}" 2>/dev/null ||
	dp_fail "send1 ended before the injection did: nothing interleaved (MSGS $MSGS too few)"
dp_wait_exit send1 "$DP_SEND_WAIT"
dp_check_sender send1 "$MSGS"
# Valid traffic after the injection.
afp_node send1b 1 1 --mode send --dst 2 --msgs 20000 --duration "$DP_SEND_SECS"
dp_wait_exit send1b "$DP_SEND_WAIT"
dp_check_sender send1b 20000

dp_stop echo2
dp_summary echo2
[ "$DP_RC" -eq 0 ] || dp_fail "echo2 exited with $DP_RC"
f="$DP_TMP/echo2.json"
dp_json v "$f" 'json.dumps({"wire": t["wire_drops"], "l2l3": p["l2l3_drops"]})'
echo "$v" >&2

# check_reasons WHAT COUNTERS EXPECT: every reason in echo2's counters
# (COUNTERS: a dp_json expression) has exactly its count in EXPECT (0 when
# absent there), and every reason in EXPECT exists.
check_reasons() {
	local what=$1 counters=$2 expect=$3 name got want out n=0
	dp_json out "$f" "reasons($counters, e)" "$expect"
	while read -r name got want; do
		[ "$got" = missing ] && dp_fail "echo2 has no $what drop reason '$name'"
		dp_expect "echo2 $what drops '$name'" "$got" -eq "$want"
		n=$((n + 1))
	done <<<"$out"
	dp_json want "$f" 'len(e)' "$expect"
	dp_expect "$what drop reasons checked" "$n" -ge "$want"
}
check_reasons wire 't["wire_drops"]' "$WIRE_EXPECT"
check_reasons l2/l3 'p["l2l3_drops"]' "$NET_EXPECT"
# Node 1's messages, the valid injected frames and their replay originals.
dp_json v "$f" 't["rx_msgs"]'
dp_expect "echo2 messages received" "$v" -ge $((50000 + MSGS + 20000 + 8))
echo "ok"
