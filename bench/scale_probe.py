#!/usr/bin/env python3
"""scale_probe.py: the DNS side of bench/scale.sh (python3 stdlib only).

  wait PORT NAME T0 TIMEOUT        ask NAME (SOA) on 127.0.0.1:PORT until it answers NOERROR;
                                   print the seconds since T0 (a time.time() value)
  serial PORT ZONE                 print the SOA serial of ZONE
  wait-serial PORT ZONE SERIAL T0 TIMEOUT   wait until the SOA serial is SERIAL; print the
                                   seconds since T0
  scopes PORT NAME CLIENTS OUT     ask NAME (A) once per client address in CLIENTS with an
                                   ECS option (the client's /24); write "client scope
                                   answer" lines to OUT; print the number of distinct ECS
                                   networks (address/scope) the answers make a resolver cache
  queries NAME CLIENTS OUT         the same queries as a dnsperf -B input file
  agree OUT_A OUT_B                print on how many clients two scopes files got the same
                                   answer
"""
import random
import socket
import struct
import sys
import time


def query(name, qtype, client=None, prefix=24):
    qid = random.getrandbits(16)
    msg = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 1)
    for label in name.rstrip(".").split("."):
        msg += bytes([len(label)]) + label.encode()
    msg += b"\0" + struct.pack("!HH", qtype, 1)
    opt = b""
    if client is not None:
        a = socket.inet_aton(client)
        nbytes = (prefix + 7) // 8
        data = struct.pack("!HBB", 1, prefix, 0) + a[:nbytes]
        opt = struct.pack("!HH", 8, len(data)) + data
    msg += b"\0" + struct.pack("!HHIH", 41, 1232, 0, len(opt)) + opt
    return qid, msg


def skip_name(m, off):
    while True:
        n = m[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse(m):
    """(rcode, [(type, rdata)], ecs scope or None)"""
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", m[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(m, off) + 4
    rrs, scope = [], None
    for i in range(an + ns + ar):
        off = skip_name(m, off)
        t, _c, _ttl, rdlen = struct.unpack("!HHIH", m[off:off + 10])
        off += 10
        rd = m[off:off + rdlen]
        if i < an:
            rrs.append((t, rd))
        if t == 41:
            p = 0
            while p + 4 <= len(rd):
                code, ln = struct.unpack("!HH", rd[p:p + 4])
                if code == 8 and ln >= 4:
                    scope = rd[p + 7]
                p += 4 + ln
        off += rdlen
    return flags & 0xF, rrs, scope


def ask(sock, port, name, qtype, client=None, timeout=1.0):
    qid, msg = query(name, qtype, client)
    sock.settimeout(timeout)
    sock.sendto(msg, ("127.0.0.1", port))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            m, _ = sock.recvfrom(65535)
        except (socket.timeout, ConnectionRefusedError, OSError):
            return None
        if len(m) >= 12 and struct.unpack("!H", m[:2])[0] == qid:
            return parse(m)
    return None


def soa_serial(sock, port, zone):
    r = ask(sock, port, zone, 6, timeout=0.3)
    if r is None or r[0] != 0:
        return None
    for t, rd in r[1]:
        if t == 6:
            off = skip_name(rd, skip_name(rd, 0))
            return struct.unpack("!I", rd[off:off + 4])[0]
    return None


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if cmd == "wait":
        port, name, t0, timeout = int(args[0]), args[1], float(args[2]), float(args[3])
        while time.time() - t0 < timeout:
            if soa_serial(sock, port, name) is not None:
                print("%.3f" % (time.time() - t0))
                return 0
            time.sleep(0.02)
        return 1
    if cmd == "serial":
        print(soa_serial(sock, int(args[0]), args[1]))
        return 0
    if cmd == "wait-serial":
        port, zone, want, t0, timeout = (int(args[0]), args[1], int(args[2]), float(args[3]),
                                         float(args[4]))
        while time.time() - t0 < timeout:
            if soa_serial(sock, port, zone) == want:
                print("%.3f" % (time.time() - t0))
                return 0
            time.sleep(0.02)
        return 1
    if cmd == "scopes":
        port, name = int(args[0]), args[1]
        clients = open(args[2]).read().split()
        nets, lost = set(), 0
        with open(args[3], "w") as out:
            for c in clients:
                r = ask(sock, port, name, 1, c)
                if r is None or r[2] is None:
                    lost += 1
                    out.write("%s - -\n" % c)
                    continue
                scope = r[2]
                a = struct.unpack("!I", socket.inet_aton(c))[0]
                net = a & ((0xFFFFFFFF << (32 - scope)) & 0xFFFFFFFF) if scope else 0
                nets.add((net, scope))
                ans = ",".join(sorted(socket.inet_ntoa(rd) for t, rd in r[1] if t == 1))
                out.write("%s %d %s\n" % (c, scope, ans))
        print("%d %d" % (len(nets), lost))
        return 0
    if cmd == "queries":
        name, clients = args[0], open(args[1]).read().split()
        with open(args[2], "wb") as out:
            for c in clients:
                _qid, msg = query(name, 1, c)
                out.write(struct.pack("!H", len(msg)) + msg)
        return 0
    if cmd == "agree":
        a = [l.split() for l in open(args[0])]
        b = [l.split() for l in open(args[1])]
        same = sum(1 for x, y in zip(a, b) if x[0] == y[0] and x[2] == y[2] and x[2] != "-")
        print("%d %d" % (same, len(a)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
