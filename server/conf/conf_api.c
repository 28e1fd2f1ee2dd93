/* conf_api.c: reads the "api" key (HTTP API listen address, bearer token file, connection
 * limits, history interval) into conf. */
#include "server/conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/conf/conf_int.h"

static int listen_value(struct conf_loader *ld, json_t *v, void *base);
static int token_value(struct conf_loader *ld, json_t *v, void *base);

static const struct conf_item api_items[] = {
    {"enabled", IT_BOOL, CONF_FIELD(struct conf_api, enabled), .def = 1},
    {"listen", IT_CUSTOM, .fn = listen_value},
    {"token_file", IT_CUSTOM, .fn = token_value},
    {"max_connections", IT_UINT, CONF_FIELD(struct conf_api, max_connections), .min = 4,
     .max = 1024, .def = CONF_API_MAX_CONNECTIONS},
    {"max_per_source", IT_UINT, CONF_FIELD(struct conf_api, max_per_source), .min = 1, .max = 1024,
     .def = CONF_API_MAX_PER_SOURCE},
    {"request_timeout_ms", IT_UINT, CONF_FIELD(struct conf_api, request_timeout_ms), .min = 500,
     .max = 600000, .def = CONF_API_REQUEST_TIMEOUT_MS},
    {"history_interval_ms", IT_UINT, CONF_FIELD(struct conf_api, history_interval_ms), .min = 100,
     .max = 600000, .def = 10000},
};
static const struct conf_section api_section = CONF_SECTION(api_items);

/* Parse "ADDR:PORT" into a; a port is required (default 0 is refused): the API has no
 * well-known port. */
static int set_listen(struct conf_api *a, const char *text)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (conf_parse_addr(text, 0, &ss, &len) < 0)
        return -EINVAL;
    a->addr = ss;
    a->addrlen = len;
    snprintf(a->listen, sizeof(a->listen), "%s", text);
    return 0;
}

int conf__api_file_defaults(struct conf *c)
{
    int r = conf__section_defaults(&api_section, &c->api);
    if (r == 0)
        r = set_listen(&c->api, CONF_API_DEFAULT_LISTEN);
    c->api.listen_set = false;
    return r;
}

int conf_set_api(struct conf *c, const char *listen, struct err *e)
{
    if (c == NULL || listen == NULL || set_listen(&c->api, listen) < 0)
        return err_set(e, GSLBD_EINVAL, NULL, 0, 0,
                       "invalid API address \"%s\": expected IPV4:PORT or [IPV6]:PORT",
                       listen != NULL ? listen : "");
    c->api.enabled = true;
    c->api.listen_set = true;
    if (c->api.max_connections == 0) { /* --zone mode: no config file set the limits */
        c->api.max_connections = CONF_API_MAX_CONNECTIONS;
        c->api.max_per_source = CONF_API_MAX_PER_SOURCE;
        c->api.request_timeout_ms = CONF_API_REQUEST_TIMEOUT_MS;
    }
    return 0;
}

static int listen_value(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf_api *a = base;
    const char *text = json_is_string(v) ? json_string_value(v) : NULL;
    if (text == NULL || strlen(text) != json_string_length(v) || set_listen(a, text) < 0)
        return conf__error(ld, "must be one address with a port, like \"127.0.0.1:8053\" or "
                               "\"[::1]:8053\"");
    a->listen_set = true;
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* The token file's bytes into the conf_api at base; NULL or what is wrong with them. */
static const char *parse_token(const char *buf, size_t len, void *base)
{
    struct conf_api *a = base;
    size_t b = 0;
    while (b < len && is_space(buf[b]))
        b++;
    while (len > b && is_space(buf[len - 1]))
        len--;
    if (len == b)
        return "is empty";
    if (len - b > CONF_API_TOKEN_MAX)
        return "holds a token longer than 256 bytes";
    for (size_t i = b; i < len; i++)
        if ((unsigned char)buf[i] <= ' ' || (unsigned char)buf[i] >= 0x7f)
            return "holds a space, control or non-ASCII character inside the token";
    memcpy(a->token, buf + b, len - b);
    a->token[len - b] = '\0';
    a->token_len = len - b;
    return NULL;
}

/* The token file must be a regular file owned by us and closed to group and others: it is
 * the only thing that stands between a local user and draining every cluster. */
static int token_value(struct conf_loader *ld, json_t *v, void *base)
{
    return conf__read_private(ld, v, "token", false, parse_token, base);
}

int conf__api_value(struct conf_loader *ld, json_t *v, void *base)
{
    struct conf *c = base;
    return conf__parse_section(ld, &api_section, v, &c->api);
}
