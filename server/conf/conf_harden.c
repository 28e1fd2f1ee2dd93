/* conf_harden.c: reads the "cookies" (secret file) and "rrl" (rate limiting) keys into conf. */
#include "server/conf/conf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf_int.h"
#include "server/cookie.h"

_Static_assert(CONF_COOKIE_SECRET_LEN == COOKIE_SECRET_LEN, "one secret size");

static int secret_value(struct conf_loader *ld, json_t *v, void *base);
static int exempt_elem(struct conf_loader *ld, json_t *v, void *base);

static const struct conf_item cookies_items[] = {
    {"enabled", IT_BOOL, CONF_FIELD(struct conf_cookies, enabled), .def = 1},
    {"secret_file", IT_CUSTOM, .fn = secret_value},
};
const struct conf_section conf__cookies_section = CONF_SECTION(cookies_items);

static const struct conf_item rrl_items[] = {
    {"enabled", IT_BOOL, CONF_FIELD(struct conf_rrl, enabled), .def = 0},
    {"log_only", IT_BOOL, CONF_FIELD(struct conf_rrl, log_only), .def = 0},
    {"responses_per_second", IT_UINT, CONF_FIELD(struct conf_rrl, responses_per_second), .min = 1,
     .max = 100000, .def = 20},
    {"window_s", IT_UINT, CONF_FIELD(struct conf_rrl, window_s), .min = 1, .max = 3600, .def = 15},
    {"slip", IT_UINT, CONF_FIELD(struct conf_rrl, slip), .min = 0, .max = 10, .def = 2},
    {"ipv4_prefix", IT_UINT, CONF_FIELD(struct conf_rrl, ipv4_prefix), .min = 8, .max = 32,
     .def = 24},
    {"ipv6_prefix", IT_UINT, CONF_FIELD(struct conf_rrl, ipv6_prefix), .min = 16, .max = 128,
     .def = 56},
    {"table_size", IT_UINT, CONF_FIELD(struct conf_rrl, table_size), .min = 1024, .max = 4194304,
     .def = 65536},
    {"exempt", IT_LIST, .min = 0, .max = CONF_RRL_EXEMPT_MAX, .fn = exempt_elem,
     .what = "network strings"},
};
const struct conf_section conf__rrl_section = CONF_SECTION(rrl_items);

/* ---- cookies.secret_file ---- */

/* The secret file's bytes into the conf_cookies at base; NULL or what is wrong. */
static const char *parse_secret(const char *buf, size_t len, void *base)
{
    struct conf_cookies *c = base;
    if (cookie_secret_parse(buf, len, c->secret) < 0)
        return "must hold the secret as 32 hex digits (16 bytes), e.g. from "
               "`openssl rand -hex 16`";
    c->secret_set = true;
    return NULL;
}

/* Whoever reads the secret can make cookies that exempt a spoofed flood from rate limits:
 * the file gets the same checks as the API token file. */
static int secret_value(struct conf_loader *ld, json_t *v, void *base)
{
    return conf__read_private(ld, v, "secret", true, parse_secret, base);
}

/* ---- rrl.exempt ---- */

/* "ADDR/PREFIX" or "ADDR" (a single address) into net; NULL or what is wrong. */
static const char *cidr_parse(const char *s, struct conf_cidr *net)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (hl == 0 || hl >= sizeof(host))
        return "is not an address";
    memcpy(host, s, hl);
    host[hl] = '\0';
    memset(net, 0, sizeof(*net));
    net->family = strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
    if (inet_pton(net->family, host, net->addr) != 1)
        return "is not an address";
    unsigned max = net->family == AF_INET ? 32 : 128, p = max;
    if (slash != NULL) {
        const char *d = slash + 1;
        p = 0;
        if (*d == '\0' || strlen(d) > 3)
            return "has a bad prefix length";
        for (; *d != '\0'; d++) {
            if (*d < '0' || *d > '9')
                return "has a bad prefix length";
            p = p * 10 + (unsigned)(*d - '0');
        }
        if (p > max)
            return "has a prefix length past the address size";
    }
    net->prefix = (uint8_t)p;
    for (unsigned bit = p; bit < max; bit++)
        if (net->addr[bit / 8] & (0x80u >> (bit % 8)))
            return "has address bits set past the prefix";
    return NULL;
}

static int exempt_elem(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_rrl *r = base;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s == NULL || strlen(s) != json_string_length(v))
        return conf__error(ld, "must be a network string like \"192.0.2.0/24\" or "
                               "\"2001:db8::/32\", or one address");
    struct conf_cidr net;
    const char *why = cidr_parse(s, &net);
    if (why != NULL)
        return conf__error(ld,
                           "\"%.100s\" %s (expected a network like \"192.0.2.0/24\" or "
                           "\"2001:db8::/32\", or one address)",
                           s, why);
    r->exempt[r->nexempt++] = net;
    return 0;
}
