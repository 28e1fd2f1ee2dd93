#!/usr/bin/env python3
"""t_apidoc.py: the documented /v1 API holds for a real gslbd (DOC-1..DOC-6 of docs/api.md):
live GET /api/v1/status and /api/v1/explain output (and `gslbd --explain`) validates against
the JSON schemas in docs/schema/ (python3-jsonschema, draft 2020-12); reals carry at most 6
decimals; explain says whether health is live or assumed and echoes assume_down; a missing
zone file is reported at the config entry that names it; `--zone ... --check` needs no
--listen.

One gslbd on loopback serves test/data/api (fra-a and fra-b have a live HTTP backend, ash-a
none). Prints the plan `1..N` first, then `ok ID ...` / `not ok ID ...`; the daemon logs to a
fresh file, read from marks."""

import json
import os
import re
import sys
import traceback
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_api_lib as A  # noqa: E402
import t_gslb_lib as L  # noqa: E402

R = itest.Report("t_apidoc")
PLAN = 13
SCHEMAS = os.path.join(itest.REPO, "docs", "schema")
# a JSON number with more than 6 decimals (outside strings: checked on parsed-out numbers)
LONG_REAL = re.compile(r"^-?\d+\.\d{7,}")


class S:
    setup = None
    backends = None
    srv = None


def validator(name):
    import jsonschema
    with open(os.path.join(SCHEMAS, name)) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def problems(v, doc):
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "$", e.message)
            for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))][:20]


def long_reals(text):
    """The numbers in a JSON text written with more than 6 decimals."""
    bad = []
    json.loads(text, parse_float=lambda s: bad.append(s) if LONG_REAL.match(s) else float(s))
    return bad


def explain_api(**q):
    r = A.curl(S.setup.url("/api/v1/explain?" + urlencode(q)))
    return r, r.json()


def t_schemas():
    try:
        vs, ve = validator("status.schema.json"), validator("explain.schema.json")
    except ImportError:
        R.fail("DOC-1", "python3-jsonschema is installed (packaging/deps.sh installs it)")
        R.fail("DOC-1", "python3-jsonschema is installed")
        R.fail("DOC-1", "python3-jsonschema is installed")
        return
    # something in every list: an admin change, transitions (ash-a fails), answers
    A.wait_for(lambda: (A.status(S.setup) or {}).get("transitions"), 10)
    A.curl(S.setup.url("/api/v1/clusters/fra-b/state"), "POST", data='{"state": "drain"}',
           token=A.TOKEN)
    for _ in range(4):
        L.dig("www.api.test", "A", S.setup.dns_port, subnet=A.FRANKFURT)
    r = A.curl(S.setup.url("/api/v1/status"))
    st = r.json() or {}
    bad = problems(vs, st) if r.status == 200 else ["HTTP %d" % r.status]
    R.check(not bad and st.get("admin_changes") and st.get("transitions"), "DOC-1",
            "live GET /api/v1/status (with transitions and admin changes) validates against "
            "docs/schema/status.schema.json", lambda: "\n".join(bad) + "\n" + r.body[:2000])
    cases = [dict(name="www.api.test", type="A", client="127.0.0.1", ecs=A.FRANKFURT),
             dict(name="solo.api.test", type="AAAA", client="127.0.0.1", ecs=A.ASHBURN,
                  assume_down="fra-a"),
             dict(name="mail.api.test", type="A", client="127.0.0.1"),
             dict(name="nothere.api.test", type="A", client="::1")]
    bad = []
    for q in cases:
        rep, j = explain_api(**q)
        if rep.status != 200:
            bad.append("%r: HTTP %d %s" % (q, rep.status, rep.body[:300]))
        else:
            bad += ["%r: %s" % (q, p) for p in problems(ve, j)]
    R.check(not bad, "DOC-1", "live GET /api/v1/explain for a service, an assume_down "
            "hypothesis, static data and NXDOMAIN validates against explain.schema.json",
            "\n".join(bad))
    p = L.run_gslbd(["-c", S.setup.conf, "--explain", "www.api.test", "A", "127.0.0.1",
                     A.ASHBURN])
    try:
        j = json.loads(p.stdout)
        bad = problems(ve, j)
    except ValueError as e:
        bad = ["not JSON: %s" % e]
    R.check(p.returncode == 0 and not bad, "DOC-1", "gslbd --explain output validates against "
            "explain.schema.json", lambda: "\n".join(bad) + "\n" + p.stdout[:1500] + p.stderr)


def t_reals():
    r = A.curl(S.setup.url("/api/v1/status"))
    bad = long_reals(r.body)
    R.check(r.status == 200 and not bad and '"lat":50.11,' in r.body and
            '"lon":-77.49}' in r.body, "DOC-2", "status: reals with at most 6 decimals "
            "(region lat 50.11, not 50.109999999999999)", lambda: "%r\n%s" % (bad, r.body[:800]))
    rep, _j = explain_api(name="www.api.test", type="A", client="127.0.0.1", ecs=A.FRANKFURT)
    p = L.run_gslbd(["-c", S.setup.conf, "--explain", "www.api.test", "A", "127.0.0.1",
                     A.FRANKFURT])
    bad = long_reals(rep.body) + long_reals(p.stdout or "{}")
    R.check(rep.status == 200 and p.returncode == 0 and not bad and
            re.search(r'"lat": ?50\.11,', p.stdout) is not None, "DOC-2",
            "explain (API and --explain): reals with at most 6 decimals",
            lambda: "%r\n%s\n%s" % (bad, rep.body[:600], p.stdout[:600]))


def t_explain_health():
    # fra-b was drained through the API (t_schemas): the state file says so
    p = L.run_gslbd(["-c", S.setup.conf, "--explain", "solo.api.test", "A", "127.0.0.1",
                     A.ASHBURN])
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = {}
    cl = {c["name"]: c for c in j.get("clusters", [])}
    R.check(j.get("health", "").startswith("assumed: ") and "state file" in j["health"] and
            cl.get("ash-a", {}).get("health") == "up" and
            (j.get("decision") or {}).get("cluster") == "ash-a", "DOC-3",
            "offline --explain says health is assumed (ash-a counted up, so Ashburn gets it)",
            p.stdout[:1500] + p.stderr)
    p = L.run_gslbd(["-c", S.setup.conf, "--explain", "www.api.test", "A", "127.0.0.1"])
    try:
        j = json.loads(p.stdout)
    except ValueError:
        j = {}
    cl = {c["name"]: c for c in j.get("clusters", [])}
    R.check(cl.get("fra-b", {}).get("admin") == "drain", "DOC-3",
            "offline --explain takes admin states from the state file (fra-b drained)",
            p.stdout[:1500] + p.stderr)
    rep, j = explain_api(name="solo.api.test", type="A", client="127.0.0.1", ecs=A.ASHBURN)
    cl = {c["name"]: c for c in (j or {}).get("clusters", [])}
    R.check(rep.status == 200 and j.get("health", "").startswith("live: ") and
            cl.get("ash-a", {}).get("health") == "down" and
            (j.get("decision") or {}).get("cluster") == "fra-a", "DOC-3",
            "the API's explain says health is live (ash-a down: Ashburn fails over to fra-a)",
            rep.brief())
    rep, j = explain_api(name="solo.api.test", type="A", client="127.0.0.1", ecs=A.FRANKFURT,
                         assume_down="fra-a")
    q = (j or {}).get("query", {})
    R.check(rep.status == 200 and q.get("assume_down") == ["fra-a"] and
            (j.get("decision") or {}).get("reason") == "fail_open", "DOC-4",
            "explain with assume_down=fra-a echoes the hypothesis in query.assume_down",
            rep.brief())
    rep, j = explain_api(name="solo.api.test", type="A", client="127.0.0.1")
    R.check(rep.status == 200 and "assume_down" not in (j or {}).get("query", {}), "DOC-4",
            "explain without assume_down has no query.assume_down", rep.brief())


def zone_pos(text, needle):
    """1-based line and column of needle's opening quote in text."""
    i = text.index(needle)
    line = text.count("\n", 0, i) + 1
    return line, i - (text.rfind("\n", 0, i) + 1) + 1


def t_zone_errors():
    missing = os.path.join(S.setup.dir, "no-such.zone")
    broken = os.path.join(S.setup.dir, "broken.json")

    def edit(conf):
        conf["zones"][0]["file"] = missing
    S.setup.write(S.backends.port, edit=edit, path=broken)
    with open(broken) as f:
        text = f.read()
    line, col = zone_pos(text, json.dumps(missing))
    want = "%s:%d:%d: $.zones[0].file: %s: cannot open: No such file or directory" % (
        broken, line, col, missing)
    p = L.run_gslbd(["-c", broken, "--check"])
    R.check(p.returncode == 1 and want in p.stderr, "DOC-5",
            "--check of a config whose zone file is missing names the config entry "
            "(file:line:col)", "want: %s\ngot: %s" % (want, p.stderr))
    # the same through a reload of the running server: rejected, old data keeps serving
    conf = S.setup.conf
    with open(conf) as f:
        good = f.read()
    S.setup.write(S.backends.port, edit=edit)
    with open(conf) as f:
        text = f.read()
    line, col = zone_pos(text, json.dumps(missing))
    want = "%s:%d:%d: $.zones[0].file: " % (conf, line, col)
    try:
        r = A.curl(S.setup.url("/api/v1/reload"), "POST", data="", token=A.TOKEN)
    finally:
        with open(conf, "w") as f:
            f.write(good)
    d = L.dig("mail.api.test", "A", S.setup.dns_port)
    R.check(r.status == 422 and want in ((r.json() or {}).get("error") or "") and
            d.rdatas("A") == ["192.0.2.25"], "DOC-5",
            "a reload with the zone file missing: 422 naming the config entry; the old zone "
            "keeps serving", r.brief() + "\nwant: " + want + "\n" + d.brief())
    zone = os.path.join(itest.REPO, "test", "data", "api", "api.test.zone")
    p = L.run_gslbd(["--zone", "api.test=" + zone, "--check"])
    R.check(p.returncode == 0 and "OK" in p.stdout, "DOC-6",
            "gslbd --zone ORIGIN=FILE --check works without --listen",
            "exit %d\n%s%s" % (p.returncode, p.stdout, p.stderr))


def main():
    R.plan(PLAN)
    try:
        S.backends = A.Backends().start()
        S.setup = A.Setup("apidoc")
        S.setup.write(S.backends.port)
        S.srv = S.setup.start("t_apidoc")
        t_schemas()
        t_reals()
        t_explain_health()
        t_zone_errors()
    except Exception:  # report, then stop the servers (atexit)
        R.fail("DOC-0", "t_apidoc raised", traceback.format_exc())
    finally:
        if S.srv is not None:
            S.srv.stop()
        if S.backends is not None:
            S.backends.stop()
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
