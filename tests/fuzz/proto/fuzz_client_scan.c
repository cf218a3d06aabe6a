/* libFuzzer target for the SCAN codec (aegis/client_scan.h): the first
 * byte picks args or reply. Accepted args re-encode to the same bytes; an
 * accepted reply iterates with views inside the input, keys ascending, and
 * rebuilds to the same bytes; two accepted replies (the input cut in two)
 * merge without crashing, and a merge's keys ascend. */
#include <stdlib.h>
#include <string.h>

#include "aegis/client_scan.h"

static void check_view(const uint8_t *p, uint32_t n, const uint8_t *in, size_t len)
{
	if (n != 0 && (p < in || p + n > in + len))
		abort();
}

static void args(const uint8_t *in, size_t len)
{
	static uint8_t out[1 << 16];
	struct aeg_client_scan_args a;
	if (aeg_client_scan_args_decode(&a, in, len) != 0)
		return;
	check_view(a.end, a.end_len, in, len);
	int n = aeg_client_scan_args_encode(&a, out, sizeof(out));
	if (len > sizeof(out))
		return;
	if (n < 0 || (size_t)n != len || memcmp(out, in, len) != 0)
		abort();
}

static int reply(const uint8_t *in, size_t len, struct aeg_client_scan_reader *r)
{
	static uint8_t out[1 << 16];
	if (aeg_client_scan_reply_open(r, in, len) != 0)
		return -1;
	struct aeg_client_scan_reader copy = *r;
	struct aeg_client_scan_writer w;
	if (len > sizeof(out) || aeg_client_scan_reply_begin(&w, out, sizeof(out)) != 0)
		return 0;
	struct aeg_client_scan_item it;
	while (aeg_client_scan_reply_next(&copy, &it) == 1) {
		check_view(it.key, it.key_len, in, len);
		check_view(it.value, it.value_len, in, len);
		if (aeg_client_scan_reply_add(&w, &it) != 0)
			abort();
	}
	size_t n = aeg_client_scan_reply_finish(&w, r->more);
	if (n != len || memcmp(out, in, len) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const uint8_t *in = data + 2;
	size_t len = size - 2;
	if (data[0] & 1) {
		args(in, len);
		return 0;
	}
	struct aeg_client_scan_cursor cur[2];
	size_t cut = len ? data[1] % (len + 1) : 0;
	(void)reply(in, len, &cur[0].r);
	if (reply(in, cut, &cur[0].r) != 0 || reply(in + cut, len - cut, &cur[1].r) != 0)
		return 0;
	uint32_t heap[2];
	struct aeg_client_scan_item out[64];
	bool more;
	int n = aeg_client_scan_merge(cur, 2, heap, out, 64, &more);
	for (int i = 1; i < n; i++) {
		uint32_t m = out[i - 1].key_len < out[i].key_len ? out[i - 1].key_len : out[i].key_len;
		int c = m ? memcmp(out[i - 1].key, out[i].key, m) : 0;
		if (c > 0 || (c == 0 && out[i - 1].key_len >= out[i].key_len))
			abort();
	}
	return 0;
}
