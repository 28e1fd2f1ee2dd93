/* cluster.c: cluster mode through etcd: the session (lease, range, watch, keep-alive,
 * reconnect, writes queued while etcd is away) and the instance's life. The shared state
 * it feeds (admin states, observations, the quorum rule) is cluster_state.c. */
#include "server/cluster_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/control.h"
#include "server/etcd.h"
#include "server/log.h"

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
        cl->disconnected_at_ms = cluster__wall_ms();
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
                          (json_int_t)cl->started_ms, "seen_ms", (json_int_t)cluster__wall_ms(),
                          "rule", cluster__rule_names[cl->cfg.health_rule]);
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
        cluster__obs_key(cl, copy[i].cluster, copy[i].addr, key, sizeof(key));
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
    cl->last_keepalive_mono_ms = cluster__mono_ms();
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
        cl->connected_since_ms = cluster__wall_ms();
        cl->last_keepalive_mono_ms = cluster__mono_ms();
        cl->last_error[0] = '\0';
        pthread_mutex_unlock(&cl->lock);
        log_info("cluster: connected to etcd at %s as instance %s (lease %llx, revision %lld, "
                 "health rule %s)",
                 etcd_endpoint(cl->etcd), cl->cfg.name, (unsigned long long)cl->lease,
                 (long long)cl->revision, cluster__rule_names[cl->cfg.health_rule]);
        uint64_t every = (uint64_t)cl->cfg.lease_ttl_s * 1000 / 3;
        uv_timer_start(&cl->keepalive, on_keepalive, every, every);
    }
    const json_t *events = json_object_get(res, "events");
    size_t i;
    const json_t *ev;
    bool health = false;
    json_array_foreach (events, i, ev) {
        struct etcd_kv kv;
        if (etcd_kv_decode(json_object_get(ev, "kv"), &kv) < 0)
            continue;
        const json_t *type = json_object_get(ev, "type");
        bool del = json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0;
        cluster__apply_kv(cl, kv.key, del ? NULL : kv.value, kv.value_len);
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
        cluster__recompute(cl);
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
    cluster__obs_drop(cl, NULL);
    cl->ninsts = 0;
    pthread_mutex_unlock(&cl->lock);
    size_t i;
    const json_t *kvj;
    json_array_foreach (json_object_get(reply, "kvs"), i, kvj) {
        struct etcd_kv kv;
        if (etcd_kv_decode(kvj, &kv) == 0)
            cluster__apply_kv(cl, kv.key, kv.value, kv.value_len);
        etcd_kv_clear(&kv);
    }
    cluster__recompute(cl);
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
    struct cl_obs *o = cluster__obs_find(cl, cl->cfg.name, cname, g->addrs[a].text, true);
    bool changed = o != NULL && (o->up != local_up || o->time_ms == 0);
    if (changed) {
        o->up = local_up;
        snprintf(o->reason, sizeof(o->reason), "%s", local_up ? "" : reason != NULL ? reason : "");
        o->latency_ms = latency_ms;
        o->time_ms = cluster__wall_ms();
    }
    bool up = cl->connected;
    struct cl_obs copy = o != NULL ? *o : (struct cl_obs){0};
    pthread_mutex_unlock(&cl->lock);
    if (!changed || !up || cl->step != CL_UP || cl->failed)
        return;
    char key[400];
    cluster__obs_key(cl, copy.cluster, copy.addr, key, sizeof(key));
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
    cluster__recompute(cl);
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
    char *v = cluster_admin_encode(want, who, why, cluster__wall_ms());
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
    char *v = cluster_admin_encode(want, who, why, cluster__wall_ms());
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
    cl->started_ms = cluster__wall_ms();
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
             cluster__rule_names[cl->cfg.health_rule]);
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
