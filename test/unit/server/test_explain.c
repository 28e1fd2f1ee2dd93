/* test_explain.c: explain tells the engine's truth (EXP-1): the decision the engine reports
 * (struct query_decision) and explain's JSON agree with the answer itself for services
 * reached by name, CNAME, CNAME chain and wildcard; and the per-thread answer counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/conf/conf.h"
#include "server/explain.h"
#include "server/query.h"
#include "server/view.h"
#include "server/dns/wire.h"

static struct view *g_view;

static int setup(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    if (conf_load_file("test/data/explain_unit/gslb.json", &c, &e) < 0)
        fail_msg("conf: %s", e.msg);
    if (view_build(c, &g_view, &e) < 0)
        fail_msg("view_build: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    view_free(g_view);
    return 0;
}

/* A query for name/type with id, EDNS, and an IPv4 ECS option when ecs != NULL. */
static size_t build(const char *name, uint16_t type, uint16_t id, const char *ecs, uint8_t *b)
{
    ldns_rdf *dn = NULL;
    assert_int_equal(ldns_str2rdf_dname(&dn, name), LDNS_STATUS_OK);
    memset(b, 0, DNS_HDR);
    wire_put16(b, id);
    b[5] = 1;
    b[11] = 1;
    size_t p = DNS_HDR;
    memcpy(b + p, ldns_rdf_data(dn), ldns_rdf_size(dn));
    p += ldns_rdf_size(dn);
    ldns_rdf_deep_free(dn);
    wire_put16(b + p, type);
    wire_put16(b + p + 2, DNS_C_IN);
    p += 4;
    b[p] = 0;
    wire_put16(b + p + 1, DNS_T_OPT);
    wire_put16(b + p + 3, 1232);
    memset(b + p + 5, 0, 4);
    size_t optlen = 0;
    if (ecs != NULL) {
        uint8_t *o = b + p + 11;
        wire_put16(o, EDNS_O_ECS);
        wire_put16(o + 2, 4 + 3);
        wire_put16(o + 4, 1);
        o[6] = 24;
        o[7] = 0;
        uint8_t a[4];
        assert_int_equal(inet_pton(AF_INET, ecs, a), 1);
        memcpy(o + 8, a, 3);
        optlen = 11;
    }
    wire_put16(b + p + 9, (uint16_t)optlen);
    return p + 11 + optlen;
}

/* Answer the query as a worker would, with the decision record asked for. */
static ldns_pkt *answer(const char *name, uint16_t type, uint16_t id, const char *ecs,
                        uint64_t *rng, struct query_decision *d)
{
    static uint8_t q[600], out[QUERY_UDP_BUF];
    size_t qlen = build(name, type, id, ecs, q);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(0x7f000001);
    struct query_req req = {q, qlen, (struct sockaddr *)&sin, QUERY_UDP, rng, 0, 0, NULL, d};
    size_t n = query_answer(g_view, &req, out, QUERY_UDP_BUF, NULL);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
    return p;
}

/* The answer's A/AAAA addresses, sorted, joined by spaces. */
static void answer_addrs(const ldns_pkt *p, char *buf, size_t cap)
{
    char *v[16];
    size_t n = 0;
    const ldns_rr_list *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an) && n < 16; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A || ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA)
            v[n++] = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    }
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
            char *t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? " " : "", v[i]);
        free(v[i]);
    }
}

/* The addresses of type `type` that cluster ci answers, from the configuration side. */
static void cluster_addrs(int32_t ci, uint16_t type, char *buf, size_t cap)
{
    const struct gslb *g = g_view->gslb;
    const struct gslb_cluster *c = &g->clusters[ci];
    char *v[16];
    size_t n = 0;
    for (uint32_t i = c->first_addr; i < c->first_addr + c->naddrs && n < 16; i++)
        if ((g->addrs[i].family == AF_INET) == (type == DNS_T_A))
            v[n++] = strdup(g->addrs[i].text);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
            char *t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? " " : "", v[i]);
        free(v[i]);
    }
}

static uint32_t answer_ttl(const ldns_pkt *p, ldns_rr_type t)
{
    const ldns_rr_list *an = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++)
        if (ldns_rr_get_type(ldns_rr_list_rr(an, i)) == t)
            return ldns_rr_ttl(ldns_rr_list_rr(an, i));
    return 0;
}

static const char *service_of(const struct query_decision *d)
{
    return d->gslb ? g_view->gslb->services[d->service].name : "(none)";
}

/* The engine's record against its own answer: the service at the end of the chain, the
 * cluster whose addresses the answer holds, the TTL, and the chain's names. */
static void check_engine(const char *name, const char *ecs, const char *want_service,
                         const char *const *chain, unsigned nchain, const uint8_t *matches)
{
    struct query_decision d;
    uint64_t rng = 0x1234567;
    ldns_pkt *p = answer(name, DNS_T_A, 7, ecs, &rng, &d);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_true(d.gslb);
    assert_string_equal(service_of(&d), want_service);
    assert_true(d.d.cluster >= 0);
    char got[256], want[256];
    answer_addrs(p, got, sizeof(got));
    cluster_addrs(d.d.cluster, DNS_T_A, want, sizeof(want));
    assert_string_equal(got, want);
    assert_int_equal(answer_ttl(p, LDNS_RR_TYPE_A), d.d.ttl);
    assert_int_equal(d.nsteps, nchain);
    for (unsigned i = 0; i < nchain; i++) {
        ldns_rdf *r =
            ldns_dname_new_frm_data((uint16_t)dname_len(d.steps[i].name), d.steps[i].name);
        char *t = ldns_rdf2str(r);
        assert_string_equal(t, chain[i]);
        assert_int_equal(d.steps[i].match, matches[i]);
        free(t);
        ldns_rdf_deep_free(r);
    }
    ldns_pkt_free(p);
}

static void test_engine_reports_service_by_name_cname_wildcard(void **state)
{
    (void)state;
    const uint8_t N = QUERY_M_NAME, W = QUERY_M_WILDCARD;
    const char *direct[] = {"near.example."};
    check_engine("near.example.", "10.1.7.0", "near.example.", direct, 1, (uint8_t[]){N});
    const char *alias[] = {"alias.example.", "near.example."};
    check_engine("alias.example.", "10.1.7.0", "near.example.", alias, 2, (uint8_t[]){N, N});
    const char *alias2[] = {"alias2.example.", "alias.example.", "near.example."};
    check_engine("alias2.example.", "10.2.7.0", "near.example.", alias2, 3, (uint8_t[]){N, N, N});
    const char *wild[] = {"foo.w.example.", "near.example."};
    check_engine("foo.w.example.", "10.2.7.0", "near.example.", wild, 2, (uint8_t[]){W, N});
    const char *swild[] = {"x.sw.example.", "split.example."};
    check_engine("x.sw.example.", NULL, "split.example.", swild, 2, (uint8_t[]){W, N});

    /* a static name: no decision, the chain still shows the lookup */
    struct query_decision d;
    ldns_pkt *p = answer("static.example.", DNS_T_A, 7, NULL, NULL, &d);
    assert_false(d.gslb);
    assert_int_equal(d.nsteps, 1);
    ldns_pkt_free(p);
}

/* The weighted split is random: over many picks, the record names exactly the cluster whose
 * addresses each answer holds, and both clusters come up (so the check means something). */
static void test_engine_record_follows_random_pick(void **state)
{
    (void)state;
    uint64_t rng = 0x9E3779B97F4A7C15u;
    unsigned seen[2] = {0, 0};
    for (uint16_t id = 0; id < 400; id++) {
        struct query_decision d;
        ldns_pkt *p = answer("q.sw.example.", DNS_T_A, id, NULL, &rng, &d);
        assert_true(d.gslb);
        char got[256], want[256];
        answer_addrs(p, got, sizeof(got));
        cluster_addrs(d.d.cluster, DNS_T_A, want, sizeof(want));
        assert_string_equal(got, want);
        const char *cl = g_view->gslb->clusters[d.d.cluster].name;
        seen[strcmp(cl, "east-a") == 0 ? 0 : 1]++;
        ldns_pkt_free(p);
    }
    assert_true(seen[0] > 200 && seen[1] > 40); /* weights 3:1 */
}

static json_t *explain(const char *name, const char *type, const char *ecs)
{
    struct explain_req r = {name, type, "127.0.0.1", ecs, NULL, false};
    json_t *j = NULL;
    struct err e = {{0}};
    if (explain_query(g_view, &r, &j, &e) < 0)
        fail_msg("explain: %s", e.msg);
    return j;
}

/* explain's decision against explain's own response (the real engine's answer) and against
 * a live query with the same client and ECS. */
static void check_explain(const char *name, const char *ecs, const char *want_cluster,
                          const char *first_match, const char *first_node)
{
    char ecs24[32];
    if (ecs != NULL)
        snprintf(ecs24, sizeof(ecs24), "%s/24", ecs);
    json_t *j = explain(name, "A", ecs != NULL ? ecs24 : NULL);
    assert_string_equal(json_string_value(json_object_get(j, "service")), "near.example.");
    json_t *dec = json_object_get(j, "decision");
    const char *cl = json_string_value(json_object_get(dec, "cluster"));
    assert_non_null(cl);
    assert_string_equal(cl, want_cluster);
    /* the response explain shows holds that cluster's address */
    json_t *ans = json_object_get(json_object_get(j, "response"), "answer");
    char want[256];
    cluster_addrs(gslb_find_cluster(g_view->gslb, cl), DNS_T_A, want, sizeof(want));
    bool found = false;
    for (size_t i = 0; i < json_array_size(ans); i++) {
        const char *rr = json_string_value(json_array_get(ans, i));
        if (strstr(rr, "\tA\t") != NULL)
            found = strstr(rr, want) != NULL;
    }
    assert_true(found);
    /* a live query with the same client and ECS answers the same */
    struct query_decision d;
    uint64_t rng = 99;
    ldns_pkt *p = answer(name, DNS_T_A, 1, ecs, &rng, &d);
    char got[256];
    answer_addrs(p, got, sizeof(got));
    assert_string_equal(got, want);
    assert_int_equal(json_integer_value(json_object_get(dec, "ttl")),
                     answer_ttl(p, LDNS_RR_TYPE_A));
    ldns_pkt_free(p);
    /* the chain that led to the service */
    json_t *ch = json_object_get(j, "chain");
    assert_int_equal(json_array_size(ch), 2);
    json_t *s0 = json_array_get(ch, 0), *s1 = json_array_get(ch, 1);
    assert_string_equal(json_string_value(json_object_get(s0, "name")), name);
    assert_string_equal(json_string_value(json_object_get(s0, "match")), first_match);
    assert_string_equal(json_string_value(json_object_get(s0, "cname")), "near.example.");
    if (first_node != NULL)
        assert_string_equal(json_string_value(json_object_get(s0, "node")), first_node);
    assert_string_equal(json_string_value(json_object_get(s1, "name")), "near.example.");
    assert_true(json_is_true(json_object_get(s1, "service")));
    json_decref(j);
}

static void test_explain_cname_and_wildcard(void **state)
{
    (void)state;
    check_explain("alias.example.", "10.1.7.0", "west-a", "name", NULL);
    check_explain("alias.example.", "10.2.7.0", "eu-a", "name", NULL);
    check_explain("foo.w.example.", "10.2.7.0", "eu-a", "wildcard", "*.w.example.");
    check_explain("foo.w.example.", "10.1.7.0", "west-a", "wildcard", "*.w.example.");
    /* no ECS: 127.0.0.1 is in no net, default_order puts east first */
    check_explain("bar.w.example.", NULL, "east-a", "wildcard", "*.w.example.");

    json_t *j = explain("static.example.", "A", NULL);
    assert_true(json_is_null(json_object_get(j, "service")));
    assert_null(json_object_get(j, "decision"));
    json_decref(j);
}

/* Per-thread rows: threads on distinct slots (more than the 64 rows of old) lose no count. */
#define NTHREADS 72
#define PER_THREAD 20000

struct counter_arg {
    const struct gslb *g;
    unsigned slot;
};

static void *count_many(void *arg)
{
    const struct counter_arg *a = arg;
    for (unsigned i = 0; i < PER_THREAD; i++)
        gslb_count_answer(a->g, a->slot, i % 2);
    return NULL;
}

static void test_counters_per_thread_rows(void **state)
{
    (void)state;
    struct gslb *g = g_view->gslb;
    assert_int_equal(gslb_set_rows(g, NTHREADS), 0);
    pthread_t t[NTHREADS];
    struct counter_arg a[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        a[i] = (struct counter_arg){g, i};
        assert_int_equal(pthread_create(&t[i], NULL, count_many, &a[i]), 0);
    }
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(gslb_answers_total(g, 0), (uint64_t)NTHREADS * PER_THREAD / 2);
    assert_int_equal(gslb_answers_total(g, 1), (uint64_t)NTHREADS * PER_THREAD / 2);
    assert_int_equal(gslb_answers_total(g, 2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_reports_service_by_name_cname_wildcard),
        cmocka_unit_test(test_engine_record_follows_random_pick),
        cmocka_unit_test(test_explain_cname_and_wildcard),
        cmocka_unit_test(test_counters_per_thread_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
