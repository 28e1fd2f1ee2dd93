/* test_history_sample.c: the history's sampler (server/history_sample.c) on a real libuv loop
 * and real views, as the control thread runs it: answers read from the per-thread counter
 * rows every interval, admin changes, reloads that keep the rings by name and count the old
 * view's last answers, rejected reloads marked. */
#include "test_rt_util.h"

#include "server/history.h"
#include "server/server.h"

#define ROWS 3 /* answering threads the test pretends to have */

static char dir[64];
static struct server g_srv;
static uv_loop_t g_loop;
static struct history *g_h;

/* A view of clusters names (one region, one weighted service), sampled every 100 ms. */
static struct view *make_view(const char *const *names, size_t n)
{
    char json[4096], path[128], cwd[512];
    size_t o = 0;
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    o += (size_t)snprintf(json + o, sizeof(json) - o,
                          "{\"listen\": [\"127.0.0.1:5399\"], \"zones\": [{\"origin\": "
                          "\"example.\", \"file\": \"%s/test/data/engine/example.zone\"}],\n"
                          " \"api\": {\"history_interval_ms\": 100},\n"
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
                          "\"weighted\", \"clusters\": [\"%s\"]}]}\n",
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
    assert_int_equal(gslb_set_rows(v->gslb, ROWS), 0);
    return v;
}

static struct gslb *cur(void)
{
    return atomic_load(&g_srv.view)->gslb;
}

static void count(const char *name, unsigned times)
{
    int32_t ci = gslb_find_cluster(cur(), name);
    assert_true(ci >= 0);
    for (unsigned i = 0; i < times; i++)
        gslb_count_answer(cur(), i % ROWS, (uint32_t)ci);
}

/* Run the loop until the history holds n more samples (bounded). */
static void run_samples(uint64_t n)
{
    uint64_t want = g_h->nsamples + n, deadline = rt_now_ms() + (uint64_t)rt_ms(5000);
    while (g_h->nsamples < want && rt_now_ms() < deadline)
        uv_run(&g_loop, UV_RUN_ONCE);
    assert_true(g_h->nsamples >= want);
}

/* The sum of cluster name's answers over every sample held; -1 if it has no series. */
static long long answers_of(const char *name)
{
    json_t *j = history_json(g_h);
    size_t i, k;
    json_t *c, *v;
    long long sum = -1;
    json_array_foreach (json_object_get(j, "clusters"), i, c) {
        if (strcmp(json_string_value(json_object_get(c, "name")), name) != 0)
            continue;
        sum = 0;
        json_array_foreach (json_object_get(c, "answers"), k, v)
            sum += json_integer_value(v);
    }
    json_decref(j);
    return sum;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-hist-XXXXXX");
    assert_non_null(mkdtemp(dir));
    log_set_level(LOG_WARN);
    static const char *const names[] = {"a", "b", "c"};
    atomic_init(&g_srv.view, make_view(names, 3));
    assert_int_equal(uv_loop_init(&g_loop), 0);
    assert_int_equal(history_open(&g_h, &g_loop, &g_srv, NULL), 0);
    assert_non_null(g_h);
    assert_int_equal(g_h->interval_ms, 100); /* from api.history_interval_ms */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    uv_close((uv_handle_t *)&g_h->timer, NULL);
    uv_close((uv_handle_t *)&g_h->admin_timer, NULL);
    uv_run(&g_loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&g_loop), 0);
    history_free(g_h);
    view_free(atomic_load(&g_srv.view));
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_timer_samples_the_counter_rows(void **state)
{
    (void)state;
    run_samples(1);
    uint64_t t0 = rt_now_ms();
    count("a", 5);
    count("b", 2);
    run_samples(1);
    assert_int_equal(answers_of("a"), 5);
    assert_int_equal(answers_of("b"), 2);
    assert_int_equal(answers_of("c"), 0);
    run_samples(2); /* counted once, not again */
    assert_int_equal(answers_of("a"), 5);
    /* three samples at 100 ms took about 300 ms */
    uint64_t took = rt_now_ms() - t0;
    assert_true(took >= 250 && took <= (uint64_t)rt_ms(3000));
}

/* The newest event, once there are more than n (bounded wait); caller owns it. */
static json_t *event_after(size_t n)
{
    uint64_t deadline = rt_now_ms() + (uint64_t)rt_ms(3000);
    for (;;) {
        json_t *j = history_json(g_h);
        json_t *evs = json_object_get(j, "events");
        size_t have = json_array_size(evs);
        if (have > n || rt_now_ms() >= deadline) {
            json_t *last = have > n ? json_incref(json_array_get(evs, have - 1)) : NULL;
            json_decref(j);
            return last;
        }
        json_decref(j);
        uv_run(&g_loop, UV_RUN_ONCE);
    }
}

static size_t nevents(void)
{
    json_t *j = history_json(g_h);
    size_t n = json_array_size(json_object_get(j, "events"));
    json_decref(j);
    return n;
}

/* An admin change is marked within HISTORY_ADMIN_POLL_MS, not at the next sample. */
static void test_admin_change_is_marked(void **state)
{
    (void)state;
    size_t n = nevents();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t t_change = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    atomic_store(&cur()->admin[gslb_find_cluster(cur(), "b")], GSLB_ADMIN_DRAIN);
    json_t *last = event_after(n);
    assert_non_null(last);
    int64_t t = json_integer_value(json_object_get(last, "t"));
    assert_true(t >= t_change && t <= t_change + rt_ms(HISTORY_ADMIN_POLL_MS + 300));
    assert_string_equal(json_string_value(json_object_get(last, "kind")), "admin");
    assert_string_equal(json_string_value(json_object_get(last, "cluster")), "b");
    assert_string_equal(json_string_value(json_object_get(last, "to")), "drain");
    json_decref(last);
}

/* A reload: the old view's answers since the last sample are kept, the rings follow names,
 * the new view's counters (from 0) are read from the next sample on. */
static void test_reload_keeps_rings_by_name(void **state)
{
    (void)state;
    run_samples(1);
    long long a0 = answers_of("a"), b0 = answers_of("b");
    count("a", 4); /* answered by the old view, not sampled yet */
    static const char *const names2[] = {"b", "d", "a"};
    struct view *next = make_view(names2, 3);
    struct view *old = atomic_load(&g_srv.view);
    gslb_copy_states(next->gslb, old->gslb, true); /* b stays drained */
    history_reload(g_h, old, next);                /* what control_reload does before the swap */
    atomic_store(&g_srv.view, next);
    view_free(old);
    count("a", 1);
    count("d", 6);
    run_samples(1);
    assert_int_equal(answers_of("a"), a0 + 5);
    assert_int_equal(answers_of("b"), b0);
    assert_int_equal(answers_of("d"), 6);
    assert_int_equal(answers_of("c"), -1); /* dropped with its cluster */

    history_reload_failed(g_h, "c.json:3:4: no");
    json_t *j = history_json(g_h);
    json_t *evs = json_object_get(j, "events");
    size_t n = json_array_size(evs);
    assert_true(n >= 2);
    json_t *ok = json_array_get(evs, n - 2), *bad = json_array_get(evs, n - 1);
    assert_string_equal(json_string_value(json_object_get(ok, "kind")), "reload");
    assert_string_equal(json_string_value(json_object_get(ok, "result")), "ok");
    assert_string_equal(json_string_value(json_object_get(bad, "result")), "rejected");
    assert_string_equal(json_string_value(json_object_get(bad, "error")), "c.json:3:4: no");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_samples_the_counter_rows),
        cmocka_unit_test(test_admin_change_is_marked),
        cmocka_unit_test(test_reload_keeps_rings_by_name),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
