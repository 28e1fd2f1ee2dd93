/* api.c: the HTTP API's server: libmicrohttpd set-up, request limits, routing, replies and
 * bearer-token checks; each endpoint's work is in its own api_ file. */
#include "server/api/api_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/jsonfmt.h"
#include "server/log.h"

#define CLUSTERS_PREFIX "/api/v1/clusters/"
#define STATE_SUFFIX "/state"

/* ---- small helpers ---- */

uint64_t api_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void api_iso_time(int64_t wall_ms, char *buf, size_t n)
{
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%03dZ", base, (int)(wall_ms % 1000));
}

void api_buf_printf(struct api_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p != NULL ? b->p + b->len : NULL, b->p != NULL ? b->cap - b->len : 0,
                          fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->oom = true;
            return;
        }
        if (b->p != NULL && b->len + (size_t)w < b->cap) {
            b->len += (size_t)w;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)w)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void api_client_text(struct MHD_Connection *c, char *buf, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, n, "?");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(buf, n, "%s:%u", host, ntohs(s4->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(buf, n, "[%s]:%u", host, ntohs(s6->sin6_port));
    }
}

/* ---- replies ---- */

/* Headers every reply carries: nothing is cached, nothing is sniffed or framed. */
static void common_headers(struct MHD_Response *r, const char *ctype)
{
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                            "form-action 'none'");
}

/* Queue r with the headers every reply carries, then drop our reference. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status, const char *ctype,
                             struct MHD_Response *r)
{
    if (r == NULL)
        return MHD_NO;
    common_headers(r, ctype);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"gslbd\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result api_reply_bytes(struct MHD_Connection *c, unsigned status, const char *ctype,
                                const void *data, size_t len, bool persistent)
{
    return queue(c, status, ctype,
                 MHD_create_response_from_buffer(len, (void *)(uintptr_t)data,
                                                 persistent ? MHD_RESPMEM_PERSISTENT
                                                            : MHD_RESPMEM_MUST_COPY));
}

enum MHD_Result api_reply_take(struct MHD_Connection *c, unsigned status, const char *ctype,
                               char *data, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
    if (r == NULL)
        free(data);
    return queue(c, status, ctype, r);
}

enum MHD_Result api_reply_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    jsonfmt_round(j);
    char *text =
        j != NULL ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSONFMT_FLAGS) : NULL;
    json_decref(j);
    if (text == NULL) {
        static const char oom[] = "{\"error\":\"out of memory\"}\n";
        return api_reply_bytes(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", oom,
                               sizeof(oom) - 1, true);
    }
    size_t n = strlen(text);
    char *body = realloc(text, n + 2); /* end with a newline, for curl users */
    if (body != NULL) {
        text = body;
        text[n++] = '\n';
        text[n] = '\0';
    }
    return api_reply_take(c, status, "application/json", text, n);
}

enum MHD_Result api_reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return api_reply_json(c, status, json_pack("{s:s}", "error", msg));
}

/* ---- authentication ---- */

/* Equal in time that depends only on want's length, not on where the first difference is. */
static bool token_equal(const char *given, size_t glen, const char *want, size_t wlen)
{
    unsigned char d = glen != wlen;
    for (size_t i = 0; i < wlen; i++)
        d |= (unsigned char)(want[i] ^ (i < glen ? given[i] : 0));
    return d == 0 && wlen > 0;
}

bool api_authorized(struct api *a, struct MHD_Connection *c, const char *what, enum MHD_Result *rc)
{
    char want[CONF_API_TOKEN_MAX + 1];
    size_t wlen;
    pthread_mutex_lock(&a->ctl->reload_lock); /* the token comes with the view: reloads rotate it */
    const struct conf_api *ca = &atomic_load(&a->srv->view)->conf->api;
    wlen = ca->token_len;
    memcpy(want, ca->token, wlen + 1);
    pthread_mutex_unlock(&a->ctl->reload_lock);
    if (wlen == 0) {
        *rc = api_reply_error(c, MHD_HTTP_FORBIDDEN,
                              "changes through the API are disabled: no api.token_file in "
                              "the config");
        return false;
    }
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *tok = NULL;
    if (h != NULL && strncasecmp(h, "Bearer ", 7) == 0) {
        tok = h + 7;
        while (*tok == ' ')
            tok++;
    }
    bool ok = tok != NULL && token_equal(tok, strlen(tok), want, wlen);
    explicit_bzero(want, sizeof(want));
    if (ok)
        return true;
    char who[80];
    api_client_text(c, who, sizeof(who));
    log_warn("api: %s: %s refused: %s bearer token", who, what, h == NULL ? "no" : "wrong");
    *rc = api_reply_error(c, MHD_HTTP_UNAUTHORIZED, "%s",
                          h == NULL ? "this needs \"Authorization: Bearer TOKEN\" (the contents "
                                      "of api.token_file)"
                                    : "wrong bearer token");
    return false;
}

/* ---- routing ---- */

/* Against DNS rebinding: a page from elsewhere that resolves its own name to 127.0.0.1 must
 * not read the API, so a loopback API answers only to loopback Host names. */
static bool host_ok(const struct api *a, struct MHD_Connection *c)
{
    if (!a->loopback)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (h == NULL)
        return true; /* HTTP/1.0 */
    char host[80];
    size_t n;
    if (h[0] == '[') {
        const char *end = strchr(h, ']');
        n = end != NULL ? (size_t)(end - h) + 1 : strlen(h);
    } else {
        n = strcspn(h, ":");
    }
    if (n == 0 || n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    struct in_addr v4;
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
        return true;
    return inet_pton(AF_INET, host, &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

static bool is_get(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result route(struct api *a, struct MHD_Connection *c, const char *url,
                             const char *method, const struct api_req *r)
{
    bool get = is_get(method);
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    enum MHD_Result rc;
    if (strcmp(url, "/healthz") == 0)
        return get ? api_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"))
                   : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (strcmp(url, "/api/v1/status") == 0)
        return get ? api_status(a, c) : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (strcmp(url, "/api/v1/history") == 0)
        return get ? api_history(a, c) : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (strcmp(url, "/metrics") == 0)
        return get ? api_metrics(a, c) : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (strcmp(url, "/api/v1/explain") == 0)
        return get ? api_explain(a, c) : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use GET");
    if (strcmp(url, "/api/v1/reload") == 0)
        return post ? api_reload(a, c)
                    : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    size_t plen = strlen(CLUSTERS_PREFIX), slen = strlen(STATE_SUFFIX), n = strlen(url);
    if (n > plen + slen && strncmp(url, CLUSTERS_PREFIX, plen) == 0 &&
        strcmp(url + n - slen, STATE_SUFFIX) == 0) {
        char name[128];
        size_t nlen = n - plen - slen;
        if (nlen >= sizeof(name) || memchr(url + plen, '/', nlen) != NULL)
            return api_reply_error(c, MHD_HTTP_NOT_FOUND, "no such cluster");
        memcpy(name, url + plen, nlen);
        name[nlen] = '\0';
        return post ? api_cluster_state(a, c, name, r)
                    : api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "use POST");
    }
    if (get && api_static(c, url, &rc))
        return rc;
    return api_reply_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %.200s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api *a = cls;
    struct api_req *r = *con_cls;
    if (r == NULL) { /* headers are in; the body (if any) comes with the next calls */
        r = malloc(sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->len = 0;
        r->too_big = false;
        r->replied = false;
        r->body[0] = '\0';
        *con_cls = r;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > API_BODY_MAX) {
            r->replied = true;
            return api_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                   "request body larger than %d bytes", API_BODY_MAX);
        }
        if (!host_ok(a, c)) {
            r->replied = true;
            return api_reply_error(c, MHD_HTTP_MISDIRECTED_REQUEST,
                                   "this API answers to loopback names only (127.0.0.1, [::1], "
                                   "localhost): the Host header names something else");
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!r->replied && !r->too_big && r->len + *upload_data_size <= API_BODY_MAX) {
            memcpy(r->body + r->len, upload_data, *upload_data_size);
            r->len += *upload_data_size;
            r->body[r->len] = '\0';
        } else {
            r->too_big = true;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    api_guard_request_in(c); /* the request is all in: the deadline is met */
    if (r->replied)
        return MHD_YES;
    if (r->too_big)
        return api_reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %d bytes",
                               API_BODY_MAX);
    return route(a, c, url, method, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    free(*con_cls);
    *con_cls = NULL;
    api_guard_request_done(c);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct api *a = cls;
    unsigned held_back;
    if (!api_guard_log_ok(&a->guard, &held_back))
        return; /* a client refused at a limit makes a line each time it connects */
    if (held_back > 0)
        log_info("api: %u libmicrohttpd messages were not logged (more than %d a second)",
                 held_back, API_MHD_LOG_PER_S);
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    log_info("api: %s", msg); /* mostly clients that broke a limit */
}

/* ---- start and stop ---- */

static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a6) || (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
}

/* Our own listening socket, so a bind failure can say why (MHD would only return NULL). */
static int listen_socket(const struct conf_api *ca, int *out)
{
    int fd = socket(ca->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ca->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&ca->addr, ca->addrlen) != 0 || listen(fd, 64) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *out = fd;
    return 0;
}

void api_check_conf(struct api *a)
{
    unsigned long gen = atomic_load(&a->ctl->reloads);
    if (gen == a->warned_gen)
        return;
    a->warned_gen = gen;
    const struct conf_api *ca = &atomic_load(&a->srv->view)->conf->api;
    if (!ca->enabled || strcmp(ca->listen, a->listen) != 0)
        log_warn("reload: the API stays on %s until a restart (the config now says %s)", a->listen,
                 ca->enabled ? ca->listen : "disabled");
    else if (ca->max_connections != a->guard.max || ca->max_per_source != a->guard.per_source ||
             ca->request_timeout_ms != a->guard.timeout_ms)
        log_warn("reload: the API's connection limits (max_connections, max_per_source, "
                 "request_timeout_ms) stay as they were until a restart");
}

int api_start(struct control *ctl, struct server *srv, const struct api_info *info,
              struct api **out, struct err *e)
{
    *out = NULL;
    const struct conf_api *ca = &atomic_load(&srv->view)->conf->api;
    if (!ca->enabled)
        return 0;
    int fd = -1;
    int rc = listen_socket(ca, &fd);
    if (rc < 0 && !ca->listen_set) {
        log_warn("api: not started: cannot listen on the default %s (%s); set \"api\": "
                 "{\"listen\": ...} or {\"enabled\": false}",
                 ca->listen, strerror(-rc));
        return 0;
    }
    if (rc < 0)
        return err_set(e, rc, NULL, 0, 0, "api: cannot listen on %s: %s", ca->listen,
                       strerror(-rc));
    struct api *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        close(fd);
        return err_set(e, -ENOMEM, NULL, 0, 0, "out of memory");
    }
    a->ctl = ctl;
    a->srv = srv;
    a->info = *info;
    a->loopback = is_loopback(&ca->addr);
    a->warned_gen = atomic_load(&ctl->reloads);
    snprintf(a->listen, sizeof(a->listen), "%s", ca->listen);
    rc = api_share_start(a);
    if (rc < 0) {
        close(fd);
        free(a);
        return err_set(e, rc, NULL, 0, 0, "api: cannot start its sampler thread: %s",
                       strerror(-rc));
    }
    rc = api_guard_start(&a->guard, ca);
    if (rc < 0) {
        close(fd);
        api_share_stop(a);
        free(a);
        return err_set(e, rc, NULL, 0, 0, "api: cannot start its guard thread: %s", strerror(-rc));
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (ca->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    a->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, a,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)ca->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)ca->max_per_source,
        MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, a, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)API_CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_END);
    if (a->mhd == NULL) {
        /* fd is not closed: whether MHD closed it already is not documented, and closing a
         * number another thread reused would be worse than one descriptor left open by a
         * process that is about to exit (a failed start is fatal) */
        api_guard_stop(&a->guard);
        api_share_stop(a);
        free(a);
        return err_set(e, -EIO, NULL, 0, 0, "api: libmicrohttpd did not start on %s", ca->listen);
    }
    if (!a->loopback)
        log_warn("api: listening on %s, which is not a loopback address: anyone who reaches "
                 "it can read status and metrics (changes still need the token)",
                 a->listen);
    log_info("api: listening on http://%s/ (changes %s)", a->listen,
             ca->token_len > 0 ? "need the bearer token" : "disabled: no token_file");
    *out = a;
    return 0;
}

void api_stop(struct api *a)
{
    if (a == NULL)
        return;
    MHD_stop_daemon(a->mhd); /* joins every connection thread; closes the socket */
    api_guard_stop(&a->guard);
    api_share_stop(a);
    free(a);
}
