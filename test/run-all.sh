#!/usr/bin/env bash
# run-all.sh: runs gslbd's tests (unit binaries, integration scripts, fuzz corpus replays),
# keeps each one's output under test/out/, shows the failures, names the skipped checks, and
# ends with the line "N passed, N failed, N skipped" (individual checks; a skip is not a
# pass). Exits non-zero if anything failed.
# Integration scripts print a TAP plan `1..N` first; checks missing from the plan (an early
# return, a crash) count as failed, and so do checks beyond it and a script with no check.
# A unit binary is held to cmocka's "Running N test(s)" the same way.
#
# usage: test/run-all.sh BUILD_DIR [unit|integration|fuzz|all]
#   BUILD_DIR   e.g. build/dev: holds gslbd, test/unit/*/test_*, test/replay_fuzz_*
#   env IT_TIMEOUT  seconds allowed per integration script (default 600)
#   env IT_ONLY     run only the integration scripts whose name contains this text
#   env GSLBD_GEOIP_DIR  MaxMind's test databases (default: ../shared/geoip beside the repo)
#   env GSLBD_TEST_SLOWDOWN  timing slack factor (default: as make sets it for the build's
#               variant: 4 for build/asan, 6 for build/tsan, else 1)
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
# the same slack as `make test VARIANT=...` gives, when run-all.sh is called directly
if [ -z "${GSLBD_TEST_SLOWDOWN:-}" ]; then
    case $(basename "$BUILD") in
    asan) GSLBD_TEST_SLOWDOWN=4 ;;
    tsan) GSLBD_TEST_SLOWDOWN=6 ;;
    *) GSLBD_TEST_SLOWDOWN=1 ;;
    esac
fi
export GSLBD_TEST_SLOWDOWN
OUT=$REPO/test/out
mkdir -p "$OUT"
export TEST_OUT=$OUT
# MaxMind's test databases (optional; checks that need them are skipped when absent): beside
# the clone, in ../shared/geoip, unless GSLBD_GEOIP_DIR says where
GSLBD_GEOIP_DIR=${GSLBD_GEOIP_DIR:-$(dirname "$REPO")/shared/geoip}
export GSLBD_GEOIP_DIR

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=() # "stage name: log" lines for the final list
SKIPLIST=$(mktemp "${TMPDIR:-/tmp}/gslbd-skips.XXXXXX") # "stage<TAB>name<TAB>id<TAB>reason"
trap 'rm -f "$SKIPLIST"' EXIT

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
    local bins=() b name log rc ok bad skip planned missing
    shopt -s nullglob
    for b in "$BUILD"/test/unit/*/test_* "$BUILD"/test/unit/server/*/test_*; do
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
        # cmocka: "[==========] Running N test(s)." first (the plan), then per test
        # "[ RUN      ] name" and one of "[       OK ] name", "[  FAILED  ] name",
        # "[  SKIPPED ] name" (a skip() call; the test printed "SKIP: reason" before it).
        # "[  ERROR   ]" lines are the failed assertions' details, not extra tests.
        read -r planned ok bad skip < <(awk -v stage=unit -v bin="$name" -v list="$SKIPLIST" '
            /^\[=+\] Running [0-9]+ test/ { planned += $3 }
            /^\[ RUN +\] / { cur = $4; why = ""; next }
            /^SKIP: / && cur != "" { why = substr($0, 7) }
            /^\[ +OK +\] / && cur != "" { ok++; cur = ""; next }
            /^\[  FAILED  \] / && cur != "" { bad++; cur = ""; next }
            /^\[  SKIPPED \] / && cur != "" {
                skip++
                printf "%s\t%s\t%s\t%s\n", stage, bin, cur, (why == "" ? "skip() called" : why) >> list
                cur = ""; next
            }
            END { print planned + 0, ok + 0, bad + 0, skip + 0 }' "$log")
        missing=$((planned - ok - bad - skip))
        [ "$missing" -lt 0 ] && missing=0
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && [ "$missing" -eq 0 ]; then
            bad=1 # crashed, timed out or failed outside a cmocka test
        fi
        [ $((ok + bad + skip + missing)) -eq 0 ] && bad=1 # ran no test at all
        PASSED=$((PASSED + ok))
        FAILED=$((FAILED + bad + missing))
        SKIPPED=$((SKIPPED + skip))
        if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ] && [ "$missing" -eq 0 ]; then
            say "   ok       $name ($ok passed$([ "$skip" -gt 0 ] && echo ", $skip skipped"))"
        else
            say "   FAILED   $name (exit $rc, $ok passed, $bad failed, $skip skipped$([ "$missing" -gt 0 ] && echo ", $missing of $planned missing")) -> ${log#"$REPO"/}"
            [ $((ok + bad + skip + missing)) -eq 1 ] && [ "$planned" -eq 0 ] && say "      ran no test"
            grep -E '^\[  (FAILED|ERROR)' "$log" | head -20 | sed 's/^/      /'
            grep -vE '^\[' "$log" | grep -iE 'error|fail|assert|sanitizer' | head -20 | sed 's/^/      /'
            [ "$rc" -ge 124 ] && tail -n 15 "$log" | sed 's/^/      /'
            fail_item unit "$name" "${log#"$REPO"/}$([ "$missing" -gt 0 ] && echo " ($missing of $planned tests never reported)")"
        fi
    done
}

# --- integration scripts -----------------------------------------------------------------
run_integration() {
    local scripts=() s name log rc ok bad skip t0 t1 planned ran missing extra probs
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
        # the plan: the first "1..N" line; checks: "ok ...", "not ok ...", "ok ... # SKIP why"
        planned=$(sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' "$log" | head -1)
        skip=$(grep -c '^ok .*# SKIP' "$log")
        ok=$(($(grep -c '^ok ' "$log") - skip))
        bad=$(grep -c '^not ok ' "$log")
        grep '^ok .*# SKIP' "$log" | sed 's/^ok \([^ ]*\) .*# SKIP *\(.*\)$/\1\t\2/' |
            awk -v n="$name" -F'\t' '{ printf "integration\t%s\t%s\t%s\n", n, $1, ($2 == "" ? "no reason given" : $2) }' >>"$SKIPLIST"
        ran=$((ok + skip + bad))
        missing=0
        extra=0
        probs=()
        if [ -z "$planned" ]; then
            probs+=("no TAP plan line 1..N")
            missing=1
        elif [ "$ran" -lt "$planned" ]; then
            missing=$((planned - ran))
            probs+=("$missing of $planned planned checks missing (checks $((ran + 1))..$planned never reported)")
        elif [ "$ran" -gt "$planned" ]; then
            extra=$((ran - planned))
            probs+=("$extra checks beyond the plan of $planned")
        fi
        if [ "$ran" -eq 0 ] && [ "$missing" -eq 0 ]; then
            missing=1
            probs+=("no check ran")
        fi
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && [ "$missing" -eq 0 ] && [ "$extra" -eq 0 ]; then
            bad=1 # died, timed out (exit 124) or failed without a failing check
        fi
        bad=$((bad + missing + extra))
        PASSED=$((PASSED + ok))
        FAILED=$((FAILED + bad))
        SKIPPED=$((SKIPPED + skip))
        if [ "$rc" -eq 0 ] && [ "$bad" -eq 0 ]; then
            say "   ok       $name ($ok passed$([ "$skip" -gt 0 ] && echo ", $skip skipped"), $((t1 - t0)) s)"
        else
            say "   FAILED   $name (exit $rc, $ok passed, $bad failed, $skip skipped, $((t1 - t0)) s) -> ${log#"$REPO"/}"
            [ "$rc" -eq 124 ] && say "      timed out after ${IT_TIMEOUT:-600} s"
            [ ${#probs[@]} -gt 0 ] && printf '      %s\n' "${probs[@]}"
            show_failures "$log" | sed 's/^/      /'
            fail_item integration "$name" "${log#"$REPO"/}${probs[0]:+ (${probs[0]})}"
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
        SKIPPED=$((SKIPPED + 1))
        printf 'fuzz\treplay\t-\tno replay binary built (make fuzz-replay)\n' >>"$SKIPLIST"
        return
    fi
    mkdir -p "$OUT/fuzz"
    for b in "${bins[@]}"; do
        target=${b##*/replay_fuzz_}
        corpus=test/fuzz/corpus/$target
        log=$OUT/fuzz/$target.log
        if [ ! -d "$corpus" ] || [ -z "$(find "$corpus" -type f ! -name '.*' -print -quit)" ]; then
            say "   FAILED   replay_fuzz_$target: no corpus folder $corpus, or no input in it"
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
if [ -s "$SKIPLIST" ]; then
    # one line per stage, script/binary and reason: the skipped IDs (with a count if repeated)
    say "skipped:"
    awk -F'\t' '
        { k = $1 " " $2 ": " $4; if (!(k in ids)) order[n++] = k; c[k, $3]++
          if (c[k, $3] == 1) ids[k] = ids[k] (ids[k] == "" ? "" : ", ") $3 }
        END { for (i = 0; i < n; i++) { k = order[i]; split(ids[k], a, ", "); s = ""
                for (j = 1; j in a; j++) s = s (j > 1 ? ", " : "") a[j] (c[k, a[j]] > 1 ? " x" c[k, a[j]] : "")
                split(k, p, ": "); print "  " p[1] " " s ": " substr(k, length(p[1]) + 3) } }' "$SKIPLIST"
fi
if [ ${#FAILURES[@]} -gt 0 ]; then
    say "failed:"
    printf '  %s\n' "${FAILURES[@]}"
fi
say "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ]
