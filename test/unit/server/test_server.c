/* test_server.c: publishing a view (server/server.c): the new one is visible at once, and the
 * swap returns (freeing the old view) only after readers that may hold it have left. */
#include "test_rt_util.h"

enum { NREADERS = 3 };
static struct server g_srv;
static _Atomic int g_swapped;

static struct view *make_view(void)
{
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_zone(c, "example", "test/data/engine/example.zone", &e), 0);
    struct view *v = NULL;
    if (view_build(c, &v, &e) < 0)
        fail_msg("%s", e.msg);
    return v;
}

struct swap_arg {
    struct view *v;
};

static void *swapper(void *arg)
{
    struct swap_arg *a = arg;
    server_swap_view(&g_srv, a->v);
    atomic_store(&g_swapped, 1);
    return NULL;
}

static void test_swap_waits_for_readers(void **state)
{
    (void)state;
    log_set_level(LOG_WARN);
    g_srv.readers = aligned_alloc(64, sizeof(*g_srv.readers) * NREADERS);
    assert_non_null(g_srv.readers);
    g_srv.nreaders = NREADERS;
    for (int i = 0; i < NREADERS; i++)
        atomic_init(&g_srv.readers[i].ctr, 0);
    struct view *v0 = make_view();
    atomic_init(&g_srv.view, v0);

    /* reader 2 holds v0 */
    rcu_read_begin(&g_srv.readers[2]);
    const struct view *held = atomic_load(&g_srv.view);
    assert_ptr_equal(held, v0);

    struct swap_arg a = {make_view()};
    atomic_store(&g_swapped, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, swapper, &a), 0);
    /* the new view is published before the wait ... */
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
    while (atomic_load(&g_srv.view) != a.v && rt_now_ms() < end)
        rt_sleep_ms(1);
    assert_ptr_equal(atomic_load(&g_srv.view), a.v);
    /* ... and the old one stays usable while the reader is inside its span */
    rt_sleep_ms(100);
    assert_false(atomic_load(&g_swapped));
    assert_int_equal(held->nzones, 1);
    assert_true(held->zones[0]->nnodes > 0);
    rcu_read_end(&g_srv.readers[2]);
    assert_true(rt_wait_flag(&g_swapped, 2000));
    pthread_join(t, NULL);

    /* no reader inside: the swap does not wait */
    atomic_store(&g_swapped, 0);
    struct swap_arg b = {make_view()};
    assert_int_equal(pthread_create(&t, NULL, swapper, &b), 0);
    assert_true(rt_wait_flag(&g_swapped, 2000));
    pthread_join(t, NULL);
    assert_ptr_equal(atomic_load(&g_srv.view), b.v);
    view_free(b.v);
    free(g_srv.readers);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swap_waits_for_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
