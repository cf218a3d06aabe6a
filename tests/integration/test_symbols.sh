#!/usr/bin/env bash
# The shared libraries export their public API and nothing else: every
# dynamic symbol they define is an aeg_* name that an installed header
# (lib/include/aegis/) declares. Internals (lib/raft's election_*, the
# node's config parser, the WAL writer's helpers) must stay hidden, so
# that they can neither clash with an embedder's names nor be interposed.
# Usage: test_symbols.sh INCLUDE_DIR LIB.so...
set -euo pipefail
incdir=$1
shift
words=$(mktemp)
trap 'rm -f "$words"' EXIT
grep -ohE '\baeg_[A-Za-z0-9_]+' "$incdir"/aegis/*.h | sort -u >"$words"

fail=0
for lib in "$@"; do
	# __odr_asan.NAME: ASan's marker for an exported global NAME.
	syms=$(nm -D --defined-only "$lib" | awk 'NF == 3 && $3 !~ /^__odr_asan\./ { print $3 }' | sort -u)
	n=$(printf '%s\n' "$syms" | grep -c . || true)
	if [ "$n" -eq 0 ]; then
		echo "$lib: exports nothing"; fail=1; continue
	fi
	bad=$(printf '%s\n' "$syms" | grep -v '^aeg_' || true)
	undeclared=$(printf '%s\n' "$syms" | grep '^aeg_' | comm -23 - "$words" || true)
	if [ -n "$bad$undeclared" ]; then
		echo "$lib: $n exported symbols, of which not public API:"
		printf '%s\n' "$bad" "$undeclared" | sed '/^$/d; s/^/  /'
		fail=1
	else
		echo "$lib: $n exported symbols, all declared in $incdir/aegis/"
	fi
done
exit $fail
