/* siphash.c: SipHash-2-4, written from the description in the SipHash paper (2012). */
#include "server/siphash.h"

#include <errno.h>
#include <sys/random.h>

static inline uint64_t rotl64(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64 - b));
}

/* The words of the key, message and output are little-endian whatever the host. */
static inline uint64_t get64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

struct sipstate {
    uint64_t v0, v1, v2, v3;
};

static inline void sipround(struct sipstate *s)
{
    s->v0 += s->v1;
    s->v1 = rotl64(s->v1, 13);
    s->v1 ^= s->v0;
    s->v0 = rotl64(s->v0, 32);
    s->v2 += s->v3;
    s->v3 = rotl64(s->v3, 16);
    s->v3 ^= s->v2;
    s->v0 += s->v3;
    s->v3 = rotl64(s->v3, 21);
    s->v3 ^= s->v0;
    s->v2 += s->v1;
    s->v1 = rotl64(s->v1, 17);
    s->v1 ^= s->v2;
    s->v2 = rotl64(s->v2, 32);
}

/* Compression: two SipRounds per message word (the "2" of SipHash-2-4). */
static inline void sip_absorb(struct sipstate *s, uint64_t m)
{
    s->v3 ^= m;
    sipround(s);
    sipround(s);
    s->v0 ^= m;
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *msg, size_t len)
{
    const uint8_t *in = msg;
    uint64_t k0 = get64le(key), k1 = get64le(key + 8);
    /* the initial constants spell "somepseudorandomlygeneratedbytes" */
    struct sipstate s = {
        k0 ^ 0x736f6d6570736575ull,
        k1 ^ 0x646f72616e646f6dull,
        k0 ^ 0x6c7967656e657261ull,
        k1 ^ 0x7465646279746573ull,
    };
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8)
        sip_absorb(&s, get64le(in + i));
    /* the last word: the remaining 0..7 bytes, and len mod 256 in the top byte */
    uint64_t last = (uint64_t)(len & 0xff) << 56;
    for (size_t i = 0; i < (len & 7); i++)
        last |= (uint64_t)in[full + i] << (8 * i);
    sip_absorb(&s, last);
    /* finalization: four SipRounds (the "4") */
    s.v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(&s);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

int siphash_random_key(uint8_t key[SIPHASH_KEY_LEN])
{
    ssize_t got;
    while ((got = getrandom(key, SIPHASH_KEY_LEN, 0)) < 0 && errno == EINTR)
        ;
    if (got == SIPHASH_KEY_LEN)
        return 0;
    return got < 0 ? -errno : -EIO;
}
