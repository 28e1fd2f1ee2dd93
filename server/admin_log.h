/* admin_log.h: the last admin state changes of clusters (POL-7), whoever made them: the
 * API, or the state file read on a reload (`gslbd --admin` + SIGHUP). Kept for the status
 * and the dashboard. The caller serialises (struct control keeps one under reload_lock). */
#ifndef GSLBD_ADMIN_LOG_H
#define GSLBD_ADMIN_LOG_H

#include <jansson.h>
#include <stdint.h>

#include "server/gslb.h"

#define ADMIN_LOG_MAX 50 /* changes kept, newest overwriting oldest */

struct admin_change {
    int64_t wall_ms; /* when gslbd applied it (Unix ms) */
    char cluster[64];
    char by[128];     /* who: "api 127.0.0.1:40112", "gslbd --admin by alice (uid 1000)" */
    char via[16];     /* "api" or "state file" */
    uint8_t from, to; /* enum gslb_admin */
};

struct admin_log {
    struct admin_change ring[ADMIN_LOG_MAX];
    uint64_t n; /* changes recorded; the newest is ring[(n - 1) % ADMIN_LOG_MAX] */
};

/* Record one change, stamped with the current time. */
void admin_log_add(struct admin_log *l, const char *cluster, const char *by, const char *via,
                   enum gslb_admin from, enum gslb_admin to);

/* The kept changes, newest first: [{"time", "cluster", "from", "to", "by", "via"}]. */
json_t *admin_log_json(const struct admin_log *l);

/* A reload replaces old by new: record and log every cluster (by name) whose admin state
 * the state file changed. by: who last wrote the state file (NULL: unknown). Returns the
 * number of changes. */
size_t admin_log_diff(struct admin_log *l, const struct gslb *old, const struct gslb *new,
                      const char *by);

#endif
