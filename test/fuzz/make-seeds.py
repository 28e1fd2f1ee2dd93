#!/usr/bin/env python3
"""make-seeds.py: writes the seed corpora of the fuzz targets in test/fuzz/.

query       one DNS message as it would arrive over UDP (no TCP length prefix), named for
            what it tests: valid queries against test/fuzz/fuzz.zone, EDNS options (ECS,
            COOKIE, NSID) and malformed messages (bad pointers, trailing data, two OPTs, ...)
tcp_stream  fuzz_tcp_stream.c's layout: client kind and cut count, health bits, admin
            byte, segment lengths, then a stream of length-prefixed messages
options     fuzz_options.c's option programs (name, type, flags, then option steps)
config      the repository's own configs (conf/gslbd.json, test/data/conf/*.json), some
            with a nets file and a token after NUL bytes, as fuzz_config.c splits them
api_body    fuzz_api_body.c's flags byte, ?state= argument and cluster-state request bodies
zone        zone files for fuzz_zone.c (test/data/zones, fuzz.zone, a few written here),
            an $INCLUDEd file after a NUL

Deterministic, standard library only:
    python3 test/fuzz/make-seeds.py test/fuzz/corpus/query        (query seeds, as before)
    python3 test/fuzz/make-seeds.py --target options test/fuzz/corpus/options
    python3 test/fuzz/make-seeds.py --all test/fuzz/corpus        (every corpus folder)
"""
import os
import struct
import sys

ZONE = "fuzz.example"

# Record types and classes used below.
A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, DNAME, OPT, DS = 1, 2, 5, 6, 15, 16, 28, 33, 39, 41, 43
IXFR, AXFR, ANY = 251, 252, 255
IN, CH, CLASS_ANY = 1, 3, 255
NSID, ECS, COOKIE = 3, 8, 10
RD = 0x0100


def name(text):
    """Wire form of a dotted name (no compression); "." is the root."""
    out = b""
    for label in text.strip(".").split("."):
        if label:
            raw = label.encode()
            out += bytes([len(raw)]) + raw
    return out + b"\x00"


def fq(label):
    return name(label + "." + ZONE if label else ZONE)


def header(qid=0x1234, flags=RD, qd=1, an=0, ns=0, ar=0, opcode=0):
    flags |= (opcode & 0xF) << 11
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def question(qname, qtype=A, qclass=IN):
    return qname + struct.pack("!HH", qtype, qclass)


def option(code, data):
    return struct.pack("!HH", code, len(data)) + data


def opt(udp=1232, ext_rcode=0, version=0, do=False, options=b"", owner=b"\x00", rdlen=None):
    ttl = (ext_rcode << 24) | (version << 16) | (0x8000 if do else 0)
    if rdlen is None:
        rdlen = len(options)
    return owner + struct.pack("!HHIH", OPT, udp, ttl, rdlen) + options


def ecs(family, source, addr, scope=0):
    return option(ECS, struct.pack("!HBB", family, source, scope) + addr)


def query(label, qtype=A, qclass=IN, edns=None, **hdr):
    """A one-question query; edns is the OPT RR bytes or None."""
    ar = 1 if edns is not None else 0
    msg = header(ar=ar, **hdr) + question(fq(label), qtype, qclass)
    return msg + (edns or b"")


def rr(owner, rtype, rdata, ttl=300, rclass=IN):
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(rdata)) + rdata


def seeds():
    s = {}
    e0 = opt()
    # --- valid queries, one per kind of answer in fuzz.zone
    for label, qtype, tag in [
        ("www", A, "a-www"), ("www", AAAA, "aaaa-www"), ("", MX, "mx-apex"),
        ("", NS, "ns-apex"), ("", SOA, "soa-apex"), ("", TXT, "txt-apex"),
        ("", ANY, "any-apex"), ("www", ANY, "any-www"), ("txt", TXT, "txt-long"),
        ("_sip._udp", SRV, "srv-sip"), ("alias", A, "cname-chain"),
        ("alias", CNAME, "cname-qtype"), ("out", A, "cname-out-of-zone"),
        ("loop1", A, "cname-loop"), ("wcalias", A, "cname-to-wildcard"),
        ("host.wild", A, "wildcard-a"), ("x.y.wild", TXT, "wildcard-deep-txt"),
        ("host.wild", AAAA, "wildcard-nodata"), ("host.cwild", A, "wildcard-cname"),
        ("*.wild", A, "wildcard-literal"), ("ent.a", A, "empty-non-terminal"),
        ("a", AAAA, "empty-non-terminal-2"), ("deep.ent.a", A, "below-ent"),
        ("x.sub", A, "referral-glue"), ("sub", NS, "referral-apex"), ("sub", DS, "ds-at-cut"),
        ("ns.sub", A, "glue-name"), ("a.b.ext", A, "referral-out-of-zone"),
        ("nothere", A, "nxdomain"), ("www", MX, "nodata"), ("unknown", 1000, "type1000"),
        ("www", 1000, "type1000-nodata"), ("big", A, "big-rrset"),
        ("mIxEd-CaSe", A, "mixed-case"), ("", DS, "ds-apex"),
        ("host.dn", A, "dname-chain"), ("dn", DNAME, "dname-owner"),
        ("a.b.self", A, "dname-loop"), ("x.outd", A, "dname-out-of-zone"),
        ("ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd.lng", A, "dname-yxdomain"),
        ("x.cutd", A, "dname-below-cut"), ("hid.dn", A, "dname-occluded"),
        ("x.rep", A, "referral-repeated-labels"), ("net.net", NS, "repeated-labels-ns"),
    ]:
        s["q-" + tag] = query(label, qtype)
        s["e-" + tag] = query(label, qtype, edns=e0)
    s["q-big-edns4096"] = query("big", A, edns=opt(udp=4096))
    s["q-big-edns512"] = query("big", A, edns=opt(udp=512))
    s["q-big-edns100"] = query("big", A, edns=opt(udp=100))
    s["q-any-edns65535-do"] = query("", ANY, edns=opt(udp=65535, do=True))
    s["q-outside-zone"] = header() + question(name("www.example.org"), A)
    s["q-parent-of-zone"] = header() + question(name("example"), A)
    s["q-root"] = header() + question(name("."), NS)
    s["q-chaos-version"] = header() + question(name("version.bind"), TXT, CH)
    s["q-chaos-id"] = header() + question(name("id.server"), TXT, CH)
    s["q-class-any"] = query("www", A, CLASS_ANY)
    s["q-class-none"] = query("www", A, 254)
    s["q-axfr"] = query("", AXFR)
    s["q-ixfr"] = header(ns=1) + question(fq(""), IXFR) + rr(
        b"\xc0\x0c", SOA, name("ns1." + ZONE) + name("h." + ZONE) + struct.pack("!5I", 1, 2, 3, 4, 5))
    s["q-notify"] = query("", SOA, opcode=4, flags=0x0400)
    s["q-update"] = header(opcode=5, qd=1) + question(fq(""), SOA)
    s["q-status"] = header(opcode=2)
    s["q-opcode15"] = query("www", A, opcode=15)
    s["q-no-rd"] = query("www", A, flags=0)
    s["q-flags-tc-cd-ad-z"] = query("www", A, flags=RD | 0x0200 | 0x0010 | 0x0020 | 0x0040)
    s["q-qid-zero"] = query("www", A, qid=0)
    # --- EDNS options
    s["o-do"] = query("www", A, edns=opt(do=True))
    s["o-badvers"] = query("www", A, edns=opt(version=1))
    s["o-badvers-255"] = query("www", A, edns=opt(version=255, ext_rcode=1))
    s["o-udp-0"] = query("www", A, edns=opt(udp=0))
    s["o-ecs-v4-24"] = query("www", A, edns=opt(options=ecs(1, 24, bytes([198, 51, 100]))))
    s["o-ecs-v4-32"] = query("www", A, edns=opt(options=ecs(1, 32, bytes([192, 0, 2, 1]))))
    s["o-ecs-v4-0"] = query("www", A, edns=opt(options=ecs(1, 0, b"")))
    s["o-ecs-v6-56"] = query("www", AAAA, edns=opt(options=ecs(2, 56, bytes.fromhex("20010db8000100"))))
    s["o-ecs-v6-128"] = query("www", AAAA, edns=opt(options=ecs(2, 128, bytes(range(16)))))
    s["o-ecs-v4-33"] = query("www", A, edns=opt(options=ecs(1, 33, bytes(5))))
    s["o-ecs-v4-dirty-bits"] = query("www", A, edns=opt(options=ecs(1, 20, bytes([10, 1, 255]))))
    s["o-ecs-v4-too-long"] = query("www", A, edns=opt(options=ecs(1, 8, bytes([10, 1, 2, 3]))))
    s["o-ecs-v4-too-short"] = query("www", A, edns=opt(options=ecs(1, 24, bytes([10, 1]))))
    s["o-ecs-scope-set"] = query("www", A, edns=opt(options=ecs(1, 24, bytes([10, 1, 2]), scope=24)))
    s["o-ecs-family-3"] = query("www", A, edns=opt(options=ecs(3, 8, bytes([1]))))
    s["o-ecs-truncated"] = query("www", A, edns=opt(options=option(ECS, b"\x00\x01")))
    s["o-ecs-twice"] = query("www", A, edns=opt(
        options=ecs(1, 24, bytes([10, 1, 2])) + ecs(1, 16, bytes([10, 9]))))
    s["o-ecs-referral"] = query("x.sub", A, edns=opt(options=ecs(1, 24, bytes([10, 1, 2]))))
    s["o-cookie-client"] = query("www", A, edns=opt(options=option(COOKIE, bytes(range(8)))))
    s["o-cookie-server"] = query("www", A, edns=opt(options=option(COOKIE, bytes(range(24)))))
    s["o-cookie-server-40"] = query("www", A, edns=opt(options=option(COOKIE, bytes(range(40)))))
    s["o-cookie-short"] = query("www", A, edns=opt(options=option(COOKIE, bytes(5))))
    s["o-cookie-15"] = query("www", A, edns=opt(options=option(COOKIE, bytes(15))))
    s["o-cookie-41"] = query("www", A, edns=opt(options=option(COOKIE, bytes(41))))
    s["o-cookie-qdcount0"] = header(qd=0, ar=1) + opt(options=option(COOKIE, bytes(range(8))))
    s["o-nsid"] = query("www", A, edns=opt(options=option(NSID, b"")))
    s["o-nsid-with-data"] = query("www", A, edns=opt(options=option(NSID, b"xyz")))
    s["o-unknown-option"] = query("www", A, edns=opt(options=option(65001, b"hello")))
    s["o-padding"] = query("www", A, edns=opt(options=option(12, bytes(64))))
    s["o-all"] = query("big", A, edns=opt(udp=4096, do=True, options=(
        option(NSID, b"") + ecs(1, 24, bytes([203, 0, 113])) + option(COOKIE, bytes(range(8))))))
    s["o-all-nxdomain"] = query("nothere", A, edns=opt(options=(
        option(NSID, b"") + ecs(2, 48, bytes(6)) + option(COOKIE, bytes(range(24))))))
    # --- malformed messages
    s["m-empty"] = b""
    s["m-one-byte"] = b"\x12"
    s["m-11-bytes"] = header()[:11]
    s["m-header-only"] = header()
    s["m-qr-set"] = query("www", A, flags=0x8000 | RD)
    s["m-qdcount-0"] = header(qd=0)
    s["m-qdcount-2"] = header(qd=2) + question(fq("www")) + question(fq("mail"))
    s["m-qdcount-2-one-question"] = header(qd=2) + question(fq("www"))
    s["m-qdcount-65535"] = header(qd=65535) + question(fq("www"))
    s["m-no-qtype"] = header() + fq("www")
    s["m-half-qtype"] = header() + fq("www") + b"\x00"
    s["m-name-unterminated"] = header() + b"\x03www\x04fuzz"
    s["m-trailing-byte"] = query("www", A) + b"\x00"
    s["m-trailing-garbage"] = query("www", A) + b"garbage-after-question"
    s["m-trailing-after-opt"] = query("www", A, edns=e0) + b"\x01\x02"
    s["m-two-opts"] = header(ar=2) + question(fq("www")) + e0 + e0
    s["m-opt-non-root-owner"] = query("www", A, edns=opt(owner=fq("www")))
    s["m-opt-in-answer"] = header(an=1) + question(fq("www")) + e0
    s["m-opt-in-authority"] = header(ns=1) + question(fq("www")) + e0
    s["m-opt-rdlen-overrun"] = query("www", A, edns=opt(rdlen=40))
    s["m-opt-option-overrun"] = query("www", A, edns=opt(options=struct.pack("!HH", 10, 30) + bytes(4)))
    s["m-arcount-no-data"] = header(ar=1) + question(fq("www"))
    s["m-ancount-record"] = header(an=1) + question(fq("www")) + rr(b"\xc0\x0c", A, bytes(4))
    s["m-additional-a-and-opt"] = header(ar=2) + question(fq("www")) + rr(b"\xc0\x0c", A, bytes(4)) + e0
    # compression in the question: all of these are invalid in a query
    hdr = header()
    s["m-ptr-forward"] = hdr + b"\xc0\x12" + struct.pack("!HH", A, IN) + fq("www")
    s["m-ptr-self"] = hdr + b"\xc0\x0c" + struct.pack("!HH", A, IN)
    s["m-ptr-loop"] = hdr + b"\x01a\xc0\x0c" + struct.pack("!HH", A, IN)
    s["m-ptr-out-of-bounds"] = hdr + b"\xff\xff" + struct.pack("!HH", A, IN)
    s["m-ptr-into-header"] = hdr + b"\x03www\xc0\x02" + struct.pack("!HH", A, IN)
    s["m-ptr-truncated"] = hdr + b"\x03www\xc0"
    s["m-ptr-backward-valid"] = (header(qd=2) + question(fq("www")) + b"\x03ftp\xc0\x10" +
                                 struct.pack("!HH", A, IN))
    s["m-label-type-01"] = hdr + b"\x41" + b"a" * 1 + b"\x00" + struct.pack("!HH", A, IN)
    s["m-label-type-10"] = hdr + b"\x81\x00" + struct.pack("!HH", A, IN)
    s["m-label-64"] = hdr + b"\x40" + b"a" * 64 + fq("") + struct.pack("!HH", A, IN)
    s["m-label-63"] = hdr + b"\x3f" + b"a" * 63 + fq("") + struct.pack("!HH", A, IN)
    long_name = b"".join(b"\x3f" + b"b" * 63 for _ in range(4)) + fq("")
    s["m-name-over-255"] = hdr + long_name + struct.pack("!HH", A, IN)
    name_255 = b"".join(b"\x3f" + b"c" * 63 for _ in range(3)) + b"\x3d" + b"c" * 61 + b"\x00"
    s["m-name-255"] = hdr + name_255 + struct.pack("!HH", A, IN)
    many = b"".join(b"\x01" + bytes([0x61 + i % 26]) for i in range(120)) + fq("wild")
    s["m-many-labels-wildcard"] = hdr + many + struct.pack("!HH", A, IN)
    s["m-null-in-label"] = hdr + b"\x03w\x00w" + fq("") + struct.pack("!HH", A, IN)
    s["m-dot-in-label"] = hdr + b"\x05w.w.w" + fq("") + struct.pack("!HH", A, IN)
    s["m-tcp-length-prefix"] = struct.pack("!H", len(query("www"))) + query("www")
    return s


def tcp_seed(stream, cuts=(), kind=0, health=0, admin=0):
    """fuzz_tcp_stream.c input: header byte, health word, admin byte, cuts, stream."""
    assert len(cuts) <= 15
    hdr = bytes([(kind << 4) | len(cuts)]) + struct.pack("!I", health) + bytes([admin])
    return hdr + bytes(c - 1 for c in cuts) + stream


def framed(*msgs):
    return b"".join(struct.pack("!H", len(m)) + m for m in msgs)


def gslb_query(label, qtype=A, edns=None, qid=0x1234):
    return query(label, qtype, edns=edns, qid=qid)


def tcp_seeds():
    s = {}
    e0 = opt()
    ecs_ie = opt(options=ecs(1, 24, bytes([10, 1, 42])))
    pipeline = framed(gslb_query("gslb", qid=1), gslb_query("split", AAAA, e0, qid=2),
                      gslb_query("www", ANY, qid=3), gslb_query("alias", A, ecs_ie, qid=4),
                      gslb_query("fo", A, qid=5), gslb_query("nothere", A, qid=6))
    s["t-pipeline-whole"] = tcp_seed(pipeline)
    s["t-pipeline-bytewise"] = tcp_seed(pipeline, cuts=[1] * 15)
    s["t-pipeline-in-prefix"] = tcp_seed(pipeline, cuts=[1, 30, 2, 1, 60])
    s["t-pipeline-v6"] = tcp_seed(pipeline, cuts=[7, 100], kind=2)
    s["t-pipeline-mapped"] = tcp_seed(pipeline, cuts=[50], kind=3)
    s["t-pipeline-default-src"] = tcp_seed(pipeline, kind=1)
    s["t-all-down"] = tcp_seed(pipeline, health=0xFFFFFFFF)
    s["t-half-down"] = tcp_seed(pipeline, health=0x0000AAAA, cuts=[3, 3, 3])
    s["t-admin-drain-down"] = tcp_seed(pipeline, admin=0b11100111)
    s["t-weighted-many"] = tcp_seed(framed(*[gslb_query("split", A, qid=i) for i in range(12)]))
    s["t-big-any"] = tcp_seed(framed(query("", ANY), query("big", A), query("txt", TXT)),
                              cuts=[200, 1])
    s["t-axfr"] = tcp_seed(framed(query("", AXFR), query("www")))
    s["t-bad-length-after"] = tcp_seed(framed(query("www")) + b"\x00\x05hello" +
                                       framed(query("www")))
    s["t-zero-length"] = tcp_seed(b"\x00\x00")
    s["t-length-11"] = tcp_seed(b"\x00\x0b" + bytes(11))
    s["t-partial-at-end"] = tcp_seed(framed(query("www")) + struct.pack("!H", 500) + query("mail"))
    s["t-odd-byte-at-end"] = tcp_seed(framed(query("www")) + b"\x01")
    s["t-qr-set-inside"] = tcp_seed(framed(query("www"), query("mail", flags=0x8000 | RD),
                                           query("www", AAAA)))
    s["t-formerr-inside"] = tcp_seed(framed(query("www"), header(qd=2) + question(fq("www")),
                                            query("mail")), cuts=[5, 9])
    s["t-options-mix"] = tcp_seed(framed(
        query("gslb", A, edns=opt(options=option(COOKIE, bytes(range(8))))),
        query("gslb", A, edns=opt(options=option(COOKIE, bytes(range(24))))),
        query("www", AAAA, edns=opt(do=True, options=option(NSID, b"") + ecs(2, 48, bytes(6)))),
        query("www", A, edns=opt(version=1))), cuts=[13, 13, 13])
    s["t-lone-cookie"] = tcp_seed(framed(header(qd=0, ar=1) + opt(options=option(COOKIE, bytes(8)))))
    s["t-empty"] = tcp_seed(b"")
    return s


def opt_seed(name_idx, qtype_idx=0, do=False, raw=False, rdlen_delta=None, version=None,
             tcp=False, v6=False, udp_idx=2, health=0, admin=0, program=b""):
    """fuzz_options.c input: b0, b1, health word, admin byte, [delta], [version], program."""
    b0 = name_idx | (0x10 if do else 0) | (0x20 if raw else 0)
    b0 |= 0x40 if rdlen_delta is not None else 0
    b0 |= 0x80 if version is not None else 0
    b1 = qtype_idx | (0x08 if tcp else 0) | (0x10 if v6 else 0) | (udp_idx << 5)
    out = bytes([b0, b1]) + struct.pack("!I", health) + bytes([admin])
    if rdlen_delta is not None:
        out += struct.pack("!b", rdlen_delta)
    if version is not None:
        out += bytes([version])
    return out + program


def p_ecs(family_op, source, addr, scope=None, delta=None, dirty=False, family=None):
    op = family_op | (0x08 if scope is not None else 0) | (0x10 if delta is not None else 0)
    op |= 0x20 if dirty else 0
    out = bytes([op])
    if family_op == 2:
        out += struct.pack("!H", family)
    out += bytes([source])
    if scope is not None:
        out += bytes([scope])
    if delta is not None:
        out += bytes([(delta + 2) % 5])
    return out + addr


def p_cookie(data, mode=None):
    if mode == "client":
        return bytes([0x0B]) + data[:8]
    if mode == "server":
        return bytes([0x13, len(data) - 16]) + data
    return bytes([0x03, len(data)]) + data


def option_seeds():
    s = {}
    v4 = bytes([10, 1, 42, 7])
    v6 = bytes.fromhex("20010db800aa80000000000000000001")
    for i, tag in enumerate(["gslb", "split", "fo", "www", "one", "v6only", "deep", "alias",
                             "apex", "mail", "nxdomain", "wild", "referral", "cname-out",
                             "wcalias", "outside"]):
        s["n-%s-ecs24" % tag] = opt_seed(i, program=p_ecs(0, 24, v4[:3]))
        s["n-%s-aaaa-ecs56" % tag] = opt_seed(i, 1, program=p_ecs(1, 56, v6[:7]))
    s["e-v4-0"] = opt_seed(0, program=p_ecs(0, 0, b""))
    s["e-v4-32"] = opt_seed(0, program=p_ecs(0, 32, v4))
    s["e-v4-33"] = opt_seed(0, program=p_ecs(0, 33, v4 + b"\x00"))
    s["e-v4-20-masked"] = opt_seed(0, program=p_ecs(0, 20, bytes([10, 1, 255])))
    s["e-v4-20-dirty"] = opt_seed(0, program=p_ecs(0, 20, bytes([10, 1, 255]), dirty=True))
    s["e-v4-long"] = opt_seed(0, program=p_ecs(0, 16, bytes([10, 1, 0]), delta=1))
    s["e-v4-short"] = opt_seed(0, program=p_ecs(0, 24, bytes([10, 1]), delta=-1))
    s["e-v4-scope"] = opt_seed(0, program=p_ecs(0, 24, v4[:3], scope=16))
    s["e-v6-128"] = opt_seed(0, 1, program=p_ecs(1, 128, v6))
    s["e-v6-129"] = opt_seed(0, 1, program=p_ecs(1, 129, v6 + b"\x00"))
    s["e-v6-57-dirty"] = opt_seed(3, 1, program=p_ecs(1, 57, v6[:8], dirty=True))
    s["e-family-0"] = opt_seed(0, program=p_ecs(2, 8, b"\x0a", family=0))
    s["e-family-3"] = opt_seed(0, program=p_ecs(2, 8, b"\x0a", family=3))
    s["e-family-1-raw"] = opt_seed(0, program=p_ecs(2, 24, v4[:3], family=1))
    s["e-twice"] = opt_seed(0, program=p_ecs(0, 24, v4[:3]) + p_ecs(0, 16, v4[:2]))
    s["e-nets-v6"] = opt_seed(0, 1, v6=True, program=p_ecs(1, 64, v6[:8]))
    s["e-all-down"] = opt_seed(2, health=0xFFFFFFFF, program=p_ecs(0, 24, v4[:3]))
    s["e-admin-down"] = opt_seed(0, admin=0xAA, program=p_ecs(0, 24, v4[:3]))
    s["e-tcp"] = opt_seed(0, tcp=True, program=p_ecs(0, 24, v4[:3]))
    s["c-client"] = opt_seed(0, program=p_cookie(bytes(range(8)), "client"))
    s["c-server-16"] = opt_seed(0, program=p_cookie(bytes(range(24)), "server"))
    s["c-server-32"] = opt_seed(0, program=p_cookie(bytes(range(40)), "server"))
    s["c-len-5"] = opt_seed(0, program=p_cookie(bytes(5)))
    s["c-len-9"] = opt_seed(0, program=p_cookie(bytes(9)))
    s["c-len-41"] = opt_seed(0, program=p_cookie(bytes(41)))
    s["c-twice"] = opt_seed(0, program=p_cookie(bytes(8), "client") * 2)
    s["c-with-ecs-nsid"] = opt_seed(0, do=True, program=p_cookie(bytes(range(8)), "client") +
                                    p_ecs(0, 24, v4[:3]) + b"\x04")
    s["x-nsid"] = opt_seed(8, program=b"\x04")
    s["x-nsid-data"] = opt_seed(8, program=b"\x0c\x03abc")
    s["x-unknown"] = opt_seed(8, program=b"\x05\xfd\xe9\x05hello")
    s["x-padding"] = opt_seed(8, program=b"\x06\x40")
    s["x-many-options"] = opt_seed(8, program=b"\x06\x00" * 300)
    s["x-raw-overrun"] = opt_seed(8, program=b"\x07\x00\x0a\x00\x30" + bytes(8))
    s["x-raw-list"] = opt_seed(0, raw=True, program=option(NSID, b"") + ecs(1, 24, v4[:3]))
    s["x-raw-truncated-header"] = opt_seed(0, raw=True, program=b"\x00\x08\x00")
    s["x-rdlen-plus"] = opt_seed(0, rdlen_delta=3, program=p_ecs(0, 24, v4[:3]))
    s["x-rdlen-minus"] = opt_seed(0, rdlen_delta=-2, program=p_ecs(0, 24, v4[:3]))
    s["x-version-1"] = opt_seed(0, version=1, program=p_ecs(0, 24, v4[:3]))
    s["x-version-1-bad-ecs"] = opt_seed(0, version=1, program=p_ecs(0, 40, v4))
    for i in range(8):
        s["u-udp-%d" % i] = opt_seed(8, 2, udp_idx=i, do=True, program=b"\x04")
    s["u-big-udp-512"] = opt_seed(3, 2, udp_idx=1, program=p_ecs(0, 24, v4[:3]) + b"\x04")
    return s


def config_seeds():
    s = {}
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    conf_dir = os.path.join(repo, "test", "data", "conf")
    files = [os.path.join(repo, "conf", "gslbd.json")]
    files += sorted(os.path.join(conf_dir, f) for f in os.listdir(conf_dir) if f.endswith(".json"))
    with open(os.path.join(conf_dir, "nets.txt"), "rb") as f:
        nets = f.read()
    for path in files:
        with open(path, "rb") as f:
            text = f.read()
        tag = "repo-" + os.path.basename(path)[:-len(".json")]
        s[tag] = text
        if b"nets_file" in text:
            s[tag + "+nets"] = text + b"\x00" + nets
    token = b"0123456789abcdef0123456789abcdef\n"
    minimal = (b'{"listen": ["127.0.0.1:5300"], "zones": [{"origin": "a.test", "file": "a.zone"}]%s}')
    s["k-api-token"] = minimal % b', "api": {"listen": "127.0.0.1:8053", "token_file": "api.token"}'
    s["k-api-token"] += b"\x00\x00" + token
    s["k-api-token-empty"] = (minimal % b', "api": {"token_file": "api.token"}') + b"\x00\x00"
    s["k-api-off"] = minimal % b', "api": {"enabled": false}'
    s["k-cookies-secret"] = (minimal % b', "cookies": {"enabled": true, "secret_file": "api.token"}')
    s["k-cookies-secret"] += b"\x00\x00" + token
    s["k-cookies-off"] = minimal % b', "cookies": {"enabled": false}'
    s["k-rrl"] = minimal % (b', "rrl": {"enabled": true, "responses_per_second": 5, "slip": 0, '
                            b'"exempt": ["127.0.0.0/8", "::1", "2001:db8::/32"]}')
    s["k-nets-file-only"] = (
        b'{"listen": ["[::1]:53"], "zones": [{"origin": "x.test", "file": "/x.zone"}],\n'
        b' "regions": [{"name": "eu-central", "lat": 1, "lon": 2}, {"name": "eu-west", "lat": 3, '
        b'"lon": 4}, {"name": "us-east", "lat": -5.5, "lon": -179.9}],\n'
        b' "geoip": {"nets_file": "nets.txt", "pin": {"country:DE": ["eu-west"]}}}'
    ) + b"\x00" + nets + b"\n10.0.0.0/8 eu-west\n10.0.0.0/08 us-east\n"
    s["k-escapes"] = (b'{"listen": ["127.0.0.1:5300"], "zones": [{"origin": "a\\u002etest", '
                      b'"file": "a\\u0000.zone"}], "nsid": "\\u00e9\\ud83d\\ude00"}')
    return s


def zone_seeds():
    """fuzz_zone.c's MAIN [NUL INCLUDED] inputs: the repository's zone files, each $INCLUDE
    pointed at inc.zone with the included file after a NUL, and a few operator-style zones."""
    s = {}
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    zone_dir = os.path.join(repo, "test", "data", "zones")
    files = [os.path.join(repo, "test", "fuzz", "fuzz.zone")]
    files += sorted(os.path.join(zone_dir, f) for f in os.listdir(zone_dir) if f.endswith(".zone"))
    for path in files:
        with open(path, "rb") as f:
            text = f.read()
        tag = "repo-" + os.path.basename(path)[:-len(".zone")]
        lines = text.split(b"\n")
        incs = [i for i, line in enumerate(lines) if line.startswith(b"$INCLUDE")]
        if not incs:
            s[tag] = text
        for k, i in enumerate(incs):
            words = lines[i].split()
            inc = os.path.join(zone_dir, words[1].decode())
            body = open(inc, "rb").read() if os.path.exists(inc) else b""
            out = list(lines)
            out[i] = b" ".join([b"$INCLUDE", b"inc.zone"] + words[2:])
            s["%s-inc%d" % (tag, k)] = b"\n".join(out) + b"\x00" + body
    soa = b"@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"
    # Targets whose last labels repeat (ns.bar.bar., net.net.) once drew compression pointers
    # into unfinished names (COMP-2).
    s["k-deleg-repeated"] = (b"$TTL 300\n" + soa + b"sub IN NS ns.bar.bar.\n@ IN NS net.net.\n"
                             b"c IN NS campus.c.fuzz.net.net.\nx IN MX 10 x.y.y.\n")
    s["k-deleg"] = (b"$TTL 300\n" + soa + b"sub IN NS ns.bar.example.\n"
                    b"net IN NS ns1.net.example.\nc IN NS campus.c.fuzz.example.\n"
                    b"campus.c IN A 192.0.2.9\n")
    s["k-wildcard-cname-dname"] = (soa + b"*.w IN A 192.0.2.2\n*.w IN TXT \"wild\"\n"
                                   b"a IN CNAME b\nb IN CNAME a\nd IN DNAME example.net.\n"
                                   b"x.y.z IN MX 10 a\n_sip._udp IN SRV 0 5 5060 sip\n")
    s["k-unknown-types"] = (soa + b"u IN TYPE65534 \\# 3 010203\nu IN TYPE1 \\# 4 c0000201\n"
                            b"e IN TYPE999 \\# 0\nt IN TXT ( \"a\" \"b\" )\n")
    s["k-origin-ttl"] = (b"$ORIGIN fuzz.example.\n$TTL 1h\n" + soa +
                         b"$ORIGIN sub.fuzz.example.\nhost 2147483648 IN A 192.0.2.3\n"
                         b"$TTL 0\n@ IN AAAA 2001:db8::1\n")
    s["k-long-name"] = soa + (b"a" * 63 + b".") * 3 + b" IN A 192.0.2.4\n"
    # a relative RDATA name that passes 255 octets only once the origin is appended
    s["k-long-rdata-name"] = soa + b"@ IN NS " + (b"a" * 63 + b".") * 3 + b"b" * 60 + b"\n"
    s["k-include-self"] = b"$INCLUDE main.zone\n" + soa
    s["k-include"] = soa + b"$INCLUDE inc.zone sub\n\x00@ IN A 192.0.2.5\nwww IN CNAME @\n"
    return s


def api_body_seeds():
    """fuzz_api_body.c's inputs: a flags byte (bit 0: a ?state= argument before a NUL), then
    the body of POST /api/v1/clusters/NAME/state."""
    s = {}
    for st in (b"auto", b"up", b"down", b"drain"):
        s["body-" + st.decode()] = b"\x00" + b'{"state": "%s"}' % st
        s["query-" + st.decode()] = b"\x01" + st + b"\x00"
        s["both-" + st.decode()] = b"\x01" + st + b"\x00" + b'{"state":"%s"}' % st
    s["k-disagree"] = b'\x01up\x00{"state": "down"}'
    s["k-duplicate-key"] = b'\x00{"state": "up", "state": "down"}'
    s["k-extra-key"] = b'\x00{"state": "up", "why": "maintenance"}'
    s["k-not-object"] = b'\x00["state", "up"]'
    s["k-number"] = b'\x00{"state": 1}'
    s["k-nul-escape"] = b'\x00{"state": "up\\u0000down"}'
    s["k-unicode"] = b'\x00{"st\\u0061te": "dr\\u0061in"}'
    s["k-bad-json"] = b'\x00{"state": "up"'
    s["k-nested"] = b"\x00" + b"[" * 200 + b"]" * 200
    s["k-empty"] = b"\x00"
    s["k-query-empty"] = b"\x01\x00"
    s["k-query-case"] = b"\x01Drain\x00"
    s["k-trailing"] = b'\x00{"state": "up"} {}'
    s["k-big"] = b'\x00{"state": "' + b"a" * 4200 + b'"}'
    return s


TARGETS = {
    "query": seeds,
    "tcp_stream": tcp_seeds,
    "options": option_seeds,
    "config": config_seeds,
    "zone": zone_seeds,
    "api_body": api_body_seeds,
}


def write_seeds(out, all_seeds):
    os.makedirs(out, exist_ok=True)
    for tag, data in sorted(all_seeds.items()):
        with open(os.path.join(out, tag), "wb") as f:
            f.write(data)
    print("make-seeds.py: %d seeds in %s" % (len(all_seeds), out))


def main():
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == "--all":
        for target, fn in TARGETS.items():
            write_seeds(os.path.join(args[1], target), fn())
    elif len(args) == 3 and args[0] == "--target" and args[1] in TARGETS:
        write_seeds(args[2], TARGETS[args[1]]())
    elif len(args) == 1:
        write_seeds(args[0], seeds())
    else:
        sys.exit("usage: make-seeds.py [--target %s] OUTPUT_FOLDER | --all CORPUS_FOLDER"
                 % "|".join(TARGETS))


if __name__ == "__main__":
    main()
