/* Snapshot pacing of the group driver (lib/multiraft/pace.h): the rate
 * holds over time, a burst passes, waiting chunks leave oldest first, a
 * newer chunk of a stream replaces the waiting one, full slots drop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "multiraft/pace.h"

static uint8_t chunk[4096];

static void test_off(void **state)
{
	(void)state;
	struct gd_pace p;
	assert_int_equal(gd_pace_init(&p, 0, 8, 1024), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(gd_pace_admit(&p, 2, 1, chunk, 4096), GD_PACE_SEND);
	assert_null(gd_pace_next(&p));
	gd_pace_fini(&p);
}

/* One stream that sends its next chunk as soon as the last left (what
 * Raft does: a chunk per acknowledgement), for 10 s of 1 ms steps: the
 * bytes that left are the rate's plus at most the burst and a chunk. */
static void test_rate_holds(void **state)
{
	(void)state;
	const uint64_t rate = 1000000;
	const uint32_t len = 1000;
	struct gd_pace p;
	assert_int_equal(gd_pace_init(&p, rate, 4, 2048), 0);
	uint64_t sent = 0;
	bool waiting = false;
	gd_pace_refill(&p, 5000);
	for (uint64_t t = 5000; t <= 15000; t++) {
		gd_pace_refill(&p, t);
		struct gd_pace_slot *s;
		while ((s = gd_pace_next(&p)) != NULL) {
			assert_int_equal(s->len, len);
			sent += s->len;
			gd_pace_done(&p, s);
			waiting = false;
		}
		while (!waiting) {
			int a = gd_pace_admit(&p, 2, 7, chunk, len);
			assert_int_not_equal(a, GD_PACE_DROPPED);
			if (a == GD_PACE_SEND)
				sent += len;
			else
				waiting = true;
		}
	}
	uint64_t want = rate * 10, burst = rate / 10;
	if (sent < want || sent > want + burst + 2 * len)
		fail_msg("%llu bytes in 10 s at %llu bytes/s (burst %llu)", (unsigned long long)sent,
			 (unsigned long long)rate, (unsigned long long)burst);
	gd_pace_fini(&p);
}

static void test_slots(void **state)
{
	(void)state;
	struct gd_pace p;
	/* 10 KiB/s: the burst is one slot (1 KiB) */
	assert_int_equal(gd_pace_init(&p, 10240, 2, 1024), 0);
	gd_pace_refill(&p, 100);
	assert_int_equal(gd_pace_admit(&p, 2, 1, chunk, 1000), GD_PACE_SEND);
	assert_int_equal(gd_pace_admit(&p, 2, 1, chunk, 1000), GD_PACE_SEND);  /* tokens left: 24 */
	memset(chunk, 'a', 16);
	assert_int_equal(gd_pace_admit(&p, 3, 1, chunk, 16), GD_PACE_QUEUED);  /* tokens below 0 */
	memset(chunk, 'b', 16);
	assert_int_equal(gd_pace_admit(&p, 2, 5, chunk, 16), GD_PACE_QUEUED);
	assert_int_equal(gd_pace_admit(&p, 4, 5, chunk, 16), GD_PACE_DROPPED); /* both slots taken */
	memset(chunk, 'c', 16);
	assert_int_equal(gd_pace_admit(&p, 3, 1, chunk, 20), GD_PACE_QUEUED);  /* replaces (3, 1)'s */
	assert_int_equal(gd_pace_waiting(&p), 2);
	assert_int_equal(gd_pace_admit(&p, 2, 1, chunk, 4000), GD_PACE_SEND);  /* larger than a slot */
	assert_null(gd_pace_next(&p));
	/* The debt (4,976 bytes) is paid at 10,240 bytes/s: ~0.49 s. */
	struct gd_pace_slot *s = NULL;
	uint64_t t = 100;
	while (s == NULL && t < 2000) {
		t += 50;
		gd_pace_refill(&p, t);
		s = gd_pace_next(&p);
	}
	assert_non_null(s);
	assert_in_range(t, 550, 650);
	/* the oldest stream first, with the newer chunk that replaced its own */
	assert_int_equal(s->to, 3);
	assert_int_equal(s->len, 20);
	assert_int_equal(s->buf[0], 'c');
	gd_pace_done(&p, s);
	s = gd_pace_next(&p);
	assert_non_null(s);
	assert_int_equal(s->to, 2);
	assert_int_equal(s->group, 5);
	assert_int_equal(s->buf[0], 'b');
	gd_pace_done(&p, s);
	assert_int_equal(gd_pace_waiting(&p), 0);
	gd_pace_fini(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_rate_holds),
		cmocka_unit_test(test_slots),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
