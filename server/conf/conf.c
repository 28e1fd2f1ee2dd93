/* conf.c: the struct conf object's parts: growing arrays, listen addresses, the zone list.
 * conf_new and conf_free, which need every section's table, are in conf_load.c. */
#include "server/conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/conf/conf_int.h"

int conf__grow(void **arr, size_t n, size_t elsize)
{
    if (n != 0 && (n & (n - 1)) != 0)
        return 0;
    size_t cap = n == 0 ? 1 : n * 2;
    void *p = realloc(*arr, cap * elsize);
    if (p == NULL)
        return -ENOMEM;
    *arr = p;
    return 0;
}

void *conf__push_zeroed(void *arr_p, size_t *n, size_t size)
{
    void *arr;
    memcpy(&arr, arr_p, sizeof(arr));
    if (conf__grow(&arr, *n, size) < 0)
        return NULL;
    memcpy(arr_p, &arr, sizeof(arr));
    void *el = (char *)arr + *n * size;
    memset(el, 0, size);
    (*n)++;
    return el;
}

/* ---- listen addresses ---- */

static int parse_port(const char *s, uint16_t *port)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; s[i] != '\0'; i++) {
        if (s[i] < '0' || s[i] > '9' || i >= 5)
            return -EINVAL;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0 || v == 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int conf_parse_addr(const char *text, uint16_t default_port, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    if (text == NULL || ss == NULL || len == NULL)
        return -EINVAL;
    size_t n = strlen(text);
    if (n == 0 || n >= sizeof(((struct conf_listen *)0)->text))
        return -EINVAL;

    char host[INET6_ADDRSTRLEN + 1];
    const char *host_s = text;
    size_t host_n = n;
    const char *port_s = NULL;
    int family = AF_INET;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            return -EINVAL;
        host_s = text + 1;
        host_n = (size_t)(close - host_s);
        if (close[1] == ':')
            port_s = close + 2;
        else if (close[1] != '\0')
            return -EINVAL;
        family = AF_INET6;
    } else {
        const char *colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL) {
            family = AF_INET6; /* bare IPv6: a port would need brackets */
        } else if (colon != NULL) {
            host_n = (size_t)(colon - text);
            port_s = colon + 1;
        }
    }
    if (host_n == 0 || host_n >= sizeof(host))
        return -EINVAL;
    memcpy(host, host_s, host_n);
    host[host_n] = '\0';

    uint16_t port = default_port;
    if (port_s != NULL && parse_port(port_s, &port) < 0)
        return -EINVAL;
    if (port == 0)
        return -EINVAL;

    struct sockaddr_storage tmp;
    memset(&tmp, 0, sizeof(tmp));
    socklen_t tmplen;
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&tmp;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        tmplen = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&tmp;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -EINVAL;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        tmplen = sizeof(*s4);
    }
    *ss = tmp;
    *len = tmplen;
    return 0;
}

static bool addr_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    const struct sockaddr_in *x = (const struct sockaddr_in *)a;
    const struct sockaddr_in *y = (const struct sockaddr_in *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

/* Index of a listen entry with the same address and port, or -1. */
long conf__listen_find(const struct conf *c, const struct sockaddr_storage *ss)
{
    for (size_t i = 0; i < c->nlisten; i++)
        if (addr_equal(&c->listen[i].addr, ss))
            return (long)i;
    return -1;
}

int conf__listen_push(struct conf *c, const char *text, const struct sockaddr_storage *ss,
                      socklen_t len)
{
    void *arr = c->listen;
    int r = conf__grow(&arr, c->nlisten, sizeof(*c->listen));
    if (r < 0)
        return r;
    c->listen = arr;
    struct conf_listen *l = &c->listen[c->nlisten++];
    memset(l, 0, sizeof(*l));
    l->addr = *ss;
    l->addrlen = len;
    snprintf(l->text, sizeof(l->text), "%s", text);
    return 0;
}

int conf_add_listen(struct conf *c, const char *text, struct err *e)
{
    if (c == NULL || text == NULL)
        return err_set(e, -EINVAL, NULL, 0, 0, "no listen address given");
    struct sockaddr_storage ss;
    socklen_t len;
    if (conf_parse_addr(text, CONF_DEFAULT_PORT, &ss, &len) < 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0,
                       "invalid listen address \"%s\": expected IPV4, IPV4:PORT, IPV6 or "
                       "[IPV6]:PORT with PORT from 1 to 65535",
                       text);
    if (conf__listen_find(c, &ss) >= 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "duplicate listen address \"%s\"", text);
    if (c->nlisten >= CONF_LISTEN_MAX)
        return err_set(e, GSLBD_ELIMIT, NULL, 0, 0, "more than %d listen addresses",
                       CONF_LISTEN_MAX);
    int r = conf__listen_push(c, text, &ss, len);
    if (r < 0)
        return err_oom(e, NULL);
    return 0;
}

/* ---- zones ---- */

/* NULL if origin is acceptable here; ldns checks it fully when the zone loads. */
const char *conf__origin_problem(const char *origin)
{
    size_t n = strlen(origin);
    if (n == 0 || n > CONF_ORIGIN_MAX)
        return "must be a domain name of 1 to 1024 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)origin[i];
        if (ch <= ' ' || ch >= 0x7f)
            return "must be a domain name in ASCII without spaces (IDNs in punycode)";
    }
    return NULL;
}

/* Length without one final, unescaped dot, so "a.example." matches "a.example". */
static size_t origin_len(const char *origin)
{
    size_t n = strlen(origin);
    if (n == 0 || origin[n - 1] != '.')
        return n;
    size_t bs = 0;
    while (bs < n - 1 && origin[n - 2 - bs] == '\\')
        bs++;
    return bs % 2 == 0 ? n - 1 : n;
}

/* Index of a zone with the same origin (case-insensitive, final dot optional), or -1. */
long conf__zone_find(const struct conf *c, const char *origin)
{
    size_t n = origin_len(origin);
    for (size_t i = 0; i < c->nzones; i++) {
        const char *o = c->zones[i].origin;
        if (origin_len(o) == n && strncasecmp(o, origin, n) == 0)
            return (long)i;
    }
    return -1;
}

int conf__zone_push(struct conf *c, const char *origin, const char *file)
{
    void *arr = c->zones;
    int r = conf__grow(&arr, c->nzones, sizeof(*c->zones));
    if (r < 0)
        return r;
    c->zones = arr;
    char *o = strdup(origin);
    char *f = strdup(file);
    if (o == NULL || f == NULL) {
        free(o);
        free(f);
        return -ENOMEM;
    }
    c->zones[c->nzones].origin = o;
    c->zones[c->nzones].file = f;
    c->zones[c->nzones].line = c->zones[c->nzones].col = 0;
    c->zones[c->nzones].dnssec = (struct conf_dnssec){0};
    c->nzones++;
    return 0;
}

int conf_add_zone(struct conf *c, const char *origin, const char *file, struct err *e)
{
    if (c == NULL || origin == NULL || file == NULL)
        return err_set(e, -EINVAL, NULL, 0, 0, "zone needs an origin and a file");
    const char *why = conf__origin_problem(origin);
    if (why != NULL)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "zone origin \"%s\": %s", origin, why);
    if (file[0] == '\0')
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "zone %s: empty file name", origin);
    if (conf__zone_find(c, origin) >= 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0, "duplicate zone origin \"%s\"", origin);
    if (c->nzones >= CONF_ZONES_MAX)
        return err_set(e, GSLBD_ELIMIT, NULL, 0, 0, "more than %d zones", CONF_ZONES_MAX);
    int r = conf__zone_push(c, origin, file);
    if (r < 0)
        return err_oom(e, NULL);
    return 0;
}
