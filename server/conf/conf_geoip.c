/* conf_geoip.c: reads $.geoip (nets, nets_file, pins, default region order, ECS scope) into
 * struct conf. */
#include "server/conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf_int.h"

/* Where a network was written, for duplicate messages. */
struct net_src {
    const char *key; /* inline: its key in $.geoip.nets (borrowed from the tree) */
    int line, col;   /* nets_file: the CIDR's position */
};

/* What conf__geoip_load keeps while it runs (ld->ctx). */
struct geoip_ld {
    const struct conf_nameix *regions;
    json_t *nets_file;    /* $.geoip.nets_file, read after the inline nets */
    struct net_src *srcs; /* parallel to geo.nets */
};

/* ---- geoip: networks ---- */

/* Parse "ADDR/PREFIX" (n bytes) into *net, or write why not into why. */
static int cidr_parse(const char *s, size_t n, struct conf_net *net, char *why, size_t whylen)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : 0;
    size_t plen = slash ? n - alen - 1 : 0;
    memset(net, 0, sizeof(*net));
    if (slash != NULL && alen > 0 && alen < sizeof(addr)) {
        memcpy(addr, s, alen);
        addr[alen] = '\0';
        net->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    }
    if (net->family == 0 || inet_pton(net->family, addr, net->addr) != 1) {
        snprintf(why, whylen, "invalid network '%.*s': expected ADDRESS/PREFIX, e.g. 10.20.0.0/16",
                 (int)(n > 100 ? 100 : n), s);
        return -EINVAL;
    }
    unsigned max = net->family == AF_INET ? 32 : 128;
    unsigned p = 0;
    bool ok = plen >= 1 && plen <= 3;
    for (size_t i = 0; ok && i < plen; i++) {
        ok = slash[1 + i] >= '0' && slash[1 + i] <= '9';
        p = p * 10 + (unsigned)(slash[1 + i] - '0');
    }
    if (!ok || p > max) {
        snprintf(why, whylen, "invalid network '%.*s': the prefix must be 0 to %u", (int)n, s, max);
        return -EINVAL;
    }
    net->prefix = (uint8_t)p;
    uint8_t masked[16];
    memcpy(masked, net->addr, sizeof(masked));
    for (unsigned bit = p; bit < max; bit++)
        masked[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
    if (memcmp(masked, net->addr, sizeof(masked)) != 0) {
        char fixed[INET6_ADDRSTRLEN];
        inet_ntop(net->family, masked, fixed, sizeof(fixed));
        snprintf(why, whylen,
                 "invalid network '%.*s': address bits past the prefix must be zero (%s/%u?)",
                 (int)n, s, fixed, p);
        return -EINVAL;
    }
    return 0;
}

/* Append net, written at src. 0, -ENOMEM or GSLBD_ELIMIT. */
static int net_push(struct conf_loader *ld, const struct conf_net *net, struct net_src src)
{
    struct conf_geo *geo = &ld->c->geo;
    struct geoip_ld *g = ld->ctx;
    if (geo->nnets >= CONF_NETS_MAX)
        return GSLBD_ELIMIT;
    size_t n = geo->nnets; /* srcs runs parallel to nets */
    struct net_src *s = conf__push_zeroed(&g->srcs, &n, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    *s = src;
    struct conf_net *slot = conf__push_zeroed(&geo->nets, &geo->nnets, sizeof(*slot));
    if (slot == NULL)
        return -ENOMEM;
    *slot = *net;
    return 0;
}

/* One "CIDR": "REGION" entry of "nets". */
static int geo_net(struct conf_loader *ld, const char *key, json_t *el, void *arg)
{
    (void)arg;
    struct geoip_ld *g = ld->ctx;
    struct conf_net net;
    char why[256];
    if (cidr_parse(key, strlen(key), &net, why, sizeof(why)) < 0)
        return conf__error_at(ld, key, CONF_POS_KEY, "%s", why);
    size_t *one = NULL;
    size_t none = 0;
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, key);
    if (r == 0)
        r = conf__ref_elem(ld, el, g->regions, "region", &one, &none);
    conf__path_cut(ld, mark);
    net.region = r == 0 ? one[0] : 0;
    free(one);
    if (r < 0)
        return r;
    r = net_push(ld, &net, (struct net_src){key, 0, 0});
    if (r == GSLBD_ELIMIT)
        return conf__error_at(ld, key, CONF_POS_KEY, "more than %d networks", CONF_NETS_MAX);
    if (r < 0)
        return conf__nomem(ld);
    return 0;
}

static int geo_nets(struct conf_loader *ld, json_t *v, void *base)
{
    (void)base;
    return conf__object_each(ld, v, "an object of \"CIDR\": \"REGION\" entries", geo_net, NULL);
}

static int geo_nets_file(struct conf_loader *ld, json_t *v, void *base)
{
    (void)base;
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n == 0 || n > CONF_PATH_MAX)
        return conf__error(ld, "must be a file name of 1 to %d bytes", CONF_PATH_MAX);
    ((struct geoip_ld *)ld->ctx)->nets_file = v;
    return 0;
}

/* Column of p in its line: characters, as conf_pos counts them. */
static int column(const char *line, const char *p)
{
    int col = 1;
    for (; line < p; line++)
        if (((unsigned char)*line & 0xc0) != 0x80)
            col++;
    return col;
}

/* One line of a nets file: "CIDR REGION", '#' comment, or blank. */
static int nets_line(struct conf_loader *ld, const char *file, int lineno, const char *line,
                     const char *end)
{
    struct geoip_ld *g = ld->ctx;
    const char *tok[3];
    size_t len[3];
    int ntok = 0;
    for (const char *p = line; p < end && *p != '#';) {
        if (*p == ' ' || *p == '\t' || (*p == '\r' && p + 1 == end)) {
            p++;
            continue;
        }
        const char *t = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '#' && *p != '\r') {
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, p),
                               "unexpected control character");
            p++;
        }
        if (t == p) /* a '\r' inside the line */
            return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, p),
                           "unexpected control character");
        if (ntok == 2)
            return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, t),
                           "unexpected text after the region (a comment starts with '#')");
        tok[ntok] = t;
        len[ntok++] = (size_t)(p - t);
    }
    if (ntok == 0)
        return 0;
    struct conf_net net;
    char why[256];
    if (cidr_parse(tok[0], len[0], &net, why, sizeof(why)) < 0)
        return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, tok[0]), "%s", why);
    if (ntok == 1)
        return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, tok[0] + len[0]),
                       "expected \"CIDR REGION\": the region is missing");
    long idx = conf__nix_find(g->regions, (const uint8_t *)tok[1], len[1]);
    if (idx < 0)
        return err_set(ld->e, GSLBD_EINVAL, file, lineno, column(line, tok[1]),
                       "unknown region '%.*s'", (int)(len[1] > 100 ? 100 : len[1]), tok[1]);
    net.region = (size_t)idx;
    int r = net_push(ld, &net, (struct net_src){NULL, lineno, column(line, tok[0])});
    if (r == GSLBD_ELIMIT)
        return err_set(ld->e, r, file, lineno, column(line, tok[0]), "more than %d networks",
                       CONF_NETS_MAX);
    return r < 0 ? conf__nomem(ld) : 0;
}

/* Read path whole; errors are reported at the current path ($.geoip.nets_file). */
static int read_nets_file(struct conf_loader *ld, const char *path, char **out, size_t *outlen)
{
    FILE *f = fopen(path, "rb");
    int r = f == NULL ? -errno : 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (r == 0) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            char *b = realloc(buf, cap);
            if (b == NULL) {
                r = -ENOMEM;
                break;
            }
            buf = b;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len > CONF_NETS_FILE_MAX)
            r = GSLBD_ELIMIT;
        else if (got == 0 && ferror(f))
            r = errno ? -errno : -EIO;
        else if (got == 0)
            break;
    }
    if (f != NULL)
        fclose(f);
    if (r < 0)
        free(buf);
    if (r == -ENOMEM)
        return conf__nomem(ld);
    if (r < 0) {
        int code = r;
        if (r == GSLBD_ELIMIT)
            conf__error(ld, "'%s' is larger than %u bytes", path, CONF_NETS_FILE_MAX);
        else
            conf__error(ld, "cannot read '%s': %s", path, gslbd_strerror(r));
        return code;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

static int load_nets_file(struct conf_loader *ld)
{
    struct geoip_ld *g = ld->ctx;
    char *path = NULL;
    char *text = NULL;
    size_t len = 0;
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, "nets_file");
    if (r == 0)
        r = conf__resolve(ld, json_string_value(g->nets_file), &path);
    if (r == 0)
        r = read_nets_file(ld, path, &text, &len);
    conf__path_cut(ld, mark);
    int lineno = 1;
    for (size_t at = 0; r == 0 && at < len; lineno++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len;
        r = nets_line(ld, path, lineno, text + at, text + end);
        at = end + 1;
    }
    free(text);
    free(path);
    return r;
}

static int net_cmp(const void *pa, const void *pb, void *arg)
{
    const struct conf_net *nets = arg;
    const struct conf_net *a = &nets[*(const size_t *)pa], *b = &nets[*(const size_t *)pb];
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    int d = memcmp(a->addr, b->addr, sizeof(a->addr));
    if (d != 0)
        return d;
    return (*(const size_t *)pa > *(const size_t *)pb) -
           (*(const size_t *)pa < *(const size_t *)pb);
}

/* Where net i was written, for a message. */
static void net_where(struct conf_loader *ld, size_t i, const char *nets_path, char *buf, size_t n)
{
    const struct net_src *s = &((struct geoip_ld *)ld->ctx)->srcs[i];
    if (s->key == NULL) {
        snprintf(buf, n, "%s:%d:%d", nets_path, s->line, s->col);
        return;
    }
    size_t mark = ld->path.len;
    if (conf__path_key(ld, "nets") == 0 && conf__path_key(ld, s->key) == 0)
        snprintf(buf, n, "%s", ld->path.p);
    conf__path_cut(ld, mark);
}

/* A network written twice (in any spelling, inline or in the file) is an error. */
static int nets_unique(struct conf_loader *ld)
{
    struct conf_geo *geo = &ld->c->geo;
    struct geoip_ld *g = ld->ctx;
    if (geo->nnets < 2)
        return 0;
    size_t *ord = malloc(geo->nnets * sizeof(*ord));
    if (ord == NULL)
        return conf__nomem(ld);
    for (size_t i = 0; i < geo->nnets; i++)
        ord[i] = i;
    qsort_r(ord, geo->nnets, sizeof(*ord), net_cmp, geo->nets);
    /* As nix_dup: equal networks sort by position, the first of a run written first. */
    bool found = false;
    size_t later = 0, earlier = 0, first = 0;
    for (size_t i = 1; i < geo->nnets; i++) {
        const struct conf_net *a = &geo->nets[ord[first]], *b = &geo->nets[ord[i]];
        bool same = a->family == b->family && a->prefix == b->prefix &&
                    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
        if (!same) {
            first = i;
        } else if (i == first + 1 && (!found || ord[i] < later)) {
            later = ord[i];
            earlier = ord[first];
            found = true;
        }
    }
    free(ord);
    if (!found)
        return 0;

    char *path = NULL;
    if (g->nets_file != NULL && conf__resolve(ld, json_string_value(g->nets_file), &path) < 0)
        return conf__nomem(ld);
    char text[INET6_ADDRSTRLEN], other[512];
    const struct conf_net *net = &geo->nets[later];
    inet_ntop(net->family, net->addr, text, sizeof(text));
    net_where(ld, earlier, path, other, sizeof(other));
    const struct net_src *s = &g->srcs[later];
    int r;
    if (s->key == NULL) {
        r = err_set(ld->e, GSLBD_EINVAL, path, s->line, s->col,
                    "duplicate network %s/%u (also at %s)", text, net->prefix, other);
    } else {
        size_t mark = ld->path.len;
        r = conf__path_key(ld, "nets");
        if (r == 0)
            r = conf__error_at(ld, s->key, CONF_POS_KEY, "duplicate network %s/%u (also at %s)",
                               text, net->prefix, other);
        conf__path_cut(ld, mark);
    }
    free(path);
    return r;
}

/* ---- geoip: pins and the section ---- */

static const char *const continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};

static bool pin_key(const char *key, struct conf_pin *pin)
{
    const char *code = NULL;
    if (strncmp(key, "continent:", 10) == 0) {
        code = key + 10;
        pin->continent = true;
    } else if (strncmp(key, "country:", 8) == 0) {
        code = key + 8;
    }
    if (code == NULL || strlen(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' ||
        code[1] > 'Z')
        return false;
    memcpy(pin->code, code, 3);
    for (size_t i = 0; pin->continent && i < sizeof(continents) / sizeof(continents[0]); i++)
        if (strcmp(code, continents[i]) == 0)
            return true;
    return !pin->continent;
}

static int pin_regions(struct conf_loader *ld, json_t *v, struct conf_pin *pin)
{
    struct geoip_ld *g = ld->ctx;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > CONF_REGIONS_MAX)
        return conf__error(ld, "must be an array of 1 to %d region names", CONF_REGIONS_MAX);
    int r = 0;
    size_t mark = ld->path.len;
    for (size_t i = 0; r == 0 && i < json_array_size(v); i++) {
        r = conf__path_index(ld, i);
        if (r == 0)
            r = conf__ref_elem(ld, json_array_get(v, i), g->regions, "region", &pin->regions,
                               &pin->nregions);
        conf__path_cut(ld, mark);
    }
    return r;
}

/* One "continent:XX" or "country:XX" entry of "pin". */
static int geo_pin(struct conf_loader *ld, const char *key, json_t *el, void *arg)
{
    struct conf_geo *geo = arg;
    if (geo->npins >= CONF_PINS_MAX)
        return conf__error_at(ld, key, CONF_POS_KEY, "more than %d pins", CONF_PINS_MAX);
    struct conf_pin *pin = conf__push_zeroed(&geo->pins, &geo->npins, sizeof(*pin));
    if (pin == NULL)
        return conf__nomem(ld);
    if (!pin_key(key, pin))
        return conf__error_at(ld, key, CONF_POS_KEY,
                              "must be \"continent:XX\" (XX one of AF, AN, AS, EU, NA, OC, SA) or "
                              "\"country:XX\" (XX an ISO 3166-1 code in upper case, e.g. DE)");
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, key);
    if (r == 0)
        r = pin_regions(ld, el, pin);
    conf__path_cut(ld, mark);
    return r;
}

static int geo_pins(struct conf_loader *ld, json_t *v, void *base)
{
    return conf__object_each(ld, v, "an object of \"continent:XX\" or \"country:XX\" keys", geo_pin,
                             base);
}

static int geo_order_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_geo *geo = base;
    return conf__ref_elem(ld, v, ((struct geoip_ld *)ld->ctx)->regions, "region",
                          &geo->default_order, &geo->ndefault_order);
}

static const char *const ecs_scope_names[] = {"nearest", "ranking", NULL};

static const struct conf_item geo_items[] = {
    {"database", IT_PATH, .offset = offsetof(struct conf_geo, database)},
    {"default_order", IT_LIST, .min = 1, .max = CONF_REGIONS_MAX, .fn = geo_order_elem,
     .what = "region names"},
    {"ecs_scope", IT_ENUM, .offset = offsetof(struct conf_geo, ecs_scope), .names = ecs_scope_names,
     .def = CONF_ECS_SCOPE_NEAREST},
    {"nets", IT_CUSTOM, .fn = geo_nets},
    {"nets_file", IT_CUSTOM, .fn = geo_nets_file},
    {"pin", IT_CUSTOM, .fn = geo_pins},
};
static const struct conf_section geo_section = CONF_SECTION(geo_items);

int conf__geoip_load(struct conf_loader *ld, json_t *root, const struct conf_nameix *regions)
{
    struct conf *c = ld->c;
    struct geoip_ld g = {regions, NULL, NULL};
    void *outer = ld->ctx;
    ld->ctx = &g;
    json_t *v = json_object_get(root, "geoip");
    int r = 0;
    if (v != NULL) {
        size_t mark = ld->path.len;
        r = conf__path_key(ld, "geoip");
        if (r == 0)
            r = conf__parse_section(ld, &geo_section, v, &c->geo);
        /* File entries come after the inline ones, whatever the key order. */
        if (r == 0 && g.nets_file != NULL)
            r = load_nets_file(ld);
        if (r == 0)
            r = nets_unique(ld);
        conf__path_cut(ld, mark);
    }
    free(g.srcs);
    ld->ctx = outer;
    bool by_default = c->geo.ndefault_order == 0;
    for (size_t i = 0; r == 0 && by_default && i < c->nregions; i++) {
        size_t *slot =
            conf__push_zeroed(&c->geo.default_order, &c->geo.ndefault_order, sizeof(*slot));
        if (slot == NULL)
            return conf__nomem(ld);
        *slot = i;
    }
    return r;
}
