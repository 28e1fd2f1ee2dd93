"""rules_common.py: shared state and helpers of t_rules.py (the per-rule checks): sending
crafted queries, one-line expectations that print `ok ID ...` / `not ok ID ...` with the
reply on failure, and raw-socket helpers (source port 0, DF bit, TCP segments)."""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402,F401
import itest  # noqa: E402
from dnsq import Edns, ecs_option, make_query  # noqa: E402,F401

R = itest.Report("t_rules")
D = itest.DATA
H = "127.0.0.1"
NSID = b"gslbd-it-nsid"
Z = "rules.test."
NO_V6 = "no IPv6 on loopback (::1)"

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, BADVERS = 0, 1, 2, 3, 4, 5, 16
A, NS, CNAME, SOA, MX, TXT, AAAA, SRV, OPT, DS, HINFO = 1, 2, 5, 6, 15, 16, 28, 33, 41, 43, 13


class Ctx:
    """The servers under test, set up by t_rules.start_servers()."""
    port = None  # main server: --zone/--listen on 127.0.0.1, 127.0.0.2, ::1; --nsid
    port2 = None  # limits server: -c config with small TCP limits and edns_max_udp 1400
    main = None
    lim = None
    v6 = False


C = Ctx()
last_err = [""]

# Every reply also goes through wirecheck (build/*/test/wirecheck, the response validator
# of test/util/resp_check.c): a reply it rejects counts as no usable reply. One process for
# the whole run, one line per reply.
_WIRECHECK = os.path.join(os.path.dirname(os.path.abspath(itest.GSLBD)), "test", "wirecheck")
_wc = [None]


def wirecheck(pkt, raw, tcp):
    """None when raw is a well-formed answer to pkt, else the validator's reason."""
    if _wc[0] is None:
        if not os.access(_WIRECHECK, os.X_OK):
            raise RuntimeError("no wirecheck at %s (run make)" % _WIRECHECK)
        import subprocess
        _wc[0] = subprocess.Popen([_WIRECHECK], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)
    limit = 65535
    if not tcp:  # UDP-1: the query's OPT sets the limit (the server's own cap is checked apart)
        limit = 512
        try:
            m = dnsq.Msg(pkt)
            if m.opt is not None:
                limit = max(512, m.opt.udp)
        except dnsq.WireError:
            pass
    _wc[0].stdin.write("%s %s %d\n" % (pkt.hex(), raw.hex(), limit))
    _wc[0].stdin.flush()
    verdict = _wc[0].stdout.readline().strip()
    return None if verdict == "ok" else verdict


def ask(pkt, tcp=False, host=None, port=None, timeout=2.0):
    """Send raw bytes; a parsed Msg, or None (no reply, or a reply dnsq cannot parse:
    the reason is kept for the failure detail)."""
    host = host or H
    port = port or C.port
    timeout = itest.slack(timeout)
    last_err[0] = ""
    raw = (dnsq.tcp_exchange if tcp else dnsq.udp_exchange)(pkt, host, port, timeout)
    if raw is None:
        last_err[0] = "no reply within %.1fs" % timeout
        return None
    try:
        msg = dnsq.Msg(raw)
    except dnsq.WireError as e:
        last_err[0] = "malformed reply (%s): %s" % (e, raw.hex())
        return None
    bad = wirecheck(pkt, raw, tcp)
    if bad is not None:
        last_err[0] = "wirecheck: %s: %s" % (bad, raw.hex())
        return None
    return msg


def q(name, qtype="A", qclass="IN", tcp=False, host=None, port=None, timeout=2.0, **kw):
    return ask(make_query(name, qtype, qclass, **kw), tcp=tcp, host=host, port=port,
               timeout=timeout)


def show(r):
    if r is None:
        alive = C.main is not None and C.main.alive()
        return "%s (main server alive: %s)" % (last_err[0] or "no reply", alive)
    return r.summary()


def expect(rid, desc, r, rcode=None, aa=None, tc=None, an=None, ns=None, ar=None,
           opt=None, qr=True, extra=None):
    """One check. an/ns/ar: exact counts (ar counts OPT too). opt: True/False for presence.
    extra(r) returns a list of problems (strings, falsy entries ignored)."""
    probs = []
    if r is None:
        probs.append("no usable reply")
    else:
        if qr and not r.qr:
            probs.append("QR=0")
        if rcode is not None and r.rcode != rcode:
            probs.append("rcode %s, want %s" % (dnsq.rcode_text(r.rcode), dnsq.rcode_text(rcode)))
        if aa is not None and r.aa != aa:
            probs.append("AA=%d, want %d" % (r.aa, aa))
        if tc is not None and r.tc != tc:
            probs.append("TC=%d, want %d" % (r.tc, tc))
        for nm, want, got in (("ANCOUNT", an, r.ancount), ("NSCOUNT", ns, r.nscount),
                              ("ARCOUNT", ar, r.arcount)):
            if want is not None and want != got:
                probs.append("%s=%d, want %d" % (nm, got, want))
        if opt is not None and (r.opt is not None) != opt:
            probs.append("OPT %s, want %s" % ("present" if r.opt else "absent",
                                              "present" if opt else "absent"))
        if opt and r.opt_count > 1:
            probs.append("%d OPT records" % r.opt_count)
        if extra is not None and not probs:
            try:
                probs += [p for p in extra(r) if p]
            except Exception as e:  # a broken reply must fail the check, not the script
                probs.append("check raised %r" % e)
    return R.check(not probs, rid, desc, lambda: "; ".join(probs) + "\n" + show(r))


def rrs(r, section, rtype=None):
    return [x for x in r.records(section) if rtype is None or x.type == rtype]


def texts(r, section, rtype=None):
    return sorted(x.text.lower() for x in rrs(r, section, rtype))


def want_answer(rtype, values, owner=None):
    """extra(): the answer holds exactly these RDATA texts of rtype (and only them)."""
    def f(r):
        got = texts(r, "answer", rtype)
        probs = []
        if got != sorted(v.lower() for v in values):
            probs.append("answer %s = %s, want %s" % (dnsq.type_text(rtype), got, sorted(values)))
        if owner is not None:
            for x in rrs(r, "answer", rtype):
                if x.name.lower() != owner.lower():
                    probs.append("owner %s, want %s" % (x.name, owner))
        return probs
    return f


def soa_auth(zone, ttl=None):
    def f(r):
        s = rrs(r, "authority", SOA)
        if len(s) != 1 or s[0].name.lower() != zone.lower():
            return ["authority SOA of %s missing" % zone]
        if len(r.authority) != 1:
            return ["authority holds more than the SOA"]
        if ttl is not None and s[0].ttl != ttl:
            return ["SOA TTL %d, want %d" % (s[0].ttl, ttl)]
        return []
    return f


def both(*fs):
    def f(r):
        out = []
        for g in fs:
            out += g(r)
        return out
    return f


def no_reply(pkt, timeout=0.8, host=None, port=None):
    host = host or H
    port = port or C.port
    # scaled: a reply that is merely late on a slow run must not pass for "no reply"
    return dnsq.udp_exchange(pkt, host, port, itest.slack(timeout)) is None


def ip_checksum(b):
    if len(b) % 2:
        b += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def raw_udp_send(sport, payload, dst=H, dport=None):
    """Send one IPv4/UDP datagram with an arbitrary source port (needs CAP_NET_RAW)."""
    dport = dport or C.port
    src = socket.inet_aton(H)
    dsta = socket.inet_aton(dst)
    udp_len = 8 + len(payload)
    pseudo = src + dsta + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = ip_checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0x1234, 0, 64, 17, 0, src, dsta)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
        s.sendto(ip + udp, (dst, 0))
    finally:
        s.close()


def raw_capture(proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, proto)
    s.settimeout(0.2)
    return s


def captured(cap, want, seconds):
    """IPv4 packets from cap for `seconds`, filtered by want(ip_header_len, pkt)."""
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            pkt = cap.recv(65535)
        except socket.timeout:
            continue
        ihl = (pkt[0] & 15) * 4
        if want(ihl, pkt):
            out.append((ihl, pkt))
    return out
