/* engine_bench.c: the query engine's own CPU per query (ns), without sockets or kernel.
 *
 * Usage: engine_bench (-c CONF | -z ORIGIN=FILE) [-n PASSES] [-B] QUERYFILE
 *   QUERYFILE  dnsperf's text format ("name type" a line) or, with -B, its binary format
 *              (a 2-byte length, then the query's wire bytes), as bench/bench.sh uses.
 * Builds the view as gslbd would (zones, services, GeoIP tables), answers every query of
 * the file PASSES times (default: enough for about 2 million answers) from a fixed IPv4
 * client, and prints the median ns per query of 5 such runs. make bench prints it beside
 * the dnsperf figures: what gslbd itself spends of each query's CPU. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/conf/conf.h"
#include "server/query.h"
#include "server/view.h"

#define MAX_QUERIES 200000
#define QMAX 512
#define RUNS 5

struct qset {
    uint8_t (*pkt)[QMAX];
    uint16_t *len;
    size_t n;
};

static const struct {
    const char *name;
    uint16_t type;
} types[] = {{"A", 1},   {"NS", 2},    {"CNAME", 5}, {"SOA", 6},  {"PTR", 12},
             {"MX", 15}, {"TXT", 16},  {"AAAA", 28}, {"SRV", 33}, {"NAPTR", 35},
             {"DS", 43}, {"CAA", 257}, {"ANY", 255}};

/* name (dotted text) and type name to a query packet; 0 when unusable. */
static size_t text_query(const char *name, const char *type, uint8_t *out)
{
    uint16_t t = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcasecmp(type, types[i].name) == 0)
            t = types[i].type;
    if (t == 0)
        return 0;
    static const uint8_t hdr[12] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(out, hdr, sizeof(hdr));
    size_t o = 12;
    const char *p = name;
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || o + l + 6 > QMAX)
            return 0;
        out[o++] = (uint8_t)l;
        memcpy(out + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    out[o++] = 0;
    out[o++] = (uint8_t)(t >> 8);
    out[o++] = (uint8_t)t;
    out[o++] = 0;
    out[o++] = 1;
    return o;
}

static int load_queries(const char *path, int binary, struct qset *q)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    q->pkt = malloc(sizeof(*q->pkt) * MAX_QUERIES);
    q->len = malloc(sizeof(*q->len) * MAX_QUERIES);
    if (q->pkt == NULL || q->len == NULL) {
        fclose(f);
        return -1;
    }
    q->n = 0;
    if (binary) {
        uint8_t l2[2];
        while (q->n < MAX_QUERIES && fread(l2, 1, 2, f) == 2) {
            size_t l = (size_t)l2[0] << 8 | l2[1];
            if (l > QMAX || fread(q->pkt[q->n], 1, l, f) != l)
                break;
            q->len[q->n++] = (uint16_t)l;
        }
    } else {
        char line[600], name[512], type[32];
        while (q->n < MAX_QUERIES && fgets(line, sizeof(line), f) != NULL) {
            if (sscanf(line, "%511s %31s", name, type) != 2)
                continue;
            size_t l = text_query(name, type, q->pkt[q->n]);
            if (l > 0)
                q->len[q->n++] = (uint16_t)l;
        }
    }
    fclose(f);
    if (q->n == 0) {
        fprintf(stderr, "engine_bench: no queries in %s\n", path);
        return -1;
    }
    return 0;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void usage(void)
{
    fprintf(stderr, "usage: engine_bench (-c CONF | -z ORIGIN=FILE) [-n PASSES] [-B] QUERYFILE\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *conf_path = NULL, *zone = NULL;
    long passes = 0;
    int binary = 0, opt;
    while ((opt = getopt(argc, argv, "c:z:n:B")) != -1) {
        switch (opt) {
        case 'c':
            conf_path = optarg;
            break;
        case 'z':
            zone = optarg;
            break;
        case 'n':
            passes = atol(optarg);
            break;
        case 'B':
            binary = 1;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1 || (conf_path == NULL) == (zone == NULL))
        usage();

    struct conf *c = NULL;
    struct err e = {{0}};
    int r;
    if (conf_path != NULL) {
        r = conf_load_file(conf_path, &c, &e);
    } else {
        char *eq = strchr(zone, '=');
        if (eq == NULL)
            usage();
        *eq = '\0';
        r = conf_new(&c);
        if (r == 0)
            r = conf_add_zone(c, zone, eq + 1, &e);
    }
    struct view *v = NULL;
    if (r == 0)
        r = view_build(c, &v, &e); /* takes c, even on error */
    if (r < 0) {
        fprintf(stderr, "engine_bench: %s\n", e.msg);
        return 1;
    }
    struct qset q;
    if (load_queries(argv[optind], binary, &q) < 0)
        return 1;
    if (passes <= 0)
        passes = (long)(2000000 / q.n) + 1;

    struct sockaddr_in src = {.sin_family = AF_INET, .sin_port = htons(40000)};
    inet_pton(AF_INET, "198.51.100.7", &src.sin_addr);
    static uint8_t out[QUERY_UDP_BUF];
    static struct query_stats stats;
    uint64_t rng = 0x9E3779B97F4A7C15u;
    size_t bytes = 0;
    double per[RUNS];
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        for (long p = 0; p < passes; p++) {
            for (size_t i = 0; i < q.n; i++) {
                struct query_out qo;
                struct query_req req = {
                    .pkt = q.pkt[i],
                    .len = q.len[i],
                    .src = (const struct sockaddr *)&src,
                    .transport = QUERY_UDP,
                    .rng = &rng,
                    .now = 1700000000,
                    .out = &qo,
                };
                bytes += query_answer(v, &req, out, sizeof(out), &stats);
            }
        }
        per[run] = (now_ns() - t0) / ((double)passes * (double)q.n);
    }
    qsort(per, RUNS, sizeof(per[0]), cmp_double);
    printf("engine: %.0f ns/query (median of %d runs of %ld x %zu queries; min %.0f, max %.0f; "
           "%.0f response bytes/query)\n",
           per[RUNS / 2], RUNS, passes, q.n, per[0], per[RUNS - 1],
           (double)bytes / ((double)RUNS * (double)passes * (double)q.n));
    view_free(v); /* and c, which the view owns */
    free(q.pkt);
    free(q.len);
    return 0;
}
