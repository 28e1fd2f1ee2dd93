/* conf_load.c: reads the JSON config file into struct conf, checking keys against tables. */
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

/* ---- defaults ---- */

static void store_uint(void *field, size_t size, unsigned long long v)
{
    if (size == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(field, &x, 1);
    } else if (size == 2) {
        uint16_t x = (uint16_t)v;
        memcpy(field, &x, 2);
    } else if (size == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
    } else {
        uint64_t x = (uint64_t)v;
        memcpy(field, &x, 8);
    }
}

/* Store defaults, checking each row can hold its bounds: a table mistake fails conf_new
 * (and so every test) rather than corrupting memory. */
int conf__section_defaults(const struct conf_section *sec, void *base)
{
    for (size_t i = 0; i < sec->n; i++) {
        const struct conf_item *it = &sec->items[i];
        char *field = (char *)base + it->offset;
        if (it->type == IT_UINT) {
            bool size_ok = it->size == 1 || it->size == 2 || it->size == 4 || it->size == 8;
            if (!size_ok || it->min < 0 || it->min > it->max || it->def < it->min ||
                it->def > it->max ||
                (it->size < 8 && (unsigned long long)it->max >> (8 * it->size)))
                return -EINVAL;
            store_uint(field, it->size, (unsigned long long)it->def);
        } else if (it->type == IT_REAL) {
            double x = (double)it->def;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_BOOL) {
            bool x = it->def != 0;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_ENUM) {
            int x = (int)it->def;
            memcpy(field, &x, sizeof(x));
        } else if (it->type == IT_SECTION) {
            int r = conf__section_defaults(it->sub, field);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int conf__set_defaults(struct conf *c)
{
    return conf__section_defaults(&top_section, c);
}

/* ---- JSON paths and error reports ---- */

static int jpath_add(struct conf_jpath *p, const char *s, size_t n)
{
    if (p->len + n + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 64;
        while (cap < p->len + n + 1)
            cap *= 2;
        char *b = realloc(p->buf, cap);
        if (b == NULL)
            return -ENOMEM;
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    p->buf[p->len] = '\0';
    return 0;
}

/* Append ".key", or ["key"] as a JSON string when .key could not spell it. */
static int jpath_key(struct conf_jpath *p, const char *key)
{
    if (conf_pos_key_is_plain(key, strlen(key))) {
        int r = jpath_add(p, ".", 1);
        return r < 0 ? r : jpath_add(p, key, strlen(key));
    }
    int r = jpath_add(p, "[\"", 2);
    for (const char *k = key; r == 0 && *k != '\0'; k++) {
        unsigned char ch = (unsigned char)*k;
        char esc[8];
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            r = jpath_add(p, esc, 2);
        } else if (ch < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            r = jpath_add(p, esc, 6);
        } else {
            r = jpath_add(p, k, 1);
        }
    }
    return r < 0 ? r : jpath_add(p, "\"]", 2);
}

static int jpath_index(struct conf_jpath *p, size_t i)
{
    char b[32];
    int n = snprintf(b, sizeof(b), "[%zu]", i);
    return jpath_add(p, b, (size_t)n);
}

static void jpath_cut(struct conf_jpath *p, size_t len)
{
    p->len = len;
    if (p->buf != NULL)
        p->buf[len] = '\0';
}

int conf__path_key(struct conf_loader *ld, const char *key)
{
    return jpath_key(&ld->path, key) < 0 ? conf__nomem(ld) : 0;
}

int conf__path_index(struct conf_loader *ld, size_t i)
{
    return jpath_index(&ld->path, i) < 0 ? conf__nomem(ld) : 0;
}

void conf__path_cut(struct conf_loader *ld, size_t len)
{
    jpath_cut(&ld->path, len);
}

int conf__nomem(struct conf_loader *ld)
{
    return err_set(ld->e, -ENOMEM, ld->file, 0, 0, "out of memory");
}

/* Report "file:line:col: SHOWN: msg", positioned at what of the current path. */
static int ld_report(struct conf_loader *ld, const char *shown, enum conf_pos_what what,
                     const char *msg)
{
    struct conf_pos pos = {0, 0};
    if (conf_pos_find(ld->text, ld->len, ld->path.buf, what, &pos) < 0)
        pos.line = 0;
    return err_set(ld->e, GSLBD_EINVAL, ld->file, pos.line, pos.col, "%s: %s", shown, msg);
}

static int ld_verror(struct conf_loader *ld, enum conf_pos_what what, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int ld_verror(struct conf_loader *ld, enum conf_pos_what what, const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    return ld_report(ld, ld->path.buf, what, msg);
}

/* The value at the current path is wrong. */
int conf__error(struct conf_loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ld_verror(ld, CONF_POS_VALUE, fmt, ap);
    va_end(ap);
    return r;
}

/* The key at the current path is wrong (unknown). */
int conf__error_key(struct conf_loader *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = ld_verror(ld, CONF_POS_KEY, fmt, ap);
    va_end(ap);
    return r;
}

int conf__error_at(struct conf_loader *ld, const char *key, enum conf_pos_what what,
                   const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, key);
    if (r == 0)
        r = ld_report(ld, ld->path.buf, what, msg);
    jpath_cut(&ld->path, mark);
    return r;
}

/* A required key is missing: name its path, positioned at the object that lacks it. */
int conf__missing(struct conf_loader *ld, const char *key, const char *hint)
{
    char shown[512];
    char msg[256];
    snprintf(shown, sizeof(shown), "%s.%s", ld->path.buf, key);
    snprintf(msg, sizeof(msg), "required key is missing%s%s%s", hint ? " (" : "", hint ? hint : "",
             hint ? ")" : "");
    return ld_report(ld, shown, CONF_POS_VALUE, msg);
}

/* Store an owned copy of s in the char * at field, replacing (and freeing) what was there. */
static int store_copy(struct conf_loader *ld, void *field, const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        return conf__nomem(ld);
    char *old;
    memcpy(&old, field, sizeof(old));
    free(old);
    memcpy(field, &copy, sizeof(copy));
    return 0;
}

int conf__resolve(struct conf_loader *ld, const char *name, char **out)
{
    /* A relative file name is relative to the config file's folder, not the cwd. */
    size_t dirlen = name[0] == '/' ? 0 : ld->dirlen;
    size_t n = strlen(name);
    char *p = malloc(dirlen + n + 1);
    if (p == NULL)
        return conf__nomem(ld);
    memcpy(p, ld->file, dirlen);
    memcpy(p + dirlen, name, n + 1);
    *out = p;
    return 0;
}

/* ---- table-driven checks ---- */

static const struct conf_item *find_item(const struct conf_section *sec, const char *key)
{
    for (size_t i = 0; i < sec->n; i++)
        if (strcmp(sec->items[i].key, key) == 0)
            return &sec->items[i];
    return NULL;
}

static int unknown_key(struct conf_loader *ld, const struct conf_section *sec)
{
    char known[512];
    size_t n = 0;
    known[0] = '\0';
    for (size_t i = 0; i < sec->n && n < sizeof(known); i++) {
        int w = snprintf(known + n, sizeof(known) - n, "%s%s", i ? ", " : "", sec->items[i].key);
        if (w > 0)
            n += (size_t)w;
    }
    if (n >= sizeof(known))
        snprintf(known + sizeof(known) - 5, 5, "...");
    return conf__error_key(ld, "unknown key (known keys: %s, and \"%s\" for notes)", known,
                           CONF_COMMENT_KEY);
}

static int enum_error(struct conf_loader *ld, const char *const *names)
{
    char list[256];
    size_t n = 0;
    list[0] = '\0';
    for (size_t i = 0; names[i] != NULL && n < sizeof(list); i++) {
        int w = snprintf(list + n, sizeof(list) - n, "%s\"%s\"", i ? ", " : "", names[i]);
        if (w > 0)
            n += (size_t)w;
    }
    return conf__error(ld, "must be one of %s", list);
}

static int parse_list(struct conf_loader *ld, const struct conf_item *it, json_t *v, void *base)
{
    if (!json_is_array(v) || (long long)json_array_size(v) < it->min ||
        (long long)json_array_size(v) > it->max)
        return conf__error(ld, "must be an array of %lld to %lld %s", it->min, it->max, it->what);
    size_t mark = ld->path.len;
    size_t i;
    json_t *el;
    json_array_foreach (v, i, el) {
        if (jpath_index(&ld->path, i) < 0)
            return conf__nomem(ld);
        int r = it->fn(ld, el, base);
        jpath_cut(&ld->path, mark);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_item(struct conf_loader *ld, const struct conf_item *it, json_t *v, void *base)
{
    char *field = (char *)base + it->offset;
    switch (it->type) {
    case IT_UINT: {
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
        if (!json_is_integer(v) || x < it->min || x > it->max)
            return conf__error(ld, "must be an integer from %lld to %lld", it->min, it->max);
        store_uint(field, it->size, (unsigned long long)x);
        return 0;
    }
    case IT_REAL: {
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!(x >= (double)it->min && x <= (double)it->max))
            return conf__error(ld, "must be a number from %lld to %lld", it->min, it->max);
        memcpy(field, &x, sizeof(x));
        return 0;
    }
    case IT_BOOL: {
        if (!json_is_boolean(v))
            return conf__error(ld, "must be true or false");
        bool x = json_is_true(v);
        memcpy(field, &x, sizeof(x));
        return 0;
    }
    case IT_ENUM:
        for (int i = 0; json_is_string(v) && it->names[i] != NULL; i++) {
            if (strcmp(json_string_value(v), it->names[i]) == 0) {
                memcpy(field, &i, sizeof(i));
                return 0;
            }
        }
        return enum_error(ld, it->names);
    case IT_STRING: {
        long long n = json_is_string(v) ? (long long)json_string_length(v) : -1;
        if (n < it->min || n > it->max)
            return conf__error(ld, "must be a string of %lld to %lld bytes", it->min, it->max);
        const char *s = json_string_value(v);
        memcpy(field, &s, sizeof(s));
        return 0;
    }
    case IT_TEXT:
    case IT_NAME: {
        long long n = json_is_string(v) ? (long long)json_string_length(v) : -1;
        const char *s = json_string_value(v);
        if (n < it->min || n > it->max || (long long)strlen(s) != n)
            return conf__error(ld, "must be a string of %lld to %lld bytes%s", it->min, it->max,
                               it->type == IT_NAME ? " of a-z, 0-9 and '-'" : "");
        for (const char *p = s; it->type == IT_NAME && *p != '\0'; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                return conf__error(ld,
                                   "must be a string of %lld to %lld bytes of a-z, 0-9 and "
                                   "'-'",
                                   it->min, it->max);
        return store_copy(ld, field, s);
    }
    case IT_PATH: {
        size_t n = json_is_string(v) ? json_string_length(v) : 0;
        const char *s = json_string_value(v);
        if (n == 0 || n > CONF_PATH_MAX || strlen(s) != n)
            return conf__error(ld, "must be a file name of 1 to %d bytes", CONF_PATH_MAX);
        char *p = NULL;
        int r = conf__resolve(ld, s, &p);
        if (r == 0)
            r = store_copy(ld, field, p);
        free(p);
        return r;
    }
    case IT_SECTION:
        return conf__parse_section(ld, it->sub, v, field);
    case IT_LIST:
        return parse_list(ld, it, v, base);
    case IT_CUSTOM:
        return it->fn(ld, v, base);
    }
    return -EINVAL;
}

int conf__parse_section(struct conf_loader *ld, const struct conf_section *sec, json_t *obj,
                        void *base)
{
    if (!json_is_object(obj))
        return conf__error(ld, "must be an object");
    size_t mark = ld->path.len;
    const char *key;
    json_t *v;
    json_object_foreach (obj, key, v) {
        if (jpath_key(&ld->path, key) < 0)
            return conf__nomem(ld);
        const struct conf_item *it = find_item(sec, key);
        int r = 0;
        if (it != NULL)
            r = parse_item(ld, it, v, base);
        else if (strcmp(key, CONF_COMMENT_KEY) != 0)
            r = unknown_key(ld, sec);
        else if (!json_is_string(v))
            r = conf__error(ld, "must be a string");
        jpath_cut(&ld->path, mark);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < sec->n; i++)
        if (sec->items[i].required && json_object_get(obj, sec->items[i].key) == NULL)
            return conf__missing(ld, sec->items[i].key, NULL);
    return 0;
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
    if (jpath_key(&ld->path, "origin") < 0) {
        r = conf__nomem(ld);
        goto out;
    }
    const char *why = conf__origin_problem(z.origin);
    long dup = conf__zone_find(c, z.origin);
    if (why != NULL)
        r = conf__error(ld, "%s", why);
    else if (dup >= 0)
        r = conf__error(ld, "duplicate zone origin, also at $.zones[%ld].origin", dup);
    jpath_cut(&ld->path, mark);
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
        if (conf_pos_find(ld->text, ld->len, ld->path.buf, CONF_POS_VALUE, &pos) == 0) {
            c->zones[c->nzones - 1].line = pos.line;
            c->zones[c->nzones - 1].col = pos.col;
        }
        jpath_cut(&ld->path, mark);
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
        return err_set(e, r, path, 0, 0, "cannot open: %s", strerror(-r));
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
                r = err_set(e, -ENOMEM, path, 0, 0, "out of memory");
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
                err_set(e, r, path, 0, 0, "cannot read: %s", strerror(-r));
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
    r = jpath_add(&ld.path, "$", 1);
    if (r < 0)
        r = conf__nomem(&ld);
    else if (conf__api_file_defaults(c) < 0) /* a config file has the API unless it says no */
        r = err_set(e, -EINVAL, path, 0, 0, "internal error: the api key table");
    else
        r = conf__parse_section(&ld, &top_section, root, c);
    if (r == 0)
        r = conf__gslb_load(&ld, root);
    free(ld.path.buf);
    if (r == 0 && (c->path = strdup(path)) == NULL)
        r = err_set(e, -ENOMEM, path, 0, 0, "out of memory");
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

static long g_run_as = -1; /* conf_set_run_as */

void conf_set_run_as(long uid)
{
    g_run_as = uid;
}

/* Open the private file v names and check it (conf__read_private); 0 with *fdp and *pathp
 * set, or the error. */
static int open_private(struct conf_loader *ld, json_t *v, const char *kind, bool root_reads_any,
                        int *fdp, char **pathp)
{
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    const char *s = json_string_value(v);
    if (n == 0 || n > CONF_PATH_MAX || strlen(s) != n)
        return conf__error(ld, "must be a file name of 1 to %d bytes", CONF_PATH_MAX);
    char *path = NULL;
    int r = conf__resolve(ld, s, &path);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    uid_t run_as = g_run_as >= 0 ? (uid_t)g_run_as : geteuid();
    if (fd < 0) {
        r = conf__error(ld, "cannot open %s: %s", path, strerror(errno));
    } else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        r = conf__error(ld, "%s is not a regular file", path);
    } else if (st.st_uid != run_as && !(root_reads_any && geteuid() == 0)) {
        r = conf__error(ld, "%s is owned by uid %u, not by the user gslbd runs as (uid %u)", path,
                        (unsigned)st.st_uid, (unsigned)run_as);
    } else if ((st.st_mode & 077) != 0) {
        r = conf__error(ld,
                        "%s has mode %04o: a %s file must be closed to group and others "
                        "(chmod 600 %s)",
                        path, (unsigned)(st.st_mode & 07777), kind, path);
    }
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        free(path);
        return r;
    }
    *fdp = fd;
    *pathp = path;
    return 0;
}

/* The whole of fd into buf (cap bytes); NULL with *len set, or what went wrong. */
static const char *read_fd(int fd, char *buf, size_t cap, size_t *len)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return "cannot be read";
        if (n == 0)
            break;
        got += (size_t)n;
        if (got == cap)
            return "is larger than 4096 bytes";
    }
    *len = got;
    return NULL;
}

int conf__read_private(struct conf_loader *ld, json_t *v, const char *kind, bool root_reads_any,
                       conf_private_parse parse, void *base)
{
    _Static_assert(CONF_PRIVATE_MAX == 4096, "the message of read_fd");
    int fd = -1;
    char *path = NULL;
    int r = open_private(ld, v, kind, root_reads_any, &fd, &path);
    if (r < 0)
        return r;
    char buf[CONF_PRIVATE_MAX + 1]; /* one more: a full buffer means the file is too long */
    size_t len = 0;
    const char *why = read_fd(fd, buf, sizeof(buf), &len);
    if (why == NULL)
        why = parse(buf, len, base);
    if (why != NULL)
        r = conf__error(ld, "%s %s", path, why);
    close(fd);
    free(path);
    return r;
}
