/* conf.h: gslbd's configuration, parsed from one JSON file (jansson) into plain structs.
 * conf.c is the only place that reads JSON config; everything else reads struct conf. */
#ifndef GSLBD_CONF_H
#define GSLBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define CONF_DEFAULT_PORT 53

struct conf_listen {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[80]; /* as written, for logs */
};

struct conf_zone {
    char *origin; /* text, as written */
    char *file;   /* resolved relative to the config file's folder */
};

struct conf_tcp {
    uint32_t idle_timeout_ms;  /* default 10000 */
    uint32_t io_timeout_ms;    /* a started message must complete within this; default 5000 */
    uint32_t max_connections;  /* total, across workers; default 4096 */
    uint32_t max_per_source;   /* per client address; default 64 */
    uint32_t max_pending_out;  /* bytes queued per connection before reads pause; default 262144 */
};

struct conf {
    char *path; /* NULL when built from the command line */
    struct conf_listen *listen;
    size_t nlisten;
    unsigned workers; /* 0 = one per CPU */
    struct conf_zone *zones;
    size_t nzones;
    uint16_t edns_max_udp; /* default 1232, 512..4096 */
    uint8_t nsid[128];
    uint8_t nsid_len; /* 0 = NSID not configured */
    uint32_t udp_rcvbuf; /* default 4 MiB */
    uint32_t udp_sndbuf; /* default 4 MiB */
    struct conf_tcp tcp;
    int log_level; /* 0..3 = error, warning, info, debug (enum log_level); default 2 (info) */
};

/* A conf with every default set and no listen address or zone. Caller owns it. */
int conf_new(struct conf **out);

/* Parse path. Errors name file:line:col and the JSON path ("$.tcp.idle_timeout_ms").
 * Unknown keys are errors. Returns 0, GSLBD_EPARSE (JSON syntax, duplicate key),
 * GSLBD_EINVAL (a key or value), GSLBD_ELIMIT (file too big) or -errno (reading).
 * Relative zone files are resolved against path's folder. On failure *out is untouched.
 * The keys are documented in docs/config.md. */
int conf_load_file(const char *path, struct conf **out, struct err *e);

/* Add a listen address "ADDR:PORT", "[V6]:PORT", or "ADDR" (port 53). */
int conf_add_listen(struct conf *c, const char *text, struct err *e);

/* Add a zone; origin with or without the final dot. */
int conf_add_zone(struct conf *c, const char *origin, const char *file, struct err *e);

/* Parse "ADDR:PORT" / "[V6]:PORT" / "ADDR" (numeric only; port 1..65535, port 0 refused).
 * Returns 0 or -EINVAL; on failure *ss and *len are untouched. */
int conf_parse_addr(const char *text, uint16_t default_port, struct sockaddr_storage *ss,
                    socklen_t *len);

void conf_free(struct conf *c); /* NULL is a no-op */

#endif
