/* test_control.c: the control loop (server/control.c) run as main() runs it, on a thread:
 * start-up after the first probe round or startup_wait (HC-5), reloads by SIGHUP and from
 * another thread, rejected reloads, admin states across reloads, a failed start, SIGTERM. */
#include "test_rt_util.h"

static int g_http = -1; /* accepts connections, never answers: HTTP probes hang */
static uint16_t g_http_port;

static int setup(void **state)
{
    (void)state;
    g_http = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
    assert_int_equal(bind(g_http, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(g_http, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(g_http, 4096), 0); /* never accepted: queued */
    g_http_port = ntohs(sa.sin_port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    close(g_http);
    return 0;
}

/* A config whose one cluster is probed by check (a JSON object) with startup_wait_ms. */
static void write_conf(struct rt *rt, const char *check, int startup_wait_ms, const char *extra)
{
    char conf[2000];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": %d, %s\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r\", \"lat\": 1, \"lon\": 2}],\n"
             " \"checks\": [%s],\n"
             " \"clusters\": [{\"name\": \"c1\", \"region\": \"r\", \"addresses\": "
             "[\"127.0.0.2\"], \"checks\": [\"k\"]}, {\"name\": \"c2\", \"region\": \"r\", "
             "\"addresses\": [\"192.0.2.8\"]}],\n"
             " \"services\": [{\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"c1\", \"c2\"]}]}\n",
             rt_free_port(), startup_wait_ms, extra, check);
    rt_write(rt, "gslbd.json", conf, 0644);
}

static char tcp_check[200], http_check[300];

static void make_checks(void)
{
    snprintf(tcp_check, sizeof(tcp_check),
             "{\"name\": \"k\", \"type\": \"tcp\", \"port\": %u, \"interval_ms\": %d, "
             "\"timeout_ms\": %d, \"fall\": 1, \"rise\": 1}",
             g_http_port, rt_ms(500), rt_ms(400));
    snprintf(http_check, sizeof(http_check),
             "{\"name\": \"k\", \"type\": \"http\", \"port\": %u, \"path\": \"/\", "
             "\"interval_ms\": 60000, \"timeout_ms\": 50000, \"fall\": 1, \"rise\": 1}",
             g_http_port);
}

/* HC-5: with a fast probe, start comes with the first round, long before startup_wait. */
static void test_start_after_first_round(void **state)
{
    (void)state;
    make_checks();
    struct rt rt;
    rt_init(&rt);
    write_conf(&rt, tcp_check, 60000, "");
    uint64_t t0 = rt_now_ms();
    rt_run(&rt, true);
    assert_true(rt_now_ms() - t0 < (uint64_t)rt_ms(5000));
    assert_int_equal(atomic_load(&rt.start_calls), 1);
    assert_null(rt.ctl.probes.on_first_round); /* the round's callback was used up */
    rt_stop(&rt);
    assert_int_equal(rt.run_rc, 0);
}

/* HC-5: a probe that hangs does not hold the start past startup_wait. */
static void test_start_after_startup_wait(void **state)
{
    (void)state;
    make_checks();
    struct rt rt;
    rt_init(&rt);
    write_conf(&rt, http_check, 300, "");
    uint64_t t0 = rt_now_ms();
    rt_run(&rt, true);
    uint64_t took = rt_now_ms() - t0;
    assert_true(took >= 250);                      /* it did wait */
    assert_true(took < (uint64_t)rt_ms(10000));    /* not for the probe's 50 s timeout */
    assert_non_null(rt.ctl.probes.on_first_round); /* no round yet */
    /* targets without a result count as up */
    struct view *v = atomic_load(&rt.srv.view);
    assert_true(gslb_cluster_up(v->gslb, (uint32_t)gslb_find_cluster(v->gslb, "c1")));
    rt_stop(&rt);
}

/* A start that fails ends the loop with its error; nothing else is started. */
static void test_failed_start(void **state)
{
    (void)state;
    make_checks();
    struct rt rt;
    rt_init(&rt);
    write_conf(&rt, tcp_check, 0, "");
    rt.fail_start = -EADDRINUSE;
    rt_run(&rt, false);
    assert_true(rt_wait_flag(&rt.done, 5000));
    assert_int_equal(rt.run_rc, -EADDRINUSE);
    assert_string_equal(rt.run_err.msg, "start refused by the test");
    assert_int_equal(atomic_load(&rt.start_calls), 1);
    rt_stop(&rt);
}

static void *reload_thread(void *arg)
{
    struct rt *rt = arg;
    static struct err e;
    static int rc;
    rc = control_reload_wait(&rt->ctl, &e);
    return &rc;
}

static int reload_from_thread(struct rt *rt)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reload_thread, rt), 0);
    void *res;
    pthread_join(t, &res);
    return *(int *)res;
}

/* Wait until the reload counters reach ok and failed. */
static void wait_reloads(struct rt *rt, unsigned long ok, unsigned long failed)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(5000);
    while (atomic_load(&rt->ctl.reloads) != ok || atomic_load(&rt->ctl.reload_failures) != failed) {
        if (rt_now_ms() > end)
            fail_msg("reloads %lu/%lu, want %lu/%lu", atomic_load(&rt->ctl.reloads),
                     atomic_load(&rt->ctl.reload_failures), ok, failed);
        rt_sleep_ms(5);
    }
}

static void test_reloads(void **state)
{
    (void)state;
    make_checks();
    struct rt rt;
    rt_init(&rt);
    write_conf(&rt, tcp_check, 0, "");
    rt_run(&rt, true);
    struct view *v0 = atomic_load(&rt.srv.view);
    /* an admin state set through the view carries over when there is no state file */
    atomic_store(&v0->gslb->admin[gslb_find_cluster(v0->gslb, "c2")], GSLB_ADMIN_DRAIN);

    kill(getpid(), SIGHUP);
    wait_reloads(&rt, 1, 0);
    struct view *v1 = atomic_load(&rt.srv.view);
    assert_ptr_not_equal(v1, v0);
    assert_int_equal(atomic_load(&v1->gslb->admin[gslb_find_cluster(v1->gslb, "c2")]),
                     GSLB_ADMIN_DRAIN);
    assert_ptr_equal(rt.ctl.probes.gslb, v1->gslb); /* probes write the served view */

    /* a broken zone: rejected, the previous view keeps serving, the error is kept */
    rt_write(&rt, "t.zone", "$ORIGIN t.\n@ IN SOA ns.t. h.t. 1 2 3 4 5\nx IN BOGUS 1\n", 0644);
    kill(getpid(), SIGHUP);
    wait_reloads(&rt, 1, 1);
    assert_ptr_equal(atomic_load(&rt.srv.view), v1);
    assert_non_null(strstr(rt_reload_error(&rt.ctl), "t.zone:3:"));

    /* from another thread: the caller gets the result and the message */
    assert_true(reload_from_thread(&rt) < 0);
    wait_reloads(&rt, 1, 2);
    rt_write_zone(&rt);
    assert_int_equal(reload_from_thread(&rt), 0);
    wait_reloads(&rt, 2, 2);
    assert_string_equal(rt_reload_error(&rt.ctl), "");
    assert_ptr_not_equal(atomic_load(&rt.srv.view), v1);

    /* with a state file, admin states come from it instead of the old view */
    write_conf(&rt, tcp_check, 0, "\"state_file\": \"state.json\",");
    rt_write(&rt, "state.json", "{\"clusters\": {\"c1\": \"down\"}}", 0644);
    assert_int_equal(reload_from_thread(&rt), 0);
    struct view *v3 = atomic_load(&rt.srv.view);
    assert_int_equal(atomic_load(&v3->gslb->admin[gslb_find_cluster(v3->gslb, "c1")]),
                     GSLB_ADMIN_DOWN);
    assert_int_equal(atomic_load(&v3->gslb->admin[gslb_find_cluster(v3->gslb, "c2")]),
                     GSLB_ADMIN_AUTO);
    /* a torn state file: the reload goes through and keeps the running states */
    rt_write(&rt, "state.json", "{\"clusters\": {\"c1\": \"up", 0644);
    assert_int_equal(reload_from_thread(&rt), 0);
    struct view *v4 = atomic_load(&rt.srv.view);
    assert_ptr_not_equal(v4, v3);
    assert_int_equal(atomic_load(&v4->gslb->admin[gslb_find_cluster(v4->gslb, "c1")]),
                     GSLB_ADMIN_DOWN);

    /* SIGTERM: the loop returns 0 */
    kill(getpid(), SIGTERM);
    assert_true(rt_wait_flag(&rt.done, 5000));
    assert_int_equal(rt.run_rc, 0);
    rt_stop(&rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_after_first_round),
        cmocka_unit_test(test_start_after_startup_wait),
        cmocka_unit_test(test_failed_start),
        cmocka_unit_test(test_reloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
