/* dnssec_online.h: signatures made while answering, through a per-thread cache under a
 * per-second signing budget (dnssec_online.c). */
#ifndef GSLBD_DNSSEC_ONLINE_H
#define GSLBD_DNSSEC_ONLINE_H

#include <stddef.h>
#include <stdint.h>

#include "server/dnssec.h"

/* Signatures a thread may make per second when its cache misses (about 20 us each: 10%
 * of a core). Past it, an answer that needs one is SERVFAIL until the next second. */
#define DNSSEC_ONLINE_BUDGET 5000

/* The signature of data (the RRSIG header then the canonical RRset) with k: 0 when this
 * thread's cache had it, 1 when it was made now, GSLBD_ELIMIT when it was not cached and
 * this second's budget (0: none) is spent, another negative code when signing failed. */
int dnssec_online_sign(const struct dnssec_key *k, const uint8_t *data, size_t len, unsigned budget,
                       uint8_t sig[DNSSEC_P256_SIG_LEN]);

struct dnssec_online_stats {
    uint64_t hits, misses, refused;
};

/* Every thread's counts since start (for metrics). */
void dnssec_online_totals(struct dnssec_online_stats *out);

#endif
