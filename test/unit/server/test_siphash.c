/* test_siphash.c: SipHash-2-4 (server/siphash.c) against the paper's test vector, and the
 * properties the cookie and RRL code rely on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/siphash.h"

static void key_0_15(uint8_t k[SIPHASH_KEY_LEN])
{
    for (int i = 0; i < SIPHASH_KEY_LEN; i++)
        k[i] = (uint8_t)i;
}

/* The paper's appendix A: key 00 01 .. 0f, message 00 01 .. 0e (15 bytes). */
static void test_paper_vector(void **state)
{
    (void)state;
    uint8_t k[SIPHASH_KEY_LEN], m[15];
    key_0_15(k);
    for (int i = 0; i < 15; i++)
        m[i] = (uint8_t)i;
    assert_true(siphash24(k, m, sizeof(m)) == 0xa129ca6149be45e5ull);
}

/* The value goes on the wire little-endian: e5 45 be 49 61 ca 29 a1. */
static void test_byte_order(void **state)
{
    (void)state;
    uint8_t out[8];
    siphash_put64le(out, 0xa129ca6149be45e5ull);
    static const uint8_t want[8] = {0xe5, 0x45, 0xbe, 0x49, 0x61, 0xca, 0x29, 0xa1};
    assert_memory_equal(out, want, 8);
}

/* The length is part of the last word: messages that differ only by trailing zero bytes,
 * on either side of a block boundary, hash differently. */
static void test_length_counts(void **state)
{
    (void)state;
    uint8_t k[SIPHASH_KEY_LEN], m[40];
    key_0_15(k);
    memset(m, 0, sizeof(m));
    uint64_t seen[sizeof(m) + 1];
    for (size_t len = 0; len <= sizeof(m); len++) {
        seen[len] = siphash24(k, m, len);
        for (size_t j = 0; j < len; j++)
            assert_true(seen[j] != seen[len]);
    }
}

/* Every input bit and every key bit matters; the message need not be aligned. */
static void test_sensitivity(void **state)
{
    (void)state;
    uint8_t k[SIPHASH_KEY_LEN], buf[33], *m = buf + 1;
    key_0_15(k);
    for (int i = 0; i < 32; i++)
        m[i] = (uint8_t)(i * 7);
    uint64_t base = siphash24(k, m, 32);
    for (int bit = 0; bit < 32 * 8; bit++) {
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(siphash24(k, m, 32) != base);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    for (int bit = 0; bit < SIPHASH_KEY_LEN * 8; bit++) {
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(siphash24(k, m, 32) != base);
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_true(siphash24(k, m, 32) == base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_vector),
        cmocka_unit_test(test_byte_order),
        cmocka_unit_test(test_length_counts),
        cmocka_unit_test(test_sensitivity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
