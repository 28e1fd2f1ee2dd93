/* tcp_src.h: open TCP connections per client address across all workers, so that
 * tcp.max_per_source holds per address and not per worker (TCP-6). A fixed table of
 * address keys and counts in stripes of its own lock each: taken at accept and close only,
 * never per query, and by two workers at once only when their clients hash to one stripe.
 * The server owns the table (server.h); every worker borrows it while it runs. */
#ifndef GSLBD_TCP_SRC_H
#define GSLBD_TCP_SRC_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_SRC_KEY_LEN 17 /* address family, then the IPv4 or IPv6 address, zero padded */
#define TCP_SRC_STRIPES 64

struct tcp_src;

enum tcp_src_result {
    TCP_SRC_HELD,      /* counted: release it when the connection closes */
    TCP_SRC_AT_CAP,    /* cap connections of this address are open already: nothing counted */
    TCP_SRC_UNTRACKED, /* the address's stripe is full: admitted without a count (see below) */
};

/* A table for about `entries` addresses (rounded up to a power of two, at least 1024),
 * with a random hash key. 0 or -ENOMEM / -errno; *out is set only on success. */
int tcp_src_new(uint32_t entries, struct tcp_src **out);

void tcp_src_free(struct tcp_src *t); /* NULL is a no-op */

uint32_t tcp_src_entries(const struct tcp_src *t);

/* Count one more open connection from key unless cap are open already. A full stripe
 * (more addresses with open connections than the table was sized for) lets the connection
 * in uncounted rather than refuse a client for the table's sake: tcp.max_connections
 * still bounds it. Any thread. */
enum tcp_src_result tcp_src_acquire(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN],
                                    uint32_t cap);

/* One connection counted by tcp_src_acquire (TCP_SRC_HELD) closed. Any thread. */
void tcp_src_release(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN]);

/* Open connections counted for key now (for tests and checks). */
uint32_t tcp_src_count(struct tcp_src *t, const uint8_t key[TCP_SRC_KEY_LEN]);

/* Addresses with at least one counted connection (for tests: 0 once all are closed). */
uint32_t tcp_src_addresses(struct tcp_src *t);

#endif
