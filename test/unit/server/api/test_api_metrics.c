/* test_api_metrics.c: GET /metrics (server/api/api_metrics.c): the Prometheus text format, and
 * counters that match exactly the queries the test sent over real UDP and TCP. */
#include "test/unit/server/test_rt_util.h"

static struct rt g_rt;
static uint16_t g_port, g_dns;
static const char *const auth[] = {"Authorization: Bearer s3cret-token", NULL};

static int setup(void **state)
{
    (void)state;
    rt_init(&g_rt);
    g_port = rt_free_port();
    g_dns = rt_free_port();
    char conf[2000];
    snprintf(conf, sizeof(conf),
             "{\"listen\": [\"127.0.0.1:%u\"], \"workers\": 2, \"startup_wait_ms\": 0,\n"
             " \"zones\": [{\"origin\": \"t.\", \"file\": \"t.zone\"}],\n"
             " \"regions\": [{\"name\": \"r1\", \"lat\": 1, \"lon\": 2}],\n"
             " \"clusters\": [{\"name\": \"c1\", \"region\": \"r1\", \"addresses\": "
             "[\"192.0.2.7\"]}, {\"name\": \"c2\", \"region\": \"r1\", \"addresses\": "
             "[\"192.0.2.8\"]}],\n"
             " \"services\": [{\"name\": \"app.t.\", \"policy\": \"failover\", \"clusters\": "
             "[\"c1\", \"c2\"]}],\n"
             " \"api\": {\"listen\": \"127.0.0.1:%u\", \"token_file\": \"token\"}}\n",
             g_dns, g_port);
    rt_write(&g_rt, "gslbd.json", conf, 0644);
    g_rt.api = true;
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

static char *get_metrics(void)
{
    struct rt_http h;
    rt_http(g_port, "GET", "/metrics", NULL, NULL, &h);
    assert_int_equal(h.status, 200);
    assert_true(rt_has_header(&h, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(h.body);
    return h.body;
}

/* The value of the series written exactly as series ("name{labels}"); fails if absent. */
static double value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p != NULL && *p != '\0';) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    fail_msg("no series %s", series);
    return -1;
}

/* Every sample's family has "# HELP" and "# TYPE" lines before it, once; values parse. */
static void test_format(void **state)
{
    (void)state;
    char *m = get_metrics();
    char declared[200][64];
    size_t nd = 0;
    char *save = NULL;
    for (char *line = strtok_r(m, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char name[64];
        if (strncmp(line, "# HELP ", 7) == 0)
            continue;
        if (sscanf(line, "# TYPE %63s", name) == 1) {
            for (size_t i = 0; i < nd; i++)
                if (strcmp(declared[i], name) == 0)
                    fail_msg("%s declared twice", name);
            assert_true(nd < 200);
            snprintf(declared[nd++], sizeof(declared[0]), "%s", name);
            const char *type = line + 8 + strlen(name);
            assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0);
            continue;
        }
        size_t k = strcspn(line, "{ ");
        assert_true(k > 0 && k < sizeof(name));
        memcpy(name, line, k);
        name[k] = '\0';
        assert_true(nd > 0);
        if (strcmp(declared[nd - 1], name) != 0) /* samples follow their own family */
            fail_msg("%s under family %s", name, declared[nd - 1]);
        char *sp = strrchr(line, ' ');
        assert_non_null(sp);
        char *end;
        strtod(sp + 1, &end);
        assert_true(*end == '\0');
    }
    assert_true(nd >= 30);
    free(m);
    m = get_metrics();
    assert_true(value(m, "gslbd_build_info{version=\"test-version\"}") == 1);
    assert_true(value(m, "gslbd_uptime_seconds") >= 0);
    free(m);
}

/* Counters grow by exactly what was sent (other tests' traffic is read as a baseline). */
static void test_query_counters(void **state)
{
    (void)state;
    char *m0 = get_metrics();
    double udp0 = value(m0, "gslbd_queries_total{transport=\"udp\"}");
    double a0 = value(m0, "gslbd_queries_by_type_total{type=\"A\"}");
    double mx0 = value(m0, "gslbd_queries_by_type_total{type=\"MX\"}");
    double nx0 = value(m0, "gslbd_responses_total{rcode=\"NXDOMAIN\"}");
    double ok0 = value(m0, "gslbd_responses_total{rcode=\"NOERROR\"}");
    double rx0 = value(m0, "gslbd_udp_received_total");
    double tx0 = value(m0, "gslbd_udp_sent_total");
    double c10 = value(m0, "gslbd_gslb_answers_total{cluster=\"c1\",region=\"r1\"}");
    double dec0 = value(m0, "gslbd_gslb_decisions_total");
    free(m0);

    static const struct {
        const char *name;
        ldns_rr_type type;
    } qs[] = {{"www.t.", LDNS_RR_TYPE_A},     {"app.t.", LDNS_RR_TYPE_A},
              {"app.t.", LDNS_RR_TYPE_A},     {"t.", LDNS_RR_TYPE_MX},
              {"nowhere.t.", LDNS_RR_TYPE_A}, {"t.", LDNS_RR_TYPE_SOA}};
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        ldns_pkt *p = rt_ask_udp(g_dns, qs[i].name, qs[i].type);
        assert_non_null(p);
        ldns_pkt_free(p);
    }
    /* workers count after they send: give the last count a moment to land */
    char *m = get_metrics();
    for (uint64_t end = rt_now_ms() + (uint64_t)rt_ms(2000);
         value(m, "gslbd_udp_sent_total") < tx0 + 6 && rt_now_ms() < end;) {
        free(m);
        rt_sleep_ms(10);
        m = get_metrics();
    }
    assert_true(value(m, "gslbd_queries_total{transport=\"udp\"}") == udp0 + 6);
    assert_true(value(m, "gslbd_queries_by_type_total{type=\"A\"}") == a0 + 4);
    assert_true(value(m, "gslbd_queries_by_type_total{type=\"MX\"}") == mx0 + 1);
    assert_true(value(m, "gslbd_responses_total{rcode=\"NXDOMAIN\"}") == nx0 + 1);
    assert_true(value(m, "gslbd_responses_total{rcode=\"NOERROR\"}") == ok0 + 5);
    assert_true(value(m, "gslbd_udp_received_total") == rx0 + 6);
    assert_true(value(m, "gslbd_udp_sent_total") == tx0 + 6);
    assert_true(value(m, "gslbd_gslb_answers_total{cluster=\"c1\",region=\"r1\"}") == c10 + 2);
    assert_true(value(m, "gslbd_gslb_answers_total{cluster=\"c2\",region=\"r1\"}") == 0);
    assert_true(value(m, "gslbd_gslb_decisions_total") == dec0 + 2);
    free(m);
}

/* Admin and health gauges, reload counters, and answers carried across a reload by name. */
static void test_cluster_gauges_and_reloads(void **state)
{
    (void)state;
    char *m = get_metrics();
    double c1 = value(m, "gslbd_gslb_answers_total{cluster=\"c1\",region=\"r1\"}");
    assert_true(value(m, "gslbd_cluster_up{cluster=\"c1\"}") == 1);
    assert_true(value(m, "gslbd_cluster_admin_state{cluster=\"c1\",state=\"auto\"}") == 1);
    assert_true(value(m, "gslbd_cluster_admin_state{cluster=\"c1\",state=\"down\"}") == 0);
    assert_true(value(m, "gslbd_reloads_total") == 0);
    assert_null(strstr(m, "gslbd_probe_up{")); /* no checks configured, no probe series */
    free(m);

    struct rt_http h;
    rt_http(g_port, "POST", "/api/v1/clusters/c1/state?state=down", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    rt_http(g_port, "POST", "/api/v1/reload", auth, "", &h);
    assert_int_equal(h.status, 200);
    free(h.body);
    m = get_metrics();
    assert_true(value(m, "gslbd_reloads_total") == 1);
    assert_true(value(m, "gslbd_reload_failures_total") == 0);
    assert_true(value(m, "gslbd_cluster_up{cluster=\"c1\"}") == 0); /* carried over the reload */
    assert_true(value(m, "gslbd_cluster_admin_state{cluster=\"c1\",state=\"down\"}") == 1);
    assert_true(value(m, "gslbd_cluster_admin_state{cluster=\"c1\",state=\"auto\"}") == 0);
    /* the new view's counters start at 0, the metric does not */
    assert_true(value(m, "gslbd_gslb_answers_total{cluster=\"c1\",region=\"r1\"}") == c1);
    free(m);
    ldns_pkt *p = rt_ask_udp(g_dns, "app.t.", LDNS_RR_TYPE_A); /* now answered by c2 */
    assert_non_null(p);
    ldns_pkt_free(p);
    m = get_metrics();
    assert_true(value(m, "gslbd_gslb_answers_total{cluster=\"c1\",region=\"r1\"}") == c1);
    assert_true(value(m, "gslbd_gslb_answers_total{cluster=\"c2\",region=\"r1\"}") == 1);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_query_counters),
        cmocka_unit_test(test_cluster_gauges_and_reloads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
