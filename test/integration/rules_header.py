"""rules_header.py: t_rules checks for the header, opcode and question rules: HDR-1..4,
OP-1, OP-2, Q-1..6."""

import socket
import struct

from rules_common import *  # noqa: F401,F403 (the shared helpers and constants)
from rules_common import captured, raw_capture, raw_udp_send  # noqa: E402


def t_header():
    qn = b"\x03WwW\x05RuLeS\x04TeSt\x00"
    for qid in (0, 1, 0x1234, 0xFFFF):
        pkt = make_query(qn, "A", id=qid, rd=True)
        r = ask(pkt)
        expect("HDR-1", "ID %d copied, QR=1, question copied byte for byte (mixed case)" % qid,
               r, rcode=NOERROR,
               extra=lambda r, pkt=pkt, qid=qid: [
                   r.id != qid and "ID %d, want %d" % (r.id, qid),
                   r.question_raw != pkt[12:] and "question %s, want %s" % (
                       r.question_raw.hex(), pkt[12:].hex())])
    r = q(qn, "A")
    expect("HDR-1", "name matching is case-insensitive: WwW.RuLeS.TeSt A", r, rcode=NOERROR,
           aa=True, extra=want_answer(A, ["192.0.2.10"]))
    r = q(qn, "A", tcp=True)
    expect("HDR-1", "question case kept over TCP too", r, rcode=NOERROR,
           extra=lambda r: [r.question_raw != qn + b"\x00\x01\x00\x01" and "question changed"])
    r = q(None, "A", opcode=15, qdcount=0)
    expect("HDR-1", "OPCODE 15 copied into the NOTIMP response", r, rcode=NOTIMP,
           extra=lambda r: [r.opcode != 15 and "opcode %d" % r.opcode])

    r = q("www.rules.test.", rd=True, cd=True, ad=True, z=True, tc=True)
    expect("HDR-2", "RD=1 copied; TC, CD, AD, Z from the query not copied; RA=0", r,
           rcode=NOERROR, extra=lambda r: [
               not r.rd and "RD=0", r.tc and "TC=1", r.cd and "CD=1", r.ad and "AD=1",
               r.z and "Z=1", r.ra and "RA=1"])
    r = q("www.rules.test.", rd=False)
    expect("HDR-2", "RD=0 copied, RA=0", r, rcode=NOERROR,
           extra=lambda r: [r.rd and "RD=1", r.ra and "RA=1"])
    r = q("www.rules.test.", rd=True, cd=True, ad=True, z=True, edns=Edns(do=True))
    expect("HDR-2", "with EDNS DO=1: AD=0, CD=0, Z=0, RA=0", r, rcode=NOERROR,
           extra=lambda r: [r.ad and "AD=1", r.cd and "CD=1", r.z and "Z=1", r.ra and "RA=1"])
    r = q("nothere.rules.test.", rd=True)
    expect("HDR-2", "RA=0 on NXDOMAIN with RD=1", r, rcode=NXDOMAIN,
           extra=lambda r: [r.ra and "RA=1", not r.rd and "RD=0"])

    # HDR-3: AA by response kind
    for desc, r, rcode, aa in (
            ("answer", q("www.rules.test."), NOERROR, True),
            ("NXDOMAIN", q("nothere.rules.test."), NXDOMAIN, True),
            ("NODATA", q("www.rules.test.", "MX"), NOERROR, True),
            ("referral", q("www.sub.rules.test."), NOERROR, False),
            ("REFUSED (outside our zones)", q("www.example.invalid."), REFUSED, False),
            ("FORMERR (QDCOUNT=2)", ask(make_query("www.rules.test.", qdcount=2)
                                        + dnsq.question("www.rules.test.")), FORMERR, False),
            ("NOTIMP (opcode 4, NOTIFY)", q("rules.test.", "SOA", opcode=4), NOTIMP, False),
            ("BADVERS", q("www.rules.test.", edns=Edns(version=1)), BADVERS, False),
            ("CNAME chain into another zone we serve", q("xzone.rules.test."), NOERROR, True),
            ("CNAME to an out-of-zone target", q("ext.rules.test."), NOERROR, True)):
        expect("HDR-3", "AA=%d on %s" % (aa, desc), r, rcode=rcode, aa=aa)

    # HDR-4: drops and always-answer
    r_short = no_reply(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00")
    R.check(r_short, "HDR-4", "a 9-byte message is dropped without reply")
    R.check(no_reply(b"\x12\x34"), "HDR-4", "a 2-byte message is dropped without reply")
    pkt = bytearray(make_query("www.rules.test."))
    pkt[2] |= 0x80
    R.check(no_reply(bytes(pkt)), "HDR-4", "a message with QR=1 is dropped without reply")
    pkt = bytearray(make_query("www.rules.test.", edns=Edns()))
    pkt[2] |= 0x80
    R.check(no_reply(bytes(pkt)), "HDR-4", "a response (QR=1) with EDNS is dropped")
    r = ask(dnsq.header(id=0x4242, qd=1))
    expect("HDR-4", "a bare 12-byte header with QDCOUNT=1 gets a reply (FORMERR)", r,
           rcode=FORMERR, extra=lambda r: [r.id != 0x4242 and "ID not copied"])
    r = ask(dnsq.header(id=0x4343, qd=0))
    expect("HDR-4", "a bare 12-byte header with QDCOUNT=0 gets a reply (FORMERR)", r,
           rcode=FORMERR)
    r = ask(dnsq.header(id=0x4444, qd=1) + b"\xff\xfe\xfd\xfc\xfb\xfa\x00\x01")
    expect("HDR-4", "garbage after a readable header gets a reply (FORMERR)", r, rcode=FORMERR)
    t_udp_port0()
    R.check(C.main.alive(), "HDR-4", "server still running after the dropped messages")


def t_udp_port0():
    try:
        cap = raw_capture(socket.IPPROTO_UDP)
    except PermissionError:
        R.skip("HDR-4", "UDP from source port 0 (and its control)", "needs CAP_NET_RAW for "
               "raw sockets; covered by unit tests", n=2)
        return
    try:
        def from_server(ihl, pkt, dport):
            sp, dp = struct.unpack("!HH", pkt[ihl:ihl + 4])
            return sp == C.port and dp == dport
        # control: the same crafted datagram from port 40999 is answered
        raw_udp_send(40999, make_query("www.rules.test.", id=0x5151))
        got = captured(cap, lambda i, p: from_server(i, p, 40999), 1.0)
        R.check(got, "HDR-4", "control: a raw-crafted query from port 40999 is answered",
                "no reply seen; the raw-socket check itself may be broken")
        raw_udp_send(0, make_query("www.rules.test.", id=0x5252))
        got = captured(cap, lambda i, p: from_server(i, p, 0), 1.0)
        R.check(not got, "HDR-4", "a UDP query from source port 0 gets no reply",
                "%d packets sent to port 0" % len(got))
    finally:
        cap.close()


def t_opcode():
    for op in (1, 2, 4, 5, 6, 15):
        r = q("rules.test.", "SOA", opcode=op)
        expect("OP-1", "opcode %d: NOTIMP, AA=0, empty sections, opcode echoed" % op, r,
               rcode=NOTIMP, aa=False, an=0, ns=0, ar=0,
               extra=lambda r, op=op: [r.opcode != op and "opcode %d" % r.opcode])
    r = q(None, opcode=15, qdcount=0)
    expect("OP-1", "opcode 15 header-only (QDCOUNT=0): NOTIMP, not FORMERR", r, rcode=NOTIMP,
           aa=False, an=0, ns=0)
    r = q("rules.test.", "SOA", opcode=5, edns=Edns())
    expect("OP-1", "opcode 5 (UPDATE) with EDNS: NOTIMP, only the OPT in additional", r,
           rcode=NOTIMP, aa=False, an=0, ns=0, ar=1, opt=True)
    r = q("rules.test.", "SOA", opcode=4, tcp=True)
    expect("OP-1", "opcode 4 over TCP: NOTIMP", r, rcode=NOTIMP, aa=False, an=0, ns=0)

    two = make_query("www.rules.test.", qdcount=2) + dnsq.question("ns1.rules.test.")
    expect("OP-2", "QDCOUNT=2 with two questions: FORMERR", ask(two), rcode=FORMERR, aa=False)
    expect("OP-2", "QDCOUNT=2 over TCP: FORMERR", ask(two, tcp=True), rcode=FORMERR)
    r = ask(make_query("www.rules.test.", qdcount=2))
    expect("OP-2", "QDCOUNT=2 but one question present: FORMERR", r, rcode=FORMERR)
    r = q(None, qdcount=0)
    expect("OP-2", "QDCOUNT=0 without EDNS: FORMERR", r, rcode=FORMERR, opt=False)
    r = q(None, qdcount=0, edns=Edns())
    expect("OP-2", "QDCOUNT=0 with EDNS but no COOKIE: FORMERR with OPT", r, rcode=FORMERR,
           opt=True)
    r = q(None, qdcount=0, edns=Edns(options=[dnsq.cookie_option()]))
    expect("OP-2", "QDCOUNT=0 with a lone COOKIE: NOERROR, OPT with the COOKIE and a server "
           "cookie (CK-1)", r, rcode=NOERROR, opt=True, an=0, extra=lambda r: [
               r.qdcount != 0 and "QDCOUNT=%d" % r.qdcount,
               (r.opt.option(dnsq.OPT_COOKIE) or b"")[:8] != dnsq.cookie_option()[1]
               and "client cookie not echoed",
               len(r.opt.option(dnsq.OPT_COOKIE) or b"") != 24 and "no 16-byte server cookie"])
    r = q(None, qdcount=0, edns=Edns(options=[dnsq.cookie_option(), (100, b"x")]))
    expect("OP-2", "QDCOUNT=0 with COOKIE plus another option: FORMERR", r, rcode=FORMERR,
           opt=True)


def t_question():
    for name in ("www.example.invalid.", "test.", "org.", "rules.test.invalid.",
                 "xrules.test."):
        r = q(name, "A", rd=True)
        expect("Q-1", "%s (outside every zone): REFUSED, AA=0, no answer, RA=0" % name, r,
               rcode=REFUSED, aa=False, an=0,
               extra=lambda r: [r.ra and "RA=1"])
    r = q(".", "SOA")
    expect("Q-1", "root SOA: REFUSED (no recursion)", r, rcode=REFUSED, aa=False, an=0)
    r = q("www.example.invalid.", "A", tcp=True)
    expect("Q-1", "outside every zone over TCP: REFUSED", r, rcode=REFUSED, aa=False)

    for cls, name, qt in (("CH", "version.bind.", "TXT"), ("CH", "id.server.", "TXT"),
                          ("CH", "hostname.bind.", "TXT"), ("CH", "rules.test.", "SOA"),
                          ("HS", "www.rules.test.", "A"), ("NONE", "www.rules.test.", "A"),
                          (2, "www.rules.test.", "A"), (65280, "www.rules.test.", "A")):
        r = q(name, qt, cls)
        expect("Q-2", "class %s %s %s: REFUSED, AA=0" % (cls, name, qt), r, rcode=REFUSED,
               aa=False, an=0)
    r = q("www.rules.test.", "A", "ANY")
    expect("Q-2", "class ANY is not REFUSED (treated as IN)", r, rcode=NOERROR)

    for qt in ("TYPE1000", "TYPE65535", "MAILA", "MAILB", "RRSIG", "NSEC", "DNSKEY", "NAPTR",
               "TYPE128"):
        r = q("www.rules.test.", qt)
        expect("Q-3", "%s at an existing name: NODATA, AA=1, never NOTIMP" % qt, r,
               rcode=NOERROR, aa=True, an=0, extra=soa_auth(Z))
    r = q("nothere.rules.test.", "TYPE1000")
    expect("Q-3", "TYPE1000 at a missing name: NXDOMAIN, AA=1", r, rcode=NXDOMAIN, aa=True)
    r = q("rules.test.", "TYPE1000", tcp=True)
    expect("Q-3", "TYPE1000 at the apex over TCP: NODATA, AA=1", r, rcode=NOERROR, aa=True,
           an=0)
    r = q("unk.rules.test.", "TYPE65400")
    expect("Q-3", "a stored unknown type (TYPE65400, RFC 3597) is served", r, rcode=NOERROR,
           aa=True, extra=lambda r: [texts(r, "answer", 65400) != ["\\# 4 0a0b0c0d"]
                                     and "answer %s" % texts(r, "answer")])

    for qt in ("AXFR", "IXFR"):
        r = q("rules.test.", qt)
        expect("Q-4", "%s over UDP: NOTIMP, AA=0" % qt, r, rcode=NOTIMP, aa=False, an=0)
        r = q("rules.test.", qt, tcp=True)
        expect("Q-4", "%s over TCP: REFUSED, AA=0" % qt, r, rcode=REFUSED, aa=False, an=0)
    soa = dnsq.rr_wire("rules.test.", "SOA", "IN", 0,
                       dnsq.encode_name(".") + dnsq.encode_name(".")
                       + struct.pack("!IIIII", 1, 0, 0, 0, 0))
    ixfr = make_query("rules.test.", "IXFR", authority=soa, nscount=1)
    expect("Q-4", "IXFR with a SOA in authority over UDP: NOTIMP", ask(ixfr), rcode=NOTIMP)
    expect("Q-4", "IXFR with a SOA in authority over TCP: REFUSED", ask(ixfr, tcp=True),
           rcode=REFUSED)

    # malformed names in the question
    suffix = b"\x05rules\x04test\x00"
    ok255 = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x32" + b"b" * 50 + suffix
    assert len(ok255) == 255
    r = q(ok255, "A")
    expect("Q-5", "a 255-octet name is valid (NXDOMAIN)", r, rcode=NXDOMAIN)
    bad256 = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x33" + b"b" * 51 + suffix
    cases = [
        ("a 256-octet name", bad256),
        ("a 321-octet name", b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00"),
        ("label type 0x40 (64: obsolete extended label)", b"\x40" + b"a" * 64 + suffix),
        ("label type 0x80 (reserved)", b"\x80\x01" + suffix),
        ("a label of 64 octets (0x40 length)", b"\x03www\x40" + b"x" * 64 + b"\x00"),
        ("a forward compression pointer", b"\xc0\x20"),
        ("a pointer to itself", b"\xc0\x0c"),
        ("a pointer loop (www -> back to 12)", b"\x03www\xc0\x0c"),
        ("a pointer out of bounds", b"\xc3\xff"),
        ("a name running past the message", b"\x03www\x05rul"),
    ]
    for desc, name in cases:
        raw = dnsq.header(id=0x5555) + name + (b"\x00\x01\x00\x01"
                                               if not desc.startswith("a name running") else b"")
        expect("Q-5", "%s in the question: FORMERR" % desc, ask(raw), rcode=FORMERR, aa=False,
               an=0)
    raw = dnsq.header(id=0x5656, ar=1) + dnsq.question("www.rules.test.") + b"\xc0\x40" + \
        struct.pack("!HHIH", 41, 1232, 0, 0)
    expect("Q-5", "OPT owner a bad compression pointer: FORMERR", ask(raw), rcode=FORMERR)
    raw = dnsq.header(id=0x5757, qd=1) + b"\x40" + b"a" * 64 + suffix + b"\x00\x01\x00\x01"
    expect("Q-5", "obsolete label type over TCP: FORMERR", ask(raw, tcp=True), rcode=FORMERR)

    r = q("www.rules.test.", trailing=b"\x00\x00")
    expect("Q-6", "2 trailing bytes after the question: FORMERR", r, rcode=FORMERR, an=0)
    r = q("www.rules.test.", trailing=b"\x00")
    expect("Q-6", "1 trailing byte after the question: FORMERR", r, rcode=FORMERR, an=0)
    r = q("www.rules.test.", edns=Edns(), trailing=b"\xde\xad\xbe\xef")
    expect("Q-6", "trailing bytes after the OPT: FORMERR with OPT", r, rcode=FORMERR,
           opt=True)
    r = q("www.rules.test.", trailing=b"\x00\x00", tcp=True)
    expect("Q-6", "trailing bytes over TCP: FORMERR", r, rcode=FORMERR)
    r = q("www.rules.test.", edns=Edns(), extra_additional=b"\x00", extra_arcount=0)
    expect("Q-6", "a stray byte after the OPT: FORMERR", r, rcode=FORMERR)
