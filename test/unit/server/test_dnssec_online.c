/* test_dnssec_online.c: signatures made while answering (server/dnssec_online.c). A cached
 * signature is the one made for the same bytes and key, and OpenSSL verifies it; another
 * key never hits; hundreds are kept at once; over the per-second budget a miss is refused
 * while hits still come; the totals count every thread, ended ones included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "server/dnssec_online.h"
#include "server/err.h"

static struct dnssec_key k1, k2;

static int setup(void **state)
{
    (void)state;
    struct err e = {{0}};
    return dnssec_key_generate(&k1, &e) < 0 || dnssec_key_generate(&k2, &e) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    dnssec_key_free(&k1);
    dnssec_key_free(&k2);
    return 0;
}

/* OpenSSL's own verification of a raw r || s P-256 signature over data. */
static bool verifies(const struct dnssec_key *k, const uint8_t *data, size_t len,
                     const uint8_t sig[DNSSEC_P256_SIG_LEN])
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    assert_true(s != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(s, r, ss) == 1);
    unsigned char *der = NULL;
    int dlen = i2d_ECDSA_SIG(s, &der);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = dlen > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) == 1 &&
              EVP_DigestVerify(md, der, (size_t)dlen, data, len) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    ECDSA_SIG_free(s);
    return ok;
}

static void fill(uint8_t *d, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)(seed * 31u + i * 7u);
}

static void test_cached_signature_is_the_one_made(void **state)
{
    (void)state;
    uint8_t data[200], sig1[DNSSEC_P256_SIG_LEN], sig2[DNSSEC_P256_SIG_LEN];
    fill(data, sizeof(data), 1);
    assert_int_equal(dnssec_online_sign(&k1, data, sizeof(data), 0, sig1), 1);
    assert_true(verifies(&k1, data, sizeof(data), sig1));
    assert_int_equal(dnssec_online_sign(&k1, data, sizeof(data), 0, sig2), 0);
    assert_memory_equal(sig1, sig2, sizeof(sig1));
    /* one byte more or less is other data */
    assert_int_equal(dnssec_online_sign(&k1, data, sizeof(data) - 1, 0, sig2), 1);
    assert_true(verifies(&k1, data, sizeof(data) - 1, sig2));
    assert_false(verifies(&k1, data, sizeof(data), sig2));
    /* the same bytes with another key: signed again, by that key */
    assert_int_equal(dnssec_online_sign(&k2, data, sizeof(data), 0, sig2), 1);
    assert_true(verifies(&k2, data, sizeof(data), sig2));
    assert_false(verifies(&k1, data, sizeof(data), sig2));
}

static void test_data_too_long_to_cache_is_signed_each_time(void **state)
{
    (void)state;
    uint8_t data[900], sig[DNSSEC_P256_SIG_LEN];
    fill(data, sizeof(data), 2);
    assert_int_equal(dnssec_online_sign(&k1, data, sizeof(data), 0, sig), 1);
    assert_int_equal(dnssec_online_sign(&k1, data, sizeof(data), 0, sig), 1);
    assert_true(verifies(&k1, data, sizeof(data), sig));
}

/* 400 denials kept at once (a zone's worth of names asked that do not exist): after one
 * round of signing, a second round is all hits. A direct-mapped cache of the same size
 * loses about twenty of them to collisions and re-signs them on every pass. */
static void test_many_kept_at_once(void **state)
{
    (void)state;
    uint8_t data[120], sig[DNSSEC_P256_SIG_LEN];
    for (int pass = 0; pass < 2; pass++) {
        int hits = 0;
        for (unsigned i = 0; i < 400; i++) {
            fill(data, sizeof(data), 7);
            memcpy(data, &i, sizeof(i)); /* 400 different data */
            int rc = dnssec_online_sign(&k1, data, sizeof(data), 0, sig);
            assert_true(rc == 0 || rc == 1);
            hits += rc == 0;
        }
        assert_int_equal(hits, pass == 0 ? 0 : 400);
    }
}

struct budget_run {
    int refused_at; /* the attempt refused first, -1: none */
    int hit_after;  /* what a cached signature gave once over budget */
};

/* In a thread of its own: a fresh cache and budget. A second boundary may reset the count
 * once during the run, so a refusal must come within two budgets. */
static void *budget_thread(void *arg)
{
    struct budget_run *r = arg;
    uint8_t first[64], data[64], sig[DNSSEC_P256_SIG_LEN];
    fill(first, sizeof(first), 100);
    r->refused_at = -1;
    if (dnssec_online_sign(&k1, first, sizeof(first), 5, sig) != 1)
        return NULL;
    for (int i = 1; i <= 11; i++) {
        fill(data, sizeof(data), 200u + (unsigned)i);
        if (dnssec_online_sign(&k1, data, sizeof(data), 5, sig) == GSLBD_ELIMIT) {
            r->refused_at = i;
            break;
        }
    }
    r->hit_after = dnssec_online_sign(&k1, first, sizeof(first), 5, sig);
    return NULL;
}

static void test_budget_refuses_misses_not_hits(void **state)
{
    (void)state;
    struct dnssec_online_stats before, after;
    dnssec_online_totals(&before);
    struct budget_run r = {0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, budget_thread, &r), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(r.refused_at >= 5 && r.refused_at <= 11);
    assert_int_equal(r.hit_after, 0);
    /* the ended thread's counts stay in the totals */
    dnssec_online_totals(&after);
    assert_true(after.refused == before.refused + 1);
    assert_true(after.hits == before.hits + 1);
    assert_true(after.misses == before.misses + (uint64_t)r.refused_at);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cached_signature_is_the_one_made),
        cmocka_unit_test(test_data_too_long_to_cache_is_signed_each_time),
        cmocka_unit_test(test_many_kept_at_once),
        cmocka_unit_test(test_budget_refuses_misses_not_hits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
