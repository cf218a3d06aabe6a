/* lib/frag end to end over a simulated network (frag_net.h) with seeded
 * loss (5-20%), duplication, reordering and truncation: two endpoints send
 * each other messages of 1 byte to 1 MiB + 64 KiB on two streams at once.
 * Properties, for every seed:
 *   - every delivered message is intact (type, group, length, bytes) and
 *     delivered at most once;
 *   - the sender finishes every message: fully acknowledged or failed
 *     (counted) once its timeout passed; every message not delivered was
 *     reported failed; without truncation none fails;
 *   - no allocation after init (malloc counted), both endpoints idle at
 *     the end (no slot held, no ack owed).
 * AEGIS_TEST_SEED=N replays one seed with the profile N selects. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/frag.h"
#include "frag_net.h"
#include "test_prng.h"

/* ---- allocations after init ------------------------------------------------ */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

static int alloc_counting;
static uint64_t allocs;

#if COUNT_ALLOCS
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
void *malloc(size_t n)
{
	allocs += alloc_counting;
	return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
	allocs += alloc_counting;
	return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
	allocs += alloc_counting;
	return __libc_realloc(p, n);
}
#endif

/* ---- the run ---------------------------------------------------------------- */

#define FRAG_BYTES 1400u
#define MSG_MAX ((1u << 20) + (64u << 10))
#define STREAMS 2u
#define MSGS_PER_STREAM 12u
#define STEP_NS 5000u
#define SIM_NS_MAX 120000000000ull

struct profile {
	uint32_t loss_pm, dup_pm, trunc_pm;
	uint64_t jitter_ns;
};

static const struct profile profiles[] = {
	{ 50, 0, 0, 0 },        /* 5% loss, in order */
	{ 50, 20, 0, 300000 },  /* 5% loss, 2% dup, reordering */
	{ 100, 50, 0, 300000 }, /* 10% loss, 5% dup, reordering */
	{ 200, 0, 0, 100000 },  /* 20% loss, reordering */
	{ 200, 50, 10, 300000 }, /* 20% loss, dup, 1% truncated, reordering */
	{ 0, 0, 0, 1000000 },   /* no loss, heavy reordering */
};
#define PROFILES (sizeof(profiles) / sizeof(profiles[0]))

static struct net net;

struct side {
	struct aeg_frag *f;
	uint32_t next[STREAMS];          /* next message number to send per stream */
	uint32_t filled[STREAMS];        /* next + 1 when sendbufs holds it */
	uint8_t delivered[STREAMS][MSGS_PER_STREAM]; /* at the receiver: times seen */
	uint32_t bad;
};

static struct side sides[2];
static uint8_t *sendbufs[2][STREAMS];

static uint32_t msg_len(struct prng *p)
{
	uint64_t r = prng_below(p, 10);
	if (r < 3)
		return 1 + (uint32_t)prng_below(p, 3 * FRAG_BYTES);
	if (r < 7)
		return 1 + (uint32_t)prng_below(p, 64u << 10);
	return (512u << 10) + (uint32_t)prng_below(p, MSG_MAX - (512u << 10) + 1);
}

static uint8_t msg_byte(uint64_t seed, uint32_t from, uint32_t s, uint32_t m, uint32_t j)
{
	uint32_t x = (uint32_t)seed ^ (from * 0x9e3779b9u) ^ (s * 0x85ebca6bu) ^ (m * 0xc2b2ae35u);
	return (uint8_t)(x >> (j % 24) ^ j ^ (j >> 9));
}

/* Lengths are drawn up front so that a message's identity fixes its bytes. */
static uint32_t lens[2][STREAMS][MSGS_PER_STREAM];

static void fill(uint64_t seed, uint32_t from, uint32_t s, uint32_t m)
{
	uint32_t len = lens[from][s][m];
	uint8_t *sendbuf = sendbufs[from][s];
	for (uint32_t j = 0; j < len; j++)
		sendbuf[j] = msg_byte(seed, from, s, m, j);
	if (len >= 4)
		memcpy(sendbuf, &m, 4);
}

static void check_msg(uint64_t seed, uint32_t to, uint32_t s, const struct aeg_frag_msg *msg)
{
	uint32_t from = 1 - to, m = msg->group;
	struct side *d = &sides[to];
	if (m >= MSGS_PER_STREAM || msg->type != 40 + s || msg->len != lens[from][s][m]) {
		d->bad++;
		return;
	}
	for (uint32_t j = 0; j < msg->len; j++) {
		uint8_t want = j < 4 && msg->len >= 4 ? ((const uint8_t *)&m)[j] :
			       msg_byte(seed, from, s, m, j);
		if (msg->body[j] != want) {
			d->bad++;
			return;
		}
	}
	d->delivered[s][m]++;
}

static void run_seed(uint64_t seed)
{
	struct prng p;
	prng_init_seed(&p, seed);
	const struct profile *pr = &profiles[seed % PROFILES];
	fprintf(stderr, "# seed %llu: loss %u%% dup %u.%u%% trunc %u.%u%% jitter %llu us\n",
		(unsigned long long)seed, pr->loss_pm / 10, pr->dup_pm / 10, pr->dup_pm % 10,
		pr->trunc_pm / 10, pr->trunc_pm % 10, (unsigned long long)(pr->jitter_ns / 1000));
	CHECK(&p, net_init(&net, &p, AEG_FRAG_HDR_BYTES + FRAG_BYTES) == 0);
	net.loss_pm = pr->loss_pm;
	net.dup_pm = pr->dup_pm;
	net.trunc_pm = pr->trunc_pm;
	net.delay_ns = 20000;
	net.jitter_ns = pr->jitter_ns;
	struct aeg_frag_config cfg = { .streams = STREAMS, .msg_bytes_max = MSG_MAX,
				       .frag_bytes = FRAG_BYTES };
	memset(sides, 0, sizeof(sides));
	for (uint32_t e = 0; e < 2; e++) {
		cfg.msg_id_first = 1000 + e * 7 + prng_below(&p, 1u << 30);
		CHECK(&p, aeg_frag_init(&sides[e].f, &cfg) == 0);
		for (uint32_t s = 0; s < STREAMS; s++)
			for (uint32_t m = 0; m < MSGS_PER_STREAM; m++)
				lens[e][s][m] = msg_len(&p);
	}
	struct aeg_frag_out out = { .reserve = net_reserve, .arg = &net };
	allocs = 0;
	alloc_counting = 1;
	uint64_t now = 1000000000ull;
	bool done = false;
	while (!done && now < 1000000000ull + SIM_NS_MAX) {
		net.now = now;
		done = net.nheap == 0;
		for (uint32_t e = 0; e < 2; e++) {
			struct side *sd = &sides[e];
			for (uint32_t s = 0; s < STREAMS; s++) {
				uint32_t m = sd->next[s];
				if (m == MSGS_PER_STREAM)
					continue;
				done = false;
				if (sd->filled[s] != m + 1)
					fill(seed, e, s, m);
				sd->filled[s] = m + 1;
				int r = aeg_frag_send(sd->f, s, (uint8_t)(40 + s), m, sendbufs[e][s],
						      lens[e][s][m], now);
				CHECK(&p, r == 0 || r == -ENOBUFS);
				sd->next[s] += r == 0;
			}
			net.from = e;
			aeg_frag_poll(sd->f, now, &out);
			net_commit(&net);
			done = done && !aeg_frag_busy(sd->f);
		}
		while (net.nheap > 0 && net.pkts[net.heap[0]].at <= now) {
			uint32_t i = net_pop(&net);
			struct net_pkt *k = &net.pkts[i];
			struct aeg_frag_msg msg;
			int r = aeg_frag_rx(sides[k->to].f, k->stream, k->type, k->group, k->body,
					    k->len, now, &msg);
			CHECK(&p, r == 1 || r == 0 || r == -EBADMSG);
			if (r == 1)
				check_msg(seed, k->to, k->stream, &msg);
			net.free_[net.nfree++] = i;
		}
		done = done && net.nheap == 0;
		now += STEP_NS;
	}
	alloc_counting = 0;
	CHECK(&p, done);
	CHECK(&p, allocs == 0);
	for (uint32_t e = 0; e < 2; e++) {
		const struct aeg_frag_stats *st = aeg_frag_stats(sides[e].f);
		const struct aeg_frag_stats *rs = aeg_frag_stats(sides[1 - e].f);
		uint32_t undelivered = 0, twice = 0;
		for (uint32_t s = 0; s < STREAMS; s++)
			for (uint32_t m = 0; m < MSGS_PER_STREAM; m++) {
				undelivered += sides[1 - e].delivered[s][m] == 0;
				twice += sides[1 - e].delivered[s][m] > 1;
			}
		fprintf(stderr, "#   %u->%u: msgs %llu done %llu failed %llu frags %llu rtx %llu"
			" rto %llu acks %llu busy %llu; rx dup %llu stale %llu geometry %llu"
			" malformed %llu no_slot %llu timeout %llu abandoned %llu\n",
			e, 1 - e, (unsigned long long)st->tx_msgs, (unsigned long long)st->tx_done,
			(unsigned long long)st->tx_failed, (unsigned long long)st->tx_frags,
			(unsigned long long)st->tx_rtx, (unsigned long long)st->tx_rto,
			(unsigned long long)rs->tx_acks, (unsigned long long)st->tx_busy,
			(unsigned long long)rs->drops[AEG_FRAG_DROP_DUP],
			(unsigned long long)rs->drops[AEG_FRAG_DROP_STALE],
			(unsigned long long)rs->drops[AEG_FRAG_DROP_GEOMETRY],
			(unsigned long long)rs->drops[AEG_FRAG_DROP_MALFORMED],
			(unsigned long long)rs->drops[AEG_FRAG_DROP_NO_SLOT],
			(unsigned long long)rs->rx_timeout, (unsigned long long)rs->rx_abandoned);
		CHECK(&p, sides[1 - e].bad == 0);
		CHECK(&p, twice == 0);
		CHECK(&p, st->tx_msgs == STREAMS * MSGS_PER_STREAM);
		CHECK(&p, st->tx_done + st->tx_failed == st->tx_msgs);
		CHECK(&p, undelivered <= st->tx_failed);
		if (pr->trunc_pm == 0)
			CHECK(&p, st->tx_failed == 0);
		if (pr->trunc_pm == 0 && pr->dup_pm == 0)
			CHECK(&p, rs->drops[AEG_FRAG_DROP_MALFORMED] +
					  rs->drops[AEG_FRAG_DROP_GEOMETRY] +
					  rs->drops[AEG_FRAG_DROP_MISMATCH] == 0);
		CHECK(&p, rs->rx_msgs == STREAMS * MSGS_PER_STREAM - undelivered);
		CHECK(&p, !aeg_frag_busy(sides[e].f));
	}
	fprintf(stderr, "#   net: %llu sent, %llu lost, %llu dup, %llu cut, %llu refused (full);"
		" %.2f s simulated\n", (unsigned long long)net.sent, (unsigned long long)net.lost,
		(unsigned long long)net.dups, (unsigned long long)net.truncs,
		(unsigned long long)net.full, (double)(now - 1000000000ull) / 1e9);
	for (uint32_t e = 0; e < 2; e++)
		aeg_frag_fini(sides[e].f);
	net_fini(&net);
}

static void test_lossy_network(void **state)
{
	(void)state;
	for (uint32_t e = 0; e < 2; e++)
		for (uint32_t s = 0; s < STREAMS; s++)
			assert_non_null(sendbufs[e][s] = malloc(MSG_MAX));
	uint64_t seed;
	if (test_seed_from_env(&seed)) {
		run_seed(seed);
	} else {
		for (uint64_t s = 0; s < 2 * PROFILES; s++)
			run_seed(0xf4a9000ull + s);
	}
	for (uint32_t e = 0; e < 2; e++)
		for (uint32_t s = 0; s < STREAMS; s++)
			free(sendbufs[e][s]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lossy_network),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
