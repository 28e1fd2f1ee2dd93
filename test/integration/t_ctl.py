#!/usr/bin/env python3
"""t_ctl.py: `gslbd ctl`, the operator's client, against a real gslbd (CTL-1..CTL-9 of
docs/api.md), and the admin change history: changes made through the API and with
`gslbd --admin` + SIGHUP are logged and kept (the last 50) in /api/v1/status.

One gslbd on loopback serves test/data/api (fra-a and fra-b in Frankfurt have a live HTTP
backend, ash-a in Ashburn has none, so its check fails). The client finds the API and the
token through the config file alone: no check passes it a URL or a token. dig confirms that
state changes reach the answers. Prints the plan `1..N` first, then `ok ID ...` /
`not ok ID ...`; the daemon logs to a fresh file, and each check reads the log from a mark."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as L  # noqa: E402

R = itest.Report("t_ctl")
PLAN = 24


class S:
    setup = None
    backends = None
    srv = None


def ctl(*args, conf=None):
    """gslbd ctl -c CONF ARGS...; returns (exit status, stdout, stderr)."""
    p = L.run_gslbd(["ctl", "-c", conf or S.setup.conf] + list(args), timeout=90)
    return p.returncode, p.stdout, p.stderr


def brief(rc, out, err):
    return "exit %d\n--- stdout:\n%s\n--- stderr:\n%s" % (rc, out[-3000:], err[-2000:])


def frankfurt_answers(n=8):
    got = set()
    for _ in range(n):
        r = L.dig("www.api.test", "A", S.setup.dns_port, subnet=A.FRANKFURT)
        got.update(r.rdatas("A"))
    return got


def row_of(out, cluster):
    for line in out.splitlines():
        f = line.split()
        if len(f) > 1 and f[1] == cluster:
            return line
    return ""


def t_status():
    def healthy():
        st = A.status(S.setup)
        cs = {c["name"]: c for c in (st or {}).get("clusters", [])}
        return (cs.get("fra-a", {}).get("state") == "healthy" and
                cs.get("ash-a", {}).get("state") == "down")
    A.wait_for(healthy, 10)
    for _ in range(6):  # some answers, so that shares are not all 0
        L.dig("www.api.test", "A", S.setup.dns_port, subnet=A.FRANKFURT)
    rc, out, err = ctl("status")
    head = out.splitlines()[:1]
    R.check(rc == 0 and head and head[0].startswith("gslbd ") and
            "REGION" in out and "CLUSTER" in out and "FAILING CHECKS" in out,
            "CTL-1", "ctl status: exit 0, a summary line and the cluster table",
            lambda: brief(rc, out, err))
    fa, ash = row_of(out, "fra-a"), row_of(out, "ash-a")
    R.check(fa.split()[:4] == ["eu-central", "fra-a", "healthy", "auto"] and "%" in fa and
            ash.split()[:4] == ["us-east", "ash-a", "down", "auto"] and
            re.search(r"127\.0\.0\.4 web: \S", ash) is not None and fa.rstrip().endswith("-"),
            "CTL-1", "ctl status: region, state, admin and share per cluster; ash-a's failing "
            "check names its address, check and reason", lambda: brief(rc, out, err))
    R.check(re.search(r"^www\.api\.test\.\s+nearest\s+30/10\s+fra-a,fra-b,ash-a\s+fail_open",
                      out, re.M) is not None,
            "CTL-1", "ctl status: the services table (policy, TTLs, clusters, all_down)",
            lambda: brief(rc, out, err))
    rc, out, err = ctl("status", "--json")
    try:
        j = json.loads(out)
    except ValueError:
        j = None
    R.check(rc == 0 and isinstance(j, dict) and len(j.get("clusters", [])) == 3 and
            "admin_changes" in j,
            "CTL-1", "ctl status --json prints the status JSON (with admin_changes)",
            lambda: brief(rc, out, err))


def t_fail_open():
    # fra-a down by hand, ash-a down by its probe: solo.api.test (fra-a, ash-a) fails open
    rc0, _o, _e = ctl("down", "fra-a")
    rc, out, err = ctl("status")
    ctl("auto", "fra-a")
    R.check(rc0 == 0 and rc == 0 and
            "forced-down (failing open: answered)" in row_of(out, "fra-a") and
            "down (failing open: answered)" in row_of(out, "ash-a") and
            re.search(r"^solo\.api\.test\..*fail_open: EVERY CLUSTER DOWN$", out, re.M),
            "CTL-1", "ctl status: clusters of a service that fails open are shown as answered, "
            "and the service as EVERY CLUSTER DOWN", lambda: brief(rc, out, err))


def t_states():
    m = S.srv.mark()
    rc, out, err = ctl("drain", "fra-a")
    got = frankfurt_answers()
    R.check(rc == 0 and out.startswith("fra-a: auto -> drain, kept in ") and
            got == {"127.0.0.3"},
            "CTL-2", "ctl drain fra-a: exit 0, says auto -> drain; Frankfurt gets only fra-b",
            lambda: brief(rc, out, err) + "\ndig got %r" % sorted(got))
    R.check(S.srv.wait_log(m, r"api: 127\.0\.0\.1:\d+: cluster fra-a admin state auto -> drain")
            == 1, "CTL-2", "the change is logged with the client's address",
            lambda: S.srv.log_since(m))
    with open(S.setup.state) as f:
        sf = json.load(f)
    R.check(sf.get("clusters") == {"fra-a": "drain"} and
            str(sf.get("changed_by", "")).startswith("api 127.0.0.1:"),
            "CTL-2", "the state file holds the drain and who wrote it", json.dumps(sf))
    rc, out, err = ctl("status")
    R.check(rc == 0 and row_of(out, "fra-a").split()[2:4] == ["drained", "drain"] and
            re.search(r"^\S+Z\s+fra-a\s+auto -> drain\s+api\s+api 127\.0\.0\.1:\d+$", out,
                      re.M) is not None,
            "CTL-2", "ctl status shows fra-a drained, and the change under 'admin changes'",
            lambda: brief(rc, out, err))
    results = []
    for verb, want in (("down", "drain -> down"), ("up", "down -> up"),
                       ("undrain", "up -> auto")):
        rc, out, err = ctl(verb, "fra-a")
        results.append((verb, rc, out.strip(), err.strip()))
    got = frankfurt_answers(12)
    R.check(all(r[1] == 0 for r in results) and
            [r[2].split(",")[0] for r in results] ==
            ["fra-a: drain -> down", "fra-a: down -> up", "fra-a: up -> auto"] and
            got == {"127.0.0.2", "127.0.0.3"},
            "CTL-2", "ctl down, up, undrain: each exit 0 with from -> to; after undrain "
            "Frankfurt splits over both clusters again",
            lambda: "%r\ndig got %r" % (results, sorted(got)))
    rc, out, err = ctl("drain", "no-such")
    R.check(rc == 1 and "no cluster named 'no-such'" in err and "HTTP 404" in err,
            "CTL-3", "ctl drain of an unknown cluster: exit 1 with gslbd's reason",
            lambda: brief(rc, out, err))
    rc, out, err = ctl("drain")
    R.check(rc == 2 and "usage" in err, "CTL-3", "ctl drain without a cluster: exit 2, usage",
            lambda: brief(rc, out, err))


def t_reload():
    m = S.srv.mark()
    rc, out, err = ctl("reload")
    R.check(rc == 0 and re.match(r"reload ok \(\d+ reloads since start\)", out) is not None and
            S.srv.wait_log(m, r"reload complete") == 1,
            "CTL-4", "ctl reload: exit 0 after gslbd reloaded", lambda: brief(rc, out, err))
    good = S.setup.conf + ".good"
    shutil.copy(S.setup.conf, good)
    with open(S.setup.conf) as f:
        text = f.read()
    # a second config for the client (the broken one cannot be read by it either)
    client_conf = os.path.join(S.setup.dir, "client.json")
    shutil.copy(good, client_conf)
    try:
        with open(S.setup.conf, "w") as f:
            f.write(text.replace('"workers": 2,', '"workers": 2,,', 1))
        m = S.srv.mark()
        rc, out, err = ctl("reload", conf=client_conf)
        R.check(rc == 1 and "reload rejected" in err and
                re.search(r"gslbd\.json:\d+:\d+: ", err) is not None and
                S.srv.wait_log(m, r"reload rejected") == 1,
                "CTL-4", "ctl reload of a broken config: exit 1 with gslbd's file:line:col",
                lambda: brief(rc, out, err))
    finally:
        shutil.copy(good, S.setup.conf)
    r = L.dig("solo.api.test", "A", S.setup.dns_port, subnet=A.FRANKFURT)
    R.check(r.rdatas("A") == ["127.0.0.2"], "CTL-4",
            "after the rejected reload the old data keeps serving", r.brief())


def t_explain():
    rc, out, err = ctl("explain", "www.api.test", "A", "127.0.0.1", A.ASHBURN)
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    d = j.get("decision") or {}
    R.check(rc == 0 and j.get("service") == "www.api.test." and
            d.get("cluster") in ("fra-a", "fra-b") and d.get("ecs_scope") == 16,
            "CTL-5", "ctl explain NAME TYPE CLIENT ECS: the live decision (ash-a is down, so "
            "Ashburn fails over to Frankfurt)", lambda: brief(rc, out, err))
    rc, out, err = ctl("explain", "solo.api.test", "A", "127.0.0.1", A.FRANKFURT,
                       "--assume-down", "fra-a")
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    R.check(rc == 0 and (j.get("query") or {}).get("assume_down") == ["fra-a"] and
            (j.get("decision") or {}).get("cluster") in ("fra-a", "ash-a") and
            (j.get("decision") or {}).get("reason") == "fail_open",
            "CTL-5", "ctl explain --assume-down: the hypothesis is echoed in query.assume_down",
            lambda: brief(rc, out, err))


def t_admin_sighup():
    m = S.srv.mark()
    rc, out = L.admin(S.setup.conf, "fra-b", "down")
    S.srv.send(signal.SIGHUP)
    n = S.srv.wait_log(m, r"reload: cluster fra-b admin state auto -> down \(state file, "
                       r"written by gslbd --admin by \S+ \(uid \d+")
    R.check(rc == 0 and n == 1, "CTL-6", "--admin fra-b=down + SIGHUP: the reload logs the "
            "change and who wrote it", lambda: out + "\n--- log:\n" + S.srv.log_since(m))
    st = A.wait_for(lambda: A.status(S.setup), 5) or {}
    ch = (st.get("admin_changes") or [{}])[0]
    R.check(ch.get("cluster") == "fra-b" and ch.get("from") == "auto" and
            ch.get("to") == "down" and ch.get("via") == "state file" and
            ch.get("by", "").startswith("gslbd --admin by ") and
            re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", ch.get("time", "")),
            "CTL-6", "status admin_changes[0] is that change (time, cluster, from, to, by, via)",
            json.dumps(st.get("admin_changes"))[:2000])
    m = S.srv.mark()
    rc, out = L.admin(S.setup.conf, "fra-b", "auto")
    S.srv.send(signal.SIGHUP)
    n = S.srv.wait_log(m, r"reload: cluster fra-b admin state down -> auto \(state file")
    got = frankfurt_answers()
    R.check(rc == 0 and n == 1 and "127.0.0.3" in got, "CTL-6",
            "--admin fra-b=auto + SIGHUP brings fra-b back (logged)",
            lambda: out + "\ndig got %r\n--- log:\n%s" % (sorted(got), S.srv.log_since(m)))


def t_cap():
    for i in range(50):
        A.curl(S.setup.url("/api/v1/clusters/ash-a/state"), "POST",
               data='{"state": "%s"}' % ("drain" if i % 2 == 0 else "auto"), token=A.TOKEN)
    st = A.status(S.setup) or {}
    ch = st.get("admin_changes") or []
    R.check(len(ch) == 50 and ch[0].get("cluster") == "ash-a" and ch[0].get("to") == "auto" and
            ch[0].get("via") == "api" and ch[1].get("to") == "drain" and
            all(c.get("time", "") >= d.get("time", "") for c, d in zip(ch, ch[1:])),
            "CTL-7", "status keeps the last 50 admin changes, newest first",
            "%d changes: %s" % (len(ch), json.dumps(ch[:3])))


def t_config_errors():
    # the token file closed to this user: status works, changes say why they cannot
    notoken = os.path.join(S.setup.dir, "notoken.json")
    with open(S.setup.conf) as f:
        conf = json.load(f)
    conf["api"]["token_file"] = "missing.token"
    with open(notoken, "w") as f:
        json.dump(conf, f)
    rc1, out1, err1 = ctl("status", conf=notoken)
    rc2, out2, err2 = ctl("drain", "fra-a", conf=notoken)
    R.check(rc1 == 0 and rc2 == 3 and "missing.token" in err2 and
            "cannot read the token file" in err2,
            "CTL-8", "a token file that cannot be read: status works, a change exits 3 naming "
            "the file", lambda: brief(rc1, out1, err1) + "\n" + brief(rc2, out2, err2))
    bad = os.path.join(S.setup.dir, "bad.json")
    with open(bad, "w") as f:
        f.write('{\n  "api": {"listen": "127.0.0.1:1",}\n}\n')
    rc, out, err = ctl("status", conf=bad)
    R.check(rc == 3 and re.search(r"bad\.json:2:\d+: ", err) is not None,
            "CTL-8", "a broken config: exit 3 with file:line:col", lambda: brief(rc, out, err))
    conf["api"]["listen"] = "127.0.0.1:%d" % itest.free_port(("127.0.0.1",))
    away = os.path.join(S.setup.dir, "away.json")
    with open(away, "w") as f:
        json.dump(conf, f)
    rc, out, err = ctl("status", conf=away)
    R.check(rc == 4 and "no answer from gslbd's API at http://127.0.0.1:" in err,
            "CTL-9", "no gslbd at the configured address: exit 4 and says where it looked",
            lambda: brief(rc, out, err))


def main():
    R.plan(PLAN)
    try:
        S.backends = A.Backends().start()
        S.setup = A.Setup("ctl")
        S.setup.write(S.backends.port)
        S.srv = S.setup.start("t_ctl")
        t_status()
        t_fail_open()
        t_states()
        t_reload()
        t_explain()
        t_admin_sighup()
        t_cap()
        t_config_errors()
    except Exception:  # report, then stop the servers (atexit)
        R.fail("CTL-0", "t_ctl raised", traceback.format_exc())
    finally:
        if S.srv is not None:
            S.srv.stop()
        if S.backends is not None:
            S.backends.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
