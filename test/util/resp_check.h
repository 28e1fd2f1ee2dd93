/* resp_check.h: an independent check that a DNS response is well formed for its query.
 *
 * Used by the fuzz targets, the unit tests and the wirecheck tool; it shares no code with
 * the server. resp_check() parses the response with ldns, then walks it itself: every
 * compression pointer must point strictly backward to a label of a name already complete,
 * header counts must match the records present with nothing after them, ID, OPCODE and
 * (when the query had one) the question must be echoed, QR must be set and the length
 * within the given limit. The caller owns every buffer; nothing is kept between calls. */
#ifndef GSLBD_RESP_CHECK_H
#define GSLBD_RESP_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Error codes: which rule a response broke (resp_check_strerror names each). */
enum {
    RESP_ESHORT = -1,     /* shorter than a header */
    RESP_ESIZE = -2,      /* longer than the limit that applied */
    RESP_EQR = -3,        /* QR clear */
    RESP_EID = -4,        /* ID not copied */
    RESP_EOPCODE = -5,    /* OPCODE not copied */
    RESP_EQUESTION = -6,  /* question not echoed byte for byte */
    RESP_ENAME = -7,      /* a name runs past its end, has a bad label type or is too long */
    RESP_EPOINTER = -8,   /* a compression pointer not to an earlier complete name */
    RESP_ECOUNT = -9,     /* header counts claim records that are not there */
    RESP_ETRAILING = -10, /* bytes after the last record */
    RESP_ERDATA = -11,    /* RDATA does not match its type's layout */
    RESP_EOPT = -12,      /* OPT misplaced, doubled, not at the root or options not tiling */
    RESP_ELDNS = -13,     /* ldns_wire2pkt refuses the message */
    RESP_ENOMEM = -14,
};

/* What the check saw; filled as far as the walk got, why[] says what failed and where. */
struct resp_info {
    uint16_t flags; /* second header word */
    uint8_t rcode;  /* header RCODE plus the OPT's extended bits */
    unsigned qd, an, ns, ar;
    int opts;         /* OPT records seen */
    size_t opt_rdata; /* offset of the OPT RDATA when opts == 1 */
    uint16_t opt_rdlen;
    uint16_t opt_udp;
    char why[160];
};

/* Check response r[0..rlen) to query q[0..qlen) against limit bytes. info may be NULL.
 * Returns 0 or one of the RESP_E* codes. */
int resp_check(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen, size_t limit,
               struct resp_info *info);

/* The UDP size limit for an answer to query q (UDP-1, EDNS-5): 512 unless the query carries
 * one OPT in its additional section, then min(max(its size, 512), server_max). */
size_t resp_udp_limit(const uint8_t *q, size_t qlen, size_t server_max);

const char *resp_check_strerror(int code);

#endif
