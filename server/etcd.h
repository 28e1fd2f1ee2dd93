/* etcd.h: a small client of etcd's v3 HTTP/JSON gateway (/v3/kv/put, /v3/kv/range,
 * /v3/watch, /v3/lease/grant, /v3/lease/keepalive, /v3/auth/authenticate): unary calls and
 * one watch stream on libcurl multi, driven by a libuv loop (uv_poll on curl's sockets, a
 * uv_timer for its timeouts); a blocking call for threads that may block (the API); and
 * the JSON encoding of the messages (keys and values are base64 in the gateway's JSON).
 * Everything but etcd_sync_call runs on the loop's thread. */
#ifndef GSLBD_ETCD_H
#define GSLBD_ETCD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/conf/conf.h"

#define ETCD_CALL_TIMEOUT_MS 2000
#define ETCD_CONNECT_TIMEOUT_MS 1000

struct etcd;

/* A reply: rc 0 and the decoded JSON object (borrowed for the call), or rc < 0 and err
 * says why (HTTP status, curl error, gRPC error text). For a watch, called once per
 * message with rc 0, then once with rc < 0 when the stream ends. */
typedef void (*etcd_cb)(void *arg, int rc, json_t *reply, const char *err);

/* Copies nothing: cfg must outlive the client. */
int etcd_create(uv_loop_t *loop, const struct conf_shared *cfg, struct etcd **out);

/* POST body (stolen) to path ("/v3/kv/put") on the current endpoint. 0 or -errno. */
int etcd_call(struct etcd *e, const char *path, json_t *body, etcd_cb cb, void *arg);

/* Open the watch stream with a create_request (stolen, the "create_request" object). */
int etcd_watch(struct etcd *e, json_t *create_request, etcd_cb cb, void *arg);

/* Abort every call and the watch; no callback runs for them. */
void etcd_abort_all(struct etcd *e);

/* Move on to the next listed endpoint (after a failure); the auth token is dropped. */
void etcd_next_endpoint(struct etcd *e);
const char *etcd_endpoint(const struct etcd *e);
size_t etcd_endpoint_index(const struct etcd *e);

/* The token from /v3/auth/authenticate, sent as Authorization from now on (NULL clears). */
void etcd_set_token(struct etcd *e, const char *token);

/* Abort everything and close the handles; the loop must run to finish closing. */
void etcd_close(struct etcd *e);

/* Blocking: POST body (stolen) to each endpoint in turn from `first`, authenticating when
 * a user is configured, until one answers. 0 and *reply (owned), or < 0 and err. */
int etcd_sync_call(const struct conf_shared *cfg, size_t first, const char *path, json_t *body,
                   json_t **reply, char *err, size_t errlen);

/* ---- message encoding (pure; unit-tested) ---- */

/* Base64 of n bytes, NUL-terminated, malloc'ed; NULL when out of memory. */
char *etcd_b64(const void *data, size_t n);
/* Decode base64 text; *out malloc'ed and NUL-terminated, *n its length. 0 or -EINVAL. */
int etcd_unb64(const char *text, char **out, size_t *n);

/* {"key": b64(key), "value": b64(value), "lease": "ID"} (lease 0 left out). */
json_t *etcd_put_body(const char *key, const char *value, int64_t lease);
/* {"key": b64(prefix), "range_end": b64(prefix + 1)}: every key under prefix. */
json_t *etcd_range_body(const char *prefix);
/* The create_request of a watch on every key under prefix from revision rev (0 = now). */
json_t *etcd_watch_body(const char *prefix, int64_t rev);

/* An int64 of the gateway's JSON (int64 values come as strings, sometimes as numbers);
 * def when absent or unreadable. */
int64_t etcd_json_int(const json_t *v, int64_t def);

/* One kv of a range or a watch event: its key and value decoded (owned), mod_revision. */
struct etcd_kv {
    char *key;
    char *value; /* "" for a delete event */
    size_t value_len;
    int64_t mod_revision;
};
int etcd_kv_decode(const json_t *kv, struct etcd_kv *out);
void etcd_kv_clear(struct etcd_kv *kv);

/* A gateway reply that carries an error ({"error": ...} or {"code": N, "message": ...}):
 * its text, else NULL. */
const char *etcd_reply_error(const json_t *reply);

#endif
