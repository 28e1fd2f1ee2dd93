/* test_gslb_split.c: "which cluster does a client in this region get right now" from the
 * engine (server/gslb.c gslb_decide_rank and gslb_split; geo/geo.c geo_region_rank), on the
 * nets-only config of test_gslb.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static uint16_t region(const char *name)
{
    for (size_t i = 0; i < g->nregions; i++)
        if (strcmp(g->region_names[i], name) == 0)
            return (uint16_t)i;
    fail_msg("no region %s", name);
    return 0;
}

static void set_admin(const char *cluster, enum gslb_admin a)
{
    int32_t ci = gslb_find_cluster(g, cluster);
    assert_true(ci >= 0);
    atomic_store(&g->admin[ci], (uint8_t)a);
}

static void set_up(const char *cluster, bool up)
{
    int32_t ci = gslb_find_cluster(g, cluster);
    assert_true(ci >= 0);
    for (uint32_t i = 0; i < g->clusters[ci].naddrs; i++)
        atomic_store(&g->addr_up[g->clusters[ci].first_addr + i], up ? 1 : 0);
}

/* "name:weight name:weight" of the split a client in region gets, or "SERVFAIL". */
static const char *split_text(const char *service, const char *reg, struct gslb_decision *d)
{
    static char buf[256];
    const uint16_t *rank = reg != NULL ? geo_region_rank(g->geo, region(reg)) : NULL;
    gslb_decide_rank(g, svc(service), rank, 12345, d);
    struct gslb_share sh[8];
    size_t n = gslb_split(g, d, sh, 8);
    if (n == 0)
        return "SERVFAIL";
    buf[0] = '\0';
    bool chosen_listed = false;
    for (size_t k = 0; k < n; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof(buf) - len, "%s%s:%llu", k ? " " : "",
                 g->clusters[sh[k].cluster].name, (unsigned long long)sh[k].weight);
        chosen_listed = chosen_listed || (int32_t)sh[k].cluster == d->cluster;
    }
    assert_true(chosen_listed); /* the engine's own pick is one of the split */
    return buf;
}

static void test_region_rank_puts_the_region_first(void **state)
{
    (void)state;
    for (uint16_t r = 0; r < g->nregions; r++)
        assert_int_equal(geo_region_rank(g->geo, r)[0], r);
    /* west's neighbours by distance: east (US), then eu */
    const uint16_t *w = geo_region_rank(g->geo, region("west"));
    assert_int_equal(w[1], region("east"));
    assert_int_equal(w[2], region("eu"));
}

static void test_nearest_per_region(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    assert_string_equal(split_text("near.example.", "east", &d), "east-a:3 east-b:1");
    assert_int_equal(d.reason, GSLB_R_PRIMARY);
    assert_string_equal(split_text("near.example.", "west", &d), "west-a:1");
    assert_string_equal(split_text("near.example.", "eu", &d), "eu-a:1");
    /* east-a down: east-b takes all of east, on the failover TTL */
    set_up("east-a", false);
    assert_string_equal(split_text("near.example.", "east", &d), "east-b:1");
    assert_int_equal(d.reason, GSLB_R_FAILOVER);
    /* both east clusters down: an east client goes to the nearest other region (west) */
    set_up("east-b", false);
    assert_string_equal(split_text("near.example.", "east", &d), "west-a:1");
    assert_int_equal(d.reason, GSLB_R_FAILOVER);
}

static void test_drain_and_forced(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    set_admin("east-b", GSLB_ADMIN_DRAIN);
    assert_string_equal(split_text("near.example.", "east", &d), "east-a:1");
    set_admin("east-a", GSLB_ADMIN_DOWN);
    /* a drained cluster is the last resort: a healthy undrained one in the next region
     * (west) comes first */
    assert_string_equal(split_text("near.example.", "east", &d), "west-a:1");
    /* everything down but drained clusters: they split evenly (pass 1) */
    reset();
    set_admin("east-a", GSLB_ADMIN_DRAIN);
    set_admin("east-b", GSLB_ADMIN_DRAIN);
    set_up("west-a", false);
    set_up("eu-a", false);
    assert_string_equal(split_text("near.example.", "east", &d), "east-a:1 east-b:1");
}

static void test_weighted_failover_and_servfail(void **state)
{
    (void)state;
    reset();
    struct gslb_decision d;
    /* weighted: location does not matter (no region) */
    assert_string_equal(split_text("split.example.", NULL, &d), "east-a:3 east-b:1");
    /* failover: the first healthy one, alone */
    assert_string_equal(split_text("order.example.", NULL, &d), "west-a:1");
    set_up("west-a", false);
    assert_string_equal(split_text("order.example.", NULL, &d), "eu-a:1");
    assert_int_equal(d.reason, GSLB_R_FAILOVER);
    /* all_down servfail: nothing answers */
    assert_string_equal(split_text("strict.example.", "west", &d), "SERVFAIL");
    assert_int_equal(d.reason, GSLB_R_SERVFAIL);
    /* fail open (the default): every cluster as if healthy, by configured weight */
    set_up("east-a", false);
    set_up("east-b", false);
    set_up("eu-a", false);
    assert_string_equal(split_text("near.example.", "east", &d), "east-a:3 east-b:1");
    assert_int_equal(d.reason, GSLB_R_FAIL_OPEN);
}

/* The split agrees with the decisions the engine makes for every random number: over one
 * period of the weights, each cluster is picked exactly its weight's number of times. */
static void test_split_matches_the_picks(void **state)
{
    (void)state;
    reset();
    const uint16_t *east = geo_region_rank(g->geo, region("east"));
    struct gslb_decision d;
    gslb_decide_rank(g, svc("near.example."), east, 0, &d);
    struct gslb_share sh[8];
    size_t n = gslb_split(g, &d, sh, 8);
    uint64_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += sh[k].weight;
    assert_int_equal(total, 4);
    unsigned count[8] = {0};
    for (uint64_t rnd = 0; rnd < 4 * 25; rnd++) {
        gslb_decide_rank(g, svc("near.example."), east, rnd, &d);
        for (size_t k = 0; k < n; k++)
            if ((int32_t)sh[k].cluster == d.cluster)
                count[k]++;
    }
    for (size_t k = 0; k < n; k++)
        assert_int_equal(count[k], sh[k].weight * 25);
}

/* A client placed in a region decides like a real client from that region's nets. */
static void test_rank_matches_a_nets_client(void **state)
{
    (void)state;
    reset();
    static const struct {
        const char *client, *region;
    } cases[] = {{"10.1.9.9", "west"}, {"10.2.9.9", "eu"}, {"10.2.3.4", "east"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t a[4];
        assert_int_equal(inet_pton(AF_INET, cases[i].client, a), 1);
        for (uint64_t rnd = 0; rnd < 8; rnd++) {
            struct gslb_decision real, placed;
            gslb_decide(g, svc("near.example."), AF_INET, a, rnd, &real);
            gslb_decide_rank(g, svc("near.example."),
                             geo_region_rank(g->geo, region(cases[i].region)), rnd, &placed);
            assert_int_equal(real.cluster, placed.cluster);
            assert_int_equal(real.reason, placed.reason);
            assert_int_equal(real.ttl, placed.ttl);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_region_rank_puts_the_region_first),
        cmocka_unit_test(test_nearest_per_region),
        cmocka_unit_test(test_drain_and_forced),
        cmocka_unit_test(test_weighted_failover_and_servfail),
        cmocka_unit_test(test_split_matches_the_picks),
        cmocka_unit_test(test_rank_matches_a_nets_client),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
