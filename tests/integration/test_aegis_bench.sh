#!/usr/bin/env bash
# aegis-bench against a 3-node aegisd cluster over kernel UDP on loopback:
#   usage errors exit 2;
#   a closed-loop run (writes, reads, CAS) with --record --verify passes,
#   with a progress line per second, the JSON line, the CSV and the plot
#   (or the message that gnuplot is missing, exit code unaffected);
#   an open-loop run appends to the record; --verify of both passes;
#   then, behind its back, a recorded key is deleted, one gets a value
#   aegis-bench never wrote and one gets an OLD acknowledged value back
#   (an overwrite with an old value): --verify exits 1 and names all three.
# AEGIS_BENCH_TEST_PORT0 picks the ports (node i: PORT0 + 10 i).
# The system's tools first: a python3 shim (pyenv) can cost seconds per call.
PATH="/usr/bin:/bin:$PATH"
. "$(dirname "$0")/aegisd/lib.sh"
AG_PORT0=${AEGIS_BENCH_TEST_PORT0:-$AG_PORT0}
BENCH="$AG_BUILD/bench/aegis-bench/aegis-bench"
[ -x "$BENCH" ] || ag_fail "no $BENCH"
KEYS=100

bench() {
	timeout -k 5 60 "$BENCH" --nodes "$(ag_nodes_arg)" --client-key "$AG_TMP/client.key" "$@"
}

expect_rc() { # expect_rc RC WHAT CMD...
	local want=$1 what=$2 rc=0
	shift 2
	"$@" >"$AG_TMP/out.txt" 2>"$AG_TMP/err.txt" || rc=$?
	if [ "$rc" != "$want" ]; then
		cat "$AG_TMP/out.txt" "$AG_TMP/err.txt" >&2
		ag_fail "$what: exit $rc, expected $want"
	fi
}

# json FILE EXPR: fails unless the Python EXPR over the JSON line j holds.
json() {
	python3 - "$1" "$2" <<'PY' || ag_fail "JSON check '$2' on $1: $(cat "$1")"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith("{")]
assert len(lines) == 1, "exactly one JSON line"
j = json.loads(lines[0])
assert j["bench"] == "aegis-bench"
assert eval("(" + sys.argv[2] + ")"), sys.argv[2]
PY
}

ag_keys
for i in 1 2 3; do ag_config "$i"; done
for i in 1 2 3; do ag_start "$i"; done
ag_wait_leaders 20

ag_log "usage errors"
expect_rc 2 "--threads 0" bench --threads 0
expect_rc 2 "no --nodes" timeout 10 "$BENCH" --client-key "$AG_TMP/client.key"
expect_rc 2 "--verify without a record" bench --verify
expect_rc 2 "--reads 80 --cas 30" bench --reads 80 --cas 30
expect_rc 2 "--dist zipf:1.5" bench --dist zipf:1.5
expect_rc 0 "--help" timeout 10 "$BENCH" --help
grep -q -- "--outstanding" "$AG_TMP/out.txt" || ag_fail "--help does not list --outstanding"

ag_log "closed loop, 3 s, record and verify"
expect_rc 0 "closed loop" bench --duration 3 --warmup 0.5 --outstanding 64 --keys $KEYS --reads 20 --cas 10 \
	--record "$AG_TMP/rec1.txt" --verify --csv "$AG_TMP/run1.csv" --plot "$AG_TMP/run1.png"
cp "$AG_TMP/out.txt" "$AG_TMP/run1.out"
grep -q "^\[ *[0-9]* s\] .* ops/s .*p99" "$AG_TMP/err.txt" || ag_fail "no progress line: $(cat "$AG_TMP/err.txt")"
grep -q "^throughput: " "$AG_TMP/out.txt" || ag_fail "no summary"
json "$AG_TMP/out.txt" 'j["mode"] == "closed" and j["ops"] > 0 and j["ops_per_s"] > 0 and j["errors"] == 0
    and j["latency_us"]["p50"] > 0 and j["latency_us"]["p99"] >= j["latency_us"]["p50"]
    and j["latency_us"]["max"] >= j["latency_us"]["p999"] and j["read_latency_us"]["n"] > 0
    and j["cas_latency_us"]["n"] > 0 and j["verify"]["passed"] and j["verify"]["keys"] > 0
    and j["acked_writes"] == j["verify"]["writes"] and len(j["nodes"]) == 3 and j["exit_code"] == 0
    and j["cores_usable"] >= 1 and j["value_bytes"] == 64 and j["write_consistency"] == "quorum"'
[ "$(wc -l <"$AG_TMP/rec1.txt")" -gt 0 ] || ag_fail "empty record"
[ "$(grep -c ',run,' "$AG_TMP/run1.csv")" -ge 2 ] || ag_fail "CSV: $(cat "$AG_TMP/run1.csv")"
if command -v gnuplot >/dev/null; then
	[ "$(head -c 4 "$AG_TMP/run1.png" | od -An -c | tr -d ' ')" = '211PNG' ] || ag_fail "no PNG from gnuplot"
fi

# Old acknowledged values, read now, written back after run 2 overwrote them.
declare -A OLD=()
for k in $(awk '{print $1}' "$AG_TMP/rec1.txt" | sort -u | head -n 3); do
	OLD[$k]=$(ag_cli get "$k") || ag_fail "get $k"
done

ag_log "open loop, 1.5 s at 1000 ops/s, no gnuplot on the PATH"
expect_rc 0 "open loop" timeout -k 5 60 env PATH=/nonexistent "$BENCH" --nodes "$(ag_nodes_arg)" \
	--client-key "$AG_TMP/client.key" --rate 1000 --threads 2 --duration 1.5 --warmup 0.25 --keys $KEYS \
	--dist zipf --reads 10 --record "$AG_TMP/rec2.txt" --plot "$AG_TMP/run2.png" --json "$AG_TMP/run2.json"
grep -q "gnuplot is not installed" "$AG_TMP/err.txt" || ag_fail "no word about the missing gnuplot"
grep -q "^open loop: .* late" "$AG_TMP/out.txt" || ag_fail "no open-loop line: $(cat "$AG_TMP/out.txt")"
json "$AG_TMP/run2.json" 'j["mode"] == "open" and j["rate"] == 1000 and j["threads"] == 2 and j["ops"] > 0
    and "late" in j and "not_sent" in j and j["schedule_lag_us"]["n"] == j["started"] and j["dist"] == "zipf"'

cat "$AG_TMP/rec1.txt" "$AG_TMP/rec2.txt" >"$AG_TMP/all.txt"
ag_log "verify both runs' records"
expect_rc 0 "verify of both runs" bench --verify "$AG_TMP/all.txt"
grep -q "PASSED" "$AG_TMP/out.txt" || ag_fail "verify: $(cat "$AG_TMP/out.txt")"

ag_log "break three recorded keys behind its back"
mapfile -t KS < <(awk '{print $1}' "$AG_TMP/all.txt" | sort -u)
STALE=""
for k in "${!OLD[@]}"; do # an old value of a key that run 2 wrote again
	grep -q "^$k " "$AG_TMP/rec2.txt" && { STALE=$k; break; }
done
[ -n "$STALE" ] || ag_fail "run 2 rewrote none of ${!OLD[*]}"
GONE="" FOREIGN=""
for k in "${KS[@]}"; do
	[ "$k" = "$STALE" ] && continue
	if [ -z "$GONE" ]; then GONE=$k; elif [ -z "$FOREIGN" ]; then FOREIGN=$k; break; fi
done
ag_cli del "$GONE" || ag_fail "del $GONE"
ag_cli put "$FOREIGN" "not-a-bench-value" || ag_fail "put $FOREIGN"
ag_cli put "$STALE" "${OLD[$STALE]}" || ag_fail "put $STALE"
expect_rc 1 "verify after the damage" bench --verify "$AG_TMP/all.txt" --json "$AG_TMP/v.json"
grep -q "verify: $GONE: missing" "$AG_TMP/err.txt" || ag_fail "$GONE not named missing: $(cat "$AG_TMP/err.txt")"
grep -q "verify: $FOREIGN: foreign" "$AG_TMP/err.txt" || ag_fail "$FOREIGN not named foreign: $(cat "$AG_TMP/err.txt")"
grep -q "verify: $STALE: stale" "$AG_TMP/err.txt" || ag_fail "$STALE not named stale: $(cat "$AG_TMP/err.txt")"
json "$AG_TMP/v.json" 'j["verify"]["missing"] == 1 and j["verify"]["foreign"] == 1 and j["verify"]["stale"] == 1
    and not j["verify"]["passed"] and j["exit_code"] == 1'
cat "$AG_TMP/err.txt" >&2

ag_log "history of 8 hot keys, 2 threads: aegis-lincheck finds it linearizable"
# --ops: the checker decides at most LIN_OPS_MAX (512) operations per key.
expect_rc 0 "history run" bench --duration 1.5 --ops 3000 --warmup 0 --threads 2 --outstanding 8 --keys 8 \
	--key-bytes 4 --value-bytes 32 --reads 50 --read-consistency quorum --history "$AG_TMP/h.txt"
LINCHECK="$AG_BUILD/tests/lincheck/aegis-lincheck"
"$LINCHECK" "$AG_TMP/h.txt" >"$AG_TMP/lin.txt" 2>&1 || ag_fail "lincheck: $(cat "$AG_TMP/lin.txt")"
grep -q " 0 not linearizable, 0 undecided" "$AG_TMP/lin.txt" || ag_fail "lincheck: $(cat "$AG_TMP/lin.txt")"
[ "$(grep -c ' get ' "$AG_TMP/h.txt")" -gt 10 ] && [ "$(grep -c ' put ' "$AG_TMP/h.txt")" -gt 10 ] ||
	ag_fail "history: too few ops: $(wc -l <"$AG_TMP/h.txt")"
# The same history with one answered read moved after a later write of its
# key (one that began after the write the read saw had ended): the checker
# must refuse it.
python3 - "$AG_TMP/h.txt" "$AG_TMP/hbad.txt" <<'PY'
import sys
ops = [l.split() for l in open(sys.argv[1])]
for g in ops:
    if g[1] != "get" or g[4] == "-":
        continue
    src = [p for p in ops if p[1] == "put" and p[2] == g[2]]  # the write it saw
    if g[2] != "0" and (not src or src[0][4] == "-"):
        continue
    seen_end = int(src[0][4]) if src else 0
    # a write that started after the seen one ended: the read cannot follow it
    later = [p for p in ops if p[0] == g[0] and p[1] == "put" and p[4] != "-" and p[2] != g[2]
             and int(p[3]) > int(g[4]) and int(p[3]) > seen_end]
    if later:
        p = later[0]
        g[3], g[4] = str(int(p[4]) + 1), str(int(p[4]) + 2)
        break
else:
    sys.exit("no read to move")
open(sys.argv[2], "w").write("".join(" ".join(o) + "\n" for o in ops))
PY
"$LINCHECK" "$AG_TMP/hbad.txt" >"$AG_TMP/lin.txt" 2>&1
[ $? = 1 ] || ag_fail "lincheck took a stale read: $(cat "$AG_TMP/lin.txt")"

ag_log "bad client datagrams to every node during a load: each dropped and counted, or answered with an error"
INJECT="$AG_BUILD/tests/integration/client_inject"
drops() { # drops counted on all nodes (client parser and port)
	local i t=0
	for i in 1 2 3; do t=$((t + $(ag_status "$i" 'sum(w["clients"]["drops"] + w["dp"]["drops"] for w in W)'))); done
	echo "$t"
}
d0=$(drops)
bench --duration 3 --warmup 0 --outstanding 64 --keys 1000 --quiet --json "$AG_TMP/inj.json" \
	>"$AG_TMP/inj.out" 2>&1 &
sleep 1
"$INJECT" --key-file "$AG_TMP/client.key" $(for i in 1 2 3; do echo "$(ag_ip "$i"):$(ag_port "$i")"; done) \
	>"$AG_TMP/inject.txt" 2>&1 || ag_fail "client_inject: $(cat "$AG_TMP/inject.txt")"
wait $! || ag_fail "load during the injection: $(cat "$AG_TMP/inj.out")"
json "$AG_TMP/inj.json" 'j["errors"] == 0 and j["ops"] > 0'
d1=$(drops)
want=$(sed -n 's/^drops_expected //p' "$AG_TMP/inject.txt")
[ $((d1 - d0)) = "$want" ] || ag_fail "nodes counted $((d1 - d0)) drops, expected $want: $(cat "$AG_TMP/inject.txt")"
[ "$(ag_cli get inject-replay)" = once ] || ag_fail "the replayed write: $(ag_cli get inject-replay)"
sed 's/^/  /' "$AG_TMP/inject.txt" >&2

ag_log "64 KiB values, 64 in flight: every write answered (the log's payload quota once filled up"
ag_log "with entries kept behind for followers, and every proposal got BUSY until it timed out)"
expect_rc 0 "64 KiB writes" bench --duration 3 --warmup 0 --outstanding 64 --keys 64 --value-bytes 65536 \
	--record "$AG_TMP/big.txt" --verify --json "$AG_TMP/big.json"
json "$AG_TMP/big.json" 'j["errors"] == 0 and j["unfinished"] == 0 and j["ops"] >= 32 and j["verify"]["passed"]'
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("  %.0f writes/s of 64 KiB, p99 %.0f ms" % (j["ops_per_s"], j["latency_us"]["p99"] / 1000))' "$AG_TMP/big.json" >&2

for i in 1 2 3; do ag_stop "$i"; done
echo "aegis-bench test: ok"
