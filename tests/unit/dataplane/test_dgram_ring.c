/* Datagram ring (dgram_ring.h): argument checks; a seeded run against a
 * model queue in one thread (random lengths, full and empty, records that
 * wrap behind a marker), where every byte of every record is compared; and
 * 2 x 10^5 sequenced, checksummed records of random length between two
 * threads (a lost, duplicated, reordered or torn record fails the test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "dgram_ring.h"
#include "test_prng.h"

#define RING_BYTES 8192u
#define MODEL_MAX 4096u
#define THREAD_RECORDS 200000u

static void fill(uint8_t *buf, uint32_t len, uint64_t seq)
{
	uint64_t s = seq * 0x9e3779b97f4a7c15ull + len;
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(prng_splitmix64(&s) >> 56);
	if (len >= 8)
		memcpy(buf, &seq, 8);
}

static void test_args(void **state)
{
	(void)state;
	struct aeg_dgram_ring *r;
	assert_int_equal(aeg_dgram_ring_init(&r, 1000), -EINVAL);   /* not a power of two */
	assert_int_equal(aeg_dgram_ring_init(&r, 2048), -EINVAL);   /* below the minimum */
	assert_int_equal(aeg_dgram_ring_init(&r, RING_BYTES), 0);
	uint8_t big[RING_BYTES];
	memset(big, 1, sizeof(big));
	assert_int_equal(aeg_dgram_ring_push(r, big, 0), -EMSGSIZE);
	assert_int_equal(aeg_dgram_ring_push(r, big, RING_BYTES / 4 + 1), -EMSGSIZE);
	assert_int_equal(aeg_dgram_ring_push(r, big, RING_BYTES / 4), 0);
	const uint8_t *d;
	uint32_t len;
	assert_true(aeg_dgram_ring_peek(r, &d, &len));
	assert_int_equal(len, RING_BYTES / 4);
	aeg_dgram_ring_pop(r);
	assert_false(aeg_dgram_ring_peek(r, &d, &len));
	assert_int_equal(aeg_dgram_ring_used(r), 0);
	aeg_dgram_ring_fini(r);
}

/* One thread: the ring against a FIFO of (seq, len); pushes and pops in
 * random runs so that the ring is often full, often empty, and records
 * land at every offset (so many wrap). */
static void test_model(void **state)
{
	(void)state;
	struct prng p;
	prng_init(&p, AEGIS_TEST_SEED_DEFAULT);
	struct aeg_dgram_ring *r;
	assert_int_equal(aeg_dgram_ring_init(&r, RING_BYTES), 0);
	static uint64_t seqs[MODEL_MAX];
	static uint32_t lens[MODEL_MAX];
	uint32_t head = 0, tail = 0, fulls = 0;
	uint64_t next_seq = 1;
	uint8_t buf[RING_BYTES / 4], want[RING_BYTES / 4];
	for (int step = 0; step < 200000; step++) {
		if (prng_below(&p, 100) < 55) {
			uint32_t len = 1 + (uint32_t)prng_below(&p, prng_below(&p, 4) == 0 ? RING_BYTES / 4 : 64);
			fill(buf, len, next_seq);
			int rc = aeg_dgram_ring_push(r, buf, len);
			CHECK(&p, rc == 0 || rc == -ENOBUFS);
			if (rc == -ENOBUFS) {
				fulls++;
				/* An empty ring always takes a record of up to a quarter of it. */
				CHECK(&p, head != tail);
				continue;
			}
			CHECK(&p, head - tail < MODEL_MAX);
			seqs[head % MODEL_MAX] = next_seq++;
			lens[head % MODEL_MAX] = len;
			head++;
		} else {
			const uint8_t *d;
			uint32_t len;
			bool got = aeg_dgram_ring_peek(r, &d, &len);
			CHECK(&p, got == (head != tail));
			if (!got)
				continue;
			uint32_t i = tail % MODEL_MAX;
			CHECK(&p, len == lens[i]);
			fill(want, len, seqs[i]);
			CHECK(&p, memcmp(d, want, len) == 0);
			aeg_dgram_ring_pop(r);
			tail++;
		}
	}
	CHECK(&p, fulls > 100); /* the test did reach "full" often */
	aeg_dgram_ring_fini(r);
}

struct thread_ctx {
	struct aeg_dgram_ring *r;
	uint64_t seed;
};

static void *producer(void *arg)
{
	struct thread_ctx *t = arg;
	uint64_t s = t->seed;
	uint8_t buf[1024];
	for (uint64_t seq = 1; seq <= THREAD_RECORDS; seq++) {
		uint32_t len = 8 + (uint32_t)(prng_splitmix64(&s) % 1000);
		fill(buf, len, seq);
		while (aeg_dgram_ring_push(t->r, buf, len) == -ENOBUFS)
			sched_yield();
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	uint64_t seed = test_seed(AEGIS_TEST_SEED_DEFAULT);
	struct thread_ctx t = { .seed = seed };
	assert_int_equal(aeg_dgram_ring_init(&t.r, 16384), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, producer, &t), 0);
	uint64_t s = seed;
	uint8_t want[1024];
	for (uint64_t seq = 1; seq <= THREAD_RECORDS; seq++) {
		const uint8_t *d;
		uint32_t len;
		while (!aeg_dgram_ring_peek(t.r, &d, &len))
			sched_yield();
		uint32_t want_len = 8 + (uint32_t)(prng_splitmix64(&s) % 1000);
		fill(want, want_len, seq);
		CHECK_SEED("threads", seed, len == want_len && memcmp(d, want, len) == 0);
		aeg_dgram_ring_pop(t.r);
	}
	assert_int_equal(pthread_join(th, NULL), 0);
	const uint8_t *d;
	uint32_t len;
	assert_false(aeg_dgram_ring_peek(t.r, &d, &len));
	aeg_dgram_ring_fini(t.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
