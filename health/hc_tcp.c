/* hc_tcp.c: TCP connect probes on libuv: success is a completed handshake. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "health/hc_int.h"

static void on_tcp_closed(uv_handle_t *handle)
{
    struct hc_tgt *t = handle->data;
    t->tcp_phase = HC_TCP_NONE;
    t->busy = false; /* the next probe may reuse the handle now */
    hc_handle_closed(t->h);
}

static void close_tcp(struct hc_tgt *t)
{
    if (t->tcp_phase != HC_TCP_OPEN)
        return;
    t->tcp_phase = HC_TCP_CLOSING;
    t->h->nclosing++;
    uv_close((uv_handle_t *)&t->tcp, on_tcp_closed);
}

static void fail_reason(int status, char *buf, size_t len)
{
    if (status == UV_ECONNREFUSED)
        snprintf(buf, len, "connection refused");
    else if (status == UV_ETIMEDOUT)
        snprintf(buf, len, "timeout");
    else
        snprintf(buf, len, "connect: %s", uv_strerror(status));
}

static void on_connect(uv_connect_t *req, int status)
{
    struct hc_tgt *t = req->data;
    if (t->finished || t->h->stopping)
        return; /* aborted: the deadline or hc_stop closed the handle */
    char reason[HC_REASON_MAX];
    if (status < 0)
        fail_reason(status, reason, sizeof(reason));
    close_tcp(t);
    hc_probe_finish(t, status == 0, status == UV_ETIMEDOUT, status == 0 ? NULL : reason);
}

void hc_tcp_probe(struct hc_tgt *t)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (t->addr.family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(t->check.port);
        memcpy(&sin->sin_addr, t->addr.bytes, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(t->check.port);
        memcpy(&sin6->sin6_addr, t->addr.bytes, 16);
    }
    char reason[HC_REASON_MAX];
    int rc = uv_tcp_init(t->h->loop, &t->tcp);
    if (rc < 0) {
        snprintf(reason, sizeof(reason), "connect: %s", uv_strerror(rc));
        t->busy = false;
        hc_probe_finish(t, false, false, reason);
        return;
    }
    t->tcp.data = t;
    t->tcp_phase = HC_TCP_OPEN;
    if (t->check.source != NULL) {
        struct sockaddr_storage src;
        memset(&src, 0, sizeof(src));
        rc = t->addr.family == AF_INET
                 ? uv_ip4_addr(t->check.source, 0, (struct sockaddr_in *)&src)
                 : uv_ip6_addr(t->check.source, 0, (struct sockaddr_in6 *)&src);
        if (rc == 0)
            rc = uv_tcp_bind(&t->tcp, (const struct sockaddr *)&src, 0);
        if (rc < 0) {
            snprintf(reason, sizeof(reason), "bind to source %s: %s", t->check.source,
                     uv_strerror(rc));
            close_tcp(t);
            hc_probe_finish(t, false, false, reason);
            return;
        }
    }
    t->conn.data = t;
    rc = uv_tcp_connect(&t->conn, &t->tcp, (const struct sockaddr *)&ss, on_connect);
    if (rc < 0) {
        fail_reason(rc, reason, sizeof(reason));
        close_tcp(t);
        hc_probe_finish(t, false, false, reason);
    }
}

void hc_tcp_abort(struct hc_tgt *t)
{
    if (t->tcp_phase != HC_TCP_OPEN)
        return;
    close_tcp(t); /* on_connect runs with UV_ECANCELED and sees finished */
    hc_probe_finish(t, false, true, "timeout");
}
