/* conf.h: gslbd's configuration, parsed from one JSON file (jansson) into plain structs.
 * conf.c is the only place that reads JSON config; everything else reads struct conf. */
#ifndef GSLBD_CONF_H
#define GSLBD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "server/err.h"

#define CONF_DEFAULT_PORT 53

struct conf_listen {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char text[80]; /* as written, for logs */
};

/* A zone's "dnssec" object (conf_dnssec.c, docs/dnssec.md): the zone is signed at load. */
#define CONF_DNSSEC_PARENTS 4
struct conf_dnssec {
    bool enabled;   /* the object was given */
    char *key_file; /* resolved: one combined key (flags 257) */
    char *ksk_file; /* or a KSK and a ZSK */
    char *zsk_file;
    char *key_dir; /* or a folder where gslbd makes, keeps and rolls the keys */
    int algorithm; /* of the keys made in key_dir: 0 ECDSA P-256, 1 Ed25519 */
    uint8_t alg;   /* the same as its DNSSEC number: 13 or 15 */
    double validity_days, zsk_lifetime_days, ksk_lifetime_days;
    uint32_t validity_s;          /* of each signature; default 14 days */
    uint32_t zsk_lifetime_s;      /* key_dir: roll the ZSK after; 0 never (default 90 days) */
    uint32_t ksk_lifetime_s;      /* key_dir: roll the KSK after; 0 never (the default) */
    uint32_t propagation_delay_s; /* a change reaches every secondary and cache; 1 h */
    uint32_t parent_ds_ttl_s;     /* the TTL of our DS in the parent zone; 1 day */
    struct sockaddr_storage parents[CONF_DNSSEC_PARENTS]; /* asked for our DS (KSK roll) */
    size_t nparents;
    const char *keys_key; /* "key_file", "ksk_file" or "key_dir": how the keys are named */
    int line, col;        /* where, for errors */
};

struct conf_zone {
    char *origin;  /* text, as written */
    char *file;    /* resolved relative to the config file's folder */
    int line, col; /* where the config file names it, for errors; 0 with --zone */
    struct conf_dnssec dnssec;
};

struct conf_tcp {
    uint32_t idle_timeout_ms; /* default 10000 */
    uint32_t io_timeout_ms;   /* a started message must complete within this; default 5000 */
    uint32_t max_connections; /* total, across workers; default 4096 */
    uint32_t max_per_source;  /* per client address; default 64 */
    uint32_t max_pending_out; /* bytes queued per connection before reads pause; default 262144 */
};

#define CONF_API_DEFAULT_LISTEN "127.0.0.1:8053"
#define CONF_API_TOKEN_MAX 256            /* bytes of bearer token */
#define CONF_API_MAX_CONNECTIONS 64       /* api.max_connections default */
#define CONF_API_MAX_PER_SOURCE 8         /* api.max_per_source default */
#define CONF_API_REQUEST_TIMEOUT_MS 10000 /* api.request_timeout_ms default */

/* The HTTP API (server/api/api.h): status, metrics, explain, dashboard, admin changes. */
struct conf_api {
    bool enabled;    /* default: true with a config file, false with --zone (unless --api) */
    bool listen_set; /* listen was written or --api given: failing to bind it is fatal */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char listen[80];                    /* as written; default CONF_API_DEFAULT_LISTEN */
    char token[CONF_API_TOKEN_MAX + 1]; /* from token_file, trimmed; "" = changes disabled */
    size_t token_len;
    uint32_t max_connections;     /* open at once; a quarter kept in reserve (api_guard.c) */
    uint32_t max_per_source;      /* open at once from one client address */
    uint32_t request_timeout_ms;  /* a whole request (headers and body) must arrive within this */
    uint32_t history_interval_ms; /* the dashboard history's sample interval; 0 = 10000 */
};

#define CONF_COOKIE_SECRET_LEN 16
#define CONF_RRL_EXEMPT_MAX 64

/* DNS cookies (RFC 7873, 9018; server/cookie.h): key "cookies", read in conf_harden.c. */
struct conf_cookies {
    bool enabled;    /* default true */
    bool secret_set; /* secret came from secret_file; else main() gives every view the
                      * process's random secret */
    uint8_t secret[CONF_COOKIE_SECRET_LEN];
};

/* A network of rrl.exempt. */
struct conf_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* bits past prefix are zero */
    uint8_t prefix;
};

/* Response rate limiting (server/net/rrl.h): key "rrl", read in conf_harden.c. */
struct conf_rrl {
    bool enabled;                  /* default false */
    bool log_only;                 /* default false: count and log, but send everything */
    uint32_t responses_per_second; /* per client prefix and response kind; default 20 */
    uint32_t window_s;             /* default 15 */
    uint32_t slip;                 /* every Nth limited response sent truncated; default 2 */
    uint8_t ipv4_prefix;           /* default 24 */
    uint8_t ipv6_prefix;           /* default 56 */
    uint32_t table_size;           /* entries per worker, default 65536 */
    struct conf_cidr exempt[CONF_RRL_EXEMPT_MAX];
    size_t nexempt;
};

#define CONF_ETCD_ENDPOINTS_MAX 16
#define CONF_ETCD_PASSWORD_MAX 256

/* How an address's health is decided from the instances that observe it (docs/cluster.md). */
enum conf_health_rule {
    CONF_RULE_LOCAL = 0, /* this instance's probes only (standalone behaviour) */
    CONF_RULE_MAJORITY,  /* down when more than half of the live observers say down */
    CONF_RULE_ANY,       /* down when any live observer says down */
    CONF_RULE_ALL,       /* down when every live observer says down */
};

/* Cluster mode through etcd (server/cluster.h): key "cluster", read in conf_cluster.c. */
struct conf_shared {
    bool enabled;                             /* the "cluster" key is present */
    char *endpoints[CONF_ETCD_ENDPOINTS_MAX]; /* "http://127.0.0.1:2379", tried in turn */
    size_t nendpoints;
    char *prefix;    /* key prefix, default "/gslbd/" (ends in '/') */
    char *name;      /* this instance; default the host name */
    char *cert_file; /* TLS client certificate (PEM); NULL = none */
    char *key_file;  /* its key */
    char *ca_file;   /* CA bundle for the etcd servers; NULL = system CAs */
    char *user;      /* etcd user; NULL = no authentication */
    char password[CONF_ETCD_PASSWORD_MAX + 1]; /* from password_file */
    uint32_t lease_ttl_s;                      /* default 5, 2..300 */
    int health_rule;                           /* enum conf_health_rule; default local */
};

/* ---- GSLB model (docs/gslb-rules.md); indexes refer to the arrays in struct conf ---- */

struct conf_region {
    char *name;
    double lat, lon; /* the datacenter's coordinates, degrees */
};

enum conf_check_type { CONF_CHECK_HTTP, CONF_CHECK_HTTPS, CONF_CHECK_TCP };

struct conf_check {
    char *name;
    enum conf_check_type type;
    uint16_t port;              /* default 80 / 443; required for tcp */
    char *path;                 /* http(s); default "/" */
    char *host;                 /* Host header and SNI; NULL = the address */
    uint16_t expect_status[16]; /* default {200} */
    uint8_t nexpect_status;
    char *expect_body;    /* substring; NULL = any body */
    uint32_t interval_ms; /* default 1000, 50..3600000 */
    uint32_t timeout_ms;  /* default 800, 10..600000, must be < interval */
    uint8_t fall, rise;   /* defaults 3 and 3, 1..100 */
    bool tls_verify;      /* default true */
    char *ca_file;        /* NULL = system CAs; resolved relative to the config */
    char *source;         /* numeric source address of the probes; NULL = any */
};

struct conf_addr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* 4 or 16 bytes used */
    char text[48];
};

struct conf_cluster {
    char *name;
    size_t region;           /* index into regions */
    struct conf_addr *addrs; /* at least one */
    size_t naddrs;
    uint32_t weight; /* default 1, 0..1000000 */
    size_t *checks;  /* indexes into checks */
    size_t nchecks;
};

enum conf_policy { CONF_POLICY_NEAREST, CONF_POLICY_WEIGHTED, CONF_POLICY_FAILOVER };
enum conf_all_down { CONF_ALL_DOWN_FAIL_OPEN, CONF_ALL_DOWN_SERVFAIL };

struct conf_service {
    char *name;              /* absolute, with the final dot; inside a configured zone */
    enum conf_policy policy; /* default nearest */
    size_t *clusters;        /* indexes into clusters, in configured order */
    size_t nclusters;
    uint32_t ttl;                /* default 30 */
    uint32_t failover_ttl;       /* default 10 */
    enum conf_all_down all_down; /* default fail_open */
};

struct conf_net {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* bits past prefix are zero */
    uint8_t prefix;
    size_t region;
};

/* LOC-4: a continent ("EU") or country ("DE") code mapped to an ordered region list. */
struct conf_pin {
    char code[3];
    bool continent;
    size_t *regions;
    size_t nregions;
};

struct conf_geo {
    char *database;        /* MaxMind DB path (resolved); NULL = no GeoIP, only nets/default */
    size_t *default_order; /* region indexes; default: the regions in configured order */
    size_t ndefault_order;
    struct conf_net *nets; /* inline entries plus those of nets_file */
    size_t nnets;
    struct conf_pin *pins;
    size_t npins;
    int ecs_scope; /* enum conf_ecs_scope */
};

/* geoip.ecs_scope: what the ECS scope of an answer from the client's nearest region is */
enum conf_ecs_scope {
    CONF_ECS_SCOPE_NEAREST = 0, /* the widest network with the same nearest region */
    CONF_ECS_SCOPE_RANKING,     /* the widest network with the same whole ranking */
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
    uint8_t nsid_len;    /* 0 = NSID not configured */
    uint32_t udp_rcvbuf; /* default 4 MiB */
    uint32_t udp_sndbuf; /* default 4 MiB */
    struct conf_tcp tcp;
    int log_level; /* 0..3 = error, warning, info, debug (enum log_level); default 2 (info) */

    /* GSLB */
    struct conf_region *regions;
    size_t nregions;
    struct conf_check *checks;
    size_t nchecks;
    struct conf_cluster *clusters;
    size_t nclusters;
    struct conf_service *services;
    size_t nservices;
    struct conf_geo geo;
    char *state_file;         /* admin states (POL-7); NULL = not kept */
    bool dnssec_readonly;     /* --check, --admin: key folders are read, never changed */
    uint32_t startup_wait_ms; /* HC-5, default 2000 */

    struct conf_api api; /* conf_api.c */

    struct conf_cookies cookies; /* conf_harden.c */
    struct conf_rrl rrl;         /* conf_harden.c */

    /* zone files (docs/hardening.md "Files"; conf_files.c) */
    char **zone_include_dirs; /* resolved; where $INCLUDE may read besides the zone's folder */
    size_t nzone_include_dirs;
    uint64_t zone_max_bytes;   /* per zone, its includes counted; default 1 GiB */
    struct conf_shared shared; /* conf_cluster.c */
};

/* A conf with every default set and no listen address or zone. Caller owns it. */
int conf_new(struct conf **out);

/* Parse path. Errors name file:line:col and the JSON path ("$.tcp.idle_timeout_ms").
 * Unknown keys are errors. Returns 0, GSLBD_EPARSE (JSON syntax, duplicate key),
 * GSLBD_EINVAL (a key or value), GSLBD_ELIMIT (file too big) or -errno (reading).
 * Relative paths (zone files, geoip database, nets_file, ca_file, state_file) are resolved
 * against path's folder; a nets_file that cannot be read gives -errno. On failure *out is
 * untouched. The keys are documented in docs/config.md. */
int conf_load_file(const char *path, struct conf **out, struct err *e);

/* The user gslbd will run as (--user, given as root): private files (the API token, the
 * cookie secret) must belong to it, since reloads reread them as that user. Before any
 * load; uid -1 (the default) means the effective user. */
void conf_set_run_as(long uid);

/* Add a listen address "ADDR:PORT", "[V6]:PORT", or "ADDR" (port 53). */
int conf_add_listen(struct conf *c, const char *text, struct err *e);

/* Add a zone; origin with or without the final dot. */
int conf_add_zone(struct conf *c, const char *origin, const char *file, struct err *e);

/* Parse "ADDR:PORT" / "[V6]:PORT" / "ADDR" (numeric only; port 1..65535, port 0 refused).
 * Returns 0 or -EINVAL; on failure *ss and *len are untouched. */
int conf_parse_addr(const char *text, uint16_t default_port, struct sockaddr_storage *ss,
                    socklen_t *len);

/* Enable the HTTP API on "ADDR:PORT" / "[V6]:PORT" (the --api option; replaces api.listen).
 * Returns 0 or GSLBD_EINVAL (e says why). */
int conf_set_api(struct conf *c, const char *listen, struct err *e);

void conf_free(struct conf *c); /* NULL is a no-op */

#endif
