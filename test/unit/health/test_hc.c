/* test_hc.c: unit tests for health/hc.c: probe sets: schedule, first round, reload, stop. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "health/health.h"
#include "test_hc_run_util.h"
#include "test_hc_server_util.h"

static void test_first_probes_jittered(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    enum { N = 16 };
    struct hc_check c = {.type = HC_TCP, .port = (uint16_t)s.port, .interval_ms = 600};
    struct hc_target t[N];
    for (int i = 0; i < N; i++)
        t[i] = (struct hc_target){v4("127.0.0.1"), &c};
    start(&r, t, N);
    run_until_first_round(&r, 600 + slack_ms() + 1000);
    assert_int_equal(s.total, N); /* one probe each so far */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        uint64_t at = s.accepted_at[i] - r.t0;
        lo = at < lo ? at : lo;
        hi = at > hi ? at : hi;
    }
    /* HC-4: spread over the interval, not fired together (16 uniform draws in 600 ms
     * landing within 150 ms of each other: about 1e-7) */
    assert_true(hi - lo >= 150);
    assert_true(hi <= 600 + slack_ms());
    srv_stop(&s);
    run_finish(&r);
}

static void test_first_round(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv hang;
    srv_start(&r.loop, &hang, AF_INET, 0);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check slow = http_check(HC_HTTP, hang.port, "/");
    slow.timeout_ms = 400;
    struct hc_target t[] = {
        {v4("127.0.0.1"), &ok}, {v4("127.0.0.1"), &slow}, {v4("127.0.0.1"), &ok}};
    start(&r, t, 3);
    run_for(&r, 250);
    assert_int_equal(r.first_rounds, 0); /* the slow one has no result yet */
    struct hc_status s = status(&r, 1);
    assert_true(s.pending);
    assert_true(s.up); /* HC-5: no result yet counts as up */
    run_until_first_round(&r, 400 + 100 + slack_ms());
    assert_true(r.first_round_at >= 400);
    assert_false(status(&r, 1).pending);
    run_for(&r, 300);
    assert_int_equal(r.first_rounds, 1); /* once per set */
    srv_stop(&hang);
    run_finish(&r);

    /* an empty set reports its (empty) first round from the loop, not from hc_create */
    run_init(&r);
    start(&r, NULL, 0);
    assert_false(r.first_round_in_create);
    assert_int_equal(r.first_rounds, 0);
    run_until_first_round(&r, patience(500));
    assert_int_equal(hc_count(r.h), 0);
    run_finish(&r);
}

static void test_reload_carries_state(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check bad = http_check(HC_HTTP, fx.http, "/status/503");
    bad.fall = 2;
    int fd;
    struct hc_check refused = {
        .type = HC_TCP, .port = (uint16_t)refused_port(&fd), .interval_ms = 100};
    struct hc_check ok_v1 = ok;
    ok_v1.path = "/ok?v=1";
    struct hc_check ok_changed = ok; /* same address, different config: a new target */
    ok_changed.path = "/ok?v=2";
    struct hc_target a[] = {
        {v4("127.0.0.1"), &ok}, {v4("127.0.0.1"), &bad}, {v4("127.0.0.1"), &ok_v1}};
    start(&r, a, 3);
    run_until_first_round(&r, patience(5000));
    run_for(&r, patience(300));
    assert_int_equal(r.nev, 1); /* bad went down on its first result */
    struct hc_status a0 = status(&r, 0), a1 = status(&r, 1);
    assert_true(a0.probes >= 2);

    /* B: bad and ok swapped around, one new address, one changed check */
    struct hc_check bad_copy = bad; /* equal by value, not by pointer */
    struct hc_target b[] = {{v4("127.0.0.1"), &bad_copy},
                            {v4("127.0.0.2"), &refused},
                            {v4("127.0.0.1"), &ok},
                            {v4("127.0.0.1"), &ok_changed}};
    struct hc *prev = r.h;
    r.nev = 0;
    r.first_rounds = 0;
    struct hc *h = create_set(&r, b, 4, prev);
    r.h = h;
    struct hc_status b0 = status(&r, 0), b2 = status(&r, 2), b1 = status(&r, 1), b3 = status(&r, 3);
    /* carried: same state, counters and reason; no re-probe (counters equal at once) */
    assert_false(b0.up);
    assert_false(b0.pending);
    assert_int_equal(b0.probes, a1.probes);
    assert_int_equal(b0.transitions, a1.transitions);
    assert_int_equal(b0.last_change_mono_ms, a1.last_change_mono_ms);
    assert_string_equal(b0.last_reason, "HTTP 503");
    assert_true(b2.up);
    assert_int_equal(b2.probes, a0.probes);
    /* new targets start pending */
    assert_true(b1.pending);
    assert_true(b3.pending);
    assert_int_equal(b3.probes, 0);
    stop_set(&r, prev); /* the server stops the old set once the new one is in place */

    run_until_first_round(&r, patience(5000));
    /* only the new, refused target changed state; the carried down one did not re-report */
    assert_int_equal(r.nev, 1);
    assert_int_equal(r.ev[0].target, 1);
    assert_false(r.ev[0].up);
    assert_ok(&r, 2);
    assert_ok(&r, 3);
    run_for(&r, patience(250));
    assert_true(status(&r, 0).probes > a1.probes); /* and keeps probing */
    assert_int_equal(r.nev, 1);
    run_finish(&r);
    close(fd);
}

/* Reloading often neither fires extra probes (a storm) nor starves the schedule. */
static void test_reload_keeps_schedule(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    struct hc_check c = {.type = HC_TCP, .port = (uint16_t)s.port, .interval_ms = 200};
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, patience(1000));
    int before = s.total;
    uint64_t from = elapsed(&r);
    for (int i = 0; i < 40; i++) { /* a reload every 25 ms for a second */
        struct hc *prev = r.h;
        r.h = create_set(&r, t, 1, prev);
        hc_stop(prev, NULL, NULL);
        run_for(&r, 25);
    }
    uint64_t span = elapsed(&r) - from;
    int probes = s.total - before;
    int expect = (int)(span / 200);
    /* a storm adds probes: the upper bound is strict; a loaded machine fires timers late,
     * so the lower one allows one missed tick per unit of GSLBD_TEST_SLOWDOWN */
    int late = (int)(test_slowdown() + 0.999);
    if (probes < expect - late || probes > expect + 1)
        fail_msg("%d probes in %llu ms at a 200 ms interval across 40 reloads", probes,
                 (unsigned long long)span);
    srv_stop(&s);
    run_finish(&r);
}

static void test_stop_with_probes_in_flight(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv hang;
    srv_start(&r.loop, &hang, AF_INET, 0);
    struct hc_check http = http_check(HC_HTTP, hang.port, "/");
    http.interval_ms = 20;
    http.expect_body = "x";
    struct hc_check https = http;
    https.type = HC_HTTPS;
    int bh[3];
    struct hc_check tcp = {.type = HC_TCP,
                           .port = (uint16_t)blackhole_port(bh),
                           .interval_ms = 20,
                           .timeout_ms = 5000};
    struct hc_target t[] = {
        {v4("127.0.0.1"), &http}, {v4("127.0.0.1"), &https}, {v4("127.0.0.1"), &tcp}};
    start(&r, t, 3);
    run_for(&r, patience(150));
    assert_int_equal(r.first_rounds, 0);
    assert_true(hang.open >= 1);
    struct hc *h = r.h;
    r.h = NULL;
    stop_set(&r, h);
    assert_int_equal(r.nev, 0);
    assert_int_equal(r.first_rounds, 0); /* nothing after stop */
    run_for(&r, patience(50));
    assert_int_equal(hang.open, 0); /* in-flight transfers were closed */
    srv_stop(&hang);
    run_finish(&r);
    close_fds(bh, 3);
}

static void test_api_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct hc *h = (struct hc *)&loop; /* a marker: must stay untouched */
    struct hc_check no_port = {.type = HC_TCP};
    struct hc_check ok = {.type = HC_TCP, .port = 80};
    struct hc_check bad_type = {.type = (enum hc_type)7, .port = 80};
    struct hc_target t1[] = {{v4("127.0.0.1"), &no_port}};
    struct hc_target t2[] = {{{AF_UNIX, {0}}, &ok}};
    struct hc_target t3[] = {{v4("127.0.0.1"), &bad_type}};
    struct hc_target t4[] = {{v4("127.0.0.1"), NULL}};
    assert_int_equal(hc_create(&loop, t1, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t2, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t3, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t4, 1, NULL, NULL, &h), -EINVAL);
    assert_ptr_equal(h, (struct hc *)&loop);
    assert_int_equal(uv_loop_alive(&loop), 0); /* nothing started */

    struct hc_target good[] = {{v4("127.0.0.1"), &ok}};
    h = NULL;
    assert_int_equal(hc_create(&loop, good, 1, NULL, NULL, &h), 0); /* no callbacks */
    struct hc_status s;
    assert_int_equal(hc_target_status(h, 1, &s), -ERANGE);
    assert_int_equal(hc_target_status(h, 0, &s), 0);
    assert_true(s.up && s.pending);
    hc_free(h);
    hc_free(NULL);
    hc_stop(NULL, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);

    assert_string_equal(hc_strerror(-EINVAL), strerror(EINVAL));
    assert_string_equal(hc_strerror(HC_E_CURL), "libcurl initialisation failed");
    assert_string_equal(hc_strerror(0), "success");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_probes_jittered),
        cmocka_unit_test(test_first_round),
        cmocka_unit_test(test_reload_carries_state),
        cmocka_unit_test(test_reload_keeps_schedule),
        cmocka_unit_test(test_stop_with_probes_in_flight),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
