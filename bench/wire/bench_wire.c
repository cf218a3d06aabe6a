/* aegis-bench-wire: cost of the packet wire format on one core.
 *   tag          the frame MAC (AES-128-GMAC, aeg_wire_mac_tag) over 64..1472 bytes
 *   encode       builder: begin, add N messages of S bytes, seal (incl. tag)
 *   decode       parse (all checks, tag, replay window) + iterate + touch bodies
 * for several message sizes S and batch sizes N in a 1472-byte frame (the
 * UDP payload of a 1500-byte MTU). Prints the setup, a table, and one JSON
 * line per result.
 *
 *   aegis-bench-wire [--time-ms N] [--only tag|encode|decode]
 *   (N ms per case, default 200) */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aegis/msg.h"
#include "aegis/wire.h"
#include "common.h"

#define FRAME_CAP 1472
#define RING 1024 /* distinct pre-built frames, so the replay window sees new seqs */

static uint64_t case_ns = 200 * 1000000ull;
static const char *only_op; /* NULL: all */

static bool wanted(const char *op)
{
	return only_op == NULL || strcmp(only_op, op) == 0;
}

/* This thread's CPU time: the machine is shared (other builds, tests and
 * nodes run beside this), so wall time would count time spent waiting for
 * a core. Both are reported; figures use CPU time. */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct clocks {
	uint64_t wall, cpu;
};

static struct clocks clocks_now(void)
{
	return (struct clocks){bench_now_ns(), cpu_now_ns()};
}

struct result {
	const char *op;
	size_t msg_bytes;
	size_t batch;
	size_t frame_bytes;
	double ns_per_frame;      /* CPU time */
	double wall_ns_per_frame;
};

static struct result result_of(const char *op, size_t msg_bytes, size_t batch,
			       size_t frame_bytes, struct clocks t0, uint64_t frames)
{
	struct clocks t1 = clocks_now();
	return (struct result){
		.op = op, .msg_bytes = msg_bytes, .batch = batch, .frame_bytes = frame_bytes,
		.ns_per_frame = (double)(t1.cpu - t0.cpu) / (double)frames,
		.wall_ns_per_frame = (double)(t1.wall - t0.wall) / (double)frames,
	};
}

static void report(const struct result *r)
{
	double mpps = 1e3 / r->ns_per_frame;
	double msgs = r->batch ? (double)r->batch * mpps : 0;
	double gbit = (double)r->frame_bytes * 8 * mpps / 1e3;
	printf("%-7s %9zu %6zu %7zu %11.1f %10.1f %9.3f %9.2f %8.2f %10.1f\n", r->op,
	       r->msg_bytes, r->batch, r->frame_bytes, r->ns_per_frame,
	       r->batch ? r->ns_per_frame / (double)r->batch : 0, mpps, msgs, gbit,
	       r->wall_ns_per_frame);
	struct bench_json j;
	bench_json_begin(&j, "aegis-bench-wire");
	bench_json_str(&j, "op", r->op);
	bench_json_u64(&j, "msg_bytes", r->msg_bytes);
	bench_json_u64(&j, "batch", r->batch);
	bench_json_u64(&j, "frame_bytes", r->frame_bytes);
	bench_json_f64(&j, "ns_per_frame", r->ns_per_frame);
	bench_json_f64(&j, "wall_ns_per_frame", r->wall_ns_per_frame);
	bench_json_f64(&j, "ns_per_msg", r->batch ? r->ns_per_frame / (double)r->batch : 0);
	bench_json_f64(&j, "mframes_per_s", mpps);
	bench_json_f64(&j, "mmsgs_per_s", msgs);
	bench_json_f64(&j, "gbit_per_s", gbit);
	bench_json_end(&j);
}

static struct aeg_wire_key key;
static struct aeg_wire_mac *mac, *mac_rx[AEG_WIRE_RX_KEYS]; /* 1 -> 2, as sender and receiver */
static struct aeg_wire_replay window;

static bool lookup(void *arg, uint32_t node, uint32_t worker, struct aeg_wire_src *out)
{
	(void)arg;
	out->replay = &window;
	out->keys = (const struct aeg_wire_mac *const *)mac_rx;
	return node == 1 && worker == 0;
}

static struct aeg_wire_rx rx = {
	.cluster = 7, .self_node = 2, .self_worker = 0, .peer_lookup = lookup,
};

static struct aeg_wire_hdr hdr(uint64_t seq)
{
	return (struct aeg_wire_hdr){
		.cluster = 7, .src_node = 1, .dst_node = 2, .src_worker = 0, .dst_worker = 0,
		.seq = seq,
	};
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "aegis-bench-wire: %s failed: %d\n", what, rc);
	exit(1);
}

static size_t build(uint8_t *buf, uint64_t seq, const uint8_t *body, size_t msg_bytes,
		    size_t batch)
{
	struct aeg_wire_builder b;
	struct aeg_wire_hdr h = hdr(seq);
	int rc = aeg_wire_builder_begin(&b, buf, FRAME_CAP, &h);
	if (rc != 0)
		die("begin", rc);
	for (size_t i = 0; i < batch; i++) {
		/* Groups vary like the shards of one worker. */
		rc = aeg_wire_builder_add(&b, AEG_MSG_TEST, (uint32_t)(i * 37 % 4096), body, msg_bytes);
		if (rc != 0)
			die("add", rc);
	}
	rc = aeg_wire_builder_seal(&b, mac);
	if (rc < 0)
		die("seal", rc);
	return (size_t)rc;
}

/* Messages of msg_bytes that fit in one frame. */
static size_t batch_max(size_t msg_bytes)
{
	size_t per = AEG_WIRE_MSG_HDR_BYTES + msg_bytes;
	return (FRAME_CAP - AEG_WIRE_FRAME_BYTES_MIN) / per;
}

static void bench_tag(size_t bytes)
{
	/* 16 inputs with their own nonces, used in turn: nothing is stored
	 * into an input right before its MAC reads it (a store-forwarding
	 * stall a real sender, whose header was written long before, lacks). */
	static uint8_t data[16][FRAME_CAP];
	for (uint64_t k = 0; k < 16; k++)
		memcpy(data[k] + AEG_WIRE_IV_OFFSET, &k, sizeof(k));
	uint8_t tag[AEG_WIRE_TAG_BYTES];
	uint64_t n = 0, sink = 0;
	struct clocks t0 = clocks_now();
	do {
		for (int i = 0; i < 1000; i++) {
			const uint8_t *d = data[n % 16];
			aeg_wire_mac_tag(mac, d + AEG_WIRE_IV_OFFSET, d, bytes, tag);
			sink += tag[0];
			n++;
		}
	} while (cpu_now_ns() - t0.cpu < case_ns);
	bench_consume_u64(sink);
	struct result r = result_of("tag", bytes, 0, bytes, t0, n);
	report(&r);
}

static void bench_encode(const uint8_t *body, size_t msg_bytes, size_t batch)
{
	static uint8_t buf[FRAME_CAP];
	uint64_t n = 0, sink = 0;
	size_t len = 0;
	struct clocks t0 = clocks_now();
	do {
		for (int i = 0; i < 256; i++) {
			len = build(buf, n + 1, body, msg_bytes, batch);
			sink += buf[len - 1];
			n++;
		}
	} while (cpu_now_ns() - t0.cpu < case_ns);
	bench_consume_u64(sink);
	struct result r = result_of("encode", msg_bytes, batch, len, t0, n);
	report(&r);
}

static void bench_decode(uint8_t (*frames)[FRAME_CAP], const uint8_t *body, size_t msg_bytes,
			 size_t batch)
{
	size_t lens[RING];
	for (size_t i = 0; i < RING; i++)
		lens[i] = build(frames[i], i + 1, body, msg_bytes, batch);
	uint64_t n = 0, sink = 0;
	struct clocks t0 = clocks_now();
	do {
		/* A fresh window per pass over the ring: 40 bytes, amortized. */
		aeg_wire_replay_init(&window, 0);
		for (size_t i = 0; i < RING; i++) {
			struct aeg_wire_frame f;
			enum aeg_wire_drop why = aeg_wire_parse(&rx, frames[i], lens[i], &f);
			if (why != AEG_WIRE_OK) {
				fprintf(stderr, "aegis-bench-wire: dropped: %s\n",
					aeg_wire_drop_name(why));
				exit(1);
			}
			struct aeg_wire_iter it;
			struct aeg_wire_msg m;
			aeg_wire_iter_init(&it, &f);
			int rc;
			while ((rc = aeg_wire_iter_next(&it, &m)) == 1)
				sink += m.group + m.body_len + (m.body_len ? m.body[0] : 0);
			if (rc != 0)
				die("iterate", rc);
			n++;
		}
	} while (cpu_now_ns() - t0.cpu < case_ns);
	bench_consume_u64(sink);
	struct result r = result_of("decode", msg_bytes, batch, lens[0], t0, n);
	report(&r);
}

/* True if n is one of the first count fixed batch sizes. */
static bool listed(const size_t *batches, size_t count, size_t n)
{
	for (size_t i = 0; i < count; i++)
		if (batches[i] == n)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--time-ms") == 0 && i + 1 < argc) {
			case_ns = strtoull(argv[++i], NULL, 10) * 1000000ull;
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only_op = argv[++i];
		} else {
			fprintf(stderr, "usage: aegis-bench-wire [--time-ms N] [--only tag|encode|decode]\n");
			return 2;
		}
	}
	for (int i = 0; i < AEG_WIRE_KEY_BYTES; i++)
		key.bytes[i] = (uint8_t)(i * 29 + 1);
	int mrc = aeg_wire_mac_new(&mac, &key, 1, 7, 1, 2, 0);
	if (mrc == 0)
		mrc = aeg_wire_mac_new(&mac_rx[0], &key, 1, 7, 1, 2, 0);
	if (mrc != 0)
		die("aeg_wire_mac_new", mrc);
	char setup[256];
	snprintf(setup, sizeof(setup),
		 "frame cap %d B (1500 MTU - IPv4 - UDP), header %d B, tag %d B AES-128-GMAC (%s), "
		 "%llu ms per case, one thread, asserts %s",
		 FRAME_CAP, AEG_WIRE_HDR_BYTES, AEG_WIRE_TAG_BYTES, aeg_wire_mac_impl(mac),
		 (unsigned long long)(case_ns / 1000000),
#ifdef NDEBUG
		 "off"
#else
		 "on"
#endif
	);
	bench_print_setup("aegis-bench-wire", setup);
	printf("# ns, rates: CPU time of this thread; wall_ns: elapsed time (higher when the cores are shared)\n");
	printf("%-7s %9s %6s %7s %11s %10s %9s %9s %8s %10s\n", "op", "msg_bytes", "batch",
	       "frame_B", "ns/frame", "ns/msg", "Mframe/s", "Mmsg/s", "Gbit/s", "wall_ns");

	static const size_t tag_sizes[] = {64, 256, 512, 1024, 1400, FRAME_CAP};
	for (size_t i = 0; i < sizeof(tag_sizes) / sizeof(tag_sizes[0]) && wanted("tag"); i++)
		bench_tag(tag_sizes[i]);

	static uint8_t body[FRAME_CAP];
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 13);
	uint8_t(*frames)[FRAME_CAP] = malloc(RING * FRAME_CAP);
	if (frames == NULL)
		die("malloc", -ENOMEM);
	static const size_t msg_sizes[] = {16, 64, 256, 1024, 1406 /* one message fills the frame */};
	static const size_t batches[] = {1, 8, 32, 0 /* as many as fit */};
	for (int op = 0; op < 2; op++) {
		for (size_t s = 0; s < sizeof(msg_sizes) / sizeof(msg_sizes[0]); s++) {
			size_t max = batch_max(msg_sizes[s]);
			for (size_t bi = 0; bi < sizeof(batches) / sizeof(batches[0]); bi++) {
				size_t batch = batches[bi] ? batches[bi] : max;
				if (batch > max || (batches[bi] == 0 && listed(batches, bi, max)))
					continue;
				if (op == 0 && wanted("encode"))
					bench_encode(body, msg_sizes[s], batch);
				else if (op == 1 && wanted("decode"))
					bench_decode(frames, body, msg_sizes[s], batch);
			}
		}
	}
	free(frames);
	aeg_wire_mac_free(mac);
	aeg_wire_mac_free(mac_rx[0]);
	return 0;
}
