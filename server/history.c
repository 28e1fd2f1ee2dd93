/* history.c: the history's rings: series matched by name across reloads, samples, events,
 * and their JSON. */
#include "server/history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/gslb.h"

struct history_cluster {
    char name[HISTORY_NAME_MAX];
    uint64_t born;    /* the first sample index it has */
    uint64_t pending; /* answers since the last sample */
    uint8_t admin;    /* at the last look (history_admin) */
    bool admin_known;
    uint32_t answers[HISTORY_SAMPLES];
};

struct history_check {
    char cluster[HISTORY_NAME_MAX], address[48], check[HISTORY_NAME_MAX];
    uint64_t born;
    uint64_t transitions; /* at the last sample */
    bool known;
    char state[HISTORY_SAMPLES];
};

int history_new(uint32_t interval_ms, struct history **out)
{
    struct history *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    int rc = pthread_mutex_init(&h->lock, NULL);
    if (rc != 0) {
        free(h);
        return -rc;
    }
    h->interval_ms = interval_ms != 0 ? interval_ms : HISTORY_INTERVAL_DEFAULT_MS;
    *out = h;
    return 0;
}

void history_free(struct history *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->nclusters; i++)
        free(h->clusters[i]);
    for (size_t i = 0; i < h->nchecks; i++)
        free(h->checks[i]);
    free(h->clusters);
    free(h->checks);
    free(h->last_raw);
    free(h->admin);
    free(h->obs);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- current series ---- */

static void copy_name(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src != NULL ? src : "");
}

/* Make *setp (holding *np) the n series that keys name, in keys' order: the i-th is the old
 * one same(old, keys, i) matches, kept with its samples, or else a new one from
 * make(keys, i, born) (its first sample: born). Old ones not kept are freed. 0, or -ENOMEM with
 * nothing changed. The two sets (clusters, checks) hold different series; this sees them
 * as pointers only. Call with the history's lock held. */
static int replace_series(void ***setp, size_t *np, size_t n, const void *keys,
                          bool (*same)(const void *old, const void *keys, size_t i),
                          void *(*make)(const void *keys, size_t i, uint64_t born), uint64_t born)
{
    void **old = *setp, **next = calloc(n + 1, sizeof(*next));
    bool *kept = calloc(*np + 1, sizeof(*kept));
    if (next == NULL || kept == NULL) {
        free(next);
        free(kept);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < *np && next[i] == NULL; j++) {
            if (!kept[j] && same(old[j], keys, i)) {
                next[i] = old[j];
                kept[j] = true;
            }
        }
        if (next[i] == NULL)
            next[i] = make(keys, i, born);
        if (next[i] == NULL) { /* out of memory: undo, keep the old set */
            for (size_t k = 0; k < i; k++) {
                bool was_old = false;
                for (size_t j = 0; j < *np; j++)
                    was_old = was_old || next[k] == old[j];
                if (!was_old)
                    free(next[k]);
            }
            free(next);
            free(kept);
            return -ENOMEM;
        }
    }
    for (size_t j = 0; j < *np; j++)
        if (!kept[j])
            free(old[j]);
    free(old);
    *setp = next;
    *np = n;
    free(kept);
    return 0;
}

static bool same_cluster(const void *old, const void *keys, size_t i)
{
    const struct history_cluster *c = old;
    return strcmp(c->name, ((const char *const *)keys)[i]) == 0;
}

static void *make_cluster(const void *keys, size_t i, uint64_t born)
{
    struct history_cluster *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        copy_name(c->name, sizeof(c->name), ((const char *const *)keys)[i]);
        c->born = born;
    }
    return c;
}

int history_set_clusters(struct history *h, const char *const *names, size_t n)
{
    pthread_mutex_lock(&h->lock);
    int r = replace_series((void ***)&h->clusters, &h->nclusters, n, names, same_cluster,
                           make_cluster, h->nsamples);
    pthread_mutex_unlock(&h->lock);
    return r;
}

static bool same_check(const void *old, const void *keys, size_t i)
{
    const struct history_check *c = old;
    const struct history_check_key *k = &((const struct history_check_key *)keys)[i];
    return strcmp(c->cluster, k->cluster) == 0 && strcmp(c->address, k->address) == 0 &&
           strcmp(c->check, k->check) == 0;
}

static void *make_check(const void *keys, size_t i, uint64_t born)
{
    const struct history_check_key *k = &((const struct history_check_key *)keys)[i];
    struct history_check *c = calloc(1, sizeof(*c));
    if (c != NULL) {
        copy_name(c->cluster, sizeof(c->cluster), k->cluster);
        copy_name(c->address, sizeof(c->address), k->address);
        copy_name(c->check, sizeof(c->check), k->check);
        c->born = born;
    }
    return c;
}

int history_set_checks(struct history *h, const struct history_check_key *keys, size_t n)
{
    pthread_mutex_lock(&h->lock);
    int r = replace_series((void ***)&h->checks, &h->nchecks, n, keys, same_check, make_check,
                           h->nsamples);
    pthread_mutex_unlock(&h->lock);
    return r;
}

/* ---- samples and events ---- */

void history_add_answers(struct history *h, size_t ci, uint64_t n)
{
    pthread_mutex_lock(&h->lock);
    if (ci < h->nclusters)
        h->clusters[ci]->pending += n;
    pthread_mutex_unlock(&h->lock);
}

static void event_locked(struct history *h, const struct history_event *ev)
{
    h->events[h->nevents++ % HISTORY_EVENTS] = *ev;
}

void history_event(struct history *h, const struct history_event *ev)
{
    pthread_mutex_lock(&h->lock);
    event_locked(h, ev);
    pthread_mutex_unlock(&h->lock);
}

static char check_state(struct history_check *c, const struct history_check_obs *o)
{
    if (o == NULL || !o->known)
        return HISTORY_NONE;
    char s = o->pending ? HISTORY_PENDING : o->up ? HISTORY_UP : HISTORY_DOWN;
    bool changed = c->known && o->transitions != c->transitions;
    c->transitions = o->transitions;
    c->known = true;
    return changed && s != HISTORY_PENDING ? (char)(s - 'a' + 'A') : s;
}

void history_admin(struct history *h, int64_t wall_ms, const uint8_t *admin)
{
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->nclusters; i++) {
        struct history_cluster *c = h->clusters[i];
        if (c->admin_known && c->admin != admin[i]) {
            struct history_event ev = {.wall_ms = wall_ms, .kind = HISTORY_EV_ADMIN};
            copy_name(ev.cluster, sizeof(ev.cluster), c->name);
            copy_name(ev.from, sizeof(ev.from), gslb_admin_name((enum gslb_admin)c->admin));
            copy_name(ev.to, sizeof(ev.to), gslb_admin_name((enum gslb_admin)admin[i]));
            event_locked(h, &ev);
        }
        c->admin = admin[i];
        c->admin_known = true;
    }
    pthread_mutex_unlock(&h->lock);
}

void history_push(struct history *h, int64_t wall_ms, const struct history_check_obs *obs)
{
    pthread_mutex_lock(&h->lock);
    size_t slot = h->nsamples % HISTORY_SAMPLES;
    h->t_ms[slot] = wall_ms;
    for (size_t i = 0; i < h->nclusters; i++) {
        struct history_cluster *c = h->clusters[i];
        c->answers[slot] = c->pending > UINT32_MAX ? UINT32_MAX : (uint32_t)c->pending;
        c->pending = 0;
    }
    for (size_t i = 0; i < h->nchecks; i++)
        h->checks[i]->state[slot] = check_state(h->checks[i], obs != NULL ? &obs[i] : NULL);
    h->nsamples++;
    pthread_mutex_unlock(&h->lock);
}

/* ---- JSON ---- */

static json_t *iso_time(int64_t wall_ms)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32], out[40];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, sizeof(out), "%s.%03dZ", base, (int)(wall_ms % 1000));
    return json_string(out);
}

static json_t *event_json(const struct history_event *ev)
{
    static const char *const kinds[] = {"health", "admin", "reload"};
    json_t *o = json_pack("{s:o, s:I, s:s}", "time", iso_time(ev->wall_ms), "t",
                          (json_int_t)ev->wall_ms, "kind", kinds[ev->kind]);
    if (o == NULL)
        return NULL;
    switch (ev->kind) {
    case HISTORY_EV_HEALTH:
        json_object_set_new(o, "cluster", json_string(ev->cluster));
        json_object_set_new(o, "address", json_string(ev->address));
        json_object_set_new(o, "check", json_string(ev->check));
        json_object_set_new(o, "up", json_boolean(ev->up));
        json_object_set_new(o, "reason", json_string(ev->text));
        break;
    case HISTORY_EV_ADMIN:
        json_object_set_new(o, "cluster", json_string(ev->cluster));
        json_object_set_new(o, "from", json_string(ev->from));
        json_object_set_new(o, "to", json_string(ev->to));
        break;
    case HISTORY_EV_RELOAD:
        json_object_set_new(o, "result", json_string(ev->up ? "ok" : "rejected"));
        if (!ev->up)
            json_object_set_new(o, "error", json_string(ev->text));
        break;
    }
    return o;
}

json_t *history_json(struct history *h)
{
    json_t *times = json_array(), *clusters = json_array(), *checks = json_array();
    json_t *total = json_array(), *events = json_array();
    json_t *o = json_pack("{s:I, s:i, s:o, s:o, s:o, s:o, s:o}", "interval_ms", (json_int_t)0,
                          "capacity", HISTORY_SAMPLES, "times", times, "total", total, "clusters",
                          clusters, "checks", checks, "events", events);
    if (o == NULL)
        return NULL;
    pthread_mutex_lock(&h->lock);
    json_object_set_new(o, "interval_ms", json_integer(h->interval_ms));
    uint64_t have = h->nsamples < HISTORY_SAMPLES ? h->nsamples : HISTORY_SAMPLES;
    uint64_t first = h->nsamples - have; /* the oldest sample index held */
    char *states = malloc(have + 1);
    for (uint64_t k = first; k < h->nsamples; k++) {
        size_t slot = k % HISTORY_SAMPLES;
        json_array_append_new(times, json_integer(h->t_ms[slot]));
        uint64_t sum = 0;
        for (size_t i = 0; i < h->nclusters; i++)
            if (k >= h->clusters[i]->born)
                sum += h->clusters[i]->answers[slot];
        json_array_append_new(total, json_integer((json_int_t)sum));
    }
    for (size_t i = 0; i < h->nclusters; i++) {
        const struct history_cluster *c = h->clusters[i];
        json_t *ans = json_array();
        for (uint64_t k = first; k < h->nsamples; k++)
            json_array_append_new(ans, k >= c->born ? json_integer(c->answers[k % HISTORY_SAMPLES])
                                                    : json_null());
        json_array_append_new(clusters, json_pack("{s:s, s:o}", "name", c->name, "answers", ans));
    }
    for (size_t i = 0; i < h->nchecks && states != NULL; i++) {
        const struct history_check *c = h->checks[i];
        size_t n = 0;
        for (uint64_t k = first; k < h->nsamples; k++)
            states[n++] = k >= c->born ? c->state[k % HISTORY_SAMPLES] : HISTORY_NONE;
        states[n] = '\0';
        json_array_append_new(checks,
                              json_pack("{s:s, s:s, s:s, s:s}", "cluster", c->cluster, "address",
                                        c->address, "check", c->check, "states", states));
    }
    /* events inside the window: from one interval before the oldest sample on */
    int64_t since =
        have > 0 ? h->t_ms[first % HISTORY_SAMPLES] - (int64_t)h->interval_ms : INT64_MIN;
    uint64_t ev_have = h->nevents < HISTORY_EVENTS ? h->nevents : HISTORY_EVENTS;
    for (uint64_t k = h->nevents - ev_have; k < h->nevents; k++) {
        const struct history_event *ev = &h->events[k % HISTORY_EVENTS];
        if (ev->wall_ms >= since)
            json_array_append_new(events, event_json(ev));
    }
    pthread_mutex_unlock(&h->lock);
    bool oom = states == NULL;
    free(states);
    if (oom) {
        json_decref(o);
        return NULL;
    }
    return o;
}
