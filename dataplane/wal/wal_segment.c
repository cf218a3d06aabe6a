/* WAL segment files: create (preallocated), recycle, recover, seal.
 *
 * Files are seg-000000.wal, seg-000001.wal, ... created in slot order, all
 * segment_bytes long. Which are part of the log is told by their headers:
 * the newest segment's header names the log start, and every sequence from
 * there to the newest must be present. A segment released by compaction is
 * reused only once a newer durable header has moved the log start past it,
 * so a crash never leaves a hole in that range. */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int seg_register(struct aeg_wal *w, uint32_t slot)
{
	int fd = w->segs[slot].dfd;
	int rc = io_uring_register_files_update(&w->ring, slot, &fd, 1);
	if (rc < 0) {
		wal_log(w, "registering segment %u with io_uring: %s", slot, strerror(-rc));
		return rc;
	}
	return 0;
}

/* Opens the buffered and (if the file system allows) the O_DIRECT handle. */
static int seg_open_fds(struct aeg_wal *w, uint32_t slot, int flags)
{
	char path[4096];
	struct wal_segment *s = &w->segs[slot];
	wal_seg_path(w, slot, path, sizeof(path));
	s->fd = open(path, O_RDWR | O_CLOEXEC | flags, 0644);
	if (s->fd < 0) {
		int err = errno;
		if (err != ENOENT || (flags & O_CREAT))
			wal_log(w, "cannot open %s for writing: %s", path, strerror(err));
		return -err;
	}
	s->dfd = s->fd;
	if (!w->cfg.buffered) {
		int dfd = open(path, O_RDWR | O_CLOEXEC | O_DIRECT);
		if (dfd >= 0) {
			s->dfd = dfd;
			w->stats.direct = true;
		} else if (slot == 0) {
			wal_log(w, "O_DIRECT not available here (%s): buffered writes + fdatasync",
				strerror(errno));
		}
	}
	return 0;
}

static int sync_dir(struct aeg_wal *w)
{
	if (fsync(w->dir_fd) != 0) {
		int err = -errno;
		wal_log(w, "fsync of the data dir: %s", strerror(errno));
		return err;
	}
	return 0;
}

/* Zeroes over the whole file, through the page cache, then dropped from it. */
static int seg_prezero(struct aeg_wal *w, int fd)
{
	memset(w->scratch, 0, w->cfg.batch_bytes_max);
	/* Bounded: every round writes at least one byte or fails. */
	for (uint64_t off = 0; off < w->cfg.segment_bytes;) {
		uint64_t n = w->cfg.segment_bytes - off;
		if (n > w->cfg.batch_bytes_max)
			n = w->cfg.batch_bytes_max;
		ssize_t got = pwrite(fd, w->scratch, n, (off_t)off);
		if (got <= 0)
			return got < 0 ? -errno : -EIO;
		off += (uint64_t)got;
	}
	if (fdatasync(fd) != 0)
		return -errno;
	int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return -rc; /* advice only, but its failure says something is off */
}

/* A new preallocated segment file in the next slot. */
static int seg_create(struct aeg_wal *w)
{
	uint32_t slot = w->segs_n;
	assert(slot < w->cfg.segments_max);
	int rc = seg_open_fds(w, slot, O_CREAT | O_EXCL);
	if (rc < 0)
		return rc;
	struct wal_segment *s = &w->segs[slot];
	rc = fallocate(s->fd, 0, 0, (off_t)w->cfg.segment_bytes) != 0 ? -errno : 0;
	if (rc == 0 && w->cfg.prezero)
		rc = seg_prezero(w, s->fd);
	if (rc != 0) {
		char path[4096];
		wal_log(w, "preallocating %llu bytes for %s: %s", (unsigned long long)w->cfg.segment_bytes,
			wal_seg_path(w, slot, path, sizeof(path)), strerror(-rc));
		if (unlink(path) != 0)
			wal_log(w, "removing %s: %s", path, strerror(errno));
		if (s->dfd != s->fd)
			close(s->dfd);
		close(s->fd);
		s->fd = s->dfd = -1;
		return rc;
	}
	if (fdatasync(s->fd) != 0 || sync_dir(w) != 0)
		return -EIO;
	s->state = WAL_SEG_UNUSED;
	w->segs_n++;
	w->stats.segments_created++;
	return seg_register(w, slot);
}

uint64_t wal_log_start(const struct aeg_wal *w)
{
	uint64_t start = w->next_seq;
	for (uint32_t i = 0; i < w->segs_n; i++)
		if (w->segs[i].state == WAL_SEG_LIVE && w->segs[i].seq < start)
			start = w->segs[i].seq;
	return start;
}

static void seg_reset_ranges(struct aeg_wal *w, struct wal_segment *s)
{
	/* Only the slots ever used can be non-zero. */
	memset(s->min_index, 0, w->groups_n * sizeof(uint64_t));
	memset(s->max_index, 0, w->groups_n * sizeof(uint64_t));
	s->pins = 0;
}

int wal_seg_by_seq(const struct aeg_wal *w, uint64_t seq)
{
	for (uint32_t i = 0; i < w->segs_n; i++)
		if (w->segs[i].state == WAL_SEG_LIVE && w->segs[i].seq == seq)
			return (int)i;
	return -1;
}

int wal_segment_start(struct aeg_wal *w, uint32_t *slot)
{
	wal_release(w);
	int pick = wal_seg_pick(w);
	if (pick == (int)w->segs_n) {
		int rc = seg_create(w);
		if (rc < 0) {
			wal_fail(w, rc, "creating a segment", -1, 0);
			return rc;
		}
		pick = (int)w->segs_n - 1;
	} else if (pick >= 0 && w->segs[pick].state == WAL_SEG_FREE) {
		w->stats.segments_reused++;
	}
	if (pick < 0) {
		wal_log_full(w);
		return -ENOSPC;
	}
	struct wal_segment *s = &w->segs[pick];
	s->state = WAL_SEG_LIVE;
	s->seq = w->next_seq++;
	s->hdr_log_start = wal_log_start(w);
	s->write_off = 0;
	s->durable_end = 0;
	seg_reset_ranges(w, s);
	*slot = (uint32_t)pick;
	return 0;
}

/* Reads and sorts out the headers: which segments are live, in what order. */
static int seg_classify(struct aeg_wal *w, uint64_t *newest, uint64_t *start)
{
	*newest = 0;
	*start = 0;
	for (uint32_t i = 0; i < w->segs_n; i++) {
		struct wal_segment *s = &w->segs[i];
		uint8_t buf[AEG_WAL_SEG_HDR_BYTES];
		struct aeg_wal_seg_hdr h;
		char path[4096];
		wal_seg_path(w, i, path, sizeof(path));
		ssize_t n = pread(s->fd, buf, sizeof(buf), 0);
		int rc = n == (ssize_t)sizeof(buf) ? aeg_wal_seg_hdr_decode(&h, buf, sizeof(buf)) : -EINVAL;
		if (rc == -EPROTONOSUPPORT) {
			wal_log(w, "%s has format version %u; this build reads versions %u to %u: refusing to start",
				path, h.version, AEG_WAL_VERSION_MIN, AEG_WAL_VERSION);
			return rc;
		}
		s->state = WAL_SEG_UNUSED;
		if (rc < 0)
			continue;
		if (h.segment_bytes != w->cfg.segment_bytes) {
			wal_log(w, "%s: segment size %llu, configured %llu: refusing to start", path,
				(unsigned long long)h.segment_bytes, (unsigned long long)w->cfg.segment_bytes);
			return -EINVAL;
		}
		s->state = WAL_SEG_FREE;
		s->seq = h.seq;
		s->hdr_log_start = h.log_start_seq;
		if (h.seq > *newest) {
			*newest = h.seq;
			*start = h.log_start_seq;
		}
	}
	for (uint64_t seq = *start; *newest != 0 && seq <= *newest; seq++) {
		int found = 0;
		for (uint32_t i = 0; i < w->segs_n; i++) {
			struct wal_segment *s = &w->segs[i];
			if (s->state != WAL_SEG_UNUSED && s->seq == seq) {
				s->state = WAL_SEG_LIVE;
				found++;
			}
		}
		if (found != 1) {
			wal_log(w, "segment sequence %llu is %s (log runs from %llu to %llu): refusing to start",
				(unsigned long long)seq, found == 0 ? "missing or its header is damaged" : "duplicated",
				(unsigned long long)*start, (unsigned long long)*newest);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A segment whose header does not decode but whose first record is a valid
 * record of the sequence after the newest was written to and then damaged:
 * header and first record share a sector, so a torn header write cannot
 * leave that record behind. Refused: its records were acknowledged. */
static int seg_check_lost_header(struct aeg_wal *w, uint64_t newest)
{
	for (uint32_t i = 0; i < w->segs_n; i++) {
		if (w->segs[i].state != WAL_SEG_UNUSED)
			continue;
		uint8_t *rec = w->scratch;
		ssize_t n = pread(w->segs[i].fd, rec, w->cfg.batch_bytes_max, AEG_WAL_SEG_HDR_BYTES);
		struct aeg_wal_rec r;
		if (n <= 0 || aeg_wal_rec_decode(&r, rec, (size_t)n, newest + 1) <= 0)
			continue;
		char path[4096];
		wal_log(w, "%s: header damaged, but it holds records of segment sequence %llu: refusing to start",
			wal_seg_path(w, i, path, sizeof(path)), (unsigned long long)newest + 1);
		return -EBADMSG;
	}
	return 0;
}

/* Replays one live segment image; checks it may end the way it does. */
static int seg_replay(struct aeg_wal *w, uint32_t slot, const uint8_t *img, bool last, struct aeg_wal_scan *sc)
{
	char path[4096];
	wal_seg_path(w, slot, path, sizeof(path));
	int rc = aeg_wal_scan_segment(sc, img, w->cfg.segment_bytes);
	assert(rc == 0 && sc->status != AEG_WAL_SCAN_BAD_HEADER);
	if (sc->status == AEG_WAL_SCAN_DAMAGED || (!last && sc->status != AEG_WAL_SCAN_SEALED)) {
		wal_log(w, "%s is damaged at offset %zu (%s, %llu valid records before it, not the last "
			   "segment or valid records follow): refusing to start; aegis-walinspect shows more",
			path, sc->damage_off != 0 ? sc->damage_off : sc->valid_end,
			aeg_wal_scan_status_name(sc->status), (unsigned long long)sc->records);
		return -EBADMSG;
	}
	if (sc->status == AEG_WAL_SCAN_TORN)
		wal_log(w, "%s: the records end at offset %zu and what follows is not clean (a write cut by the crash, never acknowledged, or stale data of a recycled segment): truncated there", path, sc->valid_end);
	size_t pos = AEG_WAL_SEG_HDR_BYTES;
	struct aeg_wal_rec r;
	while ((rc = aeg_wal_next(&r, img, sc->valid_end, &pos, sc->hdr.seq)) == 1) {
		/* A complete checkpoint here: older segments hold no hard state
		 * or marker that is not copied (version 2 seals only). */
		if (r.type == AEG_WAL_SEAL && r.term == AEG_WAL_SEAL_CHECKPOINTED && sc->hdr.version >= 2)
			w->ckpt_done_seq = sc->hdr.seq;
		if (r.type == AEG_WAL_PAD || r.type == AEG_WAL_SEAL)
			continue;
		int g = wal_group_slot(w, r.group, true);
		if (g < 0) {
			wal_log(w, "%s holds more groups than groups_max %u", path, w->cfg.groups_max);
			return g;
		}
		wal_group_apply(w, slot, &r);
		if (w->cfg.replay != NULL && (rc = w->cfg.replay(w->cfg.replay_ctx, &r)) < 0)
			return rc;
	}
	return rc;
}

/* Ends a recovered last segment with a SEAL at its valid end, so that the
 * next segment can follow it; new writes always start a new segment. */
static int seg_seal_recovered(struct aeg_wal *w, uint32_t slot, size_t valid_end)
{
	struct wal_segment *s = &w->segs[slot];
	uint8_t rec[AEG_WAL_REC_HDR_BYTES];
	struct aeg_wal_rec seal = { .type = AEG_WAL_SEAL, .index = s->seq + 1 };
	int n = aeg_wal_rec_encode(rec, sizeof(rec), s->seq, &seal);
	assert(n == (int)sizeof(rec));
	if (valid_end + sizeof(rec) > w->cfg.segment_bytes)
		return -EBADMSG;
	ssize_t wr = pwrite(s->fd, rec, sizeof(rec), (off_t)valid_end);
	if (wr != (ssize_t)sizeof(rec) || fdatasync(s->fd) != 0) {
		int err = wr < 0 ? -errno : -EIO;
		char path[4096];
		wal_log(w, "sealing %s at offset %zu: %s", wal_seg_path(w, slot, path, sizeof(path)), valid_end,
			strerror(-err));
		return err;
	}
	return 0;
}

static int seg_recover(struct aeg_wal *w, uint64_t start, uint64_t newest)
{
	for (uint64_t seq = start; newest != 0 && seq <= newest; seq++) {
		int slot = wal_seg_by_seq(w, seq);
		assert(slot >= 0);
		struct wal_segment *s = &w->segs[slot];
		void *img = mmap(NULL, w->cfg.segment_bytes, PROT_READ, MAP_SHARED, s->fd, 0);
		if (img == MAP_FAILED) {
			wal_log(w, "mmap of segment %d: %s", slot, strerror(errno));
			return -errno;
		}
		struct aeg_wal_scan sc;
		seg_reset_ranges(w, s);
		int rc = seg_replay(w, (uint32_t)slot, img, seq == newest, &sc);
		munmap(img, w->cfg.segment_bytes);
		if (rc < 0)
			return rc;
		s->write_off = w->cfg.segment_bytes; /* full: never appended to again */
		s->durable_end = sc.valid_end;
		if (seq == newest && sc.status != AEG_WAL_SCAN_SEALED)
			rc = seg_seal_recovered(w, (uint32_t)slot, sc.valid_end);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int wal_segments_open(struct aeg_wal *w)
{
	for (uint32_t slot = 0;; slot++) {
		char path[4096];
		if (slot == w->cfg.segments_max) {
			if (access(wal_seg_path(w, slot, path, sizeof(path)), F_OK) == 0) {
				wal_log(w, "%s exists but segments_max is %u: refusing to start", path, slot);
				return -EINVAL;
			}
			break;
		}
		int rc = seg_open_fds(w, slot, 0);
		if (rc == -ENOENT)
			break;
		if (rc < 0)
			return rc;
		struct stat st;
		if (fstat(w->segs[slot].fd, &st) != 0)
			return -errno;
		/* A crash during creation leaves a short file: preallocate again. */
		if ((uint64_t)st.st_size < w->cfg.segment_bytes &&
		    fallocate(w->segs[slot].fd, 0, 0, (off_t)w->cfg.segment_bytes) != 0) {
			wal_log(w, "preallocating %s: %s", wal_seg_path(w, slot, path, sizeof(path)), strerror(errno));
			return -errno;
		}
		w->segs_n++;
		if ((rc = seg_register(w, slot)) < 0)
			return rc;
	}
	uint64_t newest, start;
	int rc = seg_classify(w, &newest, &start);
	if (rc == 0)
		rc = seg_check_lost_header(w, newest);
	w->replaying = true;
	if (rc == 0)
		rc = seg_recover(w, start, newest);
	w->replaying = false;
	if (rc < 0)
		return rc;
	w->next_seq = newest + 1;
	w->durable_log_start = newest != 0 ? start : 1;
	while (w->segs_n < w->cfg.segments_initial) {
		rc = seg_create(w);
		if (rc < 0)
			return rc;
	}
	return 0;
}

void wal_segments_close(struct aeg_wal *w)
{
	for (uint32_t i = 0; w->segs != NULL && i < w->cfg.segments_max; i++) {
		struct wal_segment *s = &w->segs[i];
		if (s->dfd >= 0 && s->dfd != s->fd)
			close(s->dfd);
		if (s->fd >= 0)
			close(s->fd);
		s->fd = s->dfd = -1;
	}
}
