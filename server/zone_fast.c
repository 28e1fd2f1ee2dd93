/* zone_fast.c: the one-line records most large zones are made of (A, AAAA, TXT with one
 * plain string) read without ldns. ldns reads a master file a character at a time through
 * stdio and allocates three 64 KiB buffers per record; for a million records that is most
 * of a load. Anything this reader does not fully understand is left to ldns, which stays
 * the authority on the syntax and on every error message: a line is taken here only when
 * ldns would read it to the same record (test_zone_fast holds the two to that). */
#include "server/zone_int.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A letter, digit, '-' or '_': the characters a name label is read as is, unescaped. */
static bool is_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* "@", a relative name (origin appended) or an absolute one, in wire form. */
static bool owner_parse(const char *s, size_t len, const uint8_t *origin, size_t origin_len,
                        uint8_t *out, uint8_t *out_len)
{
    if (len == 1 && s[0] == '@') {
        memcpy(out, origin, origin_len);
        *out_len = (uint8_t)origin_len;
        return true;
    }
    size_t o = 0, i = 0;
    bool absolute = false;
    while (i < len) {
        size_t j = i;
        while (j < len && is_label_char(s[j]))
            j++;
        size_t l = j - i;
        if (l == 0 || l > 63 || (j < len && s[j] != '.') || o + 1 + l > DNAME_MAX - 1)
            return false; /* an empty or long label, another character: ldns says why */
        out[o++] = (uint8_t)l;
        memcpy(out + o, s + i, l);
        o += l;
        if (j + 1 == len) /* the trailing dot */
            absolute = true;
        i = j + 1;
    }
    if (absolute) {
        out[o++] = 0;
    } else {
        if (o + origin_len > DNAME_MAX)
            return false;
        memcpy(out + o, origin, origin_len);
        o += origin_len;
    }
    *out_len = (uint8_t)o;
    return true;
}

/* Decimal seconds, as ldns reads a TTL made of digits only. */
static bool ttl_digits(const char *s, size_t len, uint32_t *out)
{
    if (len == 0 || len > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

static bool word_is(const char *s, size_t len, const char *w)
{
    return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

int zone__fast_line(const char *line, size_t len, const uint8_t *origin, size_t origin_len,
                    struct zone_fast *out)
{
    /* no escapes, comments, parentheses or directives; a given owner in column 1 */
    if (len == 0 || is_blank(line[0]) || line[0] == '$')
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\\' || c == ';' || c == '(' || c == ')' || c == '\r' || c >= 0x7f ||
            (c < 0x20 && c != '\t'))
            return 0;
    }
    const char *tok[5];
    size_t tlen[5], n = 0, i = 0;
    while (i < len) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i == len)
            break;
        if (n == 5)
            return 0;
        tok[n] = line + i;
        if (line[i] == '"') { /* one quoted string, then the end of the line */
            size_t j = i + 1;
            while (j < len && line[j] != '"')
                j++;
            if (j == len)
                return 0;
            tlen[n++] = j + 1 - i;
            for (i = j + 1; i < len; i++) {
                if (!is_blank(line[i]))
                    return 0;
            }
            break;
        }
        size_t j = i;
        while (j < len && !is_blank(line[j]) && line[j] != '"')
            j++;
        if (j < len && line[j] == '"')
            return 0;
        tlen[n++] = j - i;
        i = j;
    }
    if (n < 3 || tok[0][0] == '"')
        return 0;
    /* owner [TTL] [IN] TYPE RDATA: ldns reads a TTL only before the class */
    size_t k = 1;
    out->ttl_given = false;
    if (k < n - 2 && ttl_digits(tok[k], tlen[k], &out->ttl)) {
        out->ttl_given = true;
        k++;
    }
    if (k < n - 2 && word_is(tok[k], tlen[k], "IN"))
        k++;
    if (k != n - 2)
        return 0;
    const char *rd = tok[n - 1];
    size_t rdlen = tlen[n - 1];
    char text[64];
    if (word_is(tok[k], tlen[k], "A") || word_is(tok[k], tlen[k], "AAAA")) {
        bool v4 = tlen[k] == 1;
        if (rdlen >= sizeof(text) || rd[0] == '"')
            return 0;
        memcpy(text, rd, rdlen);
        text[rdlen] = '\0';
        if (inet_pton(v4 ? AF_INET : AF_INET6, text, out->rdata) != 1)
            return 0;
        out->type = v4 ? 1 : 28;
        out->rdlen = v4 ? 4 : 16;
    } else if (word_is(tok[k], tlen[k], "TXT")) {
        if (rd[0] != '"' || rdlen - 2 > 255)
            return 0;
        out->type = 16;
        out->rdata[0] = (uint8_t)(rdlen - 2);
        memcpy(out->rdata + 1, rd + 1, rdlen - 2);
        out->rdlen = (uint16_t)(rdlen - 1);
    } else {
        return 0;
    }
    if (!owner_parse(tok[0], tlen[0], origin, origin_len, out->owner, &out->owner_len))
        return 0;
    return 1;
}
