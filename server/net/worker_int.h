/* worker_int.h: the worker's internal state, shared by worker.c, udp.c and tcp.c only. */
#ifndef GSLBD_WORKER_INT_H
#define GSLBD_WORKER_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "server/conf/conf.h"
#include "server/err.h"
#include "server/query.h"
#include "server/server.h"
#include "server/net/worker.h"

#define UDP_BATCH 32    /* datagrams per recvmmsg/sendmmsg call */
#define UDP_IN_BUF 4096 /* larger queries are dropped (MSG_TRUNC) */
#define TCP_BACKLOG 1024
#define TCP_SWEEP_MS 250                      /* how often idle and I/O timeouts are checked */
#define TCP_SRC_BUCKETS 1024                  /* per-worker hash of connections by client address */
#define TCP_IN_BUF 65536                      /* the worker's shared read buffer */
#define TCP_OUT_BUF (2 * (QUERY_TCP_BUF + 2)) /* answers to one read, batched into one write */

struct tcp_conn;
struct rrl_table;

struct udp_batch;

/* One UDP socket (one per listen address) and the thread that answers it (udp.c), with
 * everything that thread writes: its own counters, rate-limiting table and batch. */
struct udp_sock {
    struct worker *w;
    int fd;        /* -1 when not open */
    unsigned slot; /* its reader slot (server.h) and answer-counter row */
    uv_thread_t thread;
    bool thread_started;
    bool pktinfo;          /* a wildcard address: each answer names its source (SRC-1) */
    uint64_t rng;          /* xorshift state the engine advances for weighted splits */
    struct rrl_table *rrl; /* response rate limiting accounts (rrl.h) */
    struct udp_batch *ub;
    struct query_stats stats;
    struct worker_io_stats io; /* the udp_* counters */
};

/* One TCP listener; libuv owns the fd once opened = true. */
struct tcp_listener {
    uv_tcp_t tcp;
    struct worker *w;
    int fd;
    bool init; /* uv_tcp_init done: the handle must be closed */
    bool opened;
};

/* Room for the one control message of a wildcard socket: IP_PKTINFO or IPV6_PKTINFO. */
union udp_ctl {
    struct cmsghdr align;
    uint8_t buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

/* The recvmmsg/sendmmsg batch of one UDP socket, allocated once by udp_prepare. */
struct udp_batch {
    struct mmsghdr rmsg[UDP_BATCH];
    struct mmsghdr smsg[UDP_BATCH];
    struct iovec riov[UDP_BATCH];
    struct iovec siov[UDP_BATCH];
    struct sockaddr_storage src[UDP_BATCH];
    union udp_ctl rctl[UDP_BATCH]; /* used by pktinfo sockets only */
    union udp_ctl sctl[UDP_BATCH];
    uint8_t in[UDP_BATCH][UDP_IN_BUF];
    uint8_t out[UDP_BATCH][QUERY_UDP_BUF];
};

struct worker {
    struct server *srv;
    unsigned idx;
    uv_loop_t loop;
    bool loop_init;
    uv_async_t stop_async;
    bool async_init;
    uv_thread_t thread;
    bool thread_started;
    bool stopped;
    bool src_borrowed;     /* holds a use of srv->tcp_src (worker.c) */
    _Atomic bool stopping; /* set by worker_stop: the UDP threads end */

    struct udp_sock *udp;
    size_t nudp;
    struct tcp_listener *tcpl;
    size_t ntcp;

    /* TCP: limits copied from the current view's conf (refreshed at accept and sweep). */
    struct conf_tcp lim;
    uv_timer_t sweep;
    bool sweep_init;
    uint8_t *tcp_in;                        /* TCP_IN_BUF: every connection reads here first */
    uint8_t *tcp_out;                       /* TCP_OUT_BUF: answers, length-prefixed */
    struct tcp_conn *idle_head, *idle_tail; /* least recently active first */
    struct tcp_conn *part_head, *part_tail; /* oldest started-but-incomplete message first */
    struct tcp_conn **src_buckets;          /* TCP_SRC_BUCKETS chains */
    unsigned nconns;                        /* open (not closing) connections */
    uint64_t accept_log_ms;                 /* last accept error logged (rate limit) */

    /* the loop thread's own (TCP); each UDP thread has its own in struct udp_sock */
    uint64_t rng; /* xorshift state the engine advances for weighted splits */
    struct query_stats stats;
    struct worker_io_stats io;
};

/* udp.c */
/* Create, configure and bind the UDP socket for l; *fd is set only on success, and
 * *pktinfo tells whether l is a wildcard address that asks for each query's destination. */
int udp_socket_open(const struct conf_listen *l, const struct conf *c, int *fd, bool *pktinfo,
                    struct err *e);
/* Give u (its fd open) its slot, batch buffers and rate-limiting table of rrl_size. */
int udp_prepare(struct worker *w, struct udp_sock *u, unsigned slot, uint32_t rrl_size);
/* Start u's thread; stop it (w->stopping must be set first) and wait for it to end. */
int udp_thread_start(struct udp_sock *u);
void udp_thread_stop(struct udp_sock *u);
/* Close the fd and free what udp_prepare made (the thread stopped or never started). */
void udp_sock_release(struct udp_sock *u);

/* tcp.c */
/* Create, configure and bind the TCP listening socket for l; *fd is set only on success. */
int tcp_socket_open(const struct conf_listen *l, int *fd, struct err *e);
/* Hand the listener's fd to libuv and listen on it. */
int tcp_listener_start(struct worker *w, struct tcp_listener *t, const char *text, struct err *e);
/* Allocate the per-worker TCP buffers and the sweep timer. */
int tcp_worker_init(struct worker *w);
/* Close every connection, listener and the sweep timer (loop thread, or before it runs). */
void tcp_worker_close(struct worker *w);
/* Free the per-worker TCP buffers and any listener fd libuv never took. */
void tcp_worker_release(struct worker *w);

#endif
