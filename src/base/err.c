/* The error table behind err.h. Pure data; any thread. */
#include "base/err.h"

#include <stddef.h>

struct err_row {
	const char *name;
	const char *text;
	int status;
	const char *s3;
};

static const struct err_row rows[] = {
#define ERR_ROW(n, t, st, s3) { #n, t, st, s3 },
	ERR_MAP(ERR_ROW)
#undef ERR_ROW
};

static const struct err_row *row(int code)
{
	if (code <= ERR__FIRST || code >= ERR__END)
		return NULL;
	return &rows[code - ERR__FIRST - 1];
}

const char *err_text(int code)
{
	const struct err_row *r = row(code);
	return code == 0 ? "ok" : r ? r->text : "unknown error";
}

const char *err_name(int code)
{
	const struct err_row *r = row(code);
	return code == 0 ? "OK" : r ? r->name : "UNKNOWN";
}

int err_http_status(int code)
{
	const struct err_row *r = row(code);
	return r && r->status ? r->status : 500;
}

const char *err_s3_code(int code)
{
	const struct err_row *r = row(code);
	return r && r->s3 ? r->s3 : "InternalError";
}
