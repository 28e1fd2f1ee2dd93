/* conf_load.c: reads the JSON config file into struct conf, checking keys against the tables
 * (the top-level table is here, each section's in its conf_ file); makes and frees a conf. */
#include "server/conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/conf/conf_int.h"
#include "server/conf/conf_pos.h"
#include "server/log.h"

#define CONF_FILE_MAX (16u << 20)
#define ZONE_FILE_MAX CONF_PATH_MAX

/* A zone entry as read, before its file is resolved. */
struct zone_in {
    const char *origin;
    const char *file;
    struct conf_dnssec dnssec; /* conf_dnssec.c */
};

static int listen_elem(struct conf_loader *ld, json_t *v, void *base);
static int zone_elem(struct conf_loader *ld, json_t *v, void *base);
static int nsid_value(struct conf_loader *ld, json_t *v, void *base);

/* Indexed by enum log_level. */
static const char *const log_level_names[] = {"error", "warning", "info", "debug", NULL};
_Static_assert(LOG_ERR == 0 && LOG_WARN == 1 && LOG_INFO == 2 && LOG_DEBUG == 3,
               "log_level_names follows enum log_level");

static const struct conf_item tcp_items[] = {
    {"idle_timeout_ms", IT_UINT, CONF_FIELD(struct conf_tcp, idle_timeout_ms), .min = 100,
     .max = 3600000, .def = 10000},
    {"io_timeout_ms", IT_UINT, CONF_FIELD(struct conf_tcp, io_timeout_ms), .min = 100,
     .max = 600000, .def = 5000},
    {"max_connections", IT_UINT, CONF_FIELD(struct conf_tcp, max_connections), .min = 1,
     .max = 1000000, .def = 4096},
    {"max_per_source", IT_UINT, CONF_FIELD(struct conf_tcp, max_per_source), .min = 1,
     .max = 100000, .def = 64},
    {"max_pending_out", IT_UINT, CONF_FIELD(struct conf_tcp, max_pending_out), .min = 4096,
     .max = 67108864, .def = 262144},
};
static const struct conf_section tcp_section = CONF_SECTION(tcp_items);

static const struct conf_item zone_items[] = {
    {"origin", IT_STRING, true, .offset = offsetof(struct zone_in, origin), .min = 1,
     .max = CONF_ORIGIN_MAX},
    {"file", IT_STRING, true, .offset = offsetof(struct zone_in, file), .min = 1,
     .max = ZONE_FILE_MAX},
    {"dnssec", IT_SECTION, .offset = offsetof(struct zone_in, dnssec),
     .sub = &conf__dnssec_section},
};
static const struct conf_section zone_section = CONF_SECTION(zone_items);

static const struct conf_item top_items[] = {
    {"listen", IT_LIST, true, .min = 1, .max = CONF_LISTEN_MAX, .fn = listen_elem,
     .what = "address strings"},
    {"workers", IT_UINT, CONF_FIELD(struct conf, workers), .min = 0, .max = 256, .def = 0},
    {"zones", IT_LIST, true, .min = 1, .max = CONF_ZONES_MAX, .fn = zone_elem,
     .what = "zone objects"},
    {"edns_max_udp", IT_UINT, CONF_FIELD(struct conf, edns_max_udp), .min = 512, .max = 4096,
     .def = 1232},
    {"nsid", IT_CUSTOM, .fn = nsid_value},
    {"udp_rcvbuf", IT_UINT, CONF_FIELD(struct conf, udp_rcvbuf), .min = 65536, .max = 67108864,
     .def = 4194304},
    {"udp_sndbuf", IT_UINT, CONF_FIELD(struct conf, udp_sndbuf), .min = 65536, .max = 67108864,
     .def = 4194304},
    {"tcp", IT_SECTION, .offset = offsetof(struct conf, tcp), .sub = &tcp_section},
    {"log_level", IT_ENUM, CONF_FIELD(struct conf, log_level), .names = log_level_names,
     .def = LOG_INFO},
    /* GSLB (conf_gslb.c): read after the rest, in dependency order. */
    {"regions", IT_CUSTOM, .fn = conf__gslb_later},
    {"checks", IT_CUSTOM, .fn = conf__gslb_later},
    {"clusters", IT_CUSTOM, .fn = conf__gslb_later},
    {"services", IT_CUSTOM, .fn = conf__gslb_later},
    {"geoip", IT_CUSTOM, .fn = conf__gslb_later},
    {"state_file", IT_PATH, .offset = offsetof(struct conf, state_file)},
    {"startup_wait_ms", IT_UINT, CONF_FIELD(struct conf, startup_wait_ms), .min = 0, .max = 60000,
     .def = 2000},
    {"api", IT_CUSTOM, .fn = conf__api_value}, /* conf_api.c */
    /* conf_harden.c */
    {"cookies", IT_SECTION, .offset = offsetof(struct conf, cookies),
     .sub = &conf__cookies_section},
    {"rrl", IT_SECTION, .offset = offsetof(struct conf, rrl), .sub = &conf__rrl_section},
    /* conf_files.c */
    {"zone_include_dirs", IT_LIST, .min = 0, .max = CONF_INCLUDE_DIRS_MAX,
     .fn = conf__include_dir_elem, .what = "folder names"},
    {"zone_max_bytes", IT_UINT, CONF_FIELD(struct conf, zone_max_bytes), .min = 4096,
     .max = 1ll << 40, .def = 1ll << 30},
    {"cluster", IT_CUSTOM, .fn = conf__cluster_value}, /* conf_cluster.c */
};
static const struct conf_section top_section = CONF_SECTION(top_items);

int conf__set_defaults(struct conf *c)
{
    return conf__section_defaults(&top_section, c);
}

/* ---- handlers for keys that need more than a table row ---- */

static int listen_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    struct sockaddr_storage ss;
    socklen_t len;
    if (!json_is_string(v))
        return conf__error(ld, "must be an address string like \"127.0.0.1:5300\", "
                               "\"[::1]:5300\" or \"0.0.0.0\"");
    const char *text = json_string_value(v);
    if (conf_parse_addr(text, CONF_DEFAULT_PORT, &ss, &len) < 0)
        return conf__error(ld,
                           "invalid address \"%.100s\": expected IPV4, IPV4:PORT, IPV6 or "
                           "[IPV6]:PORT with PORT from 1 to 65535 (default 53)",
                           text);
    long dup = conf__listen_find(c, &ss);
    if (dup >= 0)
        return conf__error(ld, "duplicate of $.listen[%ld] (\"%s\")", dup, c->listen[dup].text);
    if (conf__listen_push(c, text, &ss, len) < 0)
        return conf__nomem(ld);
    return 0;
}

static int zone_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    struct zone_in z = {NULL, NULL, {0}};
    int r = conf__section_defaults(&conf__dnssec_section, &z.dnssec);
    if (r == 0)
        r = conf__parse_section(ld, &zone_section, v, &z);
    if (r == 0)
        r = conf__dnssec_finish(ld, v, &z.dnssec);
    if (r < 0) {
        conf__dnssec_free(&z.dnssec);
        return r;
    }

    size_t mark = ld->path.len;
    r = conf__path_key(ld, "origin");
    if (r < 0)
        goto out;
    const char *why = conf__origin_problem(z.origin);
    long dup = conf__zone_find(c, z.origin);
    if (why != NULL)
        r = conf__error(ld, "%s", why);
    else if (dup >= 0)
        r = conf__error(ld, "duplicate zone origin, also at $.zones[%ld].origin", dup);
    conf__path_cut(ld, mark);
    if (r < 0)
        goto out;

    char *path = NULL;
    r = conf__resolve(ld, z.file, &path);
    if (r < 0)
        goto out;
    r = conf__zone_push(c, z.origin, path);
    free(path);
    if (r < 0) {
        r = conf__nomem(ld);
        goto out;
    }
    c->zones[c->nzones - 1].dnssec = z.dnssec;
    z.dnssec.key_file = z.dnssec.ksk_file = z.dnssec.zsk_file = z.dnssec.key_dir = NULL;
    /* where the file is named: a zone file that cannot be opened is reported there */
    struct conf_pos pos = {0, 0};
    if (conf__path_key(ld, "file") == 0) {
        if (conf_pos_find(ld->text, ld->len, ld->path.p, CONF_POS_VALUE, &pos) == 0) {
            c->zones[c->nzones - 1].line = pos.line;
            c->zones[c->nzones - 1].col = pos.col;
        }
        conf__path_cut(ld, mark);
    }
out:
    conf__dnssec_free(&z.dnssec);
    return r;
}

static int nsid_value(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n == 0 || n > sizeof(c->nsid))
        return conf__error(ld, "must be a string of 1 to %zu bytes", sizeof(c->nsid));
    memcpy(c->nsid, json_string_value(v), n);
    c->nsid_len = (uint8_t)n;
    return 0;
}

/* ---- loading ---- */

static int read_all(const char *path, char **out, size_t *outlen, struct err *e)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        int r = -errno;
        return err_set(e, r, path, 0, 0, "cannot open: %s", gslbd_strerror(r));
    }
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int r = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            char *b = realloc(buf, cap + 1);
            if (b == NULL) {
                r = err_oom(e, path);
                break;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > CONF_FILE_MAX) {
            r = err_set(e, GSLBD_ELIMIT, path, 0, 0, "larger than %u bytes", CONF_FILE_MAX);
            break;
        }
        if (got == 0) {
            if (ferror(f)) {
                r = errno ? -errno : -EIO;
                err_set(e, r, path, 0, 0, "cannot read: %s", gslbd_strerror(r));
            }
            break;
        }
    }
    fclose(f);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

/* jansson's message and position; a duplicate key also gets its JSON path. */
static int syntax_error(const char *path, const char *text, size_t len, const json_error_t *jerr,
                        struct err *e)
{
    int line = jerr->line > 0 ? jerr->line : 0;
    char where[256];
    if (json_error_code(jerr) == json_error_duplicate_key && jerr->position > 0 &&
        conf_pos_path_at(text, len, (size_t)jerr->position, where, sizeof(where)) == 0)
        return err_set(e, GSLBD_EPARSE, path, line, jerr->column,
                       "%s: duplicate key (each key may appear once per object)", where);
    return err_set(e, GSLBD_EPARSE, path, line, jerr->column, "%s", jerr->text);
}

/* Check the parsed tree into a new conf; text is the file's bytes, for error positions. */
static int load_tree(const char *path, const char *text, size_t len, json_t *root,
                     struct conf **out, struct err *e)
{
    struct conf *c = NULL;
    int r = conf_new(&c);
    if (r < 0)
        return err_set(e, r, path, 0, 0, "out of memory");
    const char *slash = strrchr(path, '/');
    struct conf_loader ld = {
        .file = path,
        .text = text,
        .len = len,
        .dirlen = slash ? (size_t)(slash - path) + 1 : 0,
        .c = c,
        .e = e,
    };
    r = conf__path_root(&ld);
    if (r == 0 && conf__api_file_defaults(c) < 0) /* a config file has the API unless it says no */
        r = err_set(e, -EINVAL, path, 0, 0, "internal error: the api key table");
    if (r == 0)
        r = conf__parse_section(&ld, &top_section, root, c);
    if (r == 0)
        r = conf__gslb_load(&ld, root);
    free(ld.path.p);
    if (r == 0 && (c->path = strdup(path)) == NULL)
        r = err_oom(e, path);
    if (r < 0) {
        conf_free(c);
        return r;
    }
    *out = c;
    return 0;
}

int conf_load_file(const char *path, struct conf **out, struct err *e)
{
    if (path == NULL || out == NULL)
        return err_set(e, -EINVAL, NULL, 0, 0, "no config file given");
    char *text = NULL;
    size_t len = 0;
    int r = read_all(path, &text, &len, e);
    if (r < 0)
        return r;

    /* Parse the bytes already read, so error positions refer to exactly this text. */
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        r = syntax_error(path, text, len, &jerr, e);
    else
        r = load_tree(path, text, len, root, out, e);
    json_decref(root);
    free(text);
    return r;
}

/* ---- a conf's life ---- */

int conf_new(struct conf **out)
{
    if (out == NULL)
        return -EINVAL;
    struct conf *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    int r = conf__set_defaults(c);
    if (r < 0) {
        free(c);
        return r;
    }
    *out = c;
    return 0;
}

/* Frees the GSLB model; arrays may hold partly filled (zeroed) last elements. */
static void gslb_free(struct conf *c)
{
    for (size_t i = 0; i < c->nregions; i++)
        free(c->regions[i].name);
    free(c->regions);
    for (size_t i = 0; i < c->nchecks; i++) {
        struct conf_check *k = &c->checks[i];
        free(k->name);
        free(k->path);
        free(k->host);
        free(k->expect_body);
        free(k->ca_file);
        free(k->source);
    }
    free(c->checks);
    for (size_t i = 0; i < c->nclusters; i++) {
        free(c->clusters[i].name);
        free(c->clusters[i].addrs);
        free(c->clusters[i].checks);
    }
    free(c->clusters);
    for (size_t i = 0; i < c->nservices; i++) {
        free(c->services[i].name);
        free(c->services[i].clusters);
    }
    free(c->services);
    free(c->geo.database);
    free(c->geo.default_order);
    free(c->geo.nets);
    for (size_t i = 0; i < c->geo.npins; i++)
        free(c->geo.pins[i].regions);
    free(c->geo.pins);
    free(c->state_file);
}

void conf_free(struct conf *c)
{
    if (c == NULL)
        return;
    gslb_free(c);
    conf__cluster_free(c);
    for (size_t i = 0; i < c->nzones; i++) {
        free(c->zones[i].origin);
        free(c->zones[i].file);
        conf__dnssec_free(&c->zones[i].dnssec);
    }
    free(c->zones);
    for (size_t i = 0; i < c->nzone_include_dirs; i++)
        free(c->zone_include_dirs[i]);
    free(c->zone_include_dirs);
    free(c->listen);
    free(c->path);
    free(c);
}
