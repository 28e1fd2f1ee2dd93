/* test_geo_util.h: what the geo unit tests share: temp dirs, databases built by mkmmdb.pl. */
#ifndef GSLBD_TEST_GEO_UTIL_H
#define GSLBD_TEST_GEO_UTIL_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "geo/geo.h"

/* MaxMind's test databases, used in place when present (never copied into the repo): beside
 * the clone (the tests run from the repository root), or where GSLBD_GEOIP_DIR says. */
#define GEOIP_DIR_DEFAULT "../shared/geoip"
#define DATA "test/data/geo/"

enum { EU_CENTRAL, EU_WEST, US_EAST, NREGIONS };

struct tdir {
    char path[128];
};

static inline const char *geoip_dir(void)
{
    const char *d = getenv("GSLBD_GEOIP_DIR");
    return d != NULL && d[0] != '\0' ? d : GEOIP_DIR_DEFAULT;
}

/* Skips the running test (cmocka's skip(), counted as skipped, not passed) when path does
 * not exist, saying why on stdout first (test/run-all.sh names the reason). */
static inline void skip_unless_present(const char *path)
{
    if (access(path, F_OK) != 0) {
        printf("SKIP: %s not present\n", path);
        fflush(stdout);
        skip();
    }
}

static inline void tdir_make(struct tdir *t)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->path, sizeof(t->path), "%s/gslbd-geo-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    assert_non_null(mkdtemp(t->path));
}

static inline void tdir_remove(struct tdir *t)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->path);
    assert_int_equal(system(cmd), 0);
}

/* perl geo/mkmmdb.pl OPTS test/data/geo/TXT DIR/NAME (run from the repository root). */
static inline void build_db(const struct tdir *t, const char *opts, const char *txt,
                            const char *name, char *out, size_t len)
{
    char cmd[512];
    snprintf(out, len, "%s/%s", t->path, name);
    snprintf(cmd, sizeof(cmd), "perl geo/mkmmdb.pl %s %s%s '%s'", opts, DATA, txt, out);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "FAILED: %s\n", cmd);
    assert_int_equal(rc, 0);
}

/* eu-central (Frankfurt), eu-west (Dublin), us-east (Ashburn). */
static inline const struct geo_region *test_regions(void)
{
    static const struct geo_region r[NREGIONS] = {
        {"eu-central", 50.11, 8.68},
        {"eu-west", 53.35, -6.26},
        {"us-east", 39.04, -77.49},
    };
    return r;
}

static inline struct geo_config test_config(const char *db)
{
    struct geo_config c;
    memset(&c, 0, sizeof(c));
    c.database = db;
    c.regions = test_regions();
    c.nregions = NREGIONS;
    return c;
}

static inline struct geo *open_ok(const struct geo_config *c)
{
    struct geo *g = NULL;
    char err[512] = "";
    int rc = geo_open(c, &g, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "geo_open: %d: %s\n", rc, err);
    assert_int_equal(rc, 0);
    assert_non_null(g);
    return g;
}

/* Look up a textual address (IPv4 or IPv6). */
static inline void lookup(const struct geo *g, const char *text, struct geo_result *r)
{
    uint8_t a[16];
    memset(r, 0xa5, sizeof(*r));
    if (inet_pton(AF_INET, text, a) == 1) {
        geo_lookup(g, AF_INET, a, r);
    } else {
        assert_int_equal(inet_pton(AF_INET6, text, a), 1);
        geo_lookup(g, AF_INET6, a, r);
    }
}

static inline void check_rank(const struct geo_result *r, int a, int b, int c)
{
    assert_int_equal(r->rank[0], a);
    assert_int_equal(r->rank[1], b);
    assert_int_equal(r->rank[2], c);
}

/* One lookup: ranking, source and scope. */
static inline void expect(const struct geo *g, const char *addr, int a, int b, int c,
                          enum geo_source src, int scope)
{
    struct geo_result r;
    lookup(g, addr, &r);
    if (r.rank[0] != a || r.rank[1] != b || r.rank[2] != c || r.source != src || r.scope != scope)
        fprintf(stderr, "%s: got rank %u,%u,%u source %s scope %u; want %d,%d,%d %s %d\n", addr,
                r.rank[0], r.rank[1], r.rank[2], geo_source_name(r.source), r.scope, a, b, c,
                geo_source_name(src), scope);
    check_rank(&r, a, b, c);
    assert_int_equal(r.source, src);
    assert_int_equal(r.scope, scope);
}

#endif
