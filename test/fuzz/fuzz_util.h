/* fuzz_util.h: helpers shared by the fuzz targets: a response checker and a GSLB view.
 *
 * Header-only (static inline) so each target stays one .c file for the Makefile's
 * replay rule and for run-fuzz.sh. fuzz_resp_check() aborts on a malformed response;
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

#include "server/conf.h"
#include "server/gslb.h"
#include "server/log.h"
#include "server/view.h"

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

/* Skip the name at *off: labels of at most 63 bytes, pointers only to earlier bytes, at
 * most 255 bytes expanded. */
static inline void fuzz_check_name(const char *tag, const uint8_t *r, size_t len, size_t *off)
{
    size_t pos = *off, total = 0;
    bool jumped = false;
    for (int hops = 0;; hops++) {
        if (pos >= len || hops > 255)
            fuzz_fail(tag, "name runs past the end", r, len);
        uint8_t b = r[pos];
        if ((b & 0xC0) == 0xC0) {
            if (pos + 1 >= len)
                fuzz_fail(tag, "truncated compression pointer", r, len);
            size_t target = (size_t)(b & 0x3F) << 8 | r[pos + 1];
            if (target >= pos || target < 12)
                fuzz_fail(tag, "compression pointer not to an earlier name", r, len);
            if (!jumped)
                *off = pos + 2;
            jumped = true;
            pos = target;
            continue;
        }
        if ((b & 0xC0) != 0)
            fuzz_fail(tag, "bad label type", r, len);
        total += (size_t)b + 1;
        if (total > 255)
            fuzz_fail(tag, "name longer than 255 bytes", r, len);
        if (b == 0) {
            if (!jumped)
                *off = pos + 1;
            return;
        }
        pos += (size_t)b + 1;
    }
}

/* Walk every section of response r to query q: QR set, ID and OPCODE copied, every
 * record inside the message, nothing after the last, at most one OPT and only in the
 * additional section. Fills *out. */
static inline void fuzz_resp_check(const char *tag, const uint8_t *r, size_t len, const uint8_t *q,
                                   size_t qlen, struct fuzz_resp *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 12)
        fuzz_fail(tag, "response shorter than a header", r, len);
    if (!(r[2] & 0x80))
        fuzz_fail(tag, "QR not set", r, len);
    if (qlen >= 2 && memcmp(r, q, 2) != 0)
        fuzz_fail(tag, "ID not copied", r, len);
    if (qlen >= 3 && ((r[2] >> 3) & 0x0F) != ((q[2] >> 3) & 0x0F))
        fuzz_fail(tag, "OPCODE not copied", r, len);
    out->flags = fuzz_get16(r + 2);
    out->rcode = r[3] & 0x0F;
    out->qd = fuzz_get16(r + 4);
    out->an = fuzz_get16(r + 6);
    out->ns = fuzz_get16(r + 8);
    out->ar = fuzz_get16(r + 10);
    size_t off = 12;
    for (unsigned i = 0; i < out->qd; i++) {
        fuzz_check_name(tag, r, len, &off);
        if (off + 4 > len)
            fuzz_fail(tag, "question runs past the end", r, len);
        off += 4;
    }
    unsigned total = out->an + out->ns + out->ar;
    for (unsigned i = 0; i < total; i++) {
        size_t owner = off;
        fuzz_check_name(tag, r, len, &off);
        if (off + 10 > len)
            fuzz_fail(tag, "RR header runs past the end", r, len);
        uint16_t type = fuzz_get16(r + off);
        size_t rdlen = fuzz_get16(r + off + 8);
        if (off + 10 + rdlen > len)
            fuzz_fail(tag, "RDATA runs past the end", r, len);
        if (type == 41) {
            if (i < out->an + out->ns)
                fuzz_fail(tag, "OPT outside the additional section", r, len);
            if (r[owner] != 0)
                fuzz_fail(tag, "OPT owner is not the root", r, len);
            if (++out->opts > 1)
                fuzz_fail(tag, "more than one OPT", r, len);
            out->opt_udp = fuzz_get16(r + off + 2);
            out->rcode = (uint8_t)(out->rcode | r[off + 4] << 4);
            out->opt_rdata = off + 10;
            out->opt_rdlen = (uint16_t)rdlen;
            /* the options themselves must tile the RDATA exactly */
            size_t p = 0;
            while (p < rdlen) {
                if (rdlen - p < 4 || fuzz_get16(r + off + 10 + p + 2) > rdlen - p - 4)
                    fuzz_fail(tag, "OPT options do not tile the RDATA", r, len);
                p += 4u + fuzz_get16(r + off + 10 + p + 2);
            }
        }
        off += 10 + rdlen;
    }
    if (off != len)
        fuzz_fail(tag, "bytes after the last record", r, len);
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
