/* history_sample.c: the history's sampler on the control thread's loop: every interval it
 * reads the served view's answer counters, admin states and probe states into the rings,
 * and copies the probes' new health transitions; reloads move the rings to the new names. */
#include "server/history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"
#include "server/probe.h"
#include "server/server.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Add what each cluster of g answered since the last look (g is the gslb being counted). */
static void collect(struct history *h, const struct gslb *g)
{
    if (g == NULL || g != h->gslb)
        return;
    for (size_t ci = 0; ci < g->nclusters && ci < h->nscratch_c; ci++) {
        uint64_t raw = gslb_answers_total(g, (uint32_t)ci);
        history_add_answers(h, ci, raw >= h->last_raw[ci] ? raw - h->last_raw[ci] : 0);
        h->last_raw[ci] = raw;
    }
}

/* Follow view v (and the probes, which follow it already): rings by v's names, counters from
 * 0, scratch space for the samples. Load time only. */
static void follow(struct history *h, const struct view *v)
{
    const struct gslb *g = v->gslb;
    const struct probes *p = h->probes;
    size_t nt = p != NULL && p->gslb == g ? p->ntargets : 0;
    const char **names = calloc(g->nclusters + 1, sizeof(*names));
    struct history_check_key *keys = calloc(nt + 1, sizeof(*keys));
    uint64_t *raw = calloc(g->nclusters + 1, sizeof(*raw));
    uint8_t *admin = calloc(g->nclusters + 1, sizeof(*admin));
    struct history_check_obs *obs = calloc(nt + 1, sizeof(*obs));
    int rc = names == NULL || keys == NULL || raw == NULL || admin == NULL || obs == NULL;
    for (size_t ci = 0; rc == 0 && ci < g->nclusters; ci++)
        names[ci] = g->clusters[ci].name;
    for (size_t t = 0; rc == 0 && t < nt; t++) {
        const struct probe_target_info *ti = &p->info[t];
        keys[t] = (struct history_check_key){g->clusters[ti->cluster].name, g->addrs[ti->addr].text,
                                             p->conf->checks[ti->check].name};
    }
    if (rc == 0)
        rc = history_set_clusters(h, names, g->nclusters);
    if (rc == 0)
        rc = history_set_checks(h, keys, nt);
    free(names);
    free(keys);
    if (rc != 0) {
        /* no sample until this works: the next tick tries again */
        log_warn("history: out of memory: the dashboard's history pauses");
        free(raw);
        free(admin);
        free(obs);
        raw = NULL;
        admin = NULL;
        obs = NULL;
        g = NULL;
    }
    free(h->last_raw);
    free(h->admin);
    free(h->obs);
    h->last_raw = raw;
    h->admin = admin;
    h->obs = obs;
    h->nscratch_c = g != NULL ? g->nclusters : 0;
    h->nscratch_t = g != NULL ? nt : 0;
    h->gslb = g;
}

/* The probes' transitions not copied yet, as HEALTH events. */
static void copy_transitions(struct history *h)
{
    const struct probes *p = h->probes;
    if (p == NULL)
        return;
    if (p->nrecent - h->probe_seen > PROBE_RECENT_MAX) /* more than it keeps: the rest are gone */
        h->probe_seen = p->nrecent - PROBE_RECENT_MAX;
    for (; h->probe_seen < p->nrecent; h->probe_seen++) {
        const struct probe_transition *r = &p->recent[h->probe_seen % PROBE_RECENT_MAX];
        struct history_event ev = {.wall_ms = r->wall_ms, .kind = HISTORY_EV_HEALTH, .up = r->up};
        snprintf(ev.cluster, sizeof(ev.cluster), "%s", r->cluster);
        snprintf(ev.address, sizeof(ev.address), "%s", r->address);
        snprintf(ev.check, sizeof(ev.check), "%s", r->check);
        snprintf(ev.text, sizeof(ev.text), "%s", r->reason);
        history_event(h, &ev);
    }
}

static void sample(struct history *h)
{
    const struct view *v = atomic_load(&h->srv->view); /* only this thread swaps it */
    if (v->gslb != h->gslb)
        follow(h, v);
    copy_transitions(h);
    if (h->gslb == NULL) /* out of memory earlier: nothing to sample into */
        return;
    const struct gslb *g = v->gslb;
    collect(h, g);
    const struct probes *p = h->probes;
    bool probed = p != NULL && p->set != NULL && p->gslb == g && p->ntargets == h->nscratch_t;
    for (size_t t = 0; t < h->nscratch_t; t++) {
        struct hc_status st;
        struct history_check_obs *o = &h->obs[t];
        o->known = probed && hc_target_status(p->set, t, &st) == 0;
        if (o->known) {
            o->up = st.up;
            o->pending = st.pending;
            o->transitions = st.transitions;
        }
    }
    history_push(h, wall_ms(), h->obs);
}

/* Admin states change from the API's threads and with reloads; looking often (a byte per
 * cluster) times the change far better than the sample interval would. */
static void look_at_admin(struct history *h)
{
    const struct view *v = atomic_load(&h->srv->view);
    if (v->gslb != h->gslb || h->gslb == NULL)
        return; /* the next sample follows the view first */
    for (size_t ci = 0; ci < h->nscratch_c; ci++)
        h->admin[ci] = atomic_load_explicit(&v->gslb->admin[ci], memory_order_relaxed);
    history_admin(h, wall_ms(), h->admin);
}

static void on_tick(uv_timer_t *t)
{
    sample(t->data);
}

static void on_admin_tick(uv_timer_t *t)
{
    look_at_admin(t->data);
}

int history_open(struct history **out, uv_loop_t *loop, struct server *srv, struct probes *p)
{
    *out = NULL;
    const struct view *v = atomic_load(&srv->view);
    struct history *h = NULL;
    int rc = history_new(v->conf->api.history_interval_ms, &h);
    if (rc < 0)
        return rc;
    if ((rc = uv_timer_init(loop, &h->timer)) < 0) {
        history_free(h);
        return rc;
    }
    uv_timer_init(loop, &h->admin_timer); /* cannot fail once the first did */
    h->srv = srv;
    h->probes = p;
    h->probe_seen = 0; /* the probes' first transitions are ours too */
    h->timer.data = h->admin_timer.data = h;
    follow(h, v);
    look_at_admin(h); /* what the states were at start */
    uv_timer_start(&h->timer, on_tick, h->interval_ms, h->interval_ms);
    uv_timer_start(&h->admin_timer, on_admin_tick, HISTORY_ADMIN_POLL_MS, HISTORY_ADMIN_POLL_MS);
    *out = h;
    return 0;
}

void history_reload(struct history *h, const struct view *old, const struct view *next)
{
    if (h == NULL)
        return;
    collect(h, old->gslb); /* answers counted by old since the last sample */
    copy_transitions(h);
    look_at_admin(h); /* changes made just before the reload, under old */
    follow(h, next);
    struct history_event ev = {.wall_ms = wall_ms(), .kind = HISTORY_EV_RELOAD, .up = true};
    history_event(h, &ev);
}

void history_reload_failed(struct history *h, const char *msg)
{
    if (h == NULL)
        return;
    struct history_event ev = {.wall_ms = wall_ms(), .kind = HISTORY_EV_RELOAD, .up = false};
    snprintf(ev.text, sizeof(ev.text), "%s", msg != NULL ? msg : "");
    history_event(h, &ev);
}
