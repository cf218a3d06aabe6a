#!/usr/bin/env bash
# Runs every test of Aegis and ends with one line: "N passed, N failed".
#
#   build/       normal build: unit, sim and integration suites
#   build-san/   ASan + UBSan build: unit and sim suites
#   build-fuzz/  clang + libFuzzer: every decoder fuzzed for a few seconds
#                (AEGIS_FUZZ_SECONDS, default 5)
#
# Installs missing Debian packages first (needs root then). Exit code 0 only
# when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if ! tools/setup.sh --tests --if-missing; then
	echo "test.sh: packages are missing; run tools/setup.sh as root" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# The system's python3 first: the tests' scripts call it in wait loops, and
# a version manager's shim on the PATH (pyenv) costs seconds per call.
export PATH="/usr/bin:/bin:$PATH"

fuzz_seconds=${AEGIS_FUZZ_SECONDS:-5}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=1:detect_leaks=1}

setup_failures=0
logs=()

# configure DIR [meson options...]: set up once, reconfigure when options change.
configure() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson configure "$dir" "$@" >/dev/null || return 1
	else
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || {
			cat "$dir.setup.log" >&2
			return 1
		}
	fi
}

# run_suites DIR LABEL [meson test args...]
run_suites() {
	local dir=$1 label=$2
	shift 2
	echo "== $label ($dir)"
	if ! ninja -C "$dir" >"$dir.ninja.log" 2>&1; then
		tail -n 40 "$dir.ninja.log" >&2
		echo "test.sh: build failed in $dir" >&2
		setup_failures=$((setup_failures + 1))
		return
	fi
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --no-rebuild --print-errorlogs "$@"
	logs+=("$dir/meson-logs/testlog.json")
}

if configure build; then
	run_suites build "normal build: unit, sim, integration" --no-suite manual
else
	setup_failures=$((setup_failures + 1))
fi

if configure build-san -Db_sanitize=address,undefined -Db_lundef=false; then
	run_suites build-san "sanitizer build (ASan+UBSan): unit, sim" \
		--suite unit --suite sim --timeout-multiplier 3
else
	setup_failures=$((setup_failures + 1))
fi

if command -v clang >/dev/null; then
	if CC=clang configure build-fuzz -Dfuzz=enabled -Dfuzz_seconds="$fuzz_seconds" \
		-Db_sanitize=address,undefined -Db_lundef=false; then
		run_suites build-fuzz "libFuzzer, ${fuzz_seconds}s per target" --suite fuzz
	else
		setup_failures=$((setup_failures + 1))
	fi
else
	echo "test.sh: clang not found, fuzz targets not run (install clang libclang-rt-14-dev)"
fi

python3 "$root/tools/test_totals.py" "$setup_failures" "${logs[@]}"
