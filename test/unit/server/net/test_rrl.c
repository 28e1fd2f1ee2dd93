/* test_rrl.c: response rate limiting (server/net/rrl.c) on a fake clock: rate, window, slip
 * pattern, exemptions, log-only, account keys and table replacement; and the engine's side
 * of it: how query_answer() classifies responses and query_truncate() slips them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/dns/dname.h"
#include "server/log.h"
#include "server/query.h"
#include "server/net/rrl.h"
#include "server/view.h"
#include "server/dns/wire.h"

static const uint8_t www[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
static const uint8_t mail[] = {4, 'm', 'a', 'i', 'l', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
static const uint8_t zone[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};

static struct conf_rrl conf_with(uint32_t rate, uint32_t window, uint32_t slip)
{
    struct conf_rrl c;
    memset(&c, 0, sizeof(c));
    c.enabled = true;
    c.responses_per_second = rate;
    c.window_s = window;
    c.slip = slip;
    c.ipv4_prefix = 24;
    c.ipv6_prefix = 56;
    c.table_size = 1024;
    return c;
}

static struct query_out answer_for(const uint8_t *name, uint16_t qtype)
{
    struct query_out o;
    memset(&o, 0, sizeof(o));
    o.rclass = QUERY_RC_ANSWER;
    o.qtype = qtype;
    o.name = name;
    o.name_hash = dname_hash(name);
    return o;
}

static struct query_out by_class(enum query_rclass cls, const uint8_t *name, uint8_t rcode)
{
    struct query_out o;
    memset(&o, 0, sizeof(o));
    o.rclass = (uint8_t)cls;
    o.rcode = rcode;
    if (name != NULL) {
        o.name = name;
        o.name_hash = dname_hash(name);
    }
    return o;
}

struct src {
    struct sockaddr_storage ss;
};

static const struct sockaddr *addr(struct src *s, const char *text)
{
    memset(s, 0, sizeof(*s));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&s->ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(5353);
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&s->ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(5353);
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return (const struct sockaddr *)&s->ss;
}

static struct rrl_table *table(uint32_t entries)
{
    struct rrl_table *t = NULL;
    assert_int_equal(rrl_table_new(entries, &t), 0);
    return t;
}

/* n responses at now; returns how many were let through (PASS). */
static int send_n(struct rrl_table *t, const struct conf_rrl *c, const struct query_out *o,
                  const struct sockaddr *sa, uint32_t now, int n)
{
    int passed = 0;
    for (int i = 0; i < n; i++)
        passed += rrl_check(t, c, o, sa, now) == RRL_PASS;
    return passed;
}

static int setup_quiet(void **state)
{
    (void)state;
    log_set_level(LOG_WARN); /* episodes are logged at info */
    return 0;
}

static void test_table_size(void **state)
{
    (void)state;
    struct rrl_table *t = table(1000);
    assert_int_equal(rrl_table_entries(t), 1024);
    rrl_table_free(t);
    t = table(1);
    assert_int_equal(rrl_table_entries(t), RRL_WAYS);
    rrl_table_free(t);
    rrl_table_free(NULL);
}

/* rate responses a second pass; the next is limited; the next second brings rate more. */
static void test_rate(void **state)
{
    (void)state;
    struct rrl_table *t = table(1024);
    struct conf_rrl c = conf_with(5, 15, 0);
    struct query_out o = answer_for(www, DNS_T_A);
    struct src s;
    const struct sockaddr *sa = addr(&s, "192.0.2.1");
    assert_int_equal(send_n(t, &c, &o, sa, 100, 5), 5);
    assert_int_equal(rrl_check(t, &c, &o, sa, 100), RRL_DROP);
    /* one second on: credit 5 against a debt of 1 */
    assert_int_equal(send_n(t, &c, &o, sa, 101, 10), 4);
    /* a quiet second never makes more than one second's worth (no burst savings) */
    assert_int_equal(send_n(t, &c, &o, sa, 110, 10), 5);
    /* a clock step back counts as no time */
    assert_int_equal(send_n(t, &c, &o, sa, 105, 10), 0);
    rrl_table_free(t);
}

/* window: a flood's debt reaches -rate * window; credit pays it back, and an account idle
 * for longer than the window starts afresh. */
static void test_window(void **state)
{
    (void)state;
    struct rrl_table *t = table(1024);
    struct conf_rrl c = conf_with(5, 3, 0);
    struct query_out o = answer_for(www, DNS_T_A);
    struct src s;
    const struct sockaddr *sa = addr(&s, "192.0.2.1");
    assert_int_equal(send_n(t, &c, &o, sa, 100, 1000), 5); /* debt clamped at -15 */
    /* 3 s later: -15 + 15 = 0, so this one is still over */
    assert_int_equal(rrl_check(t, &c, &o, sa, 103), RRL_DROP);
    /* 1 s later: -1 + 5 */
    assert_int_equal(send_n(t, &c, &o, sa, 104, 10), 4);

    struct query_out o2 = answer_for(mail, DNS_T_A);
    assert_int_equal(send_n(t, &c, &o2, sa, 200, 1000), 5);
    assert_int_equal(send_n(t, &c, &o2, sa, 202, 10), 0); /* -15 + 10: still in debt */
    assert_int_equal(send_n(t, &c, &o2, sa, 213, 10), 5); /* idle > window: afresh */

    /* a steady flood above the rate: once the debt is deep, nothing gets through */
    struct query_out o3 = answer_for(www, DNS_T_AAAA);
    static const int want[10] = {5, 2, 0, 0, 0, 0, 0, 0, 0, 0}; /* balance -3, -6, -9... */
    for (uint32_t now = 300; now < 310; now++)
        assert_int_equal(send_n(t, &c, &o3, sa, now, 8), want[now - 300]);
    rrl_table_free(t);
}

/* slip N: the first limited response of every N is a slip, the others are dropped. */
static void test_slip_pattern(void **state)
{
    (void)state;
    static const struct {
        uint32_t slip;
        const char *pattern; /* S = slip, D = drop, for limited responses 1..12 */
    } cases[] = {
        {0, "DDDDDDDDDDDD"}, {1, "SSSSSSSSSSSS"}, {2, "SDSDSDSDSDSD"},
        {3, "SDDSDDSDDSDD"}, {5, "SDDDDSDDDDSD"},
    };
    struct src s;
    const struct sockaddr *sa = addr(&s, "192.0.2.1");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct rrl_table *t = table(1024);
        struct conf_rrl c = conf_with(3, 15, cases[k].slip);
        struct query_out o = answer_for(www, DNS_T_A);
        assert_int_equal(send_n(t, &c, &o, sa, 50, 3), 3);
        char got[13] = {0};
        for (int i = 0; i < 12; i++) {
            enum rrl_action a = rrl_check(t, &c, &o, sa, 50);
            got[i] = a == RRL_SLIP ? 'S' : a == RRL_DROP ? 'D' : '?';
        }
        if (strcmp(got, cases[k].pattern) != 0)
            fail_msg("slip %u: got %s, want %s", cases[k].slip, got, cases[k].pattern);
        rrl_table_free(t);
    }
}

/* Clients in rrl.exempt are counted but always answered; others are limited. */
static void test_exempt(void **state)
{
    (void)state;
    struct rrl_table *t = table(1024);
    struct conf_rrl c = conf_with(2, 15, 2);
    c.exempt[0] = (struct conf_cidr){.family = AF_INET, .addr = {198, 51, 100, 0}, .prefix = 24};
    c.exempt[1] = (struct conf_cidr){
        .family = AF_INET6, .addr = {0x20, 0x01, 0x0d, 0xb8, 0xee}, .prefix = 36};
    c.nexempt = 2;
    struct query_out o = answer_for(www, DNS_T_A);
    struct src s;
    static const char *const exempt[] = {"198.51.100.7", "198.51.100.255", "2001:db8:e000::1",
                                         "2001:db8:efff:ffff::1"};
    for (size_t i = 0; i < sizeof(exempt) / sizeof(exempt[0]); i++) {
        const struct sockaddr *sa = addr(&s, exempt[i]);
        for (int k = 0; k < 5; k++) {
            enum rrl_action a = rrl_check(t, &c, &o, sa, 10);
            assert_true(a == RRL_PASS || a == RRL_EXEMPT);
        }
        assert_int_equal(rrl_check(t, &c, &o, sa, 10), RRL_EXEMPT);
    }
    static const char *const limited[] = {"198.51.101.7", "2001:db8:f000::1", "2001:db8:d000::1"};
    for (size_t i = 0; i < sizeof(limited) / sizeof(limited[0]); i++) {
        const struct sockaddr *sa = addr(&s, limited[i]);
        assert_int_equal(send_n(t, &c, &o, sa, 10, 2), 2);
        assert_int_equal(rrl_check(t, &c, &o, sa, 10), RRL_SLIP);
        assert_int_equal(rrl_check(t, &c, &o, sa, 10), RRL_DROP);
    }
    rrl_table_free(t);
}

/* log_only: the same accounting, every response sent. */
static void test_log_only(void **state)
{
    (void)state;
    log_set_level(LOG_INFO); /* the episode line goes to stderr once */
    struct rrl_table *t = table(1024);
    struct conf_rrl c = conf_with(2, 15, 2);
    c.log_only = true;
    struct query_out o = answer_for(www, DNS_T_A);
    struct src s;
    const struct sockaddr *sa = addr(&s, "192.0.2.1");
    assert_int_equal(send_n(t, &c, &o, sa, 10, 2), 2);
    for (int k = 0; k < 10; k++)
        assert_int_equal(rrl_check(t, &c, &o, sa, 10), RRL_LOG_ONLY);
    c.log_only = false; /* a reload turning it off: the same account is over its limit */
    assert_int_equal(rrl_check(t, &c, &o, sa, 10), RRL_SLIP);
    log_set_level(LOG_WARN);
    rrl_table_free(t);
}

/* Accounts: client prefix (/24, /56), then response class with its key (QTYPE and name,
 * zone, cut, RCODE). */
static void test_keys(void **state)
{
    (void)state;
    struct conf_rrl c = conf_with(1, 15, 0);
    struct src s1, s2;
    struct query_out a = answer_for(www, DNS_T_A);
    static const struct {
        const char *first, *second;
        bool shared;
    } prefixes[] = {
        {"192.0.2.1", "192.0.2.254", true},
        {"192.0.2.1", "192.0.3.1", false},
        {"2001:db8:0:1::1", "2001:db8:0:ff::2", true},
        {"2001:db8:0:1::1", "2001:db8:0:100::1", false},
        {"192.0.2.1", "::ffff:192.0.2.1", false},
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        struct rrl_table *t = table(1024);
        assert_int_equal(rrl_check(t, &c, &a, addr(&s1, prefixes[i].first), 1), RRL_PASS);
        enum rrl_action second = rrl_check(t, &c, &a, addr(&s2, prefixes[i].second), 1);
        if ((second == RRL_DROP) != prefixes[i].shared)
            fail_msg("%s and %s: want %s account", prefixes[i].first, prefixes[i].second,
                     prefixes[i].shared ? "one" : "separate");
        rrl_table_free(t);
    }
    c.ipv4_prefix = 32;
    struct rrl_table *t = table(1024);
    assert_int_equal(rrl_check(t, &c, &a, addr(&s1, "192.0.2.1"), 1), RRL_PASS);
    assert_int_equal(rrl_check(t, &c, &a, addr(&s1, "192.0.2.2"), 1), RRL_PASS);
    rrl_table_free(t);
    c.ipv4_prefix = 24;

    static const uint8_t other[] = {5, 'o', 't', 'h', 'e', 'r', 0};
    struct query_out outs[] = {
        answer_for(www, DNS_T_A),
        answer_for(www, DNS_T_AAAA),
        answer_for(mail, DNS_T_A),
        by_class(QUERY_RC_NODATA, zone, 0),
        by_class(QUERY_RC_NXDOMAIN, zone, 3),
        by_class(QUERY_RC_NXDOMAIN, other, 3),
        by_class(QUERY_RC_REFERRAL, www, 0),
        by_class(QUERY_RC_ERROR, NULL, DNS_R_REFUSED),
        by_class(QUERY_RC_ERROR, NULL, DNS_R_FORMERR),
    };
    size_t n = sizeof(outs) / sizeof(outs[0]);
    t = table(1024);
    const struct sockaddr *sa = addr(&s1, "192.0.2.1");
    for (size_t i = 0; i < n; i++) /* each its own account: one response each */
        if (rrl_check(t, &c, &outs[i], sa, 1) != RRL_PASS)
            fail_msg("response kind %zu shares an account with an earlier one", i);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(rrl_check(t, &c, &outs[i], sa, 1), RRL_DROP);
    /* errors are keyed by RCODE alone, whatever name came with them */
    struct query_out refused_named = by_class(QUERY_RC_ERROR, mail, DNS_R_REFUSED);
    assert_int_equal(rrl_check(t, &c, &refused_named, sa, 1), RRL_DROP);
    rrl_table_free(t);
}

/* A full set gives its least recently credited account to a new key. */
static void test_replacement(void **state)
{
    (void)state;
    struct rrl_table *t = table(RRL_WAYS); /* one set: every key lands in it */
    struct conf_rrl c = conf_with(1, 100, 0);
    struct src s;
    const struct sockaddr *sa = addr(&s, "192.0.2.1");
    struct query_out k[RRL_WAYS + 1];
    for (int i = 0; i <= RRL_WAYS; i++)
        k[i] = answer_for(www, (uint16_t)(100 + i));
    for (int i = 0; i < RRL_WAYS; i++) /* keys 0..3 flooded at t = 1..4: deep in debt */
        assert_int_equal(send_n(t, &c, &k[i], sa, (uint32_t)(1 + i), 50), 1);
    assert_int_equal(rrl_check(t, &c, &k[0], sa, 5), RRL_DROP); /* key 0 credited at 5 */
    /* a fifth key takes the account credited longest ago: key 1's (t = 2) */
    assert_int_equal(rrl_check(t, &c, &k[4], sa, 6), RRL_PASS);
    assert_int_equal(rrl_check(t, &c, &k[0], sa, 6), RRL_DROP); /* remembered */
    assert_int_equal(rrl_check(t, &c, &k[2], sa, 6), RRL_DROP); /* remembered */
    assert_int_equal(rrl_check(t, &c, &k[1], sa, 6), RRL_PASS); /* forgotten: afresh */
    rrl_table_free(t);
}

/* ---- the engine's side -------------------------------------------------------------- */

static struct view *g_view;

static int setup_view(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_false(c->rrl.enabled); /* the defaults */
    assert_int_equal(c->rrl.responses_per_second, 20);
    assert_int_equal(c->rrl.window_s, 15);
    assert_int_equal(c->rrl.slip, 2);
    assert_int_equal(c->rrl.ipv4_prefix, 24);
    assert_int_equal(c->rrl.ipv6_prefix, 56);
    assert_int_equal(c->rrl.table_size, 65536);
    assert_int_equal(conf_add_zone(c, "example", "test/data/engine/example.zone", &e), 0);
    if (view_build(c, &g_view, &e) < 0)
        fail_msg("view_build: %s", e.msg);
    return setup_quiet(state);
}

static int teardown_view(void **state)
{
    (void)state;
    view_free(g_view);
    return 0;
}

/* Answer "name" type (text, relative to nothing: "www.example") with EDNS into buf. */
static size_t ask(const char *name, uint16_t type, bool edns, uint8_t *buf, struct query_out *o)
{
    uint8_t q[512] = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    size_t p = DNS_HDR;
    for (const char *s = name; *s;) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        q[p++] = (uint8_t)l;
        memcpy(q + p, s, l);
        p += l;
        s += l + (dot != NULL);
    }
    q[p++] = 0;
    wire_put16(q + p, type);
    wire_put16(q + p + 2, DNS_C_IN);
    p += 4;
    if (edns) {
        static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
        memcpy(q + p, opt, sizeof(opt));
        p += sizeof(opt);
        q[11] = 1;
    }
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    struct query_req req = {.pkt = q,
                            .len = p,
                            .src = (struct sockaddr *)&sin,
                            .transport = QUERY_UDP,
                            .now = 1,
                            .out = o};
    size_t n = query_answer(g_view, &req, buf, QUERY_UDP_BUF, NULL);
    assert_true(n >= DNS_HDR);
    return n;
}

static void expect_class(const char *qname, uint16_t type, enum query_rclass cls, const char *key)
{
    uint8_t buf[QUERY_UDP_BUF];
    struct query_out o;
    ask(qname, type, true, buf, &o);
    char text[DNAME_MAX * 4 + 1] = "-";
    if (o.name != NULL) {
        dname_to_text(o.name, text, sizeof(text));
        assert_int_equal(o.name_hash, dname_hash(o.name));
    }
    if (o.rclass != cls || strcmp(text, key) != 0)
        fail_msg("%s/%u: class %u key %s, want class %u key %s", qname, type, o.rclass, text, cls,
                 key);
    assert_int_equal(o.qtype, type);
}

static void test_engine_classes(void **state)
{
    (void)state;
    expect_class("www.example", DNS_T_A, QUERY_RC_ANSWER, "www.example.");
    expect_class("WWW.Example", DNS_T_AAAA, QUERY_RC_ANSWER, "www.example.");
    expect_class("foo.wild.example", DNS_T_A, QUERY_RC_ANSWER, "*.wild.example.");
    expect_class("docs.example", DNS_T_A, QUERY_RC_ANSWER, "docs.example."); /* CNAME chain */
    expect_class("big.example", DNS_T_TXT, QUERY_RC_ANSWER, "big.example.");
    expect_class("www.example", DNS_T_MX, QUERY_RC_NODATA, "example.");
    expect_class("b.c.example", DNS_T_A, QUERY_RC_NODATA, "example."); /* empty non-terminal */
    expect_class("nothere.example", DNS_T_A, QUERY_RC_NXDOMAIN, "example.");
    expect_class("dangling.example", DNS_T_A, QUERY_RC_NXDOMAIN, "example.");
    expect_class("host.sub.example", DNS_T_A, QUERY_RC_REFERRAL, "sub.example.");
    expect_class("www.elsewhere.test", DNS_T_A, QUERY_RC_ERROR, "-"); /* REFUSED */
    uint8_t buf[QUERY_UDP_BUF];
    struct query_out o;
    ask("www.elsewhere.test", DNS_T_A, true, buf, &o);
    assert_int_equal(o.rcode, DNS_R_REFUSED);
    ask("example", DNS_T_AXFR, true, buf, &o);
    assert_int_equal(o.rclass, QUERY_RC_ERROR);
    assert_int_equal(o.rcode, DNS_R_NOTIMP);
}

/* A slip: header and question as answered, TC=1, no records but the OPT. */
static void test_engine_truncate(void **state)
{
    (void)state;
    for (int edns = 0; edns < 2; edns++) {
        uint8_t buf[QUERY_UDP_BUF];
        struct query_out o;
        size_t n = ask("www.example", DNS_T_A, edns, buf, &o);
        assert_true(wire_get16(buf + 6) > 0);
        uint8_t opt[64];
        size_t optlen = edns ? n - o.opt_off : 0;
        assert_true(optlen < sizeof(opt));
        if (edns)
            memcpy(opt, buf + o.opt_off, optlen);
        else
            assert_int_equal(o.opt_off, 0);
        size_t m = query_truncate(buf, n, &o);
        assert_int_equal(m, o.question_end + optlen);
        assert_int_equal(o.question_end, DNS_HDR + 13 + 4);
        assert_true(buf[2] & 0x02); /* TC */
        assert_true(buf[2] & 0x80); /* still a response */
        assert_true(buf[2] & 0x04); /* AA kept */
        assert_int_equal(wire_get16(buf + 4), 1);
        assert_int_equal(wire_get16(buf + 6), 0);
        assert_int_equal(wire_get16(buf + 8), 0);
        assert_int_equal(wire_get16(buf + 10), edns);
        if (edns)
            assert_memory_equal(buf + o.question_end, opt, optlen);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_size),     cmocka_unit_test(test_rate),
        cmocka_unit_test(test_window),         cmocka_unit_test(test_slip_pattern),
        cmocka_unit_test(test_exempt),         cmocka_unit_test(test_log_only),
        cmocka_unit_test(test_keys),           cmocka_unit_test(test_replacement),
        cmocka_unit_test(test_engine_classes), cmocka_unit_test(test_engine_truncate),
    };
    return cmocka_run_group_tests(tests, setup_view, teardown_view);
}
