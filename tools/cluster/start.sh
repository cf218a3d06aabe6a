# shellcheck shell=bash disable=SC2015
# tools/cluster/start.sh, sourced by tools/aegis-cluster: namespaces,
# veths, configs, keys, core layout and nodes (start; restart starts nodes
# with it).
# The state, names and helpers it uses are in tools/aegis-cluster.

# ---- start -------------------------------------------------------------------

find_build() {
	local d
	if [ -n "${BUILD_OPT:-}" ]; then
		d=$(cd "$BUILD_OPT" 2>/dev/null && pwd) || die "--build $BUILD_OPT: no such directory"
		[ -x "$d/control/aegisd" ] || die "no control/aegisd in $d (ninja -C $d)"
		echo "$d"
		return
	fi
	for d in "$REPO/build-release" "$REPO/build"; do
		[ -x "$d/control/aegisd" ] && [ -x "$d/tools/aegis-cluster-cores" ] && { echo "$d"; return; }
	done
	die "no build with control/aegisd and tools/aegis-cluster-cores under $REPO (meson setup build && ninja -C build), or give --build DIR"
}

# A new namespace with lo up and IPv6 off (no router solicitations or DAD
# frames on the links).
# ns_setup NAME [IP]: namespace NAME with lo up, IPv6 off (no router
# solicitations or DAD frames on the links) and, once arm made it, dp0 up
# with checksum offload off and IP for kernel sockets. One nsenter per
# namespace: a loaded machine makes every fork count.
netns_add() {
	ip netns add "$(ns "$1")" || die "cannot create namespace $(ns "$1")"
}

ns_setup() {
	local name=$1 ip=${2:-} dp0=1
	[ "$name" = br ] && dp0=0
	# shellcheck disable=SC2016 # expanded by the inner shell
	in_ns "$name" sh -c 'ip link set lo up &&
		sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null &&
		if [ "$1" = 1 ]; then
			ethtool -K dp0 tx off >/dev/null 2>&1 || echo "ethtool -K dp0 tx off failed" >&2
			if [ -n "$2" ]; then ip addr add "$2/24" dev dp0 || exit 1; fi
			ip link set dp0 up
		fi' sh "$dp0" "$ip" || die "setting up namespace $(ns "$name")"
}

# arm NAME PORT QUEUES [IP]: veth dp0 in namespace NAME, its peer PORT a
# bridge port (joined in topology); IP on dp0 for kernel sockets (a DPDK
# node has none: it answers ARP itself). Checksum offload off on dp0: a
# frame a kernel socket leaves to "offload" would reach AF_PACKET/AF_XDP
# (or the netem relay) unfinished.
arm() {
	local name=$1 port=$2 q=$3 ip=${4:-}
	netns_add "$name"
	ip link add dp0 mtu "$AC_MTU" numtxqueues "$q" numrxqueues "$q" netns "$(ns "$name")" type veth \
		peer name "$port" mtu "$AC_MTU" numtxqueues "$q" numrxqueues "$q" netns "$(ns br)" || die "veth for $name"
	ns_setup "$name" "$ip"
}

topology() {
	local i q=$AC_WORKERS batch="link add br0 mtu $AC_MTU type bridge stp_state 0 forward_delay 0"$'\n'
	netns_add br
	for ((i = 1; i <= AC_NODES; i++)); do
		if [ "$AC_TRANSPORT" = udp ]; then
			arm "n$i" "p$i" "$q" "$(node_ip "$i")"
		else
			arm "n$i" "p$i" "$q"
		fi
		batch+="link set p$i master br0"$'\n'"link set p$i up"$'\n'
	done
	arm cli pc 1 "$(client_ip)"
	batch+="link set pc master br0"$'\n'"link set pc up"$'\n'"link set br0 up"$'\n'
	ns_setup br
	# Bridged frames must not meet br_netfilter (it drops bad IPv4
	# checksums before they reach a node); fault rules use nft's bridge
	# family, which does not need it. (No such sysctl without it: fine.)
	in_ns br sh -c 'ip -batch - &&
		{ sysctl -qw net.bridge.bridge-nf-call-iptables=0 net.bridge.bridge-nf-call-arptables=0 \
			>/dev/null 2>&1 || true; }' <<<"$batch" || die "bridge"
}

# The EAL vdev of a node's dp0.
vdev() {
	case "$AC_TRANSPORT" in
	af_packet) echo "net_af_packet0,iface=dp0,qpairs=$AC_WORKERS,framecnt=4096" ;;
	af_xdp) echo "net_af_xdp0,iface=dp0,start_queue=0,queue_count=$AC_WORKERS" ;;
	esac
}

# config I: node I's toml. The nodes the cluster formed with (AC_FOUNDERS)
# list each other; a node added later (cmd_add) joins: node.join = true,
# the founders as its peers (the others learn its address from the meta
# records, not from their configs).
config() {
	local i=$1 j peers="" transport=udp eal="" join=false
	for ((j = 1; j <= AC_FOUNDERS; j++)); do
		[ "$j" = "$i" ] || peers+="${peers:+, }\"$j=$(node_ip "$j"):$AC_PORT\""
	done
	[ "$i" -le "$AC_FOUNDERS" ] || join=true
	local zone=""
	[ "${AC_ZONES:-0}" -gt 0 ] && zone="zone = \"z$(((i - 1) % AC_ZONES + 1))\""
	if [ "$AC_TRANSPORT" != udp ]; then
		transport=dpdk
		eal="eal_args = [\"--no-huge\", \"-m\", \"$AC_MEM\", \"--no-pci\", \"--no-shconf\", \
\"--file-prefix=$AC_PREFIX-n$i\", \"--lcores=${AC_LCORES[$i]}\", \"--vdev=$(vdev)\"]"
	fi
	mkdir -p "$DIR/n$i"
	cat >"$DIR/n$i.toml" <<TOML
# node $i of the cluster in $DIR (tools/aegis-cluster)
[replication]
replication_factor = $((AC_FOUNDERS < 3 ? AC_FOUNDERS : 3))
[raft]
election_timeout_min = 500
election_timeout_max = 1000
heartbeat_interval = 100
[sharding]
shard_count = $AC_SHARDS
[node]
id = $i
address = "$(node_ip "$i"):$AC_PORT"
peers = [$peers]
join = $join
$zone
data_dir = "$DIR/n$i"
workers = $AC_WORKERS
transport = "$transport"
frame_bytes = $((AC_MTU - 28))
$eal
cluster_key_file = "$DIR/cluster.key"
client_key_file = "$DIR/client.key"
TOML
}

keys() {
	local k
	for k in cluster client; do
		(umask 077 && head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$DIR/$k.key")
	done
	cmp -s "$DIR/cluster.key" "$DIR/client.key" && die "cluster and client keys are equal (urandom?)"
	return 0
}

# node_start I: starts node I in its namespace, detached (its own session,
# stdin closed), output appended to n<I>.log; the pid in n<I>.pid.
node_start() {
	local i=$1 kv sets=() pin=()
	for kv in "${AC_SETS[@]}"; do sets+=(--set "$kv"); done
	# A udp node's threads are not pinned by aegisd: bind the process.
	[ "$AC_TRANSPORT" = udp ] && pin=(taskset -c "${AC_CPUS[$i]}")
	rm -f "$DIR/n$i.ready" "$(admin_sock "$i")"
	rm -rf /var/run/dpdk/"$AC_PREFIX-n$i"
	echo "==== $(date '+%F %T') start: ${pin[*]} aegisd --config $DIR/n$i.toml ${sets[*]}" >>"$DIR/n$i.log"
	setsid nsenter --net=/run/netns/"$(ns "n$i")" -- "${pin[@]}" "$AC_BUILD/control/aegisd" \
		--config "$DIR/n$i.toml" "${sets[@]}" --ready-file "$DIR/n$i.ready" \
		</dev/null >>"$DIR/n$i.log" 2>&1 9>&- &
	echo $! >"$DIR/n$i.pid"
}

# wait_ready END I...: every node I has written its ready file before END
# (microseconds); the pid there replaces n<I>.pid (setsid may have forked).
wait_ready() {
	local end=$1 i pid
	shift
	for i in "$@"; do
		read -r pid <"$DIR/n$i.pid"
		while [ ! -s "$DIR/n$i.ready" ]; do
			# Not node_pid: until setsid and nsenter have exec'd, the
			# process's command line is still this script's.
			if [ -z "$(alive "$pid")" ]; then
				tail -n 20 "$DIR/n$i.log" >&2
				die "node $i exited during start (log: $DIR/n$i.log)"
			fi
			[ "$(now_us)" -lt "$end" ] || die "node $i not ready in time (log: $DIR/n$i.log)"
			sleep 0.05
		done
		pid=$(tr -dc 0-9 <"$DIR/n$i.ready")
		echo "$pid" >"$DIR/n$i.pid"
	done
}

# leaders_line: "LEADERLESS COUNT_1 COUNT_2 ..." over the running nodes:
# shards with no leader anywhere, and the leaders each node holds (- when
# it is down or does not answer).
leaders_line() {
	local i out mine led="" counts=""
	for ((i = 1; i <= AC_NODES; i++)); do
		if node_pid "$i" >/dev/null &&
			out=$("$AC_BUILD/tools/aegisctl" --socket "$(admin_sock "$i")" --timeout 2 shards 2>/dev/null); then
			# Columns: shard group worker role leader term ...
			mine=$(awk '$4 == "leader" {print $1}' <<<"$out")
			led+="$mine"$'\n'
			counts+=" $(grep -c . <<<"$mine" || true)"
		else
			counts+=" -"
		fi
	done
	# (sort -u, not -un: -n takes an empty line for shard 0 and keeps one of them)
	echo "$((AC_SHARDS - $(sort -u <<<"$led" | grep -c . || true)))$counts"
}

wait_leaders() {
	local end=$1 line
	while :; do
		line=$(leaders_line)
		[ "${line%% *}" = 0 ] && return 0
		[ "$(now_us)" -lt "$end" ] || die "${line%% *} of $AC_SHARDS shards have no leader in time (leaders per node: ${line#* })"
		sleep 0.2
	done
}

layout() {
	local out i
	out=$("$AC_BUILD/tools/aegis-cluster-cores" --nodes "$AC_NODES" --workers "$AC_WORKERS" \
		--client-cpus "${CLIENT_CPUS_OPT:-0}") || die "core layout failed"
	AC_LAYOUT=$(grep '^#' <<<"$out" | sed 's/^# //')
	eval "$(grep -E '^[A-Z_0-9]+=[A-Za-z0-9,@]*$' <<<"$out")"
	# shellcheck disable=SC2034 # state (state_save), used by client_exec
	AC_CLIENT_CPUS=$CLIENT_CPUS
	AC_LCORES=()
	AC_CPUS=()
	for ((i = 1; i <= AC_NODES; i++)); do
		eval "AC_LCORES[$i]=\$NODE_${i}_LCORES; AC_CPUS[$i]=\$NODE_${i}_CPUS"
	done
}

# Nodes beyond the founders (added) run on the cores of a founder.
layout_added() {
	local i f
	for ((i = AC_FOUNDERS + 1; i <= AC_NODES; i++)); do
		f=$(((i - 1) % AC_FOUNDERS + 1))
		AC_LCORES[i]=${AC_LCORES[f]}
		AC_CPUS[i]=${AC_CPUS[f]}
	done
}

# add [--wait] [--timeout SECS]: one more node, id N+1, joins the running
# cluster: recorded through a running member's admin socket (aegisctl node
# add), then started with node.join = true in a namespace of its own; the
# rebalancer moves replicas onto it (--wait: until it holds its share).
cmd_add() {
	local wait=0 secs=90 i j via="" end t0 self=0
	while [ $# -gt 0 ]; do
		case "$1" in
		--wait) wait=1 ;;
		--self) self=1 ;;
		--timeout) secs=${2:?}; shift ;;
		*) usage_error "add: unknown option $1" ;;
		esac
		shift
	done
	[[ "$secs" =~ ^[0-9]+$ ]] || usage_error "--timeout takes seconds"
	need_state
	require_root
	t0=$(now_us)
	i=$((AC_NODES + 1))
	[ "$i" -le 64 ] || die "add: 64 nodes at most"
	for ((j = 1; j <= AC_NODES; j++)); do node_pid "$j" >/dev/null && { via=$j; break; }; done
	[ -n "$via" ] || die "add: no node runs to record the new one"
	AC_NODES=$i
	layout_added
	state_save
	config "$i"
	if [ "$AC_TRANSPORT" = udp ]; then arm "n$i" "p$i" "$AC_WORKERS" "$(node_ip "$i")"; else arm "n$i" "p$i" "$AC_WORKERS"; fi
	in_ns br ip link set "p$i" master br0 && in_ns br ip link set "p$i" up || die "bridge port p$i"
	# --self: no operator step; the node asks the members itself.
	[ "$self" = 1 ] ||
		"$AC_BUILD/tools/aegisctl" --socket "$(admin_sock "$via")" --timeout 10 node add "$i" "$(node_ip "$i"):$AC_PORT" ||
		die "add: node $via did not record node $i"
	node_start "$i"
	end=$(($(now_us) + secs * 1000000))
	wait_ready "$end" "$i"
	if [ "$self" = 1 ]; then
		# Its own view of the records: the members relayed its request.
		until grep -q "join: on record as node $i" "$DIR/n$i.log"; do
			[ "$(now_us)" -lt "$end" ] || die "add: node $i is not on record after $secs s (see $DIR/n$i.log)"
			sleep 0.2
		done
	fi
	echo "$PROG: node $i joined at $(node_ip "$i"):$AC_PORT in $(tenths $(($(now_us) - t0))) s (log: $DIR/n$i.log)"
	[ "$wait" = 1 ] || return 0
	"$AC_BUILD/tools/aegisctl" --socket "$(admin_sock "$via")" --timeout "$secs" node add "$i" \
		"$(node_ip "$i"):$AC_PORT" --wait || die "add: node $i does not hold its share after $secs s"
}

cmd_start() {
	local nodes="" transport=$DEFAULT_TRANSPORT shards="" workers="" mem=256 keep=0 secs=90
	local subnet="" port="" mtu="" sets=() i t0 end line zones=
	while [ $# -gt 0 ]; do
		case "$1" in
		--nodes) nodes=${2:?}; shift ;;
		--transport) transport=${2:?}; shift ;;
		--shards) shards=${2:?}; shift ;;
		--workers) workers=${2:?}; shift ;;
		--build) BUILD_OPT=${2:?}; shift ;;
		--set) sets+=("${2:?}"); shift ;;
		--not-durable) sets+=("wal.sync=false") ;;
		--prefix) PREFIX_OPT=${2:?}; shift ;;
		--subnet) subnet=${2:?}; shift ;;
		--port) port=${2:?}; shift ;;
		--mtu) mtu=${2:?}; shift ;;
		--zones) zones=${2:?}; shift ;;
		--client-cpus) CLIENT_CPUS_OPT=${2:?}; shift ;;
		--mem) mem=${2:?}; shift ;;
		--keep-data) keep=1 ;;
		--timeout) secs=${2:?}; shift ;;
		*) usage_error "start: unknown option $1" ;;
		esac
		shift
	done
	# --keep-data: the shape of the data (nodes, shards, workers, addresses,
	# overrides) is the old cluster's unless given, and must match it.
	if [ "$keep" = 1 ]; then
		state_load || die "--keep-data: no cluster in $DIR"
		nodes=${nodes:-$AC_NODES} shards=${shards:-$AC_SHARDS} workers=${workers:-$AC_WORKERS}
		subnet=${subnet:-$AC_SUBNET} port=${port:-$AC_PORT} zones=${zones:-$AC_ZONES} mtu=${mtu:-${AC_MTU:-}} PREFIX_OPT=${PREFIX_OPT:-$AC_PREFIX}
		[ ${#sets[@]} -gt 0 ] || sets=("${AC_SETS[@]}")
		[ "$nodes/$shards/$workers" = "$AC_NODES/$AC_SHARDS/$AC_WORKERS" ] ||
			die "--keep-data: the data in $DIR is of $AC_NODES nodes, $AC_SHARDS shards, $AC_WORKERS worker(s) per node"
	fi
	nodes=${nodes:-3} shards=${shards:-16} workers=${workers:-1} subnet=${subnet:-10.88.0} port=${port:-7100}
	zones=${zones:-0}
	[[ "$zones" =~ ^[0-9]+$ ]] && [ "$zones" -le 64 ] || usage_error "--zones 0..64"
	[[ "$nodes" =~ ^[0-9]+$ ]] && [ "$nodes" -ge 1 ] && [ "$nodes" -le 64 ] || usage_error "--nodes 1..64"
	[[ "$workers" =~ ^[0-9]+$ ]] && [ "$workers" -ge 1 ] && [ "$workers" -le 16 ] || usage_error "--workers 1..16"
	[[ "$shards" =~ ^[0-9]+$ ]] && [ "$shards" -ge 1 ] || usage_error "--shards N"
	[[ "$port" =~ ^[0-9]+$ ]] && [ "$port" -ge 1 ] && [ $((port + workers)) -le 65536 ] || usage_error "--port"
	[[ "$mem" =~ ^[0-9]+$ ]] && [[ "$secs" =~ ^[0-9]+$ ]] || usage_error "--mem and --timeout take numbers"
	[[ "$subnet" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage_error "--subnet A.B.C"
	case "$transport" in af_packet | af_xdp | udp) ;; *) usage_error "--transport af_packet|af_xdp|udp" ;; esac
	# Jumbo frames for kernel UDP (a node's frames and client replies
	# carry ~6x more per packet: fewer packets through the kernel per
	# write); a DPDK port's mbufs hold one 1500-byte frame.
	[ "$transport" = udp ] && mtu=${mtu:-9000} || mtu=${mtu:-1500}
	[[ "$mtu" =~ ^[0-9]+$ ]] && [ "$mtu" -ge 1500 ] && [ "$mtu" -le 9000 ] || usage_error "--mtu 1500..9000"
	[ "$transport" = udp ] || [ "$mtu" = 1500 ] || usage_error "--mtu above 1500 needs --transport udp"
	# net_af_xdp wants as many "combined" channels as queues; a veth has
	# separate rx/tx queues only ("queue count 2 is larger than combined
	# queue count 1"), so one queue, one worker.
	[ "$transport" != af_xdp ] || [ "$workers" = 1 ] ||
		usage_error "--transport af_xdp takes --workers 1 on a veth (net_af_xdp needs combined channels)"
	local prefix=${PREFIX_OPT:-aegc}
	[[ "$prefix" =~ ^[a-z][a-z0-9]{0,11}$ ]] || usage_error "--prefix: 1-12 of [a-z0-9], a letter first"
	require_root
	require_tools ip nsenter setsid taskset ethtool python3
	t0=$(now_us)

	# One cluster per run dir; leftovers of a crashed one go first (below,
	# when it had the same prefix).
	if state_load; then
		for ((i = 1; i <= AC_NODES; i++)); do
			node_pid "$i" >/dev/null && die "a cluster runs in $DIR (node $i); '$PROG stop' first"
		done
		[ "$AC_PREFIX" = "$prefix" ] || cleanup 3
	fi
	AC_PREFIX=$prefix
	# The namespaces are global: a prefix serves one run dir at a time.
	local owner
	owner=$(cat "$OWNERS/$prefix" 2>/dev/null) || owner=$DIR
	if [ "$owner" != "$DIR" ] && ip netns list 2>/dev/null | grep -q "^$prefix-br\b"; then
		die "prefix $prefix is in use by the cluster in $owner ('$PROG --dir $owner stop', or --prefix)"
	fi
	cleanup 3
	mkdir -p "$OWNERS"
	echo "$DIR" >"$OWNERS/$prefix"
	if [ "$keep" = 1 ]; then
		[ -f "$DIR/cluster.key" ] || die "--keep-data: no cluster in $DIR"
	else
		# Only a run dir of ours (or an empty one) is wiped.
		if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/cluster.env" ]; then
			die "$DIR is not empty and not an aegis-cluster run dir; choose another --dir"
		fi
		rm -rf "$DIR"
	fi
	mkdir -p "$DIR"
	[ ${#DIR} -lt 80 ] || die "--dir too long for the admin socket path (< 80 characters)"

	# --keep-data keeps the nodes added since (their configs join).
	[ "$keep" = 1 ] || AC_FOUNDERS=$nodes
	AC_NODES=$nodes AC_TRANSPORT=$transport AC_SHARDS=$shards AC_WORKERS=$workers AC_MEM=$mem
	AC_SUBNET=$subnet AC_PORT=$port AC_MTU=$mtu AC_ZONES=$zones
	AC_SETS=("${sets[@]}")
	AC_BUILD=$(find_build)
	layout
	layout_added
	# Saved before anything exists: a stop after a crash finds the names.
	state_save
	[ "$keep" = 1 ] || keys
	for ((i = 1; i <= AC_NODES; i++)); do config "$i"; done
	topology

	echo "$PROG: $AC_NODES nodes, transport $AC_TRANSPORT, $AC_SHARDS shards, $AC_WORKERS worker(s) per node, MTU $AC_MTU (frames up to $((AC_MTU - 28)) B)"
	[[ " ${AC_SETS[*]} " != *" wal.sync=false "* ]] ||
		echo "$PROG: NOT DURABLE (wal.sync=false): logs are written but never fdatasync'ed"
	echo "cores (hwloc, dataplane order):"
	echo "  ${AC_LAYOUT//$'\n'/$'\n'  }"
	local t1 t2 t3
	t1=$(now_us)
	for ((i = 1; i <= AC_NODES; i++)); do node_start "$i"; done
	end=$(($(now_us) + secs * 1000000))
	wait_ready "$end" $(seq 1 "$AC_NODES")
	t2=$(now_us)
	wait_leaders "$end"
	t3=$(now_us)
	echo "$PROG: namespaces $(tenths $((t1 - t0))) s, nodes ready $(tenths $((t2 - t1))) s, leaders $(tenths $((t3 - t2))) s"
	summary "$(((t3 - t0) / 100000))"
}

summary() {
	local tenths=$1 line i me=$0
	[ "$DIR" = "$(readlink -m "${AEGIS_CLUSTER_DIR:-/var/tmp/aegis-cluster}")" ] || me+=" --dir $DIR"
	line=$(leaders_line)
	echo "$PROG: up in $((tenths / 10)).$((tenths % 10)) s; every shard has a leader (leaders per node: ${line#* })"
	printf '  %-11s %s\n' "run dir" "$DIR (n<i>.toml, n<i>.log, n<i>/ data + aegisd.sock)" \
		"nodes" "$(nodes_arg)" \
		"client key" "$DIR/client.key" \
		"client ns" "$(client_exec)" \
		"stop" "$me stop"
	echo "try:"
	echo "  $me cli put hello world; $me cli get hello"
	echo "  eval \"\$($me env)\"; \$AEGIS_CLIENT_EXEC $AC_BUILD/tools/aegis-cli --nodes \$AEGIS_NODES \\"
	echo "      --key-file \$AEGIS_CLIENT_KEY --window 1024 load --prefix k --keys 100000 --value-bytes 64"
	echo "  $me status | kill 2 | restart 2 | partition 2 [--in|--out] | heal | netem loss 5% | stop"
}

