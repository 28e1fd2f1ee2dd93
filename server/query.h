/* query.h: the query engine, one pure function from (view, client, query bytes) to
 * response bytes. It never allocates, locks or blocks; UDP and TCP code only frame bytes. */
#ifndef GSLBD_QUERY_H
#define GSLBD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "view.h"

#define QUERY_UDP_BUF 4096  /* enough for any UDP answer (edns_max_udp <= 4096) */
#define QUERY_TCP_BUF 65535 /* a TCP message's maximum */

enum query_transport { QUERY_UDP = 0, QUERY_TCP = 1 };

struct query_req {
    const uint8_t *pkt;
    size_t len;
    const struct sockaddr *src; /* client address (borrowed); NULL in unit tests is fine */
    enum query_transport transport;
    uint64_t *rng; /* the worker's xorshift state for weighted splits; NULL = derived from ID */
    unsigned worker; /* the worker's index, for per-worker counters */
};

/* Per-worker counters, written only by the owning worker (relaxed), summed by readers. */
struct query_stats {
    uint64_t queries;
    uint64_t dropped;
    uint64_t rcode[24]; /* by response code; 16 = BADVERS */
    uint64_t truncated;
    uint64_t edns;
    uint64_t ecs;
    uint64_t gslb_answers; /* answers decided by a GSLB service */
    uint64_t gslb_servfail;
};

/* Answer req into out (outcap >= QUERY_UDP_BUF for UDP, QUERY_TCP_BUF for TCP).
 * Returns the response length, or 0 when the query must be dropped without reply.
 * st may be NULL. */
size_t query_answer(const struct view *v, const struct query_req *req, uint8_t *out,
                    size_t outcap, struct query_stats *st);

#endif
