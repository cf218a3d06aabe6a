/* Child processes of the dataplane benchmark (testpmd, and this program
 * re-executed as an Aegis endpoint): spawn with a command pipe and a log
 * file, line-based replies, bounded waits, kill by PID. Every live child
 * is remembered so that child_kill_all (exit, SIGINT, SIGTERM) leaves no
 * DPDK process behind. */
#ifndef AEGIS_BENCH_CHILD_H
#define AEGIS_BENCH_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct child {
	pid_t pid;          /* 0 once reaped */
	int cmd_fd;         /* we write commands here */
	int reply_fd;       /* we read reply lines here; -1 if none */
	char name[32];
	char log_path[256]; /* the child's stdout and stderr */
	char rbuf[1024];
	size_t rlen;
};

/* Commands go to the child's stdin (reply_pipe false) or to its fd 3 with
 * replies from its fd 4 (reply_pipe true, stdin is /dev/null). Returns 0
 * or a negative errno. */
int child_spawn(struct child *c, const char *name, char *const argv[], const char *log_path,
		bool reply_pipe);
/* Writes one line (a newline is appended). */
int child_send(struct child *c, const char *line);
/* The next reply line without its newline; -ETIMEDOUT, or -EPIPE if the
 * child closed its end (exited). */
int child_read_line(struct child *c, char *out, size_t cap, int timeout_ms);
/* Closes our end of the command pipe and waits for the exit: the exit
 * status (0..255), 128 + signal, or -ETIMEDOUT after which the child was
 * killed with SIGKILL. */
int child_wait(struct child *c, int timeout_ms);
/* SIGKILL and reap (no-op if already reaped). */
void child_kill(struct child *c);
/* Kills every child still running; async-signal-safe. */
void child_kill_all(void);
/* Kills children and exits on SIGINT/SIGTERM/SIGHUP, and at exit();
 * then calls `after` (async-signal-safe work only; may be NULL). */
void child_install_cleanup(void (*after)(void));
/* Prints the last lines of the child's log to stderr. */
void child_log_tail(const struct child *c, int lines);
/* True once `pattern` occurs in the log at or after byte offset `from`;
 * *at (if not NULL) gets the offset just after the match. */
bool child_log_has(const struct child *c, const char *pattern, long from, long *at);
/* Current size of the log (offset for child_log_has). */
long child_log_size(const struct child *c);

/* Milliseconds of CLOCK_MONOTONIC, and a sleep. */
long child_now_ms(void);
void child_sleep_ms(long ms);

#endif
