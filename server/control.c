/* control.c: the control thread's loop: signals, probes, start-up wait and reloads. */
#include "control.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "log.h"

int control_reload(struct control *ctl, struct err *e)
{
    struct view *v = NULL;
    pthread_mutex_lock(&ctl->reload_lock);
    int rc = ctl->build(ctl->arg, &v, e);
    const struct view *old = atomic_load(&ctl->srv->view);
    if (rc == 0) {
        /* admin states come from the state file when there is one, else carry over */
        gslb_copy_states(v->gslb, old->gslb, v->conf->state_file == NULL);
        rc = probes_apply(&ctl->probes, v, e);
    }
    if (rc < 0) {
        view_free(v);
        atomic_fetch_add(&ctl->reload_failures, 1);
        snprintf(ctl->last_reload_error, sizeof(ctl->last_reload_error), "%s", e->msg);
        pthread_mutex_unlock(&ctl->reload_lock);
        log_err("reload rejected, still serving the previous data: %s", e->msg);
        return rc;
    }
    if (old->conf->nlisten != v->conf->nlisten || old->conf->workers != v->conf->workers)
        log_warn("reload: listen addresses and workers change only on restart");
    if (!cluster_conf_same(ctl->cluster, &v->conf->shared))
        log_warn("reload: the cluster section changes only on restart");
    server_swap_view(ctl->srv, v);
    cluster_view_changed(ctl->cluster);
    atomic_fetch_add(&ctl->reloads, 1);
    ctl->last_reload_error[0] = '\0';
    pthread_mutex_unlock(&ctl->reload_lock);
    log_info("reload complete: %zu zone(s), %zu service(s)", v->nzones, v->gslb->nservices);
    return 0;
}

static void on_sighup(uv_signal_t *h, int signum)
{
    (void)signum;
    struct err e = {{0}};
    log_info("reload requested (SIGHUP)");
    control_reload(h->data, &e);
}

static void on_wake(uv_async_t *h)
{
    struct control *ctl = h->data;
    if (atomic_exchange(&ctl->reload_requested, 0)) {
        struct err e = {{0}};
        log_info("reload requested (API)");
        int rc = control_reload(ctl, &e);
        pthread_mutex_lock(&ctl->reload_lock);
        ctl->last_reload_rc = rc;
        ctl->reload_seq++;
        pthread_cond_broadcast(&ctl->reload_done);
        pthread_mutex_unlock(&ctl->reload_lock);
    }
}

int control_reload_wait(struct control *ctl, struct err *e)
{
    pthread_mutex_lock(&ctl->reload_lock);
    unsigned long seq = ctl->reload_seq;
    pthread_mutex_unlock(&ctl->reload_lock);
    control_request_reload(ctl);
    pthread_mutex_lock(&ctl->reload_lock);
    while (ctl->reload_seq == seq && !ctl->shutting_down)
        pthread_cond_wait(&ctl->reload_done, &ctl->reload_lock);
    int rc = ctl->reload_seq == seq ? -ECANCELED : ctl->last_reload_rc;
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
    uv_async_init(&ctl->loop, &ctl->wake, on_wake);
    ctl->sighup.data = ctl->sigterm.data = ctl->sigint.data = ctl;
    ctl->startup.data = ctl->wake.data = ctl;
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
    if (rc == 0) {
        uv_timer_start(&ctl->startup, on_startup_timer, v->conf->startup_wait_ms, 0);
        while (!ctl->ready && !ctl->stopping)
            uv_run(&ctl->loop, UV_RUN_DEFAULT);
        uv_timer_stop(&ctl->startup);
    }
    if (rc == 0 && !ctl->stopping)
        rc = ctl->start(ctl->arg, e);
    if (rc == 0 && !ctl->stopping)
        uv_run(&ctl->loop, UV_RUN_DEFAULT);

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
    probes_destroy(&ctl->probes);
    pthread_cond_destroy(&ctl->reload_done);
    pthread_mutex_destroy(&ctl->reload_lock);
    return rc;
}
