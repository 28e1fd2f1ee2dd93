"""t_gslb_lib.py: helpers for t_gslb.py (GeoDNS integration tests): building the GeoIP test
database and the config from test/data/gslb/, running dig / kdig and parsing what they print,
gslbd --admin / --explain, and a pipelined UDP sender for the 100,000-query split checks."""

import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import time

import dnsq
import itest

GDATA = os.path.join(itest.REPO, "test", "data", "gslb")
MKMMDB = os.path.join(itest.REPO, "geo", "mkmmdb.pl")


def build_mmdb(src, out):
    """perl geo/mkmmdb.pl SRC OUT; raises RuntimeError with its output on failure."""
    p = subprocess.run(["perl", MKMMDB, src, out], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 or not os.path.exists(out):
        raise RuntimeError("mkmmdb.pl failed (%d): %s%s" % (p.returncode, p.stdout, p.stderr))
    return out


def write_gslb_config(path, listen, database, state_file, template="gslb.json", edit=None):
    """The template from test/data/gslb with listen, zone file, database and state file set."""
    with open(os.path.join(GDATA, template)) as f:
        conf = json.load(f)
    conf["listen"] = list(listen)
    for z in conf["zones"]:
        z["file"] = os.path.join(GDATA, z["file"])
    conf["geoip"]["database"] = database
    conf["state_file"] = state_file
    if edit is not None:
        edit(conf)
    with open(path, "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    return path


# ---------------------------------------------------------------------------------------
# dig / kdig


class DigResult:
    def __init__(self, text, rc):
        self.text = text
        self.rc = rc
        self.status = None
        self.flags = []
        self.ecs = None  # (address text, source, scope)
        self.answer = []  # (name, ttl, class, type, rdata)
        self.authority = []
        self.additional = []
        self._parse()

    def _parse(self):
        m = re.search(r"status: ([A-Z]+)", self.text)
        if m:
            self.status = m.group(1)
        m = re.search(r"[Ff]lags: ([a-z ]*)[;]", self.text)
        if m:
            self.flags = m.group(1).split()
        m = re.search(r"CLIENT-SUBNET: ([0-9A-Fa-f:.]+)/(\d+)/(\d+)", self.text)
        if m:
            self.ecs = (m.group(1), int(m.group(2)), int(m.group(3)))
        section = None
        for line in self.text.splitlines():
            s = line.strip()
            low = s.lower()
            if low.startswith(";; answer section"):
                section = self.answer
                continue
            if low.startswith(";; authority section"):
                section = self.authority
                continue
            if low.startswith(";; additional section"):
                section = self.additional
                continue
            if not s or s.startswith(";"):
                if not s:
                    section = None
                continue
            if section is None:
                continue
            parts = s.split(None, 4)
            if len(parts) < 5:
                continue
            try:
                ttl = int(parts[1])
            except ValueError:
                continue
            section.append((parts[0].lower(), ttl, parts[2], parts[3], parts[4].strip()))

    def rdatas(self, rtype=None):
        return [r[4] for r in self.answer if rtype is None or r[3] == rtype]

    def ttls(self, rtype=None):
        return sorted({r[1] for r in self.answer if rtype is None or r[3] == rtype})

    def scope(self):
        return None if self.ecs is None else self.ecs[2]

    def brief(self):
        return "%s status=%s ecs=%s answer=%s authority=%s" % (
            "dig", self.status, self.ecs, [" ".join(map(str, a)) for a in self.answer],
            [" ".join(map(str, a))[:60] for a in self.authority])


def dig(name, qtype, port, subnet=None, server="127.0.0.1", tool="dig", extra=()):
    """Run dig (or kdig) once; returns a DigResult (status None when it got no answer)."""
    args = [tool, "@" + server, "-p", str(port), "+norec", name, qtype]
    if tool == "kdig":
        args += ["+time=2", "+retry=1"]
    else:
        args += ["+time=2", "+tries=2"]
    if subnet is not None:
        args.append("+subnet=" + subnet)
    args += list(extra)
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return DigResult("(timed out)", -1)
    return DigResult(p.stdout + p.stderr, p.returncode)


def have_tool(tool):
    from shutil import which
    return which(tool) is not None


# ---------------------------------------------------------------------------------------
# gslbd --admin / --explain


def run_gslbd(args, timeout=30):
    """subprocess.run of gslbd with args; a parallel `make` may be relinking the binary, so
    a missing, not-executable or busy binary is waited for (up to 15 s)."""
    deadline = time.monotonic() + 15.0
    while True:
        try:
            return subprocess.run([itest.GSLBD] + list(args), capture_output=True, text=True,
                                  timeout=timeout)
        except OSError:  # ENOENT, EACCES, ETXTBSY, ENOEXEC while the linker writes it
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def admin(conf, cluster, state):
    """gslbd -c CONF --admin CLUSTER=STATE; returns (rc, output)."""
    p = run_gslbd(["-c", conf, "--admin", "%s=%s" % (cluster, state)])
    return p.returncode, p.stdout + p.stderr


def reload(server, timeout=5.0):
    """SIGHUP the server and wait for its 'reload complete' log line; True when seen."""
    mark = server.mark()
    server.send(signal.SIGHUP)
    return server.wait_log(mark, "reload complete", 1, itest.slack(timeout)) >= 1


def set_admin(conf, server, states):
    """states: {cluster: state}; writes them with --admin, then SIGHUP and wait for it."""
    for c, st in states.items():
        rc, out = admin(conf, c, st)
        if rc != 0:
            raise RuntimeError("gslbd --admin %s=%s failed (%d): %s" % (c, st, rc, out))
    if not reload(server):
        raise RuntimeError("no 'reload complete' after SIGHUP; log:\n" + server.log_tail())


def explain(conf, name, qtype, client, ecs=None, assume_down=None):
    """gslbd --explain; returns (parsed JSON or None, raw output)."""
    args = ["-c", conf]
    if assume_down:
        args += ["--assume-down", assume_down]
    args += ["--explain", name, qtype, client]
    if ecs is not None:
        args.append(ecs)
    p = run_gslbd(args)
    try:
        return json.loads(p.stdout), p.stdout + p.stderr
    except ValueError:
        return None, "exit %d: %s%s" % (p.returncode, p.stdout, p.stderr)


# ---------------------------------------------------------------------------------------
# dnsq shortcuts


def ecs_edns(ecs):
    """ecs: None, or (address, source) / (family, source, address) -> dnsq.Edns."""
    if ecs is None:
        return dnsq.Edns()
    if len(ecs) == 2:
        addr, src = ecs
        fam = 2 if ":" in addr else 1
    else:
        fam, src, addr = ecs
    return dnsq.Edns(options=[dnsq.ecs_option(fam, src, 0, addr)])


def ask(port, name, qtype="A", ecs=None, host="127.0.0.1", edns=True, tcp=False):
    """One query with dnsq; returns a dnsq.Msg or None. ecs as for ecs_edns."""
    e = ecs_edns(ecs) if edns else None
    return dnsq.query(name, qtype, host=host, port=port, edns=e, tcp=tcp,
                      timeout=itest.slack(2.0))


def addrs(msg, rtype=None):
    return sorted(r.text for r in msg.answer
                  if (rtype is None and r.type in (1, 28)) or r.type == dnsq.type_code(
                      rtype or "A"))


def describe(msg):
    if msg is None:
        return "no reply"
    return msg.summary()


# ---------------------------------------------------------------------------------------
# Pipelined UDP: many queries fast, bounded window


def _answer_key(raw):
    """(rcode, tuple of answer RDATA texts, ttl set, ecs scope) of a response, fast path."""
    m = dnsq.Msg(raw)
    ans = tuple(sorted(r.text for r in m.answer))
    ttls = tuple(sorted({r.ttl for r in m.answer}))
    e = m.opt.ecs() if m.opt else None
    return m.rcode, ans, ttls, (None if e is None else e["scope"])


def blast(port, qname, qtype, clients, total, window=256, nsock=4, host="127.0.0.1",
          retry_after=0.5, max_tries=4, time_limit=60.0):
    """Send `total` queries for qname/qtype round-robin over `clients` (ECS tuples as for
    ecs_edns, or None for no ECS) with at most `window` in flight over `nsock` UDP sockets.
    Returns (counts, lost, elapsed): counts maps (client index, answer key) -> number, the
    answer key as _answer_key gives it."""
    templates = []
    for c in clients:
        pkt = dnsq.make_query(qname, qtype, id=0, edns=ecs_edns(c) if c is not None
                              else dnsq.Edns())
        templates.append(pkt[2:])
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    socks = []
    for _ in range(nsock):
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        s.setblocking(False)
        s.connect((host, port))
        socks.append(s)
    per = max(1, window // nsock)
    inflight = [dict() for _ in socks]  # id -> (query index, sent time, tries)
    next_id = [0] * nsock
    counts = {}
    done = 0
    lost = 0
    nxt = 0
    retry = []  # (query index, tries) to send again
    cache = {}
    retry_after = itest.slack(retry_after)  # a late reply is not a lost one
    time_limit = itest.slack(time_limit)
    t0 = time.monotonic()
    try:
        while done + lost < total:
            if time.monotonic() - t0 > time_limit:
                lost += total - done - lost
                break
            for k, s in enumerate(socks):
                fl = inflight[k]
                while len(fl) < per and (retry or nxt < total):
                    if retry:
                        qi, tries = retry.pop()
                    else:
                        qi, tries = nxt, 0
                        nxt += 1
                    qid = next_id[k]
                    while qid in fl:
                        qid = (qid + 1) & 0xFFFF
                    next_id[k] = (qid + 1) & 0xFFFF
                    try:
                        s.send(struct.pack("!H", qid) + templates[qi % len(templates)])
                    except BlockingIOError:
                        retry.append((qi, tries))
                        break
                    fl[qid] = (qi, time.monotonic(), tries + 1)
            r, _, _ = select.select(socks, [], [], 0.05)
            for s in r:
                k = socks.index(s)
                fl = inflight[k]
                while True:
                    try:
                        raw = s.recv(4096)
                    except (BlockingIOError, InterruptedError):
                        break
                    if len(raw) < 12:
                        continue
                    qid = struct.unpack("!H", raw[:2])[0]
                    ent = fl.pop(qid, None)
                    if ent is None:
                        continue
                    qi = ent[0]
                    body = raw[2:]
                    key = cache.get(body)
                    if key is None:
                        try:
                            key = _answer_key(raw)
                        except dnsq.WireError as e:
                            key = ("malformed", str(e))
                        if len(cache) < 10000:
                            cache[body] = key
                    ck = (qi % len(templates), key)
                    counts[ck] = counts.get(ck, 0) + 1
                    done += 1
            now = time.monotonic()
            for k in range(nsock):
                fl = inflight[k]
                old = [q for q, ent in fl.items() if now - ent[1] > retry_after]
                for q in old:
                    qi, _, tries = fl.pop(q)
                    if tries >= max_tries:
                        lost += 1
                    else:
                        retry.append((qi, tries))
    finally:
        for s in socks:
            s.close()
    return counts, lost, time.monotonic() - t0
