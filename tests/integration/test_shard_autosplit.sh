#!/usr/bin/env bash
# Automatic range splits and merges on a real 3-node aegisd cluster (kernel
# UDP, 8 shards, split points "g", "n": shards 0-2 hold keys, 3-7 spare):
#   split: sharding.split_bytes = 256 KiB; 6,000 keys of 100 B ("p0000"..)
#          land in shard 2's range [n, +inf): the node leading it splits it
#          at its middle key into a spare, and again, until no range holds
#          more than split_bytes; every key reads back, a scan returns each
#          once.
#   merge: the nodes restart with split_bytes = 4 MiB, merge_bytes = 1.9
#          MiB: the ranges the splits made merge back, one pair at a time,
#          into [n, +inf) on shard 2 (the config's split points stay); the
#          range table survived the restart; every key reads back.
# Usage: test_shard_autosplit.sh BUILD_DIR
. "$(dirname "$0")/aegisd/lib.sh"

AG_STRATEGY=range AG_SHARDING_EXTRA='split_points = ["g", "n"]'
AG_SET="sharding.split_bytes=262144"
ag_keys
for i in 1 2 3; do ag_config "$i"; done
for i in 1 2 3; do ag_start "$i"; done
ag_wait_leaders 20
ag_cli load --prefix p --keys 6000 --value-bytes 100 || ag_fail "load"

# ranges N: the active shards' "shard:range:kv_bytes" on node N
ranges() { ag_status "$1" '" ".join("%d:%s:%d" % (s["shard"], s.get("range").replace(" ", ""), s["kv_bytes"]) for s in sorted(S, key=lambda s: s.get("range") or "") if s.get("state") != "inactive" and s["shard"] < 8)'; }
for k in $(seq 1 300); do
	r=$(ranges 1)
	big=$(echo "$r" | tr ' ' '\n' | awk -F: '$NF > 262144' | wc -l)
	n=$(echo "$r" | wc -w)
	[ "$big" = 0 ] && [ "$n" -ge 5 ] && break
	sleep 0.1
done
ag_log "ranges after the automatic splits: $r"
[ "$big" = 0 ] && [ "$n" -ge 5 ] || ag_fail "ranges over split_bytes remain (or no split): $r"
grep -h "split_bytes\|split at" "$AG_TMP"/n*.log >&2
ag_cli verify --prefix p --keys 6000 --value-bytes 100 || ag_fail "verify after the splits"
[ "$(ag_cli scan --keys-only | wc -l)" = 6000 ] || ag_fail "scan after the splits"

for i in 1 2 3; do ag_stop "$i"; done
AG_SET="sharding.split_bytes=4194304 sharding.merge_bytes=1992294"
for i in 1 2 3; do ag_start "$i"; done
ag_wait_leaders 20
for k in $(seq 1 400); do
	r=$(ranges 1)
	[ "$(echo "$r" | wc -w)" = 3 ] && break
	sleep 0.1
done
ag_log "ranges after the automatic merges: $r"
echo "$r" | grep -q '^0:\[-inf,g):0 1:\[g,n):0 2:\[n,+inf):' || ag_fail "the ranges did not merge back to the config's: $r"
grep -h "merge_bytes\|merge into" "$AG_TMP"/n*.log >&2
ag_cli verify --prefix p --keys 6000 --value-bytes 100 || ag_fail "verify after the merges"
[ "$(ag_cli scan --keys-only | wc -l)" = 6000 ] || ag_fail "scan after the merges"

# A merge the target cannot hold (each shard's budget: 8 MiB / 8 shards)
# fails cleanly: both ranges stay, both take writes again, nothing is lost.
for i in 1 2 3; do ag_stop "$i"; done
AG_SET="sharding.split_bytes=0 node.memory_bytes_max=8388608"
for i in 1 2 3; do ag_start "$i"; done
ag_wait_leaders 20
lead=$(ag_status 1 '[s["leader"] for s in S if s["shard"] == 2][0]')
ag_ctl "$lead" shard split 2 p3 --timeout 60 || ag_fail "split 2 at p3"
ag_cli load --prefix p3z --keys 2000 --value-bytes 100 || ag_fail "load the upper part"
up=$(ag_status 1 '[s["shard"] for s in S if (s.get("range") or "").startswith("[p3,")][0]')
ag_log "upper part on shard $up: $(ranges 1)"
lead=$(ag_status 1 '[s["leader"] for s in S if s["shard"] == '"$up"'][0]')
out=$(ag_ctl "$lead" shard merge "$up" --timeout 60 2>&1) && ag_fail "a merge over the budget succeeded: $out"
ag_log "merge over the budget: $out"
grep -h "refused a copied key" "$AG_TMP/n$lead.log" >&2 || ag_fail "no log line says why the merge failed"
r=$(ranges 1)
echo "$r" | grep -q "\[n,p3):.* $up:\[p3,+inf):" || ag_fail "the ranges changed: $r"
ag_cli put p3-after v || ag_fail "a write to the upper range after the failed merge"
ag_cli put o-after v || ag_fail "a write to the lower range after the failed merge"
ag_cli verify --prefix p --keys 6000 --value-bytes 100 || ag_fail "verify after the failed merge"
ag_cli verify --prefix p3z --keys 2000 --value-bytes 100 || ag_fail "verify the upper part after the failed merge"
[ "$(ag_cli scan --keys-only | wc -l)" = 8002 ] || ag_fail "scan after the failed merge"
ag_log "PASS"
