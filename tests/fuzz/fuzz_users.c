/*
 * libFuzzer: the store's credentials file parser (auth/users.c). Every user
 * a parse accepts must be found again by its key and by its owner id, with
 * fields that obey the file's rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/users.h"
#include "base/check.h"
#include "base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	struct auth_userdb *db;
	char err[256];
	int rc = auth__userdb_parse("fuzz", text, size, &db, err, sizeof(err));
	if (rc) {
		CHECK(rc == ERR_INVALID || rc == ERR_TOO_BIG);
		CHECK(strncmp(err, "fuzz", 4) == 0);
		return 0;
	}
	for (size_t i = 0; i < auth_userdb_count(db) && i < 64; i++) {
		const struct auth_user *u = auth_userdb_at(db, i);
		CHECK(auth_userdb_find(db, u->access_key) == u);
		const struct auth_user *o = auth_userdb_find_owner(db, iov_cstr(u->owner_id));
		CHECK(o != NULL && strcmp(o->owner_id, u->owner_id) == 0);
		CHECK(u->access_key.len >= 3 && u->access_key.len <= AUTH_KEY_ID_MAX);
		CHECK(u->secret.len >= 1 && u->secret.len <= AUTH_SECRET_MAX);
		CHECK(strlen(u->owner_id) == AUTH_OWNER_ID_LEN);
		for (size_t k = 0; k < u->secret.len; k++)
			CHECK(u->secret.base[k] > ' ' && u->secret.base[k] <= '~');
		if (i > 0) /* sorted, no duplicates */
			CHECK(iov_cmp(auth_userdb_at(db, i - 1)->access_key, u->access_key) < 0);
	}
	auth_userdb_release(db);
	return 0;
}
