/* wire_write.c: writing response records into a buffer, with RFC 1035 name compression. */
#include "server/dns/wire.h"

#include <string.h>

static void comp_add(struct wire_writer *w, size_t off)
{
    if (w->ncomp < WIRE_COMP_MAX && off < 0x4000)
        w->comp[w->ncomp++] = (uint16_t)off;
}

void wire_comp_add_name(struct wire_writer *w, size_t off)
{
    while (w->buf[off] != 0 && (w->buf[off] & 0xC0) == 0) {
        comp_add(w, off);
        off += 1u + w->buf[off];
    }
}

/* Does the name in the buffer at off (following pointers) equal name, ignoring case? */
static bool name_at_equals(const uint8_t *buf, size_t off, const uint8_t *name)
{
    for (int hops = 0; hops < 32;) {
        uint8_t c = buf[off];
        if ((c & 0xC0) == 0xC0) {
            off = ((size_t)(c & 0x3F) << 8) | buf[off + 1];
            hops++;
            continue;
        }
        if (c != name[0])
            return false;
        if (c == 0)
            return true;
        for (uint8_t i = 1; i <= c; i++)
            if (dname_lower(buf[off + i]) != dname_lower(name[i]))
                return false;
        off += 1u + c;
        name += 1u + c;
    }
    return false;
}

/* Offset of a name already written that equals name, or -1. */
static int find_comp(const struct wire_writer *w, const uint8_t *name)
{
    for (uint16_t i = 0; i < w->ncomp; i++)
        if (w->buf[w->comp[i]] == name[0] && name_at_equals(w->buf, w->comp[i], name))
            return w->comp[i];
    return -1;
}

/* The labels of the new name are registered for compression only once the whole name is in
 * the buffer: registered earlier, a later suffix of the same name could match a label whose
 * tail is not written yet (ns.bar.bar. would point "bar." at its own first "bar"), giving a
 * pointer to itself or forward. So every pointer goes strictly back to a complete name. */
int wire_put_name(struct wire_writer *w, const uint8_t *name)
{
    struct wire_mark m = wire_mark(w);
    size_t start = w->len;
    const uint8_t *p = name;
    uint16_t fresh[DNAME_MAX_LABELS];
    unsigned nfresh = 0;
    for (;;) {
        if (*p == 0) {
            if (w->len + 1 > w->limit)
                goto full;
            w->buf[w->len++] = 0;
            break;
        }
        int at = find_comp(w, p);
        if (at >= 0) {
            if (w->len + 2 > w->limit)
                goto full;
            wire_put16(w->buf + w->len, (uint16_t)(0xC000u | (unsigned)at));
            w->len += 2;
            break;
        }
        size_t l = 1u + *p;
        if (w->len + l > w->limit)
            goto full;
        memcpy(w->buf + w->len, p, l);
        if (nfresh < DNAME_MAX_LABELS && w->len < 0x4000)
            fresh[nfresh++] = (uint16_t)w->len;
        w->len += l;
        p += l;
    }
    for (unsigned i = 0; i < nfresh; i++)
        comp_add(w, fresh[i]);
    return (int)start;
full:
    wire_rewind(w, m);
    return -1;
}

/* The RR body after its owner: type, class, TTL, RDLENGTH, RDATA. */
static int put_rr_body(struct wire_writer *w, struct wire_mark m, uint16_t type, uint16_t cls,
                       uint32_t ttl, const struct wire_rr *rr)
{
    if (w->len + 10 > w->limit)
        goto full;
    uint8_t *h = w->buf + w->len;
    wire_put16(h, type);
    wire_put16(h + 2, cls);
    wire_put32(h + 4, ttl);
    w->len += 10;
    size_t rdstart = w->len, done = 0;
    for (uint8_t i = 0; i < rr->ncomp; i++) {
        size_t at = rr->comp_off[i];
        size_t raw = at - done;
        if (w->len + raw > w->limit)
            goto full;
        memcpy(w->buf + w->len, rr->rdata + done, raw);
        w->len += raw;
        if (wire_put_name(w, rr->rdata + at) < 0)
            goto full;
        done = at + dname_len(rr->rdata + at);
    }
    size_t rest = rr->rdlen - done;
    if (w->len + rest > w->limit)
        goto full;
    memcpy(w->buf + w->len, rr->rdata + done, rest);
    w->len += rest;
    wire_put16(h + 8, (uint16_t)(w->len - rdstart));
    return (int)rdstart;
full:
    wire_rewind(w, m);
    return -1;
}

int wire_put_rr_ptr(struct wire_writer *w, uint16_t owner_off, uint16_t type, uint16_t cls,
                    uint32_t ttl, const struct wire_rr *rr)
{
    struct wire_mark m = wire_mark(w);
    if (w->len + 2 > w->limit)
        return -1;
    wire_put16(w->buf + w->len, (uint16_t)(0xC000u | owner_off));
    w->len += 2;
    return put_rr_body(w, m, type, cls, ttl, rr);
}

int wire_put_rr_name(struct wire_writer *w, const uint8_t *owner, uint16_t type, uint16_t cls,
                     uint32_t ttl, const struct wire_rr *rr)
{
    struct wire_mark m = wire_mark(w);
    if (wire_put_name(w, owner) < 0)
        return -1;
    return put_rr_body(w, m, type, cls, ttl, rr);
}
