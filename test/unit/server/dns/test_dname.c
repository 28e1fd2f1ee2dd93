/* test_dname.c: the wire-name helpers (server/dns/dname.c) checked against ldns as the oracle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "server/dns/dname.h"

/* Presentation text to wire form through ldns; returns the length. */
static size_t wire(const char *text, uint8_t out[DNAME_MAX])
{
    ldns_rdf *d = NULL;
    assert_int_equal(ldns_str2rdf_dname(&d, text), LDNS_STATUS_OK);
    size_t n = ldns_rdf_size(d);
    assert_true(n <= DNAME_MAX);
    memcpy(out, ldns_rdf_data(d), n);
    ldns_rdf_deep_free(d);
    return n;
}

static const char *const names[] = {
    ".",
    "a.",
    "www.example.",
    "WwW.ExAmPlE.CoM.",
    "x.y.z.w.v.u.t.s.r.q.p.",
    "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0.b.",
    "a\\.b.c.",
    "sp\\032ace.tab\\009.",
    "back\\\\slash.",
    "\\200\\255high.bytes.",
};
#define NNAMES (sizeof(names) / sizeof(names[0]))

static void test_split_and_len_match_ldns(void **state)
{
    (void)state;
    for (size_t i = 0; i < NNAMES; i++) {
        uint8_t w[DNAME_MAX];
        size_t n = wire(names[i], w);
        struct dname_labels l;
        assert_int_equal(dname_split(w, n, &l), (int)n);
        assert_int_equal(dname_len(w), n);
        ldns_rdf *d = ldns_dname_new_frm_data((uint16_t)n, w);
        assert_int_equal(l.count, ldns_dname_label_count(d));
        for (uint8_t k = 0; k < l.count; k++) {
            ldns_rdf *lab = ldns_dname_label(d, k);
            /* ldns returns the label as a one-label name: length byte, bytes, root */
            assert_int_equal(w[l.off[k]], ldns_rdf_data(lab)[0]);
            assert_memory_equal(w + l.off[k], ldns_rdf_data(lab), ldns_rdf_size(lab) - 1);
            ldns_rdf_deep_free(lab);
        }
        ldns_rdf_deep_free(d);
    }
}

static void test_split_rejects_bad_names(void **state)
{
    (void)state;
    struct dname_labels l;
    static const uint8_t truncated[] = {3, 'w', 'w', 'w', 7, 'e', 'x'};
    assert_int_equal(dname_split(truncated, sizeof(truncated), &l), -1);
    static const uint8_t no_root[] = {1, 'a'};
    assert_int_equal(dname_split(no_root, sizeof(no_root), &l), -1);
    static const uint8_t label64[66] = {64}; /* 64 is a compression-pointer bit pattern */
    assert_int_equal(dname_split(label64, sizeof(label64), &l), -1);
    static const uint8_t pointer[] = {0xc0, 12};
    assert_int_equal(dname_split(pointer, sizeof(pointer), &l), -1);
    assert_int_equal(dname_split(pointer, 0, &l), -1);

    /* 255 octets is the limit: four 63-octet labels make 4 * 64 + 1 = 257 */
    uint8_t big[300];
    memset(big, 'a', sizeof(big));
    size_t p = 0;
    for (int i = 0; i < 4; i++) {
        big[p] = 63;
        p += 64;
    }
    big[p] = 0;
    assert_int_equal(dname_split(big, sizeof(big), &l), -1);
    /* three of 63 and one of 61: 3 * 64 + 62 + 1 = 255, the longest valid name */
    big[3 * 64] = 61;
    big[3 * 64 + 62] = 0;
    assert_int_equal(dname_split(big, sizeof(big), &l), 255);
    assert_int_equal(l.count, 4);
    /* 127 one-octet labels: 127 * 2 + 1 = 255 octets, the most labels a name can have */
    for (int i = 0; i < 127; i++) {
        big[2 * i] = 1;
        big[2 * i + 1] = 'x';
    }
    big[254] = 0;
    assert_int_equal(dname_split(big, sizeof(big), &l), 255);
    assert_int_equal(l.count, 127);
}

static void test_lower_matches_tolower(void **state)
{
    (void)state;
    /* every byte value at every position of an eight-byte word, and the scalar tail */
    for (size_t n = 1; n <= 20; n++) {
        for (int c = 0; c < 256; c++) {
            uint8_t src[20], dst[20];
            for (size_t i = 0; i < n; i++)
                src[i] = (uint8_t)(c + (int)i * 37);
            dname_lower_bytes(dst, src, n);
            for (size_t i = 0; i < n; i++) {
                uint8_t want = (src[i] >= 'A' && src[i] <= 'Z') ? (uint8_t)(src[i] + 32) : src[i];
                assert_int_equal(dst[i], want);
                assert_int_equal(dname_lower(src[i]), want);
            }
            dname_lower_bytes(src, src, n); /* in place gives the same bytes */
            assert_memory_equal(src, dst, n);
        }
    }
}

static void test_copy_lower_and_equal(void **state)
{
    (void)state;
    for (size_t i = 0; i < NNAMES; i++) {
        uint8_t w[DNAME_MAX], low[DNAME_MAX];
        size_t n = wire(names[i], w);
        assert_int_equal(dname_copy_lower(low, w), n);
        ldns_rdf *d = ldns_dname_new_frm_data((uint16_t)n, w);
        ldns_dname2canonical(d);
        assert_memory_equal(low, ldns_rdf_data(d), n);
        ldns_rdf_deep_free(d);
        assert_true(dname_equal(low, low));
        if (memcmp(low, w, n) != 0)
            assert_false(dname_equal(low, w)); /* byte equality: case matters */
    }
    uint8_t a[DNAME_MAX], b[DNAME_MAX];
    wire("ab.c.", a);
    wire("a.bc.", b); /* same text length, different label boundaries */
    assert_false(dname_equal(a, b));
    wire("ab.c.d.", b);
    assert_false(dname_equal(a, b));
}

static void test_is_subdomain_matches_ldns(void **state)
{
    (void)state;
    static const char *const set[] = {".",
                                      "com.",
                                      "example.com.",
                                      "www.example.com.",
                                      "ample.com.",
                                      "xexample.com.",
                                      "a.b.example.com.",
                                      "example.org.",
                                      "com.example.com."};
    size_t n = sizeof(set) / sizeof(set[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            uint8_t a[DNAME_MAX], b[DNAME_MAX];
            size_t la = wire(set[i], a), lb = wire(set[j], b);
            ldns_rdf *ra = ldns_dname_new_frm_data((uint16_t)la, a);
            ldns_rdf *rb = ldns_dname_new_frm_data((uint16_t)lb, b);
            /* ldns: strictly below; dname.c: below or equal */
            bool want = ldns_dname_is_subdomain(ra, rb) || ldns_dname_compare(ra, rb) == 0;
            if (dname_is_subdomain(a, b) != want)
                fail_msg("%s under %s: want %d", set[i], set[j], want);
            ldns_rdf_deep_free(ra);
            ldns_rdf_deep_free(rb);
        }
}

static void test_suffix_hashes(void **state)
{
    (void)state;
    uint8_t w[DNAME_MAX];
    size_t n = wire("a.www.example.com.", w);
    struct dname_labels l;
    assert_int_equal(dname_split(w, n, &l), (int)n);
    uint32_t h[DNAME_MAX_LABELS + 1];
    dname_suffix_hashes(w, &l, h);
    /* h[i] is the hash of the suffix at label i, whatever precedes it */
    for (uint8_t i = 0; i < l.count; i++)
        assert_int_equal(h[i], dname_hash(w + l.off[i]));
    uint8_t root = 0;
    assert_int_equal(h[l.count], dname_hash(&root));
    uint8_t other[DNAME_MAX];
    size_t m = wire("zz.www.example.com.", other);
    struct dname_labels lo;
    assert_int_equal(dname_split(other, m, &lo), (int)m);
    uint32_t ho[DNAME_MAX_LABELS + 1];
    dname_suffix_hashes(other, &lo, ho);
    for (uint8_t i = 1; i <= l.count; i++)
        assert_int_equal(h[i], ho[i]);
    assert_int_not_equal(h[0], ho[0]);
    /* an invalid name hashes to 0 rather than reading past its end */
    static const uint8_t bad[] = {64, 0};
    assert_int_equal(dname_hash(bad), 0);
}

/* Names that differ in one byte, or only in where the labels split, hash differently
 * (not a guarantee of the hash, but a collision among these would make lookups slow). */
static void test_hash_spreads(void **state)
{
    (void)state;
    enum { N = 2000 };
    uint32_t *seen = calloc(N, sizeof(*seen));
    assert_non_null(seen);
    for (int i = 0; i < N; i++) {
        char text[64];
        snprintf(text, sizeof(text), "h%d.example.", i);
        uint8_t w[DNAME_MAX];
        wire(text, w);
        seen[i] = dname_hash(w);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(seen[j], seen[i]);
    }
    free(seen);
    uint8_t a[DNAME_MAX], b[DNAME_MAX];
    wire("ab.c.", a);
    wire("a.bc.", b);
    assert_int_not_equal(dname_hash(a), dname_hash(b));
}

static void test_to_text_matches_ldns(void **state)
{
    (void)state;
    for (size_t i = 0; i < NNAMES; i++) {
        uint8_t w[DNAME_MAX];
        size_t n = wire(names[i], w);
        char buf[4 * DNAME_MAX + 2];
        dname_to_text(w, buf, sizeof(buf));
        ldns_rdf *d = ldns_dname_new_frm_data((uint16_t)n, w);
        char *want = ldns_rdf2str(d);
        assert_string_equal(buf, want);
        free(want);
        ldns_rdf_deep_free(d);
    }
    /* a short buffer: truncated, always terminated, never overrun */
    uint8_t w[DNAME_MAX];
    wire("www.example.com.", w);
    char small[16];
    memset(small, 'Z', sizeof(small));
    dname_to_text(w, small, 8);
    assert_true(strlen(small) < 8);
    assert_int_equal(strncmp(small, "www.example.com.", strlen(small)), 0);
    assert_int_equal(small[8], 'Z');
}

/* dname_from_text against ldns's parser (lowercased): every name of the table in
 * presentation form, names with escapes, and the refusals. */
static void test_from_text_matches_ldns(void **state)
{
    (void)state;
    const char *texts[] = {".",
                           "a.",
                           "WWW.Example.COM.",
                           "www.example.com",
                           "a\\.b.example.",
                           "\\065\\066c.example.",
                           "x\\ y.z.",
                           "\\000.z."};
    for (size_t i = 0; i < NNAMES + sizeof(texts) / sizeof(texts[0]); i++) {
        char buf[4 * DNAME_MAX + 2];
        const char *t = texts[i < NNAMES ? 0 : i - NNAMES];
        if (i < NNAMES) {
            uint8_t w[DNAME_MAX];
            wire(names[i], w);
            t = dname_to_text(w, buf, sizeof(buf));
        }
        uint8_t got[DNAME_MAX];
        bool absolute = false;
        assert_null(dname_from_text(t, got, &absolute));
        ldns_rdf *d = NULL;
        assert_int_equal(ldns_str2rdf_dname(&d, t), LDNS_STATUS_OK);
        ldns_dname2canonical(d);
        assert_int_equal(dname_len(got), ldns_rdf_size(d));
        assert_memory_equal(got, ldns_rdf_data(d), ldns_rdf_size(d));
        assert_int_equal(absolute,
                         t[strlen(t) - 1] == '.' && (strlen(t) < 2 || t[strlen(t) - 2] != '\\'));
        ldns_rdf_deep_free(d);
    }
    uint8_t w[DNAME_MAX];
    bool absolute;
    assert_non_null(dname_from_text("a..b.", w, &absolute));
    assert_non_null(dname_from_text("a\\256.", w, &absolute));
    assert_non_null(dname_from_text("a\\", w, &absolute));
    char big[300];
    memset(big, 'a', 64);
    strcpy(big + 64, ".x.");
    assert_non_null(dname_from_text(big, w, &absolute));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_and_len_match_ldns),
        cmocka_unit_test(test_split_rejects_bad_names),
        cmocka_unit_test(test_lower_matches_tolower),
        cmocka_unit_test(test_copy_lower_and_equal),
        cmocka_unit_test(test_is_subdomain_matches_ldns),
        cmocka_unit_test(test_suffix_hashes),
        cmocka_unit_test(test_hash_spreads),
        cmocka_unit_test(test_to_text_matches_ldns),
        cmocka_unit_test(test_from_text_matches_ldns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
