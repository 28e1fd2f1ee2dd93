/* test_view.c: building a view (server/view.c) from zones and services, and finding the
 * zone of a name, checked against a brute-force longest-suffix search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "server/conf/conf.h"
#include "server/view.h"

static char dir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/gslbd-test-view-XXXXXX");
    return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write dir/name with content; path (if not NULL) receives the full name. */
static void put(const char *name, const char *content, char *path, size_t n)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    if (path != NULL)
        snprintf(path, n, "%s", p);
}

/* A minimal zone file for origin (with final dot) plus extra lines. */
static void put_zone(const char *file, const char *origin, const char *extra)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "$ORIGIN %s\n$TTL 300\n@ IN SOA ns.%s h.%s 1 2 3 4 5\n@ IN NS ns.%s\nns IN A "
             "192.0.2.1\n%s",
             origin, origin, origin, origin, extra);
    put(file, text, NULL, 0);
}

static const char *const origins[] = {"example.", "sub.example.", "deep.a.sub.example.",
                                      "other.test.", "test2."};
#define NORIGINS (sizeof(origins) / sizeof(origins[0]))

static struct view *build_zones(void)
{
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    for (size_t i = 0; i < NORIGINS; i++) {
        char file[32], path[256];
        snprintf(file, sizeof(file), "z%zu.zone", i);
        put_zone(file, origins[i], "www IN A 192.0.2.80\n");
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        assert_int_equal(conf_add_zone(c, origins[i], path, &e), 0);
    }
    struct view *v = NULL;
    int rc = view_build(c, &v, &e);
    if (rc < 0)
        fail_msg("view_build: %s", e.msg);
    assert_int_equal(v->nzones, NORIGINS);
    return v;
}

static size_t wire(const char *text, uint8_t out[DNAME_MAX])
{
    ldns_rdf *d = NULL;
    assert_int_equal(ldns_str2rdf_dname(&d, text), LDNS_STATUS_OK);
    size_t n = ldns_rdf_size(d);
    memcpy(out, ldns_rdf_data(d), n);
    ldns_rdf_deep_free(d);
    dname_copy_lower(out, out);
    return n;
}

/* The oracle: index of the longest configured origin that name is under, or -1. */
static int brute_zone(const uint8_t *name)
{
    int best = -1;
    size_t bestlen = 0;
    for (size_t i = 0; i < NORIGINS; i++) {
        uint8_t o[DNAME_MAX];
        size_t ol = wire(origins[i], o);
        if (dname_is_subdomain(name, o) && ol > bestlen) {
            best = (int)i;
            bestlen = ol;
        }
    }
    return best;
}

static void test_find_zone_is_longest_suffix(void **state)
{
    (void)state;
    struct view *v = build_zones();
    static const char *const names[] = {
        "example.",
        "www.example.",
        "sub.example.",
        "x.sub.example.",
        "a.sub.example.",
        "deep.a.sub.example.",
        "q.deep.a.sub.example.",
        "b.deep.a.sub.example.",
        "SUB.EXAMPLE.",
        "test.",
        "other.test.",
        "x.y.other.test.",
        "nother.test.",
        "test2.",
        "a.test2.",
        ".",
        "com.",
        "xexample.",
        "example.com.",
        "sub.example.org.",
        "a.b.c.d.e.f.g.h.i.j.example.",
        "a.b.c.d.e.f.g.h.i.j.k.l.m.n.nowhere.",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        uint8_t w[DNAME_MAX];
        size_t n = wire(names[i], w);
        struct dname_labels l;
        assert_int_equal(dname_split(w, n, &l), (int)n);
        uint32_t h[DNAME_MAX_LABELS + 1];
        dname_suffix_hashes(w, &l, h);
        int apex = -99;
        const struct zone *z = view_find_zone(v, w, &l, h, &apex);
        int want = brute_zone(w);
        if (want < 0) {
            if (z != NULL)
                fail_msg("%s: found a zone, want none", names[i]);
            assert_int_equal(apex, -99); /* untouched */
            continue;
        }
        if (z == NULL)
            fail_msg("%s: no zone, want %s", names[i], origins[want]);
        uint8_t o[DNAME_MAX];
        wire(origins[want], o);
        assert_true(dname_equal(z->origin, o));
        /* the apex label index points at the origin inside the name */
        assert_true(apex >= 0 && apex <= l.count);
        const uint8_t *suffix = apex < l.count ? w + l.off[apex] : w + n - 1;
        assert_true(dname_equal(suffix, z->origin));
    }
    view_free(v);
}

static void test_zone_twice_is_refused(void **state)
{
    (void)state;
    char path[256];
    put_zone("dup.zone", "dup.", "");
    snprintf(path, sizeof(path), "%s/dup.zone", dir);
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_zone(c, "dup.", path, &e), 0);
    /* the same name spelled with an escape: past conf's text comparison, caught here */
    assert_int_equal(conf_add_zone(c, "d\\117p", path, &e), 0);
    struct view *v = (struct view *)(uintptr_t)0x5e5e;
    assert_int_equal(view_build(c, &v, &e), GSLBD_EINVAL);
    assert_ptr_equal(v, (struct view *)(uintptr_t)0x5e5e); /* untouched on failure */
    assert_non_null(strstr(e.msg, "configured twice"));
}

static void test_zone_error_names_file_and_line(void **state)
{
    (void)state;
    char path[256];
    put("bad.zone", "$ORIGIN bad.\n$TTL 300\n@ IN SOA ns h 1 2 3 4 5\nwww IN A not-an-ip\n", path,
        sizeof(path));
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_zone(c, "bad.", path, &e), 0);
    struct view *v = NULL;
    assert_true(view_build(c, &v, &e) < 0);
    assert_null(v);
    char want[300];
    snprintf(want, sizeof(want), "%s:4:", path);
    if (strstr(e.msg, want) == NULL)
        fail_msg("error %s does not name %s", e.msg, want);
}

/* A config with one cluster and one service svc_name in zone example. (zone extra lines
 * given); state_file line optional. Returns conf_load_file's result. */
static int load_gslb(const char *zone_extra, const char *svc_name, const char *state_line,
                     struct conf **c, struct err *e)
{
    put_zone("g.zone", "example.", zone_extra);
    char json[2048], path[256];
    snprintf(
        json, sizeof(json),
        "{\"listen\": [\"127.0.0.1:5399\"], %s\n"
        " \"zones\": [{\"origin\": \"example.\", \"file\": \"g.zone\"}],\n"
        " \"regions\": [{\"name\": \"r\", \"lat\": 0, \"lon\": 0}],\n"
        " \"clusters\": [{\"name\": \"c1\", \"region\": \"r\", \"addresses\": [\"192.0.2.7\"]},\n"
        "              {\"name\": \"c2\", \"region\": \"r\", \"addresses\": [\"192.0.2.8\"]}],\n"
        " \"services\": [{\"name\": \"%s\", \"policy\": \"failover\", \"clusters\": "
        "[\"c1\", \"c2\"]}]}\n",
        state_line, svc_name);
    put("g.json", json, path, sizeof(path));
    int rc = conf_load_file(path, c, e);
    if (rc < 0)
        print_error("%s\n", e->msg);
    return rc;
}

static void test_service_gets_a_node(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(load_gslb("", "app.example.", "", &c, &e), 0);
    struct view *v = NULL;
    if (view_build(c, &v, &e) < 0)
        fail_msg("%s", e.msg);
    uint8_t w[DNAME_MAX];
    size_t n = wire("app.example.", w);
    const struct zone_node *node = zone_lookup(v->zones[0], w, n, dname_hash(w));
    assert_non_null(node); /* the name exists although the zone file does not list it */
    assert_int_equal(node->service, 0);
    assert_int_equal(v->gslb->nservices, 1);
    view_free(v);
}

static void test_service_beside_cname_is_refused(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(load_gslb("app IN CNAME www.example.\n", "app.example.", "", &c, &e), 0);
    struct view *v = NULL;
    assert_int_equal(view_build(c, &v, &e), GSLBD_EINVAL);
    assert_null(v);
    assert_non_null(strstr(e.msg, "service app.example.: the zone has a CNAME"));
}

static void test_service_below_delegation_is_refused(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(load_gslb("cut IN NS ns.elsewhere.test.\n", "app.cut.example.", "", &c, &e),
                     0);
    struct view *v = NULL;
    assert_int_equal(view_build(c, &v, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "at or below a delegation"));
    /* at the cut itself too */
    assert_int_equal(load_gslb("cut IN NS ns.elsewhere.test.\n", "cut.example.", "", &c, &e), 0);
    assert_int_equal(view_build(c, &v, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "at or below a delegation"));
    assert_null(v);
}

/* POL-7: the state file's admin states are in the view as built. */
static void test_state_file_is_read_at_build(void **state)
{
    (void)state;
    put("state.json", "{\"clusters\": {\"c2\": \"drain\", \"gone\": \"down\"}}\n", NULL, 0);
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(load_gslb("", "app.example.", "\"state_file\": \"state.json\",", &c, &e), 0);
    struct view *v = NULL;
    if (view_build(c, &v, &e) < 0)
        fail_msg("%s", e.msg);
    assert_int_equal(atomic_load(&v->gslb->admin[gslb_find_cluster(v->gslb, "c1")]),
                     GSLB_ADMIN_AUTO);
    assert_int_equal(atomic_load(&v->gslb->admin[gslb_find_cluster(v->gslb, "c2")]),
                     GSLB_ADMIN_DRAIN);
    view_free(v);
    /* a state file with a bad value never fails the build: a warning, every state auto,
     * and the view marked so that a reload keeps the running states */
    put("state.json", "{\"clusters\": {\"c2\": \"drain\", \"c1\": \"sideways\"}}\n", NULL, 0);
    assert_int_equal(load_gslb("", "app.example.", "\"state_file\": \"state.json\",", &c, &e), 0);
    v = NULL;
    if (view_build(c, &v, &e) < 0)
        fail_msg("%s", e.msg);
    assert_true(v->gslb->state_unread);
    assert_int_equal(atomic_load(&v->gslb->admin[gslb_find_cluster(v->gslb, "c2")]),
                     GSLB_ADMIN_AUTO);
    view_free(v);
}

static void test_free_null(void **state)
{
    (void)state;
    view_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find_zone_is_longest_suffix),
        cmocka_unit_test(test_zone_twice_is_refused),
        cmocka_unit_test(test_zone_error_names_file_and_line),
        cmocka_unit_test(test_service_gets_a_node),
        cmocka_unit_test(test_service_beside_cname_is_refused),
        cmocka_unit_test(test_service_below_delegation_is_refused),
        cmocka_unit_test(test_state_file_is_read_at_build),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
