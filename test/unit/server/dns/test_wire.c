/* test_wire.c: the wire codec: strict query parsing and compressed response writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/dns/dname.h"
#include "server/dns/wire.h"

/* "www.example." header + question for type A */
static size_t make_query(uint8_t *b)
{
    static const uint8_t q[] = {0xab, 0xcd, 0x01, 0x00, 0,   1,   0, 0,   0,   0,
                                0,    0,    3,    'W',  'w', 'W', 7, 'e', 'x', 'a',
                                'm',  'p',  'l',  'e',  0,   0,   1, 0,   1};
    memcpy(b, q, sizeof(q));
    return sizeof(q);
}

static void test_parse_plain_query(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = make_query(b);
    struct wire_query q;
    assert_int_equal(wire_parse_query(b, n, &q), WIRE_OK);
    assert_true(q.has_question);
    assert_int_equal(q.id, 0xabcd);
    assert_int_equal(q.qtype, 1);
    assert_int_equal(q.qname_len, 13);
    assert_memory_equal(q.lname, "\3www\7example", 13); /* lowercased copy */
    assert_int_equal(q.labels.count, 2);
    assert_false(q.edns);
}

/* The eight-at-a-time lowercasing agrees with dname_lower on every byte value, at every
 * length and offset, and writes no byte past n. */
static void test_lower_bytes(void **state)
{
    (void)state;
    uint8_t src[256 + 16], dst[256 + 16], want[256 + 16];
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < 256; i++)
        src[i] = (uint8_t)i;
    for (size_t off = 0; off < 9; off++) {
        for (size_t n = 0; off + n <= 256 + 8; n += (n < 40 ? 1 : 13)) {
            memset(dst, 0xEE, sizeof(dst));
            memset(want, 0xEE, sizeof(want));
            for (size_t i = 0; i < n; i++)
                want[i] = dname_lower(src[off + i]);
            dname_lower_bytes(dst, src + off, n);
            assert_memory_equal(dst, want, sizeof(dst));
        }
    }
}

/* A long mixed-case question (labels longer than eight bytes) comes out lowercase. */
static void test_parse_long_mixed_case(void **state)
{
    (void)state;
    static const uint8_t q[] = {0,   1,   0,   0,   0,   1,   0,   0,    0,    0,
                                0,   0,   19,  'S', 'e', 'R', 'v', 'I',  'c',  'E',
                                '-', 'Z', '9', '@', '[', '`', '{', 0xC1, 0xE1, 'A',
                                'z', 'Q', 2,   'E', 'u', 0,   0,   1,    0,    1};
    static const uint8_t want[] = {19,  's', 'e', 'r',  'v',  'i', 'c', 'e', '-', 'z', '9', '@',
                                   '[', '`', '{', 0xC1, 0xE1, 'a', 'z', 'q', 2,   'e', 'u', 0};
    struct wire_query w;
    assert_int_equal(wire_parse_query(q, sizeof(q), &w), WIRE_OK);
    assert_int_equal(w.qname_len, sizeof(want));
    assert_memory_equal(w.lname, want, sizeof(want));
    assert_int_equal(w.labels.count, 2);
}

static void test_parse_rejects(void **state)
{
    (void)state;
    uint8_t b[64];
    struct wire_query q;
    size_t n = make_query(b);
    assert_int_equal(wire_parse_query(b, 11, &q), WIRE_DROP);
    b[12] = 64; /* label length 64 */
    assert_int_equal(wire_parse_query(b, n, &q), WIRE_FORMERR);
    n = make_query(b);
    b[12] = 0x40; /* obsolete extended label type */
    assert_int_equal(wire_parse_query(b, n, &q), WIRE_FORMERR);
    n = make_query(b);
    assert_int_equal(wire_parse_query(b, n - 1, &q), WIRE_FORMERR); /* short question */
    n = make_query(b);
    b[7] = 1; /* ANCOUNT=1 but no record */
    assert_int_equal(wire_parse_query(b, n, &q), WIRE_FORMERR);
}

static void test_parse_answer_record_pointer_rules(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = make_query(b);
    b[11] = 1; /* one additional record, owner is a pointer */
    uint8_t rr[] = {0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    memcpy(b + n, rr, sizeof(rr));
    struct wire_query q;
    assert_int_equal(wire_parse_query(b, n + sizeof(rr), &q), WIRE_OK);
    b[n + 1] = (uint8_t)n; /* pointer to itself: a loop */
    assert_int_equal(wire_parse_query(b, n + sizeof(rr), &q), WIRE_FORMERR);
    b[n + 1] = 200; /* forward / out of bounds */
    assert_int_equal(wire_parse_query(b, n + sizeof(rr), &q), WIRE_FORMERR);
}

static void test_ecs_validation(void **state)
{
    (void)state;
    uint8_t b[128];
    struct {
        uint8_t opt[12];
        size_t len;
        enum wire_status want;
    } cases[] = {
        {{0, 8, 0, 7, 0, 1, 24, 0, 10, 1, 2}, 11, WIRE_OK},
        {{0, 8, 0, 4, 0, 1, 0, 0}, 8, WIRE_OK},                     /* SOURCE 0 (ECS-7) */
        {{0, 8, 0, 7, 0, 3, 24, 0, 10, 1, 2}, 11, WIRE_FORMERR},    /* family 3 */
        {{0, 8, 0, 7, 0, 1, 24, 8, 10, 1, 2}, 11, WIRE_FORMERR},    /* SCOPE in a query */
        {{0, 8, 0, 8, 0, 1, 24, 0, 10, 1, 2, 0}, 12, WIRE_FORMERR}, /* too many bytes */
        {{0, 8, 0, 6, 0, 1, 24, 0, 10, 1}, 10, WIRE_FORMERR},       /* too few bytes */
        {{0, 8, 0, 7, 0, 1, 33, 0, 10, 1, 2}, 11, WIRE_FORMERR},    /* SOURCE > 32 */
        {{0, 8, 0, 3, 0, 1, 0}, 7, WIRE_FORMERR},                   /* shorter than 4 */
        {{0, 10, 0, 5, 1, 2, 3, 4, 5}, 9, WIRE_FORMERR},            /* bad cookie length */
        {{0, 100, 0, 9, 1}, 5, WIRE_FORMERR},                       /* option past RDLEN */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = make_query(b);
        b[11] = 1;
        uint8_t opt[] = {0, 0, 41, 16, 0, 0, 0, 0, 0, 0, (uint8_t)cases[i].len};
        memcpy(b + n, opt, sizeof(opt));
        memcpy(b + n + sizeof(opt), cases[i].opt, cases[i].len);
        struct wire_query q;
        enum wire_status st = wire_parse_query(b, n + sizeof(opt) + cases[i].len, &q);
        if (st != cases[i].want)
            fail_msg("case %zu: got %d want %d", i, st, cases[i].want);
        assert_true(q.edns);
    }
}

/* EDNS-6: two COOKIE options are FORMERR, and the parse leaves no cookie for the reply. */
static void test_two_cookies(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = make_query(b);
    b[11] = 1;
    uint8_t opt[] = {0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 24};
    memcpy(b + n, opt, sizeof(opt));
    uint8_t cookie[] = {0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8};
    memcpy(b + n + sizeof(opt), cookie, sizeof(cookie));
    memcpy(b + n + sizeof(opt) + 12, cookie, sizeof(cookie));
    struct wire_query q;
    assert_int_equal(wire_parse_query(b, n + sizeof(opt) + 24, &q), WIRE_FORMERR);
    assert_true(q.edns);
    assert_false(q.cookie);
    b[n + sizeof(opt) - 1] = 12; /* only the first: a cookie */
    assert_int_equal(wire_parse_query(b, n + sizeof(opt) + 12, &q), WIRE_OK);
    assert_true(q.cookie);
}

static void test_compression(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = make_query(buf);
    struct wire_writer w = {.buf = buf, .len = n, .limit = sizeof(buf)};
    wire_comp_add_name(&w, DNS_HDR);
    /* "mail.EXAMPLE." compresses against the question's "example." */
    int off = wire_put_name(&w, (const uint8_t *)"\4mail\7EXAMPLE");
    assert_int_equal(off, (int)n);
    assert_int_equal(w.len, n + 5 + 2);
    assert_int_equal(buf[n + 5], 0xC0);
    assert_int_equal(buf[n + 6], 12 + 4); /* points at "example" in the question */
    /* the same name again is a single pointer to the first copy */
    off = wire_put_name(&w, (const uint8_t *)"\4MAIL\7example");
    assert_int_equal(buf[off], 0xC0);
    assert_int_equal(buf[off + 1], n);
    /* a name that does not fit leaves the writer unchanged */
    struct wire_writer small = {.buf = buf, .len = 500, .limit = 505};
    assert_int_equal(wire_put_name(&small, (const uint8_t *)"\6nohere\4test"), -1);
    assert_int_equal(small.len, 500);
    assert_int_equal(small.ncomp, 0);
}

static void test_rr_rdata_compression_only_where_listed(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = make_query(buf);
    struct wire_writer w = {.buf = buf, .len = n, .limit = sizeof(buf)};
    wire_comp_add_name(&w, DNS_HDR);
    static const uint8_t mx[] = {0,   10,  4,   'm', 'a', 'i', 'l', 7,
                                 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    struct wire_rr rr = {mx, sizeof(mx), 1, {2, 0}};
    int rd = wire_put_rr_ptr(&w, DNS_HDR, DNS_T_MX, DNS_C_IN, 60, &rr);
    assert_true(rd > 0);
    assert_int_equal(wire_get16(buf + rd - 2), 2 + 5 + 2); /* RDLENGTH after compression */
    static const uint8_t srv[] = {0, 0,   0,   5,   0x13, 0xc4, 3,   's', 'i', 'p',
                                  7, 'e', 'x', 'a', 'm',  'p',  'l', 'e', 0};
    struct wire_rr srr = {srv, sizeof(srv), 0, {0, 0}};
    rd = wire_put_rr_ptr(&w, DNS_HDR, DNS_T_SRV, DNS_C_IN, 60, &srr);
    assert_int_equal(wire_get16(buf + rd - 2), sizeof(srv)); /* COMP-1: SRV never compressed */
    assert_memory_equal(buf + rd, srv, sizeof(srv));
}

/* Label starts of the names already checked: where a pointer may go. */
struct name_walk {
    bool label_start[1024];
};

/* Checks the name written at off and every compression pointer in it: each must point
 * strictly back, at a label start of a name that was complete before this one began.
 * Decodes the name (lowercased) into text; returns the offset just past it. */
static size_t walk_name(struct name_walk *wk, const uint8_t *buf, size_t off, char *text)
{
    size_t start = off, p = off, o = 0, end = 0;
    size_t fresh[128], nfresh = 0;
    for (int hops = 0;; hops++) {
        assert_true(hops < 128);
        uint8_t c = buf[p];
        if ((c & 0xC0) == 0xC0) {
            size_t to = ((size_t)(c & 0x3F) << 8) | buf[p + 1];
            if (to >= start || !wk->label_start[to])
                fail_msg("name at %zu: pointer at %zu to %zu, not a complete earlier name", start,
                         p, to);
            if (end == 0)
                end = p + 2;
            p = to;
            continue;
        }
        assert_int_equal(c & 0xC0, 0);
        if (end == 0 && c != 0)
            fresh[nfresh++] = p;
        if (c == 0) {
            if (end == 0)
                end = p + 1;
            break;
        }
        for (uint8_t i = 1; i <= c; i++)
            text[o++] = (char)dname_lower(buf[p + i]);
        text[o++] = '.';
        p += 1u + c;
    }
    text[o] = '\0';
    for (size_t i = 0; i < nfresh; i++)
        wk->label_start[fresh[i]] = true;
    return end;
}

/* Names whose last labels repeat (ns.bar.bar., net.net., x.y.y., campus.campus.*.*.) once
 * made the writer point a suffix at a label of the same name whose tail was not written
 * yet: a pointer to itself, which dig rejects as "bad compression pointer". */
static void test_compression_repeated_labels(void **state)
{
    (void)state;
    static const char *const names[] = {
        "\2ns\3bar\3bar",     "\3net\3net",
        "\1x\1y\1y",          "\6campus\6campus\1*\1*",
        "\3bar\3bar",         "\2ns\3BAR\3bar",
        "\3NET\3net",         "\1y\1y\1y\1y",
        "\1a\1b\1a\1b\1a\1b", "\3www\7example\7example",
        "\7example\7example", "\1*\1*\1*",
    };
    static const char *const want[] = {
        "ns.bar.bar.",      "net.net.", "x.y.y.",   "campus.campus.*.*.", "bar.bar.",
        "ns.bar.bar.",      "net.net.", "y.y.y.y.", "a.b.a.b.a.b.",       "www.example.example.",
        "example.example.", "*.*.*.",
    };
    const size_t nnames = sizeof(names) / sizeof(names[0]);
    uint8_t buf[1024];
    memset(buf, 0, sizeof(buf)); /* zero bytes past len are what made the old match succeed */
    size_t n = make_query(buf);
    struct wire_writer w = {.buf = buf, .len = n, .limit = sizeof(buf)};
    wire_comp_add_name(&w, DNS_HDR);
    for (size_t i = 0; i < nnames; i++)
        assert_true(wire_put_name(&w, (const uint8_t *)names[i]) >= 0);
    struct name_walk wk = {{false}};
    char text[300];
    assert_int_equal(walk_name(&wk, buf, DNS_HDR, text), DNS_HDR + 13);
    assert_string_equal(text, "www.example.");
    size_t off = n;
    for (size_t i = 0; i < nnames; i++) {
        off = walk_name(&wk, buf, off, text);
        assert_string_equal(text, want[i]);
    }
    assert_int_equal(off, w.len);
    /* the second ns.bar.bar. is one pointer to the first */
    size_t before = w.len;
    assert_int_equal(wire_put_name(&w, (const uint8_t *)"\2ns\3bar\3bar"), (int)before);
    assert_int_equal(w.len, before + 2);
    assert_int_equal(wire_get16(buf + w.len - 2), 0xC000 | n);
}

/* The referral and apex NS cases of the same defect, written as records: owner net.net.
 * with RDATA net.net., then ns.bar.bar. below it. */
static void test_compression_repeated_labels_in_records(void **state)
{
    (void)state;
    uint8_t buf[1024];
    memset(buf, 0, sizeof(buf));
    size_t n = make_query(buf);
    struct wire_writer w = {.buf = buf, .len = n, .limit = sizeof(buf)};
    wire_comp_add_name(&w, DNS_HDR);
    static const uint8_t rd1[] = {3, 'n', 'e', 't', 3, 'n', 'e', 't', 0};
    static const uint8_t rd2[] = {2, 'n', 's', 3, 'b', 'a', 'r', 3, 'b', 'a', 'r', 0};
    static const uint8_t own2[] = {3, 's', 'u', 'b', 3, 'b', 'a', 'r', 3, 'b', 'a', 'r', 0};
    struct wire_rr r1 = {rd1, sizeof(rd1), 1, {0, 0}}, r2 = {rd2, sizeof(rd2), 1, {0, 0}};
    int a = wire_put_rr_name(&w, rd1, DNS_T_NS, DNS_C_IN, 60, &r1);
    int b = wire_put_rr_name(&w, own2, DNS_T_NS, DNS_C_IN, 60, &r2);
    assert_true(a > 0 && b > a);
    struct name_walk wk = {{false}};
    char text[300];
    walk_name(&wk, buf, DNS_HDR, text);
    /* owner, fixed fields (10 bytes), RDATA; then the same for the second record */
    size_t off = walk_name(&wk, buf, n, text);
    assert_string_equal(text, "net.net.");
    assert_int_equal(off + 10, (size_t)a);
    off = walk_name(&wk, buf, (size_t)a, text);
    assert_string_equal(text, "net.net.");
    assert_int_equal(off - (size_t)a, wire_get16(buf + a - 2)); /* RDLENGTH covers the name */
    off = walk_name(&wk, buf, off, text);
    assert_string_equal(text, "sub.bar.bar.");
    assert_int_equal(off + 10, (size_t)b);
    off = walk_name(&wk, buf, (size_t)b, text);
    assert_string_equal(text, "ns.bar.bar.");
    assert_int_equal(off, w.len);
}

static void test_dname_helpers(void **state)
{
    (void)state;
    const uint8_t *n = (const uint8_t *)"\3www\7example\3com";
    struct dname_labels l;
    assert_int_equal(dname_split(n, 64, &l), 17);
    assert_int_equal(l.count, 3);
    uint32_t h[4];
    dname_suffix_hashes(n, &l, h);
    assert_int_equal(h[1], dname_hash((const uint8_t *)"\7example\3com"));
    assert_int_equal(h[2], dname_hash((const uint8_t *)"\3com"));
    assert_true(dname_is_subdomain(n, (const uint8_t *)"\3com"));
    assert_false(dname_is_subdomain((const uint8_t *)"\3com", n));
    assert_false(dname_is_subdomain((const uint8_t *)"\4xcom", (const uint8_t *)"\3com"));
    char txt[64];
    assert_string_equal(dname_to_text(n, txt, sizeof(txt)), "www.example.com.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_plain_query),
        cmocka_unit_test(test_lower_bytes),
        cmocka_unit_test(test_parse_long_mixed_case),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_answer_record_pointer_rules),
        cmocka_unit_test(test_ecs_validation),
        cmocka_unit_test(test_two_cookies),
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_rr_rdata_compression_only_where_listed),
        cmocka_unit_test(test_compression_repeated_labels),
        cmocka_unit_test(test_compression_repeated_labels_in_records),
        cmocka_unit_test(test_dname_helpers),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
