/* tcp_frame.h: DNS-over-TCP framing (RFC 7766) as pure functions over the bytes received.
 * tcp.c frames its connections with them and fuzz_tcp_stream.c fuzzes the same code; no
 * state, no allocation: callers own the buffers and pass what they hold. */
#ifndef GSLBD_TCP_FRAME_H
#define GSLBD_TCP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define TCP_FRAME_MIN 12 /* a length under a DNS header stops reading (HDR-4) */

enum tcp_frame_kind {
    TCP_FRAME_MSG,  /* a whole message: p[2 .. 2 + *mlen) */
    TCP_FRAME_MORE, /* its length prefix or part of it has not arrived yet */
    TCP_FRAME_BAD,  /* a length under TCP_FRAME_MIN: the stream cannot be trusted */
};

/* What p[0..n), the unconsumed input, starts with. *mlen gets the declared length when
 * the prefix is there (for TCP_FRAME_MORE, 0 if it is not). */
enum tcp_frame_kind tcp_frame_next(const uint8_t *p, size_t n, size_t *mlen);

/* Bytes a buffer needs to keep p[0..n) and receive the rest of the message it starts:
 * at least n, and the whole prefixed message once the prefix is there. */
size_t tcp_frame_need(const uint8_t *p, size_t n);

#endif
