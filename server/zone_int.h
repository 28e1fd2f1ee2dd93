/* zone_int.h: internals shared by zone.c, zone_load.c, zone_fast.c and zone_arena.c: a
 * bump arena and the list of records read from a master file before they are grouped into
 * the immutable store. */
#ifndef GSLBD_ZONE_INT_H
#define GSLBD_ZONE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/dns/dname.h"
#include "server/err.h"
#include "server/zone.h"

#define ZONE_INCLUDE_DEPTH 8 /* $INCLUDE nesting limit */
#define ZONE_DEFAULT_TTL 3600

/* A bump allocator freed all at once. Blocks never move, so pointers into it stay valid;
 * memory comes back zeroed, 8-byte aligned from zone__arena_alloc, unaligned from
 * zone__arena_bytes (names and RDATA: a million records save tens of MiB of padding). */
struct zone_arena;

int zone__arena_new(struct zone_arena **out);
void *zone__arena_alloc(struct zone_arena *a, size_t size); /* NULL when out of memory */
void *zone__arena_bytes(struct zone_arena *a, size_t size); /* the same, any alignment */
void zone__arena_free(struct zone_arena *a);                /* NULL is a no-op */
/* An arena a load frees at its end (its records' bytes): blocks from zone__big_alloc. */
int zone__arena_new_transient(struct zone_arena **out);

/* Zeroed memory a load frees again before it ends: a MiB or more is mapped on huge-page
 * boundaries. Free and grow with the size asked for. NULL when out of memory. */
void *zone__big_alloc(size_t size);
void zone__big_free(void *p, size_t size); /* NULL is a no-op */
void *zone__big_grow(void *p, size_t old, size_t size);

/* One record as read from the master file, before grouping. Bytes live in zone_src.arena. */
struct zone_src_rr {
    const uint8_t *owner; /* lowercase wire form */
    const uint8_t *rdata; /* wire form, names uncompressed, case of the file */
    const uint8_t *canon; /* canonical RDATA (RFC 4034 6.2), for duplicate detection */
    uint16_t rdlen;
    uint16_t canonlen;
    uint16_t type;
    uint8_t owner_len;
    uint8_t ncomp;
    uint16_t comp_off[2];
    uint32_t ttl;  /* top-bit TTLs already clamped to 0 */
    uint32_t file; /* index into zone_src.files */
    uint32_t line; /* line and column of the record's first token */
    uint32_t col;
    bool dropped; /* a duplicate; set by zone.c */
};

struct zone_src {
    uint8_t origin[DNAME_MAX]; /* lowercase wire form */
    uint8_t origin_len;
    struct zone_arena *arena; /* owns the bytes the records point to */
    struct zone_src_rr *rrs;  /* in file order (includes expanded in place) */
    size_t nrrs;
    size_t cap;
    char **files; /* paths as named in messages; files[0] is the zone file */
    size_t nfiles;
    size_t fcap;
};

/* Read file (following $INCLUDE) for the zone at origin (text) into src, which must be
 * zeroed. Checks syntax, names outside the origin and the SOA (exactly one, at the origin).
 * Returns 0 or a negative code with e filled; call zone__src_clear() either way. */
int zone__src_read(struct zone_src *src, const char *origin, const char *file,
                   const struct zone_limits *limits, struct err *e);

void zone__src_clear(struct zone_src *src);

/* The files of one zone load (zone_file.c): the real paths of the folders $INCLUDE may
 * read from (the zone file's own, then zone_include_dirs) and the byte budget. */
struct zone_files {
    char **dirs;
    size_t ndirs;
    uint64_t max_bytes; /* the zone's files together */
    uint64_t bytes;     /* read so far */
};

#define ZONE_FILES_WHY_MAX 160

/* Zeroes f, then allows the folder of file and the limits' include_dirs. 0 or -ENOMEM;
 * call zone__files_clear() either way. */
int zone__files_init(struct zone_files *f, const char *file, const struct zone_limits *limits);
void zone__files_clear(struct zone_files *f);

/* Whether real (a resolved path) lies inside one of f's folders. */
bool zone__files_allowed(const struct zone_files *f, const char *real);

/* Reads path whole into *buf (caller frees) and counts it against the budget: a regular
 * file only, opened without blocking. On an error, why says what is wrong without the path
 * and without quoting any text. 0, or a negative code. */
int zone__files_read(struct zone_files *f, const char *path, char **buf, size_t *len,
                     char why[ZONE_FILES_WHY_MAX]);

/* A one-line record read without ldns (zone_fast.c): A, AAAA, or TXT with one plain
 * quoted string. */
struct zone_fast {
    uint8_t owner[DNAME_MAX]; /* wire form, the file's case */
    uint8_t owner_len;
    uint16_t type;
    bool ttl_given;
    uint32_t ttl; /* when ttl_given */
    uint16_t rdlen;
    uint8_t rdata[256];
};

/* Reads line[0, len) (no newline) as such a record, relative names against origin: 1 and
 * *out when ldns would read it to the same record, 0 when it must be left to ldns (any
 * other form, and every error). */
int zone__fast_line(const char *line, size_t len, const uint8_t *origin, size_t origin_len,
                    struct zone_fast *out);

/* Whether zone loads use zone__fast_line (on; test_zone_fast turns it off to compare). */
extern bool zone__fast_enabled;

#endif
