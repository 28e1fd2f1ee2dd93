/* tcp_frame.c: DNS-over-TCP framing: the length prefix and the rule for lengths under a header. */
#include "server/net/tcp_frame.h"

static size_t prefix(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

enum tcp_frame_kind tcp_frame_next(const uint8_t *p, size_t n, size_t *mlen)
{
    *mlen = 0;
    if (n < 2)
        return TCP_FRAME_MORE;
    *mlen = prefix(p);
    if (*mlen < TCP_FRAME_MIN)
        return TCP_FRAME_BAD;
    return n - 2 < *mlen ? TCP_FRAME_MORE : TCP_FRAME_MSG;
}

size_t tcp_frame_need(const uint8_t *p, size_t n)
{
    if (n < 2)
        return n;
    size_t m = prefix(p) + 2;
    return m > n ? m : n;
}
