/* dname.h: domain names in wire form: hashing, lowercasing and comparison helpers.
 * Names handled here are absolute, uncompressed, at most 255 octets; callers own buffers. */
#ifndef GSLBD_DNAME_H
#define GSLBD_DNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DNAME_MAX 255
#define DNAME_MAX_LABELS 128

/* The labels of a name: off[i] is the offset of label i (0 = leftmost);
 * label count excludes the root. */
struct dname_labels {
    uint8_t count;
    uint8_t off[DNAME_MAX_LABELS];
};

static inline uint8_t dname_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* Eight bytes lowercased at once: in each byte, bit 7 of (b & 0x7f) + (0x80 - 'A') says
 * b >= 'A', of (b & 0x7f) + (0x80 - 'Z' - 1) says b > 'Z' (no carry crosses a byte);
 * bytes >= 0x80 are left alone; 0x80 >> 2 is the case bit 0x20.
 * dname_lower_bytes: dst = src lowercased, n bytes, eight at a time; dst and src may be
 * the same buffer but must not otherwise overlap. */
static inline uint64_t dname_lower8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t low7 = w & ~high;
    uint64_t ge_a = low7 + ones * (0x80 - 'A');
    uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1);
    return w | (((ge_a & ~gt_z & ~w) & high) >> 2);
}

static inline void dname_lower_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            dst[i] = dname_lower(src[i]);
        return;
    }
    uint64_t w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, src + i, 8);
        w = dname_lower8(w);
        memcpy(dst + i, &w, 8);
    }
    if (i < n) { /* the last eight bytes again, overlapping: the same bytes come out */
        memcpy(&w, src + n - 8, 8);
        w = dname_lower8(w);
        memcpy(dst + n - 8, &w, 8);
    }
}

/* Split a valid wire name into labels. Returns the name length, or -1 if invalid. */
int dname_split(const uint8_t *name, size_t max, struct dname_labels *l);

/* Hash of the suffix starting at label i, for every i, computed right to left so a
 * suffix's hash does not depend on the labels before it. h[count] is the root's hash.
 * The name must already be lowercase. */
void dname_suffix_hashes(const uint8_t *name, const struct dname_labels *l, uint32_t *h);

/* Hash of a whole lowercase name (equal to h[0] of dname_suffix_hashes). */
uint32_t dname_hash(const uint8_t *name);

/* Length of a valid wire name (including the root label). */
size_t dname_len(const uint8_t *name);

/* Copy a name lowercased; returns length. */
size_t dname_copy_lower(uint8_t *dst, const uint8_t *src);

/* Byte-equality of two lowercase names. */
bool dname_equal(const uint8_t *a, const uint8_t *b);

/* True if name is sub (or equal to) parent; both lowercase. */
bool dname_is_subdomain(const uint8_t *name, const uint8_t *parent);

/* Presentation name s (escapes \X and \DDD as in master files; a final dot optional) to
 * lowercase wire form; *absolute tells whether it ended in an unescaped dot. NULL, or why s
 * is not a name ("has an empty label", ...). The one text-to-wire conversion of the daemon
 * (zone files are read by ldns). */
const char *dname_from_text(const char *s, uint8_t out[DNAME_MAX], bool *absolute);

/* Render as presentation text ("www.example."); returns buf. */
char *dname_to_text(const uint8_t *name, char *buf, size_t buflen);

#endif
