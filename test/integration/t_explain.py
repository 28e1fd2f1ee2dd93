#!/usr/bin/env python3
"""t_explain.py: explain against the live answer for services reached indirectly (EXP-1).

One gslbd on loopback serves test/data/gslb (GeoIP database built from networks.txt) plus
names that reach its services through a CNAME, a two-step CNAME chain and wildcard CNAMEs.
For each case the same question with the same ECS goes to the live server with dig and to
explain, both `gslbd --explain` and GET /api/v1/explain with curl; explain must name the
service at the end of the chain, show the chain, and its decision (cluster, TTL, ECS scope)
and response must be what dig got. Every case is answered by one cluster per region, so
the live answer is deterministic. Prints the plan `1..N` first, then `ok ID ...` /
`not ok ID ...`; the daemon logs to a fresh file in its own temporary folder."""

import json
import os
import sys
import traceback
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as L  # noqa: E402

R = itest.Report("t_explain")

# The names this test adds to gslb.test (the zone of test/data/gslb).
EXTRA_ZONE = """
; t_explain.py: wildcards that reach GSLB services
*.wild     IN CNAME api
*.wclaims  IN CNAME claims.gslb.test.
"""

# (name, type, ECS, service, chain as (name, match) pairs, what the ECS is)
CASES = [
    ("alias.gslb.test.", "A", "10.2.3.0/24", "api.gslb.test.",
     [("alias.gslb.test.", "name"), ("api.gslb.test.", "name")], "CNAME, Dublin"),
    ("alias2.gslb.test.", "A", "10.7.1.0/24", "api.gslb.test.",
     [("alias2.gslb.test.", "name"), ("alias.gslb.test.", "name"), ("api.gslb.test.", "name")],
     "CNAME chain, Tokyo"),
    ("foo.wild.gslb.test.", "A", "10.3.4.0/24", "api.gslb.test.",
     [("foo.wild.gslb.test.", "wildcard"), ("api.gslb.test.", "name")], "wildcard, Ashburn"),
    ("bar.wild.gslb.test.", "AAAA", "2001:db8:2::/48", "api.gslb.test.",
     [("bar.wild.gslb.test.", "wildcard"), ("api.gslb.test.", "name")],
     "wildcard, Dublin IPv6"),
    ("x.y.wclaims.gslb.test.", "A", "10.7.1.0/24", "claims.gslb.test.",
     [("x.y.wclaims.gslb.test.", "wildcard"), ("claims.gslb.test.", "name")],
     "wildcard, failover policy"),
]
WAYS = ("--explain", "GET /api/v1/explain")
PLAN = len(CASES) * len(WAYS)


class S:
    tmp = None
    port = None
    api_port = None
    conf = None
    srv = None


def setup():
    S.tmp = itest.tmpdir("gslbd-explain-")
    db = L.build_mmdb(os.path.join(L.GDATA, "networks.txt"), os.path.join(S.tmp, "test.mmdb"))
    zone = os.path.join(S.tmp, "gslb.test.zone")
    with open(os.path.join(L.GDATA, "gslb.test.zone")) as f:
        text = f.read()
    with open(zone, "w") as f:
        f.write(text + EXTRA_ZONE)
    S.port = itest.free_port(("127.0.0.1",))
    S.api_port = itest.free_port(("127.0.0.1",))

    def edit(conf):
        conf["zones"][0]["file"] = zone
        conf["api"] = {"listen": "127.0.0.1:%d" % S.api_port}
        conf["workers"] = 2

    S.conf = L.write_gslb_config(os.path.join(S.tmp, "gslb.json"), ["127.0.0.1:%d" % S.port],
                                 db, os.path.join(S.tmp, "state.json"), edit=edit)
    S.srv = itest.Gslbd("t_explain", ["-c", S.conf], probe=("127.0.0.1", S.port, "gslb.test."))
    S.srv.log_path = os.path.join(S.tmp, "gslbd.log")  # this run's own log
    S.srv.start()


def norm_rr(text):
    p = text.split(None, 4)
    return (p[0].lower(), int(p[1]), p[2], p[3], p[4].strip().lower()) if len(p) == 5 else text


def compare(j, r, case):
    """Differences between explain's JSON and dig's answer; [] when they agree."""
    name, qtype, _ecs, service, chain, _what = case
    bad = []
    if j is None:
        return ["no JSON"]
    if j.get("service") != service:
        bad.append("service %r, want %r" % (j.get("service"), service))
    got_chain = [(s.get("name"), s.get("match")) for s in j.get("chain", [])]
    if got_chain != chain:
        bad.append("chain %r, want %r" % (got_chain, chain))
    elif not j["chain"][-1].get("service"):
        bad.append("the chain's last name is not marked as the service")
    d = j.get("decision") or {}
    cl = {c["name"]: c for c in j.get("clusters", [])}.get(d.get("cluster"))
    fam = ":" if qtype == "AAAA" else "."
    want = sorted(a["address"] for a in (cl or {}).get("addresses", [])
                  if fam in a["address"] and a["up"])
    got = sorted(r.rdatas(qtype))
    if r.status != "NOERROR" or not got:
        bad.append("dig: status %s, answer %r" % (r.status, got))
    if cl is None or want != got:
        bad.append("decision cluster %r has %r; dig got %r" % (d.get("cluster"), want, got))
    if r.ttls(qtype) != [d.get("ttl")]:
        bad.append("decision ttl %r; dig got %r" % (d.get("ttl"), r.ttls(qtype)))
    if r.scope() != d.get("ecs_scope"):
        bad.append("decision ecs_scope %r; dig got %r" % (d.get("ecs_scope"), r.scope()))
    resp = j.get("response", {})
    ea = sorted(norm_rr(x) for x in resp.get("answer", []))
    da = sorted((a[0], a[1], a[2], a[3], a[4].lower()) for a in r.answer)
    if resp.get("rcode") != r.status or ea != da:
        bad.append("explain's response %r %r; dig %r %r" % (resp.get("rcode"), ea, r.status, da))
    return bad


def api_explain(name, qtype, client, ecs):
    q = {"name": name, "type": qtype, "client": client, "ecs": ecs}
    rep = A.curl("http://127.0.0.1:%d/api/v1/explain?%s" % (S.api_port, urlencode(q)))
    try:
        return json.loads(rep.body), "HTTP %s: %s" % (rep.status, rep.body)
    except (ValueError, TypeError):
        return None, "HTTP %s: %s" % (rep.status, rep.body)


def t_cases():
    for case in CASES:
        name, qtype, ecs, service, _chain, what = case
        r = L.dig(name, qtype, S.port, subnet=ecs)
        for way in WAYS:
            if way == "--explain":
                j, raw = L.explain(S.conf, name, qtype, "127.0.0.1", ecs)
            else:
                j, raw = api_explain(name, qtype, "127.0.0.1", ecs)
            bad = compare(j, r, case)
            R.check(not bad, "EXP-1", "%s %s %s ECS %s (%s): service %s, chain and decision "
                    "agree with dig" % (way, name, qtype, ecs, what, service),
                    lambda: "\n".join(bad) + "\n--- explain:\n" + raw[:3000] + "\n--- dig:\n" +
                    r.text)


def main():
    print("1..%d" % PLAN, flush=True)
    try:
        setup()
        t_cases()
    except Exception:  # report, then stop the servers (atexit)
        R.fail("EXP-1", "t_explain raised", traceback.format_exc())
    finally:
        if S.srv is not None:
            S.srv.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
