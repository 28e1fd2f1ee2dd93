/* wire.h: the DNS wire codec of the query path: a strict query parser (header, question,
 * OPT with ECS, COOKIE and NSID) and a response writer with name compression. Neither
 * allocates; the writer fills a buffer the caller owns. */
#ifndef GSLBD_WIRE_H
#define GSLBD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns/dname.h"

enum {
    DNS_HDR = 12,
    DNS_T_A = 1,
    DNS_T_NS = 2,
    DNS_T_CNAME = 5,
    DNS_T_SOA = 6,
    DNS_T_PTR = 12,
    DNS_T_HINFO = 13,
    DNS_T_MX = 15,
    DNS_T_TXT = 16,
    DNS_T_AAAA = 28,
    DNS_T_SRV = 33,
    DNS_T_DNAME = 39,
    DNS_T_OPT = 41,
    DNS_T_DS = 43,
    DNS_T_RRSIG = 46,
    DNS_T_DNSKEY = 48,
    DNS_T_IXFR = 251,
    DNS_T_AXFR = 252,
    DNS_T_ANY = 255,
    DNS_C_IN = 1,
    DNS_C_CH = 3,
    DNS_C_ANY = 255,
    DNS_R_NOERROR = 0,
    DNS_R_FORMERR = 1,
    DNS_R_SERVFAIL = 2,
    DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4,
    DNS_R_REFUSED = 5,
    DNS_R_YXDOMAIN = 6,
    DNS_R_BADVERS = 16,
    EDNS_O_NSID = 3,
    EDNS_O_ECS = 8,
    EDNS_O_COOKIE = 10,
};

/* Header flag bits in the second 16-bit word. */
#define DNS_F_QR 0x8000u
#define DNS_F_AA 0x0400u
#define DNS_F_TC 0x0200u
#define DNS_F_RD 0x0100u
#define DNS_F_CD 0x0010u

/* Result of parsing a query. */
/* One record's RDATA in wire form, names uncompressed and with the case of the file. */
struct wire_rr {
    const uint8_t *rdata;
    uint16_t rdlen;
    /* Names inside rdata that may be compressed (RFC 1035 types only: NS, CNAME, SOA,
     * PTR, MX, MB, MG, MR, MINFO, MD, MF); offsets into rdata. */
    uint8_t ncomp;
    uint16_t comp_off[2];
};

enum wire_status {
    WIRE_OK = 0,
    WIRE_DROP = -1,    /* no reply at all (HDR-4) */
    WIRE_FORMERR = -2, /* malformed: FORMERR */
    WIRE_BADVERS = -3, /* EDNS version above 0 */
};

struct wire_query {
    uint16_t id;
    uint16_t flags; /* second header word as received */
    uint8_t opcode;
    /* question, when has_question */
    bool has_question;
    uint16_t qtype;
    uint16_t qclass;
    uint8_t qname_len;        /* wire length of the name in the packet (uncompressed) */
    size_t question_end;      /* offset just past QTYPE/QCLASS */
    uint8_t lname[DNAME_MAX]; /* lowercased qname */
    struct dname_labels labels;
    /* EDNS: edns set once an OPT record was seen (even a bad one) */
    bool edns;
    uint8_t edns_version;
    bool edns_do;
    bool edns_co; /* RFC 9824: the client accepts NXDOMAIN with compact denial */
    uint16_t edns_udp;
    bool nsid;
    bool ecs;
    uint8_t ecs_family; /* 1 = IPv4, 2 = IPv6 */
    uint8_t ecs_source;
    uint8_t ecs_addr[16]; /* bits past ecs_source are zero */
    bool cookie;
    uint8_t cookie_server_len; /* 0: a client cookie only; else 8..32 bytes came back */
    uint8_t cookie_client[8];
    uint8_t cookie_server[32];
    uint8_t noptions; /* EDNS options seen (saturating) */
};

/* Parse len bytes of pkt. Fills q as far as it got (has_question, edns tell what is
 * trustworthy for building an error response). */
enum wire_status wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q);

/* Compression targets remembered per response; more are simply not used. */
#define WIRE_COMP_MAX 96

struct wire_writer {
    uint8_t *buf;
    size_t len;   /* bytes written */
    size_t limit; /* bytes that may be written */
    uint16_t ncomp;
    uint16_t comp[WIRE_COMP_MAX]; /* offsets of label starts written in full */
};

/* Writer state saved before an RRset so a failed RRset can be undone whole. */
struct wire_mark {
    size_t len;
    uint16_t ncomp;
};

static inline struct wire_mark wire_mark(const struct wire_writer *w)
{
    struct wire_mark m = {w->len, w->ncomp};
    return m;
}

static inline void wire_rewind(struct wire_writer *w, struct wire_mark m)
{
    w->len = m.len;
    w->ncomp = m.ncomp;
}

/* Register the labels of a name already in the buffer at off (for the question). */
void wire_comp_add_name(struct wire_writer *w, size_t off);

/* Write name (wire form, any case) compressed; returns its offset or -1 if no room. */
int wire_put_name(struct wire_writer *w, const uint8_t *name);

/* Write one RR whose owner is already in the buffer at owner_off (a pointer is written).
 * RDATA names listed in rr->comp_off are compressed. Returns the offset of the RDATA, or
 * -1 if it does not fit (the writer is then unchanged). */
int wire_put_rr_ptr(struct wire_writer *w, uint16_t owner_off, uint16_t type, uint16_t cls,
                    uint32_t ttl, const struct wire_rr *rr);

/* The same with the owner written (compressed) from a name. */
int wire_put_rr_name(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint16_t cls,
                     uint32_t ttl, const struct wire_rr *rr);

static inline void wire_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline uint16_t wire_get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
