/* test_dnssec.c: DNSSEC keys and RRSIGs (server/dnssec_key.c, dnssec_sign.c) checked
 * against an independent implementation: ldns verifies the RRSIGs we make (mixed case
 * owners and RDATA names, unsorted and duplicate RRs, wildcards), computes the same key
 * tag and DS, and rejects a flipped byte or an expired signature. Key files: 0600 on
 * save, a group- or world-readable one refused naming the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "server/dnssec.h"

static struct dnssec_key key;

static int setup(void **state)
{
    (void)state;
    struct err e = {{0}};
    return dnssec_key_generate(&key, &e);
}

static int teardown(void **state)
{
    (void)state;
    dnssec_key_free(&key);
    return 0;
}

/* An RR in wire form (uncompressed) made into an ldns_rr. */
static ldns_rr *wire_rr(const uint8_t *owner, size_t olen, uint16_t type, uint32_t ttl,
                        const uint8_t *rdata, size_t rdlen)
{
    uint8_t buf[1024];
    size_t n = 0;
    memcpy(buf, owner, olen);
    n = olen;
    buf[n++] = (uint8_t)(type >> 8);
    buf[n++] = (uint8_t)type;
    buf[n++] = 0;
    buf[n++] = 1;
    buf[n++] = (uint8_t)(ttl >> 24);
    buf[n++] = (uint8_t)(ttl >> 16);
    buf[n++] = (uint8_t)(ttl >> 8);
    buf[n++] = (uint8_t)ttl;
    buf[n++] = (uint8_t)(rdlen >> 8);
    buf[n++] = (uint8_t)rdlen;
    memcpy(buf + n, rdata, rdlen);
    n += rdlen;
    ldns_rr *rr = NULL;
    size_t pos = 0;
    assert_int_equal(ldns_wire2rr(&rr, buf, n, &pos, LDNS_SECTION_ANSWER), LDNS_STATUS_OK);
    return rr;
}

/* The RRset in text, as ldns parses it (case kept), and as our input: RDATA in wire. */
struct set {
    ldns_rr_list *list;
    uint8_t owner[256];
    size_t olen;
    uint16_t type;
    uint32_t ttl;
    ldns_buffer *rd[8];
    struct dnssec_rdata rr[8];
    size_t n;
};

static void set_from_text(struct set *s, const char *const *lines, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->list = ldns_rr_list_new();
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = NULL;
        assert_int_equal(ldns_rr_new_frm_str(&rr, lines[i], 3600, NULL, NULL), LDNS_STATUS_OK);
        /* what a validator receives: the RRset without the duplicate (our signer gets it) */
        bool dup = ldns_rr_list_contains_rr(s->list, rr);
        if (!dup)
            ldns_rr_list_push_rr(s->list, rr);
        if (i == 0) {
            ldns_rdf *o = ldns_rr_owner(rr);
            s->olen = ldns_rdf_size(o);
            memcpy(s->owner, ldns_rdf_data(o), s->olen);
            s->type = ldns_rr_get_type(rr);
            s->ttl = ldns_rr_ttl(rr);
        }
        s->rd[i] = ldns_buffer_new(512);
        assert_int_equal(ldns_rr_rdata2buffer_wire(s->rd[i], rr), LDNS_STATUS_OK);
        s->rr[i].data = ldns_buffer_begin(s->rd[i]);
        s->rr[i].len = (uint16_t)ldns_buffer_position(s->rd[i]);
        if (dup)
            ldns_rr_free(rr);
    }
    s->n = n;
}

static void set_free(struct set *s)
{
    ldns_rr_list_deep_free(s->list);
    for (size_t i = 0; i < s->n; i++)
        ldns_buffer_free(s->rd[i]);
}

static const uint8_t apex[] = "\7example\3com";

static ldns_rr *dnskey_rr(const struct dnssec_key *k)
{
    return wire_rr(apex, sizeof(apex), LDNS_RR_TYPE_DNSKEY, 3600, k->dnskey, sizeof(k->dnskey));
}

/* Sign s with k over [now - 1 h, now + days]; the RRSIG as an ldns_rr. */
static ldns_rr *sign(const struct dnssec_key *k, const struct set *s, int64_t from, int64_t to,
                     uint8_t *sig, size_t *siglen)
{
    struct dnssec_rrset rs = {s->owner, s->type, 1, s->ttl, s->rr, s->n};
    struct err e = {{0}};
    uint32_t now = (uint32_t)time(NULL);
    assert_int_equal(dnssec_sign_rrset(k, &rs, apex, (uint32_t)(now + from), (uint32_t)(now + to),
                                       sig, DNSSEC_RRSIG_MAX, siglen, &e),
                     0);
    return wire_rr(s->owner, s->olen, LDNS_RR_TYPE_RRSIG, s->ttl, sig, *siglen);
}

static ldns_status verify(ldns_rr_list *rrset, ldns_rr *rrsig, ldns_rr *dnskey)
{
    ldns_rr_list *keys = ldns_rr_list_new();
    ldns_rr_list *good = ldns_rr_list_new();
    ldns_rr_list_push_rr(keys, dnskey);
    ldns_status st = ldns_verify_rrsig_keylist(rrset, rrsig, keys, good);
    ldns_rr_list_free(keys);
    ldns_rr_list_free(good);
    return st;
}

/* Sign, verify with ldns, then a flipped signature byte and a flipped RDATA byte fail. */
static void check_set(const char *const *lines, size_t n, uint8_t want_labels)
{
    struct set s;
    set_from_text(&s, lines, n);
    uint8_t sig[DNSSEC_RRSIG_MAX];
    size_t siglen = 0;
    ldns_rr *rrsig = sign(&key, &s, -3600, 14 * 86400, sig, &siglen);
    ldns_rr *dk = dnskey_rr(&key);
    assert_int_equal(sig[3], want_labels);
    assert_int_equal(siglen, 18 + sizeof(apex) + 64);
    assert_int_equal(verify(s.list, rrsig, dk), LDNS_STATUS_OK);

    /* the served TTL may be lower than the original TTL signed */
    for (size_t i = 0; i < ldns_rr_list_rr_count(s.list); i++)
        ldns_rr_set_ttl(ldns_rr_list_rr(s.list, i), 30);
    assert_int_equal(verify(s.list, rrsig, dk), LDNS_STATUS_OK);

    /* a flipped byte in the signature */
    uint8_t bad[DNSSEC_RRSIG_MAX];
    memcpy(bad, sig, siglen);
    bad[siglen - 10] ^= 0x01;
    ldns_rr *badsig = wire_rr(s.owner, s.olen, LDNS_RR_TYPE_RRSIG, s.ttl, bad, siglen);
    assert_int_not_equal(verify(s.list, badsig, dk), LDNS_STATUS_OK);
    ldns_rr_free(badsig);

    /* a flipped byte in the data: the last octet of the first RR's last field */
    ldns_rr *first = ldns_rr_list_rr(s.list, 0);
    ldns_rdf *f = ldns_rr_rdf(first, ldns_rr_rd_count(first) - 1);
    uint8_t *d = ldns_rdf_data(f);
    size_t dl = ldns_rdf_size(f);
    d[dl > 1 ? dl - 2 : 0] ^= 0x01;
    assert_int_not_equal(verify(s.list, rrsig, dk), LDNS_STATUS_OK);

    ldns_rr_free(rrsig);
    ldns_rr_free(dk);
    set_free(&s);
}

static void test_a_rrset_mixed_case_unsorted_duplicate(void **state)
{
    (void)state;
    static const char *const l[] = {
        "WwW.Example.COM. 300 IN A 192.0.2.7", "WwW.Example.COM. 300 IN A 192.0.2.1",
        "WwW.Example.COM. 300 IN A 198.51.100.200",
        "WwW.Example.COM. 300 IN A 192.0.2.1", /* a duplicate: signed once */
    };
    check_set(l, 4, 3);
}

static void test_single_aaaa(void **state)
{
    (void)state;
    static const char *const l[] = {"v6.example.com. 60 IN AAAA 2001:db8::1"};
    check_set(l, 1, 3);
}

static void test_names_in_rdata_lowercased(void **state)
{
    (void)state;
    static const char *const ns[] = {
        "Example.com. 86400 IN NS NS2.Example.NET.",
        "Example.com. 86400 IN NS ns1.EXAMPLE.com.",
    };
    check_set(ns, 2, 2);
    static const char *const mx[] = {
        "example.com. 3600 IN MX 20 Mail2.Example.com.",
        "example.com. 3600 IN MX 10 MAIL.example.com.",
    };
    check_set(mx, 2, 2);
    static const char *const soa[] = {
        "example.com. 3600 IN SOA NS1.Example.com. HostMaster.EXAMPLE.com. 2026120401 7200 "
        "900 1209600 300",
    };
    check_set(soa, 1, 2);
    static const char *const cname[] = {"Alias.example.com. 300 IN CNAME Target.EXAMPLE.com."};
    check_set(cname, 1, 3);
    static const char *const srv[] = {
        "_sip._tcp.example.com. 300 IN SRV 10 60 5060 SIP.Example.com.",
        "_sip._tcp.example.com. 300 IN SRV 10 20 5060 sip2.Example.com.",
    };
    check_set(srv, 2, 4);
    static const char *const txt[] = {"example.com. 300 IN TXT \"Mixed CASE kept\" \"two\""};
    check_set(txt, 1, 2);
}

static void test_wildcard_labels(void **state)
{
    (void)state;
    static const char *const l[] = {"*.Example.com. 300 IN A 192.0.2.9"};
    check_set(l, 1, 2); /* the '*' label is not counted */
}

static void test_expired_and_not_yet_valid_rejected(void **state)
{
    (void)state;
    static const char *const l[] = {"www.example.com. 300 IN A 192.0.2.1"};
    struct set s;
    set_from_text(&s, l, 1);
    uint8_t sig[DNSSEC_RRSIG_MAX];
    size_t siglen = 0;
    ldns_rr *dk = dnskey_rr(&key);
    ldns_rr *old = sign(&key, &s, -10 * 86400, -86400, sig, &siglen);
    assert_int_equal(verify(s.list, old, dk), LDNS_STATUS_CRYPTO_SIG_EXPIRED);
    ldns_rr *later = sign(&key, &s, 86400, 10 * 86400, sig, &siglen);
    assert_int_equal(verify(s.list, later, dk), LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED);
    ldns_rr_free(old);
    ldns_rr_free(later);
    ldns_rr_free(dk);
    set_free(&s);
}

static void test_keytag_and_ds_match_ldns(void **state)
{
    (void)state;
    ldns_rr *dk = dnskey_rr(&key);
    assert_int_equal(ldns_calc_keytag(dk), key.tag);
    assert_int_equal(dnssec_keytag(key.dnskey, sizeof(key.dnskey)), key.tag);
    assert_int_equal(key.dnskey[0] << 8 | key.dnskey[1], 257);
    assert_int_equal(key.dnskey[2], 3);
    assert_int_equal(key.dnskey[3], 13);
    ldns_rr *ds = ldns_key_rr2ds(dk, LDNS_SHA256);
    assert_non_null(ds);
    ldns_rdf *digest = ldns_rr_rdf(ds, 3);
    assert_int_equal(ldns_rdf_size(digest), DNSSEC_DS_SHA256_LEN);
    uint8_t mine[DNSSEC_DS_SHA256_LEN];
    /* the owner's case does not change the digest */
    assert_int_equal(
        dnssec_ds_sha256((const uint8_t *)"\7EXAMPLE\3Com", key.dnskey, sizeof(key.dnskey), mine),
        0);
    assert_memory_equal(mine, ldns_rdf_data(digest), DNSSEC_DS_SHA256_LEN);
    ldns_rr_free(ds);
    ldns_rr_free(dk);
    /* RFC 4034 Appendix B worked by hand on a short RDATA: 0x0102 + 0x0304 + 0x0500 */
    static const uint8_t r[] = {1, 2, 3, 4, 5};
    assert_int_equal(dnssec_keytag(r, sizeof(r)), 0x0102 + 0x0304 + 0x0500);
}

static void tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/test_dnssec.XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static void test_key_file_round_trip_and_mode(void **state)
{
    (void)state;
    char dir[64], path[128];
    tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/k.pem", dir);
    struct err e = {{0}};
    mode_t old = umask(0);
    assert_int_equal(dnssec_key_save(&key, path, &e), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* an existing file is not overwritten */
    assert_true(dnssec_key_save(&key, path, &e) < 0);

    struct dnssec_key k2;
    assert_int_equal(dnssec_key_load(&k2, path, &e), 0);
    assert_int_equal(k2.tag, key.tag);
    assert_memory_equal(k2.dnskey, key.dnskey, sizeof(key.dnskey));
    /* the loaded key signs what the original's DNSKEY verifies */
    static const char *const l[] = {"www.example.com. 300 IN A 192.0.2.1"};
    struct set s;
    set_from_text(&s, l, 1);
    uint8_t sig[DNSSEC_RRSIG_MAX];
    size_t siglen = 0;
    ldns_rr *rrsig = sign(&k2, &s, -3600, 86400, sig, &siglen);
    ldns_rr *dk = dnskey_rr(&key);
    assert_int_equal(verify(s.list, rrsig, dk), LDNS_STATUS_OK);
    ldns_rr_free(rrsig);
    ldns_rr_free(dk);
    set_free(&s);
    dnssec_key_free(&k2);

    /* group-readable, world-readable: refused, naming the file */
    static const mode_t bad[] = {0640, 0604, 0660, 0610};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        memset(&e, 0, sizeof(e));
        assert_int_equal(dnssec_key_load(&k2, path, &e), GSLBD_EINVAL);
        assert_non_null(strstr(e.msg, path));
        assert_non_null(strstr(e.msg, "chmod 600"));
        assert_null(k2.pkey);
    }
    unlink(path);

    /* a missing file, a non-key, a P-384 key */
    memset(&e, 0, sizeof(e));
    assert_true(dnssec_key_load(&k2, path, &e) < 0);
    assert_non_null(strstr(e.msg, path));
    FILE *f = fopen(path, "w");
    fputs("not a key\n", f);
    fclose(f);
    chmod(path, 0600);
    assert_int_equal(dnssec_key_load(&k2, path, &e), GSLBD_EPARSE);
    unlink(path);
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    assert_non_null(p384);
    f = fopen(path, "w");
    assert_int_equal(PEM_write_PrivateKey(f, p384, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    chmod(path, 0600);
    memset(&e, 0, sizeof(e));
    assert_int_equal(dnssec_key_load(&k2, path, &e), GSLBD_EINVAL);
    assert_non_null(strstr(e.msg, "P-256"));
    EVP_PKEY_free(p384);
    unlink(path);
    rmdir(dir);
}

static void test_malformed_rdata_refused(void **state)
{
    (void)state;
    uint8_t out[64];
    static const uint8_t compressed_ns[] = {3, 'n', 's', '1', 0xc0, 0x0c};
    assert_true(dnssec_canon_rdata(2, compressed_ns, sizeof(compressed_ns), out) < 0);
    static const uint8_t short_mx[] = {0, 10, 4, 'm', 'a'};
    assert_true(dnssec_canon_rdata(15, short_mx, sizeof(short_mx), out) < 0);
    static const uint8_t mx[] = {0, 10, 4, 'M', 'a', 'I', 'l', 0};
    assert_int_equal(dnssec_canon_rdata(15, mx, sizeof(mx), out), sizeof(mx));
    assert_memory_equal(out, "\0\12\4mail", sizeof(mx));
    static const uint8_t txt[] = {3, 'A', 'b', 'C'}; /* no names: kept as is */
    assert_int_equal(dnssec_canon_rdata(16, txt, sizeof(txt), out), sizeof(txt));
    assert_memory_equal(out, txt, sizeof(txt));

    struct dnssec_rdata rr = {compressed_ns, sizeof(compressed_ns)};
    struct dnssec_rrset rs = {apex, 2, 1, 300, &rr, 1};
    uint8_t sig[DNSSEC_RRSIG_MAX];
    size_t siglen = 0;
    struct err e = {{0}};
    assert_true(dnssec_sign_rrset(&key, &rs, apex, 0, 1, sig, sizeof(sig), &siglen, &e) < 0);
    assert_non_null(strstr(e.msg, "malformed"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_rrset_mixed_case_unsorted_duplicate),
        cmocka_unit_test(test_single_aaaa),
        cmocka_unit_test(test_names_in_rdata_lowercased),
        cmocka_unit_test(test_wildcard_labels),
        cmocka_unit_test(test_expired_and_not_yet_valid_rejected),
        cmocka_unit_test(test_keytag_and_ds_match_ldns),
        cmocka_unit_test(test_key_file_round_trip_and_mode),
        cmocka_unit_test(test_malformed_rdata_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
