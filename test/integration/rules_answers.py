"""rules_answers.py: t_rules checks for the answer rules: ANS-1, NEG-1..4, WC-1, WC-2, DEL-1..3,
CN-1..4 and TTL-1."""

import os
import signal
import subprocess

from rules_common import *  # noqa: F401,F403 (the shared helpers and constants)


def t_answers():
    r = q("www.rules.test.", "A")
    expect("ANS-1", "exact match www A: NOERROR, AA=1, the A RRset", r, rcode=NOERROR, aa=True,
           extra=want_answer(A, ["192.0.2.10"], "www.rules.test."))
    r = q("www.rules.test.", "AAAA")
    expect("ANS-1", "exact match www AAAA", r, rcode=NOERROR, aa=True,
           extra=want_answer(AAAA, ["2001:db8::10"]))
    r = q("rules.test.", "NS")
    expect("ANS-1", "apex NS: an answer (AA=1), not a referral", r, rcode=NOERROR, aa=True,
           extra=want_answer(NS, ["ns1.rules.test.", "ns2.rules.test."]))
    r = q("rules.test.", "SOA")
    expect("ANS-1", "apex SOA", r, rcode=NOERROR, aa=True, an=1)
    r = q("a.b.c.sub.rules.test.", "A")
    expect("ANS-1", "a zone cut on the way down gives a referral", r, rcode=NOERROR, aa=False,
           an=0)
    r = q("x.y.wild.rules.test.", "A")
    expect("ANS-1", "no exact match, a wildcard above: synthesized", r, rcode=NOERROR,
           aa=True, extra=want_answer(A, ["192.0.2.50"], "x.y.wild.rules.test."))
    r = q("nothere.rules.test.", "A")
    expect("ANS-1", "no match, no wildcard: NXDOMAIN", r, rcode=NXDOMAIN, aa=True)

    r = q("nothere.rules.test.", "A")
    expect("NEG-1", "NXDOMAIN: RCODE 3, AA=1, empty answer, the zone SOA in authority", r,
           rcode=NXDOMAIN, aa=True, an=0, extra=soa_auth(Z))
    r = q("a.b.nothere.rules.test.", "AAAA", tcp=True)
    expect("NEG-1", "NXDOMAIN deeper, over TCP", r, rcode=NXDOMAIN, aa=True, an=0,
           extra=soa_auth(Z))
    r = q("nothere.other.test.", "A")
    expect("NEG-1", "NXDOMAIN in the second zone carries that zone's SOA", r, rcode=NXDOMAIN,
           aa=True, an=0, extra=soa_auth("other.test."))

    for desc, name, qt in (("existing name without the type", "www.rules.test.", "MX"),
                           ("empty non-terminal", "ent.rules.test.", "A"),
                           ("wildcard match without the type", "foo.wild.rules.test.", "MX"),
                           ("apex without the type", "rules.test.", "AAAA"),
                           ("a name with only an A RRset, asked AAAA (ns2)",
                            "ns2.rules.test.", "AAAA")):
        r = q(name, qt)
        expect("NEG-2", "NODATA for %s: NOERROR, empty answer, SOA in authority" % desc, r,
               rcode=NOERROR, aa=True, an=0, extra=soa_auth(Z))

    r = q("nothere.rules.test.")
    expect("NEG-3", "NXDOMAIN SOA TTL = min(SOA TTL 3600, MINIMUM 300) = 300", r,
           rcode=NXDOMAIN, extra=soa_auth(Z, 300))
    r = q("www.rules.test.", "MX")
    expect("NEG-3", "NODATA SOA TTL = 300", r, rcode=NOERROR, extra=soa_auth(Z, 300))
    r = q("nothere.other.test.")
    expect("NEG-3", "NXDOMAIN SOA TTL = min(SOA TTL 60, MINIMUM 600) = 60", r, rcode=NXDOMAIN,
           extra=soa_auth("other.test.", 60))
    r = q("www.other.test.", "TXT")
    expect("NEG-3", "NODATA SOA TTL = 60 in other.test", r, rcode=NOERROR,
           extra=soa_auth("other.test.", 60))
    r = q("rules.test.", "SOA")
    expect("NEG-3", "the SOA in a positive answer keeps its own TTL (3600)", r, rcode=NOERROR,
           extra=lambda r: [[x.ttl for x in r.answer] != [3600] and "TTL %s" % [
               x.ttl for x in r.answer]])

    for name, qt in (("ent.rules.test.", "A"), ("ent.rules.test.", "TXT"),
                     ("sub2.wild.rules.test.", "A"), ("_tcp.rules.test.", "SRV")):
        r = q(name, qt)
        expect("NEG-4", "empty non-terminal %s %s: NODATA, never NXDOMAIN" % (name, qt), r,
               rcode=NOERROR, aa=True, an=0, extra=soa_auth(Z))
    r = q("ENT.Rules.Test.", "A", tcp=True)
    expect("NEG-4", "empty non-terminal, mixed case, over TCP: NODATA", r, rcode=NOERROR,
           an=0)


def t_wildcards():
    W = "wild.rules.test."
    r = q("foo." + W, "A")
    expect("WC-1", "foo.wild A: synthesized, owner = the query name", r, rcode=NOERROR,
           aa=True, extra=want_answer(A, ["192.0.2.50"], "foo." + W))
    r = q("FoO." + W, "TXT")
    expect("WC-1", "FoO.wild TXT: synthesized, owner spelled as asked", r, rcode=NOERROR,
           aa=True, extra=lambda r: [
               [x.name for x in r.answer] != ["FoO." + W] and "owners %s" % [
                   x.name for x in r.answer]])
    r = q("host." + W, "A")
    expect("WC-1", "host.wild exists: its own A, not the wildcard", r, rcode=NOERROR, aa=True,
           extra=want_answer(A, ["192.0.2.51"]))
    r = q("host." + W, "TXT")
    expect("WC-1", "host.wild exists: TXT is NODATA, the wildcard TXT not used", r,
           rcode=NOERROR, aa=True, an=0, extra=soa_auth(Z))
    r = q("sub2." + W, "A")
    expect("WC-1", "sub2.wild is an empty non-terminal: it blocks the wildcard (NODATA)", r,
           rcode=NOERROR, aa=True, an=0)
    r = q("x.sub2." + W, "A")
    expect("WC-1", "x.sub2.wild: closest encloser sub2.wild has no wildcard -> NXDOMAIN", r,
           rcode=NXDOMAIN, aa=True)
    r = q("a.b.c." + W, "A")
    expect("WC-1", "a.b.c.wild: synthesized from *.wild several labels up", r, rcode=NOERROR,
           aa=True, extra=want_answer(A, ["192.0.2.50"], "a.b.c." + W))
    r = q("*." + W, "TXT")
    expect("WC-1", "literal *.wild TXT: the * node's own data", r, rcode=NOERROR, aa=True,
           extra=want_answer(TXT, ['"wildcard text"'], "*." + W))
    r = q("x.*." + W, "A")
    expect("WC-1", "x.*.wild: * matches only the * node, no *.*.wild -> NXDOMAIN", r,
           rcode=NXDOMAIN, aa=True)
    r = q("*.www.rules.test.", "A")
    expect("WC-1", "literal *.www (no such node, no wildcard): NXDOMAIN", r, rcode=NXDOMAIN,
           aa=True)
    r = q("foo.sub.rules.test.", "A")
    expect("WC-1", "*.sub lies below a zone cut: foo.sub gets the referral, not the wildcard",
           r, rcode=NOERROR, aa=False, an=0,
           extra=lambda r: [not rrs(r, "authority", NS) and "no NS in authority"])
    r = q("foo.cw.rules.test.", "A")
    expect("WC-1", "wildcard CNAME: foo.cw CNAME www (owner foo.cw) then www A", r,
           rcode=NOERROR, aa=True, extra=lambda r: [
               [(x.name.lower(), x.type) for x in r.answer] != [
                   ("foo.cw.rules.test.", CNAME), ("www.rules.test.", A)]
               and "answer %s" % r.answer])

    E = "example."
    cases = [
        ("host3.example. MX: synthesized", "host3." + E, "MX", NOERROR, True,
         want_answer(MX, ["10 host1.example."], "host3." + E)),
        ("host3.example. A: no data (no A at *.example)", "host3." + E, "A", NOERROR, True,
         both(lambda r: [r.ancount and "answer not empty"], soa_auth(E))),
        ("foo.bar.example. TXT: synthesized, bar.example does not exist", "foo.bar." + E,
         "TXT", NOERROR, True, want_answer(TXT, ['"this is a wildcard"'], "foo.bar." + E)),
        ("host1.example. MX: not synthesized, host1 exists (NODATA)", "host1." + E, "MX",
         NOERROR, True, lambda r: [r.ancount and "answer not empty"]),
        ("sub.*.example. MX: not synthesized, sub.*.example exists (NODATA)", "sub.*." + E,
         "MX", NOERROR, True, lambda r: [r.ancount and "answer not empty"]),
        ("_telnet._tcp.host1.example. SRV: _tcp.host1 exists (NXDOMAIN)",
         "_telnet._tcp.host1." + E, "SRV", NXDOMAIN, True, soa_auth(E)),
        ("host.subdel.example. A: subdel is a zone cut (referral)", "host.subdel." + E, "A",
         NOERROR, False, lambda r: [
             texts(r, "authority", NS) != ["ns.example.com.", "ns.example.net."]
             and "authority %s" % texts(r, "authority")]),
        ("ghost.*.example. MX: *.example exists, no *.*.example (NXDOMAIN)", "ghost.*." + E,
         "MX", NXDOMAIN, True, soa_auth(E)),
        ("sub.*.example. TXT: the exact data", "sub.*." + E, "TXT", NOERROR, True,
         want_answer(TXT, ['"this is not a wildcard"'])),
        ("host2.example. A: empty non-terminal, not synthesized (NODATA)", "host2." + E, "A",
         NOERROR, True, lambda r: [r.ancount and "answer not empty"]),
        ("_ssh._tcp.host2.example. SRV: exact", "_ssh._tcp.host2." + E, "SRV", NOERROR, True,
         want_answer(SRV, ["0 0 22 host2.example."])),
    ]
    for desc, name, qt, rcode, aa, extra in cases:
        expect("WC-2", "RFC 4592 2.2.1: " + desc, q(name, qt), rcode=rcode, aa=aa, extra=extra)


def t_delegation():
    SUB = "sub.rules.test."
    glue = ["192.0.2.53", "2001:db8::53"]

    def referral(r):
        probs = []
        if texts(r, "authority", NS) != ["ns.outside.invalid.", "ns1.sub.rules.test."]:
            probs.append("authority NS %s" % texts(r, "authority", NS))
        if any(x.name.lower() != SUB for x in r.authority):
            probs.append("authority owners %s" % [x.name for x in r.authority])
        g = sorted(x.text for x in rrs(r, "additional") if x.name.lower() == "ns1." + SUB)
        if g != sorted(glue):
            probs.append("glue %s, want %s" % (g, glue))
        return probs
    for name, qt in ((SUB, "A"), ("www." + SUB, "A"), ("a.b.c." + SUB, "AAAA"), (SUB, "NS"),
                     ("www." + SUB, "MX"), (SUB, "SOA")):
        expect("DEL-1", "referral for %s %s: NOERROR, AA=0, child NS + glue" % (name, qt),
               q(name, qt), rcode=NOERROR, aa=False, an=0, extra=referral)
    expect("DEL-1", "referral over TCP", q("www." + SUB, "A", tcp=True), rcode=NOERROR,
           aa=False, an=0, extra=referral)
    r = q(SUB, "DS")
    expect("DEL-1", "DS at the cut answered from the parent side: AA=1, the DS", r,
           rcode=NOERROR, aa=True, extra=lambda r: [
               len(rrs(r, "answer", DS)) != 1 and "answer %s" % r.answer])
    r = q("nods.rules.test.", "DS")
    expect("DEL-1", "DS at a cut without DS: NODATA from the parent (AA=1, parent SOA)", r,
           rcode=NOERROR, aa=True, an=0, extra=soa_auth(Z))
    r = q("www.nods.rules.test.", "A")
    expect("DEL-1", "referral with out-of-zone NS only: no glue", r, rcode=NOERROR, aa=False,
           an=0, extra=lambda r: [
               texts(r, "authority", NS) != ["ns.outside.invalid."] and "authority wrong",
               rrs(r, "additional") and "additional %s" % rrs(r, "additional")])

    # DEL-2: all in-zone glue or TC=1
    BIG = "bigdel.rules.test."
    names = ["ns%02d.%s" % (i, BIG) for i in range(1, 14)]

    def full_glue(r):
        have = {(x.name.lower(), x.type) for x in rrs(r, "additional")}
        missing = [(n, t) for n in names for t in (A, AAAA) if (n, t) not in have]
        return ["glue missing for %d (name, type) pairs, e.g. %s" % (len(missing), missing[:3])
                ] if missing else []
    r = q("www." + BIG, "A")
    expect("DEL-2", "bigdel referral without EDNS (glue > 512 B): TC=1 since the glue does "
           "not fit", r, rcode=NOERROR, aa=False, extra=lambda r: [
               not r.tc and full_glue(r) and "TC=0 with incomplete glue: " + full_glue(r)[0],
               len(r.raw) > 512 and "size %d" % len(r.raw)])
    r = q("www." + BIG, "A", edns=Edns(udp=1232))
    expect("DEL-2", "bigdel referral with EDNS 1232: TC=0, every A and AAAA glue RR", r,
           rcode=NOERROR, aa=False, tc=False, extra=full_glue)
    r = q("www." + BIG, "A", tcp=True)
    expect("DEL-2", "bigdel referral over TCP: TC=0, all glue", r, rcode=NOERROR, tc=False,
           extra=full_glue)
    r = q("www.sub.rules.test.", "A", edns=Edns(udp=512))
    expect("DEL-2", "sub referral: both A and AAAA glue included", r, rcode=NOERROR,
           extra=referral)

    for name, qt, desc in (("hidden.sub.rules.test.", "A", "occluded A below the cut"),
                           ("ns1.sub.rules.test.", "A", "glue address asked directly"),
                           ("ns1.sub.rules.test.", "AAAA", "glue AAAA asked directly"),
                           ("foo.sub.rules.test.", "A", "occluded wildcard below the cut")):
        r = q(name, qt)
        expect("DEL-3", "%s (%s): referral, AA=0, never an authoritative answer" % (name, desc),
               r, rcode=NOERROR, aa=False, an=0, extra=referral)
    r = q("hidden.sub.rules.test.", "A", tcp=True)
    expect("DEL-3", "occluded data over TCP: referral", r, rcode=NOERROR, aa=False, an=0)


def t_cname():
    RT = "rules.test."

    def chain(*steps):
        def f(r):
            got = [(x.name.lower(), x.type, x.text.lower()) for x in r.answer]
            want = [(a.lower(), t, v.lower()) for a, t, v in steps]
            return [got != want and "answer %s, want %s" % (got, want)]
        return f
    r = q("c1." + RT)
    expect("CN-1", "c1 A: chain c1->c2->c3->www then www A, AA=1, NOERROR", r, rcode=NOERROR,
           aa=True, extra=chain(("c1." + RT, CNAME, "c2." + RT), ("c2." + RT, CNAME, "c3." + RT),
                                ("c3." + RT, CNAME, "www." + RT), ("www." + RT, A, "192.0.2.10")))
    r = q("c1." + RT, tcp=True)
    expect("CN-1", "c1 A over TCP: same chain", r, rcode=NOERROR, an=4)
    r = q("c1." + RT, "CNAME")
    expect("CN-1", "QTYPE=CNAME returns the CNAME only", r, rcode=NOERROR, aa=True,
           extra=chain(("c1." + RT, CNAME, "c2." + RT)))
    r = q("dangling." + RT)
    expect("CN-1", "dangling CNAME to a missing in-zone name: NXDOMAIN (last step), CNAME "
           "kept, SOA", r, rcode=NXDOMAIN, aa=True, extra=both(
               chain(("dangling." + RT, CNAME, "nothere." + RT)), soa_auth(Z)))
    r = q("cnodata." + RT, "AAAA")
    expect("CN-1", "CNAME to a name without the type: NOERROR, CNAME + SOA (NODATA)", r,
           rcode=NOERROR, aa=True, extra=both(chain(("cnodata." + RT, CNAME, "ns2." + RT)),
                                               soa_auth(Z)))
    r = q("ext." + RT)
    expect("CN-1", "out-of-zone target ends the chain: NOERROR, the CNAME only", r,
           rcode=NOERROR, aa=True, extra=chain(("ext." + RT, CNAME, "www.outside.invalid.")))
    r = q("cnodata." + RT, "A")
    expect("CN-1", "cnodata A: CNAME then ns2 A", r, rcode=NOERROR, aa=True,
           extra=chain(("cnodata." + RT, CNAME, "ns2." + RT), ("ns2." + RT, A, "192.0.2.2")))

    for name in ("loop1", "self"):
        r = q(name + "." + RT)
        expect("CN-2", "%s (a CNAME loop): NOERROR, the chain so far, bounded" % name, r,
               rcode=NOERROR, aa=True, extra=lambda r: [
                   not (1 <= r.ancount <= 17) and "ANCOUNT %d" % r.ancount,
                   any(x.type != CNAME for x in r.answer) and "non-CNAME in answer",
                   r.answer and r.answer[0].name.lower() != r.question[0][0].lower()
                   and "first owner is not the query name",
                   len({x.canon() for x in r.answer}) != len(r.answer)
                   and "the same CNAME RR %d times (the loop is followed round and round; "
                   "stop at the first repeated owner)" % max(
                       sum(1 for y in r.answer if y.canon() == x.canon()) for x in r.answer)])
    r = q("loop1." + RT, tcp=True)
    expect("CN-2", "loop over TCP: NOERROR, bounded", r, rcode=NOERROR,
           extra=lambda r: [not (1 <= r.ancount <= 17) and "ANCOUNT %d" % r.ancount])
    r = q("long01." + RT)
    expect("CN-2", "a 20-step chain stops after a bounded number of steps (<= 17 RRs), "
           "NOERROR", r, rcode=NOERROR, aa=True, extra=lambda r: [
               not (8 <= r.ancount <= 17) and "ANCOUNT %d" % r.ancount,
               r.answer and r.answer[0].name.lower() != "long01." + RT and "order"])

    t_cname_load()

    r = q("xzone." + RT)
    expect("CN-4", "CNAME to a name in another zone we serve is followed: CNAME + its A", r,
           rcode=NOERROR, aa=True, extra=chain(("xzone." + RT, CNAME, "www.other.test."),
                                               ("www.other.test.", A, "192.0.2.80")))
    r = q("back.other.test.")
    expect("CN-4", "and back: other.test CNAME -> rules.test A", r, rcode=NOERROR, aa=True,
           extra=chain(("back.other.test.", CNAME, "www." + RT), ("www." + RT, A, "192.0.2.10")))
    R.note("CN-4 (GSLB part: a CNAME to a tailored service name) belongs to the geo issue; "
           "only the cross-zone chain is tested here")


def t_cname_load():
    tmp = itest.tmpdir()
    bad = os.path.join(D, "bad-cname.zone")
    conf = itest.write_config(os.path.join(tmp, "cn3.json"), ["127.0.0.1:53"],
                              [("bad.test.", bad)])
    try:
        p = subprocess.run([itest.GSLBD, "-c", conf, "--check"], capture_output=True,
                           timeout=20)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        R.check(p.returncode == 1 and ("bad-cname.zone:8" in out or "bad-cname.zone:7" in out),
                "CN-3", "--check on a zone with CNAME and A at one owner: exit 1, "
                "message names bad-cname.zone:7 or :8",
                "exit %d; output:\n%s" % (p.returncode, out))
    except (OSError, subprocess.TimeoutExpired) as e:
        R.fail("CN-3", "--check on a CNAME-and-other-data zone", repr(e))
    port = itest.free_port(("127.0.0.1",))
    g = itest.Gslbd("t_rules-cn3", ["--zone", "bad.test.=" + bad, "--listen",
                                    "127.0.0.1:%d" % port], probe=(H, port, "bad.test."))
    try:
        g.start(wait=False)
        try:
            rc = g.proc.wait(5)
        except subprocess.TimeoutExpired:
            rc = None
        R.check(rc is not None and rc != 0, "CN-3", "gslbd --zone with that zone refuses to "
                "start (non-zero exit)", "still running after 5 s" if rc is None else "exit 0")
    except RuntimeError as e:
        R.fail("CN-3", "gslbd --zone with a bad zone", str(e))
    finally:
        g.stop(signal.SIGKILL)


def t_ttl():
    r = q("mixed.ttl.test.")
    expect("TTL-1", "two TTLs in one RRset: one TTL in the answer", r, rcode=NOERROR,
           extra=lambda r: [len(r.answer) != 2 and "ANCOUNT %d" % len(r.answer),
                            len({x.ttl for x in r.answer}) != 1 and "TTLs %s" % [
                                x.ttl for x in r.answer]])
    r = q("dup.ttl.test.")
    expect("TTL-1", "a duplicate RR is dropped at load", r, rcode=NOERROR,
           extra=want_answer(A, ["192.0.2.33", "192.0.2.34"]))
    r = q("dup.ttl.test.", tcp=True)
    expect("TTL-1", "a duplicate RR is dropped (TCP)", r, rcode=NOERROR,
           extra=want_answer(A, ["192.0.2.33", "192.0.2.34"]))
    port = itest.free_port(("127.0.0.1",))
    g = itest.Gslbd("t_rules-ttltop", ["--zone", "ttltop.test.=" + os.path.join(
        D, "ttltop.test.zone"), "--listen", "127.0.0.1:%d" % port],
        probe=(H, port, "ttltop.test."))
    try:
        g.start()
        r = q("top.ttltop.test.", port=port)
        expect("TTL-1", "TTL 2147483648 (top bit set) is served as 0", r, rcode=NOERROR,
               extra=lambda r: [[x.ttl for x in r.answer] != [0] and "TTLs %s" % [
                   x.ttl for x in r.answer]])
        r = q("max.ttltop.test.", "TXT", port=port)
        expect("TTL-1", "TTL 4294967295 is served as 0", r, rcode=NOERROR,
               extra=lambda r: [[x.ttl for x in r.answer] != [0] and "TTLs %s" % [
                   x.ttl for x in r.answer]])
    except RuntimeError as e:
        R.fail("TTL-1", "a zone with top-bit TTLs loads and serves them as 0", str(e))
    finally:
        g.stop()
