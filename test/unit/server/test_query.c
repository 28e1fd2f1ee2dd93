/* test_query.c: the query engine through its pure interface, without sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/query.h"
#include "server/view.h"
#include "server/dns/wire.h"

static struct view *g_view;

/* A query under construction: header, question, optional OPT with raw options. */
struct qb {
    uint8_t b[1024];
    size_t len;
};

static void qb_start(struct qb *q, const char *name, uint16_t type)
{
    memset(q, 0, sizeof(*q));
    q->b[0] = 0x12;
    q->b[1] = 0x34;
    q->b[2] = 0x01; /* RD */
    q->b[5] = 1;
    size_t p = DNS_HDR;
    const char *s = name;
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        q->b[p++] = (uint8_t)l;
        memcpy(q->b + p, s, l);
        p += l;
        s += l;
        if (*s == '.')
            s++;
    }
    q->b[p++] = 0;
    wire_put16(q->b + p, type);
    wire_put16(q->b + p + 2, DNS_C_IN);
    q->len = p + 4;
}

static void qb_opt(struct qb *q, uint16_t size, uint8_t version, bool do_bit, const uint8_t *opts,
                   size_t optlen)
{
    uint8_t *p = q->b + q->len;
    p[0] = 0;
    wire_put16(p + 1, DNS_T_OPT);
    wire_put16(p + 3, size);
    p[5] = 0;
    p[6] = version;
    p[7] = do_bit ? 0x80 : 0;
    p[8] = 0;
    wire_put16(p + 9, (uint16_t)optlen);
    if (optlen > 0)
        memcpy(p + 11, opts, optlen);
    q->len += 11 + optlen;
    q->b[11]++; /* ARCOUNT */
}

static size_t run(const struct qb *q, enum query_transport t, uint8_t *out)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(0x7f000001);
    struct query_req req = {
        .pkt = q->b, .len = q->len, .src = (struct sockaddr *)&sin, .transport = t};
    return query_answer(g_view, &req, out, t == QUERY_TCP ? QUERY_TCP_BUF : QUERY_UDP_BUF, NULL);
}

static ldns_pkt *ask_t(const char *name, uint16_t type, enum query_transport t)
{
    static uint8_t out[QUERY_TCP_BUF];
    struct qb q;
    qb_start(&q, name, type);
    size_t n = run(&q, t, out);
    assert_true(n >= DNS_HDR);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
    return p;
}

static ldns_pkt *ask(const char *name, uint16_t type)
{
    return ask_t(name, type, QUERY_UDP);
}

static int setup(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_zone(c, "example", "test/data/engine/example.zone", &e), 0);
    int rc = view_build(c, &g_view, &e);
    if (rc < 0)
        fail_msg("view_build: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    view_free(g_view);
    return 0;
}

static void test_answer_keeps_case_and_sets_aa(void **state)
{
    (void)state;
    uint8_t out[QUERY_UDP_BUF];
    struct qb q;
    qb_start(&q, "WwW.ExAmPle", DNS_T_A);
    size_t n = run(&q, QUERY_UDP, out);
    /* HDR-1: ID copied, QR set, question byte for byte */
    assert_int_equal(out[0], 0x12);
    assert_int_equal(out[1], 0x34);
    assert_true(out[2] & 0x80);
    assert_memory_equal(out + DNS_HDR, q.b + DNS_HDR, q.len - DNS_HDR);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(p));
    assert_true(ldns_pkt_rd(p));  /* HDR-2 RD copied */
    assert_false(ldns_pkt_ra(p)); /* RA never */
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_A);
    assert_int_equal(ldns_rr_ttl(rr), 3600);
    ldns_pkt_free(p);
}

static void test_nxdomain_has_soa_with_negative_ttl(void **state)
{
    (void)state;
    ldns_pkt *p = ask("nope.example", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_rr *soa = ldns_rr_list_rr(ldns_pkt_authority(p), 0);
    assert_int_equal(ldns_rr_get_type(soa), LDNS_RR_TYPE_SOA);
    assert_int_equal(ldns_rr_ttl(soa), 300); /* NEG-3 min(3600, 300) */
    ldns_pkt_free(p);
}

static void test_nodata_and_empty_non_terminal(void **state)
{
    (void)state;
    ldns_pkt *p = ask("www.example", DNS_T_MX);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
    p = ask("b.c.example", DNS_T_A); /* NEG-4: empty non-terminal */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
    p = ask("odd.example", 1000); /* Q-3 unknown type: NODATA */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(p));
    ldns_pkt_free(p);
    p = ask("odd.example", 65280);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
}

static void test_wildcard(void **state)
{
    (void)state;
    ldns_pkt *p = ask("Foo.wild.example", DNS_T_A);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), 0);
    char *owner = ldns_rdf2str(ldns_rr_owner(rr));
    assert_string_equal(owner, "Foo.wild.example."); /* WC-1: owner is the query name */
    free(owner);
    ldns_pkt_free(p);
    p = ask("x.wild.example", DNS_T_TXT); /* an existing name blocks the wildcard */
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    ldns_pkt_free(p);
    p = ask("a.b.wild.example", DNS_T_MX); /* wildcard match without the type: NODATA */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
    p = ask("q.c.example", DNS_T_A); /* no wildcard at c: NXDOMAIN */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    ldns_pkt_free(p);
}

static void test_referral_with_glue(void **state)
{
    (void)state;
    ldns_pkt *p = ask("host.deep.sub.example", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_false(ldns_pkt_aa(p)); /* DEL-1 */
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 2);
    assert_int_equal(ldns_pkt_arcount(p), 1); /* glue for ns.sub only (DEL-2) */
    ldns_pkt_free(p);
    p = ask("ns.sub.example", DNS_T_A); /* DEL-3: glue is not served as an answer */
    assert_false(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    ldns_pkt_free(p);
    p = ask("sub.example", DNS_T_DS); /* DS comes from the parent side */
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
}

static void test_cname_chain_and_loop(void **state)
{
    (void)state;
    ldns_pkt *p = ask("chain1.example", DNS_T_A);
    assert_int_equal(ldns_pkt_ancount(p), 4); /* chain1, chain2, docs, www A */
    assert_true(ldns_pkt_aa(p));
    ldns_pkt_free(p);
    p = ask("loop1.example", DNS_T_A); /* CN-2: a loop stops at its first repeat */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 2);
    ldns_pkt_free(p);
    p = ask("dangling.example", DNS_T_A); /* RCODE from the last step */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
    p = ask("away.example", DNS_T_A); /* out-of-zone target: NOERROR, chain only */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
    p = ask("docs.example", DNS_T_CNAME); /* QTYPE=CNAME: the CNAME only */
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
}

static void test_refused_outside_and_chaos(void **state)
{
    (void)state;
    ldns_pkt *p = ask("www.other.test", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    assert_false(ldns_pkt_aa(p));
    ldns_pkt_free(p);
    uint8_t out[QUERY_UDP_BUF];
    struct qb q;
    qb_start(&q, "version.bind", DNS_T_TXT);
    wire_put16(q.b + q.len - 2, DNS_C_CH);
    assert_true(run(&q, QUERY_UDP, out) > 0);
    assert_int_equal(out[3] & 0xF, DNS_R_REFUSED);
}

static void test_malformed(void **state)
{
    (void)state;
    uint8_t out[QUERY_UDP_BUF];
    struct qb q;
    qb_start(&q, "www.example", DNS_T_A);
    q.b[2] |= 0x80; /* QR=1: dropped */
    assert_int_equal(run(&q, QUERY_UDP, out), 0);
    qb_start(&q, "www.example", DNS_T_A);
    q.len = 11; /* short: dropped */
    assert_int_equal(run(&q, QUERY_UDP, out), 0);
    qb_start(&q, "www.example", DNS_T_A);
    q.b[q.len++] = 0; /* trailing byte: FORMERR */
    assert_true(run(&q, QUERY_UDP, out) >= DNS_HDR);
    assert_int_equal(out[3] & 0xF, DNS_R_FORMERR);
    qb_start(&q, "www.example", DNS_T_A);
    q.b[5] = 2; /* QDCOUNT=2 (OP-2) */
    assert_true(run(&q, QUERY_UDP, out) >= DNS_HDR);
    assert_int_equal(out[3] & 0xF, DNS_R_FORMERR);
    qb_start(&q, "www.example", DNS_T_A);
    q.b[DNS_HDR] = 0xC0; /* compression pointer in the question */
    q.b[DNS_HDR + 1] = 0x0C;
    assert_true(run(&q, QUERY_UDP, out) >= DNS_HDR);
    assert_int_equal(out[3] & 0xF, DNS_R_FORMERR);
    qb_start(&q, "www.example", DNS_T_A);
    q.b[2] = (uint8_t)(q.b[2] | (5 << 3)); /* opcode UPDATE: NOTIMP (OP-1) */
    size_t n = run(&q, QUERY_UDP, out);
    assert_int_equal(n, DNS_HDR);
    assert_int_equal(out[3] & 0xF, DNS_R_NOTIMP);
    assert_int_equal((out[2] >> 3) & 0xF, 5);
    assert_false(out[2] & 0x04);
}

static void test_edns_and_ecs(void **state)
{
    (void)state;
    uint8_t out[QUERY_UDP_BUF];
    struct qb q;
    static const uint8_t ecs[] = {0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100};
    qb_start(&q, "www.example", DNS_T_A);
    qb_opt(&q, 4096, 0, true, ecs, sizeof(ecs));
    size_t n = run(&q, QUERY_UDP, out);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_edns_udp_size(p), 1232); /* EDNS-5: our maximum */
    assert_true(ldns_pkt_edns_do(p));
    ldns_pkt_free(p);
    /* ECS-3/ECS-5: the option echoed with scope 0 at the end of the packet */
    assert_memory_equal(out + n - 11, ((const uint8_t[]){0, 8, 0, 7, 0, 1, 24, 0, 198, 51, 100}),
                        11);
    /* version 1: BADVERS (EDNS-3) */
    qb_start(&q, "www.example", DNS_T_A);
    qb_opt(&q, 4096, 1, false, NULL, 0);
    n = run(&q, QUERY_UDP, out);
    assert_true(n > DNS_HDR);
    assert_int_equal(out[3] & 0xF, 0);
    assert_int_equal(out[n - 6], 1); /* extended RCODE 16 >> 4 */
    assert_int_equal(out[n - 5], 0); /* version 0 */
    assert_false(out[2] & 0x04);
    /* ECS with address bits past SOURCE: FORMERR with OPT (ECS-2) */
    static const uint8_t badecs[] = {0, 8, 0, 7, 0, 1, 23, 0, 198, 51, 101};
    qb_start(&q, "www.example", DNS_T_A);
    qb_opt(&q, 4096, 0, false, badecs, sizeof(badecs));
    n = run(&q, QUERY_UDP, out);
    assert_int_equal(out[3] & 0xF, DNS_R_FORMERR);
    assert_int_equal(wire_get16(out + 10), 1); /* an OPT */
    /* two OPT records: FORMERR (EDNS-2) */
    qb_start(&q, "www.example", DNS_T_A);
    qb_opt(&q, 4096, 0, false, NULL, 0);
    qb_opt(&q, 4096, 0, false, NULL, 0);
    n = run(&q, QUERY_UDP, out);
    assert_int_equal(out[3] & 0xF, DNS_R_FORMERR);
}

static void test_truncation(void **state)
{
    (void)state;
    ldns_pkt *p = ask("big.example", DNS_T_TXT); /* 8 x ~83 bytes > 512 */
    assert_true(ldns_pkt_tc(p));
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_qdcount(p), 1);
    ldns_pkt_free(p);
    p = ask_t("big.example", DNS_T_TXT, QUERY_TCP); /* TC-3 */
    assert_false(ldns_pkt_tc(p));
    assert_int_equal(ldns_pkt_ancount(p), 8);
    ldns_pkt_free(p);
}

static void test_any_and_axfr(void **state)
{
    (void)state;
    ldns_pkt *p = ask("www.example", DNS_T_ANY);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), LDNS_RR_TYPE_HINFO);
    ldns_pkt_free(p);
    p = ask_t("www.example", DNS_T_ANY, QUERY_TCP);
    assert_int_equal(ldns_pkt_ancount(p), 2);
    ldns_pkt_free(p);
    /* ANY-2: ANY at an alias gives the CNAME alone, unfollowed: a dangling target must not
     * turn it into NXDOMAIN, and a chain must not be walked (UDP and TCP alike) */
    for (int t = QUERY_UDP; t <= QUERY_TCP; t++) {
        const char *names[] = {"dangling.example", "chain1.example"};
        for (size_t i = 0; i < 2; i++) {
            p = ask_t(names[i], DNS_T_ANY, (enum query_transport)t);
            assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
            assert_true(ldns_pkt_aa(p));
            assert_int_equal(ldns_pkt_ancount(p), 1);
            assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)),
                             LDNS_RR_TYPE_CNAME);
            assert_int_equal(ldns_pkt_nscount(p), 0);
            ldns_pkt_free(p);
        }
    }
    p = ask("example", DNS_T_AXFR);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOTIMPL);
    ldns_pkt_free(p);
    p = ask_t("example", DNS_T_AXFR, QUERY_TCP);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    ldns_pkt_free(p);
}

static void test_mx_additional(void **state)
{
    (void)state;
    ldns_pkt *p = ask("example", DNS_T_MX);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_int_equal(ldns_pkt_arcount(p), 1);
    ldns_pkt_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_keeps_case_and_sets_aa),
        cmocka_unit_test(test_nxdomain_has_soa_with_negative_ttl),
        cmocka_unit_test(test_nodata_and_empty_non_terminal),
        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_referral_with_glue),
        cmocka_unit_test(test_cname_chain_and_loop),
        cmocka_unit_test(test_refused_outside_and_chaos),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_edns_and_ecs),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_any_and_axfr),
        cmocka_unit_test(test_mx_additional),
    };
    return cmocka_run_group_tests_name("query", tests, setup, teardown);
}
