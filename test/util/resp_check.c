/* resp_check.c: checks a DNS response's shape against its query, independently of the server. */
#include "resp_check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#define HDR 12
#define T_OPT 41

/* One walk over a message. start[i] is 0 unless a name already complete has a label (or
 * its root byte) at offset i; then it is 1 + the expanded length of the name from there. */
struct walk {
    const uint8_t *m;
    size_t len;
    uint16_t *start;
    struct resp_info *info;
};

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int fail(struct resp_info *info, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct resp_info *info, int code, const char *fmt, ...)
{
    if (info != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(info->why, sizeof(info->why), fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Read the name at *off and move *off past it. Pointers are allowed only when compress is
 * set, and only to a label of a name that was complete before this one began: that rules
 * out forward pointers, pointers to themselves, into this name, into the middle of a label
 * or into non-name bytes, and with them every loop. Then the name's own labels become
 * targets for later names. */
static int walk_name(struct walk *w, size_t *off, bool compress, const char *where)
{
    size_t labels[128], nl = 0, pos = *off, total = 0, tail = 0;
    for (;;) {
        if (pos >= w->len)
            return fail(w->info, RESP_ENAME, "%s name at %zu runs past the end", where, *off);
        uint8_t b = w->m[pos];
        if ((b & 0xC0) == 0xC0) {
            if (pos + 1 >= w->len)
                return fail(w->info, RESP_ENAME, "%s name at %zu: truncated pointer", where, *off);
            size_t t = (size_t)(b & 0x3F) << 8 | w->m[pos + 1];
            if (!compress)
                return fail(w->info, RESP_EPOINTER,
                            "%s name at %zu: pointer at %zu where names must not be compressed",
                            where, *off, pos);
            if (t >= pos)
                return fail(w->info, RESP_EPOINTER,
                            "%s name at %zu: pointer at %zu to %zu is not backward", where, *off,
                            pos, t);
            if (w->start[t] == 0)
                return fail(w->info, RESP_EPOINTER,
                            "%s name at %zu: pointer at %zu to %zu, not a label of an earlier "
                            "complete name",
                            where, *off, pos, t);
            tail = w->start[t] - 1u;
            if (total + tail > 255)
                return fail(w->info, RESP_ENAME, "%s name at %zu longer than 255 octets", where,
                            *off);
            pos += 2;
            break;
        }
        if ((b & 0xC0) != 0)
            return fail(w->info, RESP_ENAME, "%s name at %zu: label type 0x%02x at %zu", where,
                        *off, b & 0xC0, pos);
        total += 1u + b;
        if (total > 255)
            return fail(w->info, RESP_ENAME, "%s name at %zu longer than 255 octets", where, *off);
        labels[nl++] = pos;
        pos += 1u + b;
        if (b == 0)
            break;
    }
    size_t left = total + tail;
    for (size_t k = 0; k < nl; k++) {
        w->start[labels[k]] = (uint16_t)(left + 1);
        left -= 1u + w->m[labels[k]];
    }
    *off = pos;
    return 0;
}

/* The names in RDATA: which types carry them, where, and whether RFC 1035 lets them be
 * compressed (RFC 3597 section 4: only the types of RFC 1035 itself). skip[] is the fixed
 * part before each name; after the last name come tail fixed bytes (-1: any rest). */
struct rd_layout {
    uint16_t type;
    bool compress;
    uint8_t nnames;
    uint8_t skip[2];
    int tail;
};

static const struct rd_layout layouts[] = {
    {2, true, 1, {0, 0}, 0},     /* NS */
    {3, true, 1, {0, 0}, 0},     /* MD */
    {4, true, 1, {0, 0}, 0},     /* MF */
    {5, true, 1, {0, 0}, 0},     /* CNAME */
    {6, true, 2, {0, 0}, 20},    /* SOA */
    {7, true, 1, {0, 0}, 0},     /* MB */
    {8, true, 1, {0, 0}, 0},     /* MG */
    {9, true, 1, {0, 0}, 0},     /* MR */
    {12, true, 1, {0, 0}, 0},    /* PTR */
    {14, true, 2, {0, 0}, 0},    /* MINFO */
    {15, true, 1, {2, 0}, 0},    /* MX */
    {17, false, 2, {0, 0}, 0},   /* RP */
    {18, false, 1, {2, 0}, 0},   /* AFSDB */
    {21, false, 1, {2, 0}, 0},   /* RT */
    {26, false, 2, {2, 0}, 0},   /* PX */
    {33, false, 1, {6, 0}, 0},   /* SRV */
    {36, false, 1, {2, 0}, 0},   /* KX */
    {39, false, 1, {0, 0}, 0},   /* DNAME */
    {47, false, 1, {0, 0}, -1},  /* NSEC: next name, then the type bitmap */
    {46, false, 1, {18, 0}, -1}, /* RRSIG: signer after 18 fixed bytes, then the signature */
};

static const char *type_tag(uint16_t type, char *buf, size_t cap)
{
    snprintf(buf, cap, "type %u RDATA", type);
    return buf;
}

static int walk_rdata(struct walk *w, uint16_t type, size_t rd, size_t rdlen)
{
    const struct rd_layout *l = NULL;
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
        if (layouts[i].type == type)
            l = &layouts[i];
    if (l == NULL || rdlen == 0)
        return 0; /* opaque to us (an empty RDATA is an update's, ldns judges it) */
    char tag[32];
    size_t end = rd + rdlen, off = rd;
    /* The names must stay inside the RDATA: walk a view that ends there. */
    struct walk sub = *w;
    sub.len = end;
    for (uint8_t k = 0; k < l->nnames; k++) {
        off += l->skip[k];
        if (off >= end)
            return fail(w->info, RESP_ERDATA, "type %u RDATA at %zu too short for its names", type,
                        rd);
        int r = walk_name(&sub, &off, l->compress, type_tag(type, tag, sizeof(tag)));
        if (r < 0)
            return r;
    }
    if (l->tail >= 0 && off + (size_t)l->tail != end)
        return fail(w->info, RESP_ERDATA, "type %u RDATA at %zu: %zu bytes, layout wants %zu", type,
                    rd, rdlen, off + (size_t)l->tail - rd);
    return 0;
}

/* The question of query q: its length from offset 12 when q has exactly one that parses
 * (uncompressed, inside the message), else 0. */
static size_t query_question(const uint8_t *q, size_t qlen)
{
    if (qlen < HDR || get16(q + 4) != 1)
        return 0;
    size_t pos = HDR, total = 0;
    for (;;) {
        if (pos >= qlen || (q[pos] & 0xC0) != 0)
            return 0;
        total += 1u + q[pos];
        if (total > 255)
            return 0;
        if (q[pos] == 0)
            break;
        pos += 1u + q[pos];
    }
    pos++;
    return pos + 4 <= qlen ? pos + 4 - HDR : 0;
}

static int check_opt(struct walk *w, size_t owner, size_t off, size_t rdlen, bool in_additional)
{
    struct resp_info *info = w->info;
    if (!in_additional)
        return fail(info, RESP_EOPT, "OPT at %zu outside the additional section", owner);
    if (w->m[owner] != 0)
        return fail(info, RESP_EOPT, "OPT at %zu: owner is not the root", owner);
    if (++info->opts > 1)
        return fail(info, RESP_EOPT, "second OPT at %zu", owner);
    info->opt_udp = get16(w->m + off + 2);
    info->rcode = (uint8_t)(info->rcode | w->m[off + 4] << 4);
    info->opt_rdata = off + 10;
    info->opt_rdlen = (uint16_t)rdlen;
    const uint8_t *o = w->m + off + 10;
    for (size_t p = 0; p < rdlen;) {
        if (rdlen - p < 4 || get16(o + p + 2) > rdlen - p - 4)
            return fail(info, RESP_EOPT, "OPT at %zu: options do not tile the RDATA", owner);
        p += 4u + get16(o + p + 2);
    }
    return 0;
}

static int walk_message(struct walk *w)
{
    struct resp_info *info = w->info;
    size_t off = HDR;
    for (unsigned i = 0; i < info->qd; i++) {
        int r = walk_name(w, &off, true, "question");
        if (r < 0)
            return r;
        if (off + 4 > w->len)
            return fail(info, RESP_ECOUNT, "question %u runs past the end", i + 1);
        off += 4;
    }
    unsigned total = info->an + info->ns + info->ar;
    for (unsigned i = 0; i < total; i++) {
        size_t owner = off;
        if (off >= w->len)
            return fail(info, RESP_ECOUNT, "counts claim %u records, message ends after %u", total,
                        i);
        int r = walk_name(w, &off, true, "owner");
        if (r < 0)
            return r;
        if (off + 10 > w->len)
            return fail(info, RESP_ECOUNT, "record %u at %zu: header runs past the end", i + 1,
                        owner);
        uint16_t type = get16(w->m + off);
        size_t rdlen = get16(w->m + off + 8);
        if (off + 10 + rdlen > w->len)
            return fail(info, RESP_ECOUNT, "record %u at %zu: RDATA runs past the end", i + 1,
                        owner);
        if (type == T_OPT)
            r = check_opt(w, owner, off, rdlen, i >= info->an + info->ns);
        else
            r = walk_rdata(w, type, off + 10, rdlen);
        if (r < 0)
            return r;
        off += 10 + rdlen;
    }
    if (off != w->len)
        return fail(info, RESP_ETRAILING, "%zu bytes after the last record (at %zu)", w->len - off,
                    off);
    return 0;
}

static int check_header(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen,
                        struct resp_info *info)
{
    if (!(r[2] & 0x80))
        return fail(info, RESP_EQR, "QR clear");
    if (qlen >= 2 && memcmp(r, q, 2) != 0)
        return fail(info, RESP_EID, "ID %04x, query's %04x", get16(r), get16(q));
    unsigned qop = qlen >= 3 ? (q[2] >> 3) & 0x0F : 0, rop = (r[2] >> 3) & 0x0F;
    if (qlen >= 3 && qop != rop)
        return fail(info, RESP_EOPCODE, "OPCODE %u, query's %u", rop, qop);
    /* HDR-1: the question copied byte for byte; FORMERR and other opcodes may omit it. */
    size_t qq = query_question(q, qlen);
    bool formerr = (r[3] & 0x0F) == 1;
    if (info->qd > 0 && qq == 0)
        return fail(info, RESP_EQUESTION, "a question in the answer to a query without one");
    if (info->qd == 0 && qq > 0 && qop == 0 && !formerr)
        return fail(info, RESP_EQUESTION, "question not echoed");
    if (info->qd > 0 && (info->qd != 1 || rlen < HDR + qq || memcmp(r + HDR, q + HDR, qq) != 0))
        return fail(info, RESP_EQUESTION, "question differs from the query's");
    return 0;
}

int resp_check(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen, size_t limit,
               struct resp_info *info)
{
    struct resp_info scratch;
    if (info == NULL)
        info = &scratch;
    memset(info, 0, sizeof(*info));
    if (rlen < HDR)
        return fail(info, RESP_ESHORT, "%zu bytes, shorter than a header", rlen);
    if (rlen > limit)
        return fail(info, RESP_ESIZE, "%zu bytes, over the limit of %zu", rlen, limit);
    info->flags = get16(r + 2);
    info->rcode = r[3] & 0x0F;
    info->qd = get16(r + 4);
    info->an = get16(r + 6);
    info->ns = get16(r + 8);
    info->ar = get16(r + 10);
    int rc = check_header(q, qlen, r, rlen, info);
    if (rc < 0)
        return rc;
    struct walk w = {.m = r, .len = rlen, .info = info};
    w.start = calloc(rlen, sizeof(*w.start));
    if (w.start == NULL)
        return fail(info, RESP_ENOMEM, "out of memory");
    rc = walk_message(&w);
    free(w.start);
    if (rc < 0)
        return rc;
    ldns_pkt *pkt = NULL;
    ldns_status st = ldns_wire2pkt(&pkt, r, rlen);
    ldns_pkt_free(pkt);
    if (st != LDNS_STATUS_OK)
        return fail(info, RESP_ELDNS, "ldns: %s", ldns_get_errorstr_by_id(st));
    return 0;
}

size_t resp_udp_limit(const uint8_t *q, size_t qlen, size_t server_max)
{
    if (qlen < HDR)
        return 512;
    unsigned qd = get16(q + 4), rrs = get16(q + 6) + get16(q + 8) + get16(q + 10);
    unsigned additional_from = get16(q + 6) + get16(q + 8);
    size_t off = HDR;
    /* a plain skip of the query's records; anything malformed means no usable OPT */
    for (unsigned i = 0; i < qd + rrs; i++) {
        for (;;) {
            if (off >= qlen)
                return 512;
            uint8_t b = q[off];
            if ((b & 0xC0) == 0xC0) {
                off += 2;
                break;
            }
            if ((b & 0xC0) != 0)
                return 512;
            off += 1u + b;
            if (b == 0)
                break;
        }
        if (i < qd) {
            off += 4;
            continue;
        }
        if (off + 10 > qlen)
            return 512;
        if (get16(q + off) == T_OPT && i - qd >= additional_from) {
            size_t size = get16(q + off + 2);
            if (size < 512)
                size = 512;
            return size < server_max ? size : server_max;
        }
        off += 10u + get16(q + off + 8);
    }
    return 512;
}

const char *resp_check_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case RESP_ESHORT:
        return "shorter than a header";
    case RESP_ESIZE:
        return "over the size limit";
    case RESP_EQR:
        return "QR clear";
    case RESP_EID:
        return "ID not copied";
    case RESP_EOPCODE:
        return "OPCODE not copied";
    case RESP_EQUESTION:
        return "question not echoed";
    case RESP_ENAME:
        return "malformed name";
    case RESP_EPOINTER:
        return "bad compression pointer";
    case RESP_ECOUNT:
        return "header counts do not match the records";
    case RESP_ETRAILING:
        return "bytes after the last record";
    case RESP_ERDATA:
        return "RDATA does not match its type";
    case RESP_EOPT:
        return "malformed OPT";
    case RESP_ELDNS:
        return "ldns refuses the message";
    case RESP_ENOMEM:
        return "out of memory";
    default:
        return "unknown error";
    }
}
