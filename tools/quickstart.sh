#!/usr/bin/env bash
# README command 1: install what Aegis needs, build it, start a 3-node
# cluster on virtual devices (tools/aegis-cluster: one network namespace per
# node, DPDK net_af_packet over veth pairs), run aegis-bench against it for
# 20 s (durable quorum writes, a progress line each second), read every
# acknowledged write back, print the summary and where the JSON and the plot
# are, and stop the cluster.
#
#   tools/quickstart.sh [--no-setup] [--seconds S] [--transport T] [--bench-all]
#     --no-setup     do not run tools/setup.sh (packages already there)
#     --seconds S    measured seconds of the load (default 20)
#     --transport T  af_packet (default), af_xdp or udp (see aegis-cluster --help)
#     --bench-all    then run the micro-benchmarks too (tools/bench-all.sh)
# Needs root (packages, network namespaces). Exit 0 when the run and the
# read-back passed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/bin:/bin:$PATH"

setup=1 seconds=20 transport="" bench_all=0
while [ $# -gt 0 ]; do
	case "$1" in
	--no-setup) setup=0; shift ;;
	--seconds) seconds=${2:?--seconds S}; shift 2 ;;
	--transport) transport=${2:?--transport T}; shift 2 ;;
	--bench-all) bench_all=1; shift ;;
	-h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "quickstart.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" -eq 0 ] || { echo "quickstart.sh: needs root (packages, network namespaces)" >&2; exit 2; }

[ "$setup" = 1 ] && tools/setup.sh --if-missing

dir=build-release
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" -Dbuildtype=release -Db_ndebug=false >"$dir.setup.log" 2>&1 || {
		cat "$dir.setup.log" >&2
		exit 1
	}
fi
echo "quickstart: building in $dir"
ninja -C "$dir" >"$dir.ninja.log" 2>&1 || {
	tail -n 40 "$dir.ninja.log" >&2
	exit 1
}

run=/var/tmp/aegis-quickstart
out=$dir/quickstart
mkdir -p "$out"
cluster() { tools/aegis-cluster --dir "$run" "$@"; }
trap 'cluster stop >/dev/null 2>&1 || true' EXIT
echo "quickstart: starting a 3-node cluster in $run"
cluster start --build "$dir" ${transport:+--transport "$transport"}
eval "$(cluster env)"

echo
echo "quickstart: aegis-bench, ${seconds} s of durable quorum writes (16 B keys, 64 B values, 256 in flight)"
rc=0
cluster exec "$dir/bench/aegis-bench/aegis-bench" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" \
	--duration "$seconds" --warmup 2 --outstanding 256 --keys 100000 --key-bytes 16 --value-bytes 64 \
	--record "$out/acked.txt" --verify --json "$out/aegis-bench.json" --csv "$out/aegis-bench.csv" \
	--plot "$out/aegis-bench.png" || rc=$?
cluster status || true
cluster stop >/dev/null 2>&1 || true
trap - EXIT

echo
echo "quickstart: results"
echo "  JSON line  $out/aegis-bench.json"
echo "  per second $out/aegis-bench.csv"
[ -f "$out/aegis-bench.png" ] && echo "  plot       $out/aegis-bench.png"
echo "  node logs  $run/n*.log"
echo "  again:     tools/aegis-cluster start; tools/aegis-cluster exec aegis-bench ... (see README)"
[ "$rc" = 0 ] || { echo "quickstart: aegis-bench failed (exit $rc)" >&2; exit "$rc"; }

if [ "$bench_all" = 1 ]; then
	exec tools/bench-all.sh --build "$dir"
fi
echo "quickstart: the micro-benchmarks: tools/bench-all.sh --build $dir"
