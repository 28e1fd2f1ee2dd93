/* query.c: the query engine: parse, classify, look up, render, truncate. Pure and
 * allocation-free; the stages below read top to bottom in query_answer(). A GSLB service's
 * answer is query_gslb.c's, the DNSSEC records query_dnssec.c's. */
#include "server/query.h"

#include <string.h>

#include "server/dnssec_zone.h"
#include "server/query_int.h"

/* Header + question (copied byte for byte, HDR-1). */
void query__start_response(struct qctx *c, bool with_question)
{
    const uint8_t *pkt = c->req->pkt;
    c->w.len = DNS_HDR;
    c->w.ncomp = 0;
    c->an = c->ns = c->ar = 0;
    if (with_question && c->q.has_question) {
        memcpy(c->w.buf + DNS_HDR, pkt + DNS_HDR, c->q.question_end - DNS_HDR);
        c->w.len = c->q.question_end;
        wire_comp_add_name(&c->w, DNS_HDR);
    }
}

/* Tell the transport about the response (rate limiting, CK-1), when it asked. */
static void report(const struct qctx *c, bool with_question)
{
    struct query_out *o = c->req->out;
    if (o == NULL)
        return;
    o->valid_cookie = c->valid_cookie;
    o->rcode = c->rcode;
    o->qtype = c->q.qtype;
    o->question_end = (uint16_t)(with_question && c->q.has_question ? c->q.question_end : DNS_HDR);
    o->opt_off = c->opt_off;
    o->rclass = QUERY_RC_ERROR;
    o->name = NULL;
    o->name_hash = 0;
    if (c->zone == NULL || (c->rcode != DNS_R_NOERROR && c->rcode != DNS_R_NXDOMAIN))
        return;
    const struct zone_node *n = c->zone->apex;
    if (c->rcode == DNS_R_NXDOMAIN)
        o->rclass = QUERY_RC_NXDOMAIN;
    else if (c->referral)
        o->rclass = QUERY_RC_REFERRAL, n = c->key_node;
    else if (c->an > 0 || (c->flags & DNS_F_TC))
        o->rclass = QUERY_RC_ANSWER, n = c->key_node;
    else
        o->rclass = QUERY_RC_NODATA;
    if (n == NULL) {
        o->rclass = QUERY_RC_ERROR;
        return;
    }
    o->name = n->name;
    o->name_hash = n->hash;
}

static size_t finish(struct qctx *c, bool with_question, struct query_stats *st)
{
    uint8_t *b = c->w.buf;
    if (c->q.edns)
        query__write_opt(c);
    wire_put16(b, c->q.id);
    uint16_t flags = (uint16_t)(DNS_F_QR | ((unsigned)c->q.opcode << 11) | (c->q.flags & DNS_F_RD) |
                                c->flags | (c->rcode & 0xF));
    /* CD is copied for a signed zone (RFC 4035 3.1.6), not otherwise (HDR-2) */
    if (c->zone != NULL && zone_dnssec(c->zone) != NULL)
        flags |= (uint16_t)(c->q.flags & DNS_F_CD);
    wire_put16(b + 2, flags);
    wire_put16(b + 4, with_question && c->q.has_question ? 1 : 0);
    wire_put16(b + 6, c->an);
    wire_put16(b + 8, c->ns);
    wire_put16(b + 10, c->ar);
    if (st != NULL) {
        STAT_ADD(st->rcode[c->rcode < 24 ? c->rcode : 23], 1);
        if (flags & DNS_F_TC)
            STAT_ADD(st->truncated, 1);
    }
    report(c, with_question);
    return c->w.len;
}

/* An answer that cannot hold its required data: header, question, OPT; TC=1 (TC-1). */
static size_t truncated(struct qctx *c, struct query_stats *st)
{
    c->flags |= DNS_F_TC;
    query__start_response(c, true);
    c->w.limit = c->max_size;
    return finish(c, true, st);
}

/* An error response: header, question when it was read, OPT when the query had one. */
static size_t error_response(struct qctx *c, uint8_t rcode, bool with_question,
                             struct query_stats *st)
{
    c->flags = 0;
    c->rcode = rcode;
    query__start_response(c, with_question);
    return finish(c, with_question, st);
}

/* ---- lookup (RFC 1034 4.3.2) --------------------------------------------------------- */

enum lookup_kind { LK_FOUND, LK_WILDCARD, LK_NXDOMAIN, LK_DELEGATION, LK_DNAME };

struct lookup {
    enum lookup_kind kind;
    const struct zone_node *node; /* the match, the wildcard node, the cut or the DNAME owner */
    int node_label;               /* label index of node's name in the looked-up name */
};

/* Look name (lowercase, split in l, hashes h) up in z whose apex is label apex_label. */
static void lookup(const struct zone *z, const uint8_t *name, const struct dname_labels *l,
                   const uint32_t *h, int apex_label, uint16_t qtype, struct lookup *r)
{
    size_t len = dname_len(name);
    const struct zone_node *n = z->apex;
    int i;
    if (apex_label > 0 && (n->flags & ZONE_NODE_DNAME)) { /* DN-3: a DNAME at the apex */
        r->kind = LK_DNAME;
        r->node = n;
        r->node_label = apex_label;
        return;
    }
    for (i = apex_label - 1; i >= 0; i--) {
        const struct zone_node *m = zone_lookup(z, name + l->off[i], len - l->off[i], h[i]);
        if (m == NULL)
            break;
        n = m;
        if ((n->flags & ZONE_NODE_CUT) && !(i == 0 && qtype == DNS_T_DS)) {
            r->kind = LK_DELEGATION; /* before the DNAME test: the referral wins (DN-3) */
            r->node = n;
            r->node_label = i;
            return;
        }
        if (i > 0 && (n->flags & ZONE_NODE_DNAME)) { /* DN-1: strictly below the owner */
            r->kind = LK_DNAME;
            r->node = n;
            r->node_label = i;
            return;
        }
    }
    if (i < 0) {
        r->kind = LK_FOUND;
        r->node = n;
        r->node_label = 0;
        return;
    }
    /* n is the closest encloser, at label i + 1; try its wildcard child (WC-1) */
    uint8_t wname[DNAME_MAX + 2];
    size_t ce = (size_t)l->off[i + 1];
    size_t celen = len - ce;
    if (celen + 2 <= DNAME_MAX) {
        wname[0] = 1;
        wname[1] = '*';
        memcpy(wname + 2, name + ce, celen);
        const struct zone_node *wc = zone_lookup(z, wname, celen + 2, dname_hash(wname));
        if (wc != NULL) {
            r->kind = LK_WILDCARD;
            r->node = wc;
            r->node_label = 0;
            return;
        }
    }
    r->kind = LK_NXDOMAIN;
    r->node = n;
    r->node_label = i + 1;
}

/* ---- sections -------------------------------------------------------------------------- */

/* Write a whole RRset with owner at owner_off. Returns 0, or -1 with nothing written. */
static int put_rrset(struct wire_writer *w, uint16_t owner_off, const struct zone_rrset *rs)
{
    struct wire_mark m = wire_mark(w);
    for (uint16_t i = 0; i < rs->count; i++) {
        if (wire_put_rr_ptr(w, owner_off, rs->type, DNS_C_IN, rs->ttl, &rs->rrs[i]) < 0) {
            wire_rewind(w, m);
            return QUERY_EFULL;
        }
    }
    return 0;
}

/* A/AAAA for the in-zone targets of rs into additional. required: fail (-1) if they do not
 * fit (DEL-2 glue); otherwise what does not fit is left out (TC-2). */
static int add_target_addresses(struct qctx *c, const struct zone_rrset *rs, bool required,
                                const uint8_t *cut)
{
    if (rs->targets == NULL)
        return 0;
    static const uint16_t types[2] = {DNS_T_A, DNS_T_AAAA};
    for (uint16_t i = 0; i < rs->count; i++) {
        const struct zone_node *t = rs->targets[i];
        if (t == NULL)
            continue;
        bool must = required && cut != NULL && dname_is_subdomain(t->name, cut);
        for (int k = 0; k < 2; k++) {
            const struct zone_rrset *a = zone_node_rrset(t, types[k]);
            if (a == NULL)
                continue;
            /* the target name is in rdata already written; compress against it */
            struct wire_mark m = wire_mark(&c->w);
            int ok = 0;
            for (uint16_t j = 0; j < a->count && ok == 0; j++)
                ok = wire_put_rr_name(&c->w, t->name, a->type, DNS_C_IN, a->ttl, &a->rrs[j]) < 0
                         ? -1
                         : 0;
            if (ok < 0) {
                wire_rewind(&c->w, m);
                if (must)
                    return QUERY_EFULL;
                continue;
            }
            c->ar = (uint16_t)(c->ar + a->count);
        }
    }
    return 0;
}

int query__add_soa(struct qctx *c, const struct zone *z)
{
    const struct zone_rrset *soa = z->soa;
    struct wire_mark m = wire_mark(&c->w);
    uint16_t ns = c->ns;
    if (wire_put_rr_name(&c->w, z->origin, DNS_T_SOA, DNS_C_IN, z->neg_ttl, &soa->rrs[0]) < 0)
        return QUERY_EFULL;
    c->ns++;
    int rc = query__add_rrsig(c, z, z->origin, 0, soa, z->neg_ttl, &c->ns);
    if (rc == 0 && zone_dnssec(z) != NULL && c->q.edns_do && c->deny_name != NULL)
        rc = query__add_denial(c, z);
    if (rc == QUERY_EUNSIGNED) /* no answer it cannot prove */
        return query__servfail_unsigned(c);
    if (rc < 0) {
        wire_rewind(&c->w, m); /* an RRset and its RRSIG go together */
        c->ns = ns;
        return QUERY_EFULL;
    }
    return 0;
}

/* Referral from cut (DEL-1): the cut's NS in authority (owner compressed against the
 * question), glue in additional (DEL-2). */
static int add_referral(struct qctx *c, const struct zone *z, const struct zone_node *cut)
{
    const struct zone_rrset *ns = zone_node_rrset(cut, DNS_T_NS);
    struct wire_mark m = wire_mark(&c->w);
    for (uint16_t i = 0; i < ns->count; i++) {
        if (wire_put_rr_name(&c->w, cut->name, DNS_T_NS, DNS_C_IN, ns->ttl, &ns->rrs[i]) < 0) {
            wire_rewind(&c->w, m);
            return QUERY_EFULL;
        }
    }
    c->ns = (uint16_t)(c->ns + ns->count);
    int rc = query__add_referral_ds(c, z, cut);
    if (rc == QUERY_EUNSIGNED)
        return query__servfail_unsigned(c);
    if (rc < 0) {
        wire_rewind(&c->w, m);
        c->ns = (uint16_t)(c->ns - ns->count);
        return QUERY_EFULL;
    }
    return add_target_addresses(c, ns, true, cut->name);
}

/* HINFO "RFC8482" "" for ANY over UDP (RFC 8482 4.2). */
static const uint8_t hinfo_rdata[] = {7, 'R', 'F', 'C', '8', '4', '8', '2', 0};
static const struct wire_rr hinfo_rr = {hinfo_rdata, sizeof(hinfo_rdata), 0, {0, 0}};

/* ---- the decision record (explain asks for it; nothing is done when it does not) -------- */

/* Record one lookup of the chain. */
static void trace_step(const struct qctx *c, const uint8_t *name, const struct lookup *r)
{
    struct query_decision *t = c->req->decision;
    if (t == NULL || t->nsteps >= QUERY_CHAIN_MAX)
        return;
    struct query_step *s = &t->steps[t->nsteps++];
    memcpy(s->name, name, dname_len(name));
    s->node = r->node;
    s->match = r->kind == LK_FOUND      ? QUERY_M_NAME
               : r->kind == LK_WILDCARD ? QUERY_M_WILDCARD
               : r->kind == LK_NXDOMAIN ? QUERY_M_NXDOMAIN
                                        : QUERY_M_CUT;
}

/* Answer the name at owner_off from node n (found or wildcard) in zone z for qtype.
 * Returns 0, with *cname_target set when the answer is a CNAME whose target must be
 * followed (*cname_off: the target's offset), or QUERY_EFULL when a required RRset did not
 * fit. */
static int answer_node(struct qctx *c, const struct zone *z, const struct zone_node *n,
                       uint16_t owner_off, uint16_t qtype, int *cname_off,
                       const uint8_t **cname_target)
{
    const struct zone_rrset *cn = zone_node_rrset(n, DNS_T_CNAME);
    if (cn != NULL && qtype != DNS_T_CNAME) {
        int off = wire_put_rr_ptr(&c->w, owner_off, DNS_T_CNAME, DNS_C_IN, cn->ttl, &cn->rrs[0]);
        if (off < 0)
            return QUERY_EFULL;
        c->an++;
        int sr = query__add_rrsig(c, z, NULL, owner_off, cn, cn->ttl, &c->an);
        if (sr != 0)
            return sr == QUERY_EUNSIGNED ? query__servfail_unsigned(c) : sr;
        if (qtype == DNS_T_ANY)
            return 0; /* ANY-2: at an alias, the CNAME alone, not followed (as NSD, Knot) */
        *cname_off = off;
        *cname_target = cn->rrs[0].rdata;
        return 0;
    }
    bool service = n->service >= 0 && c->v->gslb != NULL;
    if (service && (qtype == DNS_T_A || qtype == DNS_T_AAAA))
        return query__answer_service(c, z, n, owner_off, qtype == DNS_T_A, qtype == DNS_T_AAAA);
    if (qtype == DNS_T_ANY) {
        if (n->nrrsets == 0 && !service)
            return query__add_soa(c, z);
        if (c->req->transport == QUERY_UDP) {
            if (wire_put_rr_ptr(&c->w, owner_off, DNS_T_HINFO, DNS_C_IN, z->soa->ttl, &hinfo_rr) <
                0)
                return QUERY_EFULL;
            c->an++;
            if (zone_dnssec(z) != NULL && c->q.edns_do) { /* RFC 8482 4.2: signed like the rest */
                const struct wire_rr *one = &hinfo_rr;
                struct dnssec_sig sig;
                if (dnssec_zone_sign_online(zone_dnssec(z), z, c->deny_name, DNS_T_HINFO,
                                            z->soa->ttl, &one, 1, &sig) < 0)
                    return query__servfail_unsigned(c);
                if (wire_put_rr_ptr(&c->w, owner_off, DNS_T_RRSIG, DNS_C_IN, z->soa->ttl, &sig.rr) <
                    0)
                    return QUERY_EFULL;
                c->an++;
            }
            return 0;
        }
        for (uint16_t i = 0; i < n->nrrsets; i++) {
            uint16_t t = n->rrsets[i].type;
            if (service && (t == DNS_T_A || t == DNS_T_AAAA))
                continue; /* the service supplies these */
            if (put_rrset(&c->w, owner_off, &n->rrsets[i]) < 0)
                return QUERY_EFULL;
            c->an = (uint16_t)(c->an + n->rrsets[i].count);
            int sr =
                query__add_rrsig(c, z, NULL, owner_off, &n->rrsets[i], n->rrsets[i].ttl, &c->an);
            if (sr != 0)
                return sr == QUERY_EUNSIGNED ? query__servfail_unsigned(c) : sr;
        }
        if (service)
            return query__answer_service(c, z, n, owner_off, true, true);
        return 0;
    }
    const struct zone_rrset *rs = zone_node_rrset(n, qtype);
    if (rs == NULL && n == z->apex && zone_dnssec(z) != NULL) /* DNSKEY, CDS, CDNSKEY */
        rs = dnssec_zone_apex_rrset(zone_dnssec(z), qtype);
    if (rs == NULL)
        return query__add_soa(c, z); /* NODATA (NEG-2, NEG-4) */
    if (put_rrset(&c->w, owner_off, rs) < 0)
        return QUERY_EFULL;
    c->an = (uint16_t)(c->an + rs->count);
    int sr = query__add_rrsig(c, z, NULL, owner_off, rs, rs->ttl, &c->an);
    if (sr != 0)
        return sr == QUERY_EUNSIGNED ? query__servfail_unsigned(c) : sr;
    add_target_addresses(c, rs, false, NULL);
    return 0;
}

/* DN-1, DN-2: the current name (lowercase name, its owner at owner_off in the response) is
 * strictly below the DNAME owner d, whose name starts prefix octets into it. Writes d's
 * DNAME, then the CNAME synthesized from it straight into the response: owner the current
 * name, TTL the DNAME's, target (also left in cur) the name with d's name replaced by the
 * DNAME target. The replaced part is lowercase, as NSD writes it. Returns 0, with *follow
 * and *target_off set when the target must be looked up (not for YXDOMAIN or QTYPE=CNAME),
 * or QUERY_EFULL when it did not fit. */
static int answer_dname(struct qctx *c, const struct zone *z, const struct zone_node *d, bool again,
                        const uint8_t *name, size_t prefix, uint16_t owner_off, uint16_t qtype,
                        uint8_t *cur, int *target_off, bool *follow)
{
    const struct zone_rrset *dn = zone_node_rrset(d, DNS_T_DNAME);
    const struct wire_rr *rr = &dn->rrs[0];
    struct wire_mark m = wire_mark(&c->w);
    uint16_t an = c->an;
    if (!again) { /* a DNAME applied again in one chain is written once */
        if (wire_put_rr_name(&c->w, d->name, DNS_T_DNAME, DNS_C_IN, dn->ttl, rr) < 0)
            return QUERY_EFULL;
        c->an++;
        if (query__add_rrsig(c, z, d->name, 0, dn, dn->ttl, &c->an) == QUERY_EFULL)
            goto full;
    }
    size_t tlen = dname_len(rr->rdata);
    if (prefix + tlen > DNAME_MAX) { /* DN-2: the DNAME alone explains the error */
        c->rcode = DNS_R_YXDOMAIN;
        return 0;
    }
    memcpy(cur, name, prefix);
    memcpy(cur + prefix, rr->rdata, tlen);
    if (c->w.len + 12 > c->w.limit)
        goto full;
    uint8_t *h = c->w.buf + c->w.len;
    wire_put16(h, (uint16_t)(0xC000u | owner_off));
    wire_put16(h + 2, DNS_T_CNAME);
    wire_put16(h + 4, DNS_C_IN);
    wire_put32(h + 6, dn->ttl);
    c->w.len += 12;
    int at = wire_put_name(&c->w, cur);
    if (at < 0)
        goto full;
    wire_put16(h + 10, (uint16_t)(c->w.len - (size_t)at));
    c->an++;
    *target_off = at;
    *follow = qtype != DNS_T_CNAME;
    return 0;
full:
    wire_rewind(&c->w, m);
    c->an = an;
    return QUERY_EFULL;
}

/* The zone that answers name for qtype: the most specific one, except that the DS RRset at
 * a zone's apex is the parent zone's data (RFC 4035 3.1.4.1), when the parent is served
 * here too. */
static const struct zone *find_zone(const struct view *v, const uint8_t *name,
                                    const struct dname_labels *l, const uint32_t *h, uint16_t qtype,
                                    int *apex_label)
{
    const struct zone *z = view_find_zone(v, name, l, h, apex_label);
    if (z != NULL && qtype == DNS_T_DS && *apex_label == 0 && l->count > 0) {
        int above = 0;
        const struct zone *p = view_find_zone_from(v, name, l, h, 1, &above);
        if (p != NULL) {
            *apex_label = above;
            return p;
        }
    }
    return z;
}

/* Resolve the question, following CNAMEs and DNAMEs inside our zones (CN-1, CN-2, DN-1). */
static int resolve(struct qctx *c, const struct zone *z, int apex_label)
{
    const uint8_t *name = c->q.lname;
    struct dname_labels l = c->q.labels;
    uint8_t lname[DNAME_MAX];
    uint8_t cur[DNAME_MAX]; /* a DNAME's synthesized target */
    uint16_t owner_off = DNS_HDR;
    uint16_t qtype = c->q.qtype;
    /* owners answered so far, to stop a loop at its first repeat (CN-2) */
    const struct zone_node *seen_node[CNAME_CHAIN_MAX];
    uint32_t seen_hash[CNAME_CHAIN_MAX];
    /* DNAMEs applied so far: the chain may meet one again under another name (DN-1) */
    const struct zone_node *dnames[CNAME_CHAIN_MAX];
    int ndnames = 0;

    for (int step = 0;; step++) {
        struct lookup r;
        lookup(z, name, &l, c->hashes, apex_label, qtype, &r);
        trace_step(c, name, &r);
        for (int k = 0; k < step; k++)
            if (seen_node[k] == r.node && seen_hash[k] == c->hashes[0])
                return 0; /* a loop: the chain so far, NOERROR */
        seen_node[step] = r.node;
        seen_hash[step] = c->hashes[0];
        if (step == 0) { /* the rate-limiting key (report) */
            c->key_node = r.node;
            c->referral = r.kind == LK_DELEGATION;
        }
        if (r.kind == LK_DELEGATION)
            return add_referral(c, z, r.node); /* AA stays as the first owner set it */
        if (step == 0)
            c->flags |= DNS_F_AA; /* HDR-3: AA follows the first owner */
        c->rcode = DNS_R_NOERROR;
        c->deny_name = name;
        c->deny_node = r.kind == LK_NXDOMAIN ? NULL : r.node;
        c->wild_node = r.kind == LK_WILDCARD ? r.node : NULL;
        if (r.kind == LK_NXDOMAIN) {
            c->rcode = DNS_R_NXDOMAIN;
            return query__add_soa(c, z);
        }
        int cname_off = 0;
        const uint8_t *target = NULL;
        const struct zone_node *dname_owner = NULL;
        size_t dname_prefix = 0;
        int rc;
        if (r.kind == LK_DNAME) {
            size_t prefix = r.node_label < l.count ? l.off[r.node_label] : dname_len(name) - 1;
            bool again = false;
            for (int k = 0; k < ndnames; k++)
                again = again || dnames[k] == r.node;
            if (!again)
                dnames[ndnames++] = r.node;
            bool follow = false;
            rc = answer_dname(c, z, r.node, again, name, prefix, owner_off, qtype, cur, &cname_off,
                              &follow);
            target = follow ? cur : NULL;
            dname_owner = r.node;
            dname_prefix = prefix;
        } else {
            rc = answer_node(c, z, r.node, owner_off, qtype, &cname_off, &target);
        }
        if (rc < 0 || target == NULL || step + 1 >= CNAME_CHAIN_MAX)
            return rc < 0 ? rc : 0; /* CN-2: a long chain stops with what it has */
        size_t tlen = dname_copy_lower(lname, target);
        /* DN-1: a DNAME whose target lies at or below its own owner would only grow the
         * name at every step; as NSD, its synthesized CNAME ends the answer */
        if (dname_owner != NULL && dname_is_subdomain(lname + dname_prefix, dname_owner->name))
            return 0;
        if (dname_split(lname, tlen, &l) < 0)
            return 0;
        dname_suffix_hashes(lname, &l, c->hashes);
        z = find_zone(c->v, lname, &l, c->hashes, qtype, &apex_label);
        if (z == NULL)
            return 0; /* an out-of-zone target ends the chain with NOERROR (CN-1) */
        name = lname;
        /* the next owner is the target as written in the CNAME's RDATA */
        owner_off = (uint16_t)cname_off;
        if ((c->w.buf[owner_off] & 0xC0) == 0xC0)
            owner_off = wire_get16(c->w.buf + owner_off) & 0x3FFF;
    }
}

/* ---- the driver ----------------------------------------------------------------------- */

static enum query_qtype qtype_slot(uint16_t t)
{
    switch (t) {
    case DNS_T_A:
        return QUERY_QT_A;
    case DNS_T_AAAA:
        return QUERY_QT_AAAA;
    case DNS_T_MX:
        return QUERY_QT_MX;
    case DNS_T_TXT:
        return QUERY_QT_TXT;
    case DNS_T_NS:
        return QUERY_QT_NS;
    case DNS_T_SOA:
        return QUERY_QT_SOA;
    case DNS_T_CNAME:
        return QUERY_QT_CNAME;
    case DNS_T_SRV:
        return QUERY_QT_SRV;
    case DNS_T_ANY:
        return QUERY_QT_ANY;
    default:
        return QUERY_QT_OTHER;
    }
}

size_t query_answer(const struct view *v, const struct query_req *req, uint8_t *out, size_t outcap,
                    struct query_stats *st)
{
    struct qctx c;
    c.v = v;
    c.req = req;
    c.flags = 0;
    c.rcode = 0;
    c.w.buf = out;
    c.w.ncomp = 0;
    c.w.len = 0;
    c.ecs_scope = 0;
    c.cookie_out = false;
    c.valid_cookie = false;
    c.opt_off = 0;
    c.zone = NULL;
    c.key_node = NULL;
    c.referral = false;
    c.deny_name = NULL;
    c.deny_node = NULL;
    c.wild_node = NULL;
    c.st = st;
    if (req->decision != NULL) {
        req->decision->nsteps = 0;
        req->decision->gslb = false;
    }

    if (st != NULL) {
        STAT_ADD(st->queries, 1);
        STAT_ADD(st->transport[req->transport == QUERY_TCP], 1);
    }
    c.client = query_client_of(req->src);
    if (req->transport == QUERY_UDP && query_client_unreachable(&c.client))
        goto drop;

    /* parse */
    enum wire_status ps = wire_parse_query(req->pkt, req->len, &c.q);
    if (ps == WIRE_DROP)
        goto drop;
    c.max_size = query__response_max(&c);
    if (c.max_size > outcap)
        c.max_size = outcap;
    query__cookie_stage(&c);
    c.opt_size = query__opt_size(&c);
    c.w.limit = c.max_size - c.opt_size;
    if (st != NULL) {
        STAT_ADD(st->edns, c.q.edns);
        STAT_ADD(st->ecs, c.q.ecs);
        if (c.q.has_question)
            STAT_ADD(st->qtype[qtype_slot(c.q.qtype)], 1);
    }

    /* classify */
    if (c.q.opcode != 0) {
        if (ps != WIRE_OK)
            c.q.edns = false, c.opt_size = 0;
        return error_response(&c, DNS_R_NOTIMP, false, st); /* OP-1 */
    }
    if (ps == WIRE_FORMERR)
        return error_response(&c, DNS_R_FORMERR, c.q.has_question, st);
    if (ps == WIRE_BADVERS)
        return error_response(&c, DNS_R_BADVERS, true, st); /* EDNS-3 */
    if (!c.q.has_question) /* a lone COOKIE (OP-2): NOERROR, OPT with our COOKIE (CK-1) */
        return error_response(&c, DNS_R_NOERROR, false, st);
    if (c.q.qclass != DNS_C_IN && c.q.qclass != DNS_C_ANY)
        return error_response(&c, DNS_R_REFUSED, true, st); /* */
    if (c.q.qtype == DNS_T_AXFR || c.q.qtype == DNS_T_IXFR) /* */
        return error_response(&c, req->transport == QUERY_UDP ? DNS_R_NOTIMP : DNS_R_REFUSED, true,
                              st);

    /* zone */
    int apex_label = 0;
    dname_suffix_hashes(c.q.lname, &c.q.labels, c.hashes);
    const struct zone *z = find_zone(v, c.q.lname, &c.q.labels, c.hashes, c.q.qtype, &apex_label);
    if (z == NULL)
        return error_response(&c, DNS_R_REFUSED, true, st); /* */
    c.zone = z;

    /* answer */
    query__start_response(&c, true);
    if (resolve(&c, z, apex_label) < 0) {
        /* TC-1: the header is the full answer's, RCODE too (a chain cut short by the limit
         * may end in NXDOMAIN). Resolve again in the room the buffer has only to learn it;
         * no stats: this is not a second answer. */
        size_t room = outcap - c.opt_size;
        if (c.w.limit < room) {
            if (req->decision != NULL)
                req->decision->nsteps = 0;
            c.w.limit = room;
            c.st = NULL;
            query__start_response(&c, true);
            dname_suffix_hashes(c.q.lname, &c.q.labels, c.hashes); /* the chain's last name's */
            resolve(&c, z, apex_label);
            c.st = st;
        }
        return truncated(&c, st);
    }
    if (c.q.qclass == DNS_C_ANY) /* we are not authoritative for every class (as NSD) */
        c.flags &= (uint16_t)~DNS_F_AA;
    return finish(&c, true, st);

drop:
    if (st != NULL)
        STAT_ADD(st->dropped, 1);
    return 0;
}

size_t query_truncate(uint8_t *resp, size_t len, const struct query_out *o)
{
    size_t n = o->question_end;
    uint16_t ar = 0;
    if (o->opt_off >= n && o->opt_off != 0 && o->opt_off < len) {
        memmove(resp + n, resp + o->opt_off, len - o->opt_off);
        n += len - o->opt_off;
        ar = 1;
    }
    resp[2] |= (uint8_t)(DNS_F_TC >> 8);
    wire_put16(resp + 6, 0);
    wire_put16(resp + 8, 0);
    wire_put16(resp + 10, ar);
    return n;
}
