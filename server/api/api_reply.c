/* api_reply.c: what every endpoint answers with: JSON and error replies with the common
 * headers, small helpers (clocks, ISO times, growing text, the client's address), and the
 * bearer-token check. */
#include "server/api/api_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/jsonfmt.h"
#include "server/log.h"

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

int api_thread_start(pthread_t *t, pthread_mutex_t *lock, pthread_cond_t *wake, void *(*fn)(void *),
                     void *arg)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0)
        return -rc;
    if ((rc = pthread_mutex_init(lock, NULL)) != 0) {
        pthread_cond_destroy(wake);
        return -rc;
    }
    if ((rc = pthread_create(t, NULL, fn, arg)) != 0) {
        pthread_mutex_destroy(lock);
        pthread_cond_destroy(wake);
        return -rc;
    }
    return 0;
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
