#!/usr/bin/env bash
# shellcheck disable=SC2015 # "test && test || fail": the middle part is always a test
# tools/aegis-cluster end to end (issue [F], cluster in a box), on its
# default transport: start -> writes and reads through aegis-cli from the
# client namespace -> kill -9 a node, restart it -> kill -9 every node (and
# leave a process in the client namespace) -> stop cleans everything up ->
# start again with a fresh run dir (kernel UDP, jumbo frames: 3000-byte
# values written and verified) -> stop leaves no namespace, process,
# DPDK run dir or socket behind; a stop with nothing running exits 0.
#
# Names: prefix agt<pid> (namespaces agt<pid>-*, DPDK prefixes), run dirs
# /var/tmp/agt<pid>-*: nothing another test uses. Root only (namespaces):
# others skip with 77. On any exit the cluster is stopped and leftovers fail.
# Usage: test_aegis_cluster.sh SCRIPT BUILD_DIR
set -u

CLUSTER=${1:?usage: $0 tools/aegis-cluster BUILD_DIR}
BUILD=$(cd "${2:?usage: $0 tools/aegis-cluster BUILD_DIR}" && pwd)
P="agt$$"
D1=/var/tmp/$P-a
D2=/var/tmp/$P-b
# shellcheck source=cluster/lib.sh
. "$(dirname "$0")/cluster/lib.sh"
fail() { fail_logs "$*" "$D1"/*.log "$D2"/*.log; }

ac() { "$CLUSTER" "$@"; }

# gone PID: the process is dead or a zombie within 5 s (a killed aegisd
# may take a moment to exit: its io_uring is torn down with the process).
gone() {
	local k
	for k in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# Every node's shard table (role, leader, term) on stderr.
shards() {
	local i
	for i in 1 2 3; do
		echo "---- node $i shards" >&2
		"$BUILD/tools/aegisctl" --socket "$1/n$i/aegisd.sock" --timeout 2 shards >&2 2>&1 || true
	done
}

# Processes, namespaces, DPDK dirs of this test still there (zombies are
# dead: init reaps them when it gets to it).
leftovers() {
	local pid left=""
	for pid in $(pgrep -f -- "/var/tmp/$P-|$P-"); do
		[ "$pid" = $$ ] && continue
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
		grep -qF "test_aegis_cluster" "/proc/$pid/cmdline" 2>/dev/null && continue
		[ -e "/proc/$pid" ] && left+=" process:$pid($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-80))"
	done
	left+=$(ip netns list 2>/dev/null | awk -v p="$P-" 'index($1, p) == 1 {printf " netns:%s", $1}')
	compgen -G "/var/run/dpdk/$P-*" >/dev/null && left+=" dpdk:/var/run/dpdk/$P-*"
	compgen -G "/var/tmp/$P-*/n*/aegisd.sock" >/dev/null && left+=" admin sockets"
	echo "$left"
}

on_exit() {
	local rc=$? left d
	trap - EXIT
	for d in "$D1" "$D2"; do
		[ -f "$d/cluster.env" ] && "$CLUSTER" --dir "$d" stop >/dev/null 2>&1
	done
	left=$(leftovers)
	if [ -n "$left" ]; then
		echo "FAIL: left behind:$left" >&2
		[ "$rc" = 0 ] && rc=1
	fi
	if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
		rm -rf "$D1" "$D2" "$D1.lock" "$D2.lock"
	else
		echo "run dirs kept: $D1 $D2" >&2
	fi
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cluster_require "$CLUSTER" "$BUILD"
for p in ip nsenter setsid taskset ethtool python3 pgrep; do
	command -v "$p" >/dev/null || skip "$p not found"
done
[ -x "$BUILD/tools/aegis-cluster-cores" ] || skip "no aegis-cluster-cores in $BUILD"

log "start (default transport $transport) in $D1"
ac --dir "$D1" start --build "$BUILD" --prefix "$P" --shards 8 --timeout 60 >"$D1.start.out" 2>&1 ||
	{ cat "$D1.start.out" >&2; rm -f "$D1.start.out"; fail "start"; }
grep -q "every shard has a leader" "$D1.start.out" || { cat "$D1.start.out" >&2; fail "no leader summary"; }
grep -q "node 3: main lcore on cpu" "$D1.start.out" || { cat "$D1.start.out" >&2; fail "no core layout"; }
rm -f "$D1.start.out"
ac --dir "$D1" status >/dev/null || fail "status after start: $(ac --dir "$D1" status 2>&1)"
eval "$(ac --dir "$D1" env)" || fail "env"
[ "$AEGIS_NODE_COUNT" = 3 ] && [ -S "$AEGIS_NODE_1_ADMIN" ] && [ -n "$AEGIS_NODE_3_PID" ] || fail "env: $(ac --dir "$D1" env)"
[ "$AEGIS_CLIENT_KEY" != "$AEGIS_CLUSTER_KEY" ] && ! cmp -s "$AEGIS_CLIENT_KEY" "$AEGIS_CLUSTER_KEY" || fail "one key for both"

log "writes and reads from the client namespace"
ac --dir "$D1" cli put hello world || fail "put"
[ "$(ac --dir "$D1" cli get hello)" = world ] || fail "get after put"
# The client really is in its namespace: its address is the client's.
$AEGIS_CLIENT_EXEC ip -4 addr show dev dp0 | grep -qF "$AEGIS_CLIENT_IP/" || fail "client namespace has no $AEGIS_CLIENT_IP"
ac --dir "$D1" cli --window 512 load --prefix k- --keys 1000 --value-bytes 100 || fail "load"
ac --dir "$D1" cli --consistency quorum verify --prefix k- --keys 1000 --value-bytes 100 || fail "verify"

log "kill -9 node 2, write on, restart it"
ac --dir "$D1" kill 2 || fail "kill 2"
# shellcheck disable=SC2153 # set by the eval of env
gone "$AEGIS_NODE_2_PID" || fail "node 2 (pid $AEGIS_NODE_2_PID) survived kill"
ac --dir "$D1" status >/dev/null && fail "status says all is well with node 2 down"
ac --dir "$D1" cli --timeout-ms 1000 put after-kill yes || fail "put with node 2 down"
ac --dir "$D1" restart 2 || fail "restart 2"
ac --dir "$D1" wait 30 || { shards "$D1"; fail "no leader for every shard after the restart"; }
ac --dir "$D1" status >&2 || fail "status after restart"
ac --dir "$D1" cli get after-kill >/dev/null || fail "get after the restart"

log "kill -9 of every node, a process left in the client namespace; stop cleans up"
ac --dir "$D1" exec sleep 300 &
sleeper=$!
ac --dir "$D1" kill all --signal KILL || fail "kill all"
for v in AEGIS_NODE_1_PID AEGIS_NODE_3_PID; do
	gone "${!v}" || fail "$v survived kill all"
done
ac --dir "$D1" stop || fail "stop after kill -9 of all"
wait "$sleeper" 2>/dev/null
left=$(leftovers)
[ -z "$left" ] || fail "after stop:$left"
ac --dir "$D1" stop || fail "a second stop (nothing running) did not exit 0"

log "start again, fresh run dir $D2, kernel UDP with jumbo frames"
ac --dir "$D2" start --build "$BUILD" --prefix "$P" --shards 8 --timeout 60 --transport udp >/dev/null ||
	fail "second start"
ac --dir "$D2" cli put again yes || fail "put on the second cluster"
[ "$(ac --dir "$D2" cli get again)" = yes ] || fail "get on the second cluster"
ac --dir "$D2" cli get hello && fail "the second cluster has the first one's data"
eval "$(ac --dir "$D2" env)" || fail "env of the second cluster"
[ "$AEGIS_DGRAM_BYTES" = 8972 ] || fail "udp cluster: AEGIS_DGRAM_BYTES $AEGIS_DGRAM_BYTES, not 8972"
$AEGIS_CLIENT_EXEC ip link show dev dp0 | grep -q " mtu 9000 " || fail "udp cluster: the client's link has no MTU 9000"
grep -q "frames up to 8972 B" "$D2/n1.log" || fail "node 1 does not use 8972-byte frames"
# 3000-byte values: a request, its replication and its reply are only whole
# in jumbo frames; every acknowledged write must read back.
BENCH_BIN=$(find "$BUILD" -type f -perm -u+x -name aegis-bench | head -n 1)
if [ -n "$BENCH_BIN" ]; then
	$AEGIS_CLIENT_EXEC "$BENCH_BIN" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" \
		--dgram-bytes "$AEGIS_DGRAM_BYTES" --outstanding 64 --duration 2 --warmup 0 --keys 500 \
		--value-bytes 3000 --record "$D2/rec.txt" --verify --quiet --json "$D2/bench.json" >"$D2/bench.out" 2>&1 ||
		{ cat "$D2/bench.out" >&2; fail "aegis-bench with jumbo frames"; }
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j["errors"] == 0 and j["ops"] > 100))' \
		"$D2/bench.json" || { cat "$D2/bench.out" >&2; fail "jumbo frames: errors or too few writes"; }
	log "jumbo frames: $(grep -o '"ops_per_s":[0-9.]*' "$D2/bench.json"), verified"
fi
ac --dir "$D2" stop || fail "final stop"
left=$(leftovers)
[ -z "$left" ] || fail "after the final stop:$left"
ip netns list | grep -q "^$P-" && fail "namespaces left: $(ip netns list)"
log "PASS"
