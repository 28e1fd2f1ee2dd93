#!/usr/bin/env python3
"""t_gslb.py: GeoDNS integration tests (docs/gslb-rules.md LOC, POL, TTL-G, ECS-G, EXP and
docs/protocol.md ECS-*, CN-4) through a real gslbd on loopback, asked with dig, kdig and
dnsq.py. The GeoIP database is built at run time from test/data/gslb/networks.txt with
geo/mkmmdb.pl; the config is test/data/gslb/gslb.json with paths and ports filled in.
Admin states are changed with `gslbd --admin` + SIGHUP. Also t_geo_compat: the same daemon
on MaxMind's GeoIP2-City-Test.mmdb (used in place) when it is present beside the checkout
(../shared/geoip, or $GSLBD_GEOIP_DIR); its checks are reported as skips otherwise.
Prints `ok ID ...` / `not ok ID ...`; every server it starts is stopped (itest.py)."""

import json
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import itest  # noqa: E402
import t_gslb_lib as L  # noqa: E402

R = itest.Report("t_gslb")
# The number of checks main() reports, whatever the environment: a check that cannot
# run here (no IPv6, no kdig, no MaxMind data, not root) is reported as a skip.
PLAN = 191
COMPAT_DB = os.path.join(itest.GEOIP_DIR, "GeoIP2-City-Test.mmdb")
NO_KDIG = "kdig not installed (knot-dnsutils)"

# What each region answers for api.gslb.test (clusters fra-a, fra-b, dub-a, ash-a, tok-a)
API_A = {
    "eu-central": {"192.0.2.1", "192.0.2.2"},
    "eu-west": {"198.51.100.1"},
    "us-east": {"203.0.113.1"},
    "ap-east": {"203.0.113.65"},
}
API_AAAA = {
    "eu-central": {"2001:db8:f::1", "2001:db8:f::2"},
    "eu-west": {"2001:db8:d::1"},
    "us-east": {"2001:db8:a::1"},
    "ap-east": set(),  # tok-a has no IPv6 address: NODATA
}


class S:
    """Run state."""
    port = None
    v6 = False
    conf = None
    state = None
    srv = None
    tmp = None


def region_of(addr_set, table):
    for reg, s in table.items():
        if addr_set and addr_set <= s:
            return reg
    return None


# ---------------------------------------------------------------------------------------
# setup


def start(name="t_gslb"):
    S.srv = itest.Gslbd(name, ["-c", S.conf], probe=("127.0.0.1", S.port, "gslb.test.")).start()
    return S.srv


def setup():
    S.tmp = itest.tmpdir("gslbd-gslb-")
    db = L.build_mmdb(os.path.join(L.GDATA, "networks.txt"), os.path.join(S.tmp, "test.mmdb"))
    S.v6 = itest.have_ipv6()
    S.port = itest.free_port(("127.0.0.1", "::1") if S.v6 else ("127.0.0.1",))
    listen = ["127.0.0.1:%d" % S.port] + (["[::1]:%d" % S.port] if S.v6 else [])
    S.state = os.path.join(S.tmp, "state.json")
    S.conf = L.write_gslb_config(os.path.join(S.tmp, "gslb.json"), listen, db, S.state)
    start()


def set_admin(states):
    L.set_admin(S.conf, S.srv, states)


def dig(name, qtype, subnet=None, tool="dig", server="127.0.0.1"):
    return L.dig(name, qtype, S.port, subnet=subnet, tool=tool, server=server)


def ask(name, qtype="A", ecs=None, host="127.0.0.1", edns=True):
    return L.ask(S.port, name, qtype, ecs=ecs, host=host, edns=edns)


def sample(name, qtype, ecs, n):
    """n queries (pipelined); returns {answer tuple: count}, ttl set, scope set, lost, rcodes."""
    counts, lost, _ = L.blast(S.port, name, qtype, [ecs], n, window=64, nsock=2)
    ans, ttls, scopes, rcodes = {}, set(), set(), set()
    for (_, key), k in counts.items():
        if key[0] == "malformed":
            rcodes.add("malformed")
            continue
        rcode, a, t, sc = key
        ans[a] = ans.get(a, 0) + k
        ttls.update(t)
        scopes.add(sc)
        rcodes.add(rcode)
    return ans, ttls, scopes, lost, rcodes


# ---------------------------------------------------------------------------------------
# LOC-1, LOC-3, POL-1, ECS-G1: region and scope per client network

# (ECS, where, region, scope, why the scope)
V4_CLIENTS = [
    ("10.1.0.0/24", "Frankfurt", "eu-central", 19,
     "the MMDB leaf holding 10.1.0.0 is 10.1.0.0/19: the /16 is split by nested /24s"),
    ("10.1.200.0/24", "Frankfurt", "eu-central", 17, "MMDB leaf 10.1.128.0/17"),
    ("10.4.5.0/24", "Munich", "eu-central", 16, "MMDB /16"),
    ("172.16.9.0/24", "Vienna", "eu-central", 16, "MMDB /16"),
    ("10.2.3.0/24", "Dublin", "eu-west", 16, "MMDB /16"),
    ("10.2.3.4/32", "Dublin", "eu-west", 16, "MMDB /16 (scope below source)"),
    ("10.5.1.0/24", "London", "eu-west", 17,
     "MMDB /16 narrowed to /17 to keep the nets entry 10.5.128.0/17 (ap-east) out"),
    ("172.17.0.0/24", "Edinburgh", "eu-west", 16, "MMDB /16"),
    ("10.1.99.0/24", "Dublin office inside the Frankfurt /16", "eu-west", 24,
     "MMDB /24 nested in a /16"),
    ("10.1.96.0/20", "Frankfurt /20 holding the Dublin /24", "eu-central", 23,
     "MMDB leaf 10.1.96.0/23: scope over source (ECS-6)"),
    ("10.3.200.0/24", "Ashburn", "us-east", 16, "MMDB /16"),
    ("10.6.0.0/24", "New York", "us-east", 16, "MMDB /16"),
    ("172.18.77.0/24", "Chicago", "us-east", 16, "MMDB /16"),
    ("10.7.1.0/24", "Tokyo", "ap-east", 16, "MMDB /16"),
    ("172.19.0.0/24", "Seoul", "ap-east", 16, "MMDB /16"),
]

V6_CLIENTS = [
    ("2001:db8:2::/48", "Dublin", "eu-west", 48, "MMDB /48"),
    ("2001:db8:2:1::/64", "Dublin", "eu-west", 48, "MMDB /48"),
    ("2001:db8:1:5::/64", "Frankfurt", "eu-central", 49,
     "MMDB /48 narrowed to /49 to keep the nets entry 2001:db8:1:ff00::/56 out"),
    ("2001:db8:3:77::/64", "Boston", "us-east", 48, "MMDB /48"),
    ("2001:db8:7::/56", "Osaka", "ap-east", 48, "MMDB /48"),
]


def check_client(rid, ecs, where, region, qtype="A", tool="dig", server="127.0.0.1"):
    """dig/kdig api.gslb.test with +subnet=ecs; checks the region; returns the result."""
    table = API_A if qtype == "A" else API_AAAA
    r = dig("api.gslb.test", qtype, ecs, tool=tool, server=server)
    got = set(r.rdatas(qtype))
    want = table[region]
    if want:
        ok = r.status == "NOERROR" and len(got) == 1 and got <= want and len(r.answer) == 1
        what = "%s (one of %s)" % (region, sorted(want))
    else:
        ok = r.status == "NOERROR" and not r.answer and any(a[3] == "SOA" for a in r.authority)
        what = "%s: NODATA (its cluster has no %s)" % (region, qtype)
    R.check(ok, rid, "%s api %s +subnet=%s (%s) -> %s" % (tool, qtype, ecs, where, what),
            lambda: r.text)
    return r


def t_locations():
    kd = L.have_tool("kdig")
    kdig_bad = []
    for ecs, where, region, scope, why in V4_CLIENTS:
        r = check_client("LOC-3", ecs, where, region)
        R.check(r.scope() == scope, "ECS-G1", "scope for %s (%s) is %d: %s" % (
            ecs, where, scope, why), "got CLIENT-SUBNET %s" % (r.ecs,))
        if kd:
            k = dig("api.gslb.test", "A", ecs, tool="kdig")
            if not (k.status == "NOERROR" and set(k.rdatas("A")) <= API_A[region]
                    and len(k.rdatas("A")) == 1 and k.scope() == scope):
                kdig_bad.append("%s: %s" % (ecs, k.text))
    if kd:
        R.check(not kdig_bad, "LOC-1", "kdig +subnet from %d IPv4 client networks: same "
                "regions and scopes as dig" % len(V4_CLIENTS), "\n".join(kdig_bad)[:3000])
    else:
        R.skip("LOC-1", "kdig +subnet from IPv4 client networks: same as dig", NO_KDIG)
    # LOC-1: the ECS address decides, not the packet source (127.0.0.1 -> us-east default)
    r = dig("api.gslb.test", "A", "10.2.3.0/24")
    R.check(set(r.rdatas("A")) == API_A["eu-west"], "LOC-1",
            "a query from 127.0.0.1 with ECS 10.2.3.0/24 is answered for Dublin (eu-west), "
            "not for its source address (us-east)", lambda: r.text)
    # POL-1 over distance: Munich (no cluster in Munich) -> nearest region eu-central
    seen = set()
    for i in range(40):
        m = ask("api.gslb.test.", "A", ("10.4.%d.0" % i, 24))
        if m is not None:
            seen.update(L.addrs(m, "A"))
    R.check(seen == API_A["eu-central"], "POL-1", "Munich clients (40 subnets) get the nearest "
            "region eu-central; both of its clusters answer (split)", "saw %s" % sorted(seen))

    # IPv6 ECS
    for ecs, where, region, scope, why in V6_CLIENTS:
        for qtype in ("AAAA", "A"):
            r = check_client("LOC-3", ecs, where, region, qtype=qtype)
            if qtype == "AAAA" or region == "ap-east":
                R.check(r.scope() == scope, "ECS-G1", "IPv6 scope for %s %s (%s) is %d: %s" % (
                    ecs, qtype, where, scope, why), "got CLIENT-SUBNET %s" % (r.ecs,))
    if S.v6:
        r = check_client("LOC-1", "2001:db8:2::/48", "Dublin, asked over ::1", "eu-west",
                         qtype="AAAA", server="::1")
        r = check_client("LOC-1", "10.3.200.0/24", "Ashburn IPv4 ECS, asked over ::1",
                         "us-east", qtype="AAAA", server="::1")
        if kd:
            check_client("LOC-1", "2001:db8:3:77::/64", "Boston", "us-east", qtype="AAAA",
                         tool="kdig", server="::1")
        else:
            R.skip("LOC-1", "kdig AAAA over ::1 (Boston)", NO_KDIG)
    else:
        R.skip("LOC-1", "dig/kdig AAAA asked over ::1 (Dublin, Ashburn, Boston)", itest.NO_V6,
               n=3)


# ---------------------------------------------------------------------------------------
# LOC-5 default ranking, LOC-2 nets, LOC-4 pins


def t_default():
    r = dig("api.gslb.test", "A")
    R.check(r.status == "NOERROR" and set(r.rdatas("A")) == API_A["us-east"] and r.ecs is None,
            "LOC-5", "no ECS, from 127.0.0.1 (not in the database): default order, first "
            "us-east -> 203.0.113.1; no ECS option in the response (ECS-4)", lambda: r.text)
    if S.v6:
        r = dig("api.gslb.test", "AAAA", server="::1")
        R.check(set(r.rdatas("AAAA")) == API_AAAA["us-east"], "LOC-5", "no ECS, from ::1: "
                "default order -> us-east 2001:db8:a::1", lambda: r.text)
    else:
        R.skip("LOC-5", "no ECS, from ::1: default order", itest.NO_V6)
    r = dig("api.gslb.test", "A", "10.99.1.0/24")
    R.check(set(r.rdatas("A")) == API_A["us-east"] and r.scope() == 10, "LOC-5",
            "ECS 10.99.1.0/24 (no record): default order -> us-east, scope 10 (the empty "
            "network 10.64.0.0/10 around it)", lambda: r.text)
    r = dig("api.gslb.test", "A", "10.14.7.0/24")
    R.check(set(r.rdatas("A")) == API_A["us-east"] and r.scope() == 15, "LOC-5",
            "ECS 10.14.7.0/24 (a record without any location): default order -> us-east, "
            "scope 15 (10.15.0.0/16 has no record: nearest to us-east too)", lambda: r.text)
    r = dig("api.gslb.test", "A", "192.168.1.0/24")
    R.check(set(r.rdatas("A")) == API_A["us-east"], "LOC-5",
            "ECS 192.168.1.0/24 (private, unknown): default order -> us-east", lambda: r.text)
    r = dig("www.gslb.test", "A")
    R.check(r.rdatas("A") == ["203.0.113.1"], "LOC-5", "www without ECS from 127.0.0.1: "
            "us-east (ash-a)", lambda: r.text)


NETS = [
    ("10.20.5.0/24", "not in the database; nets 10.20.0.0/16", "ap-east", 16,
     "the nets entry's /16"),
    ("10.1.42.0/24", "database says Dublin /24; nets 10.1.40.0/21 wins", "us-east", 22,
     "nets /21 narrowed to /22 to keep its nested /24 of another region out"),
    ("10.1.44.0/24", "nested nets 10.1.44.0/24 inside nets 10.1.40.0/21", "eu-west", 24,
     "the longest nets entry's /24"),
    ("10.5.200.0/24", "nets 10.5.128.0/17 inside the database's London /16", "ap-east", 17,
     "the nets entry's /17"),
    ("2001:db8:1:ff00::/56", "nets 2001:db8:1:ff00::/56 inside the Frankfurt /48", "ap-east",
     56, "the nets entry's /56"),
]


def t_nets():
    for ecs, where, region, scope, why in NETS:
        r = check_client("LOC-2", ecs, where, region)
        R.check(r.scope() == scope, "ECS-G1", "nets: scope for %s is %d (%s)" % (
            ecs, scope, why), "got CLIENT-SUBNET %s" % (r.ecs,))
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1", "10.20.5.0/24")
    loc = (j or {}).get("location", {})
    R.check(j is not None and loc.get("source") == "nets" and loc.get("network_prefix") == 16
            and j["decision"]["cluster"] == "tok-a", "LOC-2",
            "--explain for 10.20.5.0/24: location source 'nets', network_prefix 16, tok-a",
            raw)


PINS = [
    ("10.10.0.0/24", "Zurich (nearest eu-central; country:CH pinned)", "eu-west", "country",
     True),
    ("10.9.0.0/24", "Sydney (nearest ap-east; continent:OC pinned)", "us-east", "continent",
     True),
    ("10.11.0.0/24", "JP record without coordinates (country:JP pin)", "ap-east", "country",
     False),
    ("10.12.0.0/24", "SA record without coordinates (continent:SA pin)", "eu-west",
     "continent", False),
]


def t_pins():
    for ecs, where, region, source, coords in PINS:
        r = check_client("LOC-4", ecs, where, region)
        # the nearest region answers: the widest network nearest to it (10.8.0.0/16 has no
        # record, default order: us-east first, like pinned Sydney next door)
        want = 15 if ecs.startswith("10.9.") else 16
        R.check(r.scope() == want, "ECS-G1", "pinned %s: scope %d (MMDB /16%s)" %
                (ecs, want, ", merged with 10.8.0.0/16" if want == 15 else ""),
                "got CLIENT-SUBNET %s" % (r.ecs,))
        j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1", ecs)
        ok = j is not None and j["location"].get("source") == source and \
            j["regions"][0]["name"] == region
        if ok and coords:
            # the pin overrides a different distance order
            d = {x["name"]: x.get("distance_km") for x in j["regions"]}
            nearest = min(d, key=lambda k: d[k] if d[k] is not None else 1e9)
            ok = nearest != region
        R.check(ok, "LOC-4", "--explain %s: source '%s', first region %s%s" % (
            ecs, source, region, " although another region is nearer" if coords else ""), raw)


# ---------------------------------------------------------------------------------------
# ECS-3, ECS-7, ECS-G1 (single region, weighted, failover), ECS-G2


def ecs_of(m):
    return None if m is None or m.opt is None else m.opt.ecs()


def echo_ok(m, fam, src, addr):
    e = ecs_of(m)
    if e is None:
        return False
    want = dnsq.ecs_option(fam, src, 0, addr)[1][4:]
    return e["family"] == fam and e["source"] == src and e["addr"] == want


def t_ecs():
    cases = [
        ("api.gslb.test.", "A", (1, 24, "10.2.3.0"), "NOERROR"),
        ("api.gslb.test.", "A", (1, 32, "10.2.3.4"), "NOERROR"),
        ("api.gslb.test.", "A", (1, 20, "10.1.96.0"), "NOERROR"),
        ("api.gslb.test.", "AAAA", (2, 56, "2001:db8:2:100::"), "NOERROR"),
        ("api.gslb.test.", "A", (2, 48, "2001:db8:7::"), "NOERROR"),
        ("nope.gslb.test.", "A", (1, 24, "10.2.3.0"), "NXDOMAIN"),
        ("static.gslb.test.", "AAAA", (2, 64, "2001:db8:2:1::"), "NOERROR"),
    ]
    for name, qt, ecs, rc in cases:
        m = ask(name, qt, ecs)
        R.check(m is not None and dnsq.rcode_text(m.rcode) == rc and echo_ok(m, *ecs), "ECS-3",
                "%s %s ECS %s/%d: %s with FAMILY, SOURCE, ADDRESS echoed" % (
                    name, qt, ecs[2], ecs[1], rc), lambda: L.describe(m))

    # ECS-7: SOURCE 0 -> the packet source decides (127.0.0.1: default), scope 0
    m = ask("api.gslb.test.", "A", (1, 0, "0.0.0.0"))
    e = ecs_of(m)
    R.check(m is not None and L.addrs(m, "A") == ["203.0.113.1"] and e is not None and
            e["scope"] == 0 and e["source"] == 0 and e["family"] == 1, "ECS-7",
            "IPv4 ECS SOURCE 0: answered by the packet source (default -> us-east), scope 0",
            lambda: L.describe(m))
    if S.v6:
        m = ask("api.gslb.test.", "AAAA", (2, 0, "::"), host="::1")
        e = ecs_of(m)
        R.check(m is not None and L.addrs(m, "AAAA") == ["2001:db8:a::1"] and e is not None
                and e["scope"] == 0 and e["family"] == 2, "ECS-7",
                "IPv6 ECS SOURCE 0 over ::1: default -> us-east AAAA, scope 0",
                lambda: L.describe(m))
    else:
        R.skip("ECS-7", "IPv6 ECS SOURCE 0 over ::1", itest.NO_V6)
    r = dig("api.gslb.test", "A", "0.0.0.0/0")
    R.check(r.rdatas("A") == ["203.0.113.1"] and r.ecs == ("0.0.0.0", 0, 0), "ECS-7",
            "dig +subnet=0.0.0.0/0: scope 0, answer for 127.0.0.1 (us-east)", lambda: r.text)
    r = dig("alias.gslb.test", "A", "0.0.0.0/0")
    R.check(r.rdatas("A") == ["203.0.113.1"] and r.scope() == 0, "ECS-7",
            "dig +subnet=0.0.0.0/0 on a CNAME to a service: scope 0", lambda: r.text)

    # ECS-G1: networks that answer alike are merged at load; the scope is the merged one
    # Frankfurt splits 50/50 between fra-a and fra-b: compare with the set of its answers
    fra = {tuple(dig("api.gslb.test", "A", "10.1.3.0/24").rdatas("A")) for _ in range(12)}
    for sub in ("10.21.1.0/24", "10.21.200.0/24"):
        r = dig("api.gslb.test", "A", sub)
        R.check(tuple(r.rdatas("A")) in fra and r.scope() == 16, "ECS-G1",
                "dig +subnet=%s: two /17 records that rank alike answer with scope 16 (the "
                "merged network), one of Frankfurt's answers" % sub,
                lambda: "%s\nFrankfurt: %s" % (r.text, sorted(fra)))

    # ECS-G1: services whose answer does not depend on the address
    for name, why in (("fra.gslb.test", "nearest, but every cluster in one region"),
                      ("portal.gslb.test", "weighted"), ("claims.gslb.test", "failover"),
                      ("v4only.gslb.test", "nearest with one cluster")):
        bad = []
        for ecs in ("10.2.3.0/24", "10.7.1.0/24", "2001:db8:3::/48"):
            r = dig(name, "A", ecs)
            if r.status != "NOERROR" or not r.rdatas("A") or r.scope() != 0:
                bad.append(r.text)
        R.check(not bad, "ECS-G1", "%s (%s): scope 0 for Dublin, Tokyo and Boston clients" % (
            name, why), "\n".join(bad)[:3000])

    # ECS-G2: static data, negative answers
    for name, qt, what, status in (("static.gslb.test", "A", "static A record", "NOERROR"),
                                   ("api.gslb.test", "TXT", "static TXT at a service name",
                                    "NOERROR"),
                                   ("api.gslb.test", "MX", "NODATA at a service name",
                                    "NOERROR"),
                                   ("static.gslb.test", "AAAA", "NODATA from the zone",
                                    "NOERROR"),
                                   ("nope.gslb.test", "A", "NXDOMAIN", "NXDOMAIN"),
                                   ("gslb.test", "SOA", "SOA at the apex", "NOERROR"),
                                   ("gslb.test", "NS", "NS at the apex", "NOERROR")):
        r = dig(name, qt, "10.2.3.0/24")
        R.check(r.status == status and r.ecs == ("10.2.3.0", 24, 0), "ECS-G2",
                "%s %s (%s) with ECS 10.2.3.0/24: %s, scope 0" % (name, qt, what, status),
                lambda: r.text)

    # ECS-G1 for an IPv4-mapped IPv6 ECS address: the location is the IPv4 network, and the
    # scope must be in the option's family (IPv6): 96 + 16 = 112, not 16 (which would
    # claim the answer for all of ::/16)
    m = ask("api.gslb.test.", "A", (2, 120, "::ffff:10.2.3.0"))
    e = ecs_of(m)
    R.check(m is not None and L.addrs(m, "A") == ["198.51.100.1"], "LOC-1",
            "ECS ::ffff:10.2.3.0/120 (IPv4-mapped) is located as 10.2.3.0 (Dublin)",
            lambda: L.describe(m))
    R.check(e is not None and e["family"] == 2 and e["scope"] == 112, "ECS-G1",
            "ECS ::ffff:10.2.3.0/120: scope 112 (the /16 expressed in the IPv6 family)",
            lambda: "got ECS %s\n%s" % (e, L.describe(m)))


# ---------------------------------------------------------------------------------------
# TTL-G1 (TTL-G2 is checked with admin states and --explain below)


def t_ttl():
    for name, ecs, want, ttl, why in (
            ("api.gslb.test", "10.2.3.0/24", {"198.51.100.1"}, 60, "service ttl 60"),
            ("www.gslb.test", "10.2.3.0/24", {"198.51.100.1"}, 30, "default ttl 30"),
            ("www.gslb.test", "10.4.1.0/24", {"192.0.2.1"}, 30, "default ttl 30"),
            ("eu.gslb.test", "10.3.200.0/24", {"198.51.100.1"}, 45,
             "Ashburn: eu-west is the first-ranked region that has clusters of this "
             "service, so it is a primary answer: ttl 45"),
            ("eu.gslb.test", "172.19.0.0/24", {"192.0.2.1"}, 45,
             "Seoul: eu-central is nearer than eu-west: primary, ttl 45"),
            ("portal.gslb.test", "10.2.3.0/24", {"192.0.2.31", "203.0.113.31"}, 20,
             "weighted, ttl 20"),
            ("claims.gslb.test", "10.7.1.0/24", {"198.51.100.41"}, 30,
             "failover, first cluster, default ttl 30")):
        r = dig(name, "A", ecs)
        got = set(r.rdatas("A"))
        R.check(got and got <= want and r.ttls() == [ttl], "TTL-G1", "%s from %s -> %s: %s" % (
            name, ecs, sorted(want), why), lambda: r.text)
    r = dig("static.gslb.test", "A", "10.2.3.0/24")
    R.check(r.ttls() == [300], "TTL-G1", "static record keeps its zone TTL (300)",
            lambda: r.text)


# ---------------------------------------------------------------------------------------
# POL-5: AAAA handling and NODATA per family


def is_nodata(m):
    return (m is not None and m.rcode == 0 and not m.answer and m.aa and
            any(r.type == 6 for r in m.authority))


def t_families():
    m = ask("api.gslb.test.", "AAAA", ("10.2.3.0", 24))
    R.check(m is not None and [r.type for r in m.answer] == [28] and
            L.addrs(m, "AAAA") == ["2001:db8:d::1"], "POL-5",
            "api AAAA (Dublin): only dub-a's AAAA 2001:db8:d::1, no A records",
            lambda: L.describe(m))
    m = ask("api.gslb.test.", "A", ("10.2.3.0", 24))
    R.check(m is not None and [r.type for r in m.answer] == [1] and
            L.addrs(m, "A") == ["198.51.100.1"], "POL-5",
            "api A (Dublin): only dub-a's A 198.51.100.1", lambda: L.describe(m))
    m = ask("api.gslb.test.", "AAAA", ("10.7.1.0", 24))
    e = ecs_of(m)
    R.check(is_nodata(m) and e is not None and e["scope"] == 16, "POL-5",
            "api AAAA (Tokyo: tok-a has IPv4 only): NODATA (NOERROR, SOA in authority); scope "
            "16 since a Dublin client would get an address", lambda: L.describe(m))
    m = ask("mixed.gslb.test.", "A", ("10.2.3.0", 24))
    R.check(is_nodata(m), "POL-5", "mixed A (Dublin: dub-v6 has IPv6 only): NODATA",
            lambda: L.describe(m))
    m = ask("mixed.gslb.test.", "AAAA", ("10.2.3.0", 24))
    R.check(m is not None and L.addrs(m, "AAAA") == ["2001:db8:d::6"], "POL-5",
            "mixed AAAA (Dublin): 2001:db8:d::6", lambda: L.describe(m))
    m = ask("mixed.gslb.test.", "A", ("10.7.1.0", 24))
    R.check(m is not None and L.addrs(m, "A") == ["203.0.113.65"], "POL-5",
            "mixed A (Tokyo): 203.0.113.65", lambda: L.describe(m))
    m = ask("v4only.gslb.test.", "AAAA", ("10.2.3.0", 24))
    e = ecs_of(m)
    R.check(is_nodata(m) and e is not None and e["scope"] == 0, "POL-5",
            "v4only AAAA: NODATA, scope 0 (one cluster: the same for everyone)",
            lambda: L.describe(m))
    r = dig("api.gslb.test", "TXT", "10.2.3.0/24")
    R.check(r.status == "NOERROR" and r.rdatas("TXT") == ['"gslb service api"'], "POL-5",
            "TXT at a service name comes from the zone", lambda: r.text)
    m = ask("mixed.gslb.test.", "AAAA", ("2001:db8:7::", 48))
    R.check(is_nodata(m), "POL-5", "mixed AAAA (Osaka, IPv6 ECS): NODATA",
            lambda: L.describe(m))


# ---------------------------------------------------------------------------------------
# CN-4: CNAME to a service


def t_cname():
    r = dig("alias.gslb.test", "A", "10.2.3.0/24")
    want = [("alias.gslb.test.", "CNAME", "api.gslb.test."),
            ("api.gslb.test.", "A", "198.51.100.1")]
    got = [(a[0], a[3], a[4].lower()) for a in r.answer]
    R.check(r.status == "NOERROR" and got == want and r.scope() == 16 and
            r.answer[1][1] == 60, "CN-4", "alias A (CNAME to api), Dublin ECS: CNAME + the "
            "service's A (ttl 60) in one answer, scope 16 covers the whole answer",
            lambda: r.text)
    r = dig("alias.gslb.test", "A", "10.7.1.0/24")
    R.check(r.rdatas("A") == ["203.0.113.65"] and r.rdatas("CNAME") == ["api.gslb.test."]
            and r.scope() == 16, "CN-4", "alias A, Tokyo ECS: CNAME + 203.0.113.65, scope 16",
            lambda: r.text)
    r = dig("alias2.gslb.test", "A", "10.3.200.0/24")
    got = [(a[0], a[3], a[4].lower()) for a in r.answer]
    R.check(got == [("alias2.gslb.test.", "CNAME", "alias.gslb.test."),
                    ("alias.gslb.test.", "CNAME", "api.gslb.test."),
                    ("api.gslb.test.", "A", "203.0.113.1")] and r.scope() == 16, "CN-4",
            "alias2 -> alias -> api, Ashburn ECS: both CNAMEs + 203.0.113.1, scope 16",
            lambda: r.text)
    r = dig("alias.gslb.test", "AAAA", "10.7.1.0/24")
    R.check(r.status == "NOERROR" and r.rdatas("CNAME") == ["api.gslb.test."] and
            not r.rdatas("AAAA") and any(a[3] == "SOA" for a in r.authority) and
            r.scope() == 16, "CN-4", "alias AAAA, Tokyo ECS: CNAME then NODATA for the "
            "service (tok-a has no IPv6), scope 16", lambda: r.text)
    r = dig("alias.gslb.test", "AAAA", "2001:db8:1:5::/64")
    R.check(set(r.rdatas("AAAA")) <= API_AAAA["eu-central"] and len(r.rdatas("AAAA")) == 1 and
            r.scope() == 49, "CN-4", "alias AAAA, Frankfurt IPv6 ECS: CNAME + eu-central "
            "AAAA, scope 49", lambda: r.text)
    if L.have_tool("kdig"):
        k = dig("alias.gslb.test", "A", "10.2.3.0/24", tool="kdig")
        R.check(k.rdatas("A") == ["198.51.100.1"] and k.rdatas("CNAME") == ["api.gslb.test."]
                and k.scope() == 16, "CN-4", "kdig alias A, Dublin ECS: same answer and scope",
                lambda: k.text)
    else:
        R.skip("CN-4", "kdig alias A, Dublin ECS", NO_KDIG)


# ---------------------------------------------------------------------------------------
# EXP-1


def norm_rr(text):
    p = text.split(None, 4)
    return (p[0].lower(), int(p[1]), p[2], p[3], p[4].strip().lower()) if len(p) == 5 else text


def explain_matches_dig(j, r):
    """The explain response against what dig got: rcode, answer, authority, ECS scope."""
    resp = j.get("response", {})
    ea = sorted(norm_rr(x) for x in resp.get("answer", []))
    da = sorted((a[0], a[1], a[2], a[3], a[4].lower()) for a in r.answer)
    eau = sorted(norm_rr(x) for x in resp.get("authority", []))
    dau = sorted((a[0], a[1], a[2], a[3], a[4].lower()) for a in r.authority)
    scope_ok = j.get("decision") is None or r.ecs is None or \
        j["decision"].get("ecs_scope") == r.scope()
    return resp.get("rcode") == r.status and ea == da and eau == dau and scope_ok


KEYS = {"query", "service", "policy", "location", "regions", "clusters", "decision",
        "response"}


def t_explain():
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1", "10.2.3.0/24")
    ok = j is not None and KEYS <= set(j)
    R.check(ok, "EXP-1", "--explain api A 127.0.0.1 10.2.3.0/24: JSON with query, service, "
            "policy, location, regions, clusters, decision, response", raw)
    if not ok:
        return
    loc = j["location"]
    R.check(j["policy"] == "nearest" and loc.get("address") == "10.2.3.0" and
            loc.get("source") == "coordinates" and loc.get("city") == "Dublin" and
            loc.get("country") == "IE" and loc.get("continent") == "EU" and
            abs(loc.get("lat", 0) - 53.35) < 0.01 and abs(loc.get("lon", 0) + 6.26) < 0.01 and
            loc.get("network_prefix") == 16, "EXP-1",
            "location: 10.2.3.0 from coordinates, Dublin IE EU 53.35,-6.26, network_prefix 16",
            json.dumps(loc))
    regs = j["regions"]
    dist = [x.get("distance_km") for x in regs]
    R.check([x["name"] for x in regs] == ["eu-west", "eu-central", "us-east", "ap-east"] and
            [x["rank"] for x in regs] == [1, 2, 3, 4] and None not in dist and
            dist == sorted(dist) and dist[0] < 1 and 1000 < dist[1] < 1200, "EXP-1",
            "regions ranked by distance: eu-west 0 km, eu-central ~1090 km, us-east, ap-east",
            json.dumps(regs))
    cl = {c["name"]: c for c in j["clusters"]}
    R.check(set(cl) == {"fra-a", "fra-b", "dub-a", "ash-a", "tok-a"} and
            all({"region", "weight", "admin", "health", "addresses"} <= set(c)
                for c in cl.values()) and cl["dub-a"]["region"] == "eu-west" and
            cl["dub-a"]["admin"] == "auto" and cl["dub-a"]["health"] == "up" and
            cl["dub-a"]["weight"] == 1 and
            {a["address"] for a in cl["dub-a"]["addresses"]} == {"198.51.100.1",
                                                                 "2001:db8:d::1"},
            "EXP-1", "clusters: the service's five with region, weight, admin, health and "
            "addresses", json.dumps(j["clusters"]))
    d = j["decision"]
    R.check(d.get("cluster") == "dub-a" and d.get("reason") == "primary" and
            d.get("ttl") == 60 and d.get("ecs_scope") == 16 and d.get("ttl_reason") and
            d.get("scope_reason"), "EXP-1", "decision: dub-a, primary, ttl 60, ecs_scope 16",
            json.dumps(d))
    r = dig("api.gslb.test", "A", "10.2.3.0/24")
    R.check(explain_matches_dig(j, r), "EXP-1", "explain's response equals what dig gets for "
            "ECS 10.2.3.0/24 (rcode, answer, authority, scope)",
            lambda: "explain: %s\ndig: %s" % (json.dumps(j["response"]), r.text))

    # IPv6 ECS, AAAA
    j, raw = L.explain(S.conf, "api.gslb.test", "AAAA", "::1", "2001:db8:3:77::/64")
    r = dig("api.gslb.test", "AAAA", "2001:db8:3:77::/64")
    R.check(j is not None and j["decision"]["cluster"] == "ash-a" and
            explain_matches_dig(j, r), "EXP-1", "explain api AAAA ::1 2001:db8:3:77::/64 "
            "(Boston): ash-a; response equals dig's", lambda: "%s\n%s" % (raw, r.text))

    # no ECS: the client address decides
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1")
    r = dig("api.gslb.test", "A")
    R.check(j is not None and j["location"].get("source") == "default" and
            j["decision"]["cluster"] == "ash-a" and
            [x["name"] for x in j["regions"]] == ["us-east", "eu-west", "eu-central",
                                                  "ap-east"] and
            explain_matches_dig(j, r), "EXP-1", "explain api A 127.0.0.1 without ECS: source "
            "'default', regions in default_order, ash-a; response equals dig's",
            lambda: "%s\n%s" % (raw, r.text))
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "10.7.1.9")
    R.check(j is not None and j["location"].get("address") == "10.7.1.9" and
            j["decision"]["cluster"] == "tok-a", "EXP-1", "explain api A 10.7.1.9 (a Tokyo "
            "client address, no ECS): tok-a", raw)

    # --assume-down
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1", "10.2.3.0/24",
                       assume_down="dub-a")
    ok = j is not None
    if ok:
        d = j["decision"]
        cl = {c["name"]: c for c in j["clusters"]}
        ans = [norm_rr(x) for x in j["response"]["answer"]]
        ok = (d["cluster"] in ("fra-a", "fra-b") and d["reason"] == "failover" and
              d["ttl"] == 15 and d["ecs_scope"] == 16 and cl["dub-a"]["health"] == "down" and
              cl["dub-a"]["admin"] == "down" and len(ans) == 1 and ans[0][1] == 15 and
              ans[0][4] in API_A["eu-central"])
    R.check(ok, "EXP-1", "--assume-down dub-a (Dublin client): fra-a/fra-b, reason failover, "
            "ttl 15 (failover_ttl) in decision and answer; dub-a shown down", raw)
    R.check(ok, "TTL-G2", "api's answer from the second-ranked region carries failover_ttl 15 "
            "(--explain --assume-down dub-a)", raw)
    j, raw = L.explain(S.conf, "api.gslb.test", "A", "127.0.0.1", "10.2.3.0/24",
                       assume_down="fra-a,fra-b,dub-a,ash-a,tok-a")
    R.check(j is not None and j["decision"]["reason"] == "fail_open" and
            j["decision"]["cluster"] == "dub-a" and j["decision"]["ttl"] == 15 and
            [norm_rr(x)[4] for x in j["response"]["answer"]] == ["198.51.100.1"], "EXP-1",
            "--assume-down of every api cluster: fail_open, dub-a (nearest), ttl 15", raw)
    j, raw = L.explain(S.conf, "hs.gslb.test", "A", "127.0.0.1", "10.2.3.0/24",
                       assume_down="hs-fra,hs-dub")
    R.check(j is not None and j["decision"]["reason"] == "servfail" and
            j["decision"].get("cluster") is None and j["response"]["rcode"] == "SERVFAIL",
            "EXP-1", "--assume-down of every hs cluster (all_down servfail): reason servfail, "
            "response SERVFAIL", raw)
    # the assumption is not saved: the live server still answers dub-a
    r = dig("api.gslb.test", "A", "10.2.3.0/24")
    R.check(r.rdatas("A") == ["198.51.100.1"] and not os.path.exists(S.state), "EXP-1",
            "--assume-down changes nothing: no state file written, the server still answers "
            "dub-a", lambda: r.text)
    j, raw = L.explain(S.conf, "static.gslb.test", "A", "127.0.0.1", "10.2.3.0/24")
    r = dig("static.gslb.test", "A", "10.2.3.0/24")
    R.check(j is not None and j.get("service") is None and explain_matches_dig(j, r),
            "EXP-1", "explain on a static name: service null; response equals dig's", raw)


# ---------------------------------------------------------------------------------------
# POL-2 weighted, POL-4 split


def shares(counts):
    tot = {}
    for (_, key), n in counts.items():
        tot[key[1] if key[0] != "malformed" else ("malformed",)] = \
            tot.get(key[1] if key[0] != "malformed" else ("malformed",), 0) + n
    return tot


def t_weighted():
    clients = ([("10.2.%d.0" % i, 24) for i in range(16)] +
               [("10.3.%d.0" % i, 24) for i in range(16)] +
               [("10.7.%d.0" % i, 24) for i in range(16)] + [None])
    n = 40000
    counts, lost, el = L.blast(S.port, "portal.gslb.test.", "A", clients, n)
    tot = shares(counts)
    fra = tot.get(("192.0.2.31",), 0)
    ash = tot.get(("203.0.113.31",), 0)
    got = fra + ash
    share = 100.0 * fra / got if got else 0
    R.check(lost == 0 and got == n and abs(share - 75.0) <= 1.0, "POL-2",
            "portal (weighted 3:1) over %d queries from Dublin, Ashburn, Tokyo and no-ECS "
            "clients: w-fra %.2f%% (75 +- 1)" % (n, share),
            "lost %d, answers %s, %.1f s" % (lost, tot, el))
    per_group = {}
    for (ci, key), k in counts.items():
        g = "none" if clients[ci] is None else clients[ci][0].split(".")[1]
        per_group.setdefault(g, {}).setdefault(key[1], 0)
        per_group[g][key[1]] += k
    R.check(all(len(v) == 2 for v in per_group.values()), "POL-2",
            "every client group (Dublin, Ashburn, Tokyo, no ECS) gets both clusters: location "
            "is ignored", json.dumps({k: {",".join(a): c for a, c in v.items()}
                                      for k, v in per_group.items()}))
    scopes = {key[3] for (_, key) in counts if key[0] != "malformed"}
    ttls = {t for (_, key) in counts if key[0] != "malformed" for t in key[2]}
    R.check(scopes <= {0, None} and ttls == {20}, "ECS-G1",
            "weighted answers: scope 0, ttl 20", "scopes %s ttls %s" % (scopes, ttls))


SPLIT_CLIENTS = ([("10.2.%d.0" % i, 24) for i in range(32)] +
                 [("10.5.%d.0" % i, 24) for i in range(16)] +
                 [("172.17.%d.0" % i, 24) for i in range(16)])


def t_split():
    n = 100000
    counts, lost, el = L.blast(S.port, "split.gslb.test.", "A", SPLIT_CLIENTS, n)
    tot = shares(counts)
    a = tot.get(("198.51.100.71",), 0)
    b = tot.get(("198.51.100.72",), 0)
    other = sum(v for k, v in tot.items() if k not in (("198.51.100.71",), ("198.51.100.72",)))
    share = 100.0 * a / (a + b) if a + b else 0
    R.note("split: %d queries in %.1f s, sp-dub-a %d, sp-dub-b %d, other %d, lost %d" % (
        n, el, a, b, other, lost))
    R.check(lost == 0 and other == 0 and a + b == n and abs(share - 50.0) <= 1.0, "POL-4",
            "split (nearest, sp-dub-a/sp-dub-b weight 1/1 in eu-west) over %d queries from %d "
            "eu-west client subnets: sp-dub-a %.2f%% (50 +- 1), sp-ash never" % (
                n, len(SPLIT_CLIENTS), share), "answers %s, lost %d" % (tot, lost))
    per = {}
    for (ci, key), k in counts.items():
        per.setdefault(ci, set()).add(key[1])
    R.check(len(per) == len(SPLIT_CLIENTS) and all(len(v) == 2 for v in per.values()),
            "POL-4", "the pick is per query, not per client: each of the %d subnets got both "
            "clusters" % len(SPLIT_CLIENTS), repr({SPLIT_CLIENTS[k]: v for k, v in per.items()
                                                    if len(v) != 2}))
    ttls = {t for (_, key) in counts for t in key[2]}
    R.check(ttls == {30}, "TTL-G1", "split answers carry the default service ttl 30",
            "ttls %s" % ttls)
    scopes = {}
    for (ci, key), k in counts.items():
        scopes.setdefault(SPLIT_CLIENTS[ci][0].split(".")[0] + "." +
                          SPLIT_CLIENTS[ci][0].split(".")[1], set()).add(key[3])
    R.check(scopes == {"10.2": {16}, "10.5": {17}, "172.17": {16}}, "ECS-G1",
            "the random pick does not change the scope: 16 (Dublin, Edinburgh), 17 (London)",
            repr(scopes))

    set_admin({"sp-dub-a": "down"})
    n2 = 10000
    counts, lost, el = L.blast(S.port, "split.gslb.test.", "A", SPLIT_CLIENTS, n2)
    tot = shares(counts)
    ttls = {t for (_, key) in counts for t in key[2]}
    R.check(lost == 0 and tot == {("198.51.100.72",): n2}, "POL-4",
            "sp-dub-a down: sp-dub-b takes 100%% of %d queries (50/50 becomes 0/100)" % n2,
            "answers %s lost %d" % (tot, lost))
    R.check(ttls == {10}, "TTL-G2", "with a cluster of the answering region down, the "
            "answers carry failover_ttl 10", "ttls %s" % ttls)
    set_admin({"sp-dub-a": "auto"})
    ans, ttls, _, lost, _ = sample("split.gslb.test.", "A", ("10.2.3.0", 24), 400)
    R.check(set(ans) == {("198.51.100.71",), ("198.51.100.72",)} and ttls == {30}, "POL-7",
            "sp-dub-a back to auto: both clusters again, ttl 30", repr((ans, ttls)))


# ---------------------------------------------------------------------------------------
# POL-3 failover, POL-6, POL-7 (drain, restart), TTL-G2 with admin states


FRA = ("10.4.1.0", 24)
DUB = ("10.2.3.0", 24)
ASH = ("10.3.200.0", 24)


def one(name, ecs, qtype="A"):
    m = ask(name, qtype, ecs)
    if m is None:
        return None, None, m
    return L.addrs(m, qtype), sorted({r.ttl for r in m.answer}), m


def t_failover():
    bad = []
    for ecs in (("10.7.1.0", 24), ASH, DUB, None):
        a, t, m = one("claims.gslb.test.", ecs)
        if a != ["198.51.100.41"] or t != [30]:
            bad.append(L.describe(m))
    R.check(not bad, "POL-3", "claims (failover fo-dub, fo-fra, fo-ash): Tokyo, Ashburn, "
            "Dublin and no-ECS clients all get the first cluster fo-dub, ttl 30",
            "\n".join(bad))
    set_admin({"fo-dub": "down"})
    a, t, m = one("claims.gslb.test.", ASH)
    R.check(a == ["192.0.2.41"] and t == [10], "POL-3", "fo-dub down: the next in order, "
            "fo-fra (Frankfurt), even for an Ashburn client; ttl 10", L.describe(m))
    set_admin({"fo-fra": "down"})
    a, t, m = one("claims.gslb.test.", DUB)
    R.check(a == ["203.0.113.41"] and t == [10], "POL-3", "fo-dub and fo-fra down: fo-ash, "
            "even for a Dublin client; ttl 10", L.describe(m))
    set_admin({"fo-ash": "down"})
    a, t, m = one("claims.gslb.test.", DUB)
    R.check(a == ["198.51.100.41"] and t == [10], "POL-6", "failover service, everything "
            "down, fail_open (default): answered as if healthy -> fo-dub, ttl 10",
            L.describe(m))
    set_admin({"fo-dub": "auto", "fo-fra": "auto", "fo-ash": "auto"})
    a, t, m = one("claims.gslb.test.", DUB)
    R.check(a == ["198.51.100.41"] and t == [30], "POL-3", "all back to auto: fo-dub, ttl 30",
            L.describe(m))


def t_ha():
    ans, ttls, _, lost, _ = sample("ha.gslb.test.", "A", FRA, 400)
    R.check(set(ans) == {("192.0.2.51",), ("192.0.2.52",)} and ttls == {30}, "POL-1",
            "ha (nearest, defaults) from Munich: ha-fra-1 and ha-fra-2 split, ttl 30",
            repr((ans, ttls, lost)))

    set_admin({"ha-fra-1": "drain"})
    ans, ttls, _, lost, _ = sample("ha.gslb.test.", "A", FRA, 2000)
    R.check(ans == {("192.0.2.52",): 2000}, "POL-7", "ha-fra-1 drain: weight 0, ha-fra-2 "
            "takes all 2000 queries", repr((ans, lost)))
    R.check(ttls == {10}, "TTL-G2", "a drained cluster in the answering region: failover_ttl "
            "10 (default)", repr(ttls))
    m = ask("ha.gslb.test.", "AAAA", FRA)
    R.check(m is not None and L.addrs(m, "AAAA") == ["2001:db8:f::52"], "POL-7",
            "ha AAAA with ha-fra-1 drained: ha-fra-2's 2001:db8:f::52", lambda: L.describe(m))

    set_admin({"ha-fra-2": "down"})
    a, t, m = one("ha.gslb.test.", FRA)
    R.check(a == ["198.51.100.51"] and t == [10], "POL-7", "ha-fra-1 drained, ha-fra-2 down: "
            "the drained cluster stays unused while ha-dub (eu-west) is healthy",
            L.describe(m))
    R.check(a == ["198.51.100.51"] and t == [10], "POL-1", "no healthy undrained cluster in "
            "eu-central: the next region by distance, eu-west (ha-dub)", L.describe(m))
    R.check(t == [10], "TTL-G2", "answer from the second-ranked region: failover_ttl 10",
            L.describe(m))
    j, raw = L.explain(S.conf, "ha.gslb.test", "A", "127.0.0.1", "%s/%d" % FRA)
    r = dig("ha.gslb.test", "A", "%s/%d" % FRA)
    ok = j is not None and j["decision"]["cluster"] == "ha-dub" and \
        j["decision"]["reason"] == "failover" and explain_matches_dig(j, r)
    if ok:
        cl = {c["name"]: c for c in j["clusters"]}
        ok = cl["ha-fra-1"]["admin"] == "drain" and cl["ha-fra-2"]["admin"] == "down"
    R.check(ok, "EXP-1", "--explain reads the admin states from the state file: ha-fra-1 "
            "drain, ha-fra-2 down, decision ha-dub (failover); response equals dig's",
            lambda: "%s\n%s" % (raw, r.text))

    set_admin({"ha-dub": "down", "ha-ash": "down"})
    bad = []
    for ecs in (FRA, DUB, ASH):
        ans, ttls, _, lost, _ = sample("ha.gslb.test.", "A", ecs, 200)
        if ans != {("192.0.2.51",): 200} or ttls != {10}:
            bad.append("%s: %s %s" % (ecs, ans, ttls))
    R.check(not bad, "POL-7", "only the drained ha-fra-1 is healthy: it answers everyone "
            "(Munich, Dublin, Ashburn) before fail-open, ttl 10", "\n".join(bad))

    set_admin({"ha-fra-1": "down"})
    ans, ttls, _, lost, _ = sample("ha.gslb.test.", "A", FRA, 400)
    a2, t2, m2 = one("ha.gslb.test.", DUB)
    a3, t3, m3 = one("ha.gslb.test.", ASH)
    R.check(set(ans) == {("192.0.2.51",), ("192.0.2.52",)} and ttls == {10} and
            a2 == ["198.51.100.51"] and t2 == [10] and a3 == ["203.0.113.51"] and t3 == [10],
            "POL-6", "everything down, fail_open: answered as if all were healthy (Munich -> "
            "ha-fra-1/ha-fra-2 split, Dublin -> ha-dub, Ashburn -> ha-ash), ttl 10",
            "%s %s\n%s\n%s" % (ans, ttls, L.describe(m2), L.describe(m3)))
    m = ask("ha.gslb.test.", "AAAA", DUB)
    R.check(is_nodata(m), "POL-6", "fail_open AAAA for Dublin: ha-dub has no IPv6 -> NODATA",
            lambda: L.describe(m))

    # POL-7 kept across a restart: leave only ha-ash down
    set_admin({"ha-fra-1": "auto", "ha-fra-2": "auto", "ha-dub": "auto"})
    a, t, m = one("ha.gslb.test.", ASH)
    R.check(a == ["198.51.100.51"] and t == [10], "POL-1", "ha-ash down: the Ashburn client "
            "gets the next region by distance, eu-west (ha-dub), ttl 10", L.describe(m))
    try:
        with open(S.state) as f:
            saved = json.load(f)
    except (OSError, ValueError) as e:
        saved = repr(e)
    R.check(isinstance(saved, dict) and saved.get("clusters") == {"ha-ash": "down"} and
            str(saved.get("changed_by")).startswith("gslbd --admin by "), "POL-7",
            "the state file holds the non-auto states: {\"clusters\": {\"ha-ash\": \"down\"}}, "
            "and who wrote it", repr(saved))
    rc = S.srv.stop()
    R.check(rc == 0, "POL-7", "gslbd stops cleanly (exit 0) on SIGTERM", "exit %s" % rc)
    start("t_gslb-restarted")
    a, t, m = one("ha.gslb.test.", ASH)
    R.check(a == ["198.51.100.51"] and t == [10], "POL-7", "after a restart ha-ash is still "
            "down (read from the state file at start): Ashburn -> ha-dub", L.describe(m))
    set_admin({"ha-ash": "auto"})
    a, t, m = one("ha.gslb.test.", ASH)
    R.check(a == ["203.0.113.51"] and t == [30], "POL-7", "ha-ash auto + SIGHUP: Ashburn -> "
            "ha-ash again, ttl 30", L.describe(m))


def t_servfail():
    set_admin({"hs-fra": "down"})
    a, t, m = one("hs.gslb.test.", FRA)
    R.check(a == ["198.51.100.61"] and t == [10], "POL-1", "hs: hs-fra down -> Munich gets "
            "hs-dub (eu-west), ttl 10", L.describe(m))
    set_admin({"hs-dub": "down"})
    m = ask("hs.gslb.test.", "A", (1, 24, "10.4.1.0"))
    e = ecs_of(m)
    R.check(m is not None and dnsq.rcode_text(m.rcode) == "SERVFAIL" and not m.answer,
            "POL-6", "hs (all_down servfail), everything down: SERVFAIL, empty answer",
            lambda: L.describe(m))
    R.check(echo_ok(m, 1, 24, "10.4.1.0") and e["scope"] == 0, "ECS-G2",
            "the SERVFAIL echoes the ECS option (ECS-3) with scope 0", lambda: L.describe(m))
    r = dig("hs.gslb.test", "A", "10.2.3.0/24")
    R.check(r.status == "SERVFAIL" and r.scope() == 0, "POL-6", "dig sees SERVFAIL, scope 0",
            lambda: r.text)
    r = dig("alias.gslb.test", "A", "10.2.3.0/24")
    R.check(r.rdatas("A") == ["198.51.100.1"], "POL-6", "other services are unaffected "
            "(alias -> api still answers)", lambda: r.text)
    set_admin({"hs-fra": "auto", "hs-dub": "auto"})
    a, t, m = one("hs.gslb.test.", FRA)
    R.check(a == ["192.0.2.61"] and t == [30], "POL-6", "hs clusters back to auto: "
            "hs-fra, ttl 30", L.describe(m))


# ---------------------------------------------------------------------------------------
# t_geo_compat: MaxMind's GeoIP2-City-Test.mmdb, used in place


def compat_edit(conf):
    conf["regions"] = [{"name": "london", "lat": 51.5, "lon": -0.13},
                       {"name": "seattle", "lat": 47.6, "lon": -122.3},
                       {"name": "tokyo", "lat": 35.7, "lon": 139.7}]
    conf["clusters"] = [
        {"name": "c-lon", "region": "london", "addresses": ["192.0.2.91"], "checks": []},
        {"name": "c-sea", "region": "seattle", "addresses": ["203.0.113.91"], "checks": []},
        {"name": "c-tok", "region": "tokyo", "addresses": ["203.0.113.92"], "checks": []}]
    conf["services"] = [{"name": "api.gslb.test", "policy": "nearest",
                         "clusters": ["c-lon", "c-sea", "c-tok"]}]
    conf["geoip"] = {"database": COMPAT_DB, "default_order": ["tokyo", "seattle", "london"]}


def t_geo_compat():
    if not os.path.exists(COMPAT_DB):
        why = "%s not present" % COMPAT_DB
        for rid, n in (("LOC-3", 3), ("ECS-G1", 3), ("LOC-5", 1), ("EXP-1", 1)):
            R.skip(rid, "t_geo_compat: MaxMind's GeoIP2-City test database", why, n=n)
        return
    port = itest.free_port(("127.0.0.1",))
    conf = L.write_gslb_config(os.path.join(S.tmp, "compat.json"), ["127.0.0.1:%d" % port],
                               COMPAT_DB, os.path.join(S.tmp, "compat-state.json"),
                               edit=compat_edit)
    srv = itest.Gslbd("t_gslb-compat", ["-c", conf], probe=("127.0.0.1", port, "gslb.test."))
    try:
        srv.start()
    except RuntimeError as e:
        R.fail("LOC-3", "t_geo_compat: gslbd starts on GeoIP2-City-Test.mmdb", str(e))
        return
    try:
        for ecs, where, addr, scope in (("81.2.69.142/32", "London", "192.0.2.91", 31),
                                        ("216.160.83.56/32", "Milton WA", "203.0.113.91", 29),
                                        ("2001:218::/32", "Japan", "203.0.113.92", 23)):
            r = L.dig("api.gslb.test", "A", port, subnet=ecs)
            R.check(r.status == "NOERROR" and r.rdatas("A") == [addr], "LOC-3",
                    "t_geo_compat: +subnet=%s (%s) -> %s" % (ecs, where, addr),
                    lambda: r.text)
            R.check(r.scope() == scope, "ECS-G1", "t_geo_compat: +subnet=%s scope %d "
                    "(the widest network nearest to the same region)" % (ecs, scope),
                    "got %s" % (r.ecs,))
        r = L.dig("api.gslb.test", "A", port, subnet="10.0.0.0/8")
        R.check(r.rdatas("A") == ["203.0.113.92"], "LOC-5", "t_geo_compat: +subnet=10.0.0.0/8 "
                "(no record) -> default order (tokyo)", lambda: r.text)
        j, raw = L.explain(conf, "api.gslb.test", "A", "127.0.0.1", "81.2.69.142/32")
        R.check(j is not None and j["location"].get("city") == "London" and
                j["location"].get("country") == "GB" and
                j["location"].get("source") == "coordinates", "EXP-1",
                "t_geo_compat: --explain 81.2.69.142 shows city London, country GB", raw)
    finally:
        srv.stop()


# ---------------------------------------------------------------------------------------


def main():
    R.plan(PLAN)
    t0 = time.monotonic()
    try:
        setup()
    except Exception as e:  # noqa: BLE001
        R.fail("LOC-1", "setup: build the GeoIP database, write the config, start gslbd",
               "%s\n%s" % (e, traceback.format_exc()))
        return R.finish()
    steps = [t_locations, t_default, t_nets, t_pins, t_ecs, t_ttl, t_families, t_cname,
             t_explain, t_weighted, t_split, t_failover, t_ha, t_servfail, t_geo_compat]
    for step in steps:
        ts = time.monotonic()
        try:
            if S.srv is None or not S.srv.alive():
                R.note("gslbd is not running; restarting it for %s" % step.__name__)
                start("t_gslb-again")
            step()
        except Exception as e:  # noqa: BLE001
            R.fail("LOC-1", "%s raised %s" % (step.__name__, type(e).__name__),
                   "%s\n%s" % (e, traceback.format_exc()))
        R.note("%s: %.1f s" % (step.__name__, time.monotonic() - ts))
    if S.srv is not None:
        alive = S.srv.alive()
        rc = S.srv.stop()
        R.check(alive and rc == 0, "POL-1", "gslbd ran the whole test and stopped with exit 0",
                "alive %s exit %s; log:\n%s" % (alive, rc, S.srv.log_tail()))
    R.note("total %.1f s" % (time.monotonic() - t0))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
