/* worker.c: a DNS worker's lifetime: bind its sockets, run its loop thread and its UDP
 * threads, stop, count.
 *
 * Why UDP is not on the loop (DESIGN.md suggests a uv_poll callback): epoll keeps its entry
 * on the socket's wait queue for good, so each answer sent wakes that queue (the kernel
 * signals "writable" as it frees the datagram), and every wakeup costs an epoll_wait on
 * top of recvmmsg and sendmmsg. A thread that blocks in recvmmsg(MSG_WAITFORONE) pays two
 * system calls per batch and nothing per datagram. Measured with make bench (server
 * pinned to one core, 5 paired runs each): CPU per query against gdnsd, which does the
 * same, went from 1.18 to 0.98 at 30,000 qps; at capacity 1.02 before and 1.05 after,
 * inside the 10-15% run-to-run noise of the machine. Polling with
 * poll() instead of epoll (no wait-queue entry while answering) measured no better than
 * epoll: the extra system call per wakeup stayed. */
#include "server/net/worker_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/log.h"
#include "server/net/rrl.h"
#include "server/net/sock.h"
#include "server/net/tcp_src.h"

/* Borrow the server's per-address TCP table, making it for the first worker: sized for
 * twice max_connections at start (addresses with an open connection never outnumber them). */
static int worker_src_borrow(struct server *srv, const struct conf *c)
{
    if (srv->tcp_src == NULL) {
        uint32_t n = c->tcp.max_connections;
        int r = tcp_src_new(n > (1u << 23) ? (1u << 24) : 2 * n, &srv->tcp_src);
        if (r < 0)
            return r;
    }
    srv->tcp_src_users++;
    return 0;
}

static void worker_src_return(struct server *srv)
{
    if (srv->tcp_src_users > 0 && --srv->tcp_src_users == 0) {
        tcp_src_free(srv->tcp_src);
        srv->tcp_src = NULL;
    }
}

/* Weighted splits only need workers not to move in lockstep; xorshift must not start at 0. */
static void worker_seed_rng(struct worker *w)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed))
        seed = uv_hrtime() ^ ((uint64_t)w->idx << 32) ^ (uint64_t)(uintptr_t)w;
    w->rng = seed ? seed : 0x9E3779B97F4A7C15u;
}

/* Close every handle of the loop; the loop then ends once their callbacks ran. */
static void worker_close_handles(struct worker *w)
{
    tcp_worker_close(w);
    if (w->async_init && !uv_is_closing((uv_handle_t *)&w->stop_async))
        uv_close((uv_handle_t *)&w->stop_async, NULL);
}

static void on_stop(uv_async_t *a)
{
    worker_close_handles(a->data);
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void worker_main(void *arg)
{
    struct worker *w = arg;
    sock_thread_begin('w', w->idx);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* Release everything once the loop thread is gone (or never started). Idempotent. */
static void worker_teardown(struct worker *w)
{
    if (w->loop_init) {
        worker_close_handles(w);
        uv_walk(&w->loop, on_walk_close, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        int r = uv_loop_close(&w->loop);
        if (r < 0)
            log_err("worker %u: loop close: %s", w->idx, uv_strerror(r));
        w->loop_init = false;
    }
    for (size_t i = 0; i < w->nudp; i++)
        udp_sock_release(&w->udp[i]);
    tcp_worker_release(w);
}

/* Bind one UDP and one TCP socket per listen address; no libuv yet, so a bind error
 * leaves nothing but fds to close. */
static int worker_bind(struct worker *w, const struct conf *c, struct err *e)
{
    if (c->nlisten == 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "no listen address");
    w->udp = calloc(c->nlisten, sizeof(*w->udp));
    w->tcpl = calloc(c->nlisten, sizeof(*w->tcpl));
    if (w->udp == NULL || w->tcpl == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "worker %u: out of memory", w->idx);
    w->nudp = w->ntcp = c->nlisten;
    for (size_t i = 0; i < c->nlisten; i++)
        w->udp[i].fd = w->tcpl[i].fd = -1;
    for (size_t i = 0; i < c->nlisten; i++) {
        int r = udp_socket_open(&c->listen[i], c, &w->udp[i].fd, &w->udp[i].pktinfo, e);
        if (r == 0)
            r = tcp_socket_open(&c->listen[i], &w->tcpl[i].fd, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Bind one address without SO_REUSEPORT: EADDRINUSE means someone holds it. TCP keeps
 * SO_REUSEADDR so connections of a previous run in TIME_WAIT do not count. */
static int probe_bind(const struct conf_listen *l, int type, struct err *e)
{
    int s = socket(l->addr.ss_family, type | SOCK_CLOEXEC, 0);
    if (s < 0)
        return err_set(e, -errno, NULL, 0, 0, "listen %s: socket: %s", l->text, strerror(errno));
    int one = 1, r = 0;
    if (type == SOCK_STREAM)
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss_family == AF_INET6)
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(s, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
        r = err_set(e, -errno, NULL, 0, 0, "listen %s (%s): %s", l->text,
                    type == SOCK_STREAM ? "tcp" : "udp", strerror(errno));
    close(s);
    return r;
}

int worker_check_listen(const struct conf *c, struct err *e)
{
    for (size_t i = 0; i < c->nlisten; i++) {
        int r = probe_bind(&c->listen[i], SOCK_DGRAM, e);
        if (r == 0)
            r = probe_bind(&c->listen[i], SOCK_STREAM, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Hand the bound sockets to a fresh loop. */
static int worker_loop_setup(struct worker *w, const struct conf_listen *listen, struct err *e)
{
    int r = uv_loop_init(&w->loop);
    if (r < 0)
        return err_set(e, r, NULL, 0, 0, "worker %u: loop: %s", w->idx, uv_strerror(r));
    w->loop_init = true;
    if ((r = uv_async_init(&w->loop, &w->stop_async, on_stop)) < 0)
        return err_set(e, r, NULL, 0, 0, "worker %u: async: %s", w->idx, uv_strerror(r));
    w->async_init = true;
    w->stop_async.data = w;
    if ((r = tcp_worker_init(w)) < 0)
        return err_set(e, r, NULL, 0, 0, "worker %u: %s", w->idx, uv_strerror(r));
    for (size_t i = 0; i < w->nudp; i++)
        if ((r = tcp_listener_start(w, &w->tcpl[i], listen[i].text, e)) < 0)
            return r;
    return 0;
}

/* End the UDP threads, then the loop thread; each only if it was started. */
static void worker_stop_threads(struct worker *w)
{
    atomic_store_explicit(&w->stopping, true, memory_order_release);
    for (size_t i = 0; i < w->nudp; i++)
        udp_thread_stop(&w->udp[i]);
    if (w->thread_started) {
        uv_async_send(&w->stop_async);
        uv_thread_join(&w->thread);
        w->thread_started = false;
    }
}

int worker_start(struct server *srv, unsigned idx, struct worker **out, struct err *e)
{
    struct worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return err_set(e, -ENOMEM, NULL, 0, 0, "worker %u: out of memory", idx);
    w->srv = srv;
    w->idx = idx;
    atomic_init(&w->stopping, false);
    worker_seed_rng(w);

    /* The worker's reader slot is free until its thread runs; the span keeps the view
     * alive while its conf is read, whoever swaps it meanwhile. */
    struct rcu_reader *rd = &srv->readers[idx];
    rcu_read_begin(rd);
    const struct view *v = atomic_load_explicit(&srv->view, memory_order_acquire);
    int r;
    if (v == NULL || v->conf == NULL) {
        r = err_set(e, GSLBD_EINVAL, NULL, 0, 0, "worker %u: no view", idx);
    } else if (v->conf->nlisten != srv->nlisten) {
        /* a reload during start-up changed them: the reader slots are sized for the first */
        r = err_set(e, GSLBD_EINVAL, NULL, 0, 0,
                    "listen addresses changed before the workers started: restart gslbd");
    } else {
        w->lim = v->conf->tcp;
        r = worker_src_borrow(srv, v->conf);
        if (r < 0)
            err_set(e, r, NULL, 0, 0, "worker %u: out of memory", idx);
        else
            w->src_borrowed = true;
        if (r == 0)
            r = worker_bind(w, v->conf, e);
        for (size_t i = 0; r == 0 && i < w->nudp; i++) {
            unsigned slot = srv->nworkers + idx * (unsigned)srv->nlisten + (unsigned)i;
            r = udp_prepare(w, &w->udp[i], slot, v->conf->rrl.table_size);
            if (r < 0)
                err_set(e, r, NULL, 0, 0, "worker %u: udp: %s", idx, gslbd_strerror(r));
        }
        if (r == 0)
            r = worker_loop_setup(w, v->conf->listen, e);
    }
    rcu_read_end(rd);
    if (r == 0) {
        r = uv_thread_create(&w->thread, worker_main, w);
        if (r < 0)
            err_set(e, r, NULL, 0, 0, "worker %u: thread: %s", idx, uv_strerror(r));
        else
            w->thread_started = true;
    }
    for (size_t i = 0; r == 0 && i < w->nudp; i++) {
        r = udp_thread_start(&w->udp[i]);
        if (r < 0)
            err_set(e, r, NULL, 0, 0, "worker %u: udp thread: %s", idx, uv_strerror(r));
    }
    if (r < 0) {
        worker_stop_threads(w);
        worker_teardown(w);
        if (w->src_borrowed)
            worker_src_return(srv);
        free(w->udp);
        free(w->tcpl);
        free(w);
        return r;
    }
    *out = w;
    return 0;
}

void worker_stop(struct worker *w)
{
    if (w == NULL || w->stopped)
        return;
    w->stopped = true;
    worker_stop_threads(w);
    worker_teardown(w);
}

void worker_free(struct worker *w)
{
    if (w == NULL)
        return;
    worker_stop(w);
    if (w->src_borrowed)
        worker_src_return(w->srv);
    free(w->udp);
    free(w->tcpl);
    free(w);
}

/* a += b, field by field: both structs hold uint64_t counters only, each written by its
 * own thread with STAT_ADD (query.h), so read here with relaxed atomic loads. */
static void add_counters(uint64_t *a, const uint64_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] += __atomic_load_n(&b[i], __ATOMIC_RELAXED);
}

void worker_stats(const struct worker *w, struct query_stats *out)
{
    _Static_assert(sizeof(struct query_stats) % sizeof(uint64_t) == 0, "counters only");
    memset(out, 0, sizeof(*out));
    add_counters((uint64_t *)out, (const uint64_t *)&w->stats, sizeof(*out) / sizeof(uint64_t));
    for (size_t i = 0; i < w->nudp; i++)
        add_counters((uint64_t *)out, (const uint64_t *)&w->udp[i].stats,
                     sizeof(*out) / sizeof(uint64_t));
}

void worker_io_stats(const struct worker *w, struct worker_io_stats *out)
{
    _Static_assert(sizeof(struct worker_io_stats) % sizeof(uint64_t) == 0, "counters only");
    memset(out, 0, sizeof(*out));
    add_counters((uint64_t *)out, (const uint64_t *)&w->io, sizeof(*out) / sizeof(uint64_t));
    for (size_t i = 0; i < w->nudp; i++)
        add_counters((uint64_t *)out, (const uint64_t *)&w->udp[i].io,
                     sizeof(*out) / sizeof(uint64_t));
}
