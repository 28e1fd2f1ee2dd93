/* text.c: the growing text buffer of text.h. */
#include "server/text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int text_buf_append(struct text_buf *b, const void *data, size_t n, size_t max)
{
    if (n > max || b->len > max - n)
        return -E2BIG;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}
