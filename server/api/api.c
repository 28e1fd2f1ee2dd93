/* api.c: the HTTP API's server: libmicrohttpd set-up, request limits and routing (a table);
 * replies and token checks are in api_reply.c, each endpoint's work in its own api_ file. */
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
#include <unistd.h>

#include "server/log.h"

#define CLUSTERS_PREFIX "/api/v1/clusters/"
#define STATE_SUFFIX "/state"

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

static enum MHD_Result healthz(struct api *a, struct MHD_Connection *c)
{
    (void)a;
    return api_reply_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

/* The endpoints with a fixed path; a GET route answers HEAD too. */
static const struct route {
    const char *url;
    bool post; /* else GET */
    enum MHD_Result (*fn)(struct api *a, struct MHD_Connection *c);
} routes[] = {
    {"/healthz", false, healthz},
    {"/api/v1/status", false, api_status},
    {"/api/v1/history", false, api_history},
    {"/metrics", false, api_metrics},
    {"/api/v1/explain", false, api_explain},
    {"/api/v1/reload", true, api_reload},
};

static enum MHD_Result route(struct api *a, struct MHD_Connection *c, const char *url,
                             const char *method, const struct api_req *r)
{
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        if (strcmp(url, rt->url) != 0)
            continue;
        if (rt->post ? !post : !get)
            return api_reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                   rt->post ? "use POST" : "use GET");
        return rt->fn(a, c);
    }
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
    enum MHD_Result rc;
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
                 ca->listen, gslbd_strerror(rc));
        return 0;
    }
    if (rc < 0)
        return err_set(e, rc, NULL, 0, 0, "api: cannot listen on %s: %s", ca->listen,
                       gslbd_strerror(rc));
    struct api *a = calloc(1, sizeof(*a));
    if (a == NULL) {
        close(fd);
        return err_oom(e, NULL);
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
                       gslbd_strerror(rc));
    }
    rc = api_guard_start(&a->guard, ca);
    if (rc < 0) {
        close(fd);
        api_share_stop(a);
        free(a);
        return err_set(e, rc, NULL, 0, 0, "api: cannot start its guard thread: %s",
                       gslbd_strerror(rc));
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
