#!/usr/bin/env python3
"""JSON glue for bench/vs-etcd/run.sh: reads the load generators' JSON lines,
prints each case side by side and writes one combined JSON line per case.

  compare.py get FILE FIELD       a normalised figure of FILE's result line
  compare.py case ARGS...         one case: print the row, append the JSON line
  compare.py table FILE           the summary table of a run's JSON lines

Normalised figures: ops_per_s, p50_us, p90_us, p99_us, p999_us, max_us,
errors. etcd-bench writes them under these names; aegis-bench's and
aegis-bench-node's names are looked up among the usual spellings, so a renamed
key costs a line here, not a wrong figure (an unknown one is an error).
"""
import argparse
import json
import sys

# Figure -> the keys it may have in a load generator's JSON (first wins).
ALIASES = {
    "ops_per_s": ["ops_per_s", "ops_s", "throughput_ops_s", "throughput",
                  "writes_per_s", "reads_per_s", "rate_ops_s"],
    "p50_us": ["p50_us", "latency_p50_us", "lat_p50_us"],
    "p90_us": ["p90_us", "latency_p90_us", "lat_p90_us"],
    "p99_us": ["p99_us", "latency_p99_us", "lat_p99_us"],
    "p999_us": ["p999_us", "p99_9_us", "latency_p999_us", "lat_p999_us"],
    "max_us": ["max_us", "latency_max_us", "lat_max_us"],
    "errors": ["errors", "errs", "failed"],
}


def lookup(rec, field):
    for k in ALIASES.get(field, [field]):
        if k in rec:
            return rec[k]
        # nested {"latency_us": {"p99": ..}}
        lat = rec.get("latency_us")
        if isinstance(lat, dict) and field.endswith("_us"):
            short = field[:-3]
            if short in lat:
                return lat[short]
        if k.endswith("_us") and k[:-3] + "_ns" in rec:
            return rec[k[:-3] + "_ns"] / 1000.0
    return None


def result_line(path):
    """The last JSON line of FILE that carries a throughput: the result."""
    best = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if lookup(rec, "ops_per_s") is not None:
                best = rec
    return best


def norm(rec):
    return {k: lookup(rec, k) for k in ALIASES} if rec else None


def cmd_get(a):
    rec = result_line(a.file)
    v = lookup(rec, a.field) if rec else None
    if v is None:
        print(f"compare.py: no '{a.field}' in {a.file}", file=sys.stderr)
        return 1
    print(f"{v:.3f}" if isinstance(v, float) else v)
    return 0


def cpu(spec, ops_per_s):
    """'CPU_S WALL_S' sampled by run.sh -> cores used and CPU us per op."""
    if not spec:
        return None
    cpu_s, wall_s = (float(x) for x in spec.split())
    cores = cpu_s / wall_s if wall_s > 0 else None
    out = {"cpu_s": round(cpu_s, 3), "wall_s": round(wall_s, 3),
           "cores": round(cores, 3) if cores is not None else None}
    if cores is not None and ops_per_s:
        out["cpu_us_per_op"] = round(cores * 1e6 / ops_per_s, 2)
    return out


def client_cpu(rec):
    """The load generator's own CPU in its window, from its JSON line."""
    if not rec:
        return None
    secs = rec.get("seconds") or rec.get("window_s") or rec.get("duration_s")
    cpu_s = rec.get("client_cpu_s")
    if cpu_s is None and "client_cpu_us_per_write" in rec and "writes" in rec:
        cpu_s = rec["client_cpu_us_per_write"] * rec["writes"] / 1e6
    if cpu_s is None or not secs:
        return None
    return {"cpu_s": round(cpu_s, 3), "cores": round(cpu_s / secs, 3)}


def fmt(metric, v):
    if v is None:
        return "-"
    return f"{v:,.0f} ops/s" if metric == "ops_per_s" else f"{v:,.0f} us"


def cmd_case(a):
    e_rec = result_line(a.etcd) if a.etcd else None
    g_rec = result_line(a.aegis) if a.aegis else None
    e, g = norm(e_rec), norm(g_rec)
    ev = e[a.metric] if e else None
    gv = g[a.metric] if g else None
    ratio = None
    if ev and gv:
        # Higher is better: throughput ours/etcd's, latency etcd's/ours.
        ratio = gv / ev if a.metric == "ops_per_s" else ev / gv
    e_cpu = cpu(a.etcd_cpu, e and e["ops_per_s"])
    g_cpu = cpu(a.aegis_cpu, g and g["ops_per_s"])
    rec = {"bench": "vs-etcd", "case": a.case, "what": a.what, "peer": "etcd",
           "metric": a.metric, "ours": gv, "peer_value": ev,
           "ratio": round(ratio, 4) if ratio is not None else None,
           "aegis": g_rec, "etcd": e_rec, "aegis_cpu": g_cpu, "etcd_cpu": e_cpu,
           "aegis_client_cpu": client_cpu(g_rec), "etcd_client_cpu": client_cpu(e_rec),
           "aegis_status": a.aegis_status, "setup": json.loads(a.setup)}
    if a.extra:
        rec.update(json.loads(a.extra))
    with open(a.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec, sort_keys=False) + "\n")
    print(row(rec))
    print(json.dumps(rec))
    return 0


def cores(c, client):
    s = f"{c['cores']:.2f} cores" if c and c.get("cores") is not None else "-"
    if client:
        s += f" + client {client['cores']:.2f}"
    return s


def row(rec):
    m = rec["metric"]
    r = rec["ratio"]
    e_cpu = "(" + cores(rec["etcd_cpu"], rec.get("etcd_client_cpu")) + ")"
    g_cpu = "(" + cores(rec["aegis_cpu"], rec.get("aegis_client_cpu")) + ")"
    return (f"{rec['case']:<12} {m:<10} etcd {fmt(m, rec['peer_value']):>16} {e_cpu:<26} "
            f"aegis {fmt(m, rec['ours']):>16} {g_cpu:<26} ratio {('%.2fx' % r) if r else '-':>8}"
            + ("" if rec["aegis_status"] == "ok" else f"  [aegis: {rec['aegis_status']}]"))


def cmd_table(a):
    with open(a.file, encoding="utf-8") as f:
        recs = [json.loads(l) for l in f if l.startswith("{")]
    print(f"{'case':<12} {'metric':<10} {'etcd (CPU: servers + load generator)':<48}"
          f"{'aegis (the same)':<50}ratio")
    for rec in recs:
        print(row(rec))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("file")
    g.add_argument("field")
    c = sub.add_parser("case")
    c.add_argument("--case", required=True)
    c.add_argument("--what", required=True, help="the workload in words")
    c.add_argument("--metric", required=True, choices=["ops_per_s", "p99_us"])
    c.add_argument("--etcd", help="etcd-bench output")
    c.add_argument("--aegis", help="aegis-bench output")
    c.add_argument("--etcd-cpu", help="'CPU_S WALL_S'")
    c.add_argument("--aegis-cpu", help="'CPU_S WALL_S'")
    c.add_argument("--aegis-status", default="ok")
    c.add_argument("--setup", default="{}", help="JSON object")
    c.add_argument("--extra", help="JSON object merged into the line")
    c.add_argument("--out", required=True)
    t = sub.add_parser("table")
    t.add_argument("file")
    a = p.parse_args()
    return {"get": cmd_get, "case": cmd_case, "table": cmd_table}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
