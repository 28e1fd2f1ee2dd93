/* geo.c: the geo object's life cycle (checked copy of the config, free) and the lookup. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "geo/geo_int.h"

const char *geo_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
    case -EINVAL:
        return "invalid geo configuration";
    case -EBADMSG:
        return "not a usable MaxMind DB";
    case -ENOMEM:
        return "out of memory";
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}

const uint16_t *geo_region_rank(const struct geo *g, uint16_t region)
{
    return g->pool.v + (region < g->nregions ? g->nets_rank[region] : g->default_rank);
}

const char *geo_source_name(enum geo_source s)
{
    switch (s) {
    case GEO_SRC_DEFAULT:
        return "default";
    case GEO_SRC_NETS:
        return "nets";
    case GEO_SRC_COORDS:
        return "coordinates";
    case GEO_SRC_COUNTRY:
        return "country";
    case GEO_SRC_CONTINENT:
        return "continent";
    }
    return "?";
}

/* ---- open ---- */

static int copy_regions(struct geo *g, const struct geo_config *cfg, char *errbuf, size_t errlen)
{
    if (cfg->regions == NULL || cfg->nregions == 0 || cfg->nregions > GEO_MAX_REGIONS)
        return geo__err(errbuf, errlen, -EINVAL, "regions: need 1 to %d, got %zu", GEO_MAX_REGIONS,
                        cfg->regions == NULL ? (size_t)0 : cfg->nregions);
    g->nregions = cfg->nregions;
    for (size_t i = 0; i < cfg->nregions; i++) {
        const struct geo_region *r = &cfg->regions[i];
        if (r->name == NULL || r->name[0] == '\0')
            return geo__err(errbuf, errlen, -EINVAL, "regions[%zu]: no name", i);
        if (!isfinite(r->lat) || !isfinite(r->lon) || fabs(r->lat) > 90.0 || fabs(r->lon) > 180.0)
            return geo__err(errbuf, errlen, -EINVAL,
                            "regions[%zu] (%s): coordinates %g, %g out of range", i, r->name,
                            r->lat, r->lon);
        for (size_t j = 0; j < i; j++)
            if (strcmp(g->name[j], r->name) == 0)
                return geo__err(errbuf, errlen, -EINVAL, "regions[%zu]: %s listed twice", i,
                                r->name);
        g->name[i] = strdup(r->name);
        if (g->name[i] == NULL)
            return geo__err(errbuf, errlen, -ENOMEM, "out of memory");
        g->lat[i] = r->lat;
        g->lon[i] = r->lon;
    }
    return 0;
}

/* Region indexes in a list: in range, each once. */
static int check_list(const struct geo *g, const uint16_t *list, size_t n, const char *what,
                      char *errbuf, size_t errlen)
{
    bool seen[GEO_MAX_REGIONS] = {false};
    if (n > g->nregions)
        return geo__err(errbuf, errlen, -EINVAL, "%s: %zu regions listed, only %zu exist", what, n,
                        g->nregions);
    for (size_t i = 0; i < n; i++) {
        if (list[i] >= g->nregions)
            return geo__err(errbuf, errlen, -EINVAL, "%s: region %u out of range", what,
                            (unsigned)list[i]);
        if (seen[list[i]])
            return geo__err(errbuf, errlen, -EINVAL, "%s: region %s listed twice", what,
                            g->name[list[i]]);
        seen[list[i]] = true;
    }
    return 0;
}

/* The default order, the per-region nets orders and the pins' orders, all in the pool. */
static int build_orders(struct geo *g, const struct geo_config *cfg, char *errbuf, size_t errlen)
{
    uint16_t first[GEO_MAX_REGIONS], rank[GEO_MAX_REGIONS];
    size_t nfirst = 0;
    if (cfg->default_order != NULL) {
        int rc =
            check_list(g, cfg->default_order, cfg->ndefault_order, "default_order", errbuf, errlen);
        if (rc != 0)
            return rc;
        nfirst = cfg->ndefault_order;
        memcpy(first, cfg->default_order, nfirst * sizeof(*first));
    }
    /* A partial default order is completed with the other regions in index order. */
    for (size_t i = 0; i < g->nregions; i++)
        g->order[i] = (uint16_t)i;
    geo__rank_with_first(g, first, nfirst, rank);
    memcpy(g->order, rank, g->nregions * sizeof(*rank));

    int rc = geo__pool_init(&g->pool, g->nregions);
    if (rc == 0)
        rc = geo__pool_add(&g->pool, g->order, &g->default_rank);
    /* A nets client sits at its region's site: that region, then the others by distance. */
    for (size_t r = 0; r < g->nregions && rc == 0; r++) {
        uint16_t by_dist[GEO_MAX_REGIONS], self = (uint16_t)r;
        geo__rank_by_distance(g, g->lat[r], g->lon[r], by_dist);
        uint16_t tmp[GEO_MAX_REGIONS];
        tmp[0] = self;
        memcpy(tmp + 1, by_dist, g->nregions * sizeof(*by_dist));
        /* rank_with_first drops the duplicate of self and keeps the distance order. */
        geo__rank_with_first(g, tmp, g->nregions + 1, rank);
        rc = geo__pool_add(&g->pool, rank, &g->nets_rank[r]);
    }
    if (rc != 0)
        return geo__err(errbuf, errlen, rc, "out of memory");
    return 0;
}

static int copy_pins(struct geo *g, const struct geo_config *cfg, char *errbuf, size_t errlen)
{
    if (cfg->npins == 0)
        return 0;
    if (cfg->pins == NULL)
        return geo__err(errbuf, errlen, -EINVAL, "pins: NULL list");
    g->pins = calloc(cfg->npins, sizeof(*g->pins));
    if (g->pins == NULL)
        return geo__err(errbuf, errlen, -ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->npins; i++) {
        const struct geo_pin *p = &cfg->pins[i];
        struct geo__pin *q = &g->pins[i];
        char what[32];
        snprintf(what, sizeof(what), "pins[%zu]", i);
        for (int k = 0; k < 2; k++) {
            char c = p->code[k];
            if (c >= 'a' && c <= 'z')
                c = (char)(c - 'a' + 'A');
            if (c < 'A' || c > 'Z')
                return geo__err(errbuf, errlen, -EINVAL, "%s: code must be two letters", what);
            q->code[k] = c;
        }
        if (p->code[2] != '\0')
            return geo__err(errbuf, errlen, -EINVAL, "%s: code must be two letters", what);
        q->continent = p->continent;
        for (size_t j = 0; j < i; j++)
            if (g->pins[j].continent == q->continent && strcmp(g->pins[j].code, q->code) == 0)
                return geo__err(errbuf, errlen, -EINVAL, "%s: %s %s pinned twice", what,
                                q->continent ? "continent" : "country", q->code);
        if (p->nregions == 0 || p->regions == NULL)
            return geo__err(errbuf, errlen, -EINVAL, "%s (%s): no regions", what, q->code);
        int rc = check_list(g, p->regions, p->nregions, what, errbuf, errlen);
        if (rc != 0)
            return rc;
        uint16_t rank[GEO_MAX_REGIONS];
        geo__rank_with_first(g, p->regions, p->nregions, rank);
        if (geo__pool_add(&g->pool, rank, &q->rank) != 0)
            return geo__err(errbuf, errlen, -ENOMEM, "out of memory");
        g->npins = i + 1;
    }
    return 0;
}

int geo_open(const struct geo_config *cfg, struct geo **out, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    if (cfg == NULL || out == NULL)
        return geo__err(errbuf, errlen, -EINVAL, "geo_open: no config");
    struct geo *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return geo__err(errbuf, errlen, -ENOMEM, "out of memory");
    g->trie4.bits = 32;
    g->trie6.bits = 128;
    g->ranking_scope = cfg->ranking_scope;
    int rc = copy_regions(g, cfg, errbuf, errlen);
    if (rc == 0)
        rc = build_orders(g, cfg, errbuf, errlen);
    if (rc == 0)
        rc = copy_pins(g, cfg, errbuf, errlen);
    if (rc == 0 && cfg->nnets > 0 && cfg->nets == NULL)
        rc = geo__err(errbuf, errlen, -EINVAL, "nets: NULL list");
    if (rc == 0)
        rc = geo__nets_build(g, cfg->nets, cfg->nnets, errbuf, errlen);
    if (rc == 0 && cfg->database != NULL) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = geo__db_open(g, cfg->database, errbuf, errlen);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        g->db_load_ms =
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    }
    if (rc != 0) {
        geo_free(g);
        return rc;
    }
    geo__pool_done(&g->pool);
    *out = g;
    return 0;
}

void geo_db_info(const struct geo *g, struct geo_db_info *info)
{
    memset(info, 0, sizeof(*info));
    if (g == NULL || !g->has_db)
        return;
    const MMDB_metadata_s *md = &g->mmdb.metadata;
    info->loaded = true;
    info->type = md->database_type != NULL ? md->database_type : "?";
    info->build_epoch = md->build_epoch;
    info->node_count = md->node_count;
    info->ip_version = md->ip_version;
    info->records = g->nrecs;
    info->load_ms = g->db_load_ms;
}

void geo_free(struct geo *g)
{
    if (g == NULL)
        return;
    geo__db_free(g);
    geo__nets_free(g);
    geo__pool_free(&g->pool);
    free(g->pins);
    for (size_t i = 0; i < GEO_MAX_REGIONS; i++)
        free(g->name[i]);
    free(g);
}

/* ---- lookup: no allocation, no locks, no field decoding ---- */

static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

#define NO_NEAR 0xffu

/* Follow the address 4 bits at a time from node value v until a leaf. *used gets the bits
 * consumed up to the leaf; a validated tree always ends in a leaf within the address.
 * *near gets the prefix length of the first (widest) network on the way with one nearest
 * region, NO_NEAR when there was no step. Node values carry a flag only where that
 * network starts (see geo_int.h): one mask, then bare indexes again. */
static uint32_t walk32(const uint32_t *node, uint32_t v, uint32_t a, unsigned *used, unsigned *near)
{
    unsigned d = 0, n = NO_NEAR;
    v = GEO__NODE(v) | (v & GEO__LEAF);
    while ((v & (GEO__LEAF | GEO__NEAR)) == 0 && d < 32) {
        v = node[16 * (size_t)v + (a >> 28)];
        a <<= 4;
        d += GEO__STRIDE;
    }
    if (d > 0)
        n = d - GEO__STRIDE + GEO__NEAR_M(v) + 1;
    if ((v & GEO__LEAF) == 0)
        v = GEO__NODE(v);
    while ((v & GEO__LEAF) == 0 && d < 32) {
        v = node[16 * (size_t)v + (a >> 28)];
        a <<= 4;
        d += GEO__STRIDE;
    }
    *used = (v & GEO__LEAF) != 0 && d > 0 ? d - GEO__STRIDE + GEO__LEAF_K(v) + 1 : d;
    *near = n;
    return v;
}

static uint32_t walk128(const uint32_t *node, const uint8_t *addr, unsigned *used, unsigned *near)
{
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) {
        hi = hi << 8 | addr[i];
        lo = lo << 8 | addr[8 + i];
    }
    uint32_t v = 0;
    unsigned d = 0, n = NO_NEAR;
    while ((v & (GEO__LEAF | GEO__NEAR)) == 0 && d < 64) {
        v = node[16 * (size_t)v + (hi >> 60)];
        hi <<= 4;
        d += GEO__STRIDE;
    }
    while ((v & (GEO__LEAF | GEO__NEAR)) == 0 && d < 128) {
        v = node[16 * (size_t)v + (lo >> 60)];
        lo <<= 4;
        d += GEO__STRIDE;
    }
    if (d > 0)
        n = d - GEO__STRIDE + GEO__NEAR_M(v) + 1;
    if ((v & GEO__LEAF) == 0)
        v = GEO__NODE(v);
    while ((v & GEO__LEAF) == 0 && d < 64) {
        v = node[16 * (size_t)v + (hi >> 60)];
        hi <<= 4;
        d += GEO__STRIDE;
    }
    while ((v & GEO__LEAF) == 0 && d < 128) {
        v = node[16 * (size_t)v + (lo >> 60)];
        lo <<= 4;
        d += GEO__STRIDE;
    }
    *used = (v & GEO__LEAF) != 0 ? d - GEO__STRIDE + GEO__LEAF_K(v) + 1 : d;
    *near = n;
    return v;
}

void geo_lookup(const struct geo *g, int family, const uint8_t *addr, struct geo_result *r)
{
    r->rank = g->pool.v + g->default_rank;
    r->scope = 0;
    r->scope_nearest = 0;
    r->source = GEO_SRC_DEFAULT;
    r->loc = 0;
    r->family = 0;
    if (family == AF_INET6 && memcmp(addr, v4mapped, sizeof(v4mapped)) == 0) {
        family = AF_INET;
        addr += 12;
    }
    if (family != AF_INET && family != AF_INET6)
        return;
    r->family = family;
    memcpy(r->addr, addr, family == AF_INET ? 4 : 16);

    const struct geo__trie *t = family == AF_INET ? &g->trie4 : &g->trie6;
    uint8_t min_scope = 0;
    if (t->n != 0) {
        int32_t e = geo__nets_match(g, t, addr, &min_scope);
        if (e >= 0) {
            r->rank = g->pool.v + g->nets_rank[g->nets[e].region];
            r->scope = r->scope_nearest = min_scope;
            r->source = GEO_SRC_NETS;
            r->loc = GEO__LOC_NET | (uint32_t)e;
            return;
        }
    }
    if (!g->has_db) {
        r->scope = r->scope_nearest = min_scope;
        return;
    }

    const struct geo__tree *tr = &g->tree;
    uint32_t v = GEO__LEAF;
    unsigned used = 0, scope = 0, near = NO_NEAR;
    bool all_near = tr->root_near;
    if (family == AF_INET) {
        uint32_t a =
            (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
        if (tr->bits == 32) {
            v = walk32(tr->node, 0, a, &used, &near);
            scope = used;
        } else {
            /* IPv4 lives at ::/96; its 96 leading bits are not the client's, so a leaf met
             * above them (v4_depth < 96) covers all of IPv4: scope 0. */
            v = walk32(tr->node, tr->v4_start, a, &used, &near);
            scope = tr->v4_depth == 96 ? used : 0;
            all_near = tr->v4_near;
        }
    } else if (tr->bits == 128) {
        v = walk128(tr->node, addr, &used, &near);
        scope = used;
    } /* else: IPv6 in an IPv4-only database: no data for the whole family, scope 0 */
    if (all_near)
        near = 0;
    else if (near > scope)
        near = scope; /* no step (a leaf at the start), or a leaf's own network */
    if ((v & GEO__LEAF) != 0 && GEO__LEAF_REC(v) != 0) {
        const struct geo__rec *rec = &g->recs[GEO__LEAF_REC(v) - 1];
        r->rank = g->pool.v + rec->rank;
        r->source = (enum geo_source)rec->source;
        r->loc = GEO__LEAF_REC(v);
    }
    r->scope = (uint8_t)(scope > min_scope ? scope : min_scope);
    r->scope_nearest = (uint8_t)(near > min_scope ? near : min_scope);
}
