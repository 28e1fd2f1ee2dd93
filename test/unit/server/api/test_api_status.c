/* test_api_status.c: GET /api/v1/status (server/api/api_status.c) on a running gslbd with real
 * TCP health probes on loopback: each cluster's state word, probes, services, transitions
 * and answer counts. */
#include "test/unit/server/test_rt_util.h"

static struct rt g_rt;
static uint16_t g_port, g_dns, g_check;
static int g_listener = -1;

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    g_dns = rt_free_port();
    /* the health check's target: something listens on 127.0.0.2, nothing on 127.0.0.3 */
    g_listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002)};
    assert_int_equal(bind(g_listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    assert_int_equal(getsockname(g_listener, (struct sockaddr *)&sa, &len), 0);
    /* never accepted: a deep queue holds every probe's connection for the test's length */
    assert_int_equal(listen(g_listener, 4096), 0);
    g_check = ntohs(sa.sin_port);
    char conf[3000];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": %d,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r1\", \"lat\": 10.5, \"lon\": 20.25},"
             " {\"name\": \"r2\", \"lat\": -5, \"lon\": 3}],\n"
             " \"checks\": [{\"name\": \"tcp\", \"type\": \"tcp\", \"port\": %u, "
             "\"interval_ms\": %d, \"timeout_ms\": %d, \"fall\": 1, \"rise\": 1}],\n"
             " \"clusters\": [\n"
             "  {\"name\": \"up-a\", \"region\": \"r1\", \"addresses\": [\"127.0.0.2\"], "
             "\"checks\": [\"tcp\"], \"weight\": 3},\n"
             "  {\"name\": \"down-a\", \"region\": \"r1\", \"addresses\": [\"127.0.0.3\"], "
             "\"checks\": [\"tcp\"]},\n"
             "  {\"name\": \"drain-a\", \"region\": \"r2\", \"addresses\": [\"192.0.2.9\", "
             "\"2001:db8::9\"]}],\n"
             " \"services\": [\n"
             "  {\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": [\"up-a\", "
             "\"down-a\"], \"ttl\": 40, \"failover_ttl\": 7},\n"
             "  {\"name\": \"dead.t.\", \"policy\": \"weighted\", \"clusters\": [\"down-a\"], "
             "\"all_down\": \"servfail\"}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\", \"token_file\": \"token\"}}\n",
             g_dns, rt_ms(5000), g_check, rt_ms(1000), rt_ms(900), g_port);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
    g_rt.api = true;
    g_rt.workers = true;
    rt_run(&g_rt, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rt_stop(&g_rt);
    close(g_listener);
    return 0;
}

static json_t *find_named(json_t *arr, const char *name)
{
    size_t i;
    json_t *x;
    json_array_foreach (arr, i, x)
        if (strcmp(json_string_value(json_object_get(x, "name")), name) == 0)
            return x;
    fail_msg("no %s", name);
    return NULL;
}

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("%s is not a string", key);
    return json_string_value(v);
}

static void test_top_level_fields(void **state)
{
    (void)state;
    json_t *j = rt_get_json(g_port, "/api/v1/status", 200);
    assert_string_equal(str(j, "version"), "test-version");
    char listen[40];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", g_port);
    assert_string_equal(str(j, "api_listen"), listen);
    assert_true(json_is_true(json_object_get(j, "changes_enabled")));
    assert_int_equal(json_integer_value(json_object_get(j, "reloads")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "reload_failures")), 0);
    assert_true(json_is_null(json_object_get(j, "last_reload_error")));
    assert_int_equal(strlen(str(j, "now")), strlen("2024-05-01T12:00:00.123Z"));
    json_t *regions = json_object_get(j, "regions");
    assert_int_equal(json_array_size(regions), 2);
    json_t *r1 = find_named(regions, "r1");
    assert_true(json_real_value(json_object_get(r1, "lat")) == 10.5);
    assert_true(json_real_value(json_object_get(r1, "lon")) == 20.25);
    json_decref(j);
}

/* The state words the dashboard shows: healthy, down, drained, forced-up/-down. */
static void test_cluster_states(void **state)
{
    (void)state;
    struct view *v = atomic_load(&g_rt.srv.view);
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "drain-a")], GSLB_ADMIN_DRAIN);
    json_t *j = rt_get_json(g_port, "/api/v1/status", 200);
    json_t *cl = json_object_get(j, "clusters");
    assert_int_equal(json_array_size(cl), 3);
    json_t *up = find_named(cl, "up-a"), *down = find_named(cl, "down-a"),
           *dr = find_named(cl, "drain-a");
    assert_string_equal(str(up, "state"), "healthy");
    assert_true(json_is_true(json_object_get(up, "healthy")));
    assert_true(json_is_true(json_object_get(up, "in_service")));
    assert_int_equal(json_integer_value(json_object_get(up, "weight")), 3);
    assert_string_equal(str(up, "region"), "r1");
    assert_string_equal(str(down, "state"), "down");
    assert_true(json_is_false(json_object_get(down, "healthy")));
    assert_true(json_is_false(json_object_get(down, "in_service")));
    assert_string_equal(str(dr, "state"), "drained");
    assert_string_equal(str(dr, "admin"), "drain");
    assert_true(json_is_true(json_object_get(dr, "in_service"))); /* drain counts as up */

    /* probes per address: one tcp target each on the probed clusters, none on drain-a */
    json_t *ua = json_array_get(json_object_get(up, "addresses"), 0);
    assert_string_equal(str(ua, "address"), "127.0.0.2");
    assert_string_equal(str(ua, "family"), "ipv4");
    assert_true(json_is_true(json_object_get(ua, "up")));
    json_t *t = json_array_get(json_object_get(ua, "targets"), 0);
    assert_string_equal(str(t, "check"), "tcp");
    assert_true(json_is_true(json_object_get(t, "up")));
    assert_true(json_integer_value(json_object_get(t, "probes")) >= 1);
    json_t *da = json_array_get(json_object_get(down, "addresses"), 0);
    json_t *dt = json_array_get(json_object_get(da, "targets"), 0);
    assert_true(json_is_false(json_object_get(dt, "up")));
    assert_true(json_integer_value(json_object_get(dt, "failures")) >= 1);
    assert_true(strlen(str(dt, "last_reason")) > 0);
    json_t *dra = json_object_get(dr, "addresses");
    assert_int_equal(json_array_size(dra), 2);
    assert_string_equal(str(json_array_get(dra, 1), "family"), "ipv6");
    assert_int_equal(json_array_size(json_object_get(json_array_get(dra, 0), "targets")), 0);

    /* forced states */
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "drain-a")], GSLB_ADMIN_DOWN);
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "down-a")], GSLB_ADMIN_UP);
    json_decref(j);
    j = rt_get_json(g_port, "/api/v1/status", 200);
    cl = json_object_get(j, "clusters");
    assert_string_equal(str(find_named(cl, "drain-a"), "state"), "forced-down");
    assert_true(json_is_false(json_object_get(find_named(cl, "drain-a"), "in_service")));
    assert_string_equal(str(find_named(cl, "down-a"), "state"), "forced-up");
    assert_true(json_is_true(json_object_get(find_named(cl, "down-a"), "in_service")));
    json_decref(j);
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "drain-a")], GSLB_ADMIN_AUTO);
    atomic_store(&v->gslb->admin[gslb_find_cluster(v->gslb, "down-a")], GSLB_ADMIN_AUTO);
}

static void test_services_and_transitions(void **state)
{
    (void)state;
    json_t *j = rt_get_json(g_port, "/api/v1/status", 200);
    json_t *sv = json_object_get(j, "services");
    assert_int_equal(json_array_size(sv), 2);
    json_t *app = find_named(sv, "app.t.");
    assert_string_equal(str(app, "policy"), "failover");
    assert_int_equal(json_integer_value(json_object_get(app, "ttl")), 40);
    assert_int_equal(json_integer_value(json_object_get(app, "failover_ttl")), 7);
    assert_string_equal(str(app, "all_down"), "fail_open");
    assert_true(json_is_false(json_object_get(app, "every_cluster_down")));
    json_t *names = json_object_get(app, "clusters");
    assert_int_equal(json_array_size(names), 2);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "up-a");
    json_t *dead = find_named(sv, "dead.t.");
    assert_string_equal(str(dead, "policy"), "weighted");
    assert_string_equal(str(dead, "all_down"), "servfail");
    assert_true(json_is_true(json_object_get(dead, "every_cluster_down")));

    /* the down target's first result is a transition to down, newest first */
    json_t *tr = json_object_get(j, "transitions");
    assert_true(json_array_size(tr) >= 1);
    assert_int_equal(json_integer_value(json_object_get(j, "health_transitions")),
                     (json_int_t)json_array_size(tr));
    bool seen = false;
    size_t i;
    json_t *x;
    json_array_foreach (tr, i, x) {
        if (strcmp(str(x, "cluster"), "down-a") == 0) {
            seen = true;
            assert_string_equal(str(x, "address"), "127.0.0.3");
            assert_string_equal(str(x, "check"), "tcp");
            assert_true(json_is_false(json_object_get(x, "up")));
        }
        assert_true(strcmp(str(x, "cluster"), "up-a") != 0); /* up from the start: no change */
    }
    assert_true(seen);
    json_decref(j);
}

/* Answers per cluster: every A answer for app.t. counts for up-a, none for the others. */
static void test_answer_counts(void **state)
{
    (void)state;
    enum { N = 7 };
    for (int i = 0; i < N; i++) {
        ldns_pkt *p = rt_ask_udp(g_dns, "app.t.", LDNS_RR_TYPE_A);
        assert_non_null(p);
        assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
        assert_int_equal(ldns_pkt_ancount(p), 1);
        ldns_pkt_free(p);
    }
    json_t *j = rt_get_json(g_port, "/api/v1/status", 200);
    json_t *cl = json_object_get(j, "clusters");
    assert_int_equal(json_integer_value(json_object_get(find_named(cl, "up-a"), "answers_total")),
                     N);
    assert_int_equal(json_integer_value(json_object_get(find_named(cl, "down-a"), "answers_total")),
                     0);
    /* the 1-minute share: all of it went to up-a */
    json_t *a1 = json_object_get(j, "answers_1m");
    assert_int_equal(json_integer_value(json_object_get(a1, "total")), N);
    assert_true(json_real_value(json_object_get(find_named(cl, "up-a"), "share_1m")) == 1.0);
    assert_int_equal(json_integer_value(json_object_get(find_named(cl, "up-a"), "answers_1m")), N);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_level_fields),
        cmocka_unit_test(test_cluster_states),
        cmocka_unit_test(test_services_and_transitions),
        cmocka_unit_test(test_answer_counts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
