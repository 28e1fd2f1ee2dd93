/* query_dnssec.c: the query engine's DNSSEC stage (docs/dnssec.md): RRSIGs beside the
 * RRsets of a signed zone for a DO query, signatures made at the name asked for wildcard
 * answers, compact denial (RFC 9824), and SERVFAIL when a signature cannot be had now. */
#include "server/dnssec_zone.h"
#include "server/query_int.h"

/* DNSSEC (docs/dnssec.md): when z is signed and the query set DO, the RRSIG of rs (just
 * written) follows it, owner by name or else at owner_off, counted in *count. 0,
 * QUERY_EFULL (nothing written) or QUERY_EUNSIGNED. */
int query__add_rrsig(struct qctx *c, const struct zone *z, const uint8_t *owner, uint16_t owner_off,
                     const struct zone_rrset *rs, uint32_t ttl, uint16_t *count)
{
    const struct dnssec_zone *s = zone_dnssec(z);
    if (s == NULL || !c->q.edns_do)
        return 0;
    size_t n;
    const struct wire_rr *sig = dnssec_zone_sigs(s, rs, &n);
    if (sig == NULL)
        return 0;
    const struct zone_node *w = c->wild_node;
    struct dnssec_sig online;
    if (owner == NULL && w != NULL && rs >= w->rrsets && rs < w->rrsets + w->nrrsets) {
        /* synthesized from a wildcard: signed as the name asked, so no proof that the name
         * does not exist is needed (it would contradict compact denial) */
        const struct wire_rr *rrs[DNSSEC_ONLINE_RRS];
        if (rs->count > DNSSEC_ONLINE_RRS)
            return QUERY_EUNSIGNED;
        for (uint16_t i = 0; i < rs->count; i++)
            rrs[i] = &rs->rrs[i];
        if (dnssec_zone_sign_online(s, z, c->deny_name, rs->type, rs->ttl, rrs, rs->count,
                                    &online) < 0)
            return QUERY_EUNSIGNED;
        sig = &online.rr;
        n = 1;
    }
    struct wire_mark m = wire_mark(&c->w);
    for (size_t i = 0; i < n; i++) {
        int r = owner != NULL
                    ? wire_put_rr_name(&c->w, owner, DNS_T_RRSIG, DNS_C_IN, ttl, &sig[i])
                    : wire_put_rr_ptr(&c->w, owner_off, DNS_T_RRSIG, DNS_C_IN, ttl, &sig[i]);
        if (r < 0) {
            wire_rewind(&c->w, m);
            return QUERY_EFULL;
        }
    }
    *count = (uint16_t)(*count + n);
    return 0;
}

/* An answer a signed zone cannot sign now (over the signing budget): SERVFAIL rather than
 * an answer a validator rejects. */
int query__servfail_unsigned(struct qctx *c)
{
    query__start_response(c, true);
    c->rcode = DNS_R_SERVFAIL;
    c->flags &= (uint16_t)~DNS_F_AA;
    c->ecs_scope = 0;
    return 0;
}

/* The NSEC at name listing types (RRSIG and NSEC added) and its RRSIG into authority,
 * signed now or from this thread's cache. 0, QUERY_EFULL (nothing written) or
 * QUERY_EUNSIGNED. */
static int put_denial(struct qctx *c, const struct zone *z, const uint8_t *name,
                      const uint16_t *types, size_t n)
{
    struct dnssec_denial d;
    if (dnssec_zone_denial(zone_dnssec(z), z, name, z->neg_ttl, types, n, &d) < 0)
        return QUERY_EUNSIGNED;
    struct wire_mark m = wire_mark(&c->w);
    uint16_t ns = c->ns;
    if (wire_put_rr_name(&c->w, name, DNSSEC_TYPE_NSEC, DNS_C_IN, z->neg_ttl, &d.nsec) < 0 ||
        wire_put_rr_name(&c->w, name, DNS_T_RRSIG, DNS_C_IN, z->neg_ttl, &d.rrsig.rr) < 0) {
        wire_rewind(&c->w, m);
        c->ns = ns;
        return QUERY_EFULL;
    }
    c->ns = (uint16_t)(c->ns + 2);
    return 0;
}

/* Compact denial of existence (RFC 9824, docs/dnssec.md): at the name being answered, an
 * NSEC whose type bitmap lists what the name has (nothing but NXNAME when it does not
 * exist), signed now or from this thread's cache. The NXDOMAIN becomes NOERROR unless the
 * client set CO. 0, QUERY_EFULL or QUERY_EUNSIGNED. */
int query__add_denial(struct qctx *c, const struct zone *z)
{
    uint16_t types[64];
    size_t n = 0;
    const struct zone_node *node = c->deny_node;
    if (node == NULL) {
        types[n++] = DNSSEC_TYPE_NXNAME;
        if (!c->q.edns_co)
            c->rcode = DNS_R_NOERROR;
    } else { /* NODATA: what the name has, never the type asked for */
        for (uint16_t i = 0; i < node->nrrsets && n < 58; i++)
            types[n++] = node->rrsets[i].type;
        if (node == z->apex)
            n += dnssec_zone_apex_types(zone_dnssec(z), types + n);
        if (node->service >= 0 && c->v->gslb != NULL) { /* what the service can answer */
            types[n++] = DNS_T_A;
            types[n++] = DNS_T_AAAA;
        }
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (types[i] != c->q.qtype)
                types[k++] = types[i];
        n = k;
    }
    return put_denial(c, z, c->deny_name, types, n);
}

/* A referral from signed zone z to cut (RFC 4035 3.1.4): the cut's DS RRset and its RRSIG
 * (a secure delegation), or an NSEC at the cut whose bitmap has NS but no DS (an insecure
 * one: compact denial's proof that there is no DS), after the NS RRset in authority. Only
 * for a DO query. 0, QUERY_EFULL (the caller truncates: the proof is required) or
 * QUERY_EUNSIGNED. */
int query__add_referral_ds(struct qctx *c, const struct zone *z, const struct zone_node *cut)
{
    if (zone_dnssec(z) == NULL || !c->q.edns_do)
        return 0;
    const struct zone_rrset *ds = zone_node_rrset(cut, DNS_T_DS);
    if (ds == NULL) {
        uint16_t types[64];
        size_t n = 0;
        for (uint16_t i = 0; i < cut->nrrsets && n < 64; i++)
            types[n++] = cut->rrsets[i].type;
        return put_denial(c, z, cut->name, types, n);
    }
    struct wire_mark m = wire_mark(&c->w);
    uint16_t ns = c->ns;
    for (uint16_t i = 0; i < ds->count; i++)
        if (wire_put_rr_name(&c->w, cut->name, DNS_T_DS, DNS_C_IN, ds->ttl, &ds->rrs[i]) < 0)
            goto full;
    c->ns = (uint16_t)(c->ns + ds->count);
    int rc = query__add_rrsig(c, z, cut->name, 0, ds, ds->ttl, &c->ns);
    if (rc == 0 || rc == QUERY_EUNSIGNED)
        return rc;
full:
    wire_rewind(&c->w, m);
    c->ns = ns;
    return QUERY_EFULL;
}
