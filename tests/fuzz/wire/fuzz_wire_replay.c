/* libFuzzer target for the replay window: the input is a floor and a
 * stream of sequence numbers (steps ahead, late ones, far jumps, values
 * near 2^64); every verdict must match a plain model that remembers the
 * accepted sequences inside the window. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aegis/wire.h"

#define W AEG_WIRE_REPLAY_WINDOW

struct model {
	uint64_t floor, top;
	uint64_t seen[W + 1]; /* accepted sequences in (top - W, top] */
	size_t seen_len;
};

static enum aeg_wire_drop model_check(const struct model *m, uint64_t seq)
{
	if (seq > m->top)
		return AEG_WIRE_OK;
	if (m->top - seq >= W)
		return AEG_WIRE_DROP_TOO_OLD;
	if (seq <= m->floor)
		return AEG_WIRE_DROP_REPLAYED;
	for (size_t i = 0; i < m->seen_len; i++)
		if (m->seen[i] == seq)
			return AEG_WIRE_DROP_REPLAYED;
	return AEG_WIRE_OK;
}

static void model_accept(struct model *m, uint64_t seq)
{
	if (seq > m->top)
		m->top = seq;
	size_t kept = 0;
	for (size_t i = 0; i < m->seen_len; i++)
		if (m->top - m->seen[i] < W)
			m->seen[kept++] = m->seen[i];
	m->seen_len = kept;
	if (m->top - seq < W) {
		if (m->seen_len > W)
			abort();
		m->seen[m->seen_len++] = seq;
	}
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX - (b & 3) : a + b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint64_t floor;
	memcpy(&floor, data, 8);
	/* Mostly small floors, sometimes anywhere (also near 2^64). */
	if ((floor & 0x8000000000000000ull) == 0)
		floor &= 0xffff;
	struct aeg_wire_replay w;
	static struct model m;
	aeg_wire_replay_init(&w, floor);
	m.floor = m.top = floor;
	m.seen_len = 0;
	for (size_t i = 8; i + 3 <= size; i += 3) {
		uint8_t kind = data[i];
		uint64_t v = (uint64_t)data[i + 1] | (uint64_t)data[i + 2] << 8;
		uint64_t seq;
		switch (kind % 5) {
		case 0: seq = add_sat(m.top, 1 + v % 8); break;          /* in order */
		case 1: seq = m.top - (m.top < v % 400 ? m.top : v % 400); break; /* late */
		case 2: seq = add_sat(m.top, v); break;                  /* ahead */
		case 3: seq = add_sat(m.top, v << (kind % 48)); break;   /* far */
		default: seq = v; break;                                 /* absolute */
		}
		enum aeg_wire_drop want = model_check(&m, seq);
		enum aeg_wire_drop got = aeg_wire_replay_check(&w, seq);
		if (got != want)
			abort();
		if (got == AEG_WIRE_OK) {
			aeg_wire_replay_commit(&w, seq);
			model_accept(&m, seq);
			if (aeg_wire_replay_check(&w, seq) != AEG_WIRE_DROP_REPLAYED)
				abort();
		}
	}
	return 0;
}
