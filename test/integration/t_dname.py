#!/usr/bin/env python3
"""t_dname.py: DNAME (DN-1..DN-3) and compression pointers (COMP-2) through a real gslbd on
loopback, asked with dig and with kdig over UDP and TCP. Each answer is parsed from the
tools' own output (a malformed packet makes them complain, which fails the check); the
synthesized CNAME is checked against the DNAME in the same answer, and where NSD loads the
zone too, the answer and authority sections are compared with NSD's as sets.
Prints a TAP plan line first; every daemon logs to a fresh file in a per-run temp dir."""

import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # keep test/integration free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402

D = itest.DATA
REPO = itest.REPO
H = "127.0.0.1"
GSLBD_ZONES = [("dn.test.", "dname.test.zone"), ("apex.test.", "dname-apex.test.zone"),
               ("occ.test.", "dname-occluded.test.zone"), ("rep.test.", "repeat.test.zone")]
NSD_ZONES = [z for z in GSLBD_ZONES if z[0] != "occ.test."]  # NSD refuses occluded data
LONG = "a" * 63 + "." + "b" * 40 + ".long.dn.test."

# (rule, description, name, type, tcp, expect) -- expect: rcode, aa (bool), an (answer count
# or None), synth (DNAME/CNAME pairs in the answer), ns (authority count or None),
# nsd (compare with NSD), rdata (texts that must appear in the answer/authority RDATA)
CASES = [
    ("DN-1", "below a DNAME: DNAME, synthesized CNAME, A", "WwW.D.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=3, synth=1, nsd=True, rdata=["192.0.2.10"])),
    ("DN-1", "below a DNAME over TCP", "www.d.dn.test.", "AAAA", True,
     dict(rcode="NOERROR", aa=True, an=3, synth=1, nsd=True, rdata=["2001:db8::10"])),
    ("DN-1", "target missing: NXDOMAIN from the last step", "x.y.d.dn.test.", "A", False,
     dict(rcode="NXDOMAIN", aa=True, an=2, synth=1, ns=1, nsd=True)),
    ("DN-1", "QTYPE=CNAME stops at the synthesized CNAME", "www.d.dn.test.", "CNAME", False,
     dict(rcode="NOERROR", aa=True, an=2, synth=1, nsd=True)),
    ("DN-1", "target reached through a wildcard", "foo.w.d.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=3, synth=1, nsd=True, rdata=["192.0.2.77"])),
    ("DN-1", "the DNAME owner answers TXT normally", "d.dn.test.", "TXT", False,
     dict(rcode="NOERROR", aa=True, an=1, synth=0, nsd=True)),
    ("DN-1", "the DNAME owner answers QTYPE=DNAME with the DNAME", "d.dn.test.", "DNAME", False,
     dict(rcode="NOERROR", aa=True, an=1, synth=0, nsd=True, rdata=["t.dn.test."])),
    ("DN-1", "a CNAME into a DNAME", "c.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=4, synth=1, nsd=True)),
    ("DN-1", "a DNAME onto a DNAME", "www.dd.dn.test.", "AAAA", False,
     dict(rcode="NOERROR", aa=True, an=5, synth=2, nsd=True)),
    ("DN-1", "a DNAME then a CNAME at the target", "alias.d.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=4, synth=1, nsd=True)),
    ("DN-1", "a DNAME out of our zones ends the chain", "a.out.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=2, synth=1, nsd=True)),
    ("CN-2", "DNAME loop l1 -> l2 -> l1 stops, NOERROR", "x.l1.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=4, synth=2, nsd=True)),
    ("CN-2", "DNAME whose target is below itself stops", "x.grow.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=2, synth=1, nsd=True)),
    ("DN-1", "one DNAME met again under another name: applied again, on to the data",
     "a.re.dn.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=5, synth=1, nsd=True, rdata=["192.0.2.12"])),
    ("CN-2", "DNAME, wildcard CNAME back below it: stops at the first repeated name",
     "c0.rw.dn.test.", "A", False, dict(rcode="NOERROR", aa=True, an=5, synth=1, nsd=True)),
    ("DN-2", "substitution past 255 octets: YXDOMAIN, the DNAME alone", LONG, "A", False,
     dict(rcode="YXDOMAIN", aa=True, an=1, synth=0, nsd=True)),
    ("DN-2", "a long substitution that fits, over TCP", "x.long.dn.test.", "A", True,
     dict(rcode="NXDOMAIN", aa=True, an=2, synth=1, nsd=True)),
    ("DN-3", "DNAME at the apex", "www.apex.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=3, synth=1, nsd=True)),
    ("DN-3", "the apex with a DNAME answers TXT normally", "apex.test.", "TXT", False,
     dict(rcode="NOERROR", aa=True, an=1, synth=0, nsd=True)),
    ("DN-3", "DNAME at a zone cut: the referral wins (glue kept)", "www.cut.occ.test.", "A",
     False, dict(rcode="NOERROR", aa=False, an=0, synth=0, ns=1, rdata=["ns.cut.occ.test."],
                 additional=["192.0.2.53"])),
    ("DN-3", "DNAME below a zone cut: the referral wins", "x.below.cut.occ.test.", "A", False,
     dict(rcode="NOERROR", aa=False, an=0, synth=0, ns=1)),
    ("DN-3", "data below a DNAME is occluded: the DNAME answers", "hidden.d.occ.test.", "A",
     False, dict(rcode="NXDOMAIN", aa=True, an=2, synth=1, absent=["192.0.2.99"])),
    ("DN-3", "an MX naming an occluded host gets no additional address", "mx.occ.test.", "MX",
     False, dict(rcode="NOERROR", aa=True, an=1, synth=0, absent=["192.0.2.99"])),
    ("COMP-2", "apex NS net.net. and ns.bar.bar.", "rep.test.", "NS", False,
     dict(rcode="NOERROR", aa=True, an=2, synth=0, nsd=True, rdata=["net.net.", "ns.bar.bar."])),
    ("COMP-2", "referral below sub to ns.bar.bar. and x.y.y.", "www.sub.rep.test.", "A", False,
     dict(rcode="NOERROR", aa=False, an=0, ns=2, synth=0, nsd=True,
          rdata=["ns.bar.bar.", "x.y.y."])),
    ("COMP-2", "referral over TCP", "www.sub.rep.test.", "A", True,
     dict(rcode="NOERROR", aa=False, an=0, ns=2, synth=0, nsd=True)),
    ("COMP-2", "referral to campus.campus.*.*.", "x.camp.rep.test.", "A", False,
     dict(rcode="NOERROR", aa=False, an=0, ns=1, synth=0, nsd=True,
          rdata=["campus.campus.*.*."])),
    ("COMP-2", "CNAME to www.www.www.", "alias.rep.test.", "A", False,
     dict(rcode="NOERROR", aa=True, an=1, synth=0, nsd=True, rdata=["www.www.www."])),
    ("COMP-2", "MX to mail.mail.mail.", "mx.rep.test.", "MX", False,
     dict(rcode="NOERROR", aa=True, an=1, synth=0, nsd=True)),
]
TOOLS = ("dig", "kdig")
N_NSD = sum(1 for c in CASES if c[5].get("nsd"))
N_OTHER = 6  # load warnings, two load errors, a service below a DNAME, survives, exits 0
PLAN = len(CASES) * len(TOOLS) + N_NSD + N_OTHER

R = itest.Report("t_dname")
# what dig and kdig print about a reply they could not read (or did not get)
BAD_OUTPUT = re.compile(r"bad packet|bad compression|malformed|^;; (ERROR|WARNING|Warning)|"
                        r"communications error|timed out|no servers could", re.I | re.M)


def run_tool(tool, port, name, qtype, tcp):
    if tool == "dig":
        cmd = ["dig", "+norec", "+nocookie", "+time=2", "+tries=1"]
    else:
        cmd = ["kdig", "+norec", "+nocookie", "+timeout=2", "+retry=0"]
    if tcp:
        cmd.append("+tcp")
    cmd += ["@" + H, "-p", str(port), name, qtype]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return " ".join(cmd), p.stdout.decode("utf-8", "replace")


class Answer:
    """A dig or kdig text answer: status, flags and the records of each section."""

    def __init__(self, tool, text):
        self.text = text
        self.status = None
        self.flags = set()
        self.sections = {"ANSWER": [], "AUTHORITY": [], "ADDITIONAL": []}
        sec = None
        for line in text.splitlines():
            m = re.search(r"status: ([A-Z0-9]+)", line)
            if m and self.status is None:
                self.status = m.group(1)
            m = re.match(r";; [Ff]lags: ([^;]*);", line)
            if m and not self.flags:
                self.flags = set(m.group(1).split())
            m = re.match(r";; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:", line)
            if m:
                sec = m.group(1)
                continue
            if not line.strip() or line.startswith(";"):
                if not line.strip():
                    sec = None
                continue
            if sec is not None:
                f = line.split(None, 4)
                if len(f) == 5 and f[3] != "OPT":
                    self.sections[sec].append((f[0].lower(), int(f[1]), f[2], f[3],
                                               " ".join(f[4].split()).lower()))

    def rrset(self, *secs):
        return sorted(r for s in secs for r in self.sections[s])


def labels(name):
    return [x for x in name.rstrip(".").split(".") if x] if name != "." else []


def check_synth(ans, lone_ok=False):
    """Each DNAME in the answer is followed by a CNAME whose owner is below the DNAME's
    owner, whose TTL is the DNAME's and whose target is the owner with the DNAME owner's
    labels replaced by the DNAME target (computed here, from the texts)."""
    rrs = ans.sections["ANSWER"]
    pairs = 0
    for i, r in enumerate(rrs):
        if r[3] != "DNAME":
            continue
        if lone_ok and i + 1 == len(rrs):
            continue  # DN-2: YXDOMAIN carries the DNAME alone; so does QTYPE=DNAME at the owner
        if i + 1 >= len(rrs) or rrs[i + 1][3] != "CNAME":
            return pairs, "DNAME %s not followed by a CNAME" % r[0]
        c = rrs[i + 1]
        own, dl = labels(c[0]), labels(r[0])
        if len(own) <= len(dl) or own[len(own) - len(dl):] != dl:
            return pairs, "CNAME owner %s not below DNAME owner %s" % (c[0], r[0])
        want = ".".join(own[:len(own) - len(dl)] + labels(r[4])) + "."
        if c[4] != want:
            return pairs, "CNAME %s -> %s, want %s" % (c[0], c[4], want)
        if c[1] != r[1]:
            return pairs, "CNAME TTL %d, DNAME TTL %d" % (c[1], r[1])
        pairs += 1
    return pairs, ""


def check_case(tool, port, case):
    rid, desc, name, qtype, tcp, ex = case
    cmd, out = run_tool(tool, port, name, qtype, tcp)
    a = Answer(tool, out)
    errs = []
    if BAD_OUTPUT.search(out):
        errs.append("the tool complained: %s" % BAD_OUTPUT.search(out).group(0))
    if a.status != ex["rcode"]:
        errs.append("status %s, want %s" % (a.status, ex["rcode"]))
    if ("aa" in a.flags) != ex["aa"]:
        errs.append("AA %s, want %s" % ("aa" in a.flags, ex["aa"]))
    if "tc" in a.flags:
        errs.append("TC set")
    if ex.get("an") is not None and len(a.sections["ANSWER"]) != ex["an"]:
        errs.append("%d answer records, want %d" % (len(a.sections["ANSWER"]), ex["an"]))
    if ex.get("ns") is not None and len(a.sections["AUTHORITY"]) != ex["ns"]:
        errs.append("%d authority records, want %d" % (len(a.sections["AUTHORITY"]), ex["ns"]))
    pairs, why = check_synth(a, ex["rcode"] == "YXDOMAIN" or qtype == "DNAME")
    if why:
        errs.append(why)
    elif pairs != ex["synth"]:
        errs.append("%d DNAME/CNAME pairs, want %d" % (pairs, ex["synth"]))
    rd = [r[4] for r in a.rrset("ANSWER", "AUTHORITY")]
    for want in ex.get("rdata", []):
        if want not in rd:
            errs.append("no record with RDATA %s" % want)
    add = [r[4] for r in a.sections["ADDITIONAL"]]
    for want in ex.get("additional", []):
        if want not in add:
            errs.append("no additional record with RDATA %s" % want)
    for bad in ex.get("absent", []):
        if bad in rd or bad in add:
            errs.append("occluded RDATA %s served" % bad)
    R.check(not errs, rid, "%s: %s %s %s%s" % (tool, desc, name, qtype, " (TCP)" if tcp else ""),
            lambda: "\n".join(errs + ["$ " + cmd] + out.splitlines()[:40]))
    return a


def check_nsd(nsd_port, case, ours):
    rid, desc, name, qtype, tcp, ex = case
    if nsd_port is None:
        R.ok(rid, "same as NSD: %s %s # SKIP nsd did not start" % (name, qtype))
        return
    cmd, out = run_tool("dig", nsd_port, name, qtype, tcp)
    theirs = Answer("dig", out)
    same = (theirs.status == ours.status and ("aa" in theirs.flags) == ("aa" in ours.flags)
            and theirs.rrset("ANSWER") == ours.rrset("ANSWER")
            and theirs.rrset("AUTHORITY") == ours.rrset("AUTHORITY"))
    R.check(same, rid, "same as NSD (rcode, AA, answer and authority as sets): %s %s%s" % (
        name, qtype, " (TCP)" if tcp else ""),
        lambda: "gslbd: %s %s\n  %s\n  %s\nNSD: %s %s\n  %s\n  %s" % (
            ours.status, sorted(ours.flags), ours.rrset("ANSWER"), ours.rrset("AUTHORITY"),
            theirs.status, sorted(theirs.flags), theirs.rrset("ANSWER"),
            theirs.rrset("AUTHORITY")))


def check_load(tmp):
    """DN-3 at load time: gslbd --check on the occluded zone warns with each line; a DNAME
    beside a CNAME and a second DNAME are errors naming file and line."""
    zdir = os.path.join(REPO, "test", "data", "zones")

    def check(origin, path):
        p = subprocess.run([itest.GSLBD, "--zone", "%s=%s" % (origin, path), "--listen",
                            "127.0.0.1:1", "--check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20, cwd=tmp)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    occ = os.path.join(D, "dname-occluded.test.zone")
    rc, out = check("occ.test.", occ)
    want = ["%s:8: hidden.d.occ.test. A is below the DNAME at d.occ.test. and is never served"
            % occ, "%s:9: deep.hidden.d.occ.test. TXT is below the DNAME" % occ]
    R.check(rc == 0 and all(w in out for w in want) and "ns.cut.occ.test" not in out, "DN-3",
            "occluded records load with a warning naming each line (glue below a cut with a "
            "DNAME is not occluded)", "exit %d\n%s" % (rc, out))
    bad = os.path.join(zdir, "bad_dname_cname.zone")
    rc, out = check("good.example.", bad)
    R.check(rc == 1 and "%s:6:1: CNAME and other data at old.good.example." % bad in out,
            "DN-3", "a DNAME beside a CNAME is a load error with file:line", out)
    bad = os.path.join(zdir, "bad_dname2.zone")
    rc, out = check("good.example.", bad)
    R.check(rc == 1 and "%s:7:1: second DNAME at old.good.example." % bad in out, "DN-3",
            "a second DNAME at one owner is a load error with file:line", out)

    def service_check(name):
        conf = os.path.join(tmp, "svc.json")
        with open(conf, "w") as f:
            json.dump({"listen": ["127.0.0.1:1"],
                       "zones": [{"origin": "dn.test.",
                                  "file": os.path.join(D, "dname.test.zone")}],
                       "regions": [{"name": "east", "lat": 39.0, "lon": -77.5}],
                       "clusters": [{"name": "east-a", "region": "east",
                                     "addresses": ["192.0.2.1"]}],
                       "services": [{"name": name, "policy": "nearest",
                                     "clusters": ["east-a"]}],
                       "geoip": {"default_order": ["east"]}}, f)
        p = subprocess.run([itest.GSLBD, "-c", conf, "--check"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20, cwd=tmp)
        return p.returncode, p.stdout.decode("utf-8", "replace")

    rc1, out1 = service_check("x.d.dn.test.")
    rc2, out2 = service_check("d.dn.test.")
    R.check(rc1 == 1 and "service x.d.dn.test.: below a DNAME, so never answered" in out1
            and rc2 == 0, "DN-3", "a GSLB service below a DNAME is a config error; one at "
            "the DNAME owner is fine", "below: exit %d\n%s\nat the owner: exit %d\n%s" % (
                rc1, out1, rc2, out2))


def main():
    print("1..%d" % PLAN, flush=True)
    tmp = itest.tmpdir("gslbd-t_dname-")
    for t in TOOLS:
        if shutil.which(t) is None:
            R.note("%s is not installed: its checks fail" % t)
    port = itest.free_port((H,))
    args = []
    for origin, f in GSLBD_ZONES:
        args += ["--zone", "%s=%s" % (origin, os.path.join(D, f))]
    args += ["--listen", "%s:%d" % (H, port), "--workers", "1"]
    g = itest.Gslbd("t_dname", args, probe=(H, port, "dn.test."))
    g.log_path = os.path.join(tmp, "gslbd.log")  # this run's own log
    try:
        g.start()
    except RuntimeError as e:
        R.fail("SETUP", "start gslbd", str(e))
        print("# t_dname: gslbd did not start; %d checks not run" % (PLAN - 1))
        return 1
    nsd_port = None
    if shutil.which("nsd") or os.path.exists("/usr/sbin/nsd"):
        nport = itest.free_port((H,))
        n = itest.Nsd("t_dname-nsd", nport, [(o, os.path.join(D, f)) for o, f in NSD_ZONES])
        n.log_path = os.path.join(tmp, "nsd.log")
        try:
            n.start()
            nsd_port = nport
        except (RuntimeError, OSError) as e:
            R.note("NSD did not start (%s): the comparisons are skipped" % e)
    for case in CASES:
        ours = None
        for tool in TOOLS:
            try:
                a = check_case(tool, port, case)
            except (OSError, subprocess.SubprocessError) as e:
                R.fail(case[0], "%s: %s %s" % (tool, case[2], case[3]), repr(e))
                a = None
            if tool == "dig":
                ours = a
        if case[5].get("nsd"):
            if ours is None:
                R.fail(case[0], "same as NSD: %s %s" % (case[2], case[3]), "no answer of ours")
            else:
                check_nsd(nsd_port, case, ours)
    check_load(tmp)
    R.check(g.alive(), "DN-1", "gslbd survived every query", g.log_tail())
    rc = g.stop()
    R.check(rc == 0, "SETUP", "gslbd exits 0 on SIGTERM", "exit status %s" % rc)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
