/* test_control_reload.c: reloads built on the reload thread (server/control.c): probes keep
 * changing answers during a build and the installed view gets the health and admin states
 * of the moment it is installed; requests during a build queue exactly one more reload;
 * an API reload waits for one that started after it; a rejected build changes nothing; a
 * stop during a build waits for it and installs nothing. The build is held at a gate. */
#include "test_rt_util.h"

/* The gate: builds (reloads only) count themselves, then wait while g_hold is set; with
 * g_after they read config and zones first (so what they read is stale by the install). */
static _Atomic int g_hold, g_builds;
static _Atomic bool g_after;

static int gated_build(void *arg, struct view **out, struct err *e)
{
    atomic_fetch_add(&g_builds, 1);
    bool after = atomic_load(&g_after);
    int rc = after ? rt_build(arg, out, e) : 0;
    while (atomic_load(&g_hold))
        rt_sleep_ms(2);
    return after ? rc : rt_build(arg, out, e);
}

/* A listening socket on 127.0.0.2 (connections wait in its backlog: a TCP check is up). */
static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(fd, 4096), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Cluster c1 (127.0.0.2, a fast TCP check on port) first, then c2 (no check). */
static void write_conf(struct rt *rt, uint16_t port, const char *extra)
{
    char conf[2000];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0, %s\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r\", \"lat\": 1, \"lon\": 2}],\n"
             " \"checks\": [{\"name\": \"k\", \"type\": \"tcp\", \"port\": %u, \"interval_ms\": "
             "%d, \"timeout_ms\": %d, \"fall\": 1, \"rise\": 1}],\n"
             " \"clusters\": [{\"name\": \"c1\", \"region\": \"r\", \"addresses\": "
             "[\"127.0.0.2\"], \"checks\": [\"k\"]}, {\"name\": \"c2\", \"region\": \"r\", "
             "\"addresses\": [\"192.0.2.8\"]}],\n"
             " \"services\": [{\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"c1\", \"c2\"]}]}\n",
             rt_free_port(), extra, port, rt_ms(100), rt_ms(80));
    rt_write(rt, "gslbd.json", conf, 0644);
}

static void start(struct rt *rt, uint16_t port, const char *extra, bool after)
{
    atomic_store(&g_hold, 0);
    atomic_store(&g_builds, 0);
    atomic_store(&g_after, after);
    rt_init(rt);
    write_conf(rt, port, extra);
    rt->build = gated_build;
    rt_run(rt, true);
}

/* Hold the gate, SIGHUP, and wait until the build is at the gate. */
static void begin_held_reload(struct rt *rt)
{
    atomic_store(&g_hold, 1);
    int before = atomic_load(&g_builds);
    kill(getpid(), SIGHUP);
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(5000);
    while (atomic_load(&g_builds) == before) {
        if (rt_now_ms() > end)
            fail_msg("no build started");
        rt_sleep_ms(2);
    }
    assert_int_equal(atomic_load(&rt->ctl.reload_in_progress), 1);
}

static void wait_counts(struct rt *rt, unsigned long ok, unsigned long failed)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(5000);
    while (atomic_load(&rt->ctl.reloads) != ok || atomic_load(&rt->ctl.reload_failures) != failed) {
        if (rt_now_ms() > end)
            fail_msg("reloads %lu/%lu, want %lu/%lu", atomic_load(&rt->ctl.reloads),
                     atomic_load(&rt->ctl.reload_failures), ok, failed);
        rt_sleep_ms(5);
    }
}

static bool c1_up(struct rt *rt)
{
    pthread_mutex_lock(&rt->ctl.reload_lock); /* the view stays while we look */
    struct view *v = atomic_load(&rt->srv.view);
    bool up = gslb_cluster_up(v->gslb, (uint32_t)gslb_find_cluster(v->gslb, "c1"));
    pthread_mutex_unlock(&rt->ctl.reload_lock);
    return up;
}

/* The flaw: a backend that dies during a build is failed over during it, and the
 * view installed after has it down, although the build saw it up. */
static void test_probes_run_during_build(void **state)
{
    (void)state;
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, "", true);
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(3000);
    while (!c1_up(&rt) && rt_now_ms() < end)
        rt_sleep_ms(5);
    assert_true(c1_up(&rt));
    struct view *v0 = atomic_load(&rt.srv.view);

    begin_held_reload(&rt);
    close(l); /* c1's check fails from now on */
    end = rt_now_ms() + (uint64_t)rt_ms(3000);
    while (c1_up(&rt) && rt_now_ms() < end)
        rt_sleep_ms(5);
    assert_false(c1_up(&rt)); /* failed over in the live view, the build still held */
    assert_int_equal(atomic_load(&rt.ctl.reload_in_progress), 1);
    assert_int_equal(atomic_load(&rt.ctl.reloads), 0);
    assert_ptr_equal(atomic_load(&rt.srv.view), v0);

    atomic_store(&g_hold, 0);
    wait_counts(&rt, 1, 0);
    struct view *v1 = atomic_load(&rt.srv.view);
    assert_ptr_not_equal(v1, v0);
    assert_false(c1_up(&rt)); /* the state at install, not at the build */
    assert_ptr_equal(rt.ctl.probes.gslb, v1->gslb);
    assert_int_equal(atomic_load(&rt.ctl.reload_in_progress), 0);
    rt_stop(&rt);
}

/* Three SIGHUPs and an API request during one build: exactly one more reload after it. */
static void test_queue_one_more(void **state)
{
    (void)state;
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, "", false);
    begin_held_reload(&rt);
    kill(getpid(), SIGHUP);
    rt_sleep_ms(20);
    kill(getpid(), SIGHUP);
    control_request_reload(&rt.ctl);
    rt_sleep_ms(rt_ms(100));
    assert_int_equal(atomic_load(&g_builds), 1); /* one at a time */
    atomic_store(&g_hold, 0);
    wait_counts(&rt, 2, 0);
    rt_sleep_ms(rt_ms(200));
    assert_int_equal(atomic_load(&g_builds), 2);
    assert_int_equal(atomic_load(&rt.ctl.reloads), 2);
    assert_int_equal(atomic_load(&rt.ctl.reload_in_progress), 0);
    rt_stop(&rt);
    close(l);
}

static _Atomic int g_wait_done;
static int g_wait_rc;

static void *waiter(void *arg)
{
    struct rt *rt = arg;
    struct err e = {{0}};
    g_wait_rc = control_reload_wait(&rt->ctl, &e);
    atomic_store(&g_wait_done, 1);
    return NULL;
}

/* An API reload asked during a build gets the result of the reload queued behind it (which
 * reads the files as they were at the request), not the one under way. */
static void test_wait_gets_the_next(void **state)
{
    (void)state;
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, "", false);
    begin_held_reload(&rt);
    atomic_store(&g_wait_done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter, &rt), 0);
    rt_sleep_ms(rt_ms(100));
    assert_int_equal(atomic_load(&g_wait_done), 0);
    atomic_store(&g_hold, 0);
    pthread_join(t, NULL);
    assert_int_equal(g_wait_rc, 0);
    assert_int_equal(atomic_load(&rt.ctl.reloads), 2);
    assert_int_equal(atomic_load(&g_builds), 2);
    rt_stop(&rt);
    close(l);
}

/* A rejected build: the served view, its states and the probes stay as they were. */
static void test_rejected_build(void **state)
{
    (void)state;
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, "", false);
    struct view *v0 = atomic_load(&rt.srv.view);
    begin_held_reload(&rt);
    rt_write(&rt, "t.zone", "$ORIGIN t.\n@ IN SOA ns.t. h.t. 1 2 3 4 5\nx IN BOGUS 1\n", 0644);
    atomic_store(&g_hold, 0);
    wait_counts(&rt, 0, 1);
    assert_ptr_equal(atomic_load(&rt.srv.view), v0);
    assert_ptr_equal(rt.ctl.probes.gslb, v0->gslb);
    assert_non_null(strstr(rt_reload_error(&rt.ctl), "t.zone:3:"));
    assert_int_equal(atomic_load(&rt.ctl.reload_in_progress), 0);
    rt_stop(&rt);
    close(l);
}

/* An admin change through the API during a build (after the build read the state file)
 * is in the view installed after it; with and without a state file. */
static void admin_during_build(const char *extra)
{
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, extra, true);
    begin_held_reload(&rt);
    /* what api_cluster_state does */
    pthread_mutex_lock(&rt.ctl.reload_lock);
    struct view *v = atomic_load(&rt.srv.view);
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "c2")], GSLB_ADMIN_DRAIN);
    if (v->conf->state_file != NULL) {
        struct err e = {{0}};
        assert_int_equal(gslb_state_save(v->gslb, v->conf->state_file, &e), 0);
    }
    pthread_mutex_unlock(&rt.ctl.reload_lock);
    atomic_store(&g_hold, 0);
    wait_counts(&rt, 1, 0);
    struct view *v1 = atomic_load(&rt.srv.view);
    assert_ptr_not_equal(v1, v);
    assert_int_equal(atomic_load(&v1->gslb->admin[gslb_find_cluster(v1->gslb, "c2")]),
                     GSLB_ADMIN_DRAIN);
    rt_stop(&rt);
    close(l);
}

static void test_admin_during_build(void **state)
{
    (void)state;
    admin_during_build("");
    admin_during_build("\"state_file\": \"state.json\",");
}

/* SIGTERM during a build: the loop waits for it, installs nothing and returns 0. */
static void test_stop_during_build(void **state)
{
    (void)state;
    uint16_t port;
    int l = listener(&port);
    struct rt rt;
    start(&rt, port, "", false);
    struct view *v0 = atomic_load(&rt.srv.view);
    begin_held_reload(&rt);
    kill(getpid(), SIGTERM);
    rt_sleep_ms(rt_ms(100));
    assert_int_equal(atomic_load(&rt.done), 0);
    atomic_store(&g_hold, 0);
    assert_true(rt_wait_flag(&rt.done, 5000));
    assert_int_equal(rt.run_rc, 0);
    assert_int_equal(atomic_load(&rt.ctl.reloads), 0);
    assert_int_equal(atomic_load(&rt.ctl.reload_failures), 0);
    assert_ptr_equal(atomic_load(&rt.srv.view), v0);
    rt_stop(&rt);
    close(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probes_run_during_build), cmocka_unit_test(test_queue_one_more),
        cmocka_unit_test(test_wait_gets_the_next),      cmocka_unit_test(test_rejected_build),
        cmocka_unit_test(test_admin_during_build),      cmocka_unit_test(test_stop_during_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
