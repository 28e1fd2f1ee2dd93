# pair.sh: the pair mode of bench/bench.sh, which sources this file (it uses bench.sh's
# start_server, stop_server, cpu_ticks and median; it runs nothing on its own).
#
# The other modes measure one server at a time. On this machine the host's noise moves the
# same binary's CPU per query by 10-30% from one minute to the next, more than the
# differences between the servers. Here gslbd and gdnsd run at the same time, both pinned
# to the server core, each driven by its own dnsperf on the client core with the same
# settings. In each round both servers see the same host, the same load and the same
# caches, so the ratio of their CPU per query cancels what moves both; the summary gives
# the median of the rounds' ratios. Two tests per round: both paced at PAIR_RATE queries
# per second ("paced"), and both unpaced (as fast as one dnsperf thread each goes, which
# with two of them sharing the client core is about half the capacity test's load).
# The static kind also pairs the kernel's floor (bench/floor.c) with gdnsd: how much a
# server doing no DNS work at all would gain on gdnsd under the same conditions.

PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-8}
PAIR_SECS=${BENCH_PAIR_SECONDS:-8}
PAIR_RATE=${BENCH_PAIR_RATE:-15000}

# pair_round KIND A B TEST ROUND: one simultaneous measurement of A (pids PA, port PORT_A)
# and B (PB, PORT_B); appends a line to $OUT/raw-pair.tsv.
pair_round() {
    local kind=$1 a=$2 b=$3 test=$4 round=$5 ca0 cb0 ca1 cb1 na nb pid_a pid_b
    local -a perf=(taskset -c "$CLIENT_CPU" dnsperf "${PERF_OPTS[@]}" -s 127.0.0.1 -d "$QUERIES"
        -l "$PAIR_SECS" -T 1 -c 32 -q 200)
    [ "$test" = paced ] && perf+=(-Q "$PAIR_RATE")
    local la=$OUT/pair-$kind-$a-$test-$round.txt lb=$OUT/pair-$kind-$b-$test-$round.txt
    ca0=$(cpu_ticks "${PA[@]}")
    cb0=$(cpu_ticks "${PB[@]}")
    # alternate which starts first, so neither is always a few ms ahead
    if [ $((round % 2)) = 1 ]; then
        "${perf[@]}" -p "$PORT_A" >"$la" 2>&1 &
        pid_a=$!
        "${perf[@]}" -p "$PORT_B" >"$lb" 2>&1 &
        pid_b=$!
    else
        "${perf[@]}" -p "$PORT_B" >"$lb" 2>&1 &
        pid_b=$!
        "${perf[@]}" -p "$PORT_A" >"$la" 2>&1 &
        pid_a=$!
    fi
    wait "$pid_a" "$pid_b" || true
    ca1=$(cpu_ticks "${PA[@]}")
    cb1=$(cpu_ticks "${PB[@]}")
    na=$(awk '/Queries completed:/ { print $3 }' "$la")
    nb=$(awk '/Queries completed:/ { print $3 }' "$lb")
    awk -v k="$kind" -v a="$a" -v b="$b" -v t="$test" -v r="$round" -v na="${na:-0}" -v nb="${nb:-0}" \
        -v ca=$((ca1 - ca0)) -v cb=$((cb1 - cb0)) -v hz="$HZ" 'BEGIN {
        ua = na > 0 ? ca / hz / na * 1e6 : 0; ub = nb > 0 ? cb / hz / nb * 1e6 : 0
        printf "%s\t%s\t%s\t%s\t%d\t%d\t%.2f\t%.3f\t%d\t%.2f\t%.3f\t%.3f\n", k, a, b, t, r, na, ca / hz, ua, nb, cb / hz, ub,
            (ua > 0 && ub > 0) ? ua / ub : 0 }' >>"$OUT/raw-pair.tsv"
    tail -n 1 "$OUT/raw-pair.tsv" | awk -F'\t' '{
        printf "    %-6s round %d %-8s: %s %7d queries %6.3f us/query, %s %7d queries %6.3f us/query -> %.3f\n",
            $1, $5, $4, $2, $6, $8, $3, $9, $11, $12 }'
}

# run_pair KIND A B: servers A and B (gslbd, gdnsd, floor) at once; KIND static (the static
# zone and queries) or geo (the geo mode's queries: A and B answer them as gslbd-geo and
# gdnsd-geo do).
run_pair() {
    local kind=$1 a=$2 b=$3 round test
    MODE=$kind
    if [ "$kind" = geo ]; then
        QUERIES=$WORK/geo/geo.bin PERF_OPTS=(-B) PROBE_NAME=ns1.geo.example
    else
        QUERIES=$STATIC_QUERIES PERF_OPTS=() PROBE_NAME=www.bench.example
    fi
    echo "pair $kind: $a and $b on CPU $SERVER_CPU at once, $PAIR_ROUNDS rounds"
    start_server "$b" 1 1 || return 0
    PB=("${SERVER_PIDS[@]}") PORT_B=$SERVER_PORT
    if ! start_server "$a" 1 1; then
        SERVER_PIDS=("${PB[@]}")
        stop_server
        return 0
    fi
    PA=("${SERVER_PIDS[@]}") PORT_A=$SERVER_PORT
    PAIR_PIDS=("${PB[@]}") # cleanup stops these too (bench.sh)
    wait_quiet
    local -a warm=(taskset -c "$CLIENT_CPU" dnsperf "${PERF_OPTS[@]}" -s 127.0.0.1 -d "$QUERIES" -l "$WARMUP")
    "${warm[@]}" -p "$PORT_A" >/dev/null 2>&1 &
    local warm_pid=$! # not a bare wait: the servers are our children too
    "${warm[@]}" -p "$PORT_B" >/dev/null 2>&1 || true
    wait "$warm_pid" || true
    for round in $(seq 1 "$PAIR_ROUNDS"); do
        for test in paced unpaced; do
            pair_round "$kind" "$a" "$b" "$test" "$round"
        done
    done
    stop_server # a
    SERVER_PIDS=("${PB[@]}")
    stop_server
    PAIR_PIDS=()
}

summary_pair() {
    local kind a b test runs r
    echo
    echo "== pair mode: two servers at the same time on CPU $SERVER_CPU, each with its own dnsperf on CPU $CLIENT_CPU =="
    echo "server CPU per answered query, A / B, median of $PAIR_ROUNDS rounds of $PAIR_SECS s (lower is better):"
    while read -r kind a b; do
        for test in paced unpaced; do
            runs=$(awk -F'\t' -v k="$kind" -v a="$a" -v b="$b" -v t="$test" \
                '$1 == k && $2 == a && $3 == b && $4 == t && $12 > 0 {
                printf "%s%.2f", (n++ ? " " : ""), $12 }' "$OUT/raw-pair.tsv")
            [ -n "$runs" ] || continue
            r=$(tr ' ' '\n' <<<"$runs" | median)
            printf '  %-6s %-15s %-26s %.3f%s (rounds %s)\n' "$kind" "$a / $b" \
                "$([ "$test" = paced ] && echo "paced, $PAIR_RATE qps each:" || echo "unpaced:")" "$r" \
                "$([ "$a" = gslbd ] && awk -v r="$r" 'BEGIN { print (r <= 1.0) ? " target <= 1.00: met" : " target <= 1.00: NOT met" }')" \
                "$runs"
        done
    done < <(awk -F'\t' 'NR > 1 && !seen[$1 FS $2 FS $3]++ { print $1, $2, $3 }' "$OUT/raw-pair.tsv")
    echo "  (geo: gslbd answering as gslbd-geo, gdnsd as gdnsd-geo; floor: bench/floor.c; raw numbers in raw-pair.tsv)"
}
