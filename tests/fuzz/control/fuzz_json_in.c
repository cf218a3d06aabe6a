/* libFuzzer target for control/json_in (the admin request and reply
 * reader). Nothing may read out of bounds; an accepted document's tokens
 * must nest properly (every subtree inside its parent's, sizes matching the
 * children walked); every string the reader hands out, written back by
 * control/json_out and read again, must come back the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json_in.h"
#include "json_out.h"

#define TOKS_MAX 512

static struct aeg_json_tok toks[TOKS_MAX], toks2[4];

static void check_string(const struct aeg_json_doc *d, int t)
{
	static char s[4096], s2[4096];
	long n = aeg_json_as_str(d, t, s, sizeof(s));
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(s) || s[n] != '\0')
		abort();
	struct aeg_json_out j;
	aeg_json_init(&j, 1 << 16);
	aeg_json_strn(&j, s, (size_t)n);
	struct aeg_json_doc d2;
	if (j.overflow || aeg_json_parse(&d2, j.buf, j.len, toks2, 4, NULL) != 0 || d2.n != 1 ||
	    aeg_json_as_str(&d2, 0, s2, sizeof(s2)) != n || memcmp(s, s2, (size_t)n) != 0)
		abort();
	aeg_json_free(&j);
}

/* Walks token t; returns the index after its subtree. */
static uint32_t walk(const struct aeg_json_doc *d, int t, uint32_t limit)
{
	const struct aeg_json_tok *k = &d->toks[t];
	if (k->next <= (uint32_t)t || k->next > limit || k->start > k->end || k->end > d->len)
		abort();
	uint64_t u;
	double x;
	bool b;
	(void)aeg_json_as_u64(d, t, &u);
	(void)aeg_json_as_double(d, t, &x);
	(void)aeg_json_as_bool(d, t, &b);
	if (k->type == AEG_JSON_STRING)
		check_string(d, t);
	if (k->type != AEG_JSON_OBJECT && k->type != AEG_JSON_ARRAY)
		return (uint32_t)t + 1;
	uint32_t children = 0, at = (uint32_t)t + 1;
	for (int e = aeg_json_first(d, t); e >= 0; e = aeg_json_after(d, t, e), children++) {
		if ((uint32_t)e != at)
			abort();
		if (k->type == AEG_JSON_OBJECT) {
			if (d->toks[e].type != AEG_JSON_STRING)
				abort();
			check_string(d, e);
			(void)aeg_json_get(d, t, "cmd");
			at = walk(d, e + 1, k->next);
		} else {
			at = walk(d, e, k->next);
		}
	}
	if (children != k->size || at != k->next)
		abort();
	return k->next;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aeg_json_doc d;
	const char *why = NULL;
	int r = aeg_json_parse(&d, (const char *)data, size, toks, TOKS_MAX, &why);
	if (r != 0) {
		if (why == NULL || d.n != 0)
			abort();
		return 0;
	}
	if (d.n == 0 || walk(&d, 0, d.n) != d.n)
		abort();
	return 0;
}
