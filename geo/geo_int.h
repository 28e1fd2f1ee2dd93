/* geo_int.h: the layout of struct geo and the geo__ helpers the geo/ sources share (internal). */
#ifndef GSLBD_GEO_INT_H
#define GSLBD_GEO_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <maxminddb.h>

#include "geo/geo.h"

/* Lookup tree values. A leaf (GEO__LEAF set) is met after k + 1 of the node's 4 bits (k in
 * bits 29-30) and holds 0 (the empty network) or i + 1 for recs[i] in bits 0-26. Else the
 * value is a node index (bits 0-26), with GEO__NEAR (bit 30) where the widest network with
 * one nearest region throughout starts: some network on the way to it, inside the parent
 * node, has one nearest region and the parent node's own network does not. A leaf has
 * that too (itself at least). Then m - 1 in bits 27-28 says where: that network is m
 * (1..4) bits below the parent node's own prefix (see geo_lookup: the nearest-region
 * scope). Node values below a flagged one are bare indexes. */
#define GEO__LEAF 0x80000000u
#define GEO__NEAR 0x40000000u
#define GEO__LEAF_K(v) (((v) >> 29) & 3u)
#define GEO__NEAR_M(v) (((v) >> 27) & 3u)
#define GEO__LEAF_REC(v) ((v)&0x07ffffffu)
#define GEO__NODE(v) ((v)&0x07ffffffu)
#define GEO__MAX_RECS 0x07fffffeu
#define GEO__MAX_NODES 0x7fffffffu      /* MMDB nodes */
#define GEO__MAX_TREE_NODES 0x07ffffffu /* lookup nodes */
#define GEO__STRIDE 4 /* address bits per lookup node: 16 slots of 4 bytes, one cache line */

/* Opaque location ids in geo_result.loc: 0 none, an answer class (recs[]) index + 1, or
 * GEO__LOC_NET | the index of the matched nets entry. */
#define GEO__LOC_NET 0x80000000u

/* Rankings live in one pool of uint16_t; a ranking is named by its offset in the pool. */
struct geo__pool {
    uint16_t *v;
    size_t len, cap; /* in uint16_t */
    uint32_t *hash;  /* load-time dedupe: slot -> offset + 1, 0 empty; freed after open */
    size_t hcap, hcount;
    size_t n; /* ranking length: nregions */
};

/* One distinct answer of the database's records: every record is decoded and ranked once
 * at load, and records that answer alike share one entry (so their networks merge). */
struct geo__rec {
    uint32_t rank;  /* offset into the pool */
    uint8_t source; /* enum geo_source */
};

/* The lookup form of the MMDB search tree: each node consumes 4 address bits (16 slots),
 * nodes numbered breadth-first so the levels every lookup crosses share cache lines, and
 * data leaves pointing straight at recs[]. */
struct geo__tree {
    uint32_t *node; /* 16 values per node, indexed by the next 4 address bits */
    uint32_t nnodes;
    size_t mapped;     /* bytes when node is an mmap (huge pages), 0 when malloc'd */
    uint8_t bits;      /* 32 (IPv4 tree) or 128 */
    uint32_t v4_start; /* value reached after 96 zero bits (IPv6 tree) */
    uint8_t v4_depth;  /* bits consumed to reach v4_start: 96, or less at a leaf */
    bool root_near;    /* the whole tree has one nearest region */
    bool v4_near;      /* all of IPv4 (::/96 of an IPv6 tree) has one nearest region */
};

/* Path-compressed binary trie of the nets entries of one family: a node is an entry or a
 * fork, so there are at most 2n + 1 nodes and a lookup visits few of them. */
struct geo__tnode {
    uint32_t child[2];   /* 0 = none (the root is never a child) */
    int32_t entry;       /* index in geo.nets whose prefix ends exactly here, or -1 */
    uint32_t key;        /* an entry of this subtree: its first len bits are the node's */
    uint8_t len;         /* bits of the node's prefix; strictly grows along a path */
    uint16_t rmin, rmax; /* range of regions of entries in this subtree, itself included */
};

struct geo__trie {
    struct geo__tnode *node;
    uint32_t n, cap;
    uint8_t bits; /* 32 or 128 */
};

struct geo__pin {
    char code[3];
    bool continent;
    uint32_t rank; /* pool offset */
};

struct geo {
    size_t nregions;
    char *name[GEO_MAX_REGIONS];
    double lat[GEO_MAX_REGIONS], lon[GEO_MAX_REGIONS];
    uint16_t order[GEO_MAX_REGIONS]; /* full default order */
    struct geo__pool pool;
    uint32_t default_rank;
    uint32_t nets_rank[GEO_MAX_REGIONS]; /* the region first, then by distance from it */
    struct geo__pin *pins;
    size_t npins;

    struct geo_net *nets; /* normalized copies: IPv4-mapped made AF_INET, host bits 0 */
    size_t nnets;
    struct geo__trie trie4, trie6;

    bool has_db;
    MMDB_s mmdb; /* kept open for geo_describe() only */
    double db_load_ms;
    struct geo__tree tree;
    struct geo__rec *recs;
    uint32_t nrecs;
    bool ranking_scope; /* geo_config.ranking_scope: no nearest-region merging */
};

/* Write "fmt..." to errbuf (when not NULL) and return code. Inline: every geo_ file reports
 * errors this way, and none of them should need geo.c for it. */
static inline __attribute__((format(printf, 4, 5))) int geo__err(char *errbuf, size_t errlen,
                                                                 int code, const char *fmt, ...)
{
    if (errbuf != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* geo_rank.c */
double geo__distance_km(double lat1, double lon1, double lat2, double lon2);
int geo__pool_init(struct geo__pool *p, size_t n);
void geo__pool_done(struct geo__pool *p); /* drops the dedupe table */
void geo__pool_free(struct geo__pool *p);
/* Add (or find) a ranking of p->n regions; *off gets its pool offset. */
int geo__pool_add(struct geo__pool *p, const uint16_t *rank, uint32_t *off);
/* Regions by distance from (lat, lon), ties in default order. */
void geo__rank_by_distance(const struct geo *g, double lat, double lon, uint16_t *out);
/* first[0..nfirst) (duplicates skipped), then the rest in default order. */
void geo__rank_with_first(const struct geo *g, const uint16_t *first, size_t nfirst, uint16_t *out);
/* The pin for a record: a country pin beats a continent pin. NULL when none applies. */
const struct geo__pin *geo__pin_find(const struct geo *g, const char *country,
                                     const char *continent);

/* geo_nets.c */
int geo__nets_build(struct geo *g, const struct geo_net *nets, size_t nnets, char *errbuf,
                    size_t errlen);
void geo__nets_free(struct geo *g);
/* Longest-prefix match in t for addr (t->bits long). Returns the entry index or -1. *scope
 * gets, for a hit, the scope that covers no more specific entry of another region; for a
 * miss, the least scope whose network holds no entry (0 when t is empty). */
int32_t geo__nets_match(const struct geo *g, const struct geo__trie *t, const uint8_t *addr,
                        uint8_t *scope);
/* "10.1.0.0/16" */
void geo__net_format(const struct geo_net *n, char *buf, size_t len);

/* geo_tree.c */
int geo__db_open(struct geo *g, const char *path, char *errbuf, size_t errlen);
void geo__db_free(struct geo *g);

/* geo_record.c */
struct geo__fields {
    bool has_coords;
    double lat, lon;
    char country[3], continent[3];
    char city[64];
};
/* Decode one data record of g->mmdb. Missing or malformed fields are left empty; corrupt
 * data returns -EBADMSG with the MMDB_* status in *mmdb_status. */
int geo__record_decode(const struct geo *g, uint32_t data_off, bool want_city,
                       struct geo__fields *f, int *mmdb_status);

#endif
