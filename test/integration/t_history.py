#!/usr/bin/env python3
"""t_history.py: the dashboard's history through a real gslbd, curl, dig and headless
chromium. Two clusters in Frankfurt (fra-a, fra-b) split the answers; each has a
test/integration/backend.py process as its health-check backend; ash-a (Ashburn) has none
and is down. The history samples every 250 ms (api.history_interval_ms, scaled by
GSLBD_TEST_SLOWDOWN). dig drives Frankfurt traffic, fra-b's backend is killed, traffic goes
on; then the history must show the share moving and the transition marked. Check IDs:

  HIST-1 GET /api/v1/history (curl): the sample interval, 360-sample rings, one series per
         cluster and per check target, sample times that advance by the interval
  HIST-2 the share moves: before the kill fra-a and fra-b each had about half of the
         answers, after fra-b's transition fra-a had all of them (dig saw the same)
  HIST-3 the transition is marked: a health event for fra-b (down, its reason) whose
         timestamp lies between the kill and now, and fra-b's check states flip from up
         to down in the sample that covers that timestamp
  HIST-4 an admin change through the API (curl) is marked with its cluster, from, to, and
         a time after the request, within the half second gslbd looks at admin states
  HIST-5 "now answering" per service and region agrees with the engine's own decision for
         a client in that region (the explain endpoint with an ECS from that region)
  HIST-6 a reload keeps the history of clusters and checks that still exist (by name),
         drops a removed one, and marks the reload; a rejected reload is marked too
  HIST-7 the dashboard (headless chromium, DevTools) draws one share chart per cluster and
         one state strip per check, marks fra-b's transition at its timestamp, and its
         "now answering" lines match the endpoint; once fra-b's backend is back the open
         page shows fra-a and fra-b splitting Frankfurt again; a screenshot for people
  HIST-8 gslbd stops cleanly (exit 0: under ASan, nothing leaked)
Prints the plan first; checks not reached because an earlier step failed are reported as
`not ok ... not run`. The daemon writes a fresh log; every process started is stopped."""

import calendar
import json
import os
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_dashboard as D  # noqa: E402  (headless chromium and its DevTools client)
import t_health as H  # noqa: E402  (backend.py processes)

R = itest.Report("t_history")
PLAN = (("HIST-1", "the history endpoint's shape"),
        ("HIST-1", "sample times advance by the interval"),
        ("HIST-2", "before the kill fra-a and fra-b split Frankfurt"),
        ("HIST-2", "after fra-b's transition fra-a has every answer"),
        ("HIST-3", "fra-b's transition is an event with its timestamp"),
        ("HIST-3", "fra-b's check states flip in the sample covering the transition"),
        ("HIST-4", "an admin change is marked"),
        ("HIST-5", "now answering agrees with explain, per service and region"),
        ("HIST-6", "a reload keeps the rings by name and marks the reload"),
        ("HIST-6", "a rejected reload is marked"),
        ("HIST-7", "the dashboard draws the charts, the marker and now answering"),
        ("HIST-7", "the open page follows fra-b coming back"),
        ("HIST-7", "screenshot history.png"),
        ("HIST-8", "gslbd stops with exit 0"))
QUICK = max(1, int(round(itest.slowdown())))
INTERVAL_MS = 250 * QUICK


def pad_plan():
    done = R.passed + R.failed + R.skipped
    for rid, desc in PLAN[done:]:
        R.fail(rid, "%s: not run (an earlier step failed)" % desc)


def now_ms():
    return int(time.time() * 1000)


def history(setup):
    r = A.curl(setup.url("/api/v1/history"))
    if r.status != 200:
        raise RuntimeError("GET /api/v1/history: %s" % r.brief())
    return r.json()


def series(hist, name):
    for c in hist["clusters"]:
        if c["name"] == name:
            return c
    return None


def check_of(hist, cluster):
    for k in hist["checks"]:
        if k["cluster"] == cluster:
            return k
    return None


def drive(port, subnet, seconds, batch=40):
    """dig in batch mode (-f): Frankfurt queries for www.api.test for about `seconds`;
    returns {address: count} of the answers dig printed."""
    path = os.path.join(itest.tmpdir("gslbd-dig-"), "batch")
    with open(path, "w") as f:
        for _ in range(batch):
            f.write("www.api.test A +subnet=%s\n" % subnet)
    seen = {}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        p = subprocess.run(["dig", "@127.0.0.1", "-p", str(port), "+short", "+tries=1",
                            "+time=2", "-f", path], capture_output=True, text=True, timeout=60)
        for line in p.stdout.split():
            seen[line] = seen.get(line, 0) + 1
    return seen


def sums(hist, names, lo, hi):
    """Answers of each cluster in the samples whose interval lies inside (lo, hi] (ms)."""
    out = {n: 0 for n in names}
    iv = hist["interval_ms"]
    for i, t in enumerate(hist["times"]):
        if t - iv >= lo and t <= hi:
            for n in names:
                out[n] += series(hist, n)["answers"][i] or 0
    return out


def iso_ms(text):
    """'2024-05-01T12:00:00.123Z' -> Unix ms."""
    base, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac or 0)


def start_backend(addr, port):
    b = H.Proc("hist-%s" % addr, [H.BACKEND, "--listen", "%s:%d" % (addr, port)])
    return b.start()


# What the page shows of the history (a JS expression returning JSON text).
PAGE = """JSON.stringify((() => {
  const box = document.getElementById("history");
  if (!box || box.dataset.ready !== "true") return {ok: false, loading: true};
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const charts = q('#history-charts [data-series="cluster"]').map((r) => ({
    cluster: r.dataset.cluster, svg: !!r.querySelector("svg.spark"),
    plotted: !!r.querySelector("svg.spark path.lineplot"),
    markers: Array.from(r.querySelectorAll("svg .marker")).map((m) => ({
      kind: m.dataset.kind, t: Number(m.dataset.t), up: m.dataset.up,
      x: Number(m.getAttribute("x1"))}))}));
  const strips = q('#history-charts [data-series="check"]').map((r) => ({
    cluster: r.dataset.cluster, check: r.dataset.check, address: r.dataset.address,
    rects: r.querySelectorAll("svg.strip rect.st").length,
    down: r.querySelectorAll('svg.strip rect.st.down').length}));
  const now = q("#now-answering tr[data-service]").map((r) => ({
    service: r.dataset.service, region: r.dataset.region, clusters: r.dataset.clusters,
    reason: r.dataset.reason, text: r.querySelector('[data-role="answer"]').textContent}));
  const lane = q("#history-charts svg.lane .marker").length;
  const st = {charts, strips, now, lane,
              svgs: q("#history-charts svg").length,
              events: q("#history-events li[data-kind]").length};
  st.ok = %s;
  return st;
})())"""


def main():
    R.plan(len(PLAN))
    if D.chromium_bin() is None:
        R.note("no chromium: HIST-7 will fail (packaging/deps.sh installs it)")
    H.S.tmp = itest.tmpdir("gslbd-hist-")
    setup = A.Setup("hist")
    bport = itest.free_port(A.BACKENDS)
    back = {}
    srv = None
    page = None

    def edit(conf):
        conf["api"]["history_interval_ms"] = INTERVAL_MS
        conf["checks"][0]["interval_ms"] = 250 * QUICK
        conf["checks"][0]["timeout_ms"] = 200 * QUICK
    try:
        back["fra-a"] = start_backend(A.BACKENDS[0], bport)
        back["fra-b"] = start_backend(A.BACKENDS[1], bport)
        setup.write(bport, edit=edit)
        srv = itest.Gslbd("t_history", ["-c", setup.conf],
                          probe=("127.0.0.1", setup.dns_port, "api.test."))
        srv.log_path = os.path.join(setup.dir, "gslbd.log")
        srv.start()
        st = A.wait_for(lambda: (lambda s: s if s and all(
            t["probes"] > 0 for c in s["clusters"] for a in c["addresses"]
            for t in a["targets"]) else None)(A.status(setup)), timeout=15)
        if not st:
            raise RuntimeError("the probes never reported")

        # HIST-1
        A.wait_for(lambda: len(history(setup)["times"]) >= 3, timeout=10)
        h0 = history(setup)
        names = [c["name"] for c in h0["clusters"]]
        checks = sorted((k["cluster"], k["address"], k["check"]) for k in h0["checks"])
        R.check(h0["interval_ms"] == INTERVAL_MS and h0["capacity"] == 360 and
                names == ["fra-a", "fra-b", "ash-a"] and
                checks == [("ash-a", "127.0.0.4", "web"), ("fra-a", "127.0.0.2", "web"),
                           ("fra-b", "127.0.0.3", "web")] and
                all(len(c["answers"]) == len(h0["times"]) for c in h0["clusters"]) and
                all(len(k["states"]) == len(h0["times"]) for k in h0["checks"]) and
                len(h0["total"]) == len(h0["times"]), "HIST-1",
                "curl /api/v1/history: interval %d ms, capacity 360, clusters fra-a fra-b "
                "ash-a, one check series per target, arrays as long as times" % INTERVAL_MS,
                json.dumps(h0)[:1500])
        gaps = [b - a for a, b in zip(h0["times"], h0["times"][1:])]
        R.check(gaps and all(INTERVAL_MS * 0.5 <= g <= INTERVAL_MS * 3 for g in gaps) and
                abs(h0["now_t"] - h0["times"][-1]) <= INTERVAL_MS * 3, "HIST-1",
                "sample times advance by about %d ms and end near now" % INTERVAL_MS,
                "gaps %s, now %s, last %s" % (gaps, h0["now_t"], h0["times"][-1]))

        # HIST-2: traffic, kill fra-b's backend, traffic
        t1 = now_ms()
        seen1 = drive(setup.dns_port, A.FRANKFURT, 2.0 * QUICK)
        t_kill = now_ms()
        back["fra-b"].kill()
        A.wait_for(lambda: (A.cluster(A.status(setup), "fra-b") or {}).get("state") == "down",
                   timeout=10)
        seen2 = drive(setup.dns_port, A.FRANKFURT, 2.0 * QUICK)
        time.sleep(2 * INTERVAL_MS / 1000.0)  # the last traffic sampled
        h1 = history(setup)
        ev = [e for e in h1["events"] if e["kind"] == "health" and e["cluster"] == "fra-b" and
              not e["up"]]
        te = ev[-1]["t"] if ev else None
        before = sums(h1, ("fra-a", "fra-b"), t1, t_kill)
        share_b = before["fra-b"] / max(1, before["fra-a"] + before["fra-b"])
        R.check(before["fra-a"] + before["fra-b"] >= 50 and 0.3 <= share_b <= 0.7 and
                seen1.get("127.0.0.2", 0) > 0 and seen1.get("127.0.0.3", 0) > 0, "HIST-2",
                "before the kill: fra-b had %.0f%% of %d Frankfurt answers in the history "
                "(dig saw %s)" % (share_b * 100, before["fra-a"] + before["fra-b"], seen1),
                "sums %s\n%s" % (before, json.dumps(h1)[:1500]))
        after = sums(h1, ("fra-a", "fra-b", "ash-a"), (te or now_ms()) + 50, now_ms())
        R.check(te is not None and after["fra-a"] >= 50 and after["fra-b"] == 0 and
                after["ash-a"] == 0 and seen2.get("127.0.0.3", 0) <= seen2.get("127.0.0.2", 0)
                and set(k for k, n in seen2.items() if n > 5) == {"127.0.0.2"}, "HIST-2",
                "after fra-b's transition: fra-a had all %d answers in the history (dig saw "
                "%s)" % (after["fra-a"], seen2),
                "sums %s, transition %s\n%s" % (after, te, json.dumps(h1)[:1500]))

        # HIST-3
        e = ev[-1] if ev else {}
        R.check(te is not None and t_kill <= te <= h1["now_t"] and iso_ms(e["time"]) == te and
                e["check"] == "web" and e["address"] == "127.0.0.3" and e["reason"], "HIST-3",
                "the event: fra-b 127.0.0.3 web down (%s) at %s, %d ms after the kill" % (
                    e.get("reason"), e.get("time"), (te or 0) - t_kill), json.dumps(h1["events"]))
        kb = check_of(h1, "fra-b")
        idx = [i for i, t in enumerate(h1["times"]) if te is not None and
               h1["times"][i - 1] < te <= t and i > 0] if kb else []
        flip = idx and kb["states"][idx[0] - 1] == "u" and kb["states"][idx[0]] == "D" and \
            set(kb["states"][idx[0] + 1:]) <= {"d"}
        R.check(flip, "HIST-3",
                "fra-b's check: 'u' before, 'D' (changed, down) in the sample covering %s, "
                "'d' after" % e.get("time"),
                "states %s, index %s" % (kb and kb["states"], idx))

        # HIST-4
        t_req = now_ms()
        r = A.curl(setup.url("/api/v1/clusters/ash-a/state"), "POST", data='{"state": "drain"}',
                   token=A.TOKEN)
        A.wait_for(lambda: any(e["kind"] == "admin" for e in history(setup)["events"]),
                   timeout=5)
        h2 = history(setup)
        adm = [e for e in h2["events"] if e["kind"] == "admin"]
        R.check(r.status == 200 and len(adm) == 1 and adm[0]["cluster"] == "ash-a" and
                adm[0]["from"] == "auto" and adm[0]["to"] == "drain" and
                t_req <= adm[0]["t"] <= t_req + 500 * QUICK + 500, "HIST-4",
                "curl drains ash-a: the history marks ash-a auto -> drain %d ms after the "
                "request" % ((adm[0]["t"] - t_req) if adm else -1), json.dumps(adm))
        A.curl(setup.url("/api/v1/clusters/ash-a/state"), "POST", data='{"state": "auto"}',
               token=A.TOKEN)

        # HIST-5: now answering against explain, per region
        nets = {"eu-central": A.FRANKFURT, "us-east": A.ASHBURN}
        h3 = history(setup)
        bad = []
        for line in h3["now_answering"]:
            ecs = nets.get(line["region"])
            x = A.curl(setup.url("/api/v1/explain?name=%s&client=127.0.0.1&ecs=%s" % (
                line["service"], ecs))).json() or {}
            dec = x.get("decision", {})
            got = [c["cluster"] for c in line["clusters"]]
            if dec.get("cluster") not in got or dec.get("reason") != line["reason"] or \
                    dec.get("ttl") != line["ttl"]:
                bad.append((line, dec))
        lines = {(l["service"], l["region"]): [c["cluster"] for c in l["clusters"]]
                 for l in h3["now_answering"]}
        want = {("www.api.test.", "eu-central"): ["fra-a"], ("www.api.test.", "us-east"): ["fra-a"],
                ("solo.api.test.", "eu-central"): ["fra-a"],
                ("solo.api.test.", "us-east"): ["fra-a"]}
        R.check(not bad and lines == want, "HIST-5",
                "now answering (fra-b and ash-a down): every service and region answers fra-a, "
                "with the cluster, reason and TTL explain gives for a client there",
                "mismatches %s\nlines %s" % (bad, lines))

        # HIST-6: a reload that removes ash-a keeps fra-a's and fra-b's rings
        h4 = history(setup)

        def drop_ash(conf):
            edit(conf)
            conf["clusters"] = [c for c in conf["clusters"] if c["name"] != "ash-a"]
            for s in conf["services"]:
                s["clusters"] = [c for c in s["clusters"] if c != "ash-a"]
        setup.write(bport, edit=drop_ash)
        r = A.curl(setup.url("/api/v1/reload"), "POST", data="", token=A.TOKEN)
        time.sleep(2 * INTERVAL_MS / 1000.0)
        h5 = history(setup)
        # the samples both documents hold must agree for the clusters kept
        common = [t for t in h4["times"] if t in h5["times"]]
        same = bool(common) and all(
            series(h4, n)["answers"][h4["times"].index(t)] ==
            series(h5, n)["answers"][h5["times"].index(t)] for n in ("fra-a", "fra-b")
            for t in common) and \
            check_of(h5, "fra-b")["states"][:5] == \
            check_of(h4, "fra-b")["states"][h4["times"].index(common[0]):][:5]
        rel = [e for e in h5["events"] if e["kind"] == "reload"]
        R.check(r.status == 200 and same and [c["name"] for c in h5["clusters"]] ==
                ["fra-a", "fra-b"] and check_of(h5, "ash-a") is None and
                rel and rel[-1]["result"] == "ok" and
                any(e["kind"] == "health" and e["cluster"] == "fra-b" for e in h5["events"]),
                "HIST-6", "reload without ash-a: fra-a's and fra-b's %d common samples and "
                "fra-b's check states unchanged, ash-a gone, the reload and the earlier "
                "transition still marked" % len(common),
                "%s\n%s" % (r.brief(), json.dumps(h5)[:1500]))

        def broken(conf):
            drop_ash(conf)
            conf["zones"][0]["file"] = os.path.join(setup.dir, "missing.zone")
        setup.write(bport, edit=broken)
        r = A.curl(setup.url("/api/v1/reload"), "POST", data="", token=A.TOKEN)
        h6 = history(setup)
        rel = [e for e in h6["events"] if e["kind"] == "reload"]
        R.check(r.status == 422 and rel and rel[-1]["result"] == "rejected" and
                "missing.zone" in rel[-1].get("error", ""), "HIST-6",
                "a rejected reload is marked with its error", json.dumps(rel))
        setup.write(bport, edit=drop_ash)  # a good config again, for what follows

        # HIST-7: the dashboard
        if D.chromium_bin() is None:
            raise RuntimeError("no chromium")
        page = D.Cdp(setup.url("/"))
        hist = history(setup)
        got = page.wait(PAGE % "true", 20)
        hist = history(setup)
        ncl, nck = len(hist["clusters"]), len(hist["checks"])
        charts = {c["cluster"]: c for c in got.get("charts", [])}
        fb = charts.get("fra-b", {})
        marker = [m for m in fb.get("markers", []) if m["kind"] == "health" and m["up"] == "false"
                  and m["t"] == te]
        now_ok = all(
            any(n["service"] == l["service"] and n["region"] == (l["region"] or "") and
                n["clusters"] == " ".join(c["cluster"] for c in l["clusters"]) and
                n["reason"] == l["reason"] for n in got.get("now", []))
            for l in hist["now_answering"]) and len(got.get("now", [])) == len(
                hist["now_answering"])
        # without ash-a every cluster is in Frankfurt: location no longer matters, one line
        # per service with no region
        fra_b_now = [n for n in got.get("now", []) if n["service"] == "www.api.test." and
                     n["region"] == ""]
        R.check(got.get("ok") and len(got["charts"]) == ncl == 2 and
                all(c["svg"] for c in got["charts"]) and charts.get("fra-a", {}).get("plotted")
                and len(got["strips"]) == nck == 2 and
                all(s["rects"] > 0 for s in got["strips"]) and
                any(s["cluster"] == "fra-b" and s["down"] > 0 for s in got["strips"]) and
                len(marker) == 1 and got["lane"] >= 3 and now_ok and fra_b_now and
                fra_b_now[0]["text"] == "fra-a 100%", "HIST-7",
                "headless chromium: %d share charts and %d check strips (inline SVG), fra-b's "
                "down marker at %s, %d event marks, now answering as the endpoint says "
                "(www: \"fra-a 100%%\")" % (
                    len(got.get("charts", [])), len(got.get("strips", [])), e.get("time"),
                    got.get("lane", 0)),
                json.dumps(got, indent=1)[:3000])

        back["fra-b"] = start_backend(A.BACKENDS[1], bport)
        got = page.wait(PAGE % """(() => { const w = charts.length && now.find((n) =>
            n.service === "www.api.test." && n.region === "");
            return !!w && w.clusters === "fra-a fra-b" && w.text === "fra-a 50%fra-b 50%" &&
              charts.find((c) => c.cluster === "fra-b").markers.some((m) =>
                m.kind === "health" && m.up === "true"); })()""", 20)
        R.check(got.get("ok"), "HIST-7",
                "fra-b's backend back: the open page shows www answered by fra-a 50%, fra-b "
                "50%, and fra-b's up marker", json.dumps(got, indent=1)[:3000])
        page.close()
        page = None
        out = os.path.join(itest.outdir("history"), "history.png")
        if os.path.exists(out):
            os.unlink(out)
        rc, _, err = D.chromium(setup.url("/#history-h"),
                                ["--screenshot=" + out, "--window-size=1400,1800"])
        size = D.png_size(out)
        R.check(rc == 0 and size == (1400, 1800), "HIST-7",
                "screenshot %s (1400x1800)" % os.path.relpath(out, itest.REPO),
                "chromium exit %s, size %s\n%s" % (rc, size, err[-1500:]))
        rc = srv.stop()
        R.check(rc == 0, "HIST-8", "gslbd stops with exit 0", srv.log_tail())
    except Exception as ex:  # noqa: BLE001
        R.note("the history test stopped early: %s\n%s" % (ex, traceback.format_exc()))
        if srv is not None:
            R.note("gslbd log:\n" + srv.log_tail())
    finally:
        if page is not None:
            page.close()
        if srv is not None and srv.alive():
            srv.stop()
        for b in back.values():
            b.stop()
    pad_plan()
    return R.finish()


if __name__ == "__main__":
    t0 = time.monotonic()
    status = main()
    print("# total %.1f s" % (time.monotonic() - t0))
    sys.exit(status)
