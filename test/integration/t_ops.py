#!/usr/bin/env python3
"""t_ops.py: what an operator's tools see of gslbd (docs/monitoring.md), through a real
gslbd on loopback: systemd's notification socket and journald's stream are emulated (an
AF_UNIX datagram socket named by NOTIFY_SOCKET; JOURNAL_STREAM naming the log file gslbd's
stderr goes to), the metrics are read with curl, the alert rules and the live metrics are
checked with promtool (from Debian's prometheus package, extracted by t_ops.sh, never run as
a service). Check IDs:

  NTF-1  READY=1 only once DNS is answered; STATUS= a one-line summary, updated when health
         changes
  NTF-2  SIGHUP: RELOADING=1 with MONOTONIC_USEC= (now), then READY=1 and STATUS=
  NTF-3  a rejected reload: RELOADING=1, then READY=1 with STATUS= saying it was rejected
  NTF-4  SIGTERM: STOPPING=1, exit 0
  NTF-5  gslbd --reload-wait PID (the unit's ExecReload=): exit 1 with file:line:col for a
         broken config, 0 once fixed, 1 without RUNTIME_DIRECTORY
  JRN-1  JOURNAL_STREAM names stderr: every line is <N>message, no timestamp or program name
  JRN-2  the priorities: <3> error, <4> warning, <6> info, <7> debug
  JRN-3  a fatal start-up error in the journal: <3>message
  JRN-4  not the journal (no JOURNAL_STREAM, or one naming another file): today's format
  MET-1  gslbd_service_all_down: 0 while a cluster is up, 1 once every backend died
  MET-2  gslbd_zone_serial follows the zone's SOA serial across a reload
  MET-3  gslbd_reload_last_success_timestamp_seconds moves on a reload, not on a rejected one;
         gslbd_reload_last_successful
  MET-4  gslbd_geoip_build_timestamp_seconds is the database's build epoch
  MET-5  gslbd_service_answers_total counts each answer, carried across a reload
  MET-6  process_resident_memory_bytes and process_open_fds match /proc
  MET-7  promtool check metrics on the live /metrics
  MET-8  promtool check rules contrib/prometheus/gslbd.rules.yml
  MET-9  promtool test rules: the alerts fire on their series
  MET-10 the Grafana dashboard is valid JSON and queries only metrics gslbd exports
  MET-11 the alert rules use only metrics gslbd exports
  LOAD-1 start-up log: the GeoIP database's type, build date, nodes and load time
  LOAD-2 start-up log: each zone's serial
  LOAD-3 GET /api/v1/status: "geoip" and "zones" say the same
  LOAD-4 a GeoIP database older than 30 days is a warning (MaxMind's test database)
  LOAD-5 a fresh one is not
Prints `ok ID ...` / `not ok ID ...`; every process it starts is stopped (itest.py)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as GL  # noqa: E402

R = itest.Report("t_ops")
PLAN = 30
PROMTOOL = os.environ.get("PROMTOOL", "")
CONTRIB = os.path.join(itest.REPO, "contrib")
RULES = os.path.join(CONTRIB, "prometheus", "gslbd.rules.yml")
RULES_TEST = os.path.join(CONTRIB, "prometheus", "gslbd.rules.test.yml")
DASHBOARD = os.path.join(CONTRIB, "grafana", "gslbd-dashboard.json")
SERIAL0, SERIAL1 = 2024060101, 2024060102


class Notify:
    """The service manager's end of NOTIFY_SOCKET: collects every datagram."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []  # (monotonic time, {key: value})

    def poll(self, timeout):
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(4096).decode()
        except socket.timeout:
            return None
        kv = dict(line.split("=", 1) for line in data.split("\n") if "=" in line)
        self.msgs.append((time.monotonic(), kv))
        return kv

    def wait(self, key, timeout=10.0):
        """Messages up to and including the first with key (None if it did not come)."""
        got = []
        deadline = time.monotonic() + itest.slack(timeout)
        while time.monotonic() < deadline:
            kv = self.poll(deadline - time.monotonic())
            if kv is None:
                break
            got.append(kv)
            if key in kv:
                return got
        return None if not got or key not in got[-1] else got

    def close(self):
        self.sock.close()


class S:
    setup = None
    backends = None
    srv = None
    notify = None
    conf = None
    good = None
    zone = None
    rundir = None
    metrics_text = ""


def metrics():
    r = A.curl(S.setup.url("/metrics"))
    if r.status != 200:
        raise RuntimeError("GET /metrics: " + r.brief())
    S.metrics_text = r.body
    return A.parse_prometheus(r.body)


def metric(name, **labels):
    return A.sample(metrics(), name, **labels)


def write_conf(edit=None):
    def both(c):
        c["zones"][0]["file"] = S.zone
        if edit is not None:
            edit(c)
    return S.setup.write(S.backends.port, edit=both)


def set_serial(serial):
    with open(os.path.join(A.ADATA, "api.test.zone")) as f:
        text = f.read()
    with open(S.zone, "w") as f:
        f.write(text.replace(str(SERIAL0), str(serial)))


def reload_wait(env_extra=None):
    env = dict(os.environ)
    env.pop("RUNTIME_DIRECTORY", None)
    env.update(env_extra or {})
    p = subprocess.run([itest.GSLBD, "--reload-wait", str(S.srv.proc.pid)], env=env,
                       capture_output=True, text=True, timeout=itest.slack(60))
    return p.returncode, p.stdout + p.stderr


def start():
    S.setup = A.Setup("ops")
    S.backends = A.Backends().start()
    S.zone = os.path.join(S.setup.dir, "api.test.zone")
    set_serial(SERIAL0)
    S.conf = write_conf()
    S.good = open(S.conf).read()
    S.rundir = os.path.join(S.setup.dir, "run")
    os.makedirs(S.rundir)
    S.notify = Notify(os.path.join(S.setup.dir, "notify.sock"))
    srv = itest.Gslbd("t_ops", ["-c", S.conf, "-d"],
                      probe=("127.0.0.1", S.setup.dns_port, "api.test."))
    st = os.stat(itest.fresh_log(srv.log_path))
    env = {"NOTIFY_SOCKET": S.notify.path, "RUNTIME_DIRECTORY": S.rundir,
           "JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        S.srv = srv.start(wait=False)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def t_ready():
    got = S.notify.wait("READY", 20)
    answered = False
    if got is not None:
        try:
            answered = GL.ask(S.setup.dns_port, "api.test.", "SOA").rcode == 0
        except OSError:
            answered = False
    R.check(got is not None and answered, "NTF-1",
            "READY=1 arrives once gslbd answers DNS (a SOA query right after it is answered)",
            "messages %s; log:\n%s" % (got, S.srv.log_tail()))
    status = got[-1].get("STATUS", "") if got else ""
    R.check(re.fullmatch(r"serving 1 zone\(s\), 2 service\(s\); \d of 3 cluster\(s\) up", status),
            "NTF-1", "STATUS= with READY=1 is a one-line summary: %r" % status, str(got))


def t_startup_info():
    text = S.srv.log_text()
    m = re.search(r"^<6>geoip: (\S+): GeoIP2-City \(IPv6\), built (\d{4}-\d\d-\d\dT\S+Z) "
                  r"\((\d+) days ago\), (\d+) nodes, (\d+) location records, loaded in "
                  r"([0-9.]+) ms$", text, re.M)
    R.check(m and m.group(1) == S.setup.db and int(m.group(4)) > 0, "LOAD-1",
            "start-up log names the GeoIP database, its type, build date, nodes and load time",
            text[-3000:])
    zm = re.search(r"^<6>zone api\.test\. loaded from %s: serial %d, " % (re.escape(S.zone),
                                                                          SERIAL0), text, re.M)
    R.check(zm, "LOAD-2", "start-up log: the zone's serial (%d)" % SERIAL0, text[-3000:])
    st = A.status(S.setup)
    g = (st or {}).get("geoip") or {}
    zones = (st or {}).get("zones")
    ok = (m is not None and g.get("type") == "GeoIP2-City" and g.get("database") == S.setup.db
          and str(g.get("node_count")) == m.group(4) and g.get("build_time") == m.group(2)
          and isinstance(g.get("load_ms"), float) and g.get("age_days") == 0
          and zones == [{"zone": "api.test.", "file": S.zone, "serial": SERIAL0}])
    R.check(ok, "LOAD-3", "status: \"geoip\" (type, build_time, node_count, load_ms, age_days) "
            "and \"zones\" (serial) match the log", json.dumps({"geoip": g, "zones": zones}))
    return g


def t_metrics_first(geo):
    A.wait_for(lambda: (A.status(S.setup) or {}).get("clusters") and all(
        c["healthy"] for c in A.status(S.setup)["clusters"] if c["name"] != "ash-a"), 15)
    m = metrics()
    s = lambda name, **lab: A.sample(m, name, **lab)  # noqa: E731
    R.check(s("gslbd_geoip_build_timestamp_seconds") == geo.get("build_epoch") and
            abs(time.time() - geo.get("build_epoch", 0)) < 3600 and
            m["types"].get("gslbd_geoip_build_timestamp_seconds") == "gauge", "MET-4",
            "gslbd_geoip_build_timestamp_seconds = the database's build epoch (built by this "
            "test, so within the hour)", "metric %s status %s" % (
                s("gslbd_geoip_build_timestamp_seconds"), geo.get("build_epoch")))
    rss, fds = s("process_resident_memory_bytes"), s("process_open_fds")
    proc_rss = S.srv.rss_kib() * 1024
    proc_fds = len(os.listdir("/proc/%d/fd" % S.srv.proc.pid))
    R.check(rss and fds and abs(rss - proc_rss) < proc_rss * 0.5 and abs(fds - proc_fds) <= 8
            and s("process_max_fds") and s("process_max_fds") >= fds, "MET-6",
            "process_resident_memory_bytes %s (VmRSS %d), process_open_fds %s (/proc %d)" % (
                rss, proc_rss, fds, proc_fds))
    a0 = s("gslbd_service_answers_total", service="www.api.test.", result="answered")
    for _ in range(20):
        GL.ask(S.setup.dns_port, "www.api.test.", "A")
    a1 = metric("gslbd_service_answers_total", service="www.api.test.", result="answered")
    return a0, a1


def t_reload(a0, a1):
    ts0 = metric("gslbd_reload_last_success_timestamp_seconds")
    time.sleep(0.05)
    before = time.monotonic()
    S.srv.send(signal.SIGHUP)
    got = S.notify.wait("READY", 20)
    after = time.monotonic()
    first = got[0] if got else {}
    usec = int(first.get("MONOTONIC_USEC", "0"))
    R.check(first.get("RELOADING") == "1" and before * 1e6 - 1e5 <= usec <= after * 1e6 + 1e5,
            "NTF-2", "SIGHUP: RELOADING=1 with MONOTONIC_USEC= of the reload's start",
            "messages %s window %d..%d" % (got, before * 1e6, after * 1e6))
    R.check(got and got[-1].get("READY") == "1" and
            got[-1].get("STATUS", "").startswith("serving 1 zone(s)"), "NTF-2",
            "then READY=1 with STATUS= the summary", str(got))
    m = metrics()
    ts1 = A.sample(m, "gslbd_reload_last_success_timestamp_seconds")
    a2 = A.sample(m, "gslbd_service_answers_total", service="www.api.test.", result="answered")
    R.check(a0 is not None and a1 - a0 == 20 and a2 >= a1 and
            A.sample(m, "gslbd_service_answers_total", service="solo.api.test.",
                     result="servfail") == 0, "MET-5",
            "gslbd_service_answers_total{service=\"www.api.test.\"}: +20 for 20 queries "
            "(%s -> %s), kept across the reload (%s)" % (a0, a1, a2))
    return ts0, ts1


def t_bad_reload(ts0, ts1):
    with open(S.conf, "a") as f:
        f.write("{ this is not JSON\n")
    S.srv.send(signal.SIGHUP)
    got = S.notify.wait("READY", 20)
    R.check(got and got[0].get("RELOADING") == "1" and got[-1].get("READY") == "1" and
            got[-1].get("STATUS", "").startswith("reload rejected, serving the previous data: ")
            and "\n" not in got[-1]["STATUS"], "NTF-3",
            "a rejected reload: RELOADING=1, then READY=1 with STATUS= why (one line)", str(got))
    m = metrics()
    ts2 = A.sample(m, "gslbd_reload_last_success_timestamp_seconds")
    R.check(ts0 and ts1 > ts0 and abs(ts1 - time.time()) < 60 and ts2 == ts1 and
            A.sample(m, "gslbd_reload_last_successful") == 0, "MET-3",
            "reload timestamp: %s at start, %s after the reload, unchanged by the rejected one "
            "(%s); gslbd_reload_last_successful 0" % (ts0, ts1, ts2))
    rc, out = reload_wait({"RUNTIME_DIRECTORY": S.rundir})
    pos = re.search(r"gslbd\.json:\d+:\d+", out)
    R.check(rc == 1 and pos, "NTF-5", "--reload-wait with a broken config: exit 1 and the "
            "position of the error", "exit %d: %s" % (rc, out))


def t_good_reload():
    set_serial(SERIAL1)
    S.conf = write_conf(lambda c: c.update(workers=3))  # a warning: workers need a restart
    mark = S.srv.mark()
    rc, out = reload_wait({"RUNTIME_DIRECTORY": S.rundir})
    R.check(rc == 0 and "reload complete" in out, "NTF-5",
            "--reload-wait once the config is fixed: exit 0 (%s)" % out.strip(), out)
    rc2, out2 = reload_wait()
    R.check(rc2 == 1 and "RUNTIME_DIRECTORY" in out2, "NTF-5",
            "--reload-wait without RUNTIME_DIRECTORY: exit 1 saying so", out2)
    soa = GL.ask(S.setup.dns_port, "api.test.", "SOA")
    dig_serial = int(soa.answer[0].text.split()[2]) if soa.answer else None
    m = metrics()
    st = A.status(S.setup) or {}
    R.check(A.sample(m, "gslbd_zone_serial", zone="api.test.") == SERIAL1 == dig_serial and
            st.get("zones", [{}])[0].get("serial") == SERIAL1 and
            A.sample(m, "gslbd_reload_last_successful") == 1, "MET-2",
            "gslbd_zone_serial{zone=\"api.test.\"} = %s after the reload = SOA serial by DNS "
            "(%s) = status" % (A.sample(m, "gslbd_zone_serial", zone="api.test."), dig_serial))
    return mark


def t_promtool_metrics():
    if not PROMTOOL:
        R.skip("MET-7", "promtool check metrics on the live /metrics",
               "no promtool (t_ops.sh extracts it from Debian's prometheus package)")
        return
    metrics()
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=S.metrics_text,
                       capture_output=True, text=True, timeout=60)
    R.check(p.returncode == 0, "MET-7", "promtool check metrics: the live /metrics is clean",
            p.stdout + p.stderr)


def t_all_down():
    before = (metric("gslbd_service_all_down", service="www.api.test."),
              metric("gslbd_service_all_down", service="solo.api.test."))
    S.backends.stop()
    A.wait_for(lambda: metric("gslbd_service_all_down", service="www.api.test.") == 1, 15)
    after = (metric("gslbd_service_all_down", service="www.api.test."),
             metric("gslbd_service_all_down", service="solo.api.test."))
    d = GL.dig("www.api.test", "A", S.setup.dns_port)
    R.check(before == (0, 0) and after == (1, 1) and "status: NOERROR" in d.text, "MET-1",
            "gslbd_service_all_down: %s while fra-a/fra-b are up, %s once their backends died "
            "(www fails open: NOERROR)" % (before, after), d.text)
    got = S.notify.wait("STATUS", 5)
    while got and not got[-1]["STATUS"].endswith("; 0 of 3 cluster(s) up"):
        got = S.notify.wait("STATUS", 5)
    R.check(got, "NTF-1", "health changes update STATUS= (0 of 3 cluster(s) up)",
            str(S.notify.msgs[-5:]))


def t_stop():
    S.srv.send(signal.SIGTERM)
    got = S.notify.wait("STOPPING", 10)
    rc = S.srv.stop()
    R.check(got and got[-1].get("STOPPING") == "1" and rc == 0, "NTF-4",
            "SIGTERM: STOPPING=1, then exit 0", "messages %s exit %s" % (got, rc))


def t_journal(reload_mark):
    lines = [ln for ln in S.srv.log_text().splitlines() if not ln.startswith("==== ")]
    bad = [ln for ln in lines if not re.match(r"<[3467]>", ln) or
           re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", ln[:40]) or
           re.match(r"<\d>gslbd(:| (error|warning|info|debug):)", ln)]
    R.check(lines and not bad, "JRN-1", "journal: all %d lines are <N>message, no timestamp or "
            "program name" % len(lines), "\n".join(bad[:20]))
    text = "\n".join(lines)
    want = {
        "<3>": r"^<3>reload rejected( after \d+ ms)?, still serving the previous data: ",
        "<4>": r"^<4>reload: listen addresses and workers change only on restart$",
        "<6>": r"^<6>reload complete( in \d+ ms \(installed in \d+ ms\))?: 1 zone\(s\), "
               r"2 service\(s\)$",
        "<7>": r"^<7>",
    }
    missing = [k for k, rx in want.items() if not re.search(rx, text, re.M)]
    R.check(not missing and re.search(want["<4>"], S.srv.log_since(reload_mark), re.M), "JRN-2",
            "journal priorities: <3> rejected reload, <4> warning, <6> info, <7> debug",
            "missing %s" % missing)


def run_fatal(stderr_path, journal_of=None):
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    if journal_of is not None:
        st = os.stat(journal_of)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    bad = os.path.join(S.setup.dir, "missing.json")
    with open(stderr_path, "wb") as f:
        p = subprocess.run([itest.GSLBD, "-c", bad], stdin=subprocess.DEVNULL, stdout=f,
                           stderr=f, env=env, timeout=30)
    with open(stderr_path) as f:
        return p.returncode, f.read()


def t_fatal():
    out = os.path.join(itest.outdir("logs"), "t_ops_fatal.log")
    other = os.path.join(S.setup.dir, "other")
    open(out, "w").close()
    open(other, "w").close()
    rc, text = run_fatal(out, journal_of=out)
    R.check(rc == 1 and re.fullmatch(r"<3>\S*missing\.json: .*\n", text), "JRN-3",
            "a fatal start-up error in the journal: exit 1, one <3>message line", text)
    rc2, text2 = run_fatal(out)
    rc3, text3 = run_fatal(out, journal_of=other)
    R.check(rc2 == rc3 == 1 and re.fullmatch(r"gslbd: \S*missing\.json: .*\n", text2) and
            text3 == text2, "JRN-4", "not the journal (no JOURNAL_STREAM, or another file's): "
            "today's \"gslbd: message\"", "%r\n%r" % (text2, text3))


def t_old_geoip():
    gdir = os.environ.get("GSLBD_GEOIP_DIR") or os.path.join(itest.REPO, "..", "shared", "geoip")
    old = os.path.join(gdir, "GeoIP2-City-Test.mmdb")
    conf = os.path.join(S.setup.dir, "check.json")

    def check(db):
        S.setup.write(1, edit=lambda c: c["geoip"].update(database=db), path=conf)
        p = subprocess.run([itest.GSLBD, "-c", conf, "--check"], capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout + p.stderr
    if os.path.exists(old):
        rc, out = check(old)
        m = re.search(r"gslbd warning: geoip: \S+GeoIP2-City-Test\.mmdb was built (\d+) days ago "
                      r"\(more than 30\)", out)
        R.check(rc == 0 and m and int(m.group(1)) > 30, "LOAD-4",
                "an old GeoIP database (MaxMind's test City DB) is a warning with its age", out)
    else:
        R.skip("LOAD-4", "an old GeoIP database is a warning", "MaxMind's test databases are "
               "not at %s (GSLBD_GEOIP_DIR)" % gdir)
    rc, out = check(S.setup.db)
    R.check(rc == 0 and "info: geoip: " in out and "was built" not in out, "LOAD-5",
            "a database built today: the info line, no warning", out)


def t_contrib():
    used = set()
    try:
        with open(DASHBOARD) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash.get("panels", []) for t in p.get("targets", [])]
        ok = dash.get("uid") and len(exprs) >= 10
    except (OSError, ValueError) as e:
        exprs, ok = [], False
        R.note("dashboard: %s" % e)
    exported = {n for n, _, _ in A.parse_prometheus(S.metrics_text)["samples"]}
    for e in exprs:
        used |= set(re.findall(r"\b((?:gslbd|process)_[a-z0-9_]+)", e))
    R.check(ok and used and used <= exported, "MET-10", "the Grafana dashboard is valid JSON "
            "with %d queries over %d metrics, all exported" % (len(exprs), len(used)),
            "not exported: %s" % sorted(used - exported))
    with open(RULES) as f:
        rnames = set(re.findall(r"\b(gslbd_[a-z0-9_]+)", f.read()))
    R.check(rnames and rnames <= exported, "MET-11", "the alert rules use %d metrics, all "
            "exported" % len(rnames), "not exported: %s" % sorted(rnames - exported))
    if not PROMTOOL:
        R.skip("MET-8", "promtool check rules", "no promtool")
        R.skip("MET-9", "promtool test rules", "no promtool")
        return
    p = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True,
                       timeout=60)
    R.check(p.returncode == 0 and "SUCCESS: 5 rules found" in p.stdout, "MET-8",
            "promtool check rules: 5 alerting rules", p.stdout + p.stderr)
    p = subprocess.run([PROMTOOL, "test", "rules", os.path.basename(RULES_TEST)],
                       cwd=os.path.dirname(RULES_TEST), capture_output=True, text=True,
                       timeout=60)
    R.check(p.returncode == 0 and "SUCCESS" in p.stdout, "MET-9",
            "promtool test rules: service all down, cluster down, failing reloads, probes "
            "failing from one instance fire as written", p.stdout + p.stderr)


def main():
    R.plan(PLAN)
    t0 = time.monotonic()
    try:
        start()
        t_ready()
        geo = t_startup_info()
        a0, a1 = t_metrics_first(geo)
        ts0, ts1 = t_reload(a0, a1)
        t_bad_reload(ts0, ts1)
        mark = t_good_reload()
        t_promtool_metrics()
        t_all_down()
        t_stop()
        t_journal(mark)
        t_fatal()
        t_old_geoip()
        t_contrib()
    except Exception as e:  # noqa: BLE001
        R.fail("NTF-1", "t_ops raised %s" % type(e).__name__,
               "%s\n%s" % (e, traceback.format_exc()) +
               ("\nlog:\n" + S.srv.log_tail() if S.srv else ""))
    finally:
        if S.srv is not None:
            S.srv.stop()
        if S.backends is not None:
            S.backends.stop()
        if S.notify is not None:
            S.notify.close()
        if S.setup is not None:
            shutil.rmtree(S.setup.dir, ignore_errors=True)
    R.note("total %.1f s" % (time.monotonic() - t0))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
