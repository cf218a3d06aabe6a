#!/usr/bin/env python3
"""Sums meson testlog.json files into one line: "N passed, N failed".

Skipped tests (exit 77: e.g. no root for network namespaces) are listed
and counted on the line before, so that the last line stays plain.

Usage: test_totals.py EXTRA_FAILURES testlog.json...
Exit status 0 only when nothing failed. EXTRA_FAILURES counts builds or
set-ups that failed before any test could run.
"""
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}


def main(argv):
    failed = int(argv[1])
    passed = skipped = 0
    failures = []
    skips = []
    for path in argv[2:]:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            print(f"test_totals: cannot read {path}: {e}", file=sys.stderr)
            failed += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            t = json.loads(line)
            result = t.get("result", "ERROR")
            if result in PASS:
                passed += 1
            elif result in SKIP:
                skipped += 1
                skips.append(f"{path}: {t.get('name')}")
            else:
                failed += 1
                failures.append(f"{path}: {t.get('name')} {result}")
    for f in failures:
        print(f"FAILED: {f}")
    for s in skips:
        print(f"SKIPPED: {s}")
    if skipped:
        print(f"test_totals: {skipped} skipped (not counted below)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
