/*
 * The store's users: a credentials file with one `ACCESS_KEY_ID
 * SECRET_ACCESS_KEY [name]` per line (# starts a comment), loaded into an
 * immutable table and swapped whole on reload (SIGHUP), so a request verifies
 * against one consistent snapshot while a reload happens.
 *
 * Each line is its own user: the owner id is 64 hex digits derived from the
 * name (or from the access key when there is no name), so rotating a named
 * user's key keeps its buckets; the display name is the name or the key.
 *
 * Threads: auth_users_reload from any one thread at a time; acquire,
 * release and lookups from any thread.
 */
#ifndef MERIDIAN_AUTH_USERS_H
#define MERIDIAN_AUTH_USERS_H

#include <stddef.h>

#include "auth/verify.h"
#include "base/iov.h"

#define AUTH_USERS_FILE_MAX (1u << 20) /* bytes */
#define AUTH_USERS_MAX      10000
#define AUTH_KEY_ID_MAX     128
#define AUTH_SECRET_MAX     128
#define AUTH_USER_NAME_MAX  64
#define AUTH_OWNER_ID_LEN   64

struct auth_user {
	struct iov access_key;
	struct iov secret;
	struct iov name; /* display name: the name, or the access key */
	char owner_id[AUTH_OWNER_ID_LEN + 1];
	unsigned line; /* where it came from, for logs */
};

struct auth_users;  /* the holder: a file path and the current snapshot */
struct auth_userdb; /* one immutable snapshot */

/*
 * Load `path`. 0, or an error with `err` holding "path:line: message" (or
 * "path: message"): ERR_INVALID (bad syntax, duplicate key, bad characters),
 * ERR_TOO_BIG (file or user count over the caps), ERR_IO, ERR_NOMEM.
 */
int auth_users_open(const char *path, struct auth_users **out, char *err, size_t errcap);
void auth_users_free(struct auth_users *u);
/* Re-read the file; on any error the current snapshot stays (and `err`
 * says why). */
int auth_users_reload(struct auth_users *u, char *err, size_t errcap);

/* The current snapshot, held until auth_userdb_release. Never NULL. */
struct auth_userdb *auth_users_acquire(struct auth_users *u);
void auth_userdb_release(struct auth_userdb *db);

size_t auth_userdb_count(const struct auth_userdb *db);
/* The i-th user (in access key order), i < count. */
const struct auth_user *auth_userdb_at(const struct auth_userdb *db, size_t i);
/* The user with this access key, or NULL. */
const struct auth_user *auth_userdb_find(const struct auth_userdb *db, struct iov access_key);

/* The user with this owner id, or NULL (a scan: for listings' display
 * names, not for the request path). */
const struct auth_user *auth_userdb_find_owner(const struct auth_userdb *db, struct iov owner_id);

/* Module-internal, for the fuzzer and load: parse `text` (len bytes plus a
 * NUL at text[len]; ownership passes, freed and wiped with the snapshot or
 * on error). Errors as auth_users_open, named after `name`. */
int auth__userdb_parse(const char *name, char *text, size_t len, struct auth_userdb **out,
                       char *err, size_t cap);

/* Credential lookup for auth_verify: creds_ctx is an acquired snapshot. */
extern const struct auth_creds_ops auth_userdb_creds;

#endif
