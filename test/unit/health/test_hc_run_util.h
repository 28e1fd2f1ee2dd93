/* test_hc_run_util.h: what the health probe tests share: running a set on a private loop. */
#ifndef GSLBD_TEST_HC_RUN_UTIL_H
#define GSLBD_TEST_HC_RUN_UTIL_H

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "health/health.h"
#include "test/unit/test_timing.h"

/* Helpers are static inline: each test_*.c is built alone and uses only some of them. */

/* ---- timing tolerances -------------------------------------------------------------- */

/* Late timers on a loaded machine or under a sanitizer: GSLBD_TEST_SLOWDOWN scales it. */
static inline uint64_t slack_ms(void)
{
    return test_scaled_ms(250);
}

/* Waits for things that should just work (valgrind runs TLS handshakes ~50x slower). */
static inline uint32_t patience(uint32_t ms)
{
    return (uint32_t)test_scaled_ms(ms);
}

/* ---- running a set ------------------------------------------------------------------ */

struct event {
    size_t target;
    bool up;
    char reason[HC_REASON_MAX];
    uint64_t at; /* ms since the run started */
};

struct run {
    uv_loop_t loop;
    uv_timer_t beat; /* wakes uv_run(UV_RUN_ONCE) so deadlines are checked */
    uint64_t t0;
    struct hc *h;
    int first_rounds;
    uint64_t first_round_at;
    bool in_create;
    bool first_round_in_create;
    struct event ev[64];
    size_t nev;
    bool done;
    int logs;
    int results, failed_results;
    bool reason_on_success; /* on_result gave a reason with ok: must not happen */
};

static inline void on_change(void *ctx, size_t target, bool up, const char *reason)
{
    struct run *r = ctx;
    if (r->nev == sizeof(r->ev) / sizeof(r->ev[0]))
        return;
    struct event *e = &r->ev[r->nev++];
    e->target = target;
    e->up = up;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    e->at = uv_now(&r->loop) - r->t0;
}

static inline void on_result(void *ctx, size_t target, bool ok, const char *reason, uint32_t ms)
{
    (void)target;
    (void)ms;
    struct run *r = ctx;
    r->results++;
    if (!ok)
        r->failed_results++;
    if (ok != (reason == NULL))
        r->reason_on_success = true;
}

static inline void on_first_round(void *ctx)
{
    struct run *r = ctx;
    if (r->in_create)
        r->first_round_in_create = true;
    if (r->first_rounds++ == 0)
        r->first_round_at = uv_now(&r->loop) - r->t0;
}

static inline void on_log(void *ctx, enum hc_log_level level, const char *msg)
{
    struct run *r = ctx;
    r->logs++;
    if (getenv("HC_TEST_VERBOSE"))
        fprintf(stderr, "  [%d] %5llu ms %s\n", (int)level,
                (unsigned long long)(uv_now(&r->loop) - r->t0), msg);
}

static inline void beat(uv_timer_t *t)
{
    (void)t;
}

static inline void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->beat);
    uv_timer_start(&r->beat, beat, 5, 5);
    uv_update_time(&r->loop);
    r->t0 = uv_now(&r->loop);
}

static inline uint64_t elapsed(struct run *r)
{
    return uv_now(&r->loop) - r->t0;
}

static inline struct hc_callbacks callbacks(struct run *r)
{
    struct hc_callbacks cb = {.ctx = r,
                              .on_change = on_change,
                              .on_result = on_result,
                              .on_first_round = on_first_round,
                              .log = on_log};
    return cb;
}

static inline struct hc *create_set(struct run *r, const struct hc_target *t, size_t n,
                                    const struct hc *prev)
{
    struct hc_callbacks cb = callbacks(r);
    struct hc *h = NULL;
    r->in_create = true;
    int rc = hc_create(&r->loop, t, n, prev, &cb, &h);
    r->in_create = false;
    assert_int_equal(rc, 0);
    assert_non_null(h);
    return h;
}

static inline void start(struct run *r, const struct hc_target *t, size_t n)
{
    uv_update_time(&r->loop);
    r->t0 = uv_now(&r->loop);
    r->h = create_set(r, t, n, NULL);
}

static inline void run_for(struct run *r, uint64_t ms)
{
    uint64_t end = elapsed(r) + ms;
    while (elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
}

static inline void run_until_first_round(struct run *r, uint64_t max_ms)
{
    uint64_t end = elapsed(r) + max_ms;
    while (r->first_rounds == 0 && elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_int_equal(r->first_rounds, 1);
}

static inline void set_done(void *arg)
{
    ((struct run *)arg)->done = true;
}

static inline void stop_set(struct run *r, struct hc *h)
{
    r->done = false;
    hc_stop(h, set_done, r);
    uint64_t end = elapsed(r) + 3000;
    while (!r->done && elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_true(r->done);
}

/* Stop the set (if any), then every handle the test made; the loop must close clean. */
static inline void run_finish(struct run *r)
{
    if (r->h)
        stop_set(r, r->h);
    r->h = NULL;
    uv_close((uv_handle_t *)&r->beat, NULL);
    assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

static inline struct hc_status status(struct run *r, size_t i)
{
    struct hc_status s;
    assert_int_equal(hc_target_status(r->h, i, &s), 0);
    return s;
}

static inline struct hc_addr v4(const char *text)
{
    struct hc_addr a = {AF_INET, {0}};
    assert_int_equal(inet_pton(AF_INET, text, a.bytes), 1);
    return a;
}

static inline struct hc_addr v6(const char *text)
{
    struct hc_addr a = {AF_INET6, {0}};
    assert_int_equal(inet_pton(AF_INET6, text, a.bytes), 1);
    return a;
}

static inline struct hc_check http_check(enum hc_type type, int port, const char *path)
{
    struct hc_check c;
    memset(&c, 0, sizeof(c));
    c.type = type;
    c.port = (uint16_t)port;
    c.path = path;
    c.interval_ms = 100;
    c.timeout_ms = patience(3000); /* generous: these probes should finish */
    c.fall = 1;
    c.rise = 1;
    return c;
}

static inline void assert_ok(struct run *r, size_t i)
{
    struct hc_status s = status(r, i);
    if (!s.up || !s.last_ok || s.pending)
        fail_msg("target %zu: expected ok, got up=%d pending=%d reason '%s'", i, s.up, s.pending,
                 s.last_reason);
    assert_string_equal(s.last_reason, "");
}

static inline void assert_fail(struct run *r, size_t i, const char *prefix)
{
    struct hc_status s = status(r, i);
    if (s.up || s.last_ok || s.pending || strncmp(s.last_reason, prefix, strlen(prefix)) != 0)
        fail_msg("target %zu: expected down with '%s...', got up=%d last_ok=%d reason '%s'", i,
                 prefix, s.up, s.last_ok, s.last_reason);
}

#endif
