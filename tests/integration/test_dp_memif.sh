#!/bin/bash
# Two aegis-dpnode processes over net_memif (DPDK, --no-huge, no NIC):
# the echo node is the memif client and starts before any server exists
# (its port start fails and is retried from the slow path); then two
# sender processes in turn are the server, so the echo node also has to
# reconnect after its peer went away. Neighbours are resolved with ARP
# (no static entries). Each sender must get all its messages back intact
# (exit 0, "ok": true in its stats JSON); the echo node must exit 0 on
# SIGINT with its link restarted at least once. Everything started here
# is stopped by its PID on exit, pass or fail.
# usage: test_dp_memif.sh path/to/aegis-dpnode
set -u
DPNODE=$1
TMP=$(mktemp -d /tmp/aegis-dp-memif.XXXXXX)
SOCK=/tmp/aegis-dp-memif-$$.sock   # abstract socket: nothing on disk
EAL="--no-huge -m 256 --no-pci --no-shconf"
WORKERS=2
MSGS=20000
ECHO_PID=
SEND_PID=

cleanup() {
	[ -n "$SEND_PID" ] && kill -KILL "$SEND_PID" 2>/dev/null
	[ -n "$ECHO_PID" ] && kill -KILL "$ECHO_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "/var/run/dpdk/aegt-e$$" "/var/run/dpdk/aegt-s$$" # EAL run dirs (kept even with --no-shconf)
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.log; do echo "--- $f"; tail -20 "$f"; done
	exit 1
}

# The echo node: memif client on CPU 0, waiting for a server.
"$DPNODE" $EAL --file-prefix=aegt-e$$ -l 0 \
	--vdev=net_memif0,role=client,socket=$SOCK -- \
	--node 2 --ip 10.77.0.2 --peer 1=10.77.0.1 --workers $WORKERS --mode echo \
	--ready-file "$TMP/echo.ready" --stats-json "$TMP/echo.json" --duration 60 \
	2>"$TMP/echo.log" &
ECHO_PID=$!
for _ in $(seq 100); do
	[ -f "$TMP/echo.ready" ] && break
	kill -0 $ECHO_PID 2>/dev/null || break
	sleep 0.1
done
if [ ! -f "$TMP/echo.ready" ]; then
	wait $ECHO_PID
	rc=$?
	# No DPDK here (EAL cannot start): not this test's business.
	grep -q "rte_eal_init" "$TMP/echo.log" && { echo "SKIP: EAL does not start"; exit 77; }
	fail "echo node did not get ready (rc $rc)"
fi

for round in 1 2; do
	"$DPNODE" $EAL --file-prefix=aegt-s$$ -l 1 \
		--vdev=net_memif0,role=server,socket=$SOCK -- \
		--node 1 --ip 10.77.0.1 --peer 2=10.77.0.2 --workers $WORKERS --mode send \
		--dst 2 --msgs $MSGS --msg-bytes 100 --stats-json "$TMP/send$round.json" \
		--duration 20 2>"$TMP/send$round.log" &
	SEND_PID=$!
	wait $SEND_PID
	rc=$?
	SEND_PID=
	[ $rc -eq 0 ] || fail "sender round $round exited $rc"
	grep -h "reachable\|done after" "$TMP/send$round.log"
	python3 - "$TMP/send$round.json" $MSGS <<'EOF' || fail "sender round $round stats"
import json, sys
d = json.load(open(sys.argv[1])); msgs = int(sys.argv[2])
assert d["ok"] is True, d["ok"]
assert d["port"]["driver"] == "net_memif", d["port"]["driver"]
assert d["port"]["arp_replies_rx"] + d["port"]["arp_requests_rx"] >= 1, "no ARP seen"
for w in d["workers"]:
    assert w["echoed"] == msgs and w["bad"] == 0, w
    assert w["rx_msgs"] >= msgs, w
print("round ok:", [(w["worker"], w["echoed"], w["rx_pkts"]) for w in d["workers"]])
EOF
	kill -0 $ECHO_PID 2>/dev/null || fail "echo node died after round $round"
done

kill -INT $ECHO_PID
wait $ECHO_PID
rc=$?
ECHO_PID=
[ $rc -eq 0 ] || fail "echo node exited $rc"
python3 - "$TMP/echo.json" $((2 * WORKERS * MSGS)) <<'EOF' || fail "echo stats"
import json, sys
d = json.load(open(sys.argv[1])); total = int(sys.argv[2])
assert d["ok"] is True
assert d["totals"]["rx_msgs"] >= total, d["totals"]
assert d["port"]["link_restarts"] >= 1, d["port"]
assert sum(d["totals"]["wire_drops"].values()) == 0, d["totals"]["wire_drops"]
print("echo ok: rx_msgs", d["totals"]["rx_msgs"], "link_restarts", d["port"]["link_restarts"])
EOF
echo PASS
