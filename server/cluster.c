/* cluster.c: cluster mode through etcd: the session (lease, range, watch, keep-alive,
 * reconnect), shared admin states, shared health observations and the quorum rule. */
#include "cluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control.h"
#include "etcd.h"
#include "log.h"

#define CL_BACKOFF_MIN_MS 100
#define CL_BACKOFF_MAX_MS 1000
#define CL_PENDING_MAX 64

static const char *const rule_names[] = {"local", "majority", "any", "all"};

enum cl_step { CL_IDLE, CL_AUTH, CL_LEASE, CL_PENDING, CL_RANGE, CL_UP };

/* One instance's view of one address (this instance's own entries included). */
struct cl_obs {
    char inst[64];
    char cluster[64];
    char addr[48];
    bool up;
    char reason[128];
    uint32_t latency_ms;
    int64_t time_ms; /* when the instance saw it change (Unix ms) */
};

struct cl_inst {
    char name[64];
    int64_t seen_ms; /* Unix ms of its last instance-key write */
    int64_t started_ms;
};

struct cl_admin {
    char cluster[64];
    enum gslb_admin state;
    char who[80];
    char why[200];
    int64_t when_ms;
};

struct cl_pending {
    char key[400];
    char *value;
};

struct cluster {
    struct control *ctl;
    struct conf_shared cfg; /* deep copy */
    struct etcd *etcd;
    uv_timer_t retry, keepalive;
    enum cl_step step;
    bool failed, stopping;
    unsigned backoff_ms;
    int64_t lease;
    int64_t revision;
    int64_t started_ms;

    pthread_mutex_t lock; /* guards everything below against the API thread */
    bool connected;
    int64_t connected_since_ms, disconnected_at_ms;
    uint64_t last_keepalive_mono_ms;
    _Atomic size_t endpoint; /* index, for the API's blocking writes */
    char last_error[256];
    struct cl_obs *obs;
    size_t nobs, capobs;
    struct cl_inst *insts;
    size_t ninsts, capinsts;
    struct cl_admin *admins;
    size_t nadmins, capadmins;
    struct cl_pending pending[CL_PENDING_MAX];
    size_t npending;
    int64_t watch_lag_ms;
    uint64_t watch_events, reconnects, admin_applied, health_changed;
};

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_ms(void)
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

static struct cl_obs *obs_find(struct cluster *cl, const char *inst, const char *cluster,
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
static void obs_drop(struct cluster *cl, const char *inst)
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
    struct cl_obs *self = obs_find(cl, cl->cfg.name, cname, atext, false);
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
static void recompute(struct cluster *cl)
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
                 g->addrs[a].text, eff ? "up" : "down", rule_names[cl->cfg.health_rule],
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
    int64_t lag = when_ms > 0 ? wall_ms() - when_ms : 0;
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

static void obs_key(const struct cluster *cl, const char *cname, const char *addr, char *out,
                    size_t len)
{
    snprintf(out, len, "%shealth/%s/%s/%s", cl->cfg.prefix, cl->cfg.name, cname, addr);
}

/* A key under the prefix, put or deleted (value NULL). */
static void apply_kv(struct cluster *cl, const char *key, const char *value, size_t vlen)
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
            obs_drop(cl, name);
        } else {
            struct cl_inst *in = inst_find(cl, name, true);
            json_error_t je;
            json_t *j = json_loadb(value, vlen, 0, &je);
            if (in != NULL) {
                in->seen_ms = etcd_json_int(json_object_get(j, "seen_ms"), wall_ms());
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
            struct cl_obs *o = obs_find(cl, inst, cname, addr, false);
            if (o != NULL)
                *o = cl->obs[--cl->nobs];
        } else {
            struct cl_obs *o = obs_find(cl, inst, cname, addr, true);
            if (o != NULL && cluster_obs_decode(value, vlen, &o->up, o->reason, sizeof(o->reason),
                                                &o->latency_ms, &o->time_ms) < 0)
                *o = cl->obs[--cl->nobs];
        }
        pthread_mutex_unlock(&cl->lock);
    }
}

/* ---- the session -------------------------------------------------------------------- */

static void connect_step(struct cluster *cl);
static void on_retry(uv_timer_t *t);

/* Something failed: drop the session and try again (next endpoint, with backoff). The
 * shared view stays as it was: losing etcd moves no answer by itself. */
static void session_fail(struct cluster *cl, const char *what, const char *err)
{
    if (cl->failed || cl->stopping)
        return;
    cl->failed = true;
    uv_timer_stop(&cl->keepalive);
    pthread_mutex_lock(&cl->lock);
    bool was = cl->connected;
    if (was) {
        cl->connected = false;
        cl->disconnected_at_ms = wall_ms();
    }
    snprintf(cl->last_error, sizeof(cl->last_error), "%s: %s", what, err != NULL ? err : "");
    pthread_mutex_unlock(&cl->lock);
    if (was)
        log_warn("cluster: etcd lost (%s: %s); answering from the last shared view and our own "
                 "probes",
                 what, err);
    else
        log_debug("cluster: etcd: %s: %s", what, err);
    uv_timer_start(&cl->retry, on_retry, 0, 0); /* aborts the calls outside curl's callbacks */
}

static void on_reconnect(uv_timer_t *t)
{
    struct cluster *cl = t->data;
    cl->failed = false;
    connect_step(cl);
}

static void on_retry(uv_timer_t *t)
{
    struct cluster *cl = t->data;
    etcd_abort_all(cl->etcd);
    etcd_next_endpoint(cl->etcd);
    atomic_store(&cl->endpoint, etcd_endpoint_index(cl->etcd));
    pthread_mutex_lock(&cl->lock);
    cl->reconnects++;
    pthread_mutex_unlock(&cl->lock);
    cl->step = CL_IDLE;
    unsigned wait = cl->backoff_ms;
    cl->backoff_ms =
        cl->backoff_ms * 2 > CL_BACKOFF_MAX_MS ? CL_BACKOFF_MAX_MS : cl->backoff_ms * 2;
    uv_timer_start(&cl->retry, on_reconnect, wait, 0);
}

static void on_put_done(void *arg, int rc, json_t *reply, const char *err)
{
    (void)reply;
    struct cluster *cl = arg;
    if (rc < 0 && !cl->failed)
        session_fail(cl, "put", err);
}

static void put(struct cluster *cl, const char *key, const char *value, int64_t lease)
{
    if (etcd_call(cl->etcd, "/v3/kv/put", etcd_put_body(key, value, lease), on_put_done, cl) < 0)
        session_fail(cl, "put", "cannot start the call");
}

static void put_instance(struct cluster *cl)
{
    char key[300];
    snprintf(key, sizeof(key), "%sinstances/%s", cl->cfg.prefix, cl->cfg.name);
    json_t *j = json_pack("{s:s, s:I, s:I, s:s}", "name", cl->cfg.name, "started_ms",
                          (json_int_t)cl->started_ms, "seen_ms", (json_int_t)wall_ms(), "rule",
                          rule_names[cl->cfg.health_rule]);
    char *v = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    if (v != NULL)
        put(cl, key, v, cl->lease);
    free(v);
}

/* Put every observation of ours (after connecting, or a reload). */
static void publish_all(struct cluster *cl)
{
    pthread_mutex_lock(&cl->lock);
    size_t n = cl->nobs;
    struct cl_obs *copy = n ? malloc(n * sizeof(*copy)) : NULL;
    size_t m = 0;
    for (size_t i = 0; copy != NULL && i < n; i++)
        if (strcmp(cl->obs[i].inst, cl->cfg.name) == 0)
            copy[m++] = cl->obs[i];
    pthread_mutex_unlock(&cl->lock);
    for (size_t i = 0; i < m && !cl->failed; i++) {
        char key[400];
        obs_key(cl, copy[i].cluster, copy[i].addr, key, sizeof(key));
        char *v =
            cluster_obs_encode(copy[i].up, copy[i].reason, copy[i].latency_ms, copy[i].time_ms);
        if (v != NULL)
            put(cl, key, v, cl->lease);
        free(v);
    }
    free(copy);
}

static void on_keepalive_done(void *arg, int rc, json_t *reply, const char *err)
{
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    if (rc < 0) {
        session_fail(cl, "lease keep-alive", err);
        return;
    }
    const json_t *res = json_object_get(reply, "result");
    int64_t ttl = etcd_json_int(json_object_get(res != NULL ? res : reply, "TTL"), 0);
    if (ttl <= 0) {
        session_fail(cl, "lease keep-alive", "the lease expired");
        return;
    }
    pthread_mutex_lock(&cl->lock);
    cl->last_keepalive_mono_ms = mono_ms();
    pthread_mutex_unlock(&cl->lock);
}

static void on_keepalive(uv_timer_t *t)
{
    struct cluster *cl = t->data;
    if (cl->failed || cl->step != CL_UP)
        return;
    json_t *b = json_object();
    char id[32];
    snprintf(id, sizeof(id), "%lld", (long long)cl->lease);
    json_object_set_new(b, "ID", json_string(id));
    if (etcd_call(cl->etcd, "/v3/lease/keepalive", b, on_keepalive_done, cl) < 0)
        session_fail(cl, "lease keep-alive", "cannot start the call");
    else
        put_instance(cl);
}

static void on_watch(void *arg, int rc, json_t *msg, const char *err)
{
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    if (rc < 0) {
        session_fail(cl, "watch", err);
        return;
    }
    const json_t *res = json_object_get(msg, "result");
    if (res == NULL)
        res = msg;
    const json_t *hdr = json_object_get(res, "header");
    int64_t rev = etcd_json_int(json_object_get(hdr, "revision"), 0);
    if (json_is_true(json_object_get(res, "canceled"))) {
        session_fail(cl, "watch", "canceled by etcd (compacted?)");
        return;
    }
    if (json_is_true(json_object_get(res, "created")) && cl->step != CL_UP) {
        cl->step = CL_UP;
        cl->backoff_ms = CL_BACKOFF_MIN_MS;
        pthread_mutex_lock(&cl->lock);
        cl->connected = true;
        cl->connected_since_ms = wall_ms();
        cl->last_keepalive_mono_ms = mono_ms();
        cl->last_error[0] = '\0';
        pthread_mutex_unlock(&cl->lock);
        log_info("cluster: connected to etcd at %s as instance %s (lease %llx, revision %lld, "
                 "health rule %s)",
                 etcd_endpoint(cl->etcd), cl->cfg.name, (unsigned long long)cl->lease,
                 (long long)cl->revision, rule_names[cl->cfg.health_rule]);
        uint64_t every = (uint64_t)cl->cfg.lease_ttl_s * 1000 / 3;
        uv_timer_start(&cl->keepalive, on_keepalive, every, every);
    }
    const json_t *events = json_object_get(res, "events");
    size_t i;
    const json_t *ev;
    bool health = false;
    json_array_foreach(events, i, ev)
    {
        struct etcd_kv kv;
        if (etcd_kv_decode(json_object_get(ev, "kv"), &kv) < 0)
            continue;
        const json_t *type = json_object_get(ev, "type");
        bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
        apply_kv(cl, kv.key, del ? NULL : kv.value, kv.value_len);
        health = true;
        etcd_kv_clear(&kv);
    }
    if (rev > cl->revision)
        cl->revision = rev;
    if (json_array_size(events) > 0) {
        pthread_mutex_lock(&cl->lock);
        cl->watch_events += json_array_size(events);
        pthread_mutex_unlock(&cl->lock);
    }
    if (health)
        recompute(cl);
}

static void on_range(void *arg, int rc, json_t *reply, const char *err)
{
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    if (rc < 0) {
        session_fail(cl, "range", err);
        return;
    }
    cl->revision = etcd_json_int(json_object_get(json_object_get(reply, "header"), "revision"), 0);
    /* a fresh view of the peers: forget those seen before, then read them all */
    pthread_mutex_lock(&cl->lock);
    obs_drop(cl, NULL);
    cl->ninsts = 0;
    pthread_mutex_unlock(&cl->lock);
    size_t i;
    const json_t *kvj;
    json_array_foreach(json_object_get(reply, "kvs"), i, kvj)
    {
        struct etcd_kv kv;
        if (etcd_kv_decode(kvj, &kv) == 0)
            apply_kv(cl, kv.key, kv.value, kv.value_len);
        etcd_kv_clear(&kv);
    }
    recompute(cl);
    put_instance(cl);
    publish_all(cl);
    cl->step = CL_RANGE;
    if (!cl->failed &&
        etcd_watch(cl->etcd, etcd_watch_body(cl->cfg.prefix, cl->revision + 1), on_watch, cl) < 0)
        session_fail(cl, "watch", "cannot start the call");
}

static void on_pending_done(void *arg, int rc, json_t *reply, const char *err)
{
    (void)reply;
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    if (rc < 0) {
        session_fail(cl, "queued admin write", err);
        return;
    }
    pthread_mutex_lock(&cl->lock);
    if (cl->npending > 0) {
        free(cl->pending[0].value);
        memmove(&cl->pending[0], &cl->pending[1], (cl->npending - 1) * sizeof(cl->pending[0]));
        cl->npending--;
    }
    pthread_mutex_unlock(&cl->lock);
    connect_step(cl);
}

static void on_lease(void *arg, int rc, json_t *reply, const char *err)
{
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    if (rc < 0) {
        session_fail(cl, "lease grant", err);
        return;
    }
    cl->lease = etcd_json_int(json_object_get(reply, "ID"), 0);
    if (cl->lease == 0) {
        session_fail(cl, "lease grant", "no lease ID in the reply");
        return;
    }
    cl->step = CL_PENDING;
    connect_step(cl);
}

static void on_auth(void *arg, int rc, json_t *reply, const char *err)
{
    struct cluster *cl = arg;
    if (cl->failed)
        return;
    const json_t *t = json_object_get(reply, "token");
    if (rc < 0 || !json_is_string(t)) {
        session_fail(cl, "authenticate", rc < 0 ? err : "no token in the reply");
        return;
    }
    etcd_set_token(cl->etcd, json_string_value(t));
    cl->step = CL_LEASE;
    connect_step(cl);
}

/* The session's next step: authenticate, lease, queued writes, range (then the watch). */
static void connect_step(struct cluster *cl)
{
    int rc = 0;
    switch (cl->step) {
    case CL_IDLE:
        if (cl->cfg.user != NULL) {
            cl->step = CL_AUTH;
            rc = etcd_call(
                cl->etcd, "/v3/auth/authenticate",
                json_pack("{s:s, s:s}", "name", cl->cfg.user, "password", cl->cfg.password),
                on_auth, cl);
            break;
        }
        cl->step = CL_LEASE;
        /* fall through */
    case CL_LEASE:
    case CL_AUTH:
        rc = etcd_call(cl->etcd, "/v3/lease/grant",
                       json_pack("{s:I}", "TTL", (json_int_t)cl->cfg.lease_ttl_s), on_lease, cl);
        break;
    case CL_PENDING: {
        pthread_mutex_lock(&cl->lock);
        json_t *b =
            cl->npending > 0 ? etcd_put_body(cl->pending[0].key, cl->pending[0].value, 0) : NULL;
        pthread_mutex_unlock(&cl->lock);
        if (b != NULL) {
            rc = etcd_call(cl->etcd, "/v3/kv/put", b, on_pending_done, cl);
            break;
        }
        cl->step = CL_RANGE;
        rc = etcd_call(cl->etcd, "/v3/kv/range", etcd_range_body(cl->cfg.prefix), on_range, cl);
        break;
    }
    default:
        break;
    }
    if (rc < 0)
        session_fail(cl, "connect", "cannot start the call");
}

/* ---- hooks and the API -------------------------------------------------------------- */

void cluster_observed(struct cluster *cl, const struct gslb *g, uint32_t a, bool local_up,
                      const char *reason, uint32_t latency_ms)
{
    if (cl == NULL)
        return;
    const char *cname = "";
    for (size_t c = 0; c < g->nclusters; c++)
        if (a >= g->clusters[c].first_addr && a < g->clusters[c].first_addr + g->clusters[c].naddrs)
            cname = g->clusters[c].name;
    pthread_mutex_lock(&cl->lock);
    struct cl_obs *o = obs_find(cl, cl->cfg.name, cname, g->addrs[a].text, true);
    bool changed = o != NULL && (o->up != local_up || o->time_ms == 0);
    if (changed) {
        o->up = local_up;
        snprintf(o->reason, sizeof(o->reason), "%s", local_up ? "" : reason != NULL ? reason : "");
        o->latency_ms = latency_ms;
        o->time_ms = wall_ms();
    }
    bool up = cl->connected;
    struct cl_obs copy = o != NULL ? *o : (struct cl_obs){0};
    pthread_mutex_unlock(&cl->lock);
    if (!changed || !up || cl->step != CL_UP || cl->failed)
        return;
    char key[400];
    obs_key(cl, copy.cluster, copy.addr, key, sizeof(key));
    char *v = cluster_obs_encode(copy.up, copy.reason, copy.latency_ms, copy.time_ms);
    if (v != NULL)
        put(cl, key, v, cl->lease);
    free(v);
}

void cluster_view_changed(struct cluster *cl)
{
    if (cl == NULL)
        return;
    if (cl->step == CL_UP && !cl->failed)
        publish_all(cl);
    recompute(cl);
}

static bool same_str(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

bool cluster_conf_same(const struct cluster *cl, const struct conf_shared *cfg)
{
    if (cl == NULL || !cfg->enabled)
        return cl == NULL && !cfg->enabled;
    const struct conf_shared *a = &cl->cfg;
    bool same = a->nendpoints == cfg->nendpoints && same_str(a->prefix, cfg->prefix) &&
                same_str(a->name, cfg->name) && same_str(a->cert_file, cfg->cert_file) &&
                same_str(a->key_file, cfg->key_file) && same_str(a->ca_file, cfg->ca_file) &&
                same_str(a->user, cfg->user) && a->lease_ttl_s == cfg->lease_ttl_s &&
                a->health_rule == cfg->health_rule;
    for (size_t i = 0; same && i < a->nendpoints; i++)
        same = strcmp(a->endpoints[i], cfg->endpoints[i]) == 0;
    return same;
}

static void admin_key(const char *prefix, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%sadmin/%s", prefix, name);
}

int cluster_admin_put_once(const struct conf_shared *cfg, const char *name, enum gslb_admin want,
                           const char *who, const char *why, char *err, size_t errlen)
{
    char key[400];
    admin_key(cfg->prefix, name, key, sizeof(key));
    char *v = cluster_admin_encode(want, who, why, wall_ms());
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_t *reply = NULL;
    int rc = etcd_sync_call(cfg, 0, "/v3/kv/put", etcd_put_body(key, v, 0), &reply, err, errlen);
    json_decref(reply);
    free(v);
    return rc;
}

int cluster_admin_put(struct cluster *cl, const char *name, enum gslb_admin want, const char *who,
                      const char *why, char *err, size_t errlen)
{
    char key[400];
    admin_key(cl->cfg.prefix, name, key, sizeof(key));
    char *v = cluster_admin_encode(want, who, why, wall_ms());
    if (v == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    json_t *reply = NULL;
    int rc = etcd_sync_call(&cl->cfg, atomic_load(&cl->endpoint), "/v3/kv/put",
                            etcd_put_body(key, v, 0), &reply, err, errlen);
    json_decref(reply);
    if (rc == 0) {
        free(v);
        return 0;
    }
    /* queued: the session sends it before it reads the shared state again */
    pthread_mutex_lock(&cl->lock);
    size_t i = 0;
    while (i < cl->npending && strcmp(cl->pending[i].key, key) != 0)
        i++;
    if (i < cl->npending) {
        free(cl->pending[i].value);
        cl->pending[i].value = v;
    } else if (cl->npending < CL_PENDING_MAX) {
        snprintf(cl->pending[cl->npending].key, sizeof(cl->pending[0].key), "%s", key);
        cl->pending[cl->npending++].value = v;
    } else {
        free(v);
    }
    pthread_mutex_unlock(&cl->lock);
    return rc;
}

json_t *cluster_status_json(struct cluster *cl)
{
    pthread_mutex_lock(&cl->lock);
    int64_t now = wall_ms();
    uint64_t mnow = mono_ms();
    json_t *j =
        json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:I}", "instance", cl->cfg.name,
                  "endpoint", cl->cfg.endpoints[atomic_load(&cl->endpoint)], "connected",
                  cl->connected, "health_rule", rule_names[cl->cfg.health_rule], "lease_ttl_s",
                  (json_int_t)cl->cfg.lease_ttl_s, "lease_age_ms",
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
    double lease_age = conn ? (double)(mono_ms() - cl->last_keepalive_mono_ms) / 1000.0 : -1;
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

/* ---- life ------------------------------------------------------------------------------ */

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

int cluster_start(struct control *ctl, const struct conf_shared *cfg, struct cluster **out)
{
    struct cluster *cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        return -ENOMEM;
    cl->ctl = ctl;
    cl->cfg = *cfg;
    for (size_t i = 0; i < cfg->nendpoints; i++)
        cl->cfg.endpoints[i] = strdup(cfg->endpoints[i]);
    cl->cfg.prefix = dup_or_null(cfg->prefix);
    cl->cfg.name = dup_or_null(cfg->name);
    cl->cfg.cert_file = dup_or_null(cfg->cert_file);
    cl->cfg.key_file = dup_or_null(cfg->key_file);
    cl->cfg.ca_file = dup_or_null(cfg->ca_file);
    cl->cfg.user = dup_or_null(cfg->user);
    cl->backoff_ms = CL_BACKOFF_MIN_MS;
    cl->started_ms = wall_ms();
    pthread_mutex_init(&cl->lock, NULL);
    int rc = etcd_create(&ctl->loop, &cl->cfg, &cl->etcd);
    if (rc < 0) {
        pthread_mutex_destroy(&cl->lock);
        free(cl);
        return rc;
    }
    uv_timer_init(&ctl->loop, &cl->retry);
    uv_timer_init(&ctl->loop, &cl->keepalive);
    cl->retry.data = cl->keepalive.data = cl;
    log_info("cluster: instance %s, etcd at %s%s, health rule %s", cl->cfg.name,
             cl->cfg.endpoints[0], cl->cfg.nendpoints > 1 ? " (and others)" : "",
             rule_names[cl->cfg.health_rule]);
    connect_step(cl);
    *out = cl;
    return 0;
}

static void free_cluster(uv_handle_t *h)
{
    struct cluster *cl = h->data;
    for (size_t i = 0; i < cl->cfg.nendpoints; i++)
        free(cl->cfg.endpoints[i]);
    free(cl->cfg.prefix);
    free(cl->cfg.name);
    free(cl->cfg.cert_file);
    free(cl->cfg.key_file);
    free(cl->cfg.ca_file);
    free(cl->cfg.user);
    for (size_t i = 0; i < cl->npending; i++)
        free(cl->pending[i].value);
    free(cl->obs);
    free(cl->insts);
    free(cl->admins);
    pthread_mutex_destroy(&cl->lock);
    free(cl);
}

static void retry_closed(uv_handle_t *h)
{
    struct cluster *cl = h->data;
    uv_close((uv_handle_t *)&cl->keepalive, free_cluster);
}

void cluster_stop(struct cluster *cl)
{
    if (cl == NULL)
        return;
    cl->stopping = true;
    etcd_close(cl->etcd);
    cl->etcd = NULL;
    uv_close((uv_handle_t *)&cl->retry, retry_closed);
}
