/*
 * `meridian down`, `status` and `region` (deploy/up.h): they act on a
 * running stack through its state directory: up.pid (the supervisor),
 * processes (each child's name, pid, port, log), controls (each router's
 * and edge's ports) and credentials/admin (the key of the routers' control
 * API). Main thread of the CLI process only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "deploy/up-int.h"
#include "deploy/up.h"

#define DOWN_TIMEOUT_MS 30000
#define CTL_TIMEOUT_MS  5000
#define ROUTES_PATH     "/v20180820/mrap/instances/%s/routes"

static const char *state_or_default(const char *state)
{
	return state ? state : DEPLOY_UP_STATE_DEFAULT;
}

/* The pid STATE/up.pid names, or 0. */
static pid_t read_pid(const char *state)
{
	char path[DEPLOY_UP_PATH_MAX];
	snprintf(path, sizeof(path), "%s/up.pid", state);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	long pid = 0;
	if (fscanf(f, "%ld", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid > 0 ? (pid_t)pid : 0;
}

static bool alive(pid_t pid)
{
	return pid > 0 && kill(pid, 0) == 0;
}

bool deploy__is_supervisor(int pid)
{
	char path[64], cmd[256];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	cmd[n] = '\0';
	size_t first = strlen(cmd); /* argv[0], then NUL, then argv[1] */
	return first + 3 <= n && strcmp(cmd + first + 1, "up") == 0;
}

pid_t deploy__supervisor_pid(const char *state)
{
	pid_t pid = read_pid(state);
	return alive(pid) && deploy__is_supervisor(pid) ? pid : 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The children listed in STATE/processes: pids[] (up to cap). */
static size_t child_pids(const char *state, pid_t *pids, size_t cap)
{
	char path[DEPLOY_UP_PATH_MAX];
	snprintf(path, sizeof(path), "%s/processes", state);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char name[256], log[DEPLOY_UP_PATH_MAX];
	int pid;
	unsigned port;
	size_t n = 0;
	while (n < cap && fscanf(f, "%255s %d %u %1023s", name, &pid, &port, log) == 4)
		if (pid > 0)
			pids[n++] = pid;
	fclose(f);
	return n;
}

int deploy_down(const char *state, FILE *out, FILE *err)
{
	state = state_or_default(state);
	pid_t pid = deploy__supervisor_pid(state);
	if (!pid) {
		fprintf(err, "down: no stack is running from %s\n", state);
		return ERR_UP_NOT_RUNNING;
	}
	pid_t kids[DEPLOY_UP_PROCS_MAX];
	size_t nk = child_pids(state, kids, DEPLOY_UP_PROCS_MAX);
	fprintf(out, "down: stopping the supervisor (pid %d) and its %zu processes\n", (int)pid,
	        nk);
	kill(pid, SIGTERM);
	int64_t waited = 0;
	while (alive(pid) && waited < DOWN_TIMEOUT_MS) {
		sleep_ms(50);
		waited += 50;
	}
	if (alive(pid)) {
		fprintf(err, "down: the supervisor (pid %d) did not stop within %d ms\n", (int)pid,
		        DOWN_TIMEOUT_MS);
		return ERR_UP_TIMEOUT;
	}
	/* The supervisor stops its children before it exits; check. */
	for (size_t i = 0; i < nk; i++) {
		while (alive(kids[i]) && waited < DOWN_TIMEOUT_MS) {
			sleep_ms(50);
			waited += 50;
		}
		if (alive(kids[i])) {
			fprintf(err, "down: pid %d is still running\n", (int)kids[i]);
			return ERR_UP_TIMEOUT;
		}
	}
	fprintf(out, "down: stopped\n");
	return 0;
}

static bool read_admin(const char *state, char *key, char *secret)
{
	char path[DEPLOY_UP_PATH_MAX];
	snprintf(path, sizeof(path), "%s/credentials/admin", state);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[3 * DEPLOY_UP_KEY_MAX];
	bool ok = false;
	if (fgets(line, sizeof(line), f)) {
		const char *p = line;
		size_t n[2];
		char *dst[2] = { key, secret };
		ok = true;
		for (int i = 0; i < 2 && ok; i++) {
			while (*p == ' ' || *p == '\t')
				p++;
			n[i] = strcspn(p, " \t\r\n");
			ok = n[i] > 0 && n[i] < DEPLOY_UP_KEY_MAX;
			if (ok) {
				memcpy(dst[i], p, n[i]);
				dst[i][n[i]] = '\0';
				p += n[i];
			}
		}
	}
	explicit_bzero(line, sizeof(line));
	fclose(f);
	return ok;
}

/* The text between <tag> and </tag> at or after *from; advances *from. */
static bool xml_text(const char *s, const char *end, const char *tag, const char **from, char *out,
                     size_t cap)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *a = memmem(*from, (size_t)(end - *from), open, strlen(open));
	if (!a)
		return false;
	a += strlen(open);
	const char *b = memmem(a, (size_t)(end - a), close, strlen(close));
	if (!b)
		return false;
	(void)s;
	snprintf(out, cap, "%.*s", (int)(b - a), a);
	*from = b;
	return true;
}

/* Each route of a GetMultiRegionAccessPointRoutes answer. */
static void print_routes(FILE *out, struct iov body)
{
	const char *p = body.base, *end = body.base + body.len;
	for (;;) {
		const char *r = memmem(p, (size_t)(end - p), "<Route>", 7);
		if (!r)
			break;
		const char *re = memmem(r, (size_t)(end - r), "</Route>", 8);
		if (!re)
			break;
		char region[64] = "?", dial[16] = "?", health[16] = "?", lat[32] = "?";
		const char *c = r;
		xml_text(r, re, "Region", &c, region, sizeof(region));
		c = r;
		xml_text(r, re, "TrafficDialPercentage", &c, dial, sizeof(dial));
		c = r;
		xml_text(r, re, "Health", &c, health, sizeof(health));
		c = r;
		xml_text(r, re, "LatencyMs", &c, lat, sizeof(lat));
		fprintf(out, "      %-14s dial %-4s %-8s latency %s ms\n", region, dial, health,
		        lat);
		p = re + 8;
	}
}

#define SELECTED_METRIC "\nmeridian_router_region_selected{region=\""

/* The region the router says a new request would go to now, from its
 * /metrics (meridian_router_region_selected, router/server.c): "chosen:
 * REGION", "chosen: none" when no region is usable, or why it is unknown. */
static void print_chosen(FILE *out, uint16_t admin)
{
	struct buf b;
	buf_init(&b, DEPLOY_UP_BODY_MAX);
	int status = 0;
	char chosen[128] = "";
	bool seen = false;
	if (deploy__http(admin, "GET", "/metrics", "127.0.0.1", NULL, NULL, 0, CTL_TIMEOUT_MS,
	                 &status, &b) == 0 &&
	    status == 200 && buf_add_char(&b, '\0') == 0) {
		for (const char *m = strstr(b.data, SELECTED_METRIC); m;
		     m = strstr(m + 1, SELECTED_METRIC)) {
			const char *name = m + strlen(SELECTED_METRIC);
			size_t n = strcspn(name, "\"\n");
			if (name[n] != '"' || strncmp(name + n, "\"} ", 3) != 0)
				continue;
			seen = true;
			if (name[n + 3] == '1' && n < sizeof(chosen))
				snprintf(chosen, sizeof(chosen), "%.*s", (int)n, name);
		}
	}
	buf_free(&b);
	if (chosen[0])
		fprintf(out, "      chosen: %s (the router's own choice for a new request)\n",
		        chosen);
	else if (seen)
		fprintf(out, "      chosen: none (no region is usable)\n");
	else
		fprintf(out,
		        "      chosen: unknown (no meridian_router_region_selected in /metrics: "
		        "%d)\n",
		        status);
}

static void print_hit_ratio(FILE *out, uint16_t admin)
{
	struct buf b;
	buf_init(&b, DEPLOY_UP_BODY_MAX);
	int status = 0;
	if (deploy__http(admin, "GET", "/metrics", "127.0.0.1", NULL, NULL, 0, CTL_TIMEOUT_MS,
	                 &status, &b) == 0 &&
	    status == 200 && buf_add_char(&b, '\0') == 0) {
		const char *m = strstr(b.data, "\nmeridian_edge_cache_hit_ratio ");
		if (m)
			fprintf(out, "    cache hit ratio %.3f\n",
			        strtod(m + strlen("\nmeridian_edge_cache_hit_ratio "), NULL));
	}
	buf_free(&b);
}

int deploy_status(const char *state, FILE *out, FILE *err)
{
	state = state_or_default(state);
	char path[DEPLOY_UP_PATH_MAX];
	snprintf(path, sizeof(path), "%s/processes", state);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "status: no stack in %s\n", state);
		return ERR_UP_NOT_RUNNING;
	}
	pid_t sup = deploy__supervisor_pid(state);
	fprintf(out, "supervisor: %s", alive(sup) ? "running" : "not running");
	if (alive(sup))
		fprintf(out, " (pid %d)", (int)sup);
	fprintf(out, "\n\n  %-28s %-8s %-6s %s\n", "process", "pid", "port", "state");
	char name[256], log[DEPLOY_UP_PATH_MAX];
	int pid;
	unsigned port;
	while (fscanf(f, "%255s %d %u %1023s", name, &pid, &port, log) == 4)
		fprintf(out, "  %-28s %-8d %-6u %s\n", name, pid, port,
		        alive(pid) ? "running" : "stopped");
	fclose(f);
	snprintf(path, sizeof(path), "%s/controls", state);
	f = fopen(path, "r");
	char key[DEPLOY_UP_KEY_MAX], secret[DEPLOY_UP_KEY_MAX];
	bool have_key = read_admin(state, key, secret);
	if (f) {
		fprintf(out, "\n");
		char line[512];
		while (fgets(line, sizeof(line), f)) {
			char kind[16], loc[128], ap[128] = "";
			unsigned p1, p2;
			int n = sscanf(line, "%15s %127s %u %u %127s", kind, loc, &p1, &p2, ap);
			if (n >= 4 && strcmp(kind, "edge") == 0) {
				fprintf(out, "  edge %s%s%s: http://127.0.0.1:%u\n", loc,
				        n == 5 ? ", distribution " : "", n == 5 ? ap : "", p1);
				if (alive(sup))
					print_hit_ratio(out, (uint16_t)p2);
			}
			if (n == 5 && strcmp(kind, "router") == 0) {
				fprintf(
				    out,
				    "  router %s, access point %s: http://127.0.0.1:%u, routes:\n",
				    loc, ap, p1);
				if (!have_key || !alive(sup))
					continue;
				char target[512];
				snprintf(target, sizeof(target), ROUTES_PATH, ap);
				struct deploy_up_sign sg = { key, secret, "us-east-1" };
				struct buf b;
				buf_init(&b, DEPLOY_UP_BODY_MAX);
				int status = 0;
				if (deploy__http((uint16_t)p2, "GET", target, "127.0.0.1", &sg,
				                 NULL, 0, CTL_TIMEOUT_MS, &status, &b) == 0 &&
				    status == 200)
					print_routes(out, buf_iov(&b));
				else
					fprintf(out, "      (control API did not answer: %d)\n",
					        status);
				buf_free(&b);
				print_chosen(out, (uint16_t)p2);
			}
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/endpoints.json", state);
	fprintf(out, "\nendpoints: %s\n", path);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

/* Whether `name` is an item of the comma-separated `list`. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && memcmp(p, name, n) == 0)
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

int deploy_region(const char *state, const char *region, bool active, FILE *out, FILE *err)
{
	state = state_or_default(state);
	char key[DEPLOY_UP_KEY_MAX], secret[DEPLOY_UP_KEY_MAX], path[DEPLOY_UP_PATH_MAX];
	if (!read_admin(state, key, secret)) {
		fprintf(err, "region: no stack in %s (no credentials/admin)\n", state);
		return ERR_UP_NOT_RUNNING;
	}
	snprintf(path, sizeof(path), "%s/controls", state);
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(err, "region: no stack in %s\n", state);
		return ERR_UP_NOT_RUNNING;
	}
	char body[1024];
	int blen = snprintf(body, sizeof(body),
	                    "<SubmitMultiRegionAccessPointRoutesRequest "
	                    "xmlns=\"http://awss3control.amazonaws.com/doc/2018-08-20/\">"
	                    "<RouteUpdates><Route><Region>%s</Region>"
	                    "<TrafficDialPercentage>%d</TrafficDialPercentage></Route>"
	                    "</RouteUpdates></SubmitMultiRegionAccessPointRoutesRequest>",
	                    region, active ? 100 : 0);
	if (blen < 0 || (size_t)blen >= sizeof(body)) {
		fclose(f);
		return ERR_TOO_BIG;
	}
	int rc = 0;
	unsigned routers = 0, any = 0;
	char line[4096];
	while (fgets(line, sizeof(line), f)) {
		char kind[16], loc[128], ap[128], regions[3072] = "";
		unsigned p1, p2;
		int n =
		    sscanf(line, "%15s %127s %u %u %127s %3071s", kind, loc, &p1, &p2, ap, regions);
		if (n < 5 || strcmp(kind, "router") != 0)
			continue;
		any++;
		/* Only the routers of access points with that region (a
		 * controls file without the list: every router). */
		if (n == 6 && !in_list(regions, region))
			continue;
		routers++;
		char target[512];
		snprintf(target, sizeof(target), ROUTES_PATH, ap);
		struct deploy_up_sign sg = { key, secret, "us-east-1" };
		struct buf b;
		buf_init(&b, DEPLOY_UP_BODY_MAX);
		int status = 0;
		int r = deploy__http((uint16_t)p2, "PATCH", target, "127.0.0.1", &sg, body,
		                     (size_t)blen, CTL_TIMEOUT_MS, &status, &b);
		if (r == 0 && status == 200) {
			fprintf(out, "router %s, access point %s: %s %s\n", loc, ap, region,
			        active ? "active" : "passive");
		} else {
			fprintf(err, "region: router %s, access point %s: %s %d %.*s\n", loc, ap,
			        r ? err_text(r) : "status", status, (int)b.len, b.data);
			rc = r ? r : ERR_UP_HTTP;
		}
		buf_free(&b);
	}
	fclose(f);
	explicit_bzero(secret, sizeof(secret));
	if (!any) {
		fprintf(err, "region: the stack in %s runs no router\n", state);
		return ERR_UP_NOT_RUNNING;
	}
	if (!routers) {
		fprintf(err, "region: no access point of the stack in %s has region %s\n", state,
		        region);
		return ERR_INVALID;
	}
	return rc;
}
