"""gen.py: a seeded generator of random zones in the style operators write (and worse) and
of the queries asked against them, for the differential test in run.py.

gen_zone(rng, origin) returns (zone text, Zone) and gen_queries(rng, zone, n) returns a list
of Query. Everything is drawn from the rng given, so one seed gives one batch."""

import random
from collections import namedtuple

# Every query carries a kind: run.py reports agreement per kind (the TAP checks are per
# kind, so this list is also the plan of t_difftest).
KINDS = ("exact", "missing", "ent", "wildcard", "below-cut", "cname", "dname", "repeated",
         "unknown-type", "large", "apex", "any")

TYPES = ("A", "AAAA", "TXT", "MX", "SRV", "CAA", "NS", "SOA", "CNAME", "DNAME", "PTR", "DS",
         "HINFO", "TYPE65280", "TYPE1000", "ANY")
COMMON = ("A", "AAAA", "TXT", "MX", "A", "AAAA", "CNAME", "NS", "SOA", "SRV")

# Labels real zones use, with repeats on purpose: net.net., x.y.y., ns.bar.bar.
LABELS = ("www", "mail", "api", "cdn", "net", "bar", "x", "y", "ns", "dev", "eu", "us", "a",
          "b", "app", "web", "shop", "img", "static", "vpn", "mx", "smtp", "_tcp", "_udp",
          "_sip", "campus", "edu", "com", "old", "new")

Query = namedtuple("Query", "qname qtype edns kind")


class Zone:
    """What a generated zone holds, for the query generator: the names it owns (relative,
    as label tuples, leftmost first) by role."""

    def __init__(self, origin):
        self.origin = origin  # "z0001.difftest."
        self.names = {}  # label tuple -> set of types
        self.cuts = set()  # delegated names
        self.dnames = set()  # DNAME owners
        self.cnames = set()
        self.wild = set()  # owners whose leftmost label is *
        self.repeated = set()  # names with a repeated label (here or in their RDATA)

    def fqdn(self, labels):
        return ".".join(labels) + "." + self.origin if labels else self.origin

    def occluded(self, labels):
        """True if labels is at or below a cut or strictly below a DNAME owner (other
        than the glue we place on purpose)."""
        for i in range(1, len(labels) + 1):
            anc = labels[-i:]
            if anc in self.cuts and anc != labels:
                return True
            if anc in self.dnames and anc != labels:
                return True
        return False

    def has_children(self, labels):
        n = len(labels)
        return any(len(k) > n and k[-n:] == labels for k in self.names) if n else True


def _rand_labels(rng, depth=None):
    depth = depth or rng.choice((1, 1, 1, 2, 2, 3))
    out = [rng.choice(LABELS) for _ in range(depth)]
    if depth >= 2 and rng.random() < 0.25:  # repeat a label: x.y.y, net.net
        out[0] = out[1]
    return tuple(out)


def _ip4(rng):
    return "192.0.2.%d" % rng.randint(1, 254) if rng.random() < 0.5 else \
        "198.51.100.%d" % rng.randint(1, 254)


def _ip6(rng):
    return "2001:db8::%x:%x" % (rng.randint(0, 0xffff), rng.randint(1, 0xffff))


def _txt(rng, n=None):
    n = n or rng.randint(1, 60)
    return '"%s"' % "".join(rng.choice("abcdefghij klmnop=-_.") for _ in range(n))


def _rdata(rng, t, zone):
    if t == "A":
        return _ip4(rng)
    if t == "AAAA":
        return _ip6(rng)
    if t == "TXT":
        return " ".join(_txt(rng) for _ in range(rng.randint(1, 3)))
    if t == "MX":
        return "%d %s" % (rng.choice((0, 10, 20)), _target(rng, zone))
    if t == "SRV":
        return "%d %d %d %s" % (rng.randint(0, 20), rng.randint(0, 100), rng.choice((443, 5060)),
                                _target(rng, zone))
    if t == "CAA":
        return '0 issue "%s"' % rng.choice(("letsencrypt.org", "pki.goog", ";"))
    if t == "PTR":
        return _target(rng, zone)
    if t == "HINFO":
        return '"PC" "%s"' % rng.choice(("Linux", "BSD"))
    if t == "TYPE65280":
        n = rng.randint(0, 12)
        return "\\# %d %s" % (n, "".join("%02x" % rng.randint(0, 255) for _ in range(n))) \
            if n else "\\# 0"
    raise ValueError(t)


def _target(rng, zone):
    """A host name for MX/SRV/NS/PTR/CNAME RDATA: in zone (existing or not), out of zone,
    sometimes with repeated labels."""
    r = rng.random()
    if r < 0.45 and zone.names:
        k = rng.choice(sorted(zone.names))
        if "*" not in k:
            return zone.fqdn(k)
    if r < 0.65:
        return zone.fqdn(_rand_labels(rng))
    return rng.choice(("mail.example.net.", "ns.bar.bar.", "net.net.", "x.y.y.",
                       "host.example.com.", "campus.campus.edu.", "www.example.org."))


def gen_zone(rng, origin):
    """A random zone at origin. Returns (text, Zone)."""
    z = Zone(origin)
    lines = ["$ORIGIN %s" % origin, "$TTL %d" % rng.choice((300, 3600, 86400))]
    soa_ttl = rng.choice((60, 300, 3600))
    minimum = rng.choice((30, 300, 600, 7200))
    lines.append("@ %d IN SOA ns1.%s hostmaster.%s %d 3600 600 864000 %d" % (
        soa_ttl, origin, origin, rng.randint(1, 2**31), minimum))
    z.names[()] = {"SOA", "NS"}
    apex_dname = rng.random() < 0.03

    ttls = {}

    def add(labels, t, rdata, ttl=None):
        # one TTL per RRset: mixed TTLs are a documented difference (TTL-1), not tested here
        ttl = ttls.setdefault((labels, t), ttl if ttl is not None else rng.choice((60, 300, 3600)))
        owner = ".".join(labels) if labels else "@"
        lines.append("%s %d IN %s %s" % (owner, ttl, t, rdata))
        z.names.setdefault(labels, set()).add(t)
        if "*" in labels[:1]:
            z.wild.add(labels)

    if apex_dname:  # every other name would be occluded: NS out of zone only
        add((), "NS", rng.choice(("ns.bar.bar.", "ns1.example.net.")), 3600)
        add((), "DNAME", rng.choice(("example.net.", "z0000.difftest.", "net.net.")))
        z.dnames.add(())
        return "\n".join(lines) + "\n", z
    # apex NS: in zone with glue, plus sometimes repeated-label or out-of-zone names
    add(("ns1",), "A", _ip4(rng))
    add((), "NS", "ns1." + origin, 3600)
    if rng.random() < 0.3:
        ns = rng.choice(("ns.bar.bar.", "net.net.", "ns2.x.y.y.", "ns.example.net."))
        add((), "NS", ns, 3600)
        if "bar" in ns or "net.net" in ns or "y.y" in ns:
            z.repeated.add(())
    if rng.random() < 0.2:
        add(("ns2",), "AAAA", _ip6(rng))
        add((), "NS", "ns2." + origin, 3600)
    for t in rng.sample(("MX", "TXT", "A", "AAAA", "CAA"), rng.randint(0, 3)):
        add((), t, _rdata(rng, t, z))

    n_names = rng.randint(6, 22)
    for _ in range(n_names):
        labels = _rand_labels(rng)
        if rng.random() < 0.15:  # wildcards, also below other wildcards and mid-name
            labels = ("*",) + labels[rng.choice((0, 1)):] if len(labels) > 1 else ("*",) + labels
            if rng.random() < 0.2:
                labels = ("a", "*") + labels[1:]  # a `*` label in the middle
            if rng.random() < 0.1:
                labels = ("*",) + labels  # *.*.x
        if z.occluded(labels) or labels in z.cnames or labels in z.cuts or labels in z.dnames:
            continue
        r = rng.random()
        fresh = labels not in z.names
        if r < 0.12 and fresh and not z.has_children(labels) and labels[0] != "*":
            _delegation(rng, z, labels, add)
        elif r < 0.30 and fresh:
            add(labels, "CNAME", _cname_target(rng, z, labels))
            z.cnames.add(labels)
        elif r < 0.38 and fresh and not z.has_children(labels) and labels[0] != "*":
            _dname(rng, z, labels, add)
        elif r < 0.43:
            _large(rng, z, labels, add)
        else:
            for t in rng.sample(("A", "AAAA", "TXT", "MX", "SRV", "CAA", "TYPE65280", "PTR",
                                 "HINFO"), rng.randint(1, 3)):
                for _k in range(rng.choice((1, 1, 1, 2, 3))):
                    add(labels, t, _rdata(rng, t, z), ttl=300)
        if len(set(labels)) < len(labels):
            z.repeated.add(labels)
    if rng.random() < 0.08 and ("dl1",) not in z.names and ("dl2",) not in z.names:
        add(("dl1",), "DNAME", "dl2." + origin)  # a DNAME loop
        add(("dl2",), "DNAME", "dl1." + origin)
        z.dnames.update({("dl1",), ("dl2",)})
    # CNAME chains and loops between fresh names
    if rng.random() < 0.5:
        chain = [("c%d" % i,) for i in range(rng.randint(2, 5))]
        chain = [c for c in chain if c not in z.names]
        for a, b in zip(chain, chain[1:]):
            add(a, "CNAME", z.fqdn(b))
            z.cnames.add(a)
        if chain:
            last = chain[-1]
            if rng.random() < 0.3 and len(chain) > 1:
                add(last, "CNAME", z.fqdn(chain[0]))  # loop
            else:
                add(last, "CNAME", _cname_target(rng, z, last))
            z.cnames.add(last)
    return "\n".join(lines) + "\n", z


def _cname_target(rng, z, own):
    r = rng.random()
    cands = [k for k in sorted(z.names) if k != own]
    if r < 0.45 and cands:
        return z.fqdn(rng.choice(cands)).replace("*", rng.choice(("w1", "anything", "*")), 1)
    if r < 0.6 and z.wild:  # into a wildcard
        w = rng.choice(sorted(z.wild))
        return z.fqdn(("viaw",) + w[1:])
    if r < 0.7 and z.dnames:  # below a DNAME
        return z.fqdn(("q",) + rng.choice(sorted(z.dnames)))
    if r < 0.8:
        return z.fqdn(_rand_labels(rng))  # probably missing
    return _target(rng, z)


def _delegation(rng, z, labels, add):
    z.cuts.add(labels)
    kind = rng.random()
    sub = z.fqdn(labels)
    if kind < 0.45:  # in-bailiwick with glue (sometimes with repeated labels: ns.bar.bar)
        for nsl in rng.sample((("ns1",), ("ns2",), ("ns",) + labels[-1:], ("net",)),
                              rng.randint(1, 2)):
            nsn = nsl + labels
            add(labels, "NS", z.fqdn(nsn), 3600)
            add(nsn, "A", _ip4(rng), 3600)
            if rng.random() < 0.3:
                add(nsn, "AAAA", _ip6(rng), 3600)
    elif kind < 0.6:  # in-bailiwick without glue (lame)
        add(labels, "NS", "ns1." + sub, 3600)
    elif kind < 0.8:  # sibling: an in-zone, not delegated, name
        nsn = ("sib" + labels[0].strip("_*"),)
        if nsn not in z.names and not z.occluded(nsn):
            add(nsn, "A", _ip4(rng), 3600)
        add(labels, "NS", z.fqdn(nsn), 3600)
    else:  # out of zone, sometimes with repeated labels
        add(labels, "NS", rng.choice(("ns.bar.bar.", "ns1.example.net.", "net.net.",
                                      "a.x.y.y.")), 3600)
        z.repeated.add(labels)
    if rng.random() < 0.2:
        add(labels, "DS", "12345 13 2 %s" % "".join(
            rng.choice("0123456789abcdef") for _ in range(64)), 3600)
    if rng.random() < 0.2:  # occluded data below the cut
        add(("hidden",) + labels, "A", _ip4(rng))


def _dname(rng, z, labels, add):
    r = rng.random()
    if r < 0.35:
        tgt = z.fqdn(_rand_labels(rng))  # in zone
    elif r < 0.5:
        tgt = z.origin  # to the apex
    elif r < 0.6:
        tgt = "loop." + z.fqdn(labels)  # below itself: grows until it overflows
    elif r < 0.75:  # long target: substitution may overflow (YXDOMAIN)
        tgt = ".".join(["l" * 60] * 3) + "." + rng.choice(("example.net.", z.origin))
    else:
        tgt = rng.choice(("example.net.", "net.net.", "bar.bar.", "x.y.y."))
    add(labels, "DNAME", tgt)
    z.dnames.add(labels)


def _large(rng, z, labels, add):
    t = rng.choice(("A", "TXT", "AAAA"))
    n = rng.randint(20, 60) if t != "TXT" else rng.randint(6, 20)
    seen = set()
    for _ in range(n):
        rd = _ip4(rng) if t == "A" else _ip6(rng) if t == "AAAA" else _txt(rng, 200)
        if rd not in seen:
            seen.add(rd)
            add(labels, t, rd, ttl=600)


def _mixcase(rng, name):
    if rng.random() < 0.3:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in name)
    return name


def gen_queries(rng, z, n):
    """n queries against zone z, each tagged with a kind from KINDS."""
    out = []
    owned = sorted(z.names)
    for _ in range(n):
        r = rng.random()
        qt = rng.choice(COMMON) if rng.random() < 0.7 else rng.choice(TYPES)
        if r < 0.25:
            k = rng.choice(owned)
            kind = "exact"
            if k in z.cnames:
                kind = "cname"
            elif k in z.dnames:
                kind = "dname"
            elif k in z.cuts or z.occluded(k):
                kind = "below-cut"
            elif k in z.wild:
                kind = "wildcard"
            elif not k:
                kind = "apex"
            elif any(t.startswith("TYPE") for t in z.names[k]):
                kind, qt = "unknown-type", rng.choice(("TYPE65280", "TYPE1000", "A"))
            labels = k
        elif r < 0.35:
            labels, kind = _rand_labels(rng) + ("nx%d" % rng.randint(0, 99),), "missing"
            labels = labels[-rng.choice((1, 2)):]
        elif r < 0.42 and any(len(k) > 1 for k in owned):
            k = rng.choice([k for k in owned if len(k) > 1])
            labels, kind = k[1:], "ent"
        elif r < 0.52 and z.wild:
            w = rng.choice(sorted(z.wild))
            labels = tuple(rng.choice(LABELS) for _ in range(rng.choice((1, 1, 2)))) + w[1:]
            kind = "wildcard"
        elif r < 0.60 and z.cuts:
            c = rng.choice(sorted(z.cuts))
            labels = rng.choice(((), ("www",), ("a", "b"), ("ns1",))) + c
            kind = "below-cut"
        elif r < 0.70 and z.dnames:
            d = rng.choice(sorted(z.dnames))
            pre = rng.choice((("www",), ("a", "b"), ("x",), ("l" * 63, "l" * 63, "l" * 50),
                              ("c0",), ("*",)))
            labels, kind = pre + d, "dname"
        elif r < 0.78 and z.cnames:
            labels, kind = rng.choice(sorted(z.cnames)), "cname"
        elif r < 0.84 and z.repeated:
            labels, kind = rng.choice(sorted(z.repeated)), "repeated"
            qt = rng.choice(("NS", "A", "SOA", "MX", "ANY"))
        elif r < 0.90 and any(len(z.names[k] & {"A", "TXT", "AAAA"}) for k in owned):
            labels, kind = rng.choice(owned), "large"
            qt = rng.choice(("A", "TXT", "AAAA", "ANY"))
        elif r < 0.95:
            labels, kind = (), "apex"
            qt = rng.choice(("SOA", "NS", "MX", "TXT", "A", "AAAA", "DNAME", "CAA"))
        else:
            labels, kind = rng.choice(owned), "any"
            qt = "ANY"
        if qt == "ANY":
            kind = "any"
        name = z.fqdn(labels)
        if len(name) > 250:
            name = z.fqdn(labels[-2:])
        out.append(Query(_mixcase(rng, name), qt, rng.random() < 0.75, kind))
    return out


def gen_batch(seed, nzones, nqueries, first=1):
    """nzones zones (origins z0001.difftest. ...) and about nqueries queries in total.
    Returns [(origin, text, [Query...])]."""
    rng = random.Random(seed)
    per = max(1, -(-nqueries // nzones))
    out = []
    for i in range(first, first + nzones):
        origin = "z%04d.s%d.difftest." % (i, seed)
        text, z = gen_zone(rng, origin)
        out.append((origin, text, gen_queries(rng, z, per)))
    return out


if __name__ == "__main__":
    import sys
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    for origin, text, qs in gen_batch(seed, 2, 10):
        print(text)
        for q in qs:
            print(";", q)
