/* test_geo_tree.c: unit tests for geo/geo_tree.c: bad files, and lookups equal libmaxminddb's. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <maxminddb.h>

#include "geo/geo_int.h"
#include "test_geo_util.h"

#define SENTINEL ((struct geo *)(uintptr_t)0x5e5e)

struct fixture {
    struct tdir dir;
    char small[256]; /* small.txt: IPv4 tree, record size 24 */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tdir_make(&f->dir);
    build_db(&f->dir, "", "small.txt", "small.mmdb", f->small, sizeof(f->small));
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

/* geo_open must fail with code (any negative code when code is 0), leave *out alone, and
 * explain itself starting with the path. */
static void expect_open_error(const char *path, int code, const char *msg_part)
{
    struct geo_config c = test_config(path);
    struct geo *g = SENTINEL;
    char err[512] = "";
    int rc = geo_open(&c, &g, err, sizeof(err));
    printf("    %s -> %d: %s\n", path, rc, err);
    if (code != 0)
        assert_int_equal(rc, code);
    else
        assert_true(rc < 0);
    assert_ptr_equal(g, SENTINEL);
    assert_int_equal(strncmp(err, path, strlen(path)), 0);
    assert_non_null(strstr(err, msg_part));
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static uint32_t node_count(const char *path)
{
    MMDB_s m;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    assert_int_equal(m.metadata.record_size, 24);
    uint32_t n = m.metadata.node_count;
    MMDB_close(&m);
    return n;
}

/* Record size 24: node i is 6 bytes at 6 * i, left then right, big endian. */
static void set_record(uint8_t *db, uint32_t node, int side, uint32_t v)
{
    uint8_t *p = db + 6 * (size_t)node + 3 * (size_t)side;
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static void test_missing_and_not_mmdb(void **state)
{
    struct fixture *f = *state;
    char path[300];
    expect_open_error(DATA "nothere.mmdb", -ENOENT, ": cannot open: No such file or directory");
    expect_open_error(DATA, -EISDIR, ": cannot open: Is a directory");
    expect_open_error("/dev/null", -EINVAL, ": cannot open: not a regular file");
    snprintf(path, sizeof(path), "%s/fifo.mmdb", f->dir.path);
    assert_int_equal(mkfifo(path, 0600), 0); /* opening it would block forever */
    expect_open_error(path, -EINVAL, ": cannot open: not a regular file");
    snprintf(path, sizeof(path), "%s/empty.mmdb", f->dir.path);
    write_file(path, "", 0);
    expect_open_error(path, -EBADMSG, ": not a MaxMind DB: empty file");
    snprintf(path, sizeof(path), "%s/text.mmdb", f->dir.path);
    write_file(path, "hello, world\n", 13);
    expect_open_error(path, -EBADMSG, ": not a MaxMind DB: ");
    /* the first half of a good database: no metadata */
    size_t len;
    uint8_t *db = read_file(f->small, &len);
    snprintf(path, sizeof(path), "%s/half.mmdb", f->dir.path);
    write_file(path, db, len / 2);
    expect_open_error(path, -EBADMSG, ": not a MaxMind DB: ");
    free(db);
}

static void test_no_location_data(void **state)
{
    struct fixture *f = *state;
    char path[300];
    build_db(&f->dir, "", "nodata.txt", "nodata.mmdb", path, sizeof(path));
    expect_open_error(path, -EBADMSG, "no record has coordinates, a country or a continent");
}

/* MaxMind's ASN test database has no location data at all (skipped when absent). */
static void test_asn_database(void **state)
{
    (void)state;
    char path[300];
    snprintf(path, sizeof(path), "%s/GeoLite2-ASN-Test.mmdb", geoip_dir());
    skip_unless_present(path);
    expect_open_error(path, -EBADMSG, "(database type GeoLite2-ASN)");
}

/* Corrupt search trees made from a good database: libmaxminddb opens them; we must not. */
static void test_corrupt_trees(void **state)
{
    struct fixture *f = *state;
    size_t len;
    uint8_t *good = read_file(f->small, &len);
    uint8_t *db = malloc(len);
    assert_non_null(db);
    uint32_t n = node_count(f->small);
    assert_true(n >= 34);
    char path[300];
    snprintf(path, sizeof(path), "%s/corrupt.mmdb", f->dir.path);

    /* the root points to itself */
    memcpy(db, good, len);
    set_record(db, 0, 0, 0);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: cycle through node 0");

    /* a deeper node points back up */
    memcpy(db, good, len);
    set_record(db, 5, 1, 2);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: ");

    /* a value inside the 16-byte separator, and one past the data section */
    memcpy(db, good, len);
    set_record(db, 0, 1, n + 5);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: node 0 holds");
    memcpy(db, good, len);
    set_record(db, 1, 0, 0xffffff);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: node 1 holds 16777215");

    /* a chain of 34 nodes: deeper than the 32 bits of an IPv4 address */
    memcpy(db, good, len);
    for (uint32_t i = 0; i < 33; i++) {
        set_record(db, i, 0, i + 1);
        set_record(db, i, 1, n);
    }
    set_record(db, 33, 0, n);
    set_record(db, 33, 1, n);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: deeper than 32 bits");

    /* A DAG: node 2's chain (31 levels) is fine from depth 1, met first that way, and too
     * deep when met again from depth 2. */
    memcpy(db, good, len);
    set_record(db, 0, 0, 2);
    set_record(db, 0, 1, 1);
    set_record(db, 1, 0, 2);
    set_record(db, 1, 1, n);
    for (uint32_t i = 2; i < 32; i++) {
        set_record(db, i, 0, i + 1);
        set_record(db, i, 1, n);
    }
    set_record(db, 32, 0, n);
    set_record(db, 32, 1, n);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "corrupt search tree: deeper than 32 bits");

    /* the same DAG one level shorter is a valid (if odd) tree, but has no data at all */
    set_record(db, 31, 0, n);
    write_file(path, db, len);
    expect_open_error(path, -EBADMSG, "no record has coordinates");

    free(db);
    free(good);
}

/* Every file of MaxMind's collection of broken databases: an error, never a crash. */
static void test_bad_files(void **state)
{
    (void)state;
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/bad", geoip_dir());
    skip_unless_present(dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        expect_open_error(path, 0, ": ");
        count++;
    }
    closedir(d);
    assert_true(count > 0);
}

/* ---- agreement with libmaxminddb ---- */

struct leaf {
    uint8_t addr[16];
    uint8_t prefix;
};

/* All leaf networks (data or empty) reachable in m, by a depth-first walk of MMDB_read_node. */
static size_t enum_leaves(const MMDB_s *m, struct leaf *out, size_t max)
{
    struct {
        uint32_t node;
        uint8_t depth;
        uint8_t addr[16];
    } stack[130];
    unsigned bits = m->metadata.ip_version == 4 ? 32 : 128;
    size_t sp = 1, n = 0;
    memset(&stack[0], 0, sizeof(stack[0]));
    while (sp > 0 && n < max) {
        sp--;
        uint32_t node = stack[sp].node;
        uint8_t depth = stack[sp].depth, addr[16];
        memcpy(addr, stack[sp].addr, 16);
        MMDB_search_node_s sn;
        assert_int_equal(MMDB_read_node(m, node, &sn), MMDB_SUCCESS);
        for (int side = 0; side < 2 && n < max; side++) {
            uint8_t a[16];
            memcpy(a, addr, 16);
            if (side)
                a[depth >> 3] |= (uint8_t)(0x80u >> (depth & 7));
            uint8_t type = side ? sn.right_record_type : sn.left_record_type;
            uint64_t rec = side ? sn.right_record : sn.left_record;
            assert_true(depth < bits);
            if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
                assert_true(sp < 130);
                stack[sp].node = (uint32_t)rec;
                stack[sp].depth = (uint8_t)(depth + 1);
                memcpy(stack[sp].addr, a, 16);
                sp++;
            } else {
                memcpy(out[n].addr, a, 16);
                out[n].prefix = (uint8_t)(depth + 1);
                n++;
            }
        }
    }
    return n;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Set the host bits of a (bits long) past prefix to 0 (ones false) or 1. */
static void host_bits(uint8_t *a, unsigned prefix, unsigned bits, bool ones)
{
    for (unsigned b = prefix; b < bits; b++) {
        if (ones)
            a[b >> 3] |= (uint8_t)(0x80u >> (b & 7));
        else
            a[b >> 3] &= (uint8_t) ~(0x80u >> (b & 7));
    }
}

/* One address: MMDB_lookup_sockaddr vs geo_lookup. The answer (ranking, source) is the
 * record's; the scope is the record's network or wider (networks that answer alike are
 * merged), and the first and last address of that wider network answer the same. */
static bool compare_one(const struct geo *g, const MMDB_s *m, int family, const uint8_t *a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    bool v4 = family == AF_INET;
    if (v4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, a, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, a, 16);
    }
    int merr = 0;
    MMDB_lookup_result_s lr = MMDB_lookup_sockaddr(m, (struct sockaddr *)&ss, &merr);
    struct geo_result r;
    geo_lookup(g, family, a, &r);
    if (merr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
        assert_int_equal(r.loc, 0);
        assert_int_equal(r.scope, 0);
        return false;
    }
    assert_int_equal(merr, MMDB_SUCCESS);
    int want_scope = lr.netmask;
    if (v4 && m->metadata.ip_version == 6)
        want_scope = want_scope >= 96 ? want_scope - 96 : 0;
    /* the record's own answer (LOC-3, LOC-4), worked out again from its fields */
    uint16_t want_rank[GEO_MAX_REGIONS];
    memcpy(want_rank, g->pool.v + g->default_rank, g->nregions * sizeof(*want_rank));
    uint8_t want_source = GEO_SRC_DEFAULT;
    if (lr.found_entry) {
        struct geo__fields fl;
        int st = 0;
        assert_int_equal(geo__record_decode(g, lr.entry.offset, false, &fl, &st), 0);
        const struct geo__pin *pin = geo__pin_find(g, fl.country, fl.continent);
        if (pin != NULL) {
            memcpy(want_rank, g->pool.v + pin->rank, g->nregions * sizeof(*want_rank));
            want_source = pin->continent ? GEO_SRC_CONTINENT : GEO_SRC_COUNTRY;
        } else if (fl.has_coords) {
            geo__rank_by_distance(g, fl.lat, fl.lon, want_rank);
            want_source = GEO_SRC_COORDS;
        }
    }
    bool same = memcmp(r.rank, want_rank, g->nregions * sizeof(*want_rank)) == 0;
    if (lr.found_entry != (r.loc != 0) || r.scope > want_scope || !same ||
        r.source != want_source) {
        char text[64];
        inet_ntop(family, a, text, sizeof(text));
        fprintf(stderr, "%s: libmaxminddb found=%d netmask=%u; geo loc=%u scope=%u\n", text,
                lr.found_entry, lr.netmask, r.loc, r.scope);
    }
    assert_int_equal(lr.found_entry, r.loc != 0);
    assert_true(r.scope <= want_scope);
    assert_true(same);
    assert_int_equal(r.source, want_source);
    /* the merged network answers alike from end to end */
    unsigned bits = v4 ? 32 : 128;
    for (int ones = 0; ones < 2 && r.scope < want_scope; ones++) {
        uint8_t b[16];
        memcpy(b, a, v4 ? 4 : 16);
        host_bits(b, r.scope, bits, ones);
        struct geo_result o;
        geo_lookup(g, family, b, &o);
        assert_ptr_equal(o.rank, r.rank);
        assert_int_equal(o.source, r.source);
        assert_int_equal(o.loc, r.loc);
        assert_int_equal(o.scope, r.scope);
    }
    /* the nearest-region network: no narrower than the ranking's, and its first and last
     * address have the same nearest region (and the same network) */
    assert_true(r.scope_nearest <= r.scope);
    for (int ones = 0; ones < 2 && r.scope_nearest < r.scope; ones++) {
        uint8_t b[16];
        memcpy(b, a, v4 ? 4 : 16);
        host_bits(b, r.scope_nearest, bits, ones);
        struct geo_result o;
        geo_lookup(g, family, b, &o);
        assert_int_equal(o.rank[0], r.rank[0]);
        assert_int_equal(o.scope_nearest, r.scope_nearest);
    }
    return r.scope < want_scope;
}

static const uint8_t v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t zero12[12] = {0};

/* For each leaf network: its first, last and a random address; plus random addresses. */
static void compare_with_libmaxminddb(const char *path)
{
    struct geo_config c = test_config(path);
    struct geo *g = open_ok(&c);
    MMDB_s m;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
    size_t max = 200000, wider = 0;
    struct leaf *lv = malloc(max * sizeof(*lv));
    assert_non_null(lv);
    size_t n = enum_leaves(&m, lv, max);
    assert_true(n > 0);
    bool tree4 = m.metadata.ip_version == 4;
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned bits = tree4 ? 32 : 128;
        for (int k = 0; k < 3; k++) {
            uint8_t a[16];
            memcpy(a, lv[i].addr, 16);
            for (unsigned b = lv[i].prefix; b < bits; b++) {
                bool one = k == 1 || (k == 2 && (rnd(&seed) & 1));
                if (one)
                    a[b >> 3] |= (uint8_t)(0x80u >> (b & 7));
            }
            if (tree4) {
                wider += compare_one(g, &m, AF_INET, a);
            } else if (memcmp(a, v4mapped_prefix, 12) == 0 || memcmp(a, zero12, 12) == 0) {
                /* geo treats ::ffff:a.b.c.d as IPv4; compare with libmaxminddb's IPv4 */
                wider += compare_one(g, &m, AF_INET, a + 12);
                if (memcmp(a, zero12, 12) == 0)
                    wider += compare_one(g, &m, AF_INET6, a);
            } else {
                wider += compare_one(g, &m, AF_INET6, a);
            }
            checked++;
        }
    }
    for (int i = 0; i < 20000; i++) {
        uint64_t x = rnd(&seed), y = rnd(&seed);
        uint8_t a[16];
        for (int b = 0; b < 8; b++) {
            a[b] = (uint8_t)(x >> (8 * b));
            a[8 + b] = (uint8_t)(y >> (8 * b));
        }
        wider += compare_one(g, &m, AF_INET, a);
        if (memcmp(a, v4mapped_prefix, 12) != 0)
            wider += compare_one(g, &m, AF_INET6, a);
        checked += 2;
    }
    printf("    %s: %zu leaf networks, %zu addresses agree with libmaxminddb (%zu with a "
           "wider, merged scope)\n",
           path, n, checked, wider);
    free(lv);
    MMDB_close(&m);
    geo_free(g);
}

static void test_agree_record_sizes(void **state)
{
    struct fixture *f = *state;
    static const char *const opts[] = {"--record-size 24", "--record-size 28", "--record-size 32"};
    for (int i = 0; i < 3; i++) {
        char path[300], name[32];
        snprintf(name, sizeof(name), "city%d.mmdb", i);
        build_db(&f->dir, opts[i], "city.txt", name, path, sizeof(path));
        compare_with_libmaxminddb(path);
    }
    char path[300];
    build_db(&f->dir, "", "city4.txt", "city4.mmdb", path, sizeof(path));
    compare_with_libmaxminddb(path);
    build_db(&f->dir, "--record-size 32", "city4.txt", "city4-32.mmdb", path, sizeof(path));
    compare_with_libmaxminddb(path);
    compare_with_libmaxminddb(f->small);
    build_db(&f->dir, "", "../../../geo/demo-networks.txt", "demo.mmdb", path, sizeof(path));
    compare_with_libmaxminddb(path);
}

/* Networks that answer alike are merged at load: the ECS scope is the widest network with
 * the same ranking and source, never one covering a nets entry; explain still names each
 * network's own record. */
static void test_merge_by_answer(void **state)
{
    struct fixture *f = *state;
    char path[300];
    build_db(&f->dir, "", "merge.txt", "merge.mmdb", path, sizeof(path));
    struct geo_config c = test_config(path);
    struct geo *g = open_ok(&c);
    expect(g, "10.0.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 24);
    expect(g, "10.0.0.200", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 24);
    expect(g, "10.0.1.5", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_COORDS, 24);
    expect(g, "10.0.2.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 24);
    struct geo_result r;
    lookup(g, "10.0.3.5", &r); /* no data: never merged into its Frankfurt neighbour */
    assert_int_equal(r.loc, 0);
    assert_int_equal(r.source, GEO_SRC_DEFAULT);
    expect(g, "10.1.0.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 16);
    expect(g, "10.1.200.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 16);
    /* the same ranking from another source (explain shows it) stays apart */
    expect(g, "10.2.0.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_DEFAULT, 17);
    expect(g, "10.2.128.5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 17);
    expect(g, "2001:db8::5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 47);
    expect(g, "2001:db8:1::5", EU_CENTRAL, EU_WEST, US_EAST, GEO_SRC_COORDS, 47);
    /* merged networks keep their own records for explain */
    struct geo_location loc;
    lookup(g, "10.0.0.200", &r);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.city, "Munich");
    lookup(g, "10.0.0.5", &r);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.city, "Frankfurt");
    lookup(g, "::ffff:10.1.200.1", &r);
    assert_int_equal(r.scope, 16);
    geo_describe(g, &r, &loc);
    assert_string_equal(loc.city, "New York");
    geo_free(g);

    /* a nets entry inside the merged /16: database answers around it narrow to leave it out */
    struct geo_net n = {.family = AF_INET, .prefix = 24, .region = EU_WEST};
    assert_int_equal(inet_pton(AF_INET, "10.1.5.0", n.addr), 1);
    c.nets = &n;
    c.nnets = 1;
    g = open_ok(&c);
    expect(g, "10.1.200.1", US_EAST, EU_WEST, EU_CENTRAL, GEO_SRC_COORDS, 17);
    expect(g, "10.1.5.9", EU_WEST, EU_CENTRAL, US_EAST, GEO_SRC_NETS, 24);
    geo_free(g);
}

/* Do the first p bits of a and b match? */
static bool same_prefix(const uint8_t *a, const uint8_t *b, unsigned p)
{
    for (unsigned i = 0; i < p; i++)
        if (((a[i >> 3] ^ b[i >> 3]) & (0x80u >> (i & 7))) != 0)
            return false;
    return true;
}

/* The widest network around a (bits long) whose leaf networks all rank the same region
 * first, the slow way: every prefix length, every leaf network it overlaps. */
static unsigned brute_scope_nearest(const struct geo *g, int family, const struct leaf *lv,
                                    size_t n, const uint8_t *a, unsigned bits)
{
    for (unsigned p = 0; p <= bits; p++) {
        int first = -1;
        bool uniform = true;
        for (size_t i = 0; i < n && uniform; i++) {
            unsigned common = lv[i].prefix < p ? lv[i].prefix : p;
            if (!same_prefix(lv[i].addr, a, common))
                continue;
            struct geo_result o;
            geo_lookup(g, family, lv[i].addr, &o);
            if (first < 0)
                first = o.rank[0];
            else if (o.rank[0] != first)
                uniform = false;
        }
        if (uniform)
            return p;
    }
    return bits;
}

/* Answers from the nearest region carry the widest network whose addresses all have that
 * nearest region (their later regions may differ): checked against a brute-force search
 * on every leaf network; with ranking_scope it stays the ranking's network. */
static void test_scope_nearest(void **state)
{
    struct fixture *f = *state;
    static const char *const srcs[] = {"merge.txt", "city.txt", "city4.txt"};
    for (int k = 0; k < 3; k++) {
        char path[300], name[32];
        snprintf(name, sizeof(name), "near%d.mmdb", k);
        build_db(&f->dir, "", srcs[k], name, path, sizeof(path));
        MMDB_s m;
        assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &m), MMDB_SUCCESS);
        struct leaf *lv = malloc(4096 * sizeof(*lv));
        assert_non_null(lv);
        size_t n = enum_leaves(&m, lv, 4096);
        assert_true(n > 0 && n < 4096);
        unsigned bits = m.metadata.ip_version == 4 ? 32 : 128;
        int family = bits == 32 ? AF_INET : AF_INET6;
        struct geo_config c = test_config(path);
        struct geo *g = open_ok(&c);
        c.ranking_scope = true;
        struct geo *gr = open_ok(&c);
        size_t wider = 0;
        for (size_t i = 0; i < n; i++) {
            uint8_t a[16];
            memcpy(a, lv[i].addr, 16);
            if (family == AF_INET6 && memcmp(a, v4mapped_prefix, 12) == 0)
                continue; /* looked up as IPv4, in IPv4 terms */
            for (int ones = 0; ones < 2; ones++) {
                host_bits(a, lv[i].prefix, bits, ones);
                struct geo_result r, rr;
                geo_lookup(g, family, a, &r);
                geo_lookup(gr, family, a, &rr);
                assert_int_equal(r.scope, rr.scope);
                assert_int_equal(rr.scope_nearest, rr.scope);
                unsigned want = brute_scope_nearest(g, family, lv, n, a, bits);
                if (r.scope_nearest != want) {
                    char text[64];
                    inet_ntop(family, a, text, sizeof(text));
                    fprintf(stderr, "%s: scope %u, nearest scope %u, brute force %u\n", text,
                            r.scope, r.scope_nearest, want);
                }
                assert_int_equal(r.scope_nearest, want);
                wider += r.scope_nearest < r.scope;
            }
        }
        printf("    %s: %zu leaf networks, %zu addresses with a wider nearest-region scope\n",
               srcs[k], n, wider);
        assert_true(wider > 0);
        geo_free(g);
        geo_free(gr);
        free(lv);
        MMDB_close(&m);
    }
}

/* One of MaxMind's test databases against libmaxminddb (skipped when absent). */
static void agree_maxmind(const char *name)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/%s", geoip_dir(), name);
    skip_unless_present(path);
    compare_with_libmaxminddb(path);
}

static void test_agree_geoip2_city(void **state)
{
    (void)state;
    agree_maxmind("GeoIP2-City-Test.mmdb");
}

static void test_agree_geolite2_city(void **state)
{
    (void)state;
    agree_maxmind("GeoLite2-City-Test.mmdb");
}

static void test_agree_geoip2_country(void **state)
{
    (void)state;
    agree_maxmind("GeoIP2-Country-Test.mmdb");
}

static void test_agree_geolite2_country(void **state)
{
    (void)state;
    agree_maxmind("GeoLite2-Country-Test.mmdb");
}

/* A full-size database named by GSLBD_REAL_CITY_DB (test/integration/t_geo_real.sh fetches
 * GeoLite2-City and sets it); skipped without it. */
static void test_agree_real_city(void **state)
{
    (void)state;
    const char *path = getenv("GSLBD_REAL_CITY_DB");
    if (path == NULL || path[0] == '\0') {
        printf("SKIP: GSLBD_REAL_CITY_DB not set (t_geo_real.sh sets it)\n");
        skip();
    }
    compare_with_libmaxminddb(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_and_not_mmdb),
        cmocka_unit_test(test_no_location_data),
        cmocka_unit_test(test_asn_database),
        cmocka_unit_test(test_corrupt_trees),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_agree_record_sizes),
        cmocka_unit_test(test_merge_by_answer),
        cmocka_unit_test(test_scope_nearest),
        cmocka_unit_test(test_agree_geoip2_city),
        cmocka_unit_test(test_agree_geolite2_city),
        cmocka_unit_test(test_agree_geoip2_country),
        cmocka_unit_test(test_agree_geolite2_country),
        cmocka_unit_test(test_agree_real_city),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
