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
/* Starts the DNS workers; called once probes had their first round or startup_wait ran out. */
typedef int (*control_start_fn)(void *arg, struct err *e);

struct control {
    struct server *srv;
    control_build_fn build;
    control_start_fn start;
    void *arg;
    uv_loop_t loop;
    uv_signal_t sighup, sigterm, sigint;
    uv_timer_t startup;
    uv_async_t wake; /* reload requests from other threads */
    struct probes probes;
    bool ready, stopping, probes_closed;
    _Atomic int reload_requested;
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

#endif
