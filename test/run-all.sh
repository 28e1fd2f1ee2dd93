#!/usr/bin/env bash
# run-all.sh: runs gslbd's tests (unit binaries, integration scripts, fuzz corpus replays),
# keeps each one's output under test/out/, shows the failures, and ends with the line
# "N passed, N failed" (individual checks). Exits non-zero if anything failed.
#
# usage: test/run-all.sh BUILD_DIR [unit|integration|fuzz|all]
#   BUILD_DIR   e.g. build/debug: holds gslbd, test/unit/*/test_*, test/replay_fuzz_*
#   env IT_TIMEOUT  seconds allowed per integration script (default 600)
#   env IT_ONLY     run only the integration scripts whose name contains this text
set -u

usage() {
    echo "usage: $0 BUILD_DIR [unit|integration|fuzz|all]" >&2
    exit 2
}
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    usage
fi
BUILD=$1
STAGE=${2:-all}
case $STAGE in unit | integration | fuzz | all) ;; *) usage ;; esac

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
case $BUILD in /*) ;; *) BUILD=$REPO/$BUILD ;; esac
if [ ! -d "$BUILD" ]; then
    echo "run-all: no build folder $BUILD (run make first)" >&2
    exit 2
fi
OUT=$REPO/test/out
mkdir -p "$OUT"
export TEST_OUT=$OUT

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=() # "stage name: log" lines for the final list

say() { printf '%s\n' "$*"; }

# show_failures LOG: the failing checks with their detail lines (bounded), else the log tail
show_failures() {
    local log=$1
    if grep -q '^not ok ' "$log"; then
        awk '/^not ok /{p=1; n=0; print; next} /^(ok |not ok )/{p=0} p && /^#/{ if (n++ < 40) print; else if (n == 41) print "#   ... (more in the log)" }' "$log"
    else
        tail -n 30 "$log"
    fi
}

fail_item() { # STAGE NAME LOG
    FAILURES+=("$1 $2: $3")
}

# --- unit tests: cmocka binaries ---------------------------------------------------------
run_unit() {
    local bins=() b name log rc ok bad
    shopt -s nullglob
    for b in "$BUILD"/test/unit/*/test_*; do
        [ -f "$b" ] && [ -x "$b" ] && [[ $b != *.d ]] && [[ $b != *.o ]] && bins+=("$b")
    done
    shopt -u nullglob
    say "== unit tests (${#bins[@]} binaries under ${BUILD#"$REPO"/}/test/unit)"
    if [ ${#bins[@]} -eq 0 ]; then
        say "   no unit test binaries found (build them with: make unit)"
        return
    fi
    for b in "${bins[@]}"; do
        name=${b#"$BUILD"/test/unit/}
        log=$OUT/unit/$name.log
        mkdir -p "$(dirname "$log")"
        timeout 300 "$b" >"$log" 2>&1
        rc=$?
        # cmocka: "[       OK ] name" per passed test, "[  FAILED  ] N test(s)" at the end
        # ("[  ERROR   ]" lines are the failed assertions' details, not extra tests)
        ok=$(grep -cE '^\[ +OK +\]' "$log")
        bad=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' "$log" | tail -1)
        bad=${bad:-0}
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
            bad=1 # crashed, timed out or failed outside a cmocka test
        fi
        [ "$rc" -eq 0 ] && [ "$ok" -eq 0 ] && ok=1
        PASSED=$((PASSED + ok))
        FAILED=$((FAILED + bad))
        if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
            say "   ok       $name ($ok tests)"
        else
            say "   FAILED   $name (exit $rc, $ok passed, $bad failed) -> ${log#"$REPO"/}"
            grep -E '^\[  (FAILED|ERROR)' "$log" | head -20 | sed 's/^/      /'
            grep -vE '^\[' "$log" | grep -iE 'error|fail|assert|sanitizer' | head -20 | sed 's/^/      /'
            [ "$rc" -ge 124 ] && tail -n 15 "$log" | sed 's/^/      /'
            fail_item unit "$name" "${log#"$REPO"/}"
        fi
    done
}

# --- integration scripts -----------------------------------------------------------------
run_integration() {
    local scripts=() s name log rc ok bad skip t0 t1
    shopt -s nullglob
    for s in test/integration/t_*.sh; do
        if [ -n "${IT_ONLY:-}" ] && [[ $s != *"$IT_ONLY"* ]]; then
            continue
        fi
        scripts+=("$s")
    done
    shopt -u nullglob
    say "== integration tests (${#scripts[@]} scripts, GSLBD=${BUILD#"$REPO"/}/gslbd)"
    if [ ! -x "$BUILD/gslbd" ]; then
        say "   FAILED   no gslbd binary at $BUILD/gslbd (run make)"
        FAILED=$((FAILED + 1))
        fail_item integration gslbd "missing binary"
        return
    fi
    mkdir -p "$OUT/integration"
    for s in "${scripts[@]}"; do
        name=$(basename "$s" .sh)
        log=$OUT/integration/$name.log
        t0=$(date +%s)
        GSLBD=$BUILD/gslbd timeout --kill-after=10 "${IT_TIMEOUT:-600}" bash "$s" >"$log" 2>&1
        rc=$?
        t1=$(date +%s)
        ok=$(grep -c '^ok ' "$log")
        skip=$(grep -c '^ok .*# SKIP' "$log")
        bad=$(grep -c '^not ok ' "$log")
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
            bad=1 # died, timed out (exit 124) or failed without a failing check
        fi
        PASSED=$((PASSED + ok))
        FAILED=$((FAILED + bad))
        SKIPPED=$((SKIPPED + skip))
        if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
            say "   ok       $name ($ok checks, $((t1 - t0)) s)"
        else
            say "   FAILED   $name (exit $rc, $ok passed, $bad failed, $((t1 - t0)) s) -> ${log#"$REPO"/}"
            [ "$rc" -eq 124 ] && say "      timed out after ${IT_TIMEOUT:-600} s"
            show_failures "$log" | sed 's/^/      /'
            fail_item integration "$name" "${log#"$REPO"/}"
        fi
    done
}

# --- fuzz corpus replays -----------------------------------------------------------------
run_fuzz() {
    local bins=() b target corpus log rc
    shopt -s nullglob
    for b in "$BUILD"/test/replay_fuzz_*; do
        [ -f "$b" ] && [ -x "$b" ] && [[ $b != *.d ]] && bins+=("$b")
    done
    shopt -u nullglob
    say "== fuzz corpus replays (${#bins[@]} targets)"
    if [ ${#bins[@]} -eq 0 ]; then
        say "   skipped: no replay binary under ${BUILD#"$REPO"/}/test/ (build them with: make fuzz-replay)"
        return
    fi
    mkdir -p "$OUT/fuzz"
    for b in "${bins[@]}"; do
        target=${b##*/replay_fuzz_}
        corpus=test/fuzz/corpus/$target
        log=$OUT/fuzz/$target.log
        if [ ! -d "$corpus" ]; then
            say "   FAILED   replay_fuzz_$target: no corpus folder $corpus"
            FAILED=$((FAILED + 1))
            fail_item fuzz "$target" "no corpus"
            continue
        fi
        timeout 600 "$b" "$corpus" >"$log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            PASSED=$((PASSED + 1))
            say "   ok       replay_fuzz_$target over $corpus ($(find "$corpus" -type f ! -name '.*' | wc -l) inputs)"
        else
            FAILED=$((FAILED + 1))
            say "   FAILED   replay_fuzz_$target over $corpus (exit $rc) -> ${log#"$REPO"/}"
            tail -n 30 "$log" | sed 's/^/      /'
            fail_item fuzz "$target" "${log#"$REPO"/}"
        fi
    done
}

case $STAGE in
unit) run_unit ;;
integration) run_integration ;;
fuzz) run_fuzz ;;
all)
    run_unit
    run_integration
    run_fuzz
    ;;
esac

say ""
if [ ${#FAILURES[@]} -gt 0 ]; then
    say "failed:"
    printf '  %s\n' "${FAILURES[@]}"
fi
[ "$SKIPPED" -gt 0 ] && say "($SKIPPED of the passed checks were skipped: see '# SKIP' in the logs)"
say "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
