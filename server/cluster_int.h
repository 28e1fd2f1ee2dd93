/* cluster_int.h: what the two halves of cluster mode share: the session with etcd
 * (cluster.c) and the shared state it feeds (cluster_state.c). Not for other modules.
 *
 * Circle: probe.c tells the cluster what this instance sees (cluster_observed) and asks it
 * to decide (cluster_decide); when a peer's view changes, cluster_state.c asks probe.c for
 * this instance's own view of each address (probes_local_up), and cluster.c feeds it what
 * etcd says. Health is one loop over the three files. */
#ifndef GSLBD_CLUSTER_INT_H
#define GSLBD_CLUSTER_INT_H

#include "server/cluster.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "server/etcd.h"

#define CL_BACKOFF_MIN_MS 100
#define CL_BACKOFF_MAX_MS 1000
#define CL_PENDING_MAX 64

extern const char *const cluster__rule_names[]; /* by enum conf_health_rule */

enum cl_step { CL_IDLE, CL_AUTH, CL_LEASE, CL_PENDING, CL_RANGE, CL_UP };

/* One instance's view of one address (this instance's own entries included). */
struct cl_obs {
    char inst[64];
    char cluster[64];
    char addr[48];
    bool up;
    char reason[128];
    uint32_t latency_ms;
    int64_t time_ms; /* when the instance saw it change (Unix ms) */
};

struct cl_inst {
    char name[64];
    int64_t seen_ms; /* Unix ms of its last instance-key write */
    int64_t started_ms;
};

struct cl_admin {
    char cluster[64];
    enum gslb_admin state;
    char who[80];
    char why[200];
    int64_t when_ms;
};

struct cl_pending {
    char key[400];
    char *value;
};

struct cluster {
    struct control *ctl;
    struct conf_shared cfg; /* deep copy */
    struct etcd *etcd;
    uv_timer_t retry, keepalive;
    enum cl_step step;
    bool failed, stopping;
    unsigned backoff_ms;
    int64_t lease;
    int64_t revision;
    int64_t started_ms;

    pthread_mutex_t lock; /* guards everything below against the API thread */
    bool connected;
    int64_t connected_since_ms, disconnected_at_ms;
    uint64_t last_keepalive_mono_ms;
    _Atomic size_t endpoint; /* index, for the API's blocking writes */
    char last_error[256];
    struct cl_obs *obs;
    size_t nobs, capobs;
    struct cl_inst *insts;
    size_t ninsts, capinsts;
    struct cl_admin *admins;
    size_t nadmins, capadmins;
    struct cl_pending pending[CL_PENDING_MAX];
    size_t npending;
    int64_t watch_lag_ms;
    uint64_t watch_events, reconnects, admin_applied, health_changed;
};

int64_t cluster__wall_ms(void);  /* Unix ms */
uint64_t cluster__mono_ms(void); /* monotonic ms */

/* Shared state (cluster_state.c). obs_find and obs_drop: the caller holds cl->lock;
 * apply_kv and recompute take it themselves; obs_key only formats the key. */
struct cl_obs *cluster__obs_find(struct cluster *cl, const char *inst, const char *cluster,
                                 const char *addr, bool create);
void cluster__obs_drop(struct cluster *cl, const char *inst);
void cluster__obs_key(const struct cluster *cl, const char *cname, const char *addr, char *out,
                      size_t len);
void cluster__apply_kv(struct cluster *cl, const char *key, const char *value, size_t vlen);
void cluster__recompute(struct cluster *cl);

#endif
