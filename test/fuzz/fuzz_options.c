/* fuzz_options.c: libFuzzer target for the EDNS option parsers (OPT, ECS, COOKIE, NSID).
 *
 * The input is a small program that builds one well-formed query (header, one question,
 * an OPT record) whose option list comes from the input, so the fuzzer spends its time in
 * the option parsers instead of on getting a DNS header right. Input layout:
 *
 *   byte 0   low 4 bits: query name (table below); 0x10 DO bit; 0x20 the rest of the input
 *            is the raw option list; 0x40 RDLENGTH off by the next byte (as int8);
 *            0x80 EDNS version from the next byte
 *   byte 1   low 3 bits: QTYPE (table); 0x08 over TCP; 0x10 from IPv6; high 3 bits: the
 *            advertised UDP size (table)
 *   2..5     health bits of the GSLB view's addresses, byte 6 admin states
 *   the rest option "instructions" (see build_options), or raw option bytes
 *
 * Checks: wire_parse_query() reaches the verdict of a reference parser written here from
 * the RFCs (7871 ECS, 7873 COOKIE, 5001 NSID, 6891 OPT) and fills the same fields; a parsed
 * ECS has SOURCE <= 32/128 and no address bit set past SOURCE; the verdict and every
 * trustworthy field are the same whatever the struct held before (no stale state). Then
 * query_answer() must give a well-formed response whose RCODE follows the verdict, which
 * echoes ECS family, SOURCE and address unchanged, with SCOPE 0 for data that is not
 * tailored (ECS-5) or for SOURCE 0 (ECS-7), NSID when asked, and a COOKIE only to a
 * query with one, starting with its client cookie. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "server/query.h"
#include "server/view.h"
#include "server/dns/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_options"
#define NSID_TEXT "fuzz-nsid" /* as in FUZZ_GSLB_CONF */
#define MSG_MAX 8192

/* Query names, relative to fuzz.example ("" is the apex); tailored: the answer may depend
 * on the client (a GSLB service, or a CNAME chain ending in one). */
static const struct {
    const char *label;
    bool tailored;
} names[16] = {
    {"gslb", true},   {"split", true},  {"fo", true},        {"www", true},
    {"one", true},    {"v6only", true}, {"deep.gslb", true}, {"alias", true},
    {"", false},      {"mail", false},  {"nothere", false},  {"host.wild", false},
    {"x.sub", false}, {"out", false},   {"wcalias", false},  {NULL, false}, /* outside */
};
static const uint16_t qtypes[8] = {1, 28, 255, 16, 15, 6, 5, 2};
static const uint16_t udp_sizes[8] = {0, 512, 1232, 4096, 65535, 100, 1400, 513};

/* A bounded reader over the input; reads past the end give zeros. */
struct rd {
    const uint8_t *p;
    size_t n, at;
};

static uint8_t rd_byte(struct rd *r)
{
    return r->at < r->n ? r->p[r->at++] : 0;
}

static uint16_t rd16(struct rd *r)
{
    uint16_t hi = rd_byte(r);
    return (uint16_t)(hi << 8 | rd_byte(r));
}

static bool rd_more(const struct rd *r)
{
    return r->at < r->n;
}

/* The message being built. */
struct msg {
    uint8_t b[MSG_MAX];
    size_t len;
};

static bool put(struct msg *m, const void *p, size_t n)
{
    if (m->len + n > sizeof(m->b))
        return false;
    memcpy(m->b + m->len, p, n);
    m->len += n;
    return true;
}

static bool put16(struct msg *m, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return put(m, b, 2);
}

static bool put_option(struct msg *m, uint16_t code, const uint8_t *data, size_t len)
{
    return put16(m, code) && put16(m, (uint16_t)len) && put(m, data, len);
}

/* Option instructions, one per step: op = byte; op & 7 selects
 *   0/1/2  ECS IPv4 / IPv6 / family from 2 more bytes: SOURCE byte; op & 0x08 SCOPE from a
 *          byte (else 0); op & 0x10 address length off by (byte % 5) - 2; op & 0x20 keep the
 *          address bits past SOURCE as given (else cleared); the address bytes follow
 *   3      COOKIE: length byte (op & 0x08: 8; op & 0x10: 16 + byte % 25), then the bytes
 *   4      NSID: op & 0x08 a length byte and that many bytes, else empty
 *   5      another option: 2 code bytes, a length byte, the bytes
 *   6      PADDING of (byte) zero bytes
 *   7      raw: 2 code bytes, 2 length bytes, then as many bytes as the input still has */
static void build_options(struct rd *r, struct msg *m)
{
    uint8_t tmp[300];
    while (rd_more(r)) {
        uint8_t op = rd_byte(r);
        switch (op & 7) {
        case 0:
        case 1:
        case 2: {
            uint16_t family = (op & 7) == 0 ? 1 : (op & 7) == 1 ? 2 : 0;
            if ((op & 7) == 2)
                family = rd16(r);
            uint8_t source = rd_byte(r);
            uint8_t scope = (op & 0x08) ? rd_byte(r) : 0;
            int nbytes = (source + 7) / 8;
            if (op & 0x10)
                nbytes += rd_byte(r) % 5 - 2;
            if (nbytes < 0)
                nbytes = 0;
            tmp[0] = (uint8_t)(family >> 8);
            tmp[1] = (uint8_t)family;
            tmp[2] = source;
            tmp[3] = scope;
            for (int i = 0; i < nbytes; i++)
                tmp[4 + i] = rd_byte(r);
            if (!(op & 0x20) && source % 8 != 0 && nbytes == (source + 7) / 8)
                tmp[4 + nbytes - 1] &= (uint8_t)(0xFF00u >> (source % 8));
            if (!(op & 0x20))
                for (int i = (source + 7) / 8; i < nbytes; i++)
                    tmp[4 + i] = 0; /* extra bytes stay zero: only the length is off */
            if (!put_option(m, EDNS_O_ECS, tmp, 4 + (size_t)nbytes))
                return;
            break;
        }
        case 3: {
            size_t len = rd_byte(r);
            if (op & 0x08)
                len = 8;
            else if (op & 0x10)
                len = 16 + len % 25;
            for (size_t i = 0; i < len; i++)
                tmp[i] = rd_byte(r);
            if (!put_option(m, EDNS_O_COOKIE, tmp, len))
                return;
            break;
        }
        case 4: {
            size_t len = (op & 0x08) ? rd_byte(r) : 0;
            for (size_t i = 0; i < len; i++)
                tmp[i] = rd_byte(r);
            if (!put_option(m, EDNS_O_NSID, tmp, len))
                return;
            break;
        }
        case 5: {
            uint16_t code = rd16(r);
            size_t len = rd_byte(r);
            for (size_t i = 0; i < len; i++)
                tmp[i] = rd_byte(r);
            if (!put_option(m, code, tmp, len))
                return;
            break;
        }
        case 6: {
            size_t len = rd_byte(r);
            memset(tmp, 0, len);
            if (!put_option(m, 12, tmp, len))
                return;
            break;
        }
        default: {
            uint16_t code = rd16(r), len = rd16(r);
            if (!put16(m, code) || !put16(m, len) || !put(m, r->p + r->at, r->n - r->at))
                return;
            r->at = r->n;
            break;
        }
        }
    }
}

/* ---- the reference parser: what an OPT RDATA means, from the RFCs ---- */

struct ref {
    bool formerr;
    bool ecs, cookie, nsid;
    uint8_t family, source;
    uint8_t addr[16];
    uint8_t client_cookie[8];
    unsigned noptions;
};

/* RFC 7871 6 and 7.1.1: FAMILY 1 or 2, SOURCE within the family, SCOPE 0 in a query,
 * exactly ceil(SOURCE / 8) address bytes with the bits past SOURCE zero, one ECS only. */
static bool ref_ecs(struct ref *f, const uint8_t *o, size_t len)
{
    if (f->ecs || len < 4)
        return false;
    unsigned family = (unsigned)o[0] << 8 | o[1], source = o[2], scope = o[3];
    unsigned bits = family == 1 ? 32 : family == 2 ? 128 : 0;
    if (bits == 0 || source > bits || scope != 0 || len - 4 != (source + 7) / 8)
        return false;
    for (unsigned bit = source; bit < (len - 4) * 8; bit++)
        if (o[4 + bit / 8] & (0x80 >> (bit % 8)))
            return false;
    f->ecs = true;
    f->family = (uint8_t)family;
    f->source = (uint8_t)source;
    memset(f->addr, 0, sizeof(f->addr));
    memcpy(f->addr, o + 4, len - 4);
    return true;
}

static void ref_parse(const uint8_t *rd, size_t n, struct ref *f)
{
    memset(f, 0, sizeof(*f));
    size_t p = 0;
    while (p < n) {
        if (n - p < 4 || ((size_t)rd[p + 2] << 8 | rd[p + 3]) > n - p - 4) {
            f->formerr = true; /* RFC 6891 6.1.2: options must fill RDATA exactly */
            return;
        }
        unsigned code = (unsigned)rd[p] << 8 | rd[p + 1];
        size_t len = (size_t)rd[p + 2] << 8 | rd[p + 3];
        const uint8_t *o = rd + p + 4;
        f->noptions++;
        if (code == EDNS_O_ECS && !ref_ecs(f, o, len)) {
            f->formerr = true;
            return;
        }
        if (code == EDNS_O_COOKIE) { /* RFC 7873 5.2.2: 8, or 16 to 40 bytes; one only */
            if (f->cookie || !(len == 8 || (len >= 16 && len <= 40))) {
                f->formerr = true;
                return;
            }
            f->cookie = true;
            memcpy(f->client_cookie, o, 8);
        }
        if (code == EDNS_O_NSID)
            f->nsid = true;
        p += 4 + len;
    }
}

/* ---- checks ---- */

static void check_parse(const uint8_t *pkt, size_t len, int want, const struct ref *f, uint16_t udp,
                        bool do_bit, struct wire_query *q)
{
    static struct wire_query q2;
    memset(q, 0, sizeof(*q));
    memset(&q2, 0xA5, sizeof(q2));
    enum wire_status s1 = wire_parse_query(pkt, len, q);
    enum wire_status s2 = wire_parse_query(pkt, len, &q2);
    if (s1 != s2)
        fuzz_fail(TAG, "verdict depends on what the struct held before", pkt, len);
    if ((int)s1 != want) {
        fprintf(stderr, TAG ": wire_parse_query said %d, the reference %d\n", (int)s1, want);
        fuzz_fail(TAG, "verdict differs from the reference parser", pkt, len);
    }
    if (!q->edns || q->edns != q2.edns || q->edns_do != do_bit || q2.edns_do != do_bit)
        fuzz_fail(TAG, "OPT or DO not seen", pkt, len);
    if (q->has_question != q2.has_question || q->ecs != q2.ecs || q->cookie != q2.cookie ||
        q->nsid != q2.nsid || q->noptions != q2.noptions || q->edns_udp != q2.edns_udp ||
        q->edns_version != q2.edns_version)
        fuzz_fail(TAG, "parsed fields depend on what the struct held before", pkt, len);
    if (s1 != WIRE_OK)
        return;
    if (!q->has_question || q->edns_udp != udp)
        fuzz_fail(TAG, "question or UDP size lost", pkt, len);
    if (q->ecs != f->ecs || q->cookie != f->cookie || q->nsid != f->nsid ||
        q->noptions != (f->noptions > 255 ? 255 : f->noptions))
        fuzz_fail(TAG, "options seen differ from the reference parser", pkt, len);
    if (!q->ecs)
        return;
    unsigned bits = q->ecs_family == 1 ? 32 : q->ecs_family == 2 ? 128 : 0;
    if (bits == 0 || q->ecs_source > bits)
        fuzz_fail(TAG, "ECS family or SOURCE out of range", pkt, len);
    for (unsigned bit = q->ecs_source; bit < 128; bit++)
        if (q->ecs_addr[bit / 8] & (0x80 >> (bit % 8)))
            fuzz_fail(TAG, "ECS address has a bit set past SOURCE", pkt, len);
    if (q->ecs_family != f->family || q->ecs_source != f->source ||
        memcmp(q->ecs_addr, f->addr, 16) != 0 || q2.ecs_family != q->ecs_family ||
        q2.ecs_source != q->ecs_source || memcmp(q2.ecs_addr, q->ecs_addr, 16) != 0)
        fuzz_fail(TAG, "ECS fields differ", pkt, len);
}

/* The response's options: ECS echo and NSID as the query asked, COOKIE only when sent. */
static void check_answer_options(const uint8_t *r, size_t n, const struct fuzz_resp *fr,
                                 const struct wire_query *q, const struct ref *f, bool tailored)
{
    const uint8_t *o = r + fr->opt_rdata;
    size_t p = 0;
    bool ecs = false, nsid = false, cookie = false;
    while (p < fr->opt_rdlen) {
        uint16_t code = fuzz_get16(o + p), len = fuzz_get16(o + p + 2);
        const uint8_t *d = o + p + 4;
        if (code == EDNS_O_COOKIE) { /* RFC 7873 5.2: the client cookie comes back first */
            if (cookie || !q->cookie || len < 16 || len > 40)
                fuzz_fail(TAG, "COOKIE in the answer without one in the query, or malformed", r, n);
            if (memcmp(d, f->client_cookie, 8) != 0)
                fuzz_fail(TAG, "COOKIE answered with another client cookie", r, n);
            cookie = true;
        }
        if (code == EDNS_O_NSID) {
            if (nsid || len != strlen(NSID_TEXT) || memcmp(d, NSID_TEXT, len) != 0)
                fuzz_fail(TAG, "NSID option wrong", r, n);
            nsid = true;
        }
        if (code == EDNS_O_ECS) {
            unsigned nbytes = (q->ecs_source + 7u) / 8u;
            if (ecs || !q->ecs || len != 4 + nbytes || fuzz_get16(d) != q->ecs_family ||
                d[2] != q->ecs_source || memcmp(d + 4, q->ecs_addr, nbytes) != 0)
                fuzz_fail(TAG, "ECS not echoed unchanged", r, n);
            unsigned bits = q->ecs_family == 1 ? 32 : 128;
            if (d[3] > bits)
                fuzz_fail(TAG, "ECS SCOPE longer than the family", r, n);
            if (d[3] != 0 && (q->ecs_source == 0 || !tailored))
                fuzz_fail(TAG, "ECS SCOPE not 0 for untailored data or SOURCE 0", r, n);
            ecs = true;
        }
        p += 4u + len;
    }
    if (q->ecs && !ecs)
        fuzz_fail(TAG, "ECS not echoed", r, n);
    if (q->nsid && !nsid)
        fuzz_fail(TAG, "NSID asked for but not answered", r, n);
}

static void check_answer(struct view *v, const uint8_t *pkt, size_t len, bool tcp, bool v6,
                         enum wire_status verdict, const struct wire_query *q, const struct ref *f,
                         bool tailored)
{
    static uint8_t *out;
    static struct sockaddr_in src4;
    static struct sockaddr_in6 src6;
    if (out == NULL) {
        if ((out = malloc(QUERY_TCP_BUF)) == NULL)
            abort();
        src4.sin_family = AF_INET;
        src4.sin_port = htons(40000);
        inet_pton(AF_INET, "10.1.42.7", &src4.sin_addr);
        src6.sin6_family = AF_INET6;
        src6.sin6_port = htons(40001);
        inet_pton(AF_INET6, "2001:db8:aa::5", &src6.sin6_addr);
    }
    struct query_req req = {
        .pkt = pkt,
        .len = len,
        .src = v6 ? (const struct sockaddr *)&src6 : (const struct sockaddr *)&src4,
        .transport = tcp ? QUERY_TCP : QUERY_UDP,
    };
    size_t cap = tcp ? QUERY_TCP_BUF : QUERY_UDP_BUF;
    /* Zeroed first: an answer must not depend on what the buffer held (a writer that reads
     * past what it wrote, as name compression once did, then fails the same way every run). */
    memset(out, 0, cap);
    size_t n = query_answer(v, &req, out, cap, NULL);
    if (n == 0 || n > cap)
        fuzz_fail(TAG, "no answer, or one longer than its buffer", pkt, len);
    struct fuzz_resp fr;
    size_t limit = tcp ? QUERY_TCP_BUF : resp_udp_limit(pkt, len, v->conf->edns_max_udp);
    fuzz_resp_check(TAG, out, n, pkt, len, limit, &fr);
    if (fr.opts != 1)
        fuzz_fail(TAG, "answer to an EDNS query without OPT", out, n);
    if (fr.opt_udp != v->conf->edns_max_udp)
        fuzz_fail(TAG, "OPT does not advertise edns_max_udp", out, n);
    if (!tcp) {
        size_t max = q->edns_udp < 512 ? 512 : q->edns_udp;
        if (max > v->conf->edns_max_udp)
            max = v->conf->edns_max_udp;
        if (n > max)
            fuzz_fail(TAG, "UDP answer over the size the client accepts", out, n);
    } else if (fr.flags & 0x0200) {
        fuzz_fail(TAG, "TC set over TCP", out, n);
    }
    if (verdict == WIRE_FORMERR && fr.rcode != DNS_R_FORMERR)
        fuzz_fail(TAG, "malformed options not answered FORMERR", out, n);
    if (verdict == WIRE_BADVERS && fr.rcode != DNS_R_BADVERS)
        fuzz_fail(TAG, "EDNS version > 0 not answered BADVERS", out, n);
    if (verdict == WIRE_OK && (fr.rcode == DNS_R_FORMERR || fr.rcode == DNS_R_BADVERS))
        fuzz_fail(TAG, "a good query answered FORMERR or BADVERS", out, n);
    if (verdict == WIRE_OK)
        check_answer_options(out, n, &fr, q, f, tailored);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct view *v = fuzz_gslb_view(TAG);
    if (size < 7)
        return 0;
    struct rd r = {data, size, 7};
    uint8_t b0 = data[0], b1 = data[1];
    fuzz_gslb_health(
        v, (uint32_t)data[2] << 24 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 8 | data[5],
        data[6]);
    int rdlen_delta = (b0 & 0x40) ? (int8_t)rd_byte(&r) : 0;
    uint8_t version = (b0 & 0x80) ? rd_byte(&r) : 0;
    bool do_bit = (b0 & 0x10) != 0;
    uint16_t udp = udp_sizes[b1 >> 5];

    static struct msg m;
    m.len = 0;
    uint8_t hdr[12] = {0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1};
    put(&m, hdr, sizeof(hdr));
    const char *label = names[b0 & 0x0F].label;
    char text[64];
    snprintf(text, sizeof(text), "%s%s%s", label != NULL ? label : "www.outside",
             label != NULL && label[0] != '\0' ? "." : "",
             label != NULL ? "fuzz.example" : ".test");
    for (const char *s = text; *s != '\0';) {
        const char *dot = strchr(s, '.');
        size_t l = dot != NULL ? (size_t)(dot - s) : strlen(s);
        uint8_t lb = (uint8_t)l;
        put(&m, &lb, 1);
        put(&m, s, l);
        s += l + (dot != NULL);
    }
    put(&m, "\0", 1);
    put16(&m, qtypes[b1 & 7]);
    put16(&m, DNS_C_IN);
    /* OPT: root owner, type, UDP size, extended RCODE 0, version, DO, RDLENGTH */
    uint8_t opt[11] = {0, 0, 41, (uint8_t)(udp >> 8), (uint8_t)udp, 0, version, do_bit ? 0x80 : 0,
                       0, 0, 0};
    size_t opt_at = m.len;
    put(&m, opt, sizeof(opt));
    size_t rd_at = m.len;
    if (b0 & 0x20) {
        put(&m, data + r.at, size - r.at);
        r.at = size;
    } else {
        build_options(&r, &m);
    }
    size_t rdlen = m.len - rd_at;
    if (rdlen > 0xFFFF)
        return 0;
    long declared = (long)rdlen + rdlen_delta;
    if (declared < 0 || declared > 0xFFFF)
        declared = (long)rdlen;
    m.b[opt_at + 9] = (uint8_t)(declared >> 8);
    m.b[opt_at + 10] = (uint8_t)declared;

    struct ref f;
    ref_parse(m.b + rd_at, rdlen, &f);
    int want = WIRE_OK;
    if (declared != (long)rdlen)
        want = WIRE_FORMERR; /* RDATA overruns the message, or bytes follow it */
    else if (version != 0)
        want = WIRE_BADVERS; /* EDNS-3: options are not read under an unknown version */
    else if (f.formerr)
        want = WIRE_FORMERR;

    /* an exact-size copy, so the sanitizers see any read past the end */
    uint8_t *pkt = malloc(m.len);
    if (pkt == NULL)
        abort();
    memcpy(pkt, m.b, m.len);
    struct wire_query q;
    check_parse(pkt, m.len, want, &f, udp, do_bit, &q);
    bool tailored = names[b0 & 0x0F].tailored;
    check_answer(v, pkt, m.len, (b1 & 0x08) != 0, (b1 & 0x10) != 0, (enum wire_status)want, &q, &f,
                 tailored);
    free(pkt);
    fuzz_gslb_health(v, 0, 0);
    return 0;
}
