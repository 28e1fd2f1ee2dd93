#!/usr/bin/env python3
"""make-seeds.py: writes the seed corpus of raw DNS queries for test/fuzz/fuzz_query.c.

Each seed is one DNS message as it would arrive over UDP (no TCP length prefix), named for
what it tests. Valid queries against test/fuzz/fuzz.zone, EDNS options (ECS, COOKIE, NSID)
and malformed messages (bad pointers, trailing data, two OPTs, QDCOUNT 2, ...).
Deterministic, standard library only:
    python3 test/fuzz/make-seeds.py test/fuzz/corpus/query
"""
import os
import struct
import sys

ZONE = "fuzz.example"

# Record types and classes used below.
A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, OPT, DS = 1, 2, 5, 6, 15, 16, 28, 33, 41, 43
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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-seeds.py OUTPUT_FOLDER")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    all_seeds = seeds()
    for tag, data in sorted(all_seeds.items()):
        with open(os.path.join(out, tag), "wb") as f:
            f.write(data)
    print("make-seeds.py: %d seeds in %s" % (len(all_seeds), out))


if __name__ == "__main__":
    main()
