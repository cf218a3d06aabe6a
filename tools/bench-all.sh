#!/usr/bin/env bash
# Runs every Aegis benchmark (build/bench/**/aegis-bench-*) with its defaults,
# prints their tables, and collects their JSON lines in <build>/bench-results.jsonl.
#
#   tools/bench-all.sh [--build DIR] [--only NAME]
set -uo pipefail
cd "$(dirname "$0")/.."

dir=build-release
only=""
while [ $# -gt 0 ]; do
	case "$1" in
	--build) dir=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	-h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-all.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
	esac
done

mapfile -t benches < <(find "$dir/bench" -type f -perm -u+x -name 'aegis-bench-*' | sort)
if [ "${#benches[@]}" -eq 0 ]; then
	echo "bench-all.sh: no benchmarks under $dir/bench (build first)" >&2
	exit 1
fi

# Shorter runs than a benchmark's own defaults, where those take minutes.
declare -A short_args=(
	[aegis-bench-node]="--seconds 5 --idle-seconds 3"
)

results="$dir/bench-results.jsonl"
: >"$results"
failed=0
for b in "${benches[@]}"; do
	name=$(basename "$b")
	if [ -n "$only" ] && [ "$name" != "$only" ] && [ "$name" != "aegis-bench-$only" ]; then
		continue
	fi
	echo
	echo "==== $name"
	start=$(date +%s)
	out="$dir/$name.out"
	read -ra args <<<"${short_args[$name]:-}"
	if "$b" "${args[@]}" | tee "$out"; then
		grep '^{' "$out" >>"$results"
		echo "==== $name done in $(($(date +%s) - start)) s"
	else
		echo "==== $name FAILED" >&2
		failed=$((failed + 1))
	fi
done
echo
echo "bench-all.sh: $(wc -l <"$results") results in $results, $failed benchmark(s) failed"
[ "$failed" -eq 0 ]
