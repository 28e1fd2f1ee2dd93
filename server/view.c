/* view.c: building a view (config plus loaded zones) and finding the zone for a name. */
#include "view.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void view_free(struct view *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->nzones; i++)
        zone_free(v->zones[i]);
    free(v->zones);
    free(v->zbuckets);
    free(v->zhashes);
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
        return err_set(e, -ENOMEM, NULL, 0, 0, "out of memory");
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

int view_build(struct conf *c, struct view **out, struct err *e)
{
    struct view *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        conf_free(c);
        return err_set(e, -ENOMEM, NULL, 0, 0, "out of memory");
    }
    v->conf = c;
    v->zones = calloc(c->nzones ? c->nzones : 1, sizeof(*v->zones));
    if (v->zones == NULL) {
        view_free(v);
        return err_set(e, -ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < c->nzones; i++) {
        int rc = zone_load(c->zones[i].origin, c->zones[i].file, &v->zones[i], e);
        if (rc < 0) {
            view_free(v);
            return rc;
        }
        v->nzones++;
        log_info("zone %s loaded from %s: serial %u, %zu names, %zu records",
                 c->zones[i].origin, c->zones[i].file, v->zones[i]->serial, v->zones[i]->nnodes,
                 v->zones[i]->nrecords);
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
                                  const struct dname_labels *l, const uint32_t *h,
                                  int *apex_label)
{
    int first = l->count > v->max_zone_labels ? l->count - v->max_zone_labels : 0;
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
