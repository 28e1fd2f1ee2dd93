/* test_gslb.c: the GSLB policy (server/gslb.c) on a config whose locations come from nets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/gslb.h"

static struct conf *g_conf;
static struct gslb *g;

static int setup(void **state)
{
    (void)state;
    struct err e = {{0}};
    if (conf_load_file("test/data/gslb_unit/gslb.json", &g_conf, &e) < 0)
        fail_msg("conf: %s", e.msg);
    if (gslb_build(g_conf, &g, &e) < 0)
        fail_msg("gslb: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    gslb_free(g);
    conf_free(g_conf);
    return 0;
}

static void reset(void)
{
    for (size_t i = 0; i < g->nclusters; i++)
        atomic_store(&g->admin[i], GSLB_ADMIN_AUTO);
    for (size_t i = 0; i < g->naddrs; i++)
        atomic_store(&g->addr_up[i], 1);
}

static const struct gslb_service *svc(const char *name)
{
    for (size_t i = 0; i < g->nservices; i++)
        if (strcasecmp(g->services[i].name, name) == 0)
            return &g->services[i];
    fail_msg("no service %s", name);
    return NULL;
}

static const char *decide(const char *service, const char *client, uint64_t rnd,
                          struct gslb_decision *d)
{
    uint8_t a[16];
    assert_int_equal(inet_pton(AF_INET, client, a), 1);
    gslb_decide(g, svc(service), AF_INET, a, rnd, d);
    return d->cluster >= 0 ? g->clusters[d->cluster].name : "SERVFAIL";
}

static void set_admin(const char *cluster, enum gslb_admin a)
{
    int32_t ci = gslb_find_cluster(g, cluster);
    assert_true(ci >= 0);
    atomic_store(&g->admin[ci], (uint8_t)a);
}

static void test_nearest_by_nets_and_scope(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    assert_string_equal(decide("near.example.", "10.1.9.9", 0, &d), "west-a"); /* LOC-2 */
    assert_int_equal(d.scope, 16);
    assert_int_equal(d.reason, GSLB_R_PRIMARY);
    assert_int_equal(d.ttl, 30); /* TTL-G1 default */
    assert_string_equal(decide("near.example.", "10.2.9.9", 0, &d), "eu-a");
    /* 10.2.3.0/24 (east) lies inside 10.2/16: the scope must exclude it, so it is one bit
     * past the common prefix of 10.2.9.9 and 10.2.3.0 (20 bits): 21 (ECS-G1) */
    assert_int_equal(d.scope, 21);
    decide("near.example.", "10.2.3.9", 0, &d); /* longest prefix wins */
    assert_int_equal(d.scope, 24);
    assert_int_equal(g->clusters[d.cluster].region, 0);
    decide("near.example.", "192.0.2.200", 0, &d); /* LOC-5 default order: east */
    assert_int_equal(g->clusters[d.cluster].region, 0);
    /* the first-ranked region answered: the nearest-region scope applies (for a nets
     * entry it is the entry's own); a failover answer does not use it */
    assert_string_equal(decide("near.example.", "10.1.9.9", 0, &d), "west-a");
    assert_true(d.by_nearest);
    assert_int_equal(d.scope, d.geo.scope_nearest);
    set_admin("west-a", GSLB_ADMIN_DOWN);
    assert_string_equal(decide("near.example.", "10.1.9.9", 0, &d), "east-a");
    assert_false(d.by_nearest);
    assert_int_equal(d.reason, GSLB_R_FAILOVER);
    assert_int_equal(d.scope, 16);
    reset();
}

static void test_weighted_split_accuracy(void **state)
{
    (void)state;
    reset();
    /* POL-4: 3:1 weights give 75/25 within one percentage point over 100,000 picks */
    uint64_t x = 88172645463325252ull;
    unsigned a = 0, n = 100000;
    for (unsigned i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct gslb_decision d;
        if (strcmp(decide("split.example.", "10.1.0.1", x >> 11, &d), "east-a") == 0)
            a++;
        assert_int_equal(d.scope, 0); /* weighted does not depend on the address */
    }
    double share = 100.0 * a / n;
    assert_true(share > 74.0 && share < 76.0);
    /* a cluster that goes down has weight 0: the survivor takes 100% */
    set_admin("east-a", GSLB_ADMIN_DOWN);
    for (unsigned i = 0; i < 1000; i++) {
        struct gslb_decision d;
        assert_string_equal(decide("split.example.", "10.1.0.1", i * 7919u, &d), "east-b");
        assert_int_equal(d.reason, GSLB_R_FAILOVER);
        assert_int_equal(d.ttl, 10); /* TTL-G2 */
    }
}

static void test_failover_to_next_region_and_ttl(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    set_admin("west-a", GSLB_ADMIN_DOWN);
    decide("near.example.", "10.1.9.9", 0, &d); /* west client, west down */
    assert_int_not_equal(g->clusters[d.cluster].region, 1);
    assert_int_equal(d.reason, GSLB_R_FAILOVER);
    assert_int_equal(d.ttl, 10);
    reset();
    /* a health result, not an admin state: every address of west-a down */
    int32_t wa = gslb_find_cluster(g, "west-a");
    for (uint32_t i = 0; i < g->clusters[wa].naddrs; i++)
        atomic_store(&g->addr_up[g->clusters[wa].first_addr + i], 0);
    assert_false(gslb_cluster_up(g, (uint32_t)wa));
    decide("near.example.", "10.1.9.9", 0, &d);
    assert_int_not_equal(d.cluster, wa);
    reset();
    atomic_store(&g->addr_up[g->clusters[wa].first_addr], 0); /* one address left up */
    assert_true(gslb_cluster_up(g, (uint32_t)wa));
}

static void test_drain_fail_open_servfail(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    set_admin("east-a", GSLB_ADMIN_DRAIN); /* POL-7 drain: weight 0 while others healthy */
    for (unsigned i = 0; i < 200; i++)
        assert_string_equal(decide("split.example.", "10.9.0.1", i * 104729u, &d), "east-b");
    set_admin("east-b", GSLB_ADMIN_DOWN); /* drained is still used before fail-open */
    assert_string_equal(decide("split.example.", "10.9.0.1", 5, &d), "east-a");
    assert_int_not_equal(d.reason, GSLB_R_FAIL_OPEN);
    set_admin("east-a", GSLB_ADMIN_DOWN); /* everything down: fail-open (POL-6) */
    decide("split.example.", "10.9.0.1", 5, &d);
    assert_int_equal(d.reason, GSLB_R_FAIL_OPEN);
    assert_true(d.all_addrs);
    assert_true(d.cluster >= 0);
    set_admin("west-a", GSLB_ADMIN_DOWN);
    assert_string_equal(decide("strict.example.", "10.1.0.1", 5, &d), "SERVFAIL");
    assert_int_equal(d.reason, GSLB_R_SERVFAIL);
    assert_int_equal(d.scope, 0);
    set_admin("west-a", GSLB_ADMIN_UP); /* forced up wins over health */
    atomic_store(&g->addr_up[g->clusters[gslb_find_cluster(g, "west-a")].first_addr], 0);
    assert_string_equal(decide("strict.example.", "10.1.0.1", 5, &d), "west-a");
}

static void test_failover_policy_order(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    assert_string_equal(decide("order.example.", "10.2.0.1", 1, &d), "west-a"); /* POL-3 */
    assert_int_equal(d.ttl, 60);
    assert_int_equal(d.scope, 0);
    set_admin("west-a", GSLB_ADMIN_DOWN);
    assert_string_equal(decide("order.example.", "10.2.0.1", 1, &d), "eu-a");
    assert_int_equal(d.ttl, 5);
}

static void test_state_file_round_trip(void **state)
{
    (void)state;
    reset();
    char path[] = "/tmp/gslbd-state-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct err e = {{0}};
    set_admin("eu-a", GSLB_ADMIN_DRAIN);
    assert_int_equal(gslb_state_save(g, path, &e), 0);
    reset();
    assert_int_equal(gslb_state_load(g, path, &e), 0);
    assert_int_equal(atomic_load(&g->admin[gslb_find_cluster(g, "eu-a")]), GSLB_ADMIN_DRAIN);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nearest_by_nets_and_scope),
        cmocka_unit_test(test_weighted_split_accuracy),
        cmocka_unit_test(test_failover_to_next_region_and_ttl),
        cmocka_unit_test(test_drain_fail_open_servfail),
        cmocka_unit_test(test_failover_policy_order),
        cmocka_unit_test(test_state_file_round_trip),
    };
    return cmocka_run_group_tests_name("gslb", tests, setup, teardown);
}
