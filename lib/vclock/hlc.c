/* Hybrid logical clocks (Kulkarni et al., "Logical Physical Clocks", 2014).
 *
 * A timestamp is (wall, logical, node): wall is the largest physical time
 * seen, logical counts events within one wall value, node breaks ties so
 * that the order is total. Physical time is an argument; it may jump
 * backwards, and the clock still never issues a timestamp that is not
 * greater than the previous one.
 *
 * Logical overflow: when logical would pass UINT32_MAX the clock moves wall
 * forward by one unit and restarts logical at 0. The result is still greater
 * than everything before it; the price is that wall runs one unit ahead of
 * every physical clock, which only happens after 2^32 events within one
 * physical tick. Only when wall itself would wrap does the clock give up
 * with -EOVERFLOW (and stays unchanged). */
#include "aegis/vclock.h"
#include "common/codec.h"

#include <assert.h>
#include <errno.h>

void aeg_hlc_init(struct aeg_hlc *hlc, uint32_t node, uint64_t max_offset)
{
	assert(hlc != NULL);
	hlc->last = (struct aeg_hlc_ts){ .wall = 0, .logical = 0, .node = node };
	hlc->max_offset = max_offset;
}

/* The smallest (wall, logical) after (wall, logical - 1): logical must be
 * the incremented value, computed in 64 bits so that the wrap is visible. */
static int hlc_issue(struct aeg_hlc *hlc, uint64_t wall, uint64_t logical,
		     struct aeg_hlc_ts *out)
{
	if (logical > UINT32_MAX) {
		if (wall == UINT64_MAX)
			return -EOVERFLOW;
		wall++;
		logical = 0;
	}
	hlc->last.wall = wall;
	hlc->last.logical = (uint32_t)logical;
	if (out != NULL)
		*out = hlc->last;
	return 0;
}

int aeg_hlc_now(struct aeg_hlc *hlc, uint64_t physical, struct aeg_hlc_ts *out)
{
	if (physical > hlc->last.wall)
		return hlc_issue(hlc, physical, 0, out);
	return hlc_issue(hlc, hlc->last.wall, (uint64_t)hlc->last.logical + 1, out);
}

int aeg_hlc_update(struct aeg_hlc *hlc, uint64_t physical,
		   const struct aeg_hlc_ts *remote, struct aeg_hlc_ts *out)
{
	const struct aeg_hlc_ts *last = &hlc->last;

	if (hlc->max_offset != 0 && physical <= UINT64_MAX - hlc->max_offset &&
	    remote->wall > physical + hlc->max_offset)
		return -ERANGE;
	if (physical > last->wall && physical > remote->wall)
		return hlc_issue(hlc, physical, 0, out);
	if (last->wall == remote->wall) {
		uint32_t l = last->logical > remote->logical ? last->logical : remote->logical;
		return hlc_issue(hlc, last->wall, (uint64_t)l + 1, out);
	}
	if (last->wall > remote->wall)
		return hlc_issue(hlc, last->wall, (uint64_t)last->logical + 1, out);
	return hlc_issue(hlc, remote->wall, (uint64_t)remote->logical + 1, out);
}

int aeg_hlc_ts_compare(const struct aeg_hlc_ts *a, const struct aeg_hlc_ts *b)
{
	if (a->wall != b->wall)
		return a->wall < b->wall ? -1 : 1;
	if (a->logical != b->logical)
		return a->logical < b->logical ? -1 : 1;
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	return 0;
}

/* Fixed 16 bytes, little-endian like every Aegis format: wall u64,
 * logical u32, node u32. Every 16-byte string is a valid timestamp. */
void aeg_hlc_ts_encode(const struct aeg_hlc_ts *ts, uint8_t out[AEG_HLC_TS_ENCODED_SIZE])
{
	struct aeg_writer w;

	aeg_writer_init(&w, out, AEG_HLC_TS_ENCODED_SIZE);
	aeg_put_u64(&w, ts->wall);
	aeg_put_u32(&w, ts->logical);
	aeg_put_u32(&w, ts->node);
	assert(!w.error && w.len == AEG_HLC_TS_ENCODED_SIZE);
}

void aeg_hlc_ts_decode(struct aeg_hlc_ts *ts, const uint8_t in[AEG_HLC_TS_ENCODED_SIZE])
{
	struct aeg_reader r;

	aeg_reader_init(&r, in, AEG_HLC_TS_ENCODED_SIZE);
	ts->wall = aeg_get_u64(&r);
	ts->logical = aeg_get_u32(&r);
	ts->node = aeg_get_u32(&r);
	assert(!r.error && r.pos == AEG_HLC_TS_ENCODED_SIZE);
}

int aeg_hlc_ts_compare_encoded(const uint8_t a[AEG_HLC_TS_ENCODED_SIZE],
			       const uint8_t b[AEG_HLC_TS_ENCODED_SIZE])
{
	struct aeg_hlc_ts ta, tb;

	aeg_hlc_ts_decode(&ta, a);
	aeg_hlc_ts_decode(&tb, b);
	return aeg_hlc_ts_compare(&ta, &tb);
}
