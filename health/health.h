/* health.h: health probes (HTTP, HTTPS, TCP connect) for a set of (address, check) targets,
 * run on a libuv loop the caller owns, each target judged up or down by a fall/rise state
 * machine that reports transitions by callback. The caller owns the loop and everything it
 * passes in (hc_create copies what it keeps); a set owns its handles, curl handles and
 * buffers until hc_stop() has closed them, after which it frees itself. */
#ifndef GSLBD_HEALTH_H
#define GSLBD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define HC_MAX_STATUS 16  /* expected status codes per check */
#define HC_REASON_MAX 160 /* failure reason text, with its NUL */

/* Error codes beyond -errno (see hc_strerror). */
#define HC_E_CURL (-4000) /* libcurl refused to initialise or to take an option */

enum hc_type { HC_HTTP = 0, HC_HTTPS, HC_TCP };

/* A probe template, filled by the server from its config. Zero means "default" for every
 * numeric field, so a zeroed struct plus type and port is a valid check. Strings are
 * borrowed during hc_create only. */
struct hc_check {
    enum hc_type type;
    uint16_t port;                         /* required (1..65535) */
    const char *path;                      /* http(s): NULL = "/" */
    const char *host;                      /* Host header, TLS SNI and name verified;
                                              NULL = the address */
    uint16_t expect_status[HC_MAX_STATUS]; /* http(s) */
    uint8_t nexpect_status;                /* 0 = {200} */
    const char *expect_body;               /* substring of the first 64 KiB; NULL = any */
    uint32_t interval_ms;                  /* 0 = 1000; start to start */
    uint32_t timeout_ms;                   /* 0 = 800; a probe is aborted past it */
    uint8_t fall;                          /* 0 = 3 consecutive failures to go down */
    uint8_t rise;                          /* 0 = 3 consecutive successes to come up */
    bool tls_insecure;                     /* https: true skips chain and name checks
                                              (config "tls_verify": false) */
    const char *ca_file;                   /* https: PEM bundle; NULL = system CAs */
    const char *source;                    /* numeric source address of the probes;
                                              NULL = the kernel's choice */
};

/* An address to probe. Probes connect to it directly, whatever check.host says. */
struct hc_addr {
    int family;        /* AF_INET or AF_INET6 */
    uint8_t bytes[16]; /* 4 or 16 used, network order */
};

struct hc_target {
    struct hc_addr addr;
    const struct hc_check *check; /* borrowed during hc_create only */
};

enum hc_log_level { HC_LOG_ERR = 0, HC_LOG_WARN, HC_LOG_INFO, HC_LOG_DEBUG };

/* Time source; tests inject a fake one. mono_ms: any monotonic origin; wall_ms: Unix ms. */
struct hc_clock {
    uint64_t (*mono_ms)(void *ctx);
    int64_t (*wall_ms)(void *ctx);
    void *ctx;
};

/* All callbacks run on the loop thread and may be NULL. They must not call hc_stop() or
 * hc_free() on the set that calls them; hc_target_status() is fine. */
struct hc_callbacks {
    void *ctx; /* passed back to every callback */
    /* A target changed state. reason: for down, the failure that decided it ("HTTP 503",
     * "timeout", "TLS: ..."); for up, "ok". Borrowed for the call. */
    void (*on_change)(void *ctx, size_t target, bool up, const char *reason);
    /* Every probe's outcome (the observation, before fall/rise decide anything); reason is
     * NULL on success. For metrics, or for agreeing on health with other instances. */
    void (*on_result)(void *ctx, size_t target, bool ok, const char *reason, uint32_t latency_ms);
    /* Every target has had a result (HC-5). Called once per set, from the loop (never
     * from inside hc_create); a set of 0 targets, or one whose targets all carried a
     * result over from prev, calls it on the next loop iteration. */
    void (*on_first_round)(void *ctx);
    /* Debug lines (each probe's outcome), flapping notices, internal errors. */
    void (*log)(void *ctx, enum hc_log_level level, const char *msg);
    const struct hc_clock *clock; /* NULL = the real clocks; borrowed for the set's life */
};

/* A target's state for dashboards and the API. */
struct hc_status {
    bool up;                         /* the published state; true while pending (HC-5) */
    bool pending;                    /* no result yet ("unknown/pending") */
    bool last_ok;                    /* the last result (meaningless while pending) */
    bool flapping;                   /* 4 or more transitions in the last 5 minutes */
    uint32_t streak;                 /* consecutive results equal to last_ok */
    uint32_t last_latency_ms;        /* of the last result, failures included */
    char last_reason[HC_REASON_MAX]; /* the last failure reason; "" if none ever */
    uint64_t probes;                 /* results recorded */
    uint64_t failures;               /* failed results, timeouts included */
    uint64_t timeouts;
    uint64_t transitions;
    uint64_t skipped;             /* ticks skipped because a probe was still in flight */
    int64_t last_change_wall_ms;  /* Unix ms of the last transition; 0 = never */
    uint64_t last_change_mono_ms; /* clock mono_ms of the last transition; 0 = never */
    uint64_t last_result_mono_ms; /* 0 = no result yet */
};

struct hc;

/* Process-wide libcurl setup: call once from main() before any thread starts, and
 * hc_global_cleanup() once at exit after every set is freed. Returns 0 or HC_E_CURL. */
int hc_global_init(void);
void hc_global_cleanup(void);

/* Start probing targets[0..n) on loop (the set's target i is targets[i]).
 * prev (may be NULL): a running set on the same loop, not yet stopped. Targets equal to one
 * of prev's in address and every check field keep its state, counters and schedule (no
 * reset, no re-probe storm); the others start pending, their first probe jittered within
 * [0, interval). hc_create only reads prev: the caller stops it afterwards (hc_stop).
 * A target's first result decides its state at once (a failure takes it down, so the
 * first round means something); after that fall and rise apply.
 * Call on the loop thread. cb is copied. Caller owns *out (free with hc_stop or hc_free);
 * on failure *out is untouched and nothing was started. Returns 0, -EINVAL (bad target or
 * check), -ENOMEM or HC_E_CURL. */
int hc_create(uv_loop_t *loop, const struct hc_target *targets, size_t n, const struct hc *prev,
              const struct hc_callbacks *cb, struct hc **out);

size_t hc_count(const struct hc *h);

/* Copy target i's state into *out. Safe from any thread while h is alive (not yet freed by
 * hc_stop). Returns 0 or -ERANGE. */
int hc_target_status(const struct hc *h, size_t i, struct hc_status *out);

/* Stop probing: no callback of h runs after this returns; in-flight probes are aborted,
 * their curl transfers removed, and every handle closed. Once the last handle is closed
 * h is freed and done(arg) is called (done may be NULL), so the loop must keep running
 * (uv_run) until then. Call on the loop thread, once. NULL h is a no-op (done not called). */
void hc_stop(struct hc *h, void (*done)(void *arg), void *arg);

/* hc_stop(h, NULL, NULL): NULL is a no-op. */
void hc_free(struct hc *h);

/* Text for a code returned by this module. */
const char *hc_strerror(int code);

#endif
