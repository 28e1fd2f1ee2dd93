#!/usr/bin/env python3
"""dnsq.py: a small stdlib-only DNS client and packet crafter for gslbd's integration tests.

It builds queries byte by byte (so it can also build broken ones: QDCOUNT=2, trailing
bytes, two OPT records, bad compression pointers, bad ECS), sends them over UDP or TCP,
and parses responses strictly enough to check header bits, sections and raw bytes.

As a module:   import dnsq; r = dnsq.query("www.rules.test.", "A", port=P, edns=dnsq.Edns())
As a command:  dnsq.py [--tcp] [--edns] [--do] [--port P] [--server ADDR] NAME [TYPE]
               dnsq.py loop --port P [--count N] [--duration S] [--tcp] NAME [TYPE]
"""

import os
import random
import select
import socket
import struct
import sys
import time

TYPES = {
    "A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
    "AAAA": 28, "SRV": 33, "NAPTR": 35, "DNAME": 39, "OPT": 41, "DS": 43, "RRSIG": 46,
    "NSEC": 47, "DNSKEY": 48, "IXFR": 251, "AXFR": 252, "MAILB": 253, "MAILA": 254,
    "ANY": 255, "CAA": 257,
}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
CLASSES = {"IN": 1, "CH": 3, "HS": 4, "NONE": 254, "ANY": 255}
CLASS_NAMES = {v: k for k, v in CLASSES.items()}
RCODES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    9: "NOTAUTH", 16: "BADVERS", 23: "BADCOOKIE",
}
RCODE_VALUES = {v: k for k, v in RCODES.items()}

OPT_NSID = 3
OPT_ECS = 8
OPT_EXPIRE = 9
OPT_COOKIE = 10
OPT_PADDING = 12


def type_code(t):
    if isinstance(t, int):
        return t
    t = t.upper()
    if t in TYPES:
        return TYPES[t]
    if t.startswith("TYPE"):
        return int(t[4:])
    raise ValueError("unknown type %r" % t)


def type_text(code):
    return TYPE_NAMES.get(code, "TYPE%d" % code)


def class_code(c):
    if isinstance(c, int):
        return c
    c = c.upper()
    if c in CLASSES:
        return CLASSES[c]
    if c.startswith("CLASS"):
        return int(c[5:])
    raise ValueError("unknown class %r" % c)


def rcode_text(code):
    return RCODES.get(code, "RCODE%d" % code)


# ---------------------------------------------------------------------------------------
# Names


def encode_name(name):
    """Text name (absolute or not; "." is the root) to uncompressed wire bytes, case kept.
    Bytes are passed through unchanged so callers can hand-craft names."""
    if isinstance(name, (bytes, bytearray)):
        return bytes(name)
    if name in (".", ""):
        return b"\x00"
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if len(raw) > 63:
            raise ValueError("label too long; craft it as bytes")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


class WireError(Exception):
    pass


def decode_name(msg, off, track=None):
    """Read a possibly compressed name at off. Returns (text, offset after the name).
    track, a list, receives ('ptr', at, target) for every compression pointer followed."""
    labels = []
    end = None
    hops = 0
    total = 0
    while True:
        if off >= len(msg):
            raise WireError("name runs past the message")
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(msg):
                raise WireError("truncated pointer")
            target = ((n & 0x3F) << 8) | msg[off + 1]
            if track is not None:
                track.append(("ptr", off, target))
            if end is None:
                end = off + 2
            if target >= off:
                raise WireError("forward or self pointer at %d" % off)
            hops += 1
            if hops > 128:
                raise WireError("pointer loop")
            off = target
            continue
        if n & 0xC0:
            raise WireError("obsolete label type 0x%02x at %d" % (n, off))
        off += 1
        if n == 0:
            break
        if off + n > len(msg):
            raise WireError("label runs past the message")
        labels.append(msg[off:off + n])
        total += n + 1
        if total + 1 > 255:
            raise WireError("name over 255 octets")
        off += n
    if end is None:
        end = off
    text = ".".join(_label_text(l) for l in labels) + "."
    return text, end


def _label_text(raw):
    out = []
    for b in raw:
        c = chr(b)
        if c in ".\\\"();@$" or b <= 0x20 or b >= 0x7F:
            if 0x21 <= b < 0x7F:
                out.append("\\" + c)
            else:
                out.append("\\%03d" % b)
        else:
            out.append(c)
    return "".join(out)


def name_has_pointer(msg, off):
    """True when the name starting at off uses a compression pointer."""
    track = []
    decode_name(msg, off, track)
    return bool(track)


# ---------------------------------------------------------------------------------------
# Building queries


class Edns:
    """An OPT record to put in a query."""

    def __init__(self, udp=1232, version=0, do=False, flags=0, ext_rcode=0, options=None,
                 owner=b"\x00", rdata=None):
        self.udp = udp
        self.version = version
        self.do = do
        self.flags = flags  # extra flag bits (besides DO), e.g. 0x40
        self.ext_rcode = ext_rcode
        self.options = list(options or [])  # (code, bytes)
        self.owner = owner
        self.rdata = rdata  # raw RDATA overriding options (for malformed options)

    def wire(self):
        if self.rdata is not None:
            rdata = self.rdata
        else:
            rdata = b"".join(struct.pack("!HH", c, len(d)) + d for c, d in self.options)
        flags = self.flags | (0x8000 if self.do else 0)
        ttl = (self.ext_rcode << 24) | (self.version << 16) | flags
        return (encode_name(self.owner) + struct.pack("!HHIH", 41, self.udp, ttl, len(rdata))
                + rdata)


def ecs_option(family, source, scope=0, addr=b"", raw=None):
    """ECS option (code 8). addr: bytes as sent (already truncated), or an address string
    that is truncated to SOURCE bits here."""
    if raw is not None:
        return (OPT_ECS, raw)
    if isinstance(addr, str):
        fam = socket.AF_INET if family == 1 else socket.AF_INET6
        full = socket.inet_pton(fam, addr)
        nbytes = (source + 7) // 8
        b = bytearray(full[:nbytes])
        if source % 8 and nbytes:
            b[-1] &= (0xFF << (8 - source % 8)) & 0xFF
        addr = bytes(b)
    return (OPT_ECS, struct.pack("!HBB", family, source, scope) + addr)


def nsid_option():
    return (OPT_NSID, b"")


def cookie_option(client=b"\x01\x02\x03\x04\x05\x06\x07\x08", server=b""):
    return (OPT_COOKIE, client + server)


def header(id=None, qr=False, opcode=0, aa=False, tc=False, rd=False, ra=False, z=False,
           ad=False, cd=False, rcode=0, qd=1, an=0, ns=0, ar=0):
    if id is None:
        id = random.randint(0, 0xFFFF)
    flags = ((qr << 15) | (opcode << 11) | (aa << 10) | (tc << 9) | (rd << 8) | (ra << 7)
             | (z << 6) | (ad << 5) | (cd << 4) | rcode)
    return struct.pack("!HHHHHH", id, flags, qd, an, ns, ar)


def question(qname, qtype="A", qclass="IN"):
    return encode_name(qname) + struct.pack("!HH", type_code(qtype), class_code(qclass))


def make_query(qname, qtype="A", qclass="IN", id=None, opcode=0, rd=False, edns=None,
               tc=False, ad=False, cd=False, z=False, aa=False, ra=False, qdcount=None,
               answer=b"", ancount=0, authority=b"", nscount=0, extra_additional=b"",
               extra_arcount=0, trailing=b""):
    """A query message. edns: an Edns, a list of Edns (several OPT records), or None."""
    if id is None:
        id = random.randint(0, 0xFFFF)
    q = question(qname, qtype, qclass) if qname is not None else b""
    opts = []
    if isinstance(edns, Edns):
        opts = [edns]
    elif edns:
        opts = list(edns)
    ar = b"".join(o.wire() for o in opts) + extra_additional
    arcount = len(opts) + extra_arcount
    qd = (1 if qname is not None else 0) if qdcount is None else qdcount
    h = header(id=id, opcode=opcode, rd=rd, tc=tc, ad=ad, cd=cd, z=z, aa=aa, ra=ra, qd=qd,
               an=ancount, ns=nscount, ar=arcount)
    return h + q + answer + authority + ar + trailing


def rr_wire(owner, rtype, rclass, ttl, rdata):
    return encode_name(owner) + struct.pack("!HHIH", type_code(rtype), class_code(rclass),
                                            ttl, len(rdata)) + rdata


# ---------------------------------------------------------------------------------------
# Parsing responses


class RR:
    def __init__(self, name, rtype, rclass, ttl, rdata, owner_off, rdata_off):
        self.name = name
        self.type = rtype
        self.cls = rclass
        self.ttl = ttl
        self.rdata = rdata
        self.owner_off = owner_off
        self.rdata_off = rdata_off
        self.text = ""  # rdata in presentation form (names decompressed)

    def key(self):
        return (self.name.lower(), self.type)

    def __repr__(self):
        return "%s %d %s %s %s" % (self.name, self.ttl, CLASS_NAMES.get(self.cls, self.cls),
                                   type_text(self.type), self.text)

    def canon(self, ttl=True):
        """Comparable text: lower-case names, optional TTL."""
        s = "%s %s %s %s" % (self.name.lower(), CLASS_NAMES.get(self.cls, "CLASS%d" % self.cls),
                             type_text(self.type), self.text_lower())
        if ttl:
            s = "%s ttl=%d" % (s, self.ttl)
        return s

    def text_lower(self):
        if self.type in (2, 5, 6, 12, 15, 33, 39):
            return self.text.lower()
        return self.text


class Opt:
    def __init__(self, rr):
        self.owner = rr.name
        self.udp = rr.cls
        self.ext_rcode = (rr.ttl >> 24) & 0xFF
        self.version = (rr.ttl >> 16) & 0xFF
        self.flags = rr.ttl & 0xFFFF
        self.do = bool(self.flags & 0x8000)
        self.options = []
        d = rr.rdata
        i = 0
        self.malformed = False
        while i < len(d):
            if i + 4 > len(d):
                self.malformed = True
                break
            code, ln = struct.unpack("!HH", d[i:i + 4])
            if i + 4 + ln > len(d):
                self.malformed = True
                break
            self.options.append((code, d[i + 4:i + 4 + ln]))
            i += 4 + ln

    def option(self, code):
        for c, v in self.options:
            if c == code:
                return v
        return None

    def codes(self):
        return [c for c, _ in self.options]

    def ecs(self):
        v = self.option(OPT_ECS)
        if v is None or len(v) < 4:
            return None
        fam, src, scope = struct.unpack("!HBB", v[:4])
        return {"family": fam, "source": src, "scope": scope, "addr": v[4:]}


class Msg:
    """A parsed DNS message. Raises WireError on anything malformed."""

    def __init__(self, raw):
        self.raw = bytes(raw)
        if len(raw) < 12:
            raise WireError("message under 12 bytes")
        (self.id, flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!HHHHHH", raw[:12])
        self.flags_word = flags
        self.qr = bool(flags & 0x8000)
        self.opcode = (flags >> 11) & 0xF
        self.aa = bool(flags & 0x0400)
        self.tc = bool(flags & 0x0200)
        self.rd = bool(flags & 0x0100)
        self.ra = bool(flags & 0x0080)
        self.z = bool(flags & 0x0040)
        self.ad = bool(flags & 0x0020)
        self.cd = bool(flags & 0x0010)
        self.hrcode = flags & 0xF
        off = 12
        self.question = []
        qstart = off
        for _ in range(self.qdcount):
            name, off = decode_name(raw, off)
            if off + 4 > len(raw):
                raise WireError("question runs past the message")
            qt, qc = struct.unpack("!HH", raw[off:off + 4])
            off += 4
            self.question.append((name, qt, qc))
        self.question_raw = raw[qstart:off]
        self.answer, off = self._rrs(raw, off, self.ancount)
        self.authority, off = self._rrs(raw, off, self.nscount)
        self.additional, off = self._rrs(raw, off, self.arcount)
        if off != len(raw):
            raise WireError("%d trailing bytes" % (len(raw) - off))
        opts = [r for r in self.additional if r.type == 41]
        self.opt_count = len(opts)
        self.opt = Opt(opts[0]) if opts else None
        self.rcode = self.hrcode | ((self.opt.ext_rcode << 4) if self.opt else 0)

    def _rrs(self, raw, off, count):
        out = []
        for _ in range(count):
            start = off
            name, off = decode_name(raw, off)
            if off + 10 > len(raw):
                raise WireError("RR header runs past the message")
            t, c, ttl, ln = struct.unpack("!HHIH", raw[off:off + 10])
            off += 10
            if off + ln > len(raw):
                raise WireError("RDATA runs past the message")
            rr = RR(name, t, c, ttl, raw[off:off + ln], start, off)
            rr.text = rdata_text(raw, rr)
            out.append(rr)
            off += ln
        return out, off

    def flags(self):
        names = []
        for n in ("qr", "aa", "tc", "rd", "ra", "z", "ad", "cd"):
            if getattr(self, n):
                names.append(n)
        return names

    def records(self, section=None):
        if section is None:
            return self.answer + self.authority + [r for r in self.additional if r.type != 41]
        if section == "additional":
            return [r for r in self.additional if r.type != 41]
        return getattr(self, section)

    def summary(self):
        lines = ["id=%d opcode=%d rcode=%s flags=%s qd=%d an=%d ns=%d ar=%d size=%d" % (
            self.id, self.opcode, rcode_text(self.rcode), ",".join(self.flags()) or "-",
            self.qdcount, self.ancount, self.nscount, self.arcount, len(self.raw))]
        for name, qt, qc in self.question:
            lines.append(";Q %s %s %s" % (name, CLASS_NAMES.get(qc, qc), type_text(qt)))
        for sec in ("answer", "authority", "additional"):
            for r in getattr(self, sec):
                if r.type == 41:
                    continue
                lines.append("%s %r" % (sec[:2].upper(), r))
        if self.opt:
            lines.append(";OPT udp=%d version=%d ext_rcode=%d flags=0x%04x options=%s" % (
                self.opt.udp, self.opt.version, self.opt.ext_rcode, self.opt.flags,
                [(c, v.hex()) for c, v in self.opt.options]))
        return "\n".join(lines)


def rdata_text(msg, rr):
    d = rr.rdata
    t = rr.type
    o = rr.rdata_off
    try:
        if t == 1 and len(d) == 4:
            return socket.inet_ntop(socket.AF_INET, d)
        if t == 28 and len(d) == 16:
            return socket.inet_ntop(socket.AF_INET6, d)
        if t in (2, 5, 12, 39):
            return decode_name(msg, o)[0]
        if t == 15:
            return "%d %s" % (struct.unpack("!H", d[:2])[0], decode_name(msg, o + 2)[0])
        if t == 6:
            m, p = decode_name(msg, o)
            r, p = decode_name(msg, p)
            return "%s %s %d %d %d %d %d" % ((m, r) + struct.unpack("!IIIII", msg[p:p + 20]))
        if t == 33:
            pr, w, port = struct.unpack("!HHH", d[:6])
            return "%d %d %d %s" % (pr, w, port, decode_name(msg, o + 6)[0])
        if t in (16, 13):
            parts = []
            i = 0
            while i < len(d):
                n = d[i]
                parts.append('"%s"' % d[i + 1:i + 1 + n].decode("latin-1")
                             .replace("\\", "\\\\").replace('"', '\\"'))
                i += 1 + n
            return " ".join(parts)
    except (WireError, struct.error, IndexError, ValueError):
        pass
    return "\\# %d %s" % (len(d), d.hex())


# ---------------------------------------------------------------------------------------
# Transport


def _family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def udp_exchange(pkt, host="127.0.0.1", port=53, timeout=2.0, src=None, want_from=False):
    """Send pkt over UDP; return the response bytes (or None on timeout). With want_from,
    return (bytes, (addr, port)) so callers can check the reply's source address."""
    s = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        if src is not None:
            s.bind((src, 0))
        s.settimeout(timeout)
        s.sendto(pkt, (host, port))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return (None, None) if want_from else None
            s.settimeout(left)
            try:
                data, frm = s.recvfrom(65535)
            except socket.timeout:
                return (None, None) if want_from else None
            # a reply to a well-formed query carries its ID; crafted queries may not
            if len(pkt) >= 2 and len(data) >= 2 and data[:2] != pkt[:2]:
                continue
            return (data, frm[:2]) if want_from else data
    finally:
        s.close()


def tcp_connect(host="127.0.0.1", port=53, timeout=2.0, src=None):
    s = socket.socket(_family(host), socket.SOCK_STREAM)
    if src is not None:
        s.bind((src, 0))
    s.settimeout(timeout)
    s.connect((host, port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_exact(s, n, timeout=2.0):
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out after %d of %d bytes" % (len(buf), n))
        s.settimeout(left)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def tcp_read_msg(s, timeout=2.0):
    ln = struct.unpack("!H", recv_exact(s, 2, timeout))[0]
    return recv_exact(s, ln, timeout)


def tcp_frame(pkt):
    return struct.pack("!H", len(pkt)) + pkt


def tcp_exchange(pkt, host="127.0.0.1", port=53, timeout=2.0, src=None):
    """One query over a fresh TCP connection; returns response bytes or None."""
    try:
        s = tcp_connect(host, port, timeout, src)
    except OSError:
        return None
    try:
        s.sendall(tcp_frame(pkt))
        return tcp_read_msg(s, timeout)
    except (OSError, ConnectionError):
        return None
    finally:
        s.close()


def query(qname, qtype="A", qclass="IN", host="127.0.0.1", port=53, tcp=False, timeout=2.0,
          **kw):
    """Build, send, parse. Returns a Msg, or None when no reply came."""
    pkt = make_query(qname, qtype, qclass, **kw)
    raw = (tcp_exchange if tcp else udp_exchange)(pkt, host, port, timeout)
    if raw is None:
        return None
    return Msg(raw)


def is_closed(s, wait=0.0):
    """True when the peer has closed (EOF or reset) within wait seconds."""
    r, _, _ = select.select([s], [], [], wait)
    if not r:
        return False
    try:
        data = s.recv(65535, socket.MSG_PEEK)
    except (ConnectionResetError, OSError):
        return True
    return data == b""


# ---------------------------------------------------------------------------------------
# Command line


def _main(argv):
    import argparse
    if argv and argv[0] == "loop":
        ap = argparse.ArgumentParser(prog="dnsq.py loop")
        ap.add_argument("--server", default="127.0.0.1")
        ap.add_argument("--port", type=int, required=True)
        ap.add_argument("--count", type=int, default=100)
        ap.add_argument("--duration", type=float, default=0.0,
                        help="keep going for this many seconds (then --count is a minimum)")
        ap.add_argument("--interval", type=float, default=0.0)
        ap.add_argument("--timeout", type=float, default=2.0)
        ap.add_argument("--tcp", action="store_true", help="one persistent TCP connection")
        ap.add_argument("--expect", action="append", default=[],
                        help="an answer RDATA text; each answer must contain one of these")
        ap.add_argument("name")
        ap.add_argument("type", nargs="?", default="A")
        a = ap.parse_args(argv[1:])
        sent = answered = lost = wrong = 0
        conn = None
        end = time.monotonic() + a.duration
        problems = []
        while sent < a.count or time.monotonic() < end:
            sent += 1
            pkt = make_query(a.name, a.type)
            raw = None
            try:
                if a.tcp:
                    if conn is None:
                        conn = tcp_connect(a.server, a.port, a.timeout)
                    conn.sendall(tcp_frame(pkt))
                    raw = tcp_read_msg(conn, a.timeout)
                else:
                    raw = udp_exchange(pkt, a.server, a.port, a.timeout)
            except (OSError, ConnectionError) as e:
                problems.append("query %d: %r" % (sent, e))
                if conn is not None:
                    conn.close()
                    conn = None
            if raw is None:
                lost += 1
            else:
                answered += 1
                try:
                    r = Msg(raw)
                    got = [x.text for x in r.answer]
                    if r.rcode != 0 or (a.expect and not set(got) & set(a.expect)):
                        wrong += 1
                        problems.append("query %d: rcode %s answer %s" % (
                            sent, rcode_text(r.rcode), got))
                except WireError as e:
                    wrong += 1
                    problems.append("query %d: %s" % (sent, e))
            if a.interval:
                time.sleep(a.interval)
        if conn is not None:
            conn.close()
        print("sent=%d answered=%d lost=%d wrong=%d" % (sent, answered, lost, wrong))
        for p in problems[:10]:
            print("  " + p)
        return 0 if lost == 0 and wrong == 0 else 1
    ap = argparse.ArgumentParser(prog="dnsq.py")
    ap.add_argument("--server", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--edns", action="store_true")
    ap.add_argument("--do", action="store_true")
    ap.add_argument("--bufsize", type=int, default=1232)
    ap.add_argument("--class", dest="qclass", default="IN")
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("name")
    ap.add_argument("type", nargs="?", default="A")
    a = ap.parse_args(argv)
    edns = Edns(udp=a.bufsize, do=a.do) if (a.edns or a.do) else None
    r = query(a.name, a.type, a.qclass, host=a.server, port=a.port, tcp=a.tcp,
              timeout=a.timeout, edns=edns)
    if r is None:
        print("no reply")
        return 2
    print(r.summary())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
