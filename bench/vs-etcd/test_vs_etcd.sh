#!/usr/bin/env bash
# Exercises bench/vs-etcd/run.sh --smoke: the etcd side for real (3 members,
# etcd-bench), the Aegis side through the cluster interface with stand-ins for
# tools/aegis-cluster and aegis-bench (or, with --real, whatever run.sh finds).
# Checks the JSON lines: every case, "peer":"etcd", ratios that follow from
# the stand-in's figures, the flags aegis-bench was given.
#
#   test_vs_etcd.sh BUILD_DIR [--real]
# Exit: 0 pass, 1 fail, 77 skip (no etcd or no etcd-bench).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: test_vs_etcd.sh BUILD_DIR [--real]}" && pwd)
real=${2:-}

command -v etcd >/dev/null || { echo "SKIP: no etcd (tools/setup.sh)"; exit 77; }
[ -x "$build/bench/vs-etcd/etcd-bench" ] || { echo "SKIP: no etcd-bench (golang-etcd-server-dev)"; exit 77; }

tmp=$(mktemp -d /tmp/vs-etcd-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out.jsonl

if [ "$real" = --real ]; then
	"$here/run.sh" --smoke --build "$build" --out "$out"
	exit
fi

# Stand-ins: aegis-cluster prints env; aegis-bench logs its arguments and
# reports 2000 ops/s per request in flight, p99 1 ms (half of it at a rate).
cat >"$tmp/aegis-cluster" <<EOF
#!/usr/bin/env bash
case "\$1" in
start) echo "layout: node 1 on PU 0 (stand-in)"; touch "$tmp/up" ;;
env) echo "AEGIS_NODES='1=127.0.0.1:1,2=127.0.0.1:2'"; echo "AEGIS_CLIENT_KEY='$tmp/client.key'"
     echo "AEGIS_CLIENT_EXEC='env'"; echo "AEGIS_PIDS='\$\$'"; echo "AEGIS_CLUSTER_DIR='/var/tmp'" ;;
stop) rm -f "$tmp/up" ;;
esac
EOF
cat >"$tmp/aegis-bench" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$tmp/bench-args"
[ -f "$tmp/up" ] || { echo "aegis-bench: cluster not started" >&2; exit 1; }
n=1 rate=0 dur=1 json=""
while [ \$# -gt 0 ]; do
	case "\$1" in
	--outstanding) n=\$2; shift ;; --rate) rate=\$2; shift ;;
	--duration) dur=\$2; shift ;; --json) json=\$2; shift ;;
	esac
	shift
done
sleep "\$dur"
echo "[ 1s run] progress" >&2
ops=\$((2000 * n)) p99=1000
[ "\$rate" != 0 ] && ops=\$rate p99=500
echo "{\"bench\":\"aegis-bench\",\"ops_per_s\":\$ops,\"errors\":0,\"latency_us\":{\"p50\":100,\"p99\":\$p99,\"p999\":2000,\"max\":3000}}" >"\$json"
EOF
chmod +x "$tmp/aegis-cluster" "$tmp/aegis-bench"

AEGIS_CLUSTER=$tmp/aegis-cluster AEGIS_BENCH=$tmp/aegis-bench \
	"$here/run.sh" --smoke --aegis cluster --build "$build" --out "$out"

python3 - "$out" "$tmp/bench-args" <<'EOF'
import json, sys
recs = {r["case"]: r for r in map(json.loads, open(sys.argv[1]))}
args = open(sys.argv[2]).read().splitlines()
assert list(recs) == ["writes", "latency", "reads-stale"], list(recs)
for c, r in recs.items():
    assert r["peer"] == "etcd" and r["aegis_status"] == "ok", r
    assert r["peer_value"] > 0 and r["ours"] > 0 and r["ratio"] > 0, r
    assert r["etcd_cpu"]["cpu_s"] > 0 and r["setup"]["cores"] >= 1, r
w = recs["writes"]
# the stand-in saturates at the last sweep level (16): 32000 ops/s
assert w["ours"] == 32000 and w["in_flight"]["aegis"] == 16, w
assert abs(w["ratio"] - 32000 / w["peer_value"]) < 1e-3 * w["ratio"], w
lat = recs["latency"]
assert lat["metric"] == "p99_us" and lat["ours"] == 500, lat
assert abs(lat["ratio"] - lat["peer_value"] / 500) < 1e-3 * lat["ratio"], lat
assert lat["offered"]["aegis"] == 16000, lat
assert any("--rate 16000" in a and "--consistency quorum" in a for a in args), args
assert any("--reads 100 --read-consistency one" in a for a in args), args
assert all("--client-key" in a and "--warmup" in a and "--json" in a for a in args), args
print("test_vs_etcd: %d cases, %d aegis-bench runs checked" % (len(recs), len(args)))
EOF
