#!/usr/bin/env python3
"""t_readme.py: README.md's "Quick start" and "Operations" sections work as written, in
order, on a fresh clone (README-1..README-4).

The fresh clone is a copy of the files git would hand out (tracked files plus new files not
yet committed, nothing git ignores: no build/, no conf/api.token) in a temporary folder. In
it, the first `sh` block's `make run` starts the demo exactly as a reader would (it installs
missing packages, builds, makes the demo token and serves conf/gslbd.json); then every
other fenced block marked `sh` in the two sections runs, in order, in one bash session
(`set -e`, so variables carry over as in the reader's shell). Blocks marked `text` (the
production steps with /etc, root and the gslbd user, command output, zone data) are not
run. Two substitutions, the only departures from the letter of the README: the fixed ports
5300 (DNS) and 8053 (API) become free ports, in conf/gslbd.json and in the commands, so the
test never collides with a `make run` on this machine; and `make test` in the first block is
not run (it is what runs this test). Checks on what the commands print (the answers move,
the reload says ok, ...) and, at the end, that the demo is left as found: every cluster back
to `auto`, and the `--admin` change visible in the status as a state file change. Prints the
plan `1..N` first, then `ok ID ...` / `not ok ID ...`; every log is fresh (test/out/readme/)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402

R = itest.Report("t_readme")
SECTIONS = ("Quick start", "Operations")

# (text a block contains, regex its output must match, what it shows): checks on output
EXPECT = [
    ("insure.example MX", r"insure\.example\.\s+\d+\s+IN\s+MX\s+10 mail\.insure\.example\.",
     "dig shows the zone's MX records"),
    ("+subnet=10.2.0.0/24   # Dublin",
     r"api\.insure\.example\.\s+\d+\s+IN\s+A\s+198\.51\.100\.10",
     "dig from Dublin gets eu-west-a"),
    ("--explain api.insure.example A 127.0.0.1 10.2.0.0/24",
     r'"cluster": "eu-west-a"', "--explain names eu-west-a for Dublin"),
    ("--admin eu-central-a=down",
     r"(?s)^(?!.*IN\s+A\s+192\.0\.2\.10\b).*api\.insure\.example\.\s+10\s+IN\s+A\s+192\.0\.2\.11",
     "after --admin eu-central-a=down and the reload, Frankfurt gets only eu-central-b "
     "with TTL 10"),
    ("ctl -c conf/gslbd.json drain eu-central-a",
     r"(?s)eu-central-a: auto -> drain.*REGION\s+CLUSTER.*eu-central-a\s+drained"
     r".*eu-central-a: drain -> auto",
     "gslbd ctl drain, status (the table shows eu-central-a drained) and undrain"),
    ("ctl -c conf/gslbd.json reload   # exit 0",
     r'(?s)reload ok .*\{"result":"ok","reloads":\d+\}',
     "gslbd ctl reload and the curl reload both say ok"),
    ('TOKEN="Authorization: Bearer $(cat conf/api.token)"',
     r'"cluster":"eu-central-b","previous":"auto","state":"drain"',
     "the curl drain answers previous auto, state drain"),
]


class S:
    clone = None
    make = None
    make_log = None
    dns = None
    api = None


def readme_blocks(text):
    """The fenced blocks of the README's SECTIONS, in order: (section, info, body)."""
    out = []
    section = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith("## "):
            section = ln[3:].split(" (")[0].strip()
        m = re.match(r"^```(\S*)\s*$", ln)
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if section in SECTIONS:
                out.append((section, m.group(1), "\n".join(lines[i + 1:j]) + "\n"))
            i = j
        i += 1
    return out


def ports(text):
    return text.replace("5300", str(S.dns)).replace("8053", str(S.api))


def fresh_clone():
    """Copies what git would hand out into a temporary folder; returns its path or None."""
    p = subprocess.run(["git", "-C", itest.REPO, "ls-files", "-z", "--cached", "--others",
                        "--exclude-standard"], capture_output=True)
    if p.returncode != 0:
        return None
    dest = os.path.join(itest.tmpdir("gslbd-readme-"), "gslbd")
    for rel in p.stdout.decode().split("\0"):
        if not rel:
            continue
        src = os.path.join(itest.REPO, rel)
        if not os.path.isfile(src):  # deleted in the work tree, not yet committed
            continue
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dest, rel))
    conf = os.path.join(dest, "conf", "gslbd.json")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(ports(text))
    return dest


def clean_env():
    env = dict(os.environ)
    # the README's commands are the plain build's (build/dev): not the sanitizer variant
    # that `make test VARIANT=...` puts in the environment
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GSLBD", "VARIANT"):
        env.pop(k, None)
    return env


def dns_up():
    import dnsq
    try:
        r = dnsq.query("insure.example.", "SOA", host="127.0.0.1", port=S.dns, timeout=0.3)
    except (OSError, dnsq.WireError):
        return False
    return r is not None and r.rcode == 0


def start_make_run(block):
    """Runs the first block's `make run` line in the clone, in the background."""
    line = next((ln for ln in block.splitlines() if ln.strip().startswith("make run")), None)
    if line is None:
        return "the first block of Quick start has no 'make run'"
    S.make_log = open(itest.fresh_log(os.path.join(itest.outdir("readme"), "make-run.log")), "ab")
    S.make = subprocess.Popen(["bash", "-c", line], cwd=S.clone, env=clean_env(),
                              stdin=subprocess.DEVNULL, stdout=S.make_log, stderr=S.make_log,
                              start_new_session=True)
    deadline = time.monotonic() + itest.slack(900)
    while time.monotonic() < deadline:
        if S.make.poll() is not None:
            return "make run exited with %d" % S.make.returncode
        if dns_up():
            return None
        time.sleep(0.5)
    return "no DNS answer on port %d after %.0f s" % (S.dns, itest.slack(900))


def stop_make_run():
    if S.make is not None and S.make.poll() is None:
        os.killpg(S.make.pid, signal.SIGTERM)  # the group this test started: make, gslbd
        try:
            S.make.wait(itest.slack(10))
        except subprocess.TimeoutExpired:
            os.killpg(S.make.pid, signal.SIGKILL)
            S.make.wait()
    if S.make_log is not None:
        S.make_log.close()


def run_blocks(blocks):
    """One bash session running every block; returns {index: (ran ok, output)}."""
    script = ["set -e", "trap 'echo \"@@@ FAILED at line $LINENO (exit $?)\"' ERR"]
    for i, b in blocks:
        script.append("echo '@@@ BLOCK %d'" % i)
        script.append(ports(b))
        script.append("echo '@@@ DONE %d'" % i)
    path = os.path.join(itest.outdir("readme"), "blocks.sh")
    with open(path, "w") as f:
        f.write("\n".join(script) + "\n")
    p = subprocess.run(["bash", path], cwd=S.clone, env=clean_env(), capture_output=True,
                       text=True, timeout=itest.slack(300))
    with open(itest.fresh_log(os.path.join(itest.outdir("readme"), "blocks.log")), "w") as f:
        f.write(p.stdout + "\n--- stderr\n" + p.stderr)
    res = {}
    for i, _b in blocks:
        m = re.search(r"@@@ BLOCK %d\n(.*?)(@@@ DONE %d\n|@@@ FAILED.*|\Z)" % (i, i), p.stdout,
                      re.S)
        if m is None:
            res[i] = (False, "(not run: an earlier block failed)")
        else:
            res[i] = (m.group(2).startswith("@@@ DONE"), m.group(1) + m.group(2))
    return res, p.stderr


def status():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/status" % S.api,
                                    timeout=5) as r:
            return json.loads(r.read().decode())
    except (OSError, ValueError):
        return None


def main():
    with open(os.path.join(itest.REPO, "README.md")) as f:
        blocks = readme_blocks(f.read())
    runs = [(i, b) for i, (_s, info, b) in enumerate(blocks) if info == "sh"][1:]
    plan = 2 + len(runs) + len(EXPECT) + 1
    R.plan(plan)
    if not itest.have_ipv6():
        R.skip("README-1", "the README on a fresh clone", itest.NO_V6 +
               " (conf/gslbd.json listens on [::1])", plan)
        return R.finish()
    if shutil.which("git") is None or not os.path.isdir(os.path.join(itest.REPO, ".git")) and \
            not os.path.isfile(os.path.join(itest.REPO, ".git")):
        R.skip("README-1", "the README on a fresh clone", "not a git checkout", plan)
        return R.finish()
    S.dns = itest.free_port(("127.0.0.1", "::1"))
    S.api = itest.free_port(("127.0.0.1",))
    try:
        S.clone = fresh_clone()
        R.check(S.clone is not None and not os.path.exists(
            os.path.join(S.clone, "conf", "api.token")) and
            not os.path.exists(os.path.join(S.clone, "build")), "README-1",
            "a fresh clone (what git hands out: no build/, no conf/api.token); DNS port %d, "
            "API port %d instead of 5300 and 8053" % (S.dns, S.api))
        first = next((b for _s, info, b in blocks if info == "sh"), "")
        why = start_make_run(first) if S.clone else "no clone"
        R.check(why is None, "README-1", "Quick start: `make run` in the clone builds and serves "
                "the demo", lambda: "%s\n--- make run log (tail):\n%s" % (
                    why, itest.log_since(S.make_log.name)[-3000:] if S.make_log else ""))
        if why is not None:
            for i, _b in runs:
                R.fail("README-2", "block %d not run: the demo did not start" % i)
            for _sub, _rx, what in EXPECT:
                R.fail("README-3", what + ": not run")
            R.fail("README-4", "the demo is left as found: not run")
            return R.finish()
        res, err = run_blocks(runs)
        for i, b in runs:
            ok, out = res[i]
            first_cmd = next((ln for ln in b.splitlines() if ln.strip()), "")
            R.check(ok, "README-2", "%s, block %d runs: %s" % (blocks[i][0], i, first_cmd[:70]),
                    lambda: "--- block:\n%s--- output:\n%s\n--- stderr:\n%s" % (
                        b, out[-3000:], err[-2000:]))
        for sub, rx, what in EXPECT:
            hit = [(i, res[i]) for i, b in runs if sub in b]
            R.check(hit and hit[0][1][0] and re.search(rx, hit[0][1][1]) is not None,
                    "README-3", what,
                    lambda: "block with %r: %s" % (sub, hit[0][1][1][-2500:] if hit else
                                                   "not found in the README"))
        st = status() or {}
        admin = {c["name"]: c["admin"] for c in st.get("clusters", [])}
        via = [c.get("via") for c in st.get("admin_changes", [])]
        R.check(admin and set(admin.values()) == {"auto"} and "state file" in via and
                "api" in via, "README-4",
                "the demo is left as found: every cluster back to auto; the status lists the "
                "--admin changes (state file) and the API's", json.dumps(
                    {"admin": admin, "admin_changes": st.get("admin_changes")})[:2500])
    finally:
        stop_make_run()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
