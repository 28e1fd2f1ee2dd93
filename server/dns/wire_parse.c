/* wire_parse.c: strict parsing of an incoming DNS query (RFC 1035, 6891, 7871, 7873, 5001). */
#include "server/dns/wire.h"

#include <errno.h>
#include <string.h>

#define PTR_HOPS_MAX 64

/* Validate the (possibly compressed) name at *pos; advance *pos past it in place.
 * Pointers must point strictly backwards, inside the message. Returns 0 or -EBADMSG.
 * When out is not NULL the lowercase expanded name is written there. */
static int skip_name(const uint8_t *pkt, size_t len, size_t *pos, uint8_t *out, size_t *outlen)
{
    size_t p = *pos, total = 0, end = 0;
    bool jumped = false;
    int hops = 0;
    size_t limit = p; /* a pointer must point before the name that holds it */

    for (;;) {
        if (p >= len)
            return -EBADMSG;
        uint8_t c = pkt[p];
        if ((c & 0xC0) == 0xC0) {
            if (p + 1 >= len)
                return -EBADMSG;
            size_t target = ((size_t)(c & 0x3F) << 8) | pkt[p + 1];
            if (!jumped)
                end = p + 2;
            if (target >= limit || ++hops > PTR_HOPS_MAX)
                return -EBADMSG;
            limit = target;
            p = target;
            jumped = true;
            continue;
        }
        if (c & 0xC0) /* 0x40 / 0x80: obsolete or unknown label types */
            return -EBADMSG;
        if (total + 1u + c > DNAME_MAX)
            return -EBADMSG;
        if (p + 1u + c > len)
            return -EBADMSG;
        total += 1u + c;
        if (c == 0) {
            if (!jumped)
                end = p + 1;
            break;
        }
        p += 1u + c;
    }
    if (out != NULL) {
        if (!jumped) {
            /* one run of bytes: length bytes (<= 63) are no letters, so lowercase it all */
            dname_lower_bytes(out, pkt + *pos, total);
        } else {
            /* a valid compressed name: follow it again, copying label by label */
            size_t q = *pos, n = 0;
            for (;;) {
                uint8_t c = pkt[q];
                if ((c & 0xC0) == 0xC0) {
                    q = ((size_t)(c & 0x3F) << 8) | pkt[q + 1];
                    continue;
                }
                out[n] = c;
                dname_lower_bytes(out + n + 1, pkt + q + 1, c);
                n += 1u + c;
                if (c == 0)
                    break;
                q += 1u + c;
            }
        }
    }
    *pos = end;
    if (outlen != NULL)
        *outlen = total;
    return 0;
}

static int parse_ecs(const uint8_t *o, uint16_t olen, struct wire_query *q)
{
    if (q->ecs || olen < 4)
        return -EBADMSG;
    uint16_t family = wire_get16(o);
    uint8_t source = o[2], scope = o[3];
    unsigned maxbits = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (maxbits == 0 || source > maxbits || scope != 0)
        return -EBADMSG;
    unsigned nbytes = (source + 7u) / 8u;
    if ((unsigned)olen - 4u != nbytes)
        return -EBADMSG;
    memset(q->ecs_addr, 0, sizeof(q->ecs_addr));
    memcpy(q->ecs_addr, o + 4, nbytes);
    if (source % 8 != 0) {
        uint8_t mask = (uint8_t)(0xFFu >> (source % 8));
        if (q->ecs_addr[nbytes - 1] & mask)
            return -EBADMSG;
    }
    q->ecs = true;
    q->ecs_family = (uint8_t)family;
    q->ecs_source = source;
    return 0;
}

/* The OPT record's fixed part and options. */
static enum wire_status parse_opt(const uint8_t *rr, const uint8_t *rdata, uint16_t rdlen,
                                  struct wire_query *q)
{
    q->edns_udp = wire_get16(rr + 2);
    q->edns_version = rr[5];
    q->edns_do = (rr[6] & 0x80) != 0;
    q->edns_co = (rr[6] & 0x40) != 0;
    if (q->edns_version != 0)
        return WIRE_BADVERS;
    size_t p = 0;
    while (p < rdlen) {
        if (rdlen - p < 4)
            return WIRE_FORMERR;
        uint16_t code = wire_get16(rdata + p), olen = wire_get16(rdata + p + 2);
        p += 4;
        if (olen > rdlen - p)
            return WIRE_FORMERR;
        const uint8_t *o = rdata + p;
        if (q->noptions < UINT8_MAX)
            q->noptions++;
        switch (code) {
        case EDNS_O_ECS:
            if (parse_ecs(o, olen, q) < 0)
                return WIRE_FORMERR;
            break;
        case EDNS_O_COOKIE:
            /* client cookie 8 bytes, optionally a server cookie of 8..32 (RFC 7873 4) */
            /* a bad or second COOKIE: FORMERR without a COOKIE (EDNS-6) */
            if (q->cookie || !(olen == 8 || (olen >= 16 && olen <= 40))) {
                q->cookie = false;
                q->cookie_server_len = 0;
                return WIRE_FORMERR;
            }
            q->cookie = true;
            memcpy(q->cookie_client, o, 8);
            q->cookie_server_len = (uint8_t)(olen - 8);
            memcpy(q->cookie_server, o + 8, olen - 8u);
            break;
        case EDNS_O_NSID:
            q->nsid = true;
            break;
        default:
            break; /* unknown options are ignored (EDNS-4) */
        }
        p += olen;
    }
    return WIRE_OK;
}

enum wire_status wire_parse_query(const uint8_t *pkt, size_t len, struct wire_query *q)
{
    q->has_question = q->edns = q->edns_do = q->edns_co = false;
    q->nsid = q->ecs = q->cookie = false;
    q->cookie_server_len = 0;
    q->noptions = 0;
    q->edns_version = 0;
    q->edns_udp = 0;
    if (len < DNS_HDR)
        return WIRE_DROP;
    q->id = wire_get16(pkt);
    q->flags = wire_get16(pkt + 2);
    q->opcode = (uint8_t)((q->flags >> 11) & 0xF);
    if (q->flags & DNS_F_QR)
        return WIRE_DROP;

    uint16_t qd = wire_get16(pkt + 4), an = wire_get16(pkt + 6), ns = wire_get16(pkt + 8),
             ar = wire_get16(pkt + 10);
    size_t pos = DNS_HDR;
    /* every question is read (so a later OPT is still seen for the FORMERR reply); only
     * the first is kept, and QDCOUNT other than 1 is judged after the whole message */
    for (unsigned i = 0; i < qd; i++) {
        size_t nlen = 0, start = pos;
        uint8_t *dst = i == 0 ? q->lname : NULL;
        if (skip_name(pkt, len, &pos, dst, &nlen) < 0)
            return WIRE_FORMERR;
        if (len - pos < 4)
            return WIRE_FORMERR;
        if (i > 0) {
            pos += 4;
            continue;
        }
        if (pos - start != nlen) /* the question name must not be compressed */
            return WIRE_FORMERR;
        q->qname_len = (uint8_t)nlen;
        q->qtype = wire_get16(pkt + pos);
        q->qclass = wire_get16(pkt + pos + 2);
        pos += 4;
        q->question_end = pos;
        if (dname_split(q->lname, nlen, &q->labels) < 0)
            return WIRE_FORMERR;
        q->has_question = qd == 1;
    }

    enum wire_status st = WIRE_OK;
    unsigned total = (unsigned)an + ns + ar;
    for (unsigned i = 0; i < total; i++) {
        size_t owner = pos;
        uint8_t oname[DNAME_MAX];
        size_t olen = 0;
        if (skip_name(pkt, len, &pos, oname, &olen) < 0)
            return WIRE_FORMERR;
        if (len - pos < 10)
            return WIRE_FORMERR;
        const uint8_t *rr = pkt + pos;
        uint16_t type = wire_get16(rr), rdlen = wire_get16(rr + 8);
        pos += 10;
        bool dup = false;
        if (type == DNS_T_OPT) { /* seen even when broken: the FORMERR carries an OPT */
            dup = q->edns;
            q->edns = true;
            q->edns_do = (rr[6] & 0x80) != 0;
            q->edns_co = (rr[6] & 0x40) != 0;
        }
        if (rdlen > len - pos)
            return WIRE_FORMERR;
        if (type == DNS_T_OPT) {
            bool in_additional = i >= (unsigned)an + ns;
            if (!in_additional || dup || olen != 1 || pkt[owner] != 0)
                return WIRE_FORMERR; /* EDNS-2 */
            enum wire_status os = parse_opt(rr, pkt + pos, rdlen, q);
            if (os == WIRE_FORMERR)
                return os;
            if (os == WIRE_BADVERS)
                st = os;
        }
        pos += rdlen;
    }
    if (pos != len)
        return WIRE_FORMERR; /* */
    if (q->opcode != 0)
        return st;
    if (qd > 1)
        return WIRE_FORMERR; /* OP-2 */
    if (qd == 0 && !(q->cookie && q->noptions == 1 && an == 0 && ns == 0 && ar == 1))
        return WIRE_FORMERR; /* OP-2: no question is only valid with a lone COOKIE */
    return st;
}
