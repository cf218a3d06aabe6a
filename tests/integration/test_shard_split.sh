#!/usr/bin/env bash
# A range split on a real 3-node aegisd cluster (kernel UDP on loopback, 8
# shards, split points "g", "n": shards 0-2 hold keys, 3-7 are spares):
# 3,000 keys "k0".."k2999" live on shard 1 ([g, n)); `aegisctl shard split 1
# k5` on the node leading shard 1 while a writer puts more keys of the
# range: the keys from "k5" up go to spare shard 3 (shard 1's worker index,
# a replica on that node), the new table is on record and every node
# routes by it.
# Checked: aegisctl waits for the split and exits 0; shard 3's range is
# [k5, n) and shard 1's [g, k5) on every node; the key counts add up (shard
# 1 keeps the keys below k5, shard 3 holds the others, none twice once the
# moved keys are dropped); every key loaded and every write the writer had
# acknowledged reads back (verify, verify-acked); a scan returns every key
# once; a put of a moved key lands on shard 3; refusals: a key outside the
# range, a spare asked to split, another node than the leader.
# Usage: test_shard_split.sh BUILD_DIR
. "$(dirname "$0")/aegisd/lib.sh"

AG_STRATEGY=range AG_SHARDING_EXTRA='split_points = ["g", "n"]'
ag_keys
for i in 1 2 3; do ag_config "$i"; done
for i in 1 2 3; do ag_start "$i"; done
ag_wait_leaders 20
ag_cli load --prefix k --keys 3000 --value-bytes 64 || ag_fail "load"

# counts N: "shard:keys" of shards 1 and 3 on node N
counts() { ag_status "$1" '" ".join("%d:%d" % (s["shard"], s["keys"]) for s in sorted(S, key=lambda s: s["shard"]) if s["shard"] in (1, 3))'; }
ag_log "before: $(counts 1)"
lead=$(ag_status 1 '[s["leader"] for s in S if s["shard"] == 1][0]')
other=$((lead % 3 + 1))
ag_log "shard 1 is led by node $lead"

# Refusals, each with a clear message and exit 1.
out=$(ag_ctl "$lead" shard split 1 a 2>&1) && ag_fail "a key below the range was accepted"
echo "$out" | grep -q "not strictly inside" || ag_fail "refusal of a key outside the range: $out"
out=$(ag_ctl "$lead" shard split 4 x 2>&1) && ag_fail "a spare was split"
echo "$out" | grep -Eq "spare|does not lead" || ag_fail "refusal of a spare: $out"
out=$(ag_ctl "$other" shard split 1 k5 2>&1) && ag_fail "a node that does not lead shard 1 took the split"
echo "$out" | grep -q "does not lead" || ag_fail "refusal elsewhere: $out"

# A writer of the range meanwhile (the moved part gets BUSY, then the new map).
ag_cli load --prefix kw --keys 8000 --value-bytes 32 --window 4 --acked-file "$AG_TMP/acked" \
	>"$AG_TMP/writer.out" 2>&1 &
writer=$!
sleep 0.3
t0=$(date +%s.%N)
ag_ctl "$lead" shard split 1 k5 --timeout 60 || ag_fail "aegisctl shard split"
ag_log "split done in $(echo "$(date +%s.%N) - $t0" | bc) s"
wait "$writer" || ag_fail "the writer: $(tail -3 "$AG_TMP/writer.out")"
ag_log "writer: $(tail -1 "$AG_TMP/writer.out")"

for i in 1 2 3; do
	for k in $(seq 1 50); do
		r=$(ag_status "$i" '"%s|%s" % ([s.get("range") for s in S if s["shard"] == 1][0], [s.get("range") for s in S if s["shard"] == 3][0])')
		[ "$r" = "[g, k5)|[k5, n)" ] && break
		sleep 0.1
	done
	[ "$r" = "[g, k5)|[k5, n)" ] || ag_fail "node $i routes by ranges '$r'"
done
ag_cli verify --prefix k --keys 3000 --value-bytes 64 || ag_fail "verify the loaded keys"
ag_cli verify-acked --acked-file "$AG_TMP/acked" || ag_fail "verify the writer's acknowledged keys"
all=$(ag_cli scan --keys-only | sort -u | wc -l)
n=$(ag_cli scan --keys-only | wc -l)
ag_log "scan: $n keys, $all distinct"
[ "$n" = "$all" ] || ag_fail "a scan returned keys twice"
# k* below "k5" sort before it; the moved ones from k5 up.
want_hi=$( (seq -f 'k%g' 0 2999; sed 's/ .*//' "$AG_TMP/acked") | sort -u | awk '$0 >= "k5"' | wc -l)
want_all=$( (seq -f 'k%g' 0 2999; sed 's/ .*//' "$AG_TMP/acked") | sort -u | wc -l)
[ "$n" = "$want_all" ] || ag_fail "scan: $n keys, want $want_all"
for k in $(seq 1 50); do
	c=$(counts 1)
	[ "$c" = "1:$((want_all - want_hi)) 3:$want_hi" ] && break
	sleep 0.1
done
ag_log "after: $c (want 1:$((want_all - want_hi)) 3:$want_hi)"
[ "$c" = "1:$((want_all - want_hi)) 3:$want_hi" ] || ag_fail "keys per shard after the split: $c"
ag_cli put k9-new v || ag_fail "put a moved key"
[ "$(ag_cli get k9-new)" = v ] || ag_fail "get it back"
ag_log "leader's splits: $(ag_status "$lead" 'd["splits"]'); BUSY answers: $(ag_status "$lead" 'sum(w["clients"]["busy"] for w in W)')"

# Merge shard 3 back into shard 1 (asked of shard 3's leader) under a
# writer: [g, n) on shard 1 again, shard 3 a spare without keys.
lead3=$(ag_status 1 '[s["leader"] for s in S if s["shard"] == 3][0]')
out=$(ag_ctl "$lead3" shard merge 0 2>&1) && ag_fail "the first range was merged"
echo "$out" | grep -Eq "first|does not lead" || ag_fail "refusal of the first range: $out"
ag_cli load --prefix kx --keys 4000 --value-bytes 32 --window 4 --acked-file "$AG_TMP/acked2" \
	>"$AG_TMP/writer2.out" 2>&1 &
writer=$!
sleep 0.3
ag_ctl "$lead3" shard merge 3 --timeout 60 || ag_fail "aegisctl shard merge"
wait "$writer" || ag_fail "the second writer: $(tail -3 "$AG_TMP/writer2.out")"
for i in 1 2 3; do
	for k in $(seq 1 50); do
		r=$(ag_status "$i" '"%s|%s" % ([s.get("range") for s in S if s["shard"] == 1][0], [s.get("state") for s in S if s["shard"] == 3][0])')
		[ "$r" = "[g, n)|inactive" ] && break
		sleep 0.1
	done
	[ "$r" = "[g, n)|inactive" ] || ag_fail "node $i after the merge: '$r'"
done
ag_cli verify-acked --acked-file "$AG_TMP/acked2" || ag_fail "verify the second writer's keys"
ag_cli verify-acked --acked-file "$AG_TMP/acked" || ag_fail "verify the first writer's keys after the merge"
want_all=$( (seq -f 'k%g' 0 2999; sed 's/ .*//' "$AG_TMP/acked" "$AG_TMP/acked2"; echo k9-new) | sort -u | wc -l)
for k in $(seq 1 50); do
	c=$(counts 1)
	[ "$c" = "1:$want_all 3:0" ] && break
	sleep 0.1
done
ag_log "after the merge: $c (want 1:$want_all 3:0)"
[ "$c" = "1:$want_all 3:0" ] || ag_fail "keys per shard after the merge: $c"
[ "$(ag_cli scan --keys-only | wc -l)" = "$want_all" ] || ag_fail "scan after the merge"

# The spare takes a split again (its fence from the merge lifted).
lead=$(ag_status 1 '[s["leader"] for s in S if s["shard"] == 1][0]')
ag_ctl "$lead" shard split 1 kx --timeout 60 || ag_fail "split into the spare again"
ag_cli verify --prefix k --keys 3000 --value-bytes 64 || ag_fail "verify after the second split"
ag_cli verify-acked --acked-file "$AG_TMP/acked2" || ag_fail "verify the second writer's keys after the second split"
grep -h "split\|merge\|recording ranges\|routing by" "$AG_TMP/n$lead.log" "$AG_TMP/n$lead3.log" "$AG_TMP/n1.log" >&2
ag_log "PASS"
