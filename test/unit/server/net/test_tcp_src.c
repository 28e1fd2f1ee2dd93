/* test_tcp_src.c: the per-address count of open TCP connections across workers
 * (server/net/tcp_src.c): the cap, release and reuse, many addresses in one small table
 * (probe runs and backward-shift deletion), a full stripe, and threads that acquire and
 * release one address at once without ever holding more than the cap or leaking a count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>

#include "server/net/tcp_src.h"

static void key_v4(uint8_t key[TCP_SRC_KEY_LEN], uint32_t addr)
{
    memset(key, 0, TCP_SRC_KEY_LEN);
    key[0] = AF_INET;
    key[1] = (uint8_t)(addr >> 24);
    key[2] = (uint8_t)(addr >> 16);
    key[3] = (uint8_t)(addr >> 8);
    key[4] = (uint8_t)addr;
}

static void test_cap_and_release(void **state)
{
    (void)state;
    struct tcp_src *t = NULL;
    assert_int_equal(tcp_src_new(10, &t), 0);
    assert_int_equal(tcp_src_entries(t), 1024);
    uint8_t a[TCP_SRC_KEY_LEN], b[TCP_SRC_KEY_LEN];
    key_v4(a, 0x7f000001);
    key_v4(b, 0x7f000002);
    for (int cycle = 0; cycle < 3; cycle++) {
        for (int i = 0; i < 8; i++)
            assert_int_equal(tcp_src_acquire(t, a, 8), TCP_SRC_HELD);
        assert_int_equal(tcp_src_acquire(t, a, 8), TCP_SRC_AT_CAP);
        assert_int_equal(tcp_src_count(t, a), 8);
        /* another address is not touched by a's cap */
        assert_int_equal(tcp_src_acquire(t, b, 8), TCP_SRC_HELD);
        assert_int_equal(tcp_src_count(t, b), 1);
        /* one closes: one more may open */
        tcp_src_release(t, a);
        assert_int_equal(tcp_src_acquire(t, a, 8), TCP_SRC_HELD);
        assert_int_equal(tcp_src_acquire(t, a, 8), TCP_SRC_AT_CAP);
        /* a lower cap (a reload) refuses until enough have closed */
        assert_int_equal(tcp_src_acquire(t, a, 4), TCP_SRC_AT_CAP);
        for (int i = 0; i < 8; i++)
            tcp_src_release(t, a);
        tcp_src_release(t, b);
        assert_int_equal(tcp_src_count(t, a), 0);
        assert_int_equal(tcp_src_addresses(t), 0);
    }
    /* an IPv6 address differs from an IPv4 one with the same leading bytes */
    uint8_t v6[TCP_SRC_KEY_LEN];
    memcpy(v6, a, sizeof(v6));
    v6[0] = AF_INET6;
    assert_int_equal(tcp_src_acquire(t, a, 1), TCP_SRC_HELD);
    assert_int_equal(tcp_src_acquire(t, v6, 1), TCP_SRC_HELD);
    assert_int_equal(tcp_src_acquire(t, a, 1), TCP_SRC_AT_CAP);
    tcp_src_release(t, a);
    tcp_src_release(t, v6);
    /* a release of an address never counted changes nothing */
    tcp_src_release(t, b);
    assert_int_equal(tcp_src_addresses(t), 0);
    tcp_src_free(t);
    tcp_src_free(NULL);
}

/* 900 addresses in a 1024-slot table (16 per stripe, so long probe runs and wrap-around),
 * released in an order unlike the insertion order: every count stays findable. */
static void test_many_addresses(void **state)
{
    (void)state;
    struct tcp_src *t = NULL;
    assert_int_equal(tcp_src_new(1024, &t), 0);
    enum { N = 900 };
    uint8_t k[TCP_SRC_KEY_LEN];
    unsigned untracked = 0;
    bool held[N] = {false};
    for (uint32_t i = 0; i < N; i++) {
        key_v4(k, 0x0a000000 + i * 7919u);
        for (uint32_t j = 0; j <= i % 3; j++) {
            enum tcp_src_result r = tcp_src_acquire(t, k, 3);
            if (r == TCP_SRC_UNTRACKED) {
                untracked++;
                break;
            }
            assert_int_equal(r, TCP_SRC_HELD);
            held[i] = true;
        }
    }
    for (uint32_t i = 0; i < N; i++) {
        key_v4(k, 0x0a000000 + i * 7919u);
        if (held[i])
            assert_int_equal(tcp_src_count(t, k), i % 3 + 1);
    }
    /* release every other address first, then the rest: the survivors stay findable */
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = (uint32_t)pass; i < N; i += 2) {
            key_v4(k, 0x0a000000 + i * 7919u);
            if (!held[i])
                continue;
            for (uint32_t j = 0; j <= i % 3; j++)
                tcp_src_release(t, k);
            assert_int_equal(tcp_src_count(t, k), 0);
        }
        for (uint32_t i = 1 - (uint32_t)pass; pass == 0 && i < N; i += 2) {
            key_v4(k, 0x0a000000 + i * 7919u);
            if (held[i])
                assert_int_equal(tcp_src_count(t, k), i % 3 + 1);
        }
    }
    assert_int_equal(tcp_src_addresses(t), 0);
    /* a stripe may fill at 88% load; most addresses are held all the same */
    assert_true(untracked < N / 10);
    tcp_src_free(t);
}

/* More addresses than the table has slots: the ones that find their stripe full are let in
 * uncounted (TCP_SRC_UNTRACKED), never refused and never counted wrongly. */
static void test_full_stripe(void **state)
{
    (void)state;
    struct tcp_src *t = NULL;
    assert_int_equal(tcp_src_new(1024, &t), 0);
    uint8_t k[TCP_SRC_KEY_LEN];
    unsigned held = 0, untracked = 0;
    for (uint32_t i = 0; i < 4096; i++) {
        key_v4(k, 0xc0000000 + i);
        enum tcp_src_result r = tcp_src_acquire(t, k, 1);
        assert_true(r == TCP_SRC_HELD || r == TCP_SRC_UNTRACKED);
        held += r == TCP_SRC_HELD;
        untracked += r == TCP_SRC_UNTRACKED;
    }
    assert_int_equal(held, 1024);
    assert_int_equal(untracked, 4096 - 1024);
    assert_int_equal(tcp_src_addresses(t), 1024);
    for (uint32_t i = 0; i < 4096; i++) {
        key_v4(k, 0xc0000000 + i);
        if (tcp_src_count(t, k) == 1)
            tcp_src_release(t, k);
    }
    assert_int_equal(tcp_src_addresses(t), 0);
    tcp_src_free(t);
}

/* ---- threads: one address from several workers at once ---- */

enum { THREADS = 4, ROUNDS = 20000, CAP = 8 };

struct race {
    struct tcp_src *t;
    uint8_t key[TCP_SRC_KEY_LEN];
    _Atomic int open;     /* connections held right now, by every thread */
    _Atomic int max_seen; /* the most ever held at once */
    _Atomic unsigned refused;
};

static void *race_main(void *arg)
{
    struct race *r = arg;
    int mine = 0;
    for (int i = 0; i < ROUNDS; i++) {
        if (mine < 3 && tcp_src_acquire(r->t, r->key, CAP) == TCP_SRC_HELD) {
            mine++;
            int now = atomic_fetch_add(&r->open, 1) + 1;
            int seen = atomic_load(&r->max_seen);
            while (now > seen && !atomic_compare_exchange_weak(&r->max_seen, &seen, now))
                ;
        } else if (mine > 0) {
            atomic_fetch_sub(&r->open, 1);
            tcp_src_release(r->t, r->key);
            mine--;
        } else {
            atomic_fetch_add(&r->refused, 1);
        }
    }
    while (mine-- > 0) {
        atomic_fetch_sub(&r->open, 1);
        tcp_src_release(r->t, r->key);
    }
    return NULL;
}

static void test_threads_hold_the_cap(void **state)
{
    (void)state;
    static struct race r;
    assert_int_equal(tcp_src_new(1024, &r.t), 0);
    key_v4(r.key, 0x7f000001);
    atomic_init(&r.open, 0);
    atomic_init(&r.max_seen, 0);
    atomic_init(&r.refused, 0);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_main, &r), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    /* 4 threads wanting 3 each: 12 > 8, so the cap was met, and never passed */
    assert_true(atomic_load(&r.max_seen) <= CAP);
    assert_true(atomic_load(&r.max_seen) >= 2);
    /* every count was given back */
    assert_int_equal(tcp_src_count(r.t, r.key), 0);
    assert_int_equal(tcp_src_addresses(r.t), 0);
    for (int i = 0; i < CAP; i++)
        assert_int_equal(tcp_src_acquire(r.t, r.key, CAP), TCP_SRC_HELD);
    assert_int_equal(tcp_src_acquire(r.t, r.key, CAP), TCP_SRC_AT_CAP);
    tcp_src_free(r.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_and_release),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_full_stripe),
        cmocka_unit_test(test_threads_hold_the_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
