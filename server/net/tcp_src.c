/* tcp_src.c: the count of open TCP connections per client address across workers
 * (tcp.max_per_source). Each stripe is an open-addressing table with linear probing and
 * deletion by backward shift (no tombstones: a freed entry leaves no trace), under the
 * stripe's mutex. The stripe and the home slot come from a SipHash of the address under a
 * random key, so clients cannot aim at one stripe. */
#include "server/net/tcp_src.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "server/siphash.h"

struct tcp_src_ent {
    uint8_t key[TCP_SRC_KEY_LEN];
    uint32_t home;  /* slot the key hashes to, for the backward shift */
    uint32_t count; /* open connections; 0 = a free slot */
};

struct tcp_src_stripe {
    pthread_mutex_t lock;
    struct tcp_src_ent *e; /* per entries */
    uint32_t used;         /* slots with count > 0 */
} __attribute__((aligned(64)));

struct tcp_src {
    struct tcp_src_stripe stripe[TCP_SRC_STRIPES];
    struct tcp_src_ent *mem;
    uint32_t per;  /* slots per stripe, a power of two */
    uint32_t mask; /* per - 1 */
    uint8_t key[SIPHASH_KEY_LEN];
};

int tcp_src_new(uint32_t entries, struct tcp_src **out)
{
    uint32_t n = 1024;
    while (n < entries && n < (1u << 24))
        n <<= 1;
    struct tcp_src *t = aligned_alloc(64, sizeof(*t));
    if (t == NULL)
        return -ENOMEM;
    memset(t, 0, sizeof(*t));
    int r = siphash_random_key(t->key);
    if (r < 0) {
        free(t);
        return r;
    }
    t->mem = calloc(n, sizeof(*t->mem));
    if (t->mem == NULL) {
        free(t);
        return -ENOMEM;
    }
    t->per = n / TCP_SRC_STRIPES;
    t->mask = t->per - 1;
    for (unsigned i = 0; i < TCP_SRC_STRIPES; i++) {
        pthread_mutex_init(&t->stripe[i].lock, NULL);
        t->stripe[i].e = t->mem + (size_t)i * t->per;
    }
    *out = t;
    return 0;
}

void tcp_src_free(struct tcp_src *t)
{
    if (t == NULL)
        return;
    for (unsigned i = 0; i < TCP_SRC_STRIPES; i++)
        pthread_mutex_destroy(&t->stripe[i].lock);
    free(t->mem);
    free(t);
}

uint32_t tcp_src_entries(const struct tcp_src *t)
{
    return t->per * TCP_SRC_STRIPES;
}

/* key's stripe, and its home slot in *home. */
static struct tcp_src_stripe *locate(struct tcp_src *t, const uint8_t *key, uint32_t *home)
{
    uint64_t h = siphash24(t->key, key, TCP_SRC_KEY_LEN);
    *home = (uint32_t)(h >> 32) & t->mask;
    return &t->stripe[h % TCP_SRC_STRIPES];
}

/* key's slot in s, or the first free slot of its probe run (*found false), or NULL when
 * the stripe is full and key is not in it. Call with s->lock held. */
static struct tcp_src_ent *probe(struct tcp_src *t, struct tcp_src_stripe *s, const uint8_t *key,
                                 uint32_t home, bool *found)
{
    *found = false;
    for (uint32_t n = 0; n < t->per; n++) {
        struct tcp_src_ent *e = &s->e[(home + n) & t->mask];
        if (e->count == 0)
            return e;
        if (memcmp(e->key, key, TCP_SRC_KEY_LEN) == 0) {
            *found = true;
            return e;
        }
    }
    return NULL;
}

enum tcp_src_result tcp_src_acquire(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN],
                                    uint32_t cap)
{
    uint32_t home;
    struct tcp_src_stripe *s = locate(t, key, &home);
    enum tcp_src_result r = TCP_SRC_HELD;
    bool found;
    pthread_mutex_lock(&s->lock);
    struct tcp_src_ent *e = probe(t, s, key, home, &found);
    if (e == NULL) {
        r = TCP_SRC_UNTRACKED;
    } else if (found) {
        if (e->count >= cap)
            r = TCP_SRC_AT_CAP;
        else
            e->count++;
    } else if (cap == 0) {
        r = TCP_SRC_AT_CAP;
    } else {
        memcpy(e->key, key, TCP_SRC_KEY_LEN);
        e->home = home;
        e->count = 1;
        s->used++;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

/* Empty slot i of s, moving later entries of its probe run back so that every key stays
 * reachable from its home without crossing a free slot. Call with s->lock held. */
static void remove_at(struct tcp_src *t, struct tcp_src_stripe *s, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        struct tcp_src_ent *e = &s->e[j];
        if (j == i || e->count == 0) /* around to the hole (a full stripe), or the run ends */
            break;
        /* e may move to i when i lies cyclically in [home, j) */
        uint32_t dist_i = (i - e->home) & t->mask, dist_j = (j - e->home) & t->mask;
        if (dist_i < dist_j) {
            s->e[i] = *e;
            i = j;
        }
    }
    s->e[i].count = 0;
    s->used--;
}

/* Lock key's stripe and find key's entry there: the entry, or NULL. Unlock *sp after. */
static struct tcp_src_ent *find_locked(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN],
                                       struct tcp_src_stripe **sp)
{
    uint32_t home;
    struct tcp_src_stripe *s = locate(t, key, &home);
    bool found;
    pthread_mutex_lock(&s->lock);
    struct tcp_src_ent *e = probe(t, s, key, home, &found);
    *sp = s;
    return found ? e : NULL;
}

void tcp_src_release(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN])
{
    struct tcp_src_stripe *s;
    struct tcp_src_ent *e = find_locked(t, key, &s);
    if (e != NULL && --e->count == 0)
        remove_at(t, s, (uint32_t)(e - s->e));
    pthread_mutex_unlock(&s->lock);
}

uint32_t tcp_src_count(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN])
{
    struct tcp_src_stripe *s;
    struct tcp_src_ent *e = find_locked(t, key, &s);
    uint32_t n = e != NULL ? e->count : 0;
    pthread_mutex_unlock(&s->lock);
    return n;
}

uint32_t tcp_src_addresses(struct tcp_src *t)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < TCP_SRC_STRIPES; i++) {
        pthread_mutex_lock(&t->stripe[i].lock);
        n += t->stripe[i].used;
        pthread_mutex_unlock(&t->stripe[i].lock);
    }
    return n;
}
