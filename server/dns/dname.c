/* dname.c: wire-form domain name helpers shared by the zone store and the query path. */
#include "server/dns/dname.h"

#include <stdio.h>
#include <string.h>

int dname_split(const uint8_t *name, size_t max, struct dname_labels *l)
{
    size_t pos = 0;
    l->count = 0;
    for (;;) {
        if (pos >= max)
            return -1;
        uint8_t len = name[pos];
        if (len == 0)
            return (int)(pos + 1);
        if (len > 63 || l->count >= DNAME_MAX_LABELS)
            return -1;
        l->off[l->count++] = (uint8_t)pos;
        pos += 1u + len;
        if (pos >= DNAME_MAX)
            return -1;
    }
}

/* One label mixed into its parent suffix's hash h, up to eight bytes per multiply. The
 * length goes in first, so the overlapping loads of a short tail are unambiguous, and no
 * load reaches past the label. */
static inline uint64_t mix64(uint64_t x, uint64_t w)
{
    x = (x ^ w) * 0x9E3779B97F4A7C15u;
    return x ^ (x >> 29);
}

static uint32_t mix_label(uint32_t h, const uint8_t *label)
{
    size_t n = label[0];
    const uint8_t *p = label + 1;
    uint64_t x = mix64((uint64_t)h << 8, n);
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        x = mix64(x, w);
    }
    if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        x = mix64(x, (uint64_t)a << 32 | b);
    } else if (n > 0) {
        x = mix64(x, (uint64_t)p[0] << 16 | (uint64_t)p[n / 2] << 8 | p[n - 1]);
    }
    return (uint32_t)(x >> 32);
}

void dname_suffix_hashes(const uint8_t *name, const struct dname_labels *l, uint32_t *h)
{
    uint32_t acc = 2166136261u;
    h[l->count] = acc;
    for (int i = l->count - 1; i >= 0; i--) {
        acc = mix_label(acc, name + l->off[i]);
        h[i] = acc;
    }
}

uint32_t dname_hash(const uint8_t *name)
{
    struct dname_labels l;
    uint32_t h[DNAME_MAX_LABELS + 1];
    if (dname_split(name, DNAME_MAX, &l) < 0)
        return 0;
    dname_suffix_hashes(name, &l, h);
    return h[0];
}

size_t dname_len(const uint8_t *name)
{
    size_t pos = 0;
    while (name[pos] != 0)
        pos += 1u + name[pos];
    return pos + 1;
}

size_t dname_copy_lower(uint8_t *dst, const uint8_t *src)
{
    size_t n = dname_len(src);
    dname_lower_bytes(dst, src, n); /* length bytes (<= 63) are never letters */
    return n;
}

bool dname_equal(const uint8_t *a, const uint8_t *b)
{
    size_t la = dname_len(a);
    return la == dname_len(b) && memcmp(a, b, la) == 0;
}

bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent)
{
    size_t ln = dname_len(name), lp = dname_len(parent);
    if (lp > ln)
        return false;
    /* walk labels of name until the remaining length equals the parent's */
    size_t pos = 0;
    while (ln - pos > lp)
        pos += 1u + name[pos];
    return ln - pos == lp && memcmp(name + pos, parent, lp) == 0;
}

char *dname_to_text(const uint8_t *name, char *buf, size_t buflen)
{
    size_t o = 0, pos = 0;
    if (buflen == 0)
        return buf;
    if (name[0] == 0) {
        snprintf(buf, buflen, ".");
        return buf;
    }
    while (name[pos] != 0 && o + 5 < buflen) {
        uint8_t len = name[pos];
        for (uint8_t i = 1; i <= len && o + 5 < buflen; i++) {
            uint8_t c = name[pos + i];
            if (c == '.' || c == '\\') {
                buf[o++] = '\\';
                buf[o++] = (char)c;
            } else if (c > 32 && c < 127) {
                buf[o++] = (char)c;
            } else {
                o += (size_t)snprintf(buf + o, buflen - o, "\\%03u", c);
            }
        }
        buf[o++] = '.';
        pos += 1u + len;
    }
    buf[o < buflen ? o : buflen - 1] = '\0';
    return buf;
}

const char *dname_from_text(const char *s, uint8_t out[DNAME_MAX], bool *absolute)
{
    *absolute = false;
    if (strcmp(s, ".") == 0) {
        out[0] = 0;
        *absolute = true;
        return NULL;
    }
    size_t lab = 0; /* where the current label's length byte goes */
    size_t o = 1;
    size_t n = 0; /* bytes in the current label */
    for (size_t i = 0; s[i] != '\0';) {
        if (s[i] == '.') {
            if (n == 0)
                return "has an empty label";
            out[lab] = (uint8_t)n;
            lab = o++;
            n = 0;
            if (s[++i] == '\0')
                *absolute = true;
            continue;
        }
        unsigned ch = (unsigned char)s[i];
        if (ch == '\\') {
            const char *d = s + i + 1;
            if (d[0] >= '0' && d[0] <= '9' && d[1] >= '0' && d[1] <= '9' && d[2] >= '0' &&
                d[2] <= '9') {
                ch = (unsigned)((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
                if (ch > 255)
                    return "has an escape \\DDD above 255";
                i += 4;
            } else if (d[0] != '\0') {
                ch = (unsigned char)d[0];
                i += 2;
            } else {
                return "ends in a lone backslash";
            }
        } else {
            i++;
        }
        if (n == 63)
            return "has a label longer than 63 bytes";
        if (o >= DNAME_MAX)
            return "is longer than 255 bytes";
        out[o++] = dname_lower((uint8_t)ch);
        n++;
    }
    if (!*absolute) {
        out[lab] = (uint8_t)n;
        lab = o++;
    }
    if (o > DNAME_MAX)
        return "is longer than 255 bytes";
    out[lab] = 0;
    return NULL;
}
