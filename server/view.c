/* view.c: building a view (config plus loaded zones) and finding the zone for a name. */
#include "server/view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/dnssec_zone.h"
#include "server/log.h"

#define DNS_T_CNAME_VALUE 5
#define DNS_T_A_VALUE 1
#define DNS_T_AAAA_VALUE 28

void view_free(struct view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nzones; i++) {
        if (v->zones[i] != NULL)
            dnssec_zone_free((struct dnssec_zone *)(uintptr_t)v->zones[i]->dnssec);
        zone_free(v->zones[i]);
    }
    free(v->zones);
    free(v->zbuckets);
    free(v->zhashes);
    gslb_free(v->gslb);
    conf_free(v->conf);
    free(v);
}

static int index_zones(struct view *v, struct err *e)
{
    uint32_t n = 4;
    while (n < v->nzones * 2)
        n <<= 1;
    v->zbuckets = calloc(n, sizeof(*v->zbuckets));
    v->zhashes = calloc(n, sizeof(*v->zhashes));
    if (v->zbuckets == NULL || v->zhashes == NULL)
        return err_oom(e, NULL);
    v->nzbuckets = n;
    for (size_t i = 0; i < v->nzones; i++) {
        const struct zone *z = v->zones[i];
        uint32_t h = dname_hash(z->origin);
        uint32_t b = h & (n - 1);
        while (v->zbuckets[b] != NULL) {
            if (dname_equal(v->zbuckets[b]->origin, z->origin))
                return err_set(e, GSLBD_EINVAL, z->file, 0, 0, "zone %s is configured twice",
                               v->conf->zones[i].origin);
            b = (b + 1) & (n - 1);
        }
        v->zbuckets[b] = z;
        v->zhashes[b] = h;
        if (z->origin_labels > v->max_zone_labels)
            v->max_zone_labels = z->origin_labels;
    }
    return 0;
}

/* The zone whose origin is the longest suffix of name among the configured ones. */
static int zone_for_name(const struct conf *c, const uint8_t *name, const uint8_t *origins)
{
    int best = -1;
    size_t bestlen = 0;
    for (size_t i = 0; i < c->nzones; i++) {
        const uint8_t *o = origins + i * DNAME_MAX;
        size_t ol = dname_len(o);
        if (dname_is_subdomain(name, o) && (best < 0 || ol > bestlen)) {
            best = (int)i;
            bestlen = ol;
        }
    }
    return best;
}

/* A zone file that cannot be opened: name the config entry (file:line:col) that names it. */
static void where_named(const struct conf *c, size_t zi, int rc, struct err *e)
{
    const char *file = c->zones[zi].file;
    size_t n = strlen(file);
    if (strncmp(e->msg, file, n) != 0 || strncmp(e->msg + n, ": cannot open", 13) != 0)
        return;
    char was[sizeof(e->msg)];
    snprintf(was, sizeof(was), "%s", e->msg);
    err_set(e, rc, c->path, c->zones[zi].line, c->zones[zi].col, "$.zones[%zu].file: %s", zi, was);
}

/* The GSLB services of signed zone zi, signed ahead: every cluster's whole address set of
 * each family, so that a failover to a whole cluster signs nothing on the query path. */
static int presign_services(const struct view *v, size_t zi, struct dnssec_zone *s,
                            const struct zone_extra *extra, size_t nextra, struct err *e)
{
    const struct gslb *g = v->gslb;
    const struct zone *z = v->zones[zi];
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < nextra; k++) {
        const struct gslb_service *sv = &g->services[extra[k].service];
        uint32_t ttl = sv->ttl > sv->failover_ttl ? sv->ttl : sv->failover_ttl;
        for (uint32_t ci = 0; rc == 0 && ci < sv->nclusters; ci++) {
            const struct gslb_cluster *cl = &g->clusters[sv->clusters[ci]];
            for (int f = 0; rc == 0 && f < 2; f++) {
                const struct wire_rr *rrs[DNSSEC_ONLINE_RRS];
                size_t n = 0;
                for (uint32_t i = cl->first_addr; i < cl->first_addr + cl->naddrs; i++) {
                    const struct gslb_addr *a = &g->addrs[i];
                    if (a->family == (f == 0 ? AF_INET : AF_INET6) && n < DNSSEC_ONLINE_RRS)
                        rrs[n++] = &a->rr;
                }
                rc = dnssec_zone_presign(s, z, (uint32_t)extra[k].service, sv->clusters[ci], f,
                                         sv->lname, f == 0 ? DNS_T_A_VALUE : DNS_T_AAAA_VALUE, ttl,
                                         rrs, n, e);
            }
        }
    }
    if (rc == 0 && nextra > 0)
        log_info("zone %s: %zu GSLB answers signed ahead", v->conf->zones[zi].origin,
                 dnssec_zone_npresigned(s));
    return rc;
}

/* The TTLs a key roll waits on: the DNSKEY RRset's, and the longest of anything signed. */
static struct dnssec_zone_ttls zone_ttls(const struct view *v, const struct zone *z,
                                         const struct zone_extra *extra, size_t nextra)
{
    struct dnssec_zone_ttls t = {z->soa->ttl, z->neg_ttl};
    for (uint32_t b = 0; b < z->nbuckets; b++)
        for (const struct zone_node *n = z->buckets[b]; n != NULL; n = n->next)
            for (uint16_t i = 0; i < n->nrrsets; i++)
                if (n->rrsets[i].ttl > t.max_ttl)
                    t.max_ttl = n->rrsets[i].ttl;
    for (size_t k = 0; k < nextra; k++) {
        const struct gslb_service *sv = &v->gslb->services[extra[k].service];
        uint32_t ttl = sv->ttl > sv->failover_ttl ? sv->ttl : sv->failover_ttl;
        if (ttl > t.max_ttl)
            t.max_ttl = ttl;
    }
    if (t.dnskey_ttl > t.max_ttl)
        t.max_ttl = t.dnskey_ttl;
    return t;
}

/* Sign zone zi of v now (its keys from dnssec_keys_get, which may roll them), GSLB answers
 * signed ahead; a key that cannot be used is reported where the config names the keys. */
static int sign_zone(const struct view *v, size_t zi, const struct zone_extra *extra, size_t nextra,
                     int64_t now, struct dnssec_zone **out, struct err *e)
{
    const struct conf *c = v->conf;
    const struct conf_dnssec *d = &c->zones[zi].dnssec;
    const struct zone *z = v->zones[zi];
    struct dnssec_zone_ttls t = zone_ttls(v, z, extra, nextra);
    struct dnssec_keyset ks;
    struct dnssec_zone *s = NULL;
    int rc = dnssec_keys_get(d, c->zones[zi].origin, &t, now, c->dnssec_readonly,
                             c->shared.enabled ? &c->shared : NULL, &ks, e);
    const struct dnssec_zone *cur = zone_dnssec(z);
    if (rc == 0 && cur != NULL && dnssec_zone_current(cur, &ks, now)) {
        /* a key check that changed nothing the signatures show: keep them */
        dnssec_zone_set_key_check(cur, ks.next_event);
        dnssec_keys_free(&ks);
        *out = NULL;
        return 0;
    }
    if (rc == 0)
        rc = dnssec_zone_sign(z, &ks, d->validity_s, now, &s, e);
    if (rc < 0) {
        char was[sizeof(e->msg)];
        snprintf(was, sizeof(was), "%s", e->msg);
        return err_set(e, rc, c->path, d->line, d->col, "$.zones[%zu].dnssec.%s: %s", zi,
                       d->keys_key != NULL ? d->keys_key : "key_file", was);
    }
    rc = presign_services(v, zi, s, extra, nextra, e);
    if (rc < 0) {
        dnssec_zone_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* The GSLB services that live in zone zi (their names' closest zone): into extra (room for
 * every service); their number, or -1 out of memory / a bad origin. */
static long zone_services(const struct view *v, size_t zi, struct zone_extra *extra, struct err *e)
{
    const struct conf *c = v->conf;
    const struct gslb *g = v->gslb;
    uint8_t *origins = calloc(c->nzones, DNAME_MAX);
    if (origins == NULL)
        return err_oom(e, NULL);
    long n = 0;
    bool absolute;
    for (size_t i = 0; i < c->nzones; i++)
        if (dname_from_text(c->zones[i].origin, origins + i * DNAME_MAX, &absolute) != NULL) {
            free(origins);
            return err_set(e, GSLBD_EINVAL, c->path, 0, 0, "bad zone origin %s",
                           c->zones[i].origin);
        }
    for (size_t s = 0; s < g->nservices; s++)
        if (zone_for_name(c, g->services[s].lname, origins) == (int)zi)
            extra[n++] = (struct zone_extra){g->services[s].lname, (int32_t)s};
    free(origins);
    return n;
}

int view_resign(const struct view *v, size_t zi, int64_t now, struct dnssec_zone **out,
                struct err *e)
{
    struct zone_extra *extra = calloc(v->gslb->nservices + 1, sizeof(*extra));
    if (extra == NULL)
        return err_oom(e, NULL);
    long n = zone_services(v, zi, extra, e);
    int rc = n < 0 ? (int)n : sign_zone(v, zi, extra, (size_t)n, now, out, e);
    free(extra);
    return rc;
}

/* Load zone i, creating nodes for the GSLB services that live in it, then check that no
 * service sits at or below a zone cut or beside a CNAME. */
static int load_zone(struct view *v, size_t zi, struct err *e)
{
    const struct conf *c = v->conf;
    const struct gslb *g = v->gslb;
    struct zone_extra *extra = calloc(g->nservices + 1, sizeof(*extra));
    size_t nextra = 0;
    int rc = 0;
    if (extra == NULL) {
        rc = err_oom(e, NULL);
        goto out;
    }
    long ns = zone_services(v, zi, extra, e);
    if (ns < 0) {
        rc = (int)ns;
        goto out;
    }
    nextra = (size_t)ns;
    struct zone_limits lim = {(const char *const *)c->zone_include_dirs, c->nzone_include_dirs,
                              c->zone_max_bytes};
    rc = zone_load_limited(c->zones[zi].origin, c->zones[zi].file, extra, nextra, &lim,
                           &v->zones[zi], e);
    if (rc < 0 && c->path != NULL && c->zones[zi].line > 0)
        where_named(c, zi, rc, e);
    for (size_t k = 0; rc == 0 && k < nextra; k++) {
        const struct zone *z = v->zones[zi];
        const uint8_t *name = extra[k].name;
        const char *sname = g->services[extra[k].service].name;
        const struct zone_node *n = zone_lookup(z, name, dname_len(name), dname_hash(name));
        if (n != NULL && zone_node_rrset(n, DNS_T_CNAME_VALUE) != NULL)
            rc = err_set(e, GSLBD_EINVAL, z->file, 0, 0,
                         "service %s: the zone has a CNAME at that name", sname);
        if (rc == 0 && n != NULL && (n->flags & ZONE_NODE_OCCLUDED)) /* DN-3 */
            rc = err_set(e, GSLBD_EINVAL, z->file, 0, 0,
                         "service %s: below a DNAME, so never answered", sname);
        if (n != NULL && (zone_node_rrset(n, 1) != NULL || zone_node_rrset(n, 28) != NULL))
            log_info("%s: A/AAAA at %s come from the GSLB service, not the zone", z->file, sname);
        for (const uint8_t *p = name; rc == 0 && *p != 0 && dname_len(p) > z->origin_len;
             p += 1u + *p) {
            const struct zone_node *a = zone_lookup(z, p, dname_len(p), dname_hash(p));
            if (a != NULL && (a->flags & ZONE_NODE_CUT))
                rc = err_set(e, GSLBD_EINVAL, z->file, 0, 0,
                             "service %s: at or below a delegation, so never answered", sname);
        }
    }
    if (rc == 0 && c->zones[zi].dnssec.enabled) { /* a new zone: no signatures yet */
        struct dnssec_zone *s = NULL;
        rc = sign_zone(v, zi, extra, nextra, (int64_t)time(NULL), &s, e);
        if (rc == 0) {
            v->zones[zi]->dnssec = s;
            log_info("zone %s signed: key tag %u, %zu signatures, valid until %u",
                     c->zones[zi].origin, dnssec_zone_key_tag(s), dnssec_zone_nsigs(s),
                     dnssec_zone_expiration(s));
        }
    }
out:
    if (rc < 0 && v->zones[zi] != NULL) { /* loaded, then refused: not counted in nzones */
        zone_free(v->zones[zi]);
        v->zones[zi] = NULL;
    }
    free(extra);
    return rc;
}

int view_build(struct conf *c, struct view **out, struct err *e)
{
    struct view *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        conf_free(c);
        return err_oom(e, NULL);
    }
    v->conf = c;
    v->zones = calloc(c->nzones ? c->nzones : 1, sizeof(*v->zones));
    if (v->zones == NULL) {
        view_free(v);
        return err_oom(e, NULL);
    }
    int grc = gslb_build(c, &v->gslb, e);
    if (grc == 0 && c->state_file != NULL)
        grc = gslb_state_load(v->gslb, c->state_file, e);
    if (grc < 0) {
        view_free(v);
        return grc;
    }
    for (size_t i = 0; i < c->nzones; i++) {
        int rc = load_zone(v, i, e);
        if (rc < 0) {
            view_free(v);
            return rc;
        }
        v->nzones++;
        log_info("zone %s loaded from %s: serial %u, %zu names, %zu records", c->zones[i].origin,
                 c->zones[i].file, v->zones[i]->serial, v->zones[i]->nnodes, v->zones[i]->nrecords);
    }
    int rc = index_zones(v, e);
    if (rc < 0) {
        view_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

const struct zone *view_find_zone(const struct view *v, const uint8_t *name,
                                  const struct dname_labels *l, const uint32_t *h, int *apex_label)
{
    return view_find_zone_from(v, name, l, h, 0, apex_label);
}

const struct zone *view_find_zone_from(const struct view *v, const uint8_t *name,
                                       const struct dname_labels *l, const uint32_t *h, int from,
                                       int *apex_label)
{
    int first = l->count > v->max_zone_labels ? l->count - v->max_zone_labels : 0;
    if (first < from)
        first = from;
    for (int i = first; i <= l->count; i++) {
        const uint8_t *suffix = i < l->count ? name + l->off[i] : name + dname_len(name) - 1;
        uint32_t b = h[i] & (v->nzbuckets - 1);
        while (v->zbuckets[b] != NULL) {
            if (v->zhashes[b] == h[i] && dname_equal(v->zbuckets[b]->origin, suffix)) {
                *apex_label = i;
                return v->zbuckets[b];
            }
            b = (b + 1) & (v->nzbuckets - 1);
        }
    }
    return NULL;
}
