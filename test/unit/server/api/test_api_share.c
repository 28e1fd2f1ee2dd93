/* test_api_share.c: the answer share (server/api/api_share.c) called directly, without HTTP:
 * totals carried across reloads by cluster name, the 1-minute window, the sampler thread. */
#include "test/unit/server/test_rt_util.h"

#include "server/api/api_int.h"

#define ROWS 4 /* answering threads the test pretends to have */

static char dir[64];
static struct server g_srv;
static struct control g_ctl;
static struct api g_api;

/* A view with the given clusters (names, all in one region) and one failover service. */
static struct view *make_view(const char *const *names, size_t n)
{
    char json[4096], path[128];
    size_t o = 0;
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    o += (size_t)snprintf(json + o, sizeof(json) - o,
                          "{\"listen\": [\"127.0.0.1:5399\"], \"zones\": [{\"origin\": "
                          "\"example.\", \"file\": \"%s/test/data/engine/example.zone\"}],\n"
                          " \"regions\": [{\"name\": \"r\", \"lat\": 0, \"lon\": 0}],\n"
                          " \"clusters\": [",
                          cwd);
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(json + o, sizeof(json) - o,
                              "%s{\"name\": \"%s\", \"region\": \"r\", \"addresses\": "
                              "[\"192.0.2.%zu\"]}",
                              i ? ", " : "", names[i], i + 1);
    o += (size_t)snprintf(json + o, sizeof(json) - o,
                          "],\n \"services\": [{\"name\": \"s.example.\", \"policy\": "
                          "\"failover\", \"clusters\": [\"%s\"]}]}\n",
                          names[0]);
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
    assert_int_equal(gslb_set_rows(v->gslb, ROWS), 0); /* as main() does for its threads */
    return v;
}

/* What a reload does, as far as the share sees it: a new view and one more reload. */
static void swap_in(struct view *v)
{
    pthread_mutex_lock(&g_ctl.reload_lock);
    view_free(atomic_exchange(&g_srv.view, v));
    atomic_fetch_add(&g_ctl.reloads, 1);
    pthread_mutex_unlock(&g_ctl.reload_lock);
}

static uint32_t ci_of(const char *name)
{
    int32_t ci = gslb_find_cluster(atomic_load(&g_srv.view)->gslb, name);
    assert_true(ci >= 0);
    return (uint32_t)ci;
}

static void count(const char *name, unsigned times)
{
    struct gslb *g = atomic_load(&g_srv.view)->gslb;
    for (unsigned i = 0; i < times; i++)
        gslb_count_answer(g, i % ROWS, ci_of(name)); /* spread over the threads' rows */
}

static uint64_t total(const char *name)
{
    uint64_t out[8];
    size_t n = atomic_load(&g_srv.view)->gslb->nclusters;
    assert_true(n <= 8);
    api_share_totals(&g_api, out, n);
    return out[ci_of(name)];
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-share-XXXXXX");
    assert_non_null(mkdtemp(dir));
    log_set_level(LOG_WARN);
    static const char *const names[] = {"a", "b", "c"};
    atomic_init(&g_srv.view, make_view(names, 3));
    pthread_mutex_init(&g_ctl.reload_lock, NULL);
    g_ctl.srv = &g_srv;
    g_api.ctl = &g_ctl;
    g_api.srv = &g_srv;
    snprintf(g_api.listen, sizeof(g_api.listen), "test");
    assert_int_equal(api_share_start(&g_api), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    api_share_stop(&g_api);
    assert_false(g_api.share.running);
    view_free(atomic_load(&g_srv.view));
    pthread_mutex_destroy(&g_ctl.reload_lock);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_totals_follow_names_across_reloads(void **state)
{
    (void)state;
    count("a", 5);
    count("b", 2);
    count("c", 1);
    assert_int_equal(total("a"), 5);
    assert_int_equal(total("b"), 2);
    assert_int_equal(total("c"), 1);
    assert_int_equal(total("a"), 5); /* reading does not count twice */

    /* a reload: c removed, d added, a and b swapped in the list; new counters start at 0 */
    static const char *const names2[] = {"b", "d", "a"};
    swap_in(make_view(names2, 3));
    assert_int_equal(total("a"), 5);
    assert_int_equal(total("b"), 2);
    assert_int_equal(total("d"), 0);
    count("a", 1);
    count("d", 3);
    assert_int_equal(total("a"), 6);
    assert_int_equal(total("d"), 3);

    /* c comes back: its earlier answers were kept under its name */
    static const char *const names3[] = {"c", "a"};
    swap_in(make_view(names3, 2));
    assert_int_equal(total("c"), 1);
    assert_int_equal(total("a"), 6);
    count("c", 4);
    assert_int_equal(total("c"), 5);
}

/* The 1-minute share counts from the oldest sample inside the window; none: nothing. */
static void test_one_minute_window(void **state)
{
    (void)state;
    struct api_share *s = &g_api.share;
    size_t n = atomic_load(&g_srv.view)->gslb->nclusters;
    uint64_t out[8], win = 99;
    api_share_1m(&g_api, out, n, &win);
    uint64_t a0 = out[ci_of("a")];
    assert_true(s->nsamples >= 1); /* the sampler took one at start */
    assert_true(win < (uint64_t)rt_ms(60000));
    count("a", 9);
    api_share_1m(&g_api, out, n, &win);
    assert_int_equal(out[ci_of("a")], a0 + 9);

    /* every sample older than the window: the window is empty */
    pthread_mutex_lock(&s->lock);
    uint64_t saved[API_SHARE_SLOTS];
    memcpy(saved, s->t_ms, sizeof(saved));
    for (size_t i = 0; i < API_SHARE_SLOTS; i++)
        s->t_ms[i] = api_mono_ms() - API_SHARE_WINDOW_MS - 1000;
    pthread_mutex_unlock(&s->lock);
    api_share_1m(&g_api, out, n, &win);
    assert_int_equal(win, 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(out[i], 0);
    pthread_mutex_lock(&s->lock);
    memcpy(s->t_ms, saved, sizeof(saved));
    pthread_mutex_unlock(&s->lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_totals_follow_names_across_reloads),
        cmocka_unit_test(test_one_minute_window),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
