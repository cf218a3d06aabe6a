/* The file side of config.h: reading the config file and the key files.
 * Start-up only (reads whole files, allocates a read buffer). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define CONFIG_FILE_BYTES_MAX (1u << 20)
#define KEY_FILE_BYTES_MAX 64

/* Reads at most max bytes of an open file into buf; -EFBIG if there is more. */
static ssize_t read_all(int fd, char *buf, size_t max)
{
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, max + 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
		if (got > max)
			return -EFBIG;
	}
}

int aeg_config_load(struct aeg_config *c, const char *path, char *err, size_t err_len)
{
	assert(c != NULL && path != NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path, strerror(e));
		return -e;
	}
	char *buf = malloc(CONFIG_FILE_BYTES_MAX + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(err, err_len, "%s: out of memory", path);
		return -ENOMEM;
	}
	ssize_t n = read_all(fd, buf, CONFIG_FILE_BYTES_MAX);
	close(fd); /* read-only: nothing to lose on close */
	int r;
	if (n == -EFBIG) {
		snprintf(err, err_len, "%s: larger than %u bytes", path, CONFIG_FILE_BYTES_MAX);
		r = -EFBIG;
	} else if (n < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror((int)-n));
		r = (int)n;
	} else {
		r = aeg_config_parse(c, buf, (size_t)n, path, err, err_len);
	}
	free(buf);
	return r;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int key_parse(const char *path, const char *text, size_t n, uint8_t out[16], char *err,
		     size_t err_len)
{
	if (n > 0 && text[n - 1] == '\n')
		n--;
	if (n != 2 * AEG_CONFIG_KEY_BYTES) {
		snprintf(err, err_len, "%s: expected %d hex digits and an optional newline, got %zu "
			 "bytes", path, 2 * AEG_CONFIG_KEY_BYTES, n);
		return -EINVAL;
	}
	for (size_t i = 0; i < AEG_CONFIG_KEY_BYTES; i++) {
		int hi = hex_value(text[2 * i]), lo = hex_value(text[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, err_len, "%s: not a hex digit at byte %zu", path,
				 hi < 0 ? 2 * i + 1 : 2 * i + 2);
			return -EINVAL;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int aeg_config_load_key(const char *path, uint8_t out[AEG_CONFIG_KEY_BYTES], char *err,
			size_t err_len)
{
	assert(path != NULL && out != NULL);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		snprintf(err, err_len, "%s: %s", path, e == ELOOP ? "a symbolic link (refused)" :
			 strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-r));
	} else if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, err_len, "%s: not a regular file", path);
	} else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		/* Like ssh with private keys: others must not read (or swap) it. */
		r = -EACCES;
		snprintf(err, err_len, "%s: permissions %04o are too open: the key must be readable "
			 "by its owner only (chmod 600)", path, (unsigned)(st.st_mode & 07777));
	}
	char text[KEY_FILE_BYTES_MAX + 1];
	ssize_t n = r == 0 ? read_all(fd, text, KEY_FILE_BYTES_MAX) : 0;
	close(fd);
	if (r != 0)
		return r;
	if (n == -EFBIG) {
		snprintf(err, err_len, "%s: expected %d hex digits, the file is longer", path,
			 2 * AEG_CONFIG_KEY_BYTES);
		return -EINVAL;
	}
	if (n < 0) {
		snprintf(err, err_len, "%s: %s", path, strerror((int)-n));
		return (int)n;
	}
	r = key_parse(path, text, (size_t)n, out, err, err_len);
	explicit_bzero(text, sizeof(text)); /* no key copy left on the stack */
	return r;
}
