/* server.c: publishing a new view to the DNS workers and reclaiming the old one. */
#include "server/server.h"

#include <stdatomic.h>

void server_swap_view(struct server *s, struct view *v)
{
    struct view *old = atomic_exchange_explicit(&s->view, v, memory_order_acq_rel);
    rcu_synchronize(s->readers, s->nreaders);
    view_free(old);
}
