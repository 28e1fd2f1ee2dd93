/* test_wire.c: the wire codec: strict query parsing and compressed response writing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/dname.h"
#include "server/wire.h"

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
    struct zone_rr rr = {mx, sizeof(mx), 1, {2, 0}};
    int rd = wire_put_rr_ptr(&w, DNS_HDR, DNS_T_MX, DNS_C_IN, 60, &rr);
    assert_true(rd > 0);
    assert_int_equal(wire_get16(buf + rd - 2), 2 + 5 + 2); /* RDLENGTH after compression */
    static const uint8_t srv[] = {0, 0,   0,   5,   0x13, 0xc4, 3,   's', 'i', 'p',
                                  7, 'e', 'x', 'a', 'm',  'p',  'l', 'e', 0};
    struct zone_rr srr = {srv, sizeof(srv), 0, {0, 0}};
    rd = wire_put_rr_ptr(&w, DNS_HDR, DNS_T_SRV, DNS_C_IN, 60, &srr);
    assert_int_equal(wire_get16(buf + rd - 2), sizeof(srv)); /* COMP-1: SRV never compressed */
    assert_memory_equal(buf + rd, srv, sizeof(srv));
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
        cmocka_unit_test(test_compression),
        cmocka_unit_test(test_rr_rdata_compression_only_where_listed),
        cmocka_unit_test(test_dname_helpers),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
