#!/usr/bin/env bash
# signed.sh: what DNSSEC costs gslbd. The bench zone (bench/zone/bench.example.zone) with
# a weighted GSLB service, served unsigned and signed (a key made with --keygen), one at a
# time, one worker pinned to SERVER_CPU, dnsperf with DO set pinned to CLIENT_CPU. The
# queries are bench/queries.txt (A, AAAA, MX, TXT, CNAME, 4% names that do not exist) with
# every tenth one for the GSLB name. Figures: capacity (queries answered per second of
# server CPU, unpaced dnsperf), the signed/unsigned ratio, and the signature cache after
# warm-up (gslbd_dnssec_signatures_total: cached, signed, refused).
# Usage: bash bench/signed.sh [build/release/gslbd]   (make bench runs it)
# Environment: SIGNED_ROUNDS=3 SIGNED_SECONDS=10 SIGNED_WARMUP=3. Results on stdout and in
# bench/out/signed-STAMP.txt.
set -euo pipefail
GSLBD=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")/.."
GSLBD=${GSLBD:-build/release/gslbd}
ROUNDS=${SIGNED_ROUNDS:-3}
SECS=${SIGNED_SECONDS:-10}
WARMUP=${SIGNED_WARMUP:-3}
SERVER_CPU=1
CLIENT_CPU=0
HZ=$(getconf CLK_TCK)
for tool in dnsperf taskset curl; do
    command -v "$tool" >/dev/null || {
        echo "signed.sh: $tool missing (make deps); skipped" >&2
        exit 0
    }
done
WORK=$(mktemp -d /tmp/gslbd-signed.XXXXXX)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p bench/out
REPORT=bench/out/signed-$(date +%Y%m%d-%H%M%S).txt

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

"$GSLBD" --keygen bench.example "$WORK" >"$WORK/keygen.txt" 2>&1
KEY=$(find "$WORK" -name 'Kbench.example.+013+*.pem' | head -1)
awk 'NR % 10 == 0 { print "svc.bench.example. A"; next } { print }' bench/queries.txt >"$WORK/queries.txt"
PORT=$(free_port)
APORT=$(free_port)

# conf FILE SIGNED: the config of one of the two servers
conf() {
    local dnssec=
    [ "$2" = yes ] && dnssec=", \"dnssec\": {\"key_file\": \"$KEY\"}"
    cat >"$1" <<EOF
{"listen": ["127.0.0.1:$PORT"], "api": {"listen": "127.0.0.1:$APORT"}, "workers": 1,
 "log_level": "warning", "state_file": "$WORK/state.json", "startup_wait_ms": 0,
 "regions": [{"name": "lo", "lat": 50.1, "lon": 8.7}],
 "clusters": [
  {"name": "c1", "region": "lo", "addresses": ["192.0.2.101", "192.0.2.102"], "checks": []},
  {"name": "c2", "region": "lo", "addresses": ["192.0.2.201", "192.0.2.202"], "checks": []}],
 "services": [{"name": "svc.bench.example", "policy": "weighted", "clusters": ["c1", "c2"],
               "ttl": 60, "failover_ttl": 10}],
 "zones": [{"origin": "bench.example.", "file": "$PWD/bench/zone/bench.example.zone"$dnssec}]}
EOF
}
conf "$WORK/unsigned.json" no
conf "$WORK/signed.json" yes

start() {
    taskset -c "$SERVER_CPU" "$GSLBD" -c "$WORK/$1.json" >"$WORK/$1.log" 2>&1 &
    PID=$!
    for _ in $(seq 100); do
        dig +tries=1 +time=1 -p "$PORT" @127.0.0.1 bench.example SOA +short 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    echo "signed.sh: gslbd ($1) did not start: $(cat "$WORK/$1.log")" >&2
    exit 1
}
stop() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}
metric() { # the signed/cached/refused counter now
    curl -s "http://127.0.0.1:$APORT/metrics" |
        awk -F'} ' -v r="$1" '$1 == "gslbd_dnssec_signatures_total{result=\"" r "\"" { print $2 }'
}
perf() { # SECONDS: unpaced dnsperf with DO; prints completed queries
    taskset -c "$CLIENT_CPU" dnsperf -D -s 127.0.0.1 -p "$PORT" -d "$WORK/queries.txt" -l "$1" \
        -T 1 -c 32 -q 200 2>&1 | awk '/Queries completed:/ { print $3 }'
}

{
    echo "signed.sh: $GSLBD; $ROUNDS rounds x $SECS s per server, DO set, server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU"
    declare -A CAP
    for r in $(seq "$ROUNDS"); do
        for kind in unsigned signed; do
            start "$kind"
            perf "$WARMUP" >/dev/null
            h0=$(metric cached) s0=$(metric signed) f0=$(metric refused)
            c0=$(cpu_ticks "$PID")
            n=$(perf "$SECS")
            c1=$(cpu_ticks "$PID")
            h1=$(metric cached) s1=$(metric signed) f1=$(metric refused)
            cap=$(awk -v n="$n" -v c=$((c1 - c0)) -v hz="$HZ" 'BEGIN { printf "%.0f", (c > 0 ? n / (c / hz) : 0) }')
            CAP[$kind]="${CAP[$kind]:-} $cap"
            printf '  round %d %-8s %9d queries, %7d per CPU second; signatures after warm-up: cached %d, signed %d, refused %d\n' \
                "$r" "$kind" "$n" "$cap" $((h1 - h0)) $((s1 - s0)) $((f1 - f0))
            stop
        done
    done
    med() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
    mu=$(med "${CAP[unsigned]}")
    ms=$(med "${CAP[signed]}")
    awk -v u="$mu" -v s="$ms" 'BEGIN { printf "median capacity: unsigned %d, signed %d queries per CPU second: signed/unsigned %.3f\n", u, s, (u > 0 ? s / u : 0) }'
} | tee "$REPORT"
