#!/usr/bin/env python3
"""t_dashboard.py: the web dashboard in a real browser (headless chromium) against a real
gslbd: two clusters in Frankfurt split the answers 50/50, a third in Ashburn has no backend
and is down. Checks that the page draws every cluster with its state, that a drain through
the API shows as drained on the next poll, and takes a screenshot for people to look at:
test/out/dashboard/dashboard.png (and dashboard-drained.png). chromium is required: without
it the test fails (packaging/deps.sh installs it). Check IDs:

  DASH-1 chromium is installed
  DASH-2 the page shows every region and cluster, each with its state (DOM after the scripts)
  DASH-3 a cluster drained with curl shows as drained; the others keep their state
  DASH-4 screenshots are written and are real PNG images
Prints `ok ID ...` / `not ok ID ...`; every process it starts is stopped (itest.py)."""

import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as GL  # noqa: E402

R = itest.Report("t_dashboard")
# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 8
CLUSTERS = ("fra-a", "fra-b", "ash-a")


def chromium_bin():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium(url, extra, timeout=90):
    """Run headless chromium once; returns (rc, stdout, stderr)."""
    prof = tempfile.mkdtemp(prefix="gslbd-chromium-")
    try:
        args = [chromium_bin(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                "--user-data-dir=" + prof, "--virtual-time-budget=5000"] + list(extra) + [url]
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr
    finally:
        shutil.rmtree(prof, ignore_errors=True)


class Dom(html.parser.HTMLParser):
    """Clusters (data-cluster -> data-state and the state badge's text) and regions."""

    def __init__(self):
        super().__init__()
        self.clusters = {}
        self.regions = []
        self.services = []
        self.text = []
        self._cluster = None
        self._badge = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-region" in a and tag == "section":
            self.regions.append(a["data-region"])
        if "data-service" in a:
            self.services.append(a["data-service"])
        if tag == "article" and "data-cluster" in a:
            self._cluster = a["data-cluster"]
            self.clusters[self._cluster] = {"state": a.get("data-state"), "badge": ""}
        if self._cluster and a.get("data-role") == "state":
            self._badge = True

    def handle_endtag(self, tag):
        if tag == "span" and self._badge:
            self._badge = False
        if tag == "article":
            self._cluster = None

    def handle_data(self, data):
        self.text.append(data)
        if self._badge and self._cluster:
            self.clusters[self._cluster]["badge"] += data


def dump(setup):
    rc, out, err = chromium(setup.url("/"), ["--dump-dom"])
    d = Dom()
    d.feed(out)
    return rc, d, out, err


def png_size(path):
    """(width, height) of a PNG file, or None if it is not one."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def screenshot(setup, path):
    if os.path.exists(path):
        os.unlink(path)
    rc, out, err = chromium(setup.url("/"), ["--screenshot=" + path, "--window-size=1400,1000"])
    size = png_size(path)
    nbytes = os.path.getsize(path) if os.path.exists(path) else 0
    R.check(rc == 0 and size == (1400, 1000) and nbytes > 30000, "DASH-4",
            "screenshot %s: a 1400x1000 PNG of %d bytes" % (os.path.relpath(path, itest.REPO),
                                                           nbytes),
            "chromium exit %s, size %s\n%s" % (rc, size, err[-1500:]))


def main():
    R.plan(PLAN)
    if chromium_bin() is None:
        R.fail("DASH-1", "chromium is installed (packaging/deps.sh installs it)",
               "no chromium, chromium-browser or google-chrome on PATH")
        return R.finish()
    R.ok("DASH-1", "chromium is installed: %s" % chromium_bin())
    out_dir = itest.outdir("dashboard")
    backends = A.Backends().start()
    srv = None
    try:
        setup = A.Setup("dash")
        setup.write(backends.port)
        srv = setup.start("t_dashboard")
        st = A.wait_for(lambda: (lambda s: s if s and all(
            t["probes"] > 0 for c in s["clusters"] for a in c["addresses"]
            for t in a["targets"]) else None)(A.status(setup)), timeout=15)
        if not st:
            raise RuntimeError("the probes never reported: %s" % json.dumps(A.status(setup)))
        # traffic so the share bars mean something: Frankfurt splits 50/50
        GL.blast(setup.dns_port, "www.api.test", "A", [("10.1.0.0", 24), ("10.3.0.0", 24)],
                 2000, window=64, nsock=2)

        rc, d, html_text, err = dump(setup)
        want = {"fra-a": "healthy", "fra-b": "healthy", "ash-a": "down"}
        got = {c: d.clusters.get(c, {}).get("state") for c in CLUSTERS}
        badges = {c: d.clusters.get(c, {}).get("badge", "").strip() for c in CLUSTERS}
        R.check(rc == 0 and got == want and badges == want and
                d.regions == ["eu-central", "us-east"], "DASH-2",
                "chromium --dump-dom: regions eu-central and us-east; fra-a healthy, fra-b "
                "healthy, ash-a down (data-state and the visible badge)",
                "exit %s\nclusters %s\nbadges %s\nregions %s\n%s" % (
                    rc, got, badges, d.regions, (html_text or err)[-2000:]))
        text = " ".join(d.text)
        R.check("connection refused" in text.lower() and "www.api.test." in d.services and
                "solo.api.test." in d.services and "nearest" in text, "DASH-2",
                "the page shows ash-a's failure reason (connection refused) and the services "
                "with their policy", text[:1500])
        screenshot(setup, os.path.join(out_dir, "dashboard.png"))

        r = A.curl(setup.url("/api/v1/clusters/fra-b/state"), "POST",
                   data='{"state": "drain"}', token=A.TOKEN)
        R.check(r.status == 200, "DASH-3", "curl drains fra-b: 200", r.brief())
        GL.blast(setup.dns_port, "www.api.test", "A", [("10.1.0.0", 24)], 500, window=64,
                 nsock=2)
        rc, d, html_text, err = dump(setup)
        got = {c: d.clusters.get(c, {}).get("state") for c in CLUSTERS}
        badges = {c: d.clusters.get(c, {}).get("badge", "").strip() for c in CLUSTERS}
        want = {"fra-a": "healthy", "fra-b": "drained", "ash-a": "down"}
        R.check(rc == 0 and got == want and badges == want, "DASH-3",
                "after the drain the page shows fra-b drained; fra-a healthy, ash-a down",
                "clusters %s\nbadges %s\n%s" % (got, badges, (html_text or err)[-1500:]))
        screenshot(setup, os.path.join(out_dir, "dashboard-drained.png"))
    except Exception as e:  # noqa: BLE001
        R.fail("DASH-2", "the dashboard test ran", "%s\n%s" % (e, traceback.format_exc()))
    finally:
        if srv is not None:
            alive = srv.alive()
            rc = srv.stop()
            R.check(alive and rc == 0, "DASH-2", "gslbd ran the whole test and stopped with "
                    "exit 0", srv.log_tail())
        backends.stop()
    return R.finish()


if __name__ == "__main__":
    t0 = time.monotonic()
    status = main()
    print("# total %.1f s" % (time.monotonic() - t0))
    sys.exit(status)
