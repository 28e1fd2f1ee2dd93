/* test_query_dname.c: DNAME answers (DN-1..DN-3) and compression pointers (COMP-2) of the
 * query engine, through its pure interface; every response is parsed by ldns and walked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/query.h"
#include "server/view.h"
#include "server/dns/wire.h"

#define D "test/data/integration/"

static struct view *g_view;

static size_t make_query(uint8_t *b, const char *name, uint16_t type)
{
    memset(b, 0, DNS_HDR);
    b[0] = 0x44;
    b[1] = 0x4e;
    b[5] = 1;
    size_t p = DNS_HDR;
    for (const char *s = name; *s != '\0';) {
        const char *dot = strchr(s, '.');
        size_t l = dot != NULL ? (size_t)(dot - s) : strlen(s);
        b[p++] = (uint8_t)l;
        memcpy(b + p, s, l);
        p += l;
        s += l + (dot != NULL);
    }
    b[p++] = 0;
    wire_put16(b + p, type);
    wire_put16(b + p + 2, DNS_C_IN);
    return p + 4;
}

/* COMP-2: walks the name at *off; every pointer must go strictly back to a label start of a
 * name complete before this one began (starts[] marks those). No pointer at all when
 * !may_compress (a DNAME's RDATA, RFC 6672 2.5). */
static void walk_name(const uint8_t *m, size_t len, size_t *off, bool *starts, bool may_compress)
{
    size_t start = *off, p = *off, fresh[128], nfresh = 0;
    bool jumped = false;
    for (int hops = 0;; hops++) {
        assert_true(hops < 128 && p < len);
        uint8_t c = m[p];
        if ((c & 0xC0) == 0xC0) {
            assert_true(p + 1 < len);
            size_t to = ((size_t)(c & 0x3F) << 8) | m[p + 1];
            if (!may_compress || to >= start || !starts[to])
                fail_msg("name at %zu: pointer at %zu to %zu is not back to a complete name", start,
                         p, to);
            if (!jumped)
                *off = p + 2;
            jumped = true;
            p = to;
            continue;
        }
        assert_int_equal(c & 0xC0, 0);
        if (!jumped && c != 0)
            fresh[nfresh++] = p;
        if (c == 0) {
            if (!jumped)
                *off = p + 1;
            break;
        }
        p += 1u + c;
    }
    for (size_t i = 0; i < nfresh; i++)
        starts[fresh[i]] = true;
}

/* Walks the whole response: question, then every RR's owner and the names in the RDATA of
 * the types whose names we write (NS, CNAME, DNAME, SOA, MX); RDLENGTH must end each RR. */
static void check_shape(const uint8_t *m, size_t len)
{
    static bool starts[QUERY_TCP_BUF];
    memset(starts, 0, len);
    size_t off = DNS_HDR;
    assert_true(len >= DNS_HDR);
    for (unsigned i = 0; i < wire_get16(m + 4); i++) {
        walk_name(m, len, &off, starts, true);
        off += 4;
    }
    unsigned nrr = wire_get16(m + 6) + wire_get16(m + 8) + wire_get16(m + 10);
    for (unsigned i = 0; i < nrr; i++) {
        walk_name(m, len, &off, starts, true);
        assert_true(off + 10 <= len);
        uint16_t type = wire_get16(m + off);
        size_t rdlen = wire_get16(m + off + 8), rd = off + 10, end = rd + rdlen;
        assert_true(end <= len);
        size_t p = rd;
        if (type == DNS_T_NS || type == DNS_T_CNAME || type == DNS_T_DNAME) {
            walk_name(m, len, &p, starts, type != DNS_T_DNAME);
            assert_int_equal(p, end);
        } else if (type == DNS_T_SOA) {
            walk_name(m, len, &p, starts, true);
            walk_name(m, len, &p, starts, true);
            assert_int_equal(p + 20, end);
        } else if (type == DNS_T_MX) {
            p += 2;
            walk_name(m, len, &p, starts, true);
            assert_int_equal(p, end);
        }
        off = end;
    }
    assert_int_equal(off, len);
}

static ldns_pkt *ask_t(const char *name, uint16_t type, enum query_transport t)
{
    static uint8_t out[QUERY_TCP_BUF];
    uint8_t q[300];
    size_t qlen = make_query(q, name, type);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(4242)};
    sin.sin_addr.s_addr = htonl(0x7f000001);
    struct query_req req = {.pkt = q, .len = qlen, .src = (struct sockaddr *)&sin, .transport = t};
    size_t n =
        query_answer(g_view, &req, out, t == QUERY_TCP ? QUERY_TCP_BUF : QUERY_UDP_BUF, NULL);
    assert_true(n >= DNS_HDR);
    if (t == QUERY_UDP)
        assert_true(n <= 512); /* no EDNS in these queries (UDP-1) */
    check_shape(out, n);
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, out, n), LDNS_STATUS_OK);
    return p;
}

static ldns_pkt *ask(const char *name, uint16_t type)
{
    return ask_t(name, type, QUERY_UDP);
}

static char *rdf_text(const ldns_rdf *r)
{
    char *s = ldns_rdf2str(r);
    assert_non_null(s);
    return s;
}

/* The answer's RR i: type, owner text and (first) RDATA field text compared. */
static void assert_rr(ldns_pkt *p, size_t i, ldns_rr_type type, const char *owner,
                      const char *rdata, uint32_t ttl)
{
    assert_true(i < ldns_pkt_ancount(p));
    ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
    assert_int_equal(ldns_rr_get_type(rr), type);
    char *o = rdf_text(ldns_rr_owner(rr));
    assert_string_equal(o, owner);
    free(o);
    if (rdata != NULL) {
        char *d = rdf_text(ldns_rr_rdf(rr, 0));
        assert_string_equal(d, rdata);
        free(d);
    }
    assert_int_equal(ldns_rr_ttl(rr), ttl);
}

/* DN-1 oracle: the synthesized CNAME of answer RR i+1 is what the DNAME at RR i says,
 * worked out by ldns: owner = the name asked, target = that name with the DNAME's owner
 * replaced by its target. */
static void assert_synthesized(ldns_pkt *p, size_t i)
{
    ldns_rr *dn = ldns_rr_list_rr(ldns_pkt_answer(p), i);
    ldns_rr *cn = ldns_rr_list_rr(ldns_pkt_answer(p), i + 1);
    assert_int_equal(ldns_rr_get_type(dn), LDNS_RR_TYPE_DNAME);
    assert_int_equal(ldns_rr_get_type(cn), LDNS_RR_TYPE_CNAME);
    assert_int_equal(ldns_rr_ttl(cn), ldns_rr_ttl(dn));
    const ldns_rdf *owner = ldns_rr_owner(cn);
    assert_true(ldns_dname_is_subdomain(owner, ldns_rr_owner(dn)));
    uint8_t nl = ldns_dname_label_count(owner), dl = ldns_dname_label_count(ldns_rr_owner(dn));
    ldns_rdf *want = ldns_dname_clone_from(owner, 0);
    for (uint8_t k = 0; k < nl - dl; k++) { /* keep the labels above the DNAME owner */
        ldns_rdf *lab = ldns_dname_label(owner, k);
        if (k == 0) {
            ldns_rdf_deep_free(want);
            want = lab;
        } else {
            assert_int_equal(ldns_dname_cat(want, lab), LDNS_STATUS_OK);
            ldns_rdf_deep_free(lab);
        }
    }
    ldns_rdf *tail = ldns_rr_rdf(dn, 0);
    assert_int_equal(ldns_dname_cat(want, tail), LDNS_STATUS_OK);
    assert_int_equal(ldns_dname_compare(want, ldns_rr_rdf(cn, 0)), 0);
    ldns_rdf_deep_free(want);
}

/* How many answer RRs have this type. */
static size_t count_type(ldns_pkt *p, ldns_rr_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < ldns_pkt_ancount(p); i++)
        n += ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), i)) == type;
    return n;
}

static int setup(void **state)
{
    (void)state;
    struct conf *c;
    struct err e = {{0}};
    assert_int_equal(conf_new(&c), 0);
    assert_int_equal(conf_add_zone(c, "dn.test", D "dname.test.zone", &e), 0);
    assert_int_equal(conf_add_zone(c, "apex.test", D "dname-apex.test.zone", &e), 0);
    assert_int_equal(conf_add_zone(c, "occ.test", D "dname-occluded.test.zone", &e), 0);
    assert_int_equal(conf_add_zone(c, "rep.test", D "repeat.test.zone", &e), 0);
    if (view_build(c, &g_view, &e) < 0)
        fail_msg("view_build: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    view_free(g_view);
    return 0;
}

/* DN-1: below the owner, the DNAME, the CNAME synthesized from it, then the target's data. */
static void test_dn1_synthesis(void **state)
{
    (void)state;
    ldns_pkt *p = ask("WwW.D.dn.test", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 3);
    assert_rr(p, 0, LDNS_RR_TYPE_DNAME, "D.dn.test.", "t.dn.test.", 600);
    assert_rr(p, 1, LDNS_RR_TYPE_CNAME, "WwW.D.dn.test.", "www.t.dn.test.", 600);
    assert_rr(p, 2, LDNS_RR_TYPE_A, "www.t.dn.test.", "192.0.2.10", 3600);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
    p = ask("x.y.d.dn.test", DNS_T_A); /* the target does not exist: NXDOMAIN from it */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
    p = ask("www.d.dn.test", DNS_T_CNAME); /* QTYPE=CNAME: the synthesized CNAME ends it */
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
    p = ask("foo.w.d.dn.test", DNS_T_A); /* the target is a wildcard match */
    assert_int_equal(ldns_pkt_ancount(p), 3);
    assert_rr(p, 2, LDNS_RR_TYPE_A, "foo.w.t.dn.test.", "192.0.2.77", 3600);
    ldns_pkt_free(p);
    p = ask("mail.d.dn.test", DNS_T_MX);
    assert_int_equal(ldns_pkt_ancount(p), 3);
    assert_rr(p, 2, LDNS_RR_TYPE_MX, "mail.t.dn.test.", NULL, 3600);
    ldns_pkt_free(p);
}

/* DN-1: the DNAME owner itself is answered as any other name. */
static void test_dn1_owner_answers_normally(void **state)
{
    (void)state;
    ldns_pkt *p = ask("d.dn.test", DNS_T_TXT);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_rr(p, 0, LDNS_RR_TYPE_TXT, "d.dn.test.", NULL, 3600);
    ldns_pkt_free(p);
    p = ask("d.dn.test", DNS_T_DNAME);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_rr(p, 0, LDNS_RR_TYPE_DNAME, "d.dn.test.", "t.dn.test.", 600);
    ldns_pkt_free(p);
    p = ask("d.dn.test", DNS_T_A); /* NODATA at the owner */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
}

/* DN-1 with CN-1/CN-2: DNAME steps chain with CNAMEs and DNAMEs, loops stop. */
static void test_dn1_chains_and_loops(void **state)
{
    (void)state;
    ldns_pkt *p = ask("c.dn.test", DNS_T_A); /* CNAME into a DNAME */
    assert_int_equal(ldns_pkt_ancount(p), 4);
    assert_rr(p, 0, LDNS_RR_TYPE_CNAME, "c.dn.test.", "www.d.dn.test.", 3600);
    assert_synthesized(p, 1);
    assert_rr(p, 3, LDNS_RR_TYPE_A, "www.t.dn.test.", "192.0.2.10", 3600);
    ldns_pkt_free(p);
    p = ask("www.dd.dn.test", DNS_T_AAAA); /* DNAME onto a DNAME */
    assert_int_equal(ldns_pkt_ancount(p), 5);
    assert_synthesized(p, 0);
    assert_synthesized(p, 2);
    assert_int_equal(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 1)), 300);
    ldns_pkt_free(p);
    p = ask("alias.d.dn.test", DNS_T_A); /* DNAME, then a CNAME at the target */
    assert_int_equal(ldns_pkt_ancount(p), 4);
    ldns_pkt_free(p);
    p = ask("a.out.dn.test", DNS_T_A); /* out of our zones: the chain ends, NOERROR */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
    p = ask("x.l1.dn.test", DNS_T_A); /* l1 -> l2 -> l1: stops at the repeat */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 4);
    assert_synthesized(p, 0);
    assert_synthesized(p, 2);
    ldns_pkt_free(p);
    p = ask("x.grow.dn.test", DNS_T_A); /* a target below its own DNAME: one step */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
    /* one DNAME met again under another name: applied again, written once, and the chain
     * goes on to the data (NSD and Knot do the same) */
    p = ask("a.re.dn.test", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 5);
    assert_synthesized(p, 0);
    assert_rr(p, 2, LDNS_RR_TYPE_CNAME, "a.ra.dn.test.", "b.re.dn.test.", 3600);
    assert_rr(p, 3, LDNS_RR_TYPE_CNAME, "b.re.dn.test.", "b.ra.dn.test.", 3600);
    assert_rr(p, 4, LDNS_RR_TYPE_A, "b.ra.dn.test.", "192.0.2.12", 3600);
    assert_int_equal(count_type(p, LDNS_RR_TYPE_DNAME), 1);
    ldns_pkt_free(p);
    /* ... and through a wildcard CNAME back below it: stops at the first repeated name */
    p = ask("c0.rw.dn.test", DNS_T_A);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(p), 5);
    assert_synthesized(p, 0);
    assert_rr(p, 3, LDNS_RR_TYPE_CNAME, "q.rw.dn.test.", "q.rx.dn.test.", 3600);
    assert_rr(p, 4, LDNS_RR_TYPE_CNAME, "q.rx.dn.test.", "q.rw.dn.test.", 3600);
    assert_int_equal(count_type(p, LDNS_RR_TYPE_DNAME), 1);
    ldns_pkt_free(p);
}

/* DN-2: a substitution past 255 octets is YXDOMAIN with the DNAME alone. */
static void test_dn2_yxdomain(void **state)
{
    (void)state;
    char name[300];
    snprintf(name, sizeof(name), "%.63s.%.40s.long.dn.test",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    ldns_pkt *p = ask(name, DNS_T_A); /* 64 + 41 + 192 octets > 255 */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_YXDOMAIN);
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), LDNS_RR_TYPE_DNAME);
    assert_int_equal(ldns_pkt_nscount(p), 0);
    ldns_pkt_free(p);
    p = ask_t("x.long.dn.test", DNS_T_A, QUERY_TCP); /* 2 + 192 octets: fits */
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
}

/* TC-1 for a DNAME answer: over 512 octets without EDNS it is truncated whole, AA and the
 * full answer's RCODE kept; over TCP the same answer is complete (TC-3). */
static void test_dn1_truncation(void **state)
{
    (void)state;
    const char *name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long.dn.test";
    ldns_pkt *t = ask_t(name, DNS_T_A, QUERY_TCP);
    assert_false(ldns_pkt_tc(t));
    assert_int_equal(ldns_pkt_ancount(t), 2);
    assert_synthesized(t, 0);
    assert_int_equal(ldns_pkt_get_rcode(t), LDNS_RCODE_NXDOMAIN); /* the target is missing */
    ldns_pkt *p = ask(name, DNS_T_A);
    assert_true(ldns_pkt_tc(p));
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_get_rcode(p), ldns_pkt_get_rcode(t));
    ldns_pkt_free(p);
    ldns_pkt_free(t);
    /* a CNAME to an RRset that does not fit: NOERROR, as over TCP */
    t = ask_t("bigc.dn.test", DNS_T_TXT, QUERY_TCP);
    assert_int_equal(ldns_pkt_get_rcode(t), LDNS_RCODE_NOERROR);
    assert_int_equal(ldns_pkt_ancount(t), 7);
    p = ask("bigc.dn.test", DNS_T_TXT);
    assert_true(ldns_pkt_tc(p));
    assert_int_equal(ldns_pkt_get_rcode(p), ldns_pkt_get_rcode(t));
    ldns_pkt_free(p);
    ldns_pkt_free(t);
    /* cut short at the synthesized CNAME, before the lookup that finds NXDOMAIN */
    name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.long.dn.test";
    t = ask_t(name, DNS_T_A, QUERY_TCP);
    assert_int_equal(ldns_pkt_get_rcode(t), LDNS_RCODE_NXDOMAIN);
    p = ask(name, DNS_T_A);
    assert_true(ldns_pkt_tc(p));
    assert_int_equal(ldns_pkt_get_rcode(p), ldns_pkt_get_rcode(t));
    ldns_pkt_free(p);
    ldns_pkt_free(t);
}

/* DN-3: the referral wins at and below a cut; occluded data is never served; apex DNAME. */
static void test_dn3(void **state)
{
    (void)state;
    ldns_pkt *p = ask("www.cut.occ.test", DNS_T_A); /* DNAME at the cut: referral */
    assert_false(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    assert_int_equal(ldns_pkt_arcount(p), 1); /* the glue below the cut is not occluded */
    ldns_pkt_free(p);
    p = ask("x.below.cut.occ.test", DNS_T_A); /* DNAME below the cut: referral */
    assert_false(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 0);
    assert_int_equal(ldns_pkt_nscount(p), 1);
    ldns_pkt_free(p);
    p = ask("hidden.d.occ.test", DNS_T_A); /* occluded: the DNAME answers, not the A */
    assert_int_equal(ldns_pkt_ancount(p), 2);
    assert_synthesized(p, 0);
    assert_int_equal(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN); /* hidden.t.dn.test. */
    ldns_pkt_free(p);
    p = ask("mx.occ.test", DNS_T_MX); /* no address of an occluded host in additional */
    assert_int_equal(ldns_pkt_ancount(p), 1);
    assert_int_equal(ldns_pkt_arcount(p), 0);
    ldns_pkt_free(p);
    p = ask("www.apex.test", DNS_T_A); /* a DNAME at the apex, target in another zone */
    assert_true(ldns_pkt_aa(p));
    assert_int_equal(ldns_pkt_ancount(p), 3);
    assert_rr(p, 0, LDNS_RR_TYPE_DNAME, "apex.test.", "t.dn.test.", 900);
    assert_synthesized(p, 0);
    ldns_pkt_free(p);
    p = ask("apex.test", DNS_T_TXT); /* the apex itself answers normally */
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
    p = ask("apex.test", DNS_T_SOA);
    assert_int_equal(ldns_pkt_ancount(p), 1);
    ldns_pkt_free(p);
}

/* COMP-2 through the engine: an apex NS net.net. and a referral to ns.bar.bar. once made a
 * pointer to the name itself; check_shape walks every pointer of these answers. */
static void test_comp2_repeated_labels(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint16_t type;
        int ns; /* records expected in authority (referral) or -1 for answers */
    } cases[] = {
        {"rep.test", DNS_T_NS, -1},          {"www.sub.rep.test", DNS_T_A, 2},
        {"sub.rep.test", DNS_T_NS, 2},       {"x.camp.rep.test", DNS_T_A, 1},
        {"alias.rep.test", DNS_T_A, -1},     {"mx.rep.test", DNS_T_MX, -1},
        {"test.test.rep.test", DNS_T_A, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int t = 0; t < 2; t++) {
            ldns_pkt *p = ask_t(cases[i].name, cases[i].type, t ? QUERY_TCP : QUERY_UDP);
            if (cases[i].ns >= 0)
                assert_int_equal(ldns_pkt_nscount(p), cases[i].ns);
            else
                assert_true(ldns_pkt_ancount(p) >= 1);
            ldns_pkt_free(p);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dn1_synthesis),
        cmocka_unit_test(test_dn1_owner_answers_normally),
        cmocka_unit_test(test_dn1_chains_and_loops),
        cmocka_unit_test(test_dn2_yxdomain),
        cmocka_unit_test(test_dn1_truncation),
        cmocka_unit_test(test_dn3),
        cmocka_unit_test(test_comp2_repeated_labels),
    };
    return cmocka_run_group_tests_name("query_dname", tests, setup, teardown);
}
