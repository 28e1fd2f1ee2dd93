# lib.sh: shared helpers for gslbd's shell integration tests (source it; bash only).
# Check reporting (a TAP plan `1..N`, `ok ID ...` / `not ok ID ...` / `ok ID ... # SKIP why`),
# free ports, per-start daemon logs read from a mark (log_mark / log_since), and servers
# that are always stopped on exit (trap EXIT), whether the script passes, fails or is
# interrupted.

# shellcheck disable=SC2034 # DATA, STOP_RC, SERVER_* are for the scripts that source this
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$IT_DIR/../.." && pwd)
DATA=$REPO/test/data/integration
OUT=${TEST_OUT:-$REPO/test/out}
GSLBD=${GSLBD:-$REPO/build/dev/gslbd}
case $GSLBD in /*) ;; *) GSLBD=$PWD/$GSLBD ;; esac
IT_NAME=$(basename "$0" .sh)
LOGDIR=$OUT/logs
mkdir -p "$LOGDIR"
IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/gslbd-it.XXXXXX")
IT_PASS=0
IT_FAIL=0
IT_SKIP=0
IT_PLAN=
IT_PIDS=()

it_cleanup() {
    local pid
    for pid in "${IT_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${IT_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null
    done
    rm -rf "$IT_TMP"
}
trap it_cleanup EXIT
trap 'exit 130' INT TERM HUP

# plan N: declares how many checks the script will report; print it before any check.
plan() {
    IT_PLAN=$1
    echo "1..$1"
}

# skip ID DESCRIPTION REASON [N]: reports N (default 1) checks as skipped, with the reason.
skip() {
    local i
    for ((i = 0; i < ${4:-1}; i++)); do
        IT_SKIP=$((IT_SKIP + 1))
        echo "ok $1 $2 # SKIP $3"
    done
}

ok() {
    IT_PASS=$((IT_PASS + 1))
    echo "ok $1 $2"
}

# not_ok ID DESCRIPTION [DETAIL...]: details are printed as indented comment lines.
not_ok() {
    IT_FAIL=$((IT_FAIL + 1))
    echo "not ok $1 $2"
    shift 2
    if [ $# -gt 0 ]; then
        printf '%s\n' "$@" | sed 's/^/#   /'
    fi
}

# check ID DESCRIPTION DETAIL CONDITION...: runs the condition (a command); ok if it succeeds.
check() {
    local id=$1 desc=$2 detail=$3
    shift 3
    if "$@"; then
        ok "$id" "$desc"
    else
        not_ok "$id" "$desc" "$detail"
    fi
}

note() {
    printf '# %s\n' "$@"
}

# finish: the summary comment; fails if a check failed, none ran, or the plan was not met.
finish() {
    local ran=$((IT_PASS + IT_FAIL + IT_SKIP))
    echo "# $IT_NAME: $IT_PASS passed, $IT_FAIL failed, $IT_SKIP skipped"
    if [ -n "$IT_PLAN" ] && [ "$ran" -ne "$IT_PLAN" ]; then
        echo "# $IT_NAME: $ran checks reported, $IT_PLAN planned"
        return 1
    fi
    [ "$IT_FAIL" -eq 0 ] && [ "$ran" -gt 0 ]
}

# fresh_log FILE: empties FILE (a daemon start gets a fresh log, never an earlier run's).
fresh_log() {
    mkdir -p "$(dirname "$1")"
    : >"$1"
}

# log_mark [FILE]: prints where FILE (default $SERVER_LOG) ends now; pass it to log_since.
log_mark() {
    stat -c %s "${1:-$SERVER_LOG}" 2>/dev/null || echo 0
}

# log_since MARK [FILE]: prints what FILE (default $SERVER_LOG) gained after log_mark gave MARK.
log_since() {
    tail -c +$(($1 + 1)) "${2:-$SERVER_LOG}" 2>/dev/null
}

# log_count MARK ERE [FILE]: how many lines after MARK match ERE.
log_count() {
    log_since "$1" "${3:-$SERVER_LOG}" | grep -cE -- "$2"
}

# wait_log MARK ERE [COUNT] [SECONDS] [FILE]: waits until COUNT (default 1) lines after MARK
# match ERE (default 5 s); 1 if they did not appear in time.
wait_log() {
    local mark=$1 re=$2 want=${3:-1} secs=${4:-5} file=${5:-$SERVER_LOG} i
    for ((i = 0; i <= secs * 10; i++)); do
        [ "$(log_count "$mark" "$re" "$file")" -ge "$want" ] && return 0
        sleep 0.1
    done
    return 1
}

# free_port [ADDR...]: a random port free for UDP and TCP on every address given, below the
# kernel's ephemeral range.
free_port() {
    local addrs=("$@")
    [ ${#addrs[@]} -eq 0 ] && addrs=(127.0.0.1)
    python3 - "${addrs[@]}" <<'PY'
import random, socket, sys
def free(a, p):
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(fam, t)
        try:
            s.bind((a, p))
        except OSError:
            return False
        finally:
            s.close()
    return True
# below the kernel's ephemeral range: no client socket can take it before the server binds
try:
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    low = 32768
for _ in range(200):
    p = random.randint(10000, max(low, 12000) - 1)
    if all(free(a, p) for a in sys.argv[1:]):
        print(p)
        sys.exit(0)
sys.exit(1)
PY
}

# start_gslbd NAME ARGS...: starts gslbd in the background with a fresh log; sets SERVER_PID
# and SERVER_LOG.
start_gslbd() {
    local name=$1
    shift
    SERVER_LOG=$LOGDIR/$IT_NAME-$name.log
    fresh_log "$SERVER_LOG"
    echo "==== $GSLBD $*" >>"$SERVER_LOG"
    # shellcheck disable=SC2086 # GSLBD_WRAP is a command line, e.g. "valgrind -q"
    ${GSLBD_WRAP:-} "$GSLBD" "$@" </dev/null >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    IT_PIDS+=("$SERVER_PID")
}

# wait_ready PID PORT ZONE [SECONDS]: until the server answers a SOA query; 1 if it died.
wait_ready() {
    local pid=$1 port=$2 zone=$3 secs=${4:-10} i
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if python3 "$IT_DIR/dnsq.py" --port "$port" --timeout 0.2 "$zone" SOA >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# stop_pid PID [SIGNAL]: signal the process and wait (5 s, then SIGKILL); sets STOP_RC to its
# exit status ("killed" if it had to be killed). Call it directly, not in $(...): only the
# shell that started the server can wait for it.
stop_pid() {
    local pid=$1 sig=${2:-TERM} i
    kill -"$sig" "$pid" 2>/dev/null
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_RC=killed
        return
    fi
    wait "$pid" 2>/dev/null
    STOP_RC=$?
}

# require_gslbd: the binary exists; otherwise report one failure and exit.
require_gslbd() {
    local i
    for ((i = 0; i < 100; i++)); do # a parallel `make` may be relinking it: wait up to 10 s
        [ -x "$GSLBD" ] && return 0
        sleep 0.1
    done
    if [ ! -x "$GSLBD" ]; then
        not_ok SETUP "gslbd binary at $GSLBD" "build it first (make), or set GSLBD"
        finish
        exit 1
    fi
}

# it_slack SECONDS: a timing slack or patience scaled by GSLBD_TEST_SLOWDOWN (a float >= 1,
# set higher by `make test` for the sanitizer variants; 10 under a valgrind GSLBD_WRAP).
# Scale only slack and waiting, never the lower bound of what the code guarantees.
it_slack() {
    local f=${GSLBD_TEST_SLOWDOWN:-}
    [ -z "$f" ] && case ${GSLBD_WRAP:-} in *valgrind*) f=10 ;; *) f=1 ;; esac
    awk -v s="$1" -v f="$f" 'BEGIN { if (f + 0 < 1) f = 1; printf "%.3f\n", s * f }'
}
