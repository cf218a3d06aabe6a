#!/usr/bin/env bash
# Smoke run of aegis-bench-node: 3 aegisd on loopback, a 2-second write
# window; checks the JSON lines' shape, that writes
# succeeded, that every node stopped with exit 0 (the bench fails otherwise)
# and that the run dirs are gone.
set -euo pipefail
# meson sets MALLOC_PERTURB_ for every test and the nodes inherit it: with
# it, aegisd serves nothing (0 groups published, no packet received; a
# node bug, reported), which is not what this test is about.
unset MALLOC_PERTURB_
bench=${1:?usage: $0 AEGIS_BENCH_NODE}
export AEGIS_BENCH_DIR=$(mktemp -d /var/tmp/bench-node-it-XXXXXX)
trap 'rm -rf "$AEGIS_BENCH_DIR" "$AEGIS_BENCH_DIR.out"' EXIT
out=$AEGIS_BENCH_DIR.out
"$bench" --seconds 2 --warmup 0.5 --outstanding 64 --groups 0 | tee "$out"
python3 - "$out" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cases = {l["case"]: l for l in lines}
assert set(cases) == {"writes"}, cases.keys()
w = cases["writes"]
for k in ("writes_per_s", "writes", "p50_us", "p99_us", "p999_us", "max_us", "cores",
          "cpu_us_per_write_per_replica", "client_allocs_per_write", "node_allocs"):
    assert k in w, "writes: no " + k
assert w["bench"] == "aegis-bench-node" and w["writes"] > 0 and w["writes_per_s"] > 0, w
assert 0 < w["p50_us"] <= w["p99_us"] <= w["max_us"], w
assert w["cpu_us_per_write_per_replica"] > 0, w
print("bench_node smoke: ok (%d writes/s)" % w["writes_per_s"])
PY
left=$(find "$AEGIS_BENCH_DIR" -mindepth 1 -maxdepth 1 | wc -l)
[ "$left" = 0 ] || { echo "FAIL: run dirs left in $AEGIS_BENCH_DIR" >&2; exit 1; }
rm -f "$out"
