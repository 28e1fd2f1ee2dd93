#!/usr/bin/env bash
# failover.sh: measure gslbd's failover and recovery times (docs/gslb-rules.md HC-7, HC-2).
#
# Usage: bash bench/failover.sh [GSLBD]     (from anywhere; default build/release/gslbd if
#                                            it exists, else build/dev/gslbd)
# Environment:
#   FAILOVER_RUNS=3     measurements per setting (the summary gives medians)
#   FAILOVER_SETS="defaults fast fast-signed"   which check settings to measure:
#                         defaults: interval 1000 ms, timeout 800, fall 3, rise 3
#                         fast:     interval 200 ms,  timeout 150, fall 2, rise 2
#                         fast-signed: fast, with the zone signed (docs/dnssec.md) and
#                                   every poll asking with DO: an answer counts only
#                                   with its RRSIG
#
# Two HTTP backends (test/integration/backend.py) listen on 127.0.3.1 and 127.0.3.2; gslbd
# serves fo.bench.test, a "failover" service over one cluster per backend. Each run kills
# the first backend (SIGKILL: its port then refuses connections) and asks gslbd every
# 50 ms (dnsq.py, one UDP query each) until the answer is the second backend: that is the
# failover time, from the kill to the first moved answer. Then it restarts the backend and
# measures, the same way, until the answer is back: the recovery time (from the moment
# the backend listens again). The bound HC-7 sets is interval * fall + timeout + 100 ms;
# recovery takes between (rise - 1) * interval and rise * interval + timeout.
# Results go to stdout and bench/out/failover-STAMP.txt. Every process started here is
# stopped by pid on exit. Loopback only; takes about 1 minute with the defaults.
set -euo pipefail

GSLBD=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")/.."
REPO=$PWD
if [ -z "${GSLBD:-}" ]; then
    if [ -x build/release/gslbd ]; then GSLBD=$REPO/build/release/gslbd; else GSLBD=$REPO/build/dev/gslbd; fi
fi
if [ ! -x "$GSLBD" ]; then
    echo "failover.sh: no gslbd at $GSLBD (run make)" >&2
    exit 2
fi
RUNS=${FAILOVER_RUNS:-3}
SETS=${FAILOVER_SETS:-defaults fast fast-signed}
BACKEND=$REPO/test/integration/backend.py
A=127.0.3.1
B=127.0.3.2
NAME=fo.bench.test
WORK=$(mktemp -d /tmp/gslbd-failover.XXXXXX)
mkdir -p bench/out
RESULT=bench/out/failover-$(date +%Y%m%d-%H%M%S).txt
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { printf '%s\n' "$*" | tee -a "$RESULT"; }

# Python helpers: free ports, answer polling (dnsq.py), medians.
py() { PYTHONPATH=$REPO/test/integration python3 - "$@"; }

free_port() { # ADDR...: a port free for UDP and TCP on each (the integration tests' helper)
    py "$@" <<'PY'
import sys
import itest
print(itest.free_port(sys.argv[1:]))
PY
}

# poll PORT WANT T0_NS LIMIT_S: ask every 50 ms until the A answer is exactly WANT (with
# an RRSIG beside it when SIGNED=yes, asking with DO); prints the milliseconds since T0_NS
# (CLOCK_REALTIME ns, as `date +%s%N`), or "timeout".
poll() {
    py "$NAME" "$@" "${SIGNED:-no}" <<'PY'
import sys, time
import dnsq
name, port, want, t0, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
signed = sys.argv[6] == "yes"
edns = dnsq.Edns(do=True) if signed else None
while True:
    t = time.time_ns()
    m = dnsq.query(name, "A", port=port, timeout=0.5, edns=edns)
    got = None if m is None else ",".join(sorted(r.text for r in m.answer if r.type == 1))
    if signed and m is not None and not any(r.type == 46 for r in m.answer):
        got = None  # an unsigned answer from a signed zone does not count
    if got == want:
        print("%.0f" % ((time.time_ns() - t0) / 1e6))
        break
    if (t - t0) / 1e9 > limit:
        print("timeout")
        break
    time.sleep(max(0.0, 0.05 - (time.time_ns() - t) / 1e9))
PY
}

median() { # FILE of numbers -> their median (or "-" when none)
    py "$1" <<'PY'
import statistics, sys
v = [float(x) for x in open(sys.argv[1]).read().split() if x.replace(".", "", 1).isdigit()]
print("%.0f" % statistics.median(v) if v else "-")
PY
}

start_backend() { # ADDR PORT: starts it, waits until it listens, sets BPID
    local out=$WORK/backend-$1.out i
    : >"$out"
    python3 "$BACKEND" --listen "$1:$2" --mode ok >"$out" 2>&1 &
    BPID=$!
    PIDS+=("$BPID")
    for ((i = 0; i < 500; i++)); do
        grep -q '^READY' "$out" && return 0
        kill -0 "$BPID" 2>/dev/null || break
        sleep 0.01
    done
    echo "failover.sh: backend $1:$2 did not start: $(cat "$out")" >&2
    exit 1
}

measure_set() { # NAME INTERVAL TIMEOUT FALL RISE [SIGNED]
    local set=$1 iv=$2 to=$3 fall=$4 rise=$5 dport bport conf gpid apid t0 ms run i dnssec=
    SIGNED=${6:-no}
    if [ "$SIGNED" = yes ]; then
        "$GSLBD" --keygen bench.test "$WORK" >/dev/null 2>&1
        dnssec=", \"dnssec\": {\"key_file\": \"$(find "$WORK" -name 'Kbench.test.+013+*.pem' | head -1)\"}"
    fi
    dport=$(free_port 127.0.0.1)
    bport=$(free_port $A $B)
    conf=$WORK/$set.json
    cat >"$WORK/bench.test.zone" <<'EOF'
$ORIGIN bench.test.
$TTL 300
@  IN SOA ns1 hostmaster 1 3600 600 86400 300
@  IN NS  ns1
ns1 IN A  192.0.2.53
EOF
    cat >"$conf" <<EOF
{
  "listen": ["127.0.0.1:$dport"], "workers": 1, "log_level": "info",
  "zones": [{"origin": "bench.test.", "file": "bench.test.zone"$dnssec}],
  "regions": [{"name": "lo", "lat": 50.11, "lon": 8.68}],
  "checks": [{"name": "web", "type": "http", "port": $bport, "path": "/health",
              "interval_ms": $iv, "timeout_ms": $to, "fall": $fall, "rise": $rise}],
  "clusters": [{"name": "a", "region": "lo", "addresses": ["$A"], "checks": ["web"]},
               {"name": "b", "region": "lo", "addresses": ["$B"], "checks": ["web"]}],
  "services": [{"name": "$NAME", "policy": "failover", "clusters": ["a", "b"]}]
}
EOF
    start_backend $A "$bport"
    apid=$BPID
    start_backend $B "$bport"
    "$GSLBD" -c "$conf" >"$WORK/gslbd-$set.log" 2>&1 &
    gpid=$!
    PIDS+=("$gpid")
    local bound=$((iv * fall + to + 100)) lo=$(((rise - 1) * iv)) hi=$((rise * iv + to))
    say ""
    say "== $set: interval ${iv} ms, timeout ${to} ms, fall $fall, rise $rise$([ "$SIGNED" = yes ] && echo ", zone signed, DO set") (gslbd $(basename "$(dirname "$GSLBD")"))"
    say "   HC-7 bound for failover: $iv * $fall + $to + 100 = $bound ms; recovery expected ${lo}..${hi} ms"
    : >"$WORK/fo-$set" && : >"$WORK/rec-$set"
    for ((run = 1; run <= RUNS; run++)); do
        ms=$(poll "$dport" "$A" "$(date +%s%N)" 15)
        if [ "$ms" = timeout ]; then
            say "   run $run: gslbd does not answer $A; log:"
            tail -5 "$WORK/gslbd-$set.log" | tee -a "$RESULT"
            break
        fi
        sleep 0.$((RANDOM % 9 + 1)) # a random phase against the probe schedule
        t0=$(date +%s%N)
        kill -KILL "$apid"
        wait "$apid" 2>/dev/null || true
        ms=$(poll "$dport" "$B" "$t0" $((bound / 1000 + 10)))
        echo "$ms" >>"$WORK/fo-$set"
        start_backend $A "$bport"
        apid=$BPID
        t0=$(date +%s%N)
        i=$(poll "$dport" "$A" "$t0" $((hi / 1000 + 10)))
        echo "$i" >>"$WORK/rec-$set"
        say "   run $run: failover $ms ms$([ "$ms" != timeout ] && [ "$ms" -gt "$bound" ] && echo " (OVER THE BOUND)"), recovery $i ms"
    done
    say "   median of $RUNS: failover $(median "$WORK/fo-$set") ms (bound $bound), recovery $(median "$WORK/rec-$set") ms"
    kill -TERM "$gpid" "$apid" 2>/dev/null || true
    for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    PIDS=()
}

say "gslbd failover benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $GSLBD, $RUNS runs per setting"
say "(polling every 50 ms with one UDP query; times include up to 50 ms of polling delay)"
for s in $SETS; do
    case $s in
    defaults) measure_set defaults 1000 800 3 3 ;;
    fast) measure_set fast 200 150 2 2 ;;
    fast-signed) measure_set fast-signed 200 150 2 2 yes ;;
    *) echo "failover.sh: unknown setting $s (defaults, fast, fast-signed)" >&2 ;;
    esac
done
say ""
say "results: $RESULT"
