#!/bin/bash
# aegis-dpnode on DPDK net_tap (echo, 2 workers) against aegis-dpnode on
# the kernel-UDP port (send) in one network namespace: the kernel resolves
# the DPDK node by ARP (answered by its slow path), sends with its own
# checksums, and receives frames built with the tap's checksum offloads;
# both worker ports are used, so frames the tap queues on the wrong queue
# go through software steering. Pass iff every message comes back intact
# and the ethdev node answered ARP. Root only (skips with 77 otherwise);
# the namespace and both processes go away on any exit.
# usage: test_dp_tap.sh path/to/aegis-dpnode
set -u
DPNODE=$1
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespace)"; exit 77; }
NS=aegt-tap$$
TAP=dtap$$
TMP=$(mktemp -d /tmp/aegis-dp-tap.XXXXXX)
MSGS=20000
ECHO_PID=

cleanup() {
	[ -n "$ECHO_PID" ] && kill -KILL "$ECHO_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "/var/run/dpdk/aegt-t$$" # EAL run dirs (kept even with --no-shconf)
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.log; do echo "--- $f"; grep -v "^EAL" "$f" | tail -20; done
	exit 1
}

ip netns add "$NS" || { echo "SKIP: cannot create a network namespace"; exit 77; }
nsenter --net=/run/netns/"$NS" -- ip link set lo up
nsenter --net=/run/netns/"$NS" -- "$DPNODE" --no-huge -m 256 --no-pci --no-shconf --file-prefix=aegt-t$$ \
	-l 0 --vdev=net_tap0,iface=$TAP -- \
	--node 2 --ip 10.78.0.2 --peer 1=10.78.0.1 --workers 2 --mode echo \
	--ready-file "$TMP/echo.ready" --stats-json "$TMP/echo.json" --duration 60 \
	2>"$TMP/echo.log" &
ECHO_PID=$!
for _ in $(seq 100); do
	[ -f "$TMP/echo.ready" ] && break
	kill -0 $ECHO_PID 2>/dev/null || break
	sleep 0.1
done
if [ ! -f "$TMP/echo.ready" ]; then
	grep -q "rte_eal_init\|no such DPDK port" "$TMP/echo.log" &&
		{ echo "SKIP: no EAL/net_tap"; exit 77; }
	fail "echo node did not get ready"
fi
# The kernel's side of the tap: an address, so its sockets can use it.
nsenter --net=/run/netns/"$NS" -- ip addr add 10.78.0.1/24 dev $TAP && nsenter --net=/run/netns/"$NS" -- ip link set $TAP up ||
	fail "tap $TAP not configurable"

nsenter --net=/run/netns/"$NS" -- "$DPNODE" --port udp --node 1 --ip 10.78.0.1 --peer 2=10.78.0.2 \
	--workers 2 --mode send --dst 2 --msgs $MSGS --msg-bytes 80 \
	--stats-json "$TMP/send.json" --duration 20 2>"$TMP/send.log"
rc=$?
[ $rc -eq 0 ] || fail "kernel-UDP sender exited $rc"
kill -INT $ECHO_PID
wait $ECHO_PID
rc=$?
ECHO_PID=
[ $rc -eq 0 ] || fail "echo node exited $rc"
python3 - "$TMP/send.json" "$TMP/echo.json" $MSGS <<'EOF' || fail "stats"
import json, sys
s = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2])); msgs = int(sys.argv[3])
assert s["ok"] is True
for w in s["workers"]:
    assert w["echoed"] == msgs and w["bad"] == 0, w
p = e["port"]
assert p["driver"] == "net_tap", p["driver"]
# ARP went one way or the other: the kernel asked and the node answered, or
# the node asked first (the kernel then learns it from the request).
assert (p["arp_requests_rx"] >= 1 and p["arp_replies_tx"] >= 1) or \
       (p["arp_requests_tx"] >= 1 and p["arp_replies_rx"] >= 1), p
assert sum(p["l2l3_drops"].values()) == 0, p["l2l3_drops"]
# A flow the tap moves to another queue is reordered once (the steered
# frames come later): frames behind by more than the replay window are
# refused as too old and their messages resent by the sender. Nothing
# else may be dropped.
wd = dict(e["totals"]["wire_drops"]); too_old = wd.pop("too_old")
assert sum(wd.values()) == 0, e["totals"]["wire_drops"]
assert e["totals"]["rx_msgs"] >= 2 * msgs, e["totals"]
print("ok: steering", p["steering"], "steered", p["steered"], "arp rx/tx",
      p["arp_requests_rx"], p["arp_replies_tx"], "echoed", [w["echoed"] for w in s["workers"]],
      "too_old", too_old)
EOF
grep -h "layout: port" "$TMP/echo.log"
grep -h "done after" "$TMP/send.log"
echo PASS
