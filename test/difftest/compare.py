"""compare.py: what of a response the differential test compares (rcode, AA, TC, the
answer and authority sections as sets of RRs), the normalisations of gslbd's documented
choices (docs/dns-behaviour.md), and the verdict for one query across the three servers."""

import dns.exception
import dns.flags
import dns.message
import dns.rdatatype

# RDATA types whose names are compared without letter case (the owner always is).
NAME_TYPES = {dns.rdatatype.NS, dns.rdatatype.CNAME, dns.rdatatype.DNAME, dns.rdatatype.PTR,
              dns.rdatatype.MX, dns.rdatatype.SRV, dns.rdatatype.SOA}


def parse(raw):
    """A dns.message.Message, or an error text."""
    if raw is None:
        return "no reply"
    try:
        return dns.message.from_wire(raw)
    except (dns.exception.DNSException, ValueError, IndexError) as e:
        return "unparseable: %s: %s" % (type(e).__name__, e)


def rrs(section):
    out = []
    for rrset in section:
        for rd in rrset:
            t = rd.to_text()
            if rrset.rdtype in NAME_TYPES:
                t = t.lower()
            out.append("%s %d %s %s" % (rrset.name.to_text().lower(), rrset.ttl,
                                         dns.rdatatype.to_text(rrset.rdtype), t))
    return tuple(sorted(set(out)))


def is_rfc8482(m):
    """gslbd's answer to ANY over UDP (ANY-1): one synthesized HINFO "RFC8482" ""."""
    a = rrs(m.answer)
    return len(a) == 1 and ' HINFO "RFC8482" ""' in a[0]


def view(m, qtype, notes):
    """The compared aspects of a parsed response, normalised; notes collects which
    normalisations applied."""
    if isinstance(m, str):
        return (m.split(":")[0],)
    rc = m.rcode()
    if qtype == "ANY" and m.flags & dns.flags.TC and rc == 0:
        # ANY-1 (below): NSD and Knot send every RRset, which may not fit; gslbd's one
        # HINFO always does.
        notes.add("any")
        return (rc, "aa" if m.flags & dns.flags.AA else "", "", ("<ANY answer>",), ())
    if m.flags & dns.flags.TC:
        # TC-1: when a required RRset does not fit the servers may send some of it or
        # nothing; only that they truncated is compared (TC-3: TCP would get it all).
        notes.add("tc")
        return (rc, "aa" if m.flags & dns.flags.AA else "", "TC")
    answer = rrs(m.answer)
    if qtype == "ANY" and answer:
        # ANY-1: over UDP gslbd answers one HINFO RFC8482, NSD and Knot every RRset at the
        # name. Only "something was answered" is compared, plus any CNAME chain's start.
        notes.add("any")
        answer = ("<ANY answer>",)
    return (rc, "aa" if m.flags & dns.flags.AA else "", "", answer, rrs(m.authority)) + glue(m)


def fits_whole(g, n, k, g_size, limit):
    """docs/dns-behaviour.md, "An answer that fits the UDP limit only with full
    compression": gslbd sent whole (TC=0, within the limit) an answer that both peers
    truncated, and each peer's partial answer is part of gslbd's. Then gslbd is compared as
    if it had truncated too (rcode, AA, TC)."""
    if any(isinstance(m, str) for m in (g, n, k)):
        return False
    if g.flags & dns.flags.TC or not (n.flags & k.flags & dns.flags.TC):
        return False
    if g_size > limit or not (g.rcode() == n.rcode() == k.rcode()):
        return False
    if len({bool(m.flags & dns.flags.AA) for m in (g, n, k)}) != 1:
        return False
    whole = set(rrs(g.answer))
    return set(rrs(n.answer)) <= whole and set(rrs(k.answer)) <= whole


def glue(m):
    """DEL-2: a referral must carry the glue below its cut; other additional data is
    optional (MX/SRV targets, sibling addresses) and not compared."""
    if m.flags & dns.flags.AA or m.answer or m.rcode() != 0:
        return ()
    cuts = [r.name for r in m.authority if r.rdtype == dns.rdatatype.NS]
    if not cuts:
        return ()
    return (rrs([r for r in m.additional if r.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
                 and r.name.is_subdomain(cuts[0])]),)


def aspects(a, b):
    """Which aspects of two views differ (for the category of a disagreement)."""
    if len(a) != len(b) or len(a) == 1:
        return ["reply" if len(a) == 1 or len(b) == 1 else "tc"]
    names = ("rcode", "aa", "tc", "answer", "authority", "glue")
    return [n for n, x, y in zip(names, a, b) if x != y]


def involves_dname(*msgs):
    """The peers' answer holds a DNAME or is YXDOMAIN: the DNAME work (not done on this
    branch) decides it. Used only to name the category of a disagreement."""
    for m in msgs:
        if isinstance(m, str):
            continue
        if m.rcode() == 6 or any(r.rdtype == dns.rdatatype.DNAME for r in m.answer):
            return True
    return False


def verdict(g, n, k):
    """'agree', 'fail' (gslbd differs from both peers, who agree), 'peers' (NSD and Knot
    disagree; gslbd matches one of them) or 'peers-neither' (they disagree and gslbd
    matches neither: listed, not failed)."""
    if len(g) == 1 and (len(n) > 1 or len(k) > 1):
        return "fail"  # no reply or an unparseable one, where a peer answered
    if n == k:
        return "agree" if g == n else "fail"
    return "peers" if g in (n, k) else "peers-neither"


def show(m):
    if isinstance(m, str):
        return m
    return m.to_text()
