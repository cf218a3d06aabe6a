/* Sliding replay window per sender stream (RFC 6479 layout: a ring of
 * 64-bit words over the highest sequence accepted). Invariant: bits of
 * sequences above top, in top's word, are zero; older words hold the
 * past, all ones below the floor. */
#include "aegis/wire.h"

#include <assert.h>
#include <string.h>

#define WORDS (AEG_WIRE_REPLAY_BITS / 64)

_Static_assert(AEG_WIRE_REPLAY_BITS % 64 == 0 && WORDS >= 2,
	       "the ring needs whole words and one spare word");

static inline uint64_t word_index(uint64_t seq)
{
	return (seq / 64) % WORDS;
}

void aeg_wire_replay_init(struct aeg_wire_replay *w, uint64_t floor)
{
	/* Everything up to the floor counts as seen; nothing above it. */
	memset(w->bits, 0xff, sizeof(w->bits));
	unsigned bit = (unsigned)(floor % 64);
	w->bits[word_index(floor)] = bit == 63 ? ~0ull : (2ull << bit) - 1;
	w->top = floor;
}

enum aeg_wire_drop aeg_wire_replay_check(const struct aeg_wire_replay *w, uint64_t seq)
{
	if (seq > w->top)
		return AEG_WIRE_OK;
	if (w->top - seq >= AEG_WIRE_REPLAY_WINDOW)
		return AEG_WIRE_DROP_TOO_OLD;
	if ((w->bits[word_index(seq)] >> (seq % 64)) & 1)
		return AEG_WIRE_DROP_REPLAYED;
	return AEG_WIRE_OK;
}

void aeg_wire_replay_commit(struct aeg_wire_replay *w, uint64_t seq)
{
	assert(aeg_wire_replay_check(w, seq) == AEG_WIRE_OK);
	if (seq > w->top) {
		/* Clear the words the top moves into; a jump of a whole ring
		 * or more clears them all. */
		uint64_t steps = seq / 64 - w->top / 64;
		if (steps > WORDS)
			steps = WORDS;
		for (uint64_t i = 1; i <= steps; i++)
			w->bits[(w->top / 64 + i) % WORDS] = 0;
		w->top = seq;
	}
	w->bits[word_index(seq)] |= 1ull << (seq % 64);
}

uint64_t aeg_wire_seq_next(uint64_t prev, uint64_t wall_ns)
{
	/* Counting keeps neighbours one apart so the window absorbs
	 * reordering; the rare jump keeps numbers near the wall clock, which
	 * restarted senders and receiver floors rely on. */
	if (wall_ns > AEG_WIRE_SEQ_RESYNC_NS && prev + 1 < wall_ns - AEG_WIRE_SEQ_RESYNC_NS)
		return wall_ns;
	assert(prev < UINT64_MAX);
	return prev + 1;
}

uint64_t aeg_wire_replay_floor(uint64_t start_wall_ns, uint64_t skew_ns)
{
	uint64_t back = skew_ns + AEG_WIRE_SEQ_RESYNC_NS;
	return start_wall_ns > back ? start_wall_ns - back : 0;
}
