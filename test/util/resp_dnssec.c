/* resp_dnssec.c: the signatures of a signed zone's response, checked with ldns (an
 * implementation that shares no code with the server): every RRset that must be signed
 * has an RRSIG that fits it, every RRSIG covers an RRset beside it, and, given the zone's
 * DNSKEY RRset, each RRset verifies with it. Without the keys the zones are the signers the
 * response names: what they sign is checked for shape, not cryptographically. */
#include "test/util/resp_dnssec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ZONES 16

/* The zones whose RRsets must be signed: the DNSKEY owner, or the signers seen. */
struct zones {
    const ldns_rdf *apex[MAX_ZONES];
    size_t n;
    bool keyed; /* apex[0] is the DNSKEY owner: signatures are verified */
};

static bool is_type(const ldns_rr *rr, ldns_rr_type t)
{
    return ldns_rr_get_type(rr) == t;
}

static bool same_name(const ldns_rdf *a, const ldns_rdf *b)
{
    return ldns_dname_compare(a, b) == 0; /* canonical: case does not matter */
}

static bool at_or_below(const ldns_rdf *name, const ldns_rdf *apex)
{
    return same_name(name, apex) || ldns_dname_is_subdomain(name, apex);
}

/* The deepest zone that holds name, or NULL when none does. */
static const ldns_rdf *zone_of(const struct zones *z, const ldns_rdf *name)
{
    const ldns_rdf *best = NULL;
    for (size_t i = 0; i < z->n; i++)
        if (at_or_below(name, z->apex[i]) &&
            (best == NULL || ldns_dname_label_count(z->apex[i]) > ldns_dname_label_count(best)))
            best = z->apex[i];
    return best;
}

/* A CNAME in the answer synthesized from a DNAME there (validators make it themselves). */
static bool synthesized(const ldns_rr_list *answer, const ldns_rr *cname)
{
    if (!is_type(cname, LDNS_RR_TYPE_CNAME))
        return false;
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
        const ldns_rr *d = ldns_rr_list_rr(answer, i);
        if (is_type(d, LDNS_RR_TYPE_DNAME) &&
            ldns_dname_is_subdomain(ldns_rr_owner(cname), ldns_rr_owner(d)))
            return true;
    }
    return false;
}

static ldns_rr_type covered(const ldns_rr *sig)
{
    return ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
}

/* The first RR of sec at owner of type t, or NULL. */
static ldns_rr *find_rr(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type t)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
        ldns_rr *x = ldns_rr_list_rr(sec, i);
        if (is_type(x, t) && same_name(ldns_rr_owner(x), owner))
            return x;
    }
    return NULL;
}

static int bad(char *why, size_t cap, const char *sec, const ldns_rr *rr, ldns_rr_type t,
               const char *what, bool tc)
{
    char *name = ldns_rdf2str(ldns_rr_owner(rr));
    char *tname = ldns_rr_type2str(t);
    snprintf(why, cap, "%s %s %s: %s%s", sec, name ? name : "?", tname ? tname : "?", what,
             tc ? " (split by truncation)" : "");
    free(name);
    free(tname);
    return RESP_EDNSSEC;
}

/* Each RRSIG of sec: it covers an RRset of sec at its owner (unless RRSIGs were asked for:
 * then they are the data), its labels are its owner's (gslbd signs wildcard answers at the
 * name asked, so never fewer), its TTL is the RRset's and its original TTL not below it,
 * its signer is the zone, and its window is not empty. */
static int check_sigs(const ldns_rr_list *sec, const char *sname, const struct zones *z,
                      ldns_rr_type qtype, bool tc, char *why, size_t cap)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
        const ldns_rr *s = ldns_rr_list_rr(sec, i);
        if (!is_type(s, LDNS_RR_TYPE_RRSIG))
            continue;
        const ldns_rdf *owner = ldns_rr_owner(s), *signer = ldns_rr_rrsig_signame(s);
        ldns_rr_type t = covered(s);
        if (ldns_rr_rd_count(s) != 9 || signer == NULL)
            return bad(why, cap, sname, s, t, "an RRSIG without its nine fields", false);
        const ldns_rr *rr = find_rr(sec, owner, t);
        if (rr == NULL) {
            if (qtype == LDNS_RR_TYPE_RRSIG)
                continue;
            return bad(why, cap, sname, s, t, "an RRSIG that covers no RRset of its section", tc);
        }
        size_t labels = ldns_dname_label_count(owner);
        if (ldns_dname_is_wildcard(owner))
            labels--;
        const ldns_rdf *zone = zone_of(z, owner);
        if (ldns_rdf2native_int8(ldns_rr_rrsig_labels(s)) != labels)
            return bad(why, cap, sname, s, t, "RRSIG labels are not the owner's", false);
        if (ldns_rdf2native_int32(ldns_rr_rrsig_origttl(s)) < ldns_rr_ttl(rr))
            return bad(why, cap, sname, s, t, "RRSIG original TTL below the TTL served", false);
        if (ldns_rr_ttl(s) != ldns_rr_ttl(rr))
            return bad(why, cap, sname, s, t, "RRSIG TTL is not the RRset's", false);
        /* keyed, an owner outside the zone is another zone's (a CNAME chain's end) */
        if (zone == NULL ? !z->keyed || !at_or_below(owner, signer) : !same_name(signer, zone))
            return bad(why, cap, sname, s, t, "RRSIG signer is not the zone's apex", false);
        uint32_t inc = ldns_rdf2native_int32(ldns_rr_rrsig_inception(s)),
                 exp = ldns_rdf2native_int32(ldns_rr_rrsig_expiration(s));
        if ((int32_t)(exp - inc) <= 0)
            return bad(why, cap, sname, s, t, "RRSIG expires before its inception", false);
    }
    return 0;
}

/* Each RRset of sec that its zone must sign has an RRSIG (and, keyed, one that verifies). */
static int check_sets(const ldns_rr_list *sec, const ldns_rr_list *answer, bool authority,
                      const struct zones *z, const ldns_rr_list *keys, bool tc, char *why,
                      size_t cap)
{
    const char *sname = authority ? "authority" : "answer";
    size_t n = ldns_rr_list_rr_count(sec);
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = ldns_rr_list_rr(sec, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        const ldns_rdf *owner = ldns_rr_owner(rr);
        if (t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_OPT || synthesized(answer, rr))
            continue;
        const ldns_rdf *zone = zone_of(z, owner);
        if (zone == NULL)
            continue; /* another zone's (a CNAME chain's end), or an unsigned one */
        if (authority && t == LDNS_RR_TYPE_NS && !same_name(owner, zone))
            continue;      /* a delegation's NS is not signed (RFC 4035 2.2) */
        bool seen = false; /* the RRset once, at its first RR */
        for (size_t j = 0; j < i && !seen; j++)
            seen = is_type(ldns_rr_list_rr(sec, j), t) &&
                   same_name(ldns_rr_owner(ldns_rr_list_rr(sec, j)), owner);
        if (seen)
            continue;
        ldns_rr_list *set = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
        for (size_t j = 0; j < n; j++) {
            ldns_rr *x = ldns_rr_list_rr(sec, j);
            if (!same_name(ldns_rr_owner(x), owner))
                continue;
            if (ldns_rr_get_type(x) == t)
                ldns_rr_list_push_rr(set, x);
            else if (is_type(x, LDNS_RR_TYPE_RRSIG) && covered(x) == t)
                ldns_rr_list_push_rr(sigs, x);
        }
        int rc = 0;
        if (ldns_rr_list_rr_count(sigs) == 0) {
            rc = bad(why, cap, sname, rr, t, "no RRSIG", tc);
        } else if (keys != NULL) {
            ldns_status st = LDNS_STATUS_ERR;
            for (size_t j = 0; st != LDNS_STATUS_OK && j < ldns_rr_list_rr_count(sigs); j++)
                st = ldns_verify_rrsig_keylist(set, ldns_rr_list_rr(sigs, j), keys, NULL);
            if (st != LDNS_STATUS_OK)
                rc = bad(why, cap, sname, rr, t, ldns_get_errorstr_by_id(st), false);
        }
        ldns_rr_list_free(set); /* the lists only; the RRs belong to the packet */
        ldns_rr_list_free(sigs);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Without DO, no RRSIG or NSEC may appear (unless asked for). */
static int check_unsigned(const ldns_pkt *rp, ldns_rr_type qt, char *why, size_t cap)
{
    for (int s = 0; s < 2; s++) {
        ldns_rr_list *sec = s == 0 ? ldns_pkt_answer(rp) : ldns_pkt_authority(rp);
        for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
            ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(sec, i));
            if ((t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC) && t != qt &&
                qt != LDNS_RR_TYPE_ANY) {
                snprintf(why, cap, "an %s without DO", t == LDNS_RR_TYPE_RRSIG ? "RRSIG" : "NSEC");
                return RESP_EDNSSEC;
            }
        }
    }
    return 0;
}

int resp_check_dnssec(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
                      const ldns_rr_list *keys, char *why, size_t cap)
{
    ldns_pkt *qp = NULL, *rp = NULL;
    int rc = 0;
    why[0] = '\0';
    if (keys != NULL && ldns_rr_list_rr_count(keys) == 0)
        keys = NULL;
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK && keys == NULL)
        goto out; /* a malformed query (a FORMERR case) asks nothing of DNSSEC */
    if (qp == NULL || ldns_wire2pkt(&rp, r, rlen) != LDNS_STATUS_OK) {
        snprintf(why, cap, "%s not parsed by ldns", qp == NULL ? "query" : "response");
        rc = RESP_EDNSSEC;
        goto out;
    }
    ldns_rr_type qt = ldns_rr_list_rr_count(ldns_pkt_question(qp)) > 0
                          ? ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(qp), 0))
                          : 0;
    ldns_rr_list *an = ldns_pkt_answer(rp), *ns = ldns_pkt_authority(rp);
    if (!ldns_pkt_edns_do(qp)) {
        if (keys != NULL)
            rc = check_unsigned(rp, qt, why, cap);
        goto out;
    }
    struct zones z = {.n = 0, .keyed = keys != NULL};
    if (keys != NULL) {
        z.apex[z.n++] = ldns_rr_owner(ldns_rr_list_rr(keys, 0));
    } else { /* the zones that signed something here */
        for (int s = 0; s < 2; s++) {
            ldns_rr_list *sec = s == 0 ? an : ns;
            for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
                const ldns_rr *x = ldns_rr_list_rr(sec, i);
                const ldns_rdf *signer =
                    is_type(x, LDNS_RR_TYPE_RRSIG) ? ldns_rr_rrsig_signame(x) : NULL;
                bool known = signer == NULL;
                for (size_t k = 0; k < z.n && !known; k++)
                    known = same_name(z.apex[k], signer);
                if (!known && z.n < MAX_ZONES)
                    z.apex[z.n++] = signer;
            }
        }
        if (z.n == 0)
            goto out; /* nothing signed: an unsigned zone's answer */
    }
    bool tc = ldns_pkt_tc(rp);
    rc = check_sigs(an, "answer", &z, qt, tc, why, cap);
    if (rc == 0)
        rc = check_sigs(ns, "authority", &z, qt, tc, why, cap);
    if (rc == 0)
        rc = check_sets(an, an, false, &z, keys, tc, why, cap);
    if (rc == 0)
        rc = check_sets(ns, an, true, &z, keys, tc, why, cap);
out:
    ldns_pkt_free(qp);
    ldns_pkt_free(rp);
    return rc;
}

int resp_dnssec_load_keys(const char *path, ldns_rr_list **keys)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    *keys = ldns_rr_list_new();
    uint32_t ttl = 3600;
    ldns_rdf *origin = NULL, *prev = NULL;
    int line = 0;
    while (!feof(f)) {
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
        if (st == LDNS_STATUS_OK && rr != NULL && is_type(rr, LDNS_RR_TYPE_DNSKEY))
            ldns_rr_list_push_rr(*keys, rr);
        else
            ldns_rr_free(rr);
    }
    fclose(f);
    ldns_rdf_deep_free(origin);
    ldns_rdf_deep_free(prev);
    return ldns_rr_list_rr_count(*keys) > 0 ? 0 : -1;
}
