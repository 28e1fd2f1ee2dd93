"""rules_edns.py: t_rules checks for the EDNS(0), client subnet and cookie rules: EDNS-1..8,
ECS-1..5, ECS-7 and CK-1."""

import socket
import struct

from rules_common import *  # noqa: F401,F403 (the shared helpers and constants)


def t_edns():
    W = "www.rules.test."
    bad_pkts = [
        ("no EDNS NOERROR", make_query(W), NOERROR),
        ("no EDNS NXDOMAIN", make_query("nothere.rules.test."), NXDOMAIN),
        ("no EDNS REFUSED", make_query("foo.invalid."), REFUSED),
        ("no EDNS NOTIMP", make_query(W, opcode=2), NOTIMP),
        ("no EDNS FORMERR", make_query(W, qdcount=2) + dnsq.question(W), FORMERR),
    ]
    for desc, pkt, rcode in bad_pkts:
        expect("EDNS-1", "%s: no OPT in the response" % desc, ask(pkt), rcode=rcode, opt=False)
    for desc, pkt, rcode in (
            ("EDNS NOERROR", make_query(W, edns=Edns()), NOERROR),
            ("EDNS NXDOMAIN", make_query("nothere.rules.test.", edns=Edns()), NXDOMAIN),
            ("EDNS NODATA", make_query(W, "MX", edns=Edns()), NOERROR),
            ("EDNS referral", make_query("www.sub.rules.test.", edns=Edns()), NOERROR),
            ("EDNS REFUSED", make_query("foo.invalid.", edns=Edns()), REFUSED),
            ("EDNS NOTIMP", make_query(W, opcode=2, edns=Edns()), NOTIMP),
            ("EDNS FORMERR (QDCOUNT=2)", make_query(W, qdcount=2, edns=Edns())[:-11]
             + dnsq.question(W) + Edns().wire(), FORMERR),
            ("EDNS BADVERS", make_query(W, edns=Edns(version=1)), BADVERS),
            ("EDNS over TCP", make_query(W, edns=Edns()), NOERROR)):
        r = ask(pkt, tcp=desc.endswith("TCP"))
        expect("EDNS-1", "%s: exactly one OPT in the response" % desc, r, rcode=rcode, opt=True,
               extra=lambda r: [r.opt_count != 1 and "%d OPTs" % r.opt_count])

    two = make_query(W, edns=[Edns(), Edns()])
    expect("EDNS-2", "two OPT records: FORMERR with one OPT", ask(two), rcode=FORMERR,
           opt=True, aa=False)
    r = q(W, edns=Edns(owner="rules.test."))
    expect("EDNS-2", "OPT with a non-root owner: FORMERR with OPT", r, rcode=FORMERR, opt=True,
           aa=False)
    opt_rr = Edns().wire()
    r = ask(make_query(W, answer=opt_rr, ancount=1))
    expect("EDNS-2", "OPT in the answer section: FORMERR with OPT", r, rcode=FORMERR, opt=True)
    r = ask(make_query(W, authority=opt_rr, nscount=1))
    expect("EDNS-2", "OPT in the authority section: FORMERR with OPT", r, rcode=FORMERR,
           opt=True)
    r = ask(two, tcp=True)
    expect("EDNS-2", "two OPT records over TCP: FORMERR with OPT", r, rcode=FORMERR, opt=True)

    for do in (False, True):
        r = q(W, edns=Edns(version=1, do=do))
        expect("EDNS-3", "EDNS version 1, DO=%d: BADVERS, OPT version 0, no answer, AA=0, DO "
               "copied" % do, r, rcode=BADVERS, aa=False, an=0, opt=True,
               extra=lambda r, do=do: [r.opt.version != 0 and "version %d" % r.opt.version,
                                       r.opt.do != do and "DO=%d" % r.opt.do,
                                       r.hrcode != 0 and "header rcode %d" % r.hrcode,
                                       r.opt.ext_rcode != 1 and "ext rcode %d" % r.opt.ext_rcode])
    r = q(W, edns=Edns(version=255, options=[(100, b"abc")], flags=0x40))
    expect("EDNS-3", "version 255 + unknown option + flag: BADVERS, nothing echoed", r,
           rcode=BADVERS, aa=False, an=0, extra=lambda r: [
               r.opt.options and "options %s" % r.opt.options,
               r.opt.flags & 0x7FFF and "flags 0x%x" % r.opt.flags])
    r = q(W, edns=Edns(version=1), tcp=True)
    expect("EDNS-3", "version 1 over TCP: BADVERS", r, rcode=BADVERS, aa=False, an=0)
    r = q("nothere.rules.test.", edns=Edns(version=1))
    expect("EDNS-3", "version 1 for a missing name: BADVERS (not NXDOMAIN)", r, rcode=BADVERS,
           an=0, ns=0)

    r = q(W, edns=Edns(options=[(100, b"\x01\x02\x03")]))
    expect("EDNS-4", "unknown option 100 ignored and not echoed", r, rcode=NOERROR, aa=True,
           extra=lambda r: [100 in r.opt.codes() and "option 100 echoed"])
    r = q(W, edns=Edns(options=[(65001, b""), (15, b"\x00\x00"), (100, b"")]))
    expect("EDNS-4", "several unknown options (65001, EDE 15, 100): none echoed", r,
           rcode=NOERROR, extra=lambda r: [r.opt.codes() and "options %s" % r.opt.codes()])
    r = q(W, edns=Edns(flags=0x40))
    expect("EDNS-4", "unknown EDNS flag 0x40 not echoed", r, rcode=NOERROR,
           extra=lambda r: [r.opt.flags != 0 and "flags 0x%04x" % r.opt.flags])
    r = q(W, edns=Edns(flags=0x7FFF))
    expect("EDNS-4", "all unknown flag bits set: none echoed, DO=0", r, rcode=NOERROR,
           extra=lambda r: [r.opt.flags != 0 and "flags 0x%04x" % r.opt.flags])
    r = q(W, edns=Edns(do=True, flags=0x40))
    expect("EDNS-4", "DO=1 copied (unknown flag dropped)", r, rcode=NOERROR,
           extra=lambda r: [r.opt.flags != 0x8000 and "flags 0x%04x" % r.opt.flags])
    r = q("nothere.rules.test.", edns=Edns(do=True))
    expect("EDNS-4", "DO=1 copied on NXDOMAIN", r, rcode=NXDOMAIN,
           extra=lambda r: [not r.opt.do and "DO=0"])
    r = q(W, edns=Edns(do=False))
    expect("EDNS-4", "DO=0 stays 0", r, rcode=NOERROR, extra=lambda r: [r.opt.do and "DO=1"])

    r = q(W, edns=Edns(udp=4096))
    expect("EDNS-5", "we advertise our maximum, default 1232", r, rcode=NOERROR,
           extra=lambda r: [r.opt.udp != 1232 and "advertised %d" % r.opt.udp])
    r = q(W, edns=Edns(udp=100))
    expect("EDNS-5", "requestor size 100: still answered, advertised 1232", r, rcode=NOERROR,
           extra=lambda r: [r.opt.udp != 1232 and "advertised %d" % r.opt.udp])
    r = q("medtxt.rules.test.", "TXT", edns=Edns(udp=100))
    expect("EDNS-5", "requestor size 100 counts as 512: a 790-byte answer is TC=1, <= 512 B",
           r, rcode=NOERROR, tc=True, extra=lambda r: [len(r.raw) > 512 and "size %d" % len(
               r.raw)])
    r = q("bigdel.rules.test.", "A", edns=Edns(udp=0))
    expect("EDNS-5", "requestor size 0 counts as 512: response <= 512 B", r, rcode=NOERROR,
           extra=lambda r: [len(r.raw) > 512 and "size %d" % len(r.raw)])
    if C.lim is not None:
        r = q(W, edns=Edns(udp=4096), port=C.port2)
        expect("EDNS-5", "configured edns_max_udp 1400 is advertised", r, rcode=NOERROR,
               extra=lambda r: [r.opt.udp != 1400 and "advertised %d" % r.opt.udp])
    else:
        R.fail("EDNS-5", "configured edns_max_udp 1400 is advertised", "limits server down")

    for desc, rdata in (
            ("option length past RDLEN", struct.pack("!HH", 100, 10) + b"abcd"),
            ("option header cut short (3 bytes)", b"\x00\x64\x00"),
            ("ECS shorter than 4 bytes", struct.pack("!HH", 8, 3) + b"\x00\x01\x18"),
            ("COOKIE of 7 bytes", struct.pack("!HH", 10, 7) + b"1234567"),
            ("COOKIE of 15 bytes", struct.pack("!HH", 10, 15) + b"x" * 15),
            ("COOKIE of 41 bytes", struct.pack("!HH", 10, 41) + b"x" * 41),
            ("COOKIE of 0 bytes", struct.pack("!HH", 10, 0))):
        r = q(W, edns=Edns(rdata=rdata))
        expect("EDNS-6", "%s: FORMERR with OPT" % desc, r, rcode=FORMERR, opt=True, aa=False)
    r = q(W, edns=Edns(rdata=struct.pack("!HH", 100, 10) + b"abcd"), tcp=True)
    expect("EDNS-6", "option length past RDLEN over TCP: FORMERR with OPT", r, rcode=FORMERR,
           opt=True)
    raw = dnsq.header(id=0x6161, ar=1) + dnsq.question(W) + b"\x00" + struct.pack(
        "!HHIH", 41, 1232, 0, 20) + struct.pack("!HH", 100, 2) + b"ab"
    expect("EDNS-6", "OPT RDLEN past the end of the message: FORMERR", ask(raw),
           rcode=FORMERR)

    # EDNS-7: no answer cache, but the response must always match the query's EDNS state
    seq = [("no EDNS", None), ("EDNS DO=0", Edns()), ("EDNS DO=1", Edns(do=True)),
           ("no EDNS", None), ("ECS /24", Edns(options=[ecs_option(1, 24, 0, "192.0.2.0")])),
           ("EDNS DO=1", Edns(do=True)), ("ECS /0", Edns(options=[ecs_option(1, 0, 0, b"")])),
           ("ECS v6 /56 DO=1", Edns(do=True, options=[ecs_option(2, 56, 0, "2001:db8::")])),
           ("no EDNS", None), ("EDNS DO=0", Edns()),
           ("version 1", Edns(version=1)), ("EDNS DO=0", Edns())]
    for i, (desc, e) in enumerate(seq):
        r = q(W, edns=e)

        def match(r, e=e):
            p = []
            if e is None:
                return [r.opt is not None and "OPT present"]
            if r.opt is None:
                return ["OPT missing"]
            if r.opt.do != e.do:
                p.append("DO=%d" % r.opt.do)
            if r.opt.version != 0:
                p.append("version %d" % r.opt.version)
            if e.version and r.rcode != BADVERS:
                p.append("rcode %s" % dnsq.rcode_text(r.rcode))
            if not e.version and r.rcode != NOERROR:
                p.append("rcode %s" % dnsq.rcode_text(r.rcode))
            qe = [v for c, v in e.options if c == dnsq.OPT_ECS]
            re = r.opt.option(dnsq.OPT_ECS)
            if qe and (re is None or re[:2] + re[2:3] + re[4:] != qe[0][:3] + qe[0][4:]):
                p.append("ECS %s, want %s" % (re and re.hex(), qe[0].hex()))
            if not qe and re is not None:
                p.append("ECS present")
            return p
        expect("EDNS-7", "same question, query %d (%s): the response's OPT/DO/ECS match it"
               % (i + 1, desc), r, extra=match)

    r = q(W, edns=Edns(options=[dnsq.nsid_option()]))
    expect("EDNS-8", "NSID asked, ID configured: NSID option carries it", r, rcode=NOERROR,
           extra=lambda r: [r.opt.option(dnsq.OPT_NSID) != NSID and "NSID %r" % (
               r.opt.option(dnsq.OPT_NSID),)])
    r = q("nothere.rules.test.", edns=Edns(options=[dnsq.nsid_option()]), tcp=True)
    expect("EDNS-8", "NSID on NXDOMAIN over TCP", r, rcode=NXDOMAIN,
           extra=lambda r: [r.opt.option(dnsq.OPT_NSID) != NSID and "NSID missing"])
    r = q(W, edns=Edns())
    expect("EDNS-8", "NSID not asked: not sent", r, rcode=NOERROR,
           extra=lambda r: [r.opt.option(dnsq.OPT_NSID) is not None and "NSID sent"])
    if C.lim is not None:
        r = q(W, edns=Edns(options=[dnsq.nsid_option()]), port=C.port2)
        expect("EDNS-8", "NSID asked, no ID configured: not sent", r, rcode=NOERROR,
               extra=lambda r: [r.opt.option(dnsq.OPT_NSID) is not None and "NSID sent"])


def t_ecs():
    W = "www.rules.test."
    cases = [
        ("IPv4 /24", ecs_option(1, 24, 0, "192.0.2.0"), 1, 24, bytes([192, 0, 2])),
        ("IPv4 /32", ecs_option(1, 32, 0, "198.51.100.7"), 1, 32, bytes([198, 51, 100, 7])),
        ("IPv4 /20", ecs_option(1, 20, 0, "203.0.112.0"), 1, 20, bytes([203, 0, 112])),
        ("IPv6 /56", ecs_option(2, 56, 0, "2001:db8:1234:5600::"), 2, 56,
         bytes.fromhex("20010db8123456")),
        ("IPv6 /128", ecs_option(2, 128, 0, "2001:db8::1"), 2, 128,
         socket.inet_pton(socket.AF_INET6, "2001:db8::1")),
        ("IPv4 /0", ecs_option(1, 0, 0, b""), 1, 0, b""),
        ("IPv6 /0", ecs_option(2, 0, 0, b""), 2, 0, b""),
    ]
    for desc, opt, fam, src, addr in cases:
        r = q(W, edns=Edns(options=[opt]))
        expect("ECS-1", "ECS %s parsed and answered" % desc, r, rcode=NOERROR, aa=True)
        expect("ECS-3", "ECS %s echoed: same FAMILY, SOURCE, ADDRESS" % desc, r, extra=lambda r,
               fam=fam, src=src, addr=addr: [
                   r.opt.ecs() is None and "no ECS in the response",
                   r.opt.ecs() and (r.opt.ecs()["family"], r.opt.ecs()["source"],
                                    r.opt.ecs()["addr"]) != (fam, src, addr)
                   and "ECS %s" % r.opt.ecs()])
        expect("ECS-5", "static answer with ECS %s: SCOPE 0" % desc, r, extra=lambda r: [
            (r.opt.ecs() or {}).get("scope", 0) != 0 and "scope %d" % r.opt.ecs()["scope"]])

    bad = [
        ("unknown FAMILY 3", struct.pack("!HBB", 3, 24, 0) + b"\x01\x02\x03"),
        ("FAMILY 0", struct.pack("!HBB", 0, 0, 0)),
        ("IPv4 SOURCE 33", struct.pack("!HBB", 1, 33, 0) + b"\x01\x02\x03\x04\x05"),
        ("IPv6 SOURCE 129", struct.pack("!HBB", 2, 129, 0) + b"\x20" * 17),
        ("too few address bytes (/24 with 2)", struct.pack("!HBB", 1, 24, 0) + b"\xc0\x00"),
        ("too many address bytes (/24 with 4)", struct.pack("!HBB", 1, 24, 0) +
         b"\xc0\x00\x02\x00"),
        ("/0 with an address byte", struct.pack("!HBB", 1, 0, 0) + b"\x00"),
        ("address bits beyond SOURCE (/23, 192.0.3)", struct.pack("!HBB", 1, 23, 0) +
         b"\xc0\x00\x03"),
        ("address bits beyond SOURCE (/1, 0xc0)", struct.pack("!HBB", 1, 1, 0) + b"\xc0"),
        ("SCOPE 24 in the query", struct.pack("!HBB", 1, 24, 24) + b"\xc0\x00\x02"),
        ("option shorter than 4 (3 bytes)", b"\x00\x01\x18"),
        ("option of 0 bytes", b""),
    ]
    for desc, data in bad:
        r = q(W, edns=Edns(options=[(dnsq.OPT_ECS, data)]))
        expect("ECS-2", "ECS %s: FORMERR with OPT" % desc, r, rcode=FORMERR, opt=True, aa=False)
    r = q(W, edns=Edns(options=[ecs_option(1, 24, 0, "192.0.2.0"), ecs_option(1, 24, 0,
                                                                              "192.0.2.0")]))
    expect("EDNS-6", "two ECS options: FORMERR with OPT", r, rcode=FORMERR, opt=True)
    expect("ECS-2", "two ECS options: FORMERR with OPT", r, rcode=FORMERR, opt=True)
    r = q(W, edns=Edns(options=[(dnsq.OPT_ECS, struct.pack("!HBB", 1, 33, 0) + b"\x01" * 5)]),
          tcp=True)
    expect("ECS-2", "bad ECS over TCP: FORMERR with OPT", r, rcode=FORMERR, opt=True)
    r = q(W, edns=Edns(options=[(dnsq.OPT_ECS, struct.pack("!HBB", 3, 24, 0) + b"\x01\x02\x03")]))
    expect("EDNS-6", "bad ECS (family 3) is a malformed option: FORMERR with OPT", r,
           rcode=FORMERR, opt=True)

    ecs = ecs_option(1, 24, 0, "192.0.2.0")

    def echoed(r):
        e = r.opt.ecs() if r.opt else None
        return [e is None and "no ECS", e and (e["family"], e["source"], e["addr"]) != (
            1, 24, bytes([192, 0, 2])) and "ECS %s" % e, e and e["scope"] != 0 and "scope %d" % (
            e["scope"])]
    for desc, name, qt, rcode, tcp in (
            ("NXDOMAIN", "nothere.rules.test.", "A", NXDOMAIN, False),
            ("NODATA", W, "MX", NOERROR, False),
            ("referral", "www.sub.rules.test.", "A", NOERROR, False),
            ("REFUSED", "foo.invalid.", "A", REFUSED, False),
            ("SOA", "rules.test.", "SOA", NOERROR, False),
            ("NS", "rules.test.", "NS", NOERROR, False),
            ("CNAME chain", "c1.rules.test.", "A", NOERROR, False),
            ("TCP answer", W, "A", NOERROR, True),
            ("truncated", "bigtxt.rules.test.", "TXT", NOERROR, False)):
        r = q(name, qt, tcp=tcp, edns=Edns(options=[ecs]))
        expect("ECS-3", "ECS echoed on %s" % desc, r, rcode=rcode, extra=echoed)
        expect("ECS-5", "%s does not depend on the address: SCOPE 0" % desc, r, extra=echoed)
    r = q(W, opcode=2, edns=Edns(options=[ecs]))
    expect("ECS-3", "ECS echoed on NOTIMP", r, rcode=NOTIMP, extra=echoed)

    for desc, e in (("no EDNS", None), ("EDNS without ECS", Edns()),
                    ("EDNS DO=1, NSID", Edns(do=True, options=[dnsq.nsid_option()]))):
        r = q(W, edns=e)
        expect("ECS-4", "%s: no ECS in the response" % desc, r, rcode=NOERROR,
               extra=lambda r: [r.opt is not None and r.opt.option(dnsq.OPT_ECS) is not None
                                and "ECS present"])
    r = q("nothere.rules.test.", edns=Edns())
    expect("ECS-4", "NXDOMAIN without ECS in the query: none in the response", r,
           rcode=NXDOMAIN, extra=lambda r: [r.opt.option(dnsq.OPT_ECS) is not None and "ECS"])

    R.note("ECS-6 (SCOPE of tailored answers, docs/gslb-rules.md ECS-G1) needs GSLB services: "
           "it belongs to the geo issue; static data is covered by ECS-5 (SCOPE 0)")
    for fam in (1, 2):
        for name, rcode in ((W, NOERROR), ("nothere.rules.test.", NXDOMAIN)):
            r = q(name, edns=Edns(options=[ecs_option(fam, 0, 0, b"")]))
            expect("ECS-7", "SOURCE 0 (family %d) for %s: answered (never refused), SCOPE 0, "
                   "echoed" % (fam, name), r, rcode=rcode, extra=lambda r, fam=fam: [
                       r.opt.ecs() is None and "no ECS",
                       r.opt.ecs() and (r.opt.ecs()["family"], r.opt.ecs()["source"],
                                        r.opt.ecs()["scope"], r.opt.ecs()["addr"]) != (
                           fam, 0, 0, b"") and "ECS %s" % r.opt.ecs()])


def cookie_problems(r, client, sent_server=None, echoed=None):
    """CK-1: the response's COOKIE is the client cookie plus a 16-byte version 1 server
    cookie; echoed=True: the one sent back, False: a new one, None: either."""
    c = r.opt.option(dnsq.OPT_COOKIE) if r.opt else None
    if c is None:
        return ["no COOKIE in the response"]
    probs = []
    if len(c) != 24:
        probs.append("COOKIE of %d bytes, want 24" % len(c))
    if c[:8] != client:
        probs.append("client cookie %s not echoed (got %s)" % (client.hex(), c[:8].hex()))
    if len(c) > 8 and c[8] != 1:
        probs.append("server cookie version %d, want 1" % c[8])
    if echoed is True and c[8:] != sent_server:
        probs.append("server cookie %s not echoed (got %s)" % (sent_server.hex(), c[8:].hex()))
    if echoed is False and c[8:] == sent_server:
        probs.append("a server cookie that is not ours was echoed")
    return probs


def t_cookie():
    W = "www.rules.test."
    cc = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    r = q(W, edns=Edns(options=[dnsq.cookie_option(cc)]))
    expect("CK-1", "client cookie (8 bytes): answered normally, COOKIE with a new server "
           "cookie", r, rcode=NOERROR, aa=True, extra=lambda r: cookie_problems(r, cc))
    ours = r.opt.option(dnsq.OPT_COOKIE)[8:] if r and r.opt and r.opt.option(
        dnsq.OPT_COOKIE) else b"\x00" * 16
    r = q(W, edns=Edns(options=[dnsq.cookie_option(cc, ours)]))
    expect("CK-1", "our server cookie sent back: answered, the fresh cookie echoed", r,
           rcode=NOERROR, aa=True, extra=lambda r: cookie_problems(r, cc, ours, True))
    for desc, server in (("client + foreign server cookie (24 bytes)", b"\x11" * 16),
                         ("client + foreign server cookie (40 bytes)", b"\x22" * 32),
                         ("our server cookie with another client cookie", ours)):
        client = cc if server != ours else b"\x09" * 8
        r = q(W, edns=Edns(options=[dnsq.cookie_option(client, server)]))
        expect("CK-1", "%s: answered normally with a new server cookie" % desc, r,
               rcode=NOERROR, aa=True,
               extra=lambda r, client=client, server=server: cookie_problems(r, client, server,
                                                                             False))
    r = q(W, tcp=True, edns=Edns(options=[dnsq.cookie_option(cc)]))
    expect("CK-1", "COOKIE over TCP: answered with a server cookie", r, rcode=NOERROR,
           extra=lambda r: cookie_problems(r, cc))
    r = q("nothere.rules.test.", edns=Edns(options=[dnsq.cookie_option(cc)]))
    expect("CK-1", "NXDOMAIN also carries the COOKIE", r, rcode=NXDOMAIN,
           extra=lambda r: cookie_problems(r, cc))
