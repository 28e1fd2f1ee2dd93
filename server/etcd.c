/* etcd.c: etcd v3 gateway client: curl multi on the libuv loop, the watch stream, a blocking
 * call for the API thread, and base64/JSON encoding of the messages. */
#include "server/etcd.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "health/curl_uv.h"
#include "server/text.h"

#define ETCD_REPLY_MAX (16u << 20) /* a range of every key stays far below */

struct etcd_req {
    struct etcd *e;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    struct text_buf resp; /* the reply so far (a watch: its unfinished line) */
    bool stream, failed;
    etcd_cb cb;
    void *arg;
    char errbuf[CURL_ERROR_SIZE];
    struct etcd_req *prev, *next;
};

struct etcd {
    uv_loop_t *loop;
    const struct conf_shared *cfg;
    struct curl_uv cu; /* the multi on the loop; cu.arg is this */
    struct curl_uv_poll *polls;
    struct etcd_req *reqs;
    size_t endpoint;
    char *token;
    bool closing;
};

/* ---- base64 and message encoding ---------------------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *etcd_b64(const void *data, size_t n)
{
    const unsigned char *d = data;
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)d[i + 1] << 8;
        if (i + 2 < n)
            v |= d[i + 2];
        out[o++] = b64chars[(v >> 18) & 63];
        out[o++] = b64chars[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64val(char ch)
{
    const char *p = ch != '\0' ? strchr(b64chars, ch) : NULL;
    return p != NULL ? (int)(p - b64chars) : -1;
}

int etcd_unb64(const char *text, char **out, size_t *n)
{
    size_t len = strlen(text);
    *out = NULL;
    if (len % 4 != 0)
        return -EINVAL;
    char *buf = malloc(len / 4 * 3 + 1);
    if (buf == NULL)
        return -ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int a = b64val(text[i]), b = b64val(text[i + 1]);
        bool pad2 = text[i + 2] == '=', pad3 = text[i + 3] == '=';
        int c = pad2 ? 0 : b64val(text[i + 2]), d = pad3 ? 0 : b64val(text[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0 || (pad2 && !pad3) ||
            ((pad2 || pad3) && i + 4 != len)) {
            free(buf);
            return -EINVAL;
        }
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        buf[o++] = (char)(v >> 16);
        if (!pad2)
            buf[o++] = (char)(v >> 8 & 0xff);
        if (!pad3)
            buf[o++] = (char)(v & 0xff);
    }
    buf[o] = '\0';
    *out = buf;
    *n = o;
    return 0;
}

static json_t *b64_json(const void *data, size_t n)
{
    char *s = etcd_b64(data, n);
    json_t *j = s != NULL ? json_string(s) : NULL;
    free(s);
    return j;
}

json_t *etcd_put_body(const char *key, const char *value, int64_t lease)
{
    json_t *j = json_object();
    json_object_set_new(j, "key", b64_json(key, strlen(key)));
    json_object_set_new(j, "value", b64_json(value, strlen(value)));
    if (lease != 0) {
        char id[32];
        snprintf(id, sizeof(id), "%lld", (long long)lease);
        json_object_set_new(j, "lease", json_string(id));
    }
    return j;
}

/* The range end that covers every key starting with prefix: prefix with its last byte + 1. */
static json_t *range_end(const char *prefix)
{
    size_t n = strlen(prefix);
    char *end = malloc(n + 1);
    if (end == NULL)
        return NULL;
    memcpy(end, prefix, n + 1);
    while (n > 0 && (unsigned char)end[n - 1] == 0xff)
        n--;
    json_t *j;
    if (n == 0) {
        j = b64_json("\0", 1); /* every key */
    } else {
        end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
        j = b64_json(end, n);
    }
    free(end);
    return j;
}

json_t *etcd_range_body(const char *prefix)
{
    json_t *j = json_object();
    json_object_set_new(j, "key", b64_json(prefix, strlen(prefix)));
    json_object_set_new(j, "range_end", range_end(prefix));
    return j;
}

json_t *etcd_watch_body(const char *prefix, int64_t rev)
{
    json_t *j = etcd_range_body(prefix);
    if (rev > 0) {
        char r[32];
        snprintf(r, sizeof(r), "%lld", (long long)rev);
        json_object_set_new(j, "start_revision", json_string(r));
    }
    return j;
}

int64_t etcd_json_int(const json_t *v, int64_t def)
{
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v)) {
        char *end = NULL;
        errno = 0;
        long long x = strtoll(json_string_value(v), &end, 10);
        if (errno == 0 && end != json_string_value(v) && *end == '\0')
            return (int64_t)x;
    }
    return def;
}

int etcd_kv_decode(const json_t *kv, struct etcd_kv *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *k = json_object_get(kv, "key"), *v = json_object_get(kv, "value");
    size_t n = 0;
    if (!json_is_string(k) || etcd_unb64(json_string_value(k), &out->key, &n) < 0)
        return -EINVAL;
    int rc =
        etcd_unb64(json_is_string(v) ? json_string_value(v) : "", &out->value, &out->value_len);
    if (rc < 0) {
        etcd_kv_clear(out);
        return rc;
    }
    out->mod_revision = etcd_json_int(json_object_get(kv, "mod_revision"), 0);
    return 0;
}

void etcd_kv_clear(struct etcd_kv *kv)
{
    free(kv->key);
    free(kv->value);
    kv->key = kv->value = NULL;
}

const char *etcd_reply_error(const json_t *reply)
{
    const json_t *err = json_object_get(reply, "error");
    if (json_is_string(err))
        return json_string_value(err);
    if (json_is_object(err)) {
        const json_t *m = json_object_get(err, "message");
        return json_is_string(m) ? json_string_value(m) : "error";
    }
    const json_t *code = json_object_get(reply, "code"), *msg = json_object_get(reply, "message");
    if (json_is_integer(code) && json_integer_value(code) != 0)
        return json_is_string(msg) ? json_string_value(msg) : "error";
    return NULL;
}

/* ---- easy handles ------------------------------------------------------------------- */

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp);

/* Options shared by loop calls and blocking calls: TLS, timeouts, headers. */
static int setup_easy(CURL *c, const struct conf_shared *cfg, const char *url, const char *body,
                      const char *token, struct curl_slist **hdrs, bool stream, char *errbuf)
{
    *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (token != NULL) {
        char h[600];
        snprintf(h, sizeof(h), "Authorization: %s", token);
        *hdrs = curl_slist_append(*hdrs, h);
    }
    if (*hdrs == NULL)
        return -ENOMEM;
    bool ok =
        curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ETCD_CONNECT_TIMEOUT_MS) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, stream ? 0L : (long)ETCD_CALL_TIMEOUT_MS) ==
            CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    if (ok && stream) /* a watch idles for long: notice a dead peer through TCP keepalive */
        ok = curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L) == CURLE_OK;
    if (ok && cfg->ca_file != NULL)
        ok = curl_easy_setopt(c, CURLOPT_CAINFO, cfg->ca_file) == CURLE_OK;
    if (ok && cfg->cert_file != NULL)
        ok = curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->cert_file) == CURLE_OK &&
             curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->key_file) == CURLE_OK;
    return ok ? 0 : -EINVAL;
}

static void req_free(struct etcd_req *r)
{
    if (r->easy != NULL)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    free(r->body);
    free(r->resp.p);
    free(r);
}

static void req_unlink(struct etcd *e, struct etcd_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        e->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

/* A watch delivers one JSON object per line: hand every complete line on. */
static void stream_lines(struct etcd_req *r)
{
    size_t start = 0;
    for (size_t i = 0; i < r->resp.len && !r->failed; i++) {
        if (r->resp.p[i] != '\n')
            continue;
        json_error_t je;
        json_t *j = json_loadb(r->resp.p + start, i - start, 0, &je);
        if (j != NULL) {
            const char *err = etcd_reply_error(j);
            if (err != NULL) {
                r->failed = true; /* the stream ends; report it when curl is done */
                snprintf(r->errbuf, sizeof(r->errbuf), "watch: %s", err);
            } else {
                r->cb(r->arg, 0, j, NULL);
            }
            json_decref(j);
        }
        start = i + 1;
    }
    memmove(r->resp.p, r->resp.p + start, r->resp.len - start);
    r->resp.len -= start;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp)
{
    struct etcd_req *r = userp;
    size_t len = size * nmemb;
    if (r->failed || text_buf_append(&r->resp, data, len, ETCD_REPLY_MAX) < 0)
        return 0; /* aborts the transfer */
    if (r->stream)
        stream_lines(r);
    return r->failed ? 0 : len;
}

static void check_done(struct etcd *e);

/* curl acted on a transfer (curl_uv.c): collect the finished ones. */
static void progress(void *arg)
{
    check_done(arg);
}

/* Finished transfers: decode the reply and call back (the callback may start new calls). */
static void check_done(struct etcd *e)
{
    CURLMsg *msg;
    int left = 0;
    while (!e->closing && (msg = curl_multi_info_read(e->cu.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURLcode cc = msg->data.result;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        struct etcd_req *r = (struct etcd_req *)priv;
        long status = 0;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(e->cu.multi, r->easy);
        req_unlink(e, r);
        char err[CURL_ERROR_SIZE + 64];
        json_t *j = NULL;
        int rc = -EIO;
        if (r->failed) {
            snprintf(err, sizeof(err), "%s", r->errbuf);
        } else if (cc != CURLE_OK) {
            snprintf(err, sizeof(err), "%s: %s", etcd_endpoint(e),
                     r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
        } else if (r->stream) {
            snprintf(err, sizeof(err), "%s: the watch stream ended", etcd_endpoint(e));
        } else {
            json_error_t je;
            j = r->resp.p != NULL ? json_loadb(r->resp.p, r->resp.len, 0, &je) : NULL;
            const char *ge = j != NULL ? etcd_reply_error(j) : "no JSON in the reply";
            if (ge == NULL && status == 200)
                rc = 0;
            snprintf(err, sizeof(err), "%s: HTTP %ld: %s", etcd_endpoint(e), status,
                     ge != NULL ? ge : "unexpected status");
        }
        r->cb(r->arg, rc, rc == 0 ? j : NULL, rc == 0 ? NULL : err);
        json_decref(j);
        req_free(r);
    }
}

/* ---- the client --------------------------------------------------------------------- */

int etcd_create(uv_loop_t *loop, const struct conf_shared *cfg, struct etcd **out)
{
    struct etcd *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    e->loop = loop;
    e->cfg = cfg;
    e->cu.loop = loop;
    e->cu.stopping = &e->closing;
    e->cu.polls = &e->polls;
    e->cu.progress = progress;
    e->cu.arg = e;
    e->cu.multi = curl_multi_init();
    if (e->cu.multi == NULL || curl_uv_timer_init(&e->cu) < 0) {
        if (e->cu.multi != NULL)
            curl_multi_cleanup(e->cu.multi);
        free(e);
        return -ENOMEM;
    }
    (void)curl_uv_attach(&e->cu);
    *out = e;
    return 0;
}

static int start(struct etcd *e, const char *path, json_t *body, bool stream, etcd_cb cb, void *arg)
{
    struct etcd_req *r = calloc(1, sizeof(*r));
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (r == NULL || text == NULL) {
        free(r);
        free(text);
        return -ENOMEM;
    }
    r->e = e;
    r->body = text;
    r->stream = stream;
    r->cb = cb;
    r->arg = arg;
    r->easy = curl_easy_init();
    char url[512];
    snprintf(url, sizeof(url), "%s%s", etcd_endpoint(e), path);
    int rc = r->easy != NULL
                 ? setup_easy(r->easy, e->cfg, url, r->body, e->token, &r->hdrs, stream, r->errbuf)
                 : -ENOMEM;
    if (rc == 0 && (curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
                    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) != CURLE_OK ||
                    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r) != CURLE_OK))
        rc = -EINVAL;
    if (rc == 0 && curl_multi_add_handle(e->cu.multi, r->easy) != CURLM_OK)
        rc = -EIO;
    if (rc < 0) {
        req_free(r);
        return rc;
    }
    r->next = e->reqs;
    if (e->reqs)
        e->reqs->prev = r;
    e->reqs = r;
    return 0;
}

int etcd_call(struct etcd *e, const char *path, json_t *body, etcd_cb cb, void *arg)
{
    return start(e, path, body, false, cb, arg);
}

int etcd_watch(struct etcd *e, json_t *create_request, etcd_cb cb, void *arg)
{
    json_t *body = json_object();
    json_object_set_new(body, "create_request", create_request);
    return start(e, "/v3/watch", body, true, cb, arg);
}

void etcd_abort_all(struct etcd *e)
{
    while (e->reqs != NULL) {
        struct etcd_req *r = e->reqs;
        req_unlink(e, r);
        curl_multi_remove_handle(e->cu.multi, r->easy); /* its sockets go through on_socket */
        req_free(r);
    }
}

void etcd_next_endpoint(struct etcd *e)
{
    e->endpoint = (e->endpoint + 1) % e->cfg->nendpoints;
    etcd_set_token(e, NULL);
}

const char *etcd_endpoint(const struct etcd *e)
{
    return e->cfg->endpoints[e->endpoint];
}

size_t etcd_endpoint_index(const struct etcd *e)
{
    return e->endpoint;
}

void etcd_set_token(struct etcd *e, const char *token)
{
    free(e->token);
    e->token = token != NULL ? strdup(token) : NULL;
}

static void timer_closed(uv_handle_t *h)
{
    free(((struct curl_uv *)h->data)->arg); /* the etcd */
}

void etcd_close(struct etcd *e)
{
    if (e == NULL)
        return;
    etcd_abort_all(e);
    e->closing = true;
    curl_uv_close_polls(&e->polls);
    curl_multi_cleanup(e->cu.multi);
    e->cu.multi = NULL;
    etcd_set_token(e, NULL);
    uv_close((uv_handle_t *)&e->cu.timer, timer_closed); /* frees e */
}

/* ---- blocking calls ----------------------------------------------------------------- */

static size_t sync_data(char *data, size_t size, size_t nmemb, void *userp)
{
    size_t len = size * nmemb;
    return text_buf_append(userp, data, len, ETCD_REPLY_MAX) == 0 ? len : 0;
}

static int sync_one(const struct conf_shared *cfg, const char *endpoint, const char *path,
                    const char *body, const char *token, json_t **reply, char *err, size_t errlen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct text_buf b = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    char url[512];
    snprintf(url, sizeof(url), "%s%s", endpoint, path);
    int rc = c != NULL ? setup_easy(c, cfg, url, body, token, &hdrs, false, errbuf) : -ENOMEM;
    if (rc == 0) {
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sync_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        json_error_t je;
        json_t *j = cc == CURLE_OK && b.p != NULL ? json_loadb(b.p, b.len, 0, &je) : NULL;
        const char *ge = j != NULL ? etcd_reply_error(j) : NULL;
        if (cc != CURLE_OK) {
            snprintf(err, errlen, "%s: %s", endpoint, errbuf[0] ? errbuf : curl_easy_strerror(cc));
            rc = -EIO;
        } else if (j == NULL || ge != NULL || status != 200) {
            snprintf(err, errlen, "%s: HTTP %ld: %s", endpoint, status,
                     ge != NULL ? ge : "unexpected reply");
            rc = -EIO;
        } else {
            *reply = j;
            j = NULL;
        }
        json_decref(j);
    }
    free(b.p);
    curl_slist_free_all(hdrs);
    if (c != NULL)
        curl_easy_cleanup(c);
    return rc;
}

int etcd_sync_call(const struct conf_shared *cfg, size_t first, const char *path, json_t *body,
                   json_t **reply, char *err, size_t errlen)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    *reply = NULL;
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = -EIO;
    for (size_t i = 0; i < cfg->nendpoints && rc < 0; i++) {
        const char *ep = cfg->endpoints[(first + i) % cfg->nendpoints];
        char *token = NULL;
        if (cfg->user != NULL) {
            json_t *auth = json_pack("{s:s, s:s}", "name", cfg->user, "password", cfg->password);
            char *atext = json_dumps(auth, JSON_COMPACT);
            json_decref(auth);
            json_t *ar = NULL;
            rc = atext != NULL
                     ? sync_one(cfg, ep, "/v3/auth/authenticate", atext, NULL, &ar, err, errlen)
                     : -ENOMEM;
            free(atext);
            const json_t *t = json_object_get(ar, "token");
            if (rc == 0 && json_is_string(t))
                token = strdup(json_string_value(t));
            json_decref(ar);
            if (rc < 0)
                continue;
        }
        rc = sync_one(cfg, ep, path, text, token, reply, err, errlen);
        free(token);
    }
    free(text);
    return rc;
}
