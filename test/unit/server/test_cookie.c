/* test_cookie.c: DNS cookies: server/cookie.c against the RFC 9018 appendix A examples, its
 * time window and bindings, and the engine's COOKIE handling (CK-1, OP-2, EDNS-6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/cookie.h"
#include "server/query.h"
#include "server/view.h"
#include "server/dns/wire.h"

static void unhex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void ip4(const char *text, uint8_t out[4])
{
    assert_int_equal(inet_pton(AF_INET, text, out), 1);
}

/* ---- cookie.c ----------------------------------------------------------------------- */

/* RFC 9018 A.1: a client cookie alone gets a fresh server cookie. */
static void test_rfc9018_a1(void **state)
{
    (void)state;
    uint8_t secret[16], cc[8], ip[4], out[16], want[16];
    unhex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
    unhex("2464c4abcf10c957", cc, 8);
    ip4("198.51.100.100", ip);
    unhex("010000005cf79f111f8130c3eee29480", want, 16);
    cookie_make(secret, cc, ip, 4, 1559731985, out);
    assert_memory_equal(out, want, 16);
}

/* RFC 9018 A.2: 40 minutes later the A.1 cookie is valid but due for renewal, and the
 * renewed one is the RFC's. */
static void test_rfc9018_a2(void **state)
{
    (void)state;
    uint8_t secret[16], cc[8], ip[4], old[16], out[16], want[16];
    unhex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
    unhex("2464c4abcf10c957", cc, 8);
    ip4("198.51.100.100", ip);
    unhex("010000005cf79f111f8130c3eee29480", old, 16);
    assert_int_equal(cookie_check(secret, cc, old, 16, ip, 4, 1559734385), COOKIE_STALE);
    unhex("010000005cf7a871d4a564a1442aca77", want, 16);
    cookie_make(secret, cc, ip, 4, 1559734385, out);
    assert_memory_equal(out, want, 16);
}

/* RFC 9018 A.3: Reserved bytes set by another implementation are part of the hash. */
static void test_rfc9018_a3_reserved(void **state)
{
    (void)state;
    uint8_t secret[16], cc[8], ip[4], sc[16];
    unhex("e5e973e5a6b2a43f48e7dc849e37bfcf", secret, 16);
    unhex("fc93fc62807ddb86", cc, 8);
    ip4("203.0.113.203", ip);
    unhex("01abcdef5cf78f71a314227b6679ebf5", sc, 16);
    assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, 0x5cf78f71), COOKIE_FRESH);
    sc[1] ^= 1;
    assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, 0x5cf78f71), COOKIE_BAD);
}

/* RFC 9018 A.4: IPv6, a cookie of the previous secret; the new secret's reply. */
static void test_rfc9018_a4_ipv6(void **state)
{
    (void)state;
    uint8_t old_secret[16], new_secret[16], cc[8], ip[16], sc[16], out[16], want[16];
    unhex("dd3bdf9344b678b185a6f5cb60fca715", old_secret, 16);
    unhex("445536bcd2513298075a5d379663c962", new_secret, 16);
    unhex("22681ab97d52c298", cc, 8);
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:220:1:59de:d0f4:8769:82b8", ip), 1);
    unhex("010000005cf7c57926556bd0934c72f8", sc, 16);
    assert_int_equal(cookie_check(old_secret, cc, sc, 16, ip, 16, 1559741961), COOKIE_FRESH);
    assert_int_equal(cookie_check(new_secret, cc, sc, 16, ip, 16, 1559741961), COOKIE_BAD);
    unhex("010000005cf7c609a6bb79d16625507a", want, 16);
    cookie_make(new_secret, cc, ip, 16, 1559741961, out);
    assert_memory_equal(out, want, 16);
}

/* Valid from five minutes ahead to one hour back; renewed from half an hour. */
static void test_time_window(void **state)
{
    (void)state;
    uint8_t secret[16] = {1, 2, 3}, cc[8] = {9, 8, 7}, ip[4] = {192, 0, 2, 1}, sc[16];
    const uint32_t t = 1700000000;
    cookie_make(secret, cc, ip, 4, t, sc);
    static const struct {
        int64_t dt;
        enum cookie_verdict want;
    } cases[] = {
        {0, COOKIE_FRESH},    {1799, COOKIE_FRESH}, {1800, COOKIE_STALE},
        {3600, COOKIE_STALE}, {3601, COOKIE_BAD},   {-300, COOKIE_FRESH},
        {-301, COOKIE_BAD},   {86400, COOKIE_BAD},  {-86400, COOKIE_BAD},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t now = (uint32_t)((int64_t)t + cases[i].dt);
        if (cookie_check(secret, cc, sc, 16, ip, 4, now) != cases[i].want)
            fail_msg("%+lld s: want verdict %d", (long long)cases[i].dt, cases[i].want);
    }
}

/* Serial number arithmetic: a cookie made just before the timestamp wraps stays valid. */
static void test_time_wrap(void **state)
{
    (void)state;
    uint8_t secret[16] = {7}, cc[8] = {1}, ip[4] = {10, 0, 0, 1}, sc[16];
    cookie_make(secret, cc, ip, 4, 0xffffff00u, sc);
    assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, 0x00000100u), COOKIE_FRESH);
    assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, 0xffffff00u + 3601u), COOKIE_BAD);
}

/* Bound to the client address, the client cookie and the secret; our shape only. */
static void test_bindings(void **state)
{
    (void)state;
    uint8_t secret[16] = {1}, cc[8] = {2}, ip[4] = {192, 0, 2, 1}, sc[16];
    const uint32_t t = 1700000000;
    cookie_make(secret, cc, ip, 4, t, sc);
    assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, t), COOKIE_FRESH);

    uint8_t other_ip[4] = {192, 0, 2, 2};
    assert_int_equal(cookie_check(secret, cc, sc, 16, other_ip, 4, t), COOKIE_BAD);
    uint8_t v6[16] = {0};
    memcpy(v6 + 12, ip, 4);
    assert_int_equal(cookie_check(secret, cc, sc, 16, v6, 16, t), COOKIE_BAD);
    assert_int_equal(cookie_check(secret, cc, sc, 16, NULL, 0, t), COOKIE_BAD);

    uint8_t other_cc[8] = {3};
    assert_int_equal(cookie_check(secret, other_cc, sc, 16, ip, 4, t), COOKIE_BAD);
    uint8_t other_secret[16] = {1, 1};
    assert_int_equal(cookie_check(other_secret, cc, sc, 16, ip, 4, t), COOKIE_BAD);

    for (int i = 0; i < 16; i++) { /* any flipped bit: version, reserved, time or hash */
        sc[i] ^= 0x10;
        assert_int_equal(cookie_check(secret, cc, sc, 16, ip, 4, t), COOKIE_BAD);
        sc[i] ^= 0x10;
    }
    uint8_t longer[24];
    memcpy(longer, sc, 16);
    memset(longer + 16, 0, 8);
    assert_int_equal(cookie_check(secret, cc, longer, 24, ip, 4, t), COOKIE_BAD);
    assert_int_equal(cookie_check(secret, cc, sc, 8, ip, 4, t), COOKIE_BAD);
}

static void test_secret_parse(void **state)
{
    (void)state;
    uint8_t s[16], want[16];
    unhex("e5e973e5a6b2a43f48e7dc849e37bfcf", want, 16);
    const char *ok = "  E5E973E5a6b2a43f48e7dc849e37bfcf\n";
    assert_int_equal(cookie_secret_parse(ok, strlen(ok), s), 0);
    assert_memory_equal(s, want, 16);
    static const char *const bad[] = {
        "",
        "e5e973e5a6b2a43f48e7dc849e37bfc",
        "e5e973e5a6b2a43f48e7dc849e37bfcf0",
        "e5e973e5a6b2a43f48e7dc849e37bfcg",
        "e5e973e5 a6b2a43f48e7dc849e37bfcf",
        "0xe5e973e5a6b2a43f48e7dc849e37bf",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(s, 0x55, sizeof(s));
        assert_int_equal(cookie_secret_parse(bad[i], strlen(bad[i]), s), -EINVAL);
        assert_int_equal(s[0], 0x55); /* untouched */
    }
    uint8_t r1[16], r2[16];
    assert_int_equal(cookie_secret_random(r1), 0);
    assert_int_equal(cookie_secret_random(r2), 0);
    assert_memory_not_equal(r1, r2, 16);
}

/* ---- the engine (query.c) --------------------------------------------------------- */

static struct view *g_view;
static const uint8_t g_secret[16] = {0x5e, 0xc7, 0xe7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static const uint8_t g_cc[8] = {0xc1, 0x1e, 0x47, 1, 2, 3, 4, 5};
static const uint32_t g_now = 1700000000;

static int setup_view(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_true(c->cookies.enabled); /* the default */
    memcpy(c->cookies.secret, g_secret, 16);
    assert_int_equal(conf_add_zone(c, "example", "test/data/engine/example.zone", &e), 0);
    if (view_build(c, &g_view, &e) < 0)
        fail_msg("view_build: %s", e.msg);
    return 0;
}

static int teardown_view(void **state)
{
    (void)state;
    view_free(g_view);
    return 0;
}

/* A query: "www.example." type (or no question), EDNS with the given option bytes. */
static size_t make_query(uint8_t *b, bool question, uint16_t type, uint16_t bufsize,
                         const uint8_t *opts, size_t optlen)
{
    static const uint8_t hdr[12] = {0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    static const uint8_t qname[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    memcpy(b, hdr, 12);
    size_t p = 12;
    if (question) {
        memcpy(b + p, qname, sizeof(qname));
        p += sizeof(qname);
        wire_put16(b + p, type);
        wire_put16(b + p + 2, DNS_C_IN);
        p += 4;
    } else {
        b[5] = 0;
    }
    b[p] = 0;
    wire_put16(b + p + 1, DNS_T_OPT);
    wire_put16(b + p + 3, bufsize);
    memset(b + p + 5, 0, 4);
    wire_put16(b + p + 9, (uint16_t)optlen);
    memcpy(b + p + 11, opts, optlen);
    return p + 11 + optlen;
}

static size_t cookie_opt(uint8_t *o, const uint8_t *server, size_t slen)
{
    wire_put16(o, EDNS_O_COOKIE);
    wire_put16(o + 2, (uint16_t)(8 + slen));
    memcpy(o + 4, g_cc, 8);
    if (slen > 0)
        memcpy(o + 12, server, slen);
    return 12 + slen;
}

struct reply {
    uint8_t buf[QUERY_UDP_BUF];
    size_t len;
    struct query_out out;
    uint8_t rcode;
    bool tc;
    uint16_t arcount;
    bool has_opt;
    bool has_cookie;
    uint8_t cookie[40];
    size_t cookie_len;
};

/* Find the OPT (the last record) and its COOKIE option in r. */
static void scan_opt(struct reply *r)
{
    r->rcode = r->buf[3] & 0xF;
    r->tc = (r->buf[2] & 0x02) != 0;
    r->arcount = wire_get16(r->buf + 10);
    r->has_opt = r->out.opt_off != 0;
    r->has_cookie = false;
    if (!r->has_opt)
        return;
    const uint8_t *opt = r->buf + r->out.opt_off;
    assert_int_equal(opt[0], 0);
    assert_int_equal(wire_get16(opt + 1), DNS_T_OPT);
    size_t rdlen = wire_get16(opt + 9);
    assert_int_equal(r->out.opt_off + 11 + rdlen, r->len);
    for (size_t p = 0; p + 4 <= rdlen;) {
        uint16_t code = wire_get16(opt + 11 + p), olen = wire_get16(opt + 13 + p);
        if (code == EDNS_O_COOKIE) {
            r->has_cookie = true;
            r->cookie_len = olen;
            memcpy(r->cookie, opt + 15 + p, olen);
        }
        p += 4u + olen;
    }
}

static void ask(const uint8_t *q, size_t qlen, uint32_t now, struct reply *r,
                struct query_stats *st)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
    struct query_req req = {
        .pkt = q,
        .len = qlen,
        .src = (const struct sockaddr *)&sin,
        .transport = QUERY_UDP,
        .now = now,
        .out = &r->out,
    };
    r->len = query_answer(g_view, &req, r->buf, sizeof(r->buf), st);
    assert_true(r->len >= DNS_HDR);
    scan_opt(r);
}

static const uint8_t client_ip[4] = {192, 0, 2, 1};

/* CK-1: a client cookie alone: answered, with the client cookie and a new server cookie. */
static void test_engine_client_only(void **state)
{
    (void)state;
    uint8_t q[512], opts[64];
    struct reply r;
    struct query_stats st;
    memset(&st, 0, sizeof(st));
    size_t n = make_query(q, true, DNS_T_A, 1232, opts, cookie_opt(opts, NULL, 0));
    ask(q, n, g_now, &r, &st);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_true(wire_get16(r.buf + 6) > 0);
    assert_true(r.has_cookie);
    assert_int_equal(r.cookie_len, 24);
    assert_memory_equal(r.cookie, g_cc, 8);
    uint8_t want[16];
    cookie_make(g_secret, g_cc, client_ip, 4, g_now, want);
    assert_memory_equal(r.cookie + 8, want, 16);
    assert_false(r.out.valid_cookie);
    assert_int_equal(st.cookie_client_only, 1);
}

/* Our server cookie sent back: valid; echoed while fresh, renewed once half an hour old. */
static void test_engine_round_trip(void **state)
{
    (void)state;
    uint8_t q[512], opts[64], sc[16];
    struct reply r;
    struct query_stats st;
    memset(&st, 0, sizeof(st));
    cookie_make(g_secret, g_cc, client_ip, 4, g_now, sc);

    size_t n = make_query(q, true, DNS_T_A, 1232, opts, cookie_opt(opts, sc, 16));
    ask(q, n, g_now + 60, &r, &st);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_true(r.out.valid_cookie);
    assert_true(r.has_cookie);
    assert_memory_equal(r.cookie + 8, sc, 16); /* fresh: echoed */

    ask(q, n, g_now + 2000, &r, &st);
    assert_true(r.out.valid_cookie);
    uint8_t renewed[16];
    cookie_make(g_secret, g_cc, client_ip, 4, g_now + 2000, renewed);
    assert_memory_equal(r.cookie + 8, renewed, 16);
    assert_int_equal(st.cookie_valid, 2);

    /* too old: answered normally with a new cookie, not valid (RFC 7873 5.2.3) */
    ask(q, n, g_now + 4000, &r, &st);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_false(r.out.valid_cookie);
    cookie_make(g_secret, g_cc, client_ip, 4, g_now + 4000, renewed);
    assert_memory_equal(r.cookie + 8, renewed, 16);
    assert_int_equal(st.cookie_invalid, 1);
}

/* A server cookie of another server (any length 8..32): answered with a new one. */
static void test_engine_foreign_cookie(void **state)
{
    (void)state;
    static const size_t lens[] = {8, 16, 24, 32};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t q[512], opts[64], foreign[32];
        memset(foreign, 0x22, sizeof(foreign));
        struct reply r;
        size_t n = make_query(q, true, DNS_T_A, 1232, opts, cookie_opt(opts, foreign, lens[i]));
        ask(q, n, g_now, &r, NULL);
        assert_int_equal(r.rcode, DNS_R_NOERROR);
        assert_false(r.out.valid_cookie);
        assert_true(r.has_cookie);
        assert_int_equal(r.cookie_len, 24);
        uint8_t want[16];
        cookie_make(g_secret, g_cc, client_ip, 4, g_now, want);
        assert_memory_equal(r.cookie + 8, want, 16);
    }
}

/* OP-2: QDCOUNT=0 with a lone COOKIE: NOERROR, no question, OPT with our COOKIE. */
static void test_engine_no_question(void **state)
{
    (void)state;
    uint8_t q[512], opts[64];
    struct reply r;
    size_t n = make_query(q, false, 0, 1232, opts, cookie_opt(opts, NULL, 0));
    ask(q, n, g_now, &r, NULL);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_int_equal(wire_get16(r.buf + 4), 0);
    assert_int_equal(r.arcount, 1);
    assert_true(r.has_cookie);
    assert_int_equal(r.cookie_len, 24);
    assert_memory_equal(r.cookie, g_cc, 8);
}

/* EDNS-6: bad COOKIE lengths: FORMERR with an OPT, and no COOKIE in it. */
static void test_engine_malformed(void **state)
{
    (void)state;
    static const uint16_t lens[] = {0, 1, 7, 9, 15, 41, 48};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        uint8_t q[512], opts[64];
        memset(opts, 0x33, sizeof(opts));
        wire_put16(opts, EDNS_O_COOKIE);
        wire_put16(opts + 2, lens[i]);
        struct reply r;
        size_t n = make_query(q, true, DNS_T_A, 1232, opts, 4u + lens[i]);
        ask(q, n, g_now, &r, NULL);
        if (r.rcode != DNS_R_FORMERR || !r.has_opt || r.has_cookie)
            fail_msg("COOKIE of %u bytes: rcode %u, opt %d, cookie %d", lens[i], r.rcode, r.has_opt,
                     r.has_cookie);
    }
}

/* The COOKIE counts in the OPT reserved from the start: with a requestor size just above
 * the answer without it, the answer with it does not fit and is truncated (TC-1) within the
 * size, still carrying the COOKIE. */
static size_t big_query(uint8_t *q, uint16_t bufsize, bool cookie)
{
    static const uint8_t big[] = {3, 'b', 'i', 'g', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    uint8_t opts[64] = {0};
    size_t optlen = cookie ? cookie_opt(opts, NULL, 0) : 0;
    size_t n = make_query(q, true, DNS_T_TXT, bufsize, opts, optlen);
    memcpy(q + 12, big, sizeof(big)); /* big.example: as long as www.example */
    return n;
}

static void test_engine_size_reserved(void **state)
{
    (void)state;
    uint8_t q[512];
    struct reply plain, r;
    ask(q, big_query(q, 4096, false), g_now, &plain, NULL);
    assert_false(plain.tc);
    uint16_t size = (uint16_t)(plain.len + 10);
    ask(q, big_query(q, size, false), g_now, &plain, NULL);
    assert_false(plain.tc);
    ask(q, big_query(q, size, true), g_now, &r, NULL);
    assert_true(r.tc);
    assert_true(r.len <= size);
    assert_true(r.has_cookie);
    ask(q, big_query(q, (uint16_t)(size + 28), true), g_now, &r, NULL);
    assert_false(r.tc);
    assert_int_equal(r.len, plain.len + 28);
}

/* Cookies off: the option is ignored and not echoed (the behaviour before CK-1). */
static void test_engine_disabled(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    struct view *v = NULL;
    assert_int_equal(conf_new(&c), 0);
    c->cookies.enabled = false;
    assert_int_equal(conf_add_zone(c, "example", "test/data/engine/example.zone", &e), 0);
    assert_int_equal(view_build(c, &v, &e), 0);
    struct view *saved = g_view;
    g_view = v;
    uint8_t q[512], opts[64];
    struct reply r;
    size_t n = make_query(q, true, DNS_T_A, 1232, opts, cookie_opt(opts, NULL, 0));
    ask(q, n, g_now, &r, NULL);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_true(r.has_opt);
    assert_false(r.has_cookie);
    n = make_query(q, false, 0, 1232, opts, cookie_opt(opts, NULL, 0));
    ask(q, n, g_now, &r, NULL);
    assert_int_equal(r.rcode, DNS_R_NOERROR);
    assert_false(r.has_cookie);
    g_view = saved;
    view_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9018_a1),
        cmocka_unit_test(test_rfc9018_a2),
        cmocka_unit_test(test_rfc9018_a3_reserved),
        cmocka_unit_test(test_rfc9018_a4_ipv6),
        cmocka_unit_test(test_time_window),
        cmocka_unit_test(test_time_wrap),
        cmocka_unit_test(test_bindings),
        cmocka_unit_test(test_secret_parse),
        cmocka_unit_test(test_engine_client_only),
        cmocka_unit_test(test_engine_round_trip),
        cmocka_unit_test(test_engine_foreign_cookie),
        cmocka_unit_test(test_engine_no_question),
        cmocka_unit_test(test_engine_malformed),
        cmocka_unit_test(test_engine_size_reserved),
        cmocka_unit_test(test_engine_disabled),
    };
    return cmocka_run_group_tests(tests, setup_view, teardown_view);
}
