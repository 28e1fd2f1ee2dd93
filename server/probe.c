/* probe.c: probe targets from the config, their results published as address states. */
#include "server/probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/cluster.h"
#include "server/log.h"
#include "server/notify.h"

int probes_init(struct probes *p, uv_loop_t *loop, void (*on_first_round)(void *), void *arg)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->on_first_round = on_first_round;
    p->arg = arg;
    return -pthread_mutex_init(&p->lock, NULL);
}

/* An address is up when every check on it is up (HC-1). */
static bool addr_up(const struct probes *p, uint32_t addr)
{
    for (size_t i = 0; i < p->ntargets; i++)
        if (p->info[i].addr == addr && !p->target_up[i])
            return false;
    return true;
}

bool probes_local_up(const struct probes *p, uint32_t addr)
{
    return addr_up(p, addr);
}

static void on_change(void *ctx, size_t t, bool up, const char *reason)
{
    struct probes *p = ctx;
    if (t >= p->ntargets)
        return;
    const struct probe_target_info *ti = &p->info[t];
    bool before = addr_up(p, ti->addr);
    p->target_up[t] = up;
    bool after = addr_up(p, ti->addr);
    if (p->cluster != NULL) { /* cluster mode: share our view, decide from everyone's */
        struct hc_status st = {0};
        hc_target_status(p->set, t, &st);
        cluster_observed(p->cluster, p->gslb, ti->addr, after, reason, st.last_latency_ms);
        after = cluster_decide(p->cluster, p->gslb, ti->addr, after);
    }
    atomic_store_explicit(&p->gslb->addr_up[ti->addr], after ? 1 : 0, memory_order_release);
    const struct gslb_cluster *c = &p->gslb->clusters[ti->cluster];
    pthread_mutex_lock(&p->lock);
    p->transitions++;
    struct probe_transition *r = &p->recent[p->nrecent++ % PROBE_RECENT_MAX];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    r->wall_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    r->up = up;
    snprintf(r->cluster, sizeof(r->cluster), "%s", c->name);
    snprintf(r->address, sizeof(r->address), "%s", p->gslb->addrs[ti->addr].text);
    snprintf(r->check, sizeof(r->check), "%s", p->conf->checks[ti->check].name);
    snprintf(r->reason, sizeof(r->reason), "%s", reason != NULL ? reason : "");
    pthread_mutex_unlock(&p->lock);
    bool cl_up = gslb_cluster_up(p->gslb, ti->cluster);
    log_msg(up ? LOG_INFO : LOG_WARN, "health: %s %s check %s: %s (%s); address %s, cluster %s %s",
            c->name, p->gslb->addrs[ti->addr].text, p->conf->checks[ti->check].name,
            up ? "up" : "down", reason,
            before == after ? "unchanged"
            : after         ? "up"
                            : "down",
            c->name, cl_up ? "up" : "down");
    gslb_track_services(p->gslb);
    notify_health(p->gslb);
}

static void on_first(void *ctx)
{
    struct probes *p = ctx;
    if (p->on_first_round != NULL) {
        void (*cb)(void *) = p->on_first_round;
        p->on_first_round = NULL;
        cb(p->arg);
    }
}

static void on_log(void *ctx, enum hc_log_level level, const char *msg)
{
    (void)ctx;
    static const enum log_level map[] = {LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG};
    log_msg(map[(unsigned)level < 4 ? level : 3], "health: %s", msg);
}

static void fill_check(const struct conf_check *k, struct hc_check *h)
{
    memset(h, 0, sizeof(*h));
    h->type = k->type == CONF_CHECK_HTTP    ? HC_HTTP
              : k->type == CONF_CHECK_HTTPS ? HC_HTTPS
                                            : HC_TCP;
    h->port = k->port;
    h->path = k->path;
    h->host = k->host;
    size_t n = k->nexpect_status < HC_MAX_STATUS ? k->nexpect_status : HC_MAX_STATUS;
    memcpy(h->expect_status, k->expect_status, n * sizeof(h->expect_status[0]));
    h->nexpect_status = (uint8_t)n;
    h->expect_body = k->expect_body;
    h->interval_ms = k->interval_ms;
    h->timeout_ms = k->timeout_ms;
    h->fall = k->fall;
    h->rise = k->rise;
    h->tls_insecure = !k->tls_verify;
    h->ca_file = k->ca_file;
    h->source = k->source;
}

int probes_apply(struct probes *p, struct view *v, struct err *e)
{
    const struct conf *c = v->conf;
    struct gslb *g = v->gslb;
    size_t n = 0;
    for (size_t ci = 0; ci < c->nclusters; ci++)
        n += c->clusters[ci].naddrs * c->clusters[ci].nchecks;
    struct hc_check *checks = calloc(c->nchecks + 1, sizeof(*checks));
    struct hc_target *targets = calloc(n + 1, sizeof(*targets));
    struct probe_target_info *info = calloc(n + 1, sizeof(*info));
    bool *tup = calloc(n + 1, sizeof(*tup));
    if (checks == NULL || targets == NULL || info == NULL || tup == NULL) {
        free(checks);
        free(targets);
        free(info);
        free(tup);
        return err_oom(e, NULL);
    }
    for (size_t k = 0; k < c->nchecks; k++)
        fill_check(&c->checks[k], &checks[k]);
    size_t t = 0;
    for (size_t ci = 0; ci < c->nclusters; ci++) {
        const struct conf_cluster *cl = &c->clusters[ci];
        for (size_t a = 0; a < cl->naddrs; a++) {
            uint32_t ai = g->clusters[ci].first_addr + (uint32_t)a;
            for (size_t k = 0; k < cl->nchecks; k++, t++) {
                targets[t].addr.family = cl->addrs[a].family;
                memcpy(targets[t].addr.bytes, cl->addrs[a].addr, 16);
                targets[t].check = &checks[cl->checks[k]];
                info[t] = (struct probe_target_info){ai, (uint32_t)ci, (uint32_t)cl->checks[k]};
            }
        }
    }
    struct hc_callbacks cb = {
        .ctx = p,
        .on_change = on_change,
        .on_first_round = on_first,
        .log = on_log,
    };
    struct hc *set = NULL;
    int rc = hc_create(p->loop, targets, n, p->set, &cb, &set);
    free(targets);
    free(checks);
    if (rc < 0) {
        free(info);
        free(tup);
        return err_set(e, rc, NULL, 0, 0, "health probes: %s", hc_strerror(rc));
    }
    /* seed the new view's address states from the probes (carried-over targets keep theirs) */
    for (size_t i = 0; i < n; i++) {
        struct hc_status st;
        tup[i] = hc_target_status(set, i, &st) == 0 ? st.up : true;
    }
    pthread_mutex_lock(&p->lock);
    struct hc *old = p->set;
    free(p->info);
    free(p->target_up);
    p->set = set;
    p->info = info;
    p->target_up = tup;
    p->ntargets = n;
    p->gslb = g;
    p->conf = c;
    pthread_mutex_unlock(&p->lock);
    for (uint32_t a = 0; a < g->naddrs; a++) {
        bool up = addr_up(p, a);
        if (p->cluster != NULL) {
            cluster_observed(p->cluster, g, a, up, up ? "" : "down before the reload", 0);
            up = cluster_decide(p->cluster, g, a, up);
        }
        atomic_store(&g->addr_up[a], up ? 1 : 0);
    }
    gslb_track_services(g);
    hc_stop(old, NULL, NULL);
    if (n > 0)
        log_info("health: probing %zu target(s)", n);
    return 0;
}

void probes_stop(struct probes *p, void (*done)(void *), void *arg)
{
    pthread_mutex_lock(&p->lock);
    struct hc *set = p->set;
    p->set = NULL;
    p->ntargets = 0;
    pthread_mutex_unlock(&p->lock);
    if (set != NULL)
        hc_stop(set, done, arg);
    else if (done != NULL)
        done(arg);
}

void probes_destroy(struct probes *p)
{
    free(p->info);
    free(p->target_up);
    p->info = NULL;
    p->target_up = NULL;
    pthread_mutex_destroy(&p->lock);
}
