/* geo_sample.c: N random IPv4 clients that a MaxMind DB locates (a record with coordinates),
 * drawn with a fixed seed, one address a line: the located sample of bench/scale.sh.
 *
 * Usage: geo_sample DB.mmdb N [SEED] */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <maxminddb.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: geo_sample DB.mmdb N [SEED]\n");
        return 2;
    }
    long n = atol(argv[2]);
    uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) : 0x5eed2026ull;
    if (seed == 0)
        seed = 1;
    MMDB_s m;
    int st = MMDB_open(argv[1], MMDB_MODE_MMAP, &m);
    if (st != MMDB_SUCCESS) {
        fprintf(stderr, "geo_sample: %s: %s\n", argv[1], MMDB_strerror(st));
        return 1;
    }
    long got = 0;
    for (long tries = 0; got < n && tries < n * 1000; tries++) {
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof(sin));
        sin.sin_family = AF_INET;
        sin.sin_addr.s_addr = htonl((uint32_t)rnd(&seed));
        int err = 0;
        MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&m, (struct sockaddr *)&sin, &err);
        if (err != MMDB_SUCCESS || !r.found_entry)
            continue;
        MMDB_entry_data_s lat, lon;
        if (MMDB_get_value(&r.entry, &lat, "location", "latitude", NULL) != MMDB_SUCCESS ||
            !lat.has_data ||
            MMDB_get_value(&r.entry, &lon, "location", "longitude", NULL) != MMDB_SUCCESS ||
            !lon.has_data)
            continue;
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
        printf("%s\n", text);
        got++;
    }
    MMDB_close(&m);
    return got == n ? 0 : 1;
}
