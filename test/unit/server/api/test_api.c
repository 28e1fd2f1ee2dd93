/* test_api.c: the HTTP API's server (server/api/api.c) through a real libmicrohttpd on 127.0.0.1:
 * routing, methods, limits, the Host check, common headers and bearer-token checks. */
#include "test/unit/server/test_rt_util.h"

#include "server/api/api_int.h"

static struct rt g_rt;
static uint16_t g_port;
static const char *const auth_ok[] = {"Authorization: Bearer s3cret-token", NULL};

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\", \"token_file\": \"token\"}}\n",
             rt_free_port(), g_port);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
    g_rt.api = true;
    rt_run(&g_rt, true);
    assert_non_null(g_rt.apih);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rt_stop(&g_rt);
    return 0;
}

static void test_healthz_and_common_headers(void **state)
{
    (void)state;
    struct rt_http h;
    rt_http(g_port, "GET", "/healthz", NULL, NULL, &h);
    assert_int_equal(h.status, 200);
    assert_string_equal(h.body, "{\"status\":\"ok\"}\n");
    assert_true(rt_has_header(&h, "Content-Type: application/json"));
    assert_true(rt_has_header(&h, "Cache-Control: no-store"));
    assert_true(rt_has_header(&h, "X-Content-Type-Options: nosniff"));
    assert_true(rt_has_header(&h, "Referrer-Policy: no-referrer"));
    assert_true(rt_has_header(&h, "frame-ancestors 'none'"));
    free(h.body);
    rt_http(g_port, "HEAD", "/healthz", NULL, NULL, &h);
    assert_int_equal(h.status, 200);
    assert_null(h.body);
}

/* Each endpoint answers only its method: 405 with an Allow header otherwise. */
static void test_wrong_method_is_405(void **state)
{
    (void)state;
    static const struct {
        const char *method, *path;
    } cases[] = {
        {"POST", "/healthz"},      {"DELETE", "/api/v1/status"},
        {"POST", "/metrics"},      {"PUT", "/api/v1/explain"},
        {"GET", "/api/v1/reload"}, {"GET", "/api/v1/clusters/x/state"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rt_http h;
        rt_http(g_port, cases[i].method, cases[i].path, NULL, NULL, &h);
        if (h.status != 405)
            fail_msg("%s %s: %ld", cases[i].method, cases[i].path, h.status);
        assert_true(rt_has_header(&h, "Allow: GET, HEAD, POST"));
        json_t *j = json_loads(h.body, 0, NULL);
        assert_true(json_is_string(json_object_get(j, "error")));
        json_decref(j);
        free(h.body);
    }
}

static void test_unknown_paths_are_404(void **state)
{
    (void)state;
    static const char *const paths[] = {"/nope", "/api/v1/statusx", "/api/v1/clusters//state",
                                        "/api/v1/clusters/a/b/state", "/index.htm"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct rt_http h;
        const char *m = strstr(paths[i], "clusters") != NULL ? "POST" : "GET";
        rt_http(g_port, m, paths[i], auth_ok, strcmp(m, "POST") == 0 ? "" : NULL, &h);
        if (h.status != 404)
            fail_msg("%s %s: %ld %s", m, paths[i], h.status, h.body);
        free(h.body);
    }
    /* a cluster name too long for the router's buffer is a 404, not a truncated name */
    char path[300];
    snprintf(path, sizeof(path), "/api/v1/clusters/%0200d/state", 7);
    struct rt_http h;
    rt_http(g_port, "POST", path, auth_ok, "{\"state\": \"down\"}", &h);
    assert_int_equal(h.status, 404);
    free(h.body);
}

/* Against DNS rebinding: a loopback API answers only loopback Host names (421 otherwise). */
static void test_host_header_check(void **state)
{
    (void)state;
    static const struct {
        const char *host;
        long want;
    } cases[] = {
        {"Host: localhost:1", 200},  {"Host: LOCALHOST", 200},      {"Host: 127.0.0.1", 200},
        {"Host: 127.9.8.7:80", 200}, {"Host: [::1]:8080", 200},     {"Host: evil.example", 421},
        {"Host: 10.0.0.1", 421},     {"Host: localhost.evil", 421}, {"Host: [::2]", 421},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *hdr[] = {cases[i].host, NULL};
        struct rt_http h;
        rt_http(g_port, "GET", "/healthz", hdr, NULL, &h);
        if (h.status != cases[i].want)
            fail_msg("%s: %ld, want %ld", cases[i].host, h.status, cases[i].want);
        free(h.body);
    }
}

/* Bodies over API_BODY_MAX: 413, whether announced by Content-Length or not. */
static void test_body_limit(void **state)
{
    (void)state;
    char *big = malloc(API_BODY_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', API_BODY_MAX + 1);
    big[API_BODY_MAX + 1] = '\0';
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", auth_ok, big, &h);
    assert_int_equal(h.status, 413);
    free(h.body);
    const char *chunked[] = {"Authorization: Bearer s3cret-token", "Transfer-Encoding: chunked",
                             NULL};
    rt_http(g_port, "POST", "/api/v1/clusters/none/state", chunked, big, &h);
    assert_int_equal(h.status, 413);
    free(h.body);
    /* exactly the limit is read (and then judged by the endpoint: no such cluster) */
    big[API_BODY_MAX] = '\0';
    rt_http(g_port, "POST", "/api/v1/clusters/none/state", auth_ok, big, &h);
    assert_int_equal(h.status, 400);
    free(h.body);
    free(big);
}

/* Changes need "Authorization: Bearer TOKEN": 401 with WWW-Authenticate otherwise. */
static void test_bearer_token(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {NULL, NULL},
        {"Authorization: Bearer s3cret-toke", NULL},
        {"Authorization: Bearer s3cret-token2", NULL},
        {"Authorization: Basic czNjcmV0LXRva2Vu", NULL},
        {"Authorization: Bearer ", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rt_http h;
        rt_http(g_port, "POST", "/api/v1/reload", bad[i][0] != NULL ? bad[i] : NULL, "", &h);
        if (h.status != 401)
            fail_msg("case %zu: %ld", i, h.status);
        assert_true(rt_has_header(&h, "WWW-Authenticate: Bearer realm=\"gslbd\""));
        free(h.body);
    }
    unsigned long before = atomic_load(&g_rt.ctl.reloads);
    const char *lower[] = {"Authorization: bearer   s3cret-token", NULL};
    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/reload", lower, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    assert_int_equal(atomic_load(&g_rt.ctl.reloads), before + 1); /* the refused ones did not */
}

/* Helpers with no socket: the time format and the growing buffer. */
static void test_iso_time_and_buf(void **state)
{
    (void)state;
    char t[40];
    api_iso_time(0, t, sizeof(t));
    assert_string_equal(t, "1970-01-01T00:00:00.000Z");
    api_iso_time(1714564800123, t, sizeof(t));
    assert_string_equal(t, "2024-05-01T12:00:00.123Z");
    struct api_buf b = {0};
    for (int i = 0; i < 3000; i++)
        api_buf_printf(&b, "%04d,", i);
    assert_false(b.oom);
    assert_int_equal(b.len, 3000 * 5);
    assert_int_equal(strlen(b.p), b.len);
    assert_memory_equal(b.p + 2999 * 5, "2999,", 5);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthz_and_common_headers),
        cmocka_unit_test(test_wrong_method_is_405),
        cmocka_unit_test(test_unknown_paths_are_404),
        cmocka_unit_test(test_host_header_check),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_bearer_token),
        cmocka_unit_test(test_iso_time_and_buf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
