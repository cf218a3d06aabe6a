# tests/integration/dp/lib.sh — sourced by the dp_*.sh integration tests:
# network namespaces, veths and a bridge, aegis-dpnode processes, and a
# cleanup that runs on every way out (EXIT, INT, TERM), then checks that
# nothing is left behind. Only root can make namespaces: others skip (77).
#
# Names carry the test's PID so parallel runs do not collide:
#   namespaces  aegdp<pid>-sw (the "switch": bridge br0) and aegdp<pid>-n<i>
#   veths       dp0 inside node namespace i, p<i> in the switch (names are
#               per namespace, so every run can use the same short names)
#   DPDK        --file-prefix aegdp<pid>-<name> (/var/run/dpdk/<prefix>)
# Commands run in a namespace through `nsenter --net=/run/netns/NAME`, not
# `ip netns exec` or `ip -n`: those also make / a slave mount, which fails in a
# chroot whose / is not a mount point (a newcomer's fresh bookworm chroot).
# Every process runs under `timeout -k` so that none outlives a test that
# was SIGKILLed, and a run first removes what a dead earlier run left.

set -u
# The system's python3: a pyenv shim first on the PATH costs seconds a call.
export PATH="/usr/bin:/bin:$PATH"

DP_ID="aegdp$$"
DP_TMP=$(mktemp -d "/tmp/$DP_ID-XXXXXX")
DP_NETNS=()          # namespaces to delete, in creation order
declare -A DP_PID=() # process name -> PID (of its timeout wrapper)
DP_SUBNET=10.77.0    # node i has $DP_SUBNET.i
DP_FAILED=0

dp_log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }

dp_dump_logs() {
	local f
	for f in "$DP_TMP"/*.log "$DP_TMP"/*.json; do
		[ -e "$f" ] || continue
		echo "---- $(basename "$f") (last 40 lines)" >&2
		tail -n 40 "$f" >&2
	done
}

# Prints the logs of every process (last lines) and exits 1.
dp_fail() {
	echo "FAIL: $*" >&2
	DP_FAILED=1
	dp_dump_logs
	exit 1
}

dp_skip() { echo "SKIP: $*"; exit 77; }

# ---- cleanup ---------------------------------------------------------------

# Microseconds on the wall clock: deadlines hold however slowly a loaded
# machine runs the loops that wait for them.
dp_now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
dp_deadline() { echo $(($(dp_now_us) + $1 * 1000000)); } # whole SECS from now

# dp_wait_gone PID SECS: 0 once PID has exited, 1 if it still runs after SECS.
dp_wait_gone() {
	local end
	end=$(dp_deadline "$2")
	while kill -0 "$1" 2>/dev/null; do
		[ "$(dp_now_us)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# Sends sig to one recorded process, waits up to secs for it, then KILLs it.
dp_kill_one() {
	local name=$1 sig=$2 secs=$3 pid=${DP_PID[$1]:-}
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill "-$sig" "$pid" 2>/dev/null
	if ! dp_wait_gone "$pid" "$secs"; then
		dp_log "$name (pid $pid) ignored SIG$sig for ${secs}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		# timeout's child is in timeout's process group; take it too.
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	return 0
}

# Every recorded process still running gets SIGTERM (timeout passes it on),
# then SIGKILL for it and its group after TENTHS tenths of a second.
dp_kill_all() {
	local name pid alive end=$(($(dp_now_us) + $1 * 100000))
	for name in "${!DP_PID[@]}"; do
		kill -TERM "${DP_PID[$name]}" 2>/dev/null
	done
	while :; do
		alive=""
		for name in "${!DP_PID[@]}"; do
			kill -0 "${DP_PID[$name]}" 2>/dev/null && alive+=" $name"
		done
		[ -n "$alive" ] && [ "$(dp_now_us)" -lt "$end" ] || break
		sleep 0.1
	done
	for name in $alive; do
		pid=${DP_PID[$name]}
		[ "$1" -ge 30 ] && dp_stacks "$name" # no time for it after a signal
		dp_log "$name (pid $pid) still running: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
		kill -KILL -- "-$pid" 2>/dev/null # timeout's child is in timeout's group
	done
}

dp_cleanup() {
	local rc=$? name ns pid left="" t0
	trap - EXIT INT TERM
	set +e
	t0=$(dp_now_us)
	# After a signal (a meson timeout kills the whole group 0.5 s later)
	# there is no time for polite stops.
	if [ "$rc" -eq 130 ] || [ "$rc" -eq 143 ]; then
		dp_kill_all 3
	else
		dp_kill_all 30
	fi
	wait 2>/dev/null
	for ((i = ${#DP_NETNS[@]} - 1; i >= 0; i--)); do
		ip netns del "${DP_NETNS[$i]}" 2>/dev/null
	done
	rm -rf /var/run/dpdk/"$DP_ID"-* 2>/dev/null
	# Leftovers are a failure of the test itself.
	for name in "${!DP_PID[@]}"; do
		kill -0 "${DP_PID[$name]}" 2>/dev/null && left+=" process:$name(${DP_PID[$name]})"
	done
	# Anything else that names this run (namespace, file prefix, stats path).
	for pid in $(pgrep -f -- "$DP_ID-"); do
		# A zombie is dead (killed above), only not yet reaped by init.
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
		left+=" process:$pid($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-60))"
	done
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$DP_ID-"); do
		left+=" netns:$ns"
	done
	compgen -G "/var/run/dpdk/$DP_ID-*" >/dev/null && left+=" /var/run/dpdk/$DP_ID-*"
	if [ -n "$left" ]; then
		echo "FAIL: left behind:$left" >&2
		[ "$rc" -eq 0 ] && rc=1
	fi
	[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ "$DP_FAILED" -eq 0 ] && dp_dump_logs
	dp_log "cleanup took $((($(dp_now_us) - t0) / 1000)) ms (exit $rc)"
	rm -rf "$DP_TMP"
	exit "$rc"
}

trap dp_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Namespaces and DPDK runtime dirs of earlier runs whose shell is gone
# (a run killed with SIGKILL cannot clean up after itself).
dp_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^aegdp[0-9]+-'); do
		pid=${ns#aegdp}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null && continue
		dp_log "removing stale namespace $ns"
		ip netns del "$ns" 2>/dev/null
	done
	for ns in /var/run/dpdk/aegdp[0-9]*-*; do
		[ -e "$ns" ] || continue
		pid=${ns#/var/run/dpdk/aegdp}
		pid=${pid%%-*}
		kill -0 "$pid" 2>/dev/null || rm -rf "$ns"
	done
}

# Skips unless root with working namespaces, veths and the named programs.
dp_require() {
	[ "$(id -u)" -eq 0 ] || dp_skip "needs root (network namespaces)"
	local p
	for p in ip nsenter timeout python3 "$@"; do
		command -v "$p" >/dev/null || dp_skip "$p not found"
	done
	dp_reap_stale
	dp_netns_add probe || dp_skip "cannot create a network namespace"
}

# ---- topology --------------------------------------------------------------

# Creates namespace $DP_ID-<name> with lo up and IPv6 off (no router
# solicitations or DAD frames on the links: counts stay exact).
dp_netns_add() {
	local ns="$DP_ID-$1"
	ip netns add "$ns" || return 1
	DP_NETNS+=("$ns")
	nsenter --net=/run/netns/"$ns" -- ip link set lo up || return 1
	nsenter --net=/run/netns/"$ns" -- sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

dp_ns() { echo "$DP_ID-$1"; }
dp_ip() { echo "$DP_SUBNET.$1"; }
dp_mac() { printf '02:ae:00:00:00:%02x' "$1"; }

# A star of n node namespaces n1..nn around a switch namespace sw with a
# Linux bridge br0: node i has veth dp0 (MAC dp_mac i) whose peer p<i> is
# a bridge port. With "kernel-ip", dp0 also gets $DP_SUBNET.i/24 for
# kernel sockets; without it the kernel stays off IPv4 on dp0 (DPDK owns
# the link through AF_PACKET). Any pair of nodes is one hop apart, and a
# 4th namespace (an injector) is just one more star arm.
dp_star() {
	local n=$1 mode=${2:-} i sw
	sw=$(dp_ns sw)
	dp_netns_add sw || dp_fail "netns sw"
	nsenter --net=/run/netns/"$sw" -- ip link add br0 type bridge stp_state 0 || dp_fail "bridge"
	# Bridged frames must not meet netfilter (br_netfilter defaults on in
	# a new namespace and drops bad IPv4 checksums before they reach a node).
	nsenter --net=/run/netns/"$sw" -- sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-arptables=0 >/dev/null 2>&1
	nsenter --net=/run/netns/"$sw" -- ip link set br0 up || dp_fail "bridge up"
	for ((i = 1; i <= n; i++)); do
		dp_star_arm "$i" "$mode"
	done
}

dp_star_arm() {
	local i=$1 mode=${2:-} ns sw
	ns=$(dp_ns "n$i")
	sw=$(dp_ns sw)
	dp_netns_add "n$i" || dp_fail "netns n$i"
	ip link add dp0 netns "$ns" type veth peer name "p$i" netns "$sw" || dp_fail "veth $i"
	nsenter --net=/run/netns/"$ns" -- ip link set dp0 address "$(dp_mac "$i")" || dp_fail "mac $i"
	nsenter --net=/run/netns/"$sw" -- ip link set "p$i" master br0 || dp_fail "bridge port $i"
	nsenter --net=/run/netns/"$sw" -- ip link set "p$i" up || dp_fail "p$i up"
	if [ "$mode" = kernel-ip ]; then
		nsenter --net=/run/netns/"$ns" -- ip addr add "$(dp_ip "$i")/24" dev dp0 || dp_fail "addr $i"
	fi
	nsenter --net=/run/netns/"$ns" -- ip link set dp0 up || dp_fail "dp0 up in n$i"
}

# ---- processes -------------------------------------------------------------

# dp_start NAME NETNS SECS CMD...: runs CMD in namespace NETNS (empty: this
# one) in the background under `timeout -k 3 SECS`, output in
# $DP_TMP/NAME.log. The PID is in DP_PID[NAME].
dp_start() {
	local name=$1 ns=$2 secs=$3
	shift 3
	if [ -n "$ns" ]; then
		timeout -k 3 "$secs" nsenter --net=/run/netns/"$ns" -- "$@" >"$DP_TMP/$name.log" 2>&1 &
	else
		timeout -k 3 "$secs" "$@" >"$DP_TMP/$name.log" 2>&1 &
	fi
	DP_PID[$name]=$!
	dp_log "started $name (pid $!): $*"
}

# Waits until FILE exists; fails if process NAME exits first or SECS pass.
dp_wait_file() {
	local file=$1 name=$2 secs=$3 end
	end=$(dp_deadline "$3")
	while [ ! -e "$file" ]; do
		kill -0 "${DP_PID[$name]}" 2>/dev/null || dp_fail "$name exited before writing $file"
		[ "$(dp_now_us)" -lt "$end" ] || dp_fail "$name: no $file after ${secs}s"
		sleep 0.05
	done
}

# Where a process that does not stop is stuck: its process group (timeout,
# nsenter, the program) with states, and the program's threads (gdb).
dp_stacks() {
	local pgid=${DP_PID[$1]} pid
	echo "---- $1: process group $pgid" >&2
	ps -eo pid,ppid,pgid,stat,wchan:24,args | awk -v g="$pgid" 'NR == 1 || $3 == g' >&2
	grep -E '^(State|Sig|Shd)' "/proc/$pgid/status" >&2
	cat "/proc/$pgid/task/$pgid/children" "/proc/$pgid/stack" "/proc/$pgid/syscall" >&2 2>/dev/null
	command -v strace >/dev/null && timeout 2 strace -f -p "$pgid" 2>&1 | head -20 >&2
	command -v gdb >/dev/null || return 0
	for pid in $(pgrep -g "$pgid" aegis-dpnode); do
		echo "---- $1: threads of pid $pid" >&2
		timeout 20 gdb -p "$pid" -batch -nx -ex "thread apply all bt 12" 2>/dev/null |
			grep -E '^(Thread|#)' >&2
	done
}

# Waits up to SECS for process NAME to exit (then prints where it is stuck
# and kills it); its exit status in DP_RC.
dp_wait_exit() {
	local name=$1 secs=$2 pid=${DP_PID[$1]}
	if ! dp_wait_gone "$pid" "$secs"; then
		dp_log "$name still running after ${secs}s"
		dp_stacks "$name"
		dp_kill_one "$name" TERM 3
	fi
	wait "$pid"
	DP_RC=$?
	dp_log "$name exited with $DP_RC"
}

# Stops a node with SIGINT (it writes its stats and exits 0); status in DP_RC.
dp_stop() {
	local name=$1 pid=${DP_PID[$1]}
	kill -INT "$pid" 2>/dev/null
	dp_wait_exit "$name" "${2:-15}"
}

# Reads a stats JSON file with python3 (there wherever meson runs): a
# Python expression over d (the object), t (d["totals"]), p (d["port"]),
# W (d["workers"]), e (an optional JSON argument), total(dict) (the sum of
# its values) and reasons(counters, expected) (lines "name got want").
DP_JSON_PY='
import json, sys
d = json.load(open(sys.argv[1]))
e = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
def total(x):
    return sum(x.values())
def reasons(x, e):
    rows = ["%s %d %d" % (k, v, e.get(k, 0)) for k, v in x.items()]
    return "\n".join(rows + ["%s missing 0" % k for k in e if k not in x])
g = {"d": d, "t": d.get("totals", {}), "p": d.get("port", {}), "W": d.get("workers", []),
     "e": e, "total": total, "reasons": reasons, "json": json}
try:
    v = eval(sys.argv[2], g)
except Exception as ex:
    print("%s: %s" % (type(ex).__name__, ex))
    sys.exit(1)
print(v)
sys.exit(1 if v is None or v is False else 0)
'

# dp_json VAR FILE EXPR [JSON]: sets VAR to EXPR over the stats JSON in FILE
# (see DP_JSON_PY); an error, None or False fails the test.
dp_json() {
	local _dp_json_v
	_dp_json_v=$(python3 -c "$DP_JSON_PY" "$2" "$3" "${@:4}" 2>&1) ||
		dp_fail "$(basename "$2"): '$3' gave '$_dp_json_v'"
	printf -v "$1" "%s" "$_dp_json_v"
}

# dp_expect DESC ACTUAL OP EXPECTED: an integer comparison (OP: -eq -gt -ge ...).
dp_expect() {
	[ "$2" "$3" "$4" ] 2>/dev/null || dp_fail "$1: $2, want $3 $4"
	dp_log "ok: $1 = $2 ($3 $4)"
}

# ---- aegis-dpnode ------------------------------------------------------------

DP_KEY=3a1f0c77d2e94b6a85c03e11f7a9d2b4 # a cluster key only these tests use
# Time limits, in seconds, generous for a loaded 2-core machine (a DPDK
# start took 24 s there once; a quiet one needs 0.3 s): echo nodes stop by
# themselves after DP_ECHO_SECS, a send run gives up after DP_SEND_SECS
# (its --duration) and the test after DP_SEND_WAIT, and `timeout` ends any
# process after DP_PROC_SECS even if the test was SIGKILLed.
DP_ECHO_SECS=120
DP_SEND_SECS=30
DP_SEND_WAIT=75
DP_PROC_SECS=150
DP_CLUSTER=7
DP_PEERS=()

# dp_peers N [static]: DP_PEERS = the --peer options of nodes 1..N (with
# "static", each with @MAC, for --static-arp runs).
dp_peers() {
	local i mac=""
	DP_PEERS=()
	for ((i = 1; i <= $1; i++)); do
		[ "${2:-}" = static ] && mac="@$(dp_mac "$i")"
		DP_PEERS+=(--peer "$i=$(dp_ip "$i")$mac")
	done
}

# dp_node NAME NETNS SECS ARGS...: aegis-dpnode ($DPNODE) with the test key
# and cluster, its stats JSON at $DP_TMP/NAME.json and ready file at
# $DP_TMP/NAME.ready. ARGS are EAL args, "--", node options (or only node
# options with --port udp).
dp_node() {
	local name=$1 ns=$2 secs=$3
	shift 3
	rm -f "$DP_TMP/$name.json" "$DP_TMP/$name.ready"
	dp_start "$name" "$ns" "$secs" "$DPNODE" "$@" --key "$DP_KEY" --cluster "$DP_CLUSTER" \
		--stats-json "$DP_TMP/$name.json" --ready-file "$DP_TMP/$name.ready"
}

dp_wait_ready() { dp_wait_file "$DP_TMP/$1.ready" "$1" "${2:-40}"; }

# EAL arguments for a node named NAME on CPU list CPUS with vdev VDEV:
# no hugepages, no PCI scan, no files under /var/run/dpdk.
dp_eal() {
	echo "--no-huge -m 256 --no-pci --no-shconf --file-prefix=$DP_ID-$1 -l $2 --vdev=$3"
}

# One line per node for the log: what moved and how well it was batched.
dp_summary() {
	local f="$DP_TMP/$1.json"
	[ -e "$f" ] || { dp_log "$1: no stats JSON"; return 0; }
	local line
	dp_json line "$f" '"%s ok=%s rx %d pkts %d msgs, tx %d pkts %d msgs, rx msgs/pkt %.1f, \
resent %d, wire drops %d, l2/l3 drops %d, arp req tx %d rx %d" % (d["mode"], d["ok"],
		t["rx_pkts"], t["rx_msgs"], t["tx_pkts"], t["tx_msgs"], t["rx_msgs"] / max(t["rx_pkts"], 1),
		sum(w["resent"] for w in W), total(t["wire_drops"]), total(p.get("l2l3_drops", {})),
		p.get("arp_requests_tx", 0), p.get("arp_requests_rx", 0))'
	dp_log "$1: $line"
}

# A send run: exit 0, "ok", every message of every worker echoed intact.
dp_check_sender() {
	local name=$1 msgs=$2 v f="$DP_TMP/$1.json"
	dp_summary "$name"
	[ "$DP_RC" -eq 0 ] || dp_fail "$name exited with $DP_RC"
	[ -e "$f" ] || dp_fail "$name wrote no stats JSON"
	dp_json v "$f" 'd["ok"] is True and d["mode"] == "send"'
	dp_json v "$f" "all(w['echoed'] == $msgs and w['sent'] == $msgs and w['bad'] == 0 for w in W)"
	# An echo can come twice only for a message the sender resent (its
	# echo was late: a loaded machine); never more often than that.
	dp_json v "$f" 'sum(w["dup"] for w in W) - sum(w["resent"] for w in W)'
	dp_expect "$name duplicate echoes beyond its resends" "$v" -le 0
}

# Stops echo node NAME (SIGINT) and checks it: exit 0, each worker got at
# least MSGS messages, more than one per packet both ways, no wire or L2/L3
# drops.
dp_check_echo() {
	local name=$1 msgs=$2 v f="$DP_TMP/$1.json"
	dp_stop "$name"
	dp_summary "$name"
	[ "$DP_RC" -eq 0 ] || dp_fail "$name exited with $DP_RC"
	dp_json v "$f" 'min(w["rx_msgs"] for w in W)'
	dp_expect "$name messages received by each worker" "$v" -ge "$msgs"
	dp_check_clean "$name"
	dp_check_batched "$name"
}

# No frame dropped on NAME for a bad wire frame or a bad L2/L3 header.
dp_check_clean() {
	local name=$1 v f="$DP_TMP/$1.json"
	dp_json v "$f" 'total(t["wire_drops"])'
	dp_expect "$name wire drops" "$v" -eq 0
	dp_json v "$f" 'total(p.get("l2l3_drops", {}))'
	dp_expect "$name l2/l3 drops" "$v" -eq 0
}

# Nothing lost on NAME either: no frame the port refused, no empty pool,
# no port error, no message resent or refused by the worker.
dp_check_lossless() {
	local name=$1 v f="$DP_TMP/$1.json"
	dp_check_clean "$name"
	dp_json v "$f" 't["tx_dropped"] + t["tx_no_buf"] + t["port_errors"]'
	dp_expect "$name tx dropped + no buffer + port errors" "$v" -eq 0
	dp_json v "$f" 'sum(w["resent"] + w["send_fail"] + w["echo_fail"] for w in W)'
	dp_expect "$name resent + send/echo failures" "$v" -eq 0
}

# More than one message per packet on average, both ways.
dp_check_batched() {
	local name=$1 v f="$DP_TMP/$1.json"
	dp_json v "$f" 't["rx_msgs"] > t["rx_pkts"] and t["tx_msgs"] > t["tx_pkts"]'
	dp_log "ok: $name batches more than one message per packet"
}
