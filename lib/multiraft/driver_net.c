/* The group driver's network side: encoding Raft messages (heartbeats of
 * all groups to one peer coalesced into one AEG_MSG_RAFT_HB message), the
 * held ring, and decoding what arrives. */
#include "driver_int.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "aegis/msg.h"
#include "aegis/raft_codec.h"

static struct gd_peer *peer_slot(struct aeg_gd *gd, uint32_t node)
{
	struct gd_peer *free_slot = NULL;
	for (uint32_t i = 0; i < gd->cfg.peers_max; i++) {
		if (gd->peers[i].node == node)
			return &gd->peers[i];
		if (gd->peers[i].node == 0 && free_slot == NULL)
			free_slot = &gd->peers[i];
	}
	if (free_slot != NULL)
		free_slot->node = node;
	return free_slot;
}

static void hb_flush_peer(struct aeg_gd *gd, struct gd_peer *p)
{
	if (p->n_hb == 0)
		return;
	const struct aeg_raft_hb *hbs = &gd->hbs[(size_t)(p - gd->peers) * gd->cfg.hb_per_msg];
	int len = aeg_raft_hb_batch_encode(hbs, p->n_hb, gd->hb_buf, gd->hb_buf_bytes);
	assert(len > 0);  /* hb_buf is sized for hb_per_msg of the largest */
	int rc = gd->io.send(gd->io.ctx, p->node, AEG_MSG_RAFT_HB, 0, gd->hb_buf, (uint32_t)len);
	if (rc != 0)
		gd->st.send_errors++;
	else
		gd->st.hb_msgs_sent++;
	gd->st.hb_sent += p->n_hb;
	p->n_hb = 0;
}

void gd_send(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_msg *m)
{
	struct aeg_raft_hb hb;
	if (aeg_raft_hb_from_msg(m, group, &hb)) {
		struct gd_peer *p = peer_slot(gd, m->to);
		if (p != NULL) {
			gd->hbs[(size_t)(p - gd->peers) * gd->cfg.hb_per_msg + p->n_hb++] = hb;
			if (p->n_hb == gd->cfg.hb_per_msg)
				hb_flush_peer(gd, p);
			return;
		}
		/* more peers than slots: send on its own */
	}
	int len = aeg_raft_msg_encode(m, gd->enc, gd->cfg.msg_bytes_max);
	if (len < 0) {
		gd->st.send_errors++;
		return;
	}
	if (m->type == AEG_RAFT_MSG_SNAPSHOT) {
		int admit = gd_pace_admit(&gd->pace, m->to, group, gd->enc, (uint32_t)len);
		gd->st.snap_paced += admit == GD_PACE_QUEUED;
		gd->st.snap_pace_dropped += admit == GD_PACE_DROPPED;
		if (admit != GD_PACE_SEND)
			return;
		gd->st.snap_bytes_sent += (uint64_t)len;
	}
	int rc = gd->io.send(gd->io.ctx, m->to, AEG_MSG_RAFT, group, gd->enc, (uint32_t)len);
	if (rc != 0)
		gd->st.send_errors++;
	else
		gd->st.msgs_sent++;
}

void gd_pace_drain(struct aeg_gd *gd)
{
	struct gd_pace_slot *s;
	while ((s = gd_pace_next(&gd->pace)) != NULL) {
		/* A group dropped meanwhile (a move's end) sends nothing. */
		if (gd_group(gd, s->group) != NULL) {
			int rc = gd->io.send(gd->io.ctx, s->to, AEG_MSG_RAFT, s->group, s->buf, s->len);
			if (rc != 0) {
				gd->st.send_errors++;
			} else {
				gd->st.msgs_sent++;
				gd->st.snap_bytes_sent += s->len;
			}
		}
		gd_pace_done(&gd->pace, s);
	}
}

void gd_hold(struct aeg_gd *gd, uint32_t group, const struct aeg_raft_msg *m, uint64_t ticket)
{
	size_t need = aeg_raft_msg_size(m);
	uint8_t *body = need <= UINT32_MAX ? held_push(&gd->held, m->to, group, ticket, (uint32_t)need) : NULL;
	if (body == NULL) {
		gd->st.held_dropped++;  /* Raft resends what is lost */
		return;
	}
	int len = aeg_raft_msg_encode(m, body, need);
	assert(len == (int)need);
	(void)len;
	gd->st.msgs_held++;
}

uint32_t aeg_gd_flush(struct aeg_gd *gd)
{
	gd_pace_drain(gd);
	uint32_t sent = 0;
	for (uint32_t i = 0; i < gd->cfg.peers_max; i++) {
		if (gd->peers[i].n_hb > 0) {
			hb_flush_peer(gd, &gd->peers[i]);
			sent++;
		}
	}
	return sent;
}

static int step(struct aeg_gd *gd, struct gd_group *g, const struct aeg_raft_msg *m)
{
	int rc = aeg_raft_step(g->r, m);
	gd_mark(gd, g);
	return rc;
}

static int receive_hb(struct aeg_gd *gd, uint32_t from, const uint8_t *body, uint32_t len)
{
	/* Decoded in place in small batches: the scratch is the entries array. */
	struct aeg_raft_hb hbs[64];
	uint32_t n = 0;
	int rc = aeg_raft_hb_batch_decode(hbs, 64, &n, body, len);
	if (rc != 0) {
		gd->st.bad_msgs++;
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (hbs[i].from != from || hbs[i].to != gd->cfg.self) {
			gd->st.bad_msgs++;
			continue;
		}
		struct gd_group *g = hbs[i].group <= UINT32_MAX ? gd_group(gd, (uint32_t)hbs[i].group) : NULL;
		if (g == NULL) {
			gd->st.unknown_group++;
			continue;
		}
		struct aeg_raft_msg m;
		aeg_raft_hb_to_msg(&hbs[i], &m);
		gd->st.hb_received++;
		step(gd, g, &m);
	}
	return 0;
}

int aeg_gd_receive(struct aeg_gd *gd, uint32_t from, uint8_t type, uint32_t group, const uint8_t *body,
		   uint32_t len)
{
	if (type == AEG_MSG_RAFT_HB)
		return receive_hb(gd, from, body, len);
	if (type != AEG_MSG_RAFT) {
		gd->st.bad_msgs++;
		return -EPROTO;
	}
	struct gd_group *g = gd_group(gd, group);
	if (g == NULL) {
		gd->st.unknown_group++;
		return -ENOENT;
	}
	struct aeg_raft_msg m;
	struct aeg_raft_conf conf;
	int rc = aeg_raft_msg_decode(&m, gd->ents, gd->cfg.recv_entries_max, &conf, body, len);
	/* The frame's authenticated source must be the message's sender. */
	if (rc != 0 || m.from != from || m.to != gd->cfg.self) {
		gd->st.bad_msgs++;
		return -EINVAL;
	}
	gd->st.msgs_received++;
	return step(gd, g, &m);
}
