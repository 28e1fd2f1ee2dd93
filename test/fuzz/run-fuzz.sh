#!/usr/bin/env bash
# run-fuzz.sh: build every test/fuzz/fuzz_*.c with clang and libFuzzer and run each for SECONDS.
#
# Usage: bash test/fuzz/run-fuzz.sh [SECONDS]       (from anywhere; default 60 s per target)
# Environment: FUZZ_MAX_LEN (default 4096), FUZZ_TARGETS ("fuzz_query ..." to run a subset).
# The server sources (server/*.c but main.c, server/*.S, plus geo/ and health/ sources)
# are compiled with clang and -fsanitize=fuzzer-no-link,address,undefined; each target links
# them with -fsanitize=fuzzer. Target fuzz_NAME starts from a copy of test/fuzz/corpus/NAME
# (the committed seeds stay untouched); new inputs and crashes land in build/fuzz/.
# Exits non-zero if a build fails or a target finds a crash, leak or timeout.
set -euo pipefail

cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=${1:-60}
MAX_LEN=${FUZZ_MAX_LEN:-4096}
OUT=build/fuzz
# The same pkg-config packages as the Makefile's build.
read -r -a PKGS <<<"$(sed -n 's/^PKGS := //p' Makefile)"
[ ${#PKGS[@]} -gt 0 ] || PKGS=(ldns libuv libmaxminddb libcurl jansson)

CC=clang
command -v "$CC" >/dev/null || { echo "run-fuzz: clang not found (make deps)" >&2; exit 1; }
read -r -a pkg_cflags <<<"$(pkg-config --cflags "${PKGS[@]}")"
read -r -a pkg_libs <<<"$(pkg-config --libs "${PKGS[@]}") -lm"
SAN=("-fsanitize=address,undefined" -fno-sanitize-recover=undefined)
CFLAGS=(-std=c11 -D_GNU_SOURCE -pthread -g -O1 -fno-omit-frame-pointer -Wall -Wextra -I.
    "${pkg_cflags[@]}")

mkdir -p "$OUT/obj" "$OUT/artifacts"

# Library objects: rebuilt when the source is newer (headers: `rm -rf build/fuzz` to force).
shopt -s nullglob
objs=()
for src in server/*.c geo/*.c health/*.c server/*.S geo/*.S health/*.S; do
    [ "$src" = server/main.c ] && continue
    obj=$OUT/obj/${src%.*}.o
    mkdir -p "$(dirname "$obj")"
    if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
        case $src in
        *.S) # embedded static files (.incbin, paths relative to the repository)
            "$CC" -c -I. "$src" -o "$obj" ;;
        *) "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj" ;;
        esac || { echo "run-fuzz: compiling $src failed" >&2; exit 1; }
    fi
    objs+=("$obj")
done

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=()
    for t in $FUZZ_TARGETS; do targets+=("test/fuzz/$t.c"); done
else
    targets=(test/fuzz/fuzz_*.c)
fi

status=0
summary=()
for src in "${targets[@]}"; do
    name=$(basename "$src" .c)
    corpus_name=${name#fuzz_}
    bin=$OUT/$name
    # Absolute source path: the target finds its data files next to __FILE__.
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" -fsanitize=fuzzer "$(pwd)/$src" "${objs[@]}" -o "$bin" \
        "${pkg_libs[@]}" || { echo "run-fuzz: building $name failed" >&2; exit 1; }
    work=$OUT/corpus-$corpus_name
    rm -rf "$work"
    mkdir -p "$work"
    if [ -d "test/fuzz/corpus/$corpus_name" ]; then
        cp -r "test/fuzz/corpus/$corpus_name/." "$work/"
    fi
    log=$OUT/$name.log
    echo "run-fuzz: $name for $SECONDS_PER_TARGET s, $(find "$work" -type f | wc -l) seeds, max_len $MAX_LEN"
    rc=0
    "$bin" -max_len="$MAX_LEN" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$OUT/artifacts/$name-" "$work" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1, ft \2/p')
    if [ $rc -ne 0 ]; then
        status=1
        echo "run-fuzz: $name FAILED (exit $rc); log $log" >&2
        grep -E 'ERROR:|SUMMARY:|fuzz_query:|runtime error|Test unit written' "$log" | head -20 >&2 || true
        echo "run-fuzz: replay a crash with: $bin $OUT/artifacts/$name-crash-..." >&2
        summary+=("$name: FAILED after ${execs:-?} executions")
    else
        summary+=("$name: ${execs:-?} executions (${speed:-?}/s), $cov, corpus $(find "$work" -type f | wc -l) inputs")
    fi
done

printf 'run-fuzz: %s\n' "${summary[@]}"
exit $status
