# shellcheck shell=bash disable=SC2015
# tools/cluster/stop.sh, sourced by tools/aegis-cluster: finding and
# removing a cluster (stop; start cleans up with it too).
# The state, names and helpers it uses are in tools/aegis-cluster.

# ---- cleanup (stop) ----------------------------------------------------------

# Every process in one of this cluster's namespaces (nodes, load
# generators), and any aegisd that names this run dir's configs.
cluster_pids() {
	local n pid
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$AC_PREFIX-(br|cli|n[0-9]+)\$"); do
		ip netns pids "$n" 2>/dev/null
	done
	# One grep over every cmdline (NUL-separated words): "--config" then
	# this run dir's n<i>.toml.
	grep -laF -- "$DIR/n" /proc/[0-9]*/cmdline 2>/dev/null | while read -r pid; do
		pid=${pid#/proc/}
		pid=${pid%/cmdline}
		tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qE -- "--config $DIR/n[0-9]+\.toml" && echo "$pid"
	done
	return 0
}

# alive PID...: those still running (not zombies), on one line.
alive() {
	local p left=()
	for p in "$@"; do
		[ "$p" = "$$" ] && continue
		[ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && left+=("$p")
	done
	echo "${left[*]}"
}

# wait_gone SECS PID...: until none runs or SECS pass; those left in LEFT.
wait_gone() {
	local end=$(($(now_us) + $1 * 1000000))
	shift
	read -ra LEFT <<<"$(alive "$@")"
	while [ ${#LEFT[@]} -gt 0 ] && [ "$(now_us)" -lt "$end" ]; do
		sleep 0.1
		read -ra LEFT <<<"$(alive "${LEFT[@]}")"
	done
}

# cleanup SECS: SIGTERM every cluster process, SIGKILL what is left after
# SECS, then namespaces (with their veths), DPDK run dirs, sockets.
cleanup() {
	local secs=${1:-10} pids n
	mapfile -t pids < <(cluster_pids | sort -un)
	read -ra pids <<<"$(alive "${pids[@]}")"
	if [ ${#pids[@]} -gt 0 ]; then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		wait_gone "$secs" "${pids[@]}"
		if [ ${#LEFT[@]} -gt 0 ]; then
			log "still running after ${secs}s, SIGKILL: ${LEFT[*]}"
			kill -KILL "${LEFT[@]}" 2>/dev/null || true
			wait_gone 5 "${LEFT[@]}"
			[ ${#LEFT[@]} -eq 0 ] || die "processes survive SIGKILL: ${LEFT[*]}"
		fi
	fi
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$AC_PREFIX-(br|cli|n[0-9]+)\$"); do
		ip netns del "$n" || die "cannot delete namespace $n"
	done
	rm -rf /var/run/dpdk/"$AC_PREFIX"-n[0-9]* 2>/dev/null || true
	rm -f "$DIR"/n[0-9]*/aegisd.sock "$DIR"/n[0-9]*.pid "$DIR"/n[0-9]*.ready 2>/dev/null || true
	rm -f "$DIR/faults" "$DIR/netem.pid" "$DIR/netem.impl" 2>/dev/null || true
	[ "$(cat "$OWNERS/$AC_PREFIX" 2>/dev/null)" != "$DIR" ] || rm -f "$OWNERS/$AC_PREFIX"
}

cmd_stop() {
	[ "${1:-}" = --prefix ] && { PREFIX_OPT=${2:?--prefix NAME}; shift 2; }
	[ $# -eq 0 ] || usage_error "stop [--prefix NAME]"
	require_root
	if ! state_load; then
		# Without a state file only an explicit --prefix names what to remove.
		[ -n "${PREFIX_OPT:-}" ] || { log "no cluster in $DIR: nothing to stop"; return 0; }
		AC_PREFIX=$PREFIX_OPT
		log "no cluster state in $DIR; removing what is left of prefix $AC_PREFIX"
	fi
	cleanup 10
	log "stopped (run dir $DIR kept: logs and data)"
}

