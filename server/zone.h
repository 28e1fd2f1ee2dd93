/* zone.h: the zone store. A zone is loaded once from an RFC 1035 master file (ldns, load
 * time only) into an immutable hash of nodes whose RRsets are pre-rendered to wire form;
 * the query path only reads it. The zone owns every node, RRset and byte it points to. */
#ifndef GSLBD_ZONE_H
#define GSLBD_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns/dname.h"
#include "server/dns/wire.h"
#include "server/err.h"

struct zone_node;

struct zone_rrset {
    uint16_t type;
    uint16_t count;
    uint32_t ttl; /* one TTL per RRset; top-bit TTLs already clamped to 0 */
    const struct wire_rr *rrs;
    /* For NS, MX and SRV: targets[i] is the node named by rrs[i]'s target when that name
     * is inside this zone (glue or in-zone host), else NULL. NULL array for other types. */
    const struct zone_node *const *targets;
};

enum {
    ZONE_NODE_APEX = 1 << 0,     /* the zone origin */
    ZONE_NODE_CUT = 1 << 1,      /* has NS and is not the apex: a delegation point */
    ZONE_NODE_DNAME = 1 << 2,    /* has a DNAME: names strictly below are redirected (DN-1) */
    ZONE_NODE_OCCLUDED = 1 << 3, /* strictly below a DNAME owner: never served (DN-3) */
};

struct zone_node {
    const uint8_t *name; /* lowercase wire form, absolute */
    uint8_t namelen;
    uint8_t flags;
    uint16_t nrrsets;                /* 0 for an empty non-terminal */
    const struct zone_rrset *rrsets; /* sorted by type */
    uint32_t hash;                   /* dname_hash(name) */
    int32_t service;                 /* index of the GSLB service answering A/AAAA here, or -1 */
    const struct zone_node *next;    /* hash chain */
};

struct zone {
    uint8_t origin[DNAME_MAX]; /* lowercase wire form */
    uint8_t origin_len;
    uint8_t origin_labels;
    char *file; /* path it was loaded from */
    const struct zone_node *apex;
    const struct zone_rrset *soa;
    uint32_t neg_ttl; /* min(SOA TTL, SOA MINIMUM), RFC 2308 */
    uint32_t serial;
    const struct zone_node **buckets;
    uint32_t nbuckets; /* power of two */
    size_t nnodes;
    size_t nrecords;
    void *priv; /* allocation bookkeeping, owned by zone.c */
    /* signatures when the zone is signed (dnssec_zone.h), else NULL; owned by the view.
     * Replaced while the view serves when the zone is signed again (new signatures, keys
     * rolled): read it with zone_dnssec() */
    const struct dnssec_zone *dnssec;
};

/* Load origin (text, with or without the final dot) from a master file. $ORIGIN, $TTL,
 * $INCLUDE (relative to the file's folder), relative names, RFC 3597 unknown types.
 * Rejects, naming file:line:col in e: syntax errors, a missing or second SOA, a CNAME
 * beside other data, a DNAME beside a CNAME, a second CNAME or DNAME at one owner, data
 * outside the origin. Duplicate RRs are dropped, data below a DNAME is kept but never
 * served (both logged with their lines).
 * On success *out is set and the caller owns it; on failure *out is untouched. */
int zone_load(const char *origin, const char *file, struct zone **out, struct err *e);

/* A name that must exist as a node even without records in the file (a GSLB service);
 * its node gets service = the given index. name is lowercase wire form inside the zone. */
struct zone_extra {
    const uint8_t *name;
    int32_t service;
};

/* zone_load plus extra names (borrowed during the call). */
int zone_load_with(const char *origin, const char *file, const struct zone_extra *extra,
                   size_t nextra, struct zone **out, struct err *e);

#define ZONE_MAX_BYTES_DEFAULT (1ull << 30) /* bytes read per zone, includes counted */

/* Where a zone's files may come from, and how much of them (docs/hardening.md "Files").
 * Only regular files are read. A $INCLUDE must resolve (links followed) to a file below
 * the zone file's own folder or one of include_dirs; no error quotes a file's text. */
struct zone_limits {
    const char *const *include_dirs; /* more folders $INCLUDE may read from */
    size_t ninclude_dirs;
    uint64_t max_bytes; /* the zone file and its includes together; 0 = the default */
};

/* zone_load_with under limits (NULL: the defaults). */
int zone_load_limited(const char *origin, const char *file, const struct zone_extra *extra,
                      size_t nextra, const struct zone_limits *limits, struct zone **out,
                      struct err *e);

void zone_free(struct zone *z); /* NULL is a no-op */

/* Exact lookup of a lowercase wire name whose hash is hash; NULL when absent. */
const struct zone_node *zone_lookup(const struct zone *z, const uint8_t *name, size_t len,
                                    uint32_t hash);

/* The node's RRset of type, or NULL. */
const struct zone_rrset *zone_node_rrset(const struct zone_node *n, uint16_t type);

/* The zone's signatures now (NULL: unsigned). Query path: one atomic load; two loads in one
 * answer may see two generations, both valid (a key leaves the DNSKEY RRset only after no
 * generation signs with it). */
static inline const struct dnssec_zone *zone_dnssec(const struct zone *z)
{
    return __atomic_load_n(&z->dnssec, __ATOMIC_ACQUIRE);
}

#endif
