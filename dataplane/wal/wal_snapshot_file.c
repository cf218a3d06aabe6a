/* Snapshot files of the WAL writer: snap-<group>.snap, replaced atomically
 * (write a temp file, fsync it, rename over, fsync the directory) and then
 * marked in the log so that replay knows the group's log starts after it. */
#define _GNU_SOURCE
#include "wal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	/* Bounded by len: every round writes at least one byte or fails. */
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void snap_path(char *buf, size_t cap, const char *dir, uint64_t group, const char *ext)
{
	snprintf(buf, cap, "%s/snap-%016llx.%s", dir, (unsigned long long)group, ext);
}

int aeg_wal_snapshot_write(const char *dir, int dir_fd, const struct aeg_wal_snap_meta *m, const void *data)
{
	char tmp[4096], path[4096];
	snap_path(tmp, sizeof(tmp), dir, m->group, "tmp");
	snap_path(path, sizeof(path), dir, m->group, "snap");
	uint8_t hdr[AEG_WAL_SNAP_HDR_BYTES_MAX];
	int rc = aeg_wal_snap_hdr_encode(hdr, sizeof(hdr), m, data);
	if (rc < 0)
		return rc;
	size_t hdr_len = (size_t)rc;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		fprintf(stderr, "aegis-wal: creating %s: %s\n", tmp, strerror(errno));
		return rc;
	}
	rc = write_all(fd, hdr, hdr_len);
	if (rc == 0)
		rc = write_all(fd, data, (size_t)m->len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc == 0 && fsync(dir_fd) != 0)
		rc = -errno;
	if (rc < 0) {
		fprintf(stderr, "aegis-wal: writing snapshot %s: %s\n", path, strerror(-rc));
		if (unlink(tmp) != 0 && errno != ENOENT)
			fprintf(stderr, "aegis-wal: removing %s: %s\n", tmp, strerror(errno));
	}
	return rc;
}

int aeg_wal_snapshot_mark(struct aeg_wal *w, const struct aeg_wal_snap_meta *m)
{
	if (w->stats.failed != 0)
		return w->stats.failed;
	struct aeg_wal_rec r = { .type = AEG_WAL_SNAPSHOT, .group = m->group, .term = m->term,
				 .index = m->index };
	uint64_t lsn;
	int n = wal_append_rec(w, &r, &lsn);
	return n < 0 ? n : 0;
}

int aeg_wal_snapshot_save(struct aeg_wal *w, const struct aeg_wal_snap_meta *m, const void *data)
{
	if (w->stats.failed != 0)
		return w->stats.failed;
	int rc = aeg_wal_snapshot_write(w->dir, w->dir_fd, m, data);
	return rc < 0 ? rc : aeg_wal_snapshot_mark(w, m);
}

const char *aeg_wal_dir(const struct aeg_wal *w)
{
	return w->dir;
}

int aeg_wal_dir_fd(const struct aeg_wal *w)
{
	return w->dir_fd;
}

int aeg_wal_snapshot_remove(struct aeg_wal *w, uint64_t group)
{
	char path[4096];
	snap_path(path, sizeof(path), w->dir, group, "snap");
	if (unlink(path) != 0)
		return -errno;
	if (fsync(w->dir_fd) != 0) {
		int err = -errno;
		wal_log(w, "fsync of the data dir after removing %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

int aeg_wal_snapshot_load(const char *dir, uint64_t group, struct aeg_wal_snap_meta *m, void *buf, size_t cap)
{
	char path[4096];
	snap_path(path, sizeof(path), dir, group, "snap");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = fstat(fd, &st) != 0 ? -errno : 0;
	uint8_t *img = NULL;
	if (rc == 0 && ((size_t)st.st_size < AEG_WAL_SNAP_HDR_BYTES ||
			(size_t)st.st_size - AEG_WAL_SNAP_HDR_BYTES > cap + AEG_WAL_SNAP_CONF_MAX))
		rc = (size_t)st.st_size < AEG_WAL_SNAP_HDR_BYTES ? -EINVAL : -EMSGSIZE;
	if (rc == 0 && (img = malloc((size_t)st.st_size)) == NULL)
		rc = -ENOMEM;
	if (rc == 0 && pread(fd, img, (size_t)st.st_size, 0) != st.st_size)
		rc = -EIO;
	if (rc == 0)
		rc = aeg_wal_snap_decode(m, img, (size_t)st.st_size);
	if (rc == 0 && m->group != group)
		rc = -EINVAL;
	if (rc == 0 && m->len > cap)
		rc = -EMSGSIZE;
	if (rc == 0) {
		memcpy(buf, img + aeg_wal_snap_hdr_size(m), (size_t)m->len);
		rc = (int)m->len;
	}
	free(img);
	close(fd);
	return rc;
}
