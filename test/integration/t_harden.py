#!/usr/bin/env python3
"""t_harden.py: DNS cookies (docs/protocol.md CK-1, OP-2, EDNS-6) and response rate limiting
(RRL-1..8, docs/hardening.md) through real gslbd processes on loopback, asked with dig and
dnsq.py. Loopback takes any 127/8 source address, so client sockets bound to 127.0.0.1,
127.0.1.1, ... stand for clients in different /24 networks.

Servers: A (RRL on: 20 responses a second, slip 2, 127.0.2.0/24 exempt; a cookie secret
file), B (the same secret file, RRL off) and C (no secret file, RRL log_only).
Prints `ok ID ...` / `not ok ID ...`; every server it starts is stopped (itest.py)."""

import math
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
from dnsq import Edns, make_query  # noqa: E402

R = itest.Report("t_harden")
# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 42
ZONE = ("rules.test.", os.path.join(itest.DATA, "rules.test.zone"))
W = "www.rules.test."
RATE = 20
SLIP = 2
SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CC = bytes.fromhex("c00c1e5c00c1e5ab")


class S:
    tmp = None
    a = b = c = None  # ports
    srv = {}


def start(name, port, **extra):
    conf = itest.write_config(os.path.join(S.tmp, "%s.json" % name), ["127.0.0.1:%d" % port],
                              [ZONE], workers=1, api={"enabled": False}, **extra)
    srv = itest.Gslbd("t_harden-" + name, ["-c", conf], probe=("127.0.0.1", port, ZONE[0]))
    S.srv[name] = srv.start()
    return srv


def setup():
    S.tmp = itest.tmpdir("gslbd-harden-")
    secret = os.path.join(S.tmp, "cookie.secret")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret, 0o600)
    S.a, S.b, S.c = (itest.free_port(("127.0.0.1",)) for _ in range(3))
    start("a", S.a, cookies={"secret_file": "cookie.secret"},
          rrl={"enabled": True, "responses_per_second": RATE, "window_s": 15, "slip": SLIP,
               "exempt": ["127.0.2.0/24"]})
    start("b", S.b, cookies={"secret_file": "cookie.secret"})
    start("c", S.c, rrl={"enabled": True, "responses_per_second": RATE, "log_only": True})


def ask(port, name=W, qtype="A", src="127.0.0.1", tcp=False, **kw):
    pkt = make_query(name, qtype, **kw)
    if tcp:
        raw = dnsq.tcp_exchange(pkt, "127.0.0.1", port, 2.0, src=src)
    else:
        raw = dnsq.udp_exchange(pkt, "127.0.0.1", port, 1.0, src=src)
    return dnsq.Msg(raw) if raw is not None else None


def cookie_of(r):
    return r.opt.option(dnsq.OPT_COOKIE) if r is not None and r.opt is not None else None


def show(r):
    return r.summary() if r is not None else "(no reply)"


def with_cookie(server=b"", client=CC):
    return Edns(options=[dnsq.cookie_option(client, server)])


# ---------------------------------------------------------------------------------------
# CK-1, OP-2, EDNS-6


def dig(port, *args):
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+norec", "+time=2", "+tries=1"]
                       + list(args), capture_output=True, text=True, timeout=10)
    return p.stdout


def t_cookies():
    out = dig(S.b, "+cookie", W, "A")
    m = re.search(r"^; COOKIE: ([0-9a-f]{16})([0-9a-f]{32}) \(good\)$", out, re.M)
    R.check(m and "status: NOERROR" in out, "CK-1",
            "dig +cookie: NOERROR and the COOKIE with a 16-byte server cookie, judged good", out)
    if m:
        full = m.group(1) + m.group(2)
        out = dig(S.b, "+cookie=" + full, W, "A")
        m2 = re.search(r"^; COOKIE: ([0-9a-f]{48}) \(good\)$", out, re.M)
        R.check(m2 and m2.group(1) == full and "status: NOERROR" in out, "CK-1",
                "dig +cookie=CLIENT+SERVER: our fresh server cookie is echoed unchanged", out)

    r = ask(S.b, edns=with_cookie())
    c = cookie_of(r)
    R.check(r is not None and r.rcode == 0 and r.ancount > 0 and c is not None and len(c) == 24
            and c[:8] == CC and c[8] == 1 and c[9:12] == b"\0\0\0", "CK-1",
            "dnsq, client cookie alone: answered, COOKIE = client cookie + version 1 server "
            "cookie", show(r))
    server = c[8:] if c is not None else b"\0" * 16
    ts = struct.unpack("!I", server[4:8])[0]
    R.check(abs(ts - time.time()) < 10, "CK-1", "the server cookie's timestamp is now",
            "timestamp %d, now %d" % (ts, time.time()))
    r = ask(S.b, edns=with_cookie(server))
    R.check(r is not None and r.rcode == 0 and cookie_of(r) == CC + server, "CK-1",
            "dnsq, the server cookie sent back: accepted (echoed while fresh)", show(r))
    # the secret file is shared: A accepts what B made (and so exempts it from RRL-6)
    r = ask(S.a, edns=with_cookie(server))
    R.check(r is not None and r.rcode == 0 and cookie_of(r) == CC + server, "CK-1",
            "another instance with the same secret_file accepts the cookie", show(r))
    r = ask(S.c, edns=with_cookie(server))
    c = cookie_of(r)
    R.check(r is not None and r.rcode == 0 and c is not None and len(c) == 24
            and c[:8] == CC and c[8:] != server, "CK-1",
            "an instance with another (random) secret: answered normally with its own cookie",
            show(r))
    r = ask(S.b, edns=with_cookie(server), src="127.0.5.1")
    c = cookie_of(r)
    R.check(r is not None and r.rcode == 0 and c is not None and c[8:] != server, "CK-1",
            "the cookie is bound to the client address: from another address, a new one",
            show(r))
    r = ask(S.b, edns=with_cookie(b"\x42" * 24))
    c = cookie_of(r)
    R.check(r is not None and r.rcode == 0 and c is not None and len(c) == 24, "CK-1",
            "a foreign 24-byte server cookie: answered with a 16-byte one of ours", show(r))
    r = ask(S.b, tcp=True, edns=with_cookie())
    R.check(r is not None and r.rcode == 0 and cookie_of(r) is not None, "CK-1",
            "over TCP: answered with a server cookie", show(r))

    r = ask(S.b, None, qdcount=0, edns=with_cookie())
    c = cookie_of(r)
    R.check(r is not None and r.rcode == 0 and r.qdcount == 0 and c is not None
            and len(c) == 24 and c[:8] == CC, "OP-2",
            "QDCOUNT=0 with a lone COOKIE: NOERROR with the client and a server cookie",
            show(r))
    r = ask(S.b, None, qdcount=0, edns=with_cookie(server))
    R.check(r is not None and r.rcode == 0 and cookie_of(r) == CC + server, "OP-2",
            "QDCOUNT=0 with our server cookie: NOERROR, the cookie echoed", show(r))

    for n in (0, 1, 7, 9, 15, 41):
        edns = Edns(rdata=struct.pack("!HH", dnsq.OPT_COOKIE, n) + b"\x5a" * n)
        r = ask(S.b, edns=edns)
        R.check(r is not None and r.rcode == 1 and r.opt is not None and cookie_of(r) is None,
                "EDNS-6", "COOKIE option of %d bytes: FORMERR with an OPT, no COOKIE" % n,
                show(r))

    R.check(log_has("c", "cookie secret is random: instances will not share cookies"), "CK-1",
            "without secret_file the random secret is logged at start",
            S.srv["c"].log_tail())
    R.check(not log_has("b", "cookie secret is random"), "CK-1",
            "with secret_file nothing is said about a random secret", S.srv["b"].log_tail())


# ---------------------------------------------------------------------------------------
# RRL


class Client:
    """A UDP socket bound to one loopback source; queries it sent by ID and what came back."""

    def __init__(self, src):
        self.src = src
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((src, 0))
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.setblocking(False)
        self.sent = {}  # id -> query bytes
        self.answered = self.slipped = self.other = 0
        self.slip_problems = []
        self.next_id = 0
        self.first_send = None  # when the first query really left (monotonic)
        self.last_answer = None  # when the last answered reply arrived

    def send(self, port, name=W, qtype="A", **kw):
        qid = self.next_id
        self.next_id = (self.next_id + 1) & 0xFFFF
        pkt = make_query(name, qtype, id=qid, **kw)
        self.sent[qid] = pkt
        self.s.sendto(pkt, ("127.0.0.1", port))
        if self.first_send is None:
            self.first_send = time.monotonic()

    def drain(self):
        while True:
            try:
                raw = self.s.recv(65535)
            except BlockingIOError:
                return
            try:
                m = dnsq.Msg(raw)
            except dnsq.WireError:
                self.other += 1
                continue
            q = self.sent.pop(m.id, None)
            if q is None:
                self.other += 1
            elif m.tc:
                self.slipped += 1
                # a slip: header and question as asked, TC=1, no records but the OPT
                if (m.ancount, m.nscount) != (0, 0) or m.question_raw != q[12:12 + len(
                        m.question_raw)] or m.qdcount != 1:
                    self.slip_problems.append(m.summary())
            elif m.ancount > 0 or m.rcode in (0, 3):
                self.answered += 1
                self.last_answer = time.monotonic()
            else:
                self.other += 1

    @property
    def lost(self):
        return len(self.sent)

    def close(self):
        self.s.close()

    def summary(self):
        return "from %s: %d answered, %d slipped (TC=1), %d without reply, %d other" % (
            self.src, self.answered, self.slipped, self.lost, self.other)


def run(clients, duration, settle=0.8):
    """clients: [(Client, port, count, kwargs or a function i -> kwargs)], each sending count
    queries spread evenly over duration; then replies are collected for settle seconds
    (scaled by GSLBD_TEST_SLOWDOWN). A loaded machine may stretch the sending: judge the
    server by the schedule the sender really kept (most_answered)."""
    settle = itest.slack(settle)
    t0 = time.monotonic()
    total = sum(c[2] for c in clients)
    plan = []
    for cl, port, count, kw in clients:
        for i in range(count):
            plan.append((duration * i / count, cl, port, kw(i) if callable(kw) else kw))
    plan.sort(key=lambda p: p[0])
    socks = {c[0].s: c[0] for c in clients}
    for at, cl, port, kw in plan:
        wait = t0 + at - time.monotonic()
        if wait > 0:
            r, _, _ = select.select(list(socks), [], [], wait)
            for s in r:
                socks[s].drain()
        cl.send(port, **kw)
    end = time.monotonic() + settle
    while time.monotonic() < end:
        r, _, _ = select.select(list(socks), [], [], max(0.0, end - time.monotonic()))
        for s in r:
            socks[s].drain()
    return total


def most_answered(c):
    """RRL-1: an account holds at most RATE responses and is credited once per second of the
    server's monotonic clock (CLOCK_MONOTONIC_COARSE: up to a tick behind ours). Every
    answered query was handled between our first send and the last answered reply, so it
    can have been credited at most once per second boundary in that span."""
    if c.first_send is None or c.last_answer is None:
        return RATE
    crossed = int(math.floor(c.last_answer)) - int(math.floor(c.first_send - 0.02))
    return RATE * (1 + max(0, crossed))


def run_log(name, mark=0):
    """The server's log after mark (srv.mark()), by default since it started (itest empties
    the file at each start)."""
    return S.srv[name].log_since(mark)


def log_has(name, pattern, mark=0):
    return re.search(pattern, run_log(name, mark)) is not None


def t_rrl_flood():
    mark = S.srv["a"].mark()  # the log checks below read only this step's lines
    flood = Client("127.0.0.1")
    bystander = Client("127.0.1.1")
    t0 = time.monotonic()
    # the bystander stays under the rate: 15 queries over at least a second
    run([(flood, S.a, 2000, {}), (bystander, S.a, 15, {})], 1.0)
    took = time.monotonic() - t0
    R.note("flood %.1f s: %s; %s" % (took, flood.summary(), bystander.summary()))
    limited = flood.slipped + flood.lost
    most = most_answered(flood)
    R.check(RATE - 2 <= flood.answered <= most and flood.other == 0, "RRL-1",
            "2000 queries in 1 s for one name from 127.0.0.1: about %d answered (%d .. %d: "
            "the run took %.2f s)" % (RATE, RATE - 2, most, took), flood.summary())
    R.check(limited > 1900 and abs(flood.slipped - flood.lost) <= limited * 0.05 + 5, "RRL-2",
            "slip %d: half the limited responses come back truncated, half are dropped" % SLIP,
            flood.summary())
    R.check(flood.slipped > 0 and not flood.slip_problems, "RRL-2",
            "a slip is the header and the question with TC=1 and no records",
            "\n".join(flood.slip_problems[:3]))
    R.check(bystander.answered == 15 and bystander.slipped == 0, "RRL-3",
            "meanwhile every query from 127.0.1.1 (another /24) is answered",
            bystander.summary())
    flood.close()
    bystander.close()

    # the flooder's account is in debt for up to window_s: UDP is still limited...
    c = Client("127.0.0.1")
    run([(c, S.a, 10, {"edns": Edns(options=[dnsq.ecs_option(1, 24, 0, "192.0.2.0")])})],
        0.1, 0.5)
    R.check(c.answered == 0 and c.slipped >= 4, "RRL-2",
            "right after the flood, its prefix is still limited over UDP", c.summary())
    R.check(c.slip_problems == [], "RRL-2", "a slip with EDNS keeps its OPT and ECS (TC-1)",
            "\n".join(c.slip_problems[:3]))
    c.close()
    r = ask(S.a, edns=Edns(options=[dnsq.ecs_option(1, 24, 0, "192.0.2.0")]), src="127.0.0.1")
    if r is not None:
        R.check(r.tc and r.opt is not None and r.opt.ecs() is not None and r.arcount == 1,
                "RRL-2", "the slip carries the OPT with ECS", show(r))
    # ... but TCP is never limited
    r = ask(S.a, tcp=True, src="127.0.0.1")
    R.check(r is not None and r.rcode == 0 and r.ancount > 0 and not r.tc, "RRL-4",
            "a TCP query from the flooding prefix is answered in full", show(r))
    # ... nor a valid server cookie
    r = ask(S.b, edns=with_cookie(), src="127.0.0.1")
    server = cookie_of(r)[8:] if cookie_of(r) else b"\0" * 16
    c = Client("127.0.0.1")
    run([(c, S.a, 30, {"edns": with_cookie(server)})], 0.2, 0.5)
    R.check(c.answered == 30, "RRL-5",
            "UDP queries from the limited prefix with a valid server cookie are all answered",
            c.summary())
    c.close()
    R.check(log_has("a", r"rrl: limiting responses to 127\.0\.0\.0/24 \(answer www\.rules\.test\."
                         r" A\): over 20 per second", mark), "RRL-1",
            "the start of the limiting is logged with prefix, kind, name and type",
            S.srv["a"].log_tail())
    R.check(not log_has("a", r"rrl: .*127\.0\.1\.0/24", mark), "RRL-3", "the bystander is not logged",
            S.srv["a"].log_tail())


def t_rrl_nxdomain():
    # a random-subdomain flood: every NXDOMAIN of the zone shares one account per prefix
    mark = S.srv["a"].mark()
    c = Client("127.0.3.1")
    run([(c, S.a, 400, lambda i: {"name": "r%d-%d.rules.test." % (i, os.getpid())})], 0.5)
    most = most_answered(c)
    R.check(RATE - 2 <= c.answered <= most, "RRL-6",
            "400 different nonexistent names from 127.0.3.1: NXDOMAIN counted per zone, about "
            "%d answered (%d .. %d by the schedule kept)" % (RATE, RATE - 2, most), c.summary())
    c.close()
    r = ask(S.a, src="127.0.3.1")
    R.check(r is not None and r.rcode == 0 and r.ancount > 0 and not r.tc, "RRL-6",
            "the same prefix still gets answers for an existing name (another account)",
            show(r))
    R.check(log_has("a", r"rrl: limiting responses to 127\.0\.3\.0/24 \(nxdomain rules\.test\.\)",
                    mark),
            "RRL-6", "the NXDOMAIN limiting is logged with the zone", S.srv["a"].log_tail())


def t_rrl_exempt():
    c = Client("127.0.2.1")
    run([(c, S.a, 300, {})], 0.5)
    R.check(c.answered == 300, "RRL-7", "a client in rrl.exempt (127.0.2.0/24) is never limited",
            c.summary())
    c.close()


def t_rrl_log_only():
    mark = S.srv["c"].mark()
    c = Client("127.0.0.1")
    run([(c, S.c, 300, {})], 0.5)
    R.check(c.answered == 300, "RRL-8", "log_only: every response is sent", c.summary())
    c.close()
    R.check(log_has("c", r"rrl: would limit responses to 127\.0\.0\.0/24 \(answer "
                         r"www\.rules\.test\. A\)", mark), "RRL-8",
            "log_only: what would have been limited is logged", S.srv["c"].log_tail())
    R.check(not log_has("b", r"rrl:"), "RRL-8", "RRL off (the default): nothing limited or "
            "logged", S.srv["b"].log_tail())


def t_rrl_reload():
    # B runs with RRL off; a reload that turns it on takes effect without a restart
    itest.write_config(os.path.join(S.tmp, "b.json"), ["127.0.0.1:%d" % S.b], [ZONE], workers=1,
                       api={"enabled": False}, cookies={"secret_file": "cookie.secret"},
                       rrl={"enabled": True, "responses_per_second": RATE, "slip": 0})
    mark = S.srv["b"].mark()
    S.srv["b"].send(signal.SIGHUP)
    S.srv["b"].wait_log(mark, "reload complete", 1, itest.slack(5))
    c = Client("127.0.6.1")
    run([(c, S.b, 300, {})], 0.5)
    most = most_answered(c)
    R.check(RATE - 2 <= c.answered <= most and c.slipped == 0, "RRL-1",
            "RRL turned on by a reload (SIGHUP), slip 0: about %d answered (%d .. %d by the "
            "schedule kept), the rest dropped" % (RATE, RATE - 2, most), c.summary())
    c.close()


def main():
    R.plan(PLAN)
    t0 = time.monotonic()
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        R.fail("CK-1", "setup: write the configs and secret, start three gslbd",
               "%s\n%s" % (e, traceback.format_exc()))
        return R.finish()
    for step in (t_cookies, t_rrl_flood, t_rrl_nxdomain, t_rrl_exempt, t_rrl_log_only,
                 t_rrl_reload):
        ts = time.monotonic()
        try:
            step()
        except Exception as e:  # noqa: BLE001
            R.fail("RRL-1", "%s raised %s" % (step.__name__, type(e).__name__),
                   "%s\n%s" % (e, traceback.format_exc()))
        R.note("%s: %.1f s" % (step.__name__, time.monotonic() - ts))
    for name, srv in sorted(S.srv.items()):
        alive = srv.alive()
        rc = srv.stop()
        R.check(alive and rc == 0, "RRL-1", "gslbd %s ran the whole test and stopped with exit 0"
                % name, "alive %s exit %s; log:\n%s" % (alive, rc, srv.log_tail()))
    R.note("total %.1f s" % (time.monotonic() - t0))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
