/*
 * Blocking work off the loop: fsync, file writes and reads, SQLite. work(arg)
 * runs on libuv's thread pool, then done(arg, status) runs on the loop's
 * thread. The pool is process-wide and shared by every loop; its size comes
 * from UV_THREADPOOL_SIZE (libuv's default is 4, its maximum 1024), read once
 * when the first work item of the process is queued. A role that needs a
 * different size (the store does) calls setenv("UV_THREADPOOL_SIZE", ...)
 * before it creates its first loop, while it is still single-threaded.
 * net_work_submit is called on the loop's thread only.
 */
#ifndef MERIDIAN_NET_WORK_H
#define MERIDIAN_NET_WORK_H

#include "net/loop.h"

/*
 * Queue work(arg) on the pool; done(arg, status) follows on l's thread,
 * exactly once for every item that was queued, with status 0 after work ran,
 * or ERR_NET_CANCELED if work never ran (net_loop_free cancels the items that
 * have not started and waits for the ones that have, running their done
 * callbacks inside net_loop_free). Items run and complete in any order. arg
 * is borrowed until done; work must not touch loop-thread state. Both
 * callbacks are required. 0, or ERR_NOMEM (nothing was queued, done will not
 * run).
 */
int net_work_submit(struct net_loop *l, void (*work)(void *arg),
                    void (*done)(void *arg, int status), void *arg);

#endif
