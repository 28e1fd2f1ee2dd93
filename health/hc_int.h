/* hc_int.h: internals shared by health/ files: state machine, target record, probe drivers.
 *
 * Circle: hc.c runs the probes and hands each to hc_http.c or hc_tcp.c, which report back
 * through hc.c (hc_probe_finish, hc_close, hc_logf, hc_handle_closed): one engine and its two
 * protocol drivers, calling each other by design. */
#ifndef GSLBD_HC_INT_H
#define GSLBD_HC_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <uv.h>

#include "health/curl_uv.h"
#include "health/health.h"

#define HC_BODY_MAX (64 * 1024)  /* body bytes kept per probe for expect_body */
#define HC_FLAP_RING 4           /* transitions that make a target "flapping" ... */
#define HC_FLAP_WINDOW_MS 300000 /* ... when they fall within this window */

/* ---- state machine (hc_state.c): pure, no I/O, time from an injected clock ---- */

/* One probe outcome, as the drivers report it. */
struct hc_result {
    bool ok;
    bool timeout; /* a failure because the probe ran out of time */
    uint32_t latency_ms;
    const char *reason; /* failures: "HTTP 503", "timeout", ...; borrowed */
};

struct hc_state {
    uint8_t fall, rise;
    bool up; /* published */
    bool has_result;
    bool last_ok;
    uint32_t streak;
    uint32_t last_latency_ms;
    char reason[HC_REASON_MAX];
    uint64_t probes, failures, timeouts, transitions, skipped;
    int64_t change_wall_ms;
    uint64_t change_mono_ms;
    uint64_t result_mono_ms;
    uint64_t flap_ring[HC_FLAP_RING]; /* mono ms of the last transitions */
    unsigned flap_next;
};

/* fall and rise of 0 mean 3. The state starts up and pending (HC-5). */
void hc_state_init(struct hc_state *s, uint8_t fall, uint8_t rise);

/* Record a result. Returns true when the published state changed. The first result
 * decides the state outright; after it, fall consecutive failures take an up target down
 * and rise consecutive successes bring a down one up. Timeouts are failures. */
bool hc_state_record(struct hc_state *s, const struct hc_result *r, const struct hc_clock *clk);

/* Transitions in the last HC_FLAP_WINDOW_MS reach HC_FLAP_RING. */
bool hc_state_flapping(const struct hc_state *s, uint64_t now_mono_ms);

/* Fill the state parts of a status. */
void hc_state_status(const struct hc_state *s, const struct hc_clock *clk, struct hc_status *out);

const struct hc_clock *hc_clock_real(void);

/* ---- targets and the set (hc.c) ---- */

enum hc_tcp_phase { HC_TCP_NONE = 0, HC_TCP_OPEN, HC_TCP_CLOSING };

struct hc_tgt {
    struct hc *h;
    size_t index;
    /* config, strings owned */
    struct hc_check check;
    struct hc_addr addr;
    char addr_text[48];
    char desc[96];      /* "https 192.0.2.1:443" for log lines */
    struct hc_state st; /* written under h->lock */
    /* schedule */
    uv_timer_t tick;
    uv_timer_t deadline;
    uint64_t next_due;   /* uv_now() ms of the next scheduled start */
    uint64_t started_ns; /* uv_hrtime() at the current probe's start */
    bool busy;           /* a probe in flight, or its TCP handle still closing */
    bool finished;       /* the current probe's result is recorded */
    /* http(s) */
    CURL *easy;
    struct curl_slist *connect_to;
    char *url;
    char *body; /* HC_BODY_MAX bytes, only when expect_body is set */
    size_t body_len;
    struct hc_multi *m; /* the multi this target's transfers run in */
    bool in_multi;
    char errbuf[CURL_ERROR_SIZE];
    /* tcp */
    uv_tcp_t tcp;
    uv_connect_t conn;
    enum hc_tcp_phase tcp_phase;
};

/* A curl multi handle and its timer. curl caches one CA store per multi, so targets that
 * verify against different CA sources get different multis instead of reloading the
 * store (tens of ms of CPU for the system bundle) on every probe. */
struct hc_multi {
    struct hc *h;
    struct curl_uv cu;   /* the multi, on the loop */
    const char *ca_file; /* borrowed from the first target's check; NULL = system */
    bool insecure;
};

struct hc {
    uv_loop_t *loop;
    struct hc_callbacks cb;
    const struct hc_clock *clock;
    struct hc_tgt *t;
    size_t n;
    pthread_mutex_t lock; /* guards every t[i].st against hc_target_status readers */
    uint64_t rng;         /* xorshift state for jitter */
    size_t nresults;      /* targets with a result, for the first round */
    bool first_round_done;
    uv_timer_t kick; /* reports a first round that is complete at creation */
    /* curl multi glue (hc_http.c) */
    struct hc_multi *multis; /* one per CA source; n slots, nmultis used */
    size_t nmultis;
    struct curl_uv_poll *polls; /* every multi's open polls, to close them on stop */
    /* stopping */
    bool stopping;
    size_t nclosing; /* handles embedded in h or its targets still closing */
    void (*done)(void *arg);
    void *done_arg;
};

/* Called by the drivers once per probe, with the driver's own cleanup already done (curl
 * handle removed, TCP handle closing). Records the result and runs the callbacks. */
void hc_probe_finish(struct hc_tgt *t, bool ok, bool timeout, const char *reason);

/* Close a handle embedded in h or a target (its data becomes h); once stopping, h is freed
 * after the last one. Handles with their own close callback count themselves: nclosing++
 * before uv_close, hc_handle_closed(h) at the end of the callback. */
void hc_close(struct hc *h, uv_handle_t *handle);
void hc_handle_closed(struct hc *h);

void hc_logf(const struct hc *h, enum hc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- HTTP(S) driver (hc_http.c) ---- */

/* Room for the set's multi handles (at most one per target). */
int hc_http_open(struct hc *h);
/* A target's easy handle with every option set once, and its multi (made on first use);
 * 0 or -ENOMEM / HC_E_CURL. */
int hc_http_target_init(struct hc_tgt *t);
void hc_http_start_set(struct hc *h); /* the multis' uv_timer_init: after every fallible step */
void hc_http_probe(struct hc_tgt *t);
void hc_http_abort(struct hc_tgt *t); /* the deadline passed: remove the transfer */
/* Stop the glue: close polls and the multis' timers; curl state stays until hc_http_free. */
void hc_http_stop(struct hc *h);
/* Free curl state (targets' easy handles and the multis); no uv handle may remain. */
void hc_http_free(struct hc *h);

/* ---- TCP driver (hc_tcp.c) ---- */

void hc_tcp_probe(struct hc_tgt *t);
void hc_tcp_abort(struct hc_tgt *t); /* the deadline passed, or the set stops */

#endif
