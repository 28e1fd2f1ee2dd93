/* geo.h: client address -> regions ranked nearest first, plus the ECS scope of the data
 * that decided it. Built once from a MaxMind DB and operator overrides; lookups are
 * read-only, lock-free and allocation-free. No DNS and no config-file knowledge here. */
#ifndef GSLBD_GEO_H
#define GSLBD_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEO_MAX_REGIONS 64

struct geo_region {
    const char *name; /* borrowed during geo_open only */
    double lat, lon;  /* degrees */
};

struct geo_net {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t prefix;
    uint16_t region; /* index into regions */
};

struct geo_pin {
    char code[3]; /* "EU" (continent) or "DE" (country), upper case */
    bool continent;
    const uint16_t *regions; /* ordered; the rest follow in default order */
    size_t nregions;
};

struct geo_config {
    const char *database; /* MMDB path, or NULL */
    const struct geo_region *regions;
    size_t nregions;               /* 1..GEO_MAX_REGIONS */
    const uint16_t *default_order; /* NULL = regions in index order */
    size_t ndefault_order;
    const struct geo_net *nets;
    size_t nnets;
    const struct geo_pin *pins;
    size_t npins;
    /* false (the default): geo_result.scope_nearest is the widest network whose addresses
     * all have the same nearest region; true: it equals scope (the same whole ranking). */
    bool ranking_scope;
};

enum geo_source {
    GEO_SRC_DEFAULT = 0, /* no data for the address (LOC-5), or a record with neither
                            coordinates nor a pin (LOC-3); the default order */
    GEO_SRC_NETS,        /* operator override (LOC-2) */
    GEO_SRC_COORDS,      /* GeoIP record's coordinates (LOC-3) */
    GEO_SRC_COUNTRY,     /* the record's country is pinned (LOC-4) */
    GEO_SRC_CONTINENT,   /* the record's continent is pinned, its country not (LOC-4) */
};

struct geo_result {
    const uint16_t *rank; /* nregions region indexes, nearest first; borrowed from geo */
    uint8_t scope;        /* ECS scope: prefix length of the deciding network */
    /* The scope of an answer from rank[0], the nearest region: the widest network around
     * the address whose addresses all have rank[0] first (their later regions may differ);
     * <= scope. Any answer decided by rank[0] alone holds for that whole network. */
    uint8_t scope_nearest;
    enum geo_source source;
    uint32_t loc; /* opaque location id for geo_describe() */
    /* the address as looked up (IPv4-mapped made AF_INET), for geo_describe() */
    int family;
    uint8_t addr[16];
};

/* Details for explain output (not for the query path). */
struct geo_location {
    bool has_coords;
    double lat, lon;
    char country[3];
    char continent[3];
    char city[64];
    double distance_km[GEO_MAX_REGIONS]; /* per region index; valid when has_coords */
    /* GEO_SRC_NETS only: the matched entry ("10.1.0.0/16") and its region; lat/lon are
     * then that region's site, which the ranking is measured from. */
    char net[64];
    char region[64];
};

struct geo;

/* Open and prepare everything (walks the whole MMDB once). Errors are written to errbuf
 * ("file: message"); a missing or corrupt database is an error, never a crash.
 * Caller owns *out; on failure *out is untouched. Returns 0 or a negative code. */
int geo_open(const struct geo_config *cfg, struct geo **out, char *errbuf, size_t errlen);

void geo_free(struct geo *g); /* NULL is a no-op */

/* Rank regions for an address (family AF_INET with 4 bytes, AF_INET6 with 16; an
 * IPv4-mapped IPv6 address counts as IPv4). Never fails: unknown addresses get the default
 * ranking with scope 0 ... or the scope of the covering empty network when the database
 * says so. The scope (ECS-G1) is a prefix length of the address as looked up: for an
 * IPv4-mapped address it is an IPv4 length (0..32): the widest network around the address
 * whose addresses all get the same ranking from the database (networks that answer alike
 * are merged at load). It never covers a nets entry that would
 * answer differently: a nets hit's scope is raised past more specific entries of other
 * regions, a database or default answer's scope past every nets entry of the family.
 * No allocation, no locks, no field decoding; safe from any number of threads. */
void geo_lookup(const struct geo *g, int family, const uint8_t *addr, struct geo_result *r);

/* The ranking a client at region's own site gets: that region first, then the others by
 * distance from it (what a nets entry of the region gives). For "which cluster does a
 * client in this region get" (the dashboard); region must be below the regions' count.
 * Borrowed from g. */
const uint16_t *geo_region_rank(const struct geo *g, uint16_t region);

/* Fill loc for explain (slow path: decodes the record again). r must come from
 * geo_lookup() on the same g. */
void geo_describe(const struct geo *g, const struct geo_result *r, struct geo_location *loc);

const char *geo_source_name(enum geo_source s);

/* What geo_open() loaded from the MaxMind DB, for start-up logs, status and metrics. */
struct geo_db_info {
    bool loaded;          /* false: no database configured */
    const char *type;     /* database_type from its metadata ("GeoIP2-City") */
    uint64_t build_epoch; /* build time, seconds since 1970 (metadata build_epoch) */
    uint32_t node_count;  /* search tree nodes */
    unsigned ip_version;  /* 4 or 6 */
    uint32_t records;     /* distinct location records kept */
    double load_ms;       /* time geo_open() spent on the database */
};

/* Fill info (strings borrowed from g). g may be NULL (no database). */
void geo_db_info(const struct geo *g, struct geo_db_info *info);

/* Text for a code geo_open() returned (-EINVAL config, -EBADMSG unusable database,
 * -ENOMEM, or -errno from opening the file). Static storage. */
const char *geo_strerror(int code);

#endif
