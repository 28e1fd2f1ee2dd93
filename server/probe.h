/* probe.h: connects the health/ probes to the served view: one probe target per (address,
 * check), an address up when all its checks are up, published as the view's state words.
 * Runs on the control thread's loop; the API thread may read statuses under the lock. */
#ifndef GSLBD_PROBE_H
#define GSLBD_PROBE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/err.h"
#include "health/health.h"
#include "server/view.h"

struct probe_target_info {
    uint32_t addr;    /* address index in the view's gslb */
    uint32_t cluster; /* cluster index */
    uint32_t check;   /* index into conf->checks */
};

#define PROBE_RECENT_MAX 64 /* transitions kept for the API, newest overwriting oldest */

/* One target's state change, kept for the API's "recent transitions" (names copied, so an
 * entry outlives the view it came from). */
struct probe_transition {
    int64_t wall_ms; /* Unix ms */
    bool up;
    char cluster[64];
    char address[48];
    char check[64];
    char reason[HC_REASON_MAX];
};

struct cluster;

struct probes {
    uv_loop_t *loop;
    struct cluster *cluster;        /* cluster mode (cluster.h): shares and decides; NULL = alone */
    pthread_mutex_t lock;           /* guards set, info and gslb against the API thread */
    struct hc *set;                 /* current probe set, or NULL when nothing is probed */
    struct probe_target_info *info; /* per target */
    bool *target_up;                /* per target, last published state */
    size_t ntargets;
    struct gslb *gslb;       /* the gslb whose addr_up words we write */
    const struct conf *conf; /* for names in logs */
    void (*on_first_round)(void *arg);
    void *arg;
    uint64_t transitions;                             /* written under lock */
    struct probe_transition recent[PROBE_RECENT_MAX]; /* ring, under lock */
    size_t nrecent; /* entries ever written; the newest is (nrecent - 1) % MAX */
};

/* Initialise (no probes yet). on_first_round is called once when the first set has a
 * result for every target (or at once when there is nothing to probe). */
int probes_init(struct probes *p, uv_loop_t *loop, void (*on_first_round)(void *), void *arg);

/* Start probing view v's targets, carrying over the state of targets that existed before;
 * seeds v's address states from the probe states. Call before publishing v. On failure
 * the previous set keeps running and v is untouched. */
int probes_apply(struct probes *p, struct view *v, struct err *e);

/* Stop every probe; done(arg) is called once all handles are closed (on the loop). */
void probes_stop(struct probes *p, void (*done)(void *), void *arg);

void probes_destroy(struct probes *p); /* after probes_stop's done */

/* This instance's own view of address a of the probed gslb (every check on it up). */
bool probes_local_up(const struct probes *p, uint32_t addr);

#endif
