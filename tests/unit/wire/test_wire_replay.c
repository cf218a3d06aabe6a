/* lib/wire replay window: edge cases at the window's lower end, at word
 * and ring boundaries, far-future jumps, the floor, and a seeded random
 * comparison against a plain model that remembers every sequence; the
 * sequence rule (aeg_wire_seq_next) under reordering and restarts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aegis/wire.h"
#include "test_prng.h"

#define W AEG_WIRE_REPLAY_WINDOW

static enum aeg_wire_drop accept(struct aeg_wire_replay *w, uint64_t seq)
{
	enum aeg_wire_drop why = aeg_wire_replay_check(w, seq);
	if (why == AEG_WIRE_OK)
		aeg_wire_replay_commit(w, seq);
	return why;
}

static void test_fresh_window(void **state)
{
	(void)state;
	struct aeg_wire_replay w;
	aeg_wire_replay_init(&w, 0);
	assert_int_equal(accept(&w, 0), AEG_WIRE_DROP_REPLAYED); /* 0 is never valid */
	assert_int_equal(accept(&w, 1), AEG_WIRE_OK);
	assert_int_equal(accept(&w, 1), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(accept(&w, 3), AEG_WIRE_OK);
	assert_int_equal(accept(&w, 2), AEG_WIRE_OK); /* late, inside the window */
	assert_int_equal(accept(&w, 2), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(accept(&w, 3), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(accept(&w, 0), AEG_WIRE_DROP_REPLAYED);
}

static void test_check_does_not_change(void **state)
{
	(void)state;
	struct aeg_wire_replay w, before;
	aeg_wire_replay_init(&w, 0);
	assert_int_equal(accept(&w, 10), AEG_WIRE_OK);
	before = w;
	assert_int_equal(aeg_wire_replay_check(&w, 11), AEG_WIRE_OK);
	assert_int_equal(aeg_wire_replay_check(&w, 5), AEG_WIRE_OK);
	assert_int_equal(aeg_wire_replay_check(&w, 1000000), AEG_WIRE_OK);
	assert_memory_equal(&w, &before, sizeof(w));
}

/* The lower edge: top - (W - 1) is still inside, top - W is too old. */
static void test_window_edge(void **state)
{
	(void)state;
	static const uint64_t tops[] = {W, W + 1, 255, 256, 257, 1000, 1023, 1024};
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++) {
		uint64_t top = tops[i];
		struct aeg_wire_replay w;
		aeg_wire_replay_init(&w, 0);
		assert_int_equal(accept(&w, top), AEG_WIRE_OK);
		assert_int_equal(accept(&w, top - W), AEG_WIRE_DROP_TOO_OLD);
		assert_int_equal(accept(&w, top - W + 1), AEG_WIRE_OK);
		assert_int_equal(accept(&w, top - W + 1), AEG_WIRE_DROP_REPLAYED);
		/* Everything between, in descending order, once. */
		for (uint64_t s = top - 1; s > top - W + 1; s--)
			assert_int_equal(accept(&w, s), AEG_WIRE_OK);
		for (uint64_t s = top - W + 1; s <= top; s++)
			assert_int_equal(accept(&w, s), AEG_WIRE_DROP_REPLAYED);
	}
}

/* Moving the top across word and ring boundaries must forget exactly the
 * words that fall out of the window, never the ones inside it. */
static void test_ring_wraparound(void **state)
{
	(void)state;
	struct aeg_wire_replay w;
	aeg_wire_replay_init(&w, 0);
	/* Accept only odd sequences through several turns of the ring. */
	for (uint64_t s = 1; s < 10 * AEG_WIRE_REPLAY_BITS; s += 2) {
		assert_int_equal(accept(&w, s), AEG_WIRE_OK);
		/* The even ones just below are still free, the odd ones taken. */
		if (s > 2) {
			assert_int_equal(aeg_wire_replay_check(&w, s - 1), AEG_WIRE_OK);
			assert_int_equal(aeg_wire_replay_check(&w, s - 2), AEG_WIRE_DROP_REPLAYED);
		}
		if (s >= W + 1) {
			assert_int_equal(aeg_wire_replay_check(&w, s - W + 1), AEG_WIRE_OK);
			assert_int_equal(aeg_wire_replay_check(&w, s - W), AEG_WIRE_DROP_TOO_OLD);
		}
	}
	/* Steps of exactly one word and of exactly one ring. */
	aeg_wire_replay_init(&w, 0);
	for (uint64_t s = 64; s < 64 * 40; s += 64) {
		assert_int_equal(accept(&w, s), AEG_WIRE_OK);
		assert_int_equal(aeg_wire_replay_check(&w, s - 1), AEG_WIRE_OK);
		/* s - 64 was accepted one step ago (or is 0, never valid). */
		assert_int_equal(aeg_wire_replay_check(&w, s - 64), AEG_WIRE_DROP_REPLAYED);
	}
	aeg_wire_replay_init(&w, 0);
	for (uint64_t s = AEG_WIRE_REPLAY_BITS; s < 20 * AEG_WIRE_REPLAY_BITS;
	     s += AEG_WIRE_REPLAY_BITS) {
		assert_int_equal(accept(&w, s), AEG_WIRE_OK);
		/* The slot of s - BITS is the same bit of the ring: it must read
		 * as too old, and s - 1 .. s - W + 1 as unseen. */
		assert_int_equal(aeg_wire_replay_check(&w, s - AEG_WIRE_REPLAY_BITS),
				 AEG_WIRE_DROP_TOO_OLD);
		for (uint64_t d = 1; d < W; d++)
			assert_int_equal(aeg_wire_replay_check(&w, s - d), AEG_WIRE_OK);
	}
}

static void test_far_future_jumps(void **state)
{
	(void)state;
	struct aeg_wire_replay w;
	aeg_wire_replay_init(&w, 0);
	for (uint64_t s = 1; s <= 100; s++)
		assert_int_equal(accept(&w, s), AEG_WIRE_OK);
	uint64_t far = 1000000007;
	assert_int_equal(accept(&w, far), AEG_WIRE_OK);
	assert_int_equal(accept(&w, 100), AEG_WIRE_DROP_TOO_OLD);
	/* Nothing of the old bitmap may survive the jump. */
	for (uint64_t d = 1; d < W; d++)
		assert_int_equal(aeg_wire_replay_check(&w, far - d), AEG_WIRE_OK);
	assert_int_equal(accept(&w, far), AEG_WIRE_DROP_REPLAYED);
	/* Up to the largest sequence. */
	uint64_t max = UINT64_MAX;
	assert_int_equal(accept(&w, max - 5), AEG_WIRE_OK);
	assert_int_equal(accept(&w, max), AEG_WIRE_OK);
	assert_int_equal(accept(&w, max - 1), AEG_WIRE_OK);
	assert_int_equal(accept(&w, max - 5), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(accept(&w, max), AEG_WIRE_DROP_REPLAYED);
	assert_int_equal(accept(&w, max - W), AEG_WIRE_DROP_TOO_OLD);
	assert_int_equal(accept(&w, far), AEG_WIRE_DROP_TOO_OLD);
	assert_int_equal(accept(&w, max - 2), AEG_WIRE_OK);
}

/* A receiver restarted with a floor refuses the floor and below, and
 * accepts everything above it in any order. */
static void test_floor(void **state)
{
	(void)state;
	static const uint64_t floors[] = {0, 1, 62, 63, 64, 65, 127, 128, 255, 256,
					  1000003, UINT64_MAX - 300};
	for (size_t i = 0; i < sizeof(floors) / sizeof(floors[0]); i++) {
		uint64_t f = floors[i];
		struct aeg_wire_replay w;
		aeg_wire_replay_init(&w, f);
		assert_int_not_equal(accept(&w, f), AEG_WIRE_OK);
		if (f > 0)
			assert_int_not_equal(accept(&w, f - 1), AEG_WIRE_OK);
		if (f >= W)
			assert_int_equal(accept(&w, f - W), AEG_WIRE_DROP_TOO_OLD);
		/* Above the floor, out of order, none may read as a replay. */
		assert_int_equal(accept(&w, f + 70), AEG_WIRE_OK);
		for (uint64_t s = f + 69; s > f; s--)
			assert_int_equal(accept(&w, s), AEG_WIRE_OK);
		assert_int_not_equal(accept(&w, f), AEG_WIRE_OK);
	}
}

/* Random streams with reordering, duplicates and jumps against a model
 * that remembers every sequence ever accepted. */
static void test_random_against_model(void **state)
{
	(void)state;
	enum { SEQ_MAX = 200000 };
	bool *seen = calloc(SEQ_MAX + 1, sizeof(bool));
	assert_non_null(seen);
	uint64_t seed0 = test_seed(0x5eed0001);
	for (int round = 0; round < 20; round++) {
		struct prng rng;
		prng_init_seed(&rng, seed0 + (uint64_t)round);
		memset(seen, 0, (SEQ_MAX + 1) * sizeof(bool));
		struct aeg_wire_replay w;
		aeg_wire_replay_init(&w, 0);
		uint64_t top = 0, next = 1;
		for (int i = 0; i < 50000 && next < SEQ_MAX - 2000; i++) {
			uint64_t r = prng_next(&rng), seq;
			switch (r % 8) {
			case 0: /* a jump ahead, sometimes beyond the window */
				next += 1 + (r >> 8) % 700;
				seq = next;
				break;
			case 1: /* an old or duplicate one */
				seq = next > 400 ? next - (r >> 8) % 400 : 1 + (r >> 8) % next;
				break;
			case 2: /* around the lower edge */
				seq = top > W + 3 ? top - W - 2 + (r >> 8) % 5 : 1;
				break;
			default: /* mostly in order, slightly reordered */
				seq = next + (r >> 8) % 4;
				next++;
				break;
			}
			enum aeg_wire_drop want;
			if (seq == 0 || seq > SEQ_MAX)
				continue;
			if (seq > top)
				want = AEG_WIRE_OK;
			else if (top - seq >= W)
				want = AEG_WIRE_DROP_TOO_OLD;
			else if (seen[seq])
				want = AEG_WIRE_DROP_REPLAYED;
			else
				want = AEG_WIRE_OK;
			enum aeg_wire_drop got = accept(&w, seq);
			if (got != want) {
				test_seed_print(NULL, rng.seed);
				fail_msg("step %d seq %llu top %llu: got %s want %s", i,
					 (unsigned long long)seq, (unsigned long long)top,
					 aeg_wire_drop_name(got), aeg_wire_drop_name(want));
			}
			if (got == AEG_WIRE_OK) {
				seen[seq] = true;
				if (seq > top)
					top = seq;
			}
		}
	}
	free(seen);
}

/* aeg_wire_seq_next: a new stream starts at the wall clock, neighbours are
 * one apart, and the number jumps to the wall clock only after falling a
 * full AEG_WIRE_SEQ_RESYNC_NS behind. */
static void test_seq_next_rule(void **state)
{
	(void)state;
	const uint64_t R = AEG_WIRE_SEQ_RESYNC_NS, t0 = 1800000000ull * 1000000000ull;
	assert_int_equal(aeg_wire_seq_next(0, t0), t0);
	assert_int_equal(aeg_wire_seq_next(0, 5), 1); /* a clock near 0 still counts */
	/* Within R of the clock: +1, whatever the clock did. */
	assert_int_equal(aeg_wire_seq_next(t0, t0 + 1000), t0 + 1);
	assert_int_equal(aeg_wire_seq_next(t0, t0 + R), t0 + 1);
	assert_int_equal(aeg_wire_seq_next(t0, t0 - 5000), t0 + 1); /* clock stepped back */
	/* prev + 1 exactly R behind still counts; one more ns and it jumps. */
	assert_int_equal(aeg_wire_seq_next(t0, t0 + 1 + R), t0 + 1);
	assert_int_equal(aeg_wire_seq_next(t0, t0 + 2 + R), t0 + 2 + R);
	/* Random: strictly increasing, and never more than R behind the clock. */
	struct prng rng;
	uint64_t seed = test_seed(0x5eed0002);
	prng_init_seed(&rng, seed);
	uint64_t wall = t0, seq = 0;
	for (int i = 0; i < 200000; i++) {
		wall += prng_below(&rng, 4) == 0 ? prng_below(&rng, 3 * R) : prng_below(&rng, 2000);
		uint64_t next = aeg_wire_seq_next(seq, wall);
		if (next <= seq || next + R < wall) {
			fprintf(stderr, "seed %#llx step %d: seq %llu -> %llu at wall %llu\n",
				(unsigned long long)seed, i, (unsigned long long)seq,
				(unsigned long long)next, (unsigned long long)wall);
			fail();
		}
		seq = next;
	}
}

/* A sender at 1 Mpps for 3.5 s whose frames arrive shuffled within blocks
 * of 128 (any order within the block): every frame is accepted except
 * ones reordered across a re-anchoring jump. With numbers that follow the
 * clock in ns this loses nearly every reordered frame. */
static void test_seq_reordering_tolerated(void **state)
{
	(void)state;
	enum { BLOCK = 128, FRAMES = 3500000 };
	const uint64_t t0 = 1800000000ull * 1000000000ull;
	struct prng rng;
	uint64_t seed = test_seed(0x5eed0003);
	prng_init_seed(&rng, seed);
	struct aeg_wire_replay w;
	aeg_wire_replay_init(&w, t0 - 1);
	uint64_t seq = 0, wall = t0, jumps = 0, dropped = 0;
	uint64_t block[BLOCK];
	for (int f = 0; f < FRAMES; f += BLOCK) {
		bool jumped = false;
		for (int i = 0; i < BLOCK; i++) {
			wall += 1000;
			uint64_t next = aeg_wire_seq_next(seq, wall);
			if (seq != 0 && next != seq + 1) {
				jumps++;
				jumped = true;
			}
			block[i] = seq = next;
		}
		for (int i = BLOCK - 1; i > 0; i--) {
			int j = (int)prng_below(&rng, (uint64_t)i + 1);
			uint64_t t = block[i];
			block[i] = block[j];
			block[j] = t;
		}
		for (int i = 0; i < BLOCK; i++)
			if (accept(&w, block[i]) != AEG_WIRE_OK) {
				if (!jumped) {
					fprintf(stderr, "seed %#llx: frame %llu dropped with no jump near it\n",
						(unsigned long long)seed, (unsigned long long)block[i]);
					fail();
				}
				dropped++;
			}
	}
	/* 3.5 s at 1 us per frame, each frame ~1 ns behind the last: three
	 * re-anchoring jumps, each costing at most one block. */
	assert_int_equal(jumps, 3);
	assert_int_equal(aeg_wire_replay_floor(5, 10), 0); /* before the epoch */
	assert_true(dropped <= jumps * BLOCK);
	/* Every frame seen once: a second pass over the last block is all replays. */
	for (int i = 0; i < BLOCK; i++)
		assert_int_equal(accept(&w, block[i]), AEG_WIRE_DROP_REPLAYED);
}

/* A restarted sender (later wall clock) starts above every number its
 * previous run used, at any rate below one frame per ns; a receiver floor
 * of its start minus skew minus AEG_WIRE_SEQ_RESYNC_NS admits a sender
 * whose numbers lag its clock by the most the rule allows. */
static void test_seq_restart_and_floor(void **state)
{
	(void)state;
	const uint64_t R = AEG_WIRE_SEQ_RESYNC_NS, skew = 10000000000ull;
	struct prng rng;
	uint64_t seed = test_seed(0x5eed0004);
	prng_init_seed(&rng, seed);
	for (int round = 0; round < 200; round++) {
		uint64_t wall = 1800000000ull * 1000000000ull + prng_below(&rng, 1000000), seq = 0;
		uint64_t step = 1 + prng_below(&rng, 5000); /* ns between frames */
		uint64_t frames = 1 + prng_below(&rng, 20000);
		for (uint64_t i = 0; i < frames; i++) {
			wall += step;
			seq = aeg_wire_seq_next(seq, wall);
		}
		uint64_t restart = wall + 1 + prng_below(&rng, 1000);
		uint64_t first = aeg_wire_seq_next(0, restart);
		if (first <= seq) {
			fprintf(stderr, "seed %#llx round %d: restart at %llu reuses %llu\n",
				(unsigned long long)seed, round, (unsigned long long)first,
				(unsigned long long)seq);
			fail();
		}
		/* A receiver that started now, with the sender's clock up to
		 * skew ahead or behind, admits the lagging sender's next frame. */
		uint64_t floor = aeg_wire_replay_floor(wall, skew);
		assert_int_equal(floor, wall - skew - R);
		assert_true(seq + 1 > floor);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_window),
		cmocka_unit_test(test_check_does_not_change),
		cmocka_unit_test(test_window_edge),
		cmocka_unit_test(test_ring_wraparound),
		cmocka_unit_test(test_far_future_jumps),
		cmocka_unit_test(test_floor),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_seq_next_rule),
		cmocka_unit_test(test_seq_reordering_tolerated),
		cmocka_unit_test(test_seq_restart_and_floor),
	};
	return cmocka_run_group_tests_name("wire_replay", tests, NULL, NULL);
}
