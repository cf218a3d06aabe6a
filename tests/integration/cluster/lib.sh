# shellcheck shell=bash
# What the tests on a tools/aegis-cluster cluster share (sourced):
#   log MSG          a line on stderr with the time and seconds since T0
#   skip MSG         exit 77 (meson: skipped)
#   fail_logs MSG GLOB...  FAIL: MSG, the last 20 lines of each file, exit 1
#   cluster_require CLUSTER BUILD
#                    skips unless root, aegisd built, the default
#                    transport's PMD installed and namespaces creatable;
#                    sets $transport (the cluster's default) and uses $P
#                    (the test's prefix) for the probe namespace
#   bench_writes_ok FILE
#                    aegis-bench's output FILE has only OK write answers
#                    (they and the p99 go to stderr; the p99 in ms to stdout)
#   cluster_traps    on exit: background jobs killed, the cluster in $D
#                    stopped ($CLUSTER), $D removed unless the test failed
#                    (or AEGIS_TEST_KEEP is set)
T0=${EPOCHREALTIME/./}

log() { echo "[$(date +%T.%N | cut -c1-12) +$(((${EPOCHREALTIME/./} - T0) / 1000000))s] $*" >&2; }
skip() { echo "SKIP: $*"; exit 77; }

fail_logs() {
	local msg=$1 f
	shift
	echo "FAIL: $msg" >&2
	for f in "$@"; do
		[ -e "$f" ] || continue
		echo "---- $f (last 20 lines)" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

cluster_require() {
	local cluster=$1 build=$2
	[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
	[ -x "$build/control/aegisd" ] || skip "no aegisd in $build"
	transport=$(sed -n 's/^DEFAULT_TRANSPORT=//p' "$cluster")
	if [ "$transport" != udp ]; then
		compgen -G "/usr/lib/*/dpdk/pmds-*/librte_net_$transport.so*" >/dev/null ||
			skip "DPDK net_$transport PMD not installed"
	fi
	ip netns add "$P-probe" 2>/dev/null || skip "cannot create a network namespace"
	ip netns del "$P-probe"
}

cluster_on_exit() {
	local rc=$?
	trap - EXIT
	local j
	for j in $(jobs -p); do kill "$j" 2>/dev/null; done
	[ -f "$D/cluster.env" ] && "$CLUSTER" --dir "$D" stop >/dev/null 2>&1
	if [ -z "${AEGIS_TEST_KEEP:-}" ] && { [ "$rc" = 0 ] || [ "$rc" = 77 ]; }; then rm -rf "$D" "$D.lock"; else echo "run dir kept: $D" >&2; fi
	exit "$rc"
}

cluster_traps() {
	trap cluster_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

bench_writes_ok() {
	python3 - "$1" <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    if line.startswith('{"bench"'):
        r = json.loads(line)
        bad = {k: v for k, v in r["status"]["write"].items() if k != "ok"}
        p99 = r["latency_us"]["p99"] / 1000
        print("  write answers:", r["status"]["write"], "p99 %.1f ms" % p99, file=sys.stderr)
        print("%.1f" % p99)
        sys.exit(1 if bad else 0)
sys.exit(1)
EOF
}
