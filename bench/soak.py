#!/usr/bin/env python3
"""soak.py: run gslbd for a long time under mixed load, reloads and health flaps; report leaks.

usage: python3 bench/soak.py --gslbd PATH [--seconds N] [--qps N] [--out FILE]

It starts gslbd (2 workers) on a free loopback port with a GSLB config: three regions, five
clusters whose addresses are 127.0.0.21-27, an HTTP (and for one cluster a TCP) health
check against a test/integration/backend.py process on each of those addresses, four
services (nearest, weighted, failover with all_down servfail, a one-cluster servfail
service) and the demo GeoIP database (perl geo/mkmmdb.pl geo/demo-networks.txt). Then, for
--seconds:

  traffic   --qps queries a second in all (default 2000), from one process:
            UDP: service A/AAAA with ECS from the demo networks and others (some with a
            COOKIE, some with DO), static names (A, AAAA, TXT, MX, SOA), NXDOMAIN floods on
            random names, and malformed packets from a socket of their own;
            TCP (about 10 %): connections carrying 1 to 10 pipelined queries, written whole
            or in pieces, some half-closed, some ended by a bad length prefix
  health    every 2.5 s one backend changes mode: ok, 503, off (refused), hang, slow,
            flap or a wrong body
  reloads   every 5 s the zone's SOA serial goes up, a cluster weight changes in the
            config, and gslbd gets SIGHUP

A valid query fails when no answer comes within 2 s, the answer does not match the query,
the RCODE is wrong (NOERROR for static names and fail_open services, NXDOMAIN for random
names, NOERROR or SERVFAIL for the servfail services) or a GSLB answer holds an address
no cluster has. Every 5 s it samples the daemon's RSS, open fds and threads.

At the end all backends go back to ok, the traffic stops, the last serial must be served,
and the fd count must come back to what it was before the traffic (sampled for 3 s after
start-up; it may take up to 30 s for probes and TCP connections to close). The report
gives queries, failures by kind, RSS at 1 min / 5 min / end with the growth after the first
five minutes, fds and threads at start and end, and the daemon's exit. Exit status 1 when
a valid query failed, the daemon died, the last serial was not served or the fds did not
come back; 2 on a setup error. Loopback only; every process started here is stopped.
"""
import argparse
import json
import os
import random
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZONE = "soak.test."
BACKEND_ADDRS = ["127.0.0.%d" % i for i in range(21, 28)]
A, NS, SOA, MX, TXT, AAAA, OPT = 1, 2, 6, 15, 16, 28, 41
TIMEOUT_S = 2.0
SAMPLE_EVERY_S = 5.0
RELOAD_EVERY_S = 5.0
FLAP_EVERY_S = 2.5
FLAP_MODES = ["ok", "ok", "503", "off", "hang", "slow:400", "flap", "body"]

# Clusters: name, region, addresses, checks. Every address is a backend.
CLUSTERS = [
    ("eu-a", "eu-central", ["127.0.0.21", "127.0.0.22"], ["http"]),
    ("eu-b", "eu-central", ["127.0.0.23"], ["http"]),
    ("ie-a", "eu-west", ["127.0.0.24"], ["http"]),
    ("us-a", "us-east", ["127.0.0.25", "127.0.0.26"], ["http", "tcp"]),
    ("us-b", "us-east", ["127.0.0.27"], ["http"]),
]
# Services: label, policy, clusters, all_down.
SERVICES = [
    ("api", "nearest", ["eu-a", "eu-b", "ie-a", "us-a"], "fail_open"),
    ("web", "weighted", ["eu-a", "eu-b", "us-a"], "fail_open"),
    ("db", "failover", ["ie-a", "us-a"], "servfail"),
    ("solo", "nearest", ["us-b"], "servfail"),
]
ALL_ADDRS = {a for _, _, addrs, _ in CLUSTERS for a in addrs}

# ECS client networks: the demo database's, one it lacks, and others.
ECS_V4 = ["10.1.%d.0", "10.2.%d.0", "10.3.%d.0", "10.4.%d.0", "10.5.%d.0", "10.6.%d.0",
          "10.1.42.%d", "192.0.2.%d", "10.99.%d.0", "198.51.100.%d", "203.0.113.%d",
          "100.64.%d.0", "8.8.%d.0"]


def log(msg):
    print("soak: " + msg, flush=True)


# ---- DNS wire helpers -------------------------------------------------------------------

def wire_name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def make_query(qid, name, qtype, edns=False, ecs=None, cookie=None, do=False):
    ar = 1 if (edns or ecs or cookie) else 0
    msg = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, ar) + wire_name(name)
    msg += struct.pack("!HH", qtype, 1)
    if ar:
        opts = b""
        if ecs is not None:
            family, source, addr = ecs
            nbytes = (source + 7) // 8
            raw = bytearray(addr[:nbytes])
            if source % 8 and nbytes:
                raw[-1] &= (0xFF00 >> (source % 8)) & 0xFF
            data = struct.pack("!HBB", family, source, 0) + bytes(raw)
            opts += struct.pack("!HH", 8, len(data)) + data
        if cookie is not None:
            opts += struct.pack("!HH", 10, len(cookie)) + cookie
        msg += b"\x00" + struct.pack("!HHIH", OPT, 1232, 0x8000 if do else 0, len(opts)) + opts
    return msg


def skip_name(b, off):
    while True:
        if off >= len(b):
            raise ValueError("name past end")
        c = b[off]
        if c & 0xC0 == 0xC0:
            return off + 2
        if c == 0:
            return off + 1
        off += c + 1


def read_name(b, off):
    labels, hops = [], 0
    while True:
        c = b[off]
        if c & 0xC0 == 0xC0:
            off = ((c & 0x3F) << 8) | b[off + 1]
            hops += 1
            if hops > 30:
                raise ValueError("pointer loop")
            continue
        if c == 0:
            return ".".join(labels).lower() + "."
        labels.append(b[off + 1:off + 1 + c].decode("latin-1"))
        off += c + 1


def parse_response(b):
    """(id, flags, rcode, qname, qtype, [(type, rdata)]) or raise ValueError."""
    if len(b) < 12:
        raise ValueError("short")
    qid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", b[:12])
    off, qname, qtype = 12, None, None
    for _ in range(qd):
        qname = read_name(b, off)
        off = skip_name(b, off)
        qtype = struct.unpack("!H", b[off:off + 2])[0]
        off += 4
    answers = []
    for _ in range(an):
        off = skip_name(b, off)
        rtype, _cls, _ttl, rdlen = struct.unpack("!HHIH", b[off:off + 10])
        off += 10
        answers.append((rtype, b[off:off + rdlen], off))
        off += rdlen
    if off > len(b):
        raise ValueError("records past end")
    return qid, flags, flags & 0xF, qname, qtype, answers


def soa_serial(b, answers):
    for rtype, rdata, off in answers:
        if rtype == SOA:
            o = skip_name(b, skip_name(b, off))
            return struct.unpack("!I", b[o:o + 4])[0]
    return None


# ---- the query mix ----------------------------------------------------------------------

class Mix:
    """Draws valid queries: (name, qtype, expected rcodes, kind, edns args)."""

    def __init__(self, rng):
        self.rng = rng

    def ecs(self):
        r = self.rng
        if r.random() < 0.2:
            addr = bytes([0x20, 0x01, 0x0d, 0xb8, r.randrange(256), r.randrange(256)]) + bytes(10)
            return (2, r.choice([0, 32, 48, 56]), addr)
        net = r.choice(ECS_V4) % r.randrange(256)
        addr = socket.inet_aton(net)
        return (1, r.choice([0, 16, 24, 24, 24, 32]), addr)

    def draw(self):
        r = self.rng
        x = r.random()
        args = {}
        if x < 0.5:  # a GSLB service
            label, _policy, _clusters, all_down = r.choice(SERVICES)
            qtype = A if r.random() < 0.75 else AAAA
            if r.random() < 0.7:
                args["ecs"] = self.ecs()
            if r.random() < 0.2:
                args["cookie"] = bytes(r.randrange(256) for _ in range(8))
            if r.random() < 0.2:
                args["do"] = True
            ok = {0} if all_down == "fail_open" else {0, 2}
            return label + "." + ZONE, qtype, ok, "service", args
        if x < 0.7:  # static data
            label, qtype = r.choice([("www", A), ("www", AAAA), ("txt", TXT), ("", MX),
                                     ("", SOA), ("", NS), ("www", MX)])
            if r.random() < 0.3:
                args["edns"] = True
            return (label + "." if label else "") + ZONE, qtype, {0}, "static", args
        # NXDOMAIN flood: random names
        n = "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(r.randrange(4, 20)))
        if r.random() < 0.3:
            n += ".x%d" % r.randrange(1000)
        return n + "." + ZONE, r.choice([A, AAAA, TXT]), {3}, "nxdomain", args

    def malformed(self):
        r = self.rng
        k = r.randrange(8)
        hdr = struct.pack("!HHHHHH", r.randrange(65536), 0x0100, 1, 0, 0, 0)
        if k == 0:
            return bytes(r.randrange(256) for _ in range(r.randrange(0, 80)))
        if k == 1:
            return hdr[:r.randrange(12)]
        if k == 2:  # QR set: must be dropped
            return struct.pack("!HHHHHH", r.randrange(65536), 0x8100, 1, 0, 0, 0) + wire_name("www." + ZONE) + b"\x00\x01\x00\x01"
        if k == 3:  # QDCOUNT 2
            return struct.pack("!HHHHHH", r.randrange(65536), 0x0100, 2, 0, 0, 0) + wire_name("www." + ZONE) + b"\x00\x01\x00\x01"
        if k == 4:  # pointer loop in the question
            return hdr + b"\xc0\x0c\x00\x01\x00\x01"
        if k == 5:  # bad ECS (bits past SOURCE)
            q = make_query(r.randrange(65536), "api." + ZONE, A, ecs=(1, 24, b"\x0a\x01\x02"))
            return q[:-1] + b"\xff"
        if k == 6:  # OPT RDLENGTH past the end
            return make_query(r.randrange(65536), "www." + ZONE, A, edns=True)[:-2] + b"\x00\x40"
        return make_query(r.randrange(65536), "www." + ZONE, A) + b"trailing"


# ---- the soak -----------------------------------------------------------------------------

class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.c = {}
        self.examples = []

    def add(self, key, n=1):
        with self.lock:
            self.c[key] = self.c.get(key, 0) + n

    def fail(self, key, detail):
        with self.lock:
            self.c["failed"] = self.c.get("failed", 0) + 1
            self.c["failed:" + key] = self.c.get("failed:" + key, 0) + 1
            if len(self.examples) < 20:
                self.examples.append("%s: %s" % (key, detail))

    def get(self, key):
        with self.lock:
            return self.c.get(key, 0)


def check_answer(stats, data, name, qtype, ok_rcodes, kind, serials):
    try:
        _qid, flags, rcode, qname, rqtype, answers = parse_response(data)
    except (ValueError, IndexError, struct.error) as e:
        stats.fail("unparsable", "%s %d: %s" % (name, qtype, e))
        return
    if not flags & 0x8000 or qname != name.lower() or rqtype != qtype:
        stats.fail("mismatch", "%s %d: got %s %s" % (name, qtype, qname, rqtype))
        return
    if rcode not in ok_rcodes:
        stats.fail("rcode", "%s %d (%s): RCODE %d" % (name, qtype, kind, rcode))
        return
    stats.add("rcode%d" % rcode)
    if flags & 0x0200:
        stats.add("truncated")
    if kind == "service" and rcode == 0:
        addrs = [socket.inet_ntoa(rd) for t, rd, _ in answers if t == A and len(rd) == 4]
        if qtype == A and not addrs:
            stats.add("service A without addresses")
        for a in addrs:
            if a not in ALL_ADDRS:
                stats.fail("address", "%s: %s is in no cluster" % (name, a))
                return
    if qtype == SOA and rcode == 0:
        s = soa_serial(data, answers)
        if s is not None:
            serials.append((time.monotonic(), s))


class Soak:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.stats = Stats()
        self.mix = Mix(random.Random(args.seed + 1))
        self.work = tempfile.mkdtemp(prefix="gslbd-soak.")
        self.procs = []
        self.daemon = None
        self.serial = 2024010100
        self.weight = 1
        self.serials = []  # (time, serial) seen in SOA answers
        self.samples = []  # (t, rss_kb, fds, threads)
        self.stop = threading.Event()
        self.backend_modes = {}

    # -- setup --
    def free_port(self, host="127.0.0.1"):
        for _ in range(200):
            port = self.rng.randrange(20000, 60000)
            socks = []
            try:
                for typ in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, typ)
                    socks.append(s)
                    s.bind((host, port))
                return port
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
        raise RuntimeError("no free port")

    def backend_port(self):
        for _ in range(200):
            port = self.rng.randrange(20000, 60000)
            socks = []
            try:
                for a in BACKEND_ADDRS:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(s)
                    s.bind((a, port))
                return port
            except OSError:
                continue
            finally:
                for s in socks:
                    s.close()
        raise RuntimeError("no free backend port")

    def write_zone(self):
        text = ("$ORIGIN %s\n$TTL 300\n"
                "@ IN SOA ns1 hostmaster %d 3600 600 86400 60\n"
                "@ IN NS ns1\n@ IN MX 10 www\nns1 IN A 127.0.0.53\n"
                "www IN A 192.0.2.80\nwww IN AAAA 2001:db8::80\ntxt IN TXT \"soak\"\n"
                % (ZONE, self.serial))
        path = os.path.join(self.work, "soak.zone")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.rename(path + ".tmp", path)

    def write_conf(self):
        conf = {
            "listen": ["127.0.0.1:%d" % self.dns_port],
            "workers": 2,
            "zones": [{"origin": ZONE, "file": "soak.zone"}],
            "log_level": "warning",
            "startup_wait_ms": 3000,
            "api": {"listen": "127.0.0.1:%d" % self.api_port},
            "regions": [{"name": "eu-central", "lat": 50.11, "lon": 8.68},
                        {"name": "eu-west", "lat": 53.35, "lon": -6.26},
                        {"name": "us-east", "lat": 39.04, "lon": -77.49}],
            "checks": [{"name": "http", "type": "http", "port": self.backend_port_n,
                        "path": "/health", "interval_ms": 500, "timeout_ms": 300,
                        "fall": 2, "rise": 2},
                       {"name": "tcp", "type": "tcp", "port": self.backend_port_n,
                        "interval_ms": 700, "timeout_ms": 300, "fall": 2, "rise": 1}],
            "clusters": [{"name": n, "region": r, "addresses": a, "checks": c,
                          "weight": self.weight if n == "eu-b" else 1}
                         for n, r, a, c in CLUSTERS],
            "services": [{"name": l + "." + ZONE, "policy": p, "clusters": c, "all_down": d,
                          "ttl": 30, "failover_ttl": 10} for l, p, c, d in SERVICES],
            "geoip": {"database": "demo.mmdb", "default_order": ["eu-central", "us-east"],
                      "nets": {"10.99.0.0/16": "us-east"}},
        }
        path = os.path.join(self.work, "gslbd.json")
        with open(path + ".tmp", "w") as f:
            json.dump(conf, f, indent=1)
        os.rename(path + ".tmp", path)

    def set_mode(self, addr, mode):
        path = os.path.join(self.work, "mode-" + addr)
        with open(path + ".tmp", "w") as f:
            f.write(mode + "\n")
        os.rename(path + ".tmp", path)
        self.backend_modes[addr] = mode

    def setup(self):
        mmdb = os.path.join(self.work, "demo.mmdb")
        subprocess.run(["perl", os.path.join(REPO, "geo", "mkmmdb.pl"),
                        os.path.join(REPO, "geo", "demo-networks.txt"), mmdb],
                       check=True, stdout=subprocess.DEVNULL)
        self.dns_port = self.free_port()
        self.api_port = self.free_port()
        self.backend_port_n = self.backend_port()
        backend = os.path.join(REPO, "test", "integration", "backend.py")
        for a in BACKEND_ADDRS:
            self.set_mode(a, "ok")
            p = subprocess.Popen([sys.executable, backend, "--listen", "%s:%d" % (a, self.backend_port_n),
                                  "--control", os.path.join(self.work, "mode-" + a)],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            self.procs.append(p)
            line = p.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError("backend on %s did not start" % a)
        self.write_zone()
        self.write_conf()
        self.daemon_log = open(os.path.join(self.work, "gslbd.log"), "w")
        self.daemon = subprocess.Popen([self.args.gslbd, "-c", os.path.join(self.work, "gslbd.json")],
                                       stdout=self.daemon_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("gslbd exited at start (%s); log: %s"
                                   % (self.daemon.returncode, self.tail_log()))
            if self.udp_probe():
                return
            time.sleep(0.2)
        raise RuntimeError("gslbd does not answer on 127.0.0.1:%d" % self.dns_port)

    def udp_probe(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            s.sendto(make_query(7, ZONE, SOA), ("127.0.0.1", self.dns_port))
            data = s.recv(4096)
            return len(data) >= 12 and data[3] & 0xF == 0
        except OSError:
            return False
        finally:
            s.close()

    def tail_log(self, n=15):
        try:
            with open(os.path.join(self.work, "gslbd.log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    # -- /proc --
    def proc_sample(self):
        pid = self.daemon.pid
        try:
            rss = 0
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
            fds = len(os.listdir("/proc/%d/fd" % pid))
            threads = len(os.listdir("/proc/%d/task" % pid))
            return rss, fds, threads
        except OSError:
            return None

    # -- load --
    def tcp_loop(self, qps):
        rng = random.Random(self.args.seed + 2)
        mix = Mix(random.Random(self.args.seed + 3))
        qid = 0
        t_next = time.monotonic()
        while not self.stop.is_set():
            k = rng.randrange(1, 11)
            t_next += k / qps
            delay = t_next - time.monotonic()
            if delay > 0:
                self.stop.wait(delay)
            elif delay < -5:
                t_next = time.monotonic()  # far behind: do not burst
            batch = {}
            self.stats.add("tcp queries", k)
            wire = b""
            for _ in range(k):
                qid = (qid + 1) & 0xFFFF
                name, qtype, ok, kind, args = mix.draw()
                q = make_query(qid, name, qtype, **args)
                batch[qid] = (name, qtype, ok, kind)
                wire += struct.pack("!H", len(q)) + q
            bad_end = rng.random() < 0.05
            if bad_end:
                wire += b"\x00\x03abc"
            try:
                s = socket.create_connection(("127.0.0.1", self.dns_port), timeout=TIMEOUT_S)
            except OSError as e:
                for q in batch.values():
                    self.stats.fail("tcp-connect", "%s: %s" % (q[0], e))
                continue
            self.stats.add("tcp connections")
            how = []  # what this connection did, for the failure report
            ended = "timeout"
            try:
                s.settimeout(TIMEOUT_S)
                if rng.random() < 0.3:  # in pieces, cut anywhere
                    cut = sorted(rng.randrange(len(wire)) for _ in range(rng.randrange(1, 4)))
                    how.append("pieces %s of %d" % (cut, len(wire)))
                    last = 0
                    for c in cut + [len(wire)]:
                        s.sendall(wire[last:c])
                        last = c
                        time.sleep(0.002)
                else:
                    s.sendall(wire)
                if bad_end:
                    how.append("bad length at the end")
                if rng.random() < 0.2:
                    s.shutdown(socket.SHUT_WR)
                    how.append("half-closed")
                buf = b""
                got = 0
                deadline = time.monotonic() + TIMEOUT_S
                while got < k and time.monotonic() < deadline:
                    while len(buf) >= 2 and len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        msg, buf = buf[2:2 + n], buf[2 + n:]
                        rid = struct.unpack("!H", msg[:2])[0] if len(msg) >= 2 else -1
                        if rid in batch:
                            name, qtype, ok, kind = batch.pop(rid)
                            self.stats.add("tcp answers")
                            check_answer(self.stats, msg, name, qtype, ok, kind, self.serials)
                            got += 1
                        else:
                            self.stats.fail("tcp-unexpected", "answer with id %d" % rid)
                    if got >= k:
                        break
                    s.settimeout(max(0.01, deadline - time.monotonic()))
                    chunk = s.recv(65536)
                    if not chunk:
                        ended = "closed by gslbd"
                        break
                    buf += chunk
            except OSError as e:
                ended = "error %s" % e
                self.stats.add("tcp errors: %s" % type(e).__name__)
            finally:
                s.close()
            if bad_end and batch:
                # gslbd closes at the bad length; if our later bytes reach the closed socket
                # its kernel answers with RST, which can destroy answers not read yet. Not a
                # failure of the valid queries: counted apart.
                self.stats.add("tcp answers lost after a bad length", len(batch))
                continue
            for name, qtype, _ok, kind in batch.values():
                self.stats.fail("tcp-unanswered", "%s %d (%s): %d of %d queries answered, then %s%s"
                                % (name, qtype, kind, got, k, ended,
                                   "; " + ", ".join(how) if how else ""))

    def run(self):
        a = self.args
        udp_qps = a.qps * 0.9
        tcp_qps = a.qps - udp_qps
        # baseline before any traffic
        time.sleep(1.0)
        base = []
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end:
            s = self.proc_sample()
            if s:
                base.append(s)
            time.sleep(0.1)
        self.base_fds = (min(x[1] for x in base), max(x[1] for x in base))
        self.base_threads = base[-1][2]
        self.base_rss = base[-1][0]
        log("baseline: rss %d KiB, fds %d-%d, threads %d" % (self.base_rss, self.base_fds[0],
                                                             self.base_fds[1], self.base_threads))

        sel = selectors.DefaultSelector()
        socks = []
        for _ in range(8):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.connect(("127.0.0.1", self.dns_port))
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, len(socks))
            socks.append(s)
        junk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        junk.connect(("127.0.0.1", self.dns_port))
        junk.setblocking(False)
        sel.register(junk, selectors.EVENT_READ, -1)
        outstanding = [dict() for _ in socks]  # per socket: id -> (t, name, qtype, ok, kind)
        next_id = [0] * len(socks)

        tcp = threading.Thread(target=self.tcp_loop, args=(tcp_qps,), daemon=True)
        tcp.start()
        t0 = time.monotonic()
        t_stop = t0 + a.seconds
        next_sample = t0
        next_reload = t0 + RELOAD_EVERY_S
        next_flap = t0 + FLAP_EVERY_S
        next_expire = t0 + 0.1
        sent = 0
        last_progress = t0
        died = False
        while True:
            now = time.monotonic()
            if now >= t_stop:
                break
            if self.daemon.poll() is not None:
                died = True
                break
            # send what is due
            due = int((now - t0) * udp_qps) - sent
            if due > 200:
                self.stats.add("sender behind", due - 200)
                sent += due - 200
                due = 200
            for _ in range(max(0, due)):
                sent += 1
                if self.rng.random() < 0.05:
                    try:
                        junk.send(self.mix.malformed())
                        self.stats.add("malformed sent")
                    except OSError:
                        pass
                    continue
                i = self.rng.randrange(len(socks))
                name, qtype, ok, kind, args = self.mix.draw()
                qid = next_id[i]
                while qid in outstanding[i]:
                    qid = (qid + 1) & 0xFFFF
                next_id[i] = (qid + 1) & 0xFFFF
                try:
                    socks[i].send(make_query(qid, name, qtype, **args))
                except OSError as e:
                    self.stats.fail("send", str(e))
                    continue
                outstanding[i][qid] = (time.monotonic(), name, qtype, ok, kind)
                self.stats.add("udp queries")
                self.stats.add("kind " + kind)
            # receive
            for key, _ in sel.select(timeout=0.002):
                s, idx = key.fileobj, key.data
                while True:
                    try:
                        data = s.recv(65535)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        self.stats.add("recv error %s" % e.errno)
                        break
                    if idx < 0:
                        self.stats.add("malformed answered")
                        continue
                    if len(data) < 2:
                        self.stats.fail("runt", "%d bytes" % len(data))
                        continue
                    rid = struct.unpack("!H", data[:2])[0]
                    q = outstanding[idx].pop(rid, None)
                    if q is None:
                        self.stats.add("late or unknown answers")
                        continue
                    self.stats.add("udp answers")
                    check_answer(self.stats, data, q[1], q[2], q[3], q[4], self.serials)
            now = time.monotonic()
            if now >= next_expire:
                next_expire = now + 0.1
                for o in outstanding:
                    for qid in [k for k, v in o.items() if now - v[0] > TIMEOUT_S]:
                        _t, name, qtype, _ok, kind = o.pop(qid)
                        self.stats.fail("udp-timeout", "%s %d (%s): no answer in %.0f s" % (name, qtype, kind, TIMEOUT_S))
            if now >= next_sample:
                next_sample += SAMPLE_EVERY_S
                smp = self.proc_sample()
                if smp:
                    self.samples.append((now - t0,) + smp)
            if now >= next_reload:
                next_reload += RELOAD_EVERY_S
                self.serial += 1
                self.weight = 4 if self.weight == 1 else 1
                self.write_zone()
                self.write_conf()
                self.daemon.send_signal(signal.SIGHUP)
                self.stats.add("reloads")
            if now >= next_flap:
                next_flap += FLAP_EVERY_S
                addr = self.rng.choice(BACKEND_ADDRS)
                self.set_mode(addr, self.rng.choice(FLAP_MODES))
                self.stats.add("health flips")
            if now - last_progress >= 60:
                last_progress = now
                smp = self.samples[-1] if self.samples else (0, 0, 0, 0)
                log("%4.0f s: %d queries, %d failed, rss %d KiB, fds %d" % (
                    now - t0, self.stats.get("udp queries") + self.stats.get("tcp answers"),
                    self.stats.get("failed"), smp[1], smp[2]))
        self.elapsed = time.monotonic() - t0
        self.died = died
        # wind down: backends ok, traffic off, answers in flight collected
        for addr in BACKEND_ADDRS:
            self.set_mode(addr, "ok")
        self.stop.set()
        tcp.join(timeout=10)
        t_drain = time.monotonic() + TIMEOUT_S
        while not died and time.monotonic() < t_drain and any(outstanding):
            for key, _ in sel.select(timeout=0.05):
                s, idx = key.fileobj, key.data
                while True:
                    try:
                        data = s.recv(65535)
                    except OSError:
                        break
                    if idx < 0 or len(data) < 2:
                        continue
                    q = outstanding[idx].pop(struct.unpack("!H", data[:2])[0], None)
                    if q is not None:
                        self.stats.add("udp answers")
                        check_answer(self.stats, data, q[1], q[2], q[3], q[4], self.serials)
        for o in outstanding:
            for _qid, (_t, name, qtype, _ok, kind) in o.items():
                self.stats.fail("udp-timeout", "%s %d (%s) at the end" % (name, qtype, kind))
        for s in socks + [junk]:
            s.close()
        sel.close()
        if died:
            return
        # the last serial must be served once the reload has had time
        time.sleep(1.5)
        self.final_serial = None
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        for _ in range(5):
            try:
                s.sendto(make_query(99, ZONE, SOA), ("127.0.0.1", self.dns_port))
                data = s.recv(4096)
                _i, _f, _r, _n, _t, ans = parse_response(data)
                self.final_serial = soa_serial(data, ans)
                if self.final_serial == self.serial:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(1.0)
        s.close()
        # fds back to the baseline (probes in flight and closing TCP connections settle)
        self.end_fds = None
        t_fd = time.monotonic() + 30
        while time.monotonic() < t_fd:
            smp = self.proc_sample()
            if smp:
                self.end_fds = smp[1]
                self.end_threads = smp[2]
                self.end_rss = smp[0]
                if smp[1] <= self.base_fds[1]:
                    break
            time.sleep(0.2)
        smp = self.proc_sample()
        if smp:
            self.samples.append((time.monotonic() - t0,) + smp)

    def rss_at(self, t):
        """RSS of the sample nearest to t seconds into the run, if one is near enough."""
        near = [smp for smp in self.samples if abs(smp[0] - t) <= SAMPLE_EVERY_S]
        return min(near, key=lambda smp: abs(smp[0] - t))[1] if near else None

    def report(self):
        st = self.stats
        lines = []
        add = lines.append
        total = st.get("udp queries") + st.get("tcp queries")
        add("soak: %s, %.0f s, target %d qps" % (self.args.gslbd, getattr(self, "elapsed", 0), self.args.qps))
        add("queries:   %d valid (%d UDP, %d TCP of which %d answered, over %d connections), "
            "%d malformed sent, %d malformed answered"
            % (total, st.get("udp queries"), st.get("tcp queries"), st.get("tcp answers"),
               st.get("tcp connections"),
               st.get("malformed sent"), st.get("malformed answered")))
        add("           by kind: service %d, static %d, nxdomain %d (UDP); rcodes NOERROR %d, SERVFAIL %d, NXDOMAIN %d; truncated %d"
            % (st.get("kind service"), st.get("kind static"), st.get("kind nxdomain"),
               st.get("rcode0"), st.get("rcode2"), st.get("rcode3"), st.get("truncated")))
        add("           service A answers without an address: %d; late/unknown UDP answers: %d; sender behind: %d"
            % (st.get("service A without addresses"), st.get("late or unknown answers"), st.get("sender behind")))
        add("           TCP answers lost to a reset after a bad length prefix (not failures): %d"
            % st.get("tcp answers lost after a bad length"))
        add("events:    %d reloads (last serial %d, served at the end: %s), %d health flips"
            % (st.get("reloads"), self.serial, getattr(self, "final_serial", None), st.get("health flips")))
        fails = {k[7:]: v for k, v in st.c.items() if k.startswith("failed:")}
        add("failed valid queries: %d %s" % (st.get("failed"), fails if fails else ""))
        for ex in st.examples[:10]:
            add("   e.g. " + ex)
        add("daemon:    %s" % ("DIED (exit %s)" % self.daemon.returncode if self.died else "alive through the run"))
        r1, r5 = self.rss_at(60), self.rss_at(300)
        rend = self.samples[-1][1] if self.samples and self.samples[-1][1] else None
        growth = "n/a (run shorter than 5 min)"
        if r5 and rend and self.elapsed >= 330:
            growth = "%+.1f %%" % ((rend - r5) * 100.0 / r5)
        growth1 = ""
        if r1 and rend:
            growth1 = ", after 1 min %+.1f %%" % ((rend - r1) * 100.0 / r1)
        add("RSS:       start %s KiB, 1 min %s KiB, 5 min %s KiB, end %s KiB; growth after 5 min: %s%s"
            % (self.base_rss, r1, r5, rend, growth, growth1))
        add("fds:       start %d-%d, end %s (%s); threads start %d, end %s"
            % (self.base_fds[0], self.base_fds[1], getattr(self, "end_fds", None),
               "back to baseline" if self.fds_ok() else "NOT back to baseline",
               self.base_threads, getattr(self, "end_threads", None)))
        curve = " ".join("%d:%d/%d" % (s[0], s[1] // 1024, s[2]) for s in self.samples[::max(1, len(self.samples) // 12)])
        add("samples (s:RSS MiB/fds): " + curve)
        return lines

    def fds_ok(self):
        e = getattr(self, "end_fds", None)
        return e is not None and e <= self.base_fds[1]

    def shutdown(self):
        rc = None
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                rc = self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                rc = "killed after 15 s"
        elif self.daemon is not None:
            rc = self.daemon.returncode
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gslbd", required=True)
    ap.add_argument("--seconds", type=int, default=1800)
    ap.add_argument("--qps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (config, log)")
    a = ap.parse_args()
    if a.qps < 10 or a.qps > 20000 or a.seconds < 10:
        sys.exit("soak: --qps must be 10..20000 and --seconds at least 10")
    soak = Soak(a)
    status = 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    try:
        try:
            soak.setup()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
            log("setup failed: %s" % e)
            return 2
        log("gslbd pid %d on 127.0.0.1:%d, backends on %s:%d, work folder %s; %d s at %d qps"
            % (soak.daemon.pid, soak.dns_port, "127.0.0.21-27", soak.backend_port_n, soak.work,
               a.seconds, a.qps))
        soak.run()
        lines = soak.report()
        rc = soak.shutdown()
        lines.append("exit:      gslbd exit status %s after SIGTERM" % rc)
        if soak.stats.get("failed") > 0 or soak.died or not soak.fds_ok() or \
                getattr(soak, "final_serial", None) != soak.serial:
            status = 1
        lines.append("result:    %s" % ("FAIL" if status else "PASS"))
        if soak.died or status:
            lines.append("gslbd log tail:\n" + soak.tail_log())
        text = "\n".join(lines)
        print(text, flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(text + "\n")
        return status
    finally:
        soak.shutdown()
        if a.keep:
            log("work folder kept: %s" % soak.work)
        else:
            shutil.rmtree(soak.work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
