#!/usr/bin/env bash
# soak.sh: run gslbd under mixed load, reloads and health flaps for SOAK_SECONDS (bench/soak.py).
#
# Usage: bash bench/soak.sh [GSLBD]      (from anywhere; default build/release/gslbd if it
#                                         exists, else build/dev/gslbd)
# Environment:
#   SOAK_SECONDS=1800   how long the load runs (the report needs 330 s or more to give the
#                       RSS growth after the first five minutes)
#   SOAK_QPS=2000       queries a second in all (UDP and TCP)
#   SOAK_SEED=1         seed of the query mix and of the health flips
#   SOAK_KEEP=1         keep the work folder (config, zone, gslbd's log)
# The report goes to stdout and bench/out/soak-STAMP.txt. Exits non-zero when a valid
# query failed, gslbd died, the last zone serial was not served or the open fds did not
# come back to their level before the load. Loopback only (127.0.0.1 and 127.0.0.21-27);
# soak.py stops every process it started.
set -euo pipefail

GSLBD=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")/.."
REPO=$PWD
if [ -z "${GSLBD:-}" ]; then
    if [ -x build/release/gslbd ]; then GSLBD=$REPO/build/release/gslbd; else GSLBD=$REPO/build/dev/gslbd; fi
fi
if [ ! -x "$GSLBD" ]; then
    echo "soak.sh: no gslbd at $GSLBD (run make)" >&2
    exit 2
fi
for tool in python3 perl; do
    command -v "$tool" >/dev/null || { echo "soak.sh: $tool not found (make deps)" >&2; exit 2; }
done
mkdir -p bench/out
RESULT=bench/out/soak-$(date +%Y%m%d-%H%M%S).txt
args=(--gslbd "$GSLBD" --seconds "${SOAK_SECONDS:-1800}" --qps "${SOAK_QPS:-2000}"
    --seed "${SOAK_SEED:-1}" --out "$RESULT")
[ "${SOAK_KEEP:-0}" = 1 ] && args+=(--keep)

# soak.py runs in the background so that this script can pass on Ctrl-C and TERM (as TERM:
# a background job ignores SIGINT); soak.py then stops gslbd and the backends itself.
python3 bench/soak.py "${args[@]}" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' TERM HUP INT
rc=0
wait "$pid" || rc=$?
# wait returns early when a trapped signal arrives: wait again for soak.py's cleanup
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || rc=$?; done
echo "soak.sh: report in $RESULT"
exit $rc
