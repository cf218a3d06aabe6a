/* aegis/kv.h — the replicated key-value state machine of one shard.
 *
 * Deterministic: every replica that applies the same commands in the same
 * order (with the same limits) gets the same results and byte-identical
 * snapshots. Nothing here reads a clock: session expiry runs on the time the
 * leader stamped into each command (cmd.time_ms), and the state's notion of
 * "now" is the largest time_ms applied so far (so a new leader whose clock
 * is behind never moves time backwards).
 *
 * Versions: a key's version is the Raft index of the entry that last wrote
 * it; 0 means "absent" (CAS with expect_version 0 = create only).
 *
 * Sessions: a command with seq != 0 belongs to the session of client_id.
 * A session remembers the results of a WINDOW of seqs, so that a client may
 * keep many writes in flight under one id, and the network may reorder and
 * repeat them:
 *   floor    every seq <= floor is forgotten. The command's seq_floor F
 *            (from the client: "every request below F has had its reply")
 *            raises it to F - 1; it never moves down;
 *   results  (seq, status, version) of applied seqs in (floor, ...], at most
 *            session_results_max of them. Remembering one more when full
 *            forgets the lowest and raises the floor to it.
 * A command (client_id, seq), after its seq_floor has raised the floor:
 *   seq <= floor                     AEG_KV_SESSION_EXPIRED, nothing applied
 *                                    (the outcome is unknown to the kv: the
 *                                    client must read to find out);
 *   seq remembered                   its first result, duplicate = true,
 *                                    nothing applied;
 *   window full, seq below all held  AEG_KV_SESSION_EXPIRED, nothing applied
 *                                    (it could not be remembered);
 *   else (a new seq, in any order)   applied, result remembered.
 * Sessions are bounded by sessions_max (the least recently used is evicted)
 * and session_ttl_ms (a session not used for longer than that, in command
 * time, is dropped). All of it is replicated state: in the snapshot.
 *
 * Limits: keys and values over the limit are refused (AEG_KV_TOO_LARGE).
 * The shard's LOGICAL bytes are: per key key_len + value_len +
 * AEG_KV_KEY_OVERHEAD, per session AEG_KV_SESSION_OVERHEAD +
 * AEG_KV_RESULT_BYTES per remembered result. A write that would take them
 * over mem_bytes_max (counting what its own session grows by) is refused
 * (AEG_KV_NO_SPACE). Logical bytes, not allocator bytes, so that every
 * replica refuses the same write. A refused write changes nothing but the
 * session (which remembers the refusal) and the applied index. Sessions are
 * never refused (a result must be remembered), so refusals and new sessions
 * may take logical bytes past mem_bytes_max, by at most sessions_max *
 * (AEG_KV_SESSION_OVERHEAD + session_results_max * AEG_KV_RESULT_BYTES).
 *
 * Memory: all of it through the caller's allocator (or malloc/free): one
 * block per key (header + key + value), two per session (the session and
 * its results array, which doubles up to session_results_max), and two open
 * addressing tables that double when 3/4 full. An empty kv allocates only
 * its own struct. Pure: no syscalls, no clocks, no globals. Not thread-safe:
 * one kv is used by one worker. */
#ifndef AEGIS_KV_H
#define AEGIS_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aegis/api.h"

AEG_API_BEGIN

/* FENCE, UNFENCE and DROP_FROM move a key range out of a shard (a range
 * split, issue [G]): FENCE key K: from then on a write of a key >= K is
 * answered MOVED and changes nothing (K empty: every key); UNFENCE: no
 * fence; DROP_FROM key K: every key >= K is deleted (the fence stays).
 * They carry no session (client_id, seq, seq_floor 0), no value.
 * COPY key value, expect_version V: the key as another shard held it, with
 * its version V kept (a split's copy), no session; it is a write like PUT
 * for limits, budget and fence.
 *
 * Versions: a write's version is its entry's index plus the store's
 * version base, 0 until a COPY raises it so that every later write's
 * version is above the copied one: a key's version only grows, across
 * splits and merges too.
 * COPY_BATCH: many COPYs in one entry (a split's copy goes faster): no
 * key, the value holds the keys in ascending order, each varint key_len
 * (>= 1), key, varint value_len, value, varint version (>= 1); all of them
 * apply or none (TOO_LARGE, MOVED if one is fenced, NO_SPACE for the sum);
 * the result's version is the largest copied. */
enum aeg_kv_op {
	AEG_KV_PUT = 1,
	AEG_KV_DEL = 2,
	AEG_KV_CAS = 3,
	AEG_KV_FENCE = 4,
	AEG_KV_UNFENCE = 5,
	AEG_KV_DROP_FROM = 6,
	AEG_KV_COPY = 7,
	AEG_KV_COPY_BATCH = 8,
};

enum aeg_kv_status {
	AEG_KV_OK = 0,
	AEG_KV_NOT_FOUND,        /* DEL of an absent key */
	AEG_KV_VERSION_MISMATCH, /* CAS: result.version = the key's current version (0 = absent) */
	AEG_KV_TOO_LARGE,        /* key or value over the limit */
	AEG_KV_NO_SPACE,         /* the shard's memory budget (logical bytes) */
	AEG_KV_SESSION_EXPIRED,  /* seq older than what the session remembers */
	AEG_KV_MOVED,            /* the key is at or past the fence: nothing done, nothing remembered */
};
#define AEG_KV_STATUS_MAX AEG_KV_MOVED

/* "ok", "not_found", ... (never NULL; "unknown" for other values). */
const char *aeg_kv_status_name(enum aeg_kv_status s);

/* ---- Commands (the bytes of a Raft entry) ------------------------------
 *
 * Encoding (format 2), canonical (one command has one encoding; decode
 * refuses anything else, including trailing bytes):
 *   u8 format (2), u8 op, varint client_id, varint seq, varint seq_floor,
 *   varint expect_version, varint time_ms, varint key_len, key,
 *   varint value_len, value
 * Format 1 (no seq_floor) is still decoded, with seq_floor 0; encode always
 * writes format 2. Rules: op is an aeg_kv_op; key_len >= 1 (FENCE and
 * DROP_FROM: >= 0, UNFENCE: 0); DEL, FENCE, UNFENCE and DROP_FROM have no
 * value; only CAS and COPY have an expect_version (COPY: >= 1, the version
 * kept); FENCE, UNFENCE, DROP_FROM, COPY and COPY_BATCH have client_id, seq
 * and seq_floor 0; COPY_BATCH has key_len 0 and a well-formed value (see
 * above). Size = key_len + value_len + at
 * most AEG_KV_CMD_OVERHEAD_MAX. Limits (key/value size) are NOT decode
 * errors: they are results of apply (AEG_KV_TOO_LARGE), so the proposer may
 * skip the check and still every replica answers the same. */
#define AEG_KV_CMD_FORMAT 2u
#define AEG_KV_CMD_FORMAT_V1 1u
#define AEG_KV_CMD_OVERHEAD_MAX 62u /* 2 + 5 varint64 (10) + 2 varint32 (5) */

struct aeg_kv_cmd {
	uint8_t op;              /* enum aeg_kv_op */
	uint64_t client_id;
	uint64_t seq;            /* 0 = no session (client_id, seq_floor ignored) */
	uint64_t seq_floor;      /* every seq of this client below it has had its
				  * reply: forget them (0 = says nothing) */
	uint64_t expect_version; /* CAS: 0 = key must not exist; else must be 0 */
	uint64_t time_ms;        /* leader's clock at proposal (session expiry) */
	const void *key;
	uint32_t key_len;
	const void *value;
	uint32_t value_len;
};

/* Encoded size (also for an invalid command: encode refuses that). */
size_t aeg_kv_cmd_size(const struct aeg_kv_cmd *c);
/* COPY_BATCH values: appends one key to buf (at *len, cap bytes): 0 or
 * -EMSGSIZE (no room: nothing written). */
int aeg_kv_copy_batch_add(uint8_t *buf, size_t cap, size_t *len, const void *key, uint32_t key_len,
			  const void *value, uint32_t value_len, uint64_t version);
size_t aeg_kv_copy_batch_item_size(uint32_t key_len, uint32_t value_len, uint64_t version);
/* Bytes written, -EMSGSIZE (cap too small), -EINVAL (breaks a rule above,
 * or larger than INT_MAX). */
int aeg_kv_cmd_encode(const struct aeg_kv_cmd *c, uint8_t *buf, size_t cap);
/* 0; -EMSGSIZE (truncated), -EINVAL (malformed). key/value point into buf. */
int aeg_kv_cmd_decode(struct aeg_kv_cmd *c, const uint8_t *buf, size_t len);

/* ---- The state machine ------------------------------------------------- */

#define AEG_KV_KEY_BYTES_MAX_DEFAULT 1024u
/* 1 MiB values: a command then takes at most 1 MiB + 1 KiB + 52 bytes, under
 * the dataplane's message limit (>= 1 MiB + 4 KiB) with room for Raft's
 * headers. */
#define AEG_KV_VALUE_BYTES_MAX_DEFAULT (1024u * 1024u)
#define AEG_KV_SESSIONS_MAX_DEFAULT 1024u
#define AEG_KV_SESSION_TTL_MS_DEFAULT (5ull * 60 * 1000)
/* Results remembered per session: a client keeps at most this many writes in
 * flight per client id. */
#define AEG_KV_SESSION_RESULTS_MAX_DEFAULT 128u
/* Logical bytes a key costs besides its key and value bytes (close to the
 * real cost with glibc malloc: see the report of tests/unit/kv). */
#define AEG_KV_KEY_OVERHEAD 64u
/* Logical bytes of a session, and of each result it remembers. */
#define AEG_KV_SESSION_OVERHEAD 64u
#define AEG_KV_RESULT_BYTES 24u

/* Every replica of a shard must use the same limits (hash_seed excepted).
 * A zero field means its default (mem_bytes_max 0 = unlimited). */
struct aeg_kv_limits {
	uint32_t key_bytes_max;   /* default 1024 */
	uint32_t value_bytes_max; /* default 1 MiB */
	uint64_t mem_bytes_max;   /* logical bytes of this shard, 0 = unlimited */
	uint32_t sessions_max;    /* default 1024 */
	uint64_t session_ttl_ms;  /* default 5 minutes */
	uint32_t session_results_max; /* per session, default 128 */
	uint64_t hash_seed;       /* table hashing only, need not match across
				   * replicas: a random one defeats crafted
				   * collisions; 0 is a fixed default */
};

/* NULL alloc/free = malloc/free. free gets the size that was allocated. */
struct aeg_kv_alloc {
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p, size_t n);
	void *ctx;
};

struct aeg_kv;

/* lim NULL = all defaults; a NULL allocator = malloc/free (the struct is
 * copied). 0 or -ENOMEM. */
int aeg_kv_new(struct aeg_kv **out, const struct aeg_kv_limits *lim,
	       const struct aeg_kv_alloc *a);
void aeg_kv_free(struct aeg_kv *kv);
/* The limits in effect (defaults filled in). */
void aeg_kv_limits_get(const struct aeg_kv *kv, struct aeg_kv_limits *lim);

struct aeg_kv_result {
	enum aeg_kv_status status;
	/* OK: the index of this write (PUT/CAS: the key's new version; DEL: the
	 * index that removed it); VERSION_MISMATCH: the key's current version
	 * (0 = absent); else 0. */
	uint64_t version;
	bool duplicate; /* a retried (client, seq): the first result again, nothing applied */
};

/* Applies the Raft entry at `index` (which becomes the version of the keys
 * it writes). Entries must come in increasing index order; gaps are allowed
 * (entries that are not kv commands, e.g. configuration changes, may be
 * skipped or passed with len 0).
 *   0        res says the outcome; applied = index.
 *            len == 0 is a no-op (Raft's empty entries): status OK, version 0.
 *   -EINVAL  undecodable command: consumed as a no-op (applied = index),
 *            res = {OK, 0}; deterministic like everything else.
 *   -ERANGE  index == 0 or index <= applied: nothing changes.
 *   -ENOMEM  the allocator failed: nothing changes (not even applied); the
 *            caller treats it as fatal (other replicas did apply it).
 * cmd need not stay valid after the call (keys and values are copied). */
int aeg_kv_apply(struct aeg_kv *kv, uint64_t index, const uint8_t *cmd, uint32_t len,
		 struct aeg_kv_result *res);

/* A hint that cmd is applied soon, for a batch of committed entries whose
 * keys are scattered over memory: stage 0 fetches the key's table slot,
 * stage 1 (called later, once that slot is in cache) the entry it holds.
 * Changes nothing; a command that does not decode is ignored. */
void aeg_kv_prefetch(const struct aeg_kv *kv, const uint8_t *cmd, uint32_t len, int stage);

/* Marks index applied without a command (same as apply with len 0). */
int aeg_kv_apply_noop(struct aeg_kv *kv, uint64_t index);

/* 0 with *value (valid until the next apply, snapshot load or free),
 * *value_len and *version (each may be NULL), or -ENOENT. */
int aeg_kv_get(const struct aeg_kv *kv, const void *key, uint32_t key_len,
	       const uint8_t **value, uint32_t *value_len, uint64_t *version);

/* A range of keys: start <= key < end in memcmp order, a prefix before its
 * extensions (start_len 0: from the first key; end_len 0: to the last). */
struct aeg_kv_range {
	const void *start;
	uint32_t start_len;
	const void *end;
	uint32_t end_len;
};

/* One key as a scan sees it (pointers valid until the next apply,
 * snapshot load or free). */
struct aeg_kv_item {
	const uint8_t *key;
	const uint8_t *value;
	uint32_t key_len, value_len;
	uint64_t version;
};

/* The up to max smallest keys in r, ascending, into items; returns how
 * many, and *more = true when r holds more keys than that. -EINVAL (max 0,
 * NULL with a length). Walks every key of the kv (a hash table): O(keys). */
int aeg_kv_scan(const struct aeg_kv *kv, const struct aeg_kv_range *r, struct aeg_kv_item *items,
		uint32_t max, bool *more);

/* A sample of the keys in r: the first max of them in the table's order
 * (which the keys' hashes decide: a uniform sample, the same on every
 * replica), sorted by key; returns how many. For a range split's middle
 * key. Stops at the max-th: O(keys / density) at most one pass. -EINVAL as
 * aeg_kv_scan. */
int aeg_kv_sample(const struct aeg_kv *kv, const struct aeg_kv_range *r, struct aeg_kv_item *items, uint32_t max);

/* The fence (FENCE): true and its key (valid until the next apply,
 * snapshot load or free), or false. */
bool aeg_kv_fence(const struct aeg_kv *kv, const uint8_t **key, uint32_t *key_len);

/* Index of the last entry applied (or of the loaded snapshot); 0 at start. */
uint64_t aeg_kv_applied(const struct aeg_kv *kv);
/* The version base (see COPY): 0 until a copy. */
uint64_t aeg_kv_version_base(const struct aeg_kv *kv);

/* ---- Snapshots ------------------------------------------------------------
 *
 * Format 3, little-endian (format 2, without a fence, still loads; format
 * 1, without windows, is refused: -EINVAL):
 *   header (48 bytes): u32 magic "AKVS", u32 format (3), u64 applied,
 *     u64 now_ms, u64 key_count, u64 session_count, u32 crc32c (of the
 *     header with this field zero, then the body), u32 flags (bit 0: a
 *     fence; bit 1: a version base; format 2: zero)
 *   body: keys in ascending byte order (memcmp, then shorter first), each
 *     varint key_len, varint value_len, varint version, key, value;
 *     then sessions, least recently used first, each varint client_id,
 *     varint floor, varint last_ms, varint result_count, then its results
 *     in ascending seq order (all > floor), each varint seq,
 *     varint version, u8 status (never SESSION_EXPIRED or MOVED);
 *     then, with flag bit 0, the fence: varint len, key; with flag bit 1,
 *     varint version base (not 0). Versions are at most applied + base.
 * Equal states give equal bytes (no table layout leaks into it). */
#define AEG_KV_SNAP_MAGIC 0x53564b41u /* "AKVS" little-endian */
#define AEG_KV_SNAP_FORMAT 3u
#define AEG_KV_SNAP_FORMAT_V2 2u
#define AEG_KV_SNAP_FENCE 0x1u
#define AEG_KV_SNAP_VBASE 0x2u
#define AEG_KV_SNAP_HDR_BYTES 48u

size_t aeg_kv_snapshot_size(const struct aeg_kv *kv);
/* 0 after writing exactly aeg_kv_snapshot_size(kv) bytes; -EMSGSIZE (cap
 * smaller than that), -ENOMEM (keys are sorted in a scratch array of 8 bytes
 * per key taken from the allocator for the duration of the call). */
int aeg_kv_snapshot_write(const struct aeg_kv *kv, uint8_t *buf, size_t cap);
/* Replaces all state (keys, sessions, applied index, time). A bad snapshot
 * (magic, format, CRC32C, truncation, trailing bytes, keys out of order,
 * duplicate sessions, versions past applied ...) is refused with -EINVAL
 * (-EMSGSIZE if shorter than a header) and leaves the kv unchanged; -ENOMEM
 * too. Sessions beyond this kv's sessions_max are dropped oldest first,
 * results beyond its session_results_max lowest first (raising the floor);
 * keys over this kv's limits are kept (limits apply to new writes). */
int aeg_kv_snapshot_load(struct aeg_kv *kv, const uint8_t *buf, size_t len);

/* A view of the state as it is now, for a snapshot written on another
 * thread while this kv goes on applying (the worker's loop must not stall
 * for a large shard's serialization). Opening copies the entry pointers
 * (O(keys), no entry read) and the sessions' bytes; until the view is
 * closed the kv keeps every entry it lets go of instead of freeing it
 * (entries never change in place), so the view's entries stay readable.
 * One view per kv at a time.
 *   open   the kv's thread. 0, -EBUSY (one is open), -ENOMEM.
 *   size, write   any one thread at a time; read only the view and its
 *          entries, allocate nothing. write gives exactly the bytes
 *          aeg_kv_snapshot_write() gave at open (-EMSGSIZE: cap too small).
 *   close  the kv's thread (or any thread once the kv is freed): frees the
 *          view and the entries kept for it. aeg_kv_free() with a view open
 *          hands it the entries; closing it then frees them.
 * Applies that would let go of entries while a view is open first reserve
 * room to keep them: -ENOMEM there changes nothing, as always. */
struct aeg_kv_view;
int aeg_kv_view_open(struct aeg_kv *kv, struct aeg_kv_view **out);
size_t aeg_kv_view_size(struct aeg_kv_view *v);
int aeg_kv_view_write(struct aeg_kv_view *v, uint8_t *buf, size_t cap);
uint64_t aeg_kv_view_applied(const struct aeg_kv_view *v);
void aeg_kv_view_close(struct aeg_kv_view *v);

struct aeg_kv_stats {
	uint64_t keys;
	uint64_t logical_bytes; /* what the budget counts */
	uint64_t sessions;
	uint64_t session_results; /* remembered, over all sessions */
	uint64_t mem_bytes;     /* really allocated through the allocator, struct included */
};
void aeg_kv_stats_get(const struct aeg_kv *kv, struct aeg_kv_stats *st);

AEG_API_END

#endif
