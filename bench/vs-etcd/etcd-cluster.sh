#!/usr/bin/env bash
# A 3-member etcd (Debian's etcd-server) on loopback for bench/vs-etcd.
#
#   etcd-cluster.sh start [options]   stop what is left, wipe the data, start 3
#                                     members, wait until they serve, print env
#   etcd-cluster.sh stop [options]    stop every member of this run dir, even
#                                     after a crash (pid files, then the run
#                                     dir's processes); exit 0 when none is left
#   etcd-cluster.sh status [options]  etcdctl endpoint status
#   etcd-cluster.sh env [options]     ETCD_ENDPOINTS, ETCD_LEADER, ETCD_PIDS, ...
#
# Options:
#   --dir DIR        run dir: data, logs, pid files (default $ETCD_DIR or
#                    /var/tmp/aegis-vs-etcd/etcd: a real disk, the one Aegis's
#                    benchmarks use, so fdatasync costs what it costs)
#   --port-base P    member i listens for clients on P+10i, peers on P+10i+1
#                    (default $ETCD_PORT_BASE or 2300)
#   --cpus LIST      taskset CPU list for the members (default $ETCD_CPUS or
#                    every online CPU: nothing pinned)
#   --etcd PATH      the server (default: etcd on PATH)
# Exit: 0 ok, 1 failure, 2 usage error.
set -euo pipefail

cmd=${1:-}
[ $# -gt 0 ] && shift
dir=${ETCD_DIR:-/var/tmp/aegis-vs-etcd/etcd}
port_base=${ETCD_PORT_BASE:-2300}
cpus=${ETCD_CPUS:-}
etcd_bin=etcd
members=3

die() { echo "etcd-cluster: $*" >&2; exit 1; }
usage() { sed -n '2,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--dir) dir=$2; shift 2 ;;
	--port-base) port_base=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--etcd) etcd_bin=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "etcd-cluster: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ -z "$cpus" ] && cpus="0-$(($(nproc --all) - 1))"

client_url() { echo "http://127.0.0.1:$((port_base + 10 * $1))"; }
peer_url() { echo "http://127.0.0.1:$((port_base + 10 * $1 + 1))"; }
endpoints() {
	local i eps=()
	for ((i = 0; i < members; i++)); do eps+=("127.0.0.1:$((port_base + 10 * i))"); done
	(IFS=,; echo "${eps[*]}")
}

# The pids of etcd processes started with a data dir under $dir: pid files
# first, then /proc (a crash or a lost pid file); never anything else's.
our_pids() {
	local p f
	{
		for f in "$dir"/m*.pid; do
			[ -f "$f" ] || continue
			p=$(cat "$f")
			if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q -- "--data-dir $dir/"; then
				echo "$p"
			fi
		done
		# Lists only (the kill is by pid): processes running etcd on our dir.
		pgrep -f -- "etcd .*--data-dir $dir/m" || true
	} | sort -un
}

# SIGTERM, 10 s to exit, then SIGKILL.
term_wait() {
	local p i alive
	kill -TERM "$@" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		alive=0
		for p in "$@"; do [ -d "/proc/$p" ] && alive=1; done
		[ "$alive" -eq 0 ] && return 0
		sleep 0.1
	done
	for p in "$@"; do
		if [ -d "/proc/$p" ]; then
			echo "etcd-cluster: member pid $p ignored SIGTERM for 10 s: SIGKILL" >&2
			kill -KILL "$p" 2>/dev/null || true
		fi
	done
}

stop() {
	local pids lead p rest=()
	mapfile -t pids < <(our_pids)
	if [ "${#pids[@]}" -gt 0 ]; then
		# Followers first, the leader once they are gone: a leader stopped
		# among live peers hands leadership over, and the next leader,
		# stopped together with the rest, waits 7 s for a transfer to
		# members that are gone.
		lead=$(leader 2>/dev/null || true)
		if [ -n "$lead" ]; then
			lead=$(cat "$dir/m$(((${lead##*:} - port_base) / 10)).pid" 2>/dev/null || true)
		fi
		for p in "${pids[@]}"; do [ "$p" = "$lead" ] || rest+=("$p"); done
		[ "${#rest[@]}" -eq 0 ] || term_wait "${rest[@]}"
		[ -z "$lead" ] || term_wait "$lead"
	fi
	rm -f "$dir"/m*.pid
	[ -z "$(our_pids)" ] || die "members still running: $(our_pids | tr '\n' ' ')"
	echo "etcd-cluster: stopped ${#pids[@]} member(s) of $dir"
}

etcdctl_() { ETCDCTL_API=3 etcdctl --endpoints "$(endpoints)" --dial-timeout 2s --command-timeout 5s "$@"; }

leader() {
	# simple format: endpoint, id, version, db size, is leader, ...
	etcdctl_ endpoint status 2>/dev/null | awk -F', ' '$5 == "true" { print $1; exit }'
}

print_env() {
	echo "ETCD_ENDPOINTS=$(endpoints)"
	echo "ETCD_LEADER=$(leader)"
	echo "ETCD_PIDS=$(our_pids | tr '\n' ',' | sed 's/,$//')"
	echo "ETCD_CPUS=$cpus"
	echo "ETCD_DIR=$dir"
}

start() {
	command -v "$etcd_bin" >/dev/null || die "no '$etcd_bin' (tools/setup.sh installs etcd-server)"
	command -v etcdctl >/dev/null || die "no etcdctl (tools/setup.sh installs etcd-client)"
	stop >/dev/null
	mkdir -p "$dir"
	rm -rf "$dir"/m*.etcd "$dir"/m*.log
	local i cluster=""
	for ((i = 0; i < members; i++)); do cluster+="${cluster:+,}m$i=$(peer_url "$i")"; done
	for ((i = 0; i < members; i++)); do
		# setsid: the members outlive this script and ignore the caller's ^C;
		# stop is the way to end them.
		setsid taskset -c "$cpus" "$etcd_bin" --name "m$i" --data-dir "$dir/m$i.etcd" \
			--listen-client-urls "$(client_url "$i")" --advertise-client-urls "$(client_url "$i")" \
			--listen-peer-urls "$(peer_url "$i")" --initial-advertise-peer-urls "$(peer_url "$i")" \
			--initial-cluster "$cluster" --initial-cluster-state new \
			--initial-cluster-token "aegis-vs-etcd-$port_base" \
			--quota-backend-bytes $((8 * 1024 * 1024 * 1024)) \
			--logger zap --log-outputs stderr \
			</dev/null >"$dir/m$i.log" 2>&1 &
		echo $! >"$dir/m$i.pid"
	done
	# taskset execs etcd: the pid stays the member's.
	for ((i = 0; i < 300; i++)); do
		if etcdctl_ endpoint health >/dev/null 2>&1 && [ -n "$(leader)" ]; then
			echo "etcd-cluster: $members members serving on $(endpoints) (leader $(leader));" \
				"CPUs $cpus; data $dir ($(df --output=source "$dir" | tail -1))" >&2
			print_env
			return 0
		fi
		for f in "$dir"/m*.pid; do
			[ -d "/proc/$(cat "$f")" ] || { tail -n 20 "${f%.pid}.log" >&2; stop >&2; die "${f%.pid} exited"; }
		done
		sleep 0.1
	done
	stop >&2
	die "not healthy after 30 s (logs in $dir)"
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) etcdctl_ endpoint status -w table ;;
env) print_env ;;
-h | --help | help) usage ;;
*) echo "etcd-cluster: start|stop|status|env (try --help)" >&2; exit 2 ;;
esac
