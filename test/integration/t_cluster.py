#!/usr/bin/env python3
"""t_cluster.py: cluster mode through etcd (docs/cluster.md) with three real gslbd instances
and one real etcd (Debian's etcd-server) on loopback, asked with dnsq.py; admin changes
POSTed with curl.

Instance i (1..3) probes from its own source address 127.0.0.4i; the backends are
backend.py on 127.0.3.1 (cluster "one", first choice of the failover service) and 127.0.3.2
(cluster "two"). Checked, with the times measured printed as notes:
  CL-1  all three connect, each lists three instances
  CL-2  a drain POSTed to instance 1 moves the answers of all three within 1 s; undo too
  CL-3  "majority": a backend refusing only instance 1 stays in service on all three, and
        the disagreement is shown in status, metrics and the dashboard (headless chromium)
  CL-4  "local": the same backend is taken out by instance 1 alone
  CL-5  a backend that dies is taken out by all three within the check's bound + 1 s
  CL-6  etcd stopped: every instance answers as before, says so (status, metrics, log,
        the dashboard's banner);
        a backend dying meanwhile is failed over by local probes; a drain POSTed meanwhile
        is applied here at once
  CL-7  etcd started again: all reconnect and the queued drain reaches all within 2 s
  CL-8  an instance killed: its observations disappear when its lease expires
  CL-9  a 3-member etcd cluster with one member stopped: the instance that used it moves
        to another member, drains and failovers still reach all three
Prints a TAP plan, then `ok ID ...` / `not ok ID ...`; all servers are stopped at exit."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402

R = itest.Report("t_cluster")
PLAN = 31
HERE = os.path.dirname(os.path.abspath(__file__))
BACKEND = os.path.join(HERE, "backend.py")
STEP = 0.02
Q = int(round(itest.slowdown()))
CHECK = {"interval": 200 * Q, "timeout": 150 * Q, "fall": 2, "rise": 2}
BOUND_MS = CHECK["interval"] * CHECK["fall"] + CHECK["timeout"] + 100
LEASE_S = 2
ADDR_ONE, ADDR_TWO = "127.0.3.1", "127.0.3.2"
SOURCES = ["127.0.0.41", "127.0.0.42", "127.0.0.43"]
NAME = "www.cluster.test."
TOKEN = "t_cluster-token-0123456789"


class S:
    tmp = None
    etcd = None
    etcd_port = None
    etcd_peer = None
    bport = None
    backends = {}
    inst = []  # Instance
    times = {}


class Proc:
    """A helper process (etcd, backend.py), stopped at exit like gslbd is."""

    def __init__(self, name, argv):
        self.name = name
        self.argv = argv
        self.proc = None
        self.log_path = os.path.join(itest.outdir("logs"), "t_cluster-%s.log" % name)

    def start(self):
        err = open(itest.fresh_log(self.log_path), "ab")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        err.close()
        itest._servers.append(self)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in itest._servers:
            itest._servers.remove(self)


class Instance:
    def __init__(self, i, rule):
        self.i = i
        self.name = "gslbd-%d" % i
        self.port = itest.free_port(("127.0.0.1",))
        self.api = itest.free_port(("127.0.0.1",))
        self.conf = os.path.join(S.tmp, "%s.json" % self.name)
        self.state = os.path.join(S.tmp, "%s.state" % self.name)
        self.write(rule)
        self.srv = itest.Gslbd("t_cluster-%s" % self.name, ["-c", self.conf],
                               probe=("127.0.0.1", self.port, "cluster.test."))

    def write(self, rule, endpoints=None):
        token = os.path.join(S.tmp, "token")
        conf = {
            "listen": ["127.0.0.1:%d" % self.port], "workers": 1,
            "zones": [{"origin": "cluster.test.", "file": os.path.join(S.tmp, "cluster.zone")}],
            "startup_wait_ms": 3000,
            "regions": [{"name": "lo", "lat": 50.1, "lon": 8.7}],
            "checks": [{"name": "web", "type": "http", "port": S.bport, "path": "/health",
                        "interval_ms": CHECK["interval"], "timeout_ms": CHECK["timeout"],
                        "fall": CHECK["fall"], "rise": CHECK["rise"],
                        "source": SOURCES[self.i - 1]}],
            "clusters": [{"name": "one", "region": "lo", "addresses": [ADDR_ONE],
                          "checks": ["web"]},
                         {"name": "two", "region": "lo", "addresses": [ADDR_TWO],
                          "checks": ["web"]}],
            "services": [{"name": NAME, "policy": "failover", "clusters": ["one", "two"],
                          "ttl": 30, "failover_ttl": 5}],
            "state_file": self.state,
            "api": {"listen": "127.0.0.1:%d" % self.api, "token_file": token},
        }
        if rule is not None:  # None: standalone (bench/cluster.py compares both)
            conf["cluster"] = {"endpoints": endpoints or ["http://127.0.0.1:%d" % S.etcd_port],
                               "prefix": "/t_cluster/", "name": self.name,
                               "lease_ttl_s": LEASE_S, "health_rule": rule}
        with open(self.conf, "w") as f:
            json.dump(conf, f, indent=2)

    def answer(self):
        try:
            m = dnsq.query(NAME, "A", host="127.0.0.1", port=self.port, timeout=0.5)
        except (OSError, dnsq.WireError):
            return None
        if m is None:
            return None
        a = sorted(r.text for r in m.answer if r.type == 1)
        return a[0] if len(a) == 1 else ",".join(a)

    def status(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/status" % self.api,
                                    timeout=3) as r:
            return json.load(r)

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.api, timeout=3) as r:
            return r.read().decode()

    def post_state(self, cluster, state, why="t_cluster"):
        p = subprocess.run(
            ["curl", "-sS", "-m", "10", "-X", "POST", "-H", "Authorization: Bearer " + TOKEN,
             "-H", "Content-Type: application/json",
             "-d", json.dumps({"state": state, "why": why}),
             "http://127.0.0.1:%d/api/v1/clusters/%s/state" % (self.api, cluster)],
            capture_output=True, text=True, timeout=15)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"error": p.stdout + p.stderr}


# ---------------------------------------------------------------------------------------


def wait_for(cond, timeout):
    """Poll cond() every STEP until true; the seconds it took, or None."""
    t0 = time.monotonic()
    while True:
        if cond():
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(STEP)


def all_answer(addr, insts=None):
    return all(x.answer() == addr for x in (insts or S.inst))


def times_until(addr, timeout, insts=None, t0=None):
    """Per instance: seconds from t0 (default now) until it answers addr (polled together),
    None if never."""
    insts = insts or S.inst
    t0 = time.monotonic() if t0 is None else t0
    got = {x.i: None for x in insts}
    while time.monotonic() - t0 <= timeout and any(v is None for v in got.values()):
        for x in insts:
            if got[x.i] is None and x.answer() == addr:
                got[x.i] = time.monotonic() - t0
        time.sleep(STEP)
    return got


def set_backend(addr, mode):
    path = os.path.join(S.tmp, "mode-%s" % addr)
    with open(path + ".tmp", "w") as f:
        f.write(mode + "\n")
    os.rename(path + ".tmp", path)
    p = S.backends.get(addr)
    if p is not None and p.alive():
        p.proc.send_signal(signal.SIGUSR1)


def dashboard_dom(inst):
    """The dashboard of inst as headless chromium draws it (t_dashboard.py's runner), or
    None without chromium."""
    import t_dashboard
    if t_dashboard.chromium_bin() is None:
        return None
    rc, out, err = t_dashboard.chromium("http://127.0.0.1:%d/" % inst.api, ["--dump-dom"])
    return out


def etcd_argv():
    c, p = S.etcd_port, S.etcd_peer
    return ["etcd", "--name", "e1", "--data-dir", os.path.join(S.tmp, "etcd"),
            "--listen-client-urls", "http://127.0.0.1:%d" % c,
            "--advertise-client-urls", "http://127.0.0.1:%d" % c,
            "--listen-peer-urls", "http://127.0.0.1:%d" % p,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % p,
            "--initial-cluster", "e1=http://127.0.0.1:%d" % p,
            "--listen-metrics-urls", "http://127.0.0.1:%d" % itest.free_port(("127.0.0.1",)),
            "--log-level", "warn"]


def etcd_ready():
    try:
        req = urllib.request.Request("http://127.0.0.1:%d/v3/kv/range" % S.etcd_port,
                                     data=b'{"key":"AA=="}', method="POST")
        with urllib.request.urlopen(req, timeout=0.5) as r:
            return r.status == 200
    except OSError:
        return False


def start_etcd():
    S.etcd = Proc("etcd", etcd_argv()).start()
    if wait_for(etcd_ready, itest.slack(15)) is None:
        raise RuntimeError("etcd did not come up; see %s" % S.etcd.log_path)


def start_instances(rule):
    S.inst = [Instance(i, rule) for i in (1, 2, 3)]
    for x in S.inst:
        x.srv.start(wait=False)
    for x in S.inst:
        x.srv.wait_ready(15)


def restart_instances(rule, endpoints=None):
    for x in S.inst:
        x.srv.stop()
    for x in S.inst:
        x.write(rule, endpoints(x) if endpoints else None)
        x.srv.start(wait=False)
    for x in S.inst:
        x.srv.wait_ready(15)


def connected_all(n=3):
    def ok():
        try:
            return all(x.status().get("cluster", {}).get("connected") and
                       len(x.status()["cluster"]["instances"]) == n for x in S.inst)
        except OSError:
            return False
    return ok


# ---------------------------------------------------------------------------------------


def t_connect():
    t = wait_for(connected_all(), itest.slack(10))
    R.check(t is not None, "CL-1", "three instances connect to etcd and each lists three")
    st = S.inst[0].status().get("cluster", {})
    R.check(st.get("health_rule") == "majority" and st.get("instance") == "gslbd-1",
            "CL-1", "status names the instance and the rule", json.dumps(st)[:300])
    R.check(wait_for(lambda: all_answer(ADDR_ONE), itest.slack(5)) is not None, "CL-1",
            "all three answer cluster one while both backends are healthy",
            str([x.answer() for x in S.inst]))


def t_drain():
    marks = [x.srv.mark() for x in S.inst]
    t0 = time.monotonic()
    rep = S.inst[0].post_state("one", "drain", "maintenance window")
    got = times_until(ADDR_TWO, itest.slack(3), t0=t0)
    worst = max((v for v in got.values() if v is not None), default=None)
    R.check(rep.get("shared") is True and rep.get("state") == "drain", "CL-2",
            "POST drain on instance 1: written to etcd (\"shared\": true)", json.dumps(rep))
    ok = all(v is not None and v <= itest.slack(1.0) for v in got.values())
    R.check(ok, "CL-2", "the drain moves the answers of all three within 1 s",
            "times %s" % got)
    R.note("drain propagation (POST on instance 1 -> answer moved): %s s" % ", ".join(
        "%s=%.3f" % (k, v) if v is not None else "%s=never" % k for k, v in sorted(got.items())))
    S.times["drain"] = worst
    m = S.inst[1].srv.wait_log(marks[1], r"cluster: cluster one admin state auto -> drain "
                               r"\(shared: by api", timeout=itest.slack(2))
    R.check(m, "CL-2", "instance 2 logs the shared change with who and why",
            S.inst[1].srv.log_since(marks[1])[-400:])
    st = S.inst[2].status()["cluster"]
    sa = [a for a in st.get("shared_admin", []) if a["cluster"] == "one"]
    R.check(sa and sa[0]["state"] == "drain" and sa[0]["why"] == "maintenance window",
            "CL-2", "instance 3's status shows the shared state, who and why", json.dumps(sa))
    m3 = S.inst[2].srv.mark()
    S.inst[2].srv.send(signal.SIGHUP)
    reloaded = S.inst[2].srv.wait_log(m3, r"reload complete", timeout=itest.slack(5))
    time.sleep(0.3)
    st = S.inst[2].status()["cluster"]
    R.check(reloaded and S.inst[2].answer() == ADDR_TWO and st["connected"] and
            len(st["instances"]) == 3 and len(st["instances"][0]["observations"]) == 2, "CL-2",
            "a reload (SIGHUP) of instance 3 keeps the shared drain, the session and its "
            "observations", json.dumps(st)[:400])
    t0 = time.monotonic()
    S.inst[1].post_state("one", "auto")
    got = times_until(ADDR_ONE, itest.slack(3), t0=t0)
    R.check(all(v is not None and v <= itest.slack(1.0) for v in got.values()), "CL-2",
            "auto POSTed to instance 2 brings all three back within 1 s", "times %s" % got)


def t_majority():
    set_backend(ADDR_ONE, "deny:" + SOURCES[0])
    time.sleep((BOUND_MS + itest.slack(1000)) / 1000.0 * Q)
    ans = [x.answer() for x in S.inst]
    R.check(ans == [ADDR_ONE] * 3, "CL-3",
            "majority: a backend refusing only instance 1 stays in service on all three",
            str(ans))
    st = S.inst[0].status()["cluster"]
    mine = [o for o in st["instances"][0]["observations"] if o["address"] == ADDR_ONE]
    dis = [d for d in st["disagreements"] if d["address"] == ADDR_ONE]
    views = {i["name"]: i["clusters"].get("one") for i in st["instances"]}
    R.check(mine and not mine[0]["up"] and dis and dis[0]["down"] == ["gslbd-1"] and
            views == {"gslbd-1": "down", "gslbd-2": "up", "gslbd-3": "up"}, "CL-3",
            "status: instance 1 sees it down, each instance's view of cluster one, and the "
            "disagreement is listed", json.dumps(st["disagreements"]) + " " + json.dumps(views))
    met = S.inst[1].metrics()
    R.check("gslbd_shared_disagreements 1" in met and "gslbd_shared_etcd_connected 1" in met and
            "gslbd_shared_instances 3" in met, "CL-3",
            "metrics: connected, 3 instances, 1 disagreement")
    dom = dashboard_dom(S.inst[0])
    if dom is None:
        R.skip("CL-3", "dashboard lists the instances", "no chromium")
    else:
        sec = dom[dom.find('id="instances-s"') - 60:dom.find('id="instances-s"') + 40]
        R.check("hidden" not in sec and all(n in dom for n in ("gslbd-2", "gslbd-3")) and
                'data-disagree="yes"' in dom and 'id="etcd-lost"' not in dom, "CL-3",
                "the dashboard lists the three instances and marks the disagreement",
                sec + " ... " + dom[-600:])


def t_local():
    restart_instances("local")
    wait_for(connected_all(), itest.slack(10))
    time.sleep((BOUND_MS + itest.slack(1000)) / 1000.0 * Q)
    ans = [x.answer() for x in S.inst]
    R.check(ans == [ADDR_TWO, ADDR_ONE, ADDR_ONE], "CL-4",
            "local: the backend refusing instance 1 is taken out by instance 1 alone", str(ans))
    set_backend(ADDR_ONE, "ok")
    restart_instances("majority")
    wait_for(connected_all(), itest.slack(10))
    wait_for(lambda: all_answer(ADDR_ONE), itest.slack(5))


def t_dies():
    set_backend(ADDR_ONE, "off")
    got = times_until(ADDR_TWO, itest.slack(5))
    limit = (BOUND_MS + itest.slack(1000)) / 1000.0
    R.check(all(v is not None and v <= limit for v in got.values()), "CL-5",
            "majority: a backend that dies is taken out by all three within bound + 1 s "
            "(%.2f s)" % limit, "times %s" % got)
    R.note("failover, cluster mode (majority), backend dies: %s s" % ", ".join(
        "%s=%.3f" % (k, v) if v is not None else "%s=never" % k for k, v in sorted(got.items())))
    set_backend(ADDR_ONE, "ok")
    R.check(wait_for(lambda: all_answer(ADDR_ONE), itest.slack(5)) is not None, "CL-5",
            "it comes back on all three once it answers again")


def t_etcd_down():
    before = [x.answer() for x in S.inst]
    marks = [x.srv.mark() for x in S.inst]
    S.etcd.stop(signal.SIGKILL)
    logged = all(x.srv.wait_log(m, r"cluster: etcd lost", timeout=itest.slack(8))
                 for x, m in zip(S.inst, marks))
    R.check(logged, "CL-6", "etcd stopped: every instance logs that it lost etcd")
    stable = True
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1.0:
        stable = stable and [x.answer() for x in S.inst] == before
        time.sleep(0.05)
    R.check(stable, "CL-6", "without etcd every instance answers exactly as before",
            "before %s now %s" % (before, [x.answer() for x in S.inst]))
    st = S.inst[0].status()["cluster"]
    R.check(st["connected"] is False and "gslbd_shared_etcd_connected 0" in S.inst[0].metrics(),
            "CL-6", "status and metrics say etcd is unreachable")
    dom = dashboard_dom(S.inst[1])
    if dom is None:
        R.skip("CL-6", "the dashboard's banner", "no chromium")
    else:
        R.check('id="etcd-lost"' in dom and "etcd unreachable" in dom, "CL-6",
                "the dashboard shows the etcd-unreachable banner", dom[:600])
    set_backend(ADDR_ONE, "off")
    got = times_until(ADDR_TWO, itest.slack(5))
    limit = (BOUND_MS + itest.slack(1000)) / 1000.0
    R.check(all(v is not None and v <= limit for v in got.values()),
            "CL-6", "a backend dying without etcd is failed over by local probes", str(got))
    set_backend(ADDR_ONE, "ok")
    wait_for(lambda: all_answer(ADDR_ONE), itest.slack(5))
    rep = S.inst[0].post_state("one", "drain", "during the etcd outage")
    R.check(rep.get("shared") is False and rep.get("state") == "drain" and
            S.inst[0].answer() == ADDR_TWO, "CL-6",
            "a drain POSTed without etcd applies here at once (\"shared\": false)",
            json.dumps(rep))


def t_etcd_back():
    t0 = time.monotonic()
    start_etcd()
    t_up = time.monotonic() - t0
    tc = wait_for(connected_all(), itest.slack(5))
    tc = tc + t_up if tc is not None else None
    got = times_until(ADDR_TWO, itest.slack(5), insts=S.inst[1:], t0=t0)
    total = max(got.values()) if all(v is not None for v in got.values()) else 99
    R.note("etcd started again (its own start-up took %.3f s): all reconnected after %s s; the "
           "queued drain on instances 2 and 3 after %s s" % (
               t_up, "%.3f" % tc if tc is not None else "never",
               ", ".join("%.3f" % v if v is not None else "never" for v in got.values())))
    R.check(tc is not None and tc - t_up <= itest.slack(2.0), "CL-7",
            "etcd started again: all reconnect within 2 s of etcd answering", "took %s" % tc)
    R.check(total - t_up <= itest.slack(2.0), "CL-7",
            "the drain queued during the outage reaches all three within 2 s", str(got))
    S.inst[0].post_state("one", "auto")
    wait_for(lambda: all_answer(ADDR_ONE), itest.slack(3))


def t_instance_killed():
    victim = S.inst[2]
    victim.srv.proc.kill()
    victim.srv.proc.wait()

    def gone():
        st = S.inst[0].status()["cluster"]
        return (len(st["instances"]) == 2 and
                not any(i["name"] == victim.name for i in st["instances"]))
    t = wait_for(gone, itest.slack(LEASE_S + 4))
    R.note("instance 3 killed: its observations gone from instance 1 after %s s (lease %d s)"
           % ("%.3f" % t if t is not None else "never", LEASE_S))
    R.check(t is not None and t >= LEASE_S - 1.0, "CL-8",
            "an instance killed: its observations disappear when its lease expires",
            "took %s" % t)
    m = S.inst[0].srv.log_since(0)
    R.check("instance gslbd-3 is gone" in m, "CL-8", "instance 1 logs that gslbd-3 is gone")
    victim.srv.stop()


def t_three_members():
    S.etcd.stop()
    members = []
    ports = [(itest.free_port(("127.0.0.1",)), itest.free_port(("127.0.0.1",))) for _ in range(3)]
    initial = ",".join("m%d=http://127.0.0.1:%d" % (i + 1, p) for i, (_, p) in enumerate(ports))
    for i, (c, p) in enumerate(ports):
        members.append(Proc("etcd-m%d" % (i + 1), [
            "etcd", "--name", "m%d" % (i + 1), "--data-dir", os.path.join(S.tmp, "m%d" % (i + 1)),
            "--listen-client-urls", "http://127.0.0.1:%d" % c,
            "--advertise-client-urls", "http://127.0.0.1:%d" % c,
            "--listen-peer-urls", "http://127.0.0.1:%d" % p,
            "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % p,
            "--initial-cluster", initial, "--initial-cluster-state", "new",
            "--listen-metrics-urls", "http://127.0.0.1:%d" % itest.free_port(("127.0.0.1",)),
            "--log-level", "warn"]).start())
    S.etcd_port = ports[0][0]
    wait_for(etcd_ready, itest.slack(15))
    urls = ["http://127.0.0.1:%d" % c for c, _ in ports]
    # instance i starts at member i, then tries the others
    restart_instances("majority", lambda x: urls[x.i - 1:] + urls[:x.i - 1])
    R.check(wait_for(connected_all(), itest.slack(10)) is not None, "CL-9",
            "three instances connect to a 3-member etcd cluster, each through its own member")
    # the member instance 1 uses (its first, unless that one was not ready yet)
    used = S.inst[0].status()["cluster"]["endpoint"]
    victim = members[urls.index(used)] if used in urls else members[0]
    marks = [x.srv.mark() for x in S.inst]
    t0 = time.monotonic()
    victim.stop(signal.SIGKILL)
    t = wait_for(lambda: S.inst[0].srv.wait_log(marks[0], r"cluster: connected to etcd at ",
                                                 timeout=0.05), itest.slack(5))
    t = t if t is None else time.monotonic() - t0
    R.note("3-member etcd, the member instance 1 used (%s) killed: connected through another "
           "after %s s" % (victim.name, "%.3f" % t if t is not None else "never"))
    # when the member was etcd's leader, etcd first elects another (election timeout 1 s by
    # default); then our backoff (at most 1 s) finds the next member
    R.check(t is not None and t <= itest.slack(3.0), "CL-9",
            "the member instance 1 uses killed: it moves to another within etcd's election "
            "timeout + our backoff (3 s)", "took %s" % t)
    t0 = time.monotonic()
    rep = S.inst[1].post_state("one", "drain", "member down")
    got = times_until(ADDR_TWO, itest.slack(3), t0=t0)
    R.note("3-member etcd, one member down: drain propagation %s s" % ", ".join(
        "%s=%.3f" % (k, v) if v is not None else "%s=never" % k for k, v in sorted(got.items())))
    R.check(rep.get("shared") is True and
            all(v is not None and v <= itest.slack(1.0) for v in got.values()),
            "CL-9", "with one member down a drain moves the answers of all three within 1 s",
            "reply %s times %s" % (rep, got))
    S.inst[1].post_state("one", "auto")
    wait_for(lambda: all_answer(ADDR_ONE), itest.slack(3))
    set_backend(ADDR_ONE, "off")
    got = times_until(ADDR_TWO, itest.slack(5))
    limit = (BOUND_MS + itest.slack(1000)) / 1000.0
    R.check(all(v is not None and v <= limit for v in got.values()),
            "CL-9", "with one member down a dying backend is taken out by all three within "
            "bound + 1 s", str(got))
    set_backend(ADDR_ONE, "ok")
    st = S.inst[0].status()["cluster"]
    R.check(st["connected"] and len(st["instances"]) == 3, "CL-9",
            "instance 1's status: connected, three instances", json.dumps(st)[:300])
    for x in S.inst:
        x.srv.stop()
    for m in members:
        m.stop()


def setup():
    """Backends, zone, token and one etcd (also used by bench/cluster.py)."""
    S.tmp = itest.tmpdir("gslbd-cluster-")
    S.etcd_port = itest.free_port(("127.0.0.1",))
    S.etcd_peer = itest.free_port(("127.0.0.1",))
    S.bport = itest.free_port(("127.0.3.1", "127.0.3.2"))
    with open(os.path.join(S.tmp, "cluster.zone"), "w") as f:
        f.write("$ORIGIN cluster.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                "@ IN NS ns1\nns1 IN A 192.0.2.53\n")
    tok = os.path.join(S.tmp, "token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, 0o600)
    for addr in (ADDR_ONE, ADDR_TWO):
        set_backend(addr, "ok")
        S.backends[addr] = Proc("backend-" + addr, [
            sys.executable, BACKEND, "--listen", "%s:%d" % (addr, S.bport),
            "--control", os.path.join(S.tmp, "mode-%s" % addr)]).start()
    start_etcd()


def main():
    R.plan(PLAN)
    if shutil.which("etcd") is None:
        R.skip("CL", "cluster mode", "no etcd binary (Debian package etcd-server)", PLAN)
        return R.finish()
    setup()
    start_instances("majority")
    steps = [t_connect, t_drain, t_majority, t_local, t_dies, t_etcd_down, t_etcd_back,
             t_instance_killed, t_three_members]
    for step in steps:
        try:
            step()
        except Exception:
            R.fail("CL", "%s raised" % step.__name__, traceback.format_exc())
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
