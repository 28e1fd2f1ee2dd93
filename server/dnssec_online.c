/* dnssec_online.c: signatures made while answering (compact denial, RFC 9824), under a
 * per-thread cache and a per-second budget. Each worker thread has its own cache, made on
 * its first signature and freed when the thread ends: no lock, and no allocation on a hit.
 * The cache is keyed on the exact bytes signed (the RRSIG header, which names the key's
 * tag, algorithm and validity window, then the canonical RRset) and on the public key:
 * a hit is the very signature that was made for those bytes with that key. A miss signs
 * (about 20 us with P-256, allocating inside OpenSSL) if this second's budget allows. */
#include "server/dnssec_online.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/err.h"
#include "server/siphash.h"

#define CACHE_SLOTS 4096 /* per thread, about 2.8 MiB */
#define CACHE_WAYS 4     /* set-associative: names that share a set do not evict each other */
#define CACHE_DATA_MAX 640

struct cache_ent {
    uint64_t h;
    uint16_t len; /* 0: empty */
    uint8_t sig[DNSSEC_P256_SIG_LEN];
    uint8_t pub[16]; /* the first bytes of the key's public part */
    uint8_t data[CACHE_DATA_MAX];
};

struct online_cache {
    struct cache_ent ent[CACHE_SLOTS];
    uint8_t next_victim[CACHE_SLOTS / CACHE_WAYS]; /* round robin within a set */
    uint64_t second;
    unsigned signed_this_second;
    struct online_cache *next; /* in the list the totals are summed over */
    _Atomic uint64_t hits, misses, refused;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t tkey;
static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct online_cache *caches;
/* what ended threads counted */
static _Atomic uint64_t gone_hits, gone_misses, gone_refused;
static const uint8_t hash_key[16] = "gslbd-dnssec-cch";

static void cache_gone(void *p)
{
    struct online_cache *c = p;
    pthread_mutex_lock(&list_lock);
    for (struct online_cache **pp = &caches; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    atomic_fetch_add(&gone_hits, atomic_load(&c->hits));
    atomic_fetch_add(&gone_misses, atomic_load(&c->misses));
    atomic_fetch_add(&gone_refused, atomic_load(&c->refused));
    pthread_mutex_unlock(&list_lock);
    free(c);
}

static void make_key(void)
{
    (void)pthread_key_create(&tkey, cache_gone);
}

static struct online_cache *thread_cache(void)
{
    pthread_once(&once, make_key);
    struct online_cache *c = pthread_getspecific(tkey);
    if (c != NULL)
        return c;
    c = calloc(1, sizeof(*c));
    if (c == NULL || pthread_setspecific(tkey, c) != 0) {
        free(c);
        return NULL;
    }
    pthread_mutex_lock(&list_lock);
    c->next = caches;
    caches = c;
    pthread_mutex_unlock(&list_lock);
    return c;
}

int dnssec_online_sign(const struct dnssec_key *k, const uint8_t *data, size_t len, unsigned budget,
                       uint8_t sig[DNSSEC_P256_SIG_LEN])
{
    struct online_cache *c = thread_cache();
    if (c == NULL)
        return -ENOMEM;
    const uint8_t *pub = k->dnskey + 4;
    uint64_t h = siphash24(hash_key, data, len) ^ siphash24(hash_key, pub, 16);
    size_t set = (size_t)(h & (CACHE_SLOTS / CACHE_WAYS - 1));
    struct cache_ent *way = &c->ent[set * CACHE_WAYS];
    for (int w = 0; len <= CACHE_DATA_MAX && w < CACHE_WAYS; w++) {
        const struct cache_ent *e = &way[w];
        if (e->len == len && e->h == h && memcmp(e->pub, pub, 16) == 0 &&
            memcmp(e->data, data, len) == 0) {
            memcpy(sig, e->sig, DNSSEC_P256_SIG_LEN);
            atomic_store_explicit(&c->hits,
                                  atomic_load_explicit(&c->hits, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            return 0;
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    if ((uint64_t)ts.tv_sec != c->second) {
        c->second = (uint64_t)ts.tv_sec;
        c->signed_this_second = 0;
    }
    if (budget != 0 && c->signed_this_second >= budget) {
        atomic_fetch_add_explicit(&c->refused, 1, memory_order_relaxed);
        return GSLBD_ELIMIT;
    }
    c->signed_this_second++;
    int rc = dnssec_sign_data(k, data, len, sig);
    if (rc < 0)
        return rc;
    atomic_fetch_add_explicit(&c->misses, 1, memory_order_relaxed);
    if (len <= CACHE_DATA_MAX) {
        int w = 0;
        while (w < CACHE_WAYS && way[w].len != 0)
            w++;
        if (w == CACHE_WAYS) /* the set is full: the ways take turns */
            w = c->next_victim[set]++ % CACHE_WAYS;
        struct cache_ent *e = &way[w];
        e->h = h;
        e->len = (uint16_t)len;
        memcpy(e->pub, pub, 16);
        memcpy(e->data, data, len);
        memcpy(e->sig, sig, DNSSEC_P256_SIG_LEN);
    }
    return 1;
}

void dnssec_online_totals(struct dnssec_online_stats *out)
{
    pthread_mutex_lock(&list_lock);
    out->hits = atomic_load(&gone_hits);
    out->misses = atomic_load(&gone_misses);
    out->refused = atomic_load(&gone_refused);
    for (const struct online_cache *c = caches; c != NULL; c = c->next) {
        out->hits += atomic_load_explicit(&c->hits, memory_order_relaxed);
        out->misses += atomic_load_explicit(&c->misses, memory_order_relaxed);
        out->refused += atomic_load_explicit(&c->refused, memory_order_relaxed);
    }
    pthread_mutex_unlock(&list_lock);
}
