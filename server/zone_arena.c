/* zone_arena.c: the memory of a zone load: the bump arena the served store lives in, and
 * the transient arrays (and arena) a load frees again before it ends, on huge pages. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "server/zone_int.h"

/* ---- transient memory of a load ---- */

/* A million-record load touches some 150 MiB of arrays it frees at its end, and on a
 * virtual machine a page fault costs microseconds: 4 KiB pages made a quarter of the
 * load's time. Arrays of a MiB and more are mapped on 2 MiB boundaries and offered to
 * transparent huge pages (where the kernel allows them: "madvise" or "always"). Only
 * what a load frees again goes here: the served store keeps small pages, so its RSS is
 * what it uses. Under AddressSanitizer everything stays on the heap, where it checks. */
#define BIG_MIN ((size_t)1 << 20)
#define HUGE_PAGE ((size_t)2 << 20)

#if defined(__SANITIZE_ADDRESS__)
#define BIG_MAPPED 0
#else
#define BIG_MAPPED 1
#endif

static size_t big_len(size_t size)
{
    return (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *zone__big_alloc(size_t size)
{
    if (!BIG_MAPPED || size < BIG_MIN)
        return calloc(1, size ? size : 1);
    size_t len = big_len(size);
    uint8_t *p =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    if (a + len < p + len + HUGE_PAGE)
        munmap(a + len, (size_t)(p + len + HUGE_PAGE - (a + len)));
    (void)madvise(a, len, MADV_HUGEPAGE); /* a hint: refused where THP is off */
    return a;
}

void zone__big_free(void *p, size_t size)
{
    if (p == NULL)
        return;
    if (!BIG_MAPPED || size < BIG_MIN)
        free(p);
    else
        munmap(p, big_len(size));
}

void *zone__big_grow(void *p, size_t old, size_t size)
{
    uint8_t *n = zone__big_alloc(size);
    if (n == NULL)
        return NULL;
    if (p != NULL)
        memcpy(n, p, old < size ? old : size);
    zone__big_free(p, old);
    return n;
}

/* ---- arena ---- */

#define ARENA_BLOCK (64 * 1024)
#define ARENA_BIG_BLOCK (2 * 1024 * 1024)
#define ARENA_ALIGN 8 /* the widest member of the structures kept here (pointers) */

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
};

struct zone_arena {
    struct arena_block *head;
    bool big; /* transient: blocks from zone__big_alloc */
};

#define ARENA_HDR ((sizeof(struct arena_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

int zone__arena_new(struct zone_arena **out)
{
    struct zone_arena *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -ENOMEM;
    *out = a;
    return 0;
}

int zone__arena_new_transient(struct zone_arena **out)
{
    int rc = zone__arena_new(out);
    if (rc == 0)
        (*out)->big = true;
    return rc;
}

static void *arena_take(struct zone_arena *a, size_t size, size_t align)
{
    struct arena_block *b = a->head;
    if (b != NULL) {
        size_t at = (b->used + align - 1) & ~(align - 1);
        if (at <= b->size && b->size - at >= size) {
            b->used = at + size;
            return (unsigned char *)b + ARENA_HDR + at;
        }
    }
    /* big requests get a block of their own behind the current one, which stays in use */
    size_t block = a->big ? ARENA_BIG_BLOCK - ARENA_HDR : ARENA_BLOCK;
    bool own = size > block / 4;
    size_t bsize = own ? size : block;
    struct arena_block *nb =
        a->big ? zone__big_alloc(ARENA_HDR + bsize) : calloc(1, ARENA_HDR + bsize);
    if (nb == NULL)
        return NULL;
    nb->size = bsize;
    nb->used = size;
    if (own && b != NULL) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        a->head = nb;
    }
    return (unsigned char *)nb + ARENA_HDR;
}

void *zone__arena_alloc(struct zone_arena *a, size_t size)
{
    return arena_take(a, (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1), ARENA_ALIGN);
}

void *zone__arena_bytes(struct zone_arena *a, size_t size)
{
    return arena_take(a, size ? size : 1, 1);
}

void zone__arena_free(struct zone_arena *a)
{
    if (a == NULL)
        return;
    struct arena_block *b = a->head;
    while (b != NULL) {
        struct arena_block *next = b->next;
        if (a->big)
            zone__big_free(b, ARENA_HDR + b->size);
        else
            free(b);
        b = next;
    }
    free(a);
}
