/* control.h: the control thread's loop: signals (SIGHUP reload, SIGTERM/SIGINT stop),
 * health probes, the start-up wait for the first probe round, and reloads. Owned by main();
 * the HTTP API reaches it through control_request_reload() and the probes' lock. */
#ifndef GSLBD_CONTROL_H
#define GSLBD_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#include "err.h"
#include "probe.h"
#include "server.h"

/* Builds a new view the way the server was started (config file or --zone options). */
typedef int (*control_build_fn)(void *arg, struct view **out, struct err *e);
/* Starts the DNS workers (and the API); called once probes had their first round or
 * startup_wait ran out. */
typedef int (*control_start_fn)(void *arg, struct err *e);
/* Called at shutdown while the control loop still exists, before probes stop: stop
 * everything that may call control_reload_wait() (the API). May be NULL. */
typedef void (*control_stop_fn)(void *arg);

struct control {
    struct server *srv;
    control_build_fn build;
    control_start_fn start;
    control_stop_fn stop;
    void *arg;
    uv_loop_t loop;
    uv_signal_t sighup, sigterm, sigint;
    uv_timer_t startup;
    uv_async_t wake; /* reload requests from other threads */
    struct probes probes;
    struct cluster *cluster; /* cluster mode (cluster.h), NULL when standalone */
    bool ready, stopping, probes_closed;
    _Atomic int reload_requested;
    pthread_cond_t reload_done; /* with reload_lock: signalled after each API reload */
    unsigned long reload_seq;   /* API reloads finished */
    int last_reload_rc;
    bool shutting_down;          /* with reload_lock: waiters give up */
    pthread_mutex_t reload_lock; /* serialises reloads with API admin changes */
    char last_reload_error[1024];
    _Atomic unsigned long reloads, reload_failures;
};

/* Run until SIGTERM/SIGINT. Returns 0, or the negative code of a start-up failure (e). */
int control_run(struct control *ctl, struct err *e);

/* Reload now (on the control thread) and report the outcome; e gets the error. */
int control_reload(struct control *ctl, struct err *e);

/* From any thread: ask the control loop to reload. */
void control_request_reload(struct control *ctl);

/* From another thread (the API): reload on the control loop, wait for it and return its
 * result; e gets the error. */
int control_reload_wait(struct control *ctl, struct err *e);

#endif
