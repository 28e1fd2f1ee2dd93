/* test_hc_http.c: unit tests for health/hc_http.c: HTTP(S) probes against loopback servers. */
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

/* ---- HTTP --------------------------------------------------------------------------- */

static void test_http_status(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check s503 = http_check(HC_HTTP, fx.http, "/status/503");
    struct hc_check s503_listed = s503;
    s503_listed.expect_status[0] = 200;
    s503_listed.expect_status[1] = 503;
    s503_listed.nexpect_status = 2;
    struct hc_check s204 = http_check(HC_HTTP, fx.http, "/status/204");
    struct hc_check redirect = http_check(HC_HTTP, fx.http, "/status/301");
    struct hc_target t[] = {{v4("127.0.0.1"), &ok},
                            {v4("127.0.0.1"), &s503},
                            {v4("127.0.0.1"), &s503_listed},
                            {v4("127.0.0.1"), &s204},
                            {v4("127.0.0.1"), &redirect}};
    start(&r, t, 5);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "HTTP 503");
    assert_string_equal(status(&r, 1).last_reason, "HTTP 503");
    assert_ok(&r, 2);
    assert_fail(&r, 3, "HTTP 204"); /* only 200 by default */
    assert_fail(&r, 4, "HTTP 301"); /* redirects are not followed */
    /* the down ones were reported, once each, with their reason */
    assert_int_equal(r.nev, 3);
    for (size_t i = 0; i < r.nev; i++)
        assert_false(r.ev[i].up);
    assert_true(status(&r, 0).last_latency_ms < patience(3000));
    /* every result was also reported as an observation */
    uint64_t probes = 0, failures = 0;
    for (size_t i = 0; i < 5; i++) {
        probes += status(&r, i).probes;
        failures += status(&r, i).failures;
    }
    assert_int_equal(r.results, probes);
    assert_int_equal(r.failed_results, failures);
    assert_false(r.reason_on_success);
    run_finish(&r);
}

static void test_http_body(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check found = http_check(HC_HTTP, fx.http, "/ok");
    found.expect_body = "healthy";
    struct hc_check missing = found;
    missing.expect_body = "all systems go";
    struct hc_check past_cap = http_check(HC_HTTP, fx.http, "/big");
    past_cap.expect_body = "needle"; /* after 200000 bytes: beyond the 64 KiB kept */
    struct hc_check big_any = http_check(HC_HTTP, fx.http, "/big");
    struct hc_target t[] = {{v4("127.0.0.1"), &found},
                            {v4("127.0.0.1"), &missing},
                            {v4("127.0.0.1"), &past_cap},
                            {v4("127.0.0.1"), &big_any}};
    start(&r, t, 4);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "body: expected text missing");
    assert_string_equal(status(&r, 1).last_reason, "body: expected text missing");
    assert_fail(&r, 2, "body: expected text missing");
    assert_ok(&r, 3);
    run_finish(&r);
}

/* Host header from check.host while connecting to the address (the name does not resolve),
 * and the User-Agent. */
static void test_http_host_and_agent(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    char host_line[64];
    snprintf(host_line, sizeof(host_line), "host=good.test:%d\n", fx.http);
    struct hc_check named = http_check(HC_HTTP, fx.http, "/echo");
    named.host = "good.test";
    named.expect_body = host_line;
    struct hc_check agent = http_check(HC_HTTP, fx.http, "/echo");
    agent.expect_body = "ua=gslbd-health\n";
    char ip_line[64];
    snprintf(ip_line, sizeof(ip_line), "host=127.0.0.1:%d\n", fx.http);
    struct hc_check by_ip = http_check(HC_HTTP, fx.http, "/echo");
    by_ip.expect_body = ip_line;
    struct hc_target t[] = {
        {v4("127.0.0.1"), &named}, {v4("127.0.0.1"), &agent}, {v4("127.0.0.1"), &by_ip}};
    start(&r, t, 3);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_ok(&r, 1);
    assert_ok(&r, 2);
    run_finish(&r);
}

static void test_http_ipv6(void **state)
{
    (void)state;
    if (fx.http6 == 0)
        skip();
    struct run r;
    run_init(&r);
    struct hc_check plain = http_check(HC_HTTP, fx.http6, "/ok");
    char host_line[64];
    snprintf(host_line, sizeof(host_line), "host=good.test:%d\n", fx.http6);
    struct hc_check named = http_check(HC_HTTP, fx.http6, "/echo");
    named.host = "good.test";
    named.expect_body = host_line;
    struct hc_target t[] = {{v6("::1"), &plain}, {v6("::1"), &named}};
    start(&r, t, 2);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_ok(&r, 1);
    run_finish(&r);
}

static void test_http_refused(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    int fd;
    struct hc_check c = http_check(HC_HTTP, refused_port(&fd), "/");
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, patience(5000));
    assert_fail(&r, 0, "connection refused");
    assert_string_equal(status(&r, 0).last_reason, "connection refused");
    assert_int_equal(r.nev, 1);
    assert_string_equal(r.ev[0].reason, "connection refused");
    run_finish(&r);
    close(fd);
}

/* A server that accepts and never answers: the probe fails "timeout" no later than
 * timeout_ms plus slack, and with a short interval the ticks in between are skipped, so
 * the server never sees two probes at once (HC-4). */
static void hanging(enum hc_type type)
{
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    const uint64_t timeout = 300;
    struct hc_check c = http_check(type, s.port, "/");
    c.interval_ms = 60;
    c.timeout_ms = (uint32_t)timeout;
    c.host = "good.test";
    c.ca_file = fx.ca;
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, 60 + timeout + slack_ms() + 1000);
    assert_fail(&r, 0, "timeout");
    assert_string_equal(status(&r, 0).last_reason, "timeout");
    struct hc_status st = status(&r, 0);
    assert_int_equal(st.timeouts, 1);
    assert_true(st.last_latency_ms + 2 >= timeout); /* not before its time */
    assert_true(st.last_latency_ms <= timeout + slack_ms());
    assert_true(r.first_round_at <= c.interval_ms + timeout + slack_ms());

    run_for(&r, patience(1000));
    st = status(&r, 0);
    assert_true(st.probes >= 2);
    assert_true(st.skipped >= st.probes); /* about 4 ticks per 300 ms probe */
    assert_int_equal(st.timeouts, st.probes);
    if (getenv("HC_TEST_VERBOSE"))
        fprintf(stderr, "probes %llu skipped %llu server: total %d max_open %d max_life %llu\n",
                (unsigned long long)st.probes, (unsigned long long)st.skipped, s.total, s.max_open,
                (unsigned long long)s.max_life_ms);
    /* one at a time: each connection comes after the previous probe was aborted (the
     * server may see a close and the next accept in one loop turn, so compare starts) */
    assert_true(s.total >= 3 && s.total <= (int)(st.probes + 1));
    for (int i = 1; i < s.total; i++)
        if (s.accepted_at[i] - s.accepted_at[i - 1] + 50 < timeout)
            fail_msg("probe %d started %llu ms after the previous one", i,
                     (unsigned long long)(s.accepted_at[i] - s.accepted_at[i - 1]));
    assert_true(s.max_life_ms <= timeout + slack_ms()); /* aborted, connection closed */
    srv_stop(&s);
    run_finish(&r);
}

static void test_http_timeout(void **state)
{
    (void)state;
    hanging(HC_HTTP);
}

static void test_https_timeout(void **state)
{
    (void)state;
    hanging(HC_HTTPS); /* stuck in the TLS handshake */
}

/* ---- HTTPS -------------------------------------------------------------------------- */

static void test_https_verification(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check good = http_check(HC_HTTPS, fx.good, "/ok");
    good.host = "good.test";
    good.ca_file = fx.ca;
    good.expect_body = "healthy";
    struct hc_check wrong = good;
    wrong.port = (uint16_t)fx.wrong;
    struct hc_check expired = good;
    expired.port = (uint16_t)fx.expired;
    struct hc_check untrusted = good;
    untrusted.port = (uint16_t)fx.untrusted;
    struct hc_check system_store = good; /* our CA is not in the system store */
    system_store.ca_file = NULL;
    struct hc_check no_name = good; /* the certificate has no IP address in it */
    no_name.host = NULL;
    struct hc_check insecure = wrong;
    insecure.tls_insecure = true;
    struct hc_check plain_to_tls = good;
    plain_to_tls.type = HC_HTTP;
    struct hc_target t[] = {{v4("127.0.0.1"), &good},         {v4("127.0.0.1"), &wrong},
                            {v4("127.0.0.1"), &expired},      {v4("127.0.0.1"), &untrusted},
                            {v4("127.0.0.1"), &system_store}, {v4("127.0.0.1"), &no_name},
                            {v4("127.0.0.1"), &insecure},     {v4("127.0.0.1"), &plain_to_tls}};
    start(&r, t, 8);
    run_until_first_round(&r, patience(8000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "TLS: ");
    assert_fail(&r, 2, "TLS: ");
    assert_non_null(strstr(status(&r, 2).last_reason, "expired"));
    assert_fail(&r, 3, "TLS: ");
    assert_fail(&r, 4, "TLS: ");
    assert_fail(&r, 5, "TLS: ");
    assert_ok(&r, 6);
    struct hc_status s = status(&r, 7);
    assert_false(s.up);
    assert_null(strstr(s.last_reason, "TLS")); /* not a TLS failure: a protocol one */
    run_finish(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* HTTP */
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_http_body),
        cmocka_unit_test(test_http_host_and_agent),
        cmocka_unit_test(test_http_ipv6),
        cmocka_unit_test(test_http_refused),
        cmocka_unit_test(test_http_timeout),
        /* HTTPS */
        cmocka_unit_test(test_https_timeout),
        cmocka_unit_test(test_https_verification),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
