# tests/integration/aegisd/scenario.sh — the 3-node scenario that every
# transport runs (sourced after lib.sh; test_aegisd_udp.sh, test_aegisd_dpdk.sh):
# writes at every consistency level and reads at every level see them;
# scatter reads (scan) merge every shard's keys in order;
# kill -9 a node, write on, restart it: it catches up and serves the new
# values; a clean stop (SIGTERM) exits 0 and a restart of all three finds
# every acknowledged write; kill -9 of all three mid-load loses no
# acknowledged write.

ag_scenario() {
	local i lvl v loader installed
	ag_keys
	for i in 1 2 3; do ag_config "$i" "$@"; done
	for i in 1 2 3; do ag_start "$i"; done
	ag_wait_leaders 20
	ag_log "leaders elected for $AG_SHARDS shards"

	for lvl in one quorum all; do
		ag_cli --consistency "$lvl" load --prefix "w-$lvl-" --keys 200 --value-bytes 64 ||
			ag_fail "writes at $lvl"
	done
	for lvl in quorum all; do
		ag_cli --consistency "$lvl" verify --prefix "w-$lvl-" --keys 200 --value-bytes 64 ||
			ag_fail "reads at $lvl"
	done
	# Scatter reads: every shard asked, pages merged in key order.
	ag_cli scan --prefix w- >"$AG_TMP/scan.out" || ag_fail "scan"
	[ "$(wc -l <"$AG_TMP/scan.out")" = 600 ] || ag_fail "scan of w-: $(wc -l <"$AG_TMP/scan.out") keys, want 600"
	cut -f1 "$AG_TMP/scan.out" | LC_ALL=C sort -c -u || ag_fail "scan out of order or repeated"
	[ "$(grep '^w-one-17	' "$AG_TMP/scan.out" | cut -f2)" = "$(ag_cli get w-one-17)" ] ||
		ag_fail "scan and get disagree on w-one-17"
	[ "$(ag_cli --consistency one scan w-one-1 w-one-2 --keys-only | wc -l)" = 111 ] ||
		ag_fail "scan [w-one-1, w-one-2) at one"
	ag_cli put answer 42 || ag_fail "put"
	[ "$(ag_cli get answer)" = 42 ] || ag_fail "get after put"
	v=$(ag_cli --print-version get answer | cut -d' ' -f1)
	ag_cli cas answer "$v" 43 || ag_fail "cas with the right version"
	ag_cli cas answer "$v" 44 && ag_fail "cas with a stale version succeeded"
	[ "$(ag_cli get answer)" = 43 ] || ag_fail "value after cas"
	ag_cli del answer || ag_fail "del"
	ag_cli get answer && ag_fail "get after del found a value"

	ag_log "kill -9 node 2, write on"
	ag_kill9 2
	ag_wait_leaders 10
	ag_cli load --prefix "k2-" --keys 300 --value-bytes 100 || ag_fail "writes with node 2 down"
	# Under load: 256 writes in flight for 3 s, none may fail (a full log
	# window once answered BUSY until the client gave up, and a write
	# retried after a timeout came back SESSION_EXPIRED).
	local bench="$AG_BUILD/bench/aegis-bench/aegis-bench"
	if [ -x "$bench" ]; then
		# shellcheck disable=SC2086 # the prefix is words
		$AG_CLI_PREFIX timeout -k 5 60 "$bench" --nodes "${AG_CLI_NODES:-$(ag_nodes_arg)}" \
			--client-key "$AG_TMP/client.key" --duration 3 --warmup 0 --outstanding 256 --keys 1000 \
			--quiet --json "$AG_TMP/down.json" >"$AG_TMP/down.txt" 2>&1 ||
			ag_fail "aegis-bench with node 2 down: $(cat "$AG_TMP/down.txt")"
		python3 - "$AG_TMP/down.json" <<'PY' || ag_fail "aegis-bench with node 2 down: $(cat "$AG_TMP/down.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors"] == 0 and j["unfinished"] == 0 and j["ops"] > 0, "errors"
print("  %.0f writes/s, p99 %.0f ms, %d BUSY retried" % (j["ops_per_s"], j["latency_us"]["p99"] / 1000,
      j["client"]["busy_retries"]), file=sys.stderr)
PY
	fi
	ag_start 2
	ag_wait_leaders 10
	# Node 2 catches up: every shard on node 2 applies what its leader had
	# committed when we looked.
	ag_caught_up 2 30 || ag_fail "node 2 did not catch up after its restart"
	installed=$(ag_status 2 'sum(w["raft"]["snapshots_installed"] for w in W)')
	ag_log "node 2 caught up ($installed snapshots installed from leaders)"
	# With a small window (AG_SET) the leaders compacted past node 2.
	[ -z "${AG_EXPECT_SNAPSHOT:-}" ] || [ "$installed" -gt 0 ] ||
		ag_fail "node 2 caught up without any snapshot: the window did not compact"

	ag_log "clean stop of all, restart, every acknowledged write is there"
	for i in 1 2 3; do ag_stop "$i"; done
	for i in 1 2 3; do ag_start "$i"; done
	ag_wait_leaders 20
	ag_cli verify --prefix "k2-" --keys 300 --value-bytes 100 || ag_fail "k2 writes after restart"
	ag_cli verify --prefix "w-quorum-" --keys 200 --value-bytes 64 || ag_fail "quorum writes after restart"
	[ "$(ag_cli scan --prefix k2- --keys-only --limit 1000 | wc -l)" = 300 ] || ag_fail "scan of k2- after restart"

	ag_log "kill -9 all three mid-load, restart: every acknowledged write is there"
	# The crash comes once 300 writes are acknowledged (however fast the
	# machine is, the load is then mid-way: 20,000 keys); the loader goes
	# too, after the nodes (what it acknowledged is already in the file).
	: >"$AG_TMP/acked"
	ag_cli load --prefix "crash-" --keys 20000 --value-bytes 32 --acked-file "$AG_TMP/acked" &
	loader=$!
	for i in $(seq 1 300); do
		[ "$(wc -l <"$AG_TMP/acked")" -ge 300 ] && break
		kill -0 "$loader" 2>/dev/null || break
		sleep 0.1
	done
	for i in 1 2 3; do ag_kill9 "$i"; done
	pkill -KILL -P "$loader" 2>/dev/null  # aegis-cli under the function's subshell
	kill -KILL "$loader" 2>/dev/null
	wait "$loader" 2>/dev/null
	for i in 1 2 3; do ag_start "$i"; done
	ag_wait_leaders 20
	ag_cli verify-acked --acked-file "$AG_TMP/acked" || ag_fail "acknowledged writes lost after kill -9 of all"
	[ -s "$AG_TMP/acked" ] || ag_fail "no write acknowledged before the crash"
	ag_log "PASS ($(wc -l <"$AG_TMP/acked") writes acknowledged before the crash, all found)"
}
