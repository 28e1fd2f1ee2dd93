/* fuzz_query.c: libFuzzer target that feeds arbitrary bytes to query_answer() over UDP and TCP.
 *
 * On the first call it builds a view from test/fuzz/fuzz.zone (next to this source file, or
 * $GSLBD_FUZZ_ZONE). Every input is answered as a UDP and as a TCP query into buffers of
 * exactly the documented size, so the sanitizers see any write past them, and every
 * response must pass the validator (test/util/resp_check.c) within its size limit: over
 * UDP 512 bytes unless the QUERY carries an OPT (UDP-1), whatever the response holds. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf.h"
#include "server/query.h"
#include "fuzz_util.h"
#include "server/view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_query"

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
        fprintf(stderr, TAG ": config: %s\n", e.msg);
        abort();
    }
    memcpy(c->nsid, FUZZ_NSID, strlen(FUZZ_NSID));
    c->nsid_len = (uint8_t)strlen(FUZZ_NSID);
    if (view_build(c, &st.view, &e) != 0) {
        fprintf(stderr, TAG ": loading %s: %s\n", path, e.msg);
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
    /* Zeroed first: an answer must not depend on what the buffer held (a writer that reads
     * past what it wrote, as name compression once did, then fails the same way every run). */
    memset(st->udp_out, 0, QUERY_UDP_BUF);
    size_t n = query_answer(st->view, &req, st->udp_out, QUERY_UDP_BUF, &st->stats);
    struct fuzz_resp fr;
    if (n > 0) {
        if (n > QUERY_UDP_BUF)
            fuzz_fail(TAG, "UDP answer longer than its buffer", st->udp_out, QUERY_UDP_BUF);
        /* UDP-1: the limit comes from the query's OPT, never from the response's. */
        size_t limit = resp_udp_limit(data, size, st->view->conf->edns_max_udp);
        fuzz_resp_check(TAG, st->udp_out, n, data, size, limit, &fr);
    } else {
        check_dropped(data, size, "UDP");
    }

    req.src = (const struct sockaddr *)&st->tcp_src;
    req.transport = QUERY_TCP;
    memset(st->tcp_out, 0, QUERY_TCP_BUF);
    n = query_answer(st->view, &req, st->tcp_out, QUERY_TCP_BUF, &st->stats);
    if (n > 0) {
        if (n > QUERY_TCP_BUF)
            fuzz_fail(TAG, "TCP answer longer than its buffer", st->tcp_out, QUERY_TCP_BUF);
        fuzz_resp_check(TAG, st->tcp_out, n, data, size, QUERY_TCP_BUF, &fr);
        if (fr.flags & 0x0200)
            fuzz_fail(TAG, "TC set over TCP", st->tcp_out, n);
    } else {
        check_dropped(data, size, "TCP");
    }
    return 0;
}
