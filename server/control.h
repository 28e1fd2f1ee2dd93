/* control.h: the control thread's loop: signals (SIGHUP reload, SIGTERM/SIGINT stop),
 * health probes, the start-up wait for the first probe round, and reloads. Owned by main();
 * the HTTP API reaches it through control_request_reload() and the probes' lock.
 *
 * A reload builds the new view on a thread of its own (the reload thread), so probes and
 * their effect on answers, and the API, keep running while a large zone loads. When the
 * build is done, the control loop installs the view: it carries over the health and admin
 * states as they are at that moment, then publishes it. One reload at a time; requests
 * during a build queue exactly one more reload, which starts when the build ends.
 *
 * Signed zones are signed again without a reload (docs/dnssec.md): a timer looks each
 * second for a zone whose signatures have a quarter of their validity left or whose keys
 * change state (a roll step); the same thread slot then signs those zones of the serving
 * view again (sign first), and the control loop publishes the new signatures zone by zone
 * (then switch) and frees the old ones once no worker can hold them. A reload asked for
 * meanwhile waits for it, as for another reload. */
#ifndef GSLBD_CONTROL_H
#define GSLBD_CONTROL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "server/admin_log.h"
#include "server/err.h"
#include "server/history.h"
#include "server/probe.h"
#include "server/server.h"

/* Builds a new view the way the server was started (config file or --zone options). Runs
 * on the reload thread: it must read nothing the control loop changes. */
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
    uv_async_t wake;  /* reload requests from other threads */
    uv_async_t built; /* the reload thread's build is done */
    struct probes probes;
    struct history *history; /* the dashboard's history (with the API), or NULL */
    struct cluster *cluster; /* cluster mode (cluster.h), NULL when standalone */
    bool ready, stopping, probes_closed;
    _Atomic int reload_requested;
    pthread_cond_t reload_done; /* with reload_lock: signalled after each API reload */
    unsigned long reload_seq;   /* API reloads finished */
    int last_reload_rc;
    bool shutting_down;          /* with reload_lock: waiters give up */
    pthread_mutex_t reload_lock; /* serialises reloads with API admin changes */
    char last_reload_error[1024];
    struct admin_log admin_log; /* with reload_lock: API and state file changes */
    _Atomic unsigned long reloads, reload_failures;
    /* The reload in progress. The reload thread writes built_*, then wakes `built`; the
     * control loop reads them after joining the thread. */
    pthread_t reload_thread;
    bool reload_running;            /* control thread only: a build is under way */
    bool reload_again;              /* control thread only: requested during the build: one more */
    uint64_t reload_started_ms;     /* control thread only (monotonic) */
    unsigned long reloads_started;  /* with reload_lock: builds started */
    _Atomic int reload_in_progress; /* for the API (status) */
    struct view *built_view;
    int built_rc;
    struct err built_err;
    /* signing again (control.c): the thread slot above runs this job instead of a build */
    uv_timer_t dnssec_timer;
    bool job_resign;                /* control thread only: the thread under way signs */
    const struct view *resign_view; /* the serving view it signs zones of */
    struct dnssec_zone **resigned;  /* its results, one per zone (NULL: not signed again) */
    int64_t resign_at;              /* the time it signs at (Unix seconds) */
    int64_t resign_backoff;         /* control thread only: after a failure, not before */
    _Atomic unsigned long resigns, resign_failures;
};

/* Run until SIGTERM/SIGINT. Returns 0, or the negative code of a start-up failure (e). */
int control_run(struct control *ctl, struct err *e);

/* From any thread: ask the control loop to reload (now, or after the build under way). */
void control_request_reload(struct control *ctl);

/* From another thread (the API): ask for a reload, wait for a reload that started after
 * the request to end and return its result; e gets the error. */
int control_reload_wait(struct control *ctl, struct err *e);

#endif
