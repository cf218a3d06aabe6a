/* Progress tracker: the leader's view of each peer (match/next, probe or
 * replicate or snapshot state, the in-flight window) and the quorum rules
 * over one config or, during a joint change, two. */
#include "raft_int.h"

void progress_init(struct aeg_raft *r, uint64_t *infl)
{
	uint32_t n = r->cfg.peers_max + 1;  /* + ourselves when not a member */
	assert(infl != NULL && r->prs != NULL);
	for (uint32_t i = 0; i < n; i++)
		r->prs[i].infl = infl + (size_t)i * r->cfg.inflight_max;
	r->n_prs = 0;
}

struct aeg_raft_progress *progress_get(struct aeg_raft *r, uint32_t id)
{
	for (uint32_t i = 0; i < r->n_prs; i++)
		if (r->prs[i].id == id)
			return &r->prs[i];
	return NULL;
}

const struct aeg_raft_progress *aeg_raft_progress_of(const struct aeg_raft *r, uint32_t id)
{
	return progress_get((struct aeg_raft *)r, id);
}

bool conf_has_voter(const struct aeg_raft_conf *c, uint32_t id)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return (c->roles[i] & (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT)) != 0;
	return false;
}

void progress_reset(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t next)
{
	(void)r;
	pr->state = AEG_RAFT_PROBE;
	pr->match = 0;
	pr->next = next;
	pr->probe_sent = false;
	pr->recent_active = false;
	pr->read_round = 0;
	pr->vote = 0;
	pr->snap_index = 0;
	pr->snap_offset = 0;
	pr->infl_start = 0;
	pr->infl_count = 0;
}

void progress_apply_conf(struct aeg_raft *r)
{
	/* Keep peers that stay (their replication state is still valid), drop
	 * the others, add newcomers in probe state. */
	uint32_t kept = 0;
	for (uint32_t i = 0; i < r->n_prs; i++) {
		bool found = r->prs[i].id == r->id;  /* a leader being removed keeps leading */
		for (uint32_t j = 0; j < r->conf.n; j++)
			found |= r->conf.ids[j] == r->prs[i].id;
		if (!found)
			continue;
		if (kept != i) {
			uint64_t *dst = r->prs[kept].infl, *src = r->prs[i].infl;
			memcpy(dst, src, r->cfg.inflight_max * sizeof(*dst));
			r->prs[kept] = r->prs[i];
			r->prs[kept].infl = dst;
			r->prs[i].infl = src;
		}
		kept++;
	}
	r->n_prs = kept;
	struct aeg_raft_progress *self = progress_get(r, r->id);
	if (self == NULL) {
		self = &r->prs[r->n_prs++];
		self->id = r->id;
		progress_reset(r, self, r->last + 1);
	}
	self->roles = 0;  /* set below if we are a member */
	for (uint32_t j = 0; j < r->conf.n; j++) {
		struct aeg_raft_progress *pr = progress_get(r, r->conf.ids[j]);
		if (pr == NULL) {
			assert(r->n_prs <= r->cfg.peers_max);
			pr = &r->prs[r->n_prs++];
			pr->id = r->conf.ids[j];
			progress_reset(r, pr, r->last + 1);
			pr->recent_active = true;  /* do not count a newcomer as lost at once */
		}
		pr->roles = r->conf.roles[j];
	}
}

bool progress_is_voter(const struct aeg_raft_progress *pr)
{
	return (pr->roles & (AEG_RAFT_MEMBER_VOTER | AEG_RAFT_MEMBER_VOTER_OUT)) != 0;
}

bool progress_paused(const struct aeg_raft *r, const struct aeg_raft_progress *pr)
{
	switch (pr->state) {
	case AEG_RAFT_PROBE:
		return pr->probe_sent;
	case AEG_RAFT_REPLICATE:
		return pr->infl_count >= r->cfg.inflight_max;
	default:
		return true;
	}
}

void progress_become_probe(struct aeg_raft_progress *pr)
{
	/* After a snapshot, resume right after it; otherwise after the match. */
	uint64_t next = pr->match + 1;
	if (pr->state == AEG_RAFT_SNAPSHOTTING && pr->snap_index + 1 > next)
		next = pr->snap_index + 1;
	pr->state = AEG_RAFT_PROBE;
	pr->next = next;
	pr->probe_sent = false;
	pr->infl_count = 0;
	pr->infl_start = 0;
}

void progress_become_replicate(struct aeg_raft_progress *pr)
{
	pr->state = AEG_RAFT_REPLICATE;
	pr->next = pr->match + 1;
	pr->probe_sent = false;
	pr->infl_count = 0;
	pr->infl_start = 0;
}

bool progress_maybe_update(struct aeg_raft_progress *pr, uint64_t index)
{
	bool updated = false;
	if (pr->match < index) {
		pr->match = index;
		pr->probe_sent = false;
		updated = true;
	}
	if (pr->next < index + 1)
		pr->next = index + 1;
	return updated;
}

bool progress_maybe_decr(struct aeg_raft_progress *pr, uint64_t rejected, uint64_t hint)
{
	if (pr->state == AEG_RAFT_REPLICATE) {
		if (rejected <= pr->match)
			return false;  /* stale */
		pr->next = pr->match + 1;
		return true;
	}
	if (pr->next == 0 || pr->next - 1 != rejected)
		return false;  /* not the probe we are waiting for */
	uint64_t next = rejected < hint + 1 ? rejected : hint + 1;
	if (next < pr->match + 1)
		next = pr->match + 1;
	pr->next = next;
	pr->probe_sent = false;
	return true;
}

void progress_infl_add(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t last)
{
	uint32_t cap = r->cfg.inflight_max;
	assert(pr->infl_count < cap);
	pr->infl[(pr->infl_start + pr->infl_count) % cap] = last;
	pr->infl_count++;
}

void progress_infl_free_to(struct aeg_raft *r, struct aeg_raft_progress *pr, uint64_t index)
{
	uint32_t cap = r->cfg.inflight_max;
	while (pr->infl_count > 0 && pr->infl[pr->infl_start] <= index) {
		pr->infl_start = (pr->infl_start + 1) % cap;
		pr->infl_count--;
	}
}

static void sort_desc(uint64_t *v, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++) {
		uint64_t x = v[i];
		uint32_t j = i;
		for (; j > 0 && v[j - 1] < x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static uint64_t committed_in(struct aeg_raft *r, uint8_t role)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->n_prs; i++)
		if (r->prs[i].roles & role)
			r->scratch[n++] = r->prs[i].match;
	if (n == 0)
		return UINT64_MAX;  /* an empty config agrees with anything */
	sort_desc(r->scratch, n);
	return r->scratch[n / 2];
}

uint64_t progress_committed(struct aeg_raft *r)
{
	uint64_t a = committed_in(r, AEG_RAFT_MEMBER_VOTER);
	uint64_t b = committed_in(r, AEG_RAFT_MEMBER_VOTER_OUT);
	uint64_t c = a < b ? a : b;
	return c == UINT64_MAX ? 0 : c;
}

/* Counts voters of one config: yes (predicate true), no (vote rejected).
 * what: 0 votes, 1 recent_active, 2 acked read round >= round. */
static enum vote_result tally_in(const struct aeg_raft *r, uint8_t role, int what,
				 uint64_t round)
{
	uint32_t n = 0, yes = 0, no = 0;
	for (uint32_t i = 0; i < r->n_prs; i++) {
		const struct aeg_raft_progress *pr = &r->prs[i];
		if (!(pr->roles & role))
			continue;
		n++;
		bool y = what == 0 ? pr->vote == 1 : what == 1 ? pr->recent_active : pr->read_round >= round;
		yes += y;
		no += what == 0 && pr->vote == 2;
	}
	if (n == 0 || yes > n / 2)
		return VOTE_WON;
	if (no >= n - n / 2)
		return VOTE_LOST;
	return VOTE_PENDING;
}

static enum vote_result tally(const struct aeg_raft *r, int what, uint64_t round)
{
	enum vote_result a = tally_in(r, AEG_RAFT_MEMBER_VOTER, what, round);
	enum vote_result b = tally_in(r, AEG_RAFT_MEMBER_VOTER_OUT, what, round);
	if (a == VOTE_WON && b == VOTE_WON)
		return VOTE_WON;
	if (a == VOTE_LOST || b == VOTE_LOST)
		return VOTE_LOST;
	return VOTE_PENDING;
}

enum vote_result progress_tally(const struct aeg_raft *r)
{
	return tally(r, 0, 0);
}

bool progress_quorum_active(const struct aeg_raft *r)
{
	return tally(r, 1, 0) == VOTE_WON;
}

bool progress_quorum_read_acked(const struct aeg_raft *r, uint64_t round)
{
	return tally(r, 2, round) == VOTE_WON;
}
