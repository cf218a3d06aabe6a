#!/usr/bin/env bash
# README command 1: install what Aegis needs, build it, and run the main job
# on a built-in default. Until the aegisd cluster exists (issue [E]) the main
# job is the benchmark suite of everything that exists (tools/bench-all.sh).
#
#   tools/quickstart.sh [--no-setup] [bench-all options]
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--no-setup" ]; then
	shift
else
	tools/setup.sh --if-missing
fi

dir=build-release
if [ ! -f "$dir/build.ninja" ]; then
	meson setup "$dir" -Dbuildtype=release -Db_ndebug=false >"$dir.setup.log" 2>&1 || {
		cat "$dir.setup.log" >&2
		exit 1
	}
fi
echo "quickstart: building in $dir"
ninja -C "$dir" >"$dir.ninja.log" 2>&1 || {
	tail -n 40 "$dir.ninja.log" >&2
	exit 1
}
exec tools/bench-all.sh --build "$dir" "$@"
