#!/usr/bin/env bash
# Replica moves carried out under load (issue [G]) on a tools/aegis-cluster
# cluster: 4 nodes over kernel UDP, 8 shards, replication factor 3, so each
# shard has a node without a replica to move to.
#
# aegis-bench writes for the whole run and records every acknowledged write
# (--record). Meanwhile aegisctl, asked of each shard's leader:
#   moves a follower's replica to the node without one;
#   moves the leader's own replica away (it hands leadership over and drops
#     its copy);
#   moves a replica back to a node that dropped it earlier (a new replica of
#     the same group there);
#   is refused a move to a node that already votes, and from a node that is
#     not a member.
# Checked after each move, on every node: the new node votes and holds as
# many keys as the leader, the old node no longer lists the shard. Then
# every acknowledged write is read back at quorum (--verify). The
# rebalancer is paused meanwhile (aegisctl rebalance pause: a meta record).
# Then, under a second load, rebalance resume and node drain 4: the meta
# leader plans node 4's replicas away and asks each shard's leader to move
# them (at most 2 at once, one per node); node 4 ends with none, the others
# within the planner's bound, node remove 4 is accepted, no write fails.
# Last, all nodes are killed with SIGKILL and restarted: the placement is
# what the moves made (groups come from each node's log), and both records
# verify again.
#
# Root only (namespaces); others skip with 77. Names: prefix agm<pid>.
# Usage: test_shard_move.sh tools/aegis-cluster BUILD_DIR
set -u
export PATH="/usr/bin:/bin:$PATH"

CLUSTER=${1:?usage: $0 tools/aegis-cluster BUILD_DIR}
BUILD=$(cd "${2:?usage: $0 tools/aegis-cluster BUILD_DIR}" && pwd)
P="agm$$"
D=/var/tmp/$P
BENCH=$BUILD/bench/aegis-bench/aegis-bench
CTL=$BUILD/tools/aegisctl
# shellcheck source=cluster/lib.sh
. "$(dirname "$0")/cluster/lib.sh"
fail() { fail_logs "$*" "$D"/n*.log "$D"/bench-*.err; }
ac() { "$CLUSTER" --dir "$D" "$@"; }

cluster_traps

cluster_require "$CLUSTER" "$BUILD"
[ -x "$BENCH" ] && [ -x "$CTL" ] || skip "no aegis-bench or aegisctl in $BUILD"
command -v python3 >/dev/null || skip "no python3"

log "start 4 nodes, 8 shards, rf 3, kernel UDP, rebalance.leaders on"
ac start --build "$BUILD" --prefix "$P" --nodes 4 --shards 8 --transport udp --timeout 90 \
	--set rebalance.leaders=true >"$D.start" 2>&1 ||
	{ cat "$D.start" >&2; rm -f "$D.start"; fail "start"; }
rm -f "$D.start"
eval "$(ac env)" || fail "env"

# Node I's shards: "shard role leader keys voters learners" lines.
shards_of() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 5 status --json 2>/dev/null |
		python3 -c '
import json, sys
for s in json.load(sys.stdin)["shards"]:
    print(s["shard"], s["role"], s["leader"], s["keys"], ",".join(map(str, s["voters"])) or "-",
          ",".join(map(str, s["learners"])) or "-")'
}
# The node leading SHARD (from any node's table), its voters.
leader_of() { local n; for n in 1 2 3 4; do shards_of "$n" | awk -v s="$1" '$1==s && $2=="leader" {print '"$n"'}'; done | head -1; }
voters_of() { shards_of "$1" | awk -v s="$2" '$1==s {print $5}'; }
keys_of() { shards_of "$1" | awk -v s="$2" '$1==s {print $4}'; }
has_shard() { shards_of "$1" | awk -v s="$2" '$1==s {f=1} END {exit !f}'; }
epoch_of() {
	"$CTL" --socket "$D/n$1/aegisd.sock" --timeout 5 status --json 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["epoch"])'
}
in_csv() { case ",$1," in *",$2,"*) return 0 ;; *) return 1 ;; esac; }

writes_ok() { bench_writes_ok "$D/bench-$1.out"; }

# move SHARD FROM TO [NODE]: asked of the leader (or of NODE: the request
# then goes to the shard's voters on record); then on every node: TO votes,
# FROM is gone from the config and from its node, TO has the leader's keys
# (within what is still being written: it is compared once writes stop).
move() {
	local shard=$1 from=$2 to=$3 lead out ask
	lead=$(leader_of "$shard")
	[ -n "$lead" ] || fail "shard $shard has no leader"
	ask=${4:-$lead}
	out=$("$CTL" --socket "$D/n$ask/aegisd.sock" --timeout 60 shard move "$shard" "$from" "$to" 2>&1) ||
		fail "shard move $shard $from $to (asked of node $ask): $out"
	log "  $out"
	local i v
	for i in $(seq 1 50); do
		lead=$(leader_of "$shard")
		v=$([ -n "$lead" ] && voters_of "$lead" "$shard")
		if [ -n "$v" ] && in_csv "$v" "$to" && ! in_csv "$v" "$from" && ! has_shard "$from" "$shard" &&
			has_shard "$to" "$shard"; then
			return 0
		fi
		sleep 0.2
	done
	fail "shard $shard: after the move $from -> $to: leader ${lead:-none}, voters ${v:-?}, node $from still lists it or $to does not"
}

# A shard, a voter that is not its leader, and the node without a replica.
pick() {
	local shard=$1 lead v n
	lead=$(leader_of "$shard")
	v=$(voters_of "$lead" "$shard")
	for n in 1 2 3 4; do in_csv "$v" "$n" || echo "$lead $v $n"; done
}

# load NAME SECS REC: aegis-bench writes in the background (BENCH_PID),
# every acknowledged write recorded in $D/REC.txt.
load() {
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --dgram-bytes "$AEGIS_DGRAM_BYTES" \
		--quiet --timeout-ms 300 --retries 40 --outstanding 128 --keys 20000 --duration "$2" \
		--record "$D/$3.txt" >"$D/bench-$1.out" 2>"$D/bench-$1.err" &
	BENCH_PID=$!
}

log "aegis-bench writes for the whole run (--record)"
load load 30 rec
sleep 3

# The rebalancer would even out what the moves below unbalance: paused
# (a record in the meta group) until the drain.
out=$("$CTL" --socket "$D/n1/aegisd.sock" rebalance pause 2>&1) || fail "rebalance pause: $out"
log "  $out"

read -r lead0 voters0 spare0 <<<"$(pick 0)"
follower0=$(echo "$voters0" | tr , '\n' | grep -vx "$lead0" | head -1)
log "shard 0 (leader $lead0, voters $voters0): a follower's replica $follower0 -> $spare0"
move 0 "$follower0" "$spare0"

read -r lead1 voters1 spare1 <<<"$(pick 1)"
log "shard 1 (leader $lead1, voters $voters1): the leader's own replica $lead1 -> $spare1"
move 1 "$lead1" "$spare1"
# The status a node shows is published every 100 ms: give the handover
# (TimeoutNow to a voter) a few seconds to show.
for _ in $(seq 1 50); do
	new1=$(leader_of 1)
	[ -n "$new1" ] && [ "$new1" != "$lead1" ] && break
	sleep 0.1
done
[ -n "$new1" ] && [ "$new1" != "$lead1" ] || fail "shard 1: no new leader 5 s after its leader moved away"

# Asked of a follower (the request goes to the voters on record). The
# newcomer may have taken the preferred slot and, with rebalance.leaders,
# the leadership since: any voter that does not lead will do.
lead0=$(leader_of 0)
ask0=$(voters_of "$lead0" 0 | tr , '\n' | grep -vx "$lead0" | head -1)
[ -n "$ask0" ] || fail "shard 0: no follower to ask (leader $lead0)"
log "shard 0 back: $spare0 -> $follower0 (a new replica where one was dropped), asked of node $ask0, a follower"
move 0 "$spare0" "$follower0" "$ask0"

lead=$(leader_of 2)
v=$(voters_of "$lead" 2)
other=$(echo "$v" | tr , '\n' | grep -vx "$lead" | head -1)
out=$("$CTL" --socket "$D/n$lead/aegisd.sock" shard move 2 "$lead" "$other" 2>&1) &&
	fail "a move to a node that already votes was accepted: $out"
echo "$out" | grep -q "already votes" || fail "refusal without the reason: $out"
out=$("$CTL" --socket "$D/n$lead/aegisd.sock" shard move 2 9 "$other" 2>&1) &&
	fail "a move from a node that is not a member was accepted: $out"
echo "$out" | grep -q "node 9 is not a member" || fail "refusal without the reason: $out"
log "  refused: $(echo "$out" | tr '\n' ' ')"

wait "$BENCH_PID" || fail "aegis-bench failed (exit $?)"
grep -q '"bench":"aegis-bench"' "$D/bench-load.out" || fail "aegis-bench printed no result"
log "  $(grep '^throughput' "$D/bench-load.out")"
writes_ok load >/dev/null || fail "writes failed during the moves"

# Once writes stop, every replica of a moved shard holds the same keys.
sleep 1
for shard in 0 1; do
	lead=$(leader_of "$shard")
	want=$(keys_of "$lead" "$shard")
	for n in $(voters_of "$lead" "$shard" | tr , ' '); do
		got=$(keys_of "$n" "$shard")
		[ "$got" = "$want" ] || fail "shard $shard: node $n holds ${got:-no} keys, the leader $lead $want"
	done
	log "shard $shard: voters $(voters_of "$lead" "$shard"), $want keys on each"
done

log "every acknowledged write is there"
ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
	--verify "$D/rec.txt" >"$D/v1.out" 2>&1 || { cat "$D/v1.out" >&2; fail "verify after the moves"; }

# Each move's shard was migrating on record while it ran and is active
# again: every node saw at least 2 state changes per move (3 moves).
for n in 1 2 3 4; do
	for i in $(seq 1 30); do
		st=$("$CTL" --socket "$D/n$n/aegisd.sock" --timeout 5 status --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
states = sorted(set(s.get("state") for s in d["shards"]))
print(d["meta"].get("shard_state_changes", 0), d["meta"].get("shards_migrating", -1), ",".join(map(str, states)))')
		set -- $st
		[ "${1:-0}" -ge 6 ] && [ "${2:-1}" = 0 ] && [ "${3:-}" = active ] && break
		sleep 0.2
	done
	[ "${1:-0}" -ge 6 ] && [ "${2:-1}" = 0 ] && [ "${3:-}" = active ] ||
		fail "node $n: shard state changes seen ${1:-?}, migrating ${2:-?}, states ${3:-?} (want >= 6, 0, active)"
done
log "  shard states on record: migrating during each move, active after (every node saw >= 6 changes)"

# Every node routes by the meta records' map: one epoch everywhere, past
# the config's, and the client fetched it again during the moves.
for i in $(seq 1 30); do
	epochs=$(for n in 1 2 3 4; do epoch_of "$n"; done | sort -u)
	[ "$(echo "$epochs" | wc -l)" = 1 ] && [ "$epochs" -gt 1 ] && break
	sleep 0.2
done
[ "$(echo "$epochs" | wc -l)" = 1 ] && [ "$epochs" -gt 1 ] || fail "map epochs after the moves: $(echo $epochs)"
fetches=$(python3 -c 'import json,sys; r=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"bench\"")][0]); print(r["client"]["map_fetches"], r["client"]["stale_epochs"])' "$D/bench-load.out")
set -- $fetches
[ "$1" -gt 1 ] || fail "the client fetched the map $1 time(s) during the moves (stale epochs: $2)"
log "  every node routes by the map of epoch $epochs; the client fetched it $1 times ($2 stale-epoch answers)"

log "drain node 4 under load: the rebalancer moves its replicas away"
load drain 25 rec2
sleep 2
held4=$(shards_of 4 | wc -l)
out=$("$CTL" --socket "$D/n1/aegisd.sock" rebalance resume 2>&1) || fail "rebalance resume: $out"
t0=$SECONDS
out=$("$CTL" --socket "$D/n1/aegisd.sock" --timeout 60 node drain 4 --wait 2>&1) || fail "node drain 4 --wait: $out"
log "  $(echo "$out" | tr '\n' ';') (node 4 held $held4 replicas)"
while [ "$(shards_of 4 | wc -l)" -gt 0 ]; do
	[ $((SECONDS - t0)) -lt 60 ] || fail "node 4 still holds $(shards_of 4 | wc -l) replicas 60 s after the drain"
	sleep 0.5
done
log "  node 4 holds no replica after $((SECONDS - t0)) s"
"$CTL" --socket "$D/n1/aegisd.sock" cluster status 2>&1 | grep '^rebalance' | sed 's/^/  /' >&2
for n in 1 2 3; do
	c=$(shards_of "$n" | wc -l)
	[ "$c" -ge 7 ] && [ "$c" -le 9 ] || fail "node $n holds $c replicas after the drain (8 +- 10% expected)"
done
out=$("$CTL" --socket "$D/n1/aegisd.sock" node remove 4 2>&1) || fail "node remove 4 after the drain: $out"
log "  $out"
# Leadership follows each shard's preferred replica (the first on record),
# and the meta leader spreads the preferred replicas: within 1 of each other.
for i in $(seq 1 120); do
	off=$(for n in 1 2 3; do
		"$CTL" --socket "$D/n$n/aegisd.sock" --timeout 5 status --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["shards"]:
    if s["role"] == "leader" and s.get("preferred", 0) != s["leader"]:
        print(s["shard"])'
	done | wc -l)
	led=$(for n in 1 2 3; do shards_of "$n" | awk '$2 == "leader"' | wc -l; done | sort -n | tr '\n' ' ')
	set -- $led
	[ "$off" = 0 ] && [ $(($3 - $1)) -le 1 ] && break
	sleep 0.5
done
[ "$off" = 0 ] || fail "$off shards not led by their preferred replica 60 s after the drain"
[ $(($3 - $1)) -le 1 ] || fail "leaders per node $led 60 s after the drain (not within 1 of each other)"
log "  every shard led by its preferred replica; leaders per node: $(for n in 1 2 3; do printf '%s=%s ' "$n" "$(shards_of "$n" | awk '$2 == "leader"' | wc -l)"; done)"
wait "$BENCH_PID" || fail "aegis-bench (drain) failed (exit $?)"
writes_ok drain >/dev/null || fail "writes failed during the drain"
for rec in rec rec2; do
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
		--verify "$D/$rec.txt" >"$D/v-$rec.out" 2>&1 || { cat "$D/v-$rec.out" >&2; fail "verify $rec after the drain"; }
done

for n in 1 2 3 4; do shards_of "$n" | awk '{print $1, $5}' | sort >"$D/placed-$n.txt"; done
log "kill -9 of all four nodes, restart"
ac kill all >/dev/null 2>&1
ac restart all >/dev/null 2>&1 || fail "restart"
ac wait 30 >/dev/null 2>&1 || fail "no leader for every shard after the restart"
for n in 1 2 3 4; do
	shards_of "$n" | awk '{print $1}' | sort >"$D/after-$n.txt"
	awk '{print $1}' "$D/placed-$n.txt" | diff - "$D/after-$n.txt" >/dev/null ||
		fail "node $n holds other shards after the restart: $(tr '\n' ' ' <"$D/after-$n.txt") (before: $(awk '{print $1}' "$D/placed-$n.txt" | tr '\n' ' '))"
done
for rec in rec rec2; do
	ac exec "$BENCH" --nodes "$AEGIS_NODES" --client-key "$AEGIS_CLIENT_KEY" --timeout-ms 500 --retries 20 \
		--verify "$D/$rec.txt" >"$D/v2-$rec.out" 2>&1 || { cat "$D/v2-$rec.out" >&2; fail "verify $rec after kill -9 of all"; }
done
log "PASS: 3 moves by hand and a drain under load, 0 failed writes, placement and every acknowledged write survive kill -9 of all"
