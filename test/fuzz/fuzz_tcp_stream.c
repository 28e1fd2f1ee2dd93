/* fuzz_tcp_stream.c: libFuzzer target: a DNS-over-TCP byte stream, cut into segments, answered.
 *
 * The framing is tcp.c's own: server/net/tcp_frame.c (RFC 7766 as tcp.c implements it: a 2-byte
 * length, then the message; a length under 12 closes the connection (HDR-4); a partial
 * message waits for the next segment). Only the buffering around it, which tcp.c does in
 * libuv callbacks, is modelled here. Input layout:
 *
 *   byte 0      low 4 bits: number of cut points K; high 4 bits: client address kind
 *   bytes 1..4  health bits (address i of the GSLB view is down when bit i is set)
 *   byte 5      admin states of the first four clusters, 2 bits each
 *   K bytes     segment lengths minus 1 (the last segment takes the rest)
 *   the rest    the byte stream, as read from the socket
 *
 * Each complete message is copied into a buffer of exactly its size (the sanitizers see
 * any read past it) and answered by query_answer() with QUERY_TCP into a QUERY_TCP_BUF
 * buffer, from the GSLB view of fuzz_util.h, with a worker-style random state. Checks:
 * every response is a well-formed DNS message with TC clear; a message of 12 bytes or more
 * with QR clear gets one; and the whole conversation (messages seen, answers, where the
 * stream closes) is the same as when the stream arrives in one segment, so the framing
 * does not depend on where reads end and the engine keeps no state between queries. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "server/query.h"
#include "server/net/tcp_frame.h"
#include "server/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_tcp_stream"
#define HDR_BYTES 6
#define TRANSCRIPT_MAX (1u << 22) /* answers to one input; far above what 1 MiB can ask */

/* What one delivery of the stream produced: the answers, length-prefixed as on the wire,
 * then a summary. */
struct transcript {
    uint8_t *buf;
    size_t len, cap;
    unsigned messages; /* complete messages framed */
    unsigned answered;
    bool closed;     /* a length under 12 closed the connection */
    size_t consumed; /* stream bytes framed before the end or the close */
};

struct conn_model {
    uint8_t *in; /* bytes received and not yet framed */
    size_t have, cap;
    bool closed;
};

static uint8_t *resp_buf; /* QUERY_TCP_BUF bytes */

static void transcript_add(struct transcript *t, const uint8_t *p, size_t n)
{
    if (t->len + n + 2 > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        while (cap < t->len + n + 2)
            cap *= 2;
        if (cap > TRANSCRIPT_MAX)
            fuzz_fail(TAG, "transcript grew past its bound", p, n);
        uint8_t *b = realloc(t->buf, cap);
        if (b == NULL)
            abort();
        t->buf = b;
        t->cap = cap;
    }
    t->buf[t->len] = (uint8_t)(n >> 8);
    t->buf[t->len + 1] = (uint8_t)n;
    memcpy(t->buf + t->len + 2, p, n);
    t->len += n + 2;
}

/* A server cookie holds a timestamp; two deliveries may straddle a second, so only its
 * client part is compared. */
static void mask_server_cookie(uint8_t *r, const struct fuzz_resp *fr)
{
    if (fr->opts != 1)
        return;
    uint8_t *o = r + fr->opt_rdata;
    for (size_t p = 0; p + 4 <= fr->opt_rdlen;) {
        size_t len = fuzz_get16(o + p + 2);
        if (fuzz_get16(o + p) == 10 && len > 8)
            memset(o + p + 4 + 8, 0, len - 8);
        p += 4 + len;
    }
}

/* Answer one framed message as tcp.c would: a copy of exactly mlen bytes. */
static void answer_one(struct view *v, const struct sockaddr *src, uint64_t *rng,
                       const uint8_t *msg, size_t mlen, struct transcript *t)
{
    uint8_t *exact = malloc(mlen);
    if (exact == NULL)
        abort();
    memcpy(exact, msg, mlen);
    struct query_req req = {
        .pkt = exact,
        .len = mlen,
        .src = src,
        .transport = QUERY_TCP,
        .rng = rng,
        .worker = 0,
    };
    /* Zeroed first: an answer must not depend on what the buffer held (a writer that reads
     * past what it wrote, as name compression once did, then fails the same way every run). */
    memset(resp_buf, 0, QUERY_TCP_BUF);
    size_t n = query_answer(v, &req, resp_buf, QUERY_TCP_BUF, NULL);
    t->messages++;
    if (n > 0) {
        struct fuzz_resp r;
        if (n > QUERY_TCP_BUF)
            fuzz_fail(TAG, "answer longer than its buffer", resp_buf, QUERY_TCP_BUF);
        fuzz_resp_check(TAG, resp_buf, n, exact, mlen, QUERY_TCP_BUF, &r);
        if (r.flags & 0x0200)
            fuzz_fail(TAG, "TC set over TCP", resp_buf, n);
        if (r.opts == 1 && (r.rcode & 0x0F) != (resp_buf[3] & 0x0F))
            fuzz_fail(TAG, "RCODE split wrongly", resp_buf, n);
        t->answered++;
        mask_server_cookie(resp_buf, &r);
        transcript_add(t, resp_buf, n);
    } else if (!(exact[2] & 0x80)) {
        fuzz_fail(TAG, "a query with a readable header got no answer", exact, mlen);
    }
    free(exact);
}

/* Take one segment: append it, then frame and answer every complete message. */
static void conn_segment(struct conn_model *c, struct view *v, const struct sockaddr *src,
                         uint64_t *rng, const uint8_t *seg, size_t n, struct transcript *t)
{
    if (c->closed || n == 0)
        return;
    if (c->have + n > c->cap) {
        size_t cap = c->cap ? c->cap : 512;
        while (cap < c->have + n)
            cap *= 2;
        uint8_t *b = realloc(c->in, cap);
        if (b == NULL)
            abort();
        c->in = b;
        c->cap = cap;
    }
    memcpy(c->in + c->have, seg, n);
    c->have += n;
    size_t off = 0, mlen;
    for (;;) {
        size_t left = c->have - off;
        enum tcp_frame_kind k = tcp_frame_next(c->in + off, left, &mlen);
        /* what the framing says must agree with the prefix itself */
        size_t declared = left >= 2 ? (size_t)c->in[off] << 8 | c->in[off + 1] : 0;
        if (mlen != declared || (k == TCP_FRAME_BAD) != (left >= 2 && declared < TCP_FRAME_MIN) ||
            (k == TCP_FRAME_MSG) !=
                (left >= 2 && declared >= TCP_FRAME_MIN && left >= declared + 2))
            fuzz_fail(TAG, "tcp_frame_next misreads the length prefix", c->in + off, left);
        if (k == TCP_FRAME_BAD) { /* no header to answer: the stream cannot be trusted */
            c->closed = true;
            t->closed = true;
            break;
        }
        if (k == TCP_FRAME_MORE)
            break;
        answer_one(v, src, rng, c->in + off + 2, mlen, t);
        off += mlen + 2;
        t->consumed += mlen + 2;
    }
    /* tcp.c keeps the rest in a buffer of tcp_frame_need bytes: it must hold it all and, once
     * the prefix is there, the whole message it announces. */
    size_t left = c->have - off;
    size_t need = tcp_frame_need(c->in + off, left);
    if (need < left || (left >= 2 && need < 2 + ((size_t)c->in[off] << 8 | c->in[off + 1])))
        fuzz_fail(TAG, "tcp_frame_need leaves no room for the pending message", c->in + off, left);
    memmove(c->in, c->in + off, c->have - off);
    c->have -= off;
}

/* Deliver stream[0..len) in the segments given by cuts (K lengths minus one), the last
 * segment taking whatever remains. */
static void deliver(struct view *v, const struct sockaddr *src, uint64_t seed, const uint8_t *cuts,
                    size_t ncuts, const uint8_t *stream, size_t len, struct transcript *t)
{
    struct conn_model c = {0};
    uint64_t rng = seed;
    size_t at = 0;
    for (size_t i = 0; i < ncuts && at < len && !c.closed; i++) {
        size_t seg = (size_t)cuts[i] + 1;
        if (seg > len - at)
            seg = len - at;
        conn_segment(&c, v, src, &rng, stream + at, seg, t);
        at += seg;
    }
    if (at < len)
        conn_segment(&c, v, src, &rng, stream + at, len - at, t);
    free(c.in);
}

static const struct sockaddr *client(unsigned kind)
{
    static struct sockaddr_in v4[2];
    static struct sockaddr_in6 v6[2];
    static bool init;
    if (!init) {
        v4[0].sin_family = v4[1].sin_family = AF_INET;
        v4[0].sin_port = v4[1].sin_port = htons(40000);
        inet_pton(AF_INET, "10.1.42.7", &v4[0].sin_addr); /* a nets entry (ie) */
        inet_pton(AF_INET, "192.0.2.1", &v4[1].sin_addr); /* no entry: default order */
        v6[0].sin6_family = v6[1].sin6_family = AF_INET6;
        v6[0].sin6_port = v6[1].sin6_port = htons(40001);
        inet_pton(AF_INET6, "2001:db8:aa:80::1", &v6[0].sin6_addr);
        inet_pton(AF_INET6, "::ffff:198.51.100.9", &v6[1].sin6_addr); /* IPv4-mapped */
        init = true;
    }
    switch (kind & 3) {
    case 0:
        return (const struct sockaddr *)&v4[0];
    case 1:
        return (const struct sockaddr *)&v4[1];
    case 2:
        return (const struct sockaddr *)&v6[0];
    default:
        return (const struct sockaddr *)&v6[1];
    }
}

static void transcripts_compare(const struct transcript *a, const struct transcript *b,
                                const uint8_t *stream, size_t len)
{
    if (a->messages != b->messages || a->answered != b->answered || a->closed != b->closed ||
        a->consumed != b->consumed) {
        fprintf(stderr,
                TAG ": segmented: %u messages, %u answers, closed %d, %zu bytes; "
                    "whole: %u, %u, %d, %zu\n",
                a->messages, a->answered, a->closed, a->consumed, b->messages, b->answered,
                b->closed, b->consumed);
        fuzz_fail(TAG, "framing depends on where the segments end", stream, len);
    }
    if (a->len != b->len || (a->len > 0 && memcmp(a->buf, b->buf, a->len) != 0))
        fuzz_fail(TAG, "answers depend on where the segments end", stream, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct view *v = fuzz_gslb_view(TAG);
    if (resp_buf == NULL && (resp_buf = malloc(QUERY_TCP_BUF)) == NULL)
        abort();
    if (size < HDR_BYTES)
        return 0;
    size_t ncuts = data[0] & 0x0F;
    const struct sockaddr *src = client(data[0] >> 4);
    uint32_t health =
        (uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 | (uint32_t)data[3] << 8 | data[4];
    fuzz_gslb_health(v, health, data[5]);
    if (size - HDR_BYTES < ncuts)
        ncuts = size - HDR_BYTES;
    const uint8_t *cuts = data + HDR_BYTES;
    const uint8_t *stream = cuts + ncuts;
    size_t len = size - HDR_BYTES - ncuts;
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ health; /* never 0: xorshift would stick */
    if (seed == 0)
        seed = 1;

    struct transcript seg = {0}, whole = {0};
    deliver(v, src, seed, cuts, ncuts, stream, len, &seg);
    deliver(v, src, seed, NULL, 0, stream, len, &whole);
    transcripts_compare(&seg, &whole, stream, len);
    free(seg.buf);
    free(whole.buf);
    fuzz_gslb_health(v, 0, 0);
    return 0;
}
