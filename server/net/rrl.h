/* rrl.h: response rate limiting as BIND, Knot and NSD do it: a token account per client
 * prefix and response kind, in a fixed-size table that one worker thread owns (no locks,
 * no allocation after rrl_table_new). The caller owns the table; rrl_check() borrows it. */
#ifndef GSLBD_RRL_H
#define GSLBD_RRL_H

#include <stdint.h>
#include <sys/socket.h>

#include "server/conf/conf.h"
#include "server/query.h"

#define RRL_WAYS 4        /* entries per set: one 64-byte cache line */
#define RRL_LOG_PER_SEC 5 /* limiting episodes logged per table and second, at most */

/* What to do with one UDP response. */
enum rrl_action {
    RRL_PASS = 0, /* under the limit: send it */
    RRL_DROP,     /* over the limit: send nothing */
    RRL_SLIP,     /* over the limit: send it truncated (query_truncate) so that a real client
                   * retries over TCP, which is never limited */
    RRL_EXEMPT,   /* over the limit, but the client is in rrl.exempt: send it */
    RRL_LOG_ONLY, /* over the limit, but rrl.log_only: send it */
};

struct rrl_table;

/* A table of at least `entries` entries (rounded up to a power of two, at least RRL_WAYS),
 * with a random hash key. 0 or -ENOMEM / -errno; *out is set only on success. */
int rrl_table_new(uint32_t entries, struct rrl_table **out);

void rrl_table_free(struct rrl_table *t); /* NULL is a no-op */

uint32_t rrl_table_entries(const struct rrl_table *t);

/* Count the response o (from query_answer, for a UDP query from src) against its account at
 * now_s (seconds of a monotonic clock) under the limits c, and say what to do with it.
 * Logs (info) the start of each limiting episode, at most RRL_LOG_PER_SEC lines a second. */
enum rrl_action rrl_check(struct rrl_table *t, const struct conf_rrl *c, const struct query_out *o,
                          const struct sockaddr *src, uint32_t now_s);

#endif
