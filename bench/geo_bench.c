/* geo_bench.c: micro benchmark of geo_lookup() (ns per lookup) against libmaxminddb's own path.
 *
 * Usage: geo_bench [-n LOOKUPS] [DB.mmdb ...]   (LOOKUPS per figure, default 1e7)
 * Without a database argument it builds the DEMO database from geo/demo-networks.txt with
 * geo/mkmmdb.pl into a temp dir (run it from the repository root). For each database it
 * times geo_lookup over addresses inside the database's networks (the deepest walks), over
 * random IPv4 and random global IPv6 addresses, and with 200 nets entries configured; and,
 * for comparison, MMDB_lookup_sockaddr + MMDB_get_value (what a query would cost without
 * the tables built at load). Each geo figure is the median of 5 runs. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <maxminddb.h>

#include "geo/geo.h"

#define NADDR 65536 /* power of two: the address sets are indexed with a mask */

struct addr {
    int family;
    uint8_t a[16];
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct net {
    uint8_t a[16];
    uint8_t prefix;
};

/* The data networks of the database (depth-first over MMDB_read_node). */
static size_t data_networks(const MMDB_s *m, struct net *out, size_t max)
{
    struct {
        uint32_t node;
        uint8_t depth;
        uint8_t a[16];
    } stack[130];
    size_t sp = 1, n = 0;
    memset(&stack[0], 0, sizeof(stack[0]));
    while (sp > 0 && n < max) {
        sp--;
        uint32_t node = stack[sp].node;
        uint8_t depth = stack[sp].depth, a[16];
        memcpy(a, stack[sp].a, 16);
        MMDB_search_node_s sn;
        if (MMDB_read_node(m, node, &sn) != MMDB_SUCCESS)
            break;
        for (int side = 0; side < 2 && n < max; side++) {
            uint8_t b[16];
            memcpy(b, a, 16);
            if (side)
                b[depth >> 3] |= (uint8_t)(0x80u >> (depth & 7));
            int type = side ? sn.right_record_type : sn.left_record_type;
            uint64_t rec = side ? sn.right_record : sn.left_record;
            if (type == MMDB_RECORD_TYPE_SEARCH_NODE && sp < 130 && depth < 127) {
                stack[sp].node = (uint32_t)rec;
                stack[sp].depth = (uint8_t)(depth + 1);
                memcpy(stack[sp].a, b, 16);
                sp++;
            } else if (type == MMDB_RECORD_TYPE_DATA) {
                memcpy(out[n].a, b, 16);
                out[n].prefix = (uint8_t)(depth + 1);
                n++;
            }
        }
    }
    return n;
}

static const uint8_t zero12[12];

/* A random address inside each picked network; ::/96 ones become plain IPv4. */
static void fill_in_data(const MMDB_s *m, struct addr *set, uint64_t *seed)
{
    size_t max = (size_t)1 << 20;
    struct net *nets = malloc(max * sizeof(*nets));
    if (nets == NULL) {
        perror("geo_bench");
        exit(1);
    }
    size_t n = data_networks(m, nets, max);
    bool tree4 = m->metadata.ip_version == 4;
    for (size_t i = 0; i < NADDR; i++) {
        const struct net *x = &nets[n ? rnd(seed) % n : 0];
        uint8_t a[16];
        memcpy(a, x->a, 16);
        unsigned bits = tree4 ? 32 : 128;
        for (unsigned b = x->prefix; b < bits; b++)
            if (rnd(seed) & 1)
                a[b >> 3] |= (uint8_t)(0x80u >> (b & 7));
        if (tree4) {
            set[i].family = AF_INET;
            memcpy(set[i].a, a, 4);
        } else if (memcmp(a, zero12, 12) == 0) {
            set[i].family = AF_INET;
            memcpy(set[i].a, a + 12, 4);
        } else {
            set[i].family = AF_INET6;
            memcpy(set[i].a, a, 16);
        }
    }
    free(nets);
}

static void fill_random(struct addr *set, int family, uint64_t *seed)
{
    for (size_t i = 0; i < NADDR; i++) {
        uint64_t x = rnd(seed), y = rnd(seed);
        set[i].family = family;
        memcpy(set[i].a, &x, 8);
        memcpy(set[i].a + 8, &y, 8);
        if (family == AF_INET6)
            set[i].a[0] = (uint8_t)(0x20 | (set[i].a[0] & 0x1f)); /* 2000::/3 */
    }
}

#define REPS 5 /* each figure is the median of REPS timed runs: neighbours on a VM are noisy */

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

static double bench_geo_once(const struct geo *g, const struct addr *set, long n, unsigned *sink)
{
    struct geo_result r;
    unsigned acc = 0;
    for (long i = 0; i < NADDR; i++) { /* warm up */
        geo_lookup(g, set[i].family, set[i].a, &r);
        acc += r.rank[0] + r.scope;
    }
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        const struct addr *x = &set[i & (NADDR - 1)];
        geo_lookup(g, x->family, x->a, &r);
        acc += r.rank[0] + r.scope;
    }
    double t1 = now_ns();
    *sink += acc;
    return (t1 - t0) / (double)n;
}

static double bench_geo(const struct geo *g, const struct addr *set, long n, unsigned *sink)
{
    double t[REPS];
    for (int i = 0; i < REPS; i++)
        t[i] = bench_geo_once(g, set, n / REPS, sink);
    return median(t, REPS);
}

static double bench_libmaxminddb(const MMDB_s *m, const struct addr *set, long n, unsigned *sink)
{
    struct sockaddr_storage ss[64];
    double t0 = now_ns();
    unsigned acc = 0;
    for (long i = 0; i < n; i++) {
        const struct addr *x = &set[i & (NADDR - 1)];
        struct sockaddr_storage *s = &ss[i & 63];
        if (x->family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)s;
            sin->sin_family = AF_INET;
            memcpy(&sin->sin_addr, x->a, 4);
        } else {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)s;
            sin6->sin6_family = AF_INET6;
            memcpy(&sin6->sin6_addr, x->a, 16);
        }
        int err;
        MMDB_lookup_result_s lr = MMDB_lookup_sockaddr(m, (struct sockaddr *)s, &err);
        if (lr.found_entry) {
            MMDB_entry_data_s d;
            if (MMDB_get_value(&lr.entry, &d, "location", "latitude", NULL) == MMDB_SUCCESS &&
                d.has_data)
                acc += (unsigned)d.double_value;
        }
        acc += lr.netmask;
    }
    double t1 = now_ns();
    *sink += acc;
    return (t1 - t0) / (double)n;
}

static int run(const char *path, long n)
{
    static const struct geo_region regions[] = {
        {"eu-central", 50.11, 8.68}, {"eu-west", 53.35, -6.26}, {"us-east", 39.04, -77.49}};
    struct addr *in_data = calloc(3 * NADDR, sizeof(*in_data));
    struct addr *rnd4 = in_data + NADDR, *rnd6 = in_data + 2 * NADDR;
    struct geo_net nets[200];
    if (in_data == NULL) {
        perror("geo_bench");
        return 1;
    }
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    unsigned sink = 0;
    char err[512];

    struct geo_config c = {.database = path, .regions = regions, .nregions = 3};
    struct geo *g = NULL;
    double t0 = now_ns();
    if (geo_open(&c, &g, err, sizeof(err)) != 0) {
        fprintf(stderr, "geo_bench: %s\n", err);
        free(in_data);
        return 1;
    }
    double t_open = now_ns() - t0;
    MMDB_s m;
    if (MMDB_open(path, MMDB_MODE_MMAP, &m) != MMDB_SUCCESS) {
        fprintf(stderr, "geo_bench: %s: cannot open\n", path);
        geo_free(g);
        free(in_data);
        return 1;
    }
    fill_in_data(&m, in_data, &seed);
    fill_random(rnd4, AF_INET, &seed);
    fill_random(rnd6, AF_INET6, &seed);

    printf("%s (%s, %u nodes): geo_open %.1f ms\n", path, m.metadata.database_type,
           m.metadata.node_count, t_open / 1e6);
    printf("  %-44s %8.1f ns/lookup\n", "geo_lookup, addresses in data networks",
           bench_geo(g, in_data, n, &sink));
    printf("  %-44s %8.1f ns/lookup\n", "geo_lookup, random IPv4", bench_geo(g, rnd4, n, &sink));
    printf("  %-44s %8.1f ns/lookup\n", "geo_lookup, random IPv6 in 2000::/3",
           bench_geo(g, rnd6, n, &sink));
    geo_free(g);

    /* 200 nets entries (half IPv4 in 10/8, half IPv6 in 2001:db8::/32), none matching most
     * addresses: the price of the override check and its scope rule. */
    for (int i = 0; i < 200; i++) {
        memset(&nets[i], 0, sizeof(nets[i]));
        uint64_t x = rnd(&seed);
        if (i % 2 == 0) {
            nets[i].family = AF_INET;
            nets[i].addr[0] = 10;
            nets[i].addr[1] = (uint8_t)(x >> 8);
            nets[i].addr[2] = (uint8_t)(x >> 16);
            nets[i].prefix = (uint8_t)(16 + (x >> 24) % 9);
        } else {
            nets[i].family = AF_INET6;
            memcpy(nets[i].addr, (const uint8_t[]){0x20, 0x01, 0x0d, 0xb8}, 4);
            nets[i].addr[4] = (uint8_t)(x >> 8);
            nets[i].addr[5] = (uint8_t)(x >> 16);
            nets[i].prefix = 48;
        }
        unsigned bytes = nets[i].family == AF_INET ? 4 : 16;
        for (unsigned b = nets[i].prefix; b < bytes * 8; b++)
            nets[i].addr[b >> 3] &= (uint8_t) ~(0x80u >> (b & 7));
        /* a function of the network, so a network drawn twice keeps one region */
        nets[i].region = (uint16_t)((nets[i].addr[1] + nets[i].addr[2] + nets[i].addr[4] +
                                     nets[i].addr[5] + nets[i].prefix) %
                                    3);
    }
    c.nets = nets;
    c.nnets = 200;
    if (geo_open(&c, &g, err, sizeof(err)) != 0) {
        fprintf(stderr, "geo_bench: %s\n", err);
        MMDB_close(&m);
        free(in_data);
        return 1;
    }
    printf("  %-44s %8.1f ns/lookup\n", "geo_lookup + 200 nets, in data networks",
           bench_geo(g, in_data, n, &sink));
    geo_free(g);

    printf("  %-44s %8.1f ns/lookup\n", "libmaxminddb lookup + get_value, same set",
           bench_libmaxminddb(&m, in_data, n / 4, &sink));
    MMDB_close(&m);
    free(in_data);
    printf("  (checksum %u)\n", sink);
    return 0;
}

int main(int argc, char **argv)
{
    long n = 10000000;
    int i = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        n = atol(argv[2]);
        i = 3;
    }
    if (n < NADDR)
        n = NADDR;
    int rc = 0;
    if (i >= argc) {
        char dir[] = "/tmp/gslbd-geo-bench-XXXXXX", path[128], cmd[512];
        if (mkdtemp(dir) == NULL) {
            perror("geo_bench: mkdtemp");
            return 1;
        }
        snprintf(path, sizeof(path), "%s/demo.mmdb", dir);
        snprintf(cmd, sizeof(cmd), "perl geo/mkmmdb.pl geo/demo-networks.txt %s", path);
        if (system(cmd) != 0) {
            fprintf(stderr, "geo_bench: '%s' failed (run from the repository root)\n", cmd);
            rmdir(dir);
            return 1;
        }
        rc = run(path, n);
        unlink(path);
        rmdir(dir);
        return rc;
    }
    for (; i < argc; i++)
        rc |= run(argv[i], n);
    return rc;
}
