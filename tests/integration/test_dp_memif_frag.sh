#!/bin/bash
# Large messages over DPDK net_memif (--no-huge, no NIC): aegis-dpnode
# echo (memif server) and sender (client) processes, 1 MiB messages cut
# into fragments by the worker (lib/frag) and reassembled on each side.
# The sender must get every message back intact; prints MB/s and the mean
# time per echoed message.  usage: test_dp_memif_frag.sh aegis-dpnode [msgs] [window]
set -u
DPNODE=$1
MSGS=${2:-40}
WINDOW=${3:-2}
BYTES=1048576
TMP=$(mktemp -d /tmp/aegis-dp-memif-frag.XXXXXX)
SOCK=/tmp/aegis-dp-memif-frag-$$.sock
EAL="--no-huge -m 256 --no-pci --no-shconf"
ECHO_PID=
SEND_PID=

cleanup() {
	[ -n "$SEND_PID" ] && kill -KILL "$SEND_PID" 2>/dev/null
	[ -n "$ECHO_PID" ] && kill -KILL "$ECHO_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "/var/run/dpdk/aegf-e$$" "/var/run/dpdk/aegf-s$$"
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.log; do echo "--- $f"; tail -20 "$f"; done
	exit 1
}

"$DPNODE" $EAL --file-prefix=aegf-e$$ -l 0 \
	--vdev=net_memif0,role=server,socket=$SOCK -- \
	--node 2 --ip 10.78.0.2 --peer 1=10.78.0.1 --mode echo \
	--ready-file "$TMP/echo.ready" --stats-json "$TMP/echo.json" --duration 120 \
	2>"$TMP/echo.log" &
ECHO_PID=$!
for _ in $(seq 100); do
	[ -f "$TMP/echo.ready" ] && break
	kill -0 $ECHO_PID 2>/dev/null || break
	sleep 0.1
done
if [ ! -f "$TMP/echo.ready" ]; then
	wait $ECHO_PID
	grep -q "rte_eal_init" "$TMP/echo.log" && { echo "SKIP: EAL does not start"; exit 77; }
	fail "echo node did not get ready"
fi

"$DPNODE" $EAL --file-prefix=aegf-s$$ -l 1 \
	--vdev=net_memif0,role=client,socket=$SOCK -- \
	--node 1 --ip 10.78.0.1 --peer 2=10.78.0.2 --mode send --dst 2 \
	--msgs "$MSGS" --msg-bytes $BYTES --window "$WINDOW" \
	--stats-json "$TMP/send.json" --duration 100 2>"$TMP/send.log" &
SEND_PID=$!
wait $SEND_PID
rc=$?
SEND_PID=
[ $rc -eq 0 ] || fail "sender exited $rc"
kill -INT $ECHO_PID
wait $ECHO_PID
ECHO_PID=
python3 - "$TMP/send.json" "$TMP/echo.json" "$MSGS" $BYTES "$WINDOW" <<'PY' || fail "stats"
import json, sys
s = json.load(open(sys.argv[1])); e = json.load(open(sys.argv[2]))
msgs, size, window = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
assert s["ok"] is True and s["port"]["driver"] == "net_memif", s["ok"]
w = s["workers"][0]
assert w["echoed"] == msgs and w["bad"] == 0, w
f, ef = w["frag"], e["workers"][0]["frag"]
assert f["tx_done"] >= msgs and f["rx_msgs"] >= msgs, f
el = s["elapsed_s"]
print("memif 1 MiB x %d, window %d: %.3f s, %.1f MB/s echoed, %.2f ms per message;"
      " sender frags %d rtx %d rto %d failed %d; echo frags %d rtx %d failed %d"
      % (msgs, window, el, msgs * size / el / 1e6, el / msgs * 1e3, f["tx_frags"], f["tx_rtx"],
         f["tx_rto"], f["tx_failed"], ef["tx_frags"], ef["tx_rtx"], ef["tx_failed"]))
PY
echo ok
