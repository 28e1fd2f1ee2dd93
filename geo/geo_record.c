/* geo_record.c: what one location is: an MMDB record's fields, and geo_describe() for explain. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "geo/geo_int.h"

/* MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR means "this record has another shape" (a
 * string where a map was expected, say): a missing field, not a corrupt database. */
static int get(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path, int *status)
{
    int st = MMDB_aget_value(e, d, path);
    if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR) {
        d->has_data = false;
        return 0;
    }
    if (st != MMDB_SUCCESS) {
        *status = st;
        return -EBADMSG;
    }
    return 0;
}

static bool as_double(const MMDB_entry_data_s *d, double *v)
{
    if (!d->has_data)
        return false;
    if (d->type == MMDB_DATA_TYPE_DOUBLE)
        *v = d->double_value;
    else if (d->type == MMDB_DATA_TYPE_FLOAT)
        *v = d->float_value;
    else
        return false;
    return isfinite(*v);
}

/* Two ASCII letters, upper-cased; anything else counts as absent. */
static void as_code(const MMDB_entry_data_s *d, char out[3])
{
    out[0] = '\0';
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size != 2)
        return;
    for (int i = 0; i < 2; i++) {
        char c = d->utf8_string[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z') {
            out[0] = '\0';
            return;
        }
        out[i] = c;
    }
    out[2] = '\0';
}

static void as_text(const MMDB_entry_data_s *d, char *out, size_t len)
{
    out[0] = '\0';
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING)
        return;
    size_t n = d->data_size < len - 1 ? d->data_size : len - 1;
    /* Cut at a character boundary so the text stays valid UTF-8. */
    if (n < d->data_size)
        while (n > 0 && ((unsigned char)d->utf8_string[n] & 0xc0) == 0x80)
            n--;
    memcpy(out, d->utf8_string, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20)
            out[i] = ' ';
}

int geo__record_decode(const struct geo *g, uint32_t data_off, bool want_city,
                       struct geo__fields *f, int *mmdb_status)
{
    static const char *const p_lat[] = {"location", "latitude", NULL};
    static const char *const p_lon[] = {"location", "longitude", NULL};
    static const char *const p_country[] = {"country", "iso_code", NULL};
    static const char *const p_reg_country[] = {"registered_country", "iso_code", NULL};
    static const char *const p_continent[] = {"continent", "code", NULL};
    static const char *const p_city[] = {"city", "names", "en", NULL};

    memset(f, 0, sizeof(*f));
    *mmdb_status = MMDB_SUCCESS;
    MMDB_entry_s e = {.mmdb = &g->mmdb, .offset = data_off};
    MMDB_entry_data_s d;
    double lat = 0, lon = 0;
    bool has_lat, has_lon;

    if (get(&e, &d, p_lat, mmdb_status) != 0)
        return -EBADMSG;
    has_lat = as_double(&d, &lat);
    if (get(&e, &d, p_lon, mmdb_status) != 0)
        return -EBADMSG;
    has_lon = as_double(&d, &lon);
    /* Out-of-range coordinates are treated as none rather than trusted. */
    if (has_lat && has_lon && fabs(lat) <= 90.0 && fabs(lon) <= 180.0) {
        f->has_coords = true;
        f->lat = lat;
        f->lon = lon;
    }
    if (get(&e, &d, p_country, mmdb_status) != 0)
        return -EBADMSG;
    as_code(&d, f->country);
    if (f->country[0] == '\0') { /* e.g. anycast or satellite networks */
        if (get(&e, &d, p_reg_country, mmdb_status) != 0)
            return -EBADMSG;
        as_code(&d, f->country);
    }
    if (get(&e, &d, p_continent, mmdb_status) != 0)
        return -EBADMSG;
    as_code(&d, f->continent);
    if (want_city) {
        if (get(&e, &d, p_city, mmdb_status) != 0)
            return -EBADMSG;
        as_text(&d, f->city, sizeof(f->city));
    }
    return 0;
}

void geo_describe(const struct geo *g, const struct geo_result *r, struct geo_location *loc)
{
    memset(loc, 0, sizeof(*loc));
    if ((r->loc & GEO__LOC_NET) != 0) {
        uint32_t e = r->loc & ~GEO__LOC_NET;
        if (e >= g->nnets)
            return;
        /* The ranking of a nets client is measured from its region's site. */
        uint16_t region = g->nets[e].region;
        loc->has_coords = true;
        loc->lat = g->lat[region];
        loc->lon = g->lon[region];
        geo__net_format(&g->nets[e], loc->net, sizeof(loc->net));
        snprintf(loc->region, sizeof(loc->region), "%s", g->name[region]);
    } else if (r->loc != 0 && r->loc <= g->nrecs && g->has_db && r->family != 0) {
        /* the lookup tree keeps answers, not records: find the record again */
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        if (r->family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, r->addr, 4);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, r->addr, 16);
        }
        int merr = 0;
        MMDB_lookup_result_s lr =
            MMDB_lookup_sockaddr(&g->mmdb, (const struct sockaddr *)&ss, &merr);
        struct geo__fields f;
        int st;
        if (merr != MMDB_SUCCESS || !lr.found_entry ||
            geo__record_decode(g, lr.entry.offset, true, &f, &st) != 0)
            return; /* cannot happen: every record decoded at load */
        loc->has_coords = f.has_coords;
        loc->lat = f.lat;
        loc->lon = f.lon;
        memcpy(loc->country, f.country, sizeof(loc->country));
        memcpy(loc->continent, f.continent, sizeof(loc->continent));
        memcpy(loc->city, f.city, sizeof(loc->city));
    }
    if (loc->has_coords)
        for (size_t i = 0; i < g->nregions; i++)
            loc->distance_km[i] = geo__distance_km(loc->lat, loc->lon, g->lat[i], g->lon[i]);
}
