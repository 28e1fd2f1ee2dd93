/* hc_http.c: HTTP(S) probes on curl multi, driven by the libuv loop (curl_uv.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/hc_int.h"

static void check_done(struct hc_multi *m);

/* curl acted on one of m's transfers (curl_uv.c): collect the finished ones. */
static void progress(void *arg)
{
    check_done(arg);
}

int hc_http_open(struct hc *h)
{
    h->multis = calloc(h->n ? h->n : 1, sizeof(*h->multis));
    return h->multis ? 0 : -ENOMEM;
}

/* The multi for a CA source, made on first use. */
static int multi_for(struct hc *h, const struct hc_check *c, struct hc_multi **out)
{
    const char *ca = c->type == HC_HTTPS ? c->ca_file : NULL;
    bool insecure = c->type == HC_HTTPS && c->tls_insecure;
    for (size_t i = 0; i < h->nmultis; i++) {
        struct hc_multi *m = &h->multis[i];
        bool same_ca =
            (m->ca_file == NULL || ca == NULL) ? m->ca_file == ca : strcmp(m->ca_file, ca) == 0;
        if (same_ca && m->insecure == insecure) {
            *out = m;
            return 0;
        }
    }
    struct hc_multi *m = &h->multis[h->nmultis];
    m->h = h;
    m->ca_file = ca;
    m->insecure = insecure;
    m->cu.multi = curl_multi_init();
    if (m->cu.multi == NULL)
        return HC_E_CURL;
    h->nmultis++; /* from here on hc_http_free cleans it up */
    m->cu.loop = h->loop;
    m->cu.stopping = &h->stopping;
    m->cu.polls = &h->polls;
    m->cu.progress = progress;
    m->cu.arg = m;
    if (curl_uv_attach(&m->cu) < 0)
        return HC_E_CURL;
    *out = m;
    return 0;
}

void hc_http_start_set(struct hc *h)
{
    for (size_t i = 0; i < h->nmultis; i++) {
        (void)curl_uv_timer_init(&h->multis[i].cu);
    }
}

void hc_http_stop(struct hc *h)
{
    curl_uv_close_polls(&h->polls);
    for (size_t i = 0; i < h->nmultis; i++)
        if (h->multis[i].cu.timer_ready)
            hc_close(h, (uv_handle_t *)&h->multis[i].cu.timer);
}

void hc_http_free(struct hc *h)
{
    /* curl may still call its socket callback while transfers are removed: h->stopping
     * (and polls already unassigned) keeps it away from closed handles */
    for (size_t i = 0; h->t && i < h->n; i++) {
        struct hc_tgt *t = &h->t[i];
        if (t->in_multi)
            curl_multi_remove_handle(t->m->cu.multi, t->easy);
        t->in_multi = false;
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
        curl_slist_free_all(t->connect_to);
        t->connect_to = NULL;
    }
    for (size_t i = 0; i < h->nmultis; i++)
        curl_multi_cleanup(h->multis[i].cu.multi);
    free(h->multis);
    h->multis = NULL;
    h->nmultis = 0;
}

/* ---- one target's transfer ---------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct hc_tgt *t = userp;
    size_t len = size * nmemb;
    if (t->body) {
        size_t room = HC_BODY_MAX - t->body_len;
        size_t take = len < room ? len : room;
        memcpy(t->body + t->body_len, data, take);
        t->body_len += take;
    }
    return len; /* past the cap the rest is read and dropped */
}

int hc_http_target_init(struct hc_tgt *t)
{
    const struct hc_check *c = &t->check;
    bool v6 = t->addr.family == AF_INET6;
    int rc = multi_for(t->h, c, &t->m);
    if (rc < 0)
        return rc;
    const char *scheme = c->type == HC_HTTPS ? "https" : "http";
    /* an IPv6 literal, as the address or as check.host, goes in brackets */
    const char *name = c->host ? c->host : t->addr_text;
    char hostpart[300];
    snprintf(hostpart, sizeof(hostpart), strchr(name, ':') ? "[%s]" : "%s", name);
    size_t ulen = strlen(scheme) + strlen(hostpart) + strlen(c->path) + 16;
    t->url = malloc(ulen);
    if (t->url == NULL)
        return -ENOMEM;
    snprintf(t->url, ulen, "%s://%s:%u%s", scheme, hostpart, (unsigned)c->port, c->path);
    if (c->host) {
        /* connect to the address while the URL keeps the name for Host, SNI and the
         * certificate check; per handle, unlike CURLOPT_RESOLVE's shared DNS cache */
        char rule[700];
        snprintf(rule, sizeof(rule), v6 ? "%s:%u:[%s]:%u" : "%s:%u:%s:%u", hostpart,
                 (unsigned)c->port, t->addr_text, (unsigned)c->port);
        t->connect_to = curl_slist_append(NULL, rule);
        if (t->connect_to == NULL)
            return -ENOMEM;
    }
    if (c->expect_body) {
        t->body = malloc(HC_BODY_MAX);
        if (t->body == NULL)
            return -ENOMEM;
    }
    t->easy = curl_easy_init();
    if (t->easy == NULL)
        return HC_E_CURL;
    CURL *e = t->easy;
    long tmo = (long)c->timeout_ms;
    bool ok = curl_easy_setopt(e, CURLOPT_URL, t->url) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, tmo) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_USERAGENT, "gslbd-health") == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_WRITEDATA, t) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf) == CURLE_OK &&
              curl_easy_setopt(e, CURLOPT_PRIVATE, t) == CURLE_OK;
    if (ok && c->source != NULL) { /* "host!" keeps curl from taking it for an interface */
        char itf[80];
        snprintf(itf, sizeof(itf), "host!%s", c->source);
        ok = curl_easy_setopt(e, CURLOPT_INTERFACE, itf) == CURLE_OK;
    }
    if (ok && t->connect_to)
        ok = curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to) == CURLE_OK;
    if (ok && c->type == HC_HTTPS) {
        long verify = c->tls_insecure ? 0L : 1L;
        /* a resumed session would skip the certificate checks: handshake in full */
        ok = curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK;
        /* CA file only, never the hashed directory: curl caches a store built from a file
         * (per multi, CURLOPT_CA_CACHE_TIMEOUT) but re-reads a CApath on every handshake.
         * NULL ca_file keeps libcurl's bundle, which on Debian holds the system CAs. */
        if (ok && c->ca_file)
            ok = curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) == CURLE_OK;
        if (ok)
            ok = curl_easy_setopt(e, CURLOPT_CAPATH, NULL) == CURLE_OK;
    }
    return ok ? 0 : HC_E_CURL;
}

static bool is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return true;
    default:
        return false;
    }
}

static bool status_expected(const struct hc_check *c, long code)
{
    for (size_t i = 0; i < c->nexpect_status; i++)
        if (c->expect_status[i] == code)
            return true;
    return false;
}

/* prefix + detail, cut to fit (curl's messages can outgrow the reason buffer). */
static void set_reason(char *buf, size_t len, const char *prefix, const char *detail)
{
    size_t p = strlen(prefix), d = strlen(detail);
    if (p >= len)
        p = len - 1;
    memcpy(buf, prefix, p);
    if (d > len - 1 - p)
        d = len - 1 - p;
    memcpy(buf + p, detail, d);
    buf[p + d] = '\0';
}

/* Judge a finished transfer. Returns true for success; else reason is filled. */
static bool judge(struct hc_tgt *t, CURLcode rc, bool *timeout, char *reason, size_t len)
{
    const char *detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    *timeout = false;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        *timeout = true;
        snprintf(reason, len, "timeout");
        return false;
    }
    if (rc == CURLE_COULDNT_CONNECT) {
        long os_errno = 0;
        curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED)
            snprintf(reason, len, "connection refused");
        else
            set_reason(reason, len, "connect: ", os_errno ? strerror((int)os_errno) : detail);
        return false;
    }
    if (is_tls_error(rc)) {
        set_reason(reason, len, "TLS: ", detail);
        return false;
    }
    if (rc == CURLE_COULDNT_RESOLVE_HOST) {
        set_reason(reason, len, "resolve/connect: ", detail);
        return false;
    }
    if (rc != CURLE_OK) {
        set_reason(reason, len, "http: ", detail);
        return false;
    }
    long code = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
    if (!status_expected(&t->check, code)) {
        snprintf(reason, len, "HTTP %ld", code);
        return false;
    }
    if (t->check.expect_body &&
        memmem(t->body, t->body_len, t->check.expect_body, strlen(t->check.expect_body)) == NULL) {
        snprintf(reason, len, "body: expected text missing");
        return false;
    }
    return true;
}

static void check_done(struct hc_multi *m)
{
    struct hc *h = m->h;
    CURLMsg *msg;
    int left = 0;
    while (!h->stopping && (msg = curl_multi_info_read(m->cu.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode rc = msg->data.result; /* msg dies with remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        struct hc_tgt *t = (struct hc_tgt *)priv;
        char reason[HC_REASON_MAX];
        bool timeout = false;
        bool ok = judge(t, rc, &timeout, reason, sizeof(reason));
        curl_multi_remove_handle(m->cu.multi, e);
        t->in_multi = false;
        t->busy = false;
        hc_probe_finish(t, ok, timeout, ok ? NULL : reason);
    }
}

void hc_http_probe(struct hc_tgt *t)
{
    t->body_len = 0;
    t->errbuf[0] = '\0';
    CURLMcode rc = curl_multi_add_handle(t->m->cu.multi, t->easy);
    if (rc != CURLM_OK) {
        char reason[HC_REASON_MAX];
        snprintf(reason, sizeof(reason), "curl: %s", curl_multi_strerror(rc));
        hc_logf(t->h, HC_LOG_ERR, "probe %s: %s", t->desc, reason);
        t->busy = false;
        hc_probe_finish(t, false, false, reason);
        return;
    }
    t->in_multi = true;
}

void hc_http_abort(struct hc_tgt *t)
{
    if (!t->in_multi)
        return;
    curl_multi_remove_handle(t->m->cu.multi, t->easy); /* closes its socket and poll */
    t->in_multi = false;
    t->busy = false;
    hc_probe_finish(t, false, true, "timeout");
}
