#!/usr/bin/env bash
# Long fuzz runs of every libFuzzer target (the test command runs each for a
# few seconds only). Corpora are kept in build-fuzz/corpus/<target>/ so that
# later runs start where earlier ones stopped.
#
#   tools/fuzz.sh [--runs N | --seconds N] [target...]
#   tools/fuzz.sh --runs 10000000                 # 10^7 executions per target
#   tools/fuzz.sh --seconds 600 fuzz_orset_decode
set -euo pipefail
cd "$(dirname "$0")/.."

limit="-runs=10000000"
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) limit="-runs=$2"; shift 2 ;;
	--seconds) limit="-max_total_time=$2"; shift 2 ;;
	-h | --help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "fuzz.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	*) targets+=("$1"); shift ;;
	esac
done

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C build-fuzz
if [ "${#targets[@]}" -eq 0 ]; then
	mapfile -t targets < <(find build-fuzz/tests/fuzz -maxdepth 2 -type f -perm -u+x -name 'fuzz_*' -printf '%f\n' | sort)
fi

failed=0
for t in "${targets[@]}"; do
	mkdir -p "build-fuzz/corpus/$t"
	echo "== $t ($limit)"
	# Most targets sit in tests/fuzz/, those with extra sources in a subdir.
	exe=$(find build-fuzz/tests/fuzz -maxdepth 2 -type f -name "$t" | head -n 1)
	if ! nice "${exe:-build-fuzz/tests/fuzz/$t}" "$limit" -print_final_stats=1 -rss_limit_mb=2048 \
		"build-fuzz/corpus/$t" 2>"build-fuzz/$t.log"; then
		tail -n 30 "build-fuzz/$t.log"
		echo "fuzz.sh: $t FAILED (crash input saved by libFuzzer in the current directory)" >&2
		failed=$((failed + 1))
	else
		grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "build-fuzz/$t.log" || true
	fi
done
echo "fuzz.sh: ${#targets[@]} targets, $failed failed"
[ "$failed" -eq 0 ]
