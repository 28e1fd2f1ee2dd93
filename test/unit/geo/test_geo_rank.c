/* test_geo_rank.c: unit tests for geo/geo_rank.c: great-circle order (LOC-3), pins (LOC-4). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "geo/geo_int.h"
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

static void test_distance(void **state)
{
    (void)state;
    /* Frankfurt - Dublin, London - New York: published great-circle figures */
    assert_float_equal(geo__distance_km(50.11, 8.68, 53.35, -6.26), 1087.7, 0.5);
    assert_float_equal(geo__distance_km(51.5074, -0.1278, 40.7128, -74.0060), 5570.2, 0.5);
    assert_float_equal(geo__distance_km(50.11, 8.68, 50.11, 8.68), 0.0, 1e-9);
    /* half the circumference: antipodes, pole to pole */
    assert_float_equal(geo__distance_km(0, 0, 0, 180), 20015.1, 0.5);
    assert_float_equal(geo__distance_km(90, 0, -90, 0), 20015.1, 0.5);
    /* across the antimeridian: short, not around the world */
    assert_float_equal(geo__distance_km(0, 179.5, 0, -179.5), 111.2, 0.5);
    /* symmetric */
    assert_float_equal(geo__distance_km(35.68, 139.69, -23.55, -46.63),
                       geo__distance_km(-23.55, -46.63, 35.68, 139.69), 1e-6);
}

/* LOC-3: the record's coordinates rank the regions nearest first. */
static void test_rank_by_distance(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    struct geo *g = open_ok(&c);
    /* Frankfurt: 0, 1088, 6549 km */
    expect(g, "10.1.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 17);
    /* Ashburn: 0, 5462 (Dublin), 6549 (Frankfurt) */
    expect(g, "198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    /* Dublin */
    expect(g, "10.1.130.1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COORDS, 20);
    /* Tokyo: far from all, 9333 / 9586 / 10872 */
    expect(g, "10.2.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 16);
    /* Sao Paulo: 7664 (Ashburn) / 9393 (Dublin) / 9829 (Frankfurt) */
    expect(g, "10.3.0.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 16);
    expect(g, "2001:db8:1::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 48);
    expect(g, "2001:db8:2::1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 48);

    /* rankings are shared: Frankfurt, Tokyo and the default order are one ranking */
    struct geo_result a, b, d;
    lookup(g, "10.1.0.5", &a);
    lookup(g, "10.2.0.1", &b);
    lookup(g, "10.99.0.1", &d);
    assert_ptr_equal(a.rank, b.rank);
    assert_ptr_equal(a.rank, d.rank);
    geo_free(g);
}

/* Equal distances keep the default order. */
static void test_ties_follow_default_order(void **state)
{
    struct fixture *f = *state;
    struct geo_region r[3] = {
        {"fra-a", 50.11, 8.68}, {"fra-b", 50.11, 8.68}, {"ash", 39.04, -77.49}};
    struct geo_config c = test_config(f->city);
    c.regions = r;
    struct geo *g = open_ok(&c);
    /* Dublin's /20 ranks like Frankfurt here (fra-a, fra-b, ash): the /16 answers alike */
    expect(g, "10.1.0.5", 0, 1, 2, GEO_SRC_COORDS, 16);
    geo_free(g);
    const uint16_t order[] = {2, 1, 0};
    c.default_order = order;
    c.ndefault_order = 3;
    g = open_ok(&c);
    expect(g, "10.1.0.5", 1, 0, 2, GEO_SRC_COORDS, 16);
    expect(g, "198.51.100.7", 2, 1, 0, GEO_SRC_COORDS, 24);
    geo_free(g);
}

/* A record without coordinates: pin when there is one, else the default order (LOC-3). */
static void test_country_only_records(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    struct geo *g = open_ok(&c);
    expect(g, "192.0.2.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 25);
    expect(g, "203.0.113.9", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 24);
    geo_free(g);

    const uint16_t de[] = {EU_WEST};
    struct geo_pin pins[] = {{"DE", false, de, 1}};
    c.pins = pins;
    c.npins = 1;
    g = open_ok(&c);
    expect(g, "192.0.2.5", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COUNTRY, 25);
    expect(g, "203.0.113.9", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 24);
    geo_free(g);
}

/* LOC-4: a continent pin, over coordinates too; the rest in default order. */
static void test_continent_pin(void **state)
{
    struct fixture *f = *state;
    struct geo_config c = test_config(f->city);
    const uint16_t eu[] = {US_EAST, EU_WEST}; /* odd on purpose: visibly not distance */
    struct geo_pin pins[] = {{"eu", true, eu, 2}};
    c.pins = pins;
    c.npins = 1;
    struct geo *g = open_ok(&c);
    expect(g, "192.0.2.130", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_CONTINENT, 26); /* FR */
    /* DE; the Dublin /20 inside gets the same pin: the whole /16 answers alike */
    expect(g, "10.1.0.5", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_CONTINENT, 16);
    expect(g, "2001:db8:3::9", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_CONTINENT, 64); /* IE */
    /* not in Europe: distance as usual */
    expect(g, "10.2.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 16);
    expect(g, "198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
    geo_free(g);

    /* a one-region pin: the others follow in the default order, not by distance */
    const uint16_t order[] = {US_EAST, EU_WEST, EU_CENTRAL};
    const uint16_t na[] = {EU_CENTRAL};
    struct geo_pin pins2[] = {{"NA", true, na, 1}};
    c.pins = pins2;
    c.default_order = order;
    c.ndefault_order = 3;
    g = open_ok(&c);
    expect(g, "198.51.100.7", EU_CENTRAL, US_EAST, EU_WEST, GEO_SRC_CONTINENT, 24);
    geo_free(g);
}

/* LOC-4: a country pin beats a continent pin, whatever their order in the list. */
static void test_country_pin_beats_continent_pin(void **state)
{
    struct fixture *f = *state;
    const uint16_t de[] = {EU_WEST}, eu[] = {EU_CENTRAL, US_EAST};
    struct geo_pin both[2][2] = {
        {{"DE", false, de, 1}, {"EU", true, eu, 2}},
        {{"EU", true, eu, 2}, {"DE", false, de, 1}},
    };
    for (int k = 0; k < 2; k++) {
        struct geo_config c = test_config(f->city);
        c.pins = both[k];
        c.npins = 2;
        struct geo *g = open_ok(&c);
        expect(g, "192.0.2.5", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COUNTRY, 25); /* DE */
        expect(g, "10.1.0.5", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COUNTRY, 17);  /* DE */
        expect(g, "2001:db8:1::1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COUNTRY, 48);
        expect(g, "192.0.2.130", EU_CENTRAL, US_EAST, EU_WEST, GEO_SRC_CONTINENT, 26); /* FR */
        expect(g, "10.1.130.1", EU_CENTRAL, US_EAST, EU_WEST, GEO_SRC_CONTINENT, 20);  /* IE */
        expect(g, "198.51.100.7", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 24);
        geo_free(g);
    }
}

/* The same code as country and as continent are two different pins. */
static void test_same_code_country_and_continent(void **state)
{
    struct fixture *f = *state;
    const uint16_t as_country[] = {US_EAST}, as_continent[] = {EU_WEST};
    /* "AS" is American Samoa as a country and Asia as a continent */
    struct geo_pin pins[] = {{"AS", false, as_country, 1}, {"AS", true, as_continent, 1}};
    struct geo_config c = test_config(f->city);
    c.pins = pins;
    c.npins = 2;
    struct geo *g = open_ok(&c);
    expect(g, "10.2.0.1", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_CONTINENT, 16); /* JP, AS */
    geo_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_rank_by_distance),
        cmocka_unit_test(test_ties_follow_default_order),
        cmocka_unit_test(test_country_only_records),
        cmocka_unit_test(test_continent_pin),
        cmocka_unit_test(test_country_pin_beats_continent_pin),
        cmocka_unit_test(test_same_code_country_and_continent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
