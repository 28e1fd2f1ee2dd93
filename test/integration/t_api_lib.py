"""t_api_lib.py: helpers for t_api.py and t_dashboard.py: the HTTP health-check backends, the
config from test/data/api/ with ports and paths filled in, curl as the HTTP client, and a
strict parser for the Prometheus text format 0.0.4."""

import http.server
import json
import math
import os
import re
import subprocess
import tempfile
import threading

import itest
import t_gslb_lib as GL

ADATA = os.path.join(itest.REPO, "test", "data", "api")
DEMO_NETWORKS = os.path.join(itest.REPO, "geo", "demo-networks.txt")
BACKENDS = ("127.0.0.2", "127.0.0.3")  # fra-a, fra-b; ash-a's 127.0.0.4 has nothing
TOKEN = "t0ken-for-the-api-test-0123456789abcdef"

# Client networks of geo/demo-networks.txt
FRANKFURT = "10.1.0.0/24"
ASHBURN = "10.3.0.0/24"


# ---------------------------------------------------------------------------------------
# health-check backends


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the library's name)
        code = 200 if self.path == "/healthz" else 404
        body = b"ok\n" if code == 200 else b"no\n"
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a probe that gave up (timeout, gslbd stopping) is not news


class Backends:
    """An HTTP server answering GET /healthz with 200 on each of BACKENDS, one port."""

    def __init__(self):
        self.port = itest.free_port(BACKENDS)
        self.servers = []
        self.threads = []

    def start(self):
        for host in BACKENDS:
            s = _Server((host, self.port), _Health)
            t = threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                 daemon=True)
            t.start()
            self.servers.append(s)
            self.threads.append(t)
        return self

    def stop(self):
        for s in self.servers:
            s.shutdown()
            s.server_close()
        self.servers = []


# ---------------------------------------------------------------------------------------
# config


class Setup:
    """A temporary folder with the GeoIP database, the token file and a config."""

    def __init__(self, name):
        self.dir = itest.tmpdir("gslbd-%s-" % name)
        self.db = GL.build_mmdb(DEMO_NETWORKS, os.path.join(self.dir, "demo.mmdb"))
        self.token_file = os.path.join(self.dir, "api.token")
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)
        self.state = os.path.join(self.dir, "state.json")
        self.dns_port = itest.free_port(("127.0.0.1",))
        self.api_port = itest.free_port(("127.0.0.1",))
        self.conf = os.path.join(self.dir, "gslbd.json")

    def write(self, check_port, token=True, edit=None, path=None):
        """The config from test/data/api/api.json; returns its path."""
        with open(os.path.join(ADATA, "api.json")) as f:
            conf = json.load(f)
        conf["listen"] = ["127.0.0.1:%d" % self.dns_port]
        for z in conf["zones"]:
            z["file"] = os.path.join(ADATA, z["file"])
        conf["checks"][0]["port"] = check_port
        conf["geoip"]["database"] = self.db
        conf["state_file"] = self.state
        conf["api"] = {"listen": "127.0.0.1:%d" % self.api_port}
        if token:
            conf["api"]["token_file"] = "api.token"  # relative to the config's folder
        if edit is not None:
            edit(conf)
        path = path or self.conf
        with open(path, "w") as f:
            json.dump(conf, f, indent=2)
            f.write("\n")
        return path

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.api_port, path)

    def start(self, name, args=()):
        return itest.Gslbd(name, ["-c", self.conf] + list(args),
                           probe=("127.0.0.1", self.dns_port, "api.test.")).start()


# ---------------------------------------------------------------------------------------
# curl


class Reply:
    def __init__(self, status, headers, body, rc, err):
        self.status = status
        self.headers = headers  # lower-case name -> value (the last one)
        self.body = body
        self.rc = rc  # curl's exit code
        self.err = err

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def brief(self):
        return "HTTP %s (curl %d %s) %s" % (self.status, self.rc, self.err.strip()[:200],
                                           self.body[:600])


def curl(url, method="GET", data=None, token=None, headers=(), timeout=20, data_file=None):
    """One request with curl; returns a Reply (status 0 when there was no HTTP reply)."""
    with tempfile.TemporaryDirectory(prefix="gslbd-curl-") as d:
        hfile = os.path.join(d, "h")
        bfile = os.path.join(d, "b")
        args = ["curl", "-sS", "-X", method, "-o", bfile, "-D", hfile, "-w", "%{http_code}",
                "--max-time", str(timeout), "-H", "Expect:"]
        if token is not None:
            args += ["-H", "Authorization: Bearer " + token]
        for h in headers:
            args += ["-H", h]
        if data is not None:
            args += ["--data-binary", data]
        if data_file is not None:
            args += ["--data-binary", "@" + data_file]
        args.append(url)
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout + 10)
        hdrs = {}
        try:
            with open(hfile, encoding="latin-1") as f:
                for line in f:
                    if ":" in line:
                        k, _, v = line.partition(":")
                        hdrs[k.strip().lower()] = v.strip()
        except OSError:
            pass
        try:
            with open(bfile, encoding="utf-8", errors="replace") as f:
                body = f.read()
        except OSError:
            body = ""
        try:
            status = int(p.stdout.strip() or 0)
        except ValueError:
            status = 0
        return Reply(status, hdrs, body, p.returncode, p.stderr)


def wait_for(pred, timeout=10.0, step=0.1):
    """Poll pred() until it returns something true; returns it (or the last value)."""
    import time
    deadline = time.monotonic() + itest.slack(timeout)
    v = pred()
    while not v and time.monotonic() < deadline:
        time.sleep(step)
        v = pred()
    return v


def status(setup):
    r = curl(setup.url("/api/v1/status"))
    return r.json() if r.status == 200 else None


def cluster(st, name):
    for c in (st or {}).get("clusters", []):
        if c["name"] == name:
            return c
    return None


# ---------------------------------------------------------------------------------------
# Prometheus text format 0.0.4, strictly

METRIC_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class PromError(Exception):
    pass


def _float(text):
    if text in ("+Inf", "Inf"):
        return math.inf
    if text == "-Inf":
        return -math.inf
    if text == "NaN":
        return math.nan
    if not re.match(r"[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)\Z", text):
        raise PromError("not a float: %r" % text)
    return float(text)


def _labels(text, lineno):
    """'a="x",b="y"' -> dict; escapes \\\\ \\" \\n."""
    out = {}
    i, n = 0, len(text)
    while i < n:
        m = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"").match(text, i)
        if not m:
            raise PromError("line %d: bad label at %r" % (lineno, text[i:]))
        name = m.group(1)
        i = m.end()
        val = []
        while True:
            if i >= n:
                raise PromError("line %d: unterminated label value" % lineno)
            ch = text[i]
            if ch == "\\":
                if i + 1 >= n or text[i + 1] not in '\\"n':
                    raise PromError("line %d: bad escape in label value" % lineno)
                val.append({"\\": "\\", '"': '"', "n": "\n"}[text[i + 1]])
                i += 2
                continue
            if ch == "\n":
                raise PromError("line %d: newline in label value" % lineno)
            if ch == '"':
                i += 1
                break
            val.append(ch)
            i += 1
        if name in out:
            raise PromError("line %d: label %s twice" % (lineno, name))
        out[name] = "".join(val)
        if i < n:
            if text[i] != ",":
                raise PromError("line %d: expected ',' between labels" % lineno)
            i += 1
    return out


def parse_prometheus(text):
    """Returns {'types': {family: type}, 'help': {family: text}, 'samples': [(name, labels,
    value)]}; raises PromError on anything the format does not allow."""
    if not text.endswith("\n"):
        raise PromError("the exposition must end with a newline")
    types, helps, samples, seen = {}, {}, [], set()
    families_with_samples = set()
    for lineno, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not METRIC_RE.match(parts[2]):
                    raise PromError("line %d: bad metric name in %s" % (lineno, parts[1]))
                name = parts[2]
                if parts[1] == "HELP":
                    if name in helps:
                        raise PromError("line %d: second HELP for %s" % (lineno, name))
                    helps[name] = parts[3] if len(parts) > 3 else ""
                else:
                    if name in types:
                        raise PromError("line %d: second TYPE for %s" % (lineno, name))
                    if name in families_with_samples:
                        raise PromError("line %d: TYPE for %s after its samples" % (lineno, name))
                    if len(parts) != 4 or parts[3] not in TYPES:
                        raise PromError("line %d: bad TYPE line %r" % (lineno, line))
                    types[name] = parts[3]
            continue
        m = re.match(r"([^{\s]+)(\{(.*)\})?[ \t]+(\S+)([ \t]+(-?\d+))?\Z", line)
        if not m:
            raise PromError("line %d: not a sample line: %r" % (lineno, line))
        name = m.group(1)
        if not METRIC_RE.match(name):
            raise PromError("line %d: bad metric name %r" % (lineno, name))
        labels = _labels(m.group(3), lineno) if m.group(3) else {}
        for k in labels:
            if not LABEL_RE.match(k) or k.startswith("__"):
                raise PromError("line %d: bad label name %r" % (lineno, k))
        value = _float(m.group(4))
        family = name
        if family not in types:
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[: -len(suffix)] in types:
                    family = name[: -len(suffix)]
        if family not in types:
            raise PromError("line %d: sample of %s without a TYPE before it" % (lineno, name))
        if types[family] == "counter" and not (value >= 0):
            raise PromError("line %d: counter %s is negative or NaN" % (lineno, name))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise PromError("line %d: duplicate series %s%s" % (lineno, name, labels))
        seen.add(key)
        families_with_samples.add(family)
        samples.append((name, labels, value))
    return {"types": types, "help": helps, "samples": samples}


def sample(parsed, name, **labels):
    """The value of the series name{labels} (labels matched exactly), or None."""
    for n, lab, v in parsed["samples"]:
        if n == name and lab == labels:
            return v
    return None
