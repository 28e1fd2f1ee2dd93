"""itest.py: shared helpers for gslbd's python integration tests: check reporting (a TAP
plan `1..N`, `ok ID ...` / `not ok ID ...` / `ok ID ... # SKIP reason`), free loopback
ports, per-start daemon logs read from a mark, and starting/stopping gslbd and nsd so that
every server a test starts is stopped again, even on failure or a signal."""

import atexit
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dnsq  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "test", "data", "integration")
OUT = os.environ.get("TEST_OUT") or os.path.join(REPO, "test", "out")
# MaxMind's test databases (optional; the checks that need them are skipped when absent)
GEOIP_DIR = (os.environ.get("GSLBD_GEOIP_DIR") or
             os.path.join(os.path.dirname(REPO), "shared", "geoip"))
NO_V6 = "no IPv6 on loopback (::1)"
GSLBD = os.environ.get("GSLBD") or os.path.join(REPO, "build", "debug", "gslbd")
# e.g. GSLBD_WRAP="valgrind --error-exitcode=99 --leak-check=full" (slack scales: slowdown())
WRAP = os.environ.get("GSLBD_WRAP", "").split()

_servers = []
_tmpdirs = []


def _cleanup():
    for s in list(_servers):
        try:
            s.stop()
        except Exception:  # cleanup must go on whatever happens
            pass
    for d in _tmpdirs:
        shutil.rmtree(d, ignore_errors=True)


def _on_signal(signum, _frame):
    sys.stdout.flush()
    sys.exit(128 + signum)


atexit.register(_cleanup)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def tmpdir(prefix="gslbd-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _tmpdirs.append(d)
    return d


def outdir(name):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    return d


def fresh_log(path):
    """Empties the log file at path (a daemon start writes a fresh log, never after an
    earlier run's lines) and returns the path."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").close()
    return path


def log_mark(path):
    """The current end of a log file: pass it to log_since to read only what came after."""
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def log_since(path, mark=0):
    """The text a log file gained after log_mark(path) returned mark."""
    try:
        with open(path, "rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def wait_log(path, mark, pattern, count=1, timeout=5.0):
    """Waits until the log has at least count lines matching the regex pattern after mark;
    returns the number of matching lines then (possibly fewer, after timeout seconds)."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        n = sum(1 for ln in log_since(path, mark).splitlines() if rx.search(ln))
        if n >= count or time.monotonic() >= deadline:
            return n
        time.sleep(0.05)


class Report:
    """Prints TAP lines: the plan `1..N` (plan()), `ok ID description`, `not ok ID
    description` + `#` details, `ok ID description # SKIP reason` (skip())."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.planned = None
        self.ids = set()

    def plan(self, n):
        """Declares the number of checks this script will report (first line of output)."""
        self.planned = n
        print("1..%d" % n, flush=True)

    def skip(self, rid, desc, reason, n=1):
        """Reports n checks as skipped (not run here), with the reason."""
        for _ in range(n):
            self.skipped += 1
            self.ids.add(rid)
            print("ok %s %s # SKIP %s" % (rid, desc, reason), flush=True)

    def ok(self, rid, desc):
        self.passed += 1
        self.ids.add(rid)
        print("ok %s %s" % (rid, desc), flush=True)

    def fail(self, rid, desc, detail=""):
        self.failed += 1
        self.ids.add(rid)
        print("not ok %s %s" % (rid, desc), flush=True)
        if detail:
            for line in str(detail).splitlines():
                print("#   %s" % line, flush=True)

    def check(self, cond, rid, desc, detail=""):
        if cond:
            self.ok(rid, desc)
        else:
            self.fail(rid, desc, detail() if callable(detail) else detail)
        return bool(cond)

    def note(self, text):
        for line in str(text).splitlines():
            print("# %s" % line, flush=True)

    def finish(self):
        ran = self.passed + self.failed + self.skipped
        print("# %s: %d passed, %d failed, %d skipped" % (self.name, self.passed, self.failed,
                                                         self.skipped), flush=True)
        if self.planned is not None and ran != self.planned:
            print("# %s: %d checks reported, %d planned" % (self.name, ran, self.planned),
                  flush=True)
            return 1
        return 0 if self.failed == 0 and ran > 0 else 1


def _can_bind(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(fam, typ)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def port_range():
    """Ports for test servers: below the kernel's ephemeral range, so that no client socket
    (ours or any other process's) can take a port between our check and the server's bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    low = max(low, 12000)
    return 10000, low - 1


def free_port(addrs=("127.0.0.1", "::1")):
    """A random port free for UDP and TCP on every address in addrs (see port_range)."""
    lo, hi = port_range()
    for _ in range(200):
        port = random.randint(lo, hi)
        if all(_can_bind(a, port) for a in addrs):
            return port
    raise RuntimeError("no free port")


def have_ipv6():
    """IPv6 on loopback; GSLBD_TEST_NO_IPV6=1 pretends there is none (to try the skips)."""
    if os.environ.get("GSLBD_TEST_NO_IPV6") == "1":
        return False
    return _can_bind("::1", 0)


def write_config(path, listen, zones, workers=1, **extra):
    """zones: list of (origin, file). extra: edns_max_udp, nsid, tcp={...}."""
    conf = {"listen": list(listen), "workers": workers,
            "zones": [{"origin": o, "file": f} for o, f in zones]}
    conf.update(extra)
    with open(path, "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    return path


def addr_port(text):
    """'127.0.0.1:53' / '[::1]:53' -> (host, port)."""
    if text.startswith("["):
        host, _, port = text[1:].partition("]:")
    else:
        host, _, port = text.rpartition(":")
    return host, int(port)


class Gslbd:
    """One gslbd process. args: the command line after the binary."""

    def __init__(self, name, args, probe=("127.0.0.1", None, "rules.test.")):
        self.name = name
        self.args = list(args)
        self.probe = probe
        self.proc = None
        self.log_path = os.path.join(outdir("logs"), "%s.log" % name)
        self.log = None

    def start(self, wait=True, timeout=10.0):
        for _ in range(100):  # a parallel `make` may be relinking it: wait up to 10 s
            if os.access(GSLBD, os.X_OK):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("gslbd binary not found at %s (set GSLBD or run make)" % GSLBD)
        self.log = open(fresh_log(self.log_path), "ab")
        self.log.write(("==== %s %s\n" % (GSLBD, " ".join(self.args))).encode())
        self.log.flush()
        self.proc = subprocess.Popen(WRAP + [GSLBD] + self.args, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)
        _servers.append(self)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=10.0):
        host, port, zone = self.probe
        timeout = slack(timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gslbd exited with %d during startup; log:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                r = dnsq.query(zone, "SOA", host=host, port=port, timeout=0.2)
            except (OSError, dnsq.WireError):
                r = None
            if r is not None:
                # DNS answers before the API has started and the log says "ready": a check
                # that reads the log right after start() must see the whole start-up
                rx = re.compile(r"gslbd \S+ ready")
                while time.monotonic() < deadline and self.proc.poll() is None:
                    if any(rx.search(ln) for ln in self.log_text().splitlines()):
                        break
                    time.sleep(0.02)
                return
            time.sleep(0.05)
        raise RuntimeError("gslbd did not answer on %s port %d within %.0fs; log:\n%s" % (
            host, port, timeout, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=None, timeout=5.0):
        """Stop the process; returns its exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if sig is None else sig)
            try:
                rc = self.proc.wait(slack(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                rc = None
        else:
            rc = self.proc.returncode
        if self in _servers:
            _servers.remove(self)
        if self.log:
            self.log.close()
            self.log = None
        return rc

    def log_text(self):
        """Everything this start of the server logged (the file is emptied at start)."""
        return log_since(self.log_path, 0)

    def mark(self):
        """Where the log ends now: log_since(mark) reads only what a step adds after it."""
        return log_mark(self.log_path)

    def log_since(self, mark):
        return log_since(self.log_path, mark)

    def wait_log(self, mark, pattern, count=1, timeout=5.0):
        return wait_log(self.log_path, mark, pattern, count, timeout)

    def log_tail(self, n=30):
        return "\n".join(self.log_text().splitlines()[-n:])

    def rss_kib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return -1


class Nsd:
    """NSD 4.6 on loopback, from a minimal nsd.conf in a temporary folder."""

    def __init__(self, name, port, zones):
        self.name = name
        self.port = port
        self.zones = zones  # (origin, file)
        self.dir = tmpdir("nsd-it-")
        self.proc = None
        self.log_path = os.path.join(outdir("logs"), "%s.log" % name)

    def start(self, timeout=10.0):
        conf = os.path.join(self.dir, "nsd.conf")
        lines = [
            "server:",
            "  port: %d" % self.port,
            "  ip-address: 127.0.0.1",
            "  do-ip6: no",
            '  username: ""',
            '  chroot: ""',
            '  zonesdir: "%s"' % self.dir,
            '  pidfile: "%s/nsd.pid"' % self.dir,
            '  xfrdfile: "%s/xfrd.state"' % self.dir,
            '  zonelistfile: "%s/zone.list"' % self.dir,
            '  database: ""',
            '  xfrdir: "%s"' % self.dir,
            '  logfile: "%s"' % self.log_path,
            "  verbosity: 1",
            "  server-count: 1",
            "  minimal-responses: yes",
            "  hide-version: yes",
            "  hide-identity: yes",
            "remote-control:",
            "  control-enable: no",
        ]
        for origin, path in self.zones:
            lines += ["zone:", "  name: %s" % origin, '  zonefile: "%s"' % path]
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen(["nsd", "-d", "-c", conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(fresh_log(self.log_path), "ab"))
        _servers.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nsd exited with %d; see %s" % (self.proc.returncode,
                                                                    self.log_path))
            r = dnsq.query(self.zones[0][0], "SOA", port=self.port, timeout=0.2)
            if r is not None and r.rcode == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError("nsd did not answer; see %s" % self.log_path)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in _servers:
            _servers.remove(self)


# ---- timing: one factor for every timing slack ------------------------------------------


def slowdown():
    """How much slower than a quiet dev build (-O2) this run may be: GSLBD_TEST_SLOWDOWN (a
    float >= 1, set higher by `make test` for the sanitizer variants), else 10 under a
    valgrind GSLBD_WRAP, else 1."""
    v = os.environ.get("GSLBD_TEST_SLOWDOWN", "")
    try:
        f = float(v) if v else (10.0 if "valgrind" in " ".join(WRAP) else 1.0)
    except ValueError:
        f = 1.0
    return max(f, 1.0)


def slack(x):
    """A timing slack or patience (any unit) scaled by slowdown(). Scale only slack and
    waiting, never the lower bound of what the code guarantees."""
    return x * slowdown()
