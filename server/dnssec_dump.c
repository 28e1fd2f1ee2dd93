/* dnssec_dump.c: gslbd --dump-zone: a zone as the server holds it, in master file form,
 * with its signatures. Compact denial answers each missing name with an NSEC made then, so
 * a signed zone has no NSEC chain of its own; the dump makes one (every authoritative name
 * and delegation point in canonical order, RFC 4034 6.1) and signs it with the zone's key
 * and window, so that a zone checker can check the whole zone, denial included. Runs once,
 * off the serving path; ldns writes the text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "server/dnssec_zone.h"
#include "server/dns/wire.h"

/* The RR owner/type/ttl/rdata as ldns text on f. */
static int print_rr(FILE *f, const uint8_t *owner, uint16_t type, uint32_t ttl,
                    const uint8_t *rdata, size_t rdlen)
{
    uint8_t buf[DNAME_MAX + 10 + 65535];
    size_t olen = dname_len(owner);
    memcpy(buf, owner, olen);
    wire_put16(buf + olen, type);
    wire_put16(buf + olen + 2, 1);
    wire_put32(buf + olen + 4, ttl);
    wire_put16(buf + olen + 8, (uint16_t)rdlen);
    memcpy(buf + olen + 10, rdata, rdlen);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, buf, olen + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
        return GSLBD_EINVAL;
    ldns_rr_print(f, rr);
    ldns_rr_free(rr);
    return 0;
}

static int print_set(FILE *f, const struct dnssec_zone *s, const uint8_t *owner,
                     const struct zone_rrset *rs)
{
    int rc = 0;
    for (uint16_t i = 0; rc == 0 && i < rs->count; i++)
        rc = print_rr(f, owner, rs->type, rs->ttl, rs->rrs[i].rdata, rs->rrs[i].rdlen);
    size_t n = 0;
    const struct wire_rr *sig = s != NULL ? dnssec_zone_sigs(s, rs, &n) : NULL;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = print_rr(f, owner, DNS_T_RRSIG, rs->ttl, sig[i].rdata, sig[i].rdlen);
    return rc;
}

/* Canonical order of names (RFC 4034 6.1): label by label from the right, lowercase. */
static int canon_cmp(const void *pa, const void *pb)
{
    const struct zone_node *a = *(const struct zone_node *const *)pa;
    const struct zone_node *b = *(const struct zone_node *const *)pb;
    struct dname_labels la, lb;
    dname_split(a->name, DNAME_MAX, &la);
    dname_split(b->name, DNAME_MAX, &lb);
    for (int i = la.count - 1, j = lb.count - 1; i >= 0 || j >= 0; i--, j--) {
        if (i < 0)
            return -1;
        if (j < 0)
            return 1;
        const uint8_t *x = a->name + la.off[i], *y = b->name + lb.off[j];
        size_t n = x[0] < y[0] ? x[0] : y[0];
        for (size_t k = 1; k <= n; k++) {
            int c = (int)dname_lower(x[k]) - (int)dname_lower(y[k]);
            if (c != 0)
                return c;
        }
        if (x[0] != y[0])
            return x[0] < y[0] ? -1 : 1;
    }
    return 0;
}

/* The NSEC at node (next: the following owner, or the apex after the last) and its RRSIG. */
static int print_nsec(FILE *f, const struct dnssec_zone *s, const struct zone *z,
                      const struct zone_node *n, const struct zone_node *next, bool at_cut,
                      struct err *e)
{
    uint16_t types[80];
    size_t nt = 0;
    for (uint16_t i = 0; i < n->nrrsets && nt < 70; i++)
        if (!at_cut || n->rrsets[i].type == DNS_T_NS || n->rrsets[i].type == DNS_T_DS)
            types[nt++] = n->rrsets[i].type;
    if (n == z->apex)
        nt += dnssec_zone_apex_types(s, types + nt);
    types[nt++] = DNS_T_RRSIG;
    types[nt++] = 47; /* NSEC */
    uint8_t rd[DNAME_MAX + 34 * 256];
    size_t nl = dname_len(next->name);
    memcpy(rd, next->name, nl);
    size_t len = nl + dnssec_type_bitmap(types, nt, rd + nl, sizeof(rd) - nl);
    struct dnssec_rdata one = {rd, (uint16_t)len};
    struct dnssec_rrset set = {n->name, 47, 1, z->neg_ttl, &one, 1};
    uint8_t sig[DNSSEC_RRSIG_MAX];
    size_t slen = 0;
    int rc = dnssec_zone_sign_set(s, z, &set, sig, sizeof(sig), &slen, e);
    if (rc == 0)
        rc = print_rr(f, n->name, 47, z->neg_ttl, rd, len);
    if (rc == 0)
        rc = print_rr(f, n->name, DNS_T_RRSIG, z->neg_ttl, sig, slen);
    return rc;
}

int dnssec_dump_zone(const struct zone *z, void *fp, struct err *e)
{
    FILE *f = fp;
    const struct dnssec_zone *s = zone_dnssec(z);
    const struct zone_node **nodes = calloc(z->nnodes + 1, sizeof(*nodes));
    if (nodes == NULL)
        return err_oom(e, NULL);
    size_t n = 0;
    for (uint32_t b = 0; b < z->nbuckets; b++)
        for (const struct zone_node *x = z->buckets[b]; x != NULL; x = x->next)
            if (n < z->nnodes + 1 && !(x->flags & ZONE_NODE_OCCLUDED) &&
                (x->nrrsets > 0 || x == z->apex))
                nodes[n++] = x;
    qsort(nodes, n, sizeof(*nodes), canon_cmp); /* the apex sorts first */
    /* the owners of the NSEC chain: authoritative names and delegation points, not glue */
    const struct zone_node **chain = calloc(n + 1, sizeof(*chain));
    bool *cut = calloc(n + 1, sizeof(*cut));
    size_t nc = 0;
    int rc = chain == NULL || cut == NULL ? err_oom(e, NULL) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        bool at_cut = false;
        if (nodes[i] != z->apex && dnssec_zone_below_cut(z, nodes[i], &at_cut))
            continue;
        cut[nc] = at_cut && nodes[i] != z->apex;
        chain[nc++] = nodes[i];
    }
    char origin[1100];
    dname_to_text(z->origin, origin, sizeof(origin));
    fprintf(f, "; %s as gslbd serves it%s\n", origin,
            s != NULL ? ", with an NSEC chain made for this dump (gslbd itself answers with "
                        "compact denial, RFC 9824)"
                      : "");
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        const struct zone_node *x = nodes[i];
        for (uint16_t j = 0; rc == 0 && j < x->nrrsets; j++)
            rc = print_set(f, s, x->name, &x->rrsets[j]);
        if (rc == 0 && s != NULL && x == z->apex)
            for (uint16_t t = 48; t <= 60 && rc == 0; t++) { /* DNSKEY, CDS, CDNSKEY */
                const struct zone_rrset *ks = dnssec_zone_apex_rrset(s, t);
                if (ks != NULL)
                    rc = print_set(f, s, x->name, ks);
            }
        if (x->service >= 0)
            fprintf(f, "; a GSLB name: its A and AAAA depend on the client (not dumped)\n");
        if (rc == 0 && s != NULL && k < nc && chain[k] == x) {
            rc = print_nsec(f, s, z, x, chain[(k + 1) % nc], cut[k], e);
            k++;
        }
    }
    if (rc > 0 || (rc < 0 && e->msg[0] == '\0'))
        rc = err_set(e, GSLBD_EINVAL, z->file, 0, 0, "cannot write an RR of the zone");
    free(nodes);
    free(chain);
    free(cut);
    return rc;
}
