/* admin_log.c: the ring of recent cluster admin state changes (admin_log.h). */
#include "server/admin_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/log.h"

void admin_log_add(struct admin_log *l, const char *cluster, const char *by, const char *via,
                   enum gslb_admin from, enum gslb_admin to)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct admin_change *c = &l->ring[l->n % ADMIN_LOG_MAX];
    c->wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    snprintf(c->cluster, sizeof(c->cluster), "%s", cluster);
    snprintf(c->by, sizeof(c->by), "%s", by != NULL ? by : "unknown");
    snprintf(c->via, sizeof(c->via), "%s", via);
    c->from = (uint8_t)from;
    c->to = (uint8_t)to;
    l->n++;
}

json_t *admin_log_json(const struct admin_log *l)
{
    json_t *arr = json_array();
    size_t have = l->n < ADMIN_LOG_MAX ? (size_t)l->n : ADMIN_LOG_MAX;
    for (size_t k = 0; k < have; k++) {
        const struct admin_change *c = &l->ring[(l->n - 1 - k) % ADMIN_LOG_MAX];
        time_t s = (time_t)(c->wall_ms / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        char t[80];
        snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(c->wall_ms % 1000));
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "time", t, "cluster", c->cluster,
                           "from", gslb_admin_name((enum gslb_admin)c->from), "to",
                           gslb_admin_name((enum gslb_admin)c->to), "by", c->by, "via", c->via));
    }
    return arr;
}

size_t admin_log_diff(struct admin_log *l, const struct gslb *old, const struct gslb *new,
                      const char *by)
{
    size_t n = 0;
    if (old == NULL || new == NULL)
        return 0;
    for (size_t i = 0; i < new->nclusters; i++) {
        int32_t j = gslb_find_cluster(old, new->clusters[i].name);
        enum gslb_admin to = (enum gslb_admin)atomic_load(&new->admin[i]);
        enum gslb_admin from = j >= 0 ? (enum gslb_admin)atomic_load(&old->admin[j]) : to;
        if (from == to)
            continue;
        admin_log_add(l, new->clusters[i].name, by, "state file", from, to);
        log_info("reload: cluster %s admin state %s -> %s (state file, written by %s)",
                 new->clusters[i].name, gslb_admin_name(from), gslb_admin_name(to),
                 by != NULL ? by : "an unknown writer");
        n++;
    }
    return n;
}
