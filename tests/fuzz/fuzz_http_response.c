/*
 * libFuzzer: the HTTP/1.1 parser glue, responses. The driver, its controls
 * and its invariants are fuzz_http_request.c's; here data[1] also makes the
 * first or every response answer a HEAD request, and finish() ends
 * EOF-framed bodies.
 */
#define FUZZ_HTTP_TYPE HTTP_PARSE_RESPONSE
#include "fuzz_http_request.c"
