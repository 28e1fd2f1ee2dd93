/* loadinfo.h: what a (re)load brought in, said the same way in the log, the status JSON and
 * the metrics: the GeoIP database (type, build date, nodes, load time, age) and each
 * zone's serial. */
#ifndef GSLBD_LOADINFO_H
#define GSLBD_LOADINFO_H

#include <jansson.h>
#include <stddef.h>

#include "geo/geo.h"

struct view;

/* A GeoIP database older than this is logged as a warning at load time. */
#define LOADINFO_GEOIP_WARN_DAYS 30

/* Log what geo_open() loaded from path (info; a warning when older than the limit). */
void loadinfo_log_geo(const char *path, const struct geo *g);

/* {"database", "type", "build_time", "build_epoch", "age_days", "node_count", "records",
 * "load_ms"}, or JSON null without a database. */
json_t *loadinfo_geo_json(const struct view *v);

/* [{"zone", "file", "serial"}] in configured order. */
json_t *loadinfo_zones_json(const struct view *v);

/* The zone's origin with its final dot, as metrics and status name it. */
void loadinfo_zone_name(const struct view *v, size_t zi, char *buf, size_t len);

#endif
