/* conf_gslb.c: reads the GSLB keys regions, checks, clusters and services into struct conf. */
#include "server/conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf_int.h"
#include "server/dns/dname.h"

_Static_assert(sizeof(enum conf_check_type) == sizeof(int) &&
                   sizeof(enum conf_policy) == sizeof(int) &&
                   sizeof(enum conf_all_down) == sizeof(int),
               "IT_ENUM stores an int");

/* What conf__gslb_load keeps while it runs (ld->ctx). */
struct gslb {
    struct conf_nameix regions, checks, clusters, zones;
    uint8_t (*zone_wire)[DNAME_MAX + 1];
};

static const char *region_name(const struct conf *c, size_t i)
{
    return c->regions[i].name;
}

static const char *check_name(const struct conf *c, size_t i)
{
    return c->checks[i].name;
}

static const char *cluster_name(const struct conf *c, size_t i)
{
    return c->clusters[i].name;
}

static const char *service_name_of(const struct conf *c, size_t i)
{
    return c->services[i].name;
}

static const uint8_t *region_key(const void *base, size_t i, size_t *len)
{
    const char *s = region_name(base, i);
    *len = strlen(s);
    return (const uint8_t *)s;
}

static const uint8_t *check_key(const void *base, size_t i, size_t *len)
{
    const char *s = check_name(base, i);
    *len = strlen(s);
    return (const uint8_t *)s;
}

static const uint8_t *cluster_key(const void *base, size_t i, size_t *len)
{
    const char *s = cluster_name(base, i);
    *len = strlen(s);
    return (const uint8_t *)s;
}

static const uint8_t *wire_key(const void *base, size_t i, size_t *len)
{
    const uint8_t(*w)[DNAME_MAX + 1] = base;
    *len = dname_len(w[i]);
    return w[i];
}

/* ---- small helpers ---- */

static bool visible_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* Load the array at root.key, element by element; the path is "$". */
static int load_array(struct conf_loader *ld, json_t *root, const char *key, size_t max,
                      const char *what, int (*elem)(struct conf_loader *ld, json_t *v))
{
    json_t *v = json_object_get(root, key);
    if (v == NULL)
        return 0;
    size_t mark = ld->path.len;
    int r = conf__path_key(ld, key);
    if (r == 0 && (!json_is_array(v) || json_array_size(v) > max))
        r = conf__error(ld, "must be an array of 0 to %zu %s", max, what);
    for (size_t i = 0; r == 0 && i < json_array_size(v); i++) {
        size_t m = ld->path.len;
        r = conf__path_index(ld, i);
        if (r == 0)
            r = elem(ld, json_array_get(v, i));
        conf__path_cut(ld, m);
    }
    conf__path_cut(ld, mark);
    return r;
}

/* ---- regions ---- */

static const struct conf_item region_items[] = {
    {"name", IT_NAME, true, .offset = offsetof(struct conf_region, name), .min = 1,
     .max = CONF_NAME_MAX},
    {"lat", IT_REAL, true, .offset = offsetof(struct conf_region, lat), .min = -90, .max = 90},
    {"lon", IT_REAL, true, .offset = offsetof(struct conf_region, lon), .min = -180, .max = 180},
};
static const struct conf_section region_section = CONF_SECTION(region_items);

static int region_elem(struct conf_loader *ld, json_t *v)
{
    struct conf *c = ld->c;
    struct conf_region *rg = conf__push_zeroed(&c->regions, &c->nregions, sizeof(*rg));
    if (rg == NULL)
        return conf__nomem(ld);
    return conf__parse_section(ld, &region_section, v, rg);
}

/* ---- checks ---- */

static int check_port(struct conf_loader *ld, json_t *v, void *base);
static int check_status(struct conf_loader *ld, json_t *v, void *base);

static const char *const check_type_names[] = {"http", "https", "tcp", NULL};

static const struct conf_item check_items[] = {
    {"name", IT_NAME, true, .offset = offsetof(struct conf_check, name), .min = 1,
     .max = CONF_NAME_MAX},
    {"type", IT_ENUM, true, .offset = offsetof(struct conf_check, type), .names = check_type_names},
    {"port", IT_CUSTOM, .fn = check_port},
    {"path", IT_TEXT, .offset = offsetof(struct conf_check, path), .min = 1, .max = 2048},
    {"host", IT_TEXT, .offset = offsetof(struct conf_check, host), .min = 1, .max = 255},
    {"expect_status", IT_CUSTOM, .fn = check_status},
    {"expect_body", IT_TEXT, .offset = offsetof(struct conf_check, expect_body), .min = 1,
     .max = 4096},
    {"interval_ms", IT_UINT, CONF_FIELD(struct conf_check, interval_ms), .min = 50, .max = 3600000,
     .def = 1000},
    {"timeout_ms", IT_UINT, CONF_FIELD(struct conf_check, timeout_ms), .min = 10, .max = 600000,
     .def = 800},
    {"fall", IT_UINT, CONF_FIELD(struct conf_check, fall), .min = 1, .max = 100, .def = 3},
    {"rise", IT_UINT, CONF_FIELD(struct conf_check, rise), .min = 1, .max = 100, .def = 3},
    {"tls_verify", IT_BOOL, CONF_FIELD(struct conf_check, tls_verify), .def = 1},
    {"ca_file", IT_PATH, .offset = offsetof(struct conf_check, ca_file)},
    {"source", IT_TEXT, .offset = offsetof(struct conf_check, source), .min = 2, .max = 45},
};
static const struct conf_section check_section = CONF_SECTION(check_items);

static int check_port(struct conf_loader *ld, json_t *v, void *base)
{
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
    if (x < 1 || x > 65535)
        return conf__error(ld, "must be an integer from 1 to 65535");
    ((struct conf_check *)base)->port = (uint16_t)x;
    return 0;
}

static int check_status(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_check *k = base;
    size_t max = sizeof(k->expect_status) / sizeof(k->expect_status[0]);
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > max)
        return conf__error(ld, "must be an array of 1 to %zu HTTP status codes", max);
    size_t mark = ld->path.len;
    int r = 0;
    for (size_t i = 0; r == 0 && i < json_array_size(v); i++) {
        json_t *el = json_array_get(v, i);
        json_int_t x = json_is_integer(el) ? json_integer_value(el) : 0;
        r = conf__path_index(ld, i);
        if (r == 0 && (x < 100 || x > 599))
            r = conf__error(ld, "must be an integer from 100 to 599");
        for (size_t j = 0; r == 0 && j < k->nexpect_status; j++)
            if (k->expect_status[j] == x)
                r = conf__error(ld, "%d is listed twice", (int)x);
        if (r == 0)
            k->expect_status[k->nexpect_status++] = (uint16_t)x;
        conf__path_cut(ld, mark);
    }
    return r;
}

/* Keys that make sense for some check types only: an error rather than silently unused. */
static int check_type_keys(struct conf_loader *ld, json_t *obj, const struct conf_check *k)
{
    static const char *const http_only[] = {"path", "host", "expect_status", "expect_body"};
    static const char *const https_only[] = {"tls_verify", "ca_file"};
    for (size_t i = 0; k->type == CONF_CHECK_TCP && i < sizeof(http_only) / sizeof(*http_only); i++)
        if (json_object_get(obj, http_only[i]) != NULL)
            return conf__error_at(ld, http_only[i], CONF_POS_KEY, "only for http and https checks");
    for (size_t i = 0; k->type != CONF_CHECK_HTTPS && i < sizeof(https_only) / sizeof(*https_only);
         i++)
        if (json_object_get(obj, https_only[i]) != NULL)
            return conf__error_at(ld, https_only[i], CONF_POS_KEY, "only for https checks");
    return 0;
}

static int check_elem(struct conf_loader *ld, json_t *v)
{
    struct conf *c = ld->c;
    struct conf_check *k = conf__push_zeroed(&c->checks, &c->nchecks, sizeof(*k));
    if (k == NULL)
        return conf__nomem(ld);
    int r = conf__section_defaults(&check_section, k);
    if (r == 0)
        r = conf__parse_section(ld, &check_section, v, k);
    if (r == 0)
        r = check_type_keys(ld, v, k);
    if (r < 0)
        return r;

    if (k->port == 0 && k->type == CONF_CHECK_TCP)
        return conf__missing(ld, "port", "tcp checks have no default port");
    if (k->port == 0)
        k->port = k->type == CONF_CHECK_HTTPS ? 443 : 80;
    if (k->type != CONF_CHECK_TCP && k->path == NULL && (k->path = strdup("/")) == NULL)
        return conf__nomem(ld);
    if (k->path != NULL && (k->path[0] != '/' || !visible_ascii(k->path)))
        return conf__error_at(ld, "path", CONF_POS_VALUE,
                              "must start with '/' and hold printable ASCII without spaces "
                              "(percent-encode the rest)");
    unsigned char sbuf[16];
    if (k->source != NULL && inet_pton(AF_INET, k->source, sbuf) != 1 &&
        inet_pton(AF_INET6, k->source, sbuf) != 1)
        return conf__error_at(ld, "source", CONF_POS_VALUE,
                              "must be a numeric IPv4 or IPv6 address of this host");
    if (k->host != NULL && !visible_ascii(k->host))
        return conf__error_at(ld, "host", CONF_POS_VALUE,
                              "must be a host name in printable ASCII without spaces");
    if (k->type != CONF_CHECK_TCP && k->nexpect_status == 0) {
        k->expect_status[0] = 200;
        k->nexpect_status = 1;
    }
    /* A probe must end before the next one is due (HC-4). */
    if (k->timeout_ms >= k->interval_ms && json_object_get(v, "timeout_ms") != NULL)
        return conf__error_at(ld, "timeout_ms", CONF_POS_VALUE,
                              "must be less than interval_ms (%u)", k->interval_ms);
    if (k->timeout_ms >= k->interval_ms)
        return conf__error_at(ld, "interval_ms", CONF_POS_VALUE,
                              "must be greater than timeout_ms (%u, its default)", k->timeout_ms);
    return 0;
}

/* ---- clusters ---- */

static int cluster_region(struct conf_loader *ld, json_t *v, void *base);
static int cluster_addr(struct conf_loader *ld, json_t *v, void *base);
static int cluster_check(struct conf_loader *ld, json_t *v, void *base);

static const struct conf_item cluster_items[] = {
    {"name", IT_NAME, true, .offset = offsetof(struct conf_cluster, name), .min = 1,
     .max = CONF_NAME_MAX},
    {"region", IT_CUSTOM, true, .fn = cluster_region},
    {"addresses", IT_LIST, true, .min = 1, .max = CONF_CLUSTER_ADDRS_MAX, .fn = cluster_addr,
     .what = "address strings"},
    {"weight", IT_UINT, CONF_FIELD(struct conf_cluster, weight), .min = 0, .max = 1000000,
     .def = 1},
    {"checks", IT_LIST, .min = 0, .max = CONF_CLUSTER_CHECKS_MAX, .fn = cluster_check,
     .what = "check names"},
};
static const struct conf_section cluster_section = CONF_SECTION(cluster_items);

static int cluster_region(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_cluster *cl = base;
    struct gslb *g = ld->ctx;
    size_t *one = NULL;
    size_t n = 0;
    int r = conf__ref_elem(ld, v, &g->regions, "region", &one, &n);
    if (r == 0)
        cl->region = one[0];
    free(one);
    return r;
}

static int cluster_addr(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_cluster *cl = base;
    struct conf_addr a;
    memset(&a, 0, sizeof(a));
    const char *s = json_string_value(v);
    if (s != NULL && inet_pton(AF_INET, s, a.addr) == 1)
        a.family = AF_INET;
    else if (s != NULL && inet_pton(AF_INET6, s, a.addr) == 1)
        a.family = AF_INET6;
    else if (s != NULL)
        return conf__error(ld,
                           "invalid address '%.100s': expected an IPv4 or IPv6 address "
                           "(no port: checks give the port)",
                           s);
    else
        return conf__error(ld, "must be an address string like \"192.0.2.10\" or "
                               "\"2001:db8::10\"");
    inet_ntop(a.family, a.addr, a.text, sizeof(a.text));
    for (size_t j = 0; j < cl->naddrs; j++) {
        if (cl->addrs[j].family == a.family && memcmp(cl->addrs[j].addr, a.addr, 16) == 0) {
            char other[512];
            conf__sibling_path(ld, j, other, sizeof(other));
            return conf__error(ld, "duplicate of %s ('%s')", other, cl->addrs[j].text);
        }
    }
    struct conf_addr *slot = conf__push_zeroed(&cl->addrs, &cl->naddrs, sizeof(*slot));
    if (slot == NULL)
        return conf__nomem(ld);
    *slot = a;
    return 0;
}

static int cluster_check(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_cluster *cl = base;
    return conf__ref_elem(ld, v, &((struct gslb *)ld->ctx)->checks, "check", &cl->checks,
                          &cl->nchecks);
}

static int cluster_elem(struct conf_loader *ld, json_t *v)
{
    struct conf *c = ld->c;
    struct conf_cluster *cl = conf__push_zeroed(&c->clusters, &c->nclusters, sizeof(*cl));
    if (cl == NULL)
        return conf__nomem(ld);
    int r = conf__section_defaults(&cluster_section, cl);
    return r < 0 ? r : conf__parse_section(ld, &cluster_section, v, cl);
}

/* ---- services ---- */

static bool inside_a_zone(const struct gslb *g, const uint8_t *name)
{
    for (size_t pos = 0;; pos += 1u + name[pos]) {
        if (conf__nix_find(&g->zones, name + pos, dname_len(name + pos)) >= 0)
            return true;
        if (name[pos] == 0)
            return false;
    }
}

static int service_name(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_service *sv = base;
    const char *s = json_string_value(v);
    if (s == NULL || json_string_length(v) == 0 || json_string_length(v) > CONF_ORIGIN_MAX)
        return conf__error(ld, "must be a domain name of 1 to %d bytes", CONF_ORIGIN_MAX);
    const char *why = conf__origin_problem(s);
    uint8_t wire[DNAME_MAX + 1];
    bool absolute = false;
    if (why == NULL)
        why = dname_from_text(s, wire, &absolute);
    if (why != NULL && strncmp(why, "must", 4) == 0)
        return conf__error(ld, "%s", why);
    if (why != NULL)
        return conf__error(ld, "'%.300s' %s", s, why);
    if (wire[0] == 1 && wire[1] == '*')
        return conf__error(ld, "'%.300s': a wildcard cannot be a service name", s);
    if (!inside_a_zone(ld->ctx, wire))
        return conf__error(ld, "'%.300s' is not inside any zone of $.zones", s);
    size_t n = strlen(s);
    free(sv->name);
    sv->name = malloc(n + 2);
    if (sv->name == NULL)
        return conf__nomem(ld);
    memcpy(sv->name, s, n);
    memcpy(sv->name + n, absolute ? "" : ".", absolute ? 1 : 2);
    return 0;
}

static int service_cluster(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_service *sv = base;
    return conf__ref_elem(ld, v, &((struct gslb *)ld->ctx)->clusters, "cluster", &sv->clusters,
                          &sv->nclusters);
}

static const char *const policy_names[] = {"nearest", "weighted", "failover", NULL};
static const char *const all_down_names[] = {"fail_open", "servfail", NULL};

static const struct conf_item service_items[] = {
    {"name", IT_CUSTOM, true, .fn = service_name},
    {"policy", IT_ENUM, .offset = offsetof(struct conf_service, policy), .names = policy_names,
     .def = CONF_POLICY_NEAREST},
    {"clusters", IT_LIST, true, .min = 1, .max = CONF_SERVICE_CLUSTERS_MAX, .fn = service_cluster,
     .what = "cluster names"},
    {"ttl", IT_UINT, CONF_FIELD(struct conf_service, ttl), .min = 0, .max = 86400, .def = 30},
    {"failover_ttl", IT_UINT, CONF_FIELD(struct conf_service, failover_ttl), .min = 0, .max = 86400,
     .def = 10},
    {"all_down", IT_ENUM, .offset = offsetof(struct conf_service, all_down),
     .names = all_down_names, .def = CONF_ALL_DOWN_FAIL_OPEN},
};
static const struct conf_section service_section = CONF_SECTION(service_items);

static int service_elem(struct conf_loader *ld, json_t *v)
{
    struct conf *c = ld->c;
    struct conf_service *sv = conf__push_zeroed(&c->services, &c->nservices, sizeof(*sv));
    if (sv == NULL)
        return conf__nomem(ld);
    int r = conf__section_defaults(&service_section, sv);
    return r < 0 ? r : conf__parse_section(ld, &service_section, v, sv);
}

/* Zones by lowercase wire origin; an origin that is not a name is left for the zone loader
 * to report. */
static int index_zones(struct conf_loader *ld, struct gslb *g)
{
    struct conf *c = ld->c;
    g->zone_wire = calloc(c->nzones ? c->nzones : 1, sizeof(*g->zone_wire));
    if (g->zone_wire == NULL)
        return conf__nomem(ld);
    size_t n = 0;
    for (size_t i = 0; i < c->nzones; i++) {
        bool absolute;
        if (dname_from_text(c->zones[i].origin, g->zone_wire[n], &absolute) == NULL)
            n++;
    }
    return conf__nix_build(&g->zones, n, g->zone_wire, wire_key) < 0 ? conf__nomem(ld) : 0;
}

/* Service names compare without case and final dot: refuse a repeat. */
static int services_unique(struct conf_loader *ld)
{
    struct conf *c = ld->c;
    uint8_t(*wire)[DNAME_MAX + 1] = calloc(c->nservices ? c->nservices : 1, sizeof(*wire));
    struct conf_nameix x = {NULL, 0};
    int r = wire == NULL ? conf__nomem(ld) : 0;
    for (size_t i = 0; r == 0 && i < c->nservices; i++) {
        bool absolute;
        dname_from_text(c->services[i].name, wire[i], &absolute);
    }
    if (r == 0)
        r = conf__index_names(ld, &x, c->nservices, wire, wire_key, "services", "service",
                              service_name_of);
    free(x.e);
    free(wire);
    return r;
}

/* ---- entry points ---- */

int conf__gslb_later(struct conf_loader *ld, json_t *v, void *base)
{
    (void)ld;
    (void)v;
    (void)base;
    return 0;
}

int conf__gslb_load(struct conf_loader *ld, json_t *root)
{
    struct conf *c = ld->c;
    struct gslb g;
    memset(&g, 0, sizeof(g));
    ld->ctx = &g;
    int r = index_zones(ld, &g);
    if (r == 0)
        r = load_array(ld, root, "regions", CONF_REGIONS_MAX, "region objects", region_elem);
    if (r == 0)
        r = conf__index_names(ld, &g.regions, c->nregions, c, region_key, "regions", "region",
                              region_name);
    if (r == 0)
        r = load_array(ld, root, "checks", CONF_CHECKS_MAX, "check objects", check_elem);
    if (r == 0)
        r = conf__index_names(ld, &g.checks, c->nchecks, c, check_key, "checks", "check",
                              check_name);
    if (r == 0)
        r = load_array(ld, root, "clusters", CONF_CLUSTERS_MAX, "cluster objects", cluster_elem);
    if (r == 0)
        r = conf__index_names(ld, &g.clusters, c->nclusters, c, cluster_key, "clusters", "cluster",
                              cluster_name);
    if (r == 0)
        r = load_array(ld, root, "services", CONF_SERVICES_MAX, "service objects", service_elem);
    if (r == 0)
        r = services_unique(ld);
    if (r == 0)
        r = conf__geoip_load(ld, root, &g.regions);
    free(g.regions.e);
    free(g.checks.e);
    free(g.clusters.e);
    free(g.zones.e);
    free(g.zone_wire);
    ld->ctx = NULL;
    return r;
}
