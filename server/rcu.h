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

/* ThreadSanitizer does not model atomic_thread_fence (gcc refuses it under
 * -fsanitize=thread). In that build only, the full barrier is a seq_cst read-modify-write,
 * which orders the same way (a locked instruction on x86) and which it does understand. */
#if defined(__SANITIZE_THREAD__)
#define RCU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RCU_TSAN 1
#endif
#endif

static inline void rcu_read_begin(struct rcu_reader *r)
{
#ifdef RCU_TSAN
    atomic_fetch_add_explicit(&r->ctr, 1, memory_order_seq_cst);
#else
    atomic_store_explicit(&r->ctr, atomic_load_explicit(&r->ctr, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

static inline void rcu_read_end(struct rcu_reader *r)
{
    atomic_store_explicit(&r->ctr, atomic_load_explicit(&r->ctr, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* Wait until each of the n readers is outside the span it was in on entry (if any). */
void rcu_synchronize(struct rcu_reader *readers, size_t n);

#endif
