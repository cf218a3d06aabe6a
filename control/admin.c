/* The admin socket server (admin.h). Every socket is non-blocking and each
 * poll does a bounded amount of work per client, so a slow or stuck client
 * can delay nobody: the main thread never waits on it. */
#define _GNU_SOURCE /* accept4 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"

#define IN_BYTES (AEG_ADMIN_LINE_MAX + 1) /* a longest line and its '\n' */
#define STEPS_PER_POLL 8                  /* reads/answers/writes per client per poll */

struct client {
	int fd;            /* -1: a free slot */
	char *in;          /* IN_BYTES */
	size_t in_len;
	char *out;         /* the reply being sent, NULL when none */
	size_t out_len, out_off;
	bool close_after;  /* close once out is sent */
};

struct aeg_admin {
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	aeg_admin_handler handler;
	void *ctx;
	struct client clients[AEG_ADMIN_CLIENTS_MAX];
	struct aeg_admin_reply reply;
};

/* An existing file at path: a socket nobody answers on is removed. */
static int clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST; /* not ours to replace */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return -EADDRINUSE; /* another aegisd on this data dir? */
	if (e != ECONNREFUSED)
		return -e;
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int aeg_admin_open(struct aeg_admin **out, const char *path, aeg_admin_handler handler,
		   void *ctx)
{
	assert(out != NULL && path != NULL && handler != NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int r = clear_stale(path, &sa);
	if (r != 0)
		return r;
	struct aeg_admin *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0) {
		r = -errno;
		free(a);
		return r;
	}
	/* Nobody can connect before listen(): the mode is 0600 by then. */
	struct stat st;
	if (bind(a->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(path, 0600) != 0 ||
	    stat(path, &st) != 0 || listen(a->fd, AEG_ADMIN_CLIENTS_MAX) != 0) {
		r = -errno;
		close(a->fd);
		free(a);
		return r;
	}
	memcpy(a->path, path, strlen(path) + 1);
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->handler = handler;
	a->ctx = ctx;
	for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX; i++)
		a->clients[i].fd = -1;
	aeg_json_init(&a->reply.json, AEG_ADMIN_REPLY_BYTES_MAX);
	*out = a;
	return 0;
}

int aeg_admin_fd(const struct aeg_admin *a)
{
	return a->fd;
}

static void client_close(struct client *c)
{
	assert(c->fd >= 0);
	close(c->fd); /* a socket: nothing buffered to lose */
	free(c->in);
	free(c->out);
	*c = (struct client){ .fd = -1 };
}

static void accept_new(struct aeg_admin *a)
{
	for (int n = 0; n < 2 * AEG_ADMIN_CLIENTS_MAX; n++) {
		int fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return; /* EAGAIN, or a transient error: retried next poll */
		struct client *c = NULL;
		for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX && c == NULL; i++)
			if (a->clients[i].fd < 0)
				c = &a->clients[i];
		char *in = c != NULL ? malloc(IN_BYTES) : NULL;
		if (in == NULL) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many admin clients\"}\n";
			ssize_t w = send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			(void)w; /* best effort: the client is turned away either way */
			close(fd);
			continue;
		}
		*c = (struct client){ .fd = fd, .in = in };
	}
}

/* Sends what the socket takes: true when the reply is out, false when the
 * socket is full (or failed: then the client is closed). */
static bool flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return false;
		if (n <= 0) {
			client_close(c); /* EPIPE, ECONNRESET: it hung up */
			return false;
		}
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	return true;
}

void aeg_admin_reply_printf(struct aeg_admin_reply *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	aeg_json_vrawf(&out->json, fmt, ap);
	va_end(ap);
}

void aeg_admin_reply_error(struct aeg_admin_reply *out, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aeg_json_reset(&out->json);
	aeg_json_obj_begin(&out->json);
	aeg_json_kv_bool(&out->json, "ok", false);
	aeg_json_kv_str(&out->json, "error", msg);
	aeg_json_obj_end(&out->json);
}

/* Queues the reply to line (NUL-terminated, in c->in). False: the client
 * was closed (out of memory). */
static bool answer(struct aeg_admin *a, struct client *c, const char *line, bool too_long)
{
	struct aeg_admin_reply *r = &a->reply;
	int rc;
	aeg_json_reset(&r->json);
	if (too_long)
		aeg_admin_reply_error(r, "request line longer than %u bytes", AEG_ADMIN_LINE_MAX);
	else if ((rc = a->handler(a->ctx, line, r)) < 0)
		aeg_admin_reply_error(r, "internal error: %s", strerror(-rc));
	if (r->json.overflow)
		aeg_admin_reply_error(r, "reply larger than %u bytes", AEG_ADMIN_REPLY_BYTES_MAX);
	else if (r->json.len == 0)
		aeg_admin_reply_error(r, "no reply");
	assert(!r->json.overflow && c->out == NULL);
	c->out = malloc(r->json.len + 1);
	if (c->out == NULL) {
		client_close(c);
		return false;
	}
	memcpy(c->out, r->json.buf, r->json.len);
	c->out[r->json.len] = '\n';
	c->out_len = r->json.len + 1;
	c->out_off = 0;
	return true;
}

/* Takes the first complete line out of c->in and answers it; 1 if a reply
 * was queued, 0 for a blank line, -1 if the client is gone. */
static int take_line(struct aeg_admin *a, struct client *c, char *nl)
{
	size_t line_len = (size_t)(nl - c->in);
	*nl = '\0';
	if (line_len > 0 && c->in[line_len - 1] == '\r')
		c->in[line_len - 1] = '\0';
	bool blank = strspn(c->in, " \t\r") == strlen(c->in);
	if (!blank && !answer(a, c, c->in, false))
		return -1;
	size_t rest = c->in_len - line_len - 1;
	memmove(c->in, nl + 1, rest);
	c->in_len = rest;
	return blank ? 0 : 1;
}

/* A bounded number of steps for one client: write, answer, read. */
static int client_step(struct aeg_admin *a, struct client *c)
{
	int handled = 0;
	for (int step = 0; step < STEPS_PER_POLL && c->fd >= 0; step++) {
		if (c->out != NULL && !flush(c))
			return handled; /* full or gone */
		if (c->close_after) {
			client_close(c);
			return handled;
		}
		char *nl = memchr(c->in, '\n', c->in_len);
		if (nl != NULL) {
			int r = take_line(a, c, nl);
			if (r < 0)
				return handled;
			handled += r;
			continue;
		}
		if (c->in_len == IN_BYTES) {
			/* No way to find the next request reliably: answer and close. */
			if (!answer(a, c, NULL, true))
				return handled;
			c->close_after = true;
			handled++;
			continue;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, IN_BYTES - c->in_len, MSG_DONTWAIT);
		if (n > 0) {
			c->in_len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return handled;
		client_close(c); /* 0: hung up (a partial line is dropped); or an error */
		return handled;
	}
	return handled;
}

int aeg_admin_poll(struct aeg_admin *a)
{
	assert(a != NULL && a->fd >= 0);
	accept_new(a);
	int handled = 0;
	for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0)
			handled += client_step(a, &a->clients[i]);
	return handled;
}

void aeg_admin_close(struct aeg_admin *a)
{
	if (a == NULL)
		return;
	for (int i = 0; i < AEG_ADMIN_CLIENTS_MAX; i++)
		if (a->clients[i].fd >= 0)
			client_close(&a->clients[i]);
	close(a->fd);
	/* Remove the file only if it is still ours (not a successor's). */
	struct stat st;
	if (stat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
		(void)unlink(a->path); /* gone already is fine too */
	aeg_json_free(&a->reply.json);
	free(a);
}

int aeg_admin_request(struct aeg_admin_request *r, const char *line, const char **why)
{
	assert(r != NULL && line != NULL && why != NULL);
	int rc = aeg_json_parse(&r->doc, line, strlen(line), r->toks, AEG_ADMIN_REQUEST_TOKENS_MAX,
				why);
	if (rc != 0)
		return -EINVAL;
	if (r->toks[0].type != AEG_JSON_OBJECT)
		return *why = "a request is a JSON object", -EINVAL;
	if (aeg_json_as_str(&r->doc, aeg_json_get(&r->doc, 0, "cmd"), r->cmd, sizeof(r->cmd)) <= 0)
		return *why = "a request needs \"cmd\": a short non-empty string", -EINVAL;
	return 0;
}

long aeg_admin_request_str(const struct aeg_admin_request *r, const char *key, char *out,
			   size_t cap)
{
	return aeg_json_as_str(&r->doc, aeg_json_get(&r->doc, 0, key), out, cap);
}

bool aeg_admin_request_u64(const struct aeg_admin_request *r, const char *key, uint64_t *out)
{
	return aeg_json_as_u64(&r->doc, aeg_json_get(&r->doc, 0, key), out);
}

int aeg_admin_request_cmd(const char *line, char *cmd, size_t cap)
{
	struct aeg_admin_request r;
	const char *why;
	if (aeg_admin_request(&r, line, &why) != 0 || strlen(r.cmd) >= cap)
		return -EINVAL;
	memcpy(cmd, r.cmd, strlen(r.cmd) + 1);
	return 0;
}
