/* resp_dnssec.c: the signatures of a signed zone's response, checked with ldns (an
 * implementation that shares no code with the server): every RRset that must be signed
 * has an RRSIG that fits it and verifies with the zone's DNSKEY RRset. */
#include "test/util/resp_dnssec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_type(const ldns_rr *rr, ldns_rr_type t)
{
    return ldns_rr_get_type(rr) == t;
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

static int check_section(const ldns_rr_list *sec, const ldns_rr_list *answer, bool authority,
                         const ldns_rdf *apex, const ldns_rr_list *keys, char *why, size_t cap)
{
    size_t n = ldns_rr_list_rr_count(sec);
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = ldns_rr_list_rr(sec, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        const ldns_rdf *owner = ldns_rr_owner(rr);
        if (t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_OPT || synthesized(answer, rr))
            continue;
        if (authority && t == LDNS_RR_TYPE_NS && ldns_dname_compare(owner, apex) != 0)
            continue; /* a delegation's NS is not signed (RFC 4035 2.2) */
        if (ldns_dname_compare(owner, apex) != 0 && !ldns_dname_is_subdomain(owner, apex))
            continue;      /* another zone's (a CNAME chain's end) */
        bool seen = false; /* the RRset once, at its first RR */
        for (size_t j = 0; j < i && !seen; j++)
            seen = is_type(ldns_rr_list_rr(sec, j), t) &&
                   ldns_dname_compare(ldns_rr_owner(ldns_rr_list_rr(sec, j)), owner) == 0;
        if (seen)
            continue;
        ldns_rr_list *set = ldns_rr_list_new(), *sigs = ldns_rr_list_new();
        char *name = ldns_rdf2str(owner);
        char *tname = ldns_rr_type2str(t);
        int rc = 0;
        for (size_t j = 0; j < n; j++) {
            ldns_rr *x = ldns_rr_list_rr(sec, j);
            if (ldns_dname_compare(ldns_rr_owner(x), owner) != 0)
                continue;
            if (ldns_rr_get_type(x) == t)
                ldns_rr_list_push_rr(set, x);
            else if (is_type(x, LDNS_RR_TYPE_RRSIG) &&
                     ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(x)) == t)
                ldns_rr_list_push_rr(sigs, x);
        }
        size_t labels = ldns_dname_label_count(owner);
        if (ldns_dname_is_wildcard(owner))
            labels--;
        for (size_t j = 0; rc == 0 && j < ldns_rr_list_rr_count(sigs); j++) {
            ldns_rr *s = ldns_rr_list_rr(sigs, j);
            if (ldns_rdf2native_int8(ldns_rr_rrsig_labels(s)) > labels ||
                ldns_rdf2native_int32(ldns_rr_rrsig_origttl(s)) < ldns_rr_ttl(rr) ||
                ldns_dname_compare(ldns_rr_rrsig_signame(s), apex) != 0) {
                snprintf(why, cap,
                         "%s %s: an RRSIG whose labels, original TTL or signer do "
                         "not fit",
                         name, tname);
                rc = RESP_EDNSSEC;
            }
        }
        if (rc == 0 && ldns_rr_list_rr_count(sigs) == 0) {
            snprintf(why, cap, "%s %s %s: no RRSIG", authority ? "authority" : "answer", name,
                     tname);
            rc = RESP_EDNSSEC;
        }
        if (rc == 0) {
            ldns_status st = ldns_verify_rrsig_keylist(set, ldns_rr_list_rr(sigs, 0), keys, NULL);
            for (size_t j = 1; st != LDNS_STATUS_OK && j < ldns_rr_list_rr_count(sigs); j++)
                st = ldns_verify_rrsig_keylist(set, ldns_rr_list_rr(sigs, j), keys, NULL);
            if (st != LDNS_STATUS_OK) {
                snprintf(why, cap, "%s %s: %s", name, tname, ldns_get_errorstr_by_id(st));
                rc = RESP_EDNSSEC;
            }
        }
        free(name);
        free(tname);
        ldns_rr_list_free(set); /* the lists only; the RRs belong to the packet */
        ldns_rr_list_free(sigs);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int resp_check_dnssec(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
                      const ldns_rr_list *keys, char *why, size_t cap)
{
    ldns_pkt *qp = NULL, *rp = NULL;
    int rc = 0;
    why[0] = '\0';
    if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK ||
        ldns_wire2pkt(&rp, r, rlen) != LDNS_STATUS_OK) {
        snprintf(why, cap, "not parsed by ldns");
        rc = RESP_EDNSSEC;
        goto out;
    }
    if (ldns_pkt_tc(rp) || ldns_rr_list_rr_count(keys) == 0)
        goto out;
    const ldns_rdf *apex = ldns_rr_owner(ldns_rr_list_rr(keys, 0));
    ldns_rr_list *an = ldns_pkt_answer(rp), *ns = ldns_pkt_authority(rp);
    if (!ldns_pkt_edns_do(qp)) {
        ldns_rr_type qt = ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_question(qp), 0));
        for (int s = 0; s < 2 && rc == 0; s++) {
            ldns_rr_list *sec = s == 0 ? an : ns;
            for (size_t i = 0; i < ldns_rr_list_rr_count(sec) && rc == 0; i++) {
                ldns_rr_type t = ldns_rr_get_type(ldns_rr_list_rr(sec, i));
                if ((t == LDNS_RR_TYPE_RRSIG || t == LDNS_RR_TYPE_NSEC) && t != qt &&
                    qt != LDNS_RR_TYPE_ANY) {
                    snprintf(why, cap, "an %s without DO",
                             t == LDNS_RR_TYPE_RRSIG ? "RRSIG" : "NSEC");
                    rc = RESP_EDNSSEC;
                }
            }
        }
        goto out;
    }
    rc = check_section(an, an, false, apex, keys, why, cap);
    if (rc == 0)
        rc = check_section(ns, an, true, apex, keys, why, cap);
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
