#!/usr/bin/env bash
# run-tsan.sh: the ThreadSanitizer pass (make test VARIANT=tsan): the unit tests, then the
# integration scripts whose daemons run many threads at once while data changes under them:
# queries during reloads (t_config CONF-5), health probes flipping states while workers
# answer (t_health), the API reading counters, explaining and reloading beside the workers
# (t_api), admin states applied by SIGHUP between 100,000-query bursts (t_gslb), reloads
# with rate limiting and cookies (t_harden), explain against live answers (t_explain), and
# the API's connection guard and the shared per-address TCP count under slow clients and
# two workers (t_limits), reloads built on their own thread while probes fail a backend over (t_reload_health, with
# a 60,000-record zone to start with, which the script grows until a reload outlasts the scaled failover),
# the API reading the history while the control loop samples it (t_history), and signatures
# made on a worker while the API sums the signature caches' counters (t_dnssec), and a
# zone's signatures swapped by the signing timer while workers answer from them and the
# API reads the keys' state (t_dnssec_roll, run by the t_dnssec entry: IT_ONLY matches
# every script whose name contains it).
# Each goes through run-all.sh
# (IT_ONLY, one script at a time); a TSan report makes gslbd exit non-zero
# (halt_on_error), which fails the script that started it.
#
# usage: test/run-tsan.sh BUILD_DIR      (BUILD_DIR built with VARIANT=tsan)
#   env TSAN_SCRIPTS   the integration scripts to run (default below)
set -u
if [ $# -ne 1 ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
BUILD=$1
REPO=$(cd "$(dirname "$0")/.." && pwd)
SCRIPTS=${TSAN_SCRIPTS:-t_config t_health t_api t_gslb t_harden t_explain t_limits t_reload_health t_history t_dnssec}
export GSLBD_RELOAD_RECORDS=${GSLBD_RELOAD_RECORDS:-60000}
# Every report goes to a file of its own under REPORTS (log_path), whatever process made it
# and wherever that process's stderr went, and fails the run below. halt_on_error: the
# first report also ends the process (exit 66), which fails the script that started it.
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/gslbd-tsan.XXXXXX")
trap 'rm -rf "$REPORTS"' EXIT
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$REPO/test/tsan.supp log_path=$REPORTS/report ${TSAN_OPTIONS:-}"
# Timing checks assume an unsanitised build; give slow scripts room.
export IT_TIMEOUT=${IT_TIMEOUT:-900}

status=0
t0=$(date +%s)
P=0 F=0 S=0
# run_part ARGS...: one run-all.sh call; its closing "N passed, N failed, N skipped" line
# adds to the totals (no closing line: it died, which counts as one failure)
run_part() {
    local out last
    out=$(mktemp "$REPORTS/part.XXXXXX")
    "$@" | tee "$out"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n 1)
    if [ -n "$last" ]; then
        read -r p _ f _ k _ <<<"${last//,/}"
        P=$((P + p)) F=$((F + f)) S=$((S + k))
    else
        F=$((F + 1))
    fi
    rm -f "$out"
}
run_part bash "$REPO/test/run-all.sh" "$BUILD" unit
for s in $SCRIPTS; do
    run_part env IT_ONLY="$s" bash "$REPO/test/run-all.sh" "$BUILD" integration
done
shopt -s nullglob
reports=("$REPORTS"/report*)
[ ${#reports[@]} -gt 0 ] && F=$((F + 1))
if [ ${#reports[@]} -gt 0 ]; then
    status=1
    echo "run-tsan: ${#reports[@]} ThreadSanitizer report file(s):"
    for r in "${reports[@]}"; do
        echo "---- $(basename "$r")"
        head -n 60 "$r"
    done
    mkdir -p "$REPO/test/out/tsan"
    cp "${reports[@]}" "$REPO/test/out/tsan/"
fi
echo "run-tsan: $(($(date +%s) - t0)) s, $([ $status -eq 0 ] && echo passed || echo FAILED)"
echo "tsan: $P passed, $F failed, $S skipped"
exit $status
