# shellcheck shell=bash disable=SC2015
# tools/cluster/ops.sh, sourced by tools/aegis-cluster: status, env, cli,
# exec and the fault hooks (kill, restart, partition, heal, netem).
# The state, names and helpers it uses are in tools/aegis-cluster.

# ---- status, env, client -------------------------------------------------------

cmd_status() {
	local json=0 i pid up=0 line rc=0
	[ "${1:-}" = --json ] && json=1
	need_state
	line=$(leaders_line)
	local counts
	read -ra counts <<<"${line#* }"
	if [ "$json" = 1 ]; then
		printf '{"dir":"%s","transport":"%s","shards":%d,"shards_without_leader":%d,"nodes":[' \
			"$DIR" "$AC_TRANSPORT" "$AC_SHARDS" "${line%% *}"
		for ((i = 1; i <= AC_NODES; i++)); do
			pid=$(node_pid "$i") || pid=0
			printf '%s{"id":%d,"up":%s,"pid":%d,"leaders":%s,"address":"%s:%d"}' "$([ "$i" = 1 ] || echo ,)" \
				"$i" "$([ "$pid" != 0 ] && echo true || echo false)" "$pid" \
				"$([ "${counts[$((i - 1))]}" = - ] && echo null || echo "${counts[$((i - 1))]}")" \
				"$(node_ip "$i")" "$AC_PORT"
		done
		printf '],"faults":"%s"}\n' "$(faults_text | tr '\n' ';')"
	else
		echo "cluster in $DIR: $AC_NODES nodes, transport $AC_TRANSPORT, $AC_SHARDS shards"
		for ((i = 1; i <= AC_NODES; i++)); do
			if pid=$(node_pid "$i"); then
				up=$((up + 1))
				printf '  node %-3d up    pid %-8d %s:%d  leader of %s shard(s)\n' "$i" "$pid" \
					"$(node_ip "$i")" "$AC_PORT" "${counts[$((i - 1))]}"
			else
				printf '  node %-3d DOWN  %s:%d\n' "$i" "$(node_ip "$i")" "$AC_PORT"
			fi
		done
		echo "  shards without a leader: ${line%% *} of $AC_SHARDS"
		faults_text | sed 's/^/  fault: /'
	fi
	[ "${line%% *}" = 0 ] || rc=1
	for ((i = 1; i <= AC_NODES; i++)); do node_pid "$i" >/dev/null || rc=1; done
	return "$rc"
}

# wait [SECS]: until every shard has a leader among the running nodes
# (default 30 s); prints how long it took.
cmd_wait() {
	local secs=${1:-30} t0
	[[ "$secs" =~ ^[0-9]+$ ]] && [ $# -le 1 ] || usage_error "wait [SECS]"
	need_state
	t0=$(now_us)
	wait_leaders $((t0 + secs * 1000000))
	log "every shard has a leader ($(tenths $(($(now_us) - t0))) s; leaders per node: $(leaders_line | cut -d' ' -f2-))"
}

cmd_env() {
	local i pid pid_list=""
	need_state
	# Single-quoted values: eval-safe and still readable.
	kv() { printf "%s='%s'\n" "$1" "${2//\'/\'\\\'\'}"; }
	kv AEGIS_CLUSTER_DIR "$DIR"
	kv AEGIS_NODES "$(nodes_arg)"
	kv AEGIS_NODE_COUNT "$AC_NODES"
	kv AEGIS_CLIENT_KEY "$DIR/client.key"
	kv AEGIS_CLUSTER_KEY "$DIR/cluster.key"
	kv AEGIS_CLIENT_EXEC "$(client_exec)"
	kv AEGIS_CLIENT_NS "$(ns cli)"
	kv AEGIS_CLIENT_IP "$(client_ip)"
	kv AEGIS_CLIENT_CPUS "$AC_CLIENT_CPUS"
	kv AEGIS_TRANSPORT "$AC_TRANSPORT"
	kv AEGIS_SHARDS "$AC_SHARDS"
	kv AEGIS_DGRAM_BYTES "$((${AC_MTU:-1500} - 28))"
	kv AEGIS_BUILD "$AC_BUILD"
	kv AEGIS_BRIDGE_NS "$(ns br)"
	for ((i = 1; i <= AC_NODES; i++)); do
		pid=$(node_pid "$i") || pid=""
		pid_list+="${pid_list:+ }${pid:-0}"
		kv "AEGIS_NODE_${i}_PID" "$pid"
		kv "AEGIS_NODE_${i}_ADMIN" "$(admin_sock "$i")"
		kv "AEGIS_NODE_${i}_NS" "$(ns "n$i")"
		kv "AEGIS_NODE_${i}_ADDR" "$(node_ip "$i"):$AC_PORT"
		kv "AEGIS_NODE_${i}_LOG" "$DIR/n$i.log"
		kv "AEGIS_NODE_${i}_DATA" "$DIR/n$i"
	done
	kv AEGIS_PIDS "$pid_list"
}

env_export() {
	local line
	while IFS= read -r line; do eval "export $line"; done < <(cmd_env)
}

cmd_cli() {
	need_state
	# shellcheck disable=SC2046
	exec $(client_exec) "$AC_BUILD/tools/aegis-cli" --nodes "$(nodes_arg)" --key-file "$DIR/client.key" "$@"
}

cmd_exec() {
	[ $# -gt 0 ] || usage_error "exec CMD..."
	need_state
	env_export
	# shellcheck disable=SC2046
	exec $(client_exec) "$@"
}

# ---- faults --------------------------------------------------------------------

# node_list ARG: "all" or a node number -> node numbers.
node_list() {
	if [ "$1" = all ]; then
		seq 1 "$AC_NODES"
	elif [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$AC_NODES" ]; then
		echo "$1"
	else
		usage_error "NODE: 1..$AC_NODES or all"
	fi
}

cmd_kill() {
	local sig=KILL target=${1:-} i pid
	[ -n "$target" ] || usage_error "kill NODE|all [--signal SIG]"
	shift
	[ "${1:-}" = --signal ] && { sig=${2:?--signal SIG}; shift 2; }
	[ $# -eq 0 ] || usage_error "kill NODE|all [--signal SIG]"
	require_root
	need_state
	local list
	list=$(node_list "$target")
	for i in $list; do
		if pid=$(node_pid "$i"); then
			kill -s "${sig#SIG}" "$pid" || die "kill -$sig node $i (pid $pid)"
			log "node $i (pid $pid): SIG${sig#SIG}"
		else
			log "node $i is not running"
		fi
	done
	# A KILL is done when the process is gone (the test that follows may
	# count on it); other signals are the node's business.
	if [ "${sig#SIG}" = KILL ] || [ "$sig" = 9 ]; then
		local end=$(($(now_us) + 5000000))
		for i in $list; do
			while node_pid "$i" >/dev/null && [ "$(now_us)" -lt "$end" ]; do sleep 0.05; done
		done
	fi
}

cmd_restart() {
	local target=${1:-} i secs=60
	[ -n "$target" ] && [ $# -eq 1 ] || usage_error "restart NODE|all"
	require_root
	need_state
	local list
	list=$(node_list "$target")
	for i in $list; do
		node_pid "$i" >/dev/null && die "node $i is running (kill it first)"
	done
	for i in $list; do node_start "$i"; done
	# shellcheck disable=SC2086 # node numbers
	wait_ready $(($(now_us) + secs * 1000000)) $list
	for i in $list; do log "node $i restarted (pid $(cat "$DIR/n$i.pid"))"; done
}

# The faults in force are in RUNDIR/faults, one per line: "in I" (frames
# to node I are dropped), "out I" (frames from node I are dropped), and
# "netem ARGS". The bridge's nft table (bridge family, forward hook) or,
# under netem without a kernel netem, the relay (aegis-cluster-netem) act on
# it; both are rebuilt from the file after each change.
FAULTS_TABLE=aegis_faults

faults_text() {
	local f="$DIR/faults" kind i
	[ -s "$f" ] || return 0
	while read -r kind i; do
		case "$kind" in
		in) echo "frames to node $i dropped" ;;
		out) echo "frames from node $i dropped" ;;
		netem)
			local impl pid
			impl=$(cat "$DIR/netem.impl" 2>/dev/null || echo ?)
			pid=$(cat "$DIR/netem.pid" 2>/dev/null || true)
			if [ "$impl" = relay ] && [ -z "$(alive "$pid")" ]; then
				echo "netem $i: the relay is NOT running, the links are cut ('$PROG netem off')"
			else
				echo "netem $i ($impl)"
			fi
			;;
		esac
	done <"$f"
}

# Applies RUNDIR/faults' drop rules to the bridge (nft) and to the relay.
faults_apply() {
	local kind i rules=""
	while read -r kind i; do
		case "$kind" in
		in) rules+="add rule bridge $FAULTS_TABLE faults oifname \"p$i\" drop"$'\n' ;;
		out) rules+="add rule bridge $FAULTS_TABLE faults iifname \"p$i\" drop"$'\n' ;;
		esac
	done < <(cat "$DIR/faults" 2>/dev/null)
	if command -v nft >/dev/null; then
		in_ns br nft -f - <<NFT || die "nft rules failed"
table bridge $FAULTS_TABLE
delete table bridge $FAULTS_TABLE
table bridge $FAULTS_TABLE {
	chain faults { type filter hook forward priority 0; policy accept; }
}
$rules
NFT
	elif [ -n "$rules" ]; then
		die "partitions need nft (apt-get install nftables; tools/setup.sh installs it)"
	fi
	local pid
	pid=$(cat "$DIR/netem.pid" 2>/dev/null) && kill -HUP "$pid" 2>/dev/null || true
}

cmd_partition() {
	local i=${1:-} dirs="in out"
	[ -n "$i" ] || usage_error "partition NODE [--in|--out]"
	case "${2:-}" in
	--in) dirs=in ;;
	--out) dirs=out ;;
	"") ;;
	*) usage_error "partition NODE [--in|--out]" ;;
	esac
	require_root
	need_state
	i=$(node_list "$i")
	[[ "$i" =~ ^[0-9]+$ ]] || usage_error "partition one node at a time"
	local d
	for d in $dirs; do
		grep -qx "$d $i" "$DIR/faults" 2>/dev/null || echo "$d $i" >>"$DIR/faults"
	done
	faults_apply
	case "$dirs" in
	in) log "node $i partitioned: frames to it are dropped at the bridge" ;;
	out) log "node $i partitioned: frames from it are dropped at the bridge" ;;
	*) log "node $i partitioned: frames to and from it are dropped at the bridge" ;;
	esac
}

cmd_heal() {
	local i=${1:-all}
	require_root
	need_state
	touch "$DIR/faults"
	if [ "$i" = all ]; then
		grep -v -E '^(in|out) ' "$DIR/faults" >"$DIR/faults.tmp" || true
	else
		i=$(node_list "$i")
		grep -v -x -E "(in|out) $i" "$DIR/faults" >"$DIR/faults.tmp" || true
	fi
	mv "$DIR/faults.tmp" "$DIR/faults"
	faults_apply
	log "healed: $([ "$i" = all ] && echo "every node" || echo "node $i")"
}

bridge_ports() {
	local i
	for ((i = 1; i <= AC_NODES; i++)); do echo "p$i"; done
	echo pc
}

# Does the kernel have netem (sch_netem)? Tried on the client's bridge port.
kernel_netem() {
	in_ns br tc qdisc add dev pc root netem delay 0ms 2>/dev/null || return 1
	in_ns br tc qdisc del dev pc root 2>/dev/null || true
}

netem_off() {
	local pid p
	if pid=$(cat "$DIR/netem.pid" 2>/dev/null); then
		kill -TERM "$pid" 2>/dev/null || true
		local end=$(($(now_us) + 5000000))
		while kill -0 "$pid" 2>/dev/null && [ "$(now_us)" -lt "$end" ]; do sleep 0.05; done
		kill -KILL "$pid" 2>/dev/null || true
		rm -f "$DIR/netem.pid"
	fi
	for p in $(bridge_ports); do
		in_ns br tc qdisc del dev "$p" root 2>/dev/null || true
		in_ns br ip link set "$p" master br0
	done
	grep -v '^netem ' "$DIR/faults" >"$DIR/faults.tmp" 2>/dev/null || true
	mv "$DIR/faults.tmp" "$DIR/faults"
	rm -f "$DIR/netem.impl"
}

cmd_netem() {
	[ $# -gt 0 ] || usage_error "netem ARGS|off (e.g. netem loss 5% delay 1ms reorder 25%)"
	require_root
	need_state
	touch "$DIR/faults"
	netem_off
	if [ "$*" = off ]; then
		log "netem off"
		return 0
	fi
	local p impl=${AEGIS_CLUSTER_NETEM:-auto} ports=()
	[ "$impl" = auto ] && { kernel_netem && impl=tc || impl=relay; }
	if [ "$impl" = tc ]; then
		for p in $(bridge_ports); do
			in_ns br tc qdisc replace dev "$p" root netem "$@" || die "tc netem $*"
		done
	else
		# No sch_netem in this kernel: the bridge ports leave br0 and a
		# userspace relay forwards between them, impairing each frame.
		for p in $(bridge_ports); do ports+=(--port "$p"); done
		"$AC_BUILD/tools/aegis-cluster-netem" --check "${ports[@]}" -- "$@" ||
			usage_error "netem $*: not understood"
		for p in $(bridge_ports); do in_ns br ip link set "$p" nomaster; done
		echo "==== $(date '+%F %T') netem $*" >>"$DIR/netem.log"
		setsid nsenter --net=/run/netns/"$(ns br)" -- "$AC_BUILD/tools/aegis-cluster-netem" \
			"${ports[@]}" --faults "$DIR/faults" --nodes "$AC_NODES" -- "$@" \
			</dev/null >>"$DIR/netem.log" 2>&1 9>&- &
		echo $! >"$DIR/netem.pid"
		sleep 0.2
		kill -0 "$(cat "$DIR/netem.pid")" 2>/dev/null || { netem_off; die "the netem relay failed (log: $DIR/netem.log)"; }
	fi
	echo "$impl" >"$DIR/netem.impl"
	echo "netem $*" >>"$DIR/faults"
	log "netem $* on every link ($impl)"
}

