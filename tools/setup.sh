#!/usr/bin/env bash
# Installs the Debian packages Aegis needs. Idempotent: run it again any time.
#
#   tools/setup.sh            everything: build, tests, benchmarks and their peers
#   tools/setup.sh --tests    only what building and testing need
#   --if-missing              skip apt entirely when every package is present
#                             (no network needed on a machine that has them)
set -euo pipefail

build_pkgs=(build-essential meson ninja-build pkg-config python3 git
	libxxhash-dev libcmocka-dev liburing-dev libhwloc-dev hwloc libdpdk-dev libipsec-mb-dev dpdk
	clang libclang-rt-14-dev iproute2 util-linux mount procps ethtool nftables)
# Peers the benchmarks compare against, and their tools.
bench_pkgs=(fio golang-go golang-etcd-server-dev etcd-server etcd-client dpdk-dev gnuplot-nox)

profile=all
if_missing=0
for arg in "$@"; do
	case "$arg" in
	--tests) profile=tests ;;
	--if-missing) if_missing=1 ;;
	-h | --help)
		sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "setup.sh: unknown option '$arg' (try --help)" >&2
		exit 2
		;;
	esac
done

pkgs=("${build_pkgs[@]}")
if [ "$profile" = all ]; then
	pkgs+=("${bench_pkgs[@]}")
fi

missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "setup.sh: all ${#pkgs[@]} packages present"
	[ "$if_missing" -eq 1 ] && exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: installing packages needs root; run: sudo $0 $*" >&2
	echo "setup.sh: missing: ${missing[*]:-none}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup.sh: apt-get update"
apt-get update -qq -o DPkg::Lock::Timeout=300
echo "setup.sh: apt-get install ${pkgs[*]}"
apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "${pkgs[@]}" >/dev/null
# etcd-server's package enables and starts a default member on 2379: the
# benchmarks start their own (bench/vs-etcd), and an idle one would take CPU.
if [ "$profile" = all ] && command -v systemctl >/dev/null &&
	systemctl is-enabled --quiet etcd 2>/dev/null; then
	echo "setup.sh: disabling the packaged etcd service (bench/vs-etcd starts its own)"
	systemctl disable --now etcd >/dev/null 2>&1 || true
fi
echo "setup.sh: done"
