/* test_rcu.c: the writer's wait (server/rcu.c): it returns only once every reader that was
 * inside a span has left it, and never waits for readers outside one or in a newer span. */
#include "test_rt_util.h"

#include "server/rcu.h"

enum { NREADERS = 4 };
static struct rcu_reader g_readers[NREADERS];
static _Atomic int g_synced;

static void *writer(void *arg)
{
    (void)arg;
    rcu_synchronize(g_readers, NREADERS);
    atomic_store(&g_synced, 1);
    return NULL;
}

static void test_no_reader_in_a_span(void **state)
{
    (void)state;
    for (int i = 0; i < NREADERS; i++) {
        atomic_init(&g_readers[i].ctr, 0);
        rcu_read_begin(&g_readers[i]);
        rcu_read_end(&g_readers[i]); /* even: outside */
    }
    atomic_store(&g_synced, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    assert_true(rt_wait_flag(&g_synced, 2000));
    pthread_join(t, NULL);
    rcu_synchronize(g_readers, 0); /* no readers at all: returns at once */
}

static void test_waits_for_each_reader_in_a_span(void **state)
{
    (void)state;
    for (int i = 0; i < NREADERS; i++)
        atomic_init(&g_readers[i].ctr, 0);
    rcu_read_begin(&g_readers[1]);
    rcu_read_begin(&g_readers[3]);
    atomic_store(&g_synced, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    rt_sleep_ms(100);
    assert_false(atomic_load(&g_synced));
    rcu_read_end(&g_readers[1]);
    rt_sleep_ms(100);
    assert_false(atomic_load(&g_synced)); /* reader 3 is still inside */
    /* reader 3 leaves and enters a new span: that span began after the wait, no matter */
    rcu_read_end(&g_readers[3]);
    rcu_read_begin(&g_readers[3]);
    assert_true(rt_wait_flag(&g_synced, 2000));
    pthread_join(t, NULL);
    rcu_read_end(&g_readers[3]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_reader_in_a_span),
        cmocka_unit_test(test_waits_for_each_reader_in_a_span),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
