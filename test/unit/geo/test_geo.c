/* test_geo.c: unit tests for geo/geo.c: config checks, lookups and ECS scope (ECS-G1, LOC-3/5). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_geo_util.h"

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct geo *)(uintptr_t)0x5e5e)

struct fixture {
    struct tdir dir;
    char city[256];  /* city.txt, IPv6 tree with IPv4 at ::/96 */
    char city4[256]; /* city4.txt, IPv4-only tree */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tdir_make(&f->dir);
    build_db(&f->dir, "", "city.txt", "city.mmdb", f->city, sizeof(f->city));
    build_db(&f->dir, "", "city4.txt", "city4.mmdb", f->city4, sizeof(f->city4));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tdir_remove(&f->dir);
    free(f);
    return 0;
}

static void expect_config_error(const struct geo_config *c, int code, const char *msg_part)
{
    struct geo *g = SENTINEL;
    char err[512] = "";
    assert_int_equal(geo_open(c, &g, err, sizeof(err)), code);
    assert_ptr_equal(g, SENTINEL);
    if (strstr(err, msg_part) == NULL)
        fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, msg_part);
    assert_non_null(strstr(err, msg_part));
}

static void test_config_errors(void **state)
{
    (void)state;
    struct geo_config c = test_config(NULL);
    struct geo *g = SENTINEL;

    assert_int_equal(geo_open(NULL, &g, NULL, 0), -EINVAL);
    assert_int_equal(geo_open(&c, NULL, NULL, 0), -EINVAL);
    assert_ptr_equal(g, SENTINEL);

    c.nregions = 0;
    expect_config_error(&c, -EINVAL, "regions: need 1 to 64");
    c.nregions = GEO_MAX_REGIONS + 1;
    expect_config_error(&c, -EINVAL, "regions: need 1 to 64");

    struct geo_region r[2] = {{"a", 10, 10}, {"a", 20, 20}};
    c = test_config(NULL);
    c.regions = r;
    c.nregions = 2;
    expect_config_error(&c, -EINVAL, "regions[1]: a listed twice");
    r[1].name = NULL;
    expect_config_error(&c, -EINVAL, "regions[1]: no name");
    r[1].name = "b";
    r[1].lat = 91;
    expect_config_error(&c, -EINVAL, "regions[1] (b): coordinates 91, 20 out of range");
    r[1].lat = 0;
    r[1].lon = -180.5;
    expect_config_error(&c, -EINVAL, "out of range");

    c = test_config(NULL);
    const uint16_t bad_order[] = {2, 3};
    c.default_order = bad_order;
    c.ndefault_order = 2;
    expect_config_error(&c, -EINVAL, "default_order: region 3 out of range");
    const uint16_t dup_order[] = {2, 2};
    c.default_order = dup_order;
    expect_config_error(&c, -EINVAL, "default_order: region us-east listed twice");

    c = test_config(NULL);
    const uint16_t one[] = {EU_WEST};
    struct geo_pin pins[2] = {{"DE", false, one, 1}, {"de", false, one, 1}};
    c.pins = pins;
    c.npins = 2;
    expect_config_error(&c, -EINVAL, "pins[1]: country DE pinned twice");
    pins[1] = (struct geo_pin){"D1", false, one, 1};
    expect_config_error(&c, -EINVAL, "pins[1]: code must be two letters");
    pins[1] = (struct geo_pin){"EU", true, NULL, 0};
    expect_config_error(&c, -EINVAL, "pins[1] (EU): no regions");
    const uint16_t bad[] = {7};
    pins[1] = (struct geo_pin){"EU", true, bad, 1};
    expect_config_error(&c, -EINVAL, "pins[1]: region 7 out of range");

    c = test_config(NULL);
    struct geo_net n[2] = {{AF_INET, {10, 0, 0, 0}, 8, 5}, {AF_INET, {10, 0, 0, 0}, 8, 1}};
    c.nets = n;
    c.nnets = 1;
    expect_config_error(&c, -EINVAL, "nets[0]: region 5 out of range");
    n[0].region = 0;
    n[0].prefix = 33;
    expect_config_error(&c, -EINVAL, "nets[0]: prefix length 33 out of range");
    n[0].prefix = 8;
    n[0].family = AF_UNIX;
    expect_config_error(&c, -EAFNOSUPPORT, "nets[0]: address family");
    n[0].family = AF_INET;
    c.nnets = 2;
    expect_config_error(&c, -EINVAL,
                        "nets[1]: 10.0.0.0/8 listed again for another region (eu-west, was "
                        "eu-central)");
    n[1].region = 0; /* the same network twice for the same region is harmless */
    g = open_ok(&c);
    geo_free(g);
}

static void test_missing_database(void **state)
{
    (void)state;
    struct geo_config c = test_config(DATA "nothere.mmdb");
    struct geo *g = SENTINEL;
    char err[512];
    assert_int_equal(geo_open(&c, &g, err, sizeof(err)), -ENOENT);
    assert_string_equal(err, DATA "nothere.mmdb: cannot open: No such file or directory");
    assert_ptr_equal(g, SENTINEL);
    assert_string_equal(geo_strerror(-ENOENT), "No such file or directory");
    assert_string_equal(geo_strerror(-EBADMSG), "not a usable MaxMind DB");
    /* NULL errbuf is allowed */
    assert_int_equal(geo_open(&c, &g, NULL, 0), -ENOENT);
}

static void test_free_null_and_names(void **state)
{
    (void)state;
    geo_free(NULL);
    assert_string_equal(geo_source_name(GEO_SRC_DEFAULT), "default");
    assert_string_equal(geo_source_name(GEO_SRC_NETS), "nets");
    assert_string_equal(geo_source_name(GEO_SRC_COORDS), "coordinates");
    assert_string_equal(geo_source_name(GEO_SRC_COUNTRY), "country");
    assert_string_equal(geo_source_name(GEO_SRC_CONTINENT), "continent");
}

/* LOC-5 without any data: default ranking, scope 0 for everything. */
static void test_no_database(void **state)
{
    (void)state;
    struct geo_config c = test_config(NULL);
    const uint16_t order[] = {US_EAST};
    c.default_order = order; /* partial: completed in index order */
    c.ndefault_order = 1;
    struct geo *g = open_ok(&c);
    expect(g, "10.1.0.5", US_EAST, EU_CENTRAL, EU_WEST, GEO_SRC_DEFAULT, 0);
    expect(g, "2001:db8:1::1", US_EAST, EU_CENTRAL, EU_WEST, GEO_SRC_DEFAULT, 0);
    expect(g, "::ffff:8.8.8.8", US_EAST, EU_CENTRAL, EU_WEST, GEO_SRC_DEFAULT, 0);
    struct geo_result r;
    uint8_t a[16] = {0};
    geo_lookup(g, AF_UNIX, a, &r);
    check_rank(&r, US_EAST, EU_CENTRAL, EU_WEST);
    assert_int_equal(r.scope, 0);
    assert_int_equal(r.loc, 0);
    geo_free(g);
}

/* ECS-G1 in an IPv6 tree: IPv6 netmasks as they are, IPv4 ones minus 96; LOC-5 for
 * unknown addresses with the scope of the empty network they fall in. */
static void test_scope_ipv6_tree(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    struct geo *g = open_ok(&c);

    /* The writer splits 10.1.0.0/16 around 10.1.128.0/20. */
    expect(g, "10.1.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 17);
    expect(g, "10.1.130.1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COORDS, 20);
    expect(g, "10.1.144.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 20);
    expect(g, "10.1.200.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 18);
    expect(g, "198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    /* IPv4-mapped IPv6 counts as IPv4 */
    expect(g, "::ffff:198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    /* 6to4 (2002::/16) is aliased to the IPv4 subtree: an IPv6 scope of 16 + 24 */
    expect(g, "2002:c633:6407::1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 40);
    expect(g, "2001:db8:1::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 48);
    expect(g, "2001:db8:2:ffff::1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 48);
    /* records without coordinates and without a pin: default order, the record's netmask */
    expect(g, "192.0.2.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 25);
    expect(g, "172.16.3.4", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 16);
    expect(g, "2001:db8:3::9", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 64);
    /* unknown: the empty subtree (10.99 leaves 10.0/9's networks at bit 9) */
    expect(g, "10.99.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 10);
    expect(g, "8.8.8.8", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 7);
    expect(g, "::ffff:8.8.8.8", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 7);
    expect(g, "2001:db8:ffff::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 33);
    struct geo_result r;
    lookup(g, "10.99.0.1", &r);
    assert_int_equal(r.loc, 0);
    lookup(g, "10.1.0.5", &r);
    assert_int_not_equal(r.loc, 0);
    geo_free(g);
}

static void test_scope_ipv4_tree(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city4);
    struct geo *g = open_ok(&c);
    expect(g, "10.1.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 17);
    expect(g, "10.1.130.1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COORDS, 20);
    expect(g, "::ffff:10.1.130.1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COORDS, 20);
    expect(g, "198.51.100.255", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    expect(g, "192.0.2.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 25);
    expect(g, "10.99.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 10);
    /* an IPv4-only database knows nothing about IPv6: scope 0 */
    expect(g, "2001:db8:1::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 0);
    geo_free(g);
}

/* The default order configured applies to unknown addresses and records without data. */
static void test_default_order_with_database(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    const uint16_t order[] = {US_EAST, EU_WEST, EU_CENTRAL};
    c.default_order = order;
    c.ndefault_order = 3;
    struct geo *g = open_ok(&c);
    expect(g, "10.99.0.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_DEFAULT, 10);
    expect(g, "192.0.2.5", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_DEFAULT, 25);
    expect(g, "10.1.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 17);
    geo_free(g);
}

/* The geo object keeps its own copies: the config may go away after geo_open. */
static void test_config_copied(void **state)
{
    struct fixture *f = *state;
    char db[256], names[NREGIONS][16];
    struct geo_region r[NREGIONS];
    uint16_t order[NREGIONS] = {US_EAST, EU_WEST, EU_CENTRAL};
    snprintf(db, sizeof(db), "%s", f->city);
    for (int i = 0; i < NREGIONS; i++) {
        snprintf(names[i], sizeof(names[i]), "%s", test_regions()[i].name);
        r[i] = test_regions()[i];
        r[i].name = names[i];
    }
    struct geo_config c = test_config(db);
    c.regions = r;
    c.default_order = order;
    c.ndefault_order = NREGIONS;
    struct geo *g = open_ok(&c);
    memset(db, 0, sizeof(db));
    memset(names, 'x', sizeof(names));
    memset(r, 0, sizeof(r));
    memset(order, 0, sizeof(order));
    expect(g, "10.99.0.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_DEFAULT, 10);
    expect(g, "198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    geo_free(g);
}

/* MaxMind's own test database, when present beside the checkout (GEOIP_DIR_DEFAULT). */
static void test_compat_geoip2_city(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/GeoIP2-City-Test.mmdb", geoip_dir());
    if (access(path, F_OK) != 0) {
        printf("SKIP: %s not present\n", path);
        return;
    }
    struct geo_config c = test_config(path);
    struct geo *g = open_ok(&c);
    struct geo_result r;
    struct geo_location loc;

    lookup(g, "81.2.69.142", &r);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.country, "GB");
    assert_string_equal(loc.continent, "EU");
    assert_string_equal(loc.city, "London");
    assert_true(loc.has_coords);
    assert_int_equal(r.source, GEO_SRC_COORDS);
    check_rank(&r, EU_WEST, EU_CENTRAL, US_EAST);
    assert_int_equal(r.scope, 31); /* mmdblookup: ::81.2.69.142/127 */

    lookup(g, "216.160.83.56", &r);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.country, "US");
    assert_string_equal(loc.continent, "NA");
    assert_string_equal(loc.city, "Milton");
    check_rank(&r, US_EAST, EU_WEST, EU_CENTRAL);
    assert_int_equal(r.scope, 29);

    lookup(g, "2001:218::", &r);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.country, "JP");
    assert_string_equal(loc.continent, "AS");
    assert_int_equal(r.scope, 32);
    geo_free(g);

    /* with pins: GB clients stay in eu-central, the rest of EU prefers eu-west */
    const uint16_t gb[] = {EU_CENTRAL}, eu[] = {EU_WEST};
    struct geo_pin pins[] = {{"GB", false, gb, 1}, {"EU", true, eu, 1}};
    c.pins = pins;
    c.npins = 2;
    g = open_ok(&c);
    expect(g, "81.2.69.142", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COUNTRY, 31);
    expect(g, "2001:218::", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 32);
    geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_missing_database),
        cmocka_unit_test(test_free_null_and_names),
        cmocka_unit_test(test_no_database),
        cmocka_unit_test(test_scope_ipv6_tree),
        cmocka_unit_test(test_scope_ipv4_tree),
        cmocka_unit_test(test_default_order_with_database),
        cmocka_unit_test(test_config_copied),
        cmocka_unit_test(test_compat_geoip2_city),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
