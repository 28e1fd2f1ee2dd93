#!/usr/bin/env python3
"""t_harden2.py: the file-handling rules of docs/hardening.md ("Files") and two fixes of
issue 12, through real gslbd processes on loopback, with dig, curl and dnsq.py:

  STATE-1..4  the state file is written through a fresh temp file, never through a link
              planted at a guessable name (gslbd --admin and the API); an empty or torn
              state file warns and keeps the running states (reload) or starts all auto
  INC-1..5    $INCLUDE stays in the zone file's folder (and zone_include_dirs); errors
              (log, GET /api/v1/status, --check) never quote a file's text
  BND-1..4    zone data only from regular files, at most zone_max_bytes per zone: /dev/zero,
              a FIFO and a too-big file are rejected quickly, the old data still served
  LOG-1       a control character in an API path cannot forge a log line
  EDNS-6      two COOKIE options: FORMERR with an OPT, no COOKIE
  USER-1..3   --user: private files must belong to that user, what reloads read is read as
              that user at start and --check (root only; skipped otherwise)

Prints a TAP plan and `ok ID ...` / `not ok ID ...`; every server it starts is stopped."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
from dnsq import Edns, make_query  # noqa: E402
from t_api_lib import curl  # noqa: E402

R = itest.Report("t_harden2")
# The number of checks main() reports, whatever the environment (not root: USER-* skipped).
PLAN = 18
TOKEN = "Zq3vX9pLm2Rt7Yw4Kd8Hs6Nf1Bc5Jg0TqAa3vX9pLm2Rt7Yw4Kd8Hs6Nf1Bc5Jg0"
ORIGIN = "files.test."
ZONE = """$ORIGIN files.test.
$TTL 60
@ SOA ns.files.test. h.files.test. %d 3600 600 86400 60
@ NS ns
ns A 192.0.2.1
www A 192.0.2.80
%s
"""


class S:
    d = None  # the test folder (mode 755)
    zdir = None  # its zones/ folder
    zone = None
    conf = None
    dns = api = None
    srv = None
    serial = 1


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def write_zone(extra="", serial=None):
    S.serial = serial if serial is not None else S.serial + 1
    write(S.zone, ZONE % (S.serial, extra))


def write_conf(**extra):
    conf = {"listen": ["127.0.0.1:%d" % S.dns], "workers": 1,
            "zones": [{"origin": ORIGIN, "file": "zones/files.zone"}],
            "regions": [{"name": "r1", "lat": 50.0, "lon": 8.0}],
            "clusters": [{"name": "c1", "region": "r1", "addresses": ["192.0.2.11"]},
                         {"name": "c2", "region": "r1", "addresses": ["192.0.2.12"]}],
            "services": [{"name": "svc.files.test", "clusters": ["c1", "c2"]}],
            "state_file": "state.json",
            "startup_wait_ms": 0,
            "api": {"listen": "127.0.0.1:%d" % S.api, "token_file": "api.token"}}
    conf.update(extra)
    write(S.conf, json.dumps(conf, indent=2) + "\n")


def setup():
    S.d = itest.tmpdir("gslbd-harden2-")
    os.chmod(S.d, 0o755)
    S.zdir = os.path.join(S.d, "zones")
    os.mkdir(S.zdir, 0o755)
    S.zone = os.path.join(S.zdir, "files.zone")
    S.conf = os.path.join(S.d, "gslbd.json")
    write(os.path.join(S.d, "api.token"), TOKEN + "\n", 0o600)
    S.dns = itest.free_port(("127.0.0.1",))
    S.api = itest.free_port(("127.0.0.1",))
    write_zone(serial=1)
    write_conf()
    S.srv = itest.Gslbd("t_harden2", ["-c", S.conf], probe=("127.0.0.1", S.dns, ORIGIN)).start()


def url(path):
    return "http://127.0.0.1:%d%s" % (S.api, path)


def status():
    r = curl(url("/api/v1/status"))
    return r.json() if r.status == 200 else None


def dig(name, qtype="A", *args):
    p = subprocess.run(["dig", "@127.0.0.1", "-p", str(S.dns), "+norec", "+short", "+time=2",
                        "+tries=1", name, qtype] + list(args),
                       capture_output=True, text=True, timeout=10)
    return p.stdout.strip()


def serial():
    out = dig(ORIGIN, "SOA")
    parts = out.split()
    return int(parts[2]) if len(parts) >= 3 else None


def reload():
    """SIGHUP; waits for its outcome. (accepted, seconds, the log lines it added)"""
    m = S.srv.mark()
    t0 = time.monotonic()
    S.srv.send(signal.SIGHUP)
    ok = S.srv.wait_log(m, r"reload (complete|rejected)", timeout=30)
    took = time.monotonic() - t0
    text = S.srv.log_since(m)
    return ok and "reload complete" in text, took, text


def leaks(text, secret, n=8):
    """Any n-byte run of secret found in text."""
    for i in range(len(secret) - n + 1):
        if secret[i:i + n] in text:
            return secret[i:i + n]
    return None


def admin_state(name):
    for c in (status() or {}).get("clusters", []):
        if c.get("name") == name:
            return c.get("admin") or c.get("state")
    return None


# ---------------------------------------------------------------------------------------
# STATE: the state file


def t_state():
    state = os.path.join(S.d, "state.json")
    victim = write(os.path.join(S.d, "victim"), "precious\n")
    link = state + ".tmp"  # the name older versions wrote through
    os.symlink(victim, link)
    p = subprocess.run([itest.GSLBD, "-c", S.conf, "--admin", "c1=drain"], capture_output=True,
                       text=True, timeout=30)
    with open(victim) as f:
        v = f.read()
    try:
        with open(state) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = None
    R.check(p.returncode == 0 and v == "precious\n" and os.path.islink(link)
            and not os.path.islink(state) and (saved or {}).get("clusters") == {"c1": "drain"},
            "STATE-1", "gslbd --admin with a link planted at state.json.tmp: the link's target "
            "is untouched, state.json is a new regular file",
            "rc %d %s%s; victim now %r; state %r" % (p.returncode, p.stdout, p.stderr, v, saved))

    # the daemon's API save, with a link still planted
    ok, _, _ = reload()
    r = curl(url("/api/v1/clusters/c2/state"), "POST", data='{"state": "down"}', token=TOKEN,
             headers=("Content-Type: application/json",))
    with open(victim) as f:
        v = f.read()
    try:
        with open(state) as f:
            saved = json.load(f)
    except (OSError, ValueError):
        saved = None
    R.check(ok and r.status == 200 and v == "precious\n"
            and (saved or {}).get("clusters") == {"c1": "drain", "c2": "down"}, "STATE-2",
            "the daemon's save (POST .../c2/state) with the link planted: target untouched, "
            "state saved", "reload %s; %s; victim %r; state %r" % (ok, r.brief(), v, saved))

    # an empty state file: the reload goes through, says so, keeps the running states
    write(state, "")
    ok, took, text = reload()
    st = status() or {}
    R.check(ok and "state file unusable" in text and state in text
            and st and not st.get("last_reload_error") and admin_state("c1") == "drain"
            and admin_state("c2") == "down", "STATE-3",
            "an empty state file: the reload succeeds with a warning naming the file and the "
            "admin states kept", "%s\nc1 %s c2 %s" % (text, admin_state("c1"), admin_state("c2")))

    # a torn one at start: starts, every cluster auto
    write(state, '{"clusters": {"c1": "dr')
    S.srv.stop()
    S.srv = itest.Gslbd("t_harden2", ["-c", S.conf], probe=("127.0.0.1", S.dns, ORIGIN))
    started = True
    try:
        S.srv.start()
    except RuntimeError as ex:
        started = str(ex)
    text = S.srv.log_text()
    R.check(started is True and "state file unusable" in text and state in text
            and admin_state("c1") == "auto", "STATE-4",
            "a torn state file at start: gslbd starts with a warning naming the file, all auto",
            "%s\n%s" % (started, text[-2000:]))
    for f in (link, state):  # older versions renamed the link itself into place
        if os.path.lexists(f):
            os.unlink(f)
    if not S.srv.alive():  # the later steps need a server, whatever happened here
        S.srv.stop()
        S.srv = itest.Gslbd("t_harden2", ["-c", S.conf], probe=("127.0.0.1", S.dns, ORIGIN))
        S.srv.start()


# ---------------------------------------------------------------------------------------
# INC: $INCLUDE confinement, errors without file content


def t_include():
    good = serial()
    write_zone("$INCLUDE ../api.token")
    ok, _, text = reload()
    st = status() or {}
    err = st.get("last_reload_error") or ""
    R.check(not ok and "outside the folders" in err and "files.zone:7:10" in err
            and leaks(err + text, TOKEN) is None and serial() == good, "INC-1",
            "$INCLUDE ../api.token: rejected as outside the zone's folder; status and log "
            "hold no 8 characters of the token; the old data served", err)

    # the token copied into the zone's folder: read, but never quoted
    shutil.copy(os.path.join(S.d, "api.token"), os.path.join(S.zdir, "api.token"))
    write_zone("$INCLUDE api.token")
    ok, _, text = reload()
    st = status() or {}
    err = st.get("last_reload_error") or ""
    R.check(not ok and "api.token:1:1: " in err and leaks(err + text, TOKEN) is None
            and serial() == good, "INC-2",
            "$INCLUDE of a secret in the zone's folder: GET /api/v1/status names file:line:col, "
            "no 8-character run of the secret in it or the log", err)

    # a link in the folder pointing out of it
    os.unlink(os.path.join(S.zdir, "api.token"))
    os.symlink("../api.token", os.path.join(S.zdir, "link.inc"))
    write_zone("$INCLUDE link.inc")
    ok, _, text = reload()
    err = (status() or {}).get("last_reload_error") or ""
    R.check(not ok and "outside the folders" in err and leaks(err + text, TOKEN) is None,
            "INC-3", "$INCLUDE of a link that points out of the folder: rejected", err)
    os.unlink(os.path.join(S.zdir, "link.inc"))

    # --check prints no secret either
    secret = write(os.path.join(S.zdir, "secret.inc"), "root:" + TOKEN + ":19000:0:99999:7:::\n")
    write_zone("$INCLUDE secret.inc")
    p = subprocess.run([itest.GSLBD, "-c", S.conf, "--check"], capture_output=True, text=True,
                       timeout=30)
    out = p.stdout + p.stderr
    R.check(p.returncode != 0 and "secret.inc:1:" in out and leaks(out, TOKEN) is None
            and "root:" not in out, "INC-4",
            "--check on a zone including a file with a secret first line: the error names "
            "file:line:col, prints none of it", out)
    os.unlink(secret)

    # zone_include_dirs widens it
    shared = os.path.join(S.d, "shared")
    os.mkdir(shared, 0o755)
    write(os.path.join(shared, "extra.inc"), "extra A 192.0.2.99\n")
    write_conf(zone_include_dirs=["shared"])
    write_zone("$INCLUDE ../shared/extra.inc")
    ok, _, text = reload()
    R.check(ok and dig("extra.files.test") == "192.0.2.99", "INC-5",
            "with \"zone_include_dirs\": [\"shared\"] the include outside the zone's folder "
            "loads", text)
    write_conf()
    write_zone()
    reload()


# ---------------------------------------------------------------------------------------
# BND: regular files only, bounded


def bounded(rid, desc, extra, conf_extra, want):
    if conf_extra is not None:
        write_conf(**conf_extra)
    good = serial()
    write_zone(extra)
    ok, took, text = reload()
    err = (status() or {}).get("last_reload_error") or ""
    limit = itest.slack(3.0)
    R.check(not ok and want in err and took < limit and serial() == good
            and dig("www.files.test") == "192.0.2.80", rid,
            "%s: rejected in %.2f s (bound %.1f s), the old data served" % (desc, took, limit),
            "accepted %s in %.2f s: %s" % (ok, took, err))


def t_bounds():
    bounded("BND-1", "$INCLUDE /dev/zero (not in the zone's folder)", "$INCLUDE /dev/zero",
            None, "outside the folders")
    bounded("BND-2", "$INCLUDE /dev/zero with /dev in zone_include_dirs",
            "$INCLUDE /dev/zero", {"zone_include_dirs": ["/dev"]}, "not a regular file")
    fifo = os.path.join(S.zdir, "fifo.inc")
    os.mkfifo(fifo, 0o644)
    bounded("BND-3", "$INCLUDE of a FIFO nobody writes", "$INCLUDE fifo.inc", {},
            "not a regular file")
    os.unlink(fifo)
    write(os.path.join(S.zdir, "big.inc"), "".join("h%d A 192.0.2.%d\n" % (i, i % 250 + 1)
                                                   for i in range(2000)))
    bounded("BND-4", "a 40 KB include under \"zone_max_bytes\": 8192", "$INCLUDE big.inc",
            {"zone_max_bytes": 8192}, "exceed 8192 bytes (zone_max_bytes)")
    write_conf()
    write_zone()
    reload()


# ---------------------------------------------------------------------------------------
# LOG: forging


def t_log():
    forged = "2026-01-01T00:00:00.000Z gslbd error: FORGED by t_harden2"
    path = "/api/v1/clusters/x%0a" + forged.replace(" ", "%20") + "%0d%0aFORGED2/state"
    m = S.srv.mark()
    r1 = curl(url(path), "POST", data='{"state": "down"}')
    r2 = curl(url(path), "POST", data='{"state": "down"}', token=TOKEN,
              headers=("Content-Type: application/json",))
    S.srv.wait_log(m, r"FORGED2", count=1, timeout=5)
    text = S.srv.log_since(m)
    bad = [ln for ln in text.splitlines() if ln.startswith("2026-01-01") or ln.startswith("FORGED")]
    R.check(r1.status != 0 and r2.status != 0 and "FORGED" in text and not bad
            and "\\x0a" in text, "LOG-1",
            "POST /api/v1/clusters/x%0a<a log line>/state, with and without the token: the "
            "text is logged with \\x0a, no line of its own", text)


# ---------------------------------------------------------------------------------------
# EDNS-6: two COOKIE options


def t_cookie():
    cc = bytes.fromhex("c00c1e5c00c1e5ab")
    edns = Edns(options=[dnsq.cookie_option(cc), dnsq.cookie_option(cc)])
    raw = dnsq.udp_exchange(make_query("www.files.test.", "A", edns=edns), "127.0.0.1", S.dns,
                            2.0)
    r = dnsq.Msg(raw) if raw is not None else None
    R.check(r is not None and r.rcode == 1 and r.opt is not None
            and r.opt.option(dnsq.OPT_COOKIE) is None, "EDNS-6",
            "two COOKIE options: FORMERR with an OPT and no COOKIE",
            r.summary() if r is not None else "(no reply)")


# ---------------------------------------------------------------------------------------
# USER: --user and the files reloads read


def t_user():
    descs = [("USER-1", "--user nobody, token owned by root (0600): --check and the start "
                        "refuse, naming the token file"),
             ("USER-2", "--user nobody, a zone file only root can read: --check refuses, "
                        "naming the zone file"),
             ("USER-3", "--user nobody, token owned by nobody: starts, and a SIGHUP reload "
                        "as nobody succeeds")]
    if os.geteuid() != 0:
        for rid, desc in descs:
            R.skip(rid, desc, "needs root to change user")
        return
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        for rid, desc in descs:
            R.skip(rid, desc, "no user nobody")
        return
    S.srv.stop()
    token = os.path.join(S.d, "api.token")
    os.chown(token, 0, 0)
    chk = subprocess.run([itest.GSLBD, "-c", S.conf, "--check", "--user", "nobody"],
                         capture_output=True, text=True, timeout=30)
    run = subprocess.run([itest.GSLBD, "-c", S.conf, "--user", "nobody"], capture_output=True,
                         text=True, timeout=30)
    R.check(chk.returncode == 1 and run.returncode == 1 and token in chk.stderr
            and token in run.stderr and "uid %d" % nobody.pw_uid in run.stderr, descs[0][0],
            descs[0][1], "check %d %s\nrun %d %s" % (chk.returncode, chk.stderr, run.returncode,
                                                     run.stderr[-800:]))
    os.chown(token, nobody.pw_uid, nobody.pw_gid)
    os.chmod(S.zone, 0o600)
    chk = subprocess.run([itest.GSLBD, "-c", S.conf, "--check", "--user", "nobody"],
                         capture_output=True, text=True, timeout=30)
    R.check(chk.returncode == 1 and S.zone in chk.stderr and "Permission denied" in chk.stderr,
            descs[1][0], descs[1][1], "check %d %s" % (chk.returncode, chk.stderr))
    os.chmod(S.zone, 0o644)
    S.srv = itest.Gslbd("t_harden2-user", ["-c", S.conf, "--user", "nobody"],
                        probe=("127.0.0.1", S.dns, ORIGIN))
    try:
        S.srv.start()
        write_zone()
        ok, _, text = reload()
        detail = text
    except RuntimeError as ex:
        ok, detail = False, str(ex)
    R.check(ok and serial() == S.serial, descs[2][0], descs[2][1], detail)
    S.srv.stop()
    os.chown(token, 0, 0)


def main():
    R.plan(PLAN)
    steps = [(t_state, 4), (t_include, 5), (t_bounds, 4), (t_log, 1), (t_cookie, 1),
             (t_user, 3)]
    assert sum(n for _, n in steps) + 0 <= PLAN
    try:
        setup()
    except Exception:  # report every planned check, then stop
        tb = traceback.format_exc()
        for i in range(PLAN):
            R.fail("SETUP", "setup failed", tb if i == 0 else "")
        return R.finish()
    for fn, n in steps:
        before = R.passed + R.failed + R.skipped
        try:
            fn()
        except Exception:
            tb = traceback.format_exc()
            done = R.passed + R.failed + R.skipped - before
            for i in range(n - done):
                R.fail(fn.__name__, "step raised", tb if i == 0 else "")
    for s in [S.srv]:
        if s is not None:
            s.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
