/* cookie.c: RFC 9018 server cookies: SipHash-2-4 over client cookie, header and address. */
#include "server/cookie.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>

#include "server/siphash.h"
#include "server/text.h"

#define COOKIE_VERSION 1
#define HDR_LEN 8 /* version, reserved (3), timestamp (4) */

/* Hash = SipHash-2-4(Client Cookie | Version | Reserved | Timestamp | Client-IP, secret),
 * with the header bytes as they appear in the cookie. */
static uint64_t cookie_hash(const uint8_t *secret, const uint8_t *client, const uint8_t *hdr,
                            const uint8_t *ip, size_t iplen)
{
    uint8_t in[COOKIE_CLIENT_LEN + HDR_LEN + 16];
    if (iplen > 16)
        iplen = 0;
    memcpy(in, client, COOKIE_CLIENT_LEN);
    memcpy(in + COOKIE_CLIENT_LEN, hdr, HDR_LEN);
    if (iplen > 0)
        memcpy(in + COOKIE_CLIENT_LEN + HDR_LEN, ip, iplen);
    return siphash24(secret, in, COOKIE_CLIENT_LEN + HDR_LEN + iplen);
}

void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t client[COOKIE_CLIENT_LEN],
                 const uint8_t *ip, size_t iplen, uint32_t now, uint8_t out[COOKIE_SERVER_LEN])
{
    out[0] = COOKIE_VERSION;
    out[1] = out[2] = out[3] = 0;
    out[4] = (uint8_t)(now >> 24);
    out[5] = (uint8_t)(now >> 16);
    out[6] = (uint8_t)(now >> 8);
    out[7] = (uint8_t)now;
    siphash_put64le(out + HDR_LEN, cookie_hash(secret, client, out, ip, iplen));
}

enum cookie_verdict cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
                                 const uint8_t client[COOKIE_CLIENT_LEN], const uint8_t *server,
                                 size_t server_len, const uint8_t *ip, size_t iplen, uint32_t now)
{
    if (server_len != COOKIE_SERVER_LEN || server[0] != COOKIE_VERSION)
        return COOKIE_BAD;
    uint32_t ts = ((uint32_t)server[4] << 24) | ((uint32_t)server[5] << 16) |
                  ((uint32_t)server[6] << 8) | server[7];
    /* serial number arithmetic (RFC 1982): the timestamp wraps in 2106 */
    int32_t age = (int32_t)(now - ts);
    if (age > COOKIE_MAX_AGE || age < -COOKIE_MAX_AHEAD)
        return COOKIE_BAD;
    uint8_t want[8];
    siphash_put64le(want, cookie_hash(secret, client, server, ip, iplen));
    /* every byte compared whatever the first difference: no timing hint to a forger */
    uint8_t diff = 0;
    for (int i = 0; i < 8; i++)
        diff |= (uint8_t)(want[i] ^ server[HDR_LEN + i]);
    if (diff != 0)
        return COOKIE_BAD;
    return age >= COOKIE_RENEW_AGE ? COOKIE_STALE : COOKIE_FRESH;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int cookie_secret_parse(const char *text, size_t len, uint8_t out[COOKIE_SECRET_LEN])
{
    size_t b = 0;
    while (b < len && is_space(text[b]))
        b++;
    while (len > b && is_space(text[len - 1]))
        len--;
    if (len - b != 2 * COOKIE_SECRET_LEN)
        return -EINVAL;
    uint8_t key[COOKIE_SECRET_LEN];
    for (size_t i = 0; i < COOKIE_SECRET_LEN; i++) {
        int hi = text_hexval(text[b + 2 * i]), lo = text_hexval(text[b + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    memcpy(out, key, sizeof(key));
    return 0;
}

int cookie_secret_random(uint8_t out[COOKIE_SECRET_LEN])
{
    uint8_t key[COOKIE_SECRET_LEN];
    size_t got = 0;
    while (got < sizeof(key)) {
        ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        got += (size_t)n;
    }
    memcpy(out, key, sizeof(key));
    return 0;
}
