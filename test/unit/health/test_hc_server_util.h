/* test_hc_server_util.h: what the health probe tests share: loopback servers to probe. */
#ifndef GSLBD_TEST_HC_SERVER_UTIL_H
#define GSLBD_TEST_HC_SERVER_UTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
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

#include "health/health.h"

/* Helpers are static inline: each test_*.c is built alone and uses only some of them. */

/* ---- the fixture: certificates and a python3 HTTP(S) server, one per test binary ---- */

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

static inline void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* cmocka group setup: certificates in a temporary folder, the server, hc_global_init(). */
static inline int fx_setup(void **state)
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

static inline int fx_teardown(void **state)
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

static inline void cli_closed(uv_handle_t *h)
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

static inline void cli_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    struct tcli *c = h->data;
    *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

static inline void cli_read(uv_stream_t *h, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0 && !uv_is_closing((uv_handle_t *)h))
        uv_close((uv_handle_t *)h, cli_closed);
}

static inline void srv_conn(uv_stream_t *l, int status)
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
static inline bool srv_start(uv_loop_t *loop, struct tsrv *s, int family, int port)
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
static inline void srv_stop(struct tsrv *s)
{
    if (s->listening)
        uv_close((uv_handle_t *)&s->listen, NULL);
    s->listening = false;
    for (int i = 0; i < SRV_MAX; i++)
        if (s->cli[i] && !uv_is_closing((uv_handle_t *)&s->cli[i]->h))
            uv_close((uv_handle_t *)&s->cli[i]->h, cli_closed);
}

/* A bound socket that never listens: connecting to it is refused. */
static inline int refused_port(int *fd_out)
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
static inline int blackhole_port(int fds[3])
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

static inline void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

#endif
