"""servers.py: start gslbd, NSD and Knot on free loopback ports with one batch of zone files
each, send them pipelined UDP queries, and stop them whatever happens."""

import json
import os
import random
import select
import signal
import socket
import subprocess
import time

NSD = os.environ.get("NSD", "/usr/sbin/nsd")
KNOTD = os.environ.get("KNOTD", "/usr/sbin/knotd")

_running = []  # every Popen we started, stopped by stop_all()


def ephemeral_low():
    """The kernel's first ephemeral port: test servers stay below it, so no client socket
    can take their port between the check and the bind."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return max(int(f.read().split()[0]), 12000)
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A random loopback port free for UDP and TCP, below the ephemeral range."""
    for _ in range(200):
        port = random.SystemRandom().randint(10000, ephemeral_low() - 1)
        ok = True
        for st in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, st)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port")


def stop_all():
    while _running:
        p = _running.pop()
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def install_signal_handlers():
    """SIGTERM/SIGINT/SIGHUP end the run through the callers' finally (servers stopped)."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, handler)


def _spawn(argv, log):
    f = open(log, "wb")
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    _running.append(p)
    f.close()
    return p


class Server:
    def __init__(self, name, proc, port, log):
        self.name, self.proc, self.port, self.log = name, proc, port, log

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=15):
        try:
            with open(self.log, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode("utf-8", "replace")
        except OSError:
            return ""


def start_gslbd(gslbd, tmp, zones):
    """zones: [(origin, path)], in a generated config (--zone has a small limit). One
    worker: the peers run one server process too. No API."""
    port = free_port()
    conf = os.path.join(tmp, "gslbd.json")
    with open(conf, "w") as f:
        json.dump({"listen": ["127.0.0.1:%d" % port], "workers": 1,
                   "zones": [{"origin": o, "file": p} for o, p in zones],
                   "api": {"enabled": False}}, f, indent=1)
    log = os.path.join(tmp, "gslbd.log")
    return Server("gslbd", _spawn([gslbd, "-c", conf], log), port, log)


def start_nsd(tmp, zones):
    port = free_port()
    d = os.path.join(tmp, "nsd")
    os.makedirs(d, exist_ok=True)
    log = os.path.join(d, "nsd.log")
    lines = ["server:", "  port: %d" % port, "  ip-address: 127.0.0.1", "  do-ip6: no",
             '  username: ""', '  chroot: ""', '  zonesdir: "%s"' % d,
             '  pidfile: "%s/nsd.pid"' % d, '  xfrdfile: "%s/xfrd.state"' % d,
             '  zonelistfile: "%s/zone.list"' % d, '  database: ""', '  xfrdir: "%s"' % d,
             '  logfile: "%s"' % log, "  verbosity: 1", "  server-count: 1",
             "  minimal-responses: yes", "  hide-version: yes", "  hide-identity: yes",
             "  rrl-ratelimit: 0", "  rrl-whitelist-ratelimit: 0",  # thousands of queries/s
             "remote-control:", "  control-enable: no"]
    for o, p in zones:
        lines += ["zone:", "  name: %s" % o, '  zonefile: "%s"' % p]
    conf = os.path.join(d, "nsd.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return Server("nsd", _spawn([NSD, "-d", "-c", conf], os.path.join(d, "stderr.log")),
                  port, log)


def start_knot(tmp, zones, kasp=None):
    """Knot serving zones; with kasp (a key store keymgr filled), signing each with its
    keys there: one combined key by hand, NSEC, CDS/CDNSKEY always (test/difftest/signed.py)."""
    port = free_port()
    d = os.path.join(tmp, "knot")
    os.makedirs(os.path.join(d, "storage"), exist_ok=True)
    lines = ["server:", '  rundir: "%s"' % d, "  listen: 127.0.0.1@%d" % port,
             "  udp-workers: 1", "  tcp-workers: 1", "  background-workers: 1",
             "database:", '  storage: "%s/storage"' % d]
    if kasp is not None:
        lines += ['  kasp-db: "%s"' % kasp,
                  "policy:", "  - id: gslbd", "    manual: on", "    single-type-signing: on",
                  "    nsec3: off", "    rrsig-lifetime: 14d", "    rrsig-refresh: 7d",
                  "    cds-cdnskey-publish: always"]
    lines += ["control:", '  listen: "%s/knot.sock"' % d,
              "log:", "  - target: stderr", "    any: notice",
              "template:", "  - id: default", '    storage: "%s/storage"' % d,
              "    semantic-checks: off", "    zonefile-sync: -1", "    zonefile-load: whole",
              "    journal-content: none"]
    if kasp is not None:
        lines += ["    dnssec-signing: on", "    dnssec-policy: gslbd"]
    lines += ["zone:"]
    for o, p in zones:
        lines += ["  - domain: %s" % o, '    file: "%s"' % p]
    conf = os.path.join(d, "knot.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    log = os.path.join(d, "knot.log")
    return Server("knot", _spawn([KNOTD, "-c", conf], log), port, log)


def exchange_all(port, wires, window=48, timeout=0.6, retries=4):
    """Send every query (bytes, distinct 16-bit IDs within any window) to 127.0.0.1:port
    over one UDP socket, at most `window` outstanding, resending on timeout. Returns a
    list of responses (bytes or None), in query order."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    out = [None] * len(wires)
    pending = {}  # id -> [index, sent_at, tries]
    nxt = 0
    done = 0
    try:
        while done < len(wires):
            now = time.monotonic()
            while nxt < len(wires) and len(pending) < window:
                qid = int.from_bytes(wires[nxt][:2], "big")
                if qid in pending:
                    break
                s.send(wires[nxt])
                pending[qid] = [nxt, now, 1]
                nxt += 1
            r, _, _ = select.select([s], [], [], 0.05)
            if r:
                while True:
                    try:
                        data = s.recv(65535)
                    except (BlockingIOError, ConnectionRefusedError):
                        break
                    if len(data) < 2:
                        continue
                    qid = int.from_bytes(data[:2], "big")
                    ent = pending.pop(qid, None)
                    if ent is not None:
                        out[ent[0]] = data
                        done += 1
            now = time.monotonic()
            for qid, ent in list(pending.items()):
                if now - ent[1] > timeout:
                    if ent[2] >= retries:
                        del pending[qid]
                        done += 1
                    else:
                        try:
                            s.send(wires[ent[0]])
                        except ConnectionRefusedError:
                            pass
                        ent[1], ent[2] = now, ent[2] + 1
    finally:
        s.close()
    return out
