#!/usr/bin/env bash
# aegis-walinspect against real logs: a clean log (exit 0), a torn tail
# (exit 0, reported), damage in the middle (exit 1, offset printed), bad usage (2).
set -u
inspect=$1
mklog=$2
dir=$(mktemp -d /var/tmp/aegis-walinspect-test-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$mklog" "$dir" 2000 || fail "wal_mklog"
out=$("$inspect" "$dir") || fail "clean log: exit $? ($out)"
echo "$out" | grep -q "log runs from sequence 1" || fail "no summary: $out"
"$inspect" --records "$dir/seg-000000.wal" | grep -q "entry      group 1 term 1 index 1 " || fail "no record list"
"$inspect" --help | grep -q "usage: aegis-walinspect" || fail "--help"
"$inspect" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no argument must exit 2"
"$inspect" "$dir/nope" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing path must exit 2"

# Damage in the middle of the first segment (far from its end): refused.
printf '\xff' | dd of="$dir/seg-000000.wal" bs=1 seek=5000 conv=notrunc status=none
out=$("$inspect" "$dir"); rc=$?
[ $rc -eq 1 ] || fail "mid-log damage: exit $rc, want 1 ($out)"
echo "$out" | grep -q "DAMAGE at offset" || fail "damage point not printed: $out"
echo "$out"  | grep "DAMAGE"
echo "ok"
