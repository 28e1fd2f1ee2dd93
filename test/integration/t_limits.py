#!/usr/bin/env python3
"""t_limits.py: connection limits of the HTTP API and of DNS over TCP (docs/hardening.md,
"HTTP API and TCP limits") through real gslbd processes on loopback, with curl and plain
sockets. Loopback takes any 127/8 source address, so sockets bound to 127.0.3.1, 127.0.3.2,
... stand for different clients.

Servers: A (the API with its default limits: 64 connections, 8 per address, 10 s to send a
whole request), B (the API with small limits written in the config) and C (two workers,
tcp.max_per_source 8). Slow clients send a request line and headers one byte a second,
which no idle timeout ever ends.
Prints `ok ID ...` / `not ok ID ...`; every server it starts is stopped (itest.py)."""

import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402

R = itest.Report("t_limits")
PLAN = 17
ZONE = ("rules.test.", os.path.join(itest.DATA, "rules.test.zone"))
W = "www.rules.test."
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Pad: " + b"a" * 200


class S:
    tmp = None


# ---- slow HTTP clients ----------------------------------------------------------------


class Slow:
    """n connections to port, from the source addresses srcs in turn, each sending REQUEST
    one byte every `every` seconds from a background thread. Records when each was closed
    (EOF or reset) by the server."""

    def __init__(self, port, n, srcs, every=1.0):
        self.socks = []
        self.opened = []
        self.closed = {}  # index -> monotonic time the server closed it
        self.sent = []
        self.every = every
        self.stop_ev = threading.Event()
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((srcs[i % len(srcs)], 0))
            s.settimeout(2.0)
            try:
                s.connect(("127.0.0.1", port))
                s.setblocking(False)
            except OSError:
                self.closed[i] = time.monotonic()
            self.socks.append(s)
            self.opened.append(time.monotonic())
            self.sent.append(0)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _poll_closed(self):
        live = [s for i, s in enumerate(self.socks) if i not in self.closed]
        if not live:
            return
        r, _, _ = select.select(live, [], [], 0)
        for s in r:
            i = self.socks.index(s)
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self.closed[i] = time.monotonic()

    def _run(self):
        next_byte = time.monotonic()
        while not self.stop_ev.is_set():
            now = time.monotonic()
            if now >= next_byte:
                next_byte = now + self.every
                for i, s in enumerate(self.socks):
                    if i in self.closed or self.sent[i] >= len(REQUEST):
                        continue
                    try:
                        s.send(REQUEST[self.sent[i]:self.sent[i] + 1])
                        self.sent[i] += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        self.closed.setdefault(i, time.monotonic())
            self._poll_closed()
            self.stop_ev.wait(0.05)

    def open_count(self):
        return len(self.socks) - len(self.closed)

    def wait_settled(self, secs):
        """Let the server refuse what it refuses; then the number still open."""
        time.sleep(secs)
        return self.open_count()

    def close(self):
        self.stop_ev.set()
        self.thread.join(5)
        for s in self.socks:
            s.close()


def curl_timed(port, path, src, limit):
    """GET path from source src; (HTTP status or 0, seconds taken)."""
    t0 = time.monotonic()
    p = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", src,
                        "-m", "%.1f" % limit, "http://127.0.0.1:%d%s" % (port, path)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.monotonic() - t0
    try:
        return int(p.stdout.strip() or 0), took
    except ValueError:
        return 0, took


def start(name, dns, api=None, workers=1, **extra):
    conf = itest.write_config(os.path.join(S.tmp, "%s.json" % name), ["127.0.0.1:%d" % dns],
                              [ZONE], workers=workers, api=api or {"enabled": False}, **extra)
    srv = itest.Gslbd("t_limits-" + name, ["-c", conf], probe=("127.0.0.1", dns, ZONE[0]))
    srv.start()
    if api and "listen" in api:  # DNS answers first; the API starts just after
        port = int(api["listen"].rpartition(":")[2])
        deadline = time.monotonic() + itest.slack(10.0)
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
    return srv


# ---- the API under slow clients ---------------------------------------------------------


def served(port, src, what):
    """/healthz and /api/v1/status from src, each answered 200 within 2 s (slack)."""
    bound = itest.slack(2.0)
    out = []
    for path in ("/healthz", "/api/v1/status"):
        code, took = curl_timed(port, path, src, bound + 3)
        out.append((path, code, took))
    ok = all(code == 200 and took <= bound for _, code, took in out)
    detail = "; ".join("%s: HTTP %d in %.2f s (bound %.1f s)" % (p, c, t, bound)
                       for p, c, t in out)
    return ok, "%s: %s" % (what, detail)


def check_api_defaults():
    """LIM-1..LIM-6 on server A (the API's default limits)."""
    dns = itest.free_port(("127.0.0.1",))
    port = itest.free_port(("127.0.0.1",))
    srv = start("a", dns, api={"listen": "127.0.0.1:%d" % port})
    try:
        # 40 slow clients from one address: 8 are let in, the rest refused
        m = srv.mark()
        slow = Slow(port, 40, ["127.0.0.1"])
        try:
            held = slow.wait_settled(itest.slack(1.0))
            R.check(1 <= held <= 8, "LIM-1",
                    "40 slow clients from one address: at most api.max_per_source (8) held",
                    "%d of 40 still open after 1 s" % held)
            ok, detail = served(port, "127.0.0.2", "another address")
            R.check(ok, "LIM-2", "another client is served while one address trickles", detail)
            R.note(detail)
            # the ones let in are closed at the request deadline (10 s), bytes or not
            t_end = time.monotonic() + 10.0 + itest.slack(8.0)
            while time.monotonic() < t_end and slow.open_count() > 0:
                time.sleep(0.1)
            ages = sorted(slow.closed[i] - slow.opened[i] for i in slow.closed
                          if slow.closed[i] - slow.opened[i] > 2.0)
            R.check(slow.open_count() == 0 and len(ages) == held and ages
                    and ages[0] >= 9.5 and ages[-1] <= 10.0 + itest.slack(5.0), "LIM-3",
                    "slow clients that keep sending are closed at the 10 s request deadline",
                    "open %d; closed after %s s (each sent %d of %d bytes)"
                    % (slow.open_count(), ["%.1f" % a for a in ages], max(slow.sent),
                       len(REQUEST)))
            R.note("40 slow from one address: %d held, closed after %s s"
                   % (held, ", ".join("%.2f" % a for a in ages)))
            R.check(srv.wait_log(m, "sent no whole request within 10000 ms", 1,
                                 itest.slack(3.0)) >= 1, "LIM-4",
                    "the deadline's closes are logged", srv.log_tail(8))
        finally:
            slow.close()

        # 80 slow clients over 10 addresses (8 each: the per-address limit alone lets all
        # in, and 80 > 64): the reserve keeps room for a new client
        m = srv.mark()
        srcs = ["127.0.3.%d" % i for i in range(1, 11)]
        slow = Slow(port, 80, srcs)
        try:
            slow.wait_settled(itest.slack(1.0))
            results = []
            for k in range(3):
                results.append(served(port, "127.0.0.%d" % (2 + k), "try %d" % (k + 1)))
                time.sleep(0.5)
            R.check(all(ok for ok, _ in results), "LIM-5",
                    "80 slow clients over 10 addresses: a new client is still served (3 tries)",
                    " | ".join(d for _, d in results) + "; slow ones open: %d"
                    % slow.open_count())
            for _, d in results:
                R.note("80 slow over 10 addresses, " + d)
            R.check(srv.wait_log(m, "to keep room for new clients", 1, itest.slack(3.0)) >= 1,
                    "LIM-6",
                    "connections waiting longest are closed to keep the reserve (logged)",
                    "open %d; log: %s" % (slow.open_count(), srv.log_tail(8)))
        finally:
            slow.close()
    finally:
        srv.stop()


def check_api_configured():
    """LIM-7..LIM-10 on server B: limits written in the config."""
    dns = itest.free_port(("127.0.0.1",))
    port = itest.free_port(("127.0.0.1",))
    srv = start("b", dns, api={"listen": "127.0.0.1:%d" % port, "max_connections": 8,
                               "max_per_source": 2, "request_timeout_ms": 2000})
    try:
        m = srv.mark()
        slow = Slow(port, 5, ["127.0.4.1"], every=0.3)
        try:
            # the three refused close at once, the two held at the 2 s deadline: told apart
            # by when they closed (a settling wait would run into the deadline when slow)
            t_end = time.monotonic() + 2.0 + itest.slack(5.0)
            while time.monotonic() < t_end and slow.open_count() > 0:
                time.sleep(0.05)
            ages = sorted(slow.closed[i] - slow.opened[i] for i in slow.closed)
            refused = [a for a in ages if a < 1.0]
            held = [a for a in ages if a >= 1.0]
            R.check(len(refused) == 3 and len(held) == 2, "LIM-7",
                    "api.max_per_source 2: two of five held, three refused at once",
                    "closed after %s s" % ["%.2f" % a for a in ages])
            R.check(slow.open_count() == 0 and len(held) == 2 and held[0] >= 1.8
                    and held[-1] <= 2.0 + itest.slack(3.0), "LIM-8",
                    "api.request_timeout_ms 2000: closed at 2 s though a byte came every 0.3 s",
                    "open %d; closed after %s s" % (slow.open_count(),
                                                    ["%.2f" % a for a in ages]))
            R.check(srv.wait_log(m, "sent no whole request within 2000 ms", 1,
                                 itest.slack(3.0)) >= 1, "LIM-9",
                    "the configured deadline is the one logged", srv.log_tail(8))
        finally:
            slow.close()
        # a request that is answered, then the connection kept alive and idle: closed at
        # the deadline too (the next request's clock starts when the answer is done); a
        # fresh client meanwhile is answered as before
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = s.recv(4096)
            t0 = time.monotonic()
            s.settimeout(2.0 + itest.slack(3.0))
            try:
                rest = s.recv(4096)
            except socket.timeout:
                rest = None
            took = time.monotonic() - t0
            R.check(first.startswith(b"HTTP/1.1 200") and rest == b"" and 1.8 <= took,
                    "LIM-10", "a kept-alive connection gets the same deadline for its next request",
                    "first %r; then %r after %.2f s" % (first[:15], rest, took))
        finally:
            s.close()
    finally:
        srv.stop()


# ---- DNS over TCP: max_per_source across workers ----------------------------------------


def tcp_answers(socks, timeout=1.0):
    """Send a query on every socket; how many got an answer (closed ones do not)."""
    n = 0
    pkt = dnsq.make_query(W, "A")
    for s in socks:
        try:
            s.sendall(dnsq.tcp_frame(pkt))
            r = dnsq.Msg(dnsq.tcp_read_msg(s, timeout))
            n += r.rcode == 0
        except (OSError, ConnectionError, ValueError, struct.error):
            pass
    return n


def open_tcp(port, n, src):
    socks = []
    for _ in range(n):
        try:
            socks.append(dnsq.tcp_connect("127.0.0.1", port, 2.0, src))
        except OSError:
            pass
    return socks


def tcp_open_gauge(api):
    code = subprocess.run(["curl", "-s", "-m", "5", "http://127.0.0.1:%d/metrics" % api],
                          stdout=subprocess.PIPE, text=True).stdout
    for line in code.splitlines():
        if line.startswith("gslbd_tcp_connections "):
            return int(float(line.split()[1]))
    return -1


def check_tcp():
    """TCPS-1..TCPS-9 on server C: two workers, tcp.max_per_source 8."""
    dns = itest.free_port(("127.0.0.1",))
    api = itest.free_port(("127.0.0.1",))
    srv = start("c", dns, api={"listen": "127.0.0.1:%d" % api}, workers=2,
                tcp={"max_per_source": 8, "idle_timeout_ms": 60000})
    try:
        socks = open_tcp(dns, 20, "127.0.0.1")
        time.sleep(itest.slack(0.3))
        got = tcp_answers(socks)
        R.check(len(socks) == 20 and 1 <= got <= 8, "TCPS-1",
                "2 workers, max_per_source 8: of 20 connections from one address, 8 answer",
                "%d connected, %d answered" % (len(socks), got))
        R.check(got == 8, "TCPS-2", "the newest 8 (the cap exactly) stay usable",
                "%d answered" % got)
        other = open_tcp(dns, 3, "127.0.0.2")
        got2 = tcp_answers(other)
        R.check(got2 == 3, "TCPS-3", "another address still connects and is answered",
                "%d of 3 answered" % got2)
        for s in socks + other:
            s.close()
        # close, reopen: the counts come back (no leak), three times over
        for cycle in range(3):
            deadline = time.monotonic() + itest.slack(3.0)
            while time.monotonic() < deadline and tcp_open_gauge(api) != 0:
                time.sleep(0.05)
            gauge = tcp_open_gauge(api)
            socks = open_tcp(dns, 8, "127.0.0.1")
            got = tcp_answers(socks)
            extra = open_tcp(dns, 1, "127.0.0.1")
            time.sleep(0.1)
            got_all = tcp_answers(socks + extra)
            R.check(gauge == 0 and got == 8 and got_all == 8, "TCPS-%d" % (4 + cycle),
                    "cycle %d: after every close, 8 connect and answer, a 9th leaves 8" % (cycle + 1),
                    "open before %d; 8 new: %d answered; with a 9th: %d answered"
                    % (gauge, got, got_all))
            for s in socks + extra:
                s.close()
        metrics = subprocess.run(["curl", "-s", "-m", "5", "http://127.0.0.1:%d/metrics" % api],
                                 stdout=subprocess.PIPE, text=True).stdout
        refused = evicted = -1
        for line in metrics.splitlines():
            if line.startswith("gslbd_tcp_refused_total "):
                refused = int(float(line.split()[1]))
            if line.startswith("gslbd_tcp_evicted_total "):
                evicted = int(float(line.split()[1]))
        R.check(refused + evicted >= 12 + 3, "TCPS-7",
                "every connection past the cap was refused or evicted one (metrics)",
                "refused %d, evicted %d" % (refused, evicted))
    finally:
        srv.stop()


def main():
    R.plan(PLAN)
    S.tmp = itest.tmpdir("gslbd-limits-")
    groups = [(check_api_defaults, ["LIM-%d" % i for i in range(1, 7)]),
              (check_api_configured, ["LIM-%d" % i for i in range(7, 11)]),
              (check_tcp, ["TCPS-%d" % i for i in range(1, 8)])]
    for fn, ids in groups:
        try:
            fn()
        except Exception:  # report the rest of the group as failed, keep the plan
            tb = traceback.format_exc()
            for rid in ids:
                if rid not in R.ids:
                    R.fail(rid, "not run: %s failed" % fn.__name__, tb)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
