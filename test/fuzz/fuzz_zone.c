/* fuzz_zone.c: libFuzzer target for the zone-file loader: zone_load() on arbitrary master files.
 *
 * zone_load reads a path (and $INCLUDEs relative to its folder), so each input is written
 * to files in a private scratch folder made once per process and removed at exit. The
 * input is   MAIN [NUL INCLUDED]   : MAIN goes to main.zone, loaded for origin
 * fuzz.example., and INCLUDED to inc.zone, which "$INCLUDE inc.zone" reaches. Inputs
 * naming /dev, /proc, /sys or /run are skipped: those files can block or never end.
 *
 * Errors are fine; the loader must never crash, leak (libFuzzer's leak checker) or hang
 * (its -timeout). Checks: loading twice gives the same result and message; a failure
 * leaves *out untouched and sets a message; a success keeps zone.h's promises (an apex
 * with the SOA, every node found by its own name, inside the origin, RRsets sorted by
 * type and non-empty, RDATA names offsets inside the RDATA, counts that add up). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "server/dname.h"
#include "server/log.h"
#include "server/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_zone"
#define ORIGIN "fuzz.example."

static char dir[4096], main_path[4200], inc_path[4200];

static void cleanup(void)
{
    unlink(main_path);
    unlink(inc_path);
    rmdir(dir);
}

static void init(void)
{
    fuzz_tmpdir(TAG, dir, sizeof(dir));
    snprintf(main_path, sizeof(main_path), "%s/main.zone", dir);
    snprintf(inc_path, sizeof(inc_path), "%s/inc.zone", dir);
    atexit(cleanup);
    log_set_level(LOG_ERR); /* dropped duplicates are logged at info */
}

static bool names_special(const uint8_t *d, size_t n)
{
    static const char *const bad[] = {"/dev", "/proc", "/sys", "/run"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (memmem(d, n, bad[i], strlen(bad[i])) != NULL)
            return true;
    return false;
}

static void broken(const char *what)
{
    fprintf(stderr, TAG ": loaded zone breaks a promise: %s\n", what);
    abort();
}

/* zone.h's promises about a loaded zone. */
static void check_zone(const struct zone *z)
{
    static const uint8_t origin[] = "\4fuzz\7example";
    if (z->origin_len != sizeof(origin) || memcmp(z->origin, origin, sizeof(origin)) != 0)
        broken("origin");
    if (z->apex == NULL || z->soa == NULL || !(z->apex->flags & ZONE_NODE_APEX))
        broken("no apex or no SOA");
    if (zone_node_rrset(z->apex, 6) != z->soa || z->soa->count != 1)
        broken("SOA not the apex's single SOA");
    if (z->nbuckets == 0 || (z->nbuckets & (z->nbuckets - 1)) != 0)
        broken("bucket count not a power of two");
    size_t nodes = 0, records = 0;
    for (uint32_t b = 0; b < z->nbuckets; b++) {
        for (const struct zone_node *n = z->buckets[b]; n != NULL; n = n->next) {
            nodes++;
            if (n->namelen < z->origin_len ||
                memcmp(n->name + n->namelen - z->origin_len, z->origin, z->origin_len) != 0)
                broken("node outside the origin");
            if (n->hash != dname_hash(n->name) || zone_lookup(z, n->name, n->namelen, n->hash) != n)
                broken("node not found by its own name");
            for (uint16_t i = 0; i < n->nrrsets; i++) {
                const struct zone_rrset *s = &n->rrsets[i];
                if (i > 0 && s->type <= n->rrsets[i - 1].type)
                    broken("RRsets not sorted by type");
                if (s->count == 0)
                    broken("empty RRset");
                records += s->count;
                for (uint16_t k = 0; k < s->count; k++) {
                    const struct zone_rr *rr = &s->rrs[k];
                    for (uint8_t c = 0; c < rr->ncomp && c < 2; c++)
                        if (rr->comp_off[c] >= rr->rdlen ||
                            rr->comp_off[c] + dname_len(rr->rdata + rr->comp_off[c]) > rr->rdlen)
                            broken("RDATA name offset outside the RDATA");
                    if (rr->ncomp > 2)
                        broken("more than two RDATA names");
                }
            }
        }
    }
    if (nodes != z->nnodes)
        broken("nnodes differs from the nodes in the buckets");
    if (records != z->nrecords)
        broken("nrecords differs from the records in the RRsets");
}

static void write_or_die(const char *path, const uint8_t *p, size_t n)
{
    fuzz_write_file(path, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0')
        init();
    if (names_special(data, size))
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t main_len = nul != NULL ? (size_t)(nul - data) : size;
    write_or_die(main_path, data, main_len);
    if (nul != NULL)
        write_or_die(inc_path, nul + 1, size - main_len - 1);
    else
        unlink(inc_path);

    struct zone *sentinel = (struct zone *)&sentinel, *z1 = sentinel, *z2 = sentinel;
    struct err e1 = {{0}}, e2 = {{0}};
    int r1 = zone_load(ORIGIN, main_path, &z1, &e1);
    int r2 = zone_load(ORIGIN, main_path, &z2, &e2);
    if (r1 != r2 || strcmp(e1.msg, e2.msg) != 0) {
        fprintf(stderr, TAG ": %d \"%s\" then %d \"%s\"\n", r1, e1.msg, r2, e2.msg);
        broken("two loads of the same file differ");
    }
    if (r1 != 0) {
        if (r1 > 0)
            broken("a failure returned a positive code");
        if (z1 != sentinel || z2 != sentinel)
            broken("a failure touched *out");
        if (e1.msg[0] == '\0')
            broken("a failure without a message");
        return 0;
    }
    if (z1 == sentinel || z1 == NULL)
        broken("success without a zone");
    check_zone(z1);
    if (z1->nnodes != z2->nnodes || z1->nrecords != z2->nrecords || z1->serial != z2->serial)
        broken("two loads of the same file give different zones");
    zone_free(z1);
    zone_free(z2);
    return 0;
}
