/* cookie.h: DNS server cookies (RFC 7873 with the RFC 9018 version 1 construction): making
 * and checking the 16-byte server cookie that binds a client cookie and a client address
 * to the server secret. Pure functions of their arguments (the clock is passed in); the
 * caller owns every buffer. */
#ifndef GSLBD_COOKIE_H
#define GSLBD_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define COOKIE_CLIENT_LEN 8
#define COOKIE_SERVER_LEN 16  /* ours: version, reserved, timestamp, hash */
#define COOKIE_SERVER_MAX 32  /* a client may send back up to 32 bytes (RFC 7873 4) */
#define COOKIE_SECRET_LEN 16  /* the SipHash-2-4 key */
#define COOKIE_MAX_AGE 3600   /* a server cookie is accepted for one hour (RFC 9018 4.3) */
#define COOKIE_MAX_AHEAD 300  /* and up to five minutes in the future (clock skew) */
#define COOKIE_RENEW_AGE 1800 /* and replaced by a new one once half an hour old */

enum cookie_verdict {
    COOKIE_BAD = 0, /* not one of ours: other secret, client cookie, address or format, or
                     * outside its time window; the answer carries a new one */
    COOKIE_FRESH,   /* ours, under COOKIE_RENEW_AGE old: may be echoed as it is */
    COOKIE_STALE,   /* ours and valid, but due for renewal */
};

/* Write into out the server cookie for client cookie `client` from the client address ip
 * (iplen 4 or 16 bytes; 0 when unknown) at time now (seconds since 1970, modulo 2^32). */
void cookie_make(const uint8_t secret[COOKIE_SECRET_LEN], const uint8_t client[COOKIE_CLIENT_LEN],
                 const uint8_t *ip, size_t iplen, uint32_t now, uint8_t out[COOKIE_SERVER_LEN]);

/* Judge the server cookie a query sent back (server_len bytes at server) for the same
 * client cookie and address at time now. */
enum cookie_verdict cookie_check(const uint8_t secret[COOKIE_SECRET_LEN],
                                 const uint8_t client[COOKIE_CLIENT_LEN], const uint8_t *server,
                                 size_t server_len, const uint8_t *ip, size_t iplen, uint32_t now);

/* Parse a secret written as 32 hex digits, white space allowed around it.
 * 0, or -EINVAL (out untouched). */
int cookie_secret_parse(const char *text, size_t len, uint8_t out[COOKIE_SECRET_LEN]);

/* A secret from the kernel's random source. 0, or -errno (out untouched). */
int cookie_secret_random(uint8_t out[COOKIE_SECRET_LEN]);

#endif
