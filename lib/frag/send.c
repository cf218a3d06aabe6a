/* lib/frag: endpoint setup, the sending side (slots, window, acks,
 * retransmission, give-up) and the poll that drives both sides. The
 * receiving side is reasm.c. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frag_int.h"

#define MSG_BYTES_DEFAULT ((1u << 20) + (64u << 10))
#define SLOTS_DEFAULT 2u
#define WINDOW_DEFAULT 64u
#define BURST_DEFAULT 32u
#define RTO_MIN_DEFAULT 2000000ull
#define RTO_MAX_DEFAULT 50000000ull
#define GIVE_UP_DEFAULT 250000000ull
#define MSG_TIMEOUT_DEFAULT 2000000000ull
#define RX_TIMEOUT_DEFAULT 1000000000ull

/* ---- setup ---------------------------------------------------------------- */

static uint64_t or_default(uint64_t v, uint64_t d)
{
	return v != 0 ? v : d;
}

/* The config with defaults; false if it is unusable. */
static bool config_fill(struct aeg_frag_config *c)
{
	c->msg_bytes_max = (uint32_t)or_default(c->msg_bytes_max, MSG_BYTES_DEFAULT);
	c->tx_slots = (uint16_t)or_default(c->tx_slots, SLOTS_DEFAULT);
	c->rx_slots = (uint16_t)or_default(c->rx_slots, SLOTS_DEFAULT);
	c->window_frags = (uint16_t)or_default(c->window_frags, WINDOW_DEFAULT);
	c->burst_frags = (uint16_t)or_default(c->burst_frags, BURST_DEFAULT);
	c->rto_ns_min = or_default(c->rto_ns_min, RTO_MIN_DEFAULT);
	c->rto_ns_max = or_default(c->rto_ns_max, RTO_MAX_DEFAULT);
	c->give_up_ns = or_default(c->give_up_ns, GIVE_UP_DEFAULT);
	c->msg_timeout_ns = or_default(c->msg_timeout_ns, MSG_TIMEOUT_DEFAULT);
	c->rx_timeout_ns = or_default(c->rx_timeout_ns, RX_TIMEOUT_DEFAULT);
	c->msg_id_first = or_default(c->msg_id_first, 1);
	return c->streams > 0 && c->frag_bytes > 0 &&
	       (c->msg_bytes_max + (uint64_t)c->frag_bytes - 1) / c->frag_bytes <=
		       AEG_FRAG_COUNT_MAX &&
	       c->window_frags <= AEG_FRAG_SACK_BITS && c->rto_ns_min <= c->rto_ns_max &&
	       c->msg_id_first < UINT64_MAX / 2;
}

struct layout {
	uint32_t frags_max, words;
	size_t buf, tx_slot, rx_slot, per_stream;
};

static void layout_of(const struct aeg_frag_config *c, struct layout *l)
{
	l->frags_max = (uint32_t)(((uint64_t)c->msg_bytes_max + c->frag_bytes - 1) / c->frag_bytes);
	l->words = (l->frags_max + 63) / 64;
	l->buf = ((size_t)c->msg_bytes_max + 63) & ~(size_t)63;
	l->tx_slot = l->buf + (size_t)l->frags_max * 8 + (size_t)l->words * 16;
	l->rx_slot = l->buf + (size_t)l->words * 8;
	l->per_stream = sizeof(struct stream) + c->tx_slots * (l->tx_slot + sizeof(struct tx_slot)) +
			c->rx_slots * (l->rx_slot + sizeof(struct rx_slot));
}

size_t aeg_frag_mem_bytes(const struct aeg_frag_config *cfg, size_t *per_stream)
{
	struct aeg_frag_config c = *cfg;
	if (!config_fill(&c))
		return 0;
	struct layout l;
	layout_of(&c, &l);
	if (per_stream != NULL)
		*per_stream = l.per_stream;
	if (l.per_stream > (SIZE_MAX - sizeof(struct aeg_frag)) / c.streams)
		return 0;
	return sizeof(struct aeg_frag) + (size_t)c.streams * l.per_stream;
}

/* Carves every slot's buffer and arrays out of f->mem. */
static void slots_carve(struct aeg_frag *f, const struct layout *l)
{
	uint8_t *p = f->mem;
	for (uint32_t i = 0; i < f->cfg.streams; i++) {
		struct stream *s = &f->streams[i];
		for (uint32_t j = 0; j < f->cfg.tx_slots; j++) {
			struct tx_slot *t = &s->tx[j];
			t->buf = p;
			t->sent_ns = (uint64_t *)(p + l->buf);
			t->acked = t->sent_ns + l->frags_max;
			t->rtx = t->acked + l->words;
			p += l->tx_slot;
		}
		for (uint32_t j = 0; j < f->cfg.rx_slots; j++) {
			s->rx[j].buf = p;
			s->rx[j].got = (uint64_t *)(p + l->buf);
			p += l->rx_slot;
		}
		s->next_id = f->cfg.msg_id_first;
		s->rto_ns = f->cfg.rto_ns_min;

	}
	assert(p == f->mem + f->mem_bytes);
}

int aeg_frag_init(struct aeg_frag **out, const struct aeg_frag_config *cfg)
{
	struct aeg_frag_config c = *cfg;
	if (!config_fill(&c) || aeg_frag_mem_bytes(&c, NULL) == 0)
		return -EINVAL;
	struct layout l;
	layout_of(&c, &l);
	struct aeg_frag *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->cfg = c;
	f->frags_max = l.frags_max;
	f->words = l.words;
	f->mem_bytes = (size_t)c.streams * (c.tx_slots * l.tx_slot + c.rx_slots * l.rx_slot);
	f->streams = calloc(c.streams, sizeof(*f->streams));
	f->mem = calloc(1, f->mem_bytes); /* calloc: untouched pages cost no RAM until used */
	bool ok = f->streams != NULL && f->mem != NULL;
	for (uint32_t i = 0; ok && i < c.streams; i++) {
		f->streams[i].tx = calloc(c.tx_slots, sizeof(struct tx_slot));
		f->streams[i].rx = calloc(c.rx_slots, sizeof(struct rx_slot));
		ok = f->streams[i].tx != NULL && f->streams[i].rx != NULL;
	}
	if (!ok) {
		aeg_frag_fini(f);
		return -ENOMEM;
	}
	slots_carve(f, &l);
	*out = f;
	return 0;
}

void aeg_frag_fini(struct aeg_frag *f)
{
	if (f == NULL)
		return;
	for (uint32_t i = 0; f->streams != NULL && i < f->cfg.streams; i++) {
		free(f->streams[i].tx);
		free(f->streams[i].rx);
	}
	free(f->streams);
	free(f->mem);
	free(f);
}

const struct aeg_frag_stats *aeg_frag_stats(const struct aeg_frag *f)
{
	return &f->st;
}

const struct aeg_frag_config *aeg_frag_config(const struct aeg_frag *f)
{
	return &f->cfg;
}

bool aeg_frag_busy(const struct aeg_frag *f)
{
	return f->active > 0;
}

/* ---- send ----------------------------------------------------------------- */

/* The lowest id the stream's sender still has in flight. */
static uint64_t stream_base(const struct aeg_frag *f, const struct stream *s)
{
	uint64_t base = s->next_id;
	for (uint32_t j = 0; j < f->cfg.tx_slots; j++)
		if (s->tx[j].live && s->tx[j].id < base)
			base = s->tx[j].id;
	return base;
}

int aeg_frag_send(struct aeg_frag *f, uint32_t stream, uint8_t type, uint32_t group,
		  const void *body, uint32_t len, uint64_t now_ns)
{
	if (stream >= f->cfg.streams)
		return -EINVAL;
	if (len == 0 || len > f->cfg.msg_bytes_max)
		return -EMSGSIZE;
	struct stream *s = &f->streams[stream];
	struct tx_slot *t = NULL;
	for (uint32_t j = 0; j < f->cfg.tx_slots && t == NULL; j++)
		if (!s->tx[j].live)
			t = &s->tx[j];
	if (t == NULL || s->next_id - stream_base(f, s) >= AEG_FRAG_ID_SPAN) {
		f->st.tx_busy++;
		return -ENOBUFS;
	}
	bool was = stream_active(s);
	memcpy(t->buf, body, len);
	t->count = (len + f->cfg.frag_bytes - 1) / f->cfg.frag_bytes;
	assert(t->count >= 1 && t->count <= f->frags_max);
	memset(t->sent_ns, 0, (size_t)t->count * sizeof(*t->sent_ns));
	uint32_t words = (t->count + 63) / 64;
	memset(t->acked, 0, words * sizeof(uint64_t));
	memset(t->rtx, 0, words * sizeof(uint64_t));
	t->id = s->next_id++;
	t->type = type;
	t->group = group;
	t->total = len;
	t->cum = t->next_new = t->acked_n = t->inflight = t->lost_n = 0;
	t->reordered = false;
	t->start_ns = t->progress_ns = now_ns;
	t->rto_at_ns = UINT64_MAX;
	t->live = true;
	s->tx_live++;
	active_update(f, was, s);
	f->st.tx_msgs++;
	return 0;
}

static void tx_free(struct stream *s, struct tx_slot *t)
{
	assert(t->live && s->inflight >= t->inflight);
	/* a whole message without reordering: trust the order a bit more */
	if (!t->reordered)
		s->reo_ns -= s->reo_ns / 4;
	s->inflight -= t->inflight;
	t->live = false;
	s->tx_live--;
}

/* Jacobson/Karels (RFC 6298) over fragment round trips. */
static void rtt_sample(struct stream *s, uint64_t rtt)
{
	if (s->srtt_ns == 0) {
		s->srtt_ns = rtt;
		s->rttvar_ns = rtt / 2;
	} else {
		uint64_t d = rtt > s->srtt_ns ? rtt - s->srtt_ns : s->srtt_ns - rtt;
		s->rttvar_ns = (3 * s->rttvar_ns + d) / 4;
		s->srtt_ns = (7 * s->srtt_ns + rtt) / 8;
	}
}

/* The timeout from the estimate, undoing any back-off. */
static void rto_reset(const struct aeg_frag *f, struct stream *s)
{
	uint64_t rto = s->srtt_ns + 4 * s->rttvar_ns;
	s->rto_ns = rto < f->cfg.rto_ns_min ? f->cfg.rto_ns_min :
		    rto > f->cfg.rto_ns_max ? f->cfg.rto_ns_max : rto;
}

struct ack_scan {
	uint64_t sent_max;  /* latest send time of a newly acknowledged fragment */
	uint64_t rtt;       /* from that fragment if it was sent once */
	uint32_t newly;
};

static void ack_one(struct stream *s, struct tx_slot *t, uint32_t i, uint64_t now_ns,
		    struct ack_scan *a)
{
	if (bit_get(t->acked, i))
		return;
	bit_set(t->acked, i);
	t->acked_n++;
	a->newly++;
	if (t->sent_ns[i] == 0) { /* declared lost, arrived after all: reordering */
		assert(t->lost_n > 0);
		t->lost_n--;
		uint64_t reo = 2 * (s->reo_ns > s->srtt_ns / 4 ? s->reo_ns : s->srtt_ns / 4);
		s->reo_ns = reo < s->rto_ns ? reo : s->rto_ns;
		t->reordered = true;
		return;
	}
	t->inflight--;
	s->inflight--;
	if (t->sent_ns[i] >= a->sent_max) {
		a->sent_max = t->sent_ns[i];
		a->rtt = bit_get(t->rtx, i) ? 0 : now_ns - t->sent_ns[i];
	}
}

/* RACK: a fragment sent (a reorder allowance) before one that arrived is lost. */
static void mark_lost(struct stream *s, struct tx_slot *t, uint64_t sent_max)
{
	uint64_t allow = s->reo_ns > s->srtt_ns / 4 ? s->reo_ns : s->srtt_ns / 4;
	for (uint32_t i = t->cum; i < t->next_new && t->inflight > 0; i++) {
		if (bit_get(t->acked, i) || t->sent_ns[i] == 0 || t->sent_ns[i] + allow >= sent_max)
			continue;
		t->sent_ns[i] = 0;
		t->inflight--;
		s->inflight--;
		t->lost_n++;
	}
}

/* Applies a decoded ack to its live slot; false if it names fragments
 * that were never sent. */
static bool ack_apply(struct aeg_frag *f, struct stream *s, struct tx_slot *t,
		      const struct aeg_frag_ack *a, uint64_t now_ns)
{
	struct ack_scan sc = { 0 };
	if (a->flags & AEG_FRAG_ACK_COMPLETE) {
		tx_free(s, t);
		f->st.tx_done++;
		return true;
	}
	if (a->cum > t->next_new)
		return false;
	for (uint32_t j = 0; j < AEG_FRAG_SACK_BITS; j++)
		if (((a->sack[j / 64] >> (j % 64)) & 1u) && a->cum + 1 + j >= t->next_new)
			return false;
	for (uint32_t i = t->cum; i < a->cum; i++)
		ack_one(s, t, i, now_ns, &sc);
	for (uint32_t j = 0; j < AEG_FRAG_SACK_BITS; j++)
		if ((a->sack[j / 64] >> (j % 64)) & 1u)
			ack_one(s, t, a->cum + 1 + j, now_ns, &sc);
	while (t->cum < t->count && bit_get(t->acked, t->cum))
		t->cum++;
	if (sc.rtt > 0)
		rtt_sample(s, sc.rtt);
	if (sc.newly > 0) {
		/* progress: back-off over (retransmissions alone give no sample) */
		t->progress_ns = now_ns;
		rto_reset(f, s);
	}
	if (t->acked_n == t->count) {
		tx_free(s, t);
		f->st.tx_done++;
	} else if (sc.sent_max > 0) {
		mark_lost(s, t, sc.sent_max);
	}
	return true;
}

int aeg_frag_rx_ack(struct aeg_frag *f, struct stream *s, const uint8_t *body, uint32_t len,
		    uint64_t now_ns)
{
	struct aeg_frag_ack a;
	enum aeg_frag_drop why = AEG_FRAG_DROP_ACK_UNKNOWN;
	if (aeg_frag_ack_decode(&a, body, len) != 0) {
		why = AEG_FRAG_DROP_MALFORMED;
	} else {
		for (uint32_t j = 0; j < f->cfg.tx_slots; j++) {
			struct tx_slot *t = &s->tx[j];
			if (!t->live || t->id != a.msg_id)
				continue;
			if (!ack_apply(f, s, t, &a, now_ns)) {
				why = AEG_FRAG_DROP_ACK_BOGUS;
				break;
			}
			f->st.rx_acks++;
			return 0;
		}
	}
	f->st.drops[why]++;
	return -EBADMSG;
}

/* ---- poll: the sending side ----------------------------------------------- */

/* Writes fragment i of t; false when out has no room. */
static bool frag_emit(struct aeg_frag *f, uint32_t si, uint64_t base, struct tx_slot *t,
		      uint32_t i, const struct aeg_frag_out *out)
{
	uint32_t off = i * f->cfg.frag_bytes;
	uint32_t len = t->total - off < f->cfg.frag_bytes ? t->total - off : f->cfg.frag_bytes;
	uint8_t *p = out->reserve(out->arg, si, AEG_FRAG_TYPE_DATA, t->group,
				  AEG_FRAG_HDR_BYTES + len);
	if (p == NULL)
		return false;
	struct aeg_frag_hdr h = {
		.msg_id = t->id, .total = t->total, .offset = off, .index = (uint16_t)i,
		.count = (uint16_t)t->count, .type = t->type, .base_delta = (uint8_t)(t->id - base),
	};
	aeg_frag_hdr_encode(&h, p);
	memcpy(p + AEG_FRAG_HDR_BYTES, t->buf + off, len);
	return true;
}

/* Expired in-flight fragments become lost; sets the next expiry. */
static void rto_check(struct aeg_frag *f, struct stream *s, struct tx_slot *t, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;
	uint32_t expired = 0;
	for (uint32_t i = t->cum; i < t->next_new && t->inflight > 0; i++) {
		if (bit_get(t->acked, i) || t->sent_ns[i] == 0)
			continue;
		if (now_ns - t->sent_ns[i] >= s->rto_ns) {
			t->sent_ns[i] = 0;
			t->inflight--;
			s->inflight--;
			t->lost_n++;
			expired++;
		} else if (t->sent_ns[i] + s->rto_ns < next) {
			next = t->sent_ns[i] + s->rto_ns;
		}
	}
	t->rto_at_ns = next;
	if (expired > 0) {
		f->st.tx_rto++;
		s->rto_ns = s->rto_ns * 2 > f->cfg.rto_ns_max ? f->cfg.rto_ns_max : s->rto_ns * 2;
	}
}

/* Lost fragments first, then new ones, while the window and budget allow. */
static uint32_t slot_send(struct aeg_frag *f, uint32_t si, uint64_t base, struct tx_slot *t,
			  uint64_t now_ns, const struct aeg_frag_out *out, uint32_t *budget)
{
	struct stream *s = &f->streams[si];
	uint32_t sent = 0, scan = t->cum;
	while (*budget > 0 && s->inflight < f->cfg.window_frags) {
		uint32_t i;
		bool again = t->lost_n > 0;
		if (again) {
			while (bit_get(t->acked, scan) || t->sent_ns[scan] != 0)
				scan++;
			assert(scan < t->next_new);
			i = scan;
		} else if (t->next_new < t->count && t->next_new <= t->cum + AEG_FRAG_SACK_BITS) {
			i = t->next_new;
		} else {
			break;
		}
		if (!frag_emit(f, si, base, t, i, out)) {
			*budget = 0;
			break;
		}
		if (again) {
			t->lost_n--;
			bit_set(t->rtx, i);
			f->st.tx_rtx++;
		} else {
			if (t->next_new == 0)
				t->progress_ns = now_ns; /* waiting for the window is no failure */
			t->next_new++;
			f->st.tx_frags++;
		}
		t->sent_ns[i] = now_ns;
		t->inflight++;
		s->inflight++;
		if (now_ns + s->rto_ns < t->rto_at_ns)
			t->rto_at_ns = now_ns + s->rto_ns;
		(*budget)--;
		sent++;
	}
	return sent;
}

static uint32_t tx_poll(struct aeg_frag *f, uint32_t si, uint64_t now_ns,
			const struct aeg_frag_out *out, uint32_t *budget)
{
	struct stream *s = &f->streams[si];
	uint32_t sent = 0;
	for (uint32_t j = 0; j < f->cfg.tx_slots; j++) {
		struct tx_slot *t = &s->tx[j];
		if (!t->live)
			continue;
		if (now_ns - t->progress_ns >= f->cfg.give_up_ns ||
		    now_ns - t->start_ns >= f->cfg.msg_timeout_ns) {
			tx_free(s, t);
			f->st.tx_failed++;
			continue;
		}
		if (t->inflight > 0 && now_ns >= t->rto_at_ns)
			rto_check(f, s, t, now_ns);
	}
	/* Oldest message first, so that messages of a stream complete in order. */
	uint64_t base = stream_base(f, s), prev = 0;
	for (uint32_t n = 0; n < f->cfg.tx_slots && *budget > 0; n++) {
		struct tx_slot *t = NULL;
		for (uint32_t j = 0; j < f->cfg.tx_slots; j++)
			if (s->tx[j].live && s->tx[j].id > prev && (t == NULL || s->tx[j].id < t->id))
				t = &s->tx[j];
		if (t == NULL)
			break;
		prev = t->id;
		sent += slot_send(f, si, base, t, now_ns, out, budget);
	}
	return sent;
}

uint32_t aeg_frag_poll(struct aeg_frag *f, uint64_t now_ns, const struct aeg_frag_out *out)
{
	if (f->active == 0)
		return 0;
	assert(now_ns > 0);
	uint32_t budget = f->cfg.burst_frags, written = 0;
	for (uint32_t k = 0; k < f->cfg.streams; k++) {
		uint32_t si = (f->rr + k) % f->cfg.streams;
		struct stream *s = &f->streams[si];
		bool was = stream_active(s);
		if (!was)
			continue;
		written += aeg_frag_rx_poll(f, si, now_ns, out);
		if (s->tx_live > 0)
			written += tx_poll(f, si, now_ns, out, &budget);
		active_update(f, was, s);
	}
	f->rr = f->rr + 1 < f->cfg.streams ? f->rr + 1 : 0;
	return written;
}
