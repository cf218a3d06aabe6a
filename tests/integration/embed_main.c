/* A program an embedder might write: hash a key to a shard, place it on
 * replicas, and keep a vector clock. Exits non-zero if anything is off. */
#include <aegis/hash.h>
#include <aegis/vclock.h>

#include <stdio.h>

int main(void)
{
	uint64_t h = aeg_hash_key("user:42", 7, 0);
	int32_t shard = aeg_jump_hash(h, 16);
	if (shard < 0 || shard >= 16) {
		fprintf(stderr, "jump hash out of range: %d\n", shard);
		return 1;
	}
	struct aeg_vclock a, b;
	aeg_vclock_init(&a);
	aeg_vclock_init(&b);
	if (aeg_vclock_increment(&a, 1, NULL) != 0 || aeg_vclock_increment(&b, 2, NULL) != 0)
		return 1;
	if (aeg_vclock_compare(&a, &b) != AEG_ORDER_CONCURRENT) {
		fprintf(stderr, "expected concurrent clocks\n");
		return 1;
	}
	if (aeg_vclock_merge(&a, &b) != 0 || aeg_vclock_compare(&a, &b) != AEG_ORDER_AFTER)
		return 1;
	printf("user:42 -> shard %d\n", shard);
	return 0;
}
