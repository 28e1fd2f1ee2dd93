/* test_geo_nets.c: unit tests for geo/geo_nets.c: overrides (LOC-2) and their scopes (ECS-G1). */
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

static struct geo_net net(const char *cidr, uint16_t region)
{
    struct geo_net n;
    char text[64];
    memset(&n, 0, sizeof(n));
    snprintf(text, sizeof(text), "%s", cidr);
    char *slash = strchr(text, '/');
    assert_non_null(slash);
    *slash = '\0';
    n.prefix = (uint8_t)atoi(slash + 1);
    n.region = region;
    if (inet_pton(AF_INET, text, n.addr) == 1) {
        n.family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, n.addr), 1);
        n.family = AF_INET6;
    }
    return n;
}

/* Rankings of nets clients: their region, then the others by distance from it. */
#define R_US US_EAST, EU_WEST, EU_CENTRAL
#define R_EW EU_WEST, EU_CENTRAL, US_EAST
#define R_EC EU_CENTRAL, EU_WEST, US_EAST

static struct geo *open_nets(const char *db, struct geo_net *nets, size_t n)
{
    struct geo_config c = test_config(db);
    c.nets = nets;
    c.nnets = n;
    return open_ok(&c);
}

static size_t example_nets(struct geo_net *n)
{
    size_t k = 0;
    n[k++] = net("10.1.0.0/16", US_EAST);
    n[k++] = net("10.1.2.0/24", EU_WEST);
    n[k++] = net("10.1.2.128/25", EU_WEST); /* inside the /24, same region */
    n[k++] = net("10.1.200.0/24", US_EAST); /* inside the /16, same region */
    n[k++] = net("2001:db8:1::/48", US_EAST);
    n[k++] = net("::ffff:192.0.2.0/120", EU_WEST); /* IPv4-mapped: 192.0.2.0/24 */
    n[k++] = net("198.51.100.128/25", EU_CENTRAL);
    n[k++] = net("2001:db8:2:8000::/49", EU_CENTRAL);
    n[k++] = net("10.1.2.77/24", EU_WEST); /* host bits set: the same /24 again */
    return k;
}

/* LOC-2: longest prefix wins; the scope never covers a more specific entry of another
 * region. */
static void test_longest_prefix_and_scope(void **state)
{
    struct fixture *f = *state;
    struct geo_net n[16];
    size_t k = example_nets(n);
    struct geo *g = open_nets(f->city, n, k);

    expect(g, "10.1.2.5", R_EW, GEO_SRC_NETS, 24);   /* the /25 inside has the same region */
    expect(g, "10.1.2.200", R_EW, GEO_SRC_NETS, 25); /* the /25 */
    expect(g, "10.1.200.7", R_US, GEO_SRC_NETS, 24);
    /* The /16: 10.1.5.1 shares 21 bits with 10.1.2.0/24 (another region): scope 22. */
    expect(g, "10.1.5.1", R_US, GEO_SRC_NETS, 22);
    expect(g, "10.1.0.9", R_US, GEO_SRC_NETS, 23);
    /* 10.1.201.1 shares 23 bits with 10.1.200.0/24, but that one has the /16's region:
     * only 10.1.2.0/24 (16 bits in common) limits the scope. */
    expect(g, "10.1.201.1", R_US, GEO_SRC_NETS, 17);
    /* IPv4-mapped entries and addresses both count as IPv4 */
    expect(g, "192.0.2.7", R_EW, GEO_SRC_NETS, 24);
    expect(g, "::ffff:192.0.2.7", R_EW, GEO_SRC_NETS, 24);
    expect(g, "198.51.100.200", R_EC, GEO_SRC_NETS, 25);
    expect(g, "2001:db8:2:8000::1", R_EC, GEO_SRC_NETS, 49);
    expect(g, "2001:db8:1:5::1", R_US, GEO_SRC_NETS, 48);
    geo_free(g);
}

/* No nets hit: the database answers, but its scope must not cover a nets entry. */
static void test_database_scope_excludes_nets(void **state)
{
    struct fixture *f = *state;
    struct geo_net n[16];
    size_t k = example_nets(n);
    struct geo *g = open_nets(f->city, n, k);
    /* the database's /24 holds 198.51.100.128/25: scope 25 */
    expect(g, "198.51.100.5", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 25);
    expect(g, "::ffff:198.51.100.5", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 25);
    /* the database's /48 holds 2001:db8:2:8000::/49: scope 49 */
    expect(g, "2001:db8:2::1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 49);
    /* Tokyo's /16 (10.2/16) is more specific than the nets rule needs (15) */
    expect(g, "10.2.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 16);
    /* unknown: the empty network's netmask or the nets rule, whichever is longer */
    expect(g, "10.0.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 16);
    expect(g, "8.8.8.8", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 7);
    expect(g, "2001:db8:ffff::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 33);
    geo_free(g);
}

/* Without a database, scope is 0 only when the family has no nets entries at all. */
static void test_nets_without_database(void **state)
{
    (void)state;
    struct geo_net n[16];
    size_t k = example_nets(n);
    struct geo *g = open_nets(NULL, n, k);
    expect(g, "10.1.2.5", R_EW, GEO_SRC_NETS, 24);
    expect(g, "8.8.8.8", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 7);
    expect(g, "172.16.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 2);
    expect(g, "2001:db8:ffff::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 33);
    expect(g, "fe80::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 1);
    expect(g, "::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 3);
    geo_free(g);

    /* IPv4 entries only: IPv6 clients are not constrained */
    struct geo_net v4[1] = {net("10.0.0.0/8", EU_WEST)};
    g = open_nets(NULL, v4, 1);
    expect(g, "2001:db8::1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 0);
    expect(g, "11.0.0.1", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 8);
    expect(g, "10.200.0.1", R_EW, GEO_SRC_NETS, 8);
    geo_free(g);
}

/* Catch-all entries and host routes: /0, /32, /128. */
static void test_extreme_prefixes(void **state)
{
    (void)state;
    struct geo_net n[8];
    size_t k = 0;
    n[k++] = net("0.0.0.0/0", EU_WEST);
    n[k++] = net("10.1.0.0/16", US_EAST);
    n[k++] = net("10.1.2.3/32", EU_CENTRAL);
    n[k++] = net("::/0", US_EAST);
    n[k++] = net("2001:db8::1/128", EU_CENTRAL);
    struct geo *g = open_nets(NULL, n, k);
    /* everything matches /0; its scope only has to exclude 10.1/16 */
    expect(g, "8.8.8.8", R_EW, GEO_SRC_NETS, 7);
    expect(g, "200.1.1.1", R_EW, GEO_SRC_NETS, 1);
    expect(g, "10.1.2.3", R_EC, GEO_SRC_NETS, 32);
    expect(g, "10.1.2.2", R_US, GEO_SRC_NETS, 32);
    expect(g, "10.1.9.9", R_US, GEO_SRC_NETS, 21);
    expect(g, "2001:db8::1", R_EC, GEO_SRC_NETS, 128);
    expect(g, "2001:db8::", R_US, GEO_SRC_NETS, 128);
    expect(g, "2001:db8:8000::", R_US, GEO_SRC_NETS, 33);
    expect(g, "fe80::", R_US, GEO_SRC_NETS, 1);
    geo_free(g);
}

/* Order of the list does not matter; only prefix length does. */
static void test_order_independent(void **state)
{
    struct fixture *f = *state;
    struct geo_net n[16], rev[16];
    size_t k = example_nets(n);
    for (size_t i = 0; i < k; i++)
        rev[i] = n[k - 1 - i];
    struct geo *g = open_nets(f->city, rev, k);
    expect(g, "10.1.2.200", R_EW, GEO_SRC_NETS, 25);
    expect(g, "10.1.5.1", R_US, GEO_SRC_NETS, 22);
    expect(g, "198.51.100.5", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 25);
    geo_free(g);
}

/* ---- random configurations against a brute-force reading of the rules ---- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
    unsigned i = 0;
    while (i < max && ((a[i >> 3] ^ b[i >> 3]) & (0x80u >> (i & 7))) == 0)
        i++;
    return i;
}

/* Random bits in a[from..bits), zero after; the first 'from' bits stay. */
static void randomize(uint8_t *a, unsigned from, unsigned bits, uint64_t *seed)
{
    for (unsigned i = from; i < 128; i++) {
        uint8_t m = (uint8_t)(0x80u >> (i & 7));
        if (i < bits && (rnd(seed) & 1))
            a[i >> 3] |= m;
        else
            a[i >> 3] &= (uint8_t)~m;
    }
}

static void brute_force_round(int family, uint64_t *seed)
{
    unsigned bits = family == AF_INET ? 32 : 128;
    /* entries crowd a small space (a shared /8 or /32) so they nest and collide */
    uint8_t base[16] = {10, 0, 0, 0};
    if (family == AF_INET6)
        memcpy(base, (const uint8_t[]){0x20, 0x01, 0x0d, 0xb8}, 4);
    unsigned fixed = family == AF_INET ? 8 : 32;
    unsigned span = family == AF_INET ? 14 : 40; /* entries vary in the next bits only */
    struct geo_net n[40];
    size_t k = 0;
    while (k < 40) {
        struct geo_net e;
        memset(&e, 0, sizeof(e));
        e.family = family;
        memcpy(e.addr, base, 16);
        e.prefix = (uint8_t)(fixed + rnd(seed) % (span + 1));
        if (rnd(seed) % 8 == 0)
            e.prefix = (uint8_t)(rnd(seed) % (bits + 1)); /* sometimes anywhere, /0../max */
        randomize(e.addr, fixed < e.prefix ? fixed : e.prefix, e.prefix, seed);
        e.region = (uint16_t)(rnd(seed) % NREGIONS);
        bool dup = false;
        for (size_t i = 0; i < k; i++)
            dup |= n[i].prefix == e.prefix && memcmp(n[i].addr, e.addr, 16) == 0;
        if (!dup)
            n[k++] = e;
    }
    struct geo *g = open_nets(NULL, n, k);
    for (int t = 0; t < 3000; t++) {
        uint8_t a[16];
        memcpy(a, base, 16);
        if (t % 2 == 0) /* near an entry */
            memcpy(a, n[rnd(seed) % k].addr, 16);
        randomize(a, t % 5 == 0 ? 0 : fixed + (unsigned)(rnd(seed) % (span + 1)), bits, seed);
        int best = -1;
        for (size_t i = 0; i < k; i++)
            if (common_bits(a, n[i].addr, n[i].prefix) == n[i].prefix &&
                (best < 0 || n[i].prefix > n[best].prefix))
                best = (int)i;
        unsigned want = 0;
        if (best >= 0) {
            want = n[best].prefix;
            for (size_t i = 0; i < k; i++) {
                bool inside =
                    n[i].prefix > n[best].prefix &&
                    common_bits(n[i].addr, n[best].addr, n[best].prefix) == n[best].prefix;
                if (inside && n[i].region != n[best].region) {
                    unsigned l = common_bits(a, n[i].addr, bits) + 1;
                    if (l > want)
                        want = l;
                }
            }
        } else {
            for (size_t i = 0; i < k; i++) {
                unsigned l = common_bits(a, n[i].addr, bits) + 1;
                if (l > want)
                    want = l;
            }
        }
        struct geo_result r;
        geo_lookup(g, family, a, &r);
        if (best >= 0) {
            assert_int_equal(r.source, GEO_SRC_NETS);
            assert_int_equal(r.rank[0], n[best].region);
        } else {
            assert_int_equal(r.source, GEO_SRC_DEFAULT);
        }
        assert_int_equal(r.scope, want);
        /* and the claim behind the rule: every address of a/scope gets the same answer */
        uint8_t b[16];
        memcpy(b, a, 16);
        randomize(b, r.scope, bits, seed);
        struct geo_result rb;
        geo_lookup(g, family, b, &rb);
        assert_int_equal(rb.source, r.source);
        assert_int_equal(rb.rank[0], r.rank[0]);
    }
    geo_free(g);
}

static void test_random_against_brute_force(void **state)
{
    (void)state;
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (int round = 0; round < 40; round++) {
        brute_force_round(AF_INET, &seed);
        brute_force_round(AF_INET6, &seed);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_prefix_and_scope),
        cmocka_unit_test(test_database_scope_excludes_nets),
        cmocka_unit_test(test_nets_without_database),
        cmocka_unit_test(test_extreme_prefixes),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_random_against_brute_force),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
