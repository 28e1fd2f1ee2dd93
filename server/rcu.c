/* rcu.c: the writer side of rcu.h: wait out every read-side span that may hold an old view. */
#include "server/rcu.h"

#include <stdlib.h>
#include <time.h>

#ifdef RCU_TSAN
static _Atomic uint64_t barrier_word; /* the tsan build's full barrier (rcu.h) */
#endif

void rcu_synchronize(struct rcu_reader *readers, size_t n)
{
#ifdef RCU_TSAN
    atomic_fetch_add_explicit(&barrier_word, 1, memory_order_seq_cst);
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
    uint64_t *snap = calloc(n ? n : 1, sizeof(*snap));
    if (snap == NULL) { /* cannot snapshot: wait for every reader to be outside a span */
        for (size_t i = 0; i < n; i++)
            while (atomic_load_explicit(&readers[i].ctr, memory_order_acquire) & 1) {
                struct timespec ts = {0, 200000};
                nanosleep(&ts, NULL);
            }
        return;
    }
    for (size_t i = 0; i < n; i++)
        snap[i] = atomic_load_explicit(&readers[i].ctr, memory_order_acquire);
    for (size_t i = 0; i < n; i++) {
        if ((snap[i] & 1) == 0)
            continue;
        while (atomic_load_explicit(&readers[i].ctr, memory_order_acquire) == snap[i]) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
    free(snap);
}
