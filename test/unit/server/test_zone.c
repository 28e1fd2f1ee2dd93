/* test_zone.c: unit tests for server/zone.c and server/zone_load.c (run from the repository root).
 */
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

#include "server/dns/dname.h"
#include "server/err.h"
#include "server/zone.h"

#define DATA "test/data/zones/"
#define EXAMPLE "zones/insure.example.zone"

enum {
    T_A = 1,
    T_NS = 2,
    T_CNAME = 5,
    T_SOA = 6,
    T_MX = 15,
    T_TXT = 16,
    T_RP = 17,
    T_AAAA = 28,
    T_SRV = 33,
    T_CAA = 257
};

/* Stands in for "*out untouched": never dereferenced. */
#define SENTINEL ((struct zone *)(uintptr_t)0x5e5e)

/* "www.Example." -> lowercase wire form; plain names only (no escapes). */
static size_t to_wire(const char *text, uint8_t *out)
{
    size_t o = 0;
    const char *p = text;
    while (*p != '\0' && strcmp(p, ".") != 0) {
        const char *dot = strchr(p, '.');
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);
        out[o++] = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            out[o++] = dname_lower((uint8_t)p[i]);
        p += n + (dot != NULL);
    }
    out[o++] = 0;
    return o;
}

static const struct zone_node *find(const struct zone *z, const char *text)
{
    uint8_t w[DNAME_MAX];
    size_t len = to_wire(text, w);
    return zone_lookup(z, w, len, dname_hash(w));
}

static const struct zone_rrset *rrset(const struct zone *z, const char *name, uint16_t type)
{
    const struct zone_node *n = find(z, name);
    assert_non_null(n);
    return zone_node_rrset(n, type);
}

static struct zone *load_ok(const char *origin, const char *path)
{
    struct zone *z = NULL;
    struct err e = {{0}};
    int rc = zone_load(origin, path, &z, &e);
    if (rc != 0)
        fail_msg("%s: rc %d: %s", path, rc, e.msg);
    assert_non_null(z);
    return z;
}

/* Runs zone_load with fd 2 sent to a temporary file; returns what log_warn wrote. */
static char *load_capturing(const char *origin, const char *path, struct zone **z)
{
    struct err e = {{0}};
    FILE *t = tmpfile();
    assert_non_null(t);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(t), 2) >= 0);
    int rc = zone_load(origin, path, z, &e);
    dup2(saved, 2);
    close(saved);
    assert_int_equal(rc, 0);
    static char buf[8192];
    rewind(t);
    size_t n = fread(buf, 1, sizeof(buf) - 1, t);
    buf[n] = '\0';
    fclose(t);
    return buf;
}

static void assert_wire_name(const uint8_t *p, const char *expect_exact_case)
{
    /* compare bytes exactly: the case of the file must survive */
    uint8_t w[DNAME_MAX];
    size_t o = 0;
    const char *s = expect_exact_case;
    while (*s != '\0') {
        const char *dot = strchr(s, '.');
        size_t n = (size_t)(dot - s);
        w[o++] = (uint8_t)n;
        memcpy(w + o, s, n);
        o += n;
        s = dot + 1;
    }
    w[o++] = 0;
    assert_memory_equal(p, w, o);
}

/* Structural invariants the query engine relies on, checked over every node. */
static void check_invariants(const struct zone *z)
{
    size_t seen = 0, records = 0;
    assert_true(z->nbuckets > 0 && (z->nbuckets & (z->nbuckets - 1)) == 0);
    assert_true(z->nnodes <= z->nbuckets); /* load factor <= 1 */
    for (uint32_t b = 0; b < z->nbuckets; b++) {
        for (const struct zone_node *n = z->buckets[b]; n != NULL; n = n->next) {
            seen++;
            assert_int_equal(n->hash & (z->nbuckets - 1), b);
            assert_int_equal(n->hash, dname_hash(n->name));
            assert_int_equal(n->namelen, dname_len(n->name));
            for (size_t i = 0; i < n->namelen; i++)
                assert_false(n->name[i] >= 'A' && n->name[i] <= 'Z');
            assert_true(dname_is_subdomain(n->name, z->origin));
            assert_ptr_equal(zone_lookup(z, n->name, n->namelen, n->hash), n);
            bool apex = dname_equal(n->name, z->origin);
            assert_int_equal(!!(n->flags & ZONE_NODE_APEX), apex);
            bool has_ns = zone_node_rrset(n, T_NS) != NULL;
            assert_int_equal(!!(n->flags & ZONE_NODE_CUT), has_ns && !apex);
            for (uint16_t i = 0; i < n->nrrsets; i++) {
                const struct zone_rrset *s = &n->rrsets[i];
                if (i > 0)
                    assert_true(n->rrsets[i - 1].type < s->type);
                assert_true(s->count > 0);
                assert_false(s->ttl & 0x80000000u);
                bool wants = s->type == T_NS || s->type == T_MX || s->type == T_SRV;
                assert_int_equal(s->targets != NULL, wants);
                records += s->count;
            }
            /* an empty non-terminal must have a descendant with data: its parent chain
             * is checked from the other side below */
        }
    }
    assert_int_equal(seen, z->nnodes);
    assert_int_equal(records, z->nrecords);
    /* every ancestor of every node, down to the apex, exists */
    for (uint32_t b = 0; b < z->nbuckets; b++) {
        for (const struct zone_node *n = z->buckets[b]; n != NULL; n = n->next) {
            const uint8_t *p = n->name;
            while (!dname_equal(p, z->origin)) {
                p += 1 + p[0];
                assert_non_null(zone_lookup(z, p, dname_len(p), dname_hash(p)));
            }
        }
    }
    assert_non_null(z->apex);
    assert_ptr_equal(z->soa, zone_node_rrset(z->apex, T_SOA));
}

static void test_example_zone(void **state)
{
    (void)state;
    struct zone *z = load_ok("insure.example.", EXAMPLE);
    check_invariants(z);
    uint8_t w[DNAME_MAX];
    size_t len = to_wire("insure.example.", w);
    assert_int_equal(z->origin_len, len);
    assert_memory_equal(z->origin, w, len);
    assert_int_equal(z->origin_labels, 2);
    assert_string_equal(z->file, EXAMPLE);
    assert_int_equal(z->serial, 2024061501u);
    assert_int_equal(z->neg_ttl, 300); /* min(SOA TTL 3600, MINIMUM 300) */
    assert_int_equal(z->nnodes, 20);
    assert_int_equal(z->nrecords, 40);
    assert_int_equal(z->apex->flags, ZONE_NODE_APEX);
    assert_int_equal(z->soa->count, 1);
    assert_int_equal(z->soa->ttl, 3600);

    const struct zone_rrset *ns = rrset(z, "insure.example.", T_NS);
    assert_non_null(ns);
    assert_int_equal(ns->count, 2);
    assert_ptr_equal(ns->targets[0], find(z, "ns1.insure.example."));
    assert_ptr_equal(ns->targets[1], find(z, "ns2.insure.example."));
    assert_non_null(zone_node_rrset(ns->targets[0], T_A));
    assert_non_null(zone_node_rrset(ns->targets[0], T_AAAA));

    /* the delegation and its glue */
    const struct zone_node *cut = find(z, "partners.insure.example.");
    assert_non_null(cut);
    assert_int_equal(cut->flags, ZONE_NODE_CUT);
    const struct zone_rrset *dns = zone_node_rrset(cut, T_NS);
    assert_ptr_equal(dns->targets[0], find(z, "ns1.partners.insure.example."));
    assert_ptr_equal(dns->targets[1], find(z, "ns2.partners.insure.example."));
    assert_non_null(zone_node_rrset(dns->targets[1], T_A));
    assert_null(zone_node_rrset(dns->targets[1], T_AAAA));

    /* wildcard owner, and its parent as an empty non-terminal */
    assert_non_null(rrset(z, "*.customers.insure.example.", T_A));
    const struct zone_node *ent = find(z, "customers.insure.example.");
    assert_non_null(ent);
    assert_int_equal(ent->nrrsets, 0);
    assert_null(find(z, "x.customers.insure.example."));
    assert_int_equal(find(z, "_tcp.insure.example.")->nrrsets, 0);

    const struct zone_rrset *cn = rrset(z, "docs.insure.example.", T_CNAME);
    assert_non_null(cn);
    assert_int_equal(cn->rrs[0].ncomp, 1);
    assert_int_equal(cn->rrs[0].comp_off[0], 0);
    assert_wire_name(cn->rrs[0].rdata, "www.insure.example.");

    const struct zone_rrset *mx = rrset(z, "insure.example.", T_MX);
    assert_ptr_equal(mx->targets[0], find(z, "mail.insure.example."));
    assert_ptr_equal(mx->targets[1], find(z, "mail2.insure.example."));

    const struct zone_rrset *srv = rrset(z, "_imaps._tcp.insure.example.", T_SRV);
    assert_int_equal(srv->rrs[0].ncomp, 0); /* COMP-1 */
    assert_ptr_equal(srv->targets[0], find(z, "mail.insure.example."));
    assert_int_equal(rrset(z, "insure.example.", T_CAA)->count, 2);
    assert_int_equal(rrset(z, "insure.example.", T_TXT)->count, 1);
    assert_int_equal(rrset(z, "_dmarc.insure.example.", T_TXT)->count, 1);
    const struct zone_rrset *claims = rrset(z, "claims.insure.example.", T_A);
    assert_int_equal(claims->count, 2);
    assert_int_equal(claims->ttl, 300);
    static const uint8_t claims0[4] = {192, 0, 2, 40};
    assert_int_equal(claims->rrs[0].rdlen, 4);
    assert_memory_equal(claims->rrs[0].rdata, claims0, 4);
    zone_free(z);
}

static void test_origin_forms(void **state)
{
    (void)state;
    struct zone *z = load_ok("INSURE.Example", EXAMPLE); /* no final dot, upper case */
    uint8_t w[DNAME_MAX];
    size_t len = to_wire("insure.example.", w);
    assert_int_equal(z->origin_len, len);
    assert_memory_equal(z->origin, w, len);
    assert_non_null(find(z, "WWW.insure.example."));
    zone_free(z);

    /* the file's $ORIGIN puts every record outside other.example.: the SOA, line 10 */
    struct zone *out = SENTINEL;
    struct err e = {{0}};
    assert_int_equal(zone_load("other.example.", EXAMPLE, &out, &e), GSLBD_EINVAL);
    assert_ptr_equal(out, SENTINEL);
    assert_string_equal(e.msg, EXAMPLE ":10:1: insure.example. is outside the zone other.example.");
}

static void test_lookup(void **state)
{
    (void)state;
    struct zone *z = load_ok("insure.example.", EXAMPLE);
    uint8_t w[DNAME_MAX];
    size_t len = to_wire("www.insure.example.", w);
    uint32_t h = dname_hash(w);
    const struct zone_node *n = zone_lookup(z, w, len, h);
    assert_non_null(n);
    assert_int_equal(n->nrrsets, 2);
    assert_int_equal(n->rrsets[0].type, T_A);
    assert_int_equal(n->rrsets[1].type, T_AAAA);
    assert_null(zone_node_rrset(n, T_MX));
    assert_null(zone_lookup(z, w, len, h + 1)); /* the hash is compared first */
    assert_null(zone_lookup(z, w, len - 1, h)); /* then the length */
    assert_null(find(z, "nope.insure.example."));
    assert_null(find(z, "insure.example.net."));
    /* the suffix hashes dname.c gives match node hashes: the engine's walk up works */
    len = to_wire("a.b.www.insure.example.", w);
    struct dname_labels l;
    uint32_t hs[DNAME_MAX_LABELS + 1];
    assert_int_equal(dname_split(w, len, &l), (int)len);
    dname_suffix_hashes(w, &l, hs);
    assert_ptr_equal(zone_lookup(z, w + l.off[2], len - l.off[2], hs[2]), n);
    assert_ptr_equal(zone_lookup(z, w + l.off[3], len - l.off[3], hs[3]), z->apex);
    zone_free(z);
}

static void test_good_zone_ttl1_comp1_targets(void **state)
{
    (void)state;
    struct zone *z = NULL;
    char *log = load_capturing("good.example", DATA "good.zone", &z);
    check_invariants(z);
    assert_int_equal(z->nnodes, 24);
    assert_int_equal(z->nrecords, 28);
    assert_int_equal(z->serial, 42);
    assert_int_equal(z->neg_ttl, 600); /* min(SOA TTL 7200, MINIMUM 600) */

    /* TTL-1: duplicates dropped, logged with file:line; one TTL per RRset */
    assert_non_null(strstr(log, DATA "good.zone:11: duplicate good.example. MX"));
    assert_non_null(strstr(log, DATA "good.zone:13: duplicate ns1.good.example. A"));
    assert_non_null(strstr(log, DATA "good.zone:15: TTL 600"));
    assert_int_equal(rrset(z, "good.example.", T_MX)->count, 2);
    assert_int_equal(rrset(z, "ns1.good.example.", T_A)->count, 1);
    const struct zone_rrset *mail = rrset(z, "mail.good.example.", T_A);
    assert_int_equal(mail->count, 2);
    assert_int_equal(mail->ttl, 300);
    assert_int_equal(rrset(z, "big.good.example.", T_A)->ttl, 0);        /* top bit set */
    assert_int_equal(rrset(z, "zero.zone2.good.example.", T_A)->ttl, 0); /* $TTL 0 */
    assert_int_equal(rrset(z, "w.zone2.good.example.", T_A)->ttl, 7200); /* relative $ORIGIN */

    /* RFC 3597 unknown type */
    const struct zone_rrset *op = rrset(z, "opaque.good.example.", 65280);
    assert_non_null(op);
    static const uint8_t opaque[4] = {0x0a, 0x00, 0x00, 0x01};
    assert_int_equal(op->rrs[0].rdlen, 4);
    assert_memory_equal(op->rrs[0].rdata, opaque, 4);
    assert_int_equal(op->rrs[0].ncomp, 0);
    const struct zone_rrset *gen = rrset(z, "generic.good.example.", T_A); /* TYPE1 \# 4 */
    static const uint8_t gen_a[4] = {192, 0, 2, 99};
    assert_int_equal(gen->rrs[0].rdlen, 4);
    assert_memory_equal(gen->rrs[0].rdata, gen_a, 4);

    /* $INCLUDE: own $ORIGIN and $TTL inside, parent's origin, owner and TTL after */
    assert_int_equal(rrset(z, "incl.inc.good.example.", T_A)->ttl, 60);
    assert_int_equal(rrset(z, "host1.good.example.", T_AAAA)->ttl, 7200);
    assert_non_null(rrset(z, "after.good.example.", T_A));
    assert_non_null(rrset(z, "sub.good.example.", T_A));
    assert_int_equal(rrset(z, "x.sub.good.example.", T_A)->ttl, 7200);
    assert_int_equal(find(z, "inc.good.example.")->nrrsets, 0);

    /* empty non-terminals */
    const struct zone_node *c = find(z, "c.good.example.");
    const struct zone_node *bc = find(z, "b.c.good.example.");
    assert_non_null(c);
    assert_non_null(bc);
    assert_int_equal(c->nrrsets, 0);
    assert_int_equal(bc->nrrsets, 0);
    assert_int_equal(c->flags, 0);
    assert_non_null(rrset(z, "a.b.c.good.example.", T_TXT));

    /* COMP-1 offsets; RDATA names keep the file's case */
    const struct wire_rr *soa = &z->soa->rrs[0];
    assert_int_equal(soa->ncomp, 2);
    assert_int_equal(soa->comp_off[0], 0);
    assert_int_equal(soa->comp_off[1], 18); /* after ns1.good.example. (18 octets) */
    assert_wire_name(soa->rdata, "ns1.good.example.");
    assert_wire_name(soa->rdata + 18, "hostmaster.good.example.");
    assert_int_equal(soa->rdlen, 18 + 25 + 20);
    const struct zone_rrset *mx = rrset(z, "good.example.", T_MX);
    assert_int_equal(mx->rrs[0].ncomp, 1);
    assert_int_equal(mx->rrs[0].comp_off[0], 2);
    assert_int_equal(mx->rrs[0].rdata[1], 10); /* preference */
    assert_wire_name(mx->rrs[0].rdata + 2, "Mail.good.example.");
    const struct zone_rrset *ns = rrset(z, "good.example.", T_NS);
    assert_int_equal(ns->rrs[0].ncomp, 1);
    assert_int_equal(ns->rrs[0].comp_off[0], 0);
    const struct zone_rrset *srv = rrset(z, "_sip._tcp.good.example.", T_SRV);
    assert_int_equal(srv->rrs[0].ncomp, 0);
    assert_wire_name(srv->rrs[0].rdata + 6, "Host1.good.example.");
    assert_int_equal(rrset(z, "rp.good.example.", T_RP)->rrs[0].ncomp, 0);

    /* CN-3: RRSIG and NSEC may coexist with a CNAME */
    const struct zone_node *alias = find(z, "alias.good.example.");
    assert_int_equal(alias->nrrsets, 3);
    assert_int_equal(alias->rrsets[0].type, T_CNAME);
    assert_int_equal(alias->rrsets[1].type, 46);
    assert_int_equal(alias->rrsets[2].type, 47);

    /* targets: in-zone hosts, glue below the cut (DEL-1, DEL-2), NULL outside */
    assert_ptr_equal(ns->targets[0], find(z, "ns1.good.example."));
    assert_null(ns->targets[1]);
    assert_ptr_equal(mx->targets[0], find(z, "mail.good.example."));
    assert_null(mx->targets[1]);
    assert_ptr_equal(srv->targets[0], find(z, "host1.good.example."));
    const struct zone_node *dele = find(z, "dele.good.example.");
    assert_int_equal(dele->flags, ZONE_NODE_CUT);
    const struct zone_rrset *dns = zone_node_rrset(dele, T_NS);
    assert_ptr_equal(dns->targets[0], find(z, "ns.dele.good.example."));
    assert_null(dns->targets[1]);
    assert_int_equal(z->apex->flags, ZONE_NODE_APEX); /* NS at the apex is not a cut */
    zone_free(z);
}

static void test_neg3_soa_ttl_below_minimum(void **state)
{
    (void)state;
    struct zone *z = load_ok("neg.example.", DATA "neg.zone");
    assert_int_equal(z->soa->ttl, 60);
    assert_int_equal(z->neg_ttl, 60); /* NEG-3: min(60, 300) */
    assert_int_equal(z->serial, 7);
    assert_int_equal(z->nnodes, 2);
    zone_free(z);
}

struct bad_case {
    const char *file;
    int rc;
    const char *prefix; /* the message starts with this */
    const char *has;    /* and contains this */
};

static void test_errors(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"bad_syntax.zone", GSLBD_EPARSE,
         DATA "bad_syntax.zone:5:15: ", "an IPv4 address expected"},
        {"bad_crlf.zone", GSLBD_EPARSE, DATA "bad_crlf.zone:4:10: ", "an IPv4 address expected"},
        {"bad_nosoa.zone", GSLBD_EINVAL, DATA "bad_nosoa.zone: ", "no SOA"},
        {"empty.zone", GSLBD_EINVAL, DATA "empty.zone: ", "no SOA"},
        {"bad_cname.zone", GSLBD_EINVAL, DATA "bad_cname.zone:6:1: ", "bad_cname.zone:5"},
        {"bad_cname2.zone", GSLBD_EINVAL, DATA "bad_cname2.zone:4:1: ", "second CNAME"},
        {"bad_outside.zone", GSLBD_EINVAL, DATA "bad_outside.zone:4:1: ", "www.other.example."},
        {"bad_include_missing.zone", -ENOENT, DATA "bad_include_missing.zone:3:10: ",
         DATA "inc/does-not-exist.inc: cannot open: No such file or directory"},
        {"bad_include_error.zone", GSLBD_EPARSE, DATA "inc/broken.inc:3:12: ", "value expected"},
        {"bad_include_loop.zone", GSLBD_ELIMIT, DATA "inc/loop.inc:3:1: ", "nested"},
        {"bad_two_soa.zone", GSLBD_EINVAL, DATA "bad_two_soa.zone:3:1: ",
         "second SOA record (the first is at " DATA "bad_two_soa.zone:2)"},
        {"bad_soa_owner.zone", GSLBD_EINVAL, DATA "bad_soa_owner.zone:2:1: ", "zone origin"},
        {"bad_paren.zone", GSLBD_EPARSE, DATA "bad_paren.zone:2:25: ", "parentheses"},
        {"bad_type.zone", GSLBD_EPARSE, DATA "bad_type.zone:3:8: ", "unknown record type"},
        {"bad_name.zone", GSLBD_EPARSE, DATA "bad_name.zone:3:1: ", "owner name"},
        {"bad_ttl.zone", GSLBD_EPARSE, DATA "bad_ttl.zone:3:5: ", "bad TTL"},
        {"bad_rdata_name.zone", GSLBD_EPARSE,
         DATA "bad_rdata_name.zone:3:12: ", "cannot read domain name"},
        {"bad_long_rdata_name.zone", GSLBD_EPARSE,
         DATA "bad_long_rdata_name.zone:3:9: ", "longer than 255 octets"},
        {"bad_generic.zone", GSLBD_EPARSE, DATA "bad_generic.zone:3:8: ", "too short"},
        {"bad_srv_short.zone", GSLBD_EPARSE, DATA "bad_srv_short.zone:4:18: ", "too short"},
        {"bad_class.zone", GSLBD_EINVAL, DATA "bad_class.zone:3:5: ", "class IN"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[256];
        struct zone *z = SENTINEL;
        struct err e = {{0}};
        snprintf(path, sizeof(path), DATA "%s", cases[i].file);
        int rc = zone_load("good.example", path, &z, &e);
        if (rc != cases[i].rc || strncmp(e.msg, cases[i].prefix, strlen(cases[i].prefix)) != 0 ||
            strstr(e.msg, cases[i].has) == NULL)
            fail_msg("%s: rc %d (want %d): %s", cases[i].file, rc, cases[i].rc, e.msg);
        assert_ptr_equal(z, SENTINEL);
    }
}

/* CN-3: the message names the later record's line and the earlier one's file:line. */
static void test_cn3_cname_beside_data(void **state)
{
    (void)state;
    struct zone *z = SENTINEL;
    struct err e = {{0}};
    assert_int_equal(zone_load("good.example.", DATA "bad_cname.zone", &z, &e), GSLBD_EINVAL);
    assert_string_equal(e.msg,
                        DATA "bad_cname.zone:6:1: CNAME and other data at "
                             "docs.good.example.: A here, CNAME at " DATA "bad_cname.zone:5");
    assert_ptr_equal(z, SENTINEL);
}

/* DN-3: a DNAME beside a CNAME, or a second DNAME, is a load error naming the line. */
static void test_dn3_dname_load_errors(void **state)
{
    (void)state;
    struct zone *z = SENTINEL;
    struct err e = {{0}};
    assert_int_equal(zone_load("good.example.", DATA "bad_dname_cname.zone", &z, &e), GSLBD_EINVAL);
    assert_string_equal(e.msg, DATA "bad_dname_cname.zone:6:1: CNAME and other data at "
                                    "old.good.example.: CNAME here, DNAME at " DATA
                                    "bad_dname_cname.zone:5");
    assert_ptr_equal(z, SENTINEL);
    assert_int_equal(zone_load("good.example.", DATA "bad_dname2.zone", &z, &e), GSLBD_EINVAL);
    assert_string_equal(e.msg, DATA "bad_dname2.zone:7:1: second DNAME at old.good.example. (the "
                                    "first is at " DATA "bad_dname2.zone:5)");
    assert_ptr_equal(z, SENTINEL);
}

/* DN-3: data below a DNAME is loaded with a warning naming each record's line and marked
 * occluded; a DNAME at a zone cut occludes nothing (the glue below the cut stays usable),
 * and an MX naming an occluded host gets no additional-section target. */
static void test_dn3_occluded(void **state)
{
    (void)state;
    struct zone *z = NULL;
    const char *path = "test/data/integration/dname-occluded.test.zone";
    char *log = load_capturing("occ.test.", path, &z);
    assert_non_null(strstr(log, "dname-occluded.test.zone:8: hidden.d.occ.test. A is below the "
                                "DNAME at d.occ.test. and is never served"));
    assert_non_null(strstr(log, "dname-occluded.test.zone:9: deep.hidden.d.occ.test. TXT is "
                                "below the DNAME at d.occ.test."));
    assert_null(strstr(log, "ns.cut.occ.test."));
    assert_null(strstr(log, "below.cut.occ.test."));
    assert_true(find(z, "d.occ.test.")->flags & ZONE_NODE_DNAME);
    assert_false(find(z, "d.occ.test.")->flags & ZONE_NODE_OCCLUDED);
    assert_true(find(z, "hidden.d.occ.test.")->flags & ZONE_NODE_OCCLUDED);
    assert_true(find(z, "deep.hidden.d.occ.test.")->flags & ZONE_NODE_OCCLUDED);
    assert_true(find(z, "cut.occ.test.")->flags & ZONE_NODE_CUT);
    assert_false(find(z, "ns.cut.occ.test.")->flags & ZONE_NODE_OCCLUDED);
    assert_false(find(z, "below.cut.occ.test.")->flags & ZONE_NODE_OCCLUDED);
    const struct zone_rrset *mx = rrset(z, "mx.occ.test.", T_MX);
    assert_non_null(mx->targets);
    assert_null(mx->targets[0]);
    const struct zone_rrset *ns = rrset(z, "cut.occ.test.", T_NS);
    assert_ptr_equal(ns->targets[0], find(z, "ns.cut.occ.test."));
    zone_free(z);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct zone *z = SENTINEL;
    struct err e = {{0}};
    assert_int_equal(zone_load("good.example.", DATA "nothere.zone", &z, &e), -ENOENT);
    assert_string_equal(e.msg, DATA "nothere.zone: cannot open: No such file or directory");
    assert_ptr_equal(z, SENTINEL);
    assert_int_equal(zone_load("good.example.", NULL, &z, NULL), GSLBD_EINVAL);
    assert_ptr_equal(z, SENTINEL);
}

static void test_free_null(void **state)
{
    (void)state;
    zone_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_zone),
        cmocka_unit_test(test_origin_forms),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_good_zone_ttl1_comp1_targets),
        cmocka_unit_test(test_neg3_soa_ttl_below_minimum),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_cn3_cname_beside_data),
        cmocka_unit_test(test_dn3_dname_load_errors),
        cmocka_unit_test(test_dn3_occluded),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
