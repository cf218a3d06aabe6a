/* Micro-benchmark of lib/vclock: ns per operation on clocks of a given size. */
#include "common.h"

#include "aegis/vclock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUNDS 2000000

static void fill(struct aeg_vclock *vc, uint32_t nodes, uint32_t stride, uint64_t base)
{
	aeg_vclock_init(vc);
	for (uint32_t i = 0; i < nodes; i++) {
		if (aeg_vclock_set(vc, i * stride, base + i * 1000) != 0)
			abort();
	}
}

static void report(const char *op, uint32_t nodes, uint64_t ns, uint64_t ops)
{
	double per = (double)ns / (double)ops;
	printf("%-16s %6u %10.1f %12.0f\n", op, nodes, per, 1e9 / per);
	struct bench_json j;
	bench_json_begin(&j, "aegis-bench-vclock");
	bench_json_str(&j, "op", op);
	bench_json_u64(&j, "nodes", nodes);
	bench_json_u64(&j, "ops", ops);
	bench_json_f64(&j, "ns_per_op", per);
	bench_json_end(&j);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		int help = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0;
		fprintf(help ? stdout : stderr,
			"usage: aegis-bench-vclock\n"
			"  ns per merge, compare, increment, encode and decode of vector\n"
			"  clocks with 3, 8 and 32 nodes, and per HLC now/update; %d rounds each.\n",
			ROUNDS);
		return help ? 0 : 2;
	}
	static const uint32_t sizes[] = { 3, 8, 32 };
	bench_print_setup("aegis-bench-vclock", "single thread; clocks of N nodes, merge/compare of two clocks with half the nodes shared");
	printf("%-16s %6s %10s %12s\n", "op", "nodes", "ns/op", "ops/s");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint32_t n = sizes[s];
		struct aeg_vclock a, b, m;
		uint8_t buf[512];
		uint64_t sum = 0, t0;
		fill(&a, n, 2, 1);
		/* b shares a's even nodes; at 32 nodes the union must still fit. */
		fill(&b, n, n == 32 ? 2 : 1, 7);

		t0 = bench_now_ns();
		for (int i = 0; i < ROUNDS; i++) {
			m = a;
			if (aeg_vclock_merge(&m, &b) != 0)
				abort();
			sum += m.len;
		}
		report("merge", n, bench_now_ns() - t0, ROUNDS);

		t0 = bench_now_ns();
		for (int i = 0; i < ROUNDS; i++) {
			sum += aeg_vclock_compare(&a, &b);
			b.entries[i % b.len].counter ^= 1; /* defeat hoisting */
		}
		report("compare", n, bench_now_ns() - t0, ROUNDS);

		t0 = bench_now_ns();
		for (int i = 0; i < ROUNDS; i++) {
			if (aeg_vclock_increment(&a, (uint32_t)(i % n) * 2, NULL) != 0)
				abort();
		}
		report("increment", n, bench_now_ns() - t0, ROUNDS);

		int len = aeg_vclock_encode(&a, buf, sizeof(buf));
		t0 = bench_now_ns();
		for (int i = 0; i < ROUNDS; i++)
			sum += (uint64_t)aeg_vclock_encode(&a, buf, sizeof(buf));
		report("encode", n, bench_now_ns() - t0, ROUNDS);

		t0 = bench_now_ns();
		for (int i = 0; i < ROUNDS; i++) {
			if (aeg_vclock_decode(&m, buf, (size_t)len) != len)
				abort();
			sum += m.len;
		}
		report("decode", n, bench_now_ns() - t0, ROUNDS);
		bench_consume_u64(sum);
	}

	struct aeg_hlc h;
	struct aeg_hlc_ts ts, remote = { 0, 0, 2 };
	uint64_t t0 = bench_now_ns(), sum = 0;
	aeg_hlc_init(&h, 1, 0);
	for (int i = 0; i < ROUNDS; i++) {
		if (aeg_hlc_now(&h, (uint64_t)i / 4, &ts) != 0)
			abort();
		sum += ts.logical;
	}
	report("hlc_now", 1, bench_now_ns() - t0, ROUNDS);
	t0 = bench_now_ns();
	for (int i = 0; i < ROUNDS; i++) {
		remote.wall = (uint64_t)i / 3;
		if (aeg_hlc_update(&h, (uint64_t)i / 4, &remote, &ts) != 0)
			abort();
		sum += ts.logical;
	}
	report("hlc_update", 1, bench_now_ns() - t0, ROUNDS);
	bench_consume_u64(sum);
	return 0;
}
