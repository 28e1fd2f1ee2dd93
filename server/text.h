/* text.h: small text helpers every room may use: a hex digit's value, and a growing
 * NUL-terminated buffer for the bodies curl reads (etcd replies, the API's answers to ctl). */
#ifndef GSLBD_TEXT_H
#define GSLBD_TEXT_H

#include <stddef.h>

/* The value of hex digit ch (either case), or -1. */
static inline int text_hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Bytes read so far, always NUL-terminated once anything was added; {0} is empty. */
struct text_buf {
    char *p;
    size_t len;
    size_t cap;
};

/* Append n bytes, keeping at most max in all. 0, -E2BIG past max, or -ENOMEM
 * (then nothing changed). */
int text_buf_append(struct text_buf *b, const void *data, size_t n, size_t max);

#endif
