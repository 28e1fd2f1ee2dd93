#!/usr/bin/env bash
# run-fuzz.sh: build every test/fuzz/fuzz_*.c with clang and libFuzzer and run each for SECONDS.
#
# Usage: bash test/fuzz/run-fuzz.sh [SECONDS]       (from anywhere; default 60 s per target)
# Environment:
#   FUZZ_TARGETS   "fuzz_query fuzz_options ..." to run a subset (default: every fuzz_*.c)
#   FUZZ_PARALLEL  targets run at the same time (default 1; each uses one core)
#   FUZZ_NICE      nice level of the fuzzers (default 10: builds and tests keep priority)
#   FUZZ_MAX_LEN   largest input (default 4096; fuzz_config and fuzz_zone 16384: whole files)
#   FUZZ_SAN       sanitizers (default address,undefined)
# The server sources (server/*.c and server/*/*.c but main.c, .S files, plus geo/ and health/ sources)
# are compiled with clang and -fsanitize=fuzzer-no-link plus FUZZ_SAN; each target links
# them and the response validator (test/util/resp_check.c, FUZZ_SAN only: its branches
# are not coverage to chase) with -fsanitize=fuzzer. An object is rebuilt when its source, any header or this
# script is newer. Target fuzz_NAME starts from a copy of test/fuzz/corpus/NAME (the
# committed seeds stay untouched) and uses test/fuzz/fuzz_NAME.dict when there is one; new
# inputs land in build/fuzz/corpus-NAME, crashes in build/fuzz/artifacts/, logs in
# build/fuzz/fuzz_NAME.log. The summary gives executions, speed, coverage and findings per
# target. Exits non-zero if a build fails or a target finds a crash, leak or timeout.
set -euo pipefail

cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
PARALLEL=${FUZZ_PARALLEL:-1}
NICE=${FUZZ_NICE:-10}
SAN_LIST=${FUZZ_SAN:-address,undefined}
OUT=build/fuzz
# The same pkg-config packages as the Makefile's build.
read -r -a PKGS <<<"$(sed -n 's/^PKGS := //p' Makefile)"
[ ${#PKGS[@]} -gt 0 ] || PKGS=(ldns libuv libmaxminddb libcurl jansson)

CC=clang
command -v "$CC" >/dev/null || { echo "run-fuzz: clang not found (make deps)" >&2; exit 1; }
read -r -a pkg_cflags <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a pkg_libs <<<"$(pkg-config --libs "${PKGS[@]}") -lm"
SAN=("-fsanitize=$SAN_LIST" -fno-sanitize-recover=undefined)
CFLAGS=(-std=c11 -D_GNU_SOURCE -pthread -g -O1 -fno-omit-frame-pointer -Wall -Wextra -I.
    "${pkg_cflags[@]}")

mkdir -p "$OUT/obj" "$OUT/artifacts"

# Library objects. A header change rebuilds everything: cheaper than tracking who includes
# what, and the tree is small.
shopt -s nullglob
newest_header=$(find server geo health test/util -name '*.h' -newer "$OUT/obj/.stamp" 2>/dev/null | head -n 1 || true)
[ -e "$OUT/obj/.stamp" ] || newest_header=all
objs=()
for src in server/*.c server/*/*.c geo/*.c health/*.c server/*.S server/*/*.S geo/*.S health/*.S test/util/resp_check.c; do
    [ "$src" = server/main.c ] && continue
    obj=$OUT/obj/${src%.*}.o
    mkdir -p "$(dirname "$obj")"
    if [ ! -e "$obj" ] || [ -n "$newest_header" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
        case $src in
        *.S) # embedded static files (.incbin, paths relative to the repository)
            "$CC" -c -I. "$src" -o "$obj" ;;
        test/util/*) # the response validator: sanitized, but its branches are not coverage
            nice -n "$NICE" "$CC" "${CFLAGS[@]}" "${SAN[@]}" -c "$src" -o "$obj" ;;
        *) nice -n "$NICE" "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" ;;
        esac || { echo "run-fuzz: compiling $src failed" >&2; exit 1; }
    fi
    objs+=("$obj")
done
touch "$OUT/obj/.stamp"

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=()
    for t in $FUZZ_TARGETS; do targets+=("test/fuzz/$t.c"); done
else
    targets=(test/fuzz/fuzz_*.c)
fi

# Build every target first, so a build failure stops the run before any fuzzing.
for src in "${targets[@]}"; do
    name=$(basename "$src" .c)
    # Absolute source path: the target finds its data files next to __FILE__.
    nice -n "$NICE" "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer "$(pwd)/$src" "${objs[@]}" \
        -o "$OUT/$name" "${pkg_libs[@]}" || { echo "run-fuzz: building $name failed" >&2; exit 1; }
done

# fuzz_one NAME: run one target; its summary line goes to $OUT/NAME.summary, exit 1 on a finding.
fuzz_one() {
    local name=$1 corpus_name=${1#fuzz_} bin=$OUT/$1 work log max_len dict=() rc=0
    work=$OUT/corpus-$corpus_name
    log=$OUT/$name.log
    max_len=${FUZZ_MAX_LEN:-4096}
    case $name in # whole files as seeds
    fuzz_config | fuzz_zone) [ -z "${FUZZ_MAX_LEN:-}" ] && max_len=16384 ;;
    esac
    [ -f "test/fuzz/$name.dict" ] && dict=("-dict=test/fuzz/$name.dict")
    rm -rf "$work"
    mkdir -p "$work"
    if [ -d "test/fuzz/corpus/$corpus_name" ]; then
        cp -r "test/fuzz/corpus/$corpus_name/." "$work/"
    fi
    local seeds
    seeds=$(find "$work" -type f | wc -l)
    echo "run-fuzz: $name for $SECONDS_PER_TARGET s, $seeds seeds, max_len $max_len"
    rm -f "$OUT/artifacts/$name-"*
    nice -n "$NICE" "$bin" -max_len="$max_len" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$OUT/artifacts/$name-" "$work" \
        </dev/null >"$log" 2>&1 || rc=$?
    local execs speed cov found findings
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
    found=$(find "$work" -type f | wc -l)
    findings=$(find "$OUT/artifacts" -name "$name-*" -type f | wc -l)
    if [ $rc -ne 0 ] || [ "$findings" -gt 0 ]; then
        {
            echo "run-fuzz: $name FAILED (exit $rc); log $log"
            grep -E 'ERROR:|SUMMARY:|fuzz_[a-z_]*:|runtime error|Test unit written' "$log" | head -20 || true
            for a in "$OUT/artifacts/$name-"*; do
                echo "run-fuzz: reproduce: $bin $a"
                echo "run-fuzz: minimise:  $bin -minimize_crash=1 -max_total_time=60 $a"
            done
        } >&2
        echo "$name: FAILED after ${execs:-?} executions in ${SECONDS_PER_TARGET} s, $findings finding(s) in $OUT/artifacts" \
            >"$OUT/$name.summary"
        return 1
    fi
    echo "$name: ${execs:-?} executions in ${SECONDS_PER_TARGET} s (${speed:-?}/s), ${cov:-cov ?}, corpus $seeds -> $found inputs, 0 findings" \
        >"$OUT/$name.summary"
    return 0
}

status=0
names=()
for src in "${targets[@]}"; do names+=("$(basename "$src" .c)"); done
pids=()
for name in "${names[@]}"; do
    rm -f "$OUT/$name.summary"
    fuzz_one "$name" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$PARALLEL" ]; then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

for name in "${names[@]}"; do
    if [ -f "$OUT/$name.summary" ]; then
        echo "run-fuzz: $(cat "$OUT/$name.summary")"
    else
        echo "run-fuzz: $name: no result (see $OUT/$name.log)"
        status=1
    fi
done
exit $status
