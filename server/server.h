/* server.h: the running server: the published view, the reader slots that protect it, and
 * the DNS workers. Owned by main(); workers borrow it for their whole life. */
#ifndef GSLBD_SERVER_H
#define GSLBD_SERVER_H

#include <stdatomic.h>

#include "server/rcu.h"
#include "server/view.h"

struct tcp_src;
struct worker;

struct server {
    _Atomic(struct view *) view; /* current view; swapped by the control thread */
    struct rcu_reader *readers;  /* nreaders: each worker's loop, then the UDP threads */
    unsigned nreaders;           /* nworkers * (1 + nlisten) */
    struct worker **workers;
    unsigned nworkers;
    size_t nlisten; /* listen addresses bound at start: one UDP thread each per worker */
    _Atomic unsigned tcp_connections; /* across workers, for conf.tcp.max_connections */
    /* connections per client address across workers, for tcp.max_per_source: made by the
     * first worker_start, freed by the last worker_free (both on the control thread) */
    struct tcp_src *tcp_src;
    unsigned tcp_src_users; /* workers that borrow tcp_src */
};

/* Publish v as the current view and free the previous one once no worker holds it. */
void server_swap_view(struct server *s, struct view *v);

#endif
