/* history.h: the recent past the dashboard draws: per cluster its GSLB answers and per health
 * check target its state, one sample per interval in fixed rings keyed by name (so they
 * outlive reloads), with health transitions, admin changes and reloads on the same clock.
 * The control thread owns the history and writes it (history_sample.c samples on its loop);
 * the API reads it under its lock. */
#ifndef GSLBD_HISTORY_H
#define GSLBD_HISTORY_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "health/health.h"

#define HISTORY_SAMPLES 360 /* one hour at the default interval */
#define HISTORY_EVENTS 256  /* transitions, admin changes and reloads kept */
#define HISTORY_INTERVAL_DEFAULT_MS 10000
#define HISTORY_ADMIN_POLL_MS 500 /* admin changes are timed to within this */
#define HISTORY_NAME_MAX 64       /* cluster and check names: the config allows 63 bytes */

/* A check target's state in one sample: up, down, or pending (no result yet); the upper
 * case letters say it changed during the interval (it ended in that state); HISTORY_NONE
 * is a sample from before the target existed. */
#define HISTORY_NONE '-'
#define HISTORY_UP 'u'
#define HISTORY_DOWN 'd'
#define HISTORY_PENDING 'p'

enum history_event_kind { HISTORY_EV_HEALTH = 0, HISTORY_EV_ADMIN, HISTORY_EV_RELOAD };

struct history_event {
    int64_t wall_ms; /* Unix ms */
    enum history_event_kind kind;
    bool up;                        /* HEALTH: the target's new state; RELOAD: it worked */
    char cluster[HISTORY_NAME_MAX]; /* HEALTH, ADMIN */
    char address[48];               /* HEALTH */
    char check[HISTORY_NAME_MAX];   /* HEALTH */
    char from[8], to[8];            /* ADMIN: "auto", "up", "down", "drain" */
    char text[HC_REASON_MAX];       /* HEALTH: the reason; RELOAD: the error, if rejected */
};

/* A health check target, named the way it is matched across reloads. */
struct history_check_key {
    const char *cluster, *address, *check;
};

/* What the sampler saw of a target at a sample. */
struct history_check_obs {
    bool known; /* false: nothing to say (the target is not probed now) */
    bool up, pending;
    uint64_t transitions; /* the target's transitions so far: a change says it flipped */
};

struct history_cluster; /* one cluster's ring (history.c) */
struct history_check;   /* one target's ring (history.c) */
struct gslb;
struct server;
struct probes;
struct view;

struct history {
    pthread_mutex_t lock; /* guards everything up to the sampler's part */
    uint32_t interval_ms;
    uint64_t nsamples;                 /* taken; the newest is in slot (nsamples - 1) % SAMPLES */
    int64_t t_ms[HISTORY_SAMPLES];     /* Unix ms of each sample */
    struct history_cluster **clusters; /* the current view's clusters, in its order */
    size_t nclusters;
    struct history_check **checks; /* the current probe targets, in their order */
    size_t nchecks;
    struct history_event events[HISTORY_EVENTS]; /* ring */
    uint64_t nevents;                            /* written; newest at (nevents - 1) % EVENTS */

    /* the sampler's part (history_sample.c): control thread only */
    uv_timer_t timer;       /* samples */
    uv_timer_t admin_timer; /* admin states, every HISTORY_ADMIN_POLL_MS */
    struct server *srv;
    struct probes *probes;
    const struct gslb *gslb;       /* the gslb whose counters last_raw holds */
    uint64_t *last_raw;            /* per current cluster: its answer counter at the last look */
    uint8_t *admin;                /* scratch: per current cluster */
    struct history_check_obs *obs; /* scratch: per current target */
    size_t nscratch_c, nscratch_t;
    size_t probe_seen; /* probes' transitions ring: entries already copied */
};

/* ---- the rings (history.c) ---- */

/* An empty history sampling every interval_ms (0: the default). Caller owns *out. */
int history_new(uint32_t interval_ms, struct history **out);
void history_free(struct history *h); /* NULL is a no-op */

/* Make names[0..n) the current clusters, in that order: a name seen before keeps its ring
 * and answers not yet sampled, a new one starts empty, the others are dropped. Allocates
 * (load time, never per query); on failure nothing changes. */
int history_set_clusters(struct history *h, const char *const *names, size_t n);
/* The same for the probe targets. */
int history_set_checks(struct history *h, const struct history_check_key *keys, size_t n);

/* Answers of current cluster ci since the last sample. */
void history_add_answers(struct history *h, size_t ci, uint64_t n);

/* Take a sample at wall_ms: each current cluster's answers since the last one, and each
 * current target's observation obs[t] (NULL: none known). */
void history_push(struct history *h, int64_t wall_ms, const struct history_check_obs *obs);

/* The current clusters' admin states at wall_ms (admin[ci], enum gslb_admin): each that
 * differs from the last look becomes an ADMIN event at wall_ms; the first look at a cluster
 * only sets what it is compared with. */
void history_admin(struct history *h, int64_t wall_ms, const uint8_t *admin);

/* Record an event (oldest dropped when the ring is full). */
void history_event(struct history *h, const struct history_event *ev);

/* Everything held, as the JSON of GET /api/v1/history (less "now_answering", which the API
 * adds): times, clusters with answers, checks with states, events since the oldest sample.
 * Caller owns the result; NULL when out of memory. */
json_t *history_json(struct history *h);

/* ---- the sampler (history_sample.c), on the control thread ---- */

/* A history of srv's current view and the probes, sampled every api.history_interval_ms on
 * loop (the control thread's), admin states looked at every HISTORY_ADMIN_POLL_MS. Its
 * timers are closed with the loop's other handles: free *out once the loop has run them.
 * Caller owns *out; on failure it is NULL. */
int history_open(struct history **out, uv_loop_t *loop, struct server *srv, struct probes *p);

/* A reload is about to publish next over old (probes already follow next): count old's
 * answers so far, move the rings to next's names, mark the reload. */
void history_reload(struct history *h, const struct view *old, const struct view *next);

/* A reload was rejected: mark it, with the error. */
void history_reload_failed(struct history *h, const char *msg);

#endif
