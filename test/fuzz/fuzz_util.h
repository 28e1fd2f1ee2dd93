/* fuzz_util.h: helpers shared by the fuzz targets: a response checker and a GSLB view.
 *
 * Header-only (static inline) so each target stays one .c file for the Makefile's
 * replay rule and for run-fuzz.sh (both link test/util/resp_check.c, the validator).
 * fuzz_resp_check() aborts on a malformed response;
 * fuzz_gslb_view() builds, once per process, a view over fuzz.zone with GSLB services
 * whose health the caller may flip between inputs (the view is owned by the helper). */
#ifndef GSLBD_FUZZ_UTIL_H
#define GSLBD_FUZZ_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/gslb.h"
#include "server/log.h"
#include "server/view.h"
#include "test/util/resp_check.h"

/* Print what is wrong and the first bytes of the offending message, then abort. */
static inline void fuzz_fail(const char *target, const char *what, const uint8_t *msg, size_t len)
{
    fprintf(stderr, "%s: %s (%zu bytes)\n", target, what, len);
    for (size_t i = 0; i < len && i < 512; i++)
        fprintf(stderr, "%02x%s", msg[i], (i % 32 == 31) ? "\n" : " ");
    fprintf(stderr, "\n");
    abort();
}

static inline uint16_t fuzz_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* What fuzz_resp_check() found in a response. */
struct fuzz_resp {
    uint8_t rcode;  /* full: header RCODE plus the OPT's extended bits */
    uint16_t flags; /* second header word */
    unsigned qd, an, ns, ar;
    int opts;         /* OPT records seen (always in additional) */
    size_t opt_rdata; /* offset of the OPT RDATA, when opts == 1 */
    uint16_t opt_rdlen;
    uint16_t opt_udp;
};

/* Response r to query q must pass resp_check (test/util/resp_check.c) within limit bytes:
 * parsed by ldns, compression pointers only to earlier complete names, counts that match,
 * nothing after the last record, ID, OPCODE and question echoed, QR set, at most one OPT
 * and only in the additional section. Aborts with the reason otherwise; fills *out. */
static inline void fuzz_resp_check(const char *tag, const uint8_t *r, size_t len, const uint8_t *q,
                                   size_t qlen, size_t limit, struct fuzz_resp *out)
{
    struct resp_info info;
    int rc = resp_check(q, qlen, r, len, limit, &info);
    if (rc != 0) {
        char what[256];
        snprintf(what, sizeof(what), "%s: %s", resp_check_strerror(rc), info.why);
        fuzz_fail(tag, what, r, len);
    }
    *out = (struct fuzz_resp){
        .rcode = info.rcode,
        .flags = info.flags,
        .qd = info.qd,
        .an = info.an,
        .ns = info.ns,
        .ar = info.ar,
        .opts = info.opts,
        .opt_rdata = info.opt_rdata,
        .opt_rdlen = info.opt_rdlen,
        .opt_udp = info.opt_udp,
    };
}

/* The folder this header sits in (test/fuzz/), with the final '/'. */
static inline void fuzz_src_dir(char *buf, size_t cap)
{
    const char *src = __FILE__;
    const char *slash = strrchr(src, '/');
    int dirlen = slash != NULL ? (int)(slash - src + 1) : 0;
    snprintf(buf, cap, "%.*s", dirlen, src);
}

/* A private scratch folder under $TMPDIR (or /tmp); abort when none can be made. */
static inline void fuzz_tmpdir(const char *tag, char *buf, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/gslbd-%s.XXXXXX", tmp != NULL && tmp[0] == '/' ? tmp : "/tmp", tag);
    if (mkdtemp(buf) == NULL) {
        perror("mkdtemp");
        abort();
    }
}

/* Write len bytes to path (created or truncated); abort on failure. */
static inline void fuzz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* The configuration of the GSLB view; %s is the absolute path of fuzz.zone. Three regions,
 * clusters with IPv4, IPv6 and mixed addresses, every policy and both all_down modes,
 * nets that tie ECS prefixes to regions, and a service at www, where the zone's own A and
 * AAAA give way (CNAMEs in fuzz.zone lead there). No checks: the fuzz target sets health. */
#define FUZZ_GSLB_CONF                                                                             \
    "{\"listen\": [\"127.0.0.1:5300\"], \"nsid\": \"fuzz-nsid\",\n"                                \
    " \"api\": {\"enabled\": false}, \"startup_wait_ms\": 0,\n"                                    \
    " \"zones\": [{\"origin\": \"fuzz.example.\", \"file\": \"%s\"}],\n"                           \
    " \"regions\": [{\"name\": \"eu\", \"lat\": 50.11, \"lon\": 8.68},\n"                          \
    "   {\"name\": \"ie\", \"lat\": 53.35, \"lon\": -6.26},\n"                                     \
    "   {\"name\": \"us\", \"lat\": 39.04, \"lon\": -77.49}],\n"                                   \
    " \"clusters\": [\n"                                                                           \
    "   {\"name\": \"eu-a\", \"region\": \"eu\", \"addresses\": [\"192.0.2.10\", "                 \
    "\"2001:db8:10::10\"]},\n"                                                                     \
    "   {\"name\": \"eu-b\", \"region\": \"eu\", \"addresses\": [\"192.0.2.11\", "                 \
    "\"192.0.2.12\"], \"weight\": 3},\n"                                                           \
    "   {\"name\": \"ie-a\", \"region\": \"ie\", \"addresses\": [\"198.51.100.10\", "              \
    "\"2001:db8:20::10\", \"2001:db8:20::11\"]},\n"                                                \
    "   {\"name\": \"us-a\", \"region\": \"us\", \"addresses\": [\"203.0.113.10\"], "              \
    "\"weight\": 0},\n"                                                                            \
    "   {\"name\": \"us-v6\", \"region\": \"us\", \"addresses\": [\"2001:db8:30::10\"]}],\n"       \
    " \"services\": [\n"                                                                           \
    "   {\"name\": \"gslb.fuzz.example\", \"clusters\": [\"eu-a\", \"eu-b\", \"ie-a\", "           \
    "\"us-a\"]},\n"                                                                                \
    "   {\"name\": \"split.fuzz.example\", \"policy\": \"weighted\", \"clusters\": [\"eu-a\", "    \
    "\"eu-b\", \"us-a\"], \"ttl\": 0},\n"                                                          \
    "   {\"name\": \"fo.fuzz.example\", \"policy\": \"failover\", \"clusters\": [\"ie-a\", "       \
    "\"eu-a\"], \"all_down\": \"servfail\"},\n"                                                    \
    "   {\"name\": \"www.fuzz.example\", \"clusters\": [\"ie-a\", \"us-v6\", \"eu-b\"]},\n"        \
    "   {\"name\": \"one.fuzz.example\", \"clusters\": [\"eu-b\"], \"all_down\": "                 \
    "\"servfail\"},\n"                                                                             \
    "   {\"name\": \"v6only.fuzz.example\", \"clusters\": [\"us-v6\"]},\n"                         \
    "   {\"name\": \"deep.gslb.fuzz.example\", \"policy\": \"failover\", \"clusters\": "           \
    "[\"us-a\", \"us-v6\", \"ie-a\"]}],\n"                                                         \
    " \"geoip\": {\"default_order\": [\"us\", \"eu\"],\n"                                          \
    "   \"nets\": {\"10.1.0.0/16\": \"eu\", \"10.1.42.0/24\": \"ie\", \"10.2.0.0/15\": \"us\",\n"  \
    "     \"198.51.100.0/24\": \"ie\", \"2001:db8:aa::/48\": \"us\", \"2001:db8::/32\": \"eu\",\n" \
    "     \"2001:db8:aa:80::/57\": \"ie\"}}}\n"

/* The GSLB view, built on first use from FUZZ_GSLB_CONF (through a scratch file that is
 * removed again). $GSLBD_FUZZ_ZONE overrides the zone file. The helper owns the view;
 * callers may store to gslb->addr_up and gslb->admin between inputs. */
static inline struct view *fuzz_gslb_view(const char *tag)
{
    static struct view *view;
    if (view != NULL)
        return view;
    char zone[4096], dir[4096], path[4200];
    const char *env = getenv("GSLBD_FUZZ_ZONE");
    if (env != NULL && env[0] != '\0') {
        snprintf(zone, sizeof(zone), "%s", env);
    } else {
        char src[2048];
        fuzz_src_dir(src, sizeof(src));
        snprintf(zone, sizeof(zone), "%sfuzz.zone", src);
    }
    char *abs = realpath(zone, NULL);
    if (abs == NULL) {
        fprintf(stderr, "%s: %s: not found (set GSLBD_FUZZ_ZONE)\n", tag, zone);
        abort();
    }
    size_t cap = sizeof(FUZZ_GSLB_CONF) + strlen(abs);
    char *text = malloc(cap);
    if (text == NULL)
        abort();
    int n = snprintf(text, cap, FUZZ_GSLB_CONF, abs);
    free(abs);
    fuzz_tmpdir(tag, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/gslb.json", dir);
    fuzz_write_file(path, text, (size_t)n);
    free(text);

    struct conf *c = NULL;
    struct err e = {{0}};
    log_set_level(LOG_WARN);
    int r = conf_load_file(path, &c, &e);
    unlink(path);
    rmdir(dir);
    if (r != 0) {
        fprintf(stderr, "%s: GSLB config: %s\n", tag, e.msg);
        abort();
    }
    if (view_build(c, &view, &e) != 0) {
        fprintf(stderr, "%s: GSLB view: %s\n", tag, e.msg);
        abort();
    }
    return view;
}

/* Set every address up or down from the bits of seed (bit i: address i % 32 down) and
 * every cluster's admin state from further bits. seed 0 means all up, admin auto. */
static inline void fuzz_gslb_health(struct view *v, uint32_t seed, uint32_t admin_seed)
{
    struct gslb *g = v->gslb;
    for (size_t i = 0; i < g->naddrs; i++)
        atomic_store_explicit(&g->addr_up[i], (seed >> (i % 32) & 1) ? 0 : 1, memory_order_relaxed);
    for (size_t i = 0; i < g->nclusters; i++)
        atomic_store_explicit(&g->admin[i], (uint8_t)(admin_seed >> (2 * (i % 16)) & 3),
                              memory_order_relaxed);
}

#endif
