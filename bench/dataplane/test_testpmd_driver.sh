#!/usr/bin/env bash
# aegis-bench-dataplane's dpdk-testpmd driver against fake_testpmd.py: the
# run must succeed and report the stand-in's Rx-pps of the second "show
# port stats 0" on each side (client 5.2 Mpps, server 6.2 Mpps) for both
# frame sizes.
set -u
bench=$1
fake=$2
out=$("$bench" --transport udp --quick --rounds 100 --seconds 0.2 --testpmd "$fake") || {
	echo "benchmark failed"
	echo "$out"
	exit 1
}
n=$(grep -c '"case":"testpmd_io_fwd".*"client_rx_mpps":5.2,"server_rx_mpps":6.2}' <<<"$out")
if [ "$n" -ne 2 ]; then
	echo "expected 2 testpmd lines with the stand-in's Rx-pps, got $n:"
	grep testpmd <<<"$out"
	exit 1
fi
grep '"case":"testpmd_io_fwd"' <<<"$out"
