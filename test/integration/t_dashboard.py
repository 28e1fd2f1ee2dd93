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
  DASH-5 a rejected reload shows the banner with the loader's message, and "last reload
         rejected" (read live through the DevTools protocol)
  DASH-6 once gslbd stops, the open page says it lost the connection and keeps the last data
Prints the plan `1..N` first, then `ok ID ...` / `not ok ID ...`; checks an earlier failure
left unrun are reported as `not ok ... not run`, so the count always matches the plan. The
daemon writes a fresh log in this run's temporary folder. Every process it starts is
stopped (itest.py); waits scale with GSLBD_TEST_SLOWDOWN."""

import base64
import html.parser
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as GL  # noqa: E402

R = itest.Report("t_dashboard")
CLUSTERS = ("fra-a", "fra-b", "ash-a")
# Every check this script reports, in order: the plan is their count.
PLAN = (("DASH-1", "chromium is installed"),
        ("DASH-2", "the page shows every region and cluster with its state"),
        ("DASH-2", "the page shows ash-a's failure reason and the services"),
        ("DASH-4", "screenshot dashboard.png"),
        ("DASH-3", "curl drains fra-b"),
        ("DASH-3", "after the drain the page shows fra-b drained"),
        ("DASH-7", "the admin changes list shows the drain, who made it and how"),
        ("DASH-8", "a down cluster answered because its service fails open says so"),
        ("DASH-4", "screenshot dashboard-drained.png"),
        ("DASH-5", "a reload of a broken config is rejected with 422"),
        ("DASH-5", "the open page shows the rejected-reload banner"),
        ("DASH-6", "gslbd stops with exit 0"),
        ("DASH-6", "the open page shows the lost connection and keeps the last data"))


def slowdown():
    try:
        return max(1.0, float(os.environ.get("GSLBD_TEST_SLOWDOWN", "1")))
    except ValueError:
        return 1.0


def pad_plan():
    """Report the planned checks that never ran (an earlier step failed) as failures."""
    done = R.passed + R.failed
    for rid, desc in PLAN[done:]:
        R.fail(rid, "%s: not run (an earlier step failed)" % desc)


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


class Cdp:
    """A headless chromium kept open on url, driven through the DevTools protocol over a
    plain websocket (standard library only): evaluate() runs JavaScript in the page."""

    def __init__(self, url):
        self.prof = tempfile.mkdtemp(prefix="gslbd-chromium-")
        self.errf = open(os.path.join(self.prof, "stderr.txt"), "wb")
        args = [chromium_bin(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-extensions",
                "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0", "--user-data-dir=" + self.prof, url]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        self.sock = None
        self.next_id = 0
        port_file = os.path.join(self.prof, "DevToolsActivePort")
        deadline = time.monotonic() + 30 * slowdown()
        port = None
        while time.monotonic() < deadline and port is None:
            try:
                with open(port_file) as f:
                    port = int(f.readline().strip())
            except (OSError, ValueError):
                if self.proc.poll() is not None:
                    raise RuntimeError("chromium exited with %d" % self.proc.returncode)
                time.sleep(0.1)
        if port is None:
            raise RuntimeError("chromium wrote no DevToolsActivePort")
        ws = None
        while time.monotonic() < deadline and ws is None:
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=5) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            ws = pages[0]["webSocketDebuggerUrl"] if pages else None
            if ws is None:
                time.sleep(0.1)
        if ws is None:
            raise RuntimeError("chromium shows no page")
        self._connect(port, ws[ws.index("/devtools/"):])

    def _connect(self, port, path):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (path, port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("devtools closed the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError("devtools handshake: %r" % head[:200])
        self.buf = head[head.index(b"\r\n\r\n") + 4:]

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("devtools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F in (0x1, 0x0):
                msg += payload
                if b0 & 0x80:
                    return json.loads(msg.decode())
            # control frames (ping, pong) carry nothing we need

    def evaluate(self, expr):
        self.next_id += 1
        mid = self.next_id
        self._send(json.dumps({"id": mid, "method": "Runtime.evaluate",
                               "params": {"expression": expr, "returnByValue": True}}))
        while True:
            m = self._recv()
            if m.get("id") == mid:
                res = m.get("result", {})
                if "exceptionDetails" in res:
                    raise RuntimeError("page exception: %s" % res["exceptionDetails"])
                return res.get("result", {}).get("value")

    def wait(self, expr, timeout):
        """Poll expr (JSON text) until its "ok" is true, at most timeout s (scaled); returns
        the last value seen."""
        deadline = time.monotonic() + timeout * slowdown()
        last = None
        while time.monotonic() < deadline:
            last = json.loads(self.evaluate(expr))
            if last.get("ok"):
                return last
            time.sleep(0.2)
        return last

    def close(self):
        try:
            if self.sock is not None:
                self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.errf.close()
            shutil.rmtree(self.prof, ignore_errors=True)


# What the page shows about reloads, the connection and the clusters (a JS expression).
PAGE_STATE = """(() => {
  const b = document.getElementById("banner"), lr = document.getElementById("last-reload");
  const live = document.getElementById("live");
  if (!b || !live) return {loading: true}; /* the page is not there yet */
  const cards = Array.from(document.querySelectorAll("article[data-cluster]"));
  return {banner_hidden: b.hidden, banner: b.textContent,
          last_reload: lr ? lr.dataset.result : null, live: live.dataset.live,
          live_text: document.getElementById("live-text").textContent,
          stale: document.body.classList.contains("stale"),
          clusters: Object.fromEntries(cards.map(c => [c.dataset.cluster, c.dataset.state]))};
})()"""


def page_state_ok(cond):
    """JSON text of the page state with ok = cond, a JS expression over st."""
    return ("JSON.stringify((() => { const st = %s; st.ok = !st.loading && !!(%s); "
            "return st; })())" % (PAGE_STATE, cond))


def main():
    R.plan(len(PLAN))
    if chromium_bin() is None:
        R.fail("DASH-1", "chromium is installed (packaging/deps.sh installs it)",
               "no chromium, chromium-browser or google-chrome on PATH")
        pad_plan()
        return R.finish()
    R.ok("DASH-1", "chromium is installed: %s" % chromium_bin())
    out_dir = itest.outdir("dashboard")
    backends = A.Backends().start()
    srv = None
    page = None
    try:
        setup = A.Setup("dash")
        setup.write(backends.port)
        srv = itest.Gslbd("t_dashboard", ["-c", setup.conf],
                          probe=("127.0.0.1", setup.dns_port, "api.test."))
        srv.log_path = os.path.join(setup.dir, "gslbd.log")  # this run's lines only
        srv.start()
        st = A.wait_for(lambda: (lambda s: s if s and all(
            t["probes"] > 0 for c in s["clusters"] for a in c["addresses"]
            for t in a["targets"]) else None)(A.status(setup)), timeout=15 * slowdown())
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
        text = " ".join(d.text)
        R.check(rc == 0 and re.search(r"fra-b · auto → drain\s*api 127\.0\.0\.1:\d+ \(api\)",
                                      text) is not None, "DASH-7",
                "the admin changes list shows \"fra-b · auto → drain\" by api 127.0.0.1:PORT",
                text[-1500:])
        # fra-a forced down too: solo.api.test (fra-a, ash-a) has every cluster down and
        # fails open, so ash-a (down) is answered all the same
        r = A.curl(setup.url("/api/v1/clusters/fra-a/state"), "POST",
                   data='{"state": "down"}', token=A.TOKEN)
        rc, d, html_text, err = dump(setup)
        text = " ".join(d.text)
        A.curl(setup.url("/api/v1/clusters/fra-a/state"), "POST", data='{"state": "auto"}',
               token=A.TOKEN)
        R.check(r.status == 200 and rc == 0 and
                "answered: every cluster of its service is down (fail open)" in text and
                "not answered" not in text, "DASH-8",
                "fra-a forced down: ash-a's card says it is answered (solo.api.test fails "
                "open), no cluster says \"not answered\"", r.brief() + "\n" + text[:2000])
        screenshot(setup, os.path.join(out_dir, "dashboard-drained.png"))

        # One page kept open from here on: it must notice a rejected reload and a lost daemon
        # on its own polls (every 2 s), as an operator's open tab would.
        page = Cdp(setup.url("/"))
        first = page.wait(page_state_ok('st.live === "ok" && st.clusters["ash-a"] === "down"'),
                          20)
        if not first or not first.get("ok"):
            raise RuntimeError("the page never showed live data: %s" % first)
        missing = os.path.join(setup.dir, "no-such-zone-file.zone")

        def break_zone(conf):
            conf["zones"][0]["file"] = missing
        setup.write(backends.port, edit=break_zone)
        r = A.curl(setup.url("/api/v1/reload"), "POST", data="", token=A.TOKEN)
        R.check(r.status == 422 and missing in r.body, "DASH-5",
                "a reload of a config whose zone file is missing: 422 naming the file",
                r.brief())
        got = page.wait(page_state_ok('!st.banner_hidden && st.last_reload === "failed"'), 15)
        R.check(got and got.get("ok") and "rejected" in got["banner"] and
                missing in got["banner"] and got["live"] == "ok", "DASH-5",
                "the open page shows the banner \"Last reload rejected\" with the missing file, "
                "last reload marked failed, and is still live",
                json.dumps(got, indent=1))

        rc = srv.stop()
        R.check(rc == 0, "DASH-6", "gslbd ran the whole test and stopped with exit 0",
                srv.log_tail())
        got = page.wait(page_state_ok('st.live === "lost" && st.stale'), 15)
        R.check(got and got.get("ok") and "cannot reach gslbd" in got["live_text"] and
                got["clusters"].get("fra-b") == "drained" and
                got["clusters"].get("ash-a") == "down", "DASH-6",
                "the open page says it cannot reach gslbd, greys out (stale) and keeps the last "
                "clusters (fra-b drained, ash-a down)", json.dumps(got, indent=1))
    except Exception as e:  # noqa: BLE001
        R.note("the dashboard test stopped early: %s\n%s" % (e, traceback.format_exc()))
        if srv is not None:
            R.note("gslbd log:\n" + srv.log_tail())
    finally:
        if page is not None:
            page.close()
        if srv is not None and srv.alive():
            srv.stop()
        backends.stop()
    pad_plan()
    return R.finish()


if __name__ == "__main__":
    t0 = time.monotonic()
    status = main()
    print("# total %.1f s" % (time.monotonic() - t0))
    sys.exit(status)
