/* tcp.c: DNS over TCP (RFC 7766) for one worker: connections, pipelining, limits, timeouts. */
#include "server/net/worker_int.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/log.h"
#include "server/net/tcp_frame.h"
#include "server/net/sock.h"
#include "server/net/tcp_src.h"

#define TCP_SMALL_IN 512 /* inline room for a partial message; most queries fit */

/* One client connection. Allocated at accept, freed in its close callback. */
struct tcp_conn {
    uv_tcp_t h; /* h.data = this */
    struct worker *w;
    struct tcp_conn *prev, *next;   /* w->idle list, ordered by last_active */
    struct tcp_conn *pprev, *pnext; /* w->part list, ordered by msg_start */
    struct tcp_conn *src_next;      /* w->src_buckets chain */
    struct sockaddr_storage peer;
    uint8_t key[TCP_SRC_KEY_LEN]; /* family, then the address: the per-source identity */
    uint32_t bucket;
    uint64_t last_active; /* loop ms of the last complete query or finished write */
    uint64_t msg_start;   /* loop ms when the incomplete message's first byte arrived */
    uint8_t *in;          /* unconsumed input: small, or heap when it outgrows it */
    size_t have, incap;
    uint8_t *wbuf; /* bytes of the uv_write in flight */
    size_t wlen, wcap;
    uint8_t *pend; /* bytes queued behind it */
    size_t plen, pcap;
    uv_write_t wreq;
    bool writing, paused, eof, closing, in_part;
    bool src_held; /* counted in the server's per-address table (tcp_src.h) */
    uint8_t small[TCP_SMALL_IN];
};

static void set_key(struct tcp_conn *c)
{
    struct query_client cl = query_client_of((const struct sockaddr *)&c->peer);
    memset(c->key, 0, sizeof(c->key));
    c->key[0] = (uint8_t)c->peer.ss_family;
    memcpy(c->key + 1, cl.addr, cl.len);
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof(c->key); i++)
        h = (h ^ c->key[i]) * 16777619u;
    c->bucket = h & (TCP_SRC_BUCKETS - 1);
}

/* ---- lists ---- */

static void idle_unlink(struct worker *w, struct tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        w->idle_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->idle_tail = c->prev;
    c->prev = c->next = NULL;
}

static void idle_append(struct worker *w, struct tcp_conn *c)
{
    c->prev = w->idle_tail;
    c->next = NULL;
    if (w->idle_tail)
        w->idle_tail->next = c;
    else
        w->idle_head = c;
    w->idle_tail = c;
}

static void conn_touch(struct tcp_conn *c)
{
    struct worker *w = c->w;
    c->last_active = uv_now(&w->loop);
    if (w->idle_tail != c) {
        idle_unlink(w, c);
        idle_append(w, c);
    }
}

static void part_remove(struct worker *w, struct tcp_conn *c)
{
    if (!c->in_part)
        return;
    if (c->pprev)
        c->pprev->pnext = c->pnext;
    else
        w->part_head = c->pnext;
    if (c->pnext)
        c->pnext->pprev = c->pprev;
    else
        w->part_tail = c->pprev;
    c->pprev = c->pnext = NULL;
    c->in_part = false;
}

static void part_add(struct worker *w, struct tcp_conn *c)
{
    if (c->in_part)
        return;
    c->msg_start = uv_now(&w->loop);
    c->pprev = w->part_tail;
    c->pnext = NULL;
    if (w->part_tail)
        w->part_tail->pnext = c;
    else
        w->part_head = c;
    w->part_tail = c;
    c->in_part = true;
}

static void src_remove(struct worker *w, struct tcp_conn *c)
{
    struct tcp_conn **pp = &w->src_buckets[c->bucket];
    while (*pp && *pp != c)
        pp = &(*pp)->src_next;
    if (*pp)
        *pp = c->src_next;
    c->src_next = NULL;
}

/* How many open connections of this worker share c's client address; *oldest gets the
 * longest idle of them. */
static unsigned src_count(struct worker *w, const struct tcp_conn *c, struct tcp_conn **oldest)
{
    unsigned n = 0;
    *oldest = NULL;
    for (struct tcp_conn *o = w->src_buckets[c->bucket]; o; o = o->src_next) {
        if (memcmp(o->key, c->key, sizeof(c->key)) != 0)
            continue;
        n++;
        if (*oldest == NULL || o->last_active < (*oldest)->last_active)
            *oldest = o;
    }
    return n;
}

/* ---- close ---- */

static void conn_free(struct tcp_conn *c)
{
    if (c->in != c->small)
        free(c->in);
    free(c->wbuf);
    free(c->pend);
    free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
    conn_free(h->data);
}

/* Close c; every count it holds is returned now, its memory in the close callback. */
static void conn_close(struct tcp_conn *c)
{
    if (c->closing)
        return;
    struct worker *w = c->w;
    c->closing = true;
    idle_unlink(w, c);
    part_remove(w, c);
    src_remove(w, c);
    if (c->src_held) {
        tcp_src_release(w->srv->tcp_src, c->key);
        c->src_held = false;
    }
    atomic_fetch_sub_explicit(&w->srv->tcp_connections, 1, memory_order_relaxed);
    w->nconns--;
    STAT_SET(w->io.tcp_open, w->nconns);
    STAT_ADD(w->io.tcp_closed, 1);
    if (w->nconns == 0 && w->sweep_init)
        uv_timer_stop(&w->sweep);
    uv_close((uv_handle_t *)&c->h, on_conn_closed);
}

/* ---- output ---- */

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (p == NULL)
        return -ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

static void conn_resume(struct tcp_conn *c);
static void on_write(uv_write_t *req, int status);

static void conn_write_start(struct tcp_conn *c)
{
    uv_buf_t b = uv_buf_init((char *)c->wbuf, (unsigned)c->wlen);
    c->wreq.data = c;
    int r = uv_write(&c->wreq, (uv_stream_t *)&c->h, &b, 1, on_write);
    if (r < 0) {
        conn_close(c);
        return;
    }
    c->writing = true;
}

/* Send p[0..n) (whole length-prefixed messages): straight to the socket when nothing is
 * queued, else behind the queued bytes. Queued output over max_pending_out pauses reads. */
static void conn_send(struct tcp_conn *c, const uint8_t *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    if (!c->writing) {
        uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);
        int r = uv_try_write((uv_stream_t *)&c->h, &b, 1);
        if (r >= 0 && (size_t)r == n)
            return;
        if (r < 0 && r != UV_EAGAIN) {
            conn_close(c);
            return;
        }
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        }
        if (grow(&c->wbuf, &c->wcap, n) < 0) {
            conn_close(c);
            return;
        }
        memcpy(c->wbuf, p, n);
        c->wlen = n;
        conn_write_start(c);
    } else {
        if (grow(&c->pend, &c->pcap, c->plen + n) < 0) {
            conn_close(c);
            return;
        }
        memcpy(c->pend + c->plen, p, n);
        c->plen += n;
    }
    uint32_t max = c->w->lim.max_pending_out;
    if (!c->closing && !c->paused && max > 0 && c->wlen + c->plen > max) {
        c->paused = true;
        STAT_ADD(c->w->io.tcp_paused, 1);
        uv_read_stop((uv_stream_t *)&c->h);
    }
}

static void on_write(uv_write_t *req, int status)
{
    struct tcp_conn *c = req->data;
    c->writing = false;
    c->wlen = 0;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_touch(c);
    if (c->plen > 0) {
        uint8_t *t = c->wbuf;
        size_t tc = c->wcap;
        c->wbuf = c->pend;
        c->wcap = c->pcap;
        c->wlen = c->plen;
        c->pend = t;
        c->pcap = tc;
        c->plen = 0;
        conn_write_start(c);
        if (c->closing)
            return;
    } else {
        /* Drained: give the memory back; backpressure is the only time it is needed. */
        free(c->wbuf);
        free(c->pend);
        c->wbuf = c->pend = NULL;
        c->wcap = c->pcap = 0;
    }
    if (c->eof) {
        if (!c->writing)
            conn_close(c);
    } else if (c->paused && c->wlen + c->plen <= c->w->lim.max_pending_out / 2) {
        conn_resume(c);
    }
}

/* Read no more; close once the answers already queued have left. */
static void conn_finish(struct tcp_conn *c)
{
    if (c->closing)
        return;
    uv_read_stop((uv_stream_t *)&c->h);
    if (c->writing)
        c->eof = true;
    else
        conn_close(c);
}

/* ---- input ---- */

/* Answer every complete message at the start of p[0..n) until reads pause or the
 * connection closes; returns the bytes consumed. Answers to one read leave in one write. */
static size_t conn_answer(struct tcp_conn *c, const struct view *v, const uint8_t *p, size_t n)
{
    struct worker *w = c->w;
    uint8_t *out = w->tcp_out;
    size_t olen = 0, off = 0;

    while (!c->closing && !c->paused) {
        size_t mlen;
        enum tcp_frame_kind k = tcp_frame_next(p + off, n - off, &mlen);
        if (k == TCP_FRAME_BAD) { /* HDR-4: no header to answer; the stream cannot be trusted */
            STAT_ADD(w->io.tcp_bad_length, 1);
            conn_send(c, out, olen);
            conn_finish(c);
            return n;
        }
        if (k == TCP_FRAME_MORE)
            break;
        if (TCP_OUT_BUF - olen < QUERY_TCP_BUF + 2) {
            conn_send(c, out, olen);
            olen = 0;
            if (c->closing || c->paused)
                break;
        }
        STAT_ADD(w->io.tcp_messages, 1);
        size_t rlen = 0;
        if (v != NULL) {
            struct query_req req = {
                .pkt = p + off + 2,
                .len = mlen,
                .src = (const struct sockaddr *)&c->peer,
                .transport = QUERY_TCP,
                .rng = &w->rng,
                .worker = w->idx,
            };
            rlen = query_answer(v, &req, out + olen + 2, QUERY_TCP_BUF, &w->stats);
        }
        if (rlen > 0) {
            out[olen] = (uint8_t)(rlen >> 8);
            out[olen + 1] = (uint8_t)rlen;
            olen += rlen + 2;
        }
        off += mlen + 2;
    }
    if (off > 0 && !c->closing)
        conn_touch(c);
    conn_send(c, out, olen);
    return off;
}

/* Keep p[0..n), the input not yet answered, in c->in (p may already point into it). The
 * buffer grows to hold the whole pending message so the next read can complete it. */
static int conn_keep(struct tcp_conn *c, const uint8_t *p, size_t n)
{
    if (n == 0) { /* nothing pending: drop a big buffer kept for one large message */
        if (c->in != c->small)
            free(c->in);
        c->in = c->small;
        c->incap = sizeof(c->small);
        c->have = 0;
        return 0;
    }
    size_t need = tcp_frame_need(p, n);
    if (need < TCP_SMALL_IN)
        need = TCP_SMALL_IN;
    if (need > c->incap) {
        uint8_t *nb = malloc(need);
        if (nb == NULL)
            return -ENOMEM;
        memcpy(nb, p, n);
        if (c->in != c->small)
            free(c->in);
        c->in = nb;
        c->incap = need;
    } else if (p != c->in) {
        memmove(c->in, p, n);
    }
    c->have = n;
    return 0;
}

/* Answer what p[0..n) holds and keep the rest; used for fresh reads and for input kept
 * while reads were paused. */
static void conn_process(struct tcp_conn *c, const uint8_t *p, size_t n)
{
    struct worker *w = c->w;
    struct rcu_reader *rd = &w->srv->readers[w->idx];
    rcu_read_begin(rd);
    const struct view *v = atomic_load_explicit(&w->srv->view, memory_order_acquire);
    size_t used = conn_answer(c, v, p, n);
    rcu_read_end(rd);
    if (c->closing)
        return;
    if (conn_keep(c, p + used, n - used) < 0) {
        conn_close(c);
        return;
    }
    /* TCP-5: the I/O clock runs from a message's first byte to its last. */
    if (used > 0 || c->have == 0 || c->paused)
        part_remove(w, c);
    if (c->have > 0 && !c->paused)
        part_add(w, c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct tcp_conn *c = h->data;
    /* With a message partly here, read straight after it; else into the worker's buffer,
     * which is free again by the time the next connection reads. */
    if (c->have > 0)
        *buf = uv_buf_init((char *)c->in + c->have, (unsigned)(c->incap - c->have));
    else
        *buf = uv_buf_init((char *)c->w->tcp_in, TCP_IN_BUF);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct tcp_conn *c = s->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        /* EOF after the queries: answers already queued still go out (half-close). */
        if (nread == UV_EOF)
            conn_finish(c);
        else
            conn_close(c);
        return;
    }
    if ((uint8_t *)buf->base == c->w->tcp_in)
        conn_process(c, (uint8_t *)buf->base, (size_t)nread);
    else
        conn_process(c, c->in, c->have + (size_t)nread);
}

static void conn_resume(struct tcp_conn *c)
{
    c->paused = false;
    if (c->have > 0)
        conn_process(c, c->in, c->have);
    if (c->closing || c->paused)
        return;
    if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0)
        conn_close(c);
}

/* ---- accept ---- */

/* Count c against its client's max_per_source, which holds across workers: at the cap,
 * this worker's longest-idle connection of the same client makes room; when this worker
 * has none (the client's connections are all on other workers), c is refused. */
static bool conn_admit_source(struct worker *w, struct tcp_conn *c)
{
    struct tcp_src *ts = w->srv->tcp_src;
    enum tcp_src_result r = tcp_src_acquire(ts, c->key, w->lim.max_per_source);
    if (r == TCP_SRC_AT_CAP) {
        struct tcp_conn *old;
        if (src_count(w, c, &old) == 0)
            return false;
        STAT_ADD(w->io.tcp_evicted, 1);
        conn_close(old); /* returns its count */
        r = tcp_src_acquire(ts, c->key, w->lim.max_per_source);
        if (r == TCP_SRC_AT_CAP) /* another worker took the room meanwhile */
            return false;
    }
    c->src_held = r == TCP_SRC_HELD;
    return true;
}

/* Admit c under the limits (TCP-6), closing the longest-idle connection (of the same
 * client first) to make room. Returns false when c must be refused. */
static bool conn_admit(struct worker *w, struct tcp_conn *c)
{
    if (!conn_admit_source(w, c))
        return false;
    unsigned total =
        atomic_fetch_add_explicit(&w->srv->tcp_connections, 1, memory_order_relaxed) + 1;
    if (w->lim.max_connections > 0 && total > w->lim.max_connections) {
        if (w->idle_head == NULL) {
            atomic_fetch_sub_explicit(&w->srv->tcp_connections, 1, memory_order_relaxed);
            if (c->src_held) {
                tcp_src_release(w->srv->tcp_src, c->key);
                c->src_held = false;
            }
            return false;
        }
        STAT_ADD(w->io.tcp_evicted, 1);
        conn_close(w->idle_head);
    }
    return true;
}

static void on_sweep(uv_timer_t *t);

static void on_refused_closed(uv_handle_t *h)
{
    free(h->data);
}

/* Copy the current view's TCP limits into w->lim (inside a reader span). */
static void refresh_limits(struct worker *w)
{
    struct rcu_reader *rd = &w->srv->readers[w->idx];
    rcu_read_begin(rd);
    const struct view *v = atomic_load_explicit(&w->srv->view, memory_order_acquire);
    if (v != NULL && v->conf != NULL)
        w->lim = v->conf->tcp;
    rcu_read_end(rd);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tcp_listener *t = server->data;
    struct worker *w = t->w;
    if (status < 0) { /* EMFILE and friends: count always, log at most once a second */
        STAT_ADD(w->io.tcp_accept_errors, 1);
        uint64_t now = uv_now(&w->loop);
        if (now - w->accept_log_ms >= 1000) {
            w->accept_log_ms = now;
            log_warn("worker %u: tcp accept: %s", w->idx, uv_strerror(status));
        }
        return;
    }
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        STAT_ADD(w->io.tcp_accept_errors, 1);
        log_err("worker %u: tcp accept: out of memory", w->idx);
        return;
    }
    c->w = w;
    c->in = c->small;
    c->incap = sizeof(c->small);
    c->h.data = c;
    if (uv_tcp_init(&w->loop, &c->h) < 0) {
        free(c);
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->h) < 0) {
        uv_close((uv_handle_t *)&c->h, on_refused_closed);
        return;
    }
    STAT_ADD(w->io.tcp_accepted, 1);
    int len = sizeof(c->peer);
    if (uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer, &len) < 0) {
        uv_close((uv_handle_t *)&c->h, on_refused_closed);
        STAT_ADD(w->io.tcp_closed, 1);
        return;
    }
    set_key(c);
    refresh_limits(w);
    if (!conn_admit(w, c)) {
        STAT_ADD(w->io.tcp_refused, 1);
        STAT_ADD(w->io.tcp_closed, 1);
        uv_close((uv_handle_t *)&c->h, on_refused_closed);
        return;
    }

    c->last_active = uv_now(&w->loop);
    idle_append(w, c);
    c->src_next = w->src_buckets[c->bucket];
    w->src_buckets[c->bucket] = c;
    if (w->nconns++ == 0)
        uv_timer_start(&w->sweep, on_sweep, TCP_SWEEP_MS, TCP_SWEEP_MS);
    STAT_SET(w->io.tcp_open, w->nconns);
    /* Answers are written whole, one write per read: Nagle would only delay them. */
    uv_tcp_nodelay(&c->h, 1);
    if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0)
        conn_close(c);
}

/* ---- timeouts ---- */

static void on_sweep(uv_timer_t *t)
{
    struct worker *w = t->data;
    refresh_limits(w);
    uint64_t now = uv_now(&w->loop);
    uint64_t idle = w->lim.idle_timeout_ms, io = w->lim.io_timeout_ms;
    while (idle > 0 && w->idle_head && now - w->idle_head->last_active >= idle) {
        STAT_ADD(w->io.tcp_idle_timeouts, 1);
        conn_close(w->idle_head);
    }
    while (io > 0 && w->part_head && now - w->part_head->msg_start >= io) {
        STAT_ADD(w->io.tcp_io_timeouts, 1);
        conn_close(w->part_head);
    }
}

/* ---- sockets and lifetime ---- */

int tcp_socket_open(const struct conf_listen *l, int *fd, struct err *e)
{
    int s;
    int r = sock_open(l, SOCK_STREAM | SOCK_NONBLOCK, &s, e);
    if (r == 0 && (r = sock_bind(s, l, e)) == 0)
        *fd = s;
    return r;
}

int tcp_listener_start(struct worker *w, struct tcp_listener *t, const char *text, struct err *e)
{
    t->w = w;
    int r = uv_tcp_init(&w->loop, &t->tcp);
    if (r < 0)
        return err_set(e, r, NULL, 0, 0, "listen %s: tcp: %s", text, uv_strerror(r));
    t->init = true;
    t->tcp.data = t;
    if ((r = uv_tcp_open(&t->tcp, t->fd)) < 0)
        return err_set(e, r, NULL, 0, 0, "listen %s: tcp: %s", text, uv_strerror(r));
    t->opened = true;
    if ((r = uv_listen((uv_stream_t *)&t->tcp, TCP_BACKLOG, on_connection)) < 0)
        return err_set(e, r, NULL, 0, 0, "listen %s: tcp: %s", text, uv_strerror(r));
    return 0;
}

int tcp_worker_init(struct worker *w)
{
    w->tcp_in = malloc(TCP_IN_BUF);
    w->tcp_out = malloc(TCP_OUT_BUF);
    w->src_buckets = calloc(TCP_SRC_BUCKETS, sizeof(*w->src_buckets));
    if (w->tcp_in == NULL || w->tcp_out == NULL || w->src_buckets == NULL)
        return -ENOMEM;
    int r = uv_timer_init(&w->loop, &w->sweep);
    if (r < 0)
        return r;
    w->sweep_init = true;
    w->sweep.data = w;
    return 0;
}

void tcp_worker_close(struct worker *w)
{
    while (w->idle_head)
        conn_close(w->idle_head);
    for (size_t i = 0; i < w->ntcp; i++) {
        struct tcp_listener *t = &w->tcpl[i];
        if (t->init && !uv_is_closing((uv_handle_t *)&t->tcp))
            uv_close((uv_handle_t *)&t->tcp, NULL);
    }
    if (w->sweep_init && !uv_is_closing((uv_handle_t *)&w->sweep))
        uv_close((uv_handle_t *)&w->sweep, NULL);
}

void tcp_worker_release(struct worker *w)
{
    for (size_t i = 0; i < w->ntcp; i++) {
        struct tcp_listener *t = &w->tcpl[i];
        if (!t->opened && t->fd >= 0)
            close(t->fd);
        t->fd = -1;
    }
    free(w->tcp_in);
    free(w->tcp_out);
    free(w->src_buckets);
    w->tcp_in = w->tcp_out = NULL;
    w->src_buckets = NULL;
}
