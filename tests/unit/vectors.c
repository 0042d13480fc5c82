/* Test-vector helpers. */
#include "vectors.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"

static bool is_dir(const char *p)
{
	struct stat st;
	return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *vec_root(void)
{
	static const char *root;
	if (root)
		return root;
	const char *candidates[] = {
		getenv("MERIDIAN_TESTVECTORS"),
#ifdef MERIDIAN_TESTVECTORS
		MERIDIAN_TESTVECTORS,
#endif
		"/work/shared/testvectors",
	};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		char probe[4096];
		if (!candidates[i])
			continue;
		snprintf(probe, sizeof(probe), "%s/sigv4a", candidates[i]);
		if (is_dir(probe))
			return root = candidates[i];
	}
	fprintf(stderr, "test vectors not found: set MERIDIAN_TESTVECTORS to "
	                "shared/testvectors\n");
	exit(1);
}

char *read_path(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *p = malloc((size_t)n + 1);
	if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		fclose(f);
		return NULL;
	}
	fclose(f);
	p[n] = '\0';
	if (len)
		*len = (size_t)n;
	return p;
}

char *vec_read(const char *kind, const char *name, const char *file, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/%s/%s", vec_root(), kind, name, file);
	return read_path(path, len);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **vec_cases(const char *kind, size_t *n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", vec_root(), kind);
	DIR *d = opendir(path);
	char **out = calloc(256, sizeof(char *));
	size_t k = 0;
	struct dirent *e;
	while (d && out && (e = readdir(d)) != NULL && k < 255)
		if (e->d_name[0] != '.')
			out[k++] = strdup(e->d_name);
	if (d)
		closedir(d);
	qsort(out, k, sizeof(char *), cmp_str);
	*n = k;
	return out;
}

void vec_free_cases(char **cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cases[i]);
	free(cases);
}

/* The string value of "key": "..." (no escapes occur in these files). */
static bool json_str(const char *json, const char *key, char *out, size_t cap)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return false;
	p = strchr(p + strlen(pat), '"');
	if (!p)
		return false;
	const char *q = strchr(p + 1, '"');
	if (!q || (size_t)(q - p - 1) >= cap)
		return false;
	memcpy(out, p + 1, (size_t)(q - p - 1));
	out[q - p - 1] = '\0';
	return true;
}

/* The raw token after "key": (a number or true/false). */
static bool json_raw(const char *json, const char *key, char *out, size_t cap)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return false;
	p = strchr(p + strlen(pat), ':');
	if (!p)
		return false;
	p++;
	while (*p == ' ')
		p++;
	size_t n = strcspn(p, ",\n}");
	if (n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

bool vec_context(const char *kind, const char *name, struct vec_ctx *c)
{
	char *json = vec_read(kind, name, "context.json", NULL);
	char raw[64];
	if (!json)
		return false;
	memset(c, 0, sizeof(*c));
	bool ok = json_str(json, "access_key_id", c->akid, sizeof(c->akid)) &&
	          json_str(json, "secret_access_key", c->secret, sizeof(c->secret)) &&
	          json_str(json, "region", c->region, sizeof(c->region)) &&
	          json_str(json, "service", c->service, sizeof(c->service)) &&
	          json_str(json, "timestamp", c->timestamp, sizeof(c->timestamp));
	c->has_token = json_str(json, "token", c->token, sizeof(c->token));
	if (json_raw(json, "expiration_in_seconds", raw, sizeof(raw)))
		c->expires = (unsigned)strtoul(raw, NULL, 10);
	c->normalize = json_raw(json, "normalize", raw, sizeof(raw)) && strcmp(raw, "true") == 0;
	c->sign_body = json_raw(json, "sign_body", raw, sizeof(raw)) && strcmp(raw, "true") == 0;
	c->omit_token =
	    json_raw(json, "omit_session_token", raw, sizeof(raw)) && strcmp(raw, "true") == 0;
	/* 2015-08-30T12:36:00Z -> 20150830T123600Z */
	char amz[17];
	const char *t = c->timestamp;
	if (strlen(t) == 20) {
		snprintf(amz, sizeof(amz), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", t, t + 5, t + 8, t + 11,
		         t + 14, t + 17);
		ok = ok && clock_parse_amz(iov_cstr(amz), &c->time) == 0;
	} else {
		ok = false;
	}
	free(json);
	return ok;
}
