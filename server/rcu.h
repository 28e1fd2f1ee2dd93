/* rcu.h: read-copy-update for the current view: readers (DNS workers) mark the span in
 * which they hold a view; the writer (control thread) waits until every reader has left
 * any span that began before a swap, then frees the old view. Readers never wait. */
#ifndef GSLBD_RCU_H
#define GSLBD_RCU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One per reader thread; odd while inside a read-side span. */
struct rcu_reader {
    _Alignas(64) _Atomic uint64_t ctr;
};

static inline void rcu_read_begin(struct rcu_reader *r)
{
    atomic_store_explicit(&r->ctr, atomic_load_explicit(&r->ctr, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
}

static inline void rcu_read_end(struct rcu_reader *r)
{
    atomic_store_explicit(&r->ctr, atomic_load_explicit(&r->ctr, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* Wait until each of the n readers is outside the span it was in on entry (if any). */
void rcu_synchronize(struct rcu_reader *readers, size_t n);

#endif
