/* test_tcp_frame.c: DNS-over-TCP framing: whole messages, partial ones and lengths under a header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/net/tcp_frame.h"

static void test_prefix_incomplete(void **state)
{
    (void)state;
    const uint8_t p[] = {0x00, 0x0c};
    size_t mlen = 99;
    assert_int_equal(tcp_frame_next(p, 0, &mlen), TCP_FRAME_MORE);
    assert_int_equal(mlen, 0);
    assert_int_equal(tcp_frame_next(p, 1, &mlen), TCP_FRAME_MORE);
    assert_int_equal(mlen, 0);
    assert_int_equal(tcp_frame_need(p, 1), 1);
    /* the prefix alone: 12 more bytes to come, room for all 14 */
    assert_int_equal(tcp_frame_next(p, 2, &mlen), TCP_FRAME_MORE);
    assert_int_equal(mlen, 12);
    assert_int_equal(tcp_frame_need(p, 2), 14);
}

static void test_whole_and_pipelined(void **state)
{
    (void)state;
    uint8_t p[2 + 12 + 2 + 300];
    memset(p, 0, sizeof(p));
    p[1] = 12;
    p[14] = 300 >> 8;
    p[15] = 300 & 0xFF;
    size_t mlen;
    assert_int_equal(tcp_frame_next(p, sizeof(p), &mlen), TCP_FRAME_MSG);
    assert_int_equal(mlen, 12);
    assert_int_equal(tcp_frame_next(p, 14, &mlen), TCP_FRAME_MSG); /* exactly one */
    assert_int_equal(tcp_frame_next(p, 13, &mlen), TCP_FRAME_MORE);
    assert_int_equal(tcp_frame_next(p + 14, sizeof(p) - 14, &mlen), TCP_FRAME_MSG);
    assert_int_equal(mlen, 300);
    assert_int_equal(tcp_frame_next(p + 14, sizeof(p) - 15, &mlen), TCP_FRAME_MORE);
    assert_int_equal(tcp_frame_need(p + 14, 10), 302);
    /* more bytes than the message: need never drops below what is held */
    assert_int_equal(tcp_frame_need(p, sizeof(p)), sizeof(p));
}

/* HDR-4: a length under 12 cannot hold a header; 0 and 11 are bad, 12 and 65535 are not. */
static void test_short_lengths(void **state)
{
    (void)state;
    size_t mlen;
    for (unsigned len = 0; len < 12; len++) {
        const uint8_t p[2] = {0, (uint8_t)len};
        assert_int_equal(tcp_frame_next(p, 2, &mlen), TCP_FRAME_BAD);
        assert_int_equal(mlen, len);
    }
    const uint8_t big[2] = {0xFF, 0xFF};
    assert_int_equal(tcp_frame_next(big, 2, &mlen), TCP_FRAME_MORE);
    assert_int_equal(mlen, 65535);
    assert_int_equal(tcp_frame_need(big, 2), 65537);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_incomplete),
        cmocka_unit_test(test_whole_and_pipelined),
        cmocka_unit_test(test_short_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
