#!/usr/bin/env bash
# The partition strategies besides hash and range on a real 3-node aegisd
# cluster (kernel UDP on loopback, 8 shards, a fresh cluster per strategy):
# keys land on the shards their strategy names, as the nodes' own status
# counts them (node 1 holds a replica of every shard), and every key reads
# back through the client, which routes by the same map.
#   list:        "pin:*=5" and "hot=2": 20 pin: keys on shard 5, hot on 2
#   round_robin: 32 appends (aegis-cli append): 4 keys on every shard
#   time:        32 keys "T/..." for T = 0, 50, ..., 1550 with buckets of
#                100: bucket T/100 -> shard (T/100) % 8, 4 keys each
#   range with spare shards: split points "g", "n" of 8 shards: keys on
#                shards 0-2 only, shards 3-7 inactive (spare, for splits),
#                a scan asks only the shards its range meets
# Usage: test_aegisd_strategies.sh BUILD_DIR
. "$(dirname "$0")/aegisd/lib.sh"

# keys_per_shard: node 1's key count of each shard once they add up to
# $1 (its replicas apply a moment after the leaders answered), "0:N 1:N ...".
keys_per_shard() {
	local want=$1 got i
	for i in $(seq 1 50); do
		got=$(ag_status 1 '" ".join("%d:%d" % (s["shard"], s["keys"]) for s in sorted(S, key=lambda s: s["shard"]) if s["shard"] < '"$AG_SHARDS"')')
		[ "$(echo "$got" | tr ' ' '\n' | awk -F: '{ n += $2 } END { print n + 0 }')" = "$want" ] && break
		sleep 0.1
	done
	echo "$got"
}

cluster() {
	local i
	for i in 1 2 3; do
		rm -rf "$AG_TMP/n$i"
		ag_config "$i"
	done
	for i in 1 2 3; do ag_start "$i"; done
	ag_wait_leaders 20
	ag_log "$AG_STRATEGY: leaders elected"
}

stop_all() {
	local i
	for i in 1 2 3; do ag_stop "$i"; done
}

ag_keys

AG_STRATEGY=list AG_SHARDING_EXTRA='assign = ["pin:*=5", "hot=2"]'
cluster
ag_cli load --prefix pin: --keys 20 --value-bytes 16 || ag_fail "list: load"
ag_cli put hot 1 || ag_fail "list: put hot"
got=$(keys_per_shard 21)
ag_log "list: keys per shard $got"
echo " $got " | grep -q ' 5:20 ' || ag_fail "list: shard 5 should hold the 20 pin: keys: $got"
echo " $got " | grep -q ' 2:1 ' || ag_fail "list: shard 2 should hold hot: $got"
ag_cli verify --prefix pin: --keys 20 --value-bytes 16 || ag_fail "list: verify"
[ "$(ag_cli scan --prefix pin: --keys-only | wc -l)" = 20 ] || ag_fail "list: scan"
stop_all

AG_STRATEGY=round_robin AG_SHARDING_EXTRA=
cluster
ag_cli append $(seq -f 'event-%g' 1 32) >"$AG_TMP/appended" || ag_fail "round_robin: append"
[ "$(wc -l <"$AG_TMP/appended")" = 32 ] || ag_fail "round_robin: $(wc -l <"$AG_TMP/appended") keys printed"
got=$(keys_per_shard 32)
ag_log "round_robin: keys per shard $got"
[ "$got" = "0:4 1:4 2:4 3:4 4:4 5:4 6:4 7:4" ] || ag_fail "round_robin: not 4 per shard: $got"
# The key names its shard; it reads back.
cut -d/ -f1 "$AG_TMP/appended" | sort -n | uniq -c | awk '$1 != 4 { exit 1 }' || ag_fail "round_robin: key prefixes"
[ "$(ag_cli get "$(sed -n 17p "$AG_TMP/appended")")" = event-17 ] || ag_fail "round_robin: get the 17th"
ag_cli put 99/x y || ag_fail "round_robin: a key that names no shard goes by hash"
stop_all

AG_STRATEGY=time AG_SHARDING_EXTRA='time_bucket = 100'
cluster
for t in $(seq 0 50 1550); do echo "$t/reading"; done >"$AG_TMP/times"
while read -r k; do ag_cli put "$k" "v$k" || ag_fail "time: put $k"; done <"$AG_TMP/times"
got=$(keys_per_shard 32)
ag_log "time: keys per shard $got"
[ "$got" = "0:4 1:4 2:4 3:4 4:4 5:4 6:4 7:4" ] || ag_fail "time: not 4 per shard: $got"
# Bucket 3 (300, 350) is shard 3 as is bucket 11: read back.
[ "$(ag_cli get 350/reading)" = v350/reading ] || ag_fail "time: get 350/reading"
stop_all

AG_STRATEGY=range AG_SHARDING_EXTRA='split_points = ["g", "n"]'
cluster
for k in a c f g h m n q z; do ag_cli put "$k-key" v || ag_fail "range: put $k-key"; done
got=$(keys_per_shard 9)
ag_log "range: keys per shard $got"
[ "$got" = "0:3 1:3 2:3 3:0 4:0 5:0 6:0 7:0" ] || ag_fail "range: keys not on shards 0-2 as the split points say: $got"
states=$(ag_status 1 '" ".join(sorted(set(s.get("state", "?") for s in S if s["shard"] >= 3 and s["shard"] < 8)))')
[ "$states" = inactive ] || ag_fail "range: spare shards 3-7 should show inactive, got '$states'"
r1=$(ag_status 1 '[s.get("range") for s in S if s["shard"] == 1][0]')
[ "$r1" = "[g, n)" ] || ag_fail "range: shard 1's range on status is '$r1', want [g, n)"
ag_ctl 1 shard list | grep -q '\[-inf, g)' || ag_fail "range: aegisctl shard list has no range column: $(ag_ctl 1 shard list)"
out=$(ag_cli scan h m --keys-only 2>&1 >/dev/null)
echo "$out" | grep -q "1 shards each" || ag_fail "range: scan [h, m) should ask 1 shard: $out"
[ "$(ag_cli scan --keys-only | wc -l)" = 9 ] || ag_fail "range: scan of everything"
stop_all
ag_log "PASS"
