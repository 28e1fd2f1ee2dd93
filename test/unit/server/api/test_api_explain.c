/* test_api_explain.c: GET /api/v1/explain (server/api/api_explain.c) over HTTP: argument checks
 * and that the explanation leaves live states alone. Light on purpose: explain.c's own
 * output is explain.c's subject. */
#include "test/unit/server/test_rt_util.h"

static struct rt g_rt;
static uint16_t g_port;

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    char conf[2000];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r\", \"lat\": 1, \"lon\": 2}],\n"
             " \"clusters\": [{\"name\": \"c1\", \"region\": \"r\", \"addresses\": "
             "[\"192.0.2.7\"]}, {\"name\": \"c2\", \"region\": \"r\", \"addresses\": "
             "[\"192.0.2.8\"]}],\n"
             " \"services\": [{\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"c1\", \"c2\"]}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\"}}\n",
             rt_free_port(), g_port);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
    g_rt.api = true;
    rt_run(&g_rt, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rt_stop(&g_rt);
    return 0;
}

static void test_bad_arguments_are_400(void **state)
{
    (void)state;
    char longname[1100];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    char p_long[1300];
    snprintf(p_long, sizeof(p_long), "/api/v1/explain?name=%s&client=192.0.2.1", longname);
    const char *const paths[] = {
        "/api/v1/explain",
        "/api/v1/explain?name=app.t.",
        "/api/v1/explain?client=192.0.2.1",
        "/api/v1/explain?name=&client=192.0.2.1",
        "/api/v1/explain?name=app.t.&client=not-an-address",
        p_long,
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        json_t *j = rt_get_json(g_port, paths[i], 400);
        assert_true(json_is_string(json_object_get(j, "error")));
        json_decref(j);
    }
}

static void test_explain_echoes_and_assume_down_stays_private(void **state)
{
    (void)state;
    json_t *j = rt_get_json(
        g_port, "/api/v1/explain?name=app.t.&type=A&client=192.0.2.1&assume_down=c1", 200);
    json_t *q = json_object_get(j, "query");
    assert_string_equal(json_string_value(json_object_get(q, "name")), "app.t.");
    assert_string_equal(json_string_value(json_object_get(q, "type")), "A");
    assert_string_equal(json_string_value(json_object_get(q, "client")), "192.0.2.1");
    assert_string_equal(json_string_value(json_object_get(j, "service")), "app.t.");
    assert_string_equal(json_string_value(json_object_get(j, "policy")), "failover");
    json_decref(j);
    /* the live view still has c1 up */
    struct view *v = atomic_load(&g_rt.srv.view);
    assert_true(gslb_cluster_up(v->gslb, (uint32_t)gslb_find_cluster(v->gslb, "c1")));
    /* type defaults to A */
    j = rt_get_json(g_port, "/api/v1/explain?name=www.t.&client=192.0.2.1", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "query"), "type")),
                        "A");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments_are_400),
        cmocka_unit_test(test_explain_echoes_and_assume_down_stays_private),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
