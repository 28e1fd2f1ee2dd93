/* conf_dnssec.c: a zone's "dnssec" object (docs/dnssec.md): where its keys are (one combined
 * key file, a KSK and ZSK pair of files, or a folder of keys that gslbd makes and rolls
 * itself), how long signatures are valid, and the timers of automatic key rollover. The
 * keys themselves are read where the zone is signed (dnssec_keys.c), so that a reload
 * rereads them and --check refuses a key file others can read. */
#include "server/conf/conf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf_int.h"

static const char *const alg_names[] = {"ecdsap256sha256", "ed25519", NULL};

static int parent_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_dnssec *d = base;
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    socklen_t len;
    if (d->nparents >= CONF_DNSSEC_PARENTS)
        return conf__error(ld, "at most %d parent servers", CONF_DNSSEC_PARENTS);
    if (text == NULL ||
        conf_parse_addr(text, CONF_DEFAULT_PORT, &d->parents[d->nparents], &len) < 0)
        return conf__error(ld, "must be an address string like \"192.0.2.53\" or "
                               "\"127.0.0.1:5300\" (port 53 by default)");
    d->nparents++;
    return 0;
}

static int parents_value(struct conf_loader *ld, json_t *v, void *base)
{
    if (!json_is_array(v))
        return conf__error(ld, "must be a list of addresses");
    size_t mark = ld->path.len, i;
    json_t *x;
    json_array_foreach (v, i, x) {
        int r = conf__path_index(ld, i);
        if (r == 0)
            r = parent_elem(ld, x, base);
        conf__path_cut(ld, mark);
        if (r < 0)
            return r;
    }
    return 0;
}

static const struct conf_item dnssec_items[] = {
    {"key_file", IT_PATH, .offset = offsetof(struct conf_dnssec, key_file)},
    {"ksk_file", IT_PATH, .offset = offsetof(struct conf_dnssec, ksk_file)},
    {"zsk_file", IT_PATH, .offset = offsetof(struct conf_dnssec, zsk_file)},
    {"key_dir", IT_PATH, .offset = offsetof(struct conf_dnssec, key_dir)},
    {"algorithm", IT_ENUM, CONF_FIELD(struct conf_dnssec, algorithm), .names = alg_names, .def = 0},
    {"validity_days", IT_REAL, .offset = offsetof(struct conf_dnssec, validity_days), .min = 0,
     .max = 365},
    {"zsk_lifetime_days", IT_REAL, .offset = offsetof(struct conf_dnssec, zsk_lifetime_days),
     .min = 0, .max = 3650},
    {"ksk_lifetime_days", IT_REAL, .offset = offsetof(struct conf_dnssec, ksk_lifetime_days),
     .min = 0, .max = 3650},
    {"propagation_delay_s", IT_UINT, CONF_FIELD(struct conf_dnssec, propagation_delay_s), .min = 0,
     .max = 7 * 86400, .def = 3600},
    {"parent_ds_ttl_s", IT_UINT, CONF_FIELD(struct conf_dnssec, parent_ds_ttl_s), .min = 0,
     .max = 7 * 86400, .def = 86400},
    {"parents", IT_CUSTOM, .fn = parents_value},
};
const struct conf_section conf__dnssec_section = CONF_SECTION(dnssec_items);

void conf__dnssec_free(struct conf_dnssec *d)
{
    free(d->key_file);
    free(d->ksk_file);
    free(d->zsk_file);
    free(d->key_dir);
    d->key_file = d->ksk_file = d->zsk_file = d->key_dir = NULL;
}

int conf__dnssec_finish(struct conf_loader *ld, json_t *zone, struct conf_dnssec *d)
{
    json_t *o = json_object_get(zone, "dnssec");
    if (o == NULL)
        return 0;
    d->enabled = true;
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, "dnssec");
    if (r < 0)
        return r;
    /* one way to name the keys */
    const char *named = d->key_dir != NULL    ? "key_dir"
                        : d->ksk_file != NULL ? "ksk_file"
                        : d->key_file != NULL ? "key_file"
                                              : NULL;
    int ways =
        (d->key_file != NULL) + (d->ksk_file != NULL || d->zsk_file != NULL) + (d->key_dir != NULL);
    if (ways == 0)
        r = conf__missing(ld, "key_file",
                          "name the keys with key_file, ksk_file and zsk_file, or key_dir");
    else if (ways > 1)
        r = conf__error_at(ld, named, CONF_POS_KEY,
                           "give one of key_file, ksk_file and zsk_file, key_dir");
    else if ((d->ksk_file == NULL) != (d->zsk_file == NULL))
        r = conf__missing(ld, d->ksk_file == NULL ? "ksk_file" : "zsk_file",
                          "ksk_file and zsk_file go together");
    else if (d->key_dir == NULL && json_object_get(o, "algorithm") != NULL)
        r = conf__error_at(ld, "algorithm", CONF_POS_KEY,
                           "only with key_dir (a key file says its own algorithm)");
    if (r == 0 && json_object_get(o, "validity_days") == NULL)
        d->validity_days = 14;
    if (r == 0 && json_object_get(o, "zsk_lifetime_days") == NULL)
        d->zsk_lifetime_days = d->key_dir != NULL ? 90 : 0;
    if (r == 0 && d->validity_days * 86400 < 20)
        r = conf__error_at(ld, "validity_days", CONF_POS_VALUE,
                           "must be at least 20 seconds (0.00024 days)");
    if (r == 0 && d->key_dir == NULL &&
        (d->zsk_lifetime_days > 0 || d->ksk_lifetime_days > 0 || d->nparents > 0))
        r = conf__error_at(ld,
                           d->ksk_lifetime_days > 0 ? "ksk_lifetime_days"
                           : d->nparents > 0        ? "parents"
                                                    : "zsk_lifetime_days",
                           CONF_POS_KEY, "only with key_dir (gslbd rolls only the keys it makes)");
    d->validity_s = (uint32_t)llround(d->validity_days * 86400);
    d->zsk_lifetime_s = (uint32_t)llround(d->zsk_lifetime_days * 86400);
    d->ksk_lifetime_s = (uint32_t)llround(d->ksk_lifetime_days * 86400);
    d->alg = d->algorithm == 1 ? 15 : 13;
    d->keys_key = named;
    struct conf_pos pos = {0, 0};
    if (r == 0 && named != NULL && conf__path_key(ld, named) == 0 &&
        conf_pos_find(ld->text, ld->len, ld->path.p, CONF_POS_VALUE, &pos) == 0) {
        d->line = pos.line;
        d->col = pos.col;
    }
    conf__path_cut(ld, mark);
    return r;
}
