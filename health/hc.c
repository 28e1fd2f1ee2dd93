/* hc.c: a set of probe targets: jittered schedule, one probe in flight, deadlines, reload. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/hc_int.h"

#define HC_DEFAULT_INTERVAL_MS 1000
#define HC_DEFAULT_TIMEOUT_MS 800

int hc_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : HC_E_CURL;
}

void hc_global_cleanup(void)
{
    curl_global_cleanup();
}

const char *hc_strerror(int code)
{
    if (code == 0)
        return "success";
    if (code == HC_E_CURL)
        return "libcurl initialisation failed";
    if (code > -4000 && code <= -3000)
        return uv_strerror(code); /* libuv's own range (getaddrinfo errors) */
    if (code < 0)
        return strerror(-code);
    return "unknown error";
}

void hc_logf(const struct hc *h, enum hc_log_level level, const char *fmt, ...)
{
    if (h->cb.log == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    h->cb.log(h->cb.ctx, level, line);
}

/* ---- creation ---------------------------------------------------------------------- */

static int dup_str(const char *in, char **out)
{
    *out = NULL;
    if (in == NULL)
        return 0;
    *out = strdup(in);
    return *out ? 0 : -ENOMEM;
}

static void free_check(struct hc_check *c)
{
    free((void *)(uintptr_t)c->path);
    free((void *)(uintptr_t)c->host);
    free((void *)(uintptr_t)c->expect_body);
    free((void *)(uintptr_t)c->ca_file);
    free((void *)(uintptr_t)c->source);
}

/* Copy a check, with defaults applied, so that equal configs compare equal. */
static int copy_check(const struct hc_check *in, struct hc_check *out)
{
    *out = *in;
    out->path = out->host = out->expect_body = out->ca_file = out->source = NULL;
    if (in->type != HC_HTTP && in->type != HC_HTTPS && in->type != HC_TCP)
        return -EINVAL;
    if (in->port == 0 || in->nexpect_status > HC_MAX_STATUS)
        return -EINVAL;
    char *src = NULL;
    if (dup_str(in->source, &src) < 0)
        return -ENOMEM;
    out->source = src;
    if (out->interval_ms == 0)
        out->interval_ms = HC_DEFAULT_INTERVAL_MS;
    if (out->timeout_ms == 0)
        out->timeout_ms = HC_DEFAULT_TIMEOUT_MS;
    if (out->fall == 0)
        out->fall = 3;
    if (out->rise == 0)
        out->rise = 3;
    if (out->nexpect_status == 0) {
        memset(out->expect_status, 0, sizeof(out->expect_status));
        out->expect_status[0] = 200;
        out->nexpect_status = 1;
    }
    for (size_t i = out->nexpect_status; i < HC_MAX_STATUS; i++)
        out->expect_status[i] = 0;
    if (in->type == HC_TCP) {
        /* http-only fields mean nothing to a TCP probe: drop them so they never block a
         * carry-over */
        out->nexpect_status = 0;
        memset(out->expect_status, 0, sizeof(out->expect_status));
        out->tls_insecure = false;
        return 0;
    }
    if (in->type == HC_HTTP)
        out->tls_insecure = false;
    char *path = NULL, *host = NULL, *body = NULL, *ca = NULL;
    int rc = dup_str(in->path ? in->path : "/", &path);
    if (rc == 0)
        rc = dup_str(in->host, &host);
    if (rc == 0)
        rc = dup_str(in->expect_body, &body);
    if (rc == 0 && in->type == HC_HTTPS)
        rc = dup_str(in->ca_file, &ca);
    out->path = path;
    out->host = host;
    out->expect_body = body;
    out->ca_file = ca;
    out->source = src;
    if (rc < 0) {
        free_check(out);
        return rc;
    }
    return 0;
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Both checks went through copy_check. */
static bool check_eq(const struct hc_check *a, const struct hc_check *b)
{
    return a->type == b->type && a->port == b->port && str_eq(a->path, b->path) &&
           str_eq(a->host, b->host) && a->nexpect_status == b->nexpect_status &&
           memcmp(a->expect_status, b->expect_status, sizeof(a->expect_status)) == 0 &&
           str_eq(a->expect_body, b->expect_body) && a->interval_ms == b->interval_ms &&
           a->timeout_ms == b->timeout_ms && a->fall == b->fall && a->rise == b->rise &&
           a->tls_insecure == b->tls_insecure && str_eq(a->ca_file, b->ca_file) &&
           str_eq(a->source, b->source);
}

static bool addr_eq(const struct hc_addr *a, const struct hc_addr *b)
{
    size_t len = a->family == AF_INET ? 4 : 16;
    return a->family == b->family && memcmp(a->bytes, b->bytes, len) == 0;
}

static void free_targets(struct hc_tgt *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free_check(&t[i].check);
        free(t[i].url);
        free(t[i].body);
    }
    free(t);
}

static const char *type_name(enum hc_type type)
{
    return type == HC_HTTP ? "http" : type == HC_HTTPS ? "https" : "tcp";
}

static int init_target(struct hc *h, size_t i, const struct hc_target *in)
{
    struct hc_tgt *t = &h->t[i];
    t->h = h;
    t->index = i;
    if (in->check == NULL || (in->addr.family != AF_INET && in->addr.family != AF_INET6))
        return -EINVAL;
    t->addr = in->addr;
    if (t->addr.family == AF_INET)
        memset(t->addr.bytes + 4, 0, 12);
    if (inet_ntop(t->addr.family, t->addr.bytes, t->addr_text, sizeof(t->addr_text)) == NULL)
        return -EINVAL;
    int rc = copy_check(in->check, &t->check);
    if (rc < 0)
        return rc;
    snprintf(t->desc, sizeof(t->desc), t->addr.family == AF_INET6 ? "%s [%s]:%u" : "%s %s:%u",
             type_name(t->check.type), t->addr_text, (unsigned)t->check.port);
    hc_state_init(&t->st, t->check.fall, t->check.rise);
    if (t->check.type != HC_TCP)
        return hc_http_target_init(t);
    return 0;
}

static uint64_t rng_next(struct hc *h)
{
    uint64_t x = h->rng; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->rng = x;
    return x;
}

static void on_tick(uv_timer_t *timer);
static void on_kick(uv_timer_t *timer);

static void arm_tick(struct hc_tgt *t, uint64_t now)
{
    uint64_t delay = t->next_due > now ? t->next_due - now : 0;
    uv_timer_start(&t->tick, on_tick, delay, 0);
}

/* Same config in prev: take its state and its schedule (the loop clock is shared). */
static const struct hc_tgt *find_prev(const struct hc *prev, const struct hc_tgt *t, bool *used)
{
    for (size_t j = 0; j < prev->n; j++) {
        if (!used[j] && addr_eq(&prev->t[j].addr, &t->addr) &&
            check_eq(&prev->t[j].check, &t->check)) {
            used[j] = true;
            return &prev->t[j];
        }
    }
    return NULL;
}

int hc_create(uv_loop_t *loop, const struct hc_target *targets, size_t n, const struct hc *prev,
              const struct hc_callbacks *cb, struct hc **out)
{
    if (loop == NULL || out == NULL || (n > 0 && targets == NULL) || (prev && prev->stopping))
        return -EINVAL;
    struct hc *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return -ENOMEM;
    h->loop = loop;
    if (cb)
        h->cb = *cb;
    h->clock = h->cb.clock ? h->cb.clock : hc_clock_real();
    h->n = n;
    h->rng = uv_hrtime() ^ ((uint64_t)(uintptr_t)h << 17) ^ 0x9e3779b97f4a7c15u;
    if (h->rng == 0)
        h->rng = 1;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return -ENOMEM;
    }
    int rc = 0;
    bool *used = NULL;
    h->t = calloc(n ? n : 1, sizeof(*h->t));
    if (h->t == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = hc_http_open(h);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = init_target(h, i, &targets[i]);
    if (rc == 0 && prev && prev->n > 0 && (used = calloc(prev->n, sizeof(*used))) == NULL)
        rc = -ENOMEM;
    if (rc < 0) {
        hc_http_free(h);
        if (h->t)
            free_targets(h->t, n);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }

    /* Nothing fails from here on: uv_timer_init cannot fail. */
    uint64_t now = uv_now(loop);
    size_t carried = 0;
    for (size_t i = 0; i < n; i++) {
        struct hc_tgt *t = &h->t[i];
        uv_timer_init(loop, &t->tick);
        uv_timer_init(loop, &t->deadline);
        t->tick.data = t;
        t->deadline.data = t;
        const struct hc_tgt *p = prev ? find_prev(prev, t, used) : NULL;
        if (p) {
            t->st = p->st; /* prev is written only on this thread: no lock needed */
            /* keep its phase: no probe storm at reload, no starved target either */
            t->next_due = prev->loop == loop ? p->next_due : now;
            carried++;
            if (t->st.has_result)
                h->nresults++;
        } else {
            t->next_due = now + rng_next(h) % t->check.interval_ms;
        }
        arm_tick(t, now);
    }
    free(used);
    hc_http_start_set(h);
    uv_timer_init(loop, &h->kick);
    h->kick.data = h;
    if (h->nresults == n)
        uv_timer_start(&h->kick, on_kick, 0, 0);
    if (prev)
        hc_logf(h, HC_LOG_DEBUG, "%zu target(s), %zu carried over", n, carried);
    *out = h;
    return 0;
}

size_t hc_count(const struct hc *h)
{
    return h ? h->n : 0;
}

int hc_target_status(const struct hc *h, size_t i, struct hc_status *out)
{
    if (h == NULL || out == NULL || i >= h->n)
        return -ERANGE;
    pthread_mutex_t *lock = (pthread_mutex_t *)(uintptr_t)&h->lock; /* h is never defined const */
    pthread_mutex_lock(lock);
    hc_state_status(&h->t[i].st, h->clock, out);
    pthread_mutex_unlock(lock);
    return 0;
}

/* ---- scheduling and results --------------------------------------------------------- */

static void first_round(struct hc *h)
{
    if (h->first_round_done || h->nresults < h->n)
        return;
    h->first_round_done = true;
    hc_logf(h, HC_LOG_DEBUG, "first round complete (%zu target(s))", h->n);
    if (h->cb.on_first_round)
        h->cb.on_first_round(h->cb.ctx);
}

static void on_kick(uv_timer_t *timer)
{
    first_round(timer->data);
}

static void on_deadline(uv_timer_t *timer)
{
    struct hc_tgt *t = timer->data;
    if (!t->busy || t->finished)
        return;
    if (t->check.type == HC_TCP)
        hc_tcp_abort(t);
    else
        hc_http_abort(t);
}

static void on_tick(uv_timer_t *timer)
{
    struct hc_tgt *t = timer->data;
    struct hc *h = t->h;
    uint64_t now = uv_now(h->loop);
    /* start to start: the next one is due an interval after this one was due; ticks lost
     * to a stalled loop are skipped rather than fired in a burst */
    uint64_t iv = t->check.interval_ms;
    t->next_due += iv;
    if (t->next_due <= now)
        t->next_due = now + iv - (now - t->next_due) % iv;
    arm_tick(t, now);

    if (t->busy) {
        pthread_mutex_lock(&h->lock);
        t->st.skipped++;
        pthread_mutex_unlock(&h->lock);
        hc_logf(h, HC_LOG_DEBUG, "probe %s: still in flight, tick skipped", t->desc);
        return;
    }
    t->busy = true;
    t->finished = false;
    t->started_ns = uv_hrtime();
    uv_timer_start(&t->deadline, on_deadline, t->check.timeout_ms, 0);
    if (t->check.type == HC_TCP)
        hc_tcp_probe(t);
    else
        hc_http_probe(t);
}

void hc_probe_finish(struct hc_tgt *t, bool ok, bool timeout, const char *reason)
{
    struct hc *h = t->h;
    if (t->finished)
        return;
    t->finished = true;
    uv_timer_stop(&t->deadline);
    if (h->stopping)
        return;
    uint64_t ns = uv_hrtime() - t->started_ns;
    struct hc_result r = {ok, timeout, (uint32_t)(ns / 1000000u), reason};

    pthread_mutex_lock(&h->lock);
    bool first = !t->st.has_result;
    bool was_flapping = hc_state_flapping(&t->st, h->clock->mono_ms(h->clock->ctx));
    bool changed = hc_state_record(&t->st, &r, h->clock);
    bool flapping = hc_state_flapping(&t->st, t->st.change_mono_ms);
    pthread_mutex_unlock(&h->lock);

    if (ok)
        hc_logf(h, HC_LOG_DEBUG, "probe %s: ok, %u ms", t->desc, r.latency_ms);
    else
        hc_logf(h, HC_LOG_DEBUG, "probe %s: fail (%s), %u ms", t->desc, t->st.reason, r.latency_ms);
    if (h->cb.on_result)
        h->cb.on_result(h->cb.ctx, t->index, ok, ok ? NULL : t->st.reason, r.latency_ms);
    if (h->stopping)
        return;
    if (changed && flapping && !was_flapping)
        hc_logf(h, HC_LOG_WARN, "probe %s: flapping (%d transitions within %d s)", t->desc,
                HC_FLAP_RING, HC_FLAP_WINDOW_MS / 1000);
    if (changed && h->cb.on_change)
        h->cb.on_change(h->cb.ctx, t->index, t->st.up, t->st.up ? "ok" : t->st.reason);
    if (h->stopping)
        return;
    if (first) {
        h->nresults++;
        first_round(h);
    }
}

/* ---- teardown ------------------------------------------------------------------------ */

static void finalize(struct hc *h)
{
    void (*done)(void *) = h->done;
    void *arg = h->done_arg;
    hc_http_free(h);
    free_targets(h->t, h->n);
    pthread_mutex_destroy(&h->lock);
    free(h);
    if (done)
        done(arg);
}

void hc_handle_closed(struct hc *h)
{
    h->nclosing--;
    if (h->stopping && h->nclosing == 0)
        finalize(h);
}

static void on_closed(uv_handle_t *handle)
{
    hc_handle_closed(handle->data);
}

void hc_close(struct hc *h, uv_handle_t *handle)
{
    handle->data = h;
    h->nclosing++;
    uv_close(handle, on_closed);
}

void hc_stop(struct hc *h, void (*done)(void *arg), void *arg)
{
    if (h == NULL || h->stopping)
        return;
    h->stopping = true;
    h->done = done;
    h->done_arg = arg;
    for (size_t i = 0; i < h->n; i++) {
        struct hc_tgt *t = &h->t[i];
        if (t->check.type == HC_TCP)
            hc_tcp_abort(t);
        hc_close(h, (uv_handle_t *)&t->tick);
        hc_close(h, (uv_handle_t *)&t->deadline);
    }
    hc_http_stop(h);
    /* at least this close is pending, so finalize always runs from a close callback */
    hc_close(h, (uv_handle_t *)&h->kick);
}

void hc_free(struct hc *h)
{
    hc_stop(h, NULL, NULL);
}
