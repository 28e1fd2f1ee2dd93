#!/usr/bin/env bash
# run-tsan.sh: the ThreadSanitizer pass (make test VARIANT=tsan): the unit tests, then the
# integration scripts whose daemons run many threads at once while data changes under them:
# queries during reloads (t_config CONF-5), health probes flipping states while workers
# answer (t_health), the API reading counters, explaining and reloading beside the workers
# (t_api), admin states applied by SIGHUP between 100,000-query bursts (t_gslb), reloads
# with rate limiting and cookies (t_harden), and explain against live answers (t_explain).
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
SCRIPTS=${TSAN_SCRIPTS:-t_config t_health t_api t_gslb t_harden t_explain}
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
bash "$REPO/test/run-all.sh" "$BUILD" unit || status=1
for s in $SCRIPTS; do
    IT_ONLY=$s bash "$REPO/test/run-all.sh" "$BUILD" integration || status=1
done
shopt -s nullglob
reports=("$REPORTS"/report*)
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
exit $status
