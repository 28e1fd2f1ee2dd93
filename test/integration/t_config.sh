#!/usr/bin/env bash
# t_config.sh: `gslbd -c FILE --check` on good and bad configs and zones (errors name
# file:line:col), SIGHUP reloads (a bad one keeps the old data, a good one serves the new, no
# query lost while reloading) and clean exits on SIGTERM/SIGINT.
# IDs: CONF-1 --check verdicts, CONF-2 error positions, CONF-3 bad reload keeps old data,
# CONF-4 good reload serves new data, CONF-5 no query lost during reloads, CONF-6 signals;
# CN-3 for the CNAME-beside-data load error. (CONF-* are operations checks from DESIGN.md,
# not docs/protocol.md IDs.)
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
D=$DATA
BAD_CONFS=("$D"/conf-bad-*.json "$D/conf-unknown-key.json")
# 13 --check verdicts, one position check per bad config, 19 reload and signal checks
plan $((13 + ${#BAD_CONFS[@]} + 19))
require_gslbd

DNSQ="python3 $IT_DIR/dnsq.py"

# run_check CONFIG: runs --check; sets CK_RC and CK_OUT (stdout + stderr).
run_check() {
    CK_OUT=$(timeout 20 "$GSLBD" -c "$1" --check 2>&1)
    CK_RC=$?
}

# expect_check ID DESC CONFIG RC [PATTERN...]: --check exits RC and prints every PATTERN (ERE).
expect_check() {
    local id=$1 desc=$2 conf=$3 want=$4 p probs=()
    shift 4
    run_check "$conf"
    [ "$CK_RC" = "$want" ] || probs+=("exit $CK_RC, want $want")
    for p in "$@"; do
        grep -qE -- "$p" <<<"$CK_OUT" || probs+=("output lacks /$p/")
    done
    if [ ${#probs[@]} -eq 0 ]; then
        ok "$id" "$desc"
    else
        not_ok "$id" "$desc" "${probs[@]}" "output:" "$CK_OUT"
    fi
}

POS='[^ :]+:[0-9]+:[0-9]+:'
expect_check CONF-1 "--check on a valid config with three zones: exit 0" "$D/conf-good.json" 0
expect_check CONF-1 "--check on the shipped conf/gslbd.json: exit 0" "$REPO/conf/gslbd.json" 0
expect_check CONF-2 "JSON syntax error: exit 1, conf-bad-syntax.json:3:COL:" \
    "$D/conf-bad-syntax.json" 1 "conf-bad-syntax\.json:3:[0-9]+:"
expect_check CONF-2 "unknown key: exit 1, file:4:3 and its JSON path" \
    "$D/conf-unknown-key.json" 1 "conf-unknown-key\.json:4:3:" 'bogus_key'
expect_check CONF-2 "tcp.idle_timeout_ms out of range: exit 1, file:5:COL and \$.tcp.idle_timeout_ms" \
    "$D/conf-bad-range.json" 1 "conf-bad-range\.json:5:[0-9]+:" 'tcp\.idle_timeout_ms'
expect_check CONF-2 "workers of the wrong type: exit 1, file:4:COL" \
    "$D/conf-bad-type.json" 1 "conf-bad-type\.json:4:[0-9]+:" 'workers'
expect_check CONF-2 "a bad listen address: exit 1, file:2:COL" \
    "$D/conf-bad-listen.json" 1 "conf-bad-listen\.json:2:[0-9]+:"
expect_check CONF-2 "an empty zones list: exit 1, file:line:col" \
    "$D/conf-no-zones.json" 1 "conf-no-zones\.json:[0-9]+:[0-9]+:"
expect_check CONF-2 "a zone with a syntax error: exit 1, bad-syntax.zone:7:COL:" \
    "$D/conf-bad-zone.json" 1 "bad-syntax\.zone:7:[0-9]+:"
expect_check CONF-1 "a missing zone file: exit 1, the file named" \
    "$D/conf-missing-zone.json" 1 "does-not-exist\.zone"
expect_check CN-3 "CNAME and other data at one owner: exit 1, bad-cname.zone:8:COL" \
    "$D/conf-cname.json" 1 "bad-cname\.zone:8:[0-9]+:"
expect_check CONF-1 "a config file that does not exist: exit 1" "$IT_TMP/nope.json" 1
printf '{"listen": ["127.0.0.1:5399"], "zones": [{"origin": "rules.test.", "file": "%s"}]}' \
    "$D/rules.test.zone" >"$IT_TMP/oneline.json"
expect_check CONF-1 "a one-line config with an absolute zone path: exit 0" "$IT_TMP/oneline.json" 0
for f in "${BAD_CONFS[@]}"; do
    run_check "$f"
    if grep -qE "$POS" <<<"$CK_OUT"; then
        ok CONF-2 "$(basename "$f"): the message has the file:line:col: form"
    else
        not_ok CONF-2 "$(basename "$f"): the message has the file:line:col: form" "$CK_OUT"
    fi
done

# --- reloads --------------------------------------------------------------------------
PORT=$(free_port 127.0.0.1)
W=$IT_TMP/run
mkdir -p "$W"
cp "$D/rules.test.zone" "$W/rules.test.zone"
cp "$D/other.test.zone" "$W/other.test.zone"
write_conf() { # ZONE-ENTRIES-JSON
    cat >"$W/gslbd.json" <<EOF
{
  "listen": ["127.0.0.1:$PORT"],
  "workers": 2,
  "zones": [$1]
}
EOF
}
ZR='{"origin": "rules.test.", "file": "rules.test.zone"}'
ZO='{"origin": "other.test.", "file": "other.test.zone"}'
write_conf "$ZR"
start_gslbd reload -c "$W/gslbd.json"
if ! wait_ready "$SERVER_PID" "$PORT" rules.test.; then
    not_ok SETUP "gslbd -c $W/gslbd.json starts" "$(tail -20 "$SERVER_LOG")"
    finish
    exit 1
fi
GPID=$SERVER_PID

# answer NAME [TYPE]: the sorted answer RDATA (or rcode) as one line
answer() {
    dig +short +time=1 +tries=1 @127.0.0.1 -p "$PORT" "$1" "${2:-A}" 2>&1 | sort | tr '\n' ' '
}
rcode() {
    dig +time=1 +tries=1 @127.0.0.1 -p "$PORT" "$1" "${2:-A}" 2>&1 |
        sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
}

# reload_and_wait: SIGHUP, then wait until the log shows this reload's outcome (or 5 s);
# sets STEP to where the log was before the signal (log_since "$STEP": this reload's lines)
reload_and_wait() {
    STEP=$(log_mark "$SERVER_LOG")
    kill -HUP "$GPID"
    wait_log "$STEP" 'reload (complete|rejected|failed)' 1 "$(it_slack 5 | cut -d. -f1)"
}

a0=$(answer www.rules.test.)
check CONF-4 "before reloads: www.rules.test A 192.0.2.10" "got '$a0'" [ "$a0" = "192.0.2.10 " ]

# a broken zone: the old data keeps being served and the log names the error
cp "$W/rules.test.zone" "$W/rules.good"
printf 'broken IN A 192.0.2.300\n' >>"$W/rules.test.zone"
sed -i 's/^www             300  IN A    192.0.2.10$/www             300  IN A    192.0.2.111/' "$W/rules.test.zone"
bad_line=$(wc -l <"$W/rules.test.zone") # the broken record is the last line
reload_and_wait
a1=$(answer www.rules.test.)
check CONF-3 "SIGHUP with a broken zone: old data still served (192.0.2.10)" "got '$a1'" \
    [ "$a1" = "192.0.2.10 " ]
check CONF-3 "the server is still running" "" kill -0 "$GPID"
n=$(log_count "$STEP" "reload rejected.*rules\.test\.zone:$bad_line:[0-9]+:")
check CONF-3 "this reload logged one rejection naming rules.test.zone:$bad_line:COL" \
    "$n such lines; this reload's log:"$'\n'"$(log_since "$STEP")" [ "$n" = 1 ]

# a broken config: old data kept
cp "$W/gslbd.json" "$W/gslbd.good"
echo '{ "listen": [' >"$W/gslbd.json"
reload_and_wait
a2=$(answer www.rules.test.)
check CONF-3 "SIGHUP with a broken config: old data still served" "got '$a2'" [ "$a2" = "192.0.2.10 " ]
n=$(log_count "$STEP" 'reload rejected.*gslbd\.json:[0-9]+:[0-9]+:')
check CONF-3 "this reload logged one rejection naming gslbd.json:line:col" \
    "$n such lines; this reload's log:"$'\n'"$(log_since "$STEP")" [ "$n" = 1 ]
cp "$W/gslbd.good" "$W/gslbd.json"

# a changed zone: new data served
sed -e 's/^www             300  IN A    192.0.2.10$/www             300  IN A    192.0.2.99/' \
    -e 's/2024010101/2024010102/' "$W/rules.good" >"$W/rules.test.zone"
printf 'added                IN A    192.0.2.123\n' >>"$W/rules.test.zone"
reload_and_wait
a3=$(answer www.rules.test.)
a4=$(answer added.rules.test.)
check CONF-4 "SIGHUP with a changed zone: www now 192.0.2.99" "got '$a3'" [ "$a3" = "192.0.2.99 " ]
check CONF-4 "SIGHUP with a changed zone: a new name is served" "got '$a4'" [ "$a4" = "192.0.2.123 " ]
s3=$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$PORT" rules.test. SOA | awk '{print $3}')
check CONF-4 "the new serial 2024010102 is served" "got '$s3'" [ "$s3" = 2024010102 ]

# a changed config: a zone added, then removed
r0=$(rcode www.other.test.)
check CONF-4 "other.test not configured yet: REFUSED" "got '$r0'" [ "$r0" = REFUSED ]
write_conf "$ZR, $ZO"
reload_and_wait
a5=$(answer www.other.test.)
check CONF-4 "SIGHUP after adding other.test to the config: it is served" "got '$a5'" \
    [ "$a5" = "192.0.2.80 " ]
write_conf "$ZR"
reload_and_wait
r1=$(rcode www.other.test.)
check CONF-4 "SIGHUP after removing other.test: REFUSED again" "got '$r1'" [ "$r1" = REFUSED ]

# no query lost while reloading: two query loops (UDP, one TCP connection) run for 4 s while
# the zone flips between two versions and is reloaded 8 times
cp "$W/rules.test.zone" "$W/rules.v2"
cp "$W/rules.good" "$W/rules.v1"
HUP_GAP=$(it_slack 0.4) # a reload may take longer on a slow run: keep them apart
LOOP_SECS=$(it_slack 4)
$DNSQ loop --port "$PORT" --duration "$LOOP_SECS" --timeout "$(it_slack 1)" --expect 192.0.2.10 --expect 192.0.2.99 \
    www.rules.test. A >"$IT_TMP/loop-udp.out" 2>&1 &
LOOP_UDP=$!
$DNSQ loop --port "$PORT" --duration "$LOOP_SECS" --timeout "$(it_slack 1)" --tcp --expect 192.0.2.10 --expect 192.0.2.99 \
    www.rules.test. A >"$IT_TMP/loop-tcp.out" 2>&1 &
LOOP_TCP=$!
IT_PIDS+=("$LOOP_UDP" "$LOOP_TCP")
STEP=$(log_mark "$SERVER_LOG")
for i in 1 2 3 4 5 6 7 8; do
    if [ $((i % 2)) = 1 ]; then cp "$W/rules.v1" "$W/rules.test.zone"; else cp "$W/rules.v2" "$W/rules.test.zone"; fi
    kill -HUP "$GPID"
    sleep "$HUP_GAP"
done
wait "$LOOP_UDP"
rc_udp=$?
wait "$LOOP_TCP"
rc_tcp=$?
check CONF-5 "UDP queries during 8 reloads: all answered, all NOERROR with www's A ($(head -1 "$IT_TMP/loop-udp.out"))" \
    "$(cat "$IT_TMP/loop-udp.out")" [ "$rc_udp" = 0 ]
check CONF-5 "TCP queries on one connection during 8 reloads: all answered, connection kept ($(head -1 "$IT_TMP/loop-tcp.out"))" \
    "$(cat "$IT_TMP/loop-tcp.out")" [ "$rc_tcp" = 0 ]
wait_log "$STEP" 'reload complete' 8 5
n_ok=$(log_count "$STEP" 'reload complete')
check CONF-5 "the 8 reloads completed (this step's log: $n_ok 'reload complete', want 8)" \
    "$(log_since "$STEP" | grep -E 'reload|error')" [ "$n_ok" = 8 ]

stop_pid "$GPID" TERM
check CONF-6 "SIGTERM: exit status 0" "exit status $STOP_RC; $(tail -3 "$SERVER_LOG")" [ "$STOP_RC" = 0 ]

# SIGINT, and SIGTERM while a TCP client holds a connection open
PORT=$(free_port 127.0.0.1)
start_gslbd sigint --zone "rules.test.=$D/rules.test.zone" --listen "127.0.0.1:$PORT"
if wait_ready "$SERVER_PID" "$PORT" rules.test.; then
    stop_pid "$SERVER_PID" INT
    check CONF-6 "SIGINT: exit status 0" "exit status $STOP_RC" [ "$STOP_RC" = 0 ]
else
    not_ok CONF-6 "SIGINT: exit status 0" "server did not start: $(tail -5 "$SERVER_LOG")"
fi
PORT=$(free_port 127.0.0.1)
start_gslbd sigterm-busy --zone "rules.test.=$D/rules.test.zone" --listen "127.0.0.1:$PORT"
if wait_ready "$SERVER_PID" "$PORT" rules.test.; then
    python3 -c "
import socket, sys, time
s = socket.create_connection(('127.0.0.1', $PORT))
time.sleep(8)
" &
HOLDER=$!
IT_PIDS+=("$HOLDER")
    sleep 0.3
    stop_pid "$SERVER_PID" TERM
    check CONF-6 "SIGTERM with an open idle TCP connection: exits 0 within 5 s" \
        "exit status $STOP_RC" [ "$STOP_RC" = 0 ]
    kill "$HOLDER" 2>/dev/null
else
    not_ok CONF-6 "SIGTERM with an open TCP connection" "server did not start"
fi
start_gslbd badstart -c "$D/conf-bad-zone.json"
for ((i = 0; i < 50; i++)); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
# it should have exited by itself (non-zero) within 5 s; if not, SIGTERM gives 0 and fails
stop_pid "$SERVER_PID" TERM
check CONF-1 "starting with a bad zone fails (non-zero exit)" "exit status $STOP_RC" \
    [ "$STOP_RC" != 0 ]
finish
