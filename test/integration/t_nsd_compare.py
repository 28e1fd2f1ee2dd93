#!/usr/bin/env python3
"""t_nsd_compare.py: serve the same static zones with gslbd and NSD 4.6 (minimal-responses)
and compare, query by query, the header (ID, QR, opcode), the question section as sent
back, the RCODE, the flags (AA TC RD RA AD CD Z), each section's RRs (sorted, TTLs
included), the order of the answer's RRsets (a CNAME chain's order) and the OPT record
(present, version, DO, UDP size, and each option). Where gslbd deliberately differs from
NSD (docs/dns-behaviour.md, "Compared with NSD"), the exception is written next to the
query and only what differs by that choice is left out: an aspect, or one EDNS option."""

import os
import struct
import subprocess
import sys
from collections import Counter

sys.dont_write_bytecode = True  # keep test/integration free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
from dnsq import Edns, ecs_option, make_query  # noqa: E402

R = itest.Report("t_nsd_compare")
D = itest.DATA
ZONES = [("rules.test.", os.path.join(D, "rules.test.zone")),
         ("other.test.", os.path.join(D, "other.test.zone")),
         ("example.", os.path.join(D, "example.rfc4592.zone")),
         ("ttl.test.", os.path.join(D, "ttl.test.zone"))]
ASPECTS = ("header", "question", "rcode", "flags", "answer", "order", "authority",
           "additional", "opt", "do", "options")
OPT_NAMES = {3: "NSID", 8: "ECS", 10: "COOKIE", 15: "EDE"}
# what can be compared where the answers themselves differ by a documented choice
ALL_BUT_HEADER = tuple(a for a in ASPECTS if a not in ("header", "question"))

CASES = []


def case(rid, desc, name=None, qtype="A", qclass="IN", tcp=False, raw=None, skip=(),
         why="", drop=(), silent=None, **kw):
    """skip: aspects not compared, with `why` (a rule ID and the documented choice) as the
    reason; all of them: the case is a `# SKIP`. drop: EDNS option codes left out of the
    "options" aspect (the OPT's version, DO and size are still compared), also for `why`.
    silent: the documented reason why neither server replying is the expected outcome;
    without it, no reply from both is a failure."""
    if raw is None:
        raw = make_query(name, qtype, qclass, id=0x4E53, **kw)
    CASES.append({"rid": rid, "desc": desc, "raw": raw, "tcp": tcp, "skip": set(skip),
                  "why": why, "drop": set(drop), "silent": silent})


RT = "rules.test."
E0 = Edns(udp=1232)
ECS = ecs_option(1, 24, 0, "192.0.2.0")

# --- header, opcode, question -----------------------------------------------------------
case("HDR-1", "mixed-case qname WwW.RuLeS.TeSt A", b"\x03WwW\x05RuLeS\x04TeSt\x00")
case("HDR-1", "mixed-case qname, EDNS", "WWW.RULES.TEST.", edns=E0)
case("HDR-2", "RD=1 CD=1 AD=1 Z=1 in the query", "www." + RT, rd=True, cd=True, ad=True,
     z=True)
case("HDR-2", "RD=1 with EDNS DO=1", "www." + RT, rd=True, edns=Edns(do=True))
case("HDR-3", "AA on an answer", "www." + RT)
case("HDR-4", "12-byte header, QDCOUNT=1, no question",
     raw=dnsq.header(id=0x4E53, qd=1))
case("OP-1", "opcode 15 (RFC 8906 8.1.4)", raw=dnsq.header(id=0x4E53, opcode=15, qd=0))
case("OP-1", "opcode 2 (STATUS)", RT, "SOA", opcode=2)
case("OP-1", "opcode 4 (NOTIFY)", RT, "SOA", opcode=4, skip=ALL_BUT_HEADER,
     why="OP-1: every opcode but QUERY is NOTIMP; NSD handles NOTIFY itself")
case("OP-1", "opcode 5 (UPDATE)", RT, "SOA", opcode=5)
case("OP-2", "QDCOUNT=2", raw=make_query("www." + RT, id=0x4E53, qdcount=2)
     + dnsq.question("ns1." + RT))
case("OP-2", "QDCOUNT=0 with a lone COOKIE",
     raw=make_query(None, id=0x4E53, qdcount=0, edns=Edns(options=[dnsq.cookie_option()])),
     drop=(10,), why="CK-1: our server cookie (RFC 9018); NSD 4.6 sends none")
case("OP-2", "QDCOUNT=0 with EDNS, no COOKIE",
     raw=make_query(None, id=0x4E53, qdcount=0, edns=E0), skip=("rcode",),
     why="OP-2: FORMERR; NSD 4.6 answers NOERROR")
case("Q-1", "a name outside every zone", "www.example.invalid.")
case("Q-1", "the parent of our zones", "test.", "SOA")
case("Q-1", "root SOA", ".", "SOA")
case("Q-2", "CHAOS version.bind TXT", "version.bind.", "TXT", "CH")
case("Q-2", "CHAOS id.server TXT", "id.server.", "TXT", "CH")
NOQ = "Q-2: the question is echoed on every reply to a query whose question was read; NSD " \
    "4.6 leaves it out here"
case("Q-2", "class HS", "www." + RT, "A", "HS", skip=("question",), why=NOQ)
case("Q-2", "class NONE", "www." + RT, "A", "NONE", skip=("question",), why=NOQ)
case("Q-2", "class ANY", "www." + RT, "A", "ANY")
case("Q-3", "TYPE1000 at an existing name", "www." + RT, "TYPE1000")
case("Q-3", "TYPE1000 at a missing name", "nothere." + RT, "TYPE1000")
case("Q-3", "a stored unknown type TYPE65400", "unk." + RT, "TYPE65400")
case("Q-3", "RRSIG (DNSSEC not served)", "www." + RT, "RRSIG")
case("Q-3", "DNSKEY at the apex", RT, "DNSKEY")
case("Q-4", "AXFR over UDP", RT, "AXFR", skip=ALL_BUT_HEADER,
     why="Q-4: NOTIMP over UDP (NSD 4.6 differs)")
case("Q-4", "AXFR over TCP", RT, "AXFR", tcp=True, skip=ALL_BUT_HEADER,
     why="Q-4: REFUSED over TCP until transfers exist (NSD allows/denies per acl)")
case("Q-4", "IXFR over UDP", RT, "IXFR", skip=ALL_BUT_HEADER, why="Q-4: NOTIMP over UDP")
case("Q-5", "a bad compression pointer in the question",
     raw=dnsq.header(id=0x4E53) + b"\xc0\x20\x00\x01\x00\x01")
case("Q-5", "label type 0x40", raw=dnsq.header(id=0x4E53) + b"\x40" + b"a" * 64
     + b"\x00\x00\x01\x00\x01")
case("Q-6", "two trailing bytes", "www." + RT, trailing=b"\x00\x00", skip=ALL_BUT_HEADER,
     why="Q-6: FORMERR; NSD 4.6 ignores trailing bytes")

# --- answers ----------------------------------------------------------------------------
for n, t in (("www", "A"), ("www", "AAAA"), ("www", "TXT"), ("@", "SOA"), ("@", "NS"),
             ("ns1", "A"), ("mail", "MX"), ("_sip._tcp", "SRV"), ("sip", "A"),
             ("manymx", "MX")):
    name = RT if n == "@" else "%s.%s" % (n, RT)
    case("ANS-1", "%s %s" % (name, t), name, t)
case("ANS-1", "below a zone cut: referral", "a.b.c.sub." + RT)
case("NEG-1", "NXDOMAIN", "nothere." + RT)
case("NEG-1", "NXDOMAIN deeper, EDNS", "a.b.nothere." + RT, "AAAA", edns=E0)
case("NEG-1", "NXDOMAIN in other.test", "nothere.other.test.")
case("NEG-2", "NODATA: existing name, missing type", "www." + RT, "MX")
case("NEG-2", "NODATA at the apex", RT, "AAAA")
case("NEG-2", "NODATA: wildcard match without the type", "foo.wild." + RT, "MX")
case("NEG-3", "negative TTL: SOA TTL 60 under MINIMUM 600", "www.other.test.", "TXT")
case("NEG-4", "empty non-terminal ent", "ent." + RT)
case("NEG-4", "empty non-terminal _tcp", "_tcp." + RT, "SRV")
case("NEG-4", "empty non-terminal below a wildcard", "sub2.wild." + RT)

# --- wildcards --------------------------------------------------------------------------
for n, t in (("foo.wild", "A"), ("FoO.wild", "TXT"), ("host.wild", "A"), ("host.wild", "TXT"),
             ("x.sub2.wild", "A"), ("a.b.c.wild", "A"), ("*.wild", "TXT"), ("x.*.wild", "A"),
             ("*.www", "A"), ("foo.cw", "A"), ("foo.cw", "CNAME"), ("foo.sub", "A")):
    case("WC-1", "%s %s" % (n, t), "%s.%s" % (n, RT), t)
for n, t in (("host3", "MX"), ("host3", "A"), ("foo.bar", "TXT"), ("host1", "MX"),
             ("sub.*", "MX"), ("_telnet._tcp.host1", "SRV"), ("host.subdel", "A"),
             ("ghost.*", "MX"), ("sub.*", "TXT"), ("host2", "A"), ("_ssh._tcp.host2", "SRV"),
             ("*", "MX"), ("subdel", "NS")):
    case("WC-2", "RFC 4592 2.2.1: %s.example. %s" % (n, t), "%s.example." % n, t)

# --- delegation -------------------------------------------------------------------------
case("DEL-1", "referral at the cut", "sub." + RT)
case("DEL-1", "referral below the cut, EDNS", "www.sub." + RT, edns=E0)
case("DEL-1", "NS at the cut: referral", "sub." + RT, "NS")
case("DEL-1", "DS at the cut (parent side)", "sub." + RT, "DS")
case("DEL-1", "DS at a cut without DS", "nods." + RT, "DS")
case("DEL-1", "referral with out-of-zone NS only", "x.nods." + RT)
case("DEL-1", "referral over TCP", "www.sub." + RT, tcp=True)
case("DEL-2", "bigdel referral, EDNS 1232 (all glue fits)", "www.bigdel." + RT, edns=E0)
case("DEL-2", "bigdel referral over TCP", "www.bigdel." + RT, tcp=True)
case("DEL-2", "bigdel referral without EDNS (glue > 512)", "www.bigdel." + RT,
     skip=("flags", "authority", "additional"),
     why="DEL-2 (RFC 9471): all in-zone glue or TC=1; NSD 4.6 sends part of the glue, TC=0")
case("DEL-3", "occluded A below the cut", "hidden.sub." + RT)
case("DEL-3", "glue asked directly", "ns1.sub." + RT, "AAAA")

# --- CNAME ------------------------------------------------------------------------------
case("CN-1", "chain c1 -> c2 -> c3 -> www", "c1." + RT)
case("CN-1", "QTYPE=CNAME", "c1." + RT, "CNAME")
case("CN-1", "dangling CNAME: NXDOMAIN", "dangling." + RT)
case("CN-1", "out-of-zone target", "ext." + RT)
case("CN-1", "target without the type", "cnodata." + RT, "AAAA")
case("CN-1", "CNAME into a delegation", "cdel." + RT)
case("CN-2", "two-name loop", "loop1." + RT)
case("CN-2", "self loop", "self." + RT)
case("CN-2", "20-step chain", "long01." + RT, skip=("answer",),
     why="CN-2: chains stop after a bounded number of steps (~16); NSD follows all 20")
case("CN-4", "chain into another zone we serve", "xzone." + RT)
case("CN-4", "chain back", "back.other.test.")

# --- TTL --------------------------------------------------------------------------------
case("TTL-1", "duplicate RR dropped", "dup.ttl.test.")
case("TTL-1", "two TTLs in one RRset", "mixed.ttl.test.", skip=("answer",),
     why="TTL-1: one TTL per RRset; NSD keeps each RR's own TTL")

# --- EDNS -------------------------------------------------------------------------------
case("EDNS-1", "EDNS on NOERROR", "www." + RT, edns=E0)
case("EDNS-1", "EDNS on REFUSED", "www.example.invalid.", edns=E0, drop=(15,),
     why="EDE: no Extended DNS Error on REFUSED; NSD 4.6 adds EDE 20 (Not Authoritative)")
case("EDNS-1", "EDNS on NOTIMP", RT, "SOA", opcode=2, edns=E0, skip=("opt", "do"),
     why="EDNS-1: NOTIMP carries an OPT when the query had one; NSD 4.6 omits it")
case("EDNS-2", "two OPT records", "www." + RT, edns=[E0, E0],
     skip=("rcode", "question", "opt", "do"),
     why="EDNS-2: FORMERR with the question and an OPT; NSD 4.6 sends neither")
case("EDNS-3", "version 1: BADVERS", RT, "SOA", edns=Edns(version=1))
case("EDNS-3", "version 1, DO=1", RT, "SOA", edns=Edns(version=1, do=True), skip=("do",),
     why="EDNS-3: DO copied into BADVERS; NSD 4.6 clears it")
case("EDNS-4", "unknown option 100", RT, "SOA", edns=Edns(options=[(100, b"")]))
case("EDNS-4", "unknown flag 0x40", RT, "SOA", edns=Edns(flags=0x40))
case("EDNS-4", "DO=1", RT, "SOA", edns=Edns(do=True))
case("EDNS-5", "bufsize 100 (counts as 512), 790-byte answer", "medtxt." + RT, "TXT",
     edns=Edns(udp=100))
case("EDNS-5", "bufsize 4096, 2100-byte answer", "bigtxt." + RT, "TXT", edns=Edns(udp=4096))
case("EDNS-6", "option length past RDLEN", "www." + RT,
     edns=Edns(rdata=struct.pack("!HH", 100, 10) + b"ab"),
     skip=("rcode", "answer", "question", "opt", "do"),
     why="EDNS-6: FORMERR with the question and an OPT; NSD 4.6 sends neither")
case("EDNS-8", "NSID asked, none configured (neither server)", RT, "SOA",
     edns=Edns(options=[dnsq.nsid_option()]))

case("EDNS-7", "same question: no EDNS", "www." + RT)
case("EDNS-7", "same question: EDNS DO=0", "www." + RT, edns=E0)
case("EDNS-7", "same question: EDNS DO=1", "www." + RT, edns=Edns(do=True))
case("EDNS-7", "same question: no EDNS again", "www." + RT)

# --- size, truncation -------------------------------------------------------------------
case("UDP-1", "790-byte answer without EDNS: TC", "medtxt." + RT, "TXT")
case("TC-1", "2100-byte answer, EDNS 1232: TC", "bigtxt." + RT, "TXT", edns=E0)
case("TC-2", "manymx without EDNS (optional additional left out)", "manymx." + RT, "MX")
case("TC-3", "2100-byte answer over TCP", "bigtxt." + RT, "TXT", tcp=True)
case("TCP-1", "SOA over TCP", RT, "SOA", tcp=True)

# --- ECS (NSD 4.6 has no ECS: everything but the OPT's options must match) ----------------
for rid, desc, name, qt in (("ECS-1", "ECS /24 on an answer", "www." + RT, "A"),
                            ("ECS-3", "ECS on NXDOMAIN", "nothere." + RT, "A"),
                            ("ECS-5", "ECS on a referral", "www.sub." + RT, "A"),
                            ("ECS-3", "ECS on a truncated answer", "bigtxt." + RT, "TXT")):
    case(rid, desc, name, qt, edns=Edns(options=[ECS]), drop=(8,),
         why="ECS-3: we echo ECS; NSD 4.6 does not implement it")
case("ECS-7", "ECS SOURCE 0", "www." + RT, edns=Edns(options=[ecs_option(1, 0, 0, b"")]),
     drop=(8,), why="ECS-3: we echo ECS; NSD 4.6 does not implement it")
case("ECS-4", "no ECS in the query", "www." + RT, edns=E0)
case("ECS-2", "ECS with SOURCE 33", "www." + RT, skip=("rcode", "answer", "flags"),
     edns=Edns(options=[(8, struct.pack("!HBB", 1, 33, 0) + b"\x01" * 5)]),
     why="ECS-2: FORMERR; NSD 4.6 ignores ECS")

# --- other ------------------------------------------------------------------------------
case("ANY-1", "ANY over UDP", "www." + RT, "ANY", skip=("answer",),
     why="ANY-1: one RRset or HINFO RFC8482; which RRset is not fixed")
case("ANY-1", "ANY over TCP", "www." + RT, "ANY", tcp=True, skip=("answer",),
     why="ANY-1: over TCP the full set may be returned")
case("ANY-1", "ANY at an empty non-terminal", "ent." + RT, "ANY")
case("COMP-1", "SRV target (uncompressed)", "_sip._tcp." + RT, "SRV")
case("CK-1", "client COOKIE", RT, "SOA", edns=Edns(options=[dnsq.cookie_option()]),
     drop=(10,), why="CK-1: our server cookie (RFC 9018); NSD 4.6 sends none")


# Pipelined over one TCP connection (TCP-2 framing, TCP-3): each answer compared by ID.
PIPELINE = [("www." + RT, "A"), ("nothere." + RT, "A"), ("bigtxt." + RT, "TXT"),
            ("c1." + RT, "A"), ("www.sub." + RT, "A"), ("www.example.invalid.", "A"),
            ("foo.wild." + RT, "TXT"), (RT, "SOA")]

# Not compared here, with why: TCP-4 (segments), TCP-5 (timeouts), TCP-6 (limits), UDP-2
# (DF bit), SRC-1 (reply source address) are transport behaviour checked by t_rules;
# ECS-6 (tailored scope) needs GSLB services (geo issue).


def pipeline(port):
    """Send every PIPELINE query in one segment; returns {id: Msg} or an error text."""
    blob = b"".join(dnsq.tcp_frame(make_query(n, t, id=0x5000 + i))
                    for i, (n, t) in enumerate(PIPELINE))
    out = {}
    try:
        s = dnsq.tcp_connect("127.0.0.1", port)
        s.sendall(blob)
        for _ in PIPELINE:
            m = dnsq.Msg(dnsq.tcp_read_msg(s, itest.slack(3.0)))
            out[m.id] = m
        s.close()
    except (OSError, ConnectionError, dnsq.WireError) as e:
        return "%r after %d answers" % (e, len(out))
    return out


def compare_pipeline(gport, nport):
    g, n = pipeline(gport), pipeline(nport)
    if isinstance(g, str) or isinstance(n, str):
        R.fail("TCP-3", "%d queries pipelined in one TCP segment: all answered by both" % len(
            PIPELINE), "gslbd: %s\nnsd: %s" % (g if isinstance(g, str) else "ok",
                                                n if isinstance(n, str) else "ok"))
        return
    for i, (name, qt) in enumerate(PIPELINE):
        c = {"skip": set(), "why": "", "drop": set()}
        gm, nm = g.get(0x5000 + i), n.get(0x5000 + i)
        diffs = compare(c, gm, nm, []) if gm and nm else ["missing answer"]
        R.check(not diffs, "TCP-3", "pipelined on one connection: %s %s same as NSD" % (
            name, qt), lambda: "\n".join(diffs))


def compare_load_errors():
    """CN-3: both refuse a zone with a CNAME beside other data."""
    bad = os.path.join(D, "bad-cname.zone")
    conf = itest.write_config(os.path.join(itest.tmpdir(), "cn3.json"), ["127.0.0.1:53"],
                              [("bad.test.", bad)])
    try:
        g = subprocess.run([itest.GSLBD, "-c", conf, "--check"], capture_output=True,
                           timeout=20).returncode
        n = subprocess.run(["nsd-checkzone", "bad.test.", bad], capture_output=True,
                           timeout=20).returncode
    except (OSError, subprocess.TimeoutExpired) as e:
        R.fail("CN-3", "CNAME beside other data: both refuse the zone", repr(e))
        return
    R.check(g != 0 and n != 0, "CN-3", "CNAME beside other data: gslbd --check and "
            "nsd-checkzone both refuse the zone", "gslbd exit %d, nsd-checkzone exit %d" % (g, n))


def flags(m):
    return " ".join(f for f in ("aa", "tc", "rd", "ra", "ad", "cd", "z") if getattr(m, f))


def section(m, name):
    return sorted(r.canon() for r in m.records(name))


def opt_view(m):
    if m.opt is None:
        return "none"
    return "version=%d udp=%d ext_rcode=%d" % (m.opt.version, m.opt.udp, m.opt.ext_rcode)


def options_view(m, drop):
    """The OPT's options in order, but those in drop (each case names them, and why)."""
    if m.opt is None:
        return []
    return ["%s=%s" % (OPT_NAMES.get(c, c), v.hex()) for c, v in m.opt.options
            if c not in drop]


def header_view(m):
    return "id=%#06x qr=%d opcode=%d" % (m.id, m.qr, m.opcode)


def rrset_order(m):
    """The answer's RRsets in the order they appear (owner, type): a CNAME chain's links
    must come in chain order; the order of RRs inside one RRset is free."""
    out = []
    for r in m.answer:
        k = "%s %s" % (r.name.lower(), dnsq.type_text(r.type))
        if not out or out[-1] != k:
            out.append(k)
    return out


def optional_additional(g, n):
    """DEL-2: additional data other than referral glue is optional. NSD runs with
    minimal-responses, gslbd may add the addresses of MX/SRV/NS targets it holds. Accept a
    difference when it is only that: gslbd adds A/AAAA RRs of names named in the answer."""
    if not g.aa or not n.aa:
        return False
    targets = set()
    for r in g.answer:
        words = r.text.lower().split()
        if r.type in (2, 15, 33) and words:
            targets.add(words[-1])
    nadd = section(n, "additional")
    gadd = section(g, "additional")
    extra = [r for r in g.records("additional") if r.canon() not in nadd]
    return (all(x in gadd for x in nadd) and extra
            and all(r.type in (1, 28) and r.name.lower() in targets for r in extra))


def exchange(port, c):
    f = dnsq.tcp_exchange if c["tcp"] else dnsq.udp_exchange
    raw = f(c["raw"], "127.0.0.1", port, itest.slack(2.0))
    if raw is None:
        return None, "no reply"
    try:
        return dnsq.Msg(raw), None
    except dnsq.WireError as e:
        return None, "unparseable reply: %s" % e


def compare(c, g, n, notes):
    diffs = []
    views = {
        "header": header_view,
        "question": lambda m: "qdcount=%d %s" % (m.qdcount, m.question_raw.hex()),
        "order": rrset_order,
        "options": lambda m: options_view(m, c.get("drop", set())),
        "rcode": lambda m: dnsq.rcode_text(m.rcode),
        "flags": flags,
        "answer": lambda m: section(m, "answer"),
        "authority": lambda m: section(m, "authority"),
        "additional": lambda m: section(m, "additional"),
        "opt": opt_view,
        "do": lambda m: "none" if m.opt is None else "do=%d" % m.opt.do,
    }
    for a in ASPECTS:
        if a in c["skip"]:
            continue
        gv, nv = views[a](g), views[a](n)
        if gv == nv:
            continue
        if a == "order" and (views["answer"](g) != views["answer"](n)):
            continue  # the RRs differ already: reported once, under "answer"
        if a == "additional" and optional_additional(g, n):
            notes.append("optional additional data (DEL-2): gslbd adds %s" % ", ".join(
                x for x in gv if x not in nv))
            continue
        if isinstance(gv, list):
            only_g = Counter(gv) - Counter(nv)
            only_n = Counter(nv) - Counter(gv)
            diffs.append("%s differs:" % a)
            diffs += ["  gslbd only: %s%s" % (x, " (x%d)" % k if k > 1 else "")
                      for x, k in sorted(only_g.items())]
            diffs += ["  nsd only:   %s%s" % (x, " (x%d)" % k if k > 1 else "")
                      for x, k in sorted(only_n.items())]
        else:
            diffs.append("%s: gslbd %s | nsd %s" % (a, gv, nv))
    return diffs


def main():
    # one check per case and per pipelined query, CN-3, and gslbd alive + exit status
    R.plan(len(CASES) + len(PIPELINE) + 3)
    if not any(os.access(os.path.join(p, "nsd"), os.X_OK)
               for p in os.environ.get("PATH", "").split(":") + ["/usr/sbin"]):
        R.fail("SETUP", "nsd is installed (apt-get install nsd)")
        return R.finish()
    gport = itest.free_port(("127.0.0.1",))
    nport = itest.free_port(("127.0.0.1",))
    args = []
    for origin, f in ZONES:
        args += ["--zone", "%s=%s" % (origin, f)]
    args += ["--listen", "127.0.0.1:%d" % gport, "--workers", "1"]
    try:
        g = itest.Gslbd("t_nsd_compare-gslbd", args, probe=("127.0.0.1", gport, RT)).start()
        n = itest.Nsd("t_nsd_compare-nsd", nport, ZONES).start()
    except RuntimeError as e:
        R.fail("SETUP", "start gslbd and nsd", str(e))
        return R.finish()
    for c in CASES:
        gm, gerr = exchange(gport, c)
        nm, nerr = exchange(nport, c)
        label = "%s%s" % (c["desc"], " (TCP)" if c["tcp"] else "")
        if c["skip"] >= set(ASPECTS):
            R.ok(c["rid"], "%s: not compared # SKIP %s" % (label, c["why"]))
            continue
        if gm is None or nm is None:
            if gm is None and nm is None:
                R.check(c["silent"] is not None, c["rid"], "%s: neither server replies%s" % (
                    label, " (%s)" % c["silent"] if c["silent"] else ""),
                    "no reply from either, and dropping is not the documented rule here")
            elif gm is None:
                R.fail(c["rid"], "%s: same as NSD" % label, "gslbd: %s; nsd:\n%s" % (
                    gerr, nm.summary()))
            else:
                R.fail(c["rid"], "%s: same as NSD" % label, "nsd: %s; gslbd:\n%s" % (
                    nerr, gm.summary()))
            continue
        notes = []
        diffs = compare(c, gm, nm, notes)
        left = sorted(c["skip"]) + ["option %s" % OPT_NAMES.get(x, x) for x in sorted(c["drop"])]
        note = " (not compared: %s; %s)" % (", ".join(left), c["why"]) if left else ""
        for x in notes:
            R.note("%s: %s" % (label, x))
        R.check(not diffs, c["rid"], "%s: same as NSD%s" % (label, note),
                lambda: "\n".join(diffs + ["--- gslbd:", gm.summary(), "--- nsd:",
                                           nm.summary()]))
    compare_pipeline(gport, nport)
    compare_load_errors()
    R.check(g.alive(), "SETUP", "gslbd still running after the comparison")
    rc = g.stop()
    R.check(rc == 0, "SETUP", "gslbd exits 0 on SIGTERM", "exit status %s" % rc)
    n.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
