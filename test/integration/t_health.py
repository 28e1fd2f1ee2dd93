#!/usr/bin/env python3
"""t_health.py: health probes and failover (docs/gslb-rules.md HC-1..HC-8, POL-6, TTL-G2 and the
Patroni leader pattern) through a real gslbd on loopback, asked with dnsq.py and dig.

Backends are test/integration/backend.py processes (one per address, modes switched through
a control file, killed to simulate a crash), the Patroni cluster is patroni_sim.py on
127.0.0.31-33. TLS certificates (a test CA, a good certificate, one for the wrong name, an
expired one, one from an unknown CA) are made at run time with the openssl CLI. The configs
are test/data/health/health.json and startup.json with ports and paths filled in.
Failover and recovery times are measured by polling every 50 ms and printed as notes.
Prints `ok ID ...` / `not ok ID ...`; every server it starts is stopped (itest.py)."""

import json
import os
import random
import re
import select
import statistics
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
import t_gslb_lib as L  # noqa: E402

R = itest.Report("t_health")
# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 75
HERE = os.path.dirname(os.path.abspath(__file__))
HDATA = os.path.join(itest.REPO, "test", "data", "health")
BACKEND = os.path.join(HERE, "backend.py")
PATRONI = os.path.join(HERE, "patroni_sim.py")
STEP = 0.05  # polling period, seconds
SLACK_MS = itest.slack(100)  # HC-7: "plus 100 ms", scaled by GSLBD_TEST_SLOWDOWN

# The 200/150 ms checks of health.json run with interval and timeout scaled by
# GSLBD_TEST_SLOWDOWN (a stalled backend must not time out for no fault of the code); every
# bound below is computed from what the daemon was configured with.
QUICK = int(round(itest.slowdown()))
FAST = {"interval": 200 * QUICK, "timeout": 150 * QUICK, "fall": 2, "rise": 3}
DFLT = {"interval": 1000, "timeout": 800, "fall": 3, "rise": 3}
PG = {"interval": 200 * QUICK, "timeout": 150 * QUICK, "fall": 2, "rise": 1}
PG_NODES = ["127.0.0.31", "127.0.0.32", "127.0.0.33"]
SLOW_ADDRS = ["127.0.1.%d" % i for i in range(20, 30)]
LINE_RE = re.compile(r"health: (\S+) (\S+) check (\S+): (up|down) \((.*)\); address (\S+), "
                     r"cluster (\S+) (up|down)")


def bound_ms(p):
    """HC-7: interval * fall + timeout, plus 100 ms (scaled slack)."""
    return p["interval"] * p["fall"] + p["timeout"] + SLACK_MS


class S:
    """Run state."""
    tmp = None
    port = None  # DNS
    bport = None  # HTTP backends (127.0.1.x)
    tport = None  # HTTPS backends (127.0.2.x)
    t2port = None  # second (tcp) check of cluster two
    pgport = None  # Patroni REST API
    conf = None
    srv = None
    certs = {}
    backends = {}  # addr -> Backend
    patroni = None
    times = {}  # label -> [ms]
    # every HTTP(S) check expects this run's token in the body: a listener that another test
    # (or another run) happens to open on one of our addresses and ports cannot pass a probe
    token = "run-%d-%d" % (os.getpid(), random.randrange(1 << 30))
    flap_secs = 0.0  # length of the last flap window, measured


# ---------------------------------------------------------------------------------------
# helper processes


class Proc:
    """A helper server (backend.py / patroni_sim.py), stopped at exit like gslbd is."""

    def __init__(self, name, argv):
        self.name = name
        self.argv = argv
        self.proc = None
        self.log_path = os.path.join(itest.outdir("logs"), "t_health-%s.log" % name)

    def start(self, timeout=5.0):
        err = open(itest.fresh_log(self.log_path), "ab")
        self.proc = subprocess.Popen([sys.executable] + self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=err)
        err.close()
        itest._servers.append(self)  # stopped by itest's atexit/signal cleanup
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            r, _, _ = select.select([self.proc.stdout], [], [], 0.1)
            if r:
                c = os.read(self.proc.stdout.fileno(), 1)
                if not c:
                    break
                line += c
        if not line.startswith(b"READY"):
            self.stop()
            raise RuntimeError("%s did not start (%r); see %s" % (self.name, line,
                                                                  self.log_path))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: the backend dies at once (its port then refuses connections)."""
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._forget()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._forget()

    def _forget(self):
        if self in itest._servers:
            itest._servers.remove(self)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()


class Backend(Proc):
    def __init__(self, addr, port, mode="ok", tls=None, addrs=None):
        self.addr = addr
        self.ctl = os.path.join(S.tmp, "ctl-%s-%d" % (addr, port))
        self.req_log = os.path.join(S.tmp, "req-%s-%d.log" % (addr, port))
        with open(self.ctl, "w") as f:
            f.write(mode + "\n")
        argv = [BACKEND, "--control", self.ctl, "--log", self.req_log, "--mode", mode,
                "--body", "backend ok %s\n" % S.token]
        for a in addrs or [addr]:
            argv += ["--listen", "%s:%d" % (a, port)]
        if tls:
            argv += ["--cert", tls[0], "--key", tls[1]]
        super().__init__("backend-%s-%d" % (addr, port), argv)
        self.port = port

    def mode(self, m):
        tmp = self.ctl + ".new"
        with open(tmp, "w") as f:
            f.write(m + "\n")
        os.rename(tmp, self.ctl)

    def requests(self, since_mode=None):
        """Logged requests, split in words (..., STATUS, MODE); with since_mode only those
        after the last switch to that mode."""
        try:
            with open(self.req_log) as f:
                lines = f.readlines()
        except OSError:
            return []
        if since_mode is not None:
            marks = [i for i, ln in enumerate(lines) if ln.rstrip().endswith("-> " +
                                                                             since_mode)]
            lines = lines[marks[-1] + 1:] if marks else []
        return [ln.split() for ln in lines if " GET " in ln]


def backend(addr, port=None, mode="ok", **kw):
    b = Backend(addr, port or S.bport, mode, **kw).start()
    S.backends[(addr, b.port)] = b
    return b


# ---------------------------------------------------------------------------------------
# TLS material, made with the openssl CLI


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True,
                       timeout=60)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s%s" % (" ".join(args), p.stdout, p.stderr))
    return p.stdout


CA_CNF = """[ca]
default_ca = test_ca
[test_ca]
database = db/index.txt
serial = db/serial
new_certs_dir = db
certificate = %(ca)s.pem
private_key = %(ca)s.key
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
x509_extensions = srv
[any]
commonName = supplied
[srv]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:%(name)s
"""


def make_certs(d):
    """ca.pem (trusted by the tls check), ca2.pem (not); server certificates good, wrong name,
    expired (Jan 2020, by `openssl ca -startdate/-enddate`), untrusted (signed by ca2)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca, cn in (("ca", "gslbd test CA"), ("ca2", "gslbd unknown CA")):
        openssl("req", "-x509", *ec, "-keyout", ca + ".key", "-out", ca + ".pem", "-days", "2",
                "-subj", "/CN=" + cn, cwd=d)
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    for kind, ca, name, dates in (
            ("good", "ca", "good.health.test", None),
            ("name", "ca", "other.health.test", None),
            ("expired", "ca", "good.health.test", ("20200101000000Z", "20200201000000Z")),
            ("untrusted", "ca2", "good.health.test", None)):
        with open(os.path.join(d, "db", "index.txt"), "w"):
            pass
        with open(os.path.join(d, "db", "serial"), "w") as f:
            f.write("%d\n" % (4096 + len(S.certs)))
        with open(os.path.join(d, "ca-%s.cnf" % kind), "w") as f:
            f.write(CA_CNF % {"ca": ca, "name": name})
        openssl("req", *ec, "-keyout", kind + ".key", "-out", kind + ".csr", "-subj",
                "/CN=" + name, cwd=d)
        if dates:
            dargs = ["-startdate", dates[0], "-enddate", dates[1]]
        else:
            dargs = ["-days", "2"]
        openssl("ca", "-batch", "-notext", "-config", "ca-%s.cnf" % kind, "-in", kind + ".csr",
                "-out", kind + ".pem", *dargs, cwd=d)
        S.certs[kind] = (os.path.join(d, kind + ".pem"), os.path.join(d, kind + ".key"))
    # the expired one really is expired, and only that one
    exp = subprocess.run(["openssl", "x509", "-checkend", "0", "-noout", "-in", "expired.pem"],
                         cwd=d, capture_output=True, text=True)
    ver = subprocess.run(["openssl", "verify", "-CAfile", "ca.pem", "expired.pem"], cwd=d,
                         capture_output=True, text=True)
    good = subprocess.run(["openssl", "verify", "-CAfile", "ca.pem", "good.pem"], cwd=d,
                          capture_output=True, text=True)
    dates = openssl("x509", "-noout", "-dates", "-in", "expired.pem", cwd=d)
    R.check(exp.returncode == 1 and "expired" in ver.stdout + ver.stderr and
            good.returncode == 0, "HC-3",
            "test certificates: expired.pem is expired (%s), good.pem verifies against the "
            "test CA" % " ".join(dates.split()),
            "checkend %d; verify expired: %s; verify good: %s" % (
                exp.returncode, ver.stdout + ver.stderr, good.stdout + good.stderr))
    return os.path.join(d, "ca.pem")


# ---------------------------------------------------------------------------------------
# config, gslbd and DNS


def write_config(name, template, edit, port=None):
    with open(os.path.join(HDATA, template)) as f:
        conf = json.load(f)
    conf["listen"] = ["127.0.0.1:%d" % (port or S.port)]
    for z in conf["zones"]:
        z["file"] = os.path.join(HDATA, z["file"])
    edit(conf)
    path = os.path.join(S.tmp, name)
    with open(path, "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    return path


def check_of(conf, name):
    return next(c for c in conf["checks"] if c["name"] == name)


def ask(name, qtype="A", timeout=1.0, port=None):
    return dnsq.query(name, qtype, port=port or S.port, timeout=itest.slack(timeout))


def addrs(m):
    """The answer's A/AAAA addresses as a sorted tuple; None for no reply; 'SERVFAIL' etc."""
    if m is None:
        return None
    if m.rcode != 0:
        return dnsq.rcode_text(m.rcode)
    return tuple(sorted(r.text for r in m.answer if r.type in (1, 28)))


def ttls(m):
    return sorted({r.ttl for r in m.answer}) if m is not None else []


class Window:
    """What a poll saw, in ms from its start: the change it waited for happened after `lo`
    (when the last query still without it was sent) and no later than `hi` (when the first
    query with it was answered). Between them the client saw nothing: on a loaded machine
    this test's own process may not run for a while (a stall), and a change that falls in
    such a gap cannot be timed. `stall` is the longest time between two queries beyond the
    polling period: the test's own lateness, not the daemon's."""

    def __init__(self):
        self.lo = 0.0
        self.hi = None
        self.stall = 0.0
        self.seen = []

    def judge(self, limit_ms, what):
        """'ok' when the change is proven within limit_ms, 'late' when it is proven later,
        'unknown' when the test's own stall hides which (the gap straddles the bound)."""
        if self.hi is not None and self.hi <= limit_ms:
            return "ok"
        if self.lo > limit_ms:
            return "late"
        return "unknown"

    def text(self):
        return "between %.0f and %s ms (longest stall of this test's own polling: %.0f ms)" % (
            self.lo, "%.0f" % self.hi if self.hi is not None else "never", self.stall)


def poll_window(name, pred, limit_s, step=STEP, port=None, window=False, t0=None):
    """Ask every `step` seconds until pred(addrs) holds or limit_s passes (patience, scaled
    by GSLBD_TEST_SLOWDOWN unless window: then it is the length of an observation window).
    Times are from t0 (default: now). Returns a Window."""
    if not window:
        limit_s = itest.slack(limit_s)
    t0 = time.monotonic() if t0 is None else t0
    w = Window()
    prev_end = None
    while True:
        t = time.monotonic()
        if prev_end is not None:
            w.stall = max(w.stall, (t - prev_end - step) * 1000.0)
        a = addrs(ask(name, port=port))
        prev_end = time.monotonic()
        if not w.seen or w.seen[-1] != a:
            w.seen.append(a)
        if pred(a):
            w.hi = (prev_end - t0) * 1000.0
            return w
        w.lo = (t - t0) * 1000.0
        if t - t0 > limit_s:
            return w
        left = step - (time.monotonic() - t)
        if left > 0:
            time.sleep(left)


def poll(name, pred, limit_s, step=STEP, port=None, window=False):
    """poll_window's (elapsed ms or None, [distinct answers in order seen])."""
    w = poll_window(name, pred, limit_s, step, port, window)
    return w.hi, w.seen


def timed_check(w, limit_ms, rid, desc, detail):
    """HC-7-style bound on a Window: a pass when the change is proven within the bound, a
    failure when it is proven later, and a named skip when this test's own stall hides it."""
    verdict = w.judge(limit_ms, desc)
    if verdict == "unknown":
        R.skip(rid, desc, "this test's own polling stalled %.0f ms across the %d ms bound; "
               "the change came %s" % (w.stall, limit_ms, w.text()))
        return False
    return R.check(verdict == "ok" and detail[0], rid, desc, detail[1])


def start_gslbd(name, conf, wait=True, port=None):
    """An itest.Gslbd; its log file is emptied at start, so log_of reads only this start."""
    srv = itest.Gslbd(name, ["-c", conf], probe=("127.0.0.1", port or S.port, "health.test."))
    return srv.start(wait=wait, timeout=10)


def log_of(srv=None):
    """Everything a gslbd logged since it started."""
    return (srv or S.srv).log_text()


def log_tail(srv=None, n=30):
    return "\n".join(log_of(srv).splitlines()[-n:])


def health_lines(text=None, cluster=None, addr=None):
    """Parsed transition lines: (cluster, addr, check, state, reason, addr state, cl state)."""
    text = log_of() if text is None else text
    out = []
    for ln in text.splitlines():
        m = LINE_RE.search(ln)
        if m and (cluster is None or m.group(1) == cluster) and (addr is None or
                                                                   m.group(2) == addr):
            out.append(m.groups())
    return out


def wait_line(pred, limit_s=3.0, since=0):
    """Wait until a transition line (after the first `since`) satisfies pred; returns it or
    None."""
    deadline = time.monotonic() + itest.slack(limit_s)
    while True:
        for g in health_lines()[since:]:
            if pred(g):
                return g
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def record(label, ms):
    S.times.setdefault(label, []).append(ms)
    R.note("measured %s: %.0f ms" % (label, ms))


# ---------------------------------------------------------------------------------------
# setup


def setup():
    S.tmp = itest.tmpdir("gslbd-health-")
    S.port = itest.free_port(("127.0.0.1",))
    http_addrs = ["127.0.1.%d" % i for i in range(1, 33)]
    S.bport = itest.free_port(http_addrs)
    S.t2port = itest.free_port(["127.0.1.10", "127.0.1.11"])
    S.tport = itest.free_port(["127.0.2.%d" % i for i in range(1, 5)])
    S.pgport = itest.free_port(PG_NODES)
    ca = make_certs(S.tmp)

    def edit(conf):
        conf["state_file"] = os.path.join(S.tmp, "state.json")
        for c in conf["checks"]:
            c["port"] = {"tls": S.tport, "tcp2": S.t2port, "patroni": S.pgport}.get(
                c["name"], S.bport)
            if (c.get("interval_ms"), c.get("timeout_ms")) == (200, 150):
                c["interval_ms"], c["timeout_ms"] = 200 * QUICK, 150 * QUICK
        check_of(conf, "tls")["ca_file"] = ca
        for c in conf["checks"]:
            if c["type"] in ("http", "https") and c["name"] != "patroni":
                c["expect_body"] = "backend ok %s" % S.token

    S.conf = write_config("health.json", "health.json", edit)

    for i in list(range(1, 9)) + [10, 11, 12, 13]:
        backend("127.0.1.%d" % i)
    backend("127.0.1.9")  # switched to flap by t_flap
    for a in ("127.0.1.10", "127.0.1.11"):
        backend(a, port=S.t2port)
    backend(SLOW_ADDRS[0], mode="hang", addrs=SLOW_ADDRS)
    for addr, kind in (("127.0.2.1", "name"), ("127.0.2.2", "expired"),
                       ("127.0.2.3", "untrusted"), ("127.0.2.4", "good")):
        backend(addr, port=S.tport, tls=S.certs[kind])
    S.patroni_ctl = os.path.join(S.tmp, "patroni.ctl")
    with open(S.patroni_ctl, "w") as f:
        f.write("leader %s\n" % PG_NODES[0])
    S.patroni = Proc("patroni", [PATRONI, "--nodes", ",".join(PG_NODES), "--port",
                                 str(S.pgport), "--control", S.patroni_ctl, "--log",
                                 os.path.join(S.tmp, "patroni.log")]).start()

    t0 = time.monotonic()
    S.srv = start_gslbd("t_health", S.conf)
    R.note("gslbd answering %.2f s after start (first probe round, startup_wait 5 s)" % (
        time.monotonic() - t0))


def set_patroni(text):
    tmp = S.patroni_ctl + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, S.patroni_ctl)


# ---------------------------------------------------------------------------------------
# checks


def t_baseline():
    """Everything healthy answers from its first choice, with the service TTL."""
    want = {"fo-fast": ("127.0.1.1",), "fo-def": ("127.0.1.3",), "fo-hang": ("127.0.1.5",),
            "s503": ("127.0.1.7",), "sbody": ("127.0.1.8",), "flap": ("127.0.1.9",),
            "two": ("127.0.1.10", "127.0.1.11"), "pg-primary": (PG_NODES[0],)}
    bad = []
    for name, a in want.items():
        m = ask(name + ".health.test.")
        if addrs(m) != a:
            bad.append("%s: want %s, got %s" % (name, a, addrs(m)))
    m = ask("fo-fast.health.test.")
    R.check(not bad and ttls(m) == [60], "HC-1", "with every backend up each service answers "
            "its first cluster's up addresses with the service TTL (60)", "\n".join(bad) +
            "\nfo-fast TTLs %s" % ttls(m))
    R.check(health_lines(cluster="fo-fast") == [] and health_lines(cluster="two") == [],
            "HC-6", "healthy targets log no transition (their first result, ok, changes "
            "nothing)", log_tail())


def t_reasons():
    """HC-3: every failure kind takes the target down, with its reason in the log."""
    # TLS: decided by each target's first result (HC-2: the first result decides at once)
    for cl, what in (("tls-name", "a certificate for other.health.test (check host "
                      "good.health.test)"),
                     ("tls-expired", "an expired certificate"),
                     ("tls-untrusted", "a certificate from a CA not in ca_file")):
        g = wait_line(lambda g, cl=cl: g[0] == cl and g[3] == "down", 3.0)
        R.check(g is not None and g[4].startswith("TLS"), "HC-3",
                "https backend with %s: down, reason \"%s\"" % (what, g[4] if g else "?"),
                "log lines for %s: %s\n%s" % (cl, health_lines(cluster=cl), log_tail()))
        m = ask(cl + ".health.test.")
        R.check(addrs(m) == "SERVFAIL", "HC-3", "%s.health.test (all_down servfail) answers "
                "SERVFAIL while its only address is down" % cl, L.describe(m))
    m = ask("tls-good.health.test.")
    R.check(addrs(m) == ("127.0.2.4",) and not health_lines(cluster="tls-good"), "HC-3",
            "https backend with a good certificate, verified against ca_file: up, answered",
            "%s; lines %s" % (L.describe(m), health_lines(cluster="tls-good")))

    # HTTP 503 and wrong body: switch a healthy backend and watch it go down
    for addr, cl, mode, reason in (("127.0.1.7", "c503", "503", "HTTP 503"),
                                   ("127.0.1.8", "cbody", "body",
                                    "body: expected text missing")):
        S.backends[(addr, S.bport)].mode(mode)
        ms, seen = poll(cl.replace("c", "s", 1) + ".health.test.", lambda a: a == "SERVFAIL",
                        2.0)
        g = wait_line(lambda g, cl=cl: g[0] == cl and g[3] == "down", 1.0)
        R.check(g is not None and g[4] == reason and g[5] == "down" and g[7] == "down",
                "HC-3", "backend switched to %s: down with reason \"%s\", address and "
                "cluster down" % (mode, reason), "line %s\n%s" % (g, log_tail()))
        R.check(ms is not None, "HC-6", "%s: the answer changes without a reload (SERVFAIL "
                "after %s ms)" % (cl, "%.0f" % ms if ms is not None else "?"), seen)
        S.backends[(addr, S.bport)].mode("ok")


def new_lines(addr, before):
    """The transition lines for addr after the first `before`: waits (scaled) for the first
    one to reach the log, then 0.1 s more so that a duplicate would be seen too."""
    deadline = time.monotonic() + itest.slack(1.0)
    while len(health_lines(addr=addr)) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    return health_lines(addr=addr)[before:]


def failover_run(label, name, victim, survivor, params, how="kill"):
    """Take victim's backend down (kill, or switch to hang); measure until the answer is the
    survivor's; returns ms or None."""
    b = S.backends[(victim, S.bport)]
    m = ask(name)
    if addrs(m) != (victim,):
        R.fail("HC-7", "%s: before the failure %s answers %s" % (label, name, victim),
               L.describe(m))
        return None
    before = len(health_lines(addr=victim))
    if how == "kill":
        b.kill()
    else:
        b.mode(how)
    limit = bound_ms(params)
    w = poll_window(name, lambda a: a == (survivor,), limit / 1000.0 + 3.0)
    ms, seen = w.hi, w.seen
    timed_check(w, limit, "HC-7", "%s: backend %s %s -> %s answers %s within %d ms (interval "
                "%d * fall %d + timeout %d + slack %d): %s" % (
                    label, victim, "killed" if how == "kill" else "hangs", name, survivor,
                    limit, params["interval"], params["fall"], params["timeout"], SLACK_MS,
                    w.text()),
                (all(a in ((victim,), (survivor,)) for a in seen),
                 "answers seen in order: %s" % seen))
    if ms is not None:
        record(label, ms)
    m = ask(name)
    R.check(ttls(m) == [7], "TTL-G2", "%s: the failover answer carries failover_ttl 7" % label,
            L.describe(m))
    new = new_lines(victim, before)
    reason = "connection refused" if how == "kill" else "timeout"
    R.check(len(new) == 1 and new[0][3] == "down" and new[0][4] == reason, "HC-6",
            "%s: exactly one log line for the transition, with the reason \"%s\"" % (
                label, reason), "new lines: %s" % new)
    return ms


def recovery_run(label, name, victim, params, how="restart"):
    """Bring victim back (restart its backend, or switch to ok); measure until it answers
    again: not before (rise-1)*interval, within rise*interval + timeout + 100."""
    before = len(health_lines(addr=victim))
    t_launch = time.monotonic()
    if how == "restart":
        b = backend(victim)
    else:
        S.backends[(victim, S.bport)].mode("ok")
    t_ready = time.monotonic()
    start_ms = (t_ready - t_launch) * 1000.0
    lo = (params["rise"] - 1) * params["interval"]
    hi = params["rise"] * params["interval"] + params["timeout"] + SLACK_MS
    # timed from t_ready, when the backend surely answers (it began somewhere after t_launch)
    w = poll_window(name, lambda a: a == (victim,), hi / 1000.0 + 3.0, t0=t_ready)
    ms, seen = w.hi, w.seen
    # the lower bound: a victim answered at hi + start_ms after launch is proof of an early
    # return only if that is less than (rise-1)*interval (less one polling step of jitter)
    early = ms is not None and ms + start_ms < lo - STEP * 1000
    timed_check(w, hi, "HC-2", "%s: back after rise %d successes, at most %d ms after the "
                "backend's return: %s" % (label, params["rise"], hi, w.text()),
                (True, "answers seen: %s (backend start took %.0f ms)" % (seen, start_ms)))
    R.check(ms is not None and not early, "HC-2", "%s: not back before (rise-1)*interval = "
            "%d ms: first answered %s ms after the backend was launched" % (
                label, lo, "%.0f" % (ms + start_ms) if ms is not None else "never"),
            "answers seen: %s (backend start took %.0f ms)" % (seen, start_ms))
    if ms is not None:
        record(label, ms)
    new = new_lines(victim, before)
    R.check(len(new) == 1 and new[0][3] == "up" and new[0][4] == "ok", "HC-6",
            "%s: exactly one log line for the recovery (\"up (ok)\")" % label,
            "new lines: %s" % new)
    return ms


def t_failover_fast():
    for run in range(3):
        failover_run("failover interval 200 fall 2 timeout 150 (run %d)" % (run + 1),
                     "fo-fast.health.test.", "127.0.1.1", "127.0.1.2", FAST)
        recovery_run("recovery interval 200 rise 3 (run %d)" % (run + 1),
                     "fo-fast.health.test.", "127.0.1.1", FAST)


def t_failover_hang():
    failover_run("failover to a hanging backend, interval 200 fall 2 timeout 150",
                 "fo-hang.health.test.", "127.0.1.5", "127.0.1.6", FAST, how="hang")
    recovery_run("recovery from hanging, rise 3", "fo-hang.health.test.", "127.0.1.5", FAST,
                 how="ok")


def t_failover_defaults_and_reload():
    ms = failover_run("failover with the defaults (interval 1000 fall 3 timeout 800)",
                      "fo-def.health.test.", "127.0.1.3", "127.0.1.4", DFLT)
    lim = max(4000, bound_ms(DFLT))
    R.check(ms is not None and ms < lim, "HC-7", "with the defaults failover takes under %.1f "
            "s (%s ms)" % (lim / 1000.0, "%.0f" % ms if ms is not None else "never"))
    # reload with the same config: the down target stays down (state carried over)
    nlines = len(health_lines())
    if not L.reload(S.srv):
        R.fail("HC-2", "SIGHUP: 'reload complete' logged", log_tail())
        return
    first = addrs(ask("fo-def.health.test."))
    _, seen = poll("fo-def.health.test.", lambda a: False, 1.5, window=True)
    new = [g for g in health_lines()[nlines:] if g[1] in ("127.0.1.3", "127.0.1.4")]
    R.check(first == ("127.0.1.4",) and seen == [("127.0.1.4",)] and not new, "HC-2",
            "SIGHUP with an unchanged config keeps the down target down: answers stay on the "
            "survivor right after the reload and for 1.5 s, no transition logged",
            "first %s, seen %s, new lines %s" % (first, seen, new))
    recovery_run("recovery with the defaults, rise 3", "fo-def.health.test.", "127.0.1.3", DFLT)


def t_hang_latency():
    """HC-8: ten backends hang (every probe times out, 100 probes a second) plus fo-hang's;
    DNS answers stay fast."""
    S.backends[("127.0.1.5", S.bport)].mode("hang")
    time.sleep(0.3)
    lat = []
    lost = 0
    names = ["slow.health.test.", "fo-hang.health.test.", "fo-fast.health.test.",
             "static.health.test."]
    for i in range(200):
        t = time.perf_counter()
        m = ask(names[i % len(names)], timeout=1.0)
        dt = (time.perf_counter() - t) * 1000.0
        if m is None or m.rcode != 0:
            lost += 1
        else:
            lat.append(dt)
        time.sleep(0.005)
    lat.sort()
    p50 = lat[len(lat) // 2] if lat else -1
    p99 = lat[int(len(lat) * 0.99) - 1] if lat else -1
    mx = lat[-1] if lat else -1
    slow_lines = [g for g in health_lines(cluster="slow") if g[3] == "down"]
    R.note("HC-8 latency over 200 queries: p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (
        p50, p99, mx))
    # latency is a performance figure (noted above, limits live in bench/); the check is
    # that hanging probes never keep a query from being answered
    R.check(lost == 0, "HC-8", "200 queries while 11 backends hang and their probes time "
            "out: all answered (p99 %.1f ms, p50 %.1f, max %.1f)" % (p99, p50, mx),
            "lost %d" % lost)
    R.check(len({g[1] for g in slow_lines}) == 10 and all(g[4] == "timeout"
                                                          for g in slow_lines),
            "HC-3", "the ten hanging backends are down with reason \"timeout\"",
            slow_lines)
    m = ask("slow.health.test.")
    R.check(addrs(m) == tuple(sorted(SLOW_ADDRS)) and ttls(m) == [10], "POL-6",
            "slow.health.test (all ten down, fail_open by default): all addresses, default "
            "failover_ttl 10", L.describe(m))
    S.backends[("127.0.1.5", S.bport)].mode("ok")


def t_two_checks():
    """HC-1: address 127.0.1.10 has checks fast (http) and tcp2; taking tcp2 down takes the
    address down; the cluster stays healthy on 127.0.1.11."""
    b = S.backends[("127.0.1.10", S.t2port)]
    since = len(health_lines())
    b.mode("off")
    ms, seen = poll("two.health.test.", lambda a: a == ("127.0.1.11",), 2.0)
    g = wait_line(lambda g: g[0] == "two" and g[1] == "127.0.1.10" and g[3] == "down", 1.0,
                  since)
    R.check(ms is not None and g is not None and g[2] == "tcp2" and g[5] == "down" and
            g[7] == "up", "HC-1", "address with two checks: its tcp check down (http still "
            "ok) -> address down, cluster two stays up; answer only 127.0.1.11 (%s ms)" % (
                "%.0f" % ms if ms is not None else "never"), "line %s, seen %s" % (g, seen))
    R.note("two.health.test with one of two addresses down: TTL %s (the cluster is up, so "
           "this is not a failover answer)" % ttls(ask("two.health.test.")))
    # now the other address's http check fails too: the cluster is down
    S.backends[("127.0.1.11", S.bport)].mode("503")
    ms2, seen2 = poll("two.health.test.", lambda a: a == "SERVFAIL", 2.0)
    R.check(ms2 is not None, "HC-1", "both addresses down (one per check) -> cluster down -> "
            "SERVFAIL (all_down servfail)", seen2)
    b.mode("ok")
    S.backends[("127.0.1.11", S.bport)].mode("ok")
    ms3, seen3 = poll("two.health.test.", lambda a: a == ("127.0.1.10", "127.0.1.11"), 3.0)
    R.check(ms3 is not None, "HC-1", "both checks back on both addresses -> both answered",
            seen3)


def t_all_down():
    """POL-6: every cluster down -> fail_open answers as if every cluster were healthy (the
    picked cluster's addresses, all of them) with failover_ttl; all_down servfail ->
    SERVFAIL."""
    mark = S.srv.mark()  # the log lines counted below are this step's
    for a in ("127.0.1.12", "127.0.1.13"):
        S.backends[(a, S.bport)].kill()
    t0 = time.monotonic()
    ms, seen = poll("p6-fail.health.test.", lambda a: a == "SERVFAIL", 3.0)
    R.check(ms is not None, "POL-6", "p6-fail (all_down servfail): SERVFAIL once both "
            "backends are dead (%s ms)" % ("%.0f" % ms if ms is not None else "never"), seen)
    r = L.dig("p6-open.health.test", "A", S.port)
    R.check(r.status == "NOERROR" and r.rdatas("A") in (["127.0.1.12"], ["127.0.1.13"]) and
            r.ttls("A") == [7], "POL-6", "dig p6-open (weighted, fail_open): answered as if "
            "every cluster were healthy, one cluster's addresses, TTL failover_ttl 7", r.text)
    got = {}
    for _ in range(40):
        m = ask("p6-open.health.test.")
        got[(addrs(m), tuple(ttls(m)))] = got.get((addrs(m), tuple(ttls(m))), 0) + 1
    R.check(set(got) == {(("127.0.1.12",), (7,)), (("127.0.1.13",), (7,))}, "POL-6",
            "p6-open fail-open over 40 queries: both (dead) clusters are used, as in the "
            "50/50 split of a healthy service, always with TTL 7", got)
    r = L.dig("p6-fail.health.test", "A", S.port)
    R.check(r.status == "SERVFAIL" and not r.answer, "POL-6", "dig p6-fail: SERVFAIL, empty "
            "answer", r.text)
    time.sleep(max(0.0, 0.2 - (time.monotonic() - t0)))
    log = S.srv.log_since(mark)
    counts = {svc: sum(1 for ln in log.splitlines() if svc + ".health.test" in ln or
                       re.search(r"\b%s\b" % svc, ln)) for svc in ("p6-open", "p6-fail")}
    R.check(all(1 <= n <= 2 for n in counts.values()), "POL-6",
            "the all-down transition is logged once per service (not per query), naming "
            "the service: %s" % counts,
            "after ~45 queries while everything is down, log lines naming each service: %s;"
            " the health lines for their clusters:\n%s" % (counts, "\n".join(
                ln for ln in log.splitlines() if "p6-" in ln)))
    for a in ("127.0.1.12", "127.0.1.13"):
        backend(a)
    ms, seen = poll("p6-fail.health.test.", lambda a: isinstance(a, tuple) and len(a) == 1,
                    3.0)
    m = ask("p6-open.health.test.")
    R.check(ms is not None and len(addrs(m) or ()) == 1, "POL-6", "backends back: one cluster "
            "answers again (weighted split), no more fail-open", "%s %s" % (seen,
                                                                       L.describe(m)))


def flap_window(secs):
    """Switch the flap backend to alternate ok / 503 on every request for secs seconds;
    returns (statuses it answered, transition lines logged, distinct answers seen)."""
    b = S.backends[("127.0.1.9", S.bport)]
    nlines = len(health_lines(cluster="flap"))
    b.mode("flap")
    t0 = time.monotonic()
    _, seen = poll("flap.health.test.", lambda a: False, secs, window=True)
    b.mode("ok")
    S.flap_secs = time.monotonic() - t0
    # answered in flap mode (a request that read the old mode may be logged after the switch)
    statuses = [r[-2] for r in b.requests(since_mode="flap") if r[-1] == "flap"]
    return statuses, health_lines(cluster="flap")[nlines:], seen


def t_flap():
    """A backend that alternates ok / 503 on every probe: with fall 2 and rise 2 neither
    count is ever reached, so the state never changes."""
    statuses, lines, seen = flap_window(3.0 * QUICK)
    if any(g[4] == "timeout" for g in lines):
        # the backend never hangs in this mode: a timeout means the machine stalled for
        # longer than timeout_ms (other load); that is not what this check is about
        R.note("flap window 1 saw a probe timeout (machine stalled?): %s; once more" % lines)
        poll("flap.health.test.", lambda a: a == ("127.0.1.9",), 3.0)
        statuses, lines, seen = flap_window(3.0 * QUICK)
    # interval 200: about 5 probes a second of the measured window; late timers on a loaded
    # machine may halve that per unit of slowdown, and 4 are the least that show alternation
    least = max(4, int(S.flap_secs / (0.2 * QUICK) / itest.slack(2.0)))
    alternating = len(statuses) >= least and all(
        statuses[i] == ("200" if i % 2 == 0 else "503") for i in range(len(statuses)))
    R.check(alternating, "HC-2", "flapping backend: %d probes in %.1f s (at least %d), "
            "alternating 200 / 503" % (len(statuses), S.flap_secs, least), statuses)
    flapping = [ln for ln in log_of().splitlines() if "127.0.1.9" in ln and "flapping" in ln]
    R.check(not lines and not flapping and seen == [("127.0.1.9",)], "HC-2",
            "alternating ok/fail with fall 2 / rise 2: no transition logged, the answer "
            "stays 127.0.1.9 throughout", "lines %s %s; answers %s" % (lines, flapping, seen))


def t_patroni():
    """Three Patroni nodes, one cluster, check /primary: the service is the leader."""
    name = "pg-primary.health.test."
    m = ask(name)
    R.check(addrs(m) == (PG_NODES[0],), "POL-5", "patroni: pg-primary resolves to the leader "
            "%s only (the replicas fail /primary with 503)" % PG_NODES[0], L.describe(m))
    ok_sets = set()
    moves = [("leader %s\n" % PG_NODES[1], PG_NODES[0], PG_NODES[1], "switchover"),
             ("leader %s\ndown %s\n" % (PG_NODES[2], PG_NODES[1]), PG_NODES[1], PG_NODES[2],
              "leader crash, failover"),
             ("leader %s\n" % PG_NODES[0], PG_NODES[2], PG_NODES[0], "switchover back")]
    limit = bound_ms(PG)
    for ctl, old, new, what in moves:
        ok_sets = {(old,), (new,), tuple(sorted((old, new)))}
        set_patroni(ctl)
        w = poll_window(name, lambda a, new=new: a == (new,), limit / 1000.0 + 3.0)
        ms, seen = w.hi, w.seen
        timed_check(w, limit, "HC-7", "patroni %s %s -> %s: the name follows within %d ms "
                    "(interval %d * fall 2 + timeout %d + slack %d): %s; never empty, never "
                    "all three" % (what, old, new, limit, PG["interval"], PG["timeout"],
                                   SLACK_MS, w.text()),
                    (all(a in ok_sets for a in seen), "answers seen: %s" % seen))
        if ms is not None:
            record("patroni %s" % what, ms)
    # no leader at all: every node fails /primary -> fail_open (all three, failover TTL)
    set_patroni("leader none\n")
    ms, seen = poll(name, lambda a: a == tuple(sorted(PG_NODES)), 3.0)
    m = ask(name)
    R.check(ms is not None and ttls(m) == [5], "POL-6", "patroni without a leader: every node "
            "down -> fail_open answers all three with failover_ttl 5", seen)
    set_patroni("leader %s\n" % PG_NODES[0])
    ms, seen = poll(name, lambda a: a == (PG_NODES[0],), 3.0)
    R.check(ms is not None, "POL-5", "patroni: a leader again (%s) -> the name is that node "
            "only" % PG_NODES[0], seen)


# ---------------------------------------------------------------------------------------
# HC-5: start-up, each on its own gslbd


def first_answer(srv, name, port, limit_s=5.0):
    """Poll every 20 ms from now; (seconds until the first NOERROR reply, its addrs)."""
    limit_s = itest.slack(limit_s)
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        if not srv.alive():
            return None, None
        m = ask(name, timeout=0.1, port=port)
        if m is not None and m.rcode == 0:
            return time.monotonic() - t0, addrs(m)
        time.sleep(0.02)
    return None, None


def t_startup():
    # (a) a hanging backend and startup_wait_ms 500: DNS answers after ~0.5 s, the pending
    # target counts as up
    hb = backend("127.0.1.30", mode="hang")

    def edit_a(conf):
        conf["startup_wait_ms"] = 500
        conf["checks"][0]["port"] = S.bport

    port = itest.free_port(("127.0.0.1",))
    conf = write_config("startup-a.json", "startup.json", edit_a, port=port)
    srv = start_gslbd("t_health-startup-a", conf, wait=False, port=port)
    try:
        secs, a = first_answer(srv, "start.health.test.", port)
        # not before 0.5 s from the daemon's start (0.4: it starts before our clock does)
        hi = 0.5 + itest.slack(0.7)
        R.check(secs is not None and 0.4 <= secs <= hi, "HC-5", "a backend that hangs, "
                "startup_wait_ms 500: DNS answers %s s after start (0.4 .. %.1f)" % (
                    "%.2f" % secs if secs is not None else "never", hi), log_tail(srv))
        R.check(a == ("127.0.1.30",), "HC-5", "at that point the hanging target has no result "
                "yet and counts as up (answered)", "answer %s" % (a,))
        R.check("startup_wait over" in log_of(srv), "HC-5", "the log says startup_wait "
                "ended before the first round", log_tail(srv))
    finally:
        srv.stop()
        hb.stop()

    # (b) fast backends, startup_wait_ms 10000: DNS answers once the first round is in
    # (interval 300 -> well under 1 s), and that first answer already excludes a dead one
    def edit_b(conf):
        conf["startup_wait_ms"] = 10000
        c = conf["checks"][0]
        c.update({"port": S.bport, "interval_ms": 300, "timeout_ms": 200})
        conf["clusters"][0]["addresses"] = ["127.0.1.31", "127.0.1.32"]

    fb = backend("127.0.1.31")  # nothing listens on 127.0.1.32: connection refused
    port = itest.free_port(("127.0.0.1",))
    conf = write_config("startup-b.json", "startup.json", edit_b, port=port)
    srv = start_gslbd("t_health-startup-b", conf, wait=False, port=port)
    try:
        secs, a = first_answer(srv, "start.health.test.", port)
        hi = 0.3 + itest.slack(0.5)
        R.check(secs is not None and secs <= hi, "HC-5", "fast backends, startup_wait_ms "
                "10000: DNS answers %s s after start (at most %.1f), as soon as the first "
                "round is in (interval 300)" % ("%.2f" % secs if secs is not None else "never",
                                                hi), log_tail(srv))
        R.check(a == ("127.0.1.31",), "HC-5", "the first answer already reflects the first "
                "round: the refused address is left out", "answer %s" % (a,))
        R.check("first probe round complete" in log_of(srv), "HC-5", "the log says the "
                "first probe round completed", log_tail(srv))
    finally:
        srv.stop()
        fb.stop()


def t_demo_config():
    p = L.run_gslbd(["-c", os.path.join(HDATA, "demo.json"), "--check"])
    R.check(p.returncode == 0, "HC-1", "the docs/health.md demo config "
            "(test/data/health/demo.json) passes --check", p.stdout + p.stderr)
    p = L.run_gslbd(["-c", os.path.join(itest.REPO, "conf", "gslbd.json"), "--check"])
    R.check(p.returncode == 0, "HC-1", "conf/gslbd.json with the Patroni example passes "
            "--check", p.stdout + p.stderr)


# ---------------------------------------------------------------------------------------


def summary():
    for label, v in S.times.items():
        R.note("time %-70s %s ms" % (label, ", ".join("%.0f" % x for x in v)))
    fo = [v[0] for k, v in S.times.items() if k.startswith("failover interval 200")]
    rc = [v[0] for k, v in S.times.items() if k.startswith("recovery interval 200")]
    if fo:
        R.note("failover interval 200 / fall 2 / timeout 150: median %.0f ms over %d runs "
               "(bound %d ms)" % (statistics.median(fo), len(fo), bound_ms(FAST)))
    if rc:
        R.note("recovery interval 200 / rise 3: median %.0f ms over %d runs" % (
            statistics.median(rc), len(rc)))


def main():
    R.plan(PLAN)
    t0 = time.monotonic()
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        R.fail("HC-1", "setup: certificates, backends, Patroni nodes, gslbd",
               "%s\n%s" % (e, traceback.format_exc()))
        return R.finish()
    steps = [t_baseline, t_reasons, t_failover_fast, t_failover_hang,
             t_failover_defaults_and_reload, t_hang_latency, t_two_checks, t_all_down,
             t_patroni, t_flap, t_startup, t_demo_config]
    for step in steps:
        ts = time.monotonic()
        try:
            if S.srv is None or not S.srv.alive():
                raise RuntimeError("gslbd is not running:\n" + (log_tail() if S.srv
                                                                  else ""))
            step()
        except Exception as e:  # noqa: BLE001
            R.fail("HC-1", "%s raised %s" % (step.__name__, type(e).__name__),
                   "%s\n%s" % (e, traceback.format_exc()))
        R.note("%s: %.1f s" % (step.__name__, time.monotonic() - ts))
    summary()
    if S.srv is not None:
        alive = S.srv.alive()
        rc = S.srv.stop()
        R.check(alive and rc == 0, "HC-4", "gslbd ran the whole test with probes in flight and "
                "stopped with exit 0", "alive %s exit %s; log:\n%s" % (alive, rc,
                                                                     log_tail()))
    R.note("total %.1f s" % (time.monotonic() - t0))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
