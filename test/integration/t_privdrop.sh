#!/usr/bin/env bash
# t_privdrop.sh: least privilege: started as root on port 53 with --user, gslbd binds, then
# runs without root (issue "Hardening", item 4); answers still flow and reloads still work.
# Then a signed zone with a key folder gslbd fills itself (docs/dnssec.md) on a first start
# as root with --user: what it makes as root belongs to the folder's owner, so the reloads
# made as that user read and rewrite it.
set -u
. "$(dirname "$0")/lib.sh"

plan 9
if [ "$(id -u)" -ne 0 ]; then
    why="needs root to bind port 53 and change user"
    skip PRIV-1 "answers on port 53 after dropping privileges" "$why"
    skip PRIV-2 "no uid of the process is root" "$why"
    skip PRIV-3 "no effective capabilities left" "$why"
    skip PRIV-4 "the log says which user it runs as" "$why"
    skip PRIV-5 "SIGHUP reload works without root" "$why"
    skip PRIV-6 "stops cleanly (exit 0)" "$why"
    skip PRIV-7 "a key folder filled as root belongs to its owner" "$why"
    skip PRIV-8 "a reload without root signs with that folder" "$why"
    skip PRIV-9 "the signing instance stops cleanly" "$why"
    finish
    exit $?
fi
user=nobody
addr=127.0.0.$((50 + RANDOM % 100))
cat >"$IT_TMP/z.zone" <<ZONE
\$ORIGIN priv.test.
\$TTL 60
@ SOA ns.priv.test. h.priv.test. 1 3600 600 86400 60
@ NS ns
ns A 192.0.2.1
www A 192.0.2.80
ZONE
chmod 755 "$IT_TMP"
chmod 644 "$IT_TMP/z.zone"
log=$LOGDIR/t_privdrop.log
"$GSLBD" --zone priv.test="$IT_TMP/z.zone" --listen "$addr:53" --workers 2 --user "$user" \
    >"$log" 2>&1 &
pid=$!
IT_PIDS+=("$pid")
ok=0
for _ in $(seq 1 50); do
    if dig +short +time=1 +tries=1 @"$addr" -p 53 www.priv.test A 2>/dev/null | grep -q 192.0.2.80; then
        ok=1
        break
    fi
    sleep 0.1
done
check PRIV-1 "answers on port 53 after dropping privileges" "$(tail -5 "$log")" test "$ok" -eq 1
uid=$(awk '/^Uid:/ {print $2, $3, $4, $5}' /proc/$pid/status)
want=$(id -u "$user")
check PRIV-2 "every uid of the process is $user's ($want), none is root" "Uid: $uid" \
    test "$uid" = "$want $want $want $want"
caps=$(awk '/^CapEff:/ {print $2}' /proc/$pid/status)
check PRIV-3 "no effective capabilities left" "CapEff: $caps" test "$caps" = "0000000000000000"
check PRIV-4 "the log says which user it runs as" "$(grep -c 'running as user' "$log")" \
    grep -q "running as user $user" "$log"
# a reload still works unprivileged (the zone is world-readable)
sed -i 's/192.0.2.80/192.0.2.81/; s/ 1 3600/ 2 3600/' "$IT_TMP/z.zone"
kill -HUP "$pid"
ok=0
for _ in $(seq 1 30); do
    if dig +short +time=1 +tries=1 @"$addr" -p 53 www.priv.test A | grep -q 192.0.2.81; then
        ok=1
        break
    fi
    sleep 0.1
done
check PRIV-5 "SIGHUP reload works without root" "$(tail -3 "$log")" test "$ok" -eq 1
kill -TERM "$pid"
wait "$pid"
rc=$?
check PRIV-6 "stops cleanly (exit 0)" "exit $rc" test "$rc" -eq 0

# a key folder owned by the user gslbd drops to, filled on this first start as root
KD=$IT_TMP/keys
mkdir -p "$KD"
chown "$user" "$KD"
chmod 700 "$KD"
sed 's/priv\.test/sig.test/g' "$IT_TMP/z.zone" >"$IT_TMP/sig.zone"
chmod 644 "$IT_TMP/sig.zone"
port=$(free_port "$addr")
printf '{"listen": ["%s:%s"], "workers": 1, "api": {"enabled": false},\n "zones": [{"origin": "sig.test.", "file": "%s", "dnssec": {"key_dir": "%s"}}]}\n' \
    "$addr" "$port" "$IT_TMP/sig.zone" "$KD" >"$IT_TMP/sig.json"
chmod 644 "$IT_TMP/sig.json"
slog=$LOGDIR/t_privdrop-signed.log
"$GSLBD" -c "$IT_TMP/sig.json" --user "$user" >"$slog" 2>&1 &
spid=$!
IT_PIDS+=("$spid")
signed() {
    dig +norec +dnssec +time=1 +tries=1 -p "$port" @"$addr" www.sig.test A 2>/dev/null |
        grep -cE "RRSIG[[:space:]]+A 13 "
}
for _ in $(seq 1 50); do
    [ "$(signed)" -ge 1 ] && break
    sleep 0.1
done
owners=$(find "$KD" -type f -printf '%u %f\n' | sort)
others=$(awk -v u="$user" '$1 != u' <<<"$owners")
pass=0
[ "$(signed)" -ge 1 ] && [ -n "$owners" ] && [ -z "$others" ] &&
    grep -q "sig.test.keys.json" <<<"$owners" && pass=1
check PRIV-7 "a key folder filled on a first start as root: keys, state and lock belong to $user" \
    "$owners; $(tail -3 "$slog")" [ "$pass" = 1 ]
mk=$(log_mark "$slog")
kill -HUP "$spid"
wait_log "$mk" "reload (complete|rejected)" 1 "$(it_slack 10 | cut -d. -f1)" "$slog"
pass=0
log_since "$mk" "$slog" | grep -q "reload complete" && [ "$(signed)" -ge 1 ] && pass=1
check PRIV-8 "a reload as $user reads the folder and signs again" "$(log_since "$mk" "$slog" | tail -4)" \
    [ "$pass" = 1 ]
stop_pid "$spid"
check PRIV-9 "the signing instance stops cleanly (exit 0)" "exit $STOP_RC; $(tail -3 "$slog")" \
    [ "$STOP_RC" = 0 ]
finish
