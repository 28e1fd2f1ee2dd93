/* cluster.h: cluster mode (docs/cluster.md): several gslbd instances share admin states
 * and health observations through etcd. Runs on the control loop: a session (lease, a
 * range of the prefix, a watch from its revision, keep-alives) that reconnects with
 * backoff across the endpoints; shared admin states applied to the served view; this
 * instance's per-address observations published under its lease; each address's health
 * decided from the live observers by the configured rule. The query path never waits on
 * any of it: it reads the same state words as in standalone mode. */
#ifndef GSLBD_CLUSTER_H
#define GSLBD_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/conf/conf.h"
#include "server/gslb.h"

struct control;
struct cluster;

/* Start the session on ctl's loop (it connects in the background). cfg is copied. */
int cluster_start(struct control *ctl, const struct conf_shared *cfg, struct cluster **out);

/* At shutdown, on the loop: revoke nothing (the lease expires by itself), abort calls,
 * close handles; the loop must run to finish closing. Frees cl. */
void cluster_stop(struct cluster *cl);

/* Probe hooks (control thread): this instance's own view of address a of g changed
 * (reason "" when up); and the effective state of address a from the observers. */
void cluster_observed(struct cluster *cl, const struct gslb *g, uint32_t a, bool local_up,
                      const char *reason, uint32_t latency_ms);
bool cluster_decide(struct cluster *cl, const struct gslb *g, uint32_t a, bool local_up);

/* After a reload published a new view (control thread): publish its observations. */
void cluster_view_changed(struct cluster *cl);

/* Does cfg (a reloaded config's) describe the running session? (the key changes on
 * restart only). NULL cl: only when cfg is not enabled. */
bool cluster_conf_same(const struct cluster *cl, const struct conf_shared *cfg);

/* From the API thread (may block up to a few seconds): write a cluster's admin state to
 * etcd with who and why. 0, or < 0 with err (then the write is queued and sent once etcd
 * is back). */
int cluster_admin_put(struct cluster *cl, const char *name, enum gslb_admin want, const char *who,
                      const char *why, char *err, size_t errlen);

/* Blocking, without a running cluster (gslbd --admin): the same write. */
int cluster_admin_put_once(const struct conf_shared *cfg, const char *name, enum gslb_admin want,
                           const char *who, const char *why, char *err, size_t errlen);

/* For the API (any thread): the status object, and metrics lines appended to a buffer. */
json_t *cluster_status_json(struct cluster *cl);
/* Writes Prometheus text into buf (at most len bytes); returns bytes written. */
size_t cluster_metrics_text(struct cluster *cl, char *buf, size_t len);

/* ---- pure parts (unit-tested) ---- */

/* Is an address up under rule, given how many live observers see it (self included) and
 * how many of them say down? local_up is this instance's own view (rule local). */
bool cluster_rule_up(enum conf_health_rule rule, unsigned observers, unsigned down, bool local_up);

/* The value written for an admin state, and its decoding (strings copied into the
 * out buffers). 0 or -EINVAL. */
char *cluster_admin_encode(enum gslb_admin state, const char *who, const char *why,
                           int64_t when_ms);
int cluster_admin_decode(const char *text, size_t len, enum gslb_admin *state, char *who,
                         size_t wholen, char *why, size_t whylen, int64_t *when_ms);

/* An observation's value and its decoding. */
char *cluster_obs_encode(bool up, const char *reason, uint32_t latency_ms, int64_t time_ms);
int cluster_obs_decode(const char *text, size_t len, bool *up, char *reason, size_t reasonlen,
                       uint32_t *latency_ms, int64_t *time_ms);

#endif
