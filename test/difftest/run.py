#!/usr/bin/python3
"""run.py: the differential test: serve batches of generated zones (gen.py) with gslbd, NSD
and Knot at once, ask every generated query of all three over UDP, compare (compare.py),
check every gslbd response with the wire validator, and report (TAP for make test, or a
campaign that writes each disagreement as a reproducible case).

usage: run.py [--tap] [--seed S] [--zones Z] [--queries Q] [--batches B] [--out DIR]
       run.py --case DIR        re-run one written case"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rdatatype  # noqa: E402

import compare  # noqa: E402
import gen  # noqa: E402
import servers  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
# Cases written per category (all are counted): enough to reproduce, not a flood.
CASES_PER_CATEGORY = 40
GSLBD = os.environ.get("GSLBD", os.path.join(REPO, "build", "dev", "gslbd"))


def wirecheck_path():
    p = os.environ.get("WIRECHECK") or os.path.join(os.path.dirname(os.path.abspath(GSLBD)),
                                                    "test", "wirecheck")
    if not os.access(p, os.X_OK):
        raise RuntimeError("no wire validator at %s (build it, or set WIRECHECK)" % p)
    return p


def make_wire(q, qid):
    m = dns.message.make_query(q.qname, dns.rdatatype.from_text(q.qtype),
                               use_edns=0 if q.edns else False, payload=1232)
    m.id = qid
    m.flags &= ~dns.flags.RD
    return m.to_wire()


class Batch:
    """One batch: zone files in a temp dir, the three servers, the responses."""

    def __init__(self, zones, tmp):
        self.zones = zones  # [(origin, text, [Query])]
        self.tmp = tmp
        self.files = {}
        self.skipped = {}  # origin -> reason
        for i, (origin, text, _qs) in enumerate(zones):
            p = os.path.join(tmp, "zones", "%s.zone" % origin.rstrip("."))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
            self.files[origin] = p
        self.srv = {}

    def loaded(self):
        return [(o, self.files[o]) for o, _t, _q in self.zones if o not in self.skipped]

    def start(self):
        """Start the three; a zone gslbd refuses to load (it stops at the first) is
        skipped and gslbd restarted without it; zones a peer does not serve are skipped."""
        by_file = {p: o for o, p in self.files.items()}
        for _ in range(len(self.zones) + 1):
            g = servers.start_gslbd(GSLBD, self.tmp, self.loaded())
            if self._ready(g, self.loaded()[0][0]):
                break
            tail = g.log_tail()
            m = re.search(r"(/\S+\.zone):(\d+)", tail)
            if g.alive() or not m or m.group(1) not in by_file:
                raise RuntimeError("gslbd did not start:\n" + tail)
            self.skipped[by_file[m.group(1)]] = "gslbd: " + tail.splitlines()[-1][:200]
        self.srv["gslbd"] = g
        self.srv["nsd"] = servers.start_nsd(self.tmp, self.loaded())
        self.srv["knot"] = servers.start_knot(self.tmp, self.loaded())
        for name in ("nsd", "knot"):
            if not self._ready(self.srv[name], self.loaded()[0][0]):
                raise RuntimeError("%s did not start:\n%s" % (name, self.srv[name].log_tail()))
        self._probe_zones()

    @staticmethod
    def _ready(s, origin, timeout=20.0):
        q = make_wire(gen.Query(origin, "SOA", False, "apex"), 1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not s.alive():
                return False
            if servers.exchange_all(s.port, [q], timeout=0.2, retries=1)[0] is not None:
                return True
            time.sleep(0.1)
        return False

    def _probe_zones(self, timeout=30.0):
        """Every zone's SOA, NOERROR and AA, from every server (Knot loads in the
        background: wait for it); the others are skipped with the server named."""
        deadline = time.monotonic() + timeout
        while True:
            bad = {}
            origins = [o for o, _p in self.loaded()]
            wires = [make_wire(gen.Query(o, "SOA", False, "apex"), i)
                     for i, o in enumerate(origins)]
            for name, s in self.srv.items():
                for o, raw in zip(origins, servers.exchange_all(s.port, wires)):
                    m = compare.parse(raw)
                    if isinstance(m, str) or m.rcode() != 0 or not m.flags & dns.flags.AA:
                        bad.setdefault(o, []).append(name)
            if not bad or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        for o, who in bad.items():
            self.skipped[o] = "not served by %s (%s)" % (
                ", ".join(who), self._peer_log_line(who, o))

    def _peer_log_line(self, who, origin):
        for name in who:
            for line in reversed(self.srv[name].log_tail(400).splitlines()):
                if origin.rstrip(".") in line:
                    return line.strip()[:200]
        return "no log line"

    def ask(self):
        """Every query of every loaded zone to the three; returns [(Query, origin,
        wire, {server: raw})]."""
        qs = [(q, o) for o, _t, zq in self.zones if o not in self.skipped for q in zq]
        wires = [make_wire(q, i & 0xFFFF) for i, (q, _o) in enumerate(qs)]
        res = {}

        def worker(name):
            res[name] = servers.exchange_all(self.srv[name].port, wires)

        th = [threading.Thread(target=worker, args=(n,)) for n in self.srv]
        for t in th:
            t.start()
        for t in th:
            t.join()
        return [(q, o, w, {n: res[n][i] for n in self.srv})
                for i, ((q, o), w) in enumerate(zip(qs, wires))]

    def stop(self):
        rcs = {}
        for name, s in self.srv.items():
            if s.alive():
                s.proc.terminate()
                try:
                    rcs[name] = s.proc.wait(10)
                except subprocess.TimeoutExpired:
                    s.proc.kill()
                    rcs[name] = "killed"
            else:
                rcs[name] = "died (%s)" % s.proc.returncode
        servers.stop_all()
        return rcs


def wirecheck(results):
    """One validator process for the batch: `QUERY_HEX RESPONSE_HEX LIMIT` per line in,
    `ok` or `bad: REASON` per line out. Returns {index: reason} of the bad ones."""
    lines, idx = [], []
    for i, (q, _o, w, r) in enumerate(results):
        if r["gslbd"] is not None:
            lines.append("%s %s %d" % (w.hex(), r["gslbd"].hex(), 1232 if q.edns else 512))
            idx.append(i)
    p = subprocess.run([wirecheck_path()], input="\n".join(lines) + "\n", text=True,
                       capture_output=True, timeout=300)
    out = p.stdout.splitlines()
    if len(out) != len(lines):
        raise RuntimeError("wirecheck gave %d lines for %d (exit %d): %s" % (
            len(out), len(lines), p.returncode, p.stderr[-500:]))
    return {i: o[4:].strip() for i, o in zip(idx, out) if not o.startswith("ok")}


class Tally:
    """Counts and cases over one or more batches."""

    def __init__(self, outdir=None):
        self.outdir = outdir
        self.total = 0
        self.by_verdict = Counter()
        self.kind_total = Counter()
        self.kind_fail = Counter()
        self.categories = Counter()  # "kind: aspects" of failures
        self.peer_cats = Counter()
        self.norm = Counter()
        self.skipped = {}
        self.zones = 0
        self.bad_wire = Counter()
        self.examples = defaultdict(list)  # category -> first few case texts
        self.ncase = 0
        self.written = Counter()
        self.phases = Counter()  # seconds per phase
        self.verbose = False  # print the three answers (--case)

    def add(self, batch, results, bad):
        self.zones += len(batch.zones)
        self.skipped.update(batch.skipped)
        texts = {o: t for o, t, _q in batch.zones}
        for i, (q, origin, wire, raw) in enumerate(results):
            notes = set()
            msgs = {n: compare.parse(raw[n]) for n in ("gslbd", "nsd", "knot")}
            v = {n: compare.view(m, q.qtype, notes) for n, m in msgs.items()}
            if q.qtype != "ANY" and compare.fits_whole(msgs["gslbd"], msgs["nsd"], msgs["knot"],
                                  len(raw["gslbd"] or b""), 1232 if q.edns else 512):
                notes.add("fits")
                g = msgs["gslbd"]
                v["gslbd"] = (g.rcode(), "aa" if g.flags & dns.flags.AA else "", "TC")
            if self.verbose:
                for n, m in msgs.items():
                    print("--- %s:\n%s" % (n, compare.show(m)))
            verdict = compare.verdict(v["gslbd"], v["nsd"], v["knot"])
            self.total += 1
            self.kind_total[q.kind] += 1
            for x in notes:
                self.norm[x] += 1
            self.by_verdict[verdict] += 1
            cat = None
            tag = "dname-involved " if compare.involves_dname(msgs["nsd"], msgs["knot"]) \
                else ""
            if verdict == "fail":
                self.kind_fail[q.kind] += 1
                cat = "%s%s: %s" % (tag, q.kind, ",".join(
                    compare.aspects(v["gslbd"], v["nsd"])))
                self.categories[cat] += 1
            elif verdict != "agree":
                cat = "peers-disagree %s%s: %s" % (tag, q.kind, ",".join(
                    compare.aspects(v["nsd"], v["knot"])))
                self.peer_cats[cat] += 1
            if cat is not None:
                self._case(cat, verdict, q, origin, texts[origin], msgs, bad.get(i))
            if i in bad:
                reason = bad[i][:60]
                self.bad_wire[reason] += 1
                self.kind_fail[q.kind] += 1 if verdict != "fail" else 0
                cat = "wirecheck: %s" % reason
                self._case(cat, verdict, q, origin, texts[origin], msgs, bad.get(i))

    def _case(self, cat, verdict, q, origin, text, msgs, badwire):
        ex = self.examples[cat]
        summary = "%s %s%s" % (q.qname, q.qtype, "" if q.edns else " (no EDNS)")
        if len(ex) < 3:
            ex.append(summary)
        self.written[cat] += 1
        if not self.outdir or self.written[cat] > CASES_PER_CATEGORY:
            return
        self.ncase += 1
        slug = re.sub(r"[^a-z0-9]+", "-", cat.lower()).strip("-")
        d = os.path.join(self.outdir, slug, "%06d" % self.ncase)
        os.makedirs(d, exist_ok=True)
        zf = os.path.join(d, "zone")
        with open(zf, "w") as f:
            f.write(text)
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump({"origin": origin, "qname": q.qname, "qtype": q.qtype, "edns": q.edns,
                       "kind": q.kind, "verdict": verdict, "category": cat,
                       "wirecheck": badwire}, f, indent=1)
        for n, m in msgs.items():
            with open(os.path.join(d, "%s.txt" % n), "w") as f:
                f.write(compare.show(m) + "\n")
        with open(os.path.join(d, "rerun.sh"), "w") as f:
            f.write("#!/bin/sh\n# %s: %s\nexec /usr/bin/python3 %s --case %s\n" % (
                cat, summary, os.path.join(HERE, "run.py"), d))

    def rate(self):
        ok = self.by_verdict["agree"] + self.by_verdict["peers"] \
            + self.by_verdict["peers-neither"]
        return 100.0 * ok / self.total if self.total else 0.0

    def summary(self):
        out = ["queries %d over %d zones (%d skipped); agree %d, peers disagree %d (gslbd "
               "matches neither: %d), gslbd differs from both: %d, wirecheck bad: %d; "
               "agreement %.3f%%" % (
                   self.total, self.zones, len(self.skipped), self.by_verdict["agree"],
                   self.by_verdict["peers"] + self.by_verdict["peers-neither"],
                   self.by_verdict["peers-neither"], self.by_verdict["fail"],
                   sum(self.bad_wire.values()), self.rate()),
               "normalised: %s" % dict(self.norm),
               "seconds: %s" % ", ".join("%s %.1f" % kv for kv in self.phases.items())]
        for c, k in self.categories.most_common():
            out.append("differs from both: %6d  %s  e.g. %s" % (k, c, "; ".join(
                self.examples[c])))
        for c, k in self.bad_wire.most_common():
            out.append("wirecheck bad:     %6d  %s  e.g. %s" % (k, c, "; ".join(
                self.examples["wirecheck: " + c])))
        for c, k in self.peer_cats.most_common():
            out.append("peers disagree:    %6d  %s  e.g. %s" % (k, c, "; ".join(
                self.examples[c])))
        for o, why in sorted(self.skipped.items()):
            out.append("skipped zone %s: %s" % (o, why))
        return out


def run_batch(zones, tally):
    tmp = tempfile.mkdtemp(prefix="difftest-")
    b = Batch(zones, tmp)
    try:
        t = [time.monotonic()]
        b.start()
        t.append(time.monotonic())
        results = b.ask()
        t.append(time.monotonic())
        rcs = b.stop()
        bad = wirecheck(results)
        t.append(time.monotonic())
        tally.add(b, results, bad)
        t.append(time.monotonic())
        for k, name in enumerate(("start", "ask", "stop+wirecheck", "compare")):
            tally.phases[name] += t[k + 1] - t[k]
        return rcs
    finally:
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def tap(args):
    """The fixed batch of make test: `1..N` first, one check per query kind, totals."""
    kinds = gen.KINDS
    print("1..%d" % (len(kinds) + 5), flush=True)
    n = [0]
    failed = [0]

    def check(ok, text, detail=()):
        n[0] += 1
        failed[0] += 0 if ok else 1
        print("%s %d %s" % ("ok" if ok else "not ok", n[0], text))
        for d in detail:
            print("#   " + d)
        sys.stdout.flush()

    tally = Tally(args.out)
    t0 = time.monotonic()
    try:
        zones = gen.gen_batch(args.seed, args.zones, args.queries)
        rcs = run_batch(zones, tally)
        check(True, "SETUP gslbd, NSD and Knot served %d zones on loopback" % len(zones))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        check(False, "SETUP gslbd, NSD and Knot serve the batch", str(e).splitlines())
        for k in range(len(kinds) + 4):
            check(False, "not run (setup failed)")
        return 1
    lines = tally.summary()
    for k in kinds:
        fails = [c for c in tally.categories if c.split(" ")[-2] == k + ":"]
        det = [x for x in lines if any(("  %s  " % c) in x for c in fails)]
        check(tally.kind_fail[k] == 0, "%s: gslbd agrees with NSD or Knot on all %d queries" % (
            k, tally.kind_total[k]), det)
    check(not tally.bad_wire, "every gslbd response passes the wire validator (%d)" %
          tally.total, [x for x in lines if x.startswith("wirecheck")])
    sk = len(tally.skipped)
    check(sk * 20 <= tally.zones, "at most 5%% of zones skipped as not loadable by all "
          "three (%d of %d)" % (sk, tally.zones), [x for x in lines if x.startswith("skipped")])
    want = min(10000, args.queries)
    check(tally.total >= want, "batch size: %d queries (at least %d) over %d zones served by "
          "all three (seed %d)" % (tally.total, want, tally.zones - sk, args.seed))
    check(all(rc == 0 for rc in rcs.values()), "the three servers exit 0 on SIGTERM",
          ["%s: %s" % kv for kv in rcs.items()])
    print("# %s" % lines[0])
    for x in lines[1:]:
        print("# " + x)
    print("# %.1f s" % (time.monotonic() - t0))
    return 1 if failed[0] else 0


def campaign(args):
    tally = Tally(args.out)
    t0 = time.monotonic()
    for i in range(args.batches):
        zones = gen.gen_batch(args.seed + i, args.zones, args.queries)
        run_batch(zones, tally)
        print("batch %d/%d (seed %d): %s" % (i + 1, args.batches, args.seed + i,
                                             tally.summary()[0]), flush=True)
    for x in tally.summary():
        print(x)
    print("%.1f s; cases under %s" % (time.monotonic() - t0, args.out))
    return 0 if not tally.by_verdict["fail"] and not tally.bad_wire else 1


def replay(d):
    with open(os.path.join(d, "case.json")) as f:
        c = json.load(f)
    with open(os.path.join(d, "zone")) as f:
        text = f.read()
    q = gen.Query(c["qname"], c["qtype"], c["edns"], c["kind"])
    tally = Tally(None)
    tally.verbose = True
    run_batch([(c["origin"], text, [q])], tally)
    for x in tally.summary():
        print(x)
    return 0 if tally.by_verdict["fail"] == 0 and not tally.bad_wire else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tap", action="store_true")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--zones", type=int, default=300)
    ap.add_argument("--queries", type=int, default=10500, help="per batch")
    ap.add_argument("--batches", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--case", default=None)
    args = ap.parse_args()
    servers.install_signal_handlers()
    try:
        if args.case:
            return replay(args.case)
        if args.tap:
            return tap(args)
        return campaign(args)
    finally:
        servers.stop_all()


if __name__ == "__main__":
    sys.exit(main())
