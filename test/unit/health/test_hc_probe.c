/* test_hc_probe.c: unit tests for health/hc*.c: real probes against servers run on loopback. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>
#include <valgrind/valgrind.h>

#include "health/health.h"

/* ---- the fixture: certificates and a python3 HTTP(S) server, shared by every test ---- */

static const char gen_certs_sh[] =
    "set -e\n"
    "cd \"$1\"\n"
    "ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'\n"
    "printf 'subjectAltName=DNS:good.test\\nbasicConstraints=CA:FALSE\\n' > good.ext\n"
    "printf 'subjectAltName=DNS:wrong.test\\nbasicConstraints=CA:FALSE\\n' > wrong.ext\n"
    "openssl req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj /CN=gslbd-test-ca\n"
    "for n in good wrong expired; do\n"
    "  openssl req -new $ec -keyout $n.key -out $n.csr -subj /CN=$n.test\n"
    "done\n"
    "openssl x509 -req -in good.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 "
    "-extfile good.ext -out good.pem\n"
    "openssl x509 -req -in wrong.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 "
    "-extfile wrong.ext -out wrong.pem\n"
    /* OpenSSL 3.0 has no -not_before: a negative -days puts notAfter a day before now */
    "openssl x509 -req -in expired.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days -1 "
    "-extfile good.ext -out expired.pem\n"
    /* right name, but signed by nobody the probe trusts */
    "openssl req -x509 $ec -keyout untrusted.key -out untrusted.pem -days 2 "
    "-subj /CN=good.test -addext subjectAltName=DNS:good.test\n";

static const char server_py[] =
    "import http.server, os, socket, socketserver, ssl, sys, threading\n"
    "d = sys.argv[1]\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_GET(self):\n"
    "        p, code, body = self.path, 200, b'hello healthy\\n'\n"
    "        if p.startswith('/status/'):\n"
    "            code, body = int(p[8:]), b'status page\\n'\n"
    "        elif p == '/echo':\n"
    "            body = ('host=%s\\nua=%s\\n' % (self.headers.get('Host', ''),\n"
    "                    self.headers.get('User-Agent', ''))).encode()\n"
    "        elif p == '/big':\n"
    "            body = b'x' * 200000 + b'needle'\n"
    "        self.send_response(code)\n"
    "        self.send_header('Content-Length', str(len(body)))\n"
    "        self.send_header('Connection', 'close')\n"
    "        self.end_headers()\n"
    "        self.wfile.write(body)\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "class Plain(socketserver.ThreadingMixIn, http.server.HTTPServer):\n"
    "    daemon_threads = True\n"
    "    def handle_error(self, request, addr):\n"
    "        pass\n"
    "class V6(Plain):\n"
    "    address_family = socket.AF_INET6\n"
    "class TLS(Plain):\n"
    "    def __init__(self, name):\n"
    "        super().__init__(('127.0.0.1', 0), H)\n"
    "        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
    "        self.ctx.load_cert_chain(os.path.join(d, name + '.pem'),\n"
    "                                 os.path.join(d, name + '.key'))\n"
    "    def finish_request(self, request, addr):\n"
    "        try:\n"
    "            s = self.ctx.wrap_socket(request, server_side=True)\n"
    "        except OSError:\n"
    "            return\n"
    "        try:\n"
    "            super().finish_request(s, addr)\n"
    "        finally:\n"
    "            s.close()\n"
    "servers = [Plain(('127.0.0.1', 0), H)]\n"
    "try:\n"
    "    servers.append(V6(('::1', 0), H))\n"
    "except OSError:\n"
    "    servers.append(None)\n"
    "servers += [TLS(n) for n in ('good', 'wrong', 'expired', 'untrusted')]\n"
    "for s in servers:\n"
    "    if s:\n"
    "        threading.Thread(target=s.serve_forever, daemon=True).start()\n"
    "print('PORTS', *[s.server_address[1] if s else 0 for s in servers], flush=True)\n"
    "threading.Event().wait()\n";

static struct {
    char dir[128];
    char ca[192];
    pid_t pid;
    int http, http6, good, wrong, expired, untrusted; /* ports */
} fx;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static int group_setup(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(fx.dir, sizeof(fx.dir), "%s/gslbd-hc-XXXXXX", base && base[0] ? base : "/tmp");
    if (mkdtemp(fx.dir) == NULL)
        return -1;
    char path[256], cmd[1024];
    snprintf(path, sizeof(path), "%s/gen.sh", fx.dir);
    write_file(path, gen_certs_sh);
    snprintf(cmd, sizeof(cmd), "sh '%s' '%s' > '%s/gen.log' 2>&1", path, fx.dir, fx.dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "certificate generation failed, see %s/gen.log\n", fx.dir);
        return -1;
    }
    snprintf(fx.ca, sizeof(fx.ca), "%s/ca.pem", fx.dir);
    snprintf(path, sizeof(path), "%s/server.py", fx.dir);
    write_file(path, server_py);

    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    fx.pid = fork();
    if (fx.pid < 0)
        return -1;
    if (fx.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a crashed test */
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execlp("python3", "python3", path, fx.dir, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char line[256] = "";
    size_t len = 0;
    while (len < sizeof(line) - 1 && strchr(line, '\n') == NULL) {
        struct pollfd p = {pfd[0], POLLIN, 0};
        if (poll(&p, 1, 15000) <= 0)
            break;
        ssize_t r = read(pfd[0], line + len, sizeof(line) - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        line[len] = '\0';
    }
    close(pfd[0]);
    if (sscanf(line, "PORTS %d %d %d %d %d %d", &fx.http, &fx.http6, &fx.good, &fx.wrong,
               &fx.expired, &fx.untrusted) != 6) {
        fprintf(stderr, "python3 test server did not start: '%s'\n", line);
        return -1;
    }
    return hc_global_init();
}

static int group_teardown(void **state)
{
    (void)state;
    if (fx.pid > 0) {
        kill(fx.pid, SIGTERM);
        waitpid(fx.pid, NULL, 0);
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
    if (fx.dir[0] && system(cmd) != 0)
        return -1;
    hc_global_cleanup();
    return 0;
}

static uint64_t slack_ms(void)
{
    return RUNNING_ON_VALGRIND ? 1500 : 250;
}

/* Waits for things that should just work: valgrind runs TLS handshakes ~50x slower. */
static uint32_t patience(uint32_t ms)
{
    return RUNNING_ON_VALGRIND ? ms * 5 : ms;
}

/* ---- a libuv TCP server on the test's loop: accepts, reads, never answers ---------- */

#define SRV_MAX 64

struct tcli;

struct tsrv {
    uv_tcp_t listen;
    bool listening;
    int port;
    int open, max_open, total;
    uint64_t accepted_at[SRV_MAX]; /* uv_now() of each accept */
    uint64_t max_life_ms;
    struct tcli *cli[SRV_MAX];
};

struct tcli {
    uv_tcp_t h;
    struct tsrv *s;
    uint64_t t0;
    int slot;
    char buf[4096];
};

static void cli_closed(uv_handle_t *h)
{
    struct tcli *c = h->data;
    uint64_t life = uv_now(h->loop) - c->t0;
    if (c->s) {
        c->s->open--;
        c->s->cli[c->slot] = NULL;
        if (life > c->s->max_life_ms)
            c->s->max_life_ms = life;
    }
    free(c);
}

static void cli_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct tcli *c = h->data;
    *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static void cli_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0 && !uv_is_closing((uv_handle_t *)h))
        uv_close((uv_handle_t *)h, cli_closed);
}

static void srv_conn(uv_stream_t *l, int status)
{
    struct tsrv *s = l->data;
    if (status < 0)
        return;
    struct tcli *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    uv_tcp_init(l->loop, &c->h);
    c->h.data = c;
    c->t0 = uv_now(l->loop);
    if (uv_accept(l, (uv_stream_t *)&c->h) != 0 || s->total >= SRV_MAX) {
        uv_close((uv_handle_t *)&c->h, cli_closed);
        return;
    }
    c->s = s;
    c->slot = s->total;
    s->cli[c->slot] = c;
    s->accepted_at[s->total++] = c->t0;
    if (++s->open > s->max_open)
        s->max_open = s->open;
    uv_read_start((uv_stream_t *)&c->h, cli_alloc, cli_read);
}

/* port 0: any free one. Returns false when the family is unavailable (no ::1). */
static bool srv_start(uv_loop_t *loop, struct tsrv *s, int family, int port)
{
    memset(s, 0, sizeof(*s));
    struct sockaddr_storage ss;
    if (family == AF_INET)
        uv_ip4_addr("127.0.0.1", port, (struct sockaddr_in *)&ss);
    else
        uv_ip6_addr("::1", port, (struct sockaddr_in6 *)&ss);
    assert_int_equal(uv_tcp_init(loop, &s->listen), 0);
    s->listen.data = s;
    if (uv_tcp_bind(&s->listen, (struct sockaddr *)&ss, 0) != 0 ||
        uv_listen((uv_stream_t *)&s->listen, 128, srv_conn) != 0) {
        uv_close((uv_handle_t *)&s->listen, NULL);
        assert_int_equal(family, AF_INET6);
        return false;
    }
    int len = sizeof(ss);
    assert_int_equal(uv_tcp_getsockname(&s->listen, (struct sockaddr *)&ss, &len), 0);
    s->port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                      : ((struct sockaddr_in6 *)&ss)->sin6_port);
    s->listening = true;
    return true;
}

/* Close the listener and every connection (their close callbacks still update s). */
static void srv_stop(struct tsrv *s)
{
    if (s->listening)
        uv_close((uv_handle_t *)&s->listen, NULL);
    s->listening = false;
    for (int i = 0; i < SRV_MAX; i++)
        if (s->cli[i] && !uv_is_closing((uv_handle_t *)&s->cli[i]->h))
            uv_close((uv_handle_t *)&s->cli[i]->h, cli_closed);
}

/* A bound socket that never listens: connecting to it is refused. */
static int refused_port(int *fd_out)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *fd_out = fd;
    return ntohs(sin.sin_port);
}

/* A listener with a full accept queue: further SYNs are dropped, so connecting hangs. */
static int blackhole_port(int fds[3])
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(fd, 0), 0);
    socklen_t len = sizeof(sin);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    fds[0] = fd;
    for (int i = 1; i < 3; i++) { /* the first fills the queue, the second makes sure */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        assert_true(fds[i] >= 0);
        connect(fds[i], (struct sockaddr *)&sin, sizeof(sin));
    }
    usleep(20000);
    return ntohs(sin.sin_port);
}

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

/* ---- running a set ------------------------------------------------------------------ */

struct event {
    size_t target;
    bool up;
    char reason[HC_REASON_MAX];
    uint64_t at; /* ms since the run started */
};

struct run {
    uv_loop_t loop;
    uv_timer_t beat; /* wakes uv_run(UV_RUN_ONCE) so deadlines are checked */
    uint64_t t0;
    struct hc *h;
    int first_rounds;
    uint64_t first_round_at;
    bool in_create;
    bool first_round_in_create;
    struct event ev[64];
    size_t nev;
    bool done;
    int logs;
    int results, failed_results;
    bool reason_on_success; /* on_result gave a reason with ok: must not happen */
};

static void on_change(void *ctx, size_t target, bool up, const char *reason)
{
    struct run *r = ctx;
    if (r->nev == sizeof(r->ev) / sizeof(r->ev[0]))
        return;
    struct event *e = &r->ev[r->nev++];
    e->target = target;
    e->up = up;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
    e->at = uv_now(&r->loop) - r->t0;
}

static void on_result(void *ctx, size_t target, bool ok, const char *reason, uint32_t ms)
{
    (void)target;
    (void)ms;
    struct run *r = ctx;
    r->results++;
    if (!ok)
        r->failed_results++;
    if (ok != (reason == NULL))
        r->reason_on_success = true;
}

static void on_first_round(void *ctx)
{
    struct run *r = ctx;
    if (r->in_create)
        r->first_round_in_create = true;
    if (r->first_rounds++ == 0)
        r->first_round_at = uv_now(&r->loop) - r->t0;
}

static void on_log(void *ctx, enum hc_log_level level, const char *msg)
{
    struct run *r = ctx;
    r->logs++;
    if (getenv("HC_TEST_VERBOSE"))
        fprintf(stderr, "  [%d] %5llu ms %s\n", (int)level,
                (unsigned long long)(uv_now(&r->loop) - r->t0), msg);
}

static void beat(uv_timer_t *t)
{
    (void)t;
}

static void run_init(struct run *r)
{
    memset(r, 0, sizeof(*r));
    assert_int_equal(uv_loop_init(&r->loop), 0);
    uv_timer_init(&r->loop, &r->beat);
    uv_timer_start(&r->beat, beat, 5, 5);
    uv_update_time(&r->loop);
    r->t0 = uv_now(&r->loop);
}

static uint64_t elapsed(struct run *r)
{
    return uv_now(&r->loop) - r->t0;
}

static struct hc_callbacks callbacks(struct run *r)
{
    struct hc_callbacks cb = {.ctx = r,
                              .on_change = on_change,
                              .on_result = on_result,
                              .on_first_round = on_first_round,
                              .log = on_log};
    return cb;
}

static struct hc *create_set(struct run *r, const struct hc_target *t, size_t n,
                             const struct hc *prev)
{
    struct hc_callbacks cb = callbacks(r);
    struct hc *h = NULL;
    r->in_create = true;
    int rc = hc_create(&r->loop, t, n, prev, &cb, &h);
    r->in_create = false;
    assert_int_equal(rc, 0);
    assert_non_null(h);
    return h;
}

static void start(struct run *r, const struct hc_target *t, size_t n)
{
    uv_update_time(&r->loop);
    r->t0 = uv_now(&r->loop);
    r->h = create_set(r, t, n, NULL);
}

static void run_for(struct run *r, uint64_t ms)
{
    uint64_t end = elapsed(r) + ms;
    while (elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
}

static void run_until_first_round(struct run *r, uint64_t max_ms)
{
    uint64_t end = elapsed(r) + max_ms;
    while (r->first_rounds == 0 && elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_int_equal(r->first_rounds, 1);
}

static void set_done(void *arg)
{
    ((struct run *)arg)->done = true;
}

static void stop_set(struct run *r, struct hc *h)
{
    r->done = false;
    hc_stop(h, set_done, r);
    uint64_t end = elapsed(r) + 3000;
    while (!r->done && elapsed(r) < end)
        uv_run(&r->loop, UV_RUN_ONCE);
    assert_true(r->done);
}

/* Stop the set (if any), then every handle the test made; the loop must close clean. */
static void run_finish(struct run *r)
{
    if (r->h)
        stop_set(r, r->h);
    r->h = NULL;
    uv_close((uv_handle_t *)&r->beat, NULL);
    assert_int_equal(uv_run(&r->loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

static struct hc_status status(struct run *r, size_t i)
{
    struct hc_status s;
    assert_int_equal(hc_target_status(r->h, i, &s), 0);
    return s;
}

static struct hc_addr v4(const char *text)
{
    struct hc_addr a = {AF_INET, {0}};
    assert_int_equal(inet_pton(AF_INET, text, a.bytes), 1);
    return a;
}

static struct hc_addr v6(const char *text)
{
    struct hc_addr a = {AF_INET6, {0}};
    assert_int_equal(inet_pton(AF_INET6, text, a.bytes), 1);
    return a;
}

static struct hc_check http_check(enum hc_type type, int port, const char *path)
{
    struct hc_check c;
    memset(&c, 0, sizeof(c));
    c.type = type;
    c.port = (uint16_t)port;
    c.path = path;
    c.interval_ms = 100;
    c.timeout_ms = patience(3000); /* generous: these probes should finish */
    c.fall = 1;
    c.rise = 1;
    return c;
}

static void assert_ok(struct run *r, size_t i)
{
    struct hc_status s = status(r, i);
    if (!s.up || !s.last_ok || s.pending)
        fail_msg("target %zu: expected ok, got up=%d pending=%d reason '%s'", i, s.up, s.pending,
                 s.last_reason);
    assert_string_equal(s.last_reason, "");
}

static void assert_fail(struct run *r, size_t i, const char *prefix)
{
    struct hc_status s = status(r, i);
    if (s.up || s.last_ok || s.pending || strncmp(s.last_reason, prefix, strlen(prefix)) != 0)
        fail_msg("target %zu: expected down with '%s...', got up=%d last_ok=%d reason '%s'", i,
                 prefix, s.up, s.last_ok, s.last_reason);
}

/* ---- HTTP --------------------------------------------------------------------------- */

static void test_http_status(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check s503 = http_check(HC_HTTP, fx.http, "/status/503");
    struct hc_check s503_listed = s503;
    s503_listed.expect_status[0] = 200;
    s503_listed.expect_status[1] = 503;
    s503_listed.nexpect_status = 2;
    struct hc_check s204 = http_check(HC_HTTP, fx.http, "/status/204");
    struct hc_check redirect = http_check(HC_HTTP, fx.http, "/status/301");
    struct hc_target t[] = {{v4("127.0.0.1"), &ok},
                            {v4("127.0.0.1"), &s503},
                            {v4("127.0.0.1"), &s503_listed},
                            {v4("127.0.0.1"), &s204},
                            {v4("127.0.0.1"), &redirect}};
    start(&r, t, 5);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "HTTP 503");
    assert_string_equal(status(&r, 1).last_reason, "HTTP 503");
    assert_ok(&r, 2);
    assert_fail(&r, 3, "HTTP 204"); /* only 200 by default */
    assert_fail(&r, 4, "HTTP 301"); /* redirects are not followed */
    /* the down ones were reported, once each, with their reason */
    assert_int_equal(r.nev, 3);
    for (size_t i = 0; i < r.nev; i++)
        assert_false(r.ev[i].up);
    assert_true(status(&r, 0).last_latency_ms < patience(3000));
    /* every result was also reported as an observation */
    uint64_t probes = 0, failures = 0;
    for (size_t i = 0; i < 5; i++) {
        probes += status(&r, i).probes;
        failures += status(&r, i).failures;
    }
    assert_int_equal(r.results, probes);
    assert_int_equal(r.failed_results, failures);
    assert_false(r.reason_on_success);
    run_finish(&r);
}

static void test_http_body(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check found = http_check(HC_HTTP, fx.http, "/ok");
    found.expect_body = "healthy";
    struct hc_check missing = found;
    missing.expect_body = "all systems go";
    struct hc_check past_cap = http_check(HC_HTTP, fx.http, "/big");
    past_cap.expect_body = "needle"; /* after 200000 bytes: beyond the 64 KiB kept */
    struct hc_check big_any = http_check(HC_HTTP, fx.http, "/big");
    struct hc_target t[] = {{v4("127.0.0.1"), &found},
                            {v4("127.0.0.1"), &missing},
                            {v4("127.0.0.1"), &past_cap},
                            {v4("127.0.0.1"), &big_any}};
    start(&r, t, 4);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "body: expected text missing");
    assert_string_equal(status(&r, 1).last_reason, "body: expected text missing");
    assert_fail(&r, 2, "body: expected text missing");
    assert_ok(&r, 3);
    run_finish(&r);
}

/* Host header from check.host while connecting to the address (the name does not resolve),
 * and the User-Agent. */
static void test_http_host_and_agent(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    char host_line[64];
    snprintf(host_line, sizeof(host_line), "host=good.test:%d\n", fx.http);
    struct hc_check named = http_check(HC_HTTP, fx.http, "/echo");
    named.host = "good.test";
    named.expect_body = host_line;
    struct hc_check agent = http_check(HC_HTTP, fx.http, "/echo");
    agent.expect_body = "ua=gslbd-health\n";
    char ip_line[64];
    snprintf(ip_line, sizeof(ip_line), "host=127.0.0.1:%d\n", fx.http);
    struct hc_check by_ip = http_check(HC_HTTP, fx.http, "/echo");
    by_ip.expect_body = ip_line;
    struct hc_target t[] = {
        {v4("127.0.0.1"), &named}, {v4("127.0.0.1"), &agent}, {v4("127.0.0.1"), &by_ip}};
    start(&r, t, 3);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_ok(&r, 1);
    assert_ok(&r, 2);
    run_finish(&r);
}

static void test_http_ipv6(void **state)
{
    (void)state;
    if (fx.http6 == 0)
        skip();
    struct run r;
    run_init(&r);
    struct hc_check plain = http_check(HC_HTTP, fx.http6, "/ok");
    char host_line[64];
    snprintf(host_line, sizeof(host_line), "host=good.test:%d\n", fx.http6);
    struct hc_check named = http_check(HC_HTTP, fx.http6, "/echo");
    named.host = "good.test";
    named.expect_body = host_line;
    struct hc_target t[] = {{v6("::1"), &plain}, {v6("::1"), &named}};
    start(&r, t, 2);
    run_until_first_round(&r, patience(5000));
    assert_ok(&r, 0);
    assert_ok(&r, 1);
    run_finish(&r);
}

static void test_http_refused(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    int fd;
    struct hc_check c = http_check(HC_HTTP, refused_port(&fd), "/");
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, patience(5000));
    assert_fail(&r, 0, "connection refused");
    assert_string_equal(status(&r, 0).last_reason, "connection refused");
    assert_int_equal(r.nev, 1);
    assert_string_equal(r.ev[0].reason, "connection refused");
    run_finish(&r);
    close(fd);
}

/* A server that accepts and never answers: the probe fails "timeout" no later than
 * timeout_ms plus slack, and with a short interval the ticks in between are skipped, so
 * the server never sees two probes at once (HC-4). */
static void hanging(enum hc_type type)
{
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    const uint64_t timeout = 300;
    struct hc_check c = http_check(type, s.port, "/");
    c.interval_ms = 60;
    c.timeout_ms = (uint32_t)timeout;
    c.host = "good.test";
    c.ca_file = fx.ca;
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, 60 + timeout + slack_ms() + 1000);
    assert_fail(&r, 0, "timeout");
    assert_string_equal(status(&r, 0).last_reason, "timeout");
    struct hc_status st = status(&r, 0);
    assert_int_equal(st.timeouts, 1);
    assert_true(st.last_latency_ms + 2 >= timeout); /* not before its time */
    assert_true(st.last_latency_ms <= timeout + slack_ms());
    assert_true(r.first_round_at <= c.interval_ms + timeout + slack_ms());

    run_for(&r, 1000);
    st = status(&r, 0);
    assert_true(st.probes >= 2);
    assert_true(st.skipped >= st.probes); /* about 4 ticks per 300 ms probe */
    assert_int_equal(st.timeouts, st.probes);
    if (getenv("HC_TEST_VERBOSE"))
        fprintf(stderr, "probes %llu skipped %llu server: total %d max_open %d max_life %llu\n",
                (unsigned long long)st.probes, (unsigned long long)st.skipped, s.total, s.max_open,
                (unsigned long long)s.max_life_ms);
    /* one at a time: each connection comes after the previous probe was aborted (the
     * server may see a close and the next accept in one loop turn, so compare starts) */
    assert_true(s.total >= 3 && s.total <= (int)(st.probes + 1));
    for (int i = 1; i < s.total; i++)
        if (s.accepted_at[i] - s.accepted_at[i - 1] + 50 < timeout)
            fail_msg("probe %d started %llu ms after the previous one", i,
                     (unsigned long long)(s.accepted_at[i] - s.accepted_at[i - 1]));
    assert_true(s.max_life_ms <= timeout + slack_ms()); /* aborted, connection closed */
    srv_stop(&s);
    run_finish(&r);
}

static void test_http_timeout(void **state)
{
    (void)state;
    hanging(HC_HTTP);
}

static void test_https_timeout(void **state)
{
    (void)state;
    hanging(HC_HTTPS); /* stuck in the TLS handshake */
}

/* ---- HTTPS -------------------------------------------------------------------------- */

static void test_https_verification(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check good = http_check(HC_HTTPS, fx.good, "/ok");
    good.host = "good.test";
    good.ca_file = fx.ca;
    good.expect_body = "healthy";
    struct hc_check wrong = good;
    wrong.port = (uint16_t)fx.wrong;
    struct hc_check expired = good;
    expired.port = (uint16_t)fx.expired;
    struct hc_check untrusted = good;
    untrusted.port = (uint16_t)fx.untrusted;
    struct hc_check system_store = good; /* our CA is not in the system store */
    system_store.ca_file = NULL;
    struct hc_check no_name = good; /* the certificate has no IP address in it */
    no_name.host = NULL;
    struct hc_check insecure = wrong;
    insecure.tls_insecure = true;
    struct hc_check plain_to_tls = good;
    plain_to_tls.type = HC_HTTP;
    struct hc_target t[] = {{v4("127.0.0.1"), &good},         {v4("127.0.0.1"), &wrong},
                            {v4("127.0.0.1"), &expired},      {v4("127.0.0.1"), &untrusted},
                            {v4("127.0.0.1"), &system_store}, {v4("127.0.0.1"), &no_name},
                            {v4("127.0.0.1"), &insecure},     {v4("127.0.0.1"), &plain_to_tls}};
    start(&r, t, 8);
    run_until_first_round(&r, patience(8000));
    assert_ok(&r, 0);
    assert_fail(&r, 1, "TLS: ");
    assert_fail(&r, 2, "TLS: ");
    assert_non_null(strstr(status(&r, 2).last_reason, "expired"));
    assert_fail(&r, 3, "TLS: ");
    assert_fail(&r, 4, "TLS: ");
    assert_fail(&r, 5, "TLS: ");
    assert_ok(&r, 6);
    struct hc_status s = status(&r, 7);
    assert_false(s.up);
    assert_null(strstr(s.last_reason, "TLS")); /* not a TLS failure: a protocol one */
    run_finish(&r);
}

/* ---- TCP ---------------------------------------------------------------------------- */

static void test_tcp_connect(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s4, s6;
    srv_start(&r.loop, &s4, AF_INET, 0);
    bool have6 = srv_start(&r.loop, &s6, AF_INET6, 0);
    int fd, bh[3];
    struct hc_check ok4 = {.type = HC_TCP, .port = (uint16_t)s4.port, .interval_ms = 100};
    struct hc_check refused = {
        .type = HC_TCP, .port = (uint16_t)refused_port(&fd), .interval_ms = 100};
    struct hc_check hang = {.type = HC_TCP,
                            .port = (uint16_t)blackhole_port(bh),
                            .interval_ms = 100,
                            .timeout_ms = 300};
    struct hc_check ok6 = {
        .type = HC_TCP, .port = (uint16_t)(have6 ? s6.port : 1), .interval_ms = 100};
    struct hc_target t[] = {{v4("127.0.0.1"), &ok4},
                            {v4("127.0.0.1"), &refused},
                            {v4("127.0.0.1"), &hang},
                            {v6("::1"), &ok6}};
    start(&r, t, have6 ? 4 : 3);
    run_until_first_round(&r, 100 + 300 + slack_ms() + 1000);
    assert_ok(&r, 0);
    assert_fail(&r, 1, "connection refused");
    assert_string_equal(status(&r, 1).last_reason, "connection refused");
    assert_fail(&r, 2, "timeout");
    struct hc_status st = status(&r, 2);
    assert_string_equal(st.last_reason, "timeout");
    assert_int_equal(st.timeouts, 1);
    assert_true(st.last_latency_ms + 2 >= 300 && st.last_latency_ms <= 300 + slack_ms());
    if (have6)
        assert_ok(&r, 3);
    assert_true(s4.total >= 1);
    srv_stop(&s4);
    if (have6)
        srv_stop(&s6);
    run_finish(&r);
    close(fd);
    close_fds(bh, 3);
}

/* fall and rise on live probes: the server goes away and comes back on the same port. */
static void test_tcp_down_and_up(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    int port = s.port;
    struct hc_check c = {.type = HC_TCP,
                         .port = (uint16_t)port,
                         .interval_ms = 100,
                         .timeout_ms = 80,
                         .fall = 2,
                         .rise = 3};
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, 2000);
    run_for(&r, 250);
    assert_ok(&r, 0);
    assert_int_equal(r.nev, 0);

    srv_stop(&s);
    uint64_t died = elapsed(&r);
    uint64_t end = died + 2000;
    while (r.nev == 0 && elapsed(&r) < end)
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_int_equal(r.nev, 1);
    assert_false(r.ev[0].up);
    assert_string_equal(r.ev[0].reason, "connection refused");
    /* HC-7: interval * fall + timeout, plus 100 ms */
    assert_true(r.ev[0].at - died <= 100 * 2 + 80 + 100 + slack_ms());
    struct hc_status st = status(&r, 0);
    assert_false(st.up);
    assert_int_equal(st.streak, 2);

    srv_start(&r.loop, &s, AF_INET, port);
    uint64_t back = elapsed(&r);
    end = back + 2000;
    while (r.nev == 1 && elapsed(&r) < end)
        uv_run(&r.loop, UV_RUN_ONCE);
    assert_int_equal(r.nev, 2);
    assert_true(r.ev[1].up);
    assert_string_equal(r.ev[1].reason, "ok");
    assert_true(r.ev[1].at - back >= 200); /* three successes, 100 ms apart */
    st = status(&r, 0);
    assert_true(st.up);
    assert_int_equal(st.transitions, 2);
    assert_string_equal(st.last_reason, "connection refused"); /* kept for operators */
    srv_stop(&s);
    run_finish(&r);
}

/* ---- scheduling, first round, reload, stop ------------------------------------------ */

static void test_first_probes_jittered(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    enum { N = 16 };
    struct hc_check c = {.type = HC_TCP, .port = (uint16_t)s.port, .interval_ms = 600};
    struct hc_target t[N];
    for (int i = 0; i < N; i++)
        t[i] = (struct hc_target){v4("127.0.0.1"), &c};
    start(&r, t, N);
    run_until_first_round(&r, 600 + slack_ms() + 1000);
    assert_int_equal(s.total, N); /* one probe each so far */
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        uint64_t at = s.accepted_at[i] - r.t0;
        lo = at < lo ? at : lo;
        hi = at > hi ? at : hi;
    }
    /* HC-4: spread over the interval, not fired together (16 uniform draws in 600 ms
     * landing within 150 ms of each other: about 1e-7) */
    assert_true(hi - lo >= 150);
    assert_true(hi <= 600 + slack_ms());
    srv_stop(&s);
    run_finish(&r);
}

static void test_first_round(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv hang;
    srv_start(&r.loop, &hang, AF_INET, 0);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check slow = http_check(HC_HTTP, hang.port, "/");
    slow.timeout_ms = 400;
    struct hc_target t[] = {
        {v4("127.0.0.1"), &ok}, {v4("127.0.0.1"), &slow}, {v4("127.0.0.1"), &ok}};
    start(&r, t, 3);
    run_for(&r, 250);
    assert_int_equal(r.first_rounds, 0); /* the slow one has no result yet */
    struct hc_status s = status(&r, 1);
    assert_true(s.pending);
    assert_true(s.up); /* HC-5: no result yet counts as up */
    run_until_first_round(&r, 400 + 100 + slack_ms());
    assert_true(r.first_round_at >= 400);
    assert_false(status(&r, 1).pending);
    run_for(&r, 300);
    assert_int_equal(r.first_rounds, 1); /* once per set */
    srv_stop(&hang);
    run_finish(&r);

    /* an empty set reports its (empty) first round from the loop, not from hc_create */
    run_init(&r);
    start(&r, NULL, 0);
    assert_false(r.first_round_in_create);
    assert_int_equal(r.first_rounds, 0);
    run_until_first_round(&r, 500);
    assert_int_equal(hc_count(r.h), 0);
    run_finish(&r);
}

static void test_reload_carries_state(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct hc_check ok = http_check(HC_HTTP, fx.http, "/ok");
    struct hc_check bad = http_check(HC_HTTP, fx.http, "/status/503");
    bad.fall = 2;
    int fd;
    struct hc_check refused = {
        .type = HC_TCP, .port = (uint16_t)refused_port(&fd), .interval_ms = 100};
    struct hc_check ok_v1 = ok;
    ok_v1.path = "/ok?v=1";
    struct hc_check ok_changed = ok; /* same address, different config: a new target */
    ok_changed.path = "/ok?v=2";
    struct hc_target a[] = {
        {v4("127.0.0.1"), &ok}, {v4("127.0.0.1"), &bad}, {v4("127.0.0.1"), &ok_v1}};
    start(&r, a, 3);
    run_until_first_round(&r, patience(5000));
    run_for(&r, 300);
    assert_int_equal(r.nev, 1); /* bad went down on its first result */
    struct hc_status a0 = status(&r, 0), a1 = status(&r, 1);
    assert_true(a0.probes >= 2);

    /* B: bad and ok swapped around, one new address, one changed check */
    struct hc_check bad_copy = bad; /* equal by value, not by pointer */
    struct hc_target b[] = {{v4("127.0.0.1"), &bad_copy},
                            {v4("127.0.0.2"), &refused},
                            {v4("127.0.0.1"), &ok},
                            {v4("127.0.0.1"), &ok_changed}};
    struct hc *prev = r.h;
    r.nev = 0;
    r.first_rounds = 0;
    struct hc *h = create_set(&r, b, 4, prev);
    r.h = h;
    struct hc_status b0 = status(&r, 0), b2 = status(&r, 2), b1 = status(&r, 1), b3 = status(&r, 3);
    /* carried: same state, counters and reason; no re-probe (counters equal at once) */
    assert_false(b0.up);
    assert_false(b0.pending);
    assert_int_equal(b0.probes, a1.probes);
    assert_int_equal(b0.transitions, a1.transitions);
    assert_int_equal(b0.last_change_mono_ms, a1.last_change_mono_ms);
    assert_string_equal(b0.last_reason, "HTTP 503");
    assert_true(b2.up);
    assert_int_equal(b2.probes, a0.probes);
    /* new targets start pending */
    assert_true(b1.pending);
    assert_true(b3.pending);
    assert_int_equal(b3.probes, 0);
    stop_set(&r, prev); /* the server stops the old set once the new one is in place */

    run_until_first_round(&r, patience(5000));
    /* only the new, refused target changed state; the carried down one did not re-report */
    assert_int_equal(r.nev, 1);
    assert_int_equal(r.ev[0].target, 1);
    assert_false(r.ev[0].up);
    assert_ok(&r, 2);
    assert_ok(&r, 3);
    run_for(&r, 250);
    assert_true(status(&r, 0).probes > a1.probes); /* and keeps probing */
    assert_int_equal(r.nev, 1);
    run_finish(&r);
    close(fd);
}

/* Reloading often neither fires extra probes (a storm) nor starves the schedule. */
static void test_reload_keeps_schedule(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv s;
    srv_start(&r.loop, &s, AF_INET, 0);
    struct hc_check c = {.type = HC_TCP, .port = (uint16_t)s.port, .interval_ms = 200};
    struct hc_target t[] = {{v4("127.0.0.1"), &c}};
    start(&r, t, 1);
    run_until_first_round(&r, 1000);
    int before = s.total;
    uint64_t from = elapsed(&r);
    for (int i = 0; i < 40; i++) { /* a reload every 25 ms for a second */
        struct hc *prev = r.h;
        r.h = create_set(&r, t, 1, prev);
        hc_stop(prev, NULL, NULL);
        run_for(&r, 25);
    }
    uint64_t span = elapsed(&r) - from;
    int probes = s.total - before;
    int expect = (int)(span / 200);
    if (probes < expect - 1 || probes > expect + 1)
        fail_msg("%d probes in %llu ms at a 200 ms interval across 40 reloads", probes,
                 (unsigned long long)span);
    srv_stop(&s);
    run_finish(&r);
}

static void test_stop_with_probes_in_flight(void **state)
{
    (void)state;
    struct run r;
    run_init(&r);
    struct tsrv hang;
    srv_start(&r.loop, &hang, AF_INET, 0);
    struct hc_check http = http_check(HC_HTTP, hang.port, "/");
    http.interval_ms = 20;
    http.expect_body = "x";
    struct hc_check https = http;
    https.type = HC_HTTPS;
    int bh[3];
    struct hc_check tcp = {.type = HC_TCP,
                           .port = (uint16_t)blackhole_port(bh),
                           .interval_ms = 20,
                           .timeout_ms = 5000};
    struct hc_target t[] = {
        {v4("127.0.0.1"), &http}, {v4("127.0.0.1"), &https}, {v4("127.0.0.1"), &tcp}};
    start(&r, t, 3);
    run_for(&r, 150);
    assert_int_equal(r.first_rounds, 0);
    assert_true(hang.open >= 1);
    struct hc *h = r.h;
    r.h = NULL;
    stop_set(&r, h);
    assert_int_equal(r.nev, 0);
    assert_int_equal(r.first_rounds, 0); /* nothing after stop */
    run_for(&r, 50);
    assert_int_equal(hang.open, 0); /* in-flight transfers were closed */
    srv_stop(&hang);
    run_finish(&r);
    close_fds(bh, 3);
}

static void test_api_errors(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct hc *h = (struct hc *)&loop; /* a marker: must stay untouched */
    struct hc_check no_port = {.type = HC_TCP};
    struct hc_check ok = {.type = HC_TCP, .port = 80};
    struct hc_check bad_type = {.type = (enum hc_type)7, .port = 80};
    struct hc_target t1[] = {{v4("127.0.0.1"), &no_port}};
    struct hc_target t2[] = {{{AF_UNIX, {0}}, &ok}};
    struct hc_target t3[] = {{v4("127.0.0.1"), &bad_type}};
    struct hc_target t4[] = {{v4("127.0.0.1"), NULL}};
    assert_int_equal(hc_create(&loop, t1, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t2, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t3, 1, NULL, NULL, &h), -EINVAL);
    assert_int_equal(hc_create(&loop, t4, 1, NULL, NULL, &h), -EINVAL);
    assert_ptr_equal(h, (struct hc *)&loop);
    assert_int_equal(uv_loop_alive(&loop), 0); /* nothing started */

    struct hc_target good[] = {{v4("127.0.0.1"), &ok}};
    h = NULL;
    assert_int_equal(hc_create(&loop, good, 1, NULL, NULL, &h), 0); /* no callbacks */
    struct hc_status s;
    assert_int_equal(hc_target_status(h, 1, &s), -ERANGE);
    assert_int_equal(hc_target_status(h, 0, &s), 0);
    assert_true(s.up && s.pending);
    hc_free(h);
    hc_free(NULL);
    hc_stop(NULL, NULL, NULL);
    assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
    assert_int_equal(uv_loop_close(&loop), 0);

    assert_string_equal(hc_strerror(-EINVAL), strerror(EINVAL));
    assert_string_equal(hc_strerror(HC_E_CURL), "libcurl initialisation failed");
    assert_string_equal(hc_strerror(0), "success");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_http_body),
        cmocka_unit_test(test_http_host_and_agent),
        cmocka_unit_test(test_http_ipv6),
        cmocka_unit_test(test_http_refused),
        cmocka_unit_test(test_http_timeout),
        cmocka_unit_test(test_https_timeout),
        cmocka_unit_test(test_https_verification),
        cmocka_unit_test(test_tcp_connect),
        cmocka_unit_test(test_tcp_down_and_up),
        cmocka_unit_test(test_first_probes_jittered),
        cmocka_unit_test(test_first_round),
        cmocka_unit_test(test_reload_carries_state),
        cmocka_unit_test(test_reload_keeps_schedule),
        cmocka_unit_test(test_stop_with_probes_in_flight),
        cmocka_unit_test(test_api_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
