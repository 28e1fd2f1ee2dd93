/* conf_cluster.c: reads the "cluster" key (cluster mode through etcd: endpoints, key prefix,
 * instance name, TLS and user for etcd, lease TTL, health rule) into conf->shared. */
#include "server/conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/conf/conf_int.h"

static const char *const rule_names[] = {"local", "majority", "any", "all", NULL};

static int endpoint_elem(struct conf_loader *ld, json_t *v, void *base);
static int password_value(struct conf_loader *ld, json_t *v, void *base);

static const struct conf_item cluster_items[] = {
    {"endpoints", IT_LIST, true, .min = 1, .max = CONF_ETCD_ENDPOINTS_MAX, .fn = endpoint_elem,
     .what = "URL strings"},
    {"prefix", IT_TEXT, .offset = offsetof(struct conf_shared, prefix), .min = 1, .max = 200},
    {"name", IT_TEXT, .offset = offsetof(struct conf_shared, name), .min = 1, .max = 63},
    {"cert_file", IT_PATH, .offset = offsetof(struct conf_shared, cert_file)},
    {"key_file", IT_PATH, .offset = offsetof(struct conf_shared, key_file)},
    {"ca_file", IT_PATH, .offset = offsetof(struct conf_shared, ca_file)},
    {"user", IT_TEXT, .offset = offsetof(struct conf_shared, user), .min = 1, .max = 128},
    {"password_file", IT_CUSTOM, .fn = password_value},
    {"lease_ttl_s", IT_UINT, CONF_FIELD(struct conf_shared, lease_ttl_s), .min = 2, .max = 300,
     .def = 5},
    {"health_rule", IT_ENUM, CONF_FIELD(struct conf_shared, health_rule), .names = rule_names,
     .def = CONF_RULE_LOCAL},
};
static const struct conf_section cluster_section = CONF_SECTION(cluster_items);

static int endpoint_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_shared *s = base;
    const char *t = json_is_string(v) ? json_string_value(v) : NULL;
    if (t == NULL || strlen(t) != json_string_length(v) || strlen(t) > 200 ||
        (strncmp(t, "http://", 7) != 0 && strncmp(t, "https://", 8) != 0) || strchr(t, ' ') != NULL)
        return conf__error(ld, "must be an etcd URL like \"http://127.0.0.1:2379\" or "
                               "\"https://etcd1.example:2379\"");
    char *copy = strdup(t);
    if (copy == NULL)
        return conf__nomem(ld);
    size_t n = strlen(copy);
    while (n > 0 && copy[n - 1] == '/')
        copy[--n] = '\0'; /* we append "/v3/..." */
    s->endpoints[s->nendpoints++] = copy;
    return 0;
}

static const char *parse_password(const char *buf, size_t len, void *base)
{
    struct conf_shared *s = base;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0)
        return "is empty";
    if (len > CONF_ETCD_PASSWORD_MAX)
        return "holds a password longer than 256 bytes";
    memcpy(s->password, buf, len);
    s->password[len] = '\0';
    return NULL;
}

static int password_value(struct conf_loader *ld, json_t *v, void *base)
{
    return conf__read_private(ld, v, "password", true, parse_password, base);
}

int conf__cluster_value(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    struct conf_shared *s = &c->shared;
    int r = conf__section_defaults(&cluster_section, s);
    if (r < 0)
        return conf__error(ld, "internal: inconsistent key table");
    r = conf__parse_section(ld, &cluster_section, v, s);
    if (r < 0)
        return r;
    if (s->name != NULL && strchr(s->name, '/') != NULL)
        return conf__error_at(ld, "name", CONF_POS_VALUE, "must not contain '/'");
    if ((s->cert_file == NULL) != (s->key_file == NULL))
        return conf__error(ld, "cert_file and key_file go together");
    if ((s->user == NULL) != (s->password[0] == '\0'))
        return conf__error(ld, "user and password_file go together");
    if (s->name == NULL) {
        char host[256] = "";
        if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
            snprintf(host, sizeof(host), "gslbd");
        for (char *p = host; *p != '\0'; p++)
            if (*p == '/')
                *p = '-';
        host[63] = '\0';
        s->name = strdup(host);
    }
    const char *pre = s->prefix != NULL ? s->prefix : "/gslbd/";
    size_t n = strlen(pre);
    char *full = malloc(n + 2);
    if (s->name == NULL || full == NULL) {
        free(full);
        return conf__nomem(ld);
    }
    memcpy(full, pre, n + 1);
    if (full[n - 1] != '/')
        memcpy(full + n, "/", 2);
    free(s->prefix);
    s->prefix = full;
    s->enabled = true;
    return 0;
}

void conf__cluster_free(struct conf *c)
{
    struct conf_shared *s = &c->shared;
    for (size_t i = 0; i < s->nendpoints; i++)
        free(s->endpoints[i]);
    free(s->prefix);
    free(s->name);
    free(s->cert_file);
    free(s->key_file);
    free(s->ca_file);
    free(s->user);
    memset(s->password, 0, sizeof(s->password));
}
