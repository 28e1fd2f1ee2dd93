/* test_api_guard.c: the HTTP API's connection limits (server/api/api_guard.c, and the MHD
 * options api.c sets from the same keys) through a real libmicrohttpd on 127.0.0.1: the
 * per-address limit, the whole-request deadline that trickled bytes do not extend (also
 * for the next request on a kept-alive connection), and the reserve that closes the
 * connection waiting longest once three quarters of the connections are open. Each source
 * address is a different 127/8 address, so the tests do not share a per-address count. */
#include "test/unit/server/test_rt_util.h"

#include "server/api/api_int.h"

static struct rt g_rt;
static uint16_t g_port;

enum { MAX_CONN = 8, PER_SOURCE = 3, DEADLINE_MS = 1500 };

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 1, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\", \"max_connections\": %d,"
             " \"max_per_source\": %d, \"request_timeout_ms\": %d}}\n",
             rt_free_port(), g_port, MAX_CONN, PER_SOURCE, rt_ms(DEADLINE_MS));
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

/* Connections the guard tracks now. */
static unsigned tracked(void)
{
    struct api_guard *g = &g_rt.apih->guard;
    pthread_mutex_lock(&g->lock);
    unsigned n = g->n;
    pthread_mutex_unlock(&g->lock);
    return n;
}

/* The guard's close counters: request deadline, reserve. */
static void closes(uint64_t *timed_out, uint64_t *pushed_out)
{
    struct api_guard *g = &g_rt.apih->guard;
    pthread_mutex_lock(&g->lock);
    *timed_out = g->timed_out;
    *pushed_out = g->pushed_out;
    pthread_mutex_unlock(&g->lock);
}

/* Each test starts and ends with no connection open. */
static int drained(void **state)
{
    (void)state;
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(3000);
    while (tracked() > 0 && rt_now_ms() < end)
        rt_sleep_ms(10);
    assert_int_equal(tracked(), 0);
    return 0;
}

/* A TCP connection to the API from src (a 127/8 address). */
static int connect_from(const char *src)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in me = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &me.sin_addr);
    assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(g_port), .sin_addr.s_addr = htonl(0x7f000001)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Whether the server closed fd (EOF or reset) within ms; data read is skipped. */
static bool closed_within(int fd, int ms)
{
    uint64_t end = rt_now_ms() + (uint64_t)ms;
    for (;;) {
        int left = (int)(end - rt_now_ms());
        if (left <= 0)
            return false;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            return false;
        char buf[512];
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return true;
    }
}

/* Wait until the guard tracks n connections (MHD reports them from its own thread). */
static void wait_tracked(unsigned n)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
    while (tracked() != n && rt_now_ms() < end)
        rt_sleep_ms(5);
    assert_int_equal(tracked(), n);
}

static void test_per_source(void **state)
{
    (void)state;
    int fd[PER_SOURCE + 1];
    for (int i = 0; i < PER_SOURCE; i++)
        fd[i] = connect_from("127.0.6.1");
    wait_tracked(PER_SOURCE);
    /* one more from the same address is closed at once, without being tracked */
    fd[PER_SOURCE] = connect_from("127.0.6.1");
    assert_true(closed_within(fd[PER_SOURCE], rt_ms(1000)));
    for (int i = 0; i < PER_SOURCE; i++)
        assert_false(closed_within(fd[i], 50));
    /* another address is served meanwhile */
    int other = connect_from("127.0.6.2");
    assert_false(closed_within(other, 50));
    for (int i = 0; i <= PER_SOURCE; i++)
        close(fd[i]);
    close(other);
}

/* A byte every 100 ms: never idle, yet closed at the deadline, not before. */
static void test_deadline_despite_trickle(void **state)
{
    (void)state;
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: aaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int fd = connect_from("127.0.6.3");
    uint64_t t0 = rt_now_ms();
    bool closed = false;
    for (size_t i = 0; i < sizeof(req) - 1 && !closed; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1)
            break;
        closed = closed_within(fd, 100);
    }
    if (!closed)
        closed = closed_within(fd, rt_ms(2000));
    uint64_t took = rt_now_ms() - t0, timed_out, pushed_out;
    closes(&timed_out, &pushed_out);
    assert_true(closed);
    assert_true(took + 20 >= (uint64_t)rt_ms(DEADLINE_MS));
    assert_true(took <= (uint64_t)rt_ms(DEADLINE_MS) + (uint64_t)rt_ms(1000));
    assert_true(timed_out >= 1);
    close(fd);
}

/* The deadline of the next request on a kept-alive connection runs from the response. */
static void test_deadline_after_keepalive(void **state)
{
    (void)state;
    int fd = connect_from("127.0.6.4");
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
    char buf[1024];
    struct pollfd p = {fd, POLLIN, 0};
    assert_int_equal(poll(&p, 1, rt_ms(2000)), 1);
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 12);
    buf[n] = '\0';
    assert_true(strncmp(buf, "HTTP/1.1 200", 12) == 0);
    uint64_t t0 = rt_now_ms();
    assert_true(closed_within(fd, rt_ms(DEADLINE_MS) + rt_ms(1000)));
    assert_true(rt_now_ms() - t0 + 20 >= (uint64_t)rt_ms(DEADLINE_MS));
    close(fd);
}

/* Past three quarters of max_connections (6 of 8), each new connection closes the one
 * that has waited longest for its request; a client that asks at once is answered. */
static void test_reserve(void **state)
{
    (void)state;
    enum { KEEP = MAX_CONN - MAX_CONN / 4 };
    static const char *const src[] = {"127.0.7.1", "127.0.7.2", "127.0.7.3", "127.0.7.4"};
    int fd[KEEP + 1];
    uint64_t timed_out, pushed, now_pushed;
    closes(&timed_out, &pushed);
    for (int i = 0; i < KEEP; i++) {
        fd[i] = connect_from(src[i % 4]);
        wait_tracked((unsigned)i + 1);
    }
    for (int i = 0; i < KEEP; i++)
        assert_false(closed_within(fd[i], 20));
    /* the seventh closes the first */
    fd[KEEP] = connect_from(src[KEEP % 4]);
    assert_true(closed_within(fd[0], rt_ms(1000)));
    for (int i = 1; i <= KEEP; i++)
        assert_false(closed_within(fd[i], 20));
    closes(&timed_out, &now_pushed);
    assert_int_equal(now_pushed, pushed + 1);
    /* a request that comes whole is answered (it closes the second on its way in) */
    struct rt_http h;
    rt_http(g_port, "GET", "/healthz", NULL, NULL, &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    assert_true(closed_within(fd[1], rt_ms(1000)));
    for (int i = 0; i <= KEEP; i++)
        close(fd[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_per_source, drained, drained),
        cmocka_unit_test_setup_teardown(test_deadline_despite_trickle, drained, drained),
        cmocka_unit_test_setup_teardown(test_deadline_after_keepalive, drained, drained),
        cmocka_unit_test_setup_teardown(test_reserve, drained, drained),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
