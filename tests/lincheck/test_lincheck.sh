#!/usr/bin/env bash
# aegis-lincheck on small histories: a linearizable one (concurrent puts,
# an unanswered put seen later), a stale read, bad input. Exit codes.
set -u
bin=${1:?usage: $0 AEGIS_LINCHECK}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

cat >"$t/ok" <<'H'
# key kind value invoke return
a put 1 0 10
a get 0 1 2
a get 1 3 4
b put 7 0 -
b get 7 50 60
b put 8 61 70
b get 8 71 72
c get 0 5 -
H
"$bin" "$t/ok" >"$t/out" 2>&1 || fail "linearizable history refused: $(cat "$t/out")"
grep -q "8 ops on 3 keys: 0 not linearizable" "$t/out" || fail "summary: $(cat "$t/out")"

cat >"$t/stale" <<'H'
a put 1 0 1
a put 2 2 3
a get 1 4 5
b put 3 0 1
H
"$bin" "$t/stale" >"$t/out" 2>&1
[ $? = 1 ] || fail "stale read not found: $(cat "$t/out")"
grep -q "key 'a' is NOT linearizable" "$t/out" || fail "names the key: $(cat "$t/out")"
grep -q "key 'b'" "$t/out" && fail "blames key b: $(cat "$t/out")"

printf 'a put 1 0 1\na frob 2 2 3\n' >"$t/bad"
"$bin" "$t/bad" >"$t/out" 2>&1
[ $? = 2 ] || fail "bad kind accepted"
grep -q "bad:2:" "$t/out" || fail "error names file:line: $(cat "$t/out")"
printf 'a put 1 9 3\n' >"$t/bad2"
"$bin" "$t/bad2" >/dev/null 2>&1
[ $? = 2 ] || fail "return before call accepted"
"$bin" "$t/missing" >/dev/null 2>&1
[ $? = 2 ] || fail "missing file"
"$bin" --help | grep -q "usage: aegis-lincheck" || fail "--help"

# Too many ops on one key to decide: exit 3.
for i in $(seq 1 600); do echo "z put $i $((i * 10)) $((i * 10 + 5))"; done >"$t/big"
"$bin" "$t/big" >"$t/out" 2>&1
[ $? = 3 ] || fail "over LIN_OPS_MAX: $(cat "$t/out")"
echo PASS
