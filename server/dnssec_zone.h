/* dnssec_zone.h: the signatures of a zone signed at load (dnssec_zone.c): an RRSIG per
 * authoritative RRset and the apex DNSKEY RRset, built off the query path and read-only
 * after; the query engine looks them up when the client set DO. */
#ifndef GSLBD_DNSSEC_ZONE_H
#define GSLBD_DNSSEC_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "server/dnssec.h"
#include "server/dnssec_keys.h"
#include "server/err.h"
#include "server/zone.h"

struct dnssec_zone;

/* Sign z with the keys ks (dnssec_keys_get; taken over, freed even on failure): each RRset
 * by the zone-signing key, the apex's DNSKEY, CDS and CDNSKEY by every key-signing key;
 * signatures valid from an hour before the step of now to validity_s after it. */
int dnssec_zone_sign(const struct zone *z, struct dnssec_keyset *ks, uint32_t validity_s,
                     int64_t now, struct dnssec_zone **out, struct err *e);
void dnssec_zone_free(struct dnssec_zone *s); /* NULL is a no-op */

/* The RRSIG RDATA covering rs (an RRset of the signed zone or the DNSKEY RRset), or NULL
 * when rs is not signed (a delegation's NS, glue). Query path: no allocation. */
const struct wire_rr *dnssec_zone_sig(const struct dnssec_zone *s, const struct zone_rrset *rs);
/* All the RRSIGs covering rs (*n of them: several over the DNSKEY RRset during a KSK roll). */
const struct wire_rr *dnssec_zone_sigs(const struct dnssec_zone *s, const struct zone_rrset *rs,
                                       size_t *n);
/* The apex DNSKEY RRset. */
const struct zone_rrset *dnssec_zone_dnskey(const struct dnssec_zone *s);
/* The apex's DNSKEY, CDS or CDNSKEY RRset for type, or NULL (another type, or none now). */
const struct zone_rrset *dnssec_zone_apex_rrset(const struct dnssec_zone *s, uint16_t type);
/* The types of those the apex has, into types (room for 3); their number. */
size_t dnssec_zone_apex_types(const struct dnssec_zone *s, uint16_t *types);
/* The keys and their timeline, for status. */
const struct dnssec_keyset *dnssec_zone_keys(const struct dnssec_zone *s);
uint32_t dnssec_zone_expiration(const struct dnssec_zone *s);
/* When this zone must be signed again: a quarter of the validity left, or the keys' next
 * change (Unix seconds). */
int64_t dnssec_zone_next_event(const struct dnssec_zone *s);
/* Are s's signatures still what ks at now asks for (not due for refresh, the same keys in
 * the same roles)? Then the zone need not be signed again. */
bool dnssec_zone_current(const struct dnssec_zone *s, const struct dnssec_keyset *ks, int64_t now);
/* Look at the keys again at when (0: never), without signing again (from the signing job;
 * the tick reads it). */
void dnssec_zone_set_key_check(const struct dnssec_zone *s, int64_t when);
size_t dnssec_zone_nsigs(const struct dnssec_zone *s);

/* Compact denial of existence (RFC 9824), made while answering. */
#define DNSSEC_TYPE_NSEC 47
#define DNSSEC_TYPE_NXNAME 128 /* RFC 9824: the name does not exist */
#define DNSSEC_NSEC_MAX (255 + 4 * 34)

/* An RRSIG made while answering. */
struct dnssec_sig {
    struct wire_rr rr;
    uint8_t rdata[DNSSEC_RRSIG_MAX];
};

/* Signed online: at most this many RRs, this many octets signed (a GSLB cluster's
 * addresses of one family fit many times over). */
#define DNSSEC_ONLINE_RRS 64
#define DNSSEC_ONLINE_DATA 65536 /* an RRset as large as a TCP message can carry */

/* The RRSIG over the RRset owner/type (rrs: RDATA as served, any order, n >= 1) with
 * original TTL ttl, from this thread's cache or signed now (dnssec_online.c). 0;
 * GSLBD_ELIMIT over the signing budget or past the bounds above; another negative code
 * when signing failed. Query path: no allocation on a cache hit. */
int dnssec_zone_sign_online(const struct dnssec_zone *s, const struct zone *z, const uint8_t *owner,
                            uint16_t type, uint32_t ttl, const struct wire_rr *const *rrs, size_t n,
                            struct dnssec_sig *out);

/* GSLB answers signed ahead (at view build, off the query path): a cluster's whole
 * address set of one family, keyed by (service, cluster, family 0 = A / 1 = AAAA). A
 * failover to a whole cluster then needs no signature on the query path. */
int dnssec_zone_presign(struct dnssec_zone *s, const struct zone *z, uint32_t service,
                        uint32_t cluster, int family, const uint8_t *owner, uint16_t type,
                        uint32_t ttl, const struct wire_rr *const *rrs, size_t n, struct err *e);
/* The RRSIG signed ahead for that key, or NULL. Query path: no allocation, no lock. */
const struct wire_rr *dnssec_zone_presigned(const struct dnssec_zone *s, uint32_t service,
                                            uint32_t cluster, int family);
size_t dnssec_zone_npresigned(const struct dnssec_zone *s);

struct dnssec_denial {
    struct wire_rr nsec; /* next name \000.name, then the type bitmap */
    uint8_t nsec_rdata[DNSSEC_NSEC_MAX];
    struct dnssec_sig rrsig; /* over the NSEC RRset */
};

/* The NSEC at name (lowercase wire form, in z) with ttl listing types (any order; RRSIG and
 * NSEC are added) and its RRSIG, from this thread's signature cache or signed now
 * (dnssec_online.c). 0; GSLBD_ELIMIT when this second's signing budget is spent or the
 * NSEC cannot be written (a name too long for \000., types in too many windows); another
 * negative code when signing failed. Query path: no allocation on a cache hit. */
int dnssec_zone_denial(const struct dnssec_zone *s, const struct zone *z, const uint8_t *name,
                       uint32_t ttl, const uint16_t *types, size_t ntypes,
                       struct dnssec_denial *out);
uint16_t dnssec_zone_key_tag(const struct dnssec_zone *s);

/* The type bitmap (RFC 4034 4.1.2) of types (any order, repeats allowed) into out; its
 * length, or 0 past cap. */
size_t dnssec_type_bitmap(const uint16_t *types, size_t n, uint8_t *out, size_t cap);

/* Is n at or below a zone cut of z (not the apex)? *at_cut: n is the cut itself. */
bool dnssec_zone_below_cut(const struct zone *z, const struct zone_node *n, bool *at_cut);
/* Sign set with s's zone-signing key and signature window (off the query path: the dump's
 * NSEC chain). */
int dnssec_zone_sign_set(const struct dnssec_zone *s, const struct zone *z,
                         const struct dnssec_rrset *set, uint8_t *out, size_t cap, size_t *outlen,
                         struct err *e);

/* gslbd --dump-zone (dnssec_dump.c): z as a master file on f, every RRset with its RRSIGs,
 * the apex's DNSKEY, CDS and CDNSKEY, and (signed zones) a full NSEC chain made and signed
 * for the dump, so that a zone checker (dnssec-verify, ldns-verify-zone) can check the
 * whole zone: gslbd itself serves compact denial. GSLB names are left out (their answers
 * depend on the client). */
int dnssec_dump_zone(const struct zone *z, void *f, struct err *e);

#endif
