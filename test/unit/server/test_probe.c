/* test_probe.c: probe targets from a view (server/probe.c) on a private libuv loop, with real
 * TCP checks against listeners on 127.0.0.2: address states (HC-1), transitions, the first
 * round callback, state carried into a new view, and stopping. */
#include "test_rt_util.h"

#include "server/probe.h"

static char dir[64];
static uv_loop_t g_loop;
static uv_timer_t g_tick;
static struct probes g_p;
static int g_first_rounds;
static int g_listen_a = -1;
static uint16_t g_port_a, g_port_b;

static void on_first_round(void *arg)
{
    (*(int *)arg)++;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* only wakes the loop so waits can time out */
}

static int listen_on(uint32_t addr, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_addr.s_addr = htonl(addr), .sin_port = htons(*port)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(fd, 4096), 0); /* never accepted: every probe queues here */
    *port = ntohs(sa.sin_port);
    return fd;
}

static struct view *make_view(const char *clusters)
{
    char json[4096], path[128];
    snprintf(json, sizeof(json),
             "{\"listen\": [\"127.0.0.1:5399\"], \"zones\": [{\"origin\": \"t.\", \"file\": "
             "\"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r\", \"lat\": 0, \"lon\": 0}],\n"
             " \"checks\": [{\"name\": \"a\", \"type\": \"tcp\", \"port\": %u, \"interval_ms\": "
             "%d, \"timeout_ms\": %d, \"fall\": 1, \"rise\": 1},\n"
             "  {\"name\": \"b\", \"type\": \"tcp\", \"port\": %u, \"interval_ms\": %d, "
             "\"timeout_ms\": %d, \"fall\": 1, \"rise\": 1}],\n"
             " \"clusters\": [%s],\n"
             " \"services\": [{\"name\": \"s.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"one\"]}]}\n",
             g_port_a, rt_ms(300), rt_ms(250), g_port_b, rt_ms(300), rt_ms(250), clusters);
    snprintf(path, sizeof(path), "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(json, f);
    fclose(f);
    struct conf *c = NULL;
    struct err e = {{0}};
    if (conf_load_file(path, &c, &e) < 0)
        fail_msg("%s", e.msg);
    struct view *v = NULL;
    if (view_build(c, &v, &e) < 0)
        fail_msg("%s", e.msg);
    return v;
}

#define CLUSTERS_1                                                                                 \
    "{\"name\": \"one\", \"region\": \"r\", \"addresses\": [\"127.0.0.2\"], \"checks\": "          \
    "[\"a\"]},\n"                                                                                  \
    " {\"name\": \"two\", \"region\": \"r\", \"addresses\": [\"127.0.0.2\"], \"checks\": [\"a\", " \
    "\"b\"]},\n"                                                                                   \
    " {\"name\": \"three\", \"region\": \"r\", \"addresses\": [\"127.0.0.3\"], \"checks\": "       \
    "[\"a\"]},\n"                                                                                  \
    " {\"name\": \"none\", \"region\": \"r\", \"addresses\": [\"192.0.2.1\"]}"

static bool addr_up(const struct view *v, const char *cluster)
{
    int32_t ci = gslb_find_cluster(v->gslb, cluster);
    assert_true(ci >= 0);
    return atomic_load(&v->gslb->addr_up[v->gslb->clusters[ci].first_addr]) != 0;
}

/* Run the loop until cond(arg) holds, at most ms (scaled). */
static bool run_until(bool (*cond)(void *), void *arg, int ms)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(ms);
    while (!cond(arg)) {
        if (rt_now_ms() > end)
            return false;
        uv_run(&g_loop, UV_RUN_ONCE);
    }
    return true;
}

static bool first_round_done(void *arg)
{
    return *(int *)arg > 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-probe-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char zone[256];
    snprintf(zone, sizeof(zone), "%s/t.zone", dir);
    FILE *f = fopen(zone, "w");
    assert_non_null(f);
    fputs("$ORIGIN t.\n$TTL 300\n@ IN SOA ns.t. h.t. 1 2 3 4 5\n@ IN NS ns.t.\n", f);
    fclose(f);
    log_set_level(LOG_ERR);
    assert_int_equal(hc_global_init(), 0);
    g_port_a = 0;
    g_listen_a = listen_on(0x7f000002, &g_port_a);
    g_port_b = rt_free_port(); /* nothing listens there */
    uv_loop_init(&g_loop);
    uv_timer_init(&g_loop, &g_tick);
    uv_timer_start(&g_tick, on_tick, 10, 10);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&g_tick, NULL);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g_loop), 0); /* every probe handle was closed */
    if (g_listen_a >= 0)
        close(g_listen_a);
    hc_global_cleanup();
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void on_stopped(void *arg)
{
    (*(int *)arg)++;
}

struct trans_wait {
    uint64_t want;
};

static bool transitions_at_least(void *arg)
{
    struct trans_wait *w = arg;
    pthread_mutex_lock(&g_p.lock);
    bool ok = g_p.transitions >= w->want;
    pthread_mutex_unlock(&g_p.lock);
    return ok;
}

static void test_probe_life(void **state)
{
    (void)state;
    g_first_rounds = 0;
    assert_int_equal(probes_init(&g_p, &g_loop, on_first_round, &g_first_rounds), 0);
    struct view *v = make_view(CLUSTERS_1);
    struct err e = {{0}};
    assert_int_equal(probes_apply(&g_p, v, &e), 0);
    assert_int_equal(g_p.ntargets, 4); /* one + two checks + one; "none" has none */
    assert_true(run_until(first_round_done, &g_first_rounds, 3000));
    assert_int_equal(g_first_rounds, 1);

    /* HC-1: an address is up when every check on it is up */
    assert_true(addr_up(v, "one"));
    assert_false(addr_up(v, "two")); /* check b fails */
    assert_false(addr_up(v, "three"));
    assert_true(addr_up(v, "none"));

    /* the down targets each made one transition, recorded with names */
    pthread_mutex_lock(&g_p.lock);
    uint64_t tr = g_p.transitions;
    assert_int_equal(tr, 2);
    assert_int_equal(g_p.nrecent, 2);
    bool seen_two = false, seen_three = false;
    for (size_t i = 0; i < 2; i++) {
        const struct probe_transition *r = &g_p.recent[i];
        assert_false(r->up);
        assert_true(r->wall_ms > 0);
        if (strcmp(r->cluster, "two") == 0) {
            seen_two = true;
            assert_string_equal(r->check, "b");
            assert_string_equal(r->address, "127.0.0.2");
        } else if (strcmp(r->cluster, "three") == 0) {
            seen_three = true;
            assert_string_equal(r->check, "a");
            assert_string_equal(r->address, "127.0.0.3");
        }
        assert_true(strlen(r->reason) > 0);
    }
    pthread_mutex_unlock(&g_p.lock);
    assert_true(seen_two && seen_three);

    /* the backend goes away: "one" and the a-check on "two" go down (fall 1) */
    close(g_listen_a);
    g_listen_a = -1;
    struct trans_wait w = {tr + 2};
    assert_true(run_until(transitions_at_least, &w, 3000));
    assert_false(addr_up(v, "one"));
    assert_true(addr_up(v, "none"));

    /* a new view: carried-over targets seed its states at once (before any new probe) */
    struct view *v2 = make_view(CLUSTERS_1);
    assert_true(addr_up(v2, "one")); /* a fresh view starts up */
    assert_int_equal(probes_apply(&g_p, v2, &e), 0);
    assert_false(addr_up(v2, "one"));
    assert_false(addr_up(v2, "two"));
    assert_false(addr_up(v2, "three"));
    assert_true(addr_up(v2, "none"));
    assert_ptr_equal(g_p.gslb, v2->gslb);
    view_free(v); /* probes no longer touch the old view */

    /* the backend comes back on the same port: up again (rise 1) */
    g_listen_a = listen_on(0x7f000002, &g_port_a);
    w.want = g_p.transitions + 2;
    assert_true(run_until(transitions_at_least, &w, 3000));
    assert_true(addr_up(v2, "one"));
    assert_false(addr_up(v2, "two")); /* b still fails */
    pthread_mutex_lock(&g_p.lock);
    assert_true(g_p.recent[(g_p.nrecent - 1) % PROBE_RECENT_MAX].up);
    pthread_mutex_unlock(&g_p.lock);

    int stopped = 0;
    probes_stop(&g_p, on_stopped, &stopped);
    assert_true(run_until(first_round_done, &stopped, 3000));
    assert_int_equal(stopped, 1);
    assert_null(g_p.set);
    probes_destroy(&g_p);
    view_free(v2);
}

/* Nothing to probe: the first round is complete at once, every address is up. */
static void test_nothing_to_probe(void **state)
{
    (void)state;
    g_first_rounds = 0;
    assert_int_equal(probes_init(&g_p, &g_loop, on_first_round, &g_first_rounds), 0);
    struct view *v =
        make_view("{\"name\": \"one\", \"region\": \"r\", \"addresses\": [\"127.0.0.9\"]}");
    struct err e = {{0}};
    assert_int_equal(probes_apply(&g_p, v, &e), 0);
    assert_int_equal(g_p.ntargets, 0);
    assert_true(run_until(first_round_done, &g_first_rounds, 1000));
    assert_int_equal(g_first_rounds, 1);
    assert_true(addr_up(v, "one"));
    int stopped = 0;
    probes_stop(&g_p, on_stopped, &stopped);
    assert_true(run_until(first_round_done, &stopped, 1000));
    probes_destroy(&g_p);
    view_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_life),
        cmocka_unit_test(test_nothing_to_probe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
