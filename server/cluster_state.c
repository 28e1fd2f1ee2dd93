/* cluster_state.c: cluster mode's shared state: admin states and health observations
 * decoded from etcd's keys, the instances seen, the quorum rule that turns observations
 * into an address's state, and what status and metrics show of it. The session that feeds
 * it is cluster.c. */
#include "server/cluster_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/control.h"
#include "server/log.h"

const char *const cluster__rule_names[] = {"local", "majority", "any", "all"};

int64_t cluster__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t cluster__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- pure parts --------------------------------------------------------------------- */

bool cluster_rule_up(enum conf_health_rule rule, unsigned observers, unsigned down, bool local_up)
{
    if (rule == CONF_RULE_LOCAL || observers == 0)
        return local_up;
    switch (rule) {
    case CONF_RULE_MAJORITY:
        return !(2 * down > observers);
    case CONF_RULE_ANY:
        return down == 0;
    case CONF_RULE_ALL:
        return down < observers;
    default:
        return local_up;
    }
}

char *cluster_admin_encode(enum gslb_admin state, const char *who, const char *why, int64_t when_ms)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:I}", "state", gslb_admin_name(state), "who",
                          who != NULL ? who : "", "why", why != NULL ? why : "", "when_ms",
                          (json_int_t)when_ms);
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

static void copy_str(const json_t *v, char *out, size_t len)
{
    if (out != NULL && len > 0)
        snprintf(out, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int cluster_admin_decode(const char *text, size_t len, enum gslb_admin *state, char *who,
                         size_t wholen, char *why, size_t whylen, int64_t *when_ms)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    const json_t *st = json_object_get(j, "state");
    int rc = -EINVAL;
    if (json_is_object(j) && json_is_string(st) &&
        gslb_admin_parse(json_string_value(st), state) == 0) {
        copy_str(json_object_get(j, "who"), who, wholen);
        copy_str(json_object_get(j, "why"), why, whylen);
        *when_ms = etcd_json_int(json_object_get(j, "when_ms"), 0);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

char *cluster_obs_encode(bool up, const char *reason, uint32_t latency_ms, int64_t time_ms)
{
    json_t *j = json_pack("{s:b, s:s, s:I, s:I}", "up", up, "reason", reason != NULL ? reason : "",
                          "latency_ms", (json_int_t)latency_ms, "time_ms", (json_int_t)time_ms);
    char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    return s;
}

int cluster_obs_decode(const char *text, size_t len, bool *up, char *reason, size_t reasonlen,
                       uint32_t *latency_ms, int64_t *time_ms)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, 0, &je);
    const json_t *u = json_object_get(j, "up");
    int rc = -EINVAL;
    if (json_is_object(j) && json_is_boolean(u)) {
        *up = json_is_true(u);
        copy_str(json_object_get(j, "reason"), reason, reasonlen);
        int64_t l = etcd_json_int(json_object_get(j, "latency_ms"), 0);
        *latency_ms = l < 0 ? 0 : l > UINT32_MAX ? UINT32_MAX : (uint32_t)l;
        *time_ms = etcd_json_int(json_object_get(j, "time_ms"), 0);
        rc = 0;
    }
    json_decref(j);
    return rc;
}

/* ---- tables (under cl->lock) -------------------------------------------------------- */

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, nc * size);
    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

struct cl_obs *cluster__obs_find(struct cluster *cl, const char *inst, const char *cluster,
                                 const char *addr, bool create)
{
    for (size_t i = 0; i < cl->nobs; i++) {
        struct cl_obs *o = &cl->obs[i];
        if (strcmp(o->inst, inst) == 0 && strcmp(o->cluster, cluster) == 0 &&
            strcmp(o->addr, addr) == 0)
            return o;
    }
    if (!create || grow((void **)&cl->obs, &cl->capobs, cl->nobs, sizeof(*cl->obs)) < 0)
        return NULL;
    struct cl_obs *o = &cl->obs[cl->nobs++];
    memset(o, 0, sizeof(*o));
    snprintf(o->inst, sizeof(o->inst), "%s", inst);
    snprintf(o->cluster, sizeof(o->cluster), "%s", cluster);
    snprintf(o->addr, sizeof(o->addr), "%s", addr);
    return o;
}

/* Drop peers' observations (keep our own) or those of one instance (inst != NULL). */
void cluster__obs_drop(struct cluster *cl, const char *inst)
{
    size_t w = 0;
    for (size_t i = 0; i < cl->nobs; i++) {
        bool self = strcmp(cl->obs[i].inst, cl->cfg.name) == 0;
        bool drop = inst != NULL ? strcmp(cl->obs[i].inst, inst) == 0 : !self;
        if (!drop)
            cl->obs[w++] = cl->obs[i];
    }
    cl->nobs = w;
}

static struct cl_inst *inst_find(struct cluster *cl, const char *name, bool create)
{
    for (size_t i = 0; i < cl->ninsts; i++)
        if (strcmp(cl->insts[i].name, name) == 0)
            return &cl->insts[i];
    if (!create || grow((void **)&cl->insts, &cl->capinsts, cl->ninsts, sizeof(*cl->insts)) < 0)
        return NULL;
    struct cl_inst *in = &cl->insts[cl->ninsts++];
    memset(in, 0, sizeof(*in));
    snprintf(in->name, sizeof(in->name), "%s", name);
    return in;
}

static void inst_drop(struct cluster *cl, const char *name)
{
    size_t w = 0;
    for (size_t i = 0; i < cl->ninsts; i++)
        if (strcmp(cl->insts[i].name, name) != 0)
            cl->insts[w++] = cl->insts[i];
    cl->ninsts = w;
}

/* ---- decisions ---------------------------------------------------------------------- */

bool cluster_decide(struct cluster *cl, const struct gslb *g, uint32_t a, bool local_up)
{
    if (cl == NULL || cl->cfg.health_rule == CONF_RULE_LOCAL)
        return local_up;
    const char *cname = "";
    for (size_t c = 0; c < g->nclusters; c++)
        if (a >= g->clusters[c].first_addr && a < g->clusters[c].first_addr + g->clusters[c].naddrs)
            cname = g->clusters[c].name;
    const char *atext = g->addrs[a].text;
    pthread_mutex_lock(&cl->lock);
    unsigned observers = 1, down = local_up ? 0 : 1;
    struct cl_obs *self = cluster__obs_find(cl, cl->cfg.name, cname, atext, false);
    /* Without etcd, the shared view is frozen; once our own view of an address changed
     * since, our probes decide it: losing etcd moves nothing, a later failure still counts. */
    bool stale = !cl->connected && self != NULL && self->time_ms > cl->disconnected_at_ms;
    for (size_t i = 0; i < cl->nobs && !stale; i++) {
        const struct cl_obs *o = &cl->obs[i];
        if (strcmp(o->inst, cl->cfg.name) == 0 || strcmp(o->cluster, cname) != 0 ||
            strcmp(o->addr, atext) != 0)
            continue;
        observers++;
        down += o->up ? 0 : 1;
    }
    pthread_mutex_unlock(&cl->lock);
    if (stale)
        return local_up;
    return cluster_rule_up((enum conf_health_rule)cl->cfg.health_rule, observers, down, local_up);
}

/* Peers' views changed: apply the rule to every address of the served view. */
void cluster__recompute(struct cluster *cl)
{
    if (cl->cfg.health_rule == CONF_RULE_LOCAL)
        return;
    struct probes *p = &cl->ctl->probes;
    struct gslb *g = p->gslb;
    if (g == NULL)
        return;
    bool any = false;
    for (uint32_t a = 0; a < g->naddrs; a++) {
        bool local = probes_local_up(p, a);
        bool eff = cluster_decide(cl, g, a, local);
        bool was = atomic_load(&g->addr_up[a]) != 0;
        if (eff == was)
            continue;
        atomic_store_explicit(&g->addr_up[a], eff ? 1 : 0, memory_order_release);
        any = true;
        pthread_mutex_lock(&cl->lock);
        cl->health_changed++;
        pthread_mutex_unlock(&cl->lock);
        log_info("cluster: address %s is %s by the observers (rule %s; this instance sees it %s)",
                 g->addrs[a].text, eff ? "up" : "down", cluster__rule_names[cl->cfg.health_rule],
                 local ? "up" : "down");
    }
    if (any)
        gslb_track_services(g);
}

/* A shared admin state from etcd: apply it to the served view and the state file. */
static void apply_admin(struct cluster *cl, const char *name, enum gslb_admin want, const char *who,
                        const char *why, int64_t when_ms)
{
    struct control *ctl = cl->ctl;
    int64_t lag = when_ms > 0 ? cluster__wall_ms() - when_ms : 0;
    pthread_mutex_lock(&cl->lock);
    struct cl_admin *ad = NULL;
    for (size_t i = 0; i < cl->nadmins; i++)
        if (strcmp(cl->admins[i].cluster, name) == 0)
            ad = &cl->admins[i];
    if (ad == NULL &&
        grow((void **)&cl->admins, &cl->capadmins, cl->nadmins, sizeof(*cl->admins)) == 0) {
        ad = &cl->admins[cl->nadmins++];
        snprintf(ad->cluster, sizeof(ad->cluster), "%s", name);
    }
    if (ad != NULL) {
        ad->state = want;
        snprintf(ad->who, sizeof(ad->who), "%s", who);
        snprintf(ad->why, sizeof(ad->why), "%s", why);
        ad->when_ms = when_ms;
    }
    pthread_mutex_unlock(&cl->lock);

    pthread_mutex_lock(&ctl->reload_lock);
    struct view *v = atomic_load(&ctl->srv->view);
    int32_t ci = gslb_find_cluster(v->gslb, name);
    enum gslb_admin old = want;
    if (ci >= 0)
        old = (enum gslb_admin)atomic_exchange(&v->gslb->admin[ci], (uint8_t)want);
    struct err e = {{0}};
    int src = old != want && v->conf->state_file != NULL
                  ? gslb_state_save(v->gslb, v->conf->state_file, &e)
                  : 0;
    pthread_mutex_unlock(&ctl->reload_lock);
    if (ci < 0) {
        log_debug("cluster: shared state of unknown cluster '%s' ignored", name);
        return;
    }
    if (old == want)
        return;
    pthread_mutex_lock(&cl->lock);
    cl->admin_applied++;
    cl->watch_lag_ms = lag;
    pthread_mutex_unlock(&cl->lock);
    log_info("cluster: cluster %s admin state %s -> %s (shared: by %s%s%s, %lld ms after the "
             "write)",
             name, gslb_admin_name(old), gslb_admin_name(want), who, why[0] ? ", why: " : "", why,
             (long long)lag);
    if (src < 0)
        log_warn("cluster: the state file could not be written: %s", e.msg);
}

/* ---- keys --------------------------------------------------------------------------- */

void cluster__obs_key(const struct cluster *cl, const char *cname, const char *addr, char *out,
                      size_t len)
{
    snprintf(out, len, "%shealth/%s/%s/%s", cl->cfg.prefix, cl->cfg.name, cname, addr);
}

/* A key under the prefix, put or deleted (value NULL). */
void cluster__apply_kv(struct cluster *cl, const char *key, const char *value, size_t vlen)
{
    size_t pl = strlen(cl->cfg.prefix);
    if (strncmp(key, cl->cfg.prefix, pl) != 0)
        return;
    const char *rest = key + pl;
    if (strncmp(rest, "admin/", 6) == 0) {
        enum gslb_admin st;
        char who[80], why[200];
        int64_t when = 0;
        if (value == NULL)
            return; /* a deleted admin key changes nothing: the last state stays */
        if (cluster_admin_decode(value, vlen, &st, who, sizeof(who), why, sizeof(why), &when) < 0) {
            log_warn("cluster: %s: unreadable admin state ignored", key);
            return;
        }
        apply_admin(cl, rest + 6, st, who, why, when);
        return;
    }
    if (strncmp(rest, "instances/", 10) == 0) {
        const char *name = rest + 10;
        if (strcmp(name, cl->cfg.name) == 0)
            return;
        pthread_mutex_lock(&cl->lock);
        if (value == NULL) {
            inst_drop(cl, name);
            cluster__obs_drop(cl, name);
        } else {
            struct cl_inst *in = inst_find(cl, name, true);
            json_error_t je;
            json_t *j = json_loadb(value, vlen, 0, &je);
            if (in != NULL) {
                in->seen_ms = etcd_json_int(json_object_get(j, "seen_ms"), cluster__wall_ms());
                in->started_ms = etcd_json_int(json_object_get(j, "started_ms"), 0);
            }
            json_decref(j);
        }
        pthread_mutex_unlock(&cl->lock);
        if (value == NULL)
            log_info("cluster: instance %s is gone (its lease ended); its observations no "
                     "longer count",
                     name);
        return;
    }
    if (strncmp(rest, "health/", 7) == 0) {
        char inst[64], cname[64], addr[48];
        const char *s1 = strchr(rest + 7, '/'), *s2 = s1 != NULL ? strchr(s1 + 1, '/') : NULL;
        if (s2 == NULL || (size_t)(s1 - (rest + 7)) >= sizeof(inst) ||
            (size_t)(s2 - s1 - 1) >= sizeof(cname) || strlen(s2 + 1) >= sizeof(addr))
            return;
        snprintf(inst, sizeof(inst), "%.*s", (int)(s1 - (rest + 7)), rest + 7);
        snprintf(cname, sizeof(cname), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
        snprintf(addr, sizeof(addr), "%s", s2 + 1);
        if (strcmp(inst, cl->cfg.name) == 0)
            return; /* our own: we know better */
        pthread_mutex_lock(&cl->lock);
        if (value == NULL) {
            struct cl_obs *o = cluster__obs_find(cl, inst, cname, addr, false);
            if (o != NULL)
                *o = cl->obs[--cl->nobs];
        } else {
            struct cl_obs *o = cluster__obs_find(cl, inst, cname, addr, true);
            if (o != NULL && cluster_obs_decode(value, vlen, &o->up, o->reason, sizeof(o->reason),
                                                &o->latency_ms, &o->time_ms) < 0)
                *o = cl->obs[--cl->nobs];
        }
        pthread_mutex_unlock(&cl->lock);
    }
}

/* ---- what the API shows ---------------------------------------------------------------- */

json_t *cluster_status_json(struct cluster *cl)
{
    pthread_mutex_lock(&cl->lock);
    int64_t now = cluster__wall_ms();
    uint64_t mnow = cluster__mono_ms();
    json_t *j =
        json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:I}", "instance", cl->cfg.name,
                  "endpoint", cl->cfg.endpoints[atomic_load(&cl->endpoint)], "connected",
                  cl->connected, "health_rule", cluster__rule_names[cl->cfg.health_rule],
                  "lease_ttl_s", (json_int_t)cl->cfg.lease_ttl_s, "lease_age_ms",
                  (json_int_t)(cl->connected ? (int64_t)(mnow - cl->last_keepalive_mono_ms) : -1),
                  "watch_lag_ms", (json_int_t)cl->watch_lag_ms, "last_error", cl->last_error,
                  "pending_writes", (json_int_t)cl->npending);
    if (cl->connected)
        json_object_set_new(j, "connected_since_ms", json_integer(cl->connected_since_ms));
    else if (cl->disconnected_at_ms > 0)
        json_object_set_new(j, "disconnected_since_ms", json_integer(cl->disconnected_at_ms));
    json_t *insts = json_array();
    /* ourselves first, then the peers etcd lists */
    for (size_t k = 0; k <= cl->ninsts; k++) {
        const char *name = k == 0 ? cl->cfg.name : cl->insts[k - 1].name;
        json_t *o = json_pack("{s:s, s:b, s:I}", "name", name, "self", k == 0, "last_seen_ms",
                              (json_int_t)(k == 0 ? now : cl->insts[k - 1].seen_ms));
        json_t *obs = json_array();
        for (size_t i = 0; i < cl->nobs; i++) {
            const struct cl_obs *b = &cl->obs[i];
            if (strcmp(b->inst, name) == 0)
                json_array_append_new(obs, json_pack("{s:s, s:s, s:b, s:s, s:I, s:I}", "cluster",
                                                     b->cluster, "address", b->addr, "up", b->up,
                                                     "reason", b->reason, "latency_ms",
                                                     (json_int_t)b->latency_ms, "time_ms",
                                                     (json_int_t)b->time_ms));
        }
        json_object_set_new(o, "observations", obs);
        /* its view of each cluster: up when it sees one of the cluster's addresses up */
        json_t *views = json_object();
        for (size_t i = 0; i < cl->nobs; i++) {
            const struct cl_obs *b = &cl->obs[i];
            if (strcmp(b->inst, name) != 0)
                continue;
            json_t *cur = json_object_get(views, b->cluster);
            if (cur == NULL || (b->up && strcmp(json_string_value(cur), "down") == 0))
                json_object_set_new(views, b->cluster, json_string(b->up ? "up" : "down"));
        }
        json_object_set_new(o, "clusters", views);
        json_array_append_new(insts, o);
    }
    json_object_set_new(j, "instances", insts);
    json_t *dis = json_array();
    for (size_t i = 0; i < cl->nobs; i++) {
        const struct cl_obs *a = &cl->obs[i];
        bool first = true, differ = false;
        for (size_t k = 0; k < cl->nobs && first; k++) {
            const struct cl_obs *b = &cl->obs[k];
            if (strcmp(a->cluster, b->cluster) != 0 || strcmp(a->addr, b->addr) != 0)
                continue;
            if (k < i)
                first = false;
            else if (b->up != a->up)
                differ = true;
        }
        if (!first || !differ)
            continue;
        json_t *up = json_array(), *down = json_array();
        for (size_t k = 0; k < cl->nobs; k++) {
            const struct cl_obs *b = &cl->obs[k];
            if (strcmp(a->cluster, b->cluster) == 0 && strcmp(a->addr, b->addr) == 0)
                json_array_append_new(b->up ? up : down, json_string(b->inst));
        }
        json_array_append_new(dis, json_pack("{s:s, s:s, s:o, s:o}", "cluster", a->cluster,
                                             "address", a->addr, "up", up, "down", down));
    }
    json_object_set_new(j, "disagreements", dis);
    json_t *ads = json_array();
    for (size_t i = 0; i < cl->nadmins; i++) {
        const struct cl_admin *a = &cl->admins[i];
        json_array_append_new(ads, json_pack("{s:s, s:s, s:s, s:s, s:I}", "cluster", a->cluster,
                                             "state", gslb_admin_name(a->state), "who", a->who,
                                             "why", a->why, "when_ms", (json_int_t)a->when_ms));
    }
    json_object_set_new(j, "shared_admin", ads);
    json_object_set_new(j, "watch_events", json_integer((json_int_t)cl->watch_events));
    json_object_set_new(j, "reconnects", json_integer((json_int_t)cl->reconnects));
    pthread_mutex_unlock(&cl->lock);
    return j;
}

size_t cluster_metrics_text(struct cluster *cl, char *buf, size_t len)
{
    json_t *st = cluster_status_json(cl);
    pthread_mutex_lock(&cl->lock);
    bool conn = cl->connected;
    double lease_age =
        conn ? (double)(cluster__mono_ms() - cl->last_keepalive_mono_ms) / 1000.0 : -1;
    int n = snprintf(
        buf, len,
        "# HELP gslbd_shared_etcd_connected 1 while the etcd session is up.\n"
        "# TYPE gslbd_shared_etcd_connected gauge\n"
        "gslbd_shared_etcd_connected %d\n"
        "# HELP gslbd_shared_lease_age_seconds Time since the lease was last kept alive.\n"
        "# TYPE gslbd_shared_lease_age_seconds gauge\n"
        "gslbd_shared_lease_age_seconds %.3f\n"
        "# HELP gslbd_shared_watch_lag_seconds Delay from a shared admin write to its watch "
        "event here.\n"
        "# TYPE gslbd_shared_watch_lag_seconds gauge\n"
        "gslbd_shared_watch_lag_seconds %.3f\n"
        "# HELP gslbd_shared_instances Live instances, this one included.\n"
        "# TYPE gslbd_shared_instances gauge\n"
        "gslbd_shared_instances %zu\n"
        "# HELP gslbd_shared_disagreements Addresses the instances see differently.\n"
        "# TYPE gslbd_shared_disagreements gauge\n"
        "gslbd_shared_disagreements %zu\n"
        "# HELP gslbd_shared_watch_events_total Events read from the watch.\n"
        "# TYPE gslbd_shared_watch_events_total counter\n"
        "gslbd_shared_watch_events_total %llu\n"
        "# HELP gslbd_shared_reconnects_total etcd sessions started again after a failure.\n"
        "# TYPE gslbd_shared_reconnects_total counter\n"
        "gslbd_shared_reconnects_total %llu\n"
        "# HELP gslbd_shared_decisions_total Changes made here from the shared state.\n"
        "# TYPE gslbd_shared_decisions_total counter\n"
        "gslbd_shared_decisions_total{kind=\"admin\"} %llu\n"
        "gslbd_shared_decisions_total{kind=\"health\"} %llu\n",
        conn ? 1 : 0, lease_age, (double)cl->watch_lag_ms / 1000.0, cl->ninsts + 1,
        json_array_size(json_object_get(st, "disagreements")), (unsigned long long)cl->watch_events,
        (unsigned long long)cl->reconnects, (unsigned long long)cl->admin_applied,
        (unsigned long long)cl->health_changed);
    pthread_mutex_unlock(&cl->lock);
    json_decref(st);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}
