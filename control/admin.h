/* The admin socket of aegisd: JSON lines over a unix stream socket, polled
 * from the main thread without ever blocking it.
 *
 *   aeg_admin_open(&a, path, handler, ctx)  binds path (mode 0600); a stale
 *                                           socket file is replaced, a live
 *                                           one (someone accepts) is not
 *   aeg_admin_poll(a)                       accepts, reads, answers, writes
 *                                           what the sockets take; call it
 *                                           every few ms from the main loop
 *   aeg_admin_close(a)                      closes clients, removes the file
 *
 * A request is one line (at most AEG_ADMIN_LINE_MAX bytes before its '\n';
 * a longer one is refused with an error reply and the connection closed).
 * For each line the handler fills a reply (json_out.h writer, bounded); the
 * server sends it with a '\n'. A client gets its replies in order, one
 * request at a time; partial writes continue at the next poll; clients that
 * hang up are dropped. Requests: {"cmd":"status", ...}; aeg_admin_request()
 * pulls "cmd" and simple arguments out of a line. */
#ifndef AEGIS_CONTROL_ADMIN_H
#define AEGIS_CONTROL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json_in.h"
#include "json_out.h"

#define AEG_ADMIN_LINE_MAX 65536
#define AEG_ADMIN_CLIENTS_MAX 16
#define AEG_ADMIN_REPLY_BYTES_MAX (16u << 20)
#define AEG_ADMIN_REQUEST_TOKENS_MAX 64

struct aeg_admin;

struct aeg_admin_reply {
	struct aeg_json_out json; /* empty on entry; the handler writes one value */
};

/* request_line: the line without its '\n' (NUL-terminated). Returns 0, or a
 * negative errno: the reply is then replaced by {"ok":false,"error":...}. */
typedef int (*aeg_admin_handler)(void *ctx, const char *request_line,
				 struct aeg_admin_reply *out);

/* 0, or a negative errno: -EADDRINUSE (a server answers on path), -EEXIST
 * (path exists and is not a socket), -ENAMETOOLONG (longer than a
 * sun_path), -ENOMEM, or what socket/bind/chmod/listen said. */
int aeg_admin_open(struct aeg_admin **out, const char *path, aeg_admin_handler handler,
		   void *ctx);
/* Requests answered in this call (>= 0). Errors on one client close it. */
int aeg_admin_poll(struct aeg_admin *a);
/* The listening socket, for a caller that waits with poll(2). */
int aeg_admin_fd(const struct aeg_admin *a);
/* Closes clients and the socket, removes the file if it is still ours.
 * NULL is fine. */
void aeg_admin_close(struct aeg_admin *a);

/* Text appended to the reply as it is (no escaping, no commas): for a
 * handler that prints its JSON itself. */
void aeg_admin_reply_printf(struct aeg_admin_reply *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* {"ok":false,"error":"..."} into out, replacing what it holds. */
void aeg_admin_reply_error(struct aeg_admin_reply *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A parsed request line: an object with a string "cmd". */
struct aeg_admin_request {
	struct aeg_json_doc doc;
	struct aeg_json_tok toks[AEG_ADMIN_REQUEST_TOKENS_MAX];
	char cmd[64];
};

/* 0, or -EINVAL with a reason in *why (not JSON, not an object, no "cmd"
 * string, too many tokens). The request points into line: keep it alive. */
int aeg_admin_request(struct aeg_admin_request *r, const char *line, const char **why);
/* Argument key as a string (its length, -1 absent or not a string,
 * -ENAMETOOLONG) or an unsigned integer (false when absent or not one). */
long aeg_admin_request_str(const struct aeg_admin_request *r, const char *key, char *out,
			   size_t cap);
bool aeg_admin_request_u64(const struct aeg_admin_request *r, const char *key, uint64_t *out);
/* Just the "cmd" of a line into cmd (cap bytes): 0 or -EINVAL. */
int aeg_admin_request_cmd(const char *line, char *cmd, size_t cap);

#endif
