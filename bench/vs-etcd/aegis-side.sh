# shellcheck shell=bash disable=SC2154  # run.sh defines build, root, work, cpus...
# bench/vs-etcd/aegis-side.sh: the Aegis half of run.sh (sourced; uses its
# $build, $root, $work, $cpus, $warmup, $smoke, measure, log, die).
#
# Modes (run.sh --aegis):
#   cluster   `tools/aegis-cluster start --build DIR` (it places nodes and
#             client on cores itself and prints the layout), then
#             `aegis-cluster env` prints KEY='VALUE' lines: AEGIS_NODES,
#             AEGIS_CLIENT_KEY (a file), AEGIS_CLIENT_EXEC (the client
#             namespace and cores: aegis-bench runs under it), AEGIS_PIDS (the
#             nodes, for their CPU), AEGIS_CLUSTER_DIR (for its disk);
#             `aegis-cluster stop` at the end of each case.
#   external  the same variables already in the environment: a cluster
#             someone else started (nothing started or stopped here).
#   node      bench/node's aegis-bench-node: starts 3 aegisd on loopback UDP
#             itself and measures durable writes (closed loop only): the
#             write cases, until aegis-bench and aegis-cluster land.
# aegis-bench's flags used: --nodes --client-key --threads --outstanding
# (per thread) [--rate OPS] --keys --dist --key-bytes --value-bytes --reads
# --consistency (writes) | --read-consistency --duration --warmup --json.

aegis_bench="" aegis_cluster="" aegis_bench_node="" aegis_started=0 aegis_layout_shown=0

aegis_pick_mode() {
	local c
	aegis_bench=${AEGIS_BENCH:-$(find "$build" -type f -perm -u+x -name aegis-bench 2>/dev/null | head -n 1)}
	for c in "${AEGIS_CLUSTER:-}" "$root/tools/aegis-cluster" "$root/tools/aegis-cluster.sh" "$build/tools/aegis-cluster"; do
		if [ -n "$c" ] && [ -x "$c" ]; then aegis_cluster=$c; break; fi
	done
	aegis_bench_node=${AEGIS_BENCH_NODE:-$build/bench/node/aegis-bench-node}
	[ -x "$aegis_bench_node" ] || aegis_bench_node=""
	if [ "$aegis_mode" = auto ]; then
		if [ -n "${AEGIS_NODES:-}" ] && [ -n "$aegis_bench" ]; then aegis_mode=external
		elif [ -n "$aegis_bench" ] && [ -n "$aegis_cluster" ]; then aegis_mode=cluster
		elif [ -n "$aegis_bench_node" ]; then aegis_mode=node
		else aegis_mode=none
		fi
	fi
	case "$aegis_mode" in
	cluster)
		if [ -z "$aegis_bench" ] || [ -z "$aegis_cluster" ]; then
			die "--aegis cluster: needs aegis-bench (in $build or AEGIS_BENCH) and tools/aegis-cluster (or AEGIS_CLUSTER)"
		fi ;;
	external)
		if [ -z "$aegis_bench" ] || [ -z "${AEGIS_NODES:-}" ] || [ -z "${AEGIS_CLIENT_KEY:-}" ]; then
			die "--aegis external: needs aegis-bench and AEGIS_NODES, AEGIS_CLIENT_KEY in the environment"
		fi ;;
	node) [ -n "$aegis_bench_node" ] || die "--aegis node: no $build/bench/node/aegis-bench-node" ;;
	esac
	return 0
}

aegis_desc() {
	case "$aegis_mode" in
	cluster) echo ": $aegis_bench against $aegis_cluster" ;;
	external) echo ": $aegis_bench against AEGIS_NODES=$AEGIS_NODES" ;;
	node) echo ": $aegis_bench_node, 3 aegisd on loopback kernel UDP, write cases only" ;;
	none) echo ": Aegis side not run" ;;
	esac
}

aegis_disk() {
	local d=${AEGIS_CLUSTER_DIR:-${AEGIS_DIR:-}}
	[ "$aegis_mode" = node ] && d=${AEGIS_BENCH_DIR:-/var/tmp}
	if [ -n "$d" ]; then df --output=source "$d" 2>/dev/null | tail -n 1; else echo unknown; fi
}

aegis_cpus() { # where the nodes run, for the JSON line's setup
	case "$aegis_mode" in
	cluster) echo "aegis-cluster layout (all $(nproc --all) cores)" ;;
	external) echo "unknown (external cluster)" ;;
	*) echo "$cpus" ;;
	esac
}

aegis_supports() { # CASE -> "ok" or why not
	case "$aegis_mode" in
	none) echo "not run (${aegis_why:-no aegis-bench + aegis-cluster, no aegis-bench-node})" ;;
	node) case "$1" in
		writes | writes-1k | writes-64k) echo ok ;;
		*) echo "not run (--aegis node: aegis-bench-node has closed-loop writes only)" ;;
		esac ;;
	*) echo ok ;;
	esac
}

aegis_up() {
	local line args
	[ "$aegis_mode" = cluster ] || return 0
	read -ra args <<<"${AEGIS_CLUSTER_ARGS:-}"
	[[ " ${args[*]} " == *" --build "* ]] || args=(--build "$build" "${args[@]}")
	if ! "$aegis_cluster" start "${args[@]}" >"$work/aegis-cluster.log" 2>&1; then
		tail -n 20 "$work/aegis-cluster.log" >&2
		"$aegis_cluster" stop >/dev/null 2>&1 || true
		log "aegis-cluster start failed (log: $work/aegis-cluster.log)"
		return 1
	fi
	aegis_started=1
	if [ "$aegis_layout_shown" -eq 0 ]; then
		aegis_layout_shown=1
		sed 's/^/run.sh:   /' "$work/aegis-cluster.log" >&2
	fi
	# Its values are single-quoted for eval.
	while IFS= read -r line; do
		[[ "$line" =~ ^AEGIS_[A-Z0-9_]+= ]] && eval "export $line"
	done < <("$aegis_cluster" env)
	if [ -z "${AEGIS_NODES:-}" ] || [ -z "${AEGIS_CLIENT_KEY:-}" ]; then
		log "aegis-cluster env printed no AEGIS_NODES / AEGIS_CLIENT_KEY"
		return 1
	fi
}

aegis_down() {
	[ "$aegis_started" -eq 1 ] || return 0
	aegis_started=0
	"$aegis_cluster" stop >>"$work/aegis-cluster.log" 2>&1 || log "aegis-cluster stop failed (log: $work/aegis-cluster.log)"
}

# aegis_run OUT INFLIGHT RATE OP CONSISTENCY KEY_BYTES VALUE_BYTES KEYS SECONDS
# Writes aegis-bench's output and JSON line to OUT.log, "CPU_S WALL_S" of the
# nodes (AEGIS_PIDS) to OUT.cpu when their pids are known. INFLIGHT is the
# total, as etcd-bench's --clients: split over AEGIS_THREADS threads; with a
# RATE it is the cap on requests in flight, as etcd-bench's clients are.
aegis_run() {
	local o=$1 n=$2 rate=$3 op=$4 cons=$5 kb=$6 vb=$7 keys=$8 secs=$9 threads load exec pin=()
	: >"$o.log"
	rm -f "$o.cpu" "$o.json"
	if [ "$aegis_mode" = node ]; then
		aegis_run_node "$@"
		return
	fi
	case "$cons" in l) cons=quorum ;; s) cons=one ;; esac
	threads=${AEGIS_THREADS:-1}
	local per=$(((n + threads - 1) / threads)) wps
	load=(--threads "$threads" --outstanding "$per")
	# The client keeps at most 64 writes per shard in flight by default:
	# above 32 x shards in flight per thread, let each shard take twice its
	# share (uniform keys do not spread evenly), well inside the node's
	# session window (1024 results per client and shard).
	wps=$((2 * per / ${AEGIS_SHARDS:-16}))
	[ "$wps" -le 64 ] || load+=(--writes-per-shard $((wps < 512 ? wps : 512)))
	# Jumbo frames where the cluster has them (aegis-cluster env).
	[ -z "${AEGIS_DGRAM_BYTES:-}" ] || load+=(--dgram-bytes "$AEGIS_DGRAM_BYTES")
	[ "$rate" != 0 ] && load+=(--rate "$rate")
	if [ "$op" = range ]; then
		load+=(--reads 100 --read-consistency "$cons")
	else
		load+=(--reads 0 --consistency "$cons")
	fi
	# The cluster's client namespace and cores (aegis-cluster env), else ours.
	read -ra exec <<<"${AEGIS_CLIENT_EXEC:-}"
	[ "${#exec[@]}" -eq 0 ] && pin=(taskset -c "$cpus")
	# shellcheck disable=SC2086
	measure "$o.cpu" "${AEGIS_PIDS:-}" -- "${exec[@]}" "${pin[@]}" "$aegis_bench" \
		--nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" "${load[@]}" --keys "$keys" \
		--dist uniform --key-bytes "$kb" --value-bytes "$vb" --duration "$secs" --warmup "$warmup" \
		--json "$o.json" ${AEGIS_BENCH_ARGS:-} >"$o.log" 2> >(progress_sink "$o.progress") || {
		tail -n 5 "$o.progress" "$o.log" >&2
		return 1
	}
	[ -f "$o.json" ] && cat "$o.json" >>"$o.log"
	return 0
}

# The key space written once (roughly: uniform writes for a few seconds) so
# that reads find values, as etcd-bench --preload-only does for etcd.
aegis_preload() { # KEYS VALUE_BYTES
	local secs=5
	[ "$smoke" -eq 1 ] && secs=2
	[ "$aegis_mode" = node ] && return 0
	progress=0 aegis_run "$work/aegis-preload" 64 0 put quorum 16 "$2" "$1" "$secs" || log "aegis preload failed"
}

aegis_run_node() {
	local o=$1 n=$2 rate=$3 op=$4 kb=$6 vb=$7 keys=$8 secs=$9 pct
	if [ "$rate" != 0 ] || [ "$op" != put ]; then
		log "aegis-bench-node: closed-loop writes only"
		return 1
	fi
	# It starts (and stops) its own 3 nodes and reports their CPU itself.
	AEGIS_BENCH_DIR=${AEGIS_BENCH_DIR:-/var/tmp} taskset -c "$cpus" "$aegis_bench_node" --groups 0 \
		--seconds "$secs" --warmup "$warmup" --outstanding "$n" --key-bytes "$kb" \
		--value-bytes "$vb" --keys "$keys" >"$o.log" 2>"$o.progress" || {
		tail -n 5 "$o.progress" "$o.log" >&2
		return 1
	}
	pct=$(python3 "$here/compare.py" get "$o.log" node_cpu_pct_mean 2>/dev/null) || return 0
	awk -v p="$pct" -v s="$secs" 'BEGIN { printf "%.3f %.3f\n", 3 * p / 100 * s, s }' >"$o.cpu"
}
