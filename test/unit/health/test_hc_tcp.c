/* test_hc_tcp.c: unit tests for health/hc_tcp.c: TCP connect probes on loopback. */
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

static void test_tcp_connect(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s4, s6;
    srv_start(&r.loop, &s4, AF_INET, 0);
    bool have6 = srv_start(&r.loop, &s6, AF_INET6, 0);
    int fd, bh[3];
    struct hc_check ok4 = {.type = HC_TCP, .port = (uint16_t)s4.port, .interval_ms = 100};
    struct hc_check refused = {
        .type = HC_TCP, .port = (uint16_t)refused_port(&fd), .interval_ms = 100};
    struct hc_check hang = {.type = HC_TCP,
                            .port = (uint16_t)blackhole_port(bh),
                            .interval_ms = 100,
                            .timeout_ms = 300};
    struct hc_check ok6 = {
        .type = HC_TCP, .port = (uint16_t)(have6 ? s6.port : 1), .interval_ms = 100};
    struct hc_target t[] = {{v4("127.0.0.1"), &ok4},
                            {v4("127.0.0.1"), &refused},
                            {v4("127.0.0.1"), &hang},
                            {v6("::1"), &ok6}};
    start(&r, t, have6 ? 4 : 3);
    run_until_first_round(&r, 100 + 300 + slack_ms() + 1000);
    assert_ok(&r, 0);
    assert_fail(&r, 1, "connection refused");
    assert_string_equal(status(&r, 1).last_reason, "connection refused");
    assert_fail(&r, 2, "timeout");
    struct hc_status st = status(&r, 2);
    assert_string_equal(st.last_reason, "timeout");
    assert_int_equal(st.timeouts, 1);
    assert_true(st.last_latency_ms + 2 >= 300 && st.last_latency_ms <= 300 + slack_ms());
    if (have6)
        assert_ok(&r, 3);
    assert_true(s4.total >= 1);
    srv_stop(&s4);
    if (have6)
        srv_stop(&s6);
    run_finish(&r);
    close(fd);
    close_fds(bh, 3);
}

/* fall and rise on live probes: the server goes away and comes back on the same port. */
static void test_tcp_down_and_up(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    int port = s.port;
    struct hc_check c = {.type = HC_TCP,
                         .port = (uint16_t)port,
                         .interval_ms = 100,
                         .timeout_ms = 80,
                         .fall = 2,
                         .rise = 3};
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, patience(2000));
    run_for(&r, 250);
    assert_ok(&r, 0);
    assert_int_equal(r.nev, 0);

    srv_stop(&s);
    uint64_t died = elapsed(&r);
    uint64_t end = died + patience(2000);
    while (r.nev == 0 && elapsed(&r) < end)
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_int_equal(r.nev, 1);
    assert_false(r.ev[0].up);
    assert_string_equal(r.ev[0].reason, "connection refused");
    /* HC-7: interval * fall + timeout, plus 100 ms */
    assert_true(r.ev[0].at - died <= 100 * 2 + 80 + 100 + slack_ms());
    struct hc_status st = status(&r, 0);
    assert_false(st.up);
    assert_int_equal(st.streak, 2);

    srv_start(&r.loop, &s, AF_INET, port);
    uint64_t back = elapsed(&r);
    end = back + patience(2000);
    while (r.nev == 1 && elapsed(&r) < end)
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_int_equal(r.nev, 2);
    assert_true(r.ev[1].up);
    assert_string_equal(r.ev[1].reason, "ok");
    assert_true(r.ev[1].at - back >= 200); /* three successes, 100 ms apart */
    st = status(&r, 0);
    assert_true(st.up);
    assert_int_equal(st.transitions, 2);
    assert_string_equal(st.last_reason, "connection refused"); /* kept for operators */
    srv_stop(&s);
    run_finish(&r);
}

/* No HTTP server here: the TCP probes talk to listeners each test makes on its own loop. */
static int group_setup(void **state)
{
    (void)state;
    return hc_global_init();
}

static int group_teardown(void **state)
{
    (void)state;
    hc_global_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tcp_connect),
        cmocka_unit_test(test_tcp_down_and_up),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
