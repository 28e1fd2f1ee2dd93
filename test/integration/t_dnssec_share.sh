#!/usr/bin/env bash
# t_dnssec_share.sh: a DNSSEC key folder shared through etcd in cluster mode (issue 18):
# a real etcd (Debian's etcd-server) and two gslbd instances on loopback, each with a key
# folder of its own, sign share.test. The first to start makes the KSK and ZSK and shares
# them; the second adopts them; a ZSK roll (timers in seconds) is made by one instance and
# reaches the other, so both serve the same DNSKEY RRset and signatures by the same keys,
# and delv validates both with one anchor. With etcd stopped, both go on signing with their
# copy and say so.
# IDs: SHR-1 the same keys, SHR-2 etcd holds them, SHR-3 one roll for both, SHR-4 both
# validate, SHR-5 etcd gone, SHR-6 the exit status.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
plan 10
require_gslbd
if ! command -v etcd >/dev/null; then
    skip SHR-1 "keys shared through etcd" "etcd is not installed (etcd-server)" 10
    finish
    exit 0
fi

EPORT=$(free_port 127.0.0.1)
EPEER=$(free_port 127.0.0.1)
EMET=$(free_port 127.0.0.1)
ELOG=$LOGDIR/$IT_NAME-etcd.log
fresh_log "$ELOG"
start_etcd() {
    etcd --name e1 --data-dir "$IT_TMP/etcd" \
        --listen-client-urls "http://127.0.0.1:$EPORT" --advertise-client-urls "http://127.0.0.1:$EPORT" \
        --listen-peer-urls "http://127.0.0.1:$EPEER" --initial-advertise-peer-urls "http://127.0.0.1:$EPEER" \
        --initial-cluster "e1=http://127.0.0.1:$EPEER" --listen-metrics-urls "http://127.0.0.1:$EMET" \
        --log-level warn </dev/null >>"$ELOG" 2>&1 &
    EPID=$!
    IT_PIDS+=("$EPID")
    for ((i = 0; i < $(it_slack 150 | cut -d. -f1); i++)); do
        curl -s -m 1 -X POST -d '{"key":"AA=="}' "http://127.0.0.1:$EPORT/v3/kv/range" >/dev/null && return 0
        sleep 0.1
    done
    return 1
}
start_etcd || note "etcd did not start: $(cat "$ELOG")"

cat >"$IT_TMP/share.zone" <<'EOF'
$ORIGIN share.test.
$TTL 2
@ 2 IN SOA ns1 hostmaster 1 7200 900 1209600 2
@ IN NS ns1
ns1 IN A 127.0.0.1
www IN A 192.0.2.9
EOF
# conf NAME PORT: an instance's config (its own key folder), in cluster mode
conf() {
    mkdir -p "$IT_TMP/keys-$1"
    chmod 700 "$IT_TMP/keys-$1"
    cat >"$IT_TMP/$1.json" <<EOF
{"listen": ["127.0.0.1:$2"], "workers": 1,
 "cluster": {"endpoints": ["http://127.0.0.1:$EPORT"], "prefix": "/t_dnssec_share/", "name": "$1"},
 "zones": [{"origin": "share.test.", "file": "$IT_TMP/share.zone",
   "dnssec": {"key_dir": "$IT_TMP/keys-$1", "zsk_lifetime_days": 0.0001,
              "propagation_delay_s": 1}}]}
EOF
}
PA=$(free_port 127.0.0.1)
PB=$(free_port 127.0.0.1)
conf a "$PA"
conf b "$PB"
start_gslbd a -c "$IT_TMP/a.json"
GA=$SERVER_PID
LA=$SERVER_LOG
wait_ready "$GA" "$PA" share.test "$(it_slack 10 | cut -d. -f1)" || note "a did not start: $(cat "$LA")"
start_gslbd b -c "$IT_TMP/b.json"
GB=$SERVER_PID
LB=$SERVER_LOG
wait_ready "$GB" "$PB" share.test "$(it_slack 10 | cut -d. -f1)" || note "b did not start: $(cat "$LB")"

# keys PORT: the DNSKEY RRset's key tags, sorted
keys() {
    dig +norec +tries=1 +time=2 -p "$1" @127.0.0.1 share.test DNSKEY +multi |
        grep -oE "key id = [0-9]+" | grep -oE "[0-9]+" | sort -n | tr '\n' ' '
}
ka=$(keys "$PA")
kb=$(keys "$PB")
ka0=$ka
made=$(cat "$LA" "$LB" | grep -c "made [kz]sk")
pass=0
[ -n "$ka" ] && [ "$ka" = "$kb" ] && [ "$(wc -w <<<"$ka")" = 2 ] && [ "$made" = 2 ] && pass=1
check SHR-1 "both instances publish the same KSK and ZSK; one made them, the other adopted them" \
    "a: $ka; b: $kb; keys made: $made" [ "$pass" = 1 ]
fa=$(cd "$IT_TMP/keys-a" && ls K*.pem | tr '\n' ' ')
fb=$(cd "$IT_TMP/keys-b" && ls K*.pem | tr '\n' ' ')
check SHR-1 "both key folders hold the same key files" "a: $fa; b: $fb" [ "$fa" = "$fb" ]

ekey=$(printf '/t_dnssec_share/dnssec/share.test' | base64 -w0)
doc=$(curl -s -X POST -d "{\"key\":\"$ekey\"}" "http://127.0.0.1:$EPORT/v3/kv/range" |
    /usr/bin/python3 -c 'import base64, json, sys
kvs = json.load(sys.stdin).get("kvs", [])
d = json.loads(base64.b64decode(kvs[0]["value"])) if kvs else {"keys": []}
print(" ".join(sorted("%s:%d:%s" % (k["role"], k["tag"], "pem" if "PRIVATE KEY" in k.get("pem", "") else "nopem") for k in d["keys"])))' 2>&1)
check SHR-2 "etcd holds the zone's keys with their PEMs (/t_dnssec_share/dnssec/share.test)" \
    "$doc" [ "$(grep -o ":pem" <<<"$doc" | wc -l)" = 2 ]

# a ZSK roll (lifetime about 9 s): made once, seen by both
deadline=$((SECONDS + $(it_slack 40 | cut -d. -f1)))
while [ $SECONDS -lt $deadline ]; do
    cat "$LA" "$LB" | grep -qE "zsk [0-9]+ removed" && break
    sleep 0.5
done
sleep 1
ka=$(keys "$PA")
kb=$(keys "$PB")
rolls=$(cat "$LA" "$LB" | grep -c "zsk roll started")
removed=$(cat "$LA" "$LB" | grep -oE "zsk [0-9]+ removed" | head -1 | awk '{print $2}')
taken=$(cat "$LA" "$LB" | grep -c "taken from the shared state")
pass=0
[ "$rolls" -ge 1 ] && [ -n "$removed" ] && grep -qw "$removed" <<<"$ka0" &&
    ! grep -qw "$removed" <<<"$ka $kb" && [ "$taken" -ge 2 ] && pass=1
check SHR-3 "a ZSK roll went through: the first ZSK ($removed) is gone from both instances' DNSKEY RRsets" \
    "rolls started: $rolls; at start: $ka0; now a: $ka, b: $kb; keys taken from etcd: $taken" [ "$pass" = 1 ]
made=$(cat "$LA" "$LB" | grep -c "made zsk")
check SHR-3 "each new ZSK was made once for both ($made ZSKs made, $rolls rolls)" \
    "$(cat "$LA" "$LB" | grep -E "made|roll")" [ "$made" = $((rolls + 1)) ]
sa=$(dig +norec +dnssec -p "$PA" @127.0.0.1 www.share.test A | grep -oE "RRSIG[[:space:]]+A 13 3 2 [0-9]+ [0-9]+ [0-9]+" | awk '{print $NF}')
sb=$(dig +norec +dnssec -p "$PB" @127.0.0.1 www.share.test A | grep -oE "RRSIG[[:space:]]+A 13 3 2 [0-9]+ [0-9]+ [0-9]+" | awk '{print $NF}')
pass=0
[ -n "$sa" ] && [ "$sa" = "$sb" ] && [ "$ka" = "$kb" ] && pass=1
check SHR-3 "after the roll: the same DNSKEY RRset ($ka) and the same signing ZSK ($sa) on both" \
    "a: $ka / $sa; b: $kb / $sb" [ "$pass" = 1 ]

anchor=$(dig +norec -p "$PA" @127.0.0.1 share.test DNSKEY | awk '$5 == 257 {print $1, $5, $6, $7, $8 $9}')
read -r -a dk <<<"$anchor"
printf 'trust-anchors {\n  %s static-key %s %s %s "%s";\n};\n' "${dk[@]}" >"$IT_TMP/anchor.conf"
for p in "$PA" "$PB"; do
    out=$(delv -a "$IT_TMP/anchor.conf" +root=share.test -p "$p" @127.0.0.1 www.share.test A 2>&1)
    check SHR-4 "delv with the one shared KSK as anchor fully validates the instance on port $p" \
        "$out" grep -qE "^; fully validated" <<<"$out"
done

stop_pid "$EPID"
mk=$(log_mark "$LA")
wait_log "$mk" "this instance's copy signs" 1 "$(it_slack 45 | cut -d. -f1)" "$LA"
out=$(delv -a "$IT_TMP/anchor.conf" +root=share.test -p "$PA" @127.0.0.1 www.share.test A 2>&1)
pass=0
grep -q "this instance's copy signs" "$LA" && grep -qE "^; fully validated" <<<"$out" && pass=1
check SHR-5 "etcd stopped: the instance says its copy signs, and its answers still validate" \
    "$(grep "shared DNSSEC" "$LA" | tail -2); $out" [ "$pass" = 1 ]
stop_pid "$GA"
rca=$STOP_RC
stop_pid "$GB"
check SHR-6 "both instances exit 0 on SIGTERM (a sanitizer's report would make it fail)" \
    "a: $rca, b: $STOP_RC; $(cat "$LA" "$LB" | grep -A5 "Sanitizer" | head -8)" \
    [ "$rca:$STOP_RC" = "0:0" ]
finish
