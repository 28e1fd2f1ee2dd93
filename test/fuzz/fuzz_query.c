/* fuzz_query.c: libFuzzer target that feeds arbitrary bytes to query_answer() over UDP and TCP.
 *
 * On the first call it builds a view from test/fuzz/fuzz.zone (next to this source file, or
 * $GSLBD_FUZZ_ZONE). Every input is answered as a UDP and as a TCP query into buffers of
 * exactly the documented size, so the sanitizers see any write past them, and every
 * response is checked to be a well-formed DNS message that obeys the size limits. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf.h"
#include "server/query.h"
#include "server/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ORIGIN "fuzz.example"
#define FUZZ_NSID "fuzz-nsid"

struct fuzz_state {
    struct view *view;
    uint8_t *udp_out; /* exactly QUERY_UDP_BUF bytes */
    uint8_t *tcp_out; /* exactly QUERY_TCP_BUF bytes */
    struct sockaddr_in udp_src;
    struct sockaddr_in6 tcp_src;
    struct query_stats stats;
};

static void fuzz_fail(const char *what, const uint8_t *resp, size_t len)
{
    fprintf(stderr, "fuzz_query: invalid response (%zu bytes): %s\n", len, what);
    for (size_t i = 0; i < len && i < 512; i++)
        fprintf(stderr, "%02x%s", resp[i], (i % 32 == 31) ? "\n" : " ");
    fprintf(stderr, "\n");
    abort();
}

/* The zone file: $GSLBD_FUZZ_ZONE, else fuzz.zone in the folder this file was compiled from. */
static void zone_path(char *buf, size_t cap)
{
    const char *env = getenv("GSLBD_FUZZ_ZONE");
    if (env != NULL && env[0] != '\0') {
        snprintf(buf, cap, "%s", env);
        return;
    }
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dirlen = slash != NULL ? (int)(slash - src + 1) : 0;
    snprintf(buf, cap, "%.*sfuzz.zone", dirlen, src);
}

static struct fuzz_state *fuzz_init(void)
{
    static struct fuzz_state st;
    struct conf *c = NULL;
    struct err e = {{0}};
    char path[4096];

    zone_path(path, sizeof(path));
    if (conf_new(&c) != 0 || conf_add_listen(c, "127.0.0.1:5300", &e) != 0 ||
        conf_add_zone(c, FUZZ_ORIGIN, path, &e) != 0) {
        fprintf(stderr, "fuzz_query: config: %s\n", e.msg);
        abort();
    }
    memcpy(c->nsid, FUZZ_NSID, strlen(FUZZ_NSID));
    c->nsid_len = (uint8_t)strlen(FUZZ_NSID);
    if (view_build(c, &st.view, &e) != 0) {
        fprintf(stderr, "fuzz_query: loading %s: %s\n", path, e.msg);
        abort();
    }
    st.udp_out = malloc(QUERY_UDP_BUF);
    st.tcp_out = malloc(QUERY_TCP_BUF);
    if (st.udp_out == NULL || st.tcp_out == NULL)
        abort();
    st.udp_src.sin_family = AF_INET;
    st.udp_src.sin_port = htons(40000);
    st.udp_src.sin_addr.s_addr = htonl(0xC0000201); /* 192.0.2.1 */
    st.tcp_src.sin6_family = AF_INET6;
    st.tcp_src.sin6_port = htons(40001);
    inet_pton(AF_INET6, "2001:db8::2", &st.tcp_src.sin6_addr);
    return &st;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Skip the name at *off: labels of at most 63 bytes, pointers only to earlier bytes, at
 * most 255 bytes expanded. */
static void check_name(const uint8_t *r, size_t len, size_t *off)
{
    size_t pos = *off, total = 0;
    bool jumped = false;
    for (int hops = 0;; hops++) {
        if (pos >= len || hops > 255)
            fuzz_fail("name runs past the end", r, len);
        uint8_t b = r[pos];
        if ((b & 0xC0) == 0xC0) {
            if (pos + 1 >= len)
                fuzz_fail("truncated compression pointer", r, len);
            size_t target = (size_t)(b & 0x3F) << 8 | r[pos + 1];
            if (target >= pos || target < 12)
                fuzz_fail("compression pointer not to an earlier name", r, len);
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if ((b & 0xC0) != 0)
            fuzz_fail("bad label type", r, len);
        total += (size_t)b + 1;
        if (total > 255)
            fuzz_fail("name longer than 255 bytes", r, len);
        if (b == 0) {
            if (!jumped)
                *off = pos + 1;
            return;
        }
        pos += (size_t)b + 1;
    }
}

/* Walk every section; return the number of OPT records (in additional). */
static int check_message(const uint8_t *r, size_t len, const uint8_t *q, size_t qlen)
{
    if (len < 12)
        fuzz_fail("shorter than a header", r, len);
    if (!(r[2] & 0x80))
        fuzz_fail("QR not set", r, len);
    if (qlen >= 2 && memcmp(r, q, 2) != 0)
        fuzz_fail("ID not copied", r, len);
    if (qlen >= 3 && ((r[2] >> 3) & 0x0F) != ((q[2] >> 3) & 0x0F))
        fuzz_fail("OPCODE not copied", r, len);
    unsigned qd = get16(r + 4), an = get16(r + 6), ns = get16(r + 8), ar = get16(r + 10);
    size_t off = 12;
    int opts = 0;
    for (unsigned i = 0; i < qd; i++) {
        check_name(r, len, &off);
        if (off + 4 > len)
            fuzz_fail("question runs past the end", r, len);
        off += 4;
    }
    for (unsigned i = 0; i < an + ns + ar; i++) {
        check_name(r, len, &off);
        if (off + 10 > len)
            fuzz_fail("RR header runs past the end", r, len);
        uint16_t type = get16(r + off);
        size_t rdlen = get16(r + off + 8);
        off += 10;
        if (off + rdlen > len)
            fuzz_fail("RDATA runs past the end", r, len);
        if (type == 41) {
            if (i < an + ns)
                fuzz_fail("OPT outside the additional section", r, len);
            opts++;
        }
        off += rdlen;
    }
    if (off != len)
        fuzz_fail("bytes after the last record", r, len);
    if (opts > 1)
        fuzz_fail("more than one OPT", r, len);
    return opts;
}

/* HDR-4: only messages under 12 bytes and messages with QR=1 go unanswered (our UDP
 * source port is never 0). */
static void check_dropped(const uint8_t *q, size_t qlen, const char *transport)
{
    if (qlen >= 12 && !(q[2] & 0x80)) {
        fprintf(stderr, "fuzz_query: %s query with a readable header got no response\n", transport);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_state *st;
    if (st == NULL)
        st = fuzz_init();

    struct query_req req = {
        .pkt = data,
        .len = size,
        .src = (const struct sockaddr *)&st->udp_src,
        .transport = QUERY_UDP,
    };
    size_t n = query_answer(st->view, &req, st->udp_out, QUERY_UDP_BUF, &st->stats);
    if (n > 0) {
        if (n > QUERY_UDP_BUF)
            fuzz_fail("UDP answer longer than its buffer", st->udp_out, QUERY_UDP_BUF);
        int opts = check_message(st->udp_out, n, data, size);
        if (n > st->view->conf->edns_max_udp || (opts == 0 && n > 512))
            fuzz_fail("UDP answer over the size limit", st->udp_out, n);
    } else {
        check_dropped(data, size, "UDP");
    }

    req.src = (const struct sockaddr *)&st->tcp_src;
    req.transport = QUERY_TCP;
    n = query_answer(st->view, &req, st->tcp_out, QUERY_TCP_BUF, &st->stats);
    if (n > 0) {
        if (n > QUERY_TCP_BUF)
            fuzz_fail("TCP answer longer than its buffer", st->tcp_out, QUERY_TCP_BUF);
        check_message(st->tcp_out, n, data, size);
        if (st->tcp_out[2] & 0x02)
            fuzz_fail("TC set over TCP", st->tcp_out, n);
    } else {
        check_dropped(data, size, "TCP");
    }
    return 0;
}
