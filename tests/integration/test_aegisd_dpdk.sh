#!/usr/bin/env bash
# A 3-node aegisd cluster on DPDK: the scenario of aegisd/scenario.sh (every
# consistency level, kill -9 and catch-up, clean stop and restart, kill -9
# of all three mid-load) with transport "dpdk", each node in its own network
# namespace owning veth dp0 through net_af_packet (--no-huge, no PCI), the
# veths' peers in a bridge (dp/lib.sh dp_star). The kernel has no IPv4
# address on a node's dp0: the node answers ARP itself (slow path on the main
# lcore) and resolves its peers and clients by ARP. aegis-cli (kernel UDP)
# runs in a 4th namespace on the same bridge with 10.77.0.4, so every client
# request crosses kernel -> bridge -> af_packet -> node and back.
#
# Timing: election timeouts 600-1200 ms and heartbeats every 100 ms (the UDP
# test uses 150-300/50): three DPDK processes plus the client share two
# cores with whatever else runs, and a worker descheduled for 300 ms must not
# cost a leader. Client attempts get 1 s. Both only slow the test down when
# the machine is slow; nothing is checked against them.
#
# Root only (namespaces): others skip with 77. On every exit (pass, fail,
# signal) the nodes are killed, then dp/lib.sh removes the namespaces and
# /var/run/dpdk/<prefix> dirs and fails if anything is left behind.
# Usage: test_aegisd_dpdk.sh BUILD_DIR
. "$(dirname "$0")/aegisd/lib.sh"
. "$(dirname "$0")/aegisd/scenario.sh"
. "$(dirname "$0")/dp/lib.sh"

# Both libraries clean up: the nodes first (aegisd/lib.sh), then the
# namespaces and DPDK files (dp/lib.sh, which also exits with the status).
it_exit() {
	local rc=$?
	ag_kill_all
	if [ "$rc" = 0 ] || [ "$rc" = 77 ]; then
		[ -n "${AG_KEEP:-}" ] || rm -rf "$AG_TMP"
	else
		echo "run dir kept: $AG_TMP" >&2
	fi
	(exit "$rc")
	dp_cleanup
}
trap it_exit EXIT

dp_require nsenter ethtool
[ -x "$AG_BUILD/control/aegisd" ] || dp_skip "no aegisd in $AG_BUILD"
for pmd in /usr/lib/*/dpdk/pmds-*/librte_net_af_packet.so*; do
	[ -e "$pmd" ] && break
done
[ -e "$pmd" ] || dp_skip "DPDK net_af_packet PMD not installed"

dp_star 4
for i in 1 2 3; do AG_NODE_IP[$i]=$(dp_ip "$i"); done
# The client: kernel UDP on 10.77.0.4. Its veth must not leave UDP checksums
# to an offload that never happens on a veth (the node would get
# CHECKSUM_PARTIAL frames through AF_PACKET and drop them as bad).
nsenter --net=/run/netns/"$(dp_ns n4)" -- ip addr add "$(dp_ip 4)/24" dev dp0 || dp_fail "client address"
nsenter --net=/run/netns/"$(dp_ns n4)" -- ethtool -K dp0 tx off >/dev/null || dp_fail "client tx offload off"
ag_prefix() { echo "nsenter --net=/run/netns/$(dp_ns "n$1") --"; }
AG_CLI_PREFIX="nsenter --net=/run/netns/$(dp_ns n4) --"
AG_TRANSPORT=dpdk
AG_START_SECS=60     # a DPDK start took 24 s once on a loaded machine
AG_CLI_TIMEOUT_MS=1000
AG_ELECTION_MIN=600
AG_ELECTION_MAX=1200
AG_HEARTBEAT=100

# Two CPUs this test may use: node i's worker lcore alternates between
# them (main lcore on the other), as in dp/*.sh. Idle workers back off into
# sleeps, so three nodes on two CPUs only compete while they work.
read -r CPU_A CPU_B < <(python3 -c 'import os; c = sorted(os.sched_getaffinity(0)); print(c[0], c[-1])')

# eal_line I: node I's [node] eal_args (TOML array): no hugepages, no PCI
# scan, no shared config files, its own file prefix, af_packet on dp0 with
# an rx ring large enough for a burst of fragments.
eal_line() {
	local main=$CPU_A lcores="\"-l\", \"$CPU_A,$CPU_B\""
	[ $(($1 % 2)) = 1 ] && main=$CPU_B
	lcores="$lcores, \"--main-lcore=$main\""
	# One CPU only: the worker runs on a thread next to the main lcore.
	[ "$CPU_A" = "$CPU_B" ] && lcores="\"-l\", \"$CPU_A\""
	echo "eal_args = [\"--no-huge\", \"-m\", \"256\", \"--no-pci\", \"--no-shconf\"," \
		"\"--file-prefix=$DP_ID-n$1\", $lcores, \"--vdev=net_af_packet0,iface=dp0,framecnt=4096\"]"
}
# ag_config takes the same extra lines for every node: write each node's
# file with its own EAL line through a per-node config wrapper.
eval "$(declare -f ag_config | sed '1s/ag_config/ag_config_common/')"
ag_config() { ag_config_common "$1" "$(eal_line "$1")" "${@:2}"; }

ag_scenario
# The nodes talked DPDK, the client's ARP was answered by the nodes.
for i in 1 2 3; do
	grep -q "transport net_af_packet" "$AG_TMP/n$i.log" || ag_fail "node $i did not serve on net_af_packet"
done
ag_log "PASS on DPDK net_af_packet"
