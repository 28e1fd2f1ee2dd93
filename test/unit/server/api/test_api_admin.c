/* test_api_admin.c: the API's changes (server/api/api_admin.c) over HTTP on 127.0.0.1: cluster
 * admin states with the state file (POL-7), reloads accepted and rejected, token rotation. */
#include "test/unit/server/test_rt_util.h"

static struct rt g_rt;
static uint16_t g_port, g_dns_port;
static const char *const auth[] = {"Authorization: Bearer s3cret-token", NULL};

/* The config, with extra top-level keys (ending in a comma) and api keys. */
static void write_conf(const char *extra, const char *api_extra)
{
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0, %s\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r\", \"lat\": 1, \"lon\": 2}],\n"
             " \"clusters\": [{\"name\": \"c1\", \"region\": \"r\", \"addresses\": "
             "[\"192.0.2.7\"]},\n"
             "              {\"name\": \"c2\", \"region\": \"r\", \"addresses\": "
             "[\"192.0.2.8\"]}],\n"
             " \"services\": [{\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"c1\", \"c2\"]}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\"%s}}\n",
             g_dns_port, extra, g_port, api_extra);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
}

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    g_dns_port = rt_free_port();
    write_conf("\"state_file\": \"state.json\",", ", \"token_file\": \"token\"");
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

static enum gslb_admin admin_of(const char *cluster)
{
    struct view *v = atomic_load(&g_rt.srv.view);
    int32_t ci = gslb_find_cluster(v->gslb, cluster);
    assert_true(ci >= 0);
    return (enum gslb_admin)atomic_load(&v->gslb->admin[ci]);
}

/* POST a state change; returns the parsed JSON body (caller decrefs), status in *status. */
static json_t *post_state(const char *cluster, const char *query, const char *body, long *status)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/clusters/%s/state%s", cluster, query);
    struct rt_http h;
    rt_http(g_port, "POST", path, auth, body != NULL ? body : "", &h);
    *status = h.status;
    json_t *j = json_loads(h.body != NULL ? h.body : "", 0, NULL);
    if (j == NULL)
        fail_msg("not JSON: %s", h.body);
    free(h.body);
    return j;
}

static void test_state_change_is_applied_and_saved(void **state)
{
    (void)state;
    long st;
    json_t *j = post_state("c2", "", "{\"state\": \"drain\"}", &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "cluster")), "c2");
    assert_string_equal(json_string_value(json_object_get(j, "previous")), "auto");
    assert_string_equal(json_string_value(json_object_get(j, "state")), "drain");
    char path[256];
    rt_path(&g_rt, "state.json", path, sizeof(path));
    assert_string_equal(json_string_value(json_object_get(j, "state_file")), path);
    json_decref(j);
    assert_int_equal(admin_of("c2"), GSLB_ADMIN_DRAIN);
    json_t *f = json_load_file(path, 0, NULL);
    assert_non_null(f);
    assert_string_equal(json_string_value(json_object_get(json_object_get(f, "clusters"), "c2")),
                        "drain");
    json_decref(f);

    /* ?state= works alone, and "previous" is what it was */
    j = post_state("c2", "?state=down", NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(json_string_value(json_object_get(j, "previous")), "drain");
    json_decref(j);
    assert_int_equal(admin_of("c2"), GSLB_ADMIN_DOWN);

    /* a reload keeps it: the state file is read into the new view */
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    assert_int_equal(admin_of("c2"), GSLB_ADMIN_DOWN);
    j = post_state("c2", "?state=auto", "{\"state\": \"auto\"}", &st);
    assert_int_equal(st, 200);
    json_decref(j);
    assert_int_equal(admin_of("c2"), GSLB_ADMIN_AUTO);
}

static void test_bad_state_requests(void **state)
{
    (void)state;
    static const struct {
        const char *cluster, *query, *body;
        long want;
    } cases[] = {
        {"c1", "", "", 400},                                       /* no state given */
        {"c1", "", "{\"state\": \"sideways\"}", 400},              /* not a state */
        {"c1", "?state=up", "{\"state\": \"down\"}", 400},         /* they disagree */
        {"c1", "", "{\"state\": \"up\", \"x\": 1}", 400},          /* extra key */
        {"c1", "", "{\"state\": 1}", 400},                         /* not a string */
        {"c1", "", "state=up", 400},                               /* not JSON */
        {"c1", "", "{\"state\": \"up\", \"state\": \"up\"}", 400}, /* duplicate key */
        {"nosuch", "", "{\"state\": \"up\"}", 404},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long st;
        json_t *j = post_state(cases[i].cluster, cases[i].query, cases[i].body, &st);
        if (st != cases[i].want)
            fail_msg("case %zu: %ld, want %ld", i, st, cases[i].want);
        assert_true(json_is_string(json_object_get(j, "error")));
        json_decref(j);
        assert_int_equal(admin_of("c1"), GSLB_ADMIN_AUTO); /* nothing changed */
    }
}

/* The state file cannot be written: 500, and the admin state stays as it was. */
static void test_unwritable_state_file_changes_nothing(void **state)
{
    (void)state;
    /* a folder that does not exist: nothing to load, nothing can be saved */
    write_conf("\"state_file\": \"no-such-dir/state.json\",", ", \"token_file\": \"token\"");
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    long st;
    json_t *j = post_state("c1", "?state=down", NULL, &st);
    assert_int_equal(st, 500);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "not changed"));
    json_decref(j);
    assert_int_equal(admin_of("c1"), GSLB_ADMIN_AUTO);
    write_conf("\"state_file\": \"state.json\",", ", \"token_file\": \"token\"");
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
}

/* A reload that fails is 422 with the loader's message; the old view keeps serving. */
static void test_rejected_reload(void **state)
{
    (void)state;
    struct view *before = atomic_load(&g_rt.srv.view);
    unsigned long fails = atomic_load(&g_rt.ctl.reload_failures);
    unsigned long oks = atomic_load(&g_rt.ctl.reloads);
    rt_write(&g_rt, "t.zone", "$ORIGIN t.\n@ IN SOA ns.t. h.t. 1 2 3 4 5\nwww IN A 999.1.1.1\n",
             0644);
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 422);
    json_t *j = json_loads(h.body, 0, NULL);
    assert_non_null(j);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), "t.zone:3:"));
    assert_non_null(strstr(json_string_value(json_object_get(j, "result")), "rejected"));
    json_decref(j);
    free(h.body);
    assert_ptr_equal(atomic_load(&g_rt.srv.view), before);
    assert_int_equal(atomic_load(&g_rt.ctl.reload_failures), fails + 1);
    assert_int_equal(atomic_load(&g_rt.ctl.reloads), oks);
    assert_non_null(strstr(rt_reload_error(&g_rt.ctl), "t.zone:3:"));

    rt_write_zone(&g_rt);
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    j = json_loads(h.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "ok");
    assert_int_equal(json_integer_value(json_object_get(j, "reloads")), (json_int_t)oks + 1);
    json_decref(j);
    free(h.body);
    assert_ptr_not_equal(atomic_load(&g_rt.srv.view), before);
    assert_string_equal(rt_reload_error(&g_rt.ctl), "");
}

/* The token comes with the view: a reload without token_file turns changes off (403). */
static void test_token_rotates_with_reload(void **state)
{
    (void)state;
    rt_write(&g_rt, "token2", "other-token\n", 0600);
    write_conf("", ", \"token_file\": \"token2\"");
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 401); /* the old token no longer works */
    free(h.body);
    const char *auth2[] = {"Authorization: Bearer other-token", NULL};
    write_conf("", "");
    rt_http(g_port, "POST", "/api/v1/reload", auth2, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    rt_http(g_port, "POST", "/api/v1/reload", auth2, "", &h);
    assert_int_equal(h.status, 403);
    assert_non_null(strstr(h.body, "token_file"));
    free(h.body);
    rt_http(g_port, "POST", "/api/v1/clusters/c1/state?state=down", auth2, "", &h);
    assert_int_equal(h.status, 403);
    free(h.body);
    assert_int_equal(admin_of("c1"), GSLB_ADMIN_AUTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_change_is_applied_and_saved),
        cmocka_unit_test(test_bad_state_requests),
        cmocka_unit_test(test_unwritable_state_file_changes_nothing),
        cmocka_unit_test(test_rejected_reload),
        cmocka_unit_test(test_token_rotates_with_reload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
