/* view.h: a view is everything a query reads (config, zones), built off the query path and
 * published whole by one atomic pointer swap. A view is immutable once built. */
#ifndef GSLBD_VIEW_H
#define GSLBD_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "server/conf/conf.h"
#include "server/dns/dname.h"
#include "server/err.h"
#include "server/gslb.h"
#include "server/zone.h"

struct view {
    struct conf *conf;   /* owned */
    struct zone **zones; /* owned, nzones entries */
    size_t nzones;
    const struct zone **zbuckets; /* zones by origin hash, open addressing; power of two */
    uint32_t *zhashes;            /* dname_hash of each bucket's origin */
    uint32_t nzbuckets;
    uint8_t max_zone_labels;
    struct gslb *gslb; /* owned; services, clusters, geo, states */
};

/* Build a view from c (ownership of c passes to the view, even on failure).
 * Loads every zone; the first error (file:line:col) goes to e. */
int view_build(struct conf *c, struct view **out, struct err *e);

void view_free(struct view *v); /* NULL is a no-op */

struct dnssec_zone;
/* Sign zone zi of v again at now (new signatures; a managed key folder may roll its keys),
 * off the query path; the caller publishes it (zone_dnssec). *out is NULL when the zone's
 * signatures are still current (only its next key check moved). For signed zones only. */
int view_resign(const struct view *v, size_t zi, int64_t now, struct dnssec_zone **out,
                struct err *e);

/* The most specific zone containing the lowercase name split as l with suffix hashes h.
 * Returns NULL when no zone matches; *apex_label is the label index of the zone apex. */
const struct zone *view_find_zone(const struct view *v, const uint8_t *name,
                                  const struct dname_labels *l, const uint32_t *h, int *apex_label);
/* The same, among the zones whose apex is label from or above (from 1: a zone above name). */
const struct zone *view_find_zone_from(const struct view *v, const uint8_t *name,
                                       const struct dname_labels *l, const uint32_t *h, int from,
                                       int *apex_label);

#endif
