/* query.h: the query engine, one pure function from (view, client, query bytes) to
 * response bytes. It never allocates, locks or blocks; UDP and TCP code only frame bytes. */
#ifndef GSLBD_QUERY_H
#define GSLBD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/view.h"

#define QUERY_UDP_BUF 4096  /* enough for any UDP answer (edns_max_udp <= 4096) */
#define QUERY_TCP_BUF 65535 /* a TCP message's maximum */

enum query_transport { QUERY_UDP = 0, QUERY_TCP = 1 };

/* A client's address as the engine, cookies, RRL and the TCP limits use it: decoded from
 * the transport's sockaddr once, by query_client_of, and nowhere else. */
struct query_client {
    int family;    /* AF_INET, AF_INET6, or AF_UNSPEC (no address: unit tests) */
    uint8_t len;   /* address bytes: 4, 16, or 0 */
    uint16_t port; /* host order */
    uint8_t addr[16];
};

/* sa decoded (NULL, or a family other than IPv4 and IPv6: AF_UNSPEC, len 0). */
struct query_client query_client_of(const struct sockaddr *sa);

/* HDR-4: a UDP query from port 0 gets no reply (reflection against port-0 services). The
 * one place that rule is written. */
static inline bool query_client_unreachable(const struct query_client *c)
{
    return c->family != AF_UNSPEC && c->port == 0;
}

struct query_req {
    const uint8_t *pkt;
    size_t len;
    const struct sockaddr *src; /* client address (borrowed); NULL in unit tests is fine */
    enum query_transport transport;
    uint64_t *rng;   /* the worker's xorshift state for weighted splits; NULL = derived from ID */
    unsigned worker; /* the calling thread's reader slot (server.h), its row of the per-thread
                      * GSLB answer counters: below the rows gslb_set_rows gave (0 if unset) */
    uint32_t now;    /* wall clock, seconds since 1970, for cookies; 0 = read the clock */
    struct query_out *out; /* filled when not NULL (rate limiting, cookie status) */
    /* filled when not NULL (explain): the lookups and the GSLB decision behind the answer.
     * It is asked for here, not in *out, because transports leave *out uninitialised. */
    struct query_decision *decision;
};

/* How a response counts for response rate limiting (server/net/rrl.h), as in BIND. */
enum query_rclass {
    QUERY_RC_ANSWER = 0, /* records for the name: keyed by owner (a wildcard's own) and QTYPE */
    QUERY_RC_NODATA,     /* keyed by zone */
    QUERY_RC_NXDOMAIN,   /* keyed by zone */
    QUERY_RC_REFERRAL,   /* keyed by the zone cut */
    QUERY_RC_ERROR,      /* any other response (REFUSED, FORMERR...): keyed by RCODE */
};

/* What query_answer() tells its transport about the response it built. */
struct query_out {
    bool valid_cookie;     /* the query sent back a valid server cookie of ours (CK-1) */
    uint8_t rclass;        /* enum query_rclass */
    uint8_t rcode;         /* full (extended) RCODE */
    uint16_t qtype;        /* as asked */
    uint16_t question_end; /* response offset past the question (12 without one) */
    uint16_t opt_off;      /* response offset of the OPT record, always last; 0 = none */
    const uint8_t *name;   /* the rclass's key name, lowercase wire form, borrowed from the
                            * view; NULL for QUERY_RC_ERROR */
    uint32_t name_hash;    /* dname_hash(name) */
};

#define QUERY_CHAIN_MAX 16 /* lookups recorded in a struct query_decision */

/* How one lookup of the chain matched (RFC 1034 4.3.2). */
enum query_match {
    QUERY_M_NAME = 0, /* the name itself */
    QUERY_M_WILDCARD, /* a wildcard (WC-1): node is the wildcard's own name */
    QUERY_M_NXDOMAIN, /* no such name: node is the closest encloser */
    QUERY_M_CUT,      /* at or below a zone cut: node is the cut (a referral) */
};

/* One lookup: the name looked up and the zone node that answered it. */
struct query_step {
    uint8_t name[DNAME_MAX];      /* lowercase wire form */
    const struct zone_node *node; /* borrowed from the view */
    uint8_t match;                /* enum query_match */
};

/* What the engine actually did for one query, so explain only formats it: every lookup
 * from the question through CNAMEs (and wildcards) to the answering name, and, when a GSLB
 * service answered, the policy's decision and the client address it was made for. */
struct query_decision {
    unsigned nsteps; /* the first QUERY_CHAIN_MAX lookups */
    struct query_step steps[QUERY_CHAIN_MAX];
    bool gslb;        /* a service answered: the fields below are set */
    uint32_t service; /* index into the view's gslb->services */
    int family;       /* AF_INET / AF_INET6 of addr */
    bool has_addr;    /* false: no client address was known */
    bool from_ecs;    /* addr is the ECS address, not the source (LOC-1) */
    uint8_t addr[16];
    struct gslb_decision d;
};

/* Query types counted one by one in struct query_stats.qtype; the rest are QUERY_QT_OTHER. */
enum query_qtype {
    QUERY_QT_A = 0,
    QUERY_QT_AAAA,
    QUERY_QT_MX,
    QUERY_QT_TXT,
    QUERY_QT_NS,
    QUERY_QT_SOA,
    QUERY_QT_CNAME,
    QUERY_QT_SRV,
    QUERY_QT_ANY,
    QUERY_QT_OTHER,
    QUERY_QT_COUNT
};

/* Add n to a per-thread counter. Each counter has one writer, its thread, and is read by
 * the metrics thread: a relaxed load and store make that read defined (no data race) and
 * cost what a plain add does (no locked instruction). Readers use __atomic_load_n. */
#define STAT_ADD(field, n)                                                                         \
    __atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) + (uint64_t)(n),        \
                     __ATOMIC_RELAXED)
#define STAT_SET(field, v) __atomic_store_n(&(field), (uint64_t)(v), __ATOMIC_RELAXED)

/* Per-thread counters, written only by the owning thread (STAT_ADD), summed by readers. */
struct query_stats {
    uint64_t queries;
    uint64_t dropped;
    uint64_t rcode[24]; /* by response code; 16 = BADVERS */
    uint64_t truncated;
    uint64_t edns;
    uint64_t ecs;
    uint64_t gslb_answers; /* answers decided by a GSLB service */
    uint64_t gslb_servfail;
    uint64_t qtype[QUERY_QT_COUNT]; /* queries with a question, by its type */
    uint64_t transport[2];          /* queries by enum query_transport */
    /* DNS cookies (CK-1), queries with a COOKIE option by what came back */
    uint64_t cookie_client_only; /* a client cookie alone */
    uint64_t cookie_valid;       /* a valid server cookie of ours */
    uint64_t cookie_invalid;     /* a server cookie not ours, or expired: answered anyway */
    /* response rate limiting (rrl.h): UDP responses over the limit, by what was done */
    uint64_t rrl_dropped;  /* not sent */
    uint64_t rrl_slipped;  /* sent truncated (TC=1) instead */
    uint64_t rrl_exempt;   /* sent: the client is in rrl.exempt */
    uint64_t rrl_log_only; /* sent: rrl.log_only */
};

/* Answer req into out (outcap >= QUERY_UDP_BUF for UDP, QUERY_TCP_BUF for TCP).
 * Returns the response length, or 0 when the query must be dropped without reply.
 * st may be NULL. */
size_t query_answer(const struct view *v, const struct query_req *req, uint8_t *out, size_t outcap,
                    struct query_stats *st);

/* Cut a response of len bytes that query_answer() built, as o describes it, down to header,
 * question and OPT with TC=1 (a rate-limiting slip; TC-1 otherwise). Returns the new length. */
size_t query_truncate(uint8_t *resp, size_t len, const struct query_out *o);

#endif
