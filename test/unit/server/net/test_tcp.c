/* test_tcp.c: DNS over TCP (server/net/tcp.c) through a real worker on 127.0.0.1: pipelining,
 * large answers, the idle and I/O timeouts, a short length prefix (HDR-4), and the
 * connection limits (TCP-6). The framing itself is tested where it is defined. */
#include "test/unit/server/test_rt_util.h"

#include <netinet/tcp.h>

static struct rt g_rt;
static uint16_t g_dns;

/* The timeouts as configured (before any slowdown): I/O well under idle, so that a partial
 * message meets the I/O timeout first (the sweep checks both every 250 ms). */
enum { IDLE_MS = 1000, IO_MS = 200 };

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_dns = rt_free_port();
    char conf[1024];
    /* the timeouts scale with the slowdown so a slow machine does not cut a test short */
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"tcp\": {\"idle_timeout_ms\": %d, \"io_timeout_ms\": %d, \"max_connections\": 3,"
             " \"max_per_source\": 100},\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}]}\n",
             g_dns, rt_ms(IDLE_MS), rt_ms(IO_MS));
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

static int tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(g_dns), .sin_addr.s_addr = htonl(0x7f000001)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Read exactly n bytes within ms (scaled); the count read (short on EOF or timeout). */
static size_t read_n(int fd, uint8_t *buf, size_t n, int ms)
{
    size_t got = 0;
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(ms);
    while (got < n) {
        int left = (int)(end - rt_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* One length-prefixed answer; its length, or 0 on EOF/timeout. */
static size_t read_msg(int fd, uint8_t *buf, size_t cap, int ms)
{
    uint8_t l[2];
    if (read_n(fd, l, 2, ms) != 2)
        return 0;
    size_t n = (size_t)l[0] << 8 | l[1];
    assert_true(n <= cap);
    return read_n(fd, buf, n, ms) == n ? n : 0;
}

/* Milliseconds until the server closes fd (EOF or reset), at most ms (scaled); -1 if open. */
static long closed_after(int fd, int ms)
{
    uint64_t t0 = rt_now_ms(), end = t0 + (uint64_t)rt_ms(ms);
    for (;;) {
        int left = (int)(end - rt_now_ms());
        struct pollfd p = {fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        uint8_t b[512];
        ssize_t r = recv(fd, b, sizeof(b), 0);
        if (r <= 0)
            return (long)(rt_now_ms() - t0);
    }
}

static size_t framed(const char *name, ldns_rr_type type, uint16_t id, uint8_t *out)
{
    size_t n = rt_query(name, type, id, out + 2, 510);
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    return n + 2;
}

/* Several queries in one write: each answered, in order, on the same connection. */
static void test_pipelining(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = tcp_connect();
    uint8_t buf[4096];
    size_t len = 0;
    for (uint16_t i = 0; i < 5; i++)
        len += framed(i % 2 ? "www.t." : "t.", i % 2 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_NS,
                      (uint16_t)(500 + i), buf + len);
    assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
    for (uint16_t i = 0; i < 5; i++) {
        uint8_t a[65535];
        size_t n = read_msg(fd, a, sizeof(a), 2000);
        assert_true(n >= 12);
        assert_int_equal(a[0] << 8 | a[1], 500 + i);
    }
    /* the rest of a message split over two writes is waited for */
    len = framed("www.t.", LDNS_RR_TYPE_A, 600, buf);
    assert_int_equal(send(fd, buf, 7, 0), 7);
    rt_sleep_ms(50);
    assert_int_equal(send(fd, buf + 7, len - 7, 0), (ssize_t)(len - 7));
    uint8_t a[65535];
    size_t n = read_msg(fd, a, sizeof(a), 2000);
    assert_true(n >= 12);
    assert_int_equal(a[0] << 8 | a[1], 600);
    close(fd);
    rt_io(&g_rt, &io);
    assert_int_equal(io.tcp_messages, io0.tcp_messages + 6);
    assert_int_equal(io.tcp_accepted, io0.tcp_accepted + 1);
}

/* Over TCP the answer is whole, never truncated. */
static void test_large_answer(void **state)
{
    (void)state;
    int fd = tcp_connect();
    uint8_t q[512], a[65535];
    size_t len = framed("big.t.", LDNS_RR_TYPE_TXT, 77, q);
    assert_int_equal(send(fd, q, len, 0), (ssize_t)len);
    size_t n = read_msg(fd, a, sizeof(a), 2000);
    close(fd);
    assert_true(n > 512);
    assert_false(a[2] & 0x02);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, a, n), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_ancount(p), 8);
    ldns_pkt_free(p);
}

/* A length prefix under 12 cannot hold a header: the connection is closed (HDR-4), after
 * the answers to the queries before it. */
static void test_short_length_closes(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = tcp_connect();
    uint8_t buf[600];
    size_t len = framed("www.t.", LDNS_RR_TYPE_A, 900, buf);
    buf[len++] = 0;
    buf[len++] = 11;
    memset(buf + len, 0, 11);
    len += 11;
    assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
    uint8_t a[65535];
    size_t n = read_msg(fd, a, sizeof(a), 2000);
    assert_true(n >= 12);
    assert_int_equal(a[0] << 8 | a[1], 900);
    assert_true(closed_after(fd, 2000) >= 0);
    close(fd);
    rt_io(&g_rt, &io);
    assert_int_equal(io.tcp_bad_length, io0.tcp_bad_length + 1);
}

/* No complete query within idle_timeout_ms: closed, and counted as an idle timeout. */
static void test_idle_timeout(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = tcp_connect();
    long ms = closed_after(fd, IDLE_MS + 3000);
    close(fd);
    assert_true(ms >= 0);
    assert_true(ms >= IDLE_MS - 50); /* not before the timeout (the sweep runs every 250 ms) */
    rt_io(&g_rt, &io);
    assert_int_equal(io.tcp_idle_timeouts, io0.tcp_idle_timeouts + 1);
    assert_int_equal(io.tcp_io_timeouts, io0.tcp_io_timeouts);
}

/* A message started but not finished within io_timeout_ms: closed as an I/O timeout. */
static void test_io_timeout(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    rt_io(&g_rt, &io0);
    int fd = tcp_connect();
    uint8_t part[5] = {0, 40, 1, 2, 3}; /* 40 bytes announced, 3 sent */
    assert_int_equal(send(fd, part, sizeof(part), 0), 5);
    long ms = closed_after(fd, IO_MS + 3000);
    close(fd);
    assert_true(ms >= 0);
    assert_true(ms >= IO_MS - 50);
    rt_io(&g_rt, &io);
    assert_int_equal(io.tcp_io_timeouts, io0.tcp_io_timeouts + 1);
}

/* TCP-6: at max_connections a new client evicts the longest-idle one; the rest stay. */
static void test_max_connections_evicts_oldest(void **state)
{
    (void)state;
    struct worker_io_stats io0, io;
    /* the earlier tests' connections are gone first, so only ours count toward the limit */
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
    do {
        rt_io(&g_rt, &io0);
        rt_sleep_ms(5);
    } while (io0.tcp_open > 0 && rt_now_ms() < end);
    assert_int_equal(io0.tcp_open, 0);
    int fds[4];
    for (int i = 0; i < 3; i++) {
        fds[i] = tcp_connect();
        rt_sleep_ms(20);
    }
    /* make the first one the most recently active: the second is now the longest idle */
    uint8_t q[512], a[65535];
    size_t len = framed("www.t.", LDNS_RR_TYPE_A, 1, q);
    assert_int_equal(send(fds[0], q, len, 0), (ssize_t)len);
    assert_true(read_msg(fds[0], a, sizeof(a), 2000) > 0);
    fds[3] = tcp_connect();
    assert_true(closed_after(fds[1], 2000) >= 0);
    for (int i = 0; i < 4; i++) {
        if (i == 1)
            continue;
        len = framed("www.t.", LDNS_RR_TYPE_A, (uint16_t)(10 + i), q);
        assert_int_equal(send(fds[i], q, len, 0), (ssize_t)len);
        size_t n = read_msg(fds[i], a, sizeof(a), 2000);
        if (n == 0)
            fail_msg("connection %d got no answer", i);
        assert_int_equal(a[1], 10 + i);
    }
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    rt_io(&g_rt, &io);
    assert_int_equal(io.tcp_evicted, io0.tcp_evicted + 1);
    assert_int_equal(io.tcp_accepted, io0.tcp_accepted + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_large_answer),
        cmocka_unit_test(test_short_length_closes),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_io_timeout),
        cmocka_unit_test(test_max_connections_evicts_oldest),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
