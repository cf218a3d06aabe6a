/* Lamport clocks and hybrid logical clocks: unit cases, monotonicity under
 * physical time that jumps back, causality between nodes with skewed and
 * drifting clocks, the logical-overflow path and the timestamp encoding. */
#include "vclock_test_util.h"

#include <errno.h>

/* ---- Lamport -------------------------------------------------------------- */

static void test_lamport_basic(void **state)
{
	(void)state;
	struct aeg_lamport lc;
	uint64_t t = 0;

	aeg_lamport_init(&lc);
	assert_int_equal(aeg_lamport_tick(&lc, &t), 0);
	assert_int_equal(t, 1);
	assert_int_equal(aeg_lamport_observe(&lc, 10, &t), 0);
	assert_int_equal(t, 11);
	assert_int_equal(aeg_lamport_observe(&lc, 3, NULL), 0);
	assert_int_equal(lc.time, 12);

	lc.time = UINT64_MAX - 1;
	assert_int_equal(aeg_lamport_tick(&lc, &t), 0);
	assert_int_equal(t, UINT64_MAX);
	assert_int_equal(aeg_lamport_tick(&lc, &t), -EOVERFLOW);
	assert_int_equal(lc.time, UINT64_MAX);
	lc.time = 5;
	assert_int_equal(aeg_lamport_observe(&lc, UINT64_MAX, &t), -EOVERFLOW);
	assert_int_equal(lc.time, 5);
}

#define NODES 5
#define MESSAGES_MAX 64

static void test_lamport_receive_after_send(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_lamport lc[NODES];
	uint64_t sent[MESSAGES_MAX], t = 0, last[NODES] = { 0 };
	int in_flight = 0;

	prng_init(&p, 0x1a3b0001);
	for (int i = 0; i < NODES; i++)
		aeg_lamport_init(&lc[i]);
	for (int step = 0; step < 200000; step++) {
		int n = (int)prng_below(&p, NODES);
		if (in_flight > 0 && (prng_below(&p, 2) == 0 || in_flight == MESSAGES_MAX)) {
			int k = (int)prng_below(&p, (uint64_t)in_flight);
			uint64_t send = sent[k];
			sent[k] = sent[--in_flight];
			CHECK(&p, aeg_lamport_observe(&lc[n], send, &t) == 0);
			CHECK(&p, t > send);
		} else {
			CHECK(&p, aeg_lamport_tick(&lc[n], &t) == 0);
			if (prng_below(&p, 2) == 0)
				sent[in_flight++] = t;
		}
		CHECK(&p, t > last[n]); /* local events are ordered too */
		last[n] = t;
	}
}

/* ---- HLC unit cases ----------------------------------------------------- */

static void expect_ts(const struct aeg_hlc_ts *ts, uint64_t wall, uint32_t logical, uint32_t node)
{
	assert_int_equal(ts->wall, wall);
	assert_int_equal(ts->logical, logical);
	assert_int_equal(ts->node, node);
}

static void test_hlc_now(void **state)
{
	(void)state;
	struct aeg_hlc h;
	struct aeg_hlc_ts ts;

	aeg_hlc_init(&h, 7, 0);
	assert_int_equal(aeg_hlc_now(&h, 100, &ts), 0);
	expect_ts(&ts, 100, 0, 7);
	assert_int_equal(aeg_hlc_now(&h, 100, &ts), 0);
	expect_ts(&ts, 100, 1, 7);
	/* Physical time went back: wall holds, logical moves on. */
	assert_int_equal(aeg_hlc_now(&h, 50, &ts), 0);
	expect_ts(&ts, 100, 2, 7);
	assert_int_equal(aeg_hlc_now(&h, 101, &ts), 0);
	expect_ts(&ts, 101, 0, 7);
	assert_int_equal(aeg_hlc_now(&h, 101, NULL), 0);
	expect_ts(&h.last, 101, 1, 7);
}

static void test_hlc_update(void **state)
{
	(void)state;
	struct aeg_hlc h, copy;
	struct aeg_hlc_ts ts, remote;

	/* Each step is a receive at `physical` of `remote`, from the state the
	 * previous step left. */
	static const struct {
		const char *what;
		uint64_t physical;
		struct aeg_hlc_ts remote, want;
	} steps[] = {
		{ "physical ahead of both: logical resets", 200, { 90, 40, 2 }, { 200, 0, 1 } },
		{ "remote ahead: its wall, one past its logical", 210, { 300, 5, 2 }, { 300, 6, 1 } },
		{ "same wall: one past the larger logical", 220, { 300, 3, 2 }, { 300, 7, 1 } },
		{ "local ahead of remote and physical", 230, { 250, 99, 2 }, { 300, 8, 1 } },
		{ "all three equal walls", 300, { 300, 20, 2 }, { 300, 21, 1 } },
	};

	aeg_hlc_init(&h, 1, 1000);
	assert_int_equal(aeg_hlc_now(&h, 100, &ts), 0);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(aeg_hlc_update(&h, steps[i].physical, &steps[i].remote, &ts), 0);
		if (aeg_hlc_ts_compare(&ts, &steps[i].want) != 0)
			fail_msg("%s: got (%llu, %u)", steps[i].what,
				 (unsigned long long)ts.wall, ts.logical);
	}

	/* Too far ahead: -ERANGE, clock unchanged, out untouched. */
	copy = h;
	remote = (struct aeg_hlc_ts){ 230 + 1000 + 1, 0, 2 };
	ts = (struct aeg_hlc_ts){ 1, 2, 3 };
	assert_int_equal(aeg_hlc_update(&h, 230, &remote, &ts), -ERANGE);
	assert_memory_equal(&h, &copy, sizeof(h));
	expect_ts(&ts, 1, 2, 3);
	/* Exactly max_offset ahead is accepted. */
	remote.wall--;
	assert_int_equal(aeg_hlc_update(&h, 230, &remote, &ts), 0);
	expect_ts(&ts, 1230, 1, 1);
	/* physical + max_offset beyond UINT64_MAX: nothing is too far. */
	aeg_hlc_init(&h, 1, UINT64_MAX - 5);
	remote = (struct aeg_hlc_ts){ UINT64_MAX - 1, 0, 2 };
	assert_int_equal(aeg_hlc_update(&h, 10, &remote, &ts), 0);
	/* max_offset 0: no limit. */
	aeg_hlc_init(&h, 1, 0);
	assert_int_equal(aeg_hlc_update(&h, 0, &remote, &ts), 0);
	expect_ts(&ts, UINT64_MAX - 1, 1, 1);
}

static void test_hlc_logical_overflow(void **state)
{
	(void)state;
	struct aeg_hlc h, copy;
	struct aeg_hlc_ts ts, remote;

	aeg_hlc_init(&h, 4, 0);
	h.last.wall = 500;
	h.last.logical = UINT32_MAX - 1;
	assert_int_equal(aeg_hlc_now(&h, 400, &ts), 0);
	expect_ts(&ts, 500, UINT32_MAX, 4);
	/* Logical would wrap: wall moves one unit ahead, logical restarts. */
	assert_int_equal(aeg_hlc_now(&h, 500, &ts), 0);
	expect_ts(&ts, 501, 0, 4);

	/* Receive paths: same wall, remote ahead, local ahead. */
	remote = (struct aeg_hlc_ts){ 501, UINT32_MAX, 9 };
	assert_int_equal(aeg_hlc_update(&h, 0, &remote, &ts), 0);
	expect_ts(&ts, 502, 0, 4);
	remote = (struct aeg_hlc_ts){ 900, UINT32_MAX, 9 };
	assert_int_equal(aeg_hlc_update(&h, 0, &remote, &ts), 0);
	expect_ts(&ts, 901, 0, 4);
	h.last.logical = UINT32_MAX;
	remote = (struct aeg_hlc_ts){ 3, 0, 9 };
	assert_int_equal(aeg_hlc_update(&h, 0, &remote, &ts), 0);
	expect_ts(&ts, 902, 0, 4);

	/* Only a wrapping wall is an error, and it changes nothing. */
	h.last.wall = UINT64_MAX;
	h.last.logical = UINT32_MAX;
	copy = h;
	assert_int_equal(aeg_hlc_now(&h, 0, &ts), -EOVERFLOW);
	assert_memory_equal(&h, &copy, sizeof(h));
	remote = (struct aeg_hlc_ts){ UINT64_MAX, 1, 9 };
	assert_int_equal(aeg_hlc_update(&h, 0, &remote, &ts), -EOVERFLOW);
	assert_memory_equal(&h, &copy, sizeof(h));
	/* Below the very top the clock still works at wall UINT64_MAX. */
	h.last.logical = 7;
	assert_int_equal(aeg_hlc_now(&h, UINT64_MAX, &ts), 0);
	expect_ts(&ts, UINT64_MAX, 8, 4);
}

/* ---- HLC properties ------------------------------------------------------ */

static void test_hlc_never_backwards(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_hlc h;
	struct aeg_hlc_ts prev, ts, remote;
	uint64_t physical = 1000000000000ull;

	prng_init(&p, 0x41c00001);
	aeg_hlc_init(&h, 3, 0);
	prev = h.last;
	for (int step = 0; step < 200000; step++) {
		/* Mostly forward, sometimes a jump back, sometimes stuck. */
		switch (prng_below(&p, 10)) {
		case 0:
			physical -= prng_below(&p, 5000);
			break;
		case 1:
			break;
		default:
			physical += prng_below(&p, 1000);
		}
		if (prng_below(&p, 3) == 0) {
			remote = (struct aeg_hlc_ts){ physical + prng_below(&p, 2000) - 1000,
						      (uint32_t)prng_below(&p, 5), 8 };
			CHECK(&p, aeg_hlc_update(&h, physical, &remote, &ts) == 0);
			CHECK(&p, aeg_hlc_ts_compare(&ts, &remote) > 0);
		} else {
			CHECK(&p, aeg_hlc_now(&h, physical, &ts) == 0);
		}
		CHECK(&p, aeg_hlc_ts_compare(&ts, &prev) > 0);
		CHECK(&p, ts.node == 3 && aeg_hlc_ts_compare(&ts, &h.last) == 0);
		prev = ts;
	}
}

/* N nodes with physical clocks off by up to SKEW_MAX and drifting by up to
 * DRIFT_PPM (both random per node), exchanging random messages with random
 * delays. Checks Kulkarni's guarantees: every receive is later than its send,
 * every node's events are increasing, and wall never runs ahead of the
 * fastest physical clock (so wall - own physical is at most the spread). */
#define SKEW_MAX 5000
#define DRIFT_PPM 200

struct sim_msg {
	struct aeg_hlc_ts ts;
	uint64_t deliver_at;
};

/* Never decreasing: |drift| < 1e6 ppm, so each unit of true time moves it
 * by 0 or more. */
static uint64_t sim_physical(int64_t skew, int64_t drift_ppm, uint64_t true_time)
{
	return (uint64_t)((int64_t)true_time + skew + (int64_t)true_time * drift_ppm / 1000000);
}

static void test_hlc_causality_with_skew(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_hlc h[NODES];
	struct aeg_hlc_ts last[NODES], ts;
	struct sim_msg msgs[MESSAGES_MAX];
	int64_t skew[NODES], drift[NODES];
	uint64_t now = 1000; /* true time, in the simulation's unit */
	int in_flight = 0, remote_ahead = 0;

	prng_init(&p, 0x41c00002);
	for (int i = 0; i < NODES; i++) {
		skew[i] = (int64_t)prng_below(&p, SKEW_MAX + 1);
		drift[i] = (int64_t)prng_below(&p, 2 * DRIFT_PPM + 1) - DRIFT_PPM;
		/* Rejecting nothing here: the spread stays under the max offset. */
		aeg_hlc_init(&h[i], 100 + (uint32_t)i, 4 * SKEW_MAX);
		last[i] = h[i].last;
	}
	for (int step = 0; step < 200000; step++) {
		now += prng_below(&p, 50);
		int n = (int)prng_below(&p, NODES);
		uint64_t phys = sim_physical(skew[n], drift[n], now);
		int k = in_flight > 0 ? (int)prng_below(&p, (uint64_t)in_flight) : -1;
		if (k >= 0 && (msgs[k].deliver_at <= now || in_flight == MESSAGES_MAX)) {
			struct aeg_hlc_ts send = msgs[k].ts;
			msgs[k] = msgs[--in_flight];
			remote_ahead += send.wall > phys;
			CHECK(&p, aeg_hlc_update(&h[n], phys, &send, &ts) == 0);
			CHECK(&p, aeg_hlc_ts_compare(&ts, &send) > 0);
		} else {
			CHECK(&p, aeg_hlc_now(&h[n], phys, &ts) == 0);
			if (prng_below(&p, 2) == 0)
				msgs[in_flight++] = (struct sim_msg){ ts, now + prng_below(&p, 3000) };
		}
		CHECK(&p, aeg_hlc_ts_compare(&ts, &last[n]) > 0);
		last[n] = ts;
		uint64_t fastest = 0;
		for (int i = 0; i < NODES; i++) {
			uint64_t pi = sim_physical(skew[i], drift[i], now);
			fastest = pi > fastest ? pi : fastest;
		}
		CHECK(&p, ts.wall >= phys && ts.wall <= fastest);
		CHECK(&p, ts.wall - phys <= SKEW_MAX + 2 * now * DRIFT_PPM / 1000000 + 1);
	}
	/* The skew mattered: many messages arrived "from the future". */
	CHECK(&p, remote_ahead > 1000);
}

static void test_hlc_ts_order_and_encoding(void **state)
{
	(void)state;
	struct prng p;
	struct aeg_hlc_ts t[3], back;
	uint8_t enc[2][AEG_HLC_TS_ENCODED_SIZE];

	prng_init(&p, 0x41c00003);
	for (int round = 0; round < 100000; round++) {
		for (int i = 0; i < 3; i++) {
			/* Few distinct values so ties reach every field. */
			t[i] = (struct aeg_hlc_ts){ prng_below(&p, 3) << 40, (uint32_t)prng_below(&p, 3),
						    (uint32_t)prng_below(&p, 3) };
		}
		int ab = aeg_hlc_ts_compare(&t[0], &t[1]), bc = aeg_hlc_ts_compare(&t[1], &t[2]);
		CHECK(&p, ab == -aeg_hlc_ts_compare(&t[1], &t[0]));
		CHECK(&p, (ab == 0) == (memcmp(&t[0], &t[1], sizeof(t[0])) == 0));
		if (ab < 0 && bc < 0)
			CHECK(&p, aeg_hlc_ts_compare(&t[0], &t[2]) < 0);
		aeg_hlc_ts_encode(&t[0], enc[0]);
		aeg_hlc_ts_encode(&t[1], enc[1]);
		CHECK(&p, aeg_hlc_ts_compare_encoded(enc[0], enc[1]) == ab);
		aeg_hlc_ts_decode(&back, enc[0]);
		CHECK(&p, aeg_hlc_ts_compare(&back, &t[0]) == 0);
	}
	/* The byte layout is part of the wire format. */
	const struct aeg_hlc_ts ts = { 0x0102030405060708ull, 0x0a0b0c0d, 0x11223344 };
	const uint8_t want[AEG_HLC_TS_ENCODED_SIZE] = {
		0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
		0x0d, 0x0c, 0x0b, 0x0a, 0x44, 0x33, 0x22, 0x11,
	};
	aeg_hlc_ts_encode(&ts, enc[0]);
	assert_memory_equal(enc[0], want, sizeof(want));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lamport_basic),
		cmocka_unit_test(test_lamport_receive_after_send),
		cmocka_unit_test(test_hlc_now),
		cmocka_unit_test(test_hlc_update),
		cmocka_unit_test(test_hlc_logical_overflow),
		cmocka_unit_test(test_hlc_never_backwards),
		cmocka_unit_test(test_hlc_causality_with_skew),
		cmocka_unit_test(test_hlc_ts_order_and_encoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
