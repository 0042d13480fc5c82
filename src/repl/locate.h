/*
 * Which peer holds a bucket: asks each peer GetBucketLocation (signed with
 * that peer's keys) and takes the one that answers 200 with a
 * LocationConstraint equal to its region (us-east-1's is empty, as on S3).
 * Blocking (a few seconds at most per peer): call it from a pool thread,
 * never a loop. Any thread.
 */
#ifndef MERIDIAN_REPL_LOCATE_H
#define MERIDIAN_REPL_LOCATE_H

#include "base/iov.h"
#include "repl/config.h"

#define REPL_LOCATE_TIMEOUT_MS 3000 /* per peer */

/* 0 and *out, ERR_NOT_FOUND (no peer holds it), ERR_INVALID (more than one
 * does: the ARN must name one), or ERR_NOMEM. */
int repl_locate_bucket(const struct repl_config *cfg, struct iov bucket,
                       const struct repl_peer **out);

#endif
