/* loadinfo.c: the GeoIP database and zone serials a load brought in, for the start-up log,
 * GET /api/v1/status and GET /metrics. */
#include "server/loadinfo.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/view.h"

static void iso_date(uint64_t epoch, char *buf, size_t len)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double age_days(uint64_t epoch)
{
    time_t now = time(NULL);
    return now > (time_t)epoch ? (double)(now - (time_t)epoch) / 86400.0 : 0.0;
}

void loadinfo_log_geo(const char *path, const struct geo *g)
{
    struct geo_db_info di;
    geo_db_info(g, &di);
    if (!di.loaded)
        return;
    char built[32];
    iso_date(di.build_epoch, built, sizeof(built));
    double age = age_days(di.build_epoch);
    log_info("geoip: %s: %s (IPv%u), built %s (%.0f days ago), %u nodes, %u location records, "
             "loaded in %.1f ms",
             path, di.type, di.ip_version, built, age, di.node_count, di.records, di.load_ms);
    if (age > LOADINFO_GEOIP_WARN_DAYS)
        log_warn("geoip: %s was built %.0f days ago (more than %d): locations drift as networks "
                 "move; update the database",
                 path, age, LOADINFO_GEOIP_WARN_DAYS);
}

json_t *loadinfo_geo_json(const struct view *v)
{
    struct geo_db_info di;
    geo_db_info(v->gslb->geo, &di);
    if (!di.loaded)
        return json_null();
    char built[32];
    iso_date(di.build_epoch, built, sizeof(built));
    return json_pack("{s:s, s:s, s:s, s:I, s:i, s:I, s:I, s:f}", "database", v->conf->geo.database,
                     "type", di.type, "build_time", built, "build_epoch",
                     (json_int_t)di.build_epoch, "age_days", (int)age_days(di.build_epoch),
                     "node_count", (json_int_t)di.node_count, "records", (json_int_t)di.records,
                     "load_ms", (double)(long)(di.load_ms * 10.0 + 0.5) / 10.0);
}

void loadinfo_zone_name(const struct view *v, size_t zi, char *buf, size_t len)
{
    const char *o = v->conf->zones[zi].origin;
    size_t n = strlen(o);
    snprintf(buf, len, "%s%s", o, n > 0 && o[n - 1] == '.' ? "" : ".");
}

json_t *loadinfo_zones_json(const struct view *v)
{
    json_t *arr = json_array();
    for (size_t zi = 0; zi < v->nzones; zi++) {
        char name[300];
        loadinfo_zone_name(v, zi, name, sizeof(name));
        json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "zone", name, "file",
                                             v->conf->zones[zi].file, "serial",
                                             (json_int_t)v->zones[zi]->serial));
    }
    return arr;
}
