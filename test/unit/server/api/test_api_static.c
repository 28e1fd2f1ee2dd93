/* test_api_static.c: the embedded dashboard files (server/api/api_static.c) served over HTTP,
 * byte for byte equal to server/api/dashboard/, with their content types. */
#include "test/unit/server/test_rt_util.h"

static struct rt g_rt;
static uint16_t g_port;

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
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

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

static void test_files_match_the_sources(void **state)
{
    (void)state;
    static const struct {
        const char *url, *file, *ctype;
    } files[] = {
        {"/", "server/api/dashboard/index.html", "Content-Type: text/html; charset=utf-8"},
        {"/index.html", "server/api/dashboard/index.html",
         "Content-Type: text/html; charset=utf-8"},
        {"/dashboard.css", "server/api/dashboard/dashboard.css", "Content-Type: text/css"},
        {"/dashboard.js", "server/api/dashboard/dashboard.js", "Content-Type: text/javascript"},
        {"/favicon.svg", "server/api/dashboard/favicon.svg", "Content-Type: image/svg+xml"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t n;
        char *want = slurp(files[i].file, &n);
        struct rt_http h;
        rt_http(g_port, "GET", files[i].url, NULL, NULL, &h);
        assert_int_equal(h.status, 200);
        assert_true(n > 0);
        assert_int_equal(h.len, n);
        assert_memory_equal(h.body, want, n);
        if (!rt_has_header(&h, files[i].ctype))
            fail_msg("%s: headers %s", files[i].url, h.headers);
        assert_true(rt_has_header(&h, "Cache-Control: no-store"));
        free(h.body);
        free(want);
    }
}

/* Only those names: no directory walk, no other files, GET and HEAD only. */
static void test_nothing_else_is_served(void **state)
{
    (void)state;
    static const char *const paths[] = {
        "/dashboard.JS", "/../server/api/api.c", "/server/api/dashboard/index.html", "//",
        "/index.html/",  "/favicon.ico"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct rt_http h;
        rt_http(g_port, "GET", paths[i], NULL, NULL, &h);
        if (h.status != 404)
            fail_msg("%s: %ld", paths[i], h.status);
        free(h.body);
    }
    struct rt_http h;
    rt_http(g_port, "POST", "/dashboard.js", NULL, "", &h);
    assert_int_equal(h.status, 404);
    free(h.body);
    rt_http(g_port, "HEAD", "/dashboard.js", NULL, NULL, &h);
    assert_int_equal(h.status, 200);
    free(h.body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_match_the_sources),
        cmocka_unit_test(test_nothing_else_is_served),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
