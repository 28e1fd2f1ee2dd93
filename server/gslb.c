/* gslb.c: compiling GSLB services from config, and the per-query policy decision. */
#include "server/gslb.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/loadinfo.h"
#include "server/log.h"

void gslb_free(struct gslb *g)
{
    if (g == NULL)
        return;
    geo_free(g->geo);
    for (size_t i = 0; i < g->nregions; i++)
        free(g->region_names[i]);
    free(g->region_names);
    for (size_t i = 0; i < g->nclusters; i++)
        free((void *)(uintptr_t)g->clusters[i].name);
    for (size_t i = 0; i < g->nservices; i++)
        free((void *)(uintptr_t)g->services[i].name);
    for (size_t i = 0; i < g->naddrs; i++)
        free((void *)(uintptr_t)g->addrs[i].text);
    free(g->addrs);
    free(g->clusters);
    free(g->services);
    free(g->cluster_idx);
    free(g->region_idx);
    free(g->region_off);
    free((void *)(uintptr_t)g->addr_up);
    free((void *)(uintptr_t)g->admin);
    free(g->answers);
    free(g->svc_all_down);
    free(g);
}

static int build_geo(const struct conf *c, struct gslb *g, struct err *e)
{
    struct geo_region regs[GEO_MAX_REGIONS];
    uint16_t order[GEO_MAX_REGIONS];
    if (c->nregions > GEO_MAX_REGIONS)
        return err_set(e, GSLBD_ELIMIT, c->path, 0, 0, "at most %d regions", GEO_MAX_REGIONS);
    for (size_t i = 0; i < c->nregions; i++)
        regs[i] = (struct geo_region){c->regions[i].name, c->regions[i].lat, c->regions[i].lon};
    for (size_t i = 0; i < c->geo.ndefault_order && i < GEO_MAX_REGIONS; i++)
        order[i] = (uint16_t)c->geo.default_order[i];
    struct geo_net *nets = calloc(c->geo.nnets ? c->geo.nnets : 1, sizeof(*nets));
    struct geo_pin *pins = calloc(c->geo.npins ? c->geo.npins : 1, sizeof(*pins));
    uint16_t *pinregs = calloc(c->geo.npins * GEO_MAX_REGIONS + 1, sizeof(*pinregs));
    int rc = 0;
    if (nets == NULL || pins == NULL || pinregs == NULL) {
        rc = err_oom(e, NULL);
        goto out;
    }
    for (size_t i = 0; i < c->geo.nnets; i++) {
        nets[i].family = c->geo.nets[i].family;
        memcpy(nets[i].addr, c->geo.nets[i].addr, 16);
        nets[i].prefix = c->geo.nets[i].prefix;
        nets[i].region = (uint16_t)c->geo.nets[i].region;
    }
    for (size_t i = 0; i < c->geo.npins; i++) {
        memcpy(pins[i].code, c->geo.pins[i].code, 3);
        pins[i].continent = c->geo.pins[i].continent;
        size_t n =
            c->geo.pins[i].nregions < GEO_MAX_REGIONS ? c->geo.pins[i].nregions : GEO_MAX_REGIONS;
        for (size_t k = 0; k < n; k++)
            pinregs[i * GEO_MAX_REGIONS + k] = (uint16_t)c->geo.pins[i].regions[k];
        pins[i].regions = &pinregs[i * GEO_MAX_REGIONS];
        pins[i].nregions = n;
    }
    struct geo_config gc = {
        .database = c->geo.database,
        .regions = regs,
        .nregions = c->nregions,
        .default_order = c->geo.ndefault_order ? order : NULL,
        .ndefault_order = c->geo.ndefault_order,
        .nets = nets,
        .nnets = c->geo.nnets,
        .pins = pins,
        .npins = c->geo.npins,
        .ranking_scope = c->geo.ecs_scope == CONF_ECS_SCOPE_RANKING,
    };
    char msg[512] = "";
    rc = geo_open(&gc, &g->geo, msg, sizeof(msg));
    if (rc < 0)
        err_set(e, rc, NULL, 0, 0, "geoip: %s", msg);
    else
        loadinfo_log_geo(c->geo.database, g->geo);
out:
    free(nets);
    free(pins);
    free(pinregs);
    return rc;
}

static int build_model(const struct conf *c, struct gslb *g, struct err *e)
{
    size_t naddrs = 0, nidx = 0;
    for (size_t i = 0; i < c->nclusters; i++)
        naddrs += c->clusters[i].naddrs;
    for (size_t i = 0; i < c->nservices; i++)
        nidx += c->services[i].nclusters;
    g->addrs = calloc(naddrs ? naddrs : 1, sizeof(*g->addrs));
    g->clusters = calloc(c->nclusters ? c->nclusters : 1, sizeof(*g->clusters));
    g->services = calloc(c->nservices ? c->nservices : 1, sizeof(*g->services));
    g->cluster_idx = calloc(nidx ? nidx : 1, sizeof(*g->cluster_idx));
    g->region_idx = calloc(nidx ? nidx : 1, sizeof(*g->region_idx));
    g->region_off = calloc(c->nservices * (c->nregions + 1) + 1, sizeof(*g->region_off));
    g->addr_up = calloc(naddrs ? naddrs : 1, sizeof(*g->addr_up));
    g->admin = calloc(c->nclusters ? c->nclusters : 1, sizeof(*g->admin));
    g->region_names = calloc(c->nregions ? c->nregions : 1, sizeof(*g->region_names));
    g->svc_all_down = calloc(c->nservices ? c->nservices : 1, sizeof(*g->svc_all_down));
    /* per cluster, then per service: answered, SERVFAIL; whole cache lines per row */
    g->answers_stride = (c->nclusters + 2 * c->nservices + 7) / 8 * 8;
    if (g->answers_stride == 0)
        g->answers_stride = 8;
    if (!g->addrs || !g->clusters || !g->services || !g->cluster_idx || !g->region_idx ||
        !g->region_off || !g->addr_up || !g->admin || !g->region_names || gslb_set_rows(g, 1) < 0 ||
        !g->svc_all_down)
        return err_oom(e, NULL);
    for (size_t i = 0; i < c->nregions; i++) {
        g->region_names[i] = strdup(c->regions[i].name);
        if (g->region_names[i] == NULL)
            return err_oom(e, NULL);
        g->nregions++;
    }
    for (size_t i = 0; i < c->nclusters; i++) {
        const struct conf_cluster *cc = &c->clusters[i];
        struct gslb_cluster *gc = &g->clusters[g->nclusters];
        gc->name = strdup(cc->name);
        if (gc->name == NULL)
            return err_oom(e, NULL);
        g->nclusters++;
        gc->region = (uint16_t)cc->region;
        gc->weight = cc->weight;
        gc->first_addr = (uint32_t)g->naddrs;
        gc->naddrs = (uint32_t)cc->naddrs;
        atomic_init(&g->admin[i], GSLB_ADMIN_AUTO);
        for (size_t k = 0; k < cc->naddrs; k++) {
            struct gslb_addr *a = &g->addrs[g->naddrs];
            a->text = strdup(cc->addrs[k].text);
            if (a->text == NULL)
                return err_oom(e, NULL);
            g->naddrs++;
            a->family = cc->addrs[k].family;
            memcpy(a->bytes, cc->addrs[k].addr, 16);
            a->rr.rdata = a->bytes;
            a->rr.rdlen = a->family == AF_INET ? 4 : 16;
            atomic_init(&g->addr_up[g->naddrs - 1], 1); /* HC-5: up until probed */
        }
    }
    size_t used = 0;
    for (size_t i = 0; i < c->nservices; i++) {
        const struct conf_service *cs = &c->services[i];
        struct gslb_service *s = &g->services[g->nservices];
        s->name = strdup(cs->name);
        if (s->name == NULL)
            return err_oom(e, NULL);
        g->nservices++;
        bool absolute;
        if (dname_from_text(cs->name, s->lname, &absolute) != NULL)
            return err_set(e, GSLBD_EINVAL, c->path, 0, 0, "service %s: bad name", cs->name);
        s->policy = cs->policy;
        s->ttl = cs->ttl;
        s->failover_ttl = cs->failover_ttl;
        s->all_down = cs->all_down;
        s->clusters = &g->cluster_idx[used];
        s->nclusters = (uint32_t)cs->nclusters;
        s->one_region = true;
        for (size_t k = 0; k < cs->nclusters; k++) {
            g->cluster_idx[used + k] = (uint32_t)cs->clusters[k];
            if (c->clusters[cs->clusters[k]].region != c->clusters[cs->clusters[0]].region)
                s->one_region = false;
        }
        /* by region, for the nearest policy: a query looks only at the regions it ranks */
        uint32_t *off = &g->region_off[i * (c->nregions + 1)];
        uint32_t n = 0;
        for (size_t r = 0; r < c->nregions; r++) {
            off[r] = n;
            for (size_t k = 0; k < cs->nclusters; k++)
                if (c->clusters[cs->clusters[k]].region == r)
                    g->region_idx[used + n++] = (uint32_t)cs->clusters[k];
        }
        off[c->nregions] = n;
        s->by_region = &g->region_idx[used];
        s->region_off = off;
        used += cs->nclusters;
    }
    return 0;
}

int gslb_build(const struct conf *c, struct gslb **out, struct err *e)
{
    struct gslb *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return err_oom(e, NULL);
    int rc = build_model(c, g, e);
    if (rc == 0 && c->nregions > 0)
        rc = build_geo(c, g, e);
    if (rc < 0) {
        gslb_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

int gslb_set_rows(struct gslb *g, unsigned rows)
{
    size_t bytes = (size_t)(rows ? rows : 1) * g->answers_stride * sizeof(uint64_t);
    uint64_t *a = aligned_alloc(64, bytes);
    if (a == NULL)
        return -ENOMEM;
    memset(a, 0, bytes);
    free(g->answers);
    g->answers = a;
    g->answer_rows = rows ? rows : 1;
    return 0;
}

uint64_t gslb_answers_total(const struct gslb *g, uint32_t ci)
{
    uint64_t sum = 0;
    for (size_t r = 0; r < g->answer_rows; r++)
        sum += __atomic_load_n(&g->answers[r * g->answers_stride + ci], __ATOMIC_RELAXED);
    return sum;
}

int32_t gslb_find_cluster(const struct gslb *g, const char *name)
{
    for (size_t i = 0; i < g->nclusters; i++)
        if (strcmp(g->clusters[i].name, name) == 0)
            return (int32_t)i;
    return -1;
}

static uint64_t row_sum(const struct gslb *g, size_t col)
{
    uint64_t sum = 0;
    for (size_t r = 0; r < g->answer_rows; r++)
        sum += __atomic_load_n(&g->answers[r * g->answers_stride + col], __ATOMIC_RELAXED);
    return sum;
}

void gslb_service_answers(const struct gslb *g, uint32_t si, uint64_t *answered, uint64_t *servfail)
{
    *answered = row_sum(g, g->nclusters + 2 * (size_t)si);
    *servfail = row_sum(g, g->nclusters + 2 * (size_t)si + 1);
}

void gslb_carry_service_answers(struct gslb *to, const struct gslb *from)
{
    if (to == NULL || from == NULL)
        return;
    for (size_t i = 0; i < to->nservices; i++)
        for (size_t j = 0; j < from->nservices; j++)
            if (strcmp(to->services[i].name, from->services[j].name) == 0) {
                uint64_t a, f;
                gslb_service_answers(from, (uint32_t)j, &a, &f);
                to->answers[to->nclusters + 2 * i] += a;
                to->answers[to->nclusters + 2 * i + 1] += f;
                break;
            }
}

void gslb_copy_states(struct gslb *to, const struct gslb *from, bool admin)
{
    if (to == NULL || from == NULL)
        return;
    for (size_t i = 0; i < to->nclusters; i++) {
        int32_t j = gslb_find_cluster(from, to->clusters[i].name);
        if (j < 0)
            continue;
        if (admin || to->state_unread)
            atomic_store(&to->admin[i], atomic_load(&from->admin[j]));
        const struct gslb_cluster *a = &to->clusters[i], *b = &from->clusters[j];
        for (uint32_t x = 0; x < a->naddrs; x++)
            for (uint32_t y = 0; y < b->naddrs; y++)
                if (strcmp(to->addrs[a->first_addr + x].text,
                           from->addrs[b->first_addr + y].text) == 0)
                    atomic_store(&to->addr_up[a->first_addr + x],
                                 atomic_load(&from->addr_up[b->first_addr + y]));
    }
}

/* ---- the decision (query path) --------------------------------------------------------- */

static bool health_up(const struct gslb *g, const struct gslb_cluster *c)
{
    for (uint32_t i = 0; i < c->naddrs; i++)
        if (atomic_load_explicit(&g->addr_up[c->first_addr + i], memory_order_relaxed))
            return true;
    return false;
}

/* Up given its admin state, read once by the caller: forced, or by the probes. */
static bool up_as(const struct gslb *g, uint32_t cluster, uint8_t admin)
{
    if (admin == GSLB_ADMIN_UP)
        return true;
    if (admin == GSLB_ADMIN_DOWN)
        return false;
    return health_up(g, &g->clusters[cluster]);
}

bool gslb_cluster_up(const struct gslb *g, uint32_t cluster)
{
    return up_as(g, cluster, atomic_load_explicit(&g->admin[cluster], memory_order_relaxed));
}

/* Eligibility in a pass: pass 0 takes healthy, undrained clusters with weight; pass 1
 * takes healthy drained (or zero-weight) clusters, used only when pass 0 found none. */
static bool eligible(const struct gslb *g, uint32_t ci, int pass)
{
    uint8_t admin = atomic_load_explicit(&g->admin[ci], memory_order_relaxed);
    if (!up_as(g, ci, admin))
        return false;
    bool drained = admin == GSLB_ADMIN_DRAIN || g->clusters[ci].weight == 0;
    return pass == 0 ? !drained : drained;
}

/* The weight a cluster has in a pass: configured weights in pass 0 and in fail-open
 * (pass 2, "as if every cluster were healthy"), 1 each among drained clusters (pass 1). */
static uint64_t pass_weight(const struct gslb *g, uint32_t ci, int pass, bool flat)
{
    return pass == 1 || flat ? 1 : g->clusters[ci].weight;
}

/* The total weight of the clusters of list that pass the filter (flat: 1 each); *any says
 * whether there was one. */
static uint64_t pick_total(const struct gslb *g, const uint32_t *list, uint32_t n, int pass,
                           bool flat, bool *any)
{
    uint64_t total = 0;
    *any = false;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t ci = list[k];
        if (pass < 2 && !eligible(g, ci, pass))
            continue;
        *any = true;
        total += pass_weight(g, ci, pass, flat);
    }
    return total;
}

/* Weighted pick among the n clusters of list that pass the filter; -1 when none. */
static int32_t pick(const struct gslb *g, const uint32_t *list, uint32_t n, int pass, uint64_t rnd)
{
    if (n == 1) /* one cluster in the region, the common case: no split to make */
        return pass == 2 || eligible(g, list[0], pass) ? (int32_t)list[0] : -1;
    for (int flat = 0; flat < 2; flat++) {
        bool any;
        uint64_t total = pick_total(g, list, n, pass, flat, &any);
        if (!any)
            return -1;
        if (total == 0)
            continue; /* fail-open over zero-weight clusters: split evenly */
        uint64_t r = rnd % total;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t ci = list[k];
            if (pass < 2 && !eligible(g, ci, pass))
                continue;
            uint64_t w = pass_weight(g, ci, pass, flat);
            if (r < w)
                return (int32_t)ci;
            r -= w;
        }
    }
    return -1;
}

/* Remember what a successful pick chose among, for gslb_split(). */
static void picked(struct gslb_decision *d, int32_t ci, const uint32_t *list, uint32_t n, int pass)
{
    d->cluster = ci;
    d->among = list;
    d->namong = n;
    d->pass = (uint8_t)pass;
}

/* Any of the n clusters of list down or drained? */
static bool degraded(const struct gslb *g, const uint32_t *list, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (!eligible(g, list[k], 0))
            return true;
    return false;
}

static void decide_nearest(const struct gslb *g, const struct gslb_service *s,
                           struct gslb_decision *d, uint64_t rnd)
{
    const uint16_t *rank = d->geo.rank;
    const uint32_t *off = s->region_off;
    int first = -1; /* the nearest region where the service has clusters */
    for (size_t i = 0; i < g->nregions && first < 0; i++)
        if (off[rank[i] + 1] > off[rank[i]])
            first = rank[i];
    for (int pass = 0; pass < 3; pass++) {
        for (size_t i = 0; i < g->nregions; i++) {
            int region = rank[i];
            const uint32_t *list = s->by_region + off[region];
            uint32_t n = off[region + 1] - off[region];
            if (n == 0)
                continue;
            int32_t ci = pick(g, list, n, pass, rnd);
            if (ci < 0)
                continue;
            picked(d, ci, list, n, pass);
            if (pass == 2) {
                d->reason = GSLB_R_FAIL_OPEN;
                d->all_addrs = true;
            } else if (region != first || degraded(g, list, n)) {
                d->reason = GSLB_R_FAILOVER;
            }
            /* everything above was decided by rank[0] alone (the regions after it were
             * not looked at), so every client with the same nearest region gets it */
            d->by_nearest = i == 0;
            return;
        }
    }
}

static void decide_weighted(const struct gslb *g, const struct gslb_service *s,
                            struct gslb_decision *d, uint64_t rnd)
{
    for (int pass = 0; pass < 3; pass++) {
        int32_t ci = pick(g, s->clusters, s->nclusters, pass, rnd);
        if (ci < 0)
            continue;
        picked(d, ci, s->clusters, s->nclusters, pass);
        if (pass == 2) {
            d->reason = GSLB_R_FAIL_OPEN;
            d->all_addrs = true;
        } else if (degraded(g, s->clusters, s->nclusters)) {
            d->reason = GSLB_R_FAILOVER;
        }
        return;
    }
}

static void decide_failover(const struct gslb *g, const struct gslb_service *s,
                            struct gslb_decision *d)
{
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t k = 0; k < s->nclusters; k++) {
            if (!eligible(g, s->clusters[k], pass))
                continue;
            d->cluster = (int32_t)s->clusters[k];
            if (k > 0 || pass > 0)
                d->reason = GSLB_R_FAILOVER;
            return;
        }
    }
    if (s->nclusters > 0) {
        d->cluster = (int32_t)s->clusters[0];
        d->reason = GSLB_R_FAIL_OPEN;
        d->all_addrs = true;
    }
}

static void decide_init(struct gslb_decision *d)
{
    d->cluster = -1;
    d->reason = GSLB_R_PRIMARY;
    d->all_addrs = false;
    d->scope = 0;
    d->used_geo = false;
    d->by_nearest = false;
    d->namong = 0;
}

/* The policy's pick once the location (d->geo, when used_geo) is known, then the rules
 * every policy shares: forced up, SERVFAIL instead of fail-open, the TTL. */
static void decide_policy(const struct gslb *g, const struct gslb_service *s, uint64_t rnd,
                          struct gslb_decision *d)
{
    if (d->used_geo)
        decide_nearest(g, s, d, rnd);
    else if (s->policy == CONF_POLICY_FAILOVER)
        decide_failover(g, s, d);
    else
        decide_weighted(g, s, d, rnd);
    /* a cluster forced up answers every address, whatever the probes say (POL-7) */
    if (d->cluster >= 0 &&
        atomic_load_explicit(&g->admin[d->cluster], memory_order_relaxed) == GSLB_ADMIN_UP)
        d->all_addrs = true;
    if (d->reason == GSLB_R_FAIL_OPEN && s->all_down == CONF_ALL_DOWN_SERVFAIL) {
        d->reason = GSLB_R_SERVFAIL;
        d->cluster = -1;
        d->scope = 0;
    }
    d->ttl = d->reason == GSLB_R_PRIMARY ? s->ttl : s->failover_ttl;
}

void gslb_decide(const struct gslb *g, const struct gslb_service *s, int family,
                 const uint8_t *addr, uint64_t rnd, struct gslb_decision *d)
{
    decide_init(d);
    if (s->policy == CONF_POLICY_NEAREST && g->geo != NULL) {
        if (addr != NULL)
            geo_lookup(g->geo, family, addr, &d->geo);
        else
            geo_lookup(g->geo, AF_INET, (const uint8_t *)"\0\0\0\0", &d->geo);
        d->used_geo = true;
    }
    decide_policy(g, s, rnd, d);
    /* location matters only when the service spans regions (ECS-G1) */
    if (d->used_geo && !s->one_region && addr != NULL && d->reason != GSLB_R_SERVFAIL) {
        d->scope = d->by_nearest ? d->geo.scope_nearest : d->geo.scope;
        /* geo answers a v4-mapped IPv6 address in IPv4 terms; the scope goes back in
         * the query's family, where the IPv4 space starts at bit 96 */
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (family == AF_INET6 && memcmp(addr, mapped, 12) == 0)
            d->scope = (uint8_t)(d->scope + 96);
    }
}

void gslb_decide_rank(const struct gslb *g, const struct gslb_service *s, const uint16_t *rank,
                      uint64_t rnd, struct gslb_decision *d)
{
    decide_init(d);
    if (s->policy == CONF_POLICY_NEAREST && g->geo != NULL) {
        d->geo = (struct geo_result){.rank = rank, .source = GEO_SRC_NETS};
        d->used_geo = true;
    }
    decide_policy(g, s, rnd, d);
}

size_t gslb_split(const struct gslb *g, const struct gslb_decision *d, struct gslb_share *out,
                  size_t max)
{
    if (d->cluster < 0 || max == 0)
        return 0;
    if (d->namong <= 1) { /* no weighted pick: only this cluster answers */
        out[0] = (struct gslb_share){(uint32_t)d->cluster, 1};
        return 1;
    }
    bool any;
    bool flat = pick_total(g, d->among, d->namong, d->pass, false, &any) == 0;
    size_t m = 0;
    for (uint32_t k = 0; k < d->namong && m < max; k++) {
        uint32_t ci = d->among[k];
        if (d->pass < 2 && !eligible(g, ci, d->pass))
            continue;
        uint64_t w = pass_weight(g, ci, d->pass, flat);
        if (w > 0)
            out[m++] = (struct gslb_share){ci, w};
    }
    uint64_t gcd = 0; /* in lowest terms: 2:2 is 1:1, a lone cluster is 1 */
    for (size_t k = 0; k < m; k++)
        for (uint64_t a = out[k].weight, t; a != 0; a = t) {
            t = gcd % a;
            gcd = a;
        }
    for (size_t k = 0; k < m && gcd > 1; k++)
        out[k].weight /= gcd;
    return m;
}

/* ---- service state transitions (control thread) ------------------------------------- */

void gslb_track_services(struct gslb *g)
{
    for (size_t i = 0; i < g->nservices; i++) {
        const struct gslb_service *s = &g->services[i];
        bool down = true;
        for (uint32_t k = 0; k < s->nclusters && down; k++)
            if (gslb_cluster_up(g, s->clusters[k]))
                down = false;
        if (down == (g->svc_all_down[i] != 0))
            continue;
        g->svc_all_down[i] = down;
        g->all_down_transitions++;
        if (down)
            log_err("service %s: every cluster is down; answering %s", s->name,
                    s->all_down == CONF_ALL_DOWN_SERVFAIL ? "SERVFAIL"
                                                          : "as if all were healthy (fail_open)");
        else
            log_info("service %s: a cluster is healthy again", s->name);
    }
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const admin_names[] = {"auto", "up", "down", "drain"};

int gslb_admin_parse(const char *text, enum gslb_admin *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(text, admin_names[i]) == 0) {
            *out = (enum gslb_admin)i;
            return 0;
        }
    return -EINVAL;
}

const char *gslb_admin_name(enum gslb_admin a)
{
    return (unsigned)a < 4 ? admin_names[a] : "?";
}

const char *gslb_reason_name(enum gslb_reason r)
{
    static const char *const names[] = {"primary", "failover", "fail_open", "servfail"};
    return (unsigned)r < 4 ? names[r] : "?";
}
