/* test_resp_check.c: the response validator, shown able to fail on each rule with hand-built
 * messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "test/util/resp_check.h"

/* A message under construction. */
struct msg {
    uint8_t b[1024];
    size_t len;
};

static void put8(struct msg *m, unsigned v)
{
    m->b[m->len++] = (uint8_t)v;
}

static void put16(struct msg *m, unsigned v)
{
    put8(m, v >> 8);
    put8(m, v & 0xFF);
}

static void set16(struct msg *m, size_t at, unsigned v)
{
    m->b[at] = (uint8_t)(v >> 8);
    m->b[at + 1] = (uint8_t)v;
}

/* Labels of dotted text ("" for none), then a pointer to ptr, or the root when ptr is 0.
 * Returns where the name starts. */
static size_t put_name(struct msg *m, const char *text, unsigned ptr)
{
    size_t at = m->len;
    while (*text) {
        const char *dot = strchr(text, '.');
        size_t l = dot ? (size_t)(dot - text) : strlen(text);
        put8(m, (unsigned)l);
        memcpy(m->b + m->len, text, l);
        m->len += l;
        text += l + (dot ? 1 : 0);
    }
    if (ptr != 0)
        put16(m, 0xC000u | ptr);
    else
        put8(m, 0);
    return at;
}

/* Type, class IN, TTL 300 and an RDLENGTH to be filled by rr_end; returns its offset. */
static size_t rr_start(struct msg *m, unsigned type)
{
    put16(m, type);
    put16(m, 1);
    put16(m, 0);
    put16(m, 300);
    put16(m, 0);
    return m->len;
}

static void rr_end(struct msg *m, size_t rdata)
{
    set16(m, rdata - 2, (unsigned)(m->len - rdata));
}

static void header(struct msg *m, unsigned flags, unsigned qd, unsigned an, unsigned ns,
                   unsigned ar)
{
    m->len = 0;
    put16(m, 0xABCD);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, ar);
}

/* The query: www.example. A, RD. */
static struct msg query;

/* Offsets in the good response. */
struct good {
    size_t an1_owner, web, an2_owner, soa_rdata, end;
};

/* www.example. CNAME web.example. / web.example. A / example. SOA, every name compressed
 * against an earlier complete one. */
static void good_response(struct msg *m, struct good *g)
{
    header(m, 0x8500, 1, 2, 1, 0);
    put_name(m, "www.example", 0);
    put16(m, 1);
    put16(m, 1);
    g->an1_owner = m->len;
    put_name(m, "", 12);
    size_t rd = rr_start(m, 5);
    g->web = put_name(m, "web", 16);
    rr_end(m, rd);
    g->an2_owner = m->len;
    put_name(m, "", (unsigned)g->web);
    rd = rr_start(m, 1);
    put16(m, 0xC000);
    put16(m, 0x0201);
    rr_end(m, rd);
    put_name(m, "", 16);
    rd = rr_start(m, 6);
    g->soa_rdata = rd;
    put_name(m, "ns1", 16);
    put_name(m, "host", 16);
    for (int i = 0; i < 5; i++) {
        put16(m, 0);
        put16(m, 60);
    }
    rr_end(m, rd);
    g->end = m->len;
}

static int check(const struct msg *r, size_t limit, struct resp_info *info)
{
    int rc = resp_check(query.b, query.len, r->b, r->len, limit, info);
    print_message("    %s: %s\n", resp_check_strerror(rc), info->why);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    header(&query, 0x0100, 1, 0, 0, 0);
    put_name(&query, "www.example", 0);
    put16(&query, 1);
    put16(&query, 1);
    return 0;
}

static void test_good_passes(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    assert_int_equal(check(&r, 512, &info), 0);
    assert_int_equal(info.an, 2);
    assert_int_equal(info.opts, 0);
    /* exactly at the limit is still within it */
    assert_int_equal(check(&r, r.len, &info), 0);
}

static void test_pointers(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    unsigned bad_targets[] = {
        0,      /* forward: set below to the later web label */
        0,      /* itself: set below */
        13,     /* into the middle of the question's first label */
        2,      /* into the header */
        0x3FFF, /* far past the end */
    };
    good_response(&r, &g);
    bad_targets[0] = (unsigned)g.web;
    bad_targets[1] = (unsigned)g.an1_owner;
    for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
        good_response(&r, &g);
        set16(&r, g.an1_owner, 0xC000u | bad_targets[i]);
        assert_int_equal(check(&r, 512, &info), RESP_EPOINTER);
    }
}

/* Today's engine answer to x.sub.example. A where sub has NS ns.bar.bar. (issue 11): the
 * second "bar" points at the first while that name is still unfinished, so the name loops. */
static void test_pointer_into_unfinished_name(void **state)
{
    (void)state;
    static const uint8_t q[] = {0xab, 0xcd, 0,   0,   0,   1,   0,   0, 0,   0,   0,
                                0,    1,    'x', 3,   's', 'u', 'b', 7, 'e', 'x', 'a',
                                'm',  'p',  'l', 'e', 0,   0,   1,   0, 1};
    static const uint8_t r[] = {0xab, 0xcd, 0x80, 0,   0,   1,   0,    0,    0,   1,    0,
                                0,    1,    'x',  3,   's', 'u', 'b',  7,    'e', 'x',  'a',
                                'm',  'p',  'l',  'e', 0,   0,   1,    0,    1,   0xc0, 0x0e,
                                0,    2,    0,    1,   0,   0,   1,    0x2c, 0,   9,    2,
                                'n',  's',  3,    'b', 'a', 'r', 0xc0, 0x2e};
    struct resp_info info;
    assert_int_equal(resp_check(q, sizeof(q), r, sizeof(r), 512, &info), RESP_EPOINTER);
    assert_non_null(strstr(info.why, "pointer at 50 to 46"));
    /* the same answer written without the bad pointer passes */
    uint8_t fixed[sizeof(r) + 3];
    memcpy(fixed, r, sizeof(r) - 2);
    memcpy(fixed + sizeof(r) - 2, "\3bar\0", 5);
    fixed[42] = 12; /* RDLENGTH */
    assert_int_equal(resp_check(q, sizeof(q), fixed, sizeof(fixed), 512, &info), 0);
}

static void test_counts_and_trailing(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    set16(&r, 6, 3); /* a third answer that is not there */
    assert_int_equal(check(&r, 512, &info), RESP_ECOUNT);
    good_response(&r, &g);
    set16(&r, 10, 1); /* an additional record that is not there */
    assert_int_equal(check(&r, 512, &info), RESP_ECOUNT);
    good_response(&r, &g);
    set16(&r, 8, 0); /* the SOA present but not counted */
    assert_int_equal(check(&r, 512, &info), RESP_ETRAILING);
    good_response(&r, &g);
    put8(&r, 0); /* one byte after the last record */
    assert_int_equal(check(&r, 512, &info), RESP_ETRAILING);
    good_response(&r, &g);
    r.len = g.end - 3; /* the SOA cut short */
    assert_int_equal(check(&r, 512, &info), RESP_ECOUNT);
}

static void test_header(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    r.b[1] ^= 1;
    assert_int_equal(check(&r, 512, &info), RESP_EID);
    good_response(&r, &g);
    r.b[2] &= 0x7F;
    assert_int_equal(check(&r, 512, &info), RESP_EQR);
    good_response(&r, &g);
    r.b[2] |= 2 << 3; /* OPCODE STATUS */
    assert_int_equal(check(&r, 512, &info), RESP_EOPCODE);
    good_response(&r, &g);
    assert_int_equal(check(&r, r.len - 1, &info), RESP_ESIZE);
    r.len = 11;
    assert_int_equal(check(&r, 512, &info), RESP_ESHORT);
}

static void test_question(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    r.b[13] = 'W'; /* letter case must be kept (0x20) */
    assert_int_equal(check(&r, 512, &info), RESP_EQUESTION);
    good_response(&r, &g);
    r.b[26] = 28; /* QTYPE AAAA */
    assert_int_equal(check(&r, 512, &info), RESP_EQUESTION);
    /* no question at all: wrong for NOERROR, allowed for FORMERR */
    header(&r, 0x8100, 0, 0, 0, 0);
    assert_int_equal(check(&r, 512, &info), RESP_EQUESTION);
    header(&r, 0x8101, 0, 0, 0, 0);
    assert_int_equal(check(&r, 512, &info), 0);
}

static void test_names(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    r.b[g.web] = 0x43; /* label type 01 */
    assert_int_equal(check(&r, 512, &info), RESP_ENAME);
    /* an owner of 5 x 63-octet labels: over 255 octets */
    header(&r, 0x8500, 1, 1, 0, 0);
    memcpy(r.b + 12, query.b + 12, query.len - 12);
    r.len = query.len;
    for (int i = 0; i < 5; i++) {
        put8(&r, 63);
        memset(r.b + r.len, 'a', 63);
        r.len += 63;
    }
    put8(&r, 0);
    size_t rd = rr_start(&r, 1);
    put16(&r, 0);
    put16(&r, 0);
    rr_end(&r, rd);
    assert_int_equal(check(&r, 1024, &info), RESP_ENAME);
}

/* Names in RDATA: compression only where RFC 1035 allows it, and the layout must fill it. */
static void test_rdata(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    set16(&r, g.soa_rdata + 4, 0xC000u | (unsigned)g.soa_rdata); /* mname points to itself */
    assert_int_equal(check(&r, 512, &info), RESP_EPOINTER);
    good_response(&r, &g);
    r.len -= 4; /* the SOA one counter short */
    rr_end(&r, g.soa_rdata);
    assert_int_equal(check(&r, 512, &info), RESP_ERDATA);
    /* SRV target compressed: not allowed (RFC 2782, RFC 3597) */
    header(&r, 0x8500, 1, 1, 0, 0);
    memcpy(r.b + 12, query.b + 12, query.len - 12);
    r.len = query.len;
    put_name(&r, "", 12);
    size_t rd = rr_start(&r, 33);
    put16(&r, 0);
    put16(&r, 0);
    put16(&r, 53);
    put_name(&r, "", 16);
    rr_end(&r, rd);
    assert_int_equal(check(&r, 512, &info), RESP_EPOINTER);
    /* the same SRV with its target written out passes */
    r.len = rd + 6;
    put_name(&r, "example", 0);
    rr_end(&r, rd);
    assert_int_equal(check(&r, 512, &info), 0);
}

static void test_opt(void **state)
{
    (void)state;
    struct msg r;
    struct good g;
    struct resp_info info;
    good_response(&r, &g);
    set16(&r, 10, 1);
    put8(&r, 0);
    size_t rd = rr_start(&r, 41);
    put16(&r, 10); /* COOKIE, 8 bytes */
    put16(&r, 8);
    memset(r.b + r.len, 7, 8);
    r.len += 8;
    rr_end(&r, rd);
    assert_int_equal(check(&r, 512, &info), 0);
    assert_int_equal(info.opts, 1);
    set16(&r, rd + 2, 9); /* option longer than the RDATA */
    assert_int_equal(check(&r, 512, &info), RESP_EOPT);
    set16(&r, rd + 2, 8);
    /* a second OPT */
    set16(&r, 10, 2);
    put8(&r, 0);
    rr_end(&r, rr_start(&r, 41));
    assert_int_equal(check(&r, 512, &info), RESP_EOPT);
    /* an OPT whose owner is not the root */
    good_response(&r, &g);
    set16(&r, 10, 1);
    put_name(&r, "", 12);
    rr_end(&r, rr_start(&r, 41));
    assert_int_equal(check(&r, 512, &info), RESP_EOPT);
    /* an OPT counted in the answer section */
    good_response(&r, &g);
    set16(&r, 6, 3);
    set16(&r, 8, 0);
    r.len = g.an2_owner + 16; /* drop the SOA */
    put8(&r, 0);
    rd = rr_start(&r, 41);
    rr_end(&r, rd);
    assert_int_equal(check(&r, 512, &info), RESP_EOPT);
}

/* A message our walk accepts but ldns refuses: an A record of three bytes. */
static void test_ldns(void **state)
{
    (void)state;
    struct msg r;
    struct resp_info info;
    header(&r, 0x8500, 1, 1, 0, 0);
    memcpy(r.b + 12, query.b + 12, query.len - 12);
    r.len = query.len;
    put_name(&r, "", 12);
    size_t rd = rr_start(&r, 1);
    put8(&r, 192);
    put8(&r, 0);
    put8(&r, 2);
    rr_end(&r, rd);
    assert_int_equal(check(&r, 512, &info), RESP_ELDNS);
}

static void test_udp_limit(void **state)
{
    (void)state;
    struct msg q = query;
    assert_int_equal(resp_udp_limit(q.b, q.len, 1232), 512);
    set16(&q, 10, 1);
    put8(&q, 0);
    put16(&q, 41);
    put16(&q, 4096);
    put16(&q, 0);
    put16(&q, 0);
    put16(&q, 0);
    assert_int_equal(resp_udp_limit(q.b, q.len, 1232), 1232);
    set16(&q, query.len + 3, 1000);
    assert_int_equal(resp_udp_limit(q.b, q.len, 1232), 1000);
    set16(&q, query.len + 3, 100); /* EDNS-5: under 512 counts as 512 */
    assert_int_equal(resp_udp_limit(q.b, q.len, 1232), 512);
    /* the OPT counted in the answer section does not count */
    set16(&q, query.len + 3, 4096);
    set16(&q, 10, 0);
    set16(&q, 6, 1);
    assert_int_equal(resp_udp_limit(q.b, q.len, 1232), 512);
    assert_int_equal(resp_udp_limit(q.b, 5, 1232), 512);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_passes),
        cmocka_unit_test(test_pointers),
        cmocka_unit_test(test_pointer_into_unfinished_name),
        cmocka_unit_test(test_counts_and_trailing),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_question),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_rdata),
        cmocka_unit_test(test_opt),
        cmocka_unit_test(test_ldns),
        cmocka_unit_test(test_udp_limit),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
