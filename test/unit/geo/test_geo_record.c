/* test_geo_record.c: unit tests for geo/geo_record.c: record fields and geo_describe (EXP-1). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_geo_util.h"

struct fixture {
    struct tdir dir;
    char city[256];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tdir_make(&f->dir);
    build_db(&f->dir, "", "city.txt", "city.mmdb", f->city, sizeof(f->city));
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

static void describe(const struct geo *g, const char *addr, struct geo_result *r,
                     struct geo_location *loc)
{
    lookup(g, addr, r);
    memset(loc, 0x5a, sizeof(*loc));
    geo_describe(g, r, loc);
}

static void test_describe_city(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    struct geo *g = open_ok(&c);
    struct geo_result r;
    struct geo_location loc;

    describe(g, "10.1.130.1", &r, &loc);
    assert_true(loc.has_coords);
    assert_float_equal(loc.lat, 53.35, 1e-9);
    assert_float_equal(loc.lon, -6.26, 1e-9);
    assert_string_equal(loc.country, "IE");
    assert_string_equal(loc.continent, "EU");
    assert_string_equal(loc.city, "Dublin");
    assert_float_equal(loc.distance_km[EU_WEST], 0.0, 1e-6);
    assert_float_equal(loc.distance_km[EU_CENTRAL], 1087.7, 0.5);
    assert_float_equal(loc.distance_km[US_EAST], 5461.5, 0.5);
    assert_string_equal(loc.net, "");
    assert_string_equal(loc.region, "");

    describe(g, "10.3.0.1", &r, &loc);
    assert_string_equal(loc.city, "S\xc3\xa3o Paulo");
    assert_string_equal(loc.continent, "SA");

    /* 63 bytes at most, cut before a multi-byte character rather than inside it */
    describe(g, "10.4.0.1", &r, &loc);
    assert_true(strlen(loc.city) <= 63);
    assert_memory_equal(loc.city, "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch ",
                        59);
    assert_string_equal(loc.city + 59, "\xc3\x9cn");
    assert_string_equal(loc.country, "GB");
    geo_free(g);
}

static void test_describe_without_coordinates(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    struct geo *g = open_ok(&c);
    struct geo_result r;
    struct geo_location loc;

    describe(g, "192.0.2.130", &r, &loc);
    assert_false(loc.has_coords);
    assert_string_equal(loc.country, "FR");
    assert_string_equal(loc.continent, "EU");
    assert_string_equal(loc.city, "");
    assert_float_equal(loc.distance_km[0], 0.0, 0);

    /* a record without any field */
    describe(g, "172.16.1.1", &r, &loc);
    assert_int_not_equal(r.loc, 0);
    assert_false(loc.has_coords);
    assert_string_equal(loc.country, "");
    assert_string_equal(loc.continent, "");

    /* no record */
    describe(g, "10.99.0.1", &r, &loc);
    assert_int_equal(r.loc, 0);
    assert_false(loc.has_coords);
    assert_string_equal(loc.country, "");
    assert_string_equal(loc.city, "");
    geo_free(g);
}

/* A nets client: the matched entry, its region, and that region's site as the location. */
static void test_describe_nets(void **state)
{
    struct fixture *f = *state;
    char name[16];
    snprintf(name, sizeof(name), "eu-west");
    struct geo_region regions[NREGIONS];
    memcpy(regions, test_regions(), sizeof(regions));
    regions[EU_WEST].name = name;
    struct geo_net n[2];
    memset(n, 0, sizeof(n));
    n[0].family = AF_INET6;
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 99};
    memcpy(n[0].addr, mapped, 16);
    n[0].prefix = 120;
    n[0].region = EU_WEST;
    n[1].family = AF_INET6;
    const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x07};
    memcpy(n[1].addr, v6, 16);
    n[1].prefix = 48;
    n[1].region = US_EAST;
    struct geo_config c = test_config(f->city);
    c.regions = regions;
    c.nets = n;
    c.nnets = 2;
    struct geo *g = open_ok(&c);
    memset(name, 0, sizeof(name)); /* names are copied */

    struct geo_result r;
    struct geo_location loc;
    describe(g, "10.1.2.3", &r, &loc);
    assert_int_equal(r.source, GEO_SRC_NETS);
    assert_string_equal(loc.net, "10.1.2.0/24");
    assert_string_equal(loc.region, "eu-west");
    assert_true(loc.has_coords);
    assert_float_equal(loc.lat, 53.35, 1e-9);
    assert_float_equal(loc.distance_km[EU_WEST], 0.0, 1e-6);
    assert_string_equal(loc.country, "");

    describe(g, "2001:db8:7:1::1", &r, &loc);
    assert_string_equal(loc.net, "2001:db8:7::/48");
    assert_string_equal(loc.region, "us-east");
    geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_city),
        cmocka_unit_test(test_describe_without_coordinates),
        cmocka_unit_test(test_describe_nets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
