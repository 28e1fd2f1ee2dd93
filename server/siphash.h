/* siphash.h: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed 64-bit PRF for short
 * messages: DNS server cookies (RFC 9018) and the RRL table's keys. No state, no allocation. */
#ifndef GSLBD_SIPHASH_H
#define GSLBD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/* SipHash-2-4 of len bytes of msg under the 128-bit key. The result is the 64-bit value of
 * the paper; its byte string form (as in RFC 9018 cookies) is this value little-endian. */
/* Fill key from the kernel's random pool (getrandom; blocks only before the pool is first
 * ready, in early boot). 0 or -errno. */
int siphash_random_key(uint8_t key[SIPHASH_KEY_LEN]);

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len);

/* Store v as 8 little-endian bytes (the byte order SipHash output is sent in). */
static inline void siphash_put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
