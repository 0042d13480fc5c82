/* The store's users from a credentials file (see users.h). */
#include "auth/users.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/check.h"
#include "base/err.h"
#include "crypto/sha256.h"

#define USERDB_MAGIC 0x55534552u

struct auth_userdb {
	unsigned magic;
	atomic_uint refs;
	char *text; /* the file, NUL-terminated; users point into it */
	size_t text_len;
	struct auth_user *users; /* sorted by access key */
	size_t n;
};

struct auth_users {
	char *path;
	pthread_mutex_t lock; /* guards `current` swaps against acquires */
	struct auth_userdb *current;
};

static void db_free(struct auth_userdb *db)
{
	if (!db)
		return;
	/* Wipe the secrets before the memory goes back. */
	OPENSSL_cleanse(db->text, db->text_len);
	free(db->text);
	free(db->users);
	db->magic = 0;
	free(db);
}

static int fail(char *err, size_t cap, const char *path, unsigned line, int code, const char *fmt,
                ...) __attribute__((format(printf, 6, 7)));

static int fail(char *err, size_t cap, const char *path, unsigned line, int code, const char *fmt,
                ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, cap, "%s:%u: %s", path, line, msg);
	else
		snprintf(err, cap, "%s: %s", path, msg);
	return code;
}

/* Access key ids are letters and digits (AWS: [A-Z0-9]{16,128}; any case
 * here, from 3 bytes so tests and labs can use short ones). */
static bool key_id_ok(struct iov k)
{
	if (k.len < 3 || k.len > AUTH_KEY_ID_MAX)
		return false;
	for (size_t i = 0; i < k.len; i++) {
		char c = k.base[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

/* Secrets and names: printable ASCII without spaces (the separator). */
static bool token_ok(struct iov t, size_t max)
{
	if (t.len == 0 || t.len > max)
		return false;
	for (size_t i = 0; i < t.len; i++)
		if (t.base[i] <= ' ' || t.base[i] > '~')
			return false;
	return true;
}

static int by_key(const void *a, const void *b)
{
	return iov_cmp(((const struct auth_user *)a)->access_key,
	               ((const struct auth_user *)b)->access_key);
}

/* Split the next whitespace-separated token off `*line`. */
static struct iov token(struct iov *line)
{
	size_t i = 0;
	while (i < line->len && (line->base[i] == ' ' || line->base[i] == '\t'))
		i++;
	size_t start = i;
	while (i < line->len && line->base[i] != ' ' && line->base[i] != '\t')
		i++;
	struct iov t = iov_make(line->base + start, i - start);
	*line = iov_make(line->base + i, line->len - i);
	return t;
}

static int read_file(const char *path, char **out, size_t *len, char *err, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, cap, path, 0, ERR_IO, "cannot open: %s", strerror(errno));
	struct stat sb;
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		close(fd);
		return fail(err, cap, path, 0, ERR_IO, "not a regular file");
	}
	if ((uint64_t)sb.st_size > AUTH_USERS_FILE_MAX) {
		close(fd);
		return fail(err, cap, path, 0, ERR_TOO_BIG, "larger than %u bytes",
		            AUTH_USERS_FILE_MAX);
	}
	char *text = malloc((size_t)sb.st_size + 1);
	if (!text) {
		close(fd);
		return ERR_NOMEM;
	}
	size_t n = 0;
	while (n < (size_t)sb.st_size) {
		ssize_t r = read(fd, text + n, (size_t)sb.st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	text[n] = '\0';
	*out = text;
	*len = n;
	return 0;
}

static void owner_id(struct auth_user *u, bool named)
{
	/* Named users keep their id across key rotations. */
	char seed[16 + AUTH_KEY_ID_MAX + AUTH_USER_NAME_MAX];
	struct iov basis = named ? u->name : u->access_key;
	int n = snprintf(seed, sizeof(seed), "%s%.*s",
	                 named ? "meridian-user:" : "meridian-key:", (int)basis.len, basis.base);
	sha256_hex(seed, (size_t)n, u->owner_id);
}

static int parse(const char *path, char *text, size_t len, struct auth_userdb *db, char *err,
                 size_t cap)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	db->users = calloc(lines, sizeof(*db->users));
	if (!db->users)
		return ERR_NOMEM;
	struct iov rest = iov_make(text, len), line;
	unsigned lineno = 0;
	while (rest.base) {
		rest = iov_split(rest, '\n', &line);
		lineno++;
		if (line.len && line.base[line.len - 1] == '\r')
			line.len--;
		const char *hash = memchr(line.base, '#', line.len);
		if (hash)
			line.len = (size_t)(hash - line.base);
		struct iov key = token(&line), secret = token(&line), name = token(&line);
		if (key.len == 0)
			continue; /* blank or comment */
		if (token(&line).len)
			return fail(err, cap, path, lineno, ERR_INVALID,
			            "expected ACCESS_KEY_ID SECRET_ACCESS_KEY [name]");
		if (!key_id_ok(key))
			return fail(err, cap, path, lineno, ERR_INVALID,
			            "access key id must be 3 to %d letters and digits",
			            AUTH_KEY_ID_MAX);
		if (!secret.len)
			return fail(err, cap, path, lineno, ERR_INVALID,
			            "missing secret access key");
		if (!token_ok(secret, AUTH_SECRET_MAX))
			return fail(err, cap, path, lineno, ERR_INVALID,
			            "secret access key must be 1 to %d printable characters",
			            AUTH_SECRET_MAX);
		if (name.len && !token_ok(name, AUTH_USER_NAME_MAX))
			return fail(err, cap, path, lineno, ERR_INVALID,
			            "name must be 1 to %d printable characters",
			            AUTH_USER_NAME_MAX);
		if (db->n == AUTH_USERS_MAX)
			return fail(err, cap, path, lineno, ERR_TOO_BIG, "more than %d users",
			            AUTH_USERS_MAX);
		struct auth_user *u = &db->users[db->n++];
		u->line = lineno;
		u->access_key = key;
		u->secret = secret;
		u->name = name.len ? name : key;
		owner_id(u, name.len > 0);
		/* NUL-terminate the fields in place (the text is ours). */
		((char *)key.base)[key.len] = '\0';
		((char *)secret.base)[secret.len] = '\0';
		if (name.len)
			((char *)name.base)[name.len] = '\0';
	}
	qsort(db->users, db->n, sizeof(db->users[0]), by_key);
	for (size_t i = 1; i < db->n; i++) {
		const struct auth_user *a = &db->users[i - 1], *b = &db->users[i];
		if (iov_eq(a->access_key, b->access_key))
			return fail(err, cap, path, a->line > b->line ? a->line : b->line,
			            ERR_INVALID, "access key id %s is listed twice",
			            b->access_key.base);
	}
	return 0;
}

int auth__userdb_parse(const char *name, char *text, size_t len, struct auth_userdb **out,
                       char *err, size_t cap)
{
	struct auth_userdb *db = calloc(1, sizeof(*db));
	if (!db) {
		OPENSSL_cleanse(text, len);
		free(text);
		return ERR_NOMEM;
	}
	db->magic = USERDB_MAGIC;
	atomic_init(&db->refs, 1);
	db->text = text;
	db->text_len = len;
	int rc = parse(name, text, len, db, err, cap);
	if (rc) {
		db_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

static int load(const char *path, struct auth_userdb **out, char *err, size_t cap)
{
	char *text;
	size_t len = 0;
	int rc = read_file(path, &text, &len, err, cap);
	return rc ? rc : auth__userdb_parse(path, text, len, out, err, cap);
}

int auth_users_open(const char *path, struct auth_users **out, char *err, size_t errcap)
{
	struct auth_users *u = calloc(1, sizeof(*u));
	if (!u || !(u->path = strdup(path))) {
		free(u);
		return ERR_NOMEM;
	}
	pthread_mutex_init(&u->lock, NULL);
	int rc = load(path, &u->current, err, errcap);
	if (rc) {
		pthread_mutex_destroy(&u->lock);
		free(u->path);
		free(u);
		return rc;
	}
	*out = u;
	return 0;
}

void auth_users_free(struct auth_users *u)
{
	if (!u)
		return;
	auth_userdb_release(u->current);
	pthread_mutex_destroy(&u->lock);
	free(u->path);
	free(u);
}

int auth_users_reload(struct auth_users *u, char *err, size_t errcap)
{
	struct auth_userdb *db;
	int rc = load(u->path, &db, err, errcap);
	if (rc)
		return rc;
	pthread_mutex_lock(&u->lock);
	struct auth_userdb *old = u->current;
	u->current = db;
	pthread_mutex_unlock(&u->lock);
	auth_userdb_release(old);
	return 0;
}

struct auth_userdb *auth_users_acquire(struct auth_users *u)
{
	pthread_mutex_lock(&u->lock);
	struct auth_userdb *db = u->current;
	atomic_fetch_add(&db->refs, 1);
	pthread_mutex_unlock(&u->lock);
	return db;
}

void auth_userdb_release(struct auth_userdb *db)
{
	if (db && atomic_fetch_sub(&db->refs, 1) == 1)
		db_free(db);
}

size_t auth_userdb_count(const struct auth_userdb *db)
{
	return db->n;
}

const struct auth_user *auth_userdb_at(const struct auth_userdb *db, size_t i)
{
	CHECK_MAGIC(db, USERDB_MAGIC);
	CHECK(i < db->n);
	return &db->users[i];
}

const struct auth_user *auth_userdb_find(const struct auth_userdb *db, struct iov access_key)
{
	CHECK_MAGIC(db, USERDB_MAGIC);
	size_t lo = 0, hi = db->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct auth_user *u = &db->users[mid];
		int c = iov_cmp(u->access_key, access_key);
		if (c == 0)
			return u;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct auth_user *auth_userdb_find_owner(const struct auth_userdb *db, struct iov owner_id)
{
	CHECK_MAGIC(db, USERDB_MAGIC);
	for (size_t i = 0; i < db->n; i++)
		if (iov_eq(iov_cstr(db->users[i].owner_id), owner_id))
			return &db->users[i];
	return NULL;
}

static int creds_lookup(void *ctx, struct iov access_key, struct auth_secret *out)
{
	const struct auth_user *u = auth_userdb_find(ctx, access_key);
	if (!u)
		return ERR_AUTH_UNKNOWN_KEY;
	out->secret = u->secret;
	out->session_token = IOV_NULL;
	return 0;
}

const struct auth_creds_ops auth_userdb_creds = { "userdb", creds_lookup };
