/* gslb.h: GSLB services compiled for the query path, and the policy that picks a cluster.
 * A struct gslb belongs to one view and is immutable except for the state words (health
 * per address, admin state per cluster), which only the control thread writes. */
#ifndef GSLBD_GSLB_H
#define GSLBD_GSLB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/conf/conf.h"
#include "server/err.h"
#include "geo/geo.h"
#include "server/zone.h"

enum gslb_admin { GSLB_ADMIN_AUTO = 0, GSLB_ADMIN_UP, GSLB_ADMIN_DOWN, GSLB_ADMIN_DRAIN };

struct gslb_addr {
    int family; /* AF_INET / AF_INET6 */
    uint8_t bytes[16];
    struct wire_rr rr; /* RDATA pointing at bytes */
    const char *text;
};

struct gslb_cluster {
    const char *name;
    uint16_t region;
    uint32_t weight;
    uint32_t first_addr; /* addresses [first_addr, first_addr + naddrs) */
    uint32_t naddrs;
};

struct gslb_service {
    const char *name; /* presentation form, final dot */
    uint8_t lname[DNAME_MAX];
    enum conf_policy policy;
    const uint32_t *clusters; /* indexes into gslb.clusters, configured order */
    uint32_t nclusters;
    /* The same clusters grouped by region, configured order within one: region r's are
     * by_region[region_off[r] .. region_off[r + 1]) (region_off has nregions + 1 entries). */
    const uint32_t *by_region;
    const uint32_t *region_off;
    uint32_t ttl, failover_ttl;
    enum conf_all_down all_down;
    bool one_region; /* every cluster in one region: location never matters */
};

struct gslb {
    struct gslb_addr *addrs;
    size_t naddrs;
    struct gslb_cluster *clusters;
    size_t nclusters;
    struct gslb_service *services;
    size_t nservices;
    uint32_t *cluster_idx; /* backing store of services' cluster lists */
    uint32_t *region_idx;  /* backing store of services' by_region lists */
    uint32_t *region_off;  /* backing store of services' region_off tables */
    char **region_names;
    size_t nregions;
    struct geo *geo;          /* NULL when no regions are configured */
    _Atomic uint8_t *addr_up; /* per address: 1 up, 0 down (health result; 1 until probed) */
    _Atomic uint8_t *admin;   /* per cluster: enum gslb_admin */
    /* Answers per cluster: one row per thread that answers queries (its reader slot,
     * server.h), answer_rows rows of answers_stride counters, each row cache-line aligned.
     * A row has exactly one writer, so a relaxed load and store count without a locked
     * instruction; the API sums the rows with relaxed loads. The storage is a side table:
     * counting writes through the pointer and leaves the (const) gslb itself untouched. */
    uint64_t *answers;
    size_t answers_stride; /* uint64_t per row */
    unsigned answer_rows;
    /* POL-6 bookkeeping, control thread only: which services have every cluster down */
    uint8_t *svc_all_down;
    uint64_t all_down_transitions;
    /* The state file could not be used (torn, empty, not ours): gslb_copy_states carries
     * the previous admin states over instead (gslb_state.c) */
    bool state_unread;
};

/* Count an answer from cluster ci by the thread of reader slot `slot` (query path, slot
 * below answer_rows): its own row, so no other thread writes the word. */
static inline void gslb_count_answer(const struct gslb *g, unsigned slot, uint32_t ci)
{
    uint64_t *p = &g->answers[(size_t)slot * g->answers_stride + ci];
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Count a decision of service si (answered, or SERVFAIL) the same way (query path). */
static inline void gslb_count_service(const struct gslb *g, unsigned slot, uint32_t si,
                                      bool servfail)
{
    uint64_t *p =
        &g->answers[(size_t)slot * g->answers_stride + g->nclusters + 2 * (size_t)si + servfail];
    __atomic_store_n(p, __atomic_load_n(p, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/* Every thread's decisions of service si: answered and SERVFAIL (relaxed loads). */
void gslb_service_answers(const struct gslb *g, uint32_t si, uint64_t *answered,
                          uint64_t *servfail);

/* Before a new view is published: add the old view's per-service counts (matched by name)
 * to the new one's first row, so the counters only grow across reloads. */
void gslb_carry_service_answers(struct gslb *to, const struct gslb *from);

/* Give the answer counters one row per answering thread (rows = the server's reader slots),
 * zeroed; gslb_build makes one row. Call before the view is published. */
int gslb_set_rows(struct gslb *g, unsigned rows);

/* Sum of every thread's count for cluster ci (relaxed loads: any thread). */
uint64_t gslb_answers_total(const struct gslb *g, uint32_t ci);

/* Why a decision came out as it did. */
enum gslb_reason {
    GSLB_R_PRIMARY = 0, /* the first choice answered: service TTL */
    GSLB_R_FAILOVER,    /* not the first choice, or a cluster there is down: failover TTL */
    GSLB_R_FAIL_OPEN,   /* everything down: answered as if healthy */
    GSLB_R_SERVFAIL,    /* everything down and all_down = servfail */
};

struct gslb_decision {
    int32_t cluster; /* chosen cluster index, -1 for SERVFAIL */
    uint32_t ttl;
    uint8_t scope; /* ECS scope (ECS-G1) */
    enum gslb_reason reason;
    bool all_addrs; /* fail-open: every address, not only those up */
    struct geo_result geo;
    bool used_geo;
    bool by_nearest; /* the client's nearest region (geo.rank[0]) answered: the scope is
                        geo.scope_nearest, the network that shares that region */
    /* a weighted pick: the clusters it chose among (namong 0 or 1: there was no split) */
    const uint32_t *among;
    uint32_t namong;
    uint8_t pass;
};

/* One cluster's part of a weighted split: it answers weight / (sum of the weights). */
struct gslb_share {
    uint32_t cluster;
    uint64_t weight;
};

/* Build from c (borrowed; the gslb copies what it needs). e names the problem. */
int gslb_build(const struct conf *c, struct gslb **out, struct err *e);
void gslb_free(struct gslb *g); /* NULL is a no-op */

/* Copy health states (and admin states when admin is true) of clusters and addresses that
 * exist in both, matched by name. */
void gslb_copy_states(struct gslb *to, const struct gslb *from, bool admin);

/* Is a cluster healthy by health results and admin state (drain counts as healthy)? */
bool gslb_cluster_up(const struct gslb *g, uint32_t cluster);

/* Decide for service s and a client address (family + 4/16 bytes; NULL = unknown).
 * rnd is a uniform random number for the weighted split. No allocation, no locks. */
void gslb_decide(const struct gslb *g, const struct gslb_service *s, int family,
                 const uint8_t *addr, uint64_t rnd, struct gslb_decision *d);

/* The same decision for a client whose regions rank as rank (g->nregions region indexes,
 * nearest first, e.g. geo_region_rank(): "a client in that region"); rank is read only by
 * a nearest service when g has regions. For the dashboard's "now answering". */
void gslb_decide_rank(const struct gslb *g, const struct gslb_service *s, const uint16_t *rank,
                      uint64_t rnd, struct gslb_decision *d);

/* The clusters that answer the clients decision d stands for, right now, and their parts
 * of the weighted split (the weights the pick used, in lowest terms); d->cluster is one
 * of them. At most
 * max into out; returns how many (0 for SERVFAIL). Same state words, so the same caveat
 * as any read of them: true when they were read. */
size_t gslb_split(const struct gslb *g, const struct gslb_decision *d, struct gslb_share *out,
                  size_t max);

/* Is address i of the chosen cluster to be answered under decision d? */
static inline bool gslb_addr_answered(const struct gslb *g, const struct gslb_decision *d,
                                      uint32_t i)
{
    return d->all_addrs || atomic_load_explicit(&g->addr_up[i], memory_order_relaxed) != 0;
}

/* Control thread, after any health or admin change: log and count each service entering
 * or leaving the all-clusters-down state (POL-6), once per transition. */
void gslb_track_services(struct gslb *g);

/* Admin states: parse/print "auto" "up" "down" "drain". */
int gslb_admin_parse(const char *text, enum gslb_admin *out);
const char *gslb_admin_name(enum gslb_admin a);
const char *gslb_reason_name(enum gslb_reason r);

/* Read admin states from the state file ({"clusters": {"NAME": "drain"}}); a missing file
 * is not an error. Unknown cluster names are ignored with a warning. A file that cannot be
 * used (not regular, unreadable, empty, torn, bad values) sets no state at all: it is
 * logged as a warning naming the file (also left in e), g->state_unread is set so that a
 * reload keeps the running states, and 0 is returned: a broken file never stops a start
 * or a reload (at a first start every cluster is then auto). */
int gslb_state_load(struct gslb *g, const char *path, struct err *e);

/* Write the current admin states to path atomically: a new temp file (mkstemp, never
 * through an existing name or link) in the same folder, fsync, rename, fsync the folder. */
int gslb_state_save(const struct gslb *g, const char *path, struct err *e);
/* The same, naming the writer ("changed_by": by, NULL for none), so that the reload that
 * applies the file can say who made the change. */
int gslb_state_save_by(const struct gslb *g, const char *path, const char *by, struct err *e);
/* The state file's "changed_by" into buf (n bytes); false when there is none. */
bool gslb_state_author(const char *path, char *buf, size_t n);

int32_t gslb_find_cluster(const struct gslb *g, const char *name);

#endif
