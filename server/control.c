/* control.c: the control thread's loop: signals, probes, start-up wait, and reloads built on
 * a reload thread and installed on the loop. */
#include "server/control.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server/cluster.h"
#include "server/dnssec_zone.h"
#include "server/log.h"
#include "server/notify.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The reload thread: read config and zones into a new view, touching no live state. */
static void *reload_main(void *arg)
{
    struct control *ctl = arg;
    struct view *v = NULL;
    memset(&ctl->built_err, 0, sizeof(ctl->built_err));
    ctl->built_rc = ctl->build(ctl->arg, &v, &ctl->built_err);
    ctl->built_view = ctl->built_rc == 0 ? v : NULL;
    uv_async_send(&ctl->built);
    return NULL;
}

/* Control thread: start a build, or queue one more when a build is under way. */
static void reload_start(struct control *ctl, const char *why)
{
    if (ctl->stopping)
        return;
    if (ctl->reload_running) {
        if (!ctl->reload_again)
            log_info("reload requested (%s) during a reload: queued, starts when it ends", why);
        ctl->reload_again = true;
        return;
    }
    log_info("reload requested (%s)", why);
    notify_reloading();
    pthread_mutex_lock(&ctl->reload_lock);
    ctl->reloads_started++;
    pthread_mutex_unlock(&ctl->reload_lock);
    ctl->built_view = NULL;
    ctl->reload_started_ms = mono_ms();
    ctl->reload_running = true;
    atomic_store(&ctl->reload_in_progress, 1);
    int rc = pthread_create(&ctl->reload_thread, NULL, reload_main, ctl);
    if (rc != 0) { /* nothing runs: reject it in reload_finish, as a failed build would be */
        ctl->built_rc =
            err_set(&ctl->built_err, -rc, NULL, 0, 0, "no reload thread: %s", strerror(rc));
        ctl->reload_thread = pthread_self();
        uv_async_send(&ctl->built);
    }
}

/* Install a built view: carry over the health and admin states as they are now (probes
 * kept running during the build), then publish it. Under reload_lock, so API admin changes
 * land either in the old view before the copy or in the new one. */
static int reload_install(struct control *ctl, struct view *v, struct err *e)
{
    int rc = 0;
    pthread_mutex_lock(&ctl->reload_lock);
    const struct view *old = atomic_load(&ctl->srv->view);
    /* admin states come from the state file when there is one, else carry over; the file
     * is read again here, since an API change during the build wrote it. A file the build
     * found unusable (already logged) keeps the running states, as does one that became
     * unusable since. */
    gslb_copy_states(v->gslb, old->gslb, v->conf->state_file == NULL);
    if (v->conf->state_file != NULL && !v->gslb->state_unread) {
        for (size_t i = 0; i < v->gslb->nclusters; i++)
            atomic_store(&v->gslb->admin[i], (uint8_t)GSLB_ADMIN_AUTO);
        rc = gslb_state_load(v->gslb, v->conf->state_file, e);
        if (rc == 0 && v->gslb->state_unread)
            gslb_copy_states(v->gslb, old->gslb, true);
    }
    if (rc == 0) {
        gslb_carry_service_answers(v->gslb, old->gslb);
        rc = probes_apply(&ctl->probes, v, e);
    }
    if (rc == 0 && v->conf->state_file != NULL) {
        /* changes made in the file (gslbd --admin) are logged and kept like the API's */
        char by[128];
        bool known = gslb_state_author(v->conf->state_file, by, sizeof(by));
        admin_log_diff(&ctl->admin_log, old->gslb, v->gslb, known ? by : NULL);
    }
    if (rc < 0) {
        pthread_mutex_unlock(&ctl->reload_lock);
        return rc;
    }
    if (old->conf->nlisten != v->conf->nlisten || old->conf->workers != v->conf->workers)
        log_warn("reload: listen addresses and workers change only on restart");
    history_reload(ctl->history, old, v);
    if (!cluster_conf_same(ctl->cluster, &v->conf->shared))
        log_warn("reload: the cluster section changes only on restart");
    server_swap_view(ctl->srv, v);
    cluster_view_changed(ctl->cluster);
    atomic_fetch_add(&ctl->reloads, 1);
    ctl->last_reload_error[0] = '\0';
    notify_reload_done(0, NULL, v);
    pthread_mutex_unlock(&ctl->reload_lock);
    return 0;
}

/* ---- signing again ------------------------------------------------------------------- */

#define RESIGN_TICK_MS 1000
#define RESIGN_BACKOFF_S 30 /* after a failed signing, before the next try */

static bool resign_due(const struct zone *z, int64_t now)
{
    const struct dnssec_zone *s = zone_dnssec(z);
    return s != NULL && dnssec_zone_next_event(s) <= now;
}

/* The thread slot: sign the due zones of the serving view again (sign first). */
static void *resign_main(void *arg)
{
    struct control *ctl = arg;
    const struct view *v = ctl->resign_view;
    ctl->built_rc = 0;
    memset(&ctl->built_err, 0, sizeof(ctl->built_err));
    for (size_t i = 0; i < v->nzones; i++) {
        struct err e = {{0}};
        if (!resign_due(v->zones[i], ctl->resign_at))
            continue;
        int rc = view_resign(v, i, ctl->resign_at, &ctl->resigned[i], &e);
        if (rc < 0 && ctl->built_rc == 0) {
            ctl->built_rc = rc;
            ctl->built_err = e;
        }
    }
    uv_async_send(&ctl->built);
    return NULL;
}

static void on_dnssec_tick(uv_timer_t *t)
{
    struct control *ctl = t->data;
    int64_t now = (int64_t)time(NULL);
    if (ctl->reload_running || ctl->stopping || now < ctl->resign_backoff)
        return;
    const struct view *v = atomic_load(&ctl->srv->view);
    bool due = false;
    for (size_t i = 0; i < v->nzones && !due; i++)
        due = resign_due(v->zones[i], now);
    if (!due)
        return;
    ctl->resigned = calloc(v->nzones, sizeof(*ctl->resigned));
    if (ctl->resigned == NULL) {
        ctl->resign_backoff = now + RESIGN_BACKOFF_S;
        return;
    }
    ctl->resign_view = v;
    ctl->resign_at = now;
    ctl->job_resign = true;
    ctl->reload_running = true;
    if (pthread_create(&ctl->reload_thread, NULL, resign_main, ctl) != 0) {
        ctl->job_resign = ctl->reload_running = false;
        free(ctl->resigned);
        ctl->resigned = NULL;
        ctl->resign_backoff = now + RESIGN_BACKOFF_S;
        log_err("DNSSEC: no thread to sign zones again; trying again in %d s", RESIGN_BACKOFF_S);
    }
}

/* Control thread, once the signing job is done: publish each zone's new signatures (then
 * switch), free the old ones when no reader can hold them. */
static void resign_finish(struct control *ctl)
{
    pthread_join(ctl->reload_thread, NULL);
    ctl->reload_running = false;
    ctl->job_resign = false;
    const struct view *v = ctl->resign_view;
    struct dnssec_zone **fresh = ctl->resigned;
    ctl->resigned = NULL;
    size_t n = 0;
    pthread_mutex_lock(&ctl->reload_lock); /* status and metrics read the signatures */
    for (size_t i = 0; i < v->nzones; i++) {
        if (fresh[i] == NULL)
            continue;
        if (ctl->stopping) {
            dnssec_zone_free(fresh[i]);
            fresh[i] = NULL;
            continue;
        }
        const struct dnssec_zone *old =
            __atomic_exchange_n(&v->zones[i]->dnssec, fresh[i], __ATOMIC_ACQ_REL);
        log_info("zone %s signed again: key tag %u, %zu signatures, valid until %u",
                 v->conf->zones[i].origin, dnssec_zone_key_tag(fresh[i]),
                 dnssec_zone_nsigs(fresh[i]), dnssec_zone_expiration(fresh[i]));
        fresh[i] = (struct dnssec_zone *)(uintptr_t)old;
        n++;
    }
    if (n > 0) {
        rcu_synchronize(ctl->srv->readers, ctl->srv->nreaders);
        atomic_fetch_add(&ctl->resigns, 1);
    }
    for (size_t i = 0; i < v->nzones; i++)
        dnssec_zone_free(fresh[i]);
    pthread_mutex_unlock(&ctl->reload_lock);
    free(fresh);
    if (ctl->built_rc < 0) {
        atomic_fetch_add(&ctl->resign_failures, 1);
        ctl->resign_backoff = (int64_t)time(NULL) + RESIGN_BACKOFF_S;
        log_err("DNSSEC: signing again failed, the zone keeps its current signatures; trying "
                "again in %d s: %s",
                RESIGN_BACKOFF_S, ctl->built_err.msg);
    }
    if (ctl->reload_again && !ctl->stopping) {
        ctl->reload_again = false;
        reload_start(ctl, "queued");
    }
}

/* Control thread, once the reload thread is done: install or reject, wake API waiters,
 * and start the queued reload if there is one. */
static void reload_finish(struct control *ctl)
{
    if (!ctl->reload_running)
        return;
    if (ctl->job_resign) {
        resign_finish(ctl);
        return;
    }
    if (!pthread_equal(ctl->reload_thread, pthread_self()))
        pthread_join(ctl->reload_thread, NULL);
    ctl->reload_running = false;
    struct view *v = ctl->built_view;
    ctl->built_view = NULL;
    struct err e = ctl->built_err;
    int rc = ctl->built_rc;
    uint64_t ms = mono_ms() - ctl->reload_started_ms;
    if (ctl->stopping) {
        view_free(v);
        rc = err_set(&e, -ECANCELED, NULL, 0, 0, "shutting down");
    } else if (rc == 0 && (rc = reload_install(ctl, v, &e)) == 0) {
        log_info("reload complete in %llu ms (installed in %llu ms): %zu zone(s), %zu service(s)",
                 (unsigned long long)ms,
                 (unsigned long long)(mono_ms() - ctl->reload_started_ms - ms), v->nzones,
                 v->gslb->nservices);
    } else {
        if (v != NULL)
            view_free(v);
        atomic_fetch_add(&ctl->reload_failures, 1);
        pthread_mutex_lock(&ctl->reload_lock);
        snprintf(ctl->last_reload_error, sizeof(ctl->last_reload_error), "%s", e.msg);
        notify_reload_done(rc, e.msg, atomic_load(&ctl->srv->view));
        history_reload_failed(ctl->history, e.msg);
        pthread_mutex_unlock(&ctl->reload_lock);
        log_err("reload rejected after %llu ms, still serving the previous data: %s",
                (unsigned long long)ms, e.msg);
    }
    atomic_store(&ctl->reload_in_progress, 0);
    pthread_mutex_lock(&ctl->reload_lock);
    ctl->last_reload_rc = rc;
    ctl->reload_seq++;
    pthread_cond_broadcast(&ctl->reload_done);
    pthread_mutex_unlock(&ctl->reload_lock);
    if (ctl->reload_again) {
        ctl->reload_again = false;
        reload_start(ctl, "queued");
    }
}

static void on_built(uv_async_t *h)
{
    reload_finish(h->data);
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    reload_start(h->data, "SIGHUP");
}

static void on_wake(uv_async_t *h)
{
    struct control *ctl = h->data;
    if (atomic_exchange(&ctl->reload_requested, 0))
        reload_start(ctl, "API");
}

int control_reload_wait(struct control *ctl, struct err *e)
{
    /* any reload that starts after this request reads the files as they are now: the next
     * one to start (now, or the one queued behind the build under way) */
    pthread_mutex_lock(&ctl->reload_lock);
    unsigned long want = ctl->reloads_started + 1;
    pthread_mutex_unlock(&ctl->reload_lock);
    control_request_reload(ctl);
    pthread_mutex_lock(&ctl->reload_lock);
    while (ctl->reload_seq < want && !ctl->shutting_down)
        pthread_cond_wait(&ctl->reload_done, &ctl->reload_lock);
    int rc = ctl->reload_seq < want ? -ECANCELED : ctl->last_reload_rc;
    if (rc == -ECANCELED)
        snprintf(e->msg, sizeof(e->msg), "shutting down");
    else if (rc < 0)
        snprintf(e->msg, sizeof(e->msg), "%s", ctl->last_reload_error);
    pthread_mutex_unlock(&ctl->reload_lock);
    return rc;
}

void control_request_reload(struct control *ctl)
{
    atomic_store(&ctl->reload_requested, 1);
    uv_async_send(&ctl->wake);
}

static void on_stop(uv_signal_t *h, int signum)
{
    struct control *ctl = h->data;
    log_info("signal %d: stopping", signum);
    ctl->stopping = true;
    uv_stop(&ctl->loop);
}

/* HC-5: answer once the first probe round is in, or after startup_wait. */
static void become_ready(struct control *ctl)
{
    if (ctl->ready)
        return;
    ctl->ready = true;
    uv_stop(&ctl->loop);
}

static void on_first_round(void *arg)
{
    struct control *ctl = arg;
    log_info("health: first probe round complete");
    become_ready(ctl);
}

static void on_startup_timer(uv_timer_t *t)
{
    struct control *ctl = t->data;
    if (!ctl->ready)
        log_warn("health: startup_wait over before the first probe round; targets without a "
                 "result count as up");
    become_ready(ctl);
}

static void on_probes_closed(void *arg)
{
    struct control *ctl = arg;
    ctl->probes_closed = true;
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int control_run(struct control *ctl, struct err *e)
{
    int rc = 0;
    uv_loop_init(&ctl->loop);
    pthread_mutex_init(&ctl->reload_lock, NULL);
    pthread_cond_init(&ctl->reload_done, NULL);
    uv_signal_init(&ctl->loop, &ctl->sighup);
    uv_signal_init(&ctl->loop, &ctl->sigterm);
    uv_signal_init(&ctl->loop, &ctl->sigint);
    uv_timer_init(&ctl->loop, &ctl->startup);
    uv_timer_init(&ctl->loop, &ctl->dnssec_timer);
    ctl->dnssec_timer.data = ctl;
    uv_async_init(&ctl->loop, &ctl->wake, on_wake);
    uv_async_init(&ctl->loop, &ctl->built, on_built);
    ctl->sighup.data = ctl->sigterm.data = ctl->sigint.data = ctl;
    ctl->startup.data = ctl->wake.data = ctl->built.data = ctl;
    uv_signal_start(&ctl->sighup, on_sighup, SIGHUP);
    uv_signal_start(&ctl->sigterm, on_stop, SIGTERM);
    uv_signal_start(&ctl->sigint, on_stop, SIGINT);

    probes_init(&ctl->probes, &ctl->loop, on_first_round, ctl);
    struct view *v = atomic_load(&ctl->srv->view);
    if (v->conf->shared.enabled) {
        rc = cluster_start(ctl, &v->conf->shared, &ctl->cluster);
        if (rc < 0)
            err_set(e, rc, NULL, 0, 0, "cluster mode: cannot start the etcd client");
        ctl->probes.cluster = ctl->cluster;
    }
    if (rc == 0)
        rc = probes_apply(&ctl->probes, v, e);
    if (rc == 0 && v->conf->api.enabled &&
        history_open(&ctl->history, &ctl->loop, ctl->srv, &ctl->probes) < 0)
        log_warn("history: cannot start: the dashboard shows no history");
    if (rc == 0) {
        uv_timer_start(&ctl->startup, on_startup_timer, v->conf->startup_wait_ms, 0);
        while (!ctl->ready && !ctl->stopping)
            uv_run(&ctl->loop, UV_RUN_DEFAULT);
        uv_timer_stop(&ctl->startup);
    }
    if (rc == 0 && !ctl->stopping)
        rc = ctl->start(ctl->arg, e);
    if (rc == 0 && !ctl->stopping) {
        uv_timer_start(&ctl->dnssec_timer, on_dnssec_tick, RESIGN_TICK_MS, RESIGN_TICK_MS);
        uv_run(&ctl->loop, UV_RUN_DEFAULT);
    }

    ctl->stopping = true;
    uv_timer_stop(&ctl->dnssec_timer);
    if (ctl->reload_running) { /* the build cannot be cut short: wait for it, drop its view */
        log_info("waiting for the %s in progress to end",
                 ctl->job_resign ? "DNSSEC signing" : "reload");
        reload_finish(ctl);
    }
    pthread_mutex_lock(&ctl->reload_lock);
    ctl->shutting_down = true;
    pthread_cond_broadcast(&ctl->reload_done);
    pthread_mutex_unlock(&ctl->reload_lock);
    if (ctl->stop != NULL)
        ctl->stop(ctl->arg);
    ctl->probes.cluster = NULL;
    cluster_stop(ctl->cluster);
    ctl->cluster = NULL;
    probes_stop(&ctl->probes, on_probes_closed, ctl);
    while (!ctl->probes_closed)
        uv_run(&ctl->loop, UV_RUN_ONCE);
    uv_walk(&ctl->loop, close_handle, NULL);
    uv_run(&ctl->loop, UV_RUN_DEFAULT);
    uv_loop_close(&ctl->loop);
    history_free(ctl->history); /* its timer is closed */
    ctl->history = NULL;
    probes_destroy(&ctl->probes);
    pthread_cond_destroy(&ctl->reload_done);
    pthread_mutex_destroy(&ctl->reload_lock);
    return rc;
}
