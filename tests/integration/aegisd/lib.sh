# tests/integration/aegisd/lib.sh — sourced by the aegisd integration
# tests: a 3-node cluster of real aegisd processes on this machine, each
# with its own data dir, config file and admin socket, keys in files, and
# helpers to wait for leaders, write and read through aegis-cli, kill and
# restart nodes. Every process runs under `timeout -k` so nothing outlives
# a killed test; the EXIT trap stops them all.
#
#   AG_BUILD   the meson build dir (first argument of the test)
#   AG_TMP     run dir: n<i>/ data, n<i>.toml, n<i>.log, keys
#
# Hooks for other topologies (the DPDK test, test_aegisd_dpdk.sh): node i's
# address comes from AG_NODE_IP[i] (default AG_IP), its config's transport
# from AG_TRANSPORT, its command line is prefixed by `ag_prefix i` (e.g.
# nsenter into its network namespace) and aegis-cli's by AG_CLI_PREFIX;
# AG_START_SECS bounds a start, AG_CLI_TIMEOUT_MS one client attempt.

set -u
# The system's python3: a pyenv shim first on the PATH costs seconds a call.
export PATH="/usr/bin:/bin:$PATH"

AG_BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
AG_TMP=$(mktemp -d "/tmp/aegisd-it-$$-XXXXXX")
AG_NODES=${AG_NODES:-3}
AG_SHARDS=${AG_SHARDS:-8}
AG_WORKERS=${AG_WORKERS:-1}
AG_PORT0=$((20000 + ($$ % 400) * 100))   # node i: AG_PORT0 + 10 i
AG_IP=${AG_IP:-127.0.0.1}
AG_TRANSPORT=${AG_TRANSPORT:-udp}
AG_ELECTION_MIN=${AG_ELECTION_MIN:-150} # [raft], ms
AG_ELECTION_MAX=${AG_ELECTION_MAX:-300}
AG_HEARTBEAT=${AG_HEARTBEAT:-50}
AG_RAFT_EXTRA=${AG_RAFT_EXTRA:-}        # more [raft] lines
AG_START_SECS=${AG_START_SECS:-10}
AG_CLI_TIMEOUT_MS=${AG_CLI_TIMEOUT_MS:-500}
AG_CLI_PREFIX=${AG_CLI_PREFIX:-}
declare -A AG_PID=()
declare -A AG_NODE_IP=()
AG_FAILED=0
# AG_SET: "section.key=value ..." passed to every aegisd as --set.

ag_log() { echo "[$(date +%T.%N | cut -c1-12)] $*" >&2; }

ag_dump_logs() {
	local f
	for f in "$AG_TMP"/*.log; do
		[ -e "$f" ] || continue
		echo "---- $(basename "$f") (last 30 lines)" >&2
		tail -n 30 "$f" >&2
	done
}

ag_fail() {
	echo "FAIL: $*" >&2
	AG_FAILED=1
	ag_dump_logs
	exit 1
}

ag_kill_all() {
	local n
	for n in "${!AG_PID[@]}"; do
		pkill -KILL -P "${AG_PID[$n]}" 2>/dev/null
		kill -KILL "${AG_PID[$n]}" 2>/dev/null
	done
	wait 2>/dev/null
}

ag_cleanup() {
	ag_kill_all
	if [ "$AG_FAILED" = 0 ] && [ -z "${AG_KEEP:-}" ]; then
		rm -rf "$AG_TMP"
	else
		echo "run dir kept: $AG_TMP" >&2
	fi
}
trap ag_cleanup EXIT

ag_keys() {
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$AG_TMP/cluster.key"
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$AG_TMP/client.key"
	chmod 600 "$AG_TMP/cluster.key" "$AG_TMP/client.key"
}

ag_port() { echo $((AG_PORT0 + 10 * $1)); }
ag_ip() { echo "${AG_NODE_IP[$1]:-$AG_IP}"; }
# ag_prefix I: words put before node I's command (none here).
ag_prefix() { :; }

# ag_config I [extra toml lines...]: writes n<I>.toml
ag_config() {
	local i=$1 j peers=""
	shift
	for j in $(seq 1 "$AG_NODES"); do
		[ "$j" = "$i" ] && continue
		peers="$peers${peers:+, }\"$j=$(ag_ip "$j"):$(ag_port "$j")\""
	done
	mkdir -p "$AG_TMP/n$i"
	cat >"$AG_TMP/n$i.toml" <<EOF
[replication]
replication_factor = 3
consistency_level = "quorum"
[raft]
election_timeout_min = $AG_ELECTION_MIN
election_timeout_max = $AG_ELECTION_MAX
heartbeat_interval = $AG_HEARTBEAT
$AG_RAFT_EXTRA
[sharding]
strategy = "${AG_STRATEGY:-hash}"
shard_count = $AG_SHARDS
${AG_SHARDING_EXTRA:-}
auto_rebalance = false
[node]
id = $i
address = "$(ag_ip "$i"):$(ag_port "$i")"
peers = [$peers]
data_dir = "$AG_TMP/n$i"
workers = $AG_WORKERS
transport = "$AG_TRANSPORT"
cluster_key_file = "$AG_TMP/cluster.key"
client_key_file = "$AG_TMP/client.key"
EOF
	local line
	for line in "$@"; do
		echo "$line" >>"$AG_TMP/n$i.toml"
	done
}

# ag_start I: starts node I (appends to its log), waits for its ready file.
ag_start() {
	local i=$1
	rm -f "$AG_TMP/n$i.ready"
	local sets=() kv
	for kv in ${AG_SET:-}; do sets+=(--set "$kv"); done
	# shellcheck disable=SC2046 # the prefix is words
	timeout -k 5 600 $(ag_prefix "$i") "$AG_BUILD/control/aegisd" --config "$AG_TMP/n$i.toml" "${sets[@]}" \
		--ready-file "$AG_TMP/n$i.ready" >>"$AG_TMP/n$i.log" 2>&1 &
	AG_PID[$i]=$!
	local t
	for t in $(seq 1 $((AG_START_SECS * 20))); do
		[ -s "$AG_TMP/n$i.ready" ] && return 0
		kill -0 "${AG_PID[$i]}" 2>/dev/null || ag_fail "node $i exited at start"
		sleep 0.05
	done
	ag_fail "node $i not ready after $AG_START_SECS s"
}

ag_kill9() {
	pkill -KILL -P "${AG_PID[$1]}" 2>/dev/null  # aegisd under its timeout wrapper
	kill -KILL "${AG_PID[$1]}" 2>/dev/null
	wait "${AG_PID[$1]}" 2>/dev/null
	unset "AG_PID[$1]"
}

# ag_stop I: SIGTERM, expects exit 0 within 10 s.
ag_stop() {
	local i=$1 rc
	kill -TERM "${AG_PID[$i]}"
	wait "${AG_PID[$i]}"
	rc=$?
	unset "AG_PID[$i]"
	[ "$rc" = 0 ] || ag_fail "node $i exited $rc after SIGTERM"
}

ag_nodes_arg() {
	local j s=""
	for j in $(seq 1 "$AG_NODES"); do
		s="$s${s:+,}$j=$(ag_ip "$j"):$(ag_port "$j")"
	done
	echo "$s"
}

# ag_cli ARGS...: aegis-cli against the whole cluster.
ag_cli() {
	# shellcheck disable=SC2086 # the prefix is words
	$AG_CLI_PREFIX "$AG_BUILD/tools/aegis-cli" --nodes "${AG_CLI_NODES:-$(ag_nodes_arg)}" --key-file "$AG_TMP/client.key" \
		--timeout-ms "$AG_CLI_TIMEOUT_MS" "$@"
}

ag_ctl() { "$AG_BUILD/tools/aegisctl" --socket "$AG_TMP/n$1/aegisd.sock" "${@:2}"; }

# ag_leaders: number of shards that have a leader among the running nodes.
ag_leaders() {
	local i n=0 c
	for i in "${!AG_PID[@]}"; do
		c=$(ag_ctl "$i" status --json 2>/dev/null | python3 -c '
import json,sys
d=json.load(sys.stdin)
print(sum(1 for s in d["shards"] if s["role"]=="leader"))' 2>/dev/null) || c=0
		n=$((n + c))
	done
	echo "$n"
}

# ag_wait_leaders [SECS]: every shard has a leader.
ag_wait_leaders() {
	local t=$((${1:-20} * 10)) k
	for k in $(seq 1 "$t"); do
		[ "$(ag_leaders)" -ge "$AG_SHARDS" ] && return 0
		sleep 0.1
	done
	ag_fail "only $(ag_leaders) of $AG_SHARDS shards have a leader after ${1:-20} s"
}

# ag_caught_up I SECS: node I has applied, in every shard, at least what
# the shard's leader had committed at the start of the wait.
ag_caught_up() {
	local i=$1 secs=$2 j
	for j in "${!AG_PID[@]}"; do
		ag_ctl "$j" status --json >"$AG_TMP/st-$j.json" 2>/dev/null || true
	done
	local k
	for k in $(seq 1 $((secs * 10))); do
		ag_ctl "$i" status --json >"$AG_TMP/st-self.json" 2>/dev/null || { sleep 0.1; continue; }
		if python3 - "$AG_TMP" "$i" <<'PY'
import json, sys, glob, os
d, me = sys.argv[1], int(sys.argv[2])
target = {}
for f in glob.glob(os.path.join(d, "st-[0-9]*.json")):
    try:
        st = json.load(open(f))
    except Exception:
        continue
    for s in st["shards"]:
        if s["role"] == "leader":
            target[s["shard"]] = s["commit"]
mine = {s["shard"]: s["applied"] for s in json.load(open(os.path.join(d, "st-self.json")))["shards"]}
sys.exit(0 if all(mine.get(k, -1) >= v for k, v in target.items()) else 1)
PY
		then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ag_status I EXPR: prints Python EXPR over node I's status (d, the
# status object; W, its workers; S, its shards). Fails the test when the
# node does not answer or EXPR raises.
ag_status() {
	local out
	out=$(ag_ctl "$1" status --json 2>&1 | python3 -c '
import json, sys
d = json.load(sys.stdin)
W, S = d["workers"], d["shards"]
print(eval(sys.argv[1]))' "$2" 2>&1) || ag_fail "status of node $1: '$2': $out"
	echo "$out"
}
