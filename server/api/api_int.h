/* api_int.h: internals shared by the api_ files: the api object, the request plumbing
 * (replies, text buffers, authentication) and each endpoint's handler. Not for use outside
 * the api_ files. */
#ifndef GSLBD_API_INT_H
#define GSLBD_API_INT_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/api/api.h"

#define API_BODY_MAX 4096     /* request bodies past this get 413 */
#define API_CONN_TIMEOUT_S 10 /* idle: MHD closes a connection silent this long */
#define API_MHD_LOG_PER_S 5   /* libmicrohttpd log lines a second, at most */
#define API_CONN_MEMORY 16384 /* per connection: request line and headers must fit (431) */
#define API_TRANSITIONS 50    /* recent transitions in the status */

/* ---- the 1-minute answer share (api_share.c) ---- */

#define API_SHARE_PERIOD_MS 5000
#define API_SHARE_WINDOW_MS 60000
#define API_SHARE_SLOTS 16 /* > window / period + 1 */

/* One cluster name's answers, accumulated across reloads (a new view counts from 0). */
struct api_share_ent {
    char name[64];
    uint64_t accum;                 /* answers since the API started */
    uint64_t last_raw;              /* gslb_answers_total at the last update */
    unsigned long last_gen;         /* the view generation last_raw came from */
    uint64_t hist[API_SHARE_SLOTS]; /* accum at each sample */
};

struct api_share {
    pthread_mutex_t lock; /* guards everything below; taken after ctl->reload_lock */
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stop;
    struct api_share_ent *ents; /* every cluster name seen since the API started */
    size_t n, cap;
    size_t *map; /* current view's cluster index -> ents index */
    size_t nmap;
    unsigned long map_gen; /* the view generation map was built for */
    bool map_valid;
    uint64_t t_ms[API_SHARE_SLOTS]; /* monotonic ms of each sample */
    size_t nsamples;                /* samples taken; the newest is (nsamples - 1) % SLOTS */
};

/* ---- connection limits: request deadline and reserve (api_guard.c) ---- */

struct api_conn;

struct api_guard {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    pthread_t thread;
    bool running, stop;
    struct api_conn *head; /* every open connection MHD reported */
    unsigned n;
    unsigned max;        /* api.max_connections (MHD refuses past it) */
    unsigned per_source; /* api.max_per_source (MHD refuses past it; kept for reloads) */
    unsigned keep;       /* open past this, a new connection closes the longest waiting */
    uint64_t timeout_ms; /* api.request_timeout_ms */
    uint64_t timed_out;  /* closed since start: request not in within timeout_ms */
    uint64_t pushed_out; /* closed since start: to keep the reserve */
    uint64_t logged_ms;  /* last log line about closes */
    unsigned late_unlogged, pushed_unlogged;
    char late_who[64], pushed_who[64];
    uint64_t mhd_log_s;    /* api_guard_log_ok: the second being counted */
    unsigned mhd_log_n;    /* lines let through in it */
    unsigned mhd_log_held; /* lines held back since the last one let through */
};

/* Start the guard's thread with ca's limits. 0 or -errno. */
int api_guard_start(struct api_guard *g, const struct conf_api *ca);
/* Stop it (after MHD_stop_daemon: every connection has been reported closed). */
void api_guard_stop(struct api_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the struct api. */
void api_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                      enum MHD_ConnectionNotificationCode toe);
/* Whether one more libmicrohttpd log line may go out now (any thread): at most
 * API_MHD_LOG_PER_S a second. *held_back gets the lines refused since the last one let
 * through, to report with it. */
bool api_guard_log_ok(struct api_guard *g, unsigned *held_back);
/* The whole request (headers and body) on c has arrived: its deadline stops. */
void api_guard_request_in(struct MHD_Connection *c);
/* c's response is done: the deadline of the next request on it starts now. */
void api_guard_request_done(struct MHD_Connection *c);

struct api {
    struct control *ctl;
    struct server *srv;
    struct api_info info;
    struct MHD_Daemon *mhd;
    char listen[80];
    bool loopback;            /* listening on a loopback address: Host is checked */
    unsigned long warned_gen; /* the view generation whose api section was last compared */
    struct api_share share;
    struct api_guard guard;
};

/* Per-request state (MHD's con_cls): the body read so far. */
struct api_req {
    size_t len;
    bool too_big;
    bool replied; /* a response was queued before the body was read */
    char body[API_BODY_MAX + 1];
};

/* ---- plumbing (api.c) ---- */

/* A growing text buffer; on allocation failure it stops growing and sets oom. */
struct api_buf {
    char *p;
    size_t len, cap;
    bool oom;
};

void api_buf_printf(struct api_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Queue a JSON reply (takes j; NULL j is a 500). */
enum MHD_Result api_reply_json(struct MHD_Connection *c, unsigned status, json_t *j);
/* {"error": "..."} with status. */
enum MHD_Result api_reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queue a reply of len bytes; data is copied unless persistent (then borrowed for good). */
enum MHD_Result api_reply_bytes(struct MHD_Connection *c, unsigned status, const char *ctype,
                                const void *data, size_t len, bool persistent);

/* Queue a reply of len bytes that takes data (malloc'd) in every case. */
enum MHD_Result api_reply_take(struct MHD_Connection *c, unsigned status, const char *ctype,
                               char *data, size_t len);

/* The client's address as text, for logs. */
void api_client_text(struct MHD_Connection *c, char *buf, size_t n);

/* Check "Authorization: Bearer TOKEN" against the current view's api.token. true when the
 * request may go on; otherwise the 401/403 reply is queued and *rc holds its result. */
bool api_authorized(struct api *a, struct MHD_Connection *c, const char *what, enum MHD_Result *rc);

/* ISO 8601 UTC with milliseconds for Unix ms ("2024-05-01T12:00:00.123Z"). */
void api_iso_time(int64_t wall_ms, char *buf, size_t n);
/* CLOCK_MONOTONIC in milliseconds. */
uint64_t api_mono_ms(void);

/* Start fn(arg) on its own thread, with *lock and *wake (a condition on the monotonic clock,
 * for timed waits) made first. 0, or -errno with nothing left made. */
int api_thread_start(pthread_t *t, pthread_mutex_t *lock, pthread_cond_t *wake, void *(*fn)(void *),
                     void *arg);

/* ---- endpoints ---- */

/* api_status.c: GET /api/v1/status */
enum MHD_Result api_status(struct api *a, struct MHD_Connection *c);
/* api_metrics.c: GET /metrics */
enum MHD_Result api_metrics(struct api *a, struct MHD_Connection *c);
/* api_history.c: GET /api/v1/history */
enum MHD_Result api_history(struct api *a, struct MHD_Connection *c);
/* api_explain.c: GET /api/v1/explain */
enum MHD_Result api_explain(struct api *a, struct MHD_Connection *c);
/* api_admin.c: POST /api/v1/clusters/NAME/state and POST /api/v1/reload */
enum MHD_Result api_cluster_state(struct api *a, struct MHD_Connection *c, const char *name,
                                  const struct api_req *r);
enum MHD_Result api_reload(struct api *a, struct MHD_Connection *c);
/* The admin state a cluster-state request asks for: from query (the ?state= argument, NULL
 * when absent) and/or body[0..len) ({"state": "auto|up|down|drain"}, or empty); both given
 * must agree. 0 with *want set, or -EINVAL with *why set to the reason for the client.
 * Pure: no connection, no allocation that outlives the call (fuzz_api_body.c calls it). */
int api_admin_parse_state(const char *query, const char *body, size_t len, enum gslb_admin *want,
                          const char **why);
/* api_static.c: the dashboard's files; false when url is not one of them. */
bool api_static(struct MHD_Connection *c, const char *url, enum MHD_Result *rc);

/* ---- api_share.c ---- */

int api_share_start(struct api *a);
void api_share_stop(struct api *a);
/* Bring the counts up to date and give each of the current view's n clusters its answers
 * over the last minute (or since the API started, if that is shorter) in out[0..n);
 * *window_ms gets the span covered. Call with ctl->reload_lock held. */
void api_share_1m(struct api *a, uint64_t *out, size_t n, uint64_t *window_ms);
/* Each current cluster's answers since gslbd started, carried across reloads by name (the
 * view's own counters restart at 0). Call with ctl->reload_lock held. */
void api_share_totals(struct api *a, uint64_t *out, size_t n);

/* ---- dashboard.S: the embedded files ---- */

extern const unsigned char dashboard_index_html[];
extern const uint64_t dashboard_index_html_size;
extern const unsigned char dashboard_css[];
extern const uint64_t dashboard_css_size;
extern const unsigned char dashboard_js[];
extern const uint64_t dashboard_js_size;
extern const unsigned char dashboard_history_js[];
extern const uint64_t dashboard_history_js_size;
extern const unsigned char dashboard_favicon_svg[];
extern const uint64_t dashboard_favicon_svg_size;

#endif
