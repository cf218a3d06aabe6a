/* SPSC control ring: argument checks, full/empty and wraparound against a
 * model queue in one thread, and 10^6 sequenced, checksummed messages
 * between two threads (a lost, duplicated, reordered or torn message
 * fails the test; this is what wrong acquire/release would break). On
 * x86 (TSO) a relaxed store may still pass here; ThreadSanitizer sees
 * the missing ordering as a data race on the slot. By hand:
 *   gcc -std=gnu11 -O1 -g -fsanitize=thread -Idataplane -Itests/common \
 *     dataplane/ctl_ring.c tests/unit/dataplane/test_ctl_ring.c \
 *     -o /tmp/test_ctl_ring_tsan -lcmocka -pthread && /tmp/test_ctl_ring_tsan */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "ctl_ring.h"
#include "test_prng.h"

#define THREAD_MSGS 1000000u

/* Message seq of a stream seeded with seed: arg[0] = seq, arg[1..5]
 * drawn from (seed, seq), arg[6] a checksum over the rest. */
static uint64_t msg_checksum(const struct aeg_ctl_msg *m)
{
	uint64_t h = ((uint64_t)m->type << 32 | m->len) ^ 0x2545f4914f6cdd1dull;
	for (int i = 0; i < 6; i++)
		h = prng_splitmix64(&h) ^ m->arg[i];
	return h;
}

static struct aeg_ctl_msg msg_make(uint64_t seed, uint64_t seq)
{
	struct aeg_ctl_msg m = { .type = (uint32_t)(seq & 0xffff), .len = (uint32_t)(seq % 57) };
	uint64_t s = seed ^ (seq * 0x9e3779b97f4a7c15ull);
	m.arg[0] = seq;
	for (int i = 1; i < 6; i++)
		m.arg[i] = prng_splitmix64(&s);
	m.arg[6] = msg_checksum(&m);
	return m;
}

/* The consumer's view of one stream: the next seq it expects, and the
 * first failure. */
struct stream_check {
	uint64_t seed, next, bad;
	const char *why;
};

static void stream_check_msg(struct stream_check *c, const struct aeg_ctl_msg *m)
{
	const char *why = NULL;
	struct aeg_ctl_msg want = msg_make(c->seed, c->next);
	if (m->arg[6] != msg_checksum(m))
		why = "torn message (checksum)";
	else if (m->arg[0] != c->next)
		why = m->arg[0] < c->next ? "duplicated or reordered message" : "lost message";
	else if (memcmp(m, &want, sizeof(want)) != 0)
		why = "wrong content";
	if (why != NULL && c->why == NULL) {
		c->why = why;
		c->bad = c->next;
	}
	c->next++;
}

/* The checker itself must catch each kind of fault. */
static void test_checker_catches_faults(void **state)
{
	(void)state;
	const uint64_t seed = 7;
	struct aeg_ctl_msg m[4];
	for (int i = 0; i < 4; i++)
		m[i] = msg_make(seed, (uint64_t)i);
	struct stream_check ok = { .seed = seed }, lost = ok, dup = ok, torn = ok;
	for (int i = 0; i < 4; i++)
		stream_check_msg(&ok, &m[i]);
	assert_null(ok.why);
	stream_check_msg(&lost, &m[0]);
	stream_check_msg(&lost, &m[2]);
	assert_string_equal(lost.why, "lost message");
	stream_check_msg(&dup, &m[0]);
	stream_check_msg(&dup, &m[0]);
	assert_string_equal(dup.why, "duplicated or reordered message");
	struct aeg_ctl_msg half = m[0];
	half.arg[3] = m[1].arg[3]; /* half of one message, half of the next */
	stream_check_msg(&torn, &half);
	assert_string_equal(torn.why, "torn message (checksum)");
}

static void test_init_args(void **state)
{
	(void)state;
	struct aeg_ctl_ring *r = NULL;
	assert_int_equal(aeg_ctl_ring_init(NULL, 8), -EINVAL);
	assert_int_equal(aeg_ctl_ring_init(&r, 0), -EINVAL);
	assert_int_equal(aeg_ctl_ring_init(&r, 3), -EINVAL);
	assert_int_equal(aeg_ctl_ring_init(&r, 96), -EINVAL);
	assert_int_equal(aeg_ctl_ring_init(&r, AEG_CTL_RING_CAPACITY_MAX * 2), -EINVAL);
	assert_null(r);
	assert_int_equal(aeg_ctl_ring_init(&r, 1), 0);
	assert_int_equal(aeg_ctl_ring_capacity(r), 1);
	assert_true(((uintptr_t)r % 64) == 0);
	aeg_ctl_ring_fini(r);
}

static void test_full_empty(void **state)
{
	(void)state;
	struct aeg_ctl_ring *r;
	struct aeg_ctl_msg out[16];
	assert_int_equal(aeg_ctl_ring_init(&r, 8), 0);
	assert_true(aeg_ctl_ring_empty(r));
	assert_int_equal(aeg_ctl_ring_pop_burst(r, out, 16), 0);
	for (uint64_t i = 0; i < 8; i++) {
		struct aeg_ctl_msg m = msg_make(1, i);
		assert_true(aeg_ctl_ring_push(r, &m));
		assert_int_equal(aeg_ctl_ring_count(r), i + 1);
	}
	struct aeg_ctl_msg extra = msg_make(1, 8);
	assert_false(aeg_ctl_ring_push(r, &extra));
	assert_int_equal(aeg_ctl_ring_count(r), 8);
	struct stream_check c = { .seed = 1 };
	assert_int_equal(aeg_ctl_ring_pop_burst(r, out, 3), 3);
	for (int i = 0; i < 3; i++)
		stream_check_msg(&c, &out[i]);
	/* Three slots free again; the next pushes wrap around the array. */
	for (uint64_t i = 8; i < 11; i++) {
		struct aeg_ctl_msg m = msg_make(1, i);
		assert_true(aeg_ctl_ring_push(r, &m));
	}
	assert_false(aeg_ctl_ring_push(r, &extra));
	assert_int_equal(aeg_ctl_ring_pop_burst(r, out, 16), 8);
	for (int i = 0; i < 8; i++)
		stream_check_msg(&c, &out[i]);
	assert_null(c.why);
	assert_int_equal(c.next, 11);
	assert_true(aeg_ctl_ring_empty(r));
	assert_int_equal(aeg_ctl_ring_pop_burst(r, out, 16), 0);
	assert_int_equal(aeg_ctl_ring_pop_burst(r, out, 0), 0);
	aeg_ctl_ring_fini(r);
}

static void check_cb(void *arg, const struct aeg_ctl_msg *m)
{
	stream_check_msg(arg, m);
}

/* drain hands over at most max messages, in order, across its bursts. */
static void test_drain(void **state)
{
	(void)state;
	struct aeg_ctl_ring *r;
	assert_int_equal(aeg_ctl_ring_init(&r, 32), 0);
	for (uint64_t i = 0; i < 30; i++) {
		struct aeg_ctl_msg m = msg_make(3, i);
		assert_true(aeg_ctl_ring_push(r, &m));
	}
	struct stream_check c = { .seed = 3 };
	assert_int_equal(aeg_ctl_ring_drain(r, check_cb, &c, 0), 0);
	assert_int_equal(aeg_ctl_ring_drain(r, check_cb, &c, 11), 11);
	assert_int_equal(c.next, 11);
	assert_int_equal(aeg_ctl_ring_count(r), 19);
	assert_int_equal(aeg_ctl_ring_drain(r, check_cb, &c, 100), 19);
	assert_int_equal(aeg_ctl_ring_drain(r, check_cb, &c, 100), 0);
	assert_null(c.why);
	assert_int_equal(c.next, 30);
	aeg_ctl_ring_fini(r);
}

/* Random pushes and pops against a model (a FIFO of sequenced messages:
 * what was pushed and not yet popped), for capacities 1..64, many laps
 * around the slot array each. (The wrap of the 32-bit free-running
 * indices would take 2^32 pushes and is not exercised.) */
static void test_random_model(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0xc71a1);
	struct aeg_ctl_msg out[40];
	for (uint32_t cap = 1; cap <= 64; cap *= 2) {
		struct aeg_ctl_ring *r;
		assert_int_equal(aeg_ctl_ring_init(&r, cap), 0);
		struct stream_check c = { .seed = p.seed };
		uint64_t pushed = 0;
		for (int step = 0; step < 20000; step++) {
			uint32_t queued = (uint32_t)(pushed - c.next);
			if (prng_below(&p, 2) == 0) {
				struct aeg_ctl_msg m = msg_make(p.seed, pushed);
				bool ok = aeg_ctl_ring_push(r, &m);
				CHECK(&p, ok == (queued < cap));
				pushed += ok;
			} else {
				uint32_t want = (uint32_t)prng_below(&p, 40);
				uint32_t got = aeg_ctl_ring_pop_burst(r, out, want);
				CHECK(&p, got == (want < queued ? want : queued));
				for (uint32_t i = 0; i < got; i++)
					stream_check_msg(&c, &out[i]);
			}
			CHECK(&p, aeg_ctl_ring_count(r) == pushed - c.next);
			CHECK(&p, c.why == NULL);
		}
		aeg_ctl_ring_fini(r);
	}
}

struct producer {
	struct aeg_ctl_ring *ring;
	uint64_t seed;
	uint64_t full;       /* pushes refused: the ring was full */
	atomic_bool done;    /* every message pushed */
};

static void *produce(void *arg)
{
	struct producer *pr = arg;
	for (uint64_t seq = 0; seq < THREAD_MSGS; seq++) {
		struct aeg_ctl_msg m = msg_make(pr->seed, seq);
		while (!aeg_ctl_ring_push(pr->ring, &m)) {
			pr->full++;
			sched_yield(); /* two cores shared by many: let the consumer run */
		}
	}
	atomic_store(&pr->done, true);
	return NULL;
}

/* The producer thread pushes 10^6 messages through a small ring; this
 * thread pops them in random bursts and checks each one, until the
 * producer is done and the ring is empty (so a lost message at the end
 * shows as a short count, a duplicate as a count too high). */
static void test_two_threads(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, 0x5b5c);
	struct producer pr = { .seed = p.seed };
	atomic_init(&pr.done, false);
	assert_int_equal(aeg_ctl_ring_init(&pr.ring, 64), 0);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, produce, &pr), 0);
	struct stream_check c = { .seed = p.seed };
	struct aeg_ctl_msg out[32];
	uint64_t empty = 0;
	for (;;) {
		/* done is read before the pop: if it was set, this pop sees
		 * every message the producer pushed. */
		bool done = atomic_load(&pr.done);
		uint32_t got = aeg_ctl_ring_pop_burst(pr.ring, out, 1 + (uint32_t)prng_below(&p, 32));
		for (uint32_t i = 0; i < got; i++)
			stream_check_msg(&c, &out[i]);
		if (got == 0 && done)
			break;
		if (got == 0) {
			empty++;
			sched_yield();
		}
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	if (c.why != NULL)
		fprintf(stderr, "message %llu: %s\n", (unsigned long long)c.bad, c.why);
	CHECK(&p, c.why == NULL);
	CHECK(&p, c.next == THREAD_MSGS);
	CHECK(&p, aeg_ctl_ring_empty(pr.ring));
	printf("two threads: %u messages, ring full %llu times, empty %llu times\n", THREAD_MSGS,
	       (unsigned long long)pr.full, (unsigned long long)empty);
	aeg_ctl_ring_fini(pr.ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_catches_faults),
		cmocka_unit_test(test_init_args),
		cmocka_unit_test(test_full_empty),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_random_model),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
