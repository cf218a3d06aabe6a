/* Spawning and supervising benchmark children (child.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"

extern char **environ;

#define LIVE_MAX 8
static volatile pid_t live[LIVE_MAX];

static void live_add(pid_t pid)
{
	for (int i = 0; i < LIVE_MAX; i++)
		if (live[i] == 0) {
			live[i] = pid;
			return;
		}
}

static void live_del(pid_t pid)
{
	for (int i = 0; i < LIVE_MAX; i++)
		if (live[i] == pid)
			live[i] = 0;
}

long child_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

void child_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A pipe whose ends sit at fd >= 10, close-on-exec, so that the dup2 to
 * 0/3/4 in the child never collides with them. */
static int pipe_high(int fds[2])
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		fds[i] = fcntl(p[i], F_DUPFD_CLOEXEC, 10);
		close(p[i]);
	}
	if (fds[0] < 0 || fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -EMFILE;
	}
	return 0;
}

int child_spawn(struct child *c, const char *name, char *const argv[], const char *log_path,
		bool reply_pipe)
{
	memset(c, 0, sizeof(*c));
	c->cmd_fd = c->reply_fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->log_path, sizeof(c->log_path), "%s", log_path);
	int cmd[2], rep[2] = { -1, -1 };
	int r = pipe_high(cmd);
	if (r == 0 && reply_pipe && (r = pipe_high(rep)) != 0) {
		close(cmd[0]);
		close(cmd[1]);
	}
	if (r != 0)
		return r;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (reply_pipe) {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, cmd[0], 3);
		posix_spawn_file_actions_adddup2(&fa, rep[1], 4);
	} else {
		posix_spawn_file_actions_adddup2(&fa, cmd[0], 0);
	}
	posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = -posix_spawn(&c->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(cmd[0]);
	if (rep[1] >= 0)
		close(rep[1]);
	if (r != 0) {
		close(cmd[1]);
		if (rep[0] >= 0)
			close(rep[0]);
		c->pid = 0;
		return r;
	}
	live_add(c->pid);
	c->cmd_fd = cmd[1];
	c->reply_fd = rep[0];
	return 0;
}

int child_send(struct child *c, const char *line)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);
	if (c->cmd_fd < 0 || n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	for (int off = 0; off < n;) {
		ssize_t w = write(c->cmd_fd, buf + off, (size_t)(n - off));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		off += (int)w;
	}
	return 0;
}

int child_read_line(struct child *c, char *out, size_t cap, int timeout_ms)
{
	long deadline = child_now_ms() + timeout_ms;
	for (;;) {
		char *nl = memchr(c->rbuf, '\n', c->rlen);
		if (nl != NULL) {
			size_t len = (size_t)(nl - c->rbuf);
			snprintf(out, cap, "%.*s", (int)len, c->rbuf);
			c->rlen -= len + 1;
			memmove(c->rbuf, nl + 1, c->rlen);
			return 0;
		}
		if (c->reply_fd < 0 || c->rlen == sizeof(c->rbuf))
			return -EPIPE;
		long left = deadline - child_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = c->reply_fd, .events = POLLIN };
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		ssize_t got = read(c->reply_fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen);
		if (got == 0)
			return -EPIPE;
		if (got > 0)
			c->rlen += (size_t)got;
	}
}

static void close_fds(struct child *c)
{
	if (c->cmd_fd >= 0)
		close(c->cmd_fd);
	if (c->reply_fd >= 0)
		close(c->reply_fd);
	c->cmd_fd = c->reply_fd = -1;
}

static int status_code(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int child_wait(struct child *c, int timeout_ms)
{
	if (c->pid == 0)
		return -ECHILD;
	close_fds(c);
	long deadline = child_now_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(c->pid, &st, WNOHANG);
		if (r == c->pid) {
			live_del(c->pid);
			c->pid = 0;
			return status_code(st);
		}
		if (child_now_ms() >= deadline) {
			fprintf(stderr, "aegis-bench-dataplane: %s (pid %d) did not exit in %d ms: killed\n",
				c->name, (int)c->pid, timeout_ms);
			child_kill(c);
			return -ETIMEDOUT;
		}
		child_sleep_ms(20);
	}
}

void child_kill(struct child *c)
{
	close_fds(c);
	if (c->pid == 0)
		return;
	kill(c->pid, SIGKILL);
	int st;
	while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
		;
	live_del(c->pid);
	c->pid = 0;
}

void child_kill_all(void)
{
	for (int i = 0; i < LIVE_MAX; i++) {
		pid_t pid = live[i];
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			live[i] = 0;
		}
	}
}

static void (*cleanup_after)(void);

static void at_exit(void)
{
	child_kill_all();
	if (cleanup_after != NULL)
		cleanup_after();
}

static void on_signal(int sig)
{
	at_exit();
	signal(sig, SIG_DFL);
	raise(sig);
}

void child_install_cleanup(void (*after)(void))
{
	cleanup_after = after;
	atexit(at_exit);
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a dead child shows as EPIPE on write */
}

void child_log_tail(const struct child *c, int lines)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, c->log_path);
	fprintf(stderr, "---- last lines of %s (%s):\n", c->name, c->log_path);
	fflush(stderr);
	if (system(cmd) != 0)
		fprintf(stderr, "(no log)\n");
}

long child_log_size(const struct child *c)
{
	struct stat st;
	return stat(c->log_path, &st) == 0 ? (long)st.st_size : 0;
}

bool child_log_has(const struct child *c, const char *pattern, long from, long *at)
{
	FILE *f = fopen(c->log_path, "r");
	if (f == NULL)
		return false;
	static char buf[1 << 16];
	bool found = false;
	if (fseek(f, from, SEEK_SET) == 0) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		char *m = memmem(buf, n, pattern, strlen(pattern));
		if (m != NULL) {
			found = true;
			if (at != NULL)
				*at = from + (long)(m - buf) + (long)strlen(pattern);
		}
	}
	fclose(f);
	return found;
}
