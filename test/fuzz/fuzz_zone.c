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
 * type and non-empty, RDATA names offsets inside the RDATA, counts that add up). Then the
 * zone is served: a view is built over it and query_answer() answers, for the first nodes,
 * their name and a name below it in several types, over UDP with and without EDNS and over
 * TCP; every answer must pass the response validator (test/util/resp_check.c). So a zone
 * shape the engine writes wrongly (names that compress badly, odd RDATA) is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "server/dns/dname.h"
#include "server/conf/conf.h"
#include "server/log.h"
#include "server/query.h"
#include "server/view.h"
#include "server/zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_zone"
#define ORIGIN "fuzz.example."
#define ANSWER_NODES 12 /* nodes asked about per input: keeps an input well under a second */

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
                    const struct wire_rr *rr = &s->rrs[k];
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

/* A query for name (lowercase wire form; below = prefix one label "x") of type qtype. */
static size_t make_query(uint8_t *q, const uint8_t *name, size_t namelen, bool below,
                         uint16_t qtype, bool edns, uint16_t id)
{
    static const uint8_t hdr[12] = {0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(q, hdr, sizeof(hdr));
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
    size_t n = sizeof(hdr);
    if (below && namelen + 2 <= DNAME_MAX) {
        q[n++] = 1;
        q[n++] = 'x';
    }
    memcpy(q + n, name, namelen);
    n += namelen;
    q[n++] = (uint8_t)(qtype >> 8);
    q[n++] = (uint8_t)qtype;
    q[n++] = 0;
    q[n++] = 1;
    if (edns) {
        static const uint8_t opt[11] = {0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0}; /* 1232 */
        memcpy(q + n, opt, sizeof(opt));
        n += sizeof(opt);
        q[11] = 1;
    }
    return n;
}

static void answer_and_check(const struct view *v, const uint8_t *q, size_t qlen, bool tcp)
{
    static uint8_t *out;
    if (out == NULL && (out = malloc(QUERY_TCP_BUF)) == NULL)
        abort();
    struct query_req req = {
        .pkt = q,
        .len = qlen,
        .transport = tcp ? QUERY_TCP : QUERY_UDP,
    };
    size_t cap = tcp ? QUERY_TCP_BUF : QUERY_UDP_BUF;
    /* Zeroed first: an answer must not depend on what the buffer held (a writer that reads
     * past what it wrote, as name compression once did, then fails the same way every run). */
    memset(out, 0, cap);
    size_t n = query_answer(v, &req, out, cap, NULL);
    if (n == 0 || n > cap)
        fuzz_fail(TAG, "no answer, or one longer than its buffer", q, qlen);
    size_t limit = tcp ? QUERY_TCP_BUF : resp_udp_limit(q, qlen, v->conf->edns_max_udp);
    struct fuzz_resp fr;
    fuzz_resp_check(TAG, out, n, q, qlen, limit, &fr);
}

/* Serve the file just loaded and check the answers about its first nodes. */
static void serve_and_check(const struct zone *z)
{
    static const uint16_t types[] = {1, 2, 5, 6, 15, 16, 28, 33, 39, 255};
    struct conf *c = NULL;
    struct view *v = NULL;
    struct err e = {{0}};
    if (conf_new(&c) != 0 || conf_add_listen(c, "127.0.0.1:5300", &e) != 0 ||
        conf_add_zone(c, ORIGIN, main_path, &e) != 0) {
        conf_free(c);
        broken("a config for a zone that loaded");
    }
    if (view_build(c, &v, &e) != 0) {
        fprintf(stderr, TAG ": %s\n", e.msg);
        broken("a zone that loads does not build a view");
    }
    uint8_t q[DNAME_MAX + 64];
    unsigned asked = 0;
    uint16_t id = 1;
    for (uint32_t b = 0; b < z->nbuckets && asked < ANSWER_NODES; b++) {
        for (const struct zone_node *n = z->buckets[b]; n != NULL && asked < ANSWER_NODES;
             n = n->next, asked++) {
            for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
                bool below = t % 3 == 2, edns = t % 2 == 1;
                size_t qlen = make_query(q, n->name, n->namelen, below, types[t], edns, id++);
                answer_and_check(v, q, qlen, false);
                if (t % 4 == 0)
                    answer_and_check(v, q, qlen, true);
            }
        }
    }
    view_free(v);
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
    serve_and_check(z1);
    if (z1->nnodes != z2->nnodes || z1->nrecords != z2->nrecords || z1->serial != z2->serial)
        broken("two loads of the same file give different zones");
    zone_free(z1);
    zone_free(z2);
    return 0;
}
