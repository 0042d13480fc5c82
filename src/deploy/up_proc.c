/*
 * deploy/up's children (up-plan.h): fork/exec of the same binary with its
 * log as stdout and stderr, in its own process group (a terminal's Ctrl-C
 * reaches only the supervisor, which stops them in order) and with
 * PR_SET_PDEATHSIG so that a supervisor killed outright does not leave
 * them behind; health waits; the supervision loop (waitpid, restart with
 * backoff); stopping by PID (SIGTERM, then SIGKILL after a timeout).
 * SIGINT, SIGTERM and SIGCHLD stay blocked in the supervisor and are taken
 * with sigtimedwait, so no handler runs. Main thread of the CLI process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "deploy/up-plan.h"

int64_t deploy__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void deploy__state_path(const struct deploy_up *u, const char *rel, char *out)
{
	snprintf(out, DEPLOY_UP_PATH_MAX, "%s/%s", u->state, rel);
}

void deploy__print_tail(FILE *f, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char b[2048];
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(b) - 1 ? end - (off_t)sizeof(b) + 1 : 0;
	ssize_t n = pread(fd, b, sizeof(b) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	b[n] = '\0';
	fprintf(f, "--- end of %s ---\n%s%s", path, b, b[n - 1] == '\n' ? "" : "\n");
}

int deploy__proc_add(struct deploy_up *u, enum deploy_up_kind kind, const char *name, uint16_t port,
                     const char *const *argv)
{
	if (u->nproc == DEPLOY_UP_PROCS_MAX)
		return ERR_TOO_BIG;
	struct deploy_up_proc *p = &u->proc[u->nproc];
	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->kind = kind;
	p->port = port;
	p->backoff_ms = DEPLOY_UP_BACKOFF_MIN_MS;
	p->argv[p->argc++] = strdup(u->self);
	for (size_t i = 0; argv[i]; i++) {
		if (p->argc == DEPLOY_UP_ARGS_MAX)
			return ERR_TOO_BIG;
		p->argv[p->argc++] = strdup(argv[i]);
	}
	for (int i = 0; i < p->argc; i++)
		if (!p->argv[i])
			return ERR_NOMEM;
	u->nproc++;
	return 0;
}

void deploy__proc_free(struct deploy_up *u)
{
	for (unsigned i = 0; i < u->nproc; i++)
		for (int j = 0; j < u->proc[i].argc; j++)
			free(u->proc[i].argv[j]);
	u->nproc = 0;
}

static void log_path(const struct deploy_up *u, const struct deploy_up_proc *p, char *out)
{
	snprintf(out, DEPLOY_UP_PATH_MAX, "%s/logs/%s.log", u->state, p->name);
}

static int spawn(struct deploy_up *u, struct deploy_up_proc *p)
{
	char log[DEPLOY_UP_PATH_MAX];
	log_path(u, p, log);
	int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(u->err, "up: cannot open %s: %s\n", log, strerror(errno));
		return ERR_IO;
	}
	fflush(NULL);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		close(fd);
		fprintf(u->err, "up: fork: %s\n", strerror(errno));
		return ERR_IO;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1); /* the supervisor died before the line above */
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close_range(3, ~0u, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(p->argv[0], p->argv);
		_exit(127);
	}
	close(fd);
	p->pid = pid;
	p->started_ms = deploy__now_ms();
	p->restart_at_ms = 0;
	return 0;
}

void deploy__write_procs(struct deploy_up *u)
{
	char path[DEPLOY_UP_PATH_MAX], tmp[DEPLOY_UP_PATH_MAX + 8];
	deploy__state_path(u, "processes", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	for (unsigned i = 0; i < u->nproc; i++) {
		char log[DEPLOY_UP_PATH_MAX];
		log_path(u, &u->proc[i], log);
		fprintf(f, "%s %d %u %s\n", u->proc[i].name, (int)u->proc[i].pid, u->proc[i].port,
		        log);
	}
	if (fclose(f) == 0)
		rename(tmp, path);
}

/* Take a pending SIGINT/SIGTERM (waiting up to ms); true when one came. */
static bool take_signal(struct deploy_up *u, long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	siginfo_t si;
	int s = sigtimedwait(&u->sigs, &si, &ts);
	if (s == SIGINT || s == SIGTERM)
		u->stopping = true;
	return u->stopping;
}

/* The entry whose pid is `pid`, or NULL. */
static struct deploy_up_proc *by_pid(struct deploy_up *u, pid_t pid)
{
	for (unsigned i = 0; i < u->nproc; i++)
		if (u->proc[i].pid == pid)
			return &u->proc[i];
	return NULL;
}

static void describe_exit(char *out, size_t cap, int status)
{
	if (WIFEXITED(status))
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, cap, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, cap, "stopped");
}

static bool healthy(struct deploy_up_proc *p)
{
	if (p->kind == DEPLOY_UP_WAN || p->kind == DEPLOY_UP_EDGE)
		return deploy__tcp_accepts(p->port);
	int status = 0;
	return deploy__http(p->port, "GET", "/-/health", "127.0.0.1", NULL, NULL, 0, 1000, &status,
	                    NULL) == 0 &&
	       status == 200;
}

static int wait_healthy(struct deploy_up *u, struct deploy_up_proc *p)
{
	int64_t end = deploy__now_ms() + DEPLOY_UP_HEALTH_TIMEOUT_MS;
	char log[DEPLOY_UP_PATH_MAX];
	log_path(u, p, log);
	for (;;) {
		int status;
		pid_t w = waitpid(p->pid, &status, WNOHANG);
		if (w == p->pid) {
			char why[64];
			describe_exit(why, sizeof(why), status);
			p->pid = 0;
			fprintf(u->err, "up: %s %s before it was healthy\n", p->name, why);
			deploy__print_tail(u->err, log);
			return ERR_UP_CHILD;
		}
		if (healthy(p))
			return 0;
		if (deploy__now_ms() > end) {
			fprintf(u->err, "up: %s not healthy after %d ms (port %u)\n", p->name,
			        DEPLOY_UP_HEALTH_TIMEOUT_MS, p->port);
			deploy__print_tail(u->err, log);
			return ERR_UP_TIMEOUT;
		}
		if (take_signal(u, 50))
			return ERR_UP_NOT_RUNNING;
	}
}

int deploy__start_kind(struct deploy_up *u, enum deploy_up_kind kind)
{
	for (unsigned i = 0; i < u->nproc; i++) {
		if (u->proc[i].kind != kind)
			continue;
		int rc = spawn(u, &u->proc[i]);
		if (rc)
			return rc;
	}
	deploy__write_procs(u);
	for (unsigned i = 0; i < u->nproc; i++) {
		if (u->proc[i].kind != kind)
			continue;
		int rc = wait_healthy(u, &u->proc[i]);
		if (rc)
			return rc;
		fprintf(u->out, "  %-28s pid %-7d 127.0.0.1:%u  ok\n", u->proc[i].name,
		        (int)u->proc[i].pid, u->proc[i].port);
		fflush(u->out);
	}
	return 0;
}

static void reap(struct deploy_up *u)
{
	int status;
	pid_t w;
	while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
		struct deploy_up_proc *p = by_pid(u, w);
		if (!p)
			continue;
		p->pid = 0;
		if (u->stopping)
			continue;
		int64_t now = deploy__now_ms();
		if (now - p->started_ms > DEPLOY_UP_STABLE_MS)
			p->backoff_ms = DEPLOY_UP_BACKOFF_MIN_MS;
		char why[64];
		describe_exit(why, sizeof(why), status);
		fprintf(u->out, "up: %s %s; restarting in %u ms\n", p->name, why, p->backoff_ms);
		fflush(u->out);
		p->restart_at_ms = now + p->backoff_ms;
		p->backoff_ms = p->backoff_ms * 2 > DEPLOY_UP_BACKOFF_MAX_MS
		                    ? DEPLOY_UP_BACKOFF_MAX_MS
		                    : p->backoff_ms * 2;
	}
}

void deploy__supervise(struct deploy_up *u)
{
	while (!u->stopping) {
		take_signal(u, 100);
		reap(u);
		int64_t now = deploy__now_ms();
		bool changed = false;
		for (unsigned i = 0; !u->stopping && i < u->nproc; i++) {
			struct deploy_up_proc *p = &u->proc[i];
			if (p->pid || !p->restart_at_ms || now < p->restart_at_ms)
				continue;
			if (spawn(u, p) == 0) {
				p->restarts++;
				changed = true;
				fprintf(u->out, "up: %s restarted (pid %d, restart %u)\n", p->name,
				        (int)p->pid, p->restarts);
				fflush(u->out);
			} else {
				p->restart_at_ms = now + p->backoff_ms;
			}
		}
		if (changed)
			deploy__write_procs(u);
	}
	deploy__stop_all(u);
}

void deploy__stop_all(struct deploy_up *u)
{
	u->stopping = true;
	/* Front to back: edges, routers, relays, stores. */
	for (unsigned i = u->nproc; i-- > 0;)
		if (u->proc[i].pid > 0)
			kill(u->proc[i].pid, SIGTERM);
	int64_t end = deploy__now_ms() + DEPLOY_UP_STOP_TIMEOUT_MS;
	for (;;) {
		unsigned left = 0;
		for (unsigned i = 0; i < u->nproc; i++) {
			struct deploy_up_proc *p = &u->proc[i];
			int status;
			if (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == p->pid)
				p->pid = 0;
			left += p->pid > 0;
		}
		if (!left)
			break;
		if (deploy__now_ms() > end) {
			for (unsigned i = 0; i < u->nproc; i++) {
				struct deploy_up_proc *p = &u->proc[i];
				if (p->pid <= 0)
					continue;
				fprintf(u->err, "up: %s did not stop on SIGTERM; SIGKILL\n",
				        p->name);
				kill(p->pid, SIGKILL);
				waitpid(p->pid, NULL, 0);
				p->pid = 0;
			}
			break;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
	}
	deploy__write_procs(u);
}
