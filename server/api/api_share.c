/* api_share.c: each cluster's GSLB answers over the last minute, sampled every 5 s by a
 * small thread of the API and matched by cluster name across reloads. */
#include "server/api/api_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/log.h"

static struct api_share_ent *find_or_add(struct api_share *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->ents[i].name, name) == 0)
            return &s->ents[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct api_share_ent *e = realloc(s->ents, cap * sizeof(*e));
        if (e == NULL)
            return NULL;
        s->ents = e;
        s->cap = cap;
    }
    struct api_share_ent *e = &s->ents[s->n++];
    memset(e, 0, sizeof(*e)); /* no answers in any earlier sample */
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->last_gen = (unsigned long)-1;
    return e;
}

/* Map the current view's clusters to entries, once per view generation. */
static bool map_view(struct api_share *s, const struct gslb *g, unsigned long gen)
{
    if (s->map_valid && s->map_gen == gen && s->nmap == g->nclusters)
        return true;
    size_t *map = realloc(s->map, (g->nclusters + 1) * sizeof(*map));
    if (map == NULL)
        return false;
    s->map = map;
    s->map_valid = false;
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        if (find_or_add(s, g->clusters[ci].name) == NULL)
            return false;
    }
    /* a second pass: find_or_add may have moved the array */
    for (size_t ci = 0; ci < g->nclusters; ci++)
        s->map[ci] = (size_t)(find_or_add(s, g->clusters[ci].name) - s->ents);
    s->nmap = g->nclusters;
    s->map_gen = gen;
    s->map_valid = true;
    return true;
}

/* Add what each current cluster answered since the last update (share lock held). */
static bool update(struct api *a)
{
    struct api_share *s = &a->share;
    const struct gslb *g = atomic_load(&a->srv->view)->gslb;
    unsigned long gen = atomic_load(&a->ctl->reloads);
    if (g == NULL || !map_view(s, g, gen))
        return false;
    for (size_t ci = 0; ci < g->nclusters; ci++) {
        struct api_share_ent *e = &s->ents[s->map[ci]];
        uint64_t raw = gslb_answers_total(g, (uint32_t)ci);
        if (e->last_gen == gen)
            e->accum += raw >= e->last_raw ? raw - e->last_raw : 0;
        else
            e->accum += raw; /* a new view counts from 0 */
        e->last_raw = raw;
        e->last_gen = gen;
    }
    return true;
}

static void sample(struct api *a)
{
    struct api_share *s = &a->share;
    update(a);
    size_t slot = s->nsamples % API_SHARE_SLOTS;
    s->t_ms[slot] = api_mono_ms();
    for (size_t i = 0; i < s->n; i++)
        s->ents[i].hist[slot] = s->ents[i].accum;
    s->nsamples++;
}

/* The oldest sample no older than the window; -1 if there is none. */
static long window_start(const struct api_share *s, uint64_t now)
{
    long best = -1;
    size_t have = s->nsamples < API_SHARE_SLOTS ? s->nsamples : API_SHARE_SLOTS;
    for (size_t k = 0; k < have; k++) {
        size_t slot = (s->nsamples - 1 - k) % API_SHARE_SLOTS;
        if (now - s->t_ms[slot] > API_SHARE_WINDOW_MS)
            break;
        best = (long)slot;
    }
    return best;
}

void api_share_1m(struct api *a, uint64_t *out, size_t n, uint64_t *window_ms)
{
    struct api_share *s = &a->share;
    pthread_mutex_lock(&s->lock);
    bool ok = update(a);
    uint64_t now = api_mono_ms();
    long start = window_start(s, now);
    *window_ms = start < 0 ? 0 : now - s->t_ms[start];
    for (size_t ci = 0; ci < n; ci++) {
        out[ci] = 0;
        if (!ok || ci >= s->nmap)
            continue;
        const struct api_share_ent *e = &s->ents[s->map[ci]];
        out[ci] = start < 0 ? 0 : e->accum - e->hist[start];
    }
    pthread_mutex_unlock(&s->lock);
}

void api_share_totals(struct api *a, uint64_t *out, size_t n)
{
    struct api_share *s = &a->share;
    pthread_mutex_lock(&s->lock);
    bool ok = update(a);
    for (size_t ci = 0; ci < n; ci++)
        out[ci] = ok && ci < s->nmap ? s->ents[s->map[ci]].accum : 0;
    pthread_mutex_unlock(&s->lock);
}

/* Compare the running API with the current view's api section once per reload and warn
 * about what only a restart changes. Call with ctl->reload_lock held. */
static void check_conf(struct api *a)
{
    unsigned long gen = atomic_load(&a->ctl->reloads);
    if (gen == a->warned_gen)
        return;
    a->warned_gen = gen;
    const struct conf_api *ca = &atomic_load(&a->srv->view)->conf->api;
    if (!ca->enabled || strcmp(ca->listen, a->listen) != 0)
        log_warn("reload: the API stays on %s until a restart (the config now says %s)", a->listen,
                 ca->enabled ? ca->listen : "disabled");
    else if (ca->max_connections != a->guard.max || ca->max_per_source != a->guard.per_source ||
             ca->request_timeout_ms != a->guard.timeout_ms)
        log_warn("reload: the API's connection limits (max_connections, max_per_source, "
                 "request_timeout_ms) stay as they were until a restart");
}

static void *sampler(void *arg)
{
    struct api *a = arg;
    struct api_share *s = &a->share;
    for (;;) {
        pthread_mutex_lock(&a->ctl->reload_lock);
        check_conf(a);
        pthread_mutex_lock(&s->lock);
        sample(a);
        pthread_mutex_unlock(&a->ctl->reload_lock);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += API_SHARE_PERIOD_MS / 1000;
        while (!s->stop && pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
            ;
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            return NULL;
    }
}

int api_share_start(struct api *a)
{
    struct api_share *s = &a->share;
    int rc = api_thread_start(&s->thread, &s->lock, &s->wake, sampler, a);
    s->running = rc == 0;
    return rc;
}

void api_share_stop(struct api *a)
{
    struct api_share *s = &a->share;
    if (!s->running)
        return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    free(s->ents);
    free(s->map);
    s->running = false;
}
