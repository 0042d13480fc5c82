/* auth/users: the credentials file, its errors, lookups and reload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/users.h"
#include "base/err.h"

static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/meridian-users-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void test_users_load_and_find(void **state)
{
	(void)state;
	write_file("# users\n"
	           "\n"
	           "AKIDALICE0000001 alicesecret/with+chars alice\n"
	           "  AKIDBOB000000002\tbobsecret   # trailing comment\r\n"
	           "AKIDCAROL0000003 carolsecret carol");
	struct auth_users *u;
	char err[256] = "";
	assert_int_equal(auth_users_open(path, &u, err, sizeof(err)), 0);
	struct auth_userdb *db = auth_users_acquire(u);
	assert_int_equal(auth_userdb_count(db), 3);

	const struct auth_user *a = auth_userdb_find(db, IOV_LIT("AKIDALICE0000001"));
	assert_non_null(a);
	assert_true(iov_eq(a->secret, IOV_LIT("alicesecret/with+chars")));
	assert_true(iov_eq(a->name, IOV_LIT("alice")));
	assert_int_equal(strlen(a->owner_id), 64);
	assert_int_equal(a->line, 3);

	const struct auth_user *b = auth_userdb_find(db, IOV_LIT("AKIDBOB000000002"));
	assert_non_null(b);
	assert_true(iov_eq(b->secret, IOV_LIT("bobsecret")));
	assert_true(iov_eq(b->name, IOV_LIT("AKIDBOB000000002"))); /* no name: the key */
	assert_string_not_equal(a->owner_id, b->owner_id);
	assert_non_null(auth_userdb_find(db, IOV_LIT("AKIDCAROL0000003")));
	assert_null(auth_userdb_find(db, IOV_LIT("AKIDNOBODY")));
	assert_null(auth_userdb_find(db, IOV_LIT("AKIDALICE000000")));
	assert_ptr_equal(auth_userdb_find_owner(db, iov_cstr(a->owner_id)), a);
	assert_ptr_equal(auth_userdb_find_owner(db, iov_cstr(b->owner_id)), b);
	assert_null(auth_userdb_find_owner(db, IOV_LIT("0000")));

	struct auth_secret sec;
	assert_int_equal(auth_userdb_creds.lookup(db, IOV_LIT("AKIDCAROL0000003"), &sec), 0);
	assert_true(iov_eq(sec.secret, IOV_LIT("carolsecret")));
	assert_int_equal(auth_userdb_creds.lookup(db, IOV_LIT("AKIDX00"), &sec),
	                 ERR_AUTH_UNKNOWN_KEY);
	auth_userdb_release(db);
	auth_users_free(u);
}

static void test_named_owner_survives_key_rotation(void **state)
{
	(void)state;
	write_file("AKIDOLD000000001 s1 alice\n");
	struct auth_users *u;
	char err[256];
	assert_int_equal(auth_users_open(path, &u, err, sizeof(err)), 0);
	struct auth_userdb *before = auth_users_acquire(u);
	char owner[65];
	memcpy(owner, auth_userdb_find(before, IOV_LIT("AKIDOLD000000001"))->owner_id, 65);

	write_file("AKIDNEW000000002 s2 alice\n");
	assert_int_equal(auth_users_reload(u, err, sizeof(err)), 0);
	struct auth_userdb *after = auth_users_acquire(u);
	assert_null(auth_userdb_find(after, IOV_LIT("AKIDOLD000000001")));
	const struct auth_user *n = auth_userdb_find(after, IOV_LIT("AKIDNEW000000002"));
	assert_non_null(n);
	assert_string_equal(n->owner_id, owner);
	/* The old snapshot is still whole for whoever holds it. */
	assert_non_null(auth_userdb_find(before, IOV_LIT("AKIDOLD000000001")));
	auth_userdb_release(before);
	auth_userdb_release(after);
	auth_users_free(u);
}

static void test_bad_files_name_the_line(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "AKIDONE000000001\n", ":1: missing secret" },
		{ "# ok\nAKIDONE000000001 s n extra\n", ":2: expected ACCESS_KEY_ID" },
		{ "AK-ID s\n", ":1: access key id must be" },
		{ "AKIDONE000000001 s1\nAKIDTWO000000002 s2\nAKIDONE000000001 s3\n",
		  ":3: access key id AKIDONE000000001 is listed twice" },
		{ "AKIDONE000000001 s\x01x\n", ":1: secret access key must be" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i].text);
		struct auth_users *u = NULL;
		char err[256] = "";
		assert_int_equal(auth_users_open(path, &u, err, sizeof(err)), ERR_INVALID);
		assert_null(u);
		if (!strstr(err, bad[i].msg) || strncmp(err, path, strlen(path)) != 0)
			fail_msg("case %zu: error '%s' lacks '%s'", i, err, bad[i].msg);
	}
	char err[256];
	struct auth_users *u;
	assert_int_equal(auth_users_open("/nonexistent/creds", &u, err, sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/creds: cannot open"));
}

static void test_failed_reload_keeps_the_old_users(void **state)
{
	(void)state;
	write_file("AKIDONE000000001 s1\n");
	struct auth_users *u;
	char err[256];
	assert_int_equal(auth_users_open(path, &u, err, sizeof(err)), 0);
	write_file("garbage line with too many fields\n");
	assert_int_equal(auth_users_reload(u, err, sizeof(err)), ERR_INVALID);
	struct auth_userdb *db = auth_users_acquire(u);
	assert_non_null(auth_userdb_find(db, IOV_LIT("AKIDONE000000001")));
	auth_userdb_release(db);
	auth_users_free(u);
}

static void test_many_users_are_all_found(void **state)
{
	(void)state;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 5000; i++)
		fprintf(f, "AKID%08dX secret%d user%d\n", (i * 7919) % 5000, i, i);
	fclose(f);
	struct auth_users *u;
	char err[256];
	assert_int_equal(auth_users_open(path, &u, err, sizeof(err)), 0);
	struct auth_userdb *db = auth_users_acquire(u);
	assert_int_equal(auth_userdb_count(db), 5000);
	for (int i = 0; i < 5000; i++) {
		char k[32];
		snprintf(k, sizeof(k), "AKID%08dX", i);
		assert_non_null(auth_userdb_find(db, iov_cstr(k)));
	}
	auth_userdb_release(db);
	auth_users_free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users_load_and_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_named_owner_survives_key_rotation, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bad_files_name_the_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_reload_keeps_the_old_users, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_many_users_are_all_found, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
