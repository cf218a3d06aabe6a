/* control/admin: the admin socket with real unix sockets in a temp dir:
 * replies in order, split and joined requests, blank lines, a line too
 * long, hang-ups, a large reply sent in pieces to a slow reader, too many
 * clients, stale and live socket files, and the request parser. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "admin.h"

static char dir[64], path[96];
static size_t big_reply_bytes; /* "big" requests: a string of this many bytes */

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/aegis-admin-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/a.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Echoes the command and the line's length; "big" sends a long string. */
static int handler(void *ctx, const char *line, struct aeg_admin_reply *out)
{
	int *calls = ctx;
	(*calls)++;
	struct aeg_admin_request req;
	const char *why;
	if (aeg_admin_request(&req, line, &why) != 0) {
		aeg_admin_reply_error(out, "bad request: %s", why);
		return 0;
	}
	struct aeg_json_out *j = &out->json;
	if (strcmp(req.cmd, "silent") == 0)
		return 0;
	if (strcmp(req.cmd, "fail") == 0) {
		aeg_json_raw(j, "{\"half", 6); /* replaced by the error */
		return -EIO;
	}
	if (strcmp(req.cmd, "printf") == 0) {
		/* Longer than printf's first try (256 bytes). */
		aeg_admin_reply_printf(out, "{\"ok\":true,\"n\":%d,", 42);
		aeg_admin_reply_printf(out, "\"pad\":\"%0300d\"}", 7);
		return 0;
	}
	aeg_json_obj_begin(j);
	aeg_json_kv_bool(j, "ok", true);
	aeg_json_kv_str(j, "cmd", req.cmd);
	aeg_json_kv_u64(j, "len", strlen(line));
	if (strcmp(req.cmd, "big") == 0) {
		char *s = malloc(big_reply_bytes + 1);
		assert_non_null(s);
		memset(s, 'b', big_reply_bytes);
		s[big_reply_bytes] = '\0';
		aeg_json_kv_str(j, "big", s);
		free(s);
	}
	aeg_json_obj_end(j);
	return 0;
}

static int client(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/* Polls the server until the client has a whole line (or EOF: returns
 * NULL). Bytes after the line are kept for the next call on that fd. The
 * caller frees the line. */
static struct {
	int fd;
	char *buf;
	size_t len, cap;
} rx = { .fd = -1 };

static char *reply(struct aeg_admin *a, int fd)
{
	if (rx.fd != fd)
		rx.len = 0;
	rx.fd = fd;
	for (int i = 0; i < 20000; i++) {
		char *nl = rx.buf != NULL ? memchr(rx.buf, '\n', rx.len) : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - rx.buf);
			char *line = malloc(n + 1);
			assert_non_null(line);
			memcpy(line, rx.buf, n);
			line[n] = '\0';
			rx.len -= n + 1;
			memmove(rx.buf, nl + 1, rx.len);
			return line;
		}
		aeg_admin_poll(a);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1) <= 0)
			continue;
		if (rx.cap - rx.len < 4096) {
			rx.cap = rx.cap == 0 ? 1 << 16 : rx.cap * 2;
			rx.buf = realloc(rx.buf, rx.cap);
			assert_non_null(rx.buf);
		}
		ssize_t n = recv(fd, rx.buf + rx.len, rx.cap - rx.len, 0);
		/* A server that closes with our unsent bytes unread resets. */
		assert_true(n >= 0 || errno == ECONNRESET);
		if (n <= 0) {
			assert_int_equal(rx.len, 0); /* no partial reply before EOF */
			return NULL;
		}
		rx.len += (size_t)n;
	}
	fail_msg("no reply");
	return NULL;
}

static void expect(struct aeg_admin *a, int fd, const char *want)
{
	char *r = reply(a, fd);
	assert_non_null(r);
	assert_string_equal(r, want);
	free(r);
}

static void test_requests(void **state)
{
	(void)state;
	int calls = 0;
	struct aeg_admin *a;
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(aeg_admin_poll(a), 0);
	int fd = client();
	send_all(fd, "{\"cmd\":\"status\"}\n", 17);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"status\",\"len\":16}");
	/* Two in one write, then one in three pieces; a blank line and CRLF. */
	send_all(fd, "{\"cmd\":\"a\"}\n\n  \n{\"cmd\":\"b\"}\r\n", 29);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"a\",\"len\":11}");
	expect(a, fd, "{\"ok\":true,\"cmd\":\"b\",\"len\":11}");
	send_all(fd, "{\"cmd\"", 6);
	assert_int_equal(aeg_admin_poll(a), 0);
	send_all(fd, ":\"c\"", 4);
	assert_int_equal(aeg_admin_poll(a), 0);
	send_all(fd, "}\n", 2);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"c\",\"len\":11}");
	assert_int_equal(calls, 4);
	/* Refused requests and a handler that writes nothing. */
	send_all(fd, "status\n", 7);
	expect(a, fd, "{\"ok\":false,\"error\":\"bad request: unexpected character\"}");
	send_all(fd, "[1]\n", 4);
	expect(a, fd, "{\"ok\":false,\"error\":\"bad request: a request is a JSON object\"}");
	send_all(fd, "{\"cmd\":1}\n", 10);
	expect(a, fd, "{\"ok\":false,\"error\":\"bad request: a request needs \\\"cmd\\\": a short "
		      "non-empty string\"}");
	send_all(fd, "{\"cmd\":\"silent\"}\n", 17);
	expect(a, fd, "{\"ok\":false,\"error\":\"no reply\"}");
	send_all(fd, "{\"cmd\":\"fail\"}\n", 15);
	expect(a, fd, "{\"ok\":false,\"error\":\"internal error: Input/output error\"}");
	send_all(fd, "{\"cmd\":\"printf\"}\n", 17);
	char *r = reply(a, fd);
	assert_non_null(r);
	assert_int_equal(strlen(r), 27 + 300);
	assert_memory_equal(r, "{\"ok\":true,\"n\":42,\"pad\":\"000", 28);
	assert_memory_equal(r + strlen(r) - 4, "07\"}", 4);
	free(r);
	/* A second client at the same time. */
	int fd2 = client();
	send_all(fd2, "{\"cmd\":\"two\"}\n", 14);
	expect(a, fd2, "{\"ok\":true,\"cmd\":\"two\",\"len\":13}");
	close(fd2);
	/* A client that hangs up before its reply is sent costs nothing. */
	send_all(fd, "{\"cmd\":\"gone\"}\n", 15);
	close(fd);
	for (int i = 0; i < 10; i++)
		aeg_admin_poll(a);
	fd = client();
	send_all(fd, "{\"cmd\":\"back\"}\n", 15);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"back\",\"len\":14}");
	close(fd);
	aeg_admin_close(a);
	assert_int_equal(stat(path, &st), -1); /* the file is gone */
}

static void test_line_limit(void **state)
{
	(void)state;
	int calls = 0;
	struct aeg_admin *a;
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), 0);
	/* Exactly AEG_ADMIN_LINE_MAX bytes: served. */
	size_t n = AEG_ADMIN_LINE_MAX;
	char *line = malloc(n + 2);
	assert_non_null(line);
	memset(line, ' ', n);
	memcpy(line, "{\"cmd\":\"max\"}", 13);
	line[n] = '\n';
	int fd = client();
	send_all(fd, line, n + 1);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"max\",\"len\":65536}");
	/* One byte more: an error, then the connection is closed. */
	line[n] = ' ';
	line[n + 1] = '\n';
	send_all(fd, line, n + 2);
	expect(a, fd, "{\"ok\":false,\"error\":\"request line longer than 65536 bytes\"}");
	assert_null(reply(a, fd));
	close(fd);
	free(line);
	assert_int_equal(calls, 1);
	aeg_admin_close(a);
}

static void test_big_reply(void **state)
{
	(void)state;
	int calls = 0;
	struct aeg_admin *a;
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), 0);
	int fd = client();
	/* 4 MiB: far more than the socket buffers; the reader is slow. */
	big_reply_bytes = 4u << 20;
	send_all(fd, "{\"cmd\":\"big\"}\n", 14);
	for (int i = 0; i < 50; i++)
		aeg_admin_poll(a); /* never blocks although nobody reads */
	char *r = reply(a, fd);
	assert_non_null(r);
	assert_int_equal(strlen(r), big_reply_bytes + 41);
	assert_memory_equal(r + strlen(r) - 6, "bbbb\"}", 6);
	free(r);
	/* Past the reply cap: an error instead of a cut reply. */
	big_reply_bytes = AEG_ADMIN_REPLY_BYTES_MAX;
	send_all(fd, "{\"cmd\":\"big\"}\n", 14);
	expect(a, fd, "{\"ok\":false,\"error\":\"reply larger than 16777216 bytes\"}");
	close(fd);
	aeg_admin_close(a);
}

static void test_too_many_clients(void **state)
{
	(void)state;
	int calls = 0;
	struct aeg_admin *a;
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), 0);
	int fds[AEG_ADMIN_CLIENTS_MAX];
	for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX; i++) {
		fds[i] = client();
		aeg_admin_poll(a);
	}
	int extra = client();
	expect(a, extra, "{\"ok\":false,\"error\":\"too many admin clients\"}");
	assert_null(reply(a, extra));
	close(extra);
	send_all(fds[7], "{\"cmd\":\"x\"}\n", 12);
	expect(a, fds[7], "{\"ok\":true,\"cmd\":\"x\",\"len\":11}");
	for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX; i++)
		close(fds[i]);
	aeg_admin_close(a);
}

static void test_socket_file(void **state)
{
	(void)state;
	int calls = 0;
	struct aeg_admin *a, *b;
	/* A stale socket (its server died without removing it) is replaced. */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), 0);
	/* A live one is not. */
	assert_int_equal(aeg_admin_open(&b, path, handler, &calls), -EADDRINUSE);
	int fd = client();
	send_all(fd, "{\"cmd\":\"x\"}\n", 12);
	expect(a, fd, "{\"ok\":true,\"cmd\":\"x\",\"len\":11}");
	close(fd);
	/* A successor's socket at the path is left alone at close. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(aeg_admin_open(&b, path, handler, &calls), 0);
	aeg_admin_close(a);
	fd = client();
	send_all(fd, "{\"cmd\":\"y\"}\n", 12);
	expect(b, fd, "{\"ok\":true,\"cmd\":\"y\",\"len\":11}");
	close(fd);
	aeg_admin_close(b);
	/* Not a socket: refused. A path too long for sun_path: refused. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(aeg_admin_open(&a, path, handler, &calls), -EEXIST);
	assert_int_equal(unlink(path), 0);
	char longp[200];
	memset(longp, 'x', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(aeg_admin_open(&a, longp, handler, &calls),
			 -ENAMETOOLONG);
	snprintf(longp, sizeof(longp), "%s/no/such/dir.sock", dir);
	assert_int_equal(aeg_admin_open(&a, longp, handler, &calls), -ENOENT);
}

static void test_request_parser(void **state)
{
	(void)state;
	struct aeg_admin_request r;
	const char *why;
	assert_int_equal(aeg_admin_request(&r, "{\"cmd\":\"shard\",\"id\":12,\"name\":\"a\\\"b\"}",
					   &why), 0);
	assert_string_equal(r.cmd, "shard");
	uint64_t id;
	assert_true(aeg_admin_request_u64(&r, "id", &id));
	assert_int_equal(id, 12);
	assert_false(aeg_admin_request_u64(&r, "name", &id));
	assert_false(aeg_admin_request_u64(&r, "none", &id));
	char name[8];
	assert_int_equal(aeg_admin_request_str(&r, "name", name, sizeof(name)), 3);
	assert_string_equal(name, "a\"b");
	assert_int_equal(aeg_admin_request_str(&r, "id", name, sizeof(name)), -1);
	static const char *const bad[] = { "", "{}", "{\"cmd\":\"\"}", "{\"cmd\":null}",
					   "\"status\"", "{\"cmd\":\"x\"", "{\"cmd\":\"a-command-"
					   "name-that-is-longer-than-sixty-three-bytes-in-all-xxxx\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (aeg_admin_request(&r, bad[i], &why) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
		if (aeg_admin_request_cmd(bad[i], name, sizeof(name)) != -EINVAL)
			fail_msg("cmd of: %s", bad[i]);
	}
	char cmd[8];
	assert_int_equal(aeg_admin_request_cmd("{\"x\":1,\"cmd\":\"status\"}", cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "status");
	assert_int_equal(aeg_admin_request_cmd("{\"cmd\":\"statuses\"}", cmd, sizeof(cmd)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_big_reply),
		cmocka_unit_test(test_too_many_clients),
		cmocka_unit_test(test_socket_file),
		cmocka_unit_test(test_request_parser),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
