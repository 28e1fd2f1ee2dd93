/* fuzz_config.c: libFuzzer target for the config loader: conf_load_file() on arbitrary bytes.
 *
 * conf has no from-memory entry point (conf_load_file reads a path, and relative names in
 * it resolve against that path's folder), so each input is written to a file in a private
 * scratch folder made once per process and removed at exit. The input is
 *     CONFIG [NUL NETS [NUL TOKEN]]
 * CONFIG goes to fuzz.json, NETS to nets.txt and TOKEN to api.token (mode 0600) in the same
 * folder, so "nets_file": "nets.txt" and "token_file": "api.token" reach those parsers
 * too (a NUL can never be part of valid JSON text, so nothing is lost by splitting there).
 * Inputs naming /dev, /proc, /sys or /run in any JSON string are skipped: those files can
 * block or never end, which says nothing about gslbd.
 *
 * Checks: loading twice gives the same result and message; a failure leaves *out untouched
 * and names the file; a success obeys every bound conf.h and docs/config.md promise
 * (indexes in range, network bits past the prefix zero, no repeated references, ...), and
 * its GSLB part builds (without the MMDB, which conf loading never opens) and decides for a
 * few clients. Leaks are caught by libFuzzer's leak checker. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "server/conf/conf.h"
#include "server/gslb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TAG "fuzz_config"

static char dir[4096];
static char conf_path[4200], nets_path[4200], token_path[4200];

static void cleanup(void)
{
    unlink(conf_path);
    unlink(nets_path);
    unlink(token_path);
    rmdir(dir);
}

static void init(void)
{
    fuzz_tmpdir(TAG, dir, sizeof(dir));
    snprintf(conf_path, sizeof(conf_path), "%s/fuzz.json", dir);
    snprintf(nets_path, sizeof(nets_path), "%s/nets.txt", dir);
    snprintf(token_path, sizeof(token_path), "%s/api.token", dir);
    atexit(cleanup);
}

static void write_private(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        perror(path);
        abort();
    }
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) {
            perror(path);
            abort();
        }
        b += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* ---- skipping inputs that name special files ---- */

static bool special_text(const char *s, size_t n)
{
    static const char *const bad[] = {"/dev", "/proc", "/sys", "/run"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (memmem(s, n, bad[i], strlen(bad[i])) != NULL)
            return true;
    return false;
}

static bool names_special(json_t *v, int depth)
{
    if (depth > 64)
        return true; /* conf itself never goes this deep; skip rather than recurse on */
    if (json_is_string(v))
        return special_text(json_string_value(v), json_string_length(v));
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (names_special(json_array_get(v, i), depth + 1))
                return true;
        return false;
    }
    if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            const char *k = json_object_iter_key(it);
            if (special_text(k, strlen(k)) || names_special(json_object_iter_value(it), depth + 1))
                return true;
        }
    }
    return false;
}

/* ---- what a loaded conf promises ---- */

static void bad(const char *what, const struct conf *c)
{
    (void)c;
    fprintf(stderr, TAG ": loaded config breaks a promise: %s\n", what);
    abort();
}

static bool bits_clear_past(const uint8_t *a, unsigned prefix, unsigned bits)
{
    for (unsigned b = prefix; b < bits; b++)
        if (a[b / 8] & (0x80 >> (b % 8)))
            return false;
    return true;
}

static void check_index_list(const size_t *v, size_t n, size_t limit, const char *what,
                             const struct conf *c)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] >= limit)
            bad(what, c);
        for (size_t j = 0; j < i && n <= 4096; j++)
            if (v[j] == v[i])
                bad(what, c);
    }
}

static bool is_abs(const char *p)
{
    return p != NULL && p[0] == '/';
}

static void check_conf(const struct conf *c)
{
    if (c->nlisten < 1 || c->nlisten > 64 || c->nzones < 1)
        bad("listen or zones count", c);
    for (size_t i = 0; i < c->nlisten; i++) {
        int fam = c->listen[i].addr.ss_family;
        if ((fam != AF_INET && fam != AF_INET6) || memchr(c->listen[i].text, '\0', 80) == NULL)
            bad("listen address", c);
    }
    for (size_t i = 0; i < c->nzones; i++)
        if (c->zones[i].origin == NULL || !is_abs(c->zones[i].file))
            bad("zone origin or file not resolved", c);
    if (c->edns_max_udp < 512 || c->edns_max_udp > 4096 || c->nsid_len > sizeof(c->nsid) ||
        c->log_level < 0 || c->log_level > 3 || c->workers > 256 || c->startup_wait_ms > 60000)
        bad("top-level bounds", c);
    const struct conf_tcp *t = &c->tcp;
    if (t->idle_timeout_ms < 100 || t->io_timeout_ms < 100 || t->max_connections < 1 ||
        t->max_per_source < 1 || t->max_pending_out < 4096)
        bad("tcp bounds", c);
    if (c->state_file != NULL && !is_abs(c->state_file))
        bad("state_file not resolved", c);
    if (c->path == NULL || strcmp(c->path, conf_path) != 0)
        bad("path", c);

    for (size_t i = 0; i < c->nregions; i++) {
        const struct conf_region *r = &c->regions[i];
        if (r->name == NULL || !(r->lat >= -90 && r->lat <= 90) ||
            !(r->lon >= -180 && r->lon <= 180))
            bad("region", c);
    }
    for (size_t i = 0; i < c->nchecks; i++) {
        const struct conf_check *k = &c->checks[i];
        if (k->name == NULL || k->port == 0 || k->fall < 1 || k->fall > 100 || k->rise < 1 ||
            k->rise > 100 || k->timeout_ms >= k->interval_ms || k->interval_ms < 50 ||
            k->timeout_ms < 10 || (k->type != CONF_CHECK_TCP && k->nexpect_status < 1) ||
            k->nexpect_status > 16 || (k->ca_file != NULL && !is_abs(k->ca_file)) ||
            (k->path != NULL && k->path[0] != '/'))
            bad("check", c);
        for (unsigned s = 0; s < k->nexpect_status; s++)
            if (k->expect_status[s] < 100 || k->expect_status[s] > 599)
                bad("check expect_status", c);
    }
    if (c->nclusters > 0 && c->nregions == 0)
        bad("clusters without regions", c);
    for (size_t i = 0; i < c->nclusters; i++) {
        const struct conf_cluster *k = &c->clusters[i];
        if (k->name == NULL || k->region >= c->nregions || k->naddrs < 1 || k->naddrs > 64 ||
            k->weight > 1000000 || k->nchecks > 16)
            bad("cluster", c);
        for (size_t a = 0; a < k->naddrs; a++)
            if (k->addrs[a].family != AF_INET && k->addrs[a].family != AF_INET6)
                bad("cluster address family", c);
        check_index_list(k->checks, k->nchecks, c->nchecks, "cluster checks", c);
    }
    for (size_t i = 0; i < c->nservices; i++) {
        const struct conf_service *s = &c->services[i];
        size_t n = s->name != NULL ? strlen(s->name) : 0;
        if (n == 0 || s->name[n - 1] != '.' || s->nclusters < 1 || s->ttl > 86400 ||
            s->failover_ttl > 86400)
            bad("service", c);
        check_index_list(s->clusters, s->nclusters, c->nclusters, "service clusters", c);
    }
    const struct conf_geo *g = &c->geo;
    if (g->database != NULL && !is_abs(g->database))
        bad("geoip database not resolved", c);
    if (c->nregions > 0 && g->ndefault_order < 1)
        bad("no default region order", c);
    check_index_list(g->default_order, g->ndefault_order, c->nregions, "default_order", c);
    for (size_t i = 0; i < g->nnets; i++) {
        const struct conf_net *n = &g->nets[i];
        unsigned bits = n->family == AF_INET ? 32 : n->family == AF_INET6 ? 128 : 0;
        if (bits == 0 || n->prefix > bits || !bits_clear_past(n->addr, n->prefix, 128) ||
            n->region >= c->nregions)
            bad("network", c);
        for (size_t j = 0; j < i && g->nnets <= 2048; j++)
            if (g->nets[j].family == n->family && g->nets[j].prefix == n->prefix &&
                memcmp(g->nets[j].addr, n->addr, 16) == 0)
                bad("network listed twice", c);
    }
    for (size_t i = 0; i < g->npins; i++) {
        const struct conf_pin *p = &g->pins[i];
        if (strlen(p->code) != 2 || p->nregions < 1)
            bad("pin", c);
        check_index_list(p->regions, p->nregions, c->nregions, "pin regions", c);
    }
    if (c->api.token_len > CONF_API_TOKEN_MAX || strlen(c->api.token) != c->api.token_len)
        bad("api token", c);
}

/* Build the GSLB part the way view_build would (minus zones and the MMDB) and decide. */
static void exercise_gslb(struct conf *c)
{
    free(c->geo.database);
    c->geo.database = NULL;
    struct gslb *g = NULL;
    struct err e = {{0}};
    if (gslb_build(c, &g, &e) != 0) {
        if (e.msg[0] == '\0')
            bad("gslb_build failed without a message", c);
        return;
    }
    static const uint8_t v4[4] = {10, 20, 1, 2}, v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0xaa};
    for (size_t i = 0; i < g->nservices; i++) {
        struct gslb_decision d;
        gslb_decide(g, &g->services[i], AF_INET, v4, i * 0x9E3779B97F4A7C15ull, &d);
        if (d.cluster >= (int32_t)g->nclusters)
            bad("decision names no cluster", c);
        gslb_decide(g, &g->services[i], AF_INET6, v6, i, &d);
        gslb_decide(g, &g->services[i], AF_INET, NULL, 7, &d);
        if (d.cluster >= (int32_t)g->nclusters)
            bad("decision names no cluster", c);
    }
    gslb_free(g);
}

static int load(struct conf **out, struct err *e)
{
    memset(e, 0, sizeof(*e));
    return conf_load_file(conf_path, out, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (dir[0] == '\0')
        init();
    const uint8_t *nul = memchr(data, '\0', size);
    size_t clen = nul != NULL ? (size_t)(nul - data) : size;
    const uint8_t *nets = nul != NULL ? nul + 1 : data + size;
    size_t nlen = (size_t)(data + size - nets);
    const uint8_t *nul2 = memchr(nets, '\0', nlen);
    const uint8_t *tok = nul2 != NULL ? nul2 + 1 : data + size;
    if (nul2 != NULL)
        nlen = (size_t)(nul2 - nets);
    size_t tlen = (size_t)(data + size - tok);

    json_error_t jerr;
    json_t *tree = json_loadb((const char *)data, clen, 0, &jerr);
    bool skip = tree != NULL && names_special(tree, 0);
    json_decref(tree);
    if (skip)
        return 0;

    fuzz_write_file(conf_path, data, clen);
    fuzz_write_file(nets_path, nets, nlen);
    write_private(token_path, tok, tlen);

    struct conf *sentinel = (struct conf *)(uintptr_t)0x1;
    struct conf *c1 = sentinel, *c2 = sentinel;
    static struct err e1, e2;
    int r1 = load(&c1, &e1);
    int r2 = load(&c2, &e2);
    if (r1 != r2 || strcmp(e1.msg, e2.msg) != 0) {
        fprintf(stderr, TAG ": %d \"%s\" then %d \"%s\"\n", r1, e1.msg, r2, e2.msg);
        fuzz_fail(TAG, "the same file loads differently twice", data, size);
    }
    if (r1 != 0) {
        if (r1 > 0 || c1 != sentinel || c2 != sentinel)
            fuzz_fail(TAG, "a failed load returned > 0 or touched *out", data, size);
        if (e1.msg[0] != '/')
            fuzz_fail(TAG, "a failed load does not name the file", data, size);
        return 0;
    }
    if (c1 == sentinel || c1 == NULL)
        fuzz_fail(TAG, "a successful load gave no conf", data, size);
    check_conf(c1);
    exercise_gslb(c1);
    conf_free(c1);
    conf_free(c2);
    return 0;
}
