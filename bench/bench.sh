#!/usr/bin/env bash
# bench.sh: measure server CPU per DNS query for gslbd, gdnsd and NSD with dnsperf on pinned cores.
#
# Usage: bash bench/bench.sh [build/release/gslbd]      (from the repository root)
# Environment:
#   BENCH_MODES="static geo pair"  static: one static zone, gslbd vs gdnsd vs NSD;
#                         geo: GSLB answers to EDNS Client Subnet queries from varied
#                         networks, gslbd (static and GSLB names) vs gdnsd's geoip plugin;
#                         pair: gslbd and gdnsd measured at the same time (bench/pair.sh)
#   BENCH_PAIR_ROUNDS=8 BENCH_PAIR_SECONDS=8 BENCH_PAIR_RATE=15000   the pair mode's rounds
#   BENCH_RUNS=3          interleaved runs per server (medians are reported)
#   BENCH_SECONDS=20      length of each dnsperf measurement (default 20 s static, 15 s geo;
#                         when set, both modes use it)
#   BENCH_GEO_TARGETS="gslbd-static gslbd-geo gdnsd-geo floor-geo"   what the geo mode
#                         measures (gdnsd-static may be added; floor-geo: floor.c, the same queries)
#   BENCH_RATE=30000      fixed query rate of the CPU-per-query measurement
#   BENCH_SERVERS="gslbd gdnsd nsd floor"   floor: bench/floor.c, the kernel's floor (static mode)
#   BENCH_PORT=25353      first of four loopback ports (one per server)
#   BENCH_E2E=0           1 adds the unpinned 2-worker end-to-end run (method 3)
#   BENCH_QUIET_WAIT=10   seconds to wait, before each measurement, for other load to stop
# Method and how to read the output: bench/README.md. Raw numbers go to bench/out/.
set -euo pipefail

GSLBD=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")/.."
GSLBD=${GSLBD:-build/release/gslbd}
GSLBD_RUN=$GSLBD
FLOOR=${GSLBD%/gslbd}/bench/floor # bench/floor.c, built beside the gslbd under test
FLOOR_RUN=$FLOOR
RUNS=${BENCH_RUNS:-3}
MODES=${BENCH_MODES:-static geo pair}
SECS_STATIC=${BENCH_SECONDS:-20}
SECS_GEO=${BENCH_SECONDS:-15}
SECS=$SECS_STATIC
GEO_TARGETS=${BENCH_GEO_TARGETS:-gslbd-static gslbd-geo gdnsd-geo floor-geo}
RATE=${BENCH_RATE:-30000}
SERVERS=${BENCH_SERVERS:-gslbd gdnsd nsd floor}
PORT_BASE=${BENCH_PORT:-25353}
E2E=${BENCH_E2E:-0}
QUIET_WAIT=${BENCH_QUIET_WAIT:-10}
ZONE=bench/zone/bench.example.zone
STATIC_QUERIES=bench/queries.txt
QUERIES=$STATIC_QUERIES     # the query file being used
GEO=bench/geo               # inputs of the geo mode (bench/README.md, "Geo mode")
MODE=static                 # the mode being measured
PERF_OPTS=()                # extra dnsperf options of the mode (-B: binary query files)
PROBE_NAME=www.bench.example # a name every server of the mode answers NOERROR
# Client subnets shown by the geo answer check: Rome, Miami, Seattle, Singapore, Sao Paulo
# (IPv4 /24s), Miami (IPv6 /56), and a network not in the database (default ranking).
GEO_CHECK_SUBNETS="10.1.7.0/24 10.44.7.0/24 10.3.7.0/24 10.40.7.0/24 10.61.7.0/24 2001:db8:1e00::/56 192.168.7.0/24"
BUF=4194304       # socket buffers asked of every server that takes a size
GDNSD_BUF=1048576 # gdnsd refuses udp_rcvbuf/udp_sndbuf above 1 MiB
SERVER_CPU=1
CLIENT_CPU=0
WARMUP=2
HZ=$(getconf CLK_TCK)

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=bench/out/$STAMP
mkdir -p "$OUT"
RAW=$OUT/raw.tsv # raw.tsv for the static mode, raw-geo.tsv for the geo mode
WORK=$(mktemp -d /tmp/gslbd-bench.XXXXXX)

SERVER_PIDS=() # every process of the server under test (the started one and its children)
PAIR_PIDS=()   # the pair mode's second server while it runs
SERVER_NAME=
SERVER_PORT=

# ---------------------------------------------------------------- process accounting

# Parent pid of process $1 ("" when gone). The comm field may hold spaces and ')'.
ppid_of() {
    local s f
    read -r s 2>/dev/null <"/proc/$1/stat" || return 0
    s=${s##*) }
    read -r -a f <<<"$s"
    echo "${f[1]}"
}

# $1 and all its descendants, one pid a line.
proc_tree() {
    local root=$1 p pp changed=1
    local -A tree=([$root]=1)
    [ -d "/proc/$root" ] || return 0
    while [ $changed -eq 1 ]; do
        changed=0
        for d in /proc/[0-9]*; do
            p=${d#/proc/}
            [ -n "${tree[$p]:-}" ] && continue
            pp=$(ppid_of "$p")
            if [ -n "$pp" ] && [ -n "${tree[$pp]:-}" ]; then
                tree[$p]=1
                changed=1
            fi
        done
    done
    printf '%s\n' "${!tree[@]}"
}

# utime+stime in clock ticks, summed over every thread of every process given.
cpu_ticks() {
    local total=0 p s t f
    for p in "$@"; do
        for t in /proc/"$p"/task/*/stat; do
            read -r s 2>/dev/null <"$t" || continue
            s=${s##*) }
            read -r -a f <<<"$s" # f[0] is field 3 (state): utime is field 14, stime 15
            total=$((total + f[11] + f[12]))
        done
    done
    echo "$total"
}

# Ticks of the whole machine: "task" (user+nice+system, what processes are charged) and
# "irq" (irq+softirq: with IRQ time accounting the loopback receive path lands here, charged
# to no process), then task ticks of CPU $1 alone, then steal (time the hypervisor gave
# the VM's CPUs to someone else).
sys_busy() {
    awk -v cpu="cpu$1" '
        $1 == "cpu" { task = $2 + $3 + $4; irq = $7 + $8; steal = $9 }
        $1 == cpu { one = $2 + $3 + $4 }
        END { print task, irq, one, steal }' /proc/stat
}

# Wait (at most QUIET_WAIT s) until the machine spends under 10% of a core on other
# processes: other users' builds and tests on a 2-core machine skew every figure.
wait_quiet() {
    local waited=0 a b busy
    while [ "$waited" -lt "$QUIET_WAIT" ]; do
        a=$(sys_busy 0)
        sleep 1
        b=$(sys_busy 0)
        busy=$((${b%% *} - ${a%% *}))
        [ $((busy * 10)) -lt "$HZ" ] && break
        waited=$((waited + 1))
    done
    [ "$waited" -gt 0 ] && echo "    (waited ${waited} s for other load to settle)"
    return 0
}

# ---------------------------------------------------------------- servers

fill_template() { # template output: replace the @NAME@ markers
    sed -e "s|@PORT@|$SERVER_PORT|g" -e "s|@THREADS@|$THREADS|g" -e "s|@BUF@|$BUF|g" \
        -e "s|@GDNSD_BUF@|$GDNSD_BUF|g" -e "s|@DIR@|$DIR|g" "$1" >"$2"
}

# start_server NAME THREADS PINNED: start NAME in the foreground, as our child, and wait
# until it answers. Sets SERVER_PIDS. Returns 1 (with the log) if it does not come up.
start_server() {
    local name=$1 pin=$3 pid
    THREADS=$2
    DIR=$WORK/$name
    rm -rf "$DIR"
    mkdir -p "$DIR"
    SERVER_NAME=$name
    case $name in
    gslbd) SERVER_PORT=$PORT_BASE ;;
    gdnsd) SERVER_PORT=$((PORT_BASE + 1)) ;;
    nsd) SERVER_PORT=$((PORT_BASE + 2)) ;;
    floor) SERVER_PORT=$((PORT_BASE + 3)) ;;
    esac
    local -a cmd
    case $name in
    gslbd)
        if [ "$MODE" = geo ]; then
            cp "$WORK/geo/bench.mmdb" "$GEO/geo.example.zone" "$DIR/"
            fill_template "$GEO/gslbd.json" "$DIR/gslbd.json"
            cmd=("$GSLBD_RUN" -c "$DIR/gslbd.json")
        else
            cmd=("$GSLBD_RUN" --zone "bench.example=$ZONE" --listen "127.0.0.1:$SERVER_PORT"
                --workers "$THREADS")
        fi
        ;;
    gdnsd)
        mkdir -p "$DIR/zones"
        if [ "$MODE" = geo ]; then
            cp "$WORK/geo/bench.mmdb" "$DIR/"
            fill_template "$GEO/gdnsd/config" "$DIR/config"
            cat "$GEO/geo.example.zone" "$GEO/gdnsd/dyna.zone" >"$DIR/zones/geo.example"
        else
            fill_template bench/peers/gdnsd/config "$DIR/config"
            cp "$ZONE" "$DIR/zones/bench.example"
        fi
        cmd=(gdnsd -c "$DIR" start)
        ;;
    nsd)
        fill_template bench/peers/nsd/nsd.conf "$DIR/nsd.conf"
        cp "$ZONE" "$DIR/bench.example.zone"
        cmd=(nsd -d -c "$DIR/nsd.conf")
        ;;
    floor)
        cmd=("$FLOOR_RUN" 127.0.0.1 "$SERVER_PORT")
        ;;
    esac
    if [ "$pin" = 1 ]; then
        cmd=(taskset -c "$SERVER_CPU" "${cmd[@]}")
    fi
    if [ -n "$(ss -Hulnt "sport = :$SERVER_PORT")" ]; then
        echo "bench: port $SERVER_PORT is already in use (set BENCH_PORT)" >&2
        return 1
    fi
    "${cmd[@]}" >"$DIR/stdout.log" 2>&1 &
    pid=$!
    SERVER_PIDS=("$pid")
    for _ in $(seq 1 50); do
        if ! kill -0 "$pid" 2>/dev/null; then
            break
        fi
        if dig +tries=1 +time=1 -p "$SERVER_PORT" @127.0.0.1 "$PROBE_NAME" A 2>/dev/null |
            grep -q 'status: NOERROR'; then
            # NSD forks (xfrd, main, server); take the whole tree once it answers.
            mapfile -t SERVER_PIDS < <(proc_tree "$pid")
            return 0
        fi
        sleep 0.2
    done
    echo "bench: $name did not start or does not answer on 127.0.0.1:$SERVER_PORT; log:" >&2
    cat "$DIR/stdout.log" "$DIR"/*.log 2>/dev/null | tail -20 >&2
    stop_server
    return 1
}

stop_server() {
    local p alive
    [ ${#SERVER_PIDS[@]} -eq 0 ] && return 0
    # Pick up late children too, then stop every process by its own pid.
    mapfile -t -O ${#SERVER_PIDS[@]} SERVER_PIDS < <(proc_tree "${SERVER_PIDS[0]}")
    kill -TERM "${SERVER_PIDS[@]}" 2>/dev/null || true
    for _ in $(seq 1 50); do
        alive=0
        for p in "${SERVER_PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ $alive -eq 0 ] && break
        sleep 0.1
    done
    kill -KILL "${SERVER_PIDS[@]}" 2>/dev/null || true
    wait "${SERVER_PIDS[0]}" 2>/dev/null || true
    SERVER_PIDS=()
}

cleanup() {
    stop_server
    if [ ${#PAIR_PIDS[@]} -gt 0 ]; then
        SERVER_PIDS=("${PAIR_PIDS[@]}")
        stop_server
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The socket buffer sizes the kernel actually gave the server's UDP socket(s).
socket_buffers() {
    ss -ulmn "sport = :$SERVER_PORT" 2>/dev/null |
        sed -n 's/.*skmem:(r[0-9]*,rb\([0-9]*\),t[0-9]*,tb\([0-9]*\),.*/rcv=\1 snd=\2/p' |
        sort -u | tr '\n' ' '
}

# ---------------------------------------------------------------- one measurement

# measure TEST RUN: run dnsperf against the running server and append one line to $RAW.
measure() {
    local test=$1 run=$2 log c0 c1 b0 b1 t0 t1
    local -a perf=(dnsperf "${PERF_OPTS[@]}" -s 127.0.0.1 -p "$SERVER_PORT" -d "$QUERIES" -l "$SECS")
    case $test in
    capacity) perf=(taskset -c "$CLIENT_CPU" "${perf[@]}" -T 1 -c 32 -q 200) ;;
    rate) perf=(taskset -c "$CLIENT_CPU" "${perf[@]}" -T 1 -c 32 -q 200 -Q "$RATE") ;;
    e2e) perf=("${perf[@]}" -T 2 -c 64 -q 200) ;;
    esac
    log=$OUT/$SERVER_NAME-$test-$run.txt
    wait_quiet
    # Warm-up, not counted: fills caches and the servers' lazily built state.
    "${perf[@]}" -l "$WARMUP" >/dev/null 2>&1 || true
    mapfile -t -O ${#SERVER_PIDS[@]} SERVER_PIDS < <(proc_tree "${SERVER_PIDS[0]}")
    mapfile -t SERVER_PIDS < <(printf '%s\n' "${SERVER_PIDS[@]}" | sort -un)
    c0=$(cpu_ticks "${SERVER_PIDS[@]}")
    b0=$(sys_busy "$SERVER_CPU")
    t0=$(date +%s.%N)
    # dnsperf's own CPU (user+sys of the child) from bash's time keyword.
    local TIMEFORMAT='%U %S'
    { time "${perf[@]}" >"$log" 2>&1; } 2>"$log.time" || true
    t1=$(date +%s.%N)
    c1=$(cpu_ticks "${SERVER_PIDS[@]}")
    b1=$(sys_busy "$SERVER_CPU")
    echo "command: ${perf[*]}" >>"$log"
    echo "server processes: ${SERVER_PIDS[*]}; socket buffers: $(socket_buffers)" >>"$log"

    awk -v server="$SERVER_NAME" -v test="$test" -v run="$run" -v hz="$HZ" \
        -v c0="$c0" -v c1="$c1" -v b0="$b0" -v b1="$b1" -v t0="$t0" -v t1="$t1" \
        -v ptime="$(cat "$log.time")" -v bufs="$(socket_buffers)" '
        /Queries sent:/ { sent = $3 }
        /Queries completed:/ { done_ = $3 }
        /Queries lost:/ { lost = $3 }
        /Queries per second:/ { qps = $4 }
        /Average Latency/ { lat = $4 }
        /Response codes:/ { sub(/.*Response codes: /, ""); gsub(/ /, ""); rcodes = $0 }
        END {
            split(b0, B0, " "); split(b1, B1, " "); split(ptime, P, " ")
            cpu = (c1 - c0) / hz
            perf = P[1] + P[2]
            wall = t1 - t0
            # Task CPU time on the machine used by neither the server nor dnsperf: other
            # load, which may come from processes this script cannot see.
            other = (B1[1] - B0[1]) / hz - cpu - perf
            if (other < 0) other = 0
            irq = (B1[2] - B0[2]) / hz
            percore = cpu > 0 ? done_ / cpu : 0
            us = done_ > 0 ? cpu / done_ * 1e6 : 0
            printf "%s\t%s\t%d\t%d\t%d\t%d\t%.0f\t%.3f\t%.0f\t%.3f\t%.3f\t%.1f\t%.2f\t%.1f\t%.3f\t%s\t%s\t%.1f\n",
                server, test, run, sent, done_, lost, qps, cpu, percore, us, perf,
                100 * other / wall, lat * 1000, 100 * (B1[3] - B0[3]) / hz / wall, irq,
                rcodes, bufs, 100 * (B1[4] - B0[4]) / hz / wall
        }' "$log" >>"$RAW"
    tail -n 1 "$RAW" | awk -F'\t' '{
        if ($2 == "capacity")
            printf "    %-12s capacity: %8d queries, server CPU %6.2f s -> %7.0f qps/core (dnsperf %6.0f qps, lost %d, other load %.1f%%, steal %.1f%%)\n",
                $1, $5, $8, $9, $7, $6, $12, $18
        else
            printf "    %-12s %-8s: %8d queries, server CPU %6.2f s -> %6.2f us/query (dnsperf %6.0f qps, lost %d, other load %.1f%%, steal %.1f%%)\n",
                $1, $2, $5, $8, $10, $7, $6, $12, $18
    }'
}

# What the server answers for a few queries: status and section counts, to check every
# server gives the same kind of answer before its figures are compared.
answer_check() {
    local q qname qtype line
    for q in "host001 A" "host002 AAAA" "dept01 MX" "dept02 TXT" "alias01 A" "nx1 A"; do
        read -r qname qtype <<<"$q"
        line=$(dig +tries=1 +time=1 +norec -p "$SERVER_PORT" @127.0.0.1 "$qname.bench.example" "$qtype" |
            sed -n 's/.*status: \([A-Z]*\),.*/\1/p;s/.*QUERY: 1, ANSWER: \([0-9]*\), AUTHORITY: \([0-9]*\), ADDITIONAL: \([0-9]*\).*/an=\1 ns=\2 ar=\3/p;s/.*MSG SIZE  rcvd: \([0-9]*\).*/\1B/p' |
            tr '\n' ' ')
        printf '      %-14s %s\n' "$q" "$line"
    done
}

# Geo mode: the addresses the server answers for www.geo.example to a few client subnets
# (dig +subnet), with their region, so the servers can be seen to rank regions alike.
geo_answer_check() {
    local sn addrs region
    for sn in $GEO_CHECK_SUBNETS; do
        addrs=$(dig +tries=1 +time=1 +norec +short -p "$SERVER_PORT" @127.0.0.1 www.geo.example A \
            +subnet="$sn" 2>/dev/null | sort | tr '\n' ' ')
        region=$(awk -v a="${addrs%% *}" '$1 == a { print $2 }' "$GEO/regions.txt")
        printf '      %-20s %-30s %s\n' "$sn" "${addrs:-(no answer)}" "${region:-?}"
    done
}

raw_header() {
    printf 'server\ttest\trun\tsent\tcompleted\tlost\tdnsperf_qps\tserver_cpu_s\tqps_per_core\tus_per_query\tdnsperf_cpu_s\tother_load_pct\tavg_latency_ms\tserver_core_busy_pct\tirq_softirq_s\trcodes\tsocket_buffers\tsteal_pct\n' >"$RAW"
}

# The static mode: one static zone, every active server, interleaved runs.
run_static() {
    local run s
    local -a checked=()
    MODE=static SECS=$SECS_STATIC RAW=$OUT/raw.tsv QUERIES=$STATIC_QUERIES
    PERF_OPTS=() PROBE_NAME=www.bench.example
    raw_header
    for run in $(seq 1 "$RUNS"); do
        echo "static run $run/$RUNS"
        for s in "${active[@]}"; do
            if ! start_server "$s" 1 1; then
                echo "    $s: skipped this run (did not start)"
                continue
            fi
            if [[ " ${checked[*]} " != *" $s "* ]]; then
                echo "    $s answers (status, counts, size); socket buffers: $(socket_buffers)"
                answer_check | tee -a "$OUT/answers-$s.txt"
                checked+=("$s")
            fi
            measure capacity "$run"
            measure rate "$run"
            stop_server
            if [ "$E2E" = 1 ]; then
                start_server "$s" 2 0 && { measure e2e "$run"; stop_server; }
            fi
        done
    done
}

# The geo mode: ECS queries from varied networks to GSLB names (gslbd-geo, gdnsd-geo) and,
# as gslbd's baseline, the same queries to static names (gslbd-static). The order of the
# targets turns by one each run (ABC, BCA, CAB), so none is always first or last.
run_geo() {
    local run t s i n=${#geo_active[@]}
    local -a checked=()
    MODE=geo SECS=$SECS_GEO RAW=$OUT/raw-geo.tsv PERF_OPTS=(-B) PROBE_NAME=ns1.geo.example
    raw_header
    for run in $(seq 1 "$RUNS"); do
        echo "geo run $run/$RUNS"
        for ((i = 0; i < n; i++)); do
            t=${geo_active[$(((i + run - 1) % n))]}
            s=${t%%-*}
            case $t in
            *-static) QUERIES=$WORK/geo/static.bin ;;
            *) QUERIES=$WORK/geo/geo.bin ;;
            esac
            if ! start_server "$s" 1 1; then
                echo "    $t: skipped this run (did not start)"
                continue
            fi
            SERVER_NAME=$t
            if [ "$s" != floor ] && [[ " ${checked[*]} " != *" $s "* ]]; then
                echo "    $s answers www.geo.example (client subnet, addresses, region); socket buffers: $(socket_buffers)"
                geo_answer_check | tee -a "$OUT/answers-geo-$s.txt"
                python3 "$GEO/geoq.py" probe "$SERVER_PORT" "$WORK/geo/geo.bin" 500 >"$OUT/probe-$s.txt"
                echo "    $s: rcode/scope of the first 500 client subnets in $OUT/probe-$s.txt"
                checked+=("$s")
                if [ -s "$OUT/probe-gslbd.txt" ] && [ -s "$OUT/probe-gdnsd.txt" ]; then
                    python3 "$GEO/geoq.py" compare "$GEO/regions.txt" "$OUT/probe-gslbd.txt" \
                        "$OUT/probe-gdnsd.txt" | sed 's/first/gslbd/g;s/second/gdnsd/g' >"$OUT/agreement.txt"
                    sed 's/^/    /' "$OUT/agreement.txt"
                fi
            fi
            measure capacity "$run"
            measure rate "$run"
            stop_server
        done
    done
}

# shellcheck source=bench/pair.sh
source bench/pair.sh

# ---------------------------------------------------------------- main

for tool in dnsperf dig taskset ss awk; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps)" >&2; exit 1; }
done
active=()
for s in $SERVERS; do
    case $s in
    gslbd)
        if [ -x "$GSLBD" ]; then active+=(gslbd); else echo "bench: no $GSLBD, skipping gslbd" >&2; fi
        ;;
    gdnsd | nsd)
        if command -v "$s" >/dev/null; then active+=("$s"); else echo "bench: $s not installed, skipping" >&2; fi
        ;;
    floor)
        if [ -x "$FLOOR" ]; then active+=(floor); else echo "bench: no $FLOOR (make VARIANT=release $FLOOR), skipping floor" >&2; fi
        ;;
    *) echo "bench: unknown server $s" >&2; exit 2 ;;
    esac
done
[ ${#active[@]} -gt 0 ] || { echo "bench: no server to measure" >&2; exit 1; }
do_static=0 do_geo=0 do_pair=0
for m in $MODES; do
    case $m in
    static) do_static=1 ;;
    geo) do_geo=1 ;;
    pair) do_pair=1 ;;
    *) echo "bench: unknown mode $m (static, geo, pair)" >&2; exit 2 ;;
    esac
done
have_geo_tools() { command -v python3 >/dev/null && perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null; }
PAIR_KINDS=""
if [ "$do_pair" = 1 ]; then
    if [[ " ${active[*]} " != *" gslbd "* ]] || [[ " ${active[*]} " != *" gdnsd "* ]]; then
        echo "bench: pair mode needs both gslbd and gdnsd, skipping it" >&2
        do_pair=0
    else
        PAIR_KINDS="static"
        if have_geo_tools; then PAIR_KINDS="static geo"; fi
    fi
fi
geo_active=()
if [ "$do_geo" = 1 ]; then
    for t in $GEO_TARGETS; do
        case $t in
        gslbd-static | gslbd-geo | gdnsd-static | gdnsd-geo | floor-geo) ;;
        *) echo "bench: unknown geo target $t" >&2; exit 2 ;;
        esac
        [[ " ${active[*]} " == *" ${t%%-*} "* ]] && geo_active+=("$t")
    done
    if [ ${#geo_active[@]} -eq 0 ]; then
        echo "bench: geo mode: neither gslbd nor gdnsd to measure, skipping it" >&2
        do_geo=0
    elif ! have_geo_tools; then
        echo "bench: geo mode needs python3 and perl's MaxMind::DB::Writer (make deps), skipping it" >&2
        do_geo=0
    fi
fi
[ "$do_static" = 1 ] || [ "$do_geo" = 1 ] || [ "$do_pair" = 1 ] ||
    { echo "bench: nothing to measure" >&2; exit 1; }
if [[ " ${active[*]} " == *" gslbd "* ]]; then
    # A private copy: a rebuild during the run must not change the binary under test.
    cp "$GSLBD" "$WORK/gslbd-under-test"
    GSLBD_RUN=$WORK/gslbd-under-test
fi
if [[ " ${active[*]} " == *" floor "* ]]; then
    cp "$FLOOR" "$WORK/floor-under-test"
    FLOOR_RUN=$WORK/floor-under-test
fi
if [ "$do_geo" = 1 ] || [[ " $PAIR_KINDS " == *" geo "* ]]; then
    # The bench GeoIP database and the two query files (deterministic), built afresh.
    mkdir -p "$WORK/geo"
    perl geo/mkmmdb.pl "$GEO/networks.txt" "$WORK/geo/bench.mmdb"
    python3 "$GEO/geoq.py" queries "$GEO/networks.txt" "$WORK/geo/geo.bin" "$WORK/geo/static.bin" \
        >"$WORK/geo/queries.log"
fi

tests=(capacity rate)
[ "$E2E" = 1 ] && tests+=(e2e)
per_start=$(((WARMUP + 1) * ${#tests[@]} + 3)) # warm-ups, quiet checks, start and stop
total=0 quiet=0
if [ "$do_static" = 1 ]; then
    total=$((RUNS * ${#active[@]} * (${#tests[@]} * SECS_STATIC + per_start)))
    quiet=$((RUNS * ${#active[@]} * ${#tests[@]} * (QUIET_WAIT - 1)))
    printf 'gslbd bench, static mode: servers %s; %d runs x %d tests x %d s\n' \
        "${active[*]}" "$RUNS" "${#tests[@]}" "$SECS_STATIC"
fi
if [ "$do_geo" = 1 ]; then
    total=$((total + RUNS * ${#geo_active[@]} * (2 * SECS_GEO + 2 * (WARMUP + 1) + 3)))
    quiet=$((quiet + RUNS * ${#geo_active[@]} * 2 * (QUIET_WAIT - 1)))
    printf 'gslbd bench, geo mode: %s; %d runs x 2 tests x %d s\n' \
        "${geo_active[*]}" "$RUNS" "$SECS_GEO"
fi
if [ "$do_pair" = 1 ]; then
    set -- $PAIR_KINDS
    n=$#
    [[ " ${active[*]} " == *" floor "* ]] && n=$((n + 1))
    total=$((total + n * (PAIR_ROUNDS * 2 * (PAIR_SECS + 1) + WARMUP + 8)))
    printf 'gslbd bench, pair mode: %s; %d rounds x 2 tests x %d s\n' "$PAIR_KINDS" "$PAIR_ROUNDS" "$PAIR_SECS"
fi
printf 'about %d min %02d s in all\n' $((total / 60)) $((total % 60))
[ "$quiet" -gt 0 ] && printf '  (plus up to %d s waiting for other load to stop)\n' "$quiet"
printf 'server on CPU %d (1 worker), dnsperf on CPU %d\n' "$SERVER_CPU" "$CLIENT_CPU"
[ "$do_static" = 1 ] && printf 'static: zone %s, queries %s (%d lines)\n' "$ZONE" "$STATIC_QUERIES" \
    "$(wc -l <"$STATIC_QUERIES")"
[ "$do_geo" = 1 ] && printf 'geo: networks %s (%d), %s\n' "$GEO/networks.txt" \
    "$(grep -c '^[0-9a-f]' "$GEO/networks.txt")" "$(cat "$WORK/geo/queries.log")"
echo "raw numbers: $OUT/"
echo "load before start: $(cut -d' ' -f1-3 /proc/loadavg)"
{
    echo "date: $(date -Is)"
    echo "kernel: $(uname -r); cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo)"
    echo "dnsperf: $(dnsperf -h 2>&1 | sed -n 's/^Version //p')"
    echo "gdnsd: $(gdnsd -V 2>&1 | sed -n 's/^gdnsd version //p' | head -n 1)"
    echo "nsd: $(nsd -v 2>&1 | head -n 1)"
    echo "gslbd: $GSLBD $("$GSLBD" --version 2>&1 | head -n 1)"
    echo "settings: modes $MODES, runs $RUNS, seconds $SECS_STATIC (static) $SECS_GEO (geo), rate $RATE, port $PORT_BASE, e2e $E2E, geo targets ${geo_active[*]}"
    sysctl net.core.rmem_max net.core.wmem_max 2>/dev/null
} >"$OUT/env.txt" 2>&1

begin=$(date +%s)
[ "$do_static" = 1 ] && run_static
[ "$do_geo" = 1 ] && run_geo
if [ "$do_pair" = 1 ]; then
    printf 'kind\ta\tb\ttest\tround\ta_completed\ta_cpu_s\ta_us_per_query\tb_completed\tb_cpu_s\tb_us_per_query\tratio\n' >"$OUT/raw-pair.tsv"
    for k in $PAIR_KINDS; do run_pair "$k" gslbd gdnsd; done
    [[ " ${active[*]} " == *" floor "* ]] && run_pair static floor gdnsd
fi
end=$(date +%s)

# ---------------------------------------------------------------- summary

median() { # of the numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
        else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# col SERVER TEST FIELD: one column of the measurements taken while the machine was quiet
# (other load at most 5% of a core), or of all of them when none was.
col() {
    awk -F'\t' -v s="$1" -v t="$2" -v f="$3" '
        NR > 1 && $1 == s && $2 == t { all[++n] = $f; if ($12 <= 5) quiet[++q] = $f }
        END { if (q) for (i = 1; i <= q; i++) print quiet[i]; else for (i = 1; i <= n; i++) print all[i] }' "$RAW"
}
quiet_count() { # quiet_count SERVER TEST: "quiet/all"
    awk -F'\t' -v s="$1" -v t="$2" 'NR > 1 && $1 == s && $2 == t { n++; if ($12 <= 5) q++ }
        END { printf "%d/%d", q, n }' "$RAW"
}

# table SERVER...: the medians of each server (or geo target) of $RAW.
table() {
    local s cap busy pq cl us rq rl rc
    printf 'medians of %d runs, %d s each (%s); "quiet": runs with other load <= 5%%, the\n' \
        "$RUNS" "$SECS" "$(date -d @"$begin" '+%F %T')"
    printf 'only ones counted when there is at least one\n'
    printf '%-12s | %10s %6s %11s %5s %5s | %9s %10s %5s %5s | %s\n' server "qps/core" "busy%" \
        "dnsperf qps" lost quiet "us/query" "@$RATE qps" lost quiet "rcodes (capacity run 1)"
    for s in "$@"; do
        cap=$(col "$s" capacity 9 | median)
        busy=$(col "$s" capacity 8 | awk -v t="$SECS" '{ print 100 * $1 / t }' | median)
        pq=$(col "$s" capacity 7 | median)
        cl=$(col "$s" capacity 6 | median)
        us=$(col "$s" rate 10 | median)
        rq=$(col "$s" rate 7 | median)
        rl=$(col "$s" rate 6 | median)
        rc=$(awk -F'\t' -v s="$s" 'NR > 1 && $1 == s && $2 == "capacity" { print $16; exit }' "$RAW")
        printf '%-12s | %10.0f %6.1f %11.0f %5.0f %5s | %9.2f %10.0f %5.0f %5s | %s\n' "$s" "$cap" \
            "$busy" "$pq" "$cl" "$(quiet_count "$s" capacity)" "$us" "$rq" "$rl" \
            "$(quiet_count "$s" rate)" "$rc" 2>/dev/null || printf '%-12s | no data\n' "$s"
        if [ "$E2E" = 1 ] && [ "$MODE" = static ]; then
            printf '             end-to-end (2 workers, dnsperf -T 2 -c 64): %.0f qps, lost %.0f\n' \
                "$(col "$s" e2e 7 | median)" "$(col "$s" e2e 6 | median)" 2>/dev/null || true
        fi
    done
}

table_footer() { # SERVER...: other-load warning and socket buffers
    local s
    awk -F'\t' 'NR > 1 && $12 > 5 { n++ } END {
        if (n) printf "warning: %d measurement(s) saw more than 5%% of a core used by other processes (other_load_pct in raw.tsv)\n", n }' "$RAW"
    for s in "$@"; do
        printf 'socket buffers %-12s %s\n' "$s" \
            "$(awk -F'\t' -v s="$s" 'NR > 1 && $1 == s { print $17; exit }' "$RAW")"
    done
}

# paired TEST A B: A's server CPU per answered query over B's, run by run (both measured
# in the same run, a minute or less apart), one "RUN RATIO" a line. The CPU per query is
# us/query for the rate test and 1e6 / (qps per core) for the capacity test.
paired() {
    awk -F'\t' -v t="$1" -v a="$2" -v b="$3" '
        NR > 1 && $2 == t && ($1 == a || $1 == b) {
            x[$1, $3] = (t == "rate") ? $10 : (($9 > 0) ? 1e6 / $9 : 0); r[$3] = 1 }
        END { for (k in r) if (x[a, k] > 0 && x[b, k] > 0) printf "%d %.3f\n", k, x[a, k] / x[b, k] }' "$RAW" |
        sort -n
}

# ratio_line A B LIMIT: A's CPU per answered query over B's, at the fixed rate and at
# capacity: the median of the run-by-run ratios (every run, quiet or not: a pair shares its
# run's conditions, while the quiet filter of the table may keep different runs for A and
# B), checked against LIMIT.
ratio_line() {
    local a=$1 b=$2 limit=$3 t r runs label verdict=met
    printf '%-26s' "$a / $b"
    for t in rate capacity; do
        label=$([ "$t" = rate ] && echo "@$RATE:" || echo "capacity:")
        runs=$(paired "$t" "$a" "$b" | awk '{ printf "%s%.2f", (NR > 1) ? " " : "", $2 }')
        if [ -z "$runs" ]; then
            printf ' %-32s' "$label no data"
            verdict="not measured"
            continue
        fi
        r=$(paired "$t" "$a" "$b" | awk '{ print $2 }' | median | awk '{ printf "%.2f", $1 }')
        awk -v r="$r" -v l="$limit" 'BEGIN { exit !(r > l) }' && [ "$verdict" = met ] && verdict="NOT met"
        printf ' %-32s' "$label $r (runs $runs)"
    done
    if [ -n "$limit" ]; then printf ' target <= %s: %s\n' "$limit" "$verdict"; else printf '\n'; fi
}

# above_floor SERVER FLOOR: the server's CPU per query at capacity minus the floor's in the
# same run, in ns (the median over runs): its own work, and what its larger answers cost.
above_floor() {
    awk -F'\t' -v a="$1" -v f="$2" 'NR > 1 && $2 == "capacity" && ($1 == a || $1 == f) && $9 > 0 {
            x[$1, $3] = 1e9 / $9; r[$3] = 1 }
        END { for (k in r) if ((a, k) in x && (f, k) in x) printf "%.0f\n", x[a, k] - x[f, k] }' "$RAW" |
        sort -n | median
}

# The query engine alone (bench/engine_bench.c: no sockets, no kernel), pinned to the
# server's CPU: what gslbd's own code costs of each query's CPU. engine_line LABEL ARGS...
ENGINE=${GSLBD%/gslbd}/bench/engine_bench
engine_line() {
    local label=$1 out
    shift
    [ -x "$ENGINE" ] || { printf '%-26s (no %s: make VARIANT=release %s)\n' "$label" "$ENGINE" "$ENGINE"; return 0; }
    out=$(taskset -c "$SERVER_CPU" "$ENGINE" "$@" 2>/dev/null) || out="engine_bench failed"
    printf '%-26s %s\n' "$label" "${out#engine: }"
}

summary_static() {
    MODE=static SECS=$SECS_STATIC RAW=$OUT/raw.tsv
    echo
    echo "== static mode: zone $ZONE, queries $STATIC_QUERIES =="
    table "${active[@]}"
    g=$(col gslbd capacity 9 | median)
    d=$(col gdnsd capacity 9 | median)
    if [ "$g" != - ] && [ "$d" != - ]; then
        awk -v g="$g" -v d="$d" 'BEGIN { printf "capacity ratio gslbd/gdnsd (of the medians): %.2f\n", g / d }'
    fi
    if [[ " ${active[*]} " == *" gslbd "* ]]; then
        echo "server CPU per answered query, A / B: median of the ratios within each run (lower is better;"
        echo "capacity at least gdnsd's means a capacity ratio <= 1.00):"
        [[ " ${active[*]} " == *" gdnsd "* ]] && ratio_line gslbd gdnsd 1.00
        [[ " ${active[*]} " == *" nsd "* ]] && ratio_line gslbd nsd 1.00
    fi
    if [[ " ${active[*]} " == *" floor "* ]]; then
        echo "against the kernel's floor (bench/floor.c: the same recvmmsg/sendmmsg, empty answers, no DNS"
        echo "work; no server can spend less): CPU per query over the floor's, median of the run ratios,"
        echo "and ns per query above the floor at capacity (the server's own work and larger answers):"
        for s in gslbd gdnsd nsd; do
            [[ " ${active[*]} " == *" $s "* ]] || continue
            ratio_line "$s" floor ""
            printf '%-26s %s ns/query above the floor\n' "" "$(above_floor "$s" floor)"
        done
    fi
    if [[ " ${active[*]} " == *" gslbd "* ]]; then
        echo "gslbd's own code per query, without sockets (median of 5 runs; the rest of the CPU above is the kernel's):"
        engine_line "  engine, static zone" -z "bench.example=$ZONE" "$STATIC_QUERIES"
    fi
    table_footer "${active[@]}"
}

summary_geo() {
    MODE=geo SECS=$SECS_GEO RAW=$OUT/raw-geo.tsv
    echo
    echo "== geo mode: every query with EDNS and an ECS option (varied /24s and /56s of $GEO/networks.txt); A of GSLB names (-geo) or of static names (-static) =="
    table "${geo_active[@]}"
    echo "server CPU per answered query, A / B: median of the ratios within each run (lower is better):"
    ratio_line gslbd-geo gslbd-static 1.10
    ratio_line gslbd-geo gdnsd-geo 1.00
    [[ " ${geo_active[*]} " == *" gdnsd-static "* ]] && ratio_line gdnsd-geo gdnsd-static 1.10
    if [[ " ${geo_active[*]} " == *" floor-geo "* ]]; then
        echo "against the kernel's floor (bench/floor.c answering the same queries, no DNS work):"
        for t in gslbd-geo gdnsd-geo; do
            [[ " ${geo_active[*]} " == *" $t "* ]] || continue
            ratio_line "$t" floor-geo ""
            printf '%-26s %s ns/query above the floor\n' "" "$(above_floor "$t" floor-geo)"
        done
    fi
    if [[ " ${geo_active[*]} " == *" gslbd-"* ]]; then
        local d=$WORK/engine
        mkdir -p "$d"
        cp "$WORK/geo/bench.mmdb" "$GEO/geo.example.zone" "$d/"
        DIR=$d SERVER_PORT=$PORT_BASE THREADS=1 fill_template "$GEO/gslbd.json" "$d/gslbd.json"
        echo "gslbd's own code per query, without sockets (median of 5 runs; the rest of the CPU above is the kernel's):"
        engine_line "  engine, gslbd-geo" -c "$d/gslbd.json" -B "$WORK/geo/geo.bin"
        engine_line "  engine, gslbd-static" -c "$d/gslbd.json" -B "$WORK/geo/static.bin"
    fi
    if [ -s "$OUT/agreement.txt" ]; then
        echo "answers, first 500 client subnets of the geo queries: $(head -n 1 "$OUT/agreement.txt")"
    fi
    table_footer "${geo_active[@]}"
}

{
    [ "$do_static" = 1 ] && summary_static
    [ "$do_geo" = 1 ] && summary_geo
    [ "$do_pair" = 1 ] && summary_pair
    printf 'took %d s; raw numbers and dnsperf logs in %s/\n' $((end - begin)) "$OUT"
} | tee "$OUT/summary.txt"
