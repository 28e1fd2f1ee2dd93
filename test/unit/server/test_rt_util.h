/* test_rt_util.h: an in-process gslbd for the unit tests of the runtime files (control,
 * probe, worker, udp, tcp, api_*): a config in a fresh folder, the control loop on its own
 * thread the way main() runs it, real sockets on 127.0.0.1, and small DNS and HTTP clients.
 * One TU each. Waits are bounded by rt_ms(), which scales with GSLBD_TEST_SLOWDOWN. */
#ifndef GSLBD_TEST_RT_UTIL_H
#define GSLBD_TEST_RT_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "health/health.h"
#include "server/api/api.h"
#include "server/conf/conf.h"
#include "server/control.h"
#include "server/gslb.h"
#include "server/log.h"
#include "server/view.h"
#include "server/net/worker.h"

/* GSLBD_TEST_SLOWDOWN (float, default 1): every bound a test waits for is multiplied by it. */
static inline double rt_slowdown(void)
{
    const char *s = getenv("GSLBD_TEST_SLOWDOWN");
    double f = s != NULL ? strtod(s, NULL) : 1.0;
    return f >= 1.0 ? f : 1.0;
}

static inline int rt_ms(int ms)
{
    return (int)(ms * rt_slowdown());
}

static inline uint64_t rt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void rt_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A port free on 127.0.0.1 for both TCP and UDP just now, below the kernel's ephemeral
 * range (10000..32767 by default), so no client socket can take it before the bind. */
static inline uint16_t rt_free_port(void)
{
    static unsigned seed;
    if (seed == 0)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    int low = 32768;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &low) != 1)
            low = 32768;
        fclose(f);
    }
    if (low < 12000)
        low = 12000;
    for (int tries = 0; tries < 200; tries++) {
        uint16_t port = (uint16_t)(10000 + rand_r(&seed) % (unsigned)(low - 10000));
        int t = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sa = {
            .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
        bool ok = bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                  bind(u, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        close(t);
        close(u);
        if (ok)
            return port;
    }
    fail_msg("no free port");
    return 0;
}

struct rt {
    char dir[64];
    char conf_path[256];
    bool workers, api; /* what the start callback starts */
    int fail_start;    /* start callback returns this when negative */
    /* the reloads' build; NULL: rt_build (the first view is always rt_build's) */
    control_build_fn build;
    struct server srv;
    struct control ctl;
    struct api *apih;
    unsigned started;
    pthread_t thread;
    int run_rc;
    struct err run_err;
    _Atomic int ready, done, start_calls;
};

static inline void rt_write(struct rt *rt, const char *name, const char *content, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", rt->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(p, mode), 0);
}

static inline void rt_path(const struct rt *rt, const char *name, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", rt->dir, name);
}

/* The zone file t.zone (origin t.): a few names, and "big" whose TXT answer is over 512 bytes. */
static inline void rt_write_zone(struct rt *rt)
{
    rt_write(
        rt, "t.zone",
        "$ORIGIN t.\n$TTL 300\n@ IN SOA ns.t. h.t. 7 2 3 4 5\n@ IN NS ns.t.\n"
        "ns IN A 192.0.2.1\nwww IN A 192.0.2.80\nbig IN TXT \"" /* > 512 bytes over TCP */
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n"
        "big IN TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
        "big IN TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\n"
        "big IN TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"\n"
        "big IN TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"\n"
        "big IN TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"\n"
        "big IN TXT \"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\"\n"
        "big IN TXT \"hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\"\n",
        0644);
}

/* A fresh folder with the zone file t.zone and the token file "token". */
static inline void rt_init(struct rt *rt)
{
    memset(rt, 0, sizeof(*rt));
    snprintf(rt->dir, sizeof(rt->dir), "/tmp/gslbd-test-rt-XXXXXX");
    assert_non_null(mkdtemp(rt->dir));
    rt_path(rt, "gslbd.json", rt->conf_path, sizeof(rt->conf_path));
    rt_write_zone(rt);
    rt_write(rt, "token", "s3cret-token\n", 0600);
}

/* The control's last reload error, copied under its lock (the control thread writes it). */
static inline const char *rt_reload_error(struct control *ctl)
{
    static char buf[sizeof(ctl->last_reload_error)];
    pthread_mutex_lock(&ctl->reload_lock);
    snprintf(buf, sizeof(buf), "%s", ctl->last_reload_error);
    pthread_mutex_unlock(&ctl->reload_lock);
    return buf;
}

static inline int rt_build(void *arg, struct view **out, struct err *e)
{
    struct rt *rt = arg;
    struct conf *c = NULL;
    int rc = conf_load_file(rt->conf_path, &c, e);
    if (rc < 0)
        return rc;
    rc = view_build(c, out, e);
    /* as main() does: one row of GSLB answer counters per answering thread (reader slot) */
    if (rc == 0 && rt->srv.nreaders > 0)
        assert_int_equal(gslb_set_rows((*out)->gslb, rt->srv.nreaders), 0);
    return rc;
}

static inline int rt_start_cb(void *arg, struct err *e)
{
    struct rt *rt = arg;
    atomic_fetch_add(&rt->start_calls, 1);
    if (rt->fail_start < 0)
        return err_set(e, rt->fail_start, NULL, 0, 0, "start refused by the test");
    for (; rt->workers && rt->started < rt->srv.nworkers; rt->started++) {
        int rc = worker_start(&rt->srv, rt->started, &rt->srv.workers[rt->started], e);
        if (rc < 0)
            return rc;
    }
    if (rt->api) {
        struct api_info info = {"test-version", rt_now_ms()};
        int rc = api_start(&rt->ctl, &rt->srv, &info, &rt->apih, e);
        if (rc < 0)
            return rc;
    }
    atomic_store(&rt->ready, 1);
    return 0;
}

static inline void rt_stop_cb(void *arg)
{
    struct rt *rt = arg;
    api_stop(rt->apih);
    rt->apih = NULL;
}

static inline void *rt_thread(void *arg)
{
    struct rt *rt = arg;
    rt->run_rc = control_run(&rt->ctl, &rt->run_err);
    atomic_store(&rt->done, 1);
    return NULL;
}

/* Wait (bounded by ms, scaled) until *flag is non-zero; false when it never was. */
static inline bool rt_wait_flag(_Atomic int *flag, int ms)
{
    uint64_t end = rt_now_ms() + (uint64_t)rt_ms(ms);
    while (!atomic_load(flag)) {
        if (rt_now_ms() > end)
            return false;
        rt_sleep_ms(5);
    }
    return true;
}

/* Build the view from the config written as gslbd.json and run the control loop. With
 * wait_ready, returns once the start callback ran (fails the test if it does not). */
static inline void rt_run(struct rt *rt, bool wait_ready)
{
    static bool once;
    if (!once) {
        once = true;
        signal(SIGPIPE, SIG_IGN);
        log_set_level(LOG_WARN);
        assert_int_equal(hc_global_init(), 0);
    }
    struct view *v = NULL;
    struct err e = {{0}};
    if (rt_build(rt, &v, &e) < 0)
        fail_msg("build: %s", e.msg);
    struct server *srv = &rt->srv;
    srv->nworkers = v->conf->workers > 0 ? v->conf->workers : 1;
    srv->nlisten = v->conf->nlisten;
    srv->nreaders = srv->nworkers * (1 + (unsigned)srv->nlisten);
    srv->readers = aligned_alloc(64, sizeof(*srv->readers) * srv->nreaders);
    srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
    assert_non_null(srv->readers);
    assert_non_null(srv->workers);
    assert_int_equal(gslb_set_rows(v->gslb, srv->nreaders), 0);
    for (unsigned i = 0; i < srv->nreaders; i++)
        atomic_init(&srv->readers[i].ctr, 0);
    atomic_init(&srv->view, v);
    atomic_init(&srv->tcp_connections, 0);
    rt->ctl.srv = srv;
    rt->ctl.build = rt->build != NULL ? rt->build : rt_build;
    rt->ctl.start = rt_start_cb;
    rt->ctl.stop = rt_stop_cb;
    rt->ctl.arg = rt;
    assert_int_equal(pthread_create(&rt->thread, NULL, rt_thread, rt), 0);
    if (wait_ready && !rt_wait_flag(&rt->ready, 5000))
        fail_msg("the runtime did not start: %s", rt->run_err.msg);
}

/* SIGTERM the control loop (as an operator would), join it, stop workers, free all. */
static inline void rt_stop(struct rt *rt)
{
    if (!atomic_load(&rt->done))
        kill(getpid(), SIGTERM);
    pthread_join(rt->thread, NULL);
    for (unsigned i = 0; i < rt->started; i++) {
        worker_stop(rt->srv.workers[i]);
        worker_free(rt->srv.workers[i]);
    }
    view_free(atomic_load(&rt->srv.view));
    free(rt->srv.workers);
    free(rt->srv.readers);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", rt->dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- DNS client ---- */

/* A query for name/type in wire form; returns its length. */
static inline size_t rt_query(const char *name, ldns_rr_type type, uint16_t id, uint8_t *out,
                              size_t cap)
{
    ldns_pkt *q = NULL;
    assert_int_equal(ldns_pkt_query_new_frm_str(&q, name, type, LDNS_RR_CLASS_IN, 0),
                     LDNS_STATUS_OK);
    ldns_pkt_set_id(q, id);
    uint8_t *w = NULL;
    size_t n = 0;
    assert_int_equal(ldns_pkt2wire(&w, q, &n), LDNS_STATUS_OK);
    assert_true(n <= cap);
    memcpy(out, w, n);
    free(w);
    ldns_pkt_free(q);
    return n;
}

/* A UDP socket connected to 127.0.0.1:port. */
static inline int rt_udp(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Receive one datagram within ms (scaled); -1 on timeout. */
static inline ssize_t rt_recv(int fd, uint8_t *buf, size_t cap, int ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, rt_ms(ms)) <= 0)
        return -1;
    return recv(fd, buf, cap, 0);
}

/* Ask name/type over UDP; the parsed answer (caller frees) or NULL on timeout. */
static inline ldns_pkt *rt_ask_udp(uint16_t port, const char *name, ldns_rr_type type)
{
    uint8_t q[512], a[4096];
    size_t n = rt_query(name, type, 0x4242, q, sizeof(q));
    int fd = rt_udp(port);
    assert_int_equal(send(fd, q, n, 0), (ssize_t)n);
    ssize_t r = rt_recv(fd, a, sizeof(a), 2000);
    close(fd);
    if (r < 0)
        return NULL;
    ldns_pkt *p = NULL;
    assert_int_equal(ldns_wire2pkt(&p, a, (size_t)r), LDNS_STATUS_OK);
    assert_int_equal(ldns_pkt_id(p), 0x4242);
    return p;
}

/* The sum of every started worker's transport counters. */
static inline void rt_io(struct rt *rt, struct worker_io_stats *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (unsigned i = 0; i < rt->started; i++) {
        struct worker_io_stats s;
        worker_io_stats(rt->srv.workers[i], &s);
        uint64_t *d = (uint64_t *)sum;
        const uint64_t *f = (const uint64_t *)&s;
        for (size_t k = 0; k < sizeof(s) / sizeof(uint64_t); k++)
            d[k] += f[k];
    }
}

/* ---- HTTP client ---- */

struct rt_http {
    long status;
    char *body;
    size_t len;
    char headers[4096];
    size_t hlen;
};

static inline size_t rt_http_body(char *p, size_t sz, size_t n, void *arg)
{
    struct rt_http *h = arg;
    char *nb = realloc(h->body, h->len + sz * n + 1);
    if (nb == NULL)
        return 0;
    memcpy(nb + h->len, p, sz * n);
    h->body = nb;
    h->len += sz * n;
    h->body[h->len] = '\0';
    return sz * n;
}

static inline size_t rt_http_header(char *p, size_t sz, size_t n, void *arg)
{
    struct rt_http *h = arg;
    size_t k = sz * n;
    if (h->hlen + k < sizeof(h->headers)) {
        memcpy(h->headers + h->hlen, p, k);
        h->hlen += k;
        h->headers[h->hlen] = '\0';
    }
    return k;
}

/* method path on 127.0.0.1:port; extra headers (NULL-terminated list, may be NULL) and an
 * optional body. The status is in h->status; free h->body. */
static inline void rt_http(uint16_t port, const char *method, const char *path,
                           const char *const *headers, const char *body, struct rt_http *h)
{
    memset(h, 0, sizeof(*h));
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        hl = curl_slist_append(hl, headers[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, rt_http_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, rt_http_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)rt_ms(10000));
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

/* GET path and parse the body as JSON (caller decrefs); status must be want. */
static inline json_t *rt_get_json(uint16_t port, const char *path, long want)
{
    struct rt_http h;
    rt_http(port, "GET", path, NULL, NULL, &h);
    if (h.status != want)
        fail_msg("GET %s: %ld, want %ld: %s", path, h.status, want, h.body ? h.body : "");
    json_error_t je;
    json_t *j = json_loads(h.body != NULL ? h.body : "", 0, &je);
    if (j == NULL)
        fail_msg("GET %s: not JSON: %s", path, h.body ? h.body : "");
    free(h.body);
    return j;
}

/* Case-insensitive search for a header line "name: value" in h's headers. */
static inline bool rt_has_header(const struct rt_http *h, const char *line)
{
    return strcasestr(h->headers, line) != NULL;
}

#endif
