/* worker.h: a DNS worker: its own SO_REUSEPORT UDP and TCP sockets on every listen
 * address, a thread with its own libuv loop for TCP (RFC 7766) and timers, and a thread
 * per UDP socket (recvmmsg/sendmmsg), framing bytes around query_answer(). Every thread
 * reads the server's view under rcu spans, each in its own reader slot. */
#ifndef GSLBD_WORKER_H
#define GSLBD_WORKER_H

#include <stdint.h>

#include "server/err.h"
#include "server/query.h"
#include "server/server.h"

struct worker;

/* Fail when anything already holds one of c's listen addresses, naming it in e. Workers
 * bind with SO_REUSEPORT, which would otherwise share a port silently with a stale gslbd
 * of the same user; call this once before the first worker_start, not on reloads. */
int worker_check_listen(const struct conf *c, struct err *e);

/* Create worker idx: bind its sockets on every listen address of the current view's conf
 * (so bind errors are reported here), then start its thread. Caller owns *out. */
int worker_start(struct server *srv, unsigned idx, struct worker **out, struct err *e);

/* Ask the worker to stop, close its sockets and join its thread. */
void worker_stop(struct worker *w);

void worker_free(struct worker *w); /* NULL is a no-op; the worker must be stopped */

/* A sum of the worker's threads' counters (relaxed loads, any thread; for metrics). */
void worker_stats(const struct worker *w, struct query_stats *out);

/* Transport counters of one worker, each written only by its thread (STAT_ADD, query.h).
 * Counters only grow, except tcp_open, the connections this worker holds now. */
struct worker_io_stats {
    uint64_t udp_received;     /* datagrams read */
    uint64_t udp_sent;         /* answers the kernel accepted */
    uint64_t udp_dropped;      /* not answered: source port 0 (HDR-4), over 4096 bytes, no view */
    uint64_t udp_send_dropped; /* answers dropped: socket buffer full (EAGAIN, ENOBUFS) */
    uint64_t udp_send_errors;  /* answers dropped: any other send error */
    uint64_t tcp_accepted;
    uint64_t tcp_closed;        /* every close, whatever the reason */
    uint64_t tcp_evicted;       /* longest-idle closed to admit a new client (TCP-6) */
    uint64_t tcp_refused;       /* closed at accept: at the limit with nothing to evict */
    uint64_t tcp_idle_timeouts; /* no complete query within tcp.idle_timeout_ms */
    uint64_t tcp_io_timeouts;   /* a started message not complete within tcp.io_timeout_ms */
    uint64_t tcp_bad_length;    /* closed: length prefix under 12 (HDR-4) */
    uint64_t tcp_paused;        /* reads paused: output queued over tcp.max_pending_out */
    uint64_t tcp_messages;      /* complete messages given to the engine */
    uint64_t tcp_accept_errors; /* accept failed (EMFILE, ENOMEM...) */
    uint64_t tcp_open;          /* gauge: connections open on this worker */
};

/* A sum of the worker's transport counters (relaxed loads, any thread; for metrics). */
void worker_io_stats(const struct worker *w, struct worker_io_stats *out);

#endif
