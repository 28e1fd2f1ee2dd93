#!/usr/bin/env python3
"""t_api.py: the HTTP API (docs/config.md "api", README "Operations") through a real gslbd on
loopback, with curl as the client and dig for the DNS side. Two clusters in Frankfurt (fra-a,
fra-b) are probed over HTTP on 127.0.0.2/3 by a backend this test runs; ash-a (127.0.0.4)
has no backend and is down. Check IDs:

  API-1  GET /healthz: 200 {"status": "ok"}
  API-2  GET /api/v1/status: every documented field, probe targets, failure reasons,
         recent transitions
  API-3  the 1-minute answer share: a 50/50 split shows as two halves
  API-4  GET /metrics: strict Prometheus text 0.0.4; the counters move with the traffic
  API-5  bearer token: 401 (with WWW-Authenticate: Bearer) without it and with a wrong one
  API-6  403 with a JSON message when no token_file is configured (token rotates on reload)
  API-7  admin state errors: 404 unknown cluster, 400 bad state or body
  API-8  POST /api/v1/reload: 422 with file:line:col for a broken config, old data serving;
         200 once fixed; counters carried across reloads
  API-9  request limits: bodies over 4 KiB get 413, huge headers 431 (or a close)
  API-10 unknown path: 404 JSON; wrong method: 405 JSON
  API-11 a loopback API refuses foreign Host names (DNS rebinding): 421
  API-12 the dashboard's files, with Content-Security-Policy default-src 'self'
  API-13 config checks: token_file mode and owner, unknown keys, listen without port
  API-14 --zone mode: no API unless --api ADDR:PORT
  API-15 the default address taken: logged, gslbd runs; a written address taken: fatal
  POL-7  admin state through the API: visible in status and in dig answers, kept in the state
         file across a restart
  EXP-1  GET /api/v1/explain matches dig for the same ECS; bad input is 400; assume_down
         leaves the live answers alone
Prints `ok ID ...` / `not ok ID ...`; every process it starts is stopped (itest.py)."""

import json
import os
import re
import socket
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as GL  # noqa: E402

R = itest.Report("t_api")
# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 96


class S:
    setup = None
    backends = None
    srv = None


def url(path):
    return S.setup.url(path)


def dig(name, qtype="A", subnet=None):
    return GL.dig(name, qtype, S.setup.dns_port, subnet=subnet)


def answers(name, subnet, n):
    """{address: count} over n queries with ECS subnet (pipelined UDP)."""
    counts, lost, _ = GL.blast(S.setup.dns_port, name, "A", [(subnet.split("/")[0],
                                                              int(subnet.split("/")[1]))],
                               n, window=32, nsock=2)
    out = {}
    for (_, key), k in counts.items():
        if key[0] == "malformed":
            out["malformed"] = out.get("malformed", 0) + k
            continue
        for a in key[1]:
            out[a] = out.get(a, 0) + k
    if lost:
        out["lost"] = lost
    return out


def post_state(name, state, token=A.TOKEN, body=None):
    data = json.dumps({"state": state}) if body is None else body
    return A.curl(url("/api/v1/clusters/%s/state" % name), "POST", data=data, token=token)


# ---------------------------------------------------------------------------------------


def setup():
    S.backends = A.Backends().start()
    S.setup = A.Setup("api")
    S.setup.write(S.backends.port)
    S.srv = S.setup.start("t_api")
    # the first probe round: fra-a and fra-b up with a result, ash-a down
    ok = A.wait_for(lambda: ready(A.status(S.setup)), timeout=15)
    if not ok:
        raise RuntimeError("status never showed fra-a/fra-b probed up and ash-a down: %s" %
                           json.dumps(A.status(S.setup))[:2000])


def ready(st):
    if st is None:
        return False
    c = {x["name"]: x for x in st["clusters"]}
    tg = [t for x in c.values() for a in x["addresses"] for t in a["targets"]]
    return (len(tg) == 3 and all(t["probes"] > 0 for t in tg) and c["fra-a"]["healthy"] and
            c["fra-b"]["healthy"] and not c["ash-a"]["healthy"])


def t_healthz():
    r = A.curl(url("/healthz"))
    R.check(r.status == 200 and r.json() == {"status": "ok"} and
            r.headers.get("content-type", "").startswith("application/json"), "API-1",
            "GET /healthz: 200 application/json {\"status\": \"ok\"}", r.brief())


def t_status():
    r = A.curl(url("/api/v1/status"))
    st = r.json()
    R.check(r.status == 200 and st is not None, "API-2", "GET /api/v1/status: 200 JSON",
            r.brief())
    if st is None:
        return
    top = {"version", "now", "uptime_s", "reloads", "reload_failures", "last_reload_error",
           "regions", "clusters", "services", "transitions", "answers_1m", "changes_enabled",
           "health_transitions", "api_listen"}
    R.check(top <= set(st) and isinstance(st["uptime_s"], int) and st["reloads"] == 0 and
            st["reload_failures"] == 0 and st["last_reload_error"] is None and
            st["changes_enabled"] is True and st["version"], "API-2",
            "status has version, uptime_s, reloads 0, reload_failures 0, last_reload_error "
            "null, changes_enabled, regions, clusters, services, transitions",
            json.dumps(st)[:1500])
    R.check(st["regions"] == [{"name": "eu-central", "lat": 50.11, "lon": 8.68},
                              {"name": "us-east", "lat": 39.04, "lon": -77.49}], "API-2",
            "regions: names and coordinates as configured", json.dumps(st["regions"]))
    c = {x["name"]: x for x in st["clusters"]}
    keys = {"name", "region", "weight", "admin", "healthy", "share_1m", "answers_1m",
            "addresses", "state", "in_service", "answers_total"}
    R.check(set(c) == {"fra-a", "fra-b", "ash-a"} and all(keys <= set(x) for x in c.values()),
            "API-2", "clusters: fra-a, fra-b, ash-a with name, region, weight, admin, healthy, "
            "state, share_1m, answers_1m, addresses", json.dumps(st["clusters"])[:1500])
    fa, ash = c["fra-a"], c["ash-a"]
    R.check(fa["region"] == "eu-central" and fa["weight"] == 1 and fa["admin"] == "auto" and
            fa["healthy"] is True and fa["state"] == "healthy" and
            [a["address"] for a in fa["addresses"]] == ["127.0.0.2"] and
            fa["addresses"][0]["up"] is True, "API-2",
            "fra-a: eu-central, weight 1, admin auto, healthy, address 127.0.0.2 up",
            json.dumps(fa))
    t = fa["addresses"][0]["targets"]
    tkeys = {"check", "up", "pending", "last_ok", "last_reason", "latency_ms", "last_change",
             "probes", "failures", "transitions"}
    R.check(len(t) == 1 and tkeys <= set(t[0]) and t[0]["check"] == "web" and
            t[0]["up"] is True and t[0]["pending"] is False and t[0]["last_ok"] is True and
            isinstance(t[0]["latency_ms"], int) and t[0]["probes"] >= 1, "API-2",
            "fra-a's target: check web, up, not pending, last_ok, latency_ms, probes, failures, "
            "transitions, last_change", json.dumps(t))
    at = ash["addresses"][0]["targets"]
    R.check(ash["healthy"] is False and ash["state"] == "down" and len(at) == 1 and
            at[0]["up"] is False and "refused" in at[0]["last_reason"].lower() and
            at[0]["failures"] >= 1 and at[0]["last_change"] is not None and
            at[0]["last_change"].endswith("Z"), "API-2",
            "ash-a (no backend): down, its target's last_reason says connection refused, "
            "last_change is an ISO time", json.dumps(ash))
    svc = {s["name"]: s for s in st["services"]}
    R.check(set(svc) == {"www.api.test.", "solo.api.test."} and
            svc["www.api.test."] == {"name": "www.api.test.", "policy": "nearest",
                                     "clusters": ["fra-a", "fra-b", "ash-a"], "ttl": 30,
                                     "failover_ttl": 10, "all_down": "fail_open",
                                     "every_cluster_down": False}, "API-2",
            "services: www.api.test. nearest [fra-a, fra-b, ash-a] ttl 30 failover_ttl 10 "
            "all_down fail_open", json.dumps(st["services"]))
    tr = st["transitions"]
    R.check(any(x["cluster"] == "ash-a" and x["up"] is False and x["check"] == "web" and
                x["address"] == "127.0.0.4" and "refused" in x["reason"].lower() and
                x["time"].endswith("Z") for x in tr) and len(tr) <= 50 and
            st["health_transitions"] >= 1, "API-2",
            "transitions: ash-a 127.0.0.4 check web went down (connection refused), with a time",
            json.dumps(tr))


def t_share():
    before = A.status(S.setup)
    got = answers("www.api.test", A.FRANKFURT, 600)
    st = A.status(S.setup)
    c = {x["name"]: x for x in st["clusters"]}
    a, b = c["fra-a"]["answers_1m"], c["fra-b"]["answers_1m"]
    total = st["answers_1m"]["total"]
    R.check(set(got) == {"127.0.0.2", "127.0.0.3"} and sum(got.values()) == 600, "API-3",
            "600 Frankfurt queries for www: answered by fra-a and fra-b only", json.dumps(got))
    R.check(a + b >= 600 and a + b == total and c["ash-a"]["answers_1m"] == 0 and
            0.38 <= c["fra-a"]["share_1m"] <= 0.62 and 0.38 <= c["fra-b"]["share_1m"] <= 0.62
            and abs(c["fra-a"]["share_1m"] + c["fra-b"]["share_1m"] - 1) < 1e-6, "API-3",
            "status answers_1m: fra-a + fra-b = all answers (%d + %d), shares %.2f / %.2f: "
            "the 50/50 split" % (a, b, c["fra-a"]["share_1m"], c["fra-b"]["share_1m"]),
            "before: %s\nafter: %s" % (json.dumps(before["clusters"])[:800],
                                       json.dumps(st["clusters"])[:800]))


def t_metrics():
    for q in ("SOA", "MX", "TXT", "NS", "SRV", "AAAA", "CNAME", "PTR"):
        dig("api.test" if q != "SRV" else "_sip._tcp.api.test", q)
    GL.dig("api.test", "SOA", S.setup.dns_port, extra=("+tcp",))
    r = A.curl(url("/metrics"))
    R.check(r.status == 200 and r.headers.get("content-type", "").startswith(
        "text/plain; version=0.0.4"), "API-4",
        "GET /metrics: 200 text/plain; version=0.0.4", r.brief())
    try:
        m = A.parse_prometheus(r.body)
    except A.PromError as e:
        R.fail("API-4", "/metrics parses as Prometheus text 0.0.4 (HELP/TYPE, names, labels, "
               "floats, a TYPE for every sample, no duplicate series)", "%s\n%s" % (
                   e, r.body[:3000]))
        return
    R.ok("API-4", "/metrics parses strictly as Prometheus text 0.0.4 (%d samples, %d families)"
         % (len(m["samples"]), len(m["types"])))
    R.check(all(n.startswith(("gslbd_", "process_")) for n, _, _ in m["samples"]) and
            set(m["types"]) == set(m["help"]), "API-4",
            "every metric has the gslbd_ prefix (process_ for the client convention's process "
            "metrics), a HELP and a TYPE",
            json.dumps(sorted(m["types"])))
    s = lambda name, **lab: A.sample(m, name, **lab)  # noqa: E731
    udp, tcp = s("gslbd_queries_total", transport="udp"), s("gslbd_queries_total",
                                                             transport="tcp")
    R.check(udp is not None and udp >= 600 and tcp is not None and tcp >= 1, "API-4",
            "gslbd_queries_total by transport: udp >= 600, tcp >= 1", "udp %s tcp %s" % (udp,
                                                                                      tcp))
    types = {t: s("gslbd_queries_by_type_total", type=t) for t in
             ("A", "AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "SRV", "ANY", "other")}
    R.check(types["A"] >= 600 and all(types[t] >= 1 for t in
                                      ("AAAA", "MX", "TXT", "NS", "SOA", "CNAME", "SRV",
                                       "other")) and types["ANY"] == 0,
            "API-4", "gslbd_queries_by_type_total: A, AAAA, MX, TXT, NS, SOA, CNAME, SRV, ANY, "
            "other (PTR) each counted", json.dumps(types))
    R.check(s("gslbd_responses_total", rcode="NOERROR") >= 600 and
            s("gslbd_responses_total", rcode="SERVFAIL") is not None and
            s("gslbd_dropped_total") == 0 and s("gslbd_truncated_total") is not None and
            s("gslbd_tcp_accepted_total") >= 1 and s("gslbd_tcp_connections") is not None and
            s("gslbd_tcp_evicted_total") == 0 and s("gslbd_uptime_seconds") > 0 and
            s("gslbd_reloads_total") == 0 and s("gslbd_reload_failures_total") == 0, "API-4",
            "responses by rcode, dropped, truncated, tcp connections/evictions, uptime, reloads",
            r.body[:3000])
    fa = s("gslbd_gslb_answers_total", cluster="fra-a", region="eu-central")
    fb = s("gslbd_gslb_answers_total", cluster="fra-b", region="eu-central")
    R.check(fa is not None and fb is not None and fa + fb >= 600 and
            s("gslbd_gslb_answers_total", cluster="ash-a", region="us-east") == 0, "API-4",
            "gslbd_gslb_answers_total per cluster (with region): fra-a + fra-b >= 600, ash-a 0",
            "%s %s" % (fa, fb))
    lat = [(lab, v) for n, lab, v in m["samples"] if n == "gslbd_probe_latency_seconds"]
    up = {lab["cluster"]: v for n, lab, v in m["samples"] if n == "gslbd_probe_up"}
    R.check(len(lat) == 3 and all(set(lab) == {"cluster", "address", "check"} and
                                  lab["check"] == "web" and 0 <= v < 1 for lab, v in lat) and
            up == {"fra-a": 1, "fra-b": 1, "ash-a": 0} and
            m["types"].get("gslbd_probe_latency_seconds") == "gauge", "API-4",
            "gslbd_probe_latency_seconds and gslbd_probe_up per target (cluster, address, "
            "check): fra-a 1, fra-b 1, ash-a 0", json.dumps([lat, up]))
    R.check(s("gslbd_health_transitions_total") >= 1 and
            s("gslbd_cluster_admin_state", cluster="fra-a", state="auto") == 1 and
            s("gslbd_cluster_up", cluster="ash-a") == 0, "API-4",
            "health transitions counted; cluster admin state and cluster_up gauges",
            r.body[-2000:])


def norm_rr(text):
    p = text.split(None, 4)
    return (p[0].lower(), int(p[1]), p[2], p[3], p[4].strip().lower()) if len(p) == 5 else text


def explain_matches_dig(j, r):
    resp = j.get("response", {})
    ea = sorted(norm_rr(x) for x in resp.get("answer", []))
    da = sorted((a[0], a[1], a[2], a[3], a[4].lower()) for a in r.answer)
    scope_ok = r.ecs is not None and j["decision"].get("ecs_scope") == r.scope()
    return resp.get("rcode") == r.status and ea == da and scope_ok


def explain(**q):
    from urllib.parse import urlencode
    return A.curl(url("/api/v1/explain?" + urlencode(q)))


def t_explain():
    cases = [
        ("solo.api.test", A.FRANKFURT, "fra-a", "primary", 30, "127.0.0.2"),
        ("solo.api.test", A.ASHBURN, "fra-a", "failover", 10, "127.0.0.2"),
    ]
    for name, ecs, cl, reason, ttl, addr in cases:
        r = explain(name=name, type="A", client="127.0.0.1", ecs=ecs)
        j = r.json()
        d = dig(name, "A", ecs)
        ok = r.status == 200 and j is not None and j.get("decision", {}).get("cluster") == cl
        R.check(ok and j["decision"]["reason"] == reason and j["decision"]["ttl"] == ttl and
                explain_matches_dig(j, d) and d.rdatas("A") == [addr], "EXP-1",
                "GET /api/v1/explain %s ECS %s: %s (%s, ttl %d); the response equals what dig "
                "gets for the same ECS (answer, TTL, scope)" % (name, ecs, cl, reason, ttl),
                lambda: "%s\ndig: %s" % (r.brief(), d.text))
    j = explain(name="www.api.test", client="10.3.1.1").json()
    R.check(j is not None and j["location"]["city"] == "Ashburn" and
            [x["name"] for x in j["regions"]] == ["us-east", "eu-central"] and
            {c["name"]: c["health"] for c in j["clusters"]}["ash-a"] == "down" and
            j["decision"]["cluster"] in ("fra-a", "fra-b"), "EXP-1",
            "explain www (type defaults to A) for client 10.3.1.1 without ECS: Ashburn, us-east "
            "first, ash-a down (live health), answered from Frankfurt", json.dumps(j)[:1500])
    bad = [({"type": "A", "client": "127.0.0.1"}, "no name"),
           ({"name": "www.api.test"}, "no client"),
           ({"name": "www.api.test", "client": "not-an-ip"}, "bad client"),
           ({"name": "www.api.test", "client": "127.0.0.1", "type": "NOPE"}, "bad type"),
           ({"name": "www.api.test", "client": "127.0.0.1", "ecs": "10.1.0.0/99"}, "bad ECS"),
           ({"name": "www.api.test", "client": "127.0.0.1", "assume_down": "nope"},
            "unknown cluster in assume_down")]
    for q, why in bad:
        r = explain(**q)
        R.check(r.status == 400 and isinstance((r.json() or {}).get("error"), str), "EXP-1",
                "explain with %s: 400 {\"error\": ...}" % why, r.brief())
    r = explain(name="solo.api.test", client="127.0.0.1", ecs=A.FRANKFURT, assume_down="fra-a")
    j = r.json() or {}
    d = dig("solo.api.test", "A", A.FRANKFURT)
    R.check(r.status == 200 and j.get("decision", {}).get("reason") == "fail_open" and
            d.rdatas("A") == ["127.0.0.2"] and
            A.cluster(A.status(S.setup), "fra-a")["admin"] == "auto", "EXP-1",
            "explain with assume_down=fra-a (ash-a is down too): fail_open; the live answer is "
            "still fra-a and its admin state auto", lambda: "%s\n%s" % (r.brief(), d.text))


def t_auth():
    mark = S.srv.mark()  # API-5 reads only the log lines these requests cause
    for token, why in ((None, "without a token"), ("wrong-token", "with a wrong token"),
                       (A.TOKEN + "x", "with the token plus one byte"),
                       (A.TOKEN[:-1], "with the token less one byte")):
        r = post_state("fra-b", "drain", token=token)
        R.check(r.status == 401 and r.headers.get("www-authenticate", "").startswith("Bearer")
                and isinstance((r.json() or {}).get("error"), str), "API-5",
                "POST clusters/fra-b/state %s: 401, WWW-Authenticate: Bearer, JSON error" % why,
                r.brief())
    r = A.curl(url("/api/v1/reload"), "POST", token="nope")
    R.check(r.status == 401, "API-5", "POST /api/v1/reload with a wrong token: 401", r.brief())
    r = A.curl(url("/api/v1/clusters/fra-b/state"), "POST", data='{"state": "drain"}',
               headers=("Authorization: Basic " + A.TOKEN,))
    R.check(r.status == 401, "API-5", "the token in another scheme (Basic): 401", r.brief())
    st = A.status(S.setup)
    R.check(A.cluster(st, "fra-b")["admin"] == "auto" and not os.path.exists(S.setup.state),
            "API-5", "refused requests changed nothing (fra-b auto, no state file)",
            json.dumps(A.cluster(st, "fra-b")))
    # one "no" (no Authorization header), five "wrong" (three tokens, reload, Basic)
    no_rx = r"127\.0\.0\.1:\d+: .*refused: no bearer token"
    wrong_rx = r"127\.0\.0\.1:\d+: .*refused: wrong bearer token"
    S.srv.wait_log(mark, wrong_rx, 5, timeout=3)
    n_no = S.srv.wait_log(mark, no_rx, 1, timeout=1)
    n_wrong = S.srv.wait_log(mark, wrong_rx, 5, timeout=0)
    R.check(n_no == 1 and n_wrong == 5, "API-5", "each refusal is logged once with the client "
            "address (1 'no bearer token', 5 'wrong bearer token')",
            "%d 'no', %d 'wrong' lines in this step's log:\n%s" % (n_no, n_wrong,
                                                                  S.srv.log_since(mark)))


def t_state_errors():
    r = post_state("nope", "drain")
    R.check(r.status == 404 and "nope" in (r.json() or {}).get("error", ""), "API-7",
            "POST clusters/nope/state: 404 JSON naming the cluster", r.brief())
    for body, why in (('{"state": "sleep"}', "an unknown state"), ('{"state": 1}', "a number"),
                      ("not json", "a body that is not JSON"),
                      ('{"state": "drain", "x": 1}', "an extra key"), ("", "no state at all")):
        r = post_state("fra-b", None, body=body)
        R.check(r.status == 400 and isinstance((r.json() or {}).get("error"), str), "API-7",
                "POST clusters/fra-b/state with %s: 400 JSON" % why, r.brief())
    r = A.curl(url("/api/v1/clusters/fra-b/state?state=up"), "POST",
               data='{"state": "down"}', token=A.TOKEN)
    R.check(r.status == 400, "API-7", "?state= and a body that disagree: 400", r.brief())


def drained_answers():
    got = answers("www.api.test", A.FRANKFURT, 200)
    return got


def t_drain():
    mark = S.srv.mark()  # POL-7's audit line must come from this drain
    r = post_state("fra-b", "drain")
    j = r.json() or {}
    R.check(r.status == 200 and j.get("cluster") == "fra-b" and j.get("previous") == "auto"
            and j.get("state") == "drain" and j.get("state_file") == S.setup.state, "POL-7",
            "curl POST clusters/fra-b/state {\"state\": \"drain\"} with the token: 200 "
            "{cluster, previous auto, state drain, state_file}", r.brief())
    c = A.cluster(A.status(S.setup), "fra-b")
    R.check(c["admin"] == "drain" and c["state"] == "drained" and c["healthy"] is True,
            "POL-7", "status: fra-b admin drain, state drained (health still healthy)",
            json.dumps(c))
    got = drained_answers()
    R.check(got == {"127.0.0.2": 200}, "POL-7",
            "200 Frankfurt queries for www: all fra-a (127.0.0.2): the drained fra-b is not "
            "answered while fra-a is healthy", json.dumps(got))
    try:
        with open(S.setup.state) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        saved = str(e)
    R.check(isinstance(saved, dict) and saved.get("clusters") == {"fra-b": "drain"} and
            re.match(r"api 127\.0\.0\.1:\d+$", str(saved.get("changed_by"))) and
            len(saved) == 2, "POL-7",
            "the state file holds {\"clusters\": {\"fra-b\": \"drain\"}} and who wrote it "
            "(changed_by)", json.dumps(saved))
    n = S.srv.wait_log(mark, r"127\.0\.0\.1:\d+: cluster fra-b admin state auto -> drain",
                       timeout=2)
    R.check(n == 1, "POL-7", "one audit log line for this drain: client address, cluster, "
            "old -> new", "%d lines; this step's log:\n%s" % (n, S.srv.log_since(mark)))
    m = A.parse_prometheus(A.curl(url("/metrics")).body)
    R.check(A.sample(m, "gslbd_cluster_admin_state", cluster="fra-b", state="drain") == 1,
            "POL-7", "metrics: gslbd_cluster_admin_state{cluster=fra-b,state=drain} 1")
    # kept across a restart
    rc = S.srv.stop()
    S.srv = S.setup.start("t_api-restart")
    A.wait_for(lambda: ready(A.status(S.setup)), timeout=15)
    c = A.cluster(A.status(S.setup), "fra-b")
    got = drained_answers()
    R.check(rc == 0 and c is not None and c["admin"] == "drain" and got == {"127.0.0.2": 200},
            "POL-7", "after a restart fra-b is still drained (state file): status and dig agree",
            "exit %s, %s, %s" % (rc, json.dumps(c), json.dumps(got)))
    r = A.curl(url("/api/v1/clusters/fra-b/state?state=auto"), "POST", token=A.TOKEN)
    got = answers("www.api.test", A.FRANKFURT, 200)
    R.check(r.status == 200 and (r.json() or {}).get("state") == "auto" and
            set(got) == {"127.0.0.2", "127.0.0.3"}, "POL-7",
            "?state=auto brings fra-b back: both Frankfurt clusters answer again",
            "%s %s" % (r.brief(), json.dumps(got)))
    # forced down and forced up
    post_state("fra-a", "down")
    c = A.cluster(A.status(S.setup), "fra-a")
    got = answers("solo.api.test", A.FRANKFURT, 20)
    R.check(c["state"] == "forced-down" and c["in_service"] is False and
            got == {"127.0.0.2": 20}, "POL-7",
            "fra-a forced down: status forced-down; solo (fra-a, ash-a both out) fails open to "
            "fra-a", json.dumps([c["state"], got]))
    post_state("ash-a", "up")
    c = A.cluster(A.status(S.setup), "ash-a")
    m = A.parse_prometheus(A.curl(url("/metrics")).body)
    R.check(c["state"] == "forced-up" and c["healthy"] is False and c["in_service"] is True
            and A.sample(m, "gslbd_cluster_up", cluster="ash-a") == 1, "POL-7",
            "ash-a forced up while its probe fails: status forced-up, in service, health "
            "still down; gslbd_cluster_up 1", json.dumps(c))
    post_state("fra-a", "auto")
    post_state("ash-a", "auto")
    try:
        with open(S.setup.state) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        saved = str(e)
    R.check(isinstance(saved, dict) and saved.get("clusters") == {}, "POL-7",
            "every cluster auto again: the state file is empty of overrides", json.dumps(saved))


def t_reload():
    conf = S.setup.conf
    with open(conf) as f:
        good = f.read()
    before = A.status(S.setup)
    tot_before = A.cluster(before, "fra-a")["answers_total"]
    lines = good.split("\n")
    # a syntax error on a known line: drop the comma after the "workers" entry
    k = next(i for i, ln in enumerate(lines) if ln.strip().startswith('"workers"'))
    lines[k] = lines[k].rstrip(",")
    with open(conf, "w") as f:
        f.write("\n".join(lines))
    r = A.curl(url("/api/v1/reload"), "POST", token=A.TOKEN)
    err = (r.json() or {}).get("error", "")
    R.check(r.status == 422 and err.startswith("%s:%d:" % (conf, k + 2)), "API-8",
            "POST /api/v1/reload with a syntax error: 422 {\"error\": \"%s:%d:COL: ...\"}" %
            (os.path.basename(conf), k + 2), r.brief())
    d = dig("solo.api.test", "A", A.FRANKFURT)
    st = A.status(S.setup)
    R.check(d.rdatas("A") == ["127.0.0.2"] and d.ttls("A") == [30] and
            st["reload_failures"] == 1 and st["last_reload_error"] == err and
            st["reloads"] == 0, "API-8",
            "the old data keeps serving (dig unchanged); status: reload_failures 1, "
            "last_reload_error set", "%s\n%s" % (d.text, json.dumps(st)[:600]))
    # fixed, with a visible change: solo's TTL 30 -> 77
    cfg = json.loads(good)
    for s in cfg["services"]:
        if s["name"] == "solo.api.test":
            s["ttl"] = 77
    with open(conf, "w") as f:
        json.dump(cfg, f, indent=2)
    r = A.curl(url("/api/v1/reload"), "POST", token=A.TOKEN)
    d = dig("solo.api.test", "A", A.FRANKFURT)
    st = A.status(S.setup)
    R.check(r.status == 200 and r.json() == {"result": "ok", "reloads": 1} and
            d.ttls("A") == [77] and st["reloads"] == 1 and st["last_reload_error"] is None,
            "API-8", "fixed config: 200 {\"result\": \"ok\"}; dig shows the new TTL 77; "
            "last_reload_error null", "%s\n%s" % (r.brief(), d.text))
    R.check(A.cluster(st, "fra-a")["answers_total"] >= tot_before, "API-8",
            "answers_total of fra-a carried across the reload (the view's counters restart)",
            "%s -> %s" % (tot_before, A.cluster(st, "fra-a")["answers_total"]))
    with open(conf, "w") as f:
        f.write(good)
    A.curl(url("/api/v1/reload"), "POST", token=A.TOKEN)


def t_no_token():
    conf = S.setup.conf
    with open(conf) as f:
        good = f.read()
    S.setup.write(S.backends.port, token=False)
    r = A.curl(url("/api/v1/reload"), "POST", token=A.TOKEN)
    R.check(r.status == 200, "API-6", "reload to a config without api.token_file (with the "
            "old token): 200", r.brief())
    r = post_state("fra-b", "drain")
    j = r.json() or {}
    R.check(r.status == 403 and "token_file" in j.get("error", ""), "API-6",
            "POST clusters/fra-b/state without api.token_file: 403 {\"error\": ...token_file...}",
            r.brief())
    r = A.curl(url("/api/v1/reload"), "POST", token=A.TOKEN)
    R.check(r.status == 403, "API-6", "POST /api/v1/reload without api.token_file: 403",
            r.brief())
    st = A.status(S.setup)
    R.check(st is not None and st["changes_enabled"] is False and
            A.cluster(st, "fra-b")["admin"] == "auto", "API-6",
            "reads still work: status says changes_enabled false; nothing changed",
            json.dumps(st)[:300])
    with open(conf, "w") as f:
        f.write(good)
    ok = GL.reload(S.srv)
    r = post_state("fra-b", "auto")
    R.check(ok and r.status == 200, "API-6", "token_file back (SIGHUP): changes work again",
            r.brief())


def t_limits():
    big = os.path.join(S.setup.dir, "big.json")
    with open(big, "w") as f:
        f.write('{"state": "drain", "pad": "' + "x" * 8192 + '"}')
    r = A.curl(url("/api/v1/clusters/fra-b/state"), "POST", data_file=big, token=A.TOKEN)
    R.check(r.status == 413 and "4096" in (r.json() or {}).get("error", ""), "API-9",
            "an 8 KiB body (Content-Length): 413 JSON", r.brief())
    r = A.curl(url("/api/v1/clusters/fra-b/state"), "POST", data_file=big, token=A.TOKEN,
               headers=("Transfer-Encoding: chunked",))
    R.check(r.status == 413 and "4096" in (r.json() or {}).get("error", ""), "API-9",
            "an 8 KiB chunked body (no Content-Length): 413 JSON", r.brief())
    r = A.curl(url("/healthz"), headers=("X-Padding: " + "p" * 32768,))
    R.check(r.status in (431, 0) or r.rc != 0, "API-9",
            "a 32 KiB header: 431 or the connection closed", r.brief())
    # a raw request line far too long
    s = socket.create_connection(("127.0.0.1", S.setup.api_port), timeout=5)
    try:
        s.sendall(b"GET /" + b"a" * 40000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = s.recv(200)
    except OSError:
        data = b""
    finally:
        s.close()
    R.check(data == b"" or data.split(b" ")[1] in (b"414", b"431", b"400"), "API-9",
            "a 40 KB request line: 414/431/400 or closed", repr(data[:100]))
    c = A.cluster(A.status(S.setup), "fra-b")
    R.check(c["admin"] == "auto" and A.curl(url("/healthz")).status == 200, "API-9",
            "after the refused requests nothing changed and the API still answers",
            json.dumps(c))


def t_paths():
    r = A.curl(url("/nothere"))
    R.check(r.status == 404 and "error" in (r.json() or {}), "API-10",
            "GET /nothere: 404 {\"error\": ...}", r.brief())
    r = A.curl(url("/api/v1/clusters/fra-a/health"), "POST", token=A.TOKEN)
    R.check(r.status == 404 and "error" in (r.json() or {}), "API-10",
            "POST /api/v1/clusters/fra-a/health: 404 JSON", r.brief())
    r = A.curl(url("/api/v1/status"), "DELETE")
    R.check(r.status == 405 and "error" in (r.json() or {}) and "GET" in r.headers.get(
        "allow", ""), "API-10", "DELETE /api/v1/status: 405 JSON with Allow", r.brief())
    r = A.curl(url("/api/v1/reload"))
    R.check(r.status == 405 and "error" in (r.json() or {}), "API-10",
            "GET /api/v1/reload: 405 JSON", r.brief())
    r = A.curl(url("/api/v1/status"), headers=("Host: attacker.example",))
    R.check(r.status == 421 and "error" in (r.json() or {}), "API-11",
            "Host: attacker.example on the loopback API: 421 JSON", r.brief())
    for host in ("localhost:%d" % S.setup.api_port, "127.0.0.1:%d" % S.setup.api_port):
        r = A.curl(url("/healthz"), headers=("Host: " + host,))
        R.check(r.status == 200, "API-11", "Host: %s accepted" % host, r.brief())


def t_dashboard_files():
    r = A.curl(url("/"))
    csp = r.headers.get("content-security-policy", "")
    R.check(r.status == 200 and r.headers.get("content-type", "").startswith("text/html") and
            "default-src 'self'" in csp and "<script src=\"/dashboard.js\"" in r.body and
            "http://" not in r.body.replace("http://127.0.0.1:8053", ""), "API-12",
            "GET /: the dashboard, text/html, CSP default-src 'self', no outside URLs",
            r.brief()[:400] + " CSP=" + csp)
    for path, ctype in (("/dashboard.js", "text/javascript"), ("/dashboard.css", "text/css"),
                        ("/favicon.svg", "image/svg+xml")):
        r = A.curl(url(path))
        R.check(r.status == 200 and r.headers.get("content-type", "").startswith(ctype) and
                len(r.body) > 100 and "https://" not in r.body, "API-12",
                "GET %s: 200 %s, no outside URLs" % (path, ctype), r.brief()[:300])


def check_conf(edit, token_mode=0o600, what=""):
    """gslbd --check on a config edited by edit(conf); returns (rc, output)."""
    path = os.path.join(S.setup.dir, "check.json")
    tf = os.path.join(S.setup.dir, "check.token")
    with open(tf, "w") as f:
        f.write("abc\n")
    os.chmod(tf, token_mode)
    S.setup.write(S.backends.port, edit=edit, path=path)
    p = GL.run_gslbd(["-c", path, "--check"])
    return p.returncode, p.stdout + p.stderr, path


def t_conf():
    def tok(conf):
        conf["api"]["token_file"] = "check.token"
    rc, out, path = check_conf(tok, 0o644)
    R.check(rc == 1 and ("%s:" % path) in out and "$.api.token_file" in out and
            "0644" in out and "chmod 600" in out, "API-13",
            "token_file with mode 0644: --check fails with file:line:col, $.api.token_file, "
            "the mode and the fix", out)
    rc, out, path = check_conf(tok, 0o640)
    R.check(rc == 1 and "$.api.token_file" in out, "API-13",
            "token_file with mode 0640 (group can read): refused", out)
    rc, out, path = check_conf(tok, 0o400)
    R.check(rc == 0, "API-13", "token_file with mode 0400: accepted", out)
    if os.geteuid() == 0:
        tf = os.path.join(S.setup.dir, "check.token")

        def owned(conf):
            conf["api"]["token_file"] = "check.token"
        rc0, out0, _ = check_conf(owned, 0o600)
        os.chown(tf, 12345, 12345)
        p = GL.run_gslbd(["-c", os.path.join(S.setup.dir, "check.json"), "--check"])
        out = p.stdout + p.stderr
        R.check(rc0 == 0 and p.returncode == 1 and "owned by uid 12345" in out, "API-13",
                "token_file owned by another user: refused", out)
    else:
        R.skip("API-13", "token_file owned by another user: refused", "needs root to chown")

    def unknown(conf):
        conf["api"]["port"] = 8053
    rc, out, path = check_conf(unknown)
    R.check(rc == 1 and "$.api.port: unknown key" in out and ("%s:" % path) in out, "API-13",
            "an unknown key under api: file:line:col $.api.port: unknown key", out)

    def noport(conf):
        conf["api"]["listen"] = "127.0.0.1"
    rc, out, path = check_conf(noport)
    R.check(rc == 1 and "$.api.listen" in out, "API-13",
            "api.listen without a port: refused at $.api.listen", out)

    def missing(conf):
        conf["api"]["token_file"] = "no-such.token"
    rc, out, path = check_conf(missing)
    R.check(rc == 1 and "$.api.token_file" in out and "No such file" in out, "API-13",
            "a missing token_file: refused", out)

    def empty(conf):
        conf["api"]["token_file"] = "check.token"
    os.unlink(os.path.join(S.setup.dir, "check.token"))  # it may belong to uid 12345 now
    with open(os.path.join(S.setup.dir, "check.token"), "w") as f:
        f.write("  \n")
    os.chmod(os.path.join(S.setup.dir, "check.token"), 0o600)
    S.setup.write(S.backends.port, edit=empty, path=os.path.join(S.setup.dir, "check.json"))
    p = GL.run_gslbd(["-c", os.path.join(S.setup.dir, "check.json"), "--check"])
    R.check(p.returncode == 1 and "is empty" in p.stdout + p.stderr, "API-13",
            "a token_file holding only white space: refused", p.stdout + p.stderr)


def t_zone_mode():
    zone = os.path.join(A.ADATA, "api.test.zone")
    dport = itest.free_port(("127.0.0.1",))
    aport = itest.free_port(("127.0.0.1",))
    srv = itest.Gslbd("t_api-zone", ["--zone", "api.test=" + zone, "--listen",
                                     "127.0.0.1:%d" % dport, "--api", "127.0.0.1:%d" % aport],
                      probe=("127.0.0.1", dport, "api.test.")).start()
    try:
        r = A.curl("http://127.0.0.1:%d/api/v1/status" % aport)
        j = r.json() or {}
        R.check(r.status == 200 and j.get("clusters") == [] and j.get("services") == [] and
                j.get("changes_enabled") is False, "API-14",
                "--zone ... --api ADDR:PORT: status served (no clusters, changes disabled)",
                r.brief())
        r = A.curl("http://127.0.0.1:%d/api/v1/reload" % aport, "POST", token="x")
        R.check(r.status == 403, "API-14", "--zone mode: POST reload is 403 (no token)",
                r.brief())
    finally:
        srv.stop()
    srv = itest.Gslbd("t_api-zone2", ["--zone", "api.test=" + zone, "--listen",
                                      "127.0.0.1:%d" % dport],
                      probe=("127.0.0.1", dport, "api.test.")).start()
    try:
        R.check("api: listening" not in srv.log_text() and
                "api: not started" not in srv.log_text(), "API-14",
                "--zone mode without --api: no API at all", srv.log_tail())
    finally:
        srv.stop()


def t_taken():
    # the default address (no "api" key): taken -> a warning, gslbd runs
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        holder.bind(("127.0.0.1", 8053))
        holder.listen(1)
        mine = True
    except OSError:
        mine = False  # someone else has it: the outcome must be the same
    try:
        dport = itest.free_port(("127.0.0.1",))
        path = os.path.join(S.setup.dir, "default-api.json")

        def no_api(conf):
            del conf["api"]
            conf["listen"] = ["127.0.0.1:%d" % dport]
        S.setup.write(S.backends.port, edit=no_api, path=path)
        srv = itest.Gslbd("t_api-default", ["-c", path],
                          probe=("127.0.0.1", dport, "api.test.")).start()
        try:
            log = srv.log_text()
            R.check(srv.alive() and "api: not started: cannot listen on the default "
                    "127.0.0.1:8053" in log, "API-15",
                    "no api key, 127.0.0.1:8053 taken%s: logged, gslbd serves DNS anyway" %
                    ("" if mine else " (by another process)"), srv.log_tail())
        finally:
            srv.stop()
        # the same port written in the config: fatal
        def taken(conf):
            conf["api"]["listen"] = "127.0.0.1:8053"
            conf["listen"] = ["127.0.0.1:%d" % dport]
        S.setup.write(S.backends.port, edit=taken, path=path)
        p = GL.run_gslbd(["-c", path], timeout=30)
        out = p.stdout + p.stderr
        R.check(p.returncode == 1 and "api: cannot listen on 127.0.0.1:8053" in out, "API-15",
                "api.listen written and taken: gslbd exits 1 saying why", out[-800:])
    finally:
        holder.close()


def main():
    R.plan(PLAN)
    t0 = time.monotonic()
    if os.system("command -v curl >/dev/null") != 0:
        R.fail("API-1", "curl is installed (packaging/deps.sh)")
        return R.finish()
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        R.fail("API-1", "setup: backends, GeoIP database, token, config, gslbd",
               "%s\n%s" % (e, traceback.format_exc()))
        if S.backends:
            S.backends.stop()
        return R.finish()
    steps = [t_healthz, t_status, t_share, t_metrics, t_explain, t_auth, t_state_errors,
             t_drain, t_reload, t_no_token, t_limits, t_paths, t_dashboard_files, t_conf,
             t_zone_mode, t_taken]
    for step in steps:
        ts = time.monotonic()
        try:
            if S.srv is None or not S.srv.alive():
                R.note("gslbd is not running; restarting it for %s" % step.__name__)
                S.srv = S.setup.start("t_api-again")
            step()
        except Exception as e:  # noqa: BLE001
            R.fail("API-1", "%s raised %s" % (step.__name__, type(e).__name__),
                   "%s\n%s" % (e, traceback.format_exc()))
        R.note("%s: %.1f s" % (step.__name__, time.monotonic() - ts))
    alive = S.srv.alive()
    rc = S.srv.stop()
    R.check(alive and rc == 0, "API-1", "gslbd ran the whole test and stopped with exit 0 "
            "(API threads included)", "alive %s exit %s; log:\n%s" % (alive, rc,
                                                                       S.srv.log_tail()))
    S.backends.stop()
    R.note("total %.1f s" % (time.monotonic() - t0))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
