/* udp.c: a worker's UDP sockets, each answered by a thread of its own that blocks in
 * recvmmsg and answers each batch with one sendmmsg (why not the loop: worker.c). */
#include "server/net/worker_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server/log.h"
#include "server/net/rrl.h"
#include "server/net/sock.h"

/* Root may exceed net.core.{r,w}mem_max with the FORCE variants; others get what the
 * sysctl allows. A smaller buffer is not fatal, only logged. */
static void set_buf(int fd, int force_name, int name, uint32_t size, const char *what,
                    const char *text)
{
    if (size == 0)
        return;
    int val = size > INT32_MAX / 2 ? INT32_MAX / 2 : (int)size;
    if (sock_set_int(fd, SOL_SOCKET, force_name, val) == 0)
        return;
    int r = sock_set_int(fd, SOL_SOCKET, name, val);
    if (r < 0)
        log_warn("listen %s: setsockopt %s %d: %s", text, what, val, gslbd_strerror(r));
}

/* 0.0.0.0 or ::: the kernel picks a reply's source by route, which on a host with several
 * addresses need not be the one the query came to (SRC-1), so such a socket asks for each
 * query's destination and answers from it. */
static bool is_wildcard(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int udp_socket_open(const struct conf_listen *l, const struct conf *c, int *fd, bool *pktinfo,
                    struct err *e)
{
    bool wild = is_wildcard(&l->addr);
    int s;
    int r = sock_open(l, SOCK_DGRAM, &s, e); /* blocking: its thread waits in it */
    if (r < 0)
        return r;
    if (l->addr.ss_family == AF_INET6) {
        /* UDP-2: never fragment; an answer is sized by the engine, not by path MTU. */
        if ((r = sock_set_int(s, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_OMIT)) < 0)
            return sock_fail(s, l, "IPV6_MTU_DISCOVER", r, e);
        if ((r = sock_set_int(s, IPPROTO_IPV6, IPV6_DONTFRAG, 1)) < 0)
            return sock_fail(s, l, "IPV6_DONTFRAG", r, e);
        if (wild && (r = sock_set_int(s, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0)
            return sock_fail(s, l, "IPV6_RECVPKTINFO", r, e);
    } else {
        if ((r = sock_set_int(s, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_OMIT)) < 0)
            return sock_fail(s, l, "IP_MTU_DISCOVER", r, e);
        if (wild && (r = sock_set_int(s, IPPROTO_IP, IP_PKTINFO, 1)) < 0)
            return sock_fail(s, l, "IP_PKTINFO", r, e);
    }
    set_buf(s, SO_RCVBUFFORCE, SO_RCVBUF, c->udp_rcvbuf, "SO_RCVBUF", l->text);
    set_buf(s, SO_SNDBUFFORCE, SO_SNDBUF, c->udp_sndbuf, "SO_SNDBUF", l->text);
    if ((r = sock_bind(s, l, e)) < 0)
        return r;
    *fd = s;
    *pktinfo = wild;
    return 0;
}

static bool src_unreachable(const struct sockaddr_storage *ss)
{
    struct query_client cl = query_client_of((const struct sockaddr *)ss);
    return cl.family == AF_UNSPEC || query_client_unreachable(&cl);
}

/* For a wildcard socket: make the answer's control message from the query's, so the
 * answer leaves from the address the query came to. The interface is left to routing,
 * except for an IPv6 link-local address, which means nothing without it. */
static void udp_reply_from(struct msghdr *in, struct msghdr *out, union udp_ctl *ctl)
{
    out->msg_control = NULL;
    out->msg_controllen = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(in); cm != NULL; cm = CMSG_NXTHDR(in, cm)) {
        union {
            struct in_pktinfo v4;
            struct in6_pktinfo v6;
        } pi;
        size_t size;
        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            size = sizeof(pi.v4);
            memcpy(&pi.v4, CMSG_DATA(cm), size);
            pi.v4.ipi_ifindex = 0; /* ipi_spec_dst: the local address the query reached */
        } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            size = sizeof(pi.v6);
            memcpy(&pi.v6, CMSG_DATA(cm), size);
            if (!IN6_IS_ADDR_LINKLOCAL(&pi.v6.ipi6_addr))
                pi.v6.ipi6_ifindex = 0;
        } else {
            continue;
        }
        struct cmsghdr *oc = &ctl->align;
        oc->cmsg_level = cm->cmsg_level;
        oc->cmsg_type = cm->cmsg_type;
        oc->cmsg_len = CMSG_LEN(size);
        memcpy(CMSG_DATA(oc), &pi, size);
        out->msg_control = ctl->buf;
        out->msg_controllen = CMSG_SPACE(size);
        return;
    }
}

/* Send smsg[0..n); a partial send is retried from where it stopped. Full buffers drop the
 * rest (the client retries); any other error drops the one answer the kernel refused. */
static void udp_send_batch(struct udp_sock *u, struct mmsghdr *smsg, unsigned n)
{
    unsigned off = 0;
    while (off < n) {
        int r = (int)syscall(SYS_sendmmsg, u->fd, smsg + off, n - off, MSG_DONTWAIT);
        if (r > 0) {
            off += (unsigned)r;
            STAT_ADD(u->io.udp_sent, (uint64_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            STAT_ADD(u->io.udp_send_dropped, n - off);
            return;
        }
        STAT_ADD(u->io.udp_send_errors, 1);
        off++;
    }
}

/* Response rate limiting (rrl.h) of the response of *len bytes at out, described by qo:
 * false when it must not be sent; a slip cuts it down in place. Valid cookies pass. */
static bool udp_rrl(struct udp_sock *u, const struct view *v, const struct query_out *qo,
                    const struct sockaddr *src, uint8_t *out, size_t *len, uint32_t now)
{
    const struct conf_rrl *c = &v->conf->rrl;
    if (!c->enabled || qo->valid_cookie || u->rrl == NULL)
        return true;
    switch (rrl_check(u->rrl, c, qo, src, now)) {
    case RRL_PASS:
        return true;
    case RRL_DROP:
        STAT_ADD(u->stats.rrl_dropped, 1);
        return false;
    case RRL_SLIP:
        STAT_ADD(u->stats.rrl_slipped, 1);
        *len = query_truncate(out, *len, qo);
        return true;
    case RRL_EXEMPT:
        STAT_ADD(u->stats.rrl_exempt, 1);
        return true;
    case RRL_LOG_ONLY:
        STAT_ADD(u->stats.rrl_log_only, 1);
        return true;
    }
    return true;
}

/* Answer the n datagrams just read, in one reader span, and send the answers. */
static void udp_answer(struct udp_sock *u, unsigned n)
{
    struct udp_batch *b = u->ub;
    struct rcu_reader *rd = &u->w->srv->readers[u->slot];
    /* one clock reading per batch: seconds are all cookies and rate limits need */
    struct timespec mono = {0}, wall;
    clock_gettime(CLOCK_REALTIME_COARSE, &wall);

    rcu_read_begin(rd);
    const struct view *v = atomic_load_explicit(&u->w->srv->view, memory_order_acquire);
    if (v != NULL && v->conf->rrl.enabled)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
    unsigned nout = 0;
    for (unsigned i = 0; i < n; i++) {
        struct msghdr *h = &b->rmsg[i].msg_hdr;
        if (v == NULL || (h->msg_flags & MSG_TRUNC) || src_unreachable(&b->src[i])) {
            STAT_ADD(u->io.udp_dropped, 1);
            continue;
        }
        struct query_out qo;
        struct query_req req = {
            .pkt = b->in[i],
            .len = b->rmsg[i].msg_len,
            .src = (const struct sockaddr *)&b->src[i],
            .transport = QUERY_UDP,
            .rng = &u->rng,
            .worker = u->slot,
            .now = (uint32_t)wall.tv_sec,
            .out = &qo,
        };
        size_t len = query_answer(v, &req, b->out[nout], QUERY_UDP_BUF, &u->stats);
        if (len == 0 || !udp_rrl(u, v, &qo, req.src, b->out[nout], &len, (uint32_t)mono.tv_sec))
            continue;
        struct msghdr *o = &b->smsg[nout].msg_hdr;
        o->msg_name = &b->src[i];
        o->msg_namelen = h->msg_namelen;
        if (u->pktinfo)
            udp_reply_from(h, o, &b->sctl[nout]);
        b->siov[nout].iov_len = len;
        nout++;
    }
    rcu_read_end(rd);
    if (nout > 0)
        udp_send_batch(u, b->smsg, nout);
}

/* The socket's thread: wait for a datagram, take every one that is waiting (up to a
 * batch), answer them, again; until worker_stop sets stopping and shuts the socket down. */
static void udp_main(void *arg)
{
    struct udp_sock *u = arg;
    struct worker *w = u->w;
    sock_thread_begin('u', u->slot);

    struct udp_batch *b = u->ub;
    unsigned used = UDP_BATCH;
    uint64_t errors = 0;
    while (!atomic_load_explicit(&w->stopping, memory_order_acquire)) {
        for (unsigned i = 0; i < used; i++) {
            b->rmsg[i].msg_hdr.msg_namelen = sizeof(b->src[i]);
            b->rmsg[i].msg_hdr.msg_flags = 0;
            if (u->pktinfo)
                b->rmsg[i].msg_hdr.msg_controllen = sizeof(b->rctl[i]);
        }
        /* syscall(), not glibc's wrapper: the wrapper is a thread cancellation point and
         * pays for that on every call; these threads are never cancelled */
        int n = (int)syscall(SYS_recvmmsg, u->fd, b->rmsg, UDP_BATCH, MSG_WAITFORONE, NULL);
        if (atomic_load_explicit(&w->stopping, memory_order_acquire))
            break;
        if (n > 0) {
            STAT_ADD(u->io.udp_received, (uint64_t)n);
            udp_answer(u, (unsigned)n);
            used = (unsigned)n;
            continue;
        }
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            /* ENOMEM and the like: say so now and then, and do not spin */
            if (errors++ % 1000 == 0)
                log_warn("worker %u: udp recvmmsg: %s", w->idx, strerror(errno));
            uv_sleep(1);
        }
    }
}

/* The batch's fixed fields point at the worker's buffers once; per packet only the
 * lengths and the reply address change. */
static void udp_batch_setup(struct udp_batch *b, bool pktinfo)
{
    memset(b->rmsg, 0, sizeof(b->rmsg));
    memset(b->smsg, 0, sizeof(b->smsg));
    for (unsigned i = 0; i < UDP_BATCH; i++) {
        b->riov[i].iov_base = b->in[i];
        b->riov[i].iov_len = sizeof(b->in[i]);
        b->rmsg[i].msg_hdr.msg_iov = &b->riov[i];
        b->rmsg[i].msg_hdr.msg_iovlen = 1;
        b->rmsg[i].msg_hdr.msg_name = &b->src[i];
        if (pktinfo) {
            b->rmsg[i].msg_hdr.msg_control = b->rctl[i].buf;
            b->rmsg[i].msg_hdr.msg_controllen = sizeof(b->rctl[i]);
        }
        b->siov[i].iov_base = b->out[i];
        b->smsg[i].msg_hdr.msg_iov = &b->siov[i];
        b->smsg[i].msg_hdr.msg_iovlen = 1;
    }
}

int udp_prepare(struct worker *w, struct udp_sock *u, unsigned slot, uint32_t rrl_size)
{
    u->w = w;
    u->slot = slot;
    uint64_t seed = w->rng ^ ((uint64_t)slot * 0x9E3779B97F4A7C15u);
    u->rng = seed ? seed : 0x9E3779B97F4A7C15u;
    u->ub = malloc(sizeof(*u->ub));
    if (u->ub == NULL)
        return -ENOMEM;
    udp_batch_setup(u->ub, u->pktinfo);
    /* made even while rrl is off, so a reload can turn it on; untouched pages cost
     * nothing. table_size takes effect at restart. */
    return rrl_table_new(rrl_size, &u->rrl);
}

int udp_thread_start(struct udp_sock *u)
{
    int r = uv_thread_create(&u->thread, udp_main, u);
    if (r == 0)
        u->thread_started = true;
    return r;
}

void udp_thread_stop(struct udp_sock *u)
{
    if (!u->thread_started)
        return;
    /* wakes the thread from recvmmsg (which then returns 0); the ENOTCONN it reports
     * for an unconnected socket is expected */
    shutdown(u->fd, SHUT_RD);
    uv_thread_join(&u->thread);
    u->thread_started = false;
}

void udp_sock_release(struct udp_sock *u)
{
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    free(u->ub);
    u->ub = NULL;
    rrl_table_free(u->rrl);
    u->rrl = NULL;
}
