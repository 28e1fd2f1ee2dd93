/* query_int.h: the query engine's internals shared by its files: the per-query context
 * and the EDNS stage (query_edns.c). Not for use outside query*.c.
 *
 * Circle: query.c, query_dnssec.c and query_gslb.c are one engine in three files. query.c
 * adds what DNSSEC needs (RRSIGs, denial, DS in referrals) through query_dnssec.c, which
 * starts its SERVFAIL answer with query.c's query__start_response, and answers a GSLB
 * service through query_gslb.c, which answers NODATA with query.c's query__add_soa. */
#ifndef GSLBD_QUERY_INT_H
#define GSLBD_QUERY_INT_H

#include <errno.h>

#include "server/cookie.h"
#include "server/err.h"
#include "server/query.h"
#include "server/dns/wire.h"

#define CNAME_CHAIN_MAX 16
#define OPT_FIXED 11 /* root owner, type, class, TTL, RDLENGTH */

/* A step of the answer (writing an RRset, its RRSIG, a denial, a referral) returns 0, or one
 * of these, negative as every fallible function of the project: */
#define QUERY_EFULL (-EMSGSIZE) /* no room for what must go in: nothing of it written */
#define QUERY_EUNSIGNED                                                                            \
    GSLBD_ELIMIT /* a signed zone cannot sign it now (the signing budget):                         \
                  * the caller answers SERVFAIL (query__servfail_unsigned) */

/* Everything one query carries through the stages; lives on the worker's stack. */
struct qctx {
    const struct view *v;
    const struct query_req *req;
    struct query_client client; /* req->src, decoded once */
    struct wire_query q;
    struct wire_writer w;
    size_t max_size; /* the response size the client accepts */
    size_t opt_size; /* bytes reserved at the end for our OPT */
    uint16_t flags;  /* response header flags without RCODE */
    uint8_t rcode;   /* full (extended) RCODE */
    uint16_t an, ns, ar;
    uint8_t ecs_scope; /* widest scope of the tailored data in the answer (ECS-G1) */
    struct query_stats *st;
    uint32_t hashes[DNAME_MAX_LABELS + 1];

    /* CK-1: the OPT carries COOKIE, the client's and server_cookie */
    bool cookie_out;
    bool valid_cookie; /* the query's server cookie was ours and valid */
    uint8_t server_cookie[COOKIE_SERVER_LEN];
    uint16_t opt_off; /* where write_opt() put the OPT; 0 = none */
    /* what report() keys rate limiting on: the question's zone, the first lookup's match
     * or cut, and whether that was a cut */
    const struct zone *zone;
    const struct zone_node *key_node;
    bool referral;
    /* the name being answered when a negative answer is written (lowercase), and its node
     * (NULL: the name does not exist): what compact denial proves */
    const uint8_t *deny_name;
    const struct zone_node *deny_node;
    /* the wildcard the name being answered was synthesized from, NULL if none: its RRsets
     * are signed at the name asked (RFC 9824 style), not with the wildcard's RRSIGs */
    const struct zone_node *wild_node;
};

/* ---- EDNS stage: size limits, cookie and our OPT record -------------------------------- */

/* The response size the client accepts (TCP: a whole message). */
static inline size_t query__response_max(const struct qctx *c)
{
    if (c->req->transport == QUERY_TCP)
        return QUERY_TCP_BUF;
    if (!c->q.edns)
        return 512;
    size_t req = c->q.edns_udp < 512 ? 512 : c->q.edns_udp;
    size_t ours = c->v->conf->edns_max_udp;
    return req < ours ? req : ours;
}

static inline size_t query__opt_size(const struct qctx *c)
{
    if (!c->q.edns)
        return 0;
    size_t n = OPT_FIXED;
    if (c->q.ecs)
        n += 4 + 4 + (c->q.ecs_source + 7u) / 8u;
    if (c->q.nsid && c->v->conf->nsid_len > 0)
        n += 4 + c->v->conf->nsid_len;
    if (c->cookie_out)
        n += 4 + COOKIE_CLIENT_LEN + COOKIE_SERVER_LEN;
    return n;
}

/* CK-1: decides the server cookie of the response (query_edns.c). */
void query__cookie_stage(struct qctx *c);
/* Writes our OPT at the writer's end; sets opt_off and counts it in ar (query_edns.c). */
void query__write_opt(struct qctx *c);

/* Header + question (copied byte for byte, HDR-1): the start of every response (query.c). */
void query__start_response(struct qctx *c, bool with_question);

/* ---- DNSSEC stage (query_dnssec.c) ---------------------------------------------------- */

/* query.c: the zone's SOA in authority with the negative TTL (NEG-1..3), and in a signed
 * zone for a DO query the proof of what is missing. 0 (SERVFAIL written when it could not
 * be signed) or QUERY_EFULL. */
int query__add_soa(struct qctx *c, const struct zone *z);

/* query_gslb.c: A and/or AAAA of a GSLB service (POL-1..6): the policy picks a cluster,
 * the answer holds its addresses of the type that are up. No address of the type: NODATA
 * (POL-5). */
int query__answer_service(struct qctx *c, const struct zone *z, const struct zone_node *n,
                          uint16_t owner_off, bool want_a, bool want_aaaa);

/* When z is signed and the query set DO, the RRSIG of rs (just written) after it, owner by
 * name or else at owner_off, counted in *count. 0; -1 when it did not fit (nothing
 * written); 1 when it could not be signed now (the caller answers SERVFAIL). */
int query__add_rrsig(struct qctx *c, const struct zone *z, const uint8_t *owner, uint16_t owner_off,
                     const struct zone_rrset *rs, uint32_t ttl, uint16_t *count);
/* The response becomes SERVFAIL (no answer it cannot prove); returns 0. */
int query__servfail_unsigned(struct qctx *c);
/* Compact denial at the name being answered: 0; -1 when it did not fit; 1 when it could
 * not be signed (SERVFAIL). */
int query__add_denial(struct qctx *c, const struct zone *z);
/* DS or the proof of no DS after a referral's NS (query_dnssec.c). */
int query__add_referral_ds(struct qctx *c, const struct zone *z, const struct zone_node *cut);

#endif
