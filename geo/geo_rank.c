/* geo_rank.c: region rankings: great-circle order, pins, and the deduplicated pool they live in. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geo/geo_int.h"

#define EARTH_RADIUS_KM 6371.0088 /* IUGG mean radius */

static double radians(double deg)
{
    return deg * (M_PI / 180.0);
}

/* Haversine: stable for short distances, where the law of cosines loses precision. */
double geo__distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double dlat = radians(lat2 - lat1);
    double dlon = radians(lon2 - lon1);
    double s1 = sin(dlat / 2), s2 = sin(dlon / 2);
    double a = s1 * s1 + cos(radians(lat1)) * cos(radians(lat2)) * s2 * s2;
    if (a > 1.0)
        a = 1.0;
    return 2.0 * EARTH_RADIUS_KM * asin(sqrt(a));
}

/* ---- the pool ---- */

static uint32_t rank_hash(const uint16_t *r, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (uint32_t)(r[i] & 0xff)) * 16777619u;
        h = (h ^ (uint32_t)(r[i] >> 8)) * 16777619u;
    }
    return h;
}

int geo__pool_init(struct geo__pool *p, size_t n)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->hcap = 64;
    p->hash = calloc(p->hcap, sizeof(*p->hash));
    return p->hash == NULL ? -ENOMEM : 0;
}

void geo__pool_done(struct geo__pool *p)
{
    free(p->hash);
    p->hash = NULL;
    p->hcap = p->hcount = 0;
    if (p->len < p->cap) { /* give back the slack; keeping the old block is fine too */
        uint16_t *v = realloc(p->v, (p->len ? p->len : 1) * sizeof(*v));
        if (v != NULL) {
            p->v = v;
            p->cap = p->len;
        }
    }
}

void geo__pool_free(struct geo__pool *p)
{
    free(p->hash);
    free(p->v);
    memset(p, 0, sizeof(*p));
}

static int hash_grow(struct geo__pool *p)
{
    size_t ncap = p->hcap * 2;
    uint32_t *nh = calloc(ncap, sizeof(*nh));
    if (nh == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < p->hcap; i++) {
        if (p->hash[i] == 0)
            continue;
        size_t s = rank_hash(p->v + p->hash[i] - 1, p->n) & (ncap - 1);
        while (nh[s] != 0)
            s = (s + 1) & (ncap - 1);
        nh[s] = p->hash[i];
    }
    free(p->hash);
    p->hash = nh;
    p->hcap = ncap;
    return 0;
}

int geo__pool_add(struct geo__pool *p, const uint16_t *rank, uint32_t *off)
{
    size_t mask = p->hcap - 1;
    size_t s = rank_hash(rank, p->n) & mask;
    for (; p->hash[s] != 0; s = (s + 1) & mask) {
        uint32_t o = p->hash[s] - 1;
        if (memcmp(p->v + o, rank, p->n * sizeof(*rank)) == 0) {
            *off = o;
            return 0;
        }
    }
    if (p->len + p->n > UINT32_MAX - 1)
        return -ENOMEM;
    if (p->len + p->n > p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : p->n * 16;
        while (ncap < p->len + p->n)
            ncap *= 2;
        uint16_t *v = realloc(p->v, ncap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        p->v = v;
        p->cap = ncap;
    }
    uint32_t o = (uint32_t)p->len;
    memcpy(p->v + o, rank, p->n * sizeof(*rank));
    p->len += p->n;
    p->hash[s] = o + 1;
    *off = o;
    if (++p->hcount * 2 > p->hcap)
        return hash_grow(p);
    return 0;
}

/* ---- rankings ---- */

void geo__rank_by_distance(const struct geo *g, double lat, double lon, uint16_t *out)
{
    double d[GEO_MAX_REGIONS];
    size_t n = g->nregions;
    for (size_t i = 0; i < n; i++)
        d[i] = geo__distance_km(lat, lon, g->lat[i], g->lon[i]);
    /* Insertion sort over the default order: stable, so ties keep the default order. */
    for (size_t i = 0; i < n; i++) {
        uint16_t r = g->order[i];
        size_t j = i;
        for (; j > 0 && d[out[j - 1]] > d[r]; j--)
            out[j] = out[j - 1];
        out[j] = r;
    }
}

void geo__rank_with_first(const struct geo *g, const uint16_t *first, size_t nfirst, uint16_t *out)
{
    bool used[GEO_MAX_REGIONS] = {false};
    size_t k = 0;
    for (size_t i = 0; i < nfirst; i++) {
        if (first[i] < g->nregions && !used[first[i]]) {
            used[first[i]] = true;
            out[k++] = first[i];
        }
    }
    for (size_t i = 0; i < g->nregions; i++) {
        if (!used[g->order[i]])
            out[k++] = g->order[i];
    }
}

const struct geo__pin *geo__pin_find(const struct geo *g, const char *country,
                                     const char *continent)
{
    const struct geo__pin *cont = NULL;
    for (size_t i = 0; i < g->npins; i++) {
        const struct geo__pin *p = &g->pins[i];
        if (!p->continent && country[0] != '\0' && strcmp(p->code, country) == 0)
            return p;
        if (p->continent && continent[0] != '\0' && strcmp(p->code, continent) == 0)
            cont = p;
    }
    return cont;
}
