/* The fault mixes of the default rotation and the knobs a seed runs with
 * (see sim.h struct sim_mix and README.md). */
#include "sim.h"

#define MIX(n, loss, dup, dmin, dmax, part, crash, xfer, drift, kmin, kmax, torn_, lease_) \
	.name = n, .loss_pct = loss, .dup_pct = dup, .delay_us_min = dmin, .delay_us_max = dmax, \
	.partition_every_ms = part, .crash_every_ms = crash, .transfer_every_ms = xfer, \
	.drift_pct = drift, .disk_us_min = kmin, .disk_us_max = kmax, .torn = torn_, \
	.lease_read = lease_

/* groups: Raft groups per node on one driver; log_room / log_inflight: a
 * log that takes a few entries per batch and few batches in flight (the
 * driver's write cursor and -EAGAIN path); fig8_pct: share of seeds that
 * run the Figure 8 adversary (see sim_batch_entries()). */
const struct sim_mix sim_mixes[] = {
	/*      name     loss dup delay us    part crash xfer drift disk us     torn lease */
	{ MIX("calm",      0,  0, 100,  2000,   0,   0,   0,  0, 100,  1000, false, false),
	  .groups = 2 },
	{ MIX("lossy",    10,  5, 100, 30000,   0,   0,   0,  5, 100,  3000, false, false),
	  .groups = 3, .fig8_pct = 50 },
	{ MIX("partition", 2,  2, 100, 10000, 150,   0,   0,  5, 100,  3000, false, false),
	  .snap_every = 16, .groups = 2, .fig8_pct = 50 },
	{ MIX("crash",     2,  2, 100, 10000,   0, 150,   0,  5, 100, 20000, true, false),
	  .snap_every = 16, .groups = 3, .log_room = 6, .log_inflight = 2, .fig8_pct = 25 },
	{ MIX("transfer",  2,  2, 100, 10000, 300,   0, 150,  5, 100,  3000, false, false),
	  .fig8_pct = 50 },
	{ MIX("chaos",     5,  5, 100, 30000, 200, 200, 400, 10, 100, 30000, true, false),
	  .snap_every = 12, .groups = 4, .fig8_pct = 50 },
	{ MIX("lease",     2,  2, 100, 10000, 200, 200, 400, 10, 100, 10000, true, true),
	  .snap_every = 16, .fig8_pct = 50 },
	/* plain Raft: an isolated leader keeps leading */
	{ MIX("nocq",      2,  2, 100, 20000, 100, 300,   0,  5, 100, 10000, true, false),
	  .no_prevote = true, .no_check_quorum = true, .snap_every = 24, .partition_ms_max = 1200,
	  .groups = 3,
	  .fig8_pct = 20 },
	/* Figure 8 hunting: one entry per append, slow disks, leaders crash
	 * right after their commit index moves */
	{ MIX("figure8",   5,  2, 100, 40000, 150, 400,   0, 10, 1000, 60000, true, false),
	  .no_prevote = true, .fig8_pct = 100 },
	/* split votes and crashes right after voting */
	{ MIX("votes",     5,  2, 1000, 60000, 300, 400,  0, 10, 1000, 40000, true, false),
	  .no_prevote = true, .crash_after_vote_pct = 30, .snap_every = 16, .fig8_pct = 25 },
	/* membership changes (joint consensus, learners) among all of it;
	 * nodes beyond the first 3 start outside the config */
	{ MIX("members",   2,  2, 100, 20000, 300, 300, 400, 10, 100, 20000, true, false),
	  .conf_every_ms = 150, .initial_voters = 3, .snap_every = 16, .groups = 2,
	  .fig8_pct = 50 },
	/* quiescence: clients pause long enough for groups to go quiet; a
	 * node-level failure detector wakes followers of unreachable leaders */
	{ MIX("quiet",     2,  2, 100, 10000, 300, 300, 400,  5, 100, 10000, true, true),
	  .quiesce_ticks = 20, .think_ms_max = 600, .snap_every = 16, .groups = 4,
	  .log_room = 16 },
	/* values over a frame (up to 1 MiB): appends and snapshots of many
	 * frames, the transport's message limit checked on every send */
	{ MIX("large",     3,  3, 100, 10000, 300, 300,   0,  5, 100, 10000, true, false),
	  .snap_every = 16, .groups = 2, .value_bytes_min = SIM_FRAME_BYTES + 1,
	  .value_bytes_max = 1u << 20 },
};
const uint32_t sim_mixes_n = sizeof(sim_mixes) / sizeof(sim_mixes[0]);

const struct sim_mix sim_extra_mixes[] = {
	/* replica moves (moves.c) amid partitions, crashes and transfers, 3
	 * voters of 5 nodes: learner, catch-up, joint change, drop */
	{ MIX("moves",     2,  2, 100, 20000, 400, 400, 600, 10, 100, 20000, true, false),
	  .moves_every_ms = 100, .initial_voters = 3, .snap_every = 16, .groups = 2 },
	/* membership churn (churn.c): joins, drains and failures of 5 nodes,
	 * the planner's moves amid partitions, crashes and transfers */
	{ MIX("churn",     2,  2, 100, 20000, 400, 500, 600, 10, 100, 20000, true, false),
	  .churn_every_ms = 100, .initial_voters = 3, .snap_every = 16, .groups = 4 },
};
const uint32_t sim_extra_mixes_n = sizeof(sim_extra_mixes) / sizeof(sim_extra_mixes[0]);

uint32_t sim_batch_entries(const struct sim *s)
{
	return s->fig8 ? 1 : s->mix->batch_entries ? s->mix->batch_entries : 64;
}

uint32_t sim_crash_after_commit_pct(const struct sim *s)
{
	return s->fig8 ? 50 : s->mix->crash_after_commit_pct;
}

uint32_t sim_crash_after_propose_pct(const struct sim *s)
{
	return s->fig8 ? 30 : s->mix->crash_after_propose_pct;
}

uint32_t sim_crash_after_elect_pct(const struct sim *s)
{
	return s->fig8 ? 30 : 0;
}
