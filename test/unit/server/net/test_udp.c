/* test_udp.c: the UDP path (server/net/udp.c) through a real worker on 127.0.0.1: answers,
 * batches, truncation, oversized datagrams, and exact transport counters. */
#include "test/unit/server/test_rt_util.h"

#include "server/net/worker_int.h"

static struct rt g_rt;
static uint16_t g_dns;

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_dns = rt_free_port();
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}]}\n",
             g_dns);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
    g_rt.workers = true;
    rt_run(&g_rt, true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rt_stop(&g_rt);
    return 0;
}

/* Wait until the io counters reach sent (answers counted after the send returns). */
static void io_after(uint64_t sent, struct worker_io_stats *io)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
    do {
        rt_io(&g_rt, io);
        if (io->udp_sent >= sent)
            return;
        rt_sleep_ms(5);
    } while (rt_now_ms() < end);
}

static void test_answer_matches_question(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    uint8_t q[512], a[4096];
    size_t n = rt_query("WWW.t.", LDNS_RR_TYPE_A, 0xbeef, q, sizeof(q));
    int fd = rt_udp(g_dns);
    assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
    ssize_t r = rt_recv(fd, a, sizeof(a), 2000);
    assert_true(r > (ssize_t)n);
    close(fd);
    assert_int_equal(a[0], 0xbe);
    assert_int_equal(a[1], 0xef);
    assert_memory_equal(a + 12, q + 12, n - 12); /* the question, case kept */
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, a, (size_t)r), LDNS_STATUS_OK);
    assert_true(ldns_pkt_qr(p));
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 1);
    char *txt = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
    assert_string_equal(txt, "192.0.2.80");
    free(txt);
    ldns_pkt_free(p);
    io_after(io0.udp_sent + 1, &io);
    assert_int_equal(io.udp_received, io0.udp_received + 1);
    assert_int_equal(io.udp_sent, io0.udp_sent + 1);
    assert_int_equal(io.udp_dropped, io0.udp_dropped);
}

/* A burst larger than one recvmmsg batch: every query answered once, by its own ID. */
static void test_burst_all_answered(void **state)
{
    (void)state;
    enum { N = 3 * UDP_BATCH + 5 };
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = rt_udp(g_dns);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    for (int i = 0; i < N; i++) {
        uint8_t q[512];
        size_t n = rt_query(i % 2 ? "www.t." : "t.", i % 2 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_SOA,
                            (uint16_t)(1000 + i), q, sizeof(q));
        assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
    }
    bool seen[N] = {false};
    for (int k = 0; k < N; k++) {
        uint8_t a[4096];
        ssize_t r = rt_recv(fd, a, sizeof(a), 2000);
        if (r < 0)
            fail_msg("only %d of %d answers", k, N);
        int id = (a[0] << 8 | a[1]) - 1000;
        assert_true(id >= 0 && id < N);
        assert_false(seen[id]);
        seen[id] = true;
    }
    uint8_t extra[512];
    assert_true(rt_recv(fd, extra, sizeof(extra), 100) < 0); /* nothing answered twice */
    close(fd);
    io_after(io0.udp_sent + N, &io);
    assert_int_equal(io.udp_received, io0.udp_received + N);
    assert_int_equal(io.udp_sent, io0.udp_sent + N);
}

/* An answer over 512 bytes to a query without EDNS: TC set, within 512 bytes. */
static void test_truncation(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    uint8_t q[512], a[4096];
    size_t n = rt_query("big.t.", LDNS_RR_TYPE_TXT, 7, q, sizeof(q));
    int fd = rt_udp(g_dns);
    assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
    ssize_t r = rt_recv(fd, a, sizeof(a), 2000);
    close(fd);
    assert_true(r >= 12 && r <= 512);
    assert_true(a[2] & 0x02);        /* TC */
    io_after(io0.udp_sent + 1, &io); /* counted before the next test reads its baseline */
    assert_int_equal(io.udp_sent, io0.udp_sent + 1);
}

/* Datagrams over 4096 bytes are dropped unanswered (and counted); short junk too. */
static void test_oversized_and_junk(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = rt_udp(g_dns);
    uint8_t big[5000];
    size_t n = rt_query("www.t.", LDNS_RR_TYPE_A, 9, big, sizeof(big));
    memset(big + n, 0, sizeof(big) - n);
    assert_int_equal(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
    uint8_t junk[5] = {1, 2, 3, 4, 5};
    assert_int_equal(send(fd, junk, sizeof(junk), 0), 5);
    uint8_t a[512];
    assert_true(rt_recv(fd, a, sizeof(a), 300) < 0);
    /* the socket still answers afterwards */
    n = rt_query("www.t.", LDNS_RR_TYPE_A, 10, big, sizeof(big));
    assert_int_equal(send(fd, big, n, 0), (ssize_t)n);
    assert_true(rt_recv(fd, a, sizeof(a), 2000) > 0);
    assert_int_equal(a[1], 10);
    close(fd);
    io_after(io0.udp_sent + 1, &io);
    assert_int_equal(io.udp_received, io0.udp_received + 3);
    assert_int_equal(io.udp_dropped, io0.udp_dropped + 1); /* the oversized one */
    assert_int_equal(io.udp_sent, io0.udp_sent + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_matches_question),
        cmocka_unit_test(test_burst_all_answered),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_oversized_and_junk),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
