#!/usr/bin/env python3
"""t_ecs_scope.py: the ECS scope of nearest answers (docs/gslb-rules.md ECS-G1, LOC-3, POL-1;
docs/config.md geoip.ecs_scope) through a real gslbd with dig and kdig.

An answer from the client's nearest region carries the widest network whose clients all
have that nearest region (geoip.ecs_scope "nearest", the default); a failover answer keeps
the network with the same whole ranking, and failover follows great-circle order past the
nearest region (no datacenter limit). ecs_scope "ranking" gives the whole ranking's network
to every answer. A bad value is refused with file:line:col, at --check and at a reload
(the old config keeps serving). The database is test/data/geo/merge.txt, built at run time:
10.2.0.0/17 (Germany, no coordinates: the default order) and 10.2.128.0/17 (Frankfurt)
rank alike, a /17 each, and with 10.3.0.0/16 (no data: the default order) they make the
/15 whose clients are all nearest to eu-central; 10.1.0.0/16 (Ashburn, Washington, New
York) ranks us-east, eu-west, eu-central."""

import json
import os
import re
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
import t_gslb_lib as L  # noqa: E402

PLAN = 13
R = itest.Report("t_ecs_scope")
FRA, DUB, ASH = "192.0.2.1", "198.51.100.1", "203.0.113.1"
NAME = "www.scope.test"


class S:
    tmp = conf = port = srv = None


def write_conf(ecs_scope=None, raw=None):
    conf = {
        "listen": ["127.0.0.1:%d" % S.port],
        "workers": 1,
        "zones": [{"origin": "scope.test.", "file": os.path.join(S.tmp, "scope.test.zone")}],
        "log_level": "info",
        "regions": [
            {"name": "eu-central", "lat": 50.11, "lon": 8.68},
            {"name": "eu-west", "lat": 53.35, "lon": -6.26},
            {"name": "us-east", "lat": 39.04, "lon": -77.49},
        ],
        "clusters": [
            {"name": "fra", "region": "eu-central", "addresses": [FRA], "checks": []},
            {"name": "dub", "region": "eu-west", "addresses": [DUB], "checks": []},
            {"name": "ash", "region": "us-east", "addresses": [ASH], "checks": []},
        ],
        "services": [{"name": NAME, "policy": "nearest", "clusters": ["fra", "dub", "ash"],
                      "ttl": 30, "failover_ttl": 10}],
        "geoip": {"database": S.db},
        "state_file": os.path.join(S.tmp, "state.json"),
        "startup_wait_ms": 0,
    }
    if ecs_scope is not None:
        conf["geoip"]["ecs_scope"] = ecs_scope
    text = json.dumps(conf, indent=2) + "\n"
    if raw is not None:
        text = raw(text)
    with open(S.conf, "w") as f:
        f.write(text)


def setup():
    S.tmp = itest.tmpdir("gslbd-scope-")
    S.db = L.build_mmdb(os.path.join(itest.REPO, "test", "data", "geo", "merge.txt"),
                        os.path.join(S.tmp, "merge.mmdb"))
    with open(os.path.join(S.tmp, "scope.test.zone"), "w") as f:
        f.write("$ORIGIN scope.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 3600 600 86400 300\n"
                "@ IN NS ns1\nns1 IN A 192.0.2.53\n")
    S.port = itest.free_port(("127.0.0.1",))
    S.conf = os.path.join(S.tmp, "gslbd.json")
    write_conf()
    S.srv = itest.Gslbd("t_ecs_scope", ["-c", S.conf],
                        probe=("127.0.0.1", S.port, "scope.test.")).start()


def dig(subnet, tool="dig"):
    return L.dig(NAME, "A", S.port, subnet=subnet, tool=tool)


def expect(rid, desc, subnet, addr, scope, ttl, tool="dig"):
    r = dig(subnet, tool)
    R.check(r.status == "NOERROR" and r.rdatas("A") == [addr] and r.scope() == scope and
            r.ttls("A") == [ttl], rid, "%s: %s +subnet=%s -> %s, scope /%s, TTL %s" %
            (tool, desc, subnet, addr, scope, ttl), r.brief() + "\n" + r.text[-600:])


def set_admin(states):
    L.set_admin(S.conf, S.srv, states)


def steps():
    # nearest answers: the network of one nearest region, wider than the ranking's /17
    expect("ECS-G1", "10.2.0.5 is nearest to eu-central; the /15 around it all is", "10.2.0.5/24",
           FRA, 15, 30)
    if L.have_tool("kdig"):
        expect("ECS-G1", "the other /17 of the /15 (Frankfurt coordinates)", "10.2.200.0/24",
               FRA, 15, 30, tool="kdig")
    else:
        R.skip("ECS-G1", "kdig: the other /17 of the /15", "kdig not installed")
    expect("ECS-G1", "no data next door (default order, eu-central first) shares the /15",
           "10.3.7.0/24", FRA, 15, 30)
    expect("ECS-G1", "Ashburn, Washington, New York: one /16 nearest to us-east", "10.1.130.0/24",
           ASH, 16, 30)

    # failover answers: the whole ranking's network, and great-circle order past the nearest
    set_admin({"fra": "down"})
    expect("ECS-G1", "eu-central down: the failover answer keeps the ranking's /17",
           "10.2.0.5/24", DUB, 17, 10)
    set_admin({"fra": "auto", "ash": "down"})
    expect("LOC-3", "us-east down: an Ashburn client fails over to eu-west, its 2nd by distance "
           "(the default order would say eu-central)", "10.1.0.1/24", DUB, 16, 10)
    set_admin({"dub": "down"})
    expect("POL-1", "us-east and eu-west down: the 3rd by distance, eu-central", "10.1.0.1/24",
           FRA, 16, 10)
    set_admin({"ash": "auto", "dub": "auto"})
    expect("ECS-G1", "all up again: the /15 again", "10.2.0.5/24", FRA, 15, 30)

    # geoip.ecs_scope "ranking": every answer the whole ranking's network
    write_conf("ranking")
    ok = L.reload(S.srv)
    expect("ECS-G1", "ecs_scope \"ranking\" after a reload (%s): the ranking's /17" %
           ("reloaded" if ok else "NO reload"), "10.2.0.5/24", FRA, 17, 30)

    # a bad value: file:line:col, at --check and at a reload that keeps the old config
    write_conf(raw=lambda t: t.replace('"geoip": {', '"geoip": {\n    "ecs_scope": "widest",'))
    p = L.run_gslbd(["-c", S.conf, "--check"])
    out = p.stdout + p.stderr
    with open(S.conf) as f:
        line = 1 + f.read().split('"ecs_scope"')[0].count("\n")
    pos = re.search(re.escape(os.path.basename(S.conf)) + r":(\d+):(\d+):", out)
    R.check(p.returncode == 1 and pos is not None and int(pos.group(1)) == line and
            "ecs_scope" in out and "nearest" in out and "ranking" in out, "ECS-G1",
            "--check on ecs_scope \"widest\": exit 1, gslbd.json:%d:COL names the key and "
            "the allowed values" % line, "exit %s: %s" % (p.returncode, out))
    mark = S.srv.mark()
    S.srv.send(signal.SIGHUP)
    n = S.srv.wait_log(mark, r"reload rejected.*gslbd\.json:%d:\d+:" % line, 1, itest.slack(5.0))
    R.check(n >= 1, "ECS-G1", "SIGHUP with the bad value: reload rejected with file:line:col",
            S.srv.log_since(mark)[-800:])
    expect("ECS-G1", "the previous config keeps serving (ranking)", "10.2.0.5/24", FRA, 17, 30)


def main():
    R.plan(PLAN)
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        R.fail("ECS-G1", "setup: build the database, write the config, start gslbd",
               "%s\n%s" % (e, traceback.format_exc()))
        return R.finish()
    try:
        steps()
    except Exception as e:  # noqa: BLE001
        R.fail("ECS-G1", "raised %s" % type(e).__name__, "%s\n%s" % (e, traceback.format_exc()))
    alive = S.srv.alive()
    rc = S.srv.stop()
    R.check(alive and rc == 0, "ECS-G1", "gslbd ran the whole test and stopped with exit 0",
            "alive %s exit %s; log:\n%s" % (alive, rc, S.srv.log_tail()))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
