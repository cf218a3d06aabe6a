#!/usr/bin/env bash
# bench/vs-etcd/run.sh: the same workloads on a 3-member etcd and on a 3-node
# Aegis, on the same disk and cores; prints both side by side with the ratio
# and the CPU each side used, and writes one JSON line per case ("peer":"etcd",
# "ratio": ours over etcd's, higher is better; for latency etcd's p99 / ours).
#
#   bench/vs-etcd/run.sh [options]
#
# Cases (--cases a,b,...; default: all but checkperf under --quick)
#   writes       durable writes/s at saturation: 16 B keys, 64 B values; the
#                requests in flight are swept (--sweep) until two levels in a
#                row add less than 10%, then the best level runs --seconds
#   writes-1k    the same with 1 KiB values
#   writes-64k   the same with 64 KiB values
#   latency      p99 of 16 B/64 B writes offered at 50% of each system's own
#                maximum (from `writes` in this run, else a short sweep), open
#                loop: latency from the intended send time (5 s warmup)
#   reads-lin    reads at saturation, linearizable (etcd l, Aegis quorum)
#   reads-stale  reads at saturation, serializable (etcd s, Aegis one)
#   checkperf    `etcdctl check perf --load=xl` (always 60 s; etcd's own
#                yardstick) and its shape on Aegis: 15,000 puts/s offered by
#                1000 clients, 276 B keys, 1 KiB
#                values
# Options
#   --seconds S    measured seconds per side per case (default 20)
#   --quick        3 s runs and 2 s sweep steps
#   --smoke        seconds in all: writes (levels 1,16), latency, reads-stale
#                  on one etcd cluster; checks the JSON lines (meson test)
#   --sweep LIST   requests in flight tried (default 1,16,64,256,1024,2048,4096); etcd
#                  gets min(N,100) connections for N clients, Aegis
#                  --outstanding N over AEGIS_THREADS threads (default 1)
#   --cpus LIST    cores both clusters and both load generators get (taskset;
#                  default: every online core)
#   --aegis MODE   auto (default), cluster, external, node or none:
#       cluster    tools/aegis-cluster start|env|stop and aegis-bench
#       external   a running cluster from the environment: AEGIS_NODES,
#                  AEGIS_CLIENT_KEY [AEGIS_CLIENT_EXEC AEGIS_PIDS]
#       node       aegis-bench-node (3 nodes on loopback): write cases only
#       auto       external if AEGIS_NODES is set, else cluster if both
#                  programs exist, else node, else none
#   --etcd-only    same as --aegis none
#   --build DIR    the build dir (default: build)
#   --out FILE     the JSON lines (default: DIR/vs-etcd.jsonl, truncated)
#   Programs: AEGIS_BENCH, AEGIS_CLUSTER, AEGIS_BENCH_NODE override where
#   they are looked for; AEGIS_BENCH_ARGS, AEGIS_CLUSTER_ARGS add arguments.
# Exit: 0 ok, 1 a run failed, 2 usage error.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

build=build
seconds=20
step=5
warmup=1
sweep=1,16,64,256,1024,2048,4096
cases=""
cpus=""
aegis_mode=auto
aegis_why=""
out=""
smoke=0
quick=0
etcd_reuse=0 # 1: one etcd cluster for every case (--smoke: starts are slow)

die() { echo "run.sh: $*" >&2; exit 1; }
usage_err() { echo "run.sh: $* (try --help)" >&2; exit 2; }
log() { echo "run.sh: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--quick) quick=1; seconds=3; step=2; shift ;;
	--smoke) smoke=1; seconds=2; step=1; warmup=0.5; sweep=1,16; etcd_reuse=1; shift ;;
	--sweep) sweep=$2; shift 2 ;;
	--cases) cases=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--aegis) aegis_mode=$2 aegis_why="--aegis $2"; shift 2 ;;
	--etcd-only) aegis_mode=none aegis_why="--etcd-only"; shift ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,/^# Exit/p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) usage_err "unknown option '$1'" ;;
	esac
done
case "$aegis_mode" in auto | cluster | external | node | none) ;; *) usage_err "--aegis: auto|cluster|external|node|none" ;; esac
[[ "$seconds" =~ ^[0-9]+([.][0-9]+)?$ ]] || usage_err "--seconds: a number"
[[ "$sweep" =~ ^[0-9]+(,[0-9]+)*$ ]] || usage_err "--sweep: a list like 1,16,64"
all_cases=writes,writes-1k,writes-64k,latency,reads-lin,reads-stale,checkperf
if [ -z "$cases" ]; then
	cases=$all_cases
	[ "$quick" -eq 1 ] && cases=${all_cases%,checkperf}
	[ "$smoke" -eq 1 ] && cases=writes,latency,reads-stale
fi
for c in ${cases//,/ }; do
	[[ ",$all_cases," == *",$c,"* ]] || usage_err "unknown case '$c' (cases: $all_cases)"
done
[ -z "$cpus" ] && cpus="0-$(($(nproc --all) - 1))"
[ -d "$build" ] || die "no build dir '$build' (meson setup $build && ninja -C $build)"
build=$(cd "$build" && pwd)
out=${out:-$build/vs-etcd.jsonl}
work=$build/vs-etcd
mkdir -p "$work"
: >"$out"

etcd_bench=$build/bench/vs-etcd/etcd-bench
[ -x "$etcd_bench" ] || die "no $etcd_bench (needs golang-go and golang-etcd-server-dev: tools/setup.sh, then ninja -C $build)"
command -v etcd >/dev/null || die "no etcd (tools/setup.sh installs etcd-server)"
export ETCD_DIR=${ETCD_DIR:-/var/tmp/aegis-vs-etcd/etcd} ETCD_PORT_BASE=${ETCD_PORT_BASE:-2300} ETCD_CPUS=$cpus
export AEGIS_CPUS=$cpus # for tools/aegis-cluster, if it places by it

# shellcheck source=aegis-side.sh
. "$here/aegis-side.sh"
aegis_pick_mode

# ---- CPU accounting: utime+stime of a set of pids, in seconds
clk_tck=$(getconf CLK_TCK)
cpu_of() { # pid... -> seconds of CPU used so far
	local p sum=0 t
	for p in "$@"; do
		t=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
		sum=$((sum + ${t:-0}))
	done
	awk -v s="$sum" -v h="$clk_tck" 'BEGIN { printf "%.3f", s / h }'
}
now() { date +%s.%N; }

# A load generator's stderr (its progress lines): kept in FILE, and shown
# unless progress=0 (sweep steps print one line each instead).
progress_sink() {
	if [ "${progress:-1}" = 1 ]; then
		tee "$1" | sed -u 's/^/run.sh:     /' >&2
	else
		cat >"$1"
	fi
}

# measure SPEC_FILE PIDS -- command...: runs the command; writes "CPU_S WALL_S"
# of PIDS from 1 s after the start (connections up, warmup under way) to its
# end into SPEC_FILE. No pids: no file. Returns the command's status.
measure() {
	local spec=$1 pids=$2 bg c0 t0 st=0
	shift 3
	"$@" &
	bg=$!
	sleep 1
	# shellcheck disable=SC2086
	c0=$(cpu_of ${pids//,/ })
	t0=$(now)
	wait "$bg" || st=$?
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		awk -v c0="$c0" -v c1="$(cpu_of ${pids//,/ })" -v t0="$t0" -v t1="$(now)" \
			'BEGIN { printf "%.3f %.3f\n", c1 - c0, t1 - t0 }' >"$spec"
	else
		rm -f "$spec"
	fi
	return "$st"
}

# ---- etcd side
etcd_up() {
	local envs
	[ "$etcd_reuse" -eq 1 ] && [ -n "${ETCD_PIDS:-}" ] && return 0
	envs=$("$here/etcd-cluster.sh" start) || die "etcd did not start"
	eval "$(grep -E '^ETCD_[A-Z_]+=[0-9A-Za-z.:,/_-]*$' <<<"$envs")"
}
etcd_down() {
	[ "$etcd_reuse" -eq 1 ] && [ "${1:-}" != final ] && return 0
	ETCD_PIDS=""
	"$here/etcd-cluster.sh" stop >/dev/null || log "etcd stop failed"
}

# etcd_run OUT INFLIGHT RATE OP CONSISTENCY KEY_BYTES VALUE_BYTES KEYS SECONDS
etcd_run() {
	local o=$1 n=$2 rate=$3 op=$4 cons=$5 kb=$6 vb=$7 keys=$8 secs=$9 conns eps
	conns=$((n < 100 ? n : 100))
	eps=$ETCD_LEADER # writes to the leader: etcd's best path, as in its docs
	[ "$op" = range ] && eps=$ETCD_ENDPOINTS
	: >"$o.log"
	measure "$o.cpu" "$ETCD_PIDS" -- taskset -c "$cpus" "$etcd_bench" "$op" --endpoints "$eps" \
		--conns "$conns" --clients "$n" --rate "$rate" --consistency "$cons" --preload=false \
		--key-size "$kb" --val-size "$vb" --key-space-size "$keys" \
		--duration "$secs" --warmup "$warmup" >"$o.log" 2> >(progress_sink "$o.progress") || {
		tail -n 5 "$o.progress" "$o.log" >&2
		return 1
	}
}
etcd_preload() { # KEYS VALUE_BYTES
	taskset -c "$cpus" "$etcd_bench" range --preload-only --endpoints "$ETCD_LEADER" \
		--conns 16 --clients 64 --key-size 16 --val-size "$2" --key-space-size "$1" >/dev/null
}

# ---- one side's runs
# run_side SIDE OUT INFLIGHT RATE OP CONS KB VB KEYS SECONDS
run_side() {
	local side=$1
	shift
	if [ "$side" = etcd ]; then etcd_run "$@"; else aegis_run "$@"; fi
}
fig() { python3 "$here/compare.py" get "$1.log" "$2" 2>/dev/null || echo 0; }

# sweep SIDE NAME OP CONS KB VB KEYS: tries the --sweep levels for $step s
# each until throughput stops growing by 10%; sets best_n and best_ops.
sweep_side() {
	local side=$1 name=$2 op=$3 cons=$4 kb=$5 vb=$6 keys=$7 n ops p99 misses=0
	best_n=0 best_ops=0 sweep_failed=0
	for n in ${sweep//,/ }; do
		if ! progress=0 run_side "$side" "$work/$side-$name-sweep-$n" "$n" 0 "$op" "$cons" "$kb" "$vb" "$keys" "$step"; then
			log "  $side $name: $n in flight failed"
			sweep_failed=1
			break
		fi
		ops=$(fig "$work/$side-$name-sweep-$n" ops_per_s)
		p99=$(fig "$work/$side-$name-sweep-$n" p99_us)
		printf 'run.sh:   %-5s %-12s %5d in flight: %10.0f ops/s  p99 %9.0f us\n' "$side" "$name" "$n" "$ops" "$p99" >&2
		# Saturated after two levels in a row without 10% more than the
		# best so far (one alone may be noise on a shared machine).
		if awk -v a="$ops" -v b="$best_ops" 'BEGIN { exit !(a >= 1.1 * b) }'; then
			misses=0
		else
			misses=$((misses + 1))
		fi
		if awk -v a="$ops" -v b="$best_ops" 'BEGIN { exit !(a > b) }'; then
			best_n=$n best_ops=$ops
		fi
		[ "$misses" -lt 2 ] || break
	done
	[ "$best_n" -gt 0 ]
}

setup_json() {
	local disk_e disk_a
	disk_e=$(df --output=source "$ETCD_DIR" 2>/dev/null | tail -1)
	disk_a=$(aegis_disk)
	printf '{"cpus":"%s","cores":%d,"etcd_cpus":"%s","etcd_client_cpus":"%s","aegis_cpus":"%s","aegis_client_cpus":"%s","etcd_version":"%s","etcd_disk":"%s","aegis_disk":"%s","aegis_mode":"%s","loadavg":"%s","host_cpus":%d}' \
		"$cpus" "$(taskset -c "$cpus" nproc)" "$cpus" "$cpus" "$(aegis_cpus)" "${AEGIS_CLIENT_CPUS:-$cpus}" \
		"$(etcd --version | sed -n 's/^etcd Version: //p')" \
		"$disk_e" "$disk_a" "$aegis_mode" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc --all)"
}

report_case() { # CASE WHAT METRIC ETCD_PREFIX AEGIS_PREFIX AEGIS_STATUS [EXTRA_JSON]
	local args=(case --case "$1" --what "$2" --metric "$3" --out "$out" --setup "$(setup_json)"
		--aegis-status "$6" --etcd "$4.log")
	[ -f "$4.cpu" ] && args+=(--etcd-cpu "$(cat "$4.cpu")")
	if [ "$6" = ok ]; then
		args+=(--aegis "$5.log")
		[ -f "$5.cpu" ] && args+=(--aegis-cpu "$(cat "$5.cpu")")
	fi
	[ -n "${7:-}" ] && args+=(--extra "$7")
	python3 "$here/compare.py" "${args[@]}"
}

declare -A max_ops # "etcd" / "aegis" -> writes/s at saturation (16 B / 64 B)
declare -A max_n
declare -A sat_n # side -> requests in flight of the last saturation run
failed=0

side_up() { # SIDE OP VALUE_BYTES KEYS: a fresh cluster, preloaded for reads
	if [ "$1" = etcd ]; then etcd_up; else aegis_up || return 1; fi
	[ "$2" = range ] || return 0
	if [ "$1" = etcd ]; then etcd_preload "$4" "$3"; else aegis_preload "$4" "$3"; fi
}

# A saturation case on one side: fresh cluster, sweep, the best level for
# --seconds. Sets the side's result prefix in res_prefix.
saturate() { # SIDE NAME OP CONS KB VB KEYS
	local side=$1 name=$2 p
	p="$work/$side-$name"
	res_prefix=$p
	side_up "$side" "$3" "$6" "$7" || return 1
	log "  $side $name: sweeping ${sweep} in flight, ${step} s each"
	if sweep_side "$@"; then
		sat_n[$side]=$best_n
		if [ "$sweep_failed" -eq 1 ]; then
			# An overload may have left it wedged: measure a fresh one.
			log "  $side $name: a fresh cluster for the final run (a sweep level failed)"
			if [ "$side" = etcd ]; then etcd_down; else aegis_down; fi
			side_up "$side" "$3" "$6" "$7" || return 1
		fi
		log "  $side $name: $best_n in flight for ${seconds} s"
		if run_side "$side" "$p" "$best_n" 0 "$3" "$4" "$5" "$6" "$7" "$seconds"; then
			[ "$name" = writes ] && { max_ops[$side]=$(fig "$p" ops_per_s); max_n[$side]=$best_n; }
			if [ "$side" = etcd ]; then etcd_down; else aegis_down; fi
			return 0
		fi
	fi
	if [ "$side" = etcd ]; then etcd_down; else aegis_down; fi
	return 1
}

case_saturation() { # CASE WHAT OP ETCD_CONS AEGIS_CONS KB VB KEYS
	local c=$1 what=$2 op=$3 ec=$4 ac=$5 kb=$6 vb=$7 keys=$8 e g st=ok
	log "case $c: $what"
	sat_n=()
	saturate etcd "$c" "$op" "$ec" "$kb" "$vb" "$keys" || { failed=$((failed + 1)); log "case $c: etcd failed"; return; }
	e=$res_prefix
	st=$(aegis_supports "$c")
	if [ "$st" = ok ]; then
		saturate aegis "$c" "$op" "$ac" "$kb" "$vb" "$keys" || { st="failed (see $work/aegis-$c*)"; failed=$((failed + 1)); }
	fi
	g=$work/aegis-$c
	report_case "$c" "$what" ops_per_s "$e" "$g" "$st" \
		"{\"in_flight\":{\"etcd\":${sat_n[etcd]:-0},\"aegis\":${sat_n[aegis]:-0}}}"
}

case_latency() {
	local side st=ok e g rate n warmup=$warmup
	[ "$smoke" -eq 1 ] || warmup=5 # the open loop starts from a steady state
	log "case latency: p99 of 16 B/64 B durable writes at 50% of each system's own maximum (open loop)"
	st=$(aegis_supports latency)
	for side in etcd aegis; do
		[ "$side" = aegis ] && [ "$st" != ok ] && continue
		if [ -z "${max_ops[$side]:-}" ]; then
			log "  $side: no writes case in this run: finding the maximum first"
			saturate "$side" writes put l 16 64 100000 || { failed=$((failed + 1)); [ "$side" = etcd ] && return; st=failed; continue; }
		fi
		rate=$(awk -v m="${max_ops[$side]}" 'BEGIN { printf "%d", m / 2 }')
		n=${max_n[$side]}
		log "  $side: $rate writes/s offered (half of ${max_ops[$side]}), up to $n in flight, ${seconds} s"
		if [ "$side" = etcd ]; then etcd_up; else aegis_up || { st=failed; continue; }; fi
		if ! run_side "$side" "$work/$side-latency" "$n" "$rate" put l 16 64 100000 "$seconds"; then
			[ "$side" = etcd ] && { etcd_down; failed=$((failed + 1)); return; }
			st=failed
			failed=$((failed + 1))
		fi
		if [ "$side" = etcd ]; then etcd_down; else aegis_down; fi
	done
	e=$work/etcd-latency g=$work/aegis-latency
	report_case latency "p99 at 50% of own max, 16 B keys, 64 B values, durable" p99_us "$e" "$g" "$st" \
		"{\"offered\":{\"etcd\":$(awk -v m="${max_ops[etcd]}" 'BEGIN{printf "%d", m/2}'),\"aegis\":$(awk -v m="${max_ops[aegis]:-0}" 'BEGIN{printf "%d", m/2}')}}"
}

case_checkperf() {
	local st e=$work/etcd-checkperf g=$work/aegis-checkperf secs=60
	log "case checkperf: etcdctl check perf --load=xl (60 s), then 15,000 puts/s from 1000 clients on Aegis"
	etcd_up
	measure "$e.cpu" "$ETCD_PIDS" -- taskset -c "$cpus" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" \
		check perf --load=xl >"$e.raw" 2>&1 || true
	etcd_down
	grep -E 'PASS|FAIL|Slowest|Stddev|Throughput' "$e.raw" | sed 's/^/run.sh:   etcd check perf: /' >&2
	python3 - "$e.raw" >"$e.log" <<'EOF'
import json, re, sys
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
def num(pat):
    m = re.search(pat, t)
    return float(m.group(1)) if m else None
ops = num(r"Throughput[^0-9]*?(\d+) writes/s")
print(json.dumps({"bench": "etcdctl check perf --load=xl", "ops_per_s": ops,
    "max_us": (num(r"[Ss]lowest request took[^0-9]*([0-9.]+)s") or 0) * 1e6,
    "stddev_us": (num(r"Stddev[^0-9]*([0-9.]+)s") or 0) * 1e6,
    "pass": bool(re.search(r"^PASS$", t, re.M)), "target_ops_per_s": 15000, "clients": 1000,
    "key_bytes": 276, "value_bytes": 1024, "seconds": 60}))
EOF
	[ "$quick" -eq 1 ] && secs=$seconds
	st=$(aegis_supports checkperf)
	if [ "$st" = ok ]; then
		if aegis_up; then
			# 276 B keys, as etcd's (its 20 B prefix + 256 B)
			aegis_run "$g" 1000 15000 put l 276 1024 100000 "$secs" || { st="failed (see $g.*)"; failed=$((failed + 1)); }
			aegis_down
		else
			st=failed
		fi
	fi
	report_case checkperf "check perf xl shape: 15,000 puts/s offered, 1000 clients, 276 B keys, 1 KiB values" \
		ops_per_s "$e" "$g" "$st"
}

cleanup() {
	etcd_down final 2>/dev/null || true
	aegis_down 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$aegis_mode" = cluster ] && [ "$(taskset -c "$cpus" nproc)" -ne "$(nproc --all)" ]; then
	log "note: --cpus $cpus pins etcd and etcd-bench; aegis-cluster places its nodes on every core (its layout is printed)"
fi
log "etcd $(etcd --version | sed -n 's/^etcd Version: //p') (3 members, data in $ETCD_DIR) vs Aegis ($aegis_mode$(aegis_desc))"
log "cores: $cpus for both clusters and both load generators ($(taskset -c "$cpus" nproc) of $(nproc --all)); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
log "cases: $cases; ${seconds} s measured per side (+${warmup} s warmup), sweep ${sweep} at ${step} s; JSON lines: $out"
start=$(date +%s)
for c in ${cases//,/ }; do
	case "$c" in
	writes) case_saturation writes "durable writes at saturation, 16 B keys, 64 B values" put l quorum 16 64 100000 ;;
	writes-1k) case_saturation writes-1k "durable writes at saturation, 16 B keys, 1 KiB values" put l quorum 16 1024 100000 ;;
	writes-64k) case_saturation writes-64k "durable writes at saturation, 16 B keys, 64 KiB values" put l quorum 16 65536 10000 ;;
	latency) case_latency ;;
	reads-lin) case_saturation reads-lin "linearizable reads at saturation, 10,000 keys of 64 B" range l quorum 16 64 10000 ;;
	reads-stale) case_saturation reads-stale "serializable (stale) reads at saturation, 10,000 keys of 64 B" range s one 16 64 10000 ;;
	checkperf) case_checkperf ;;
	esac
done

echo
echo "# vs-etcd: etcd $(etcd --version | sed -n 's/^etcd Version: //p') vs Aegis ($aegis_mode), cores $cpus each side (shared with the load generator), $(($(date +%s) - start)) s"
python3 "$here/compare.py" table "$out"
echo "# JSON lines: $out; logs: $work"
if [ "$smoke" -eq 1 ]; then
	python3 - "$out" "$cases" <<'EOF' || failed=$((failed + 1))
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
want = sys.argv[2].split(",")
got = [r["case"] for r in recs]
assert got == want, f"cases {got}, wanted {want}"
for r in recs:
    assert r["peer"] == "etcd" and r["peer_value"] and r["peer_value"] > 0, r
    assert r["etcd_cpu"] and r["etcd_cpu"]["cpu_s"] > 0, r
    if r["aegis_status"] == "ok":
        assert r["ratio"] and r["ratio"] > 0, r
print("run.sh: smoke: %d JSON lines checked" % len(recs), file=sys.stderr)
EOF
fi
[ "$failed" -eq 0 ] || die "$failed run(s) failed"
