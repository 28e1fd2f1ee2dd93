/* test_worker.c: DNS workers (server/net/worker.c) on 127.0.0.1: the listen check, bind errors,
 * two workers sharing a port, answers following a view swap, and a clean stop. */
#include "test/unit/server/test_rt_util.h"

static void write_conf(struct rt *rt, uint16_t port, int workers)
{
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": %d, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}]}\n",
             port, workers);
    rt_write(rt, "gslbd.json", conf, 0644);
}

static struct conf *conf_on(const char *listen)
{
    struct conf *c = NULL;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_listen(c, listen, &e), 0);
    return c;
}

/* Anything holding the address, UDP or TCP, fails the check and is named. */
static void test_check_listen(void **state)
{
    (void)state;
    uint16_t port = rt_free_port();
    char text[40];
    snprintf(text, sizeof(text), "127.0.0.1:%u", port);
    struct conf *c = conf_on(text);
    struct err e = {{0}};
    assert_int_equal(worker_check_listen(c, &e), 0);

    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    for (int type = 0; type < 2; type++) {
        int fd = socket(AF_INET, type == 0 ? SOCK_DGRAM : SOCK_STREAM, 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        if (type == 1)
            assert_int_equal(listen(fd, 1), 0);
        memset(&e, 0, sizeof(e));
        assert_int_equal(worker_check_listen(c, &e), -EADDRINUSE);
        if (strstr(e.msg, text) == NULL)
            fail_msg("message does not name %s: %s", text, e.msg);
        close(fd);
    }
    assert_int_equal(worker_check_listen(c, &e), 0);
    conf_free(c);
}

/* A bind error comes back from worker_start with the address, and *out is untouched. */
static void test_start_bind_error(void **state)
{
    (void)state;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_nonlocal_bind", "r");
    int nonlocal = f != NULL ? fgetc(f) : '0';
    if (f != NULL)
        fclose(f);
    if (nonlocal == '1')
        skip(); /* the kernel lets any address be bound: there is no bind error to see */
    struct rt rt;
    rt_init(&rt);
    write_conf(&rt, rt_free_port(), 1);
    rt_run(&rt, true); /* no workers started by the runtime (rt.workers is false) */
    /* a reload to an address this machine does not have (never sent to: bind only) */
    rt_write(&rt, "gslbd.json",
             "{\"listen\": [\"192.0.2.1:53\"], \"zones\": [{\"origin\": \"t.\", \"file\": "
             "\"t.zone\"}]}\n",
             0644);
    struct err e = {{0}};
    struct view *v = NULL;
    assert_int_equal(rt_build(&rt, &v, &e), 0);
    server_swap_view(&rt.srv, v);
    struct worker *w = (struct worker *)(uintptr_t)0x5e5e;
    int rc = worker_start(&rt.srv, 0, &w, &e);
    assert_int_equal(rc, -EADDRNOTAVAIL);
    assert_ptr_equal(w, (struct worker *)(uintptr_t)0x5e5e);
    assert_non_null(strstr(e.msg, "192.0.2.1:53"));
    rt_stop(&rt);
}

/* Two workers on one port (SO_REUSEPORT): the kernel spreads clients over both, and the
 * per-worker counters add up to what was sent. */
static void test_two_workers_share_the_port(void **state)
{
    (void)state;
    struct rt rt;
    rt_init(&rt);
    uint16_t port = rt_free_port();
    write_conf(&rt, port, 2);
    rt.workers = true;
    rt_run(&rt, true);
    assert_int_equal(rt.started, 2);
    enum { CLIENTS = 40 };
    for (int i = 0; i < CLIENTS; i++) { /* one socket each: a different source port */
        ldns_pkt *p = rt_ask_udp(port, "www.t.", LDNS_RR_TYPE_A);
        assert_non_null(p);
        ldns_pkt_free(p);
    }
    uint64_t sum = 0;
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
    unsigned busy = 0;
    do {
        sum = 0;
        busy = 0;
        for (unsigned w = 0; w < 2; w++) {
            struct query_stats s;
            worker_stats(rt.srv.workers[w], &s);
            sum += s.queries;
            busy += s.queries > 0;
        }
        if (sum == CLIENTS)
            break;
        rt_sleep_ms(5);
    } while (rt_now_ms() < end);
    assert_int_equal(sum, CLIENTS);
    assert_int_equal(busy, 2); /* all 40 on one worker: odds 2^-39 unless the port is not shared */

    /* answers follow a view swap */
    rt_write(&rt, "t.zone",
             "$ORIGIN t.\n$TTL 300\n@ IN SOA ns.t. h.t. 8 2 3 4 5\n@ IN NS ns.t.\n"
             "www IN A 192.0.2.81\n",
             0644);
    struct err e = {{0}};
    struct view *v = NULL;
    assert_int_equal(rt_build(&rt, &v, &e), 0);
    server_swap_view(&rt.srv, v);
    for (int i = 0; i < 10; i++) {
        ldns_pkt *p = rt_ask_udp(port, "www.t.", LDNS_RR_TYPE_A);
        assert_non_null(p);
        char *txt = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
        assert_string_equal(txt, "192.0.2.81");
        free(txt);
        ldns_pkt_free(p);
    }

    /* stop: no more answers, and the address is free again */
    kill(getpid(), SIGTERM);
    assert_true(rt_wait_flag(&rt.done, 5000));
    for (unsigned w = 0; w < rt.started; w++) {
        worker_stop(rt.srv.workers[w]);
        worker_free(rt.srv.workers[w]);
    }
    rt.started = 0;
    assert_null(rt_ask_udp(port, "www.t.", LDNS_RR_TYPE_A));
    assert_int_equal(worker_check_listen(atomic_load(&rt.srv.view)->conf, &e), 0);
    worker_free(NULL);
    rt_stop(&rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_listen),
        cmocka_unit_test(test_start_bind_error),
        cmocka_unit_test(test_two_workers_share_the_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
