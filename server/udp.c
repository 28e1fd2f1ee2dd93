/* udp.c: a worker's UDP sockets, answered in recvmmsg/sendmmsg batches from a uv_poll. */
#include "worker_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "rrl.h"

static int set_int(int fd, int level, int name, int val)
{
    return setsockopt(fd, level, name, &val, sizeof(val)) == 0 ? 0 : -errno;
}

/* Root may exceed net.core.{r,w}mem_max with the FORCE variants; others get what the
 * sysctl allows. A smaller buffer is not fatal, only logged. */
static void set_buf(int fd, int force_name, int name, uint32_t size, const char *what,
                    const char *text)
{
    if (size == 0)
        return;
    int val = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;
    if (set_int(fd, SOL_SOCKET, force_name, val) == 0)
        return;
    int r = set_int(fd, SOL_SOCKET, name, val);
    if (r < 0)
        log_warn("listen %s: setsockopt %s %d: %s", text, what, val, strerror(-r));
}

int udp_socket_open(const struct conf_listen *l, const struct conf *c, int *fd, struct err *e)
{
    int fam = l->addr.ss_family;
    int s = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return err_set(e, -errno, NULL, 0, 0, "listen %s: udp socket: %s", l->text,
                       strerror(errno));

    int r;
    const char *opt = "SO_REUSEPORT";
    if ((r = set_int(s, SOL_SOCKET, SO_REUSEPORT, 1)) < 0)
        goto fail;
    if (fam == AF_INET6) {
        opt = "IPV6_V6ONLY";
        if ((r = set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 1)) < 0)
            goto fail;
        /* UDP-2: never fragment; an answer is sized by the engine, not by path MTU. */
        opt = "IPV6_MTU_DISCOVER";
        if ((r = set_int(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_OMIT)) < 0)
            goto fail;
        opt = "IPV6_DONTFRAG";
        if ((r = set_int(s, IPPROTO_IPV6, IPV6_DONTFRAG, 1)) < 0)
            goto fail;
    } else {
        opt = "IP_MTU_DISCOVER";
        if ((r = set_int(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT)) < 0)
            goto fail;
    }
    set_buf(s, SO_RCVBUFFORCE, SO_RCVBUF, c->udp_rcvbuf, "SO_RCVBUF", l->text);
    set_buf(s, SO_SNDBUFFORCE, SO_SNDBUF, c->udp_sndbuf, "SO_SNDBUF", l->text);

    if (bind(s, (const struct sockaddr *)&l->addr, l->addrlen) < 0) {
        r = -errno;
        close(s);
        return err_set(e, r, NULL, 0, 0, "listen %s: %s", l->text, strerror(-r));
    }
    *fd = s;
    return 0;
fail:
    close(s);
    return err_set(e, r, NULL, 0, 0, "listen %s: setsockopt %s: %s", l->text, opt, strerror(-r));
}

static bool src_port_zero(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_port == 0;
    if (ss->ss_family == AF_INET6)
        return ((const struct sockaddr_in6 *)ss)->sin6_port == 0;
    return true;
}

/* Send smsg[0..n); a partial send is retried from where it stopped. Full buffers drop the
 * rest (the client retries); any other error drops the one answer the kernel refused. */
static void udp_send_batch(struct worker *w, int fd, struct mmsghdr *smsg, unsigned n)
{
    unsigned off = 0;
    while (off < n) {
        int r = sendmmsg(fd, smsg + off, n - off, MSG_DONTWAIT);
        if (r > 0) {
            off += (unsigned)r;
            w->io.udp_sent += (uint64_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            w->io.udp_send_dropped += n - off;
            return;
        }
        w->io.udp_send_errors++;
        off++;
    }
}

/* Response rate limiting (rrl.h) of the response of *len bytes at out, described by qo:
 * false when it must not be sent; a slip cuts it down in place. Valid cookies pass. */
static bool udp_rrl(struct worker *w, const struct view *v, const struct query_out *qo,
                    const struct sockaddr *src, uint8_t *out, size_t *len, uint32_t now)
{
    const struct conf_rrl *c = &v->conf->rrl;
    if (!c->enabled || qo->valid_cookie || w->rrl == NULL)
        return true;
    switch (rrl_check(w->rrl, c, qo, src, now)) {
    case RRL_PASS:
        return true;
    case RRL_DROP:
        w->stats.rrl_dropped++;
        return false;
    case RRL_SLIP:
        w->stats.rrl_slipped++;
        *len = query_truncate(out, *len, qo);
        return true;
    case RRL_EXEMPT:
        w->stats.rrl_exempt++;
        return true;
    case RRL_LOG_ONLY:
        w->stats.rrl_log_only++;
        return true;
    }
    return true;
}

/* Answer one recvmmsg batch; returns the number of datagrams read (0 when drained). */
static unsigned udp_batch_once(struct worker *w, int fd, const struct view *v)
{
    struct udp_batch *b = w->ub;
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        b->rmsg[i].msg_hdr.msg_namelen = sizeof(b->src[i]);
        b->rmsg[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(fd, b->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return 0;
    w->io.udp_received += (uint64_t)n;
    /* one clock reading per batch: seconds are all cookies and rate limits need */
    struct timespec mono, wall;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
    clock_gettime(CLOCK_REALTIME_COARSE, &wall);

    unsigned nout = 0;
    for (unsigned i = 0; i < (unsigned)n; i++) {
        struct msghdr *h = &b->rmsg[i].msg_hdr;
        if (v == NULL || (h->msg_flags & MSG_TRUNC) || src_port_zero(&b->src[i])) {
            w->io.udp_dropped++;
            continue;
        }
        struct query_out qo;
        struct query_req req = {
            .pkt = b->in[i],
            .len = b->rmsg[i].msg_len,
            .src = (const struct sockaddr *)&b->src[i],
            .transport = QUERY_UDP,
            .rng = &w->rng,
            .worker = w->idx,
            .now = (uint32_t)wall.tv_sec,
            .out = &qo,
        };
        size_t len = query_answer(v, &req, b->out[nout], QUERY_UDP_BUF, &w->stats);
        if (len == 0 || !udp_rrl(w, v, &qo, req.src, b->out[nout], &len, (uint32_t)mono.tv_sec))
            continue;
        struct msghdr *o = &b->smsg[nout].msg_hdr;
        o->msg_name = &b->src[i];
        o->msg_namelen = h->msg_namelen;
        b->siov[nout].iov_len = len;
        nout++;
    }
    if (nout > 0)
        udp_send_batch(w, fd, b->smsg, nout);
    return (unsigned)n;
}

static void udp_on_readable(uv_poll_t *handle, int status, int events)
{
    (void)events;
    struct udp_sock *u = handle->data;
    struct worker *w = u->w;
    if (status < 0)
        return;

    struct rcu_reader *rd = &w->srv->readers[w->idx];
    rcu_read_begin(rd);
    const struct view *v = atomic_load_explicit(&w->srv->view, memory_order_acquire);
    /* A few batches, then back to the loop so the other sockets and TCP get their turn.
     * A batch of several datagrams means traffic is flowing: read again at once instead of
     * paying for another epoll_wait; a batch of one or two means the socket is drained. */
    for (unsigned k = 0; k < UDP_BATCHES; k++)
        if (udp_batch_once(w, u->fd, v) < UDP_BATCH / 8)
            break;
    rcu_read_end(rd);
}

/* The batch's fixed fields point at the worker's buffers once; per packet only the
 * lengths and the reply address change. */
static void udp_batch_setup(struct udp_batch *b)
{
    memset(b->rmsg, 0, sizeof(b->rmsg));
    memset(b->smsg, 0, sizeof(b->smsg));
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        b->riov[i].iov_base = b->in[i];
        b->riov[i].iov_len = sizeof(b->in[i]);
        b->rmsg[i].msg_hdr.msg_iov = &b->riov[i];
        b->rmsg[i].msg_hdr.msg_iovlen = 1;
        b->rmsg[i].msg_hdr.msg_name = &b->src[i];
        b->siov[i].iov_base = b->out[i];
        b->smsg[i].msg_hdr.msg_iov = &b->siov[i];
        b->smsg[i].msg_hdr.msg_iovlen = 1;
    }
}

int udp_start(struct worker *w, struct udp_sock *u)
{
    if (w->ub == NULL) {
        w->ub = malloc(sizeof(*w->ub));
        if (w->ub == NULL)
            return -ENOMEM;
        udp_batch_setup(w->ub);
    }
    u->w = w;
    int r = uv_poll_init(&w->loop, &u->poll, u->fd);
    if (r < 0)
        return r;
    u->poll_init = true;
    u->poll.data = u;
    return uv_poll_start(&u->poll, UV_READABLE, udp_on_readable);
}

void udp_close(struct udp_sock *u)
{
    if (u->poll_init && !uv_is_closing((uv_handle_t *)&u->poll)) {
        uv_poll_stop(&u->poll);
        uv_close((uv_handle_t *)&u->poll, NULL);
    }
}

void udp_sock_release(struct udp_sock *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
}
