#!/usr/bin/env python3
"""geoq.py: inputs and answer checks of the geo mode of bench/bench.sh (python3 stdlib only).

  geoq.py networks OUT.txt
      Writes the synthetic networks of the bench GeoIP database (input of geo/mkmmdb.pl).
      Deterministic; the committed bench/geo/networks.txt is its output.
  geoq.py zone OUT.zone
      Writes the static part of the geo.example zone (SOA, NS, 100 hosts with two A
      records each). Deterministic; the committed bench/geo/geo.example.zone is its output.
  geoq.py queries NETWORKS.txt GEO.bin STATIC.bin [COUNT]
      Writes two dnsperf input files in binary mode (`dnsperf -B`: each query is a 2-byte
      length in network order and the raw DNS message). Query i of both files carries the
      same EDNS Client Subnet option (RFC 7871), drawn from NETWORKS.txt; GEO.bin asks A of
      the GSLB service names, STATIC.bin A of the static hosts. Every query of both files
      has EDNS (OPT, UDP size 1232) and ECS. Deterministic (fixed seed); COUNT 20000.
  geoq.py probe PORT GEO.bin [LIMIT]
      Sends the first LIMIT (500) distinct-subnet queries of GEO.bin to 127.0.0.1:PORT over
      UDP, one at a time, and prints "SUBNET NAME RCODE SCOPE ADDR,ADDR" per query.
  geoq.py compare REGIONS A.txt B.txt
      Compares two probe outputs by the region of the addresses answered (REGIONS: lines
      "ADDRESS REGION") and prints the share of subnets on which they agree.
"""
import ipaddress
import random
import socket
import struct
import sys

ORIGIN = "geo.example."
SERVICES = ["www", "api", "img"]  # GSLB services (policy nearest)
HOSTS = 100                       # static hosts hNNN, two A records each
QUERIES = 20000

# (city, country, continent, lat, lon): client locations, spread over every continent.
CITIES = [
    ("Frankfurt", "DE", "EU", 50.11, 8.68), ("Berlin", "DE", "EU", 52.52, 13.40),
    ("Paris", "FR", "EU", 48.86, 2.35), ("London", "GB", "EU", 51.51, -0.13),
    ("Madrid", "ES", "EU", 40.42, -3.70), ("Rome", "IT", "EU", 41.90, 12.50),
    ("Warsaw", "PL", "EU", 52.23, 21.01), ("Stockholm", "SE", "EU", 59.33, 18.07),
    ("Amsterdam", "NL", "EU", 52.37, 4.90), ("Vienna", "AT", "EU", 48.21, 16.37),
    ("Athens", "GR", "EU", 37.98, 23.73), ("Dublin", "IE", "EU", 53.35, -6.26),
    ("Lisbon", "PT", "EU", 38.72, -9.14), ("Helsinki", "FI", "EU", 60.17, 24.94),
    ("Kyiv", "UA", "EU", 50.45, 30.52), ("Istanbul", "TR", "EU", 41.01, 28.98),
    ("New York", "US", "NA", 40.71, -74.01), ("Washington", "US", "NA", 38.91, -77.04),
    ("Chicago", "US", "NA", 41.88, -87.63), ("Atlanta", "US", "NA", 33.75, -84.39),
    ("Miami", "US", "NA", 25.76, -80.19), ("Dallas", "US", "NA", 32.78, -96.80),
    ("Denver", "US", "NA", 39.74, -104.99), ("Phoenix", "US", "NA", 33.45, -112.07),
    ("Los Angeles", "US", "NA", 34.05, -118.24), ("San Francisco", "US", "NA", 37.77, -122.42),
    ("Seattle", "US", "NA", 47.61, -122.33), ("Toronto", "CA", "NA", 43.65, -79.38),
    ("Vancouver", "CA", "NA", 49.28, -123.12), ("Mexico City", "MX", "NA", 19.43, -99.13),
    ("Bogota", "CO", "SA", 4.71, -74.07), ("Lima", "PE", "SA", -12.05, -77.04),
    ("Santiago", "CL", "SA", -33.45, -70.67), ("Buenos Aires", "AR", "SA", -34.60, -58.38),
    ("Sao Paulo", "BR", "SA", -23.55, -46.63), ("Rio de Janeiro", "BR", "SA", -22.91, -43.17),
    ("Caracas", "VE", "SA", 10.48, -66.90), ("Lagos", "NG", "AF", 6.52, 3.38),
    ("Cairo", "EG", "AF", 30.04, 31.24), ("Nairobi", "KE", "AF", -1.29, 36.82),
    ("Johannesburg", "ZA", "AF", -26.20, 28.05), ("Casablanca", "MA", "AF", 33.57, -7.59),
    ("Dubai", "AE", "AS", 25.20, 55.27), ("Mumbai", "IN", "AS", 19.08, 72.88),
    ("Delhi", "IN", "AS", 28.70, 77.10), ("Bangalore", "IN", "AS", 12.97, 77.59),
    ("Singapore", "SG", "AS", 1.35, 103.82), ("Jakarta", "ID", "AS", -6.21, 106.85),
    ("Bangkok", "TH", "AS", 13.76, 100.50), ("Hong Kong", "HK", "AS", 22.32, 114.17),
    ("Shanghai", "CN", "AS", 31.23, 121.47), ("Beijing", "CN", "AS", 39.90, 116.41),
    ("Seoul", "KR", "AS", 37.57, 126.98), ("Tokyo", "JP", "AS", 35.68, 139.69),
    ("Manila", "PH", "AS", 14.60, 120.98), ("Sydney", "AU", "OC", -33.87, 151.21),
    ("Melbourne", "AU", "OC", -37.81, 144.96), ("Perth", "AU", "OC", -31.95, 115.86),
    ("Auckland", "NZ", "OC", -36.85, 174.76), ("Honolulu", "US", "OC", 21.31, -157.86),
    ("Reykjavik", "IS", "EU", 64.15, -21.94), ("Anchorage", "US", "NA", 61.22, -149.90),
]


def networks_text():
    rnd = random.Random(20261126)
    rows = []

    def add(net, note=None):
        city, cc, cont, lat, lon = rnd.choice(CITIES)
        # jitter so that networks of one city do not share coordinates
        lat = max(-89.9, min(89.9, lat + rnd.uniform(-1.5, 1.5)))
        lon = lon + rnd.uniform(-1.5, 1.5)
        lon = lon - 360 if lon > 180 else lon + 360 if lon < -180 else lon
        rows.append('%-20s lat=%.2f lon=%.2f country=%s continent=%s city="%s"%s' % (
            net, lat, lon, cc, cont, city, "  # " + note if note else ""))

    out = [
        "# networks.txt: the GeoIP database of the geo mode of bench/bench.sh.",
        "# Generated by: python3 bench/geo/geoq.py networks bench/geo/networks.txt",
        "# Built by bench.sh with: perl geo/mkmmdb.pl bench/geo/networks.txt DB.mmdb",
        "# Every network is SYNTHETIC (private, shared, benchmark and documentation space);",
        "# locations are real cities with up to 1.5 degrees of jitter.",
        "# 192.168.0.0/16 is deliberately absent: its clients get the default ranking.",
    ]
    for b in range(256):                          # 10.0.0.0/8 as /16s
        add("10.%d.0.0/16" % b)
    for b in rnd.sample(range(256), 48):          # more specific networks inside them
        add("10.%d.%d.0/%d" % (b, rnd.randrange(0, 256, 16), 20), "inside 10.%d.0.0/16" % b)
    for b in range(64, 128):                      # 100.64.0.0/10 (shared) as /16s
        add("100.%d.0.0/16" % b)
    for b in range(16, 32):                       # 172.16.0.0/12 as /18s
        for c in range(0, 256, 64):
            add("172.%d.%d.0/18" % (b, c))
    for b in range(18, 20):                       # 198.18.0.0/15 (benchmark) as /20s
        for c in range(0, 256, 16):
            add("198.%d.%d.0/20" % (b, c))
    for c in range(32):                           # 2001:db8::/32 (documentation) as /40s
        add("2001:db8:%x::/40" % (c << 8))
    return "\n".join(out + rows) + "\n"


def zone_text():
    out = [
        "; geo.example: static part of the zone of the geo mode of bench/bench.sh",
        "; (generated by bench/geo/geoq.py zone). The GSLB names www, api and img come from",
        "; gslbd's services, and for gdnsd from DYNA records (bench/geo/gdnsd/dyna.zone).",
        "$ORIGIN " + ORIGIN,
        "$TTL 300",
        "@\tIN\tSOA\tns1 hostmaster 2026112601 3600 600 604800 300",
        "@\tIN\tNS\tns1",
        "@\tIN\tNS\tns2",
        "ns1\tIN\tA\t192.0.2.53",
        "ns2\tIN\tA\t198.51.100.53",
    ]
    for i in range(HOSTS):
        out.append("h%03d\t30\tIN\tA\t203.0.113.%d" % (i, 100 + i % 100))
        out.append("h%03d\t30\tIN\tA\t198.51.100.%d" % (i, 100 + i % 100))
    return "\n".join(out) + "\n"


def read_networks(path):
    nets = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("%"):
            continue
        nets.append(ipaddress.ip_network(line.split()[0]))
    return nets


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, net):
    """A query for NAME A with EDNS (UDP 1232) and an ECS option for network NET."""
    fam = 1 if net.version == 4 else 2
    nbytes = (net.prefixlen + 7) // 8
    ecs = struct.pack("!HBB", fam, net.prefixlen, 0) + net.network_address.packed[:nbytes]
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 4 + len(ecs)) + struct.pack("!HH", 8, len(ecs)) + ecs
    # ID 0 (dnsperf overwrites it), no flags (RD clear: an authoritative query)
    return struct.pack("!HHHHHH", 0, 0, 1, 0, 0, 1) + encode_name(name) + struct.pack("!HH", 1, 1) + opt


def client_subnets(nets, count):
    """COUNT client subnets: 90% /24s inside the IPv4 networks, 5% /56s inside the IPv6
    ones, 5% /24s of 192.168.0.0/16 (not in the database)."""
    rnd = random.Random(7871)
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    out = []
    for _ in range(count):
        r = rnd.random()
        if r < 0.05:
            out.append(ipaddress.ip_network("192.168.%d.0/24" % rnd.randrange(256)))
            continue
        net, plen = (rnd.choice(v6), 56) if r < 0.10 else (rnd.choice(v4), 24)
        span = 1 << (plen - net.prefixlen) if plen > net.prefixlen else 1
        base = int(net.network_address) + (rnd.randrange(span) << (net.max_prefixlen - plen))
        out.append(ipaddress.ip_network((base, plen)))
    return out


def write_queries(nets_path, geo_path, static_path, count):
    subnets = client_subnets(read_networks(nets_path), count)
    rnd = random.Random(1035)
    with open(geo_path, "wb") as g, open(static_path, "wb") as s:
        for i, sn in enumerate(subnets):
            qg = query(SERVICES[i % len(SERVICES)] + "." + ORIGIN, sn)
            qs = query("h%03d.%s" % (rnd.randrange(HOSTS), ORIGIN), sn)
            g.write(struct.pack("!H", len(qg)) + qg)
            s.write(struct.pack("!H", len(qs)) + qs)
    print("%s, %s: %d queries each, %d distinct client subnets" % (
        geo_path, static_path, count, len(set(subnets))))


def read_queries(path):
    data = open(path, "rb").read()
    i = 0
    while i + 2 <= len(data):
        n = struct.unpack("!H", data[i:i + 2])[0]
        yield data[i + 2:i + 2 + n]
        i += 2 + n


def skip_name(msg, i):
    while True:
        n = msg[i]
        if n == 0:
            return i + 1
        if n & 0xC0 == 0xC0:
            return i + 2
        i += n + 1


def parse_query(q):
    """(name, subnet text) of one of our queries."""
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode())
        i += q[i] + 1
    i += 5 + 11  # end of name, type, class; OPT header (name, type, class, ttl, rdlen)
    fam, plen = struct.unpack("!HB", q[i + 4:i + 7])
    raw = q[i + 8:i + 8 + (plen + 7) // 8]
    size = 4 if fam == 1 else 16
    addr = ipaddress.ip_address(raw + b"\0" * (size - len(raw)))
    return ".".join(labels), "%s/%d" % (addr, plen)


def parse_answer(msg):
    """(rcode, A addresses, ECS scope or '-')."""
    rcode = msg[3] & 0xF
    qd, an, ns, ar = struct.unpack("!HHHH", msg[4:12])
    i = 12
    for _ in range(qd):
        i = skip_name(msg, i) + 4
    addrs, scope = [], "-"
    for k in range(an + ns + ar):
        i = skip_name(msg, i)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[i:i + 10])
        rdata = msg[i + 10:i + 10 + rdlen]
        if k < an and rtype == 1:
            addrs.append(str(ipaddress.ip_address(rdata)))
        if rtype == 41:
            j = 0
            while j + 4 <= len(rdata):
                code, olen = struct.unpack("!HH", rdata[j:j + 4])
                if code == 8:
                    scope = str(rdata[j + 7])
                j += 4 + olen
        i += 10 + rdlen
    return rcode, sorted(addrs), scope


def probe(port, path, limit):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(1.0)
    seen = set()
    for n, q in enumerate(read_queries(path)):
        name, subnet = parse_query(q)
        if subnet in seen:
            continue
        seen.add(subnet)
        q = struct.pack("!H", n & 0xFFFF) + q[2:]
        line = "%s %s TIMEOUT - -" % (subnet, name)
        for _ in range(3):
            sock.sendto(q, ("127.0.0.1", port))
            try:
                msg = sock.recv(4096)
            except socket.timeout:
                continue
            rcode, addrs, scope = parse_answer(msg)
            line = "%s %s %d %s %s" % (subnet, name, rcode, scope, ",".join(addrs) or "-")
            break
        print(line)
        if len(seen) >= limit:
            break


def compare(regions_path, a_path, b_path):
    region = {}
    for line in open(regions_path):
        f = line.split()
        if len(f) == 2:
            region[f[0]] = f[1]

    def load(path):
        out = {}
        for line in open(path):
            f = line.split()
            if len(f) == 5:
                rs = sorted({region.get(a, "?") for a in f[4].split(",")}) if f[4] != "-" else ["none"]
                out[f[0]] = "+".join(rs)
        return out

    a, b = load(a_path), load(b_path)
    common = sorted(set(a) & set(b))
    agree = sum(1 for s in common if a[s] == b[s])
    print("same region for %d of %d client subnets (%.1f%%)" % (
        agree, len(common), 100.0 * agree / max(1, len(common))))
    per = {}
    for s in common:
        per.setdefault(a[s], [0, 0])[0] += 1
        per.setdefault(b[s], [0, 0])[1] += 1
    print("answers per region (first, second): " + ", ".join(
        "%s %d/%d" % (r, c[0], c[1]) for r, c in sorted(per.items())))
    for s in [s for s in common if a[s] != b[s]][:5]:
        print("  differ: %s first %s, second %s" % (s, a[s], b[s]))


def main(argv):
    if len(argv) >= 3 and argv[1] == "networks":
        open(argv[2], "w", encoding="utf-8").write(networks_text())
    elif len(argv) >= 3 and argv[1] == "zone":
        open(argv[2], "w", encoding="utf-8").write(zone_text())
    elif len(argv) in (5, 6) and argv[1] == "queries":
        write_queries(argv[2], argv[3], argv[4], int(argv[5]) if len(argv) == 6 else QUERIES)
    elif len(argv) in (4, 5) and argv[1] == "probe":
        probe(int(argv[2]), argv[3], int(argv[4]) if len(argv) == 5 else 500)
    elif len(argv) == 5 and argv[1] == "compare":
        compare(argv[2], argv[3], argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
