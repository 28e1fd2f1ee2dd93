/* test_zone_fast.c: zone_fast.c against ldns, the oracle. Every line the fast reader takes
 * must be the record ldns reads from it; and a whole file, fast lines and ldns lines mixed
 * ($TTL, $ORIGIN, left-out owners, comments), must load to the same records, at the same
 * lines, with the fast reader on and off. Lines come from a seeded generator. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "server/zone_int.h"

static uint64_t rng = 0x5eed2026u;

static unsigned pick(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

#define PICK(a) (a)[pick(sizeof(a) / sizeof((a)[0]))]

static const char *const owners[] = {
    "@",
    "h1",
    "H1.Sub",
    "a-b_c",
    "x.fast.example.",
    "ABS.fast.example.",
    "other.example.",
    "a..b",
    "*.w",
    "a\\.b",
    "1234",
    "in",
    "a.",
    ".",
    "xn--bcher-kva",
    "a23456789012345678901234567890123456789012345678901234567890123",  /* 63 */
    "a234567890123456789012345678901234567890123456789012345678901234", /* 64 */
};
static const char *const ttls[] = {"",           "",           "0",          "3600", "007",
                                   "4294967295", "4294967296", "2147483648", "1h",   "99999999999"};
static const char *const classes[] = {"", "", "IN", "in", "CH", "HS"};
static const char *const types[] = {"A", "a", "AAAA", "aaaa", "TXT", "txt", "MX", "TYPE1", "AA"};
static const char *const rdatas[] = {
    "10.1.2.3",      "0.0.0.0",         "256.1.1.1",
    "1.2.3",         "01.2.3.4",        "::1",
    "2001:db8::1",   "2001:DB8::A:b",   "::ffff:1.2.3.4",
    "1.2.3.4 extra", "\"hello world\"", "\"\"",
    "\"tab\there\"", "\"x\" \"y\"",     "\"unterminated",
    "plain",         "\"a\"b",          "10 mx.example.",
};
static const char *const seps[] = {" ", "\t", "  ", " \t "};

/* One generated line: the record's parts in a usual or an unusual order. */
static void gen_line(char *buf, size_t size)
{
    const char *ttl = PICK(ttls), *klass = PICK(classes);
    if (pick(8) == 0) { /* class before TTL: ldns does not read that */
        const char *t = ttl;
        ttl = klass;
        klass = t;
    }
    const char *parts[5] = {PICK(owners), ttl, klass, PICK(types), PICK(rdatas)};
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        if (parts[i][0] == '\0')
            continue;
        o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? PICK(seps) : "", parts[i]);
    }
    if (pick(4) == 0)
        o += (size_t)snprintf(buf + o, size - o, "%s", PICK(seps));
    if (pick(20) == 0) { /* a long TXT string: 255 is the most one string holds */
        size_t n = 250 + pick(10);
        o = (size_t)snprintf(buf, size, "long TXT \"");
        memset(buf + o, 'x', n);
        o += n;
        snprintf(buf + o, size - o, "\"");
    }
}

static void test_lines_agree_with_ldns(void **state)
{
    (void)state;
    ldns_rdf *origin = ldns_dname_new_frm_str("fast.example.");
    assert_non_null(origin);
    ldns_buffer *wire = ldns_buffer_new(512);
    size_t taken = 0, total = 20000;
    char line[512];
    for (size_t i = 0; i < total; i++) {
        gen_line(line, sizeof(line));
        struct zone_fast f;
        int fast =
            zone__fast_line(line, strlen(line), ldns_rdf_data(origin), ldns_rdf_size(origin), &f);
        if (fast != 1)
            continue;
        taken++;
        ldns_rr *rr = NULL;
        ldns_status st = ldns_rr_new_frm_str(&rr, line, 1234, origin, NULL);
        if (st != LDNS_STATUS_OK)
            fail_msg("taken, but ldns cannot read it (%s): '%s'", ldns_get_errorstr_by_id(st),
                     line);
        const ldns_rdf *o = ldns_rr_owner(rr);
        if (ldns_rdf_size(o) != f.owner_len || memcmp(ldns_rdf_data(o), f.owner, f.owner_len))
            fail_msg("owner differs from ldns's: '%s'", line);
        if (ldns_rr_get_type(rr) != f.type || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
            fail_msg("type or class differs from ldns's: '%s'", line);
        if (ldns_rr_ttl(rr) != (f.ttl_given ? f.ttl : 1234))
            fail_msg("TTL %u, ldns %u: '%s'", f.ttl_given ? f.ttl : 1234, ldns_rr_ttl(rr), line);
        ldns_buffer_clear(wire);
        assert_int_equal(ldns_rr_rdata2buffer_wire(wire, rr), LDNS_STATUS_OK);
        if (ldns_buffer_position(wire) != f.rdlen ||
            memcmp(ldns_buffer_begin(wire), f.rdata, f.rdlen) != 0)
            fail_msg("RDATA differs from ldns's: '%s'", line);
        ldns_rr_free(rr);
    }
    /* the generator must exercise both sides */
    assert_true(taken > total / 20);
    assert_true(taken < total / 2);
    ldns_buffer_free(wire);
    ldns_rdf_deep_free(origin);
}

/* A zone file of n generated lines that all load, fast and ldns lines mixed. */
static void gen_file(FILE *fp, size_t n)
{
    static const char *const other[] = {
        "\tIN A 192.0.2.7",
        " 300 TXT \"left-out owner\"",
        "mx1 MX 10 Mail.Fast.Example.",
        "www CNAME Host.Fast.Example.",
        "; a comment",
        "",
        "esc TXT \"with \\\" quote\"",
        "paren 60 IN TXT ( \"two\"\n \"lines\" )",
        "name 7200 IN A 198.51.100.1 ; comment after",
        "$TTL 600",
        "$TTL 1h",
        "$ORIGIN sub.fast.example.",
        "$ORIGIN fast.example.",
        "wild.card 60 AAAA 2001:db8::53",
    };
    fprintf(fp, "$TTL 3600\n@ IN SOA ns.fast.example. admin.fast.example. ( 1 3600 600 "
                "86400 300 )\n@ IN NS ns.fast.example.\nns IN A 192.0.2.1\n");
    for (size_t i = 0; i < n; i++) {
        unsigned k = pick(3);
        if (k == 0) {
            fprintf(fp, "%s\n", PICK(other));
            continue;
        }
        fprintf(fp, "h%u%s%s%sIN%s%s%s", pick(500), pick(2) ? "" : ".Sub", PICK(seps),
                pick(2) ? "" : "120 ", PICK(seps), k == 1 ? "A" : "AAAA", PICK(seps));
        if (k == 1)
            fprintf(fp, "10.%u.%u.%u\n", pick(256), pick(256), pick(256));
        else
            fprintf(fp, "2001:db8::%x\n", pick(65536));
    }
}

static void load(const char *path, bool fast, struct zone_src *src)
{
    struct err e = {{0}};
    zone__fast_enabled = fast;
    *src = (struct zone_src){0};
    int rc = zone__src_read(src, "fast.example.", path, NULL, &e);
    zone__fast_enabled = true;
    if (rc != 0)
        fail_msg("load (fast %d): %s", fast, e.msg);
}

static void test_file_loads_agree(void **state)
{
    (void)state;
    char path[] = "/tmp/test_zone_fast.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    assert_non_null(fp);
    gen_file(fp, 20000);
    fclose(fp);

    struct zone_src a, b;
    load(path, true, &a);
    load(path, false, &b);
    unlink(path);
    assert_true(a.nrrs > 10000);
    assert_int_equal(a.nrrs, b.nrrs);
    for (size_t i = 0; i < a.nrrs; i++) {
        const struct zone_src_rr *x = &a.rrs[i], *y = &b.rrs[i];
        if (x->owner_len != y->owner_len || memcmp(x->owner, y->owner, x->owner_len) != 0 ||
            x->type != y->type || x->ttl != y->ttl || x->rdlen != y->rdlen ||
            memcmp(x->rdata, y->rdata, x->rdlen) != 0 || x->canonlen != y->canonlen ||
            memcmp(x->canon, y->canon, x->canonlen) != 0 || x->line != y->line ||
            x->col != y->col || x->file != y->file)
            fail_msg("record %zu differs: line %u/%u type %u/%u ttl %u/%u", i, x->line, y->line,
                     x->type, y->type, x->ttl, y->ttl);
    }
    zone__src_clear(&a);
    zone__src_clear(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_agree_with_ldns),
        cmocka_unit_test(test_file_loads_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
