/* api_status.c: GET /api/v1/status: regions, clusters with their probes and answer share,
 * services, recent health transitions and reload results, as one JSON document. */
#include "server/api/api_int.h"
#include "server/loadinfo.h"

#include "server/cluster.h"
#include "server/dnssec_zone.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const policy_names[] = {"nearest", "weighted", "failover"};

/* Any address up by health results alone (admin states aside). */
static bool health_up(const struct gslb *g, const struct gslb_cluster *c)
{
    for (uint32_t i = 0; i < c->naddrs; i++)
        if (atomic_load_explicit(&g->addr_up[c->first_addr + i], memory_order_relaxed))
            return true;
    return false;
}

/* One word for the dashboard: what the operator and the probes made of the cluster. */
static const char *state_word(enum gslb_admin adm, bool healthy)
{
    switch (adm) {
    case GSLB_ADMIN_DRAIN:
        return "drained";
    case GSLB_ADMIN_UP:
        return "forced-up";
    case GSLB_ADMIN_DOWN:
        return "forced-down";
    default:
        return healthy ? "healthy" : "down";
    }
}

static json_t *time_or_null(int64_t wall_ms)
{
    if (wall_ms <= 0)
        return json_null();
    char t[40];
    api_iso_time(wall_ms, t, sizeof(t));
    return json_string(t);
}

static json_t *target_json(const struct conf *cf, const struct probe_target_info *ti,
                           const struct hc_status *st)
{
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:s, s:i, s:o, s:I, s:I, s:I, s:I}", "check",
                     cf->checks[ti->check].name, "up", st->up, "pending", st->pending, "last_ok",
                     !st->pending && st->last_ok, "flapping", st->flapping, "last_reason",
                     st->last_reason, "latency_ms", (int)st->last_latency_ms, "last_change",
                     time_or_null(st->last_change_wall_ms), "probes", (json_int_t)st->probes,
                     "failures", (json_int_t)st->failures, "timeouts", (json_int_t)st->timeouts,
                     "transitions", (json_int_t)st->transitions);
}

/* Per address, the JSON array of its probe targets (probes lock held). */
static void fill_targets(struct api *a, const struct view *v, json_t **per_addr)
{
    struct probes *p = &a->ctl->probes;
    if (p->set == NULL || p->gslb != v->gslb)
        return;
    for (size_t t = 0; t < p->ntargets; t++) {
        struct hc_status st;
        const struct probe_target_info *ti = &p->info[t];
        if (ti->addr >= v->gslb->naddrs || hc_target_status(p->set, t, &st) < 0)
            continue;
        json_array_append_new(per_addr[ti->addr], target_json(v->conf, ti, &st));
    }
}

static json_t *clusters_json(const struct view *v, json_t **per_addr, const uint64_t *ans1m,
                             uint64_t total1m, const uint64_t *totals)
{
    const struct gslb *g = v->gslb;
    json_t *arr = json_array();
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        const struct gslb_cluster *c = &g->clusters[ci];
        enum gslb_admin adm = (enum gslb_admin)atomic_load(&g->admin[ci]);
        bool healthy = health_up(g, c);
        json_t *addrs = json_array();
        for (uint32_t i = c->first_addr; i < c->first_addr + c->naddrs; i++) {
            json_array_append_new(
                addrs, json_pack("{s:s, s:s, s:b, s:o}", "address", g->addrs[i].text, "family",
                                 g->addrs[i].family == AF_INET6 ? "ipv6" : "ipv4", "up",
                                 atomic_load(&g->addr_up[i]) != 0, "targets", per_addr[i]));
            per_addr[i] = NULL;
        }
        double share = total1m > 0 ? (double)ans1m[ci] / (double)total1m : 0.0;
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:i, s:s, s:b, s:b, s:s, s:f, s:I, s:I, s:o}", "name",
                           c->name, "region", g->region_names[c->region], "weight", (int)c->weight,
                           "admin", gslb_admin_name(adm), "healthy", healthy, "in_service",
                           gslb_cluster_up(g, (uint32_t)ci), "state", state_word(adm, healthy),
                           "share_1m", share, "answers_1m", (json_int_t)ans1m[ci], "answers_total",
                           (json_int_t)totals[ci], "addresses", addrs));
    }
    return arr;
}

/* Each signed zone's keys and their state (docs/dnssec.md); reload_lock held, so that
 * neither the view nor a zone's signatures are freed meanwhile. */
static json_t *dnssec_json(const struct view *v, int64_t now)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < v->nzones; i++) {
        const struct dnssec_zone *s = zone_dnssec(v->zones[i]);
        if (s == NULL)
            continue;
        const struct dnssec_keyset *ks = dnssec_zone_keys(s);
        const struct dnssec_keyent *cds = dnssec_keys_cds(ks, now);
        json_t *keys = json_array();
        for (size_t k = 0; k < ks->n; k++) {
            const struct dnssec_keyent *e = &ks->k[k];
            json_array_append_new(
                keys, json_pack("{s:i, s:s, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I}", "tag",
                                e->key.tag, "role", dnssec_role_name(e->role), "algorithm",
                                e->key.alg, "state", dnssec_keyent_state(e, now), "cds", e == cds,
                                "publish", (json_int_t)e->publish, "active", (json_int_t)e->active,
                                "retire", (json_int_t)e->retire, "remove", (json_int_t)e->remove,
                                "ds_seen", (json_int_t)e->ds_seen));
        }
        json_array_append_new(arr, json_pack("{s:s, s:b, s:I, s:I, s:s, s:o}", "zone",
                                             v->conf->zones[i].origin, "managed", ks->managed,
                                             "expiration", (json_int_t)dnssec_zone_expiration(s),
                                             "next_event", (json_int_t)dnssec_zone_next_event(s),
                                             "ds_check", ks->ds_status, "keys", keys));
    }
    return arr;
}

static json_t *services_json(const struct gslb *g)
{
    json_t *arr = json_array();
    for (size_t si = 0; si < g->nservices; si++) {
        const struct gslb_service *s = &g->services[si];
        json_t *names = json_array();
        bool any_up = false;
        for (uint32_t k = 0; k < s->nclusters; k++) {
            json_array_append_new(names, json_string(g->clusters[s->clusters[k]].name));
            any_up = any_up || gslb_cluster_up(g, s->clusters[k]);
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:o, s:i, s:i, s:s, s:b}", "name", s->name, "policy",
                           policy_names[s->policy < 3 ? s->policy : 0], "clusters", names, "ttl",
                           (int)s->ttl, "failover_ttl", (int)s->failover_ttl, "all_down",
                           s->all_down == CONF_ALL_DOWN_SERVFAIL ? "servfail" : "fail_open",
                           "every_cluster_down", !any_up));
    }
    return arr;
}

static json_t *regions_json(const struct conf *cf)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < cf->nregions; i++)
        json_array_append_new(arr, json_pack("{s:s, s:f, s:f}", "name", cf->regions[i].name, "lat",
                                             cf->regions[i].lat, "lon", cf->regions[i].lon));
    return arr;
}

/* Newest first (probes lock held). */
static json_t *transitions_json(const struct probes *p)
{
    json_t *arr = json_array();
    size_t have = p->nrecent < PROBE_RECENT_MAX ? p->nrecent : PROBE_RECENT_MAX;
    for (size_t k = 0; k < have && k < API_TRANSITIONS; k++) {
        const struct probe_transition *r = &p->recent[(p->nrecent - 1 - k) % PROBE_RECENT_MAX];
        json_array_append_new(arr, json_pack("{s:o, s:s, s:s, s:s, s:b, s:s}", "time",
                                             time_or_null(r->wall_ms), "cluster", r->cluster,
                                             "address", r->address, "check", r->check, "up", r->up,
                                             "reason", r->reason));
    }
    return arr;
}

enum MHD_Result api_status(struct api *a, struct MHD_Connection *c)
{
    struct control *ctl = a->ctl;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char nowtext[40];
    api_iso_time((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, nowtext, sizeof(nowtext));

    pthread_mutex_lock(&ctl->reload_lock); /* the view cannot be swapped or freed meanwhile */
    const struct view *v = atomic_load(&a->srv->view);
    const struct gslb *g = v->gslb;
    size_t nc = g->nclusters, na = g->naddrs;
    uint64_t *ans1m = calloc(2 * nc + 1, sizeof(*ans1m)); /* last minute, then totals */
    json_t **per_addr = calloc(na + 1, sizeof(*per_addr));
    if (ans1m == NULL || per_addr == NULL) {
        pthread_mutex_unlock(&ctl->reload_lock);
        free(ans1m);
        free(per_addr);
        return api_reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    uint64_t window_ms = 0, total1m = 0;
    api_share_1m(a, ans1m, nc, &window_ms);
    api_share_totals(a, ans1m + nc, nc);
    for (size_t ci = 0; ci < nc; ci++)
        total1m += ans1m[ci];
    for (size_t i = 0; i < na; i++)
        per_addr[i] = json_array();

    pthread_mutex_lock(&ctl->probes.lock);
    fill_targets(a, v, per_addr);
    json_t *transitions = transitions_json(&ctl->probes);
    uint64_t ntransitions = ctl->probes.transitions;
    pthread_mutex_unlock(&ctl->probes.lock);

    json_t *admin_changes = admin_log_json(&ctl->admin_log); /* reload_lock held */
    const char *err = ctl->last_reload_error;
    json_t *o = json_pack(
        "{s:s, s:s, s:I, s:s, s:b, s:I, s:I, s:o, s:{s:I, s:I}, s:o, s:o, s:o, s:I, s:o}",
        "version", a->info.version, "now", nowtext, "uptime_s",
        (json_int_t)((api_mono_ms() - a->info.started_mono_ms) / 1000), "api_listen", a->listen,
        "changes_enabled", v->conf->api.token_len > 0, "reloads",
        (json_int_t)atomic_load(&ctl->reloads), "reload_failures",
        (json_int_t)atomic_load(&ctl->reload_failures), "last_reload_error",
        err[0] != '\0' ? json_string(err) : json_null(), "answers_1m", "window_s",
        (json_int_t)(window_ms / 1000), "total", (json_int_t)total1m, "regions",
        regions_json(v->conf), "clusters", clusters_json(v, per_addr, ans1m, total1m, ans1m + nc),
        "services", services_json(g), "health_transitions", (json_int_t)ntransitions, "transitions",
        transitions);
    json_object_set_new(o, "admin_changes", admin_changes);
    json_object_set_new(o, "geoip", loadinfo_geo_json(v));
    json_object_set_new(o, "zones", loadinfo_zones_json(v));
    json_object_set_new(o, "dnssec", dnssec_json(v, (int64_t)now.tv_sec));
    pthread_mutex_unlock(&ctl->reload_lock);
    /* a reload builds on its own thread: say so while it runs */
    json_object_set_new(o, "reload_in_progress",
                        json_boolean(atomic_load(&ctl->reload_in_progress) != 0));
    if (ctl->cluster != NULL) /* cluster mode (cluster.h) */
        json_object_set_new(o, "cluster", cluster_status_json(ctl->cluster));
    for (size_t i = 0; i < na; i++)
        json_decref(per_addr[i]); /* those not taken by a cluster (none, normally) */
    free(per_addr);
    free(ans1m);
    return api_reply_json(c, MHD_HTTP_OK, o);
}
