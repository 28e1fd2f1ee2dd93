#!/usr/bin/env bash
# t_dnssec_roll.sh: automatic key rollover (issue 18) end to end, with timers shortened to
# seconds, while a validating Unbound keeps answering. One gslbd serves parent.test (signed
# with a fixed key, the resolver's trust anchor) and child.parent.test, whose keys live in
# a key folder gslbd manages (key_dir): a KSK and a ZSK made at start, the ZSK rolled by
# pre-publication every few seconds, the KSK rolled by double signature with CDS/CDNSKEY.
# The test plays the parent's operator: it reads the child's CDS, writes the DS it names
# into parent.test's zone file and reloads; gslbd asks the parent (itself, "parents") for
# the DS and retires the old KSK once it is there. parent.test's signatures are valid for
# 25 s, so they are renewed before they expire, by the signing timer, without a reload. Meanwhile a prober asks Unbound
# every 0.2 s for an address, the DNSKEY RRset and a name that does not exist: every
# answer must come back validated (AD).
# IDs: ROLL-1 start and first DS, ROLL-2 ZSK roll, ROLL-3 KSK roll, ROLL-4 re-signed
# without reload, ROLL-5 validated throughout, ROLL-6 the key folder, ROLL-7 key state
# in status and metrics, ROLL-8 the exit status.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
plan 16
require_gslbd
if ! command -v unbound >/dev/null; then
    skip ROLL-1 "key rollover under a validating resolver" "unbound is not installed" 16
    finish
    exit 0
fi

KD=$IT_TMP/keys
mkdir -p "$KD" "$IT_TMP/pk"
chmod 700 "$KD"
"$GSLBD" --keygen parent.test "$IT_TMP/pk" >"$IT_TMP/pk.txt" 2>/dev/null
PK=$(find "$IT_TMP/pk" -name 'Kparent.test.+013+*.pem' | head -1)
PORT=$(free_port 127.0.0.1)
APORT=$(free_port 127.0.0.1)
PZ=$IT_TMP/parent.test.zone
# write_parent [DS LINE]: parent.test's zone file, with the child's DS when given
write_parent() {
    {
        echo "\$ORIGIN parent.test."
        echo "\$TTL 2"
        echo "@ 2 IN SOA ns1 hostmaster 1 7200 900 1209600 2"
        echo "@ IN NS ns1"
        echo "ns1 IN A 127.0.0.1"
        echo "child IN NS ns1"
        [ -n "${1:-}" ] && echo "child 2 IN DS $1"
    } >"$PZ"
}
write_parent ""
cat >"$IT_TMP/child.zone" <<'EOF'
$ORIGIN child.parent.test.
$TTL 2
@ 2 IN SOA ns1.parent.test. hostmaster.parent.test. 1 7200 900 1209600 2
@ IN NS ns1.parent.test.
www IN A 192.0.2.7
EOF
# ZSK every 12 s, KSK after 25 s (in days), signatures valid 60 s, TTLs 2 s, propagation 1 s
CONF=$IT_TMP/roll.json
cat >"$CONF" <<EOF
{"listen": ["127.0.0.1:$PORT"], "api": {"listen": "127.0.0.1:$APORT"}, "workers": 1,
 "zones": [
  {"origin": "parent.test.", "file": "$PZ",
   "dnssec": {"key_file": "$PK", "validity_days": 0.0003}},
  {"origin": "child.parent.test.", "file": "$IT_TMP/child.zone",
   "dnssec": {"key_dir": "$KD", "algorithm": "ed25519", "validity_days": 0.0007,
              "zsk_lifetime_days": 0.000139, "ksk_lifetime_days": 0.000289,
              "propagation_delay_s": 1, "parent_ds_ttl_s": 2,
              "parents": ["127.0.0.1:$PORT"]}}]}
EOF
start_gslbd roll -c "$CONF"
GPID=$SERVER_PID
if ! wait_ready "$GPID" "$PORT" child.parent.test "$(it_slack 10 | cut -d. -f1)"; then
    note "gslbd did not start:" "$(cat "$SERVER_LOG")"
fi
q() {
    dig +norec +tries=1 +time=2 -p "$PORT" @127.0.0.1 "$@"
}
# cds: the child's CDS as "TAG ALG 2 DIGEST"
cds() {
    q child.parent.test CDS +short | head -1
}
c0=$(cds)
mk=$(log_mark)
write_parent "$c0"
kill -HUP "$GPID"
wait_log "$mk" "reload complete" 1 "$(it_slack 10 | cut -d. -f1)"
nk=$(q child.parent.test DNSKEY +short | grep -c " 3 15 ")
pass=0
[ -n "$c0" ] && [ "$nk" = 2 ] && grep -q "made ksk" "$SERVER_LOG" && grep -q "made zsk" "$SERVER_LOG" && pass=1
check ROLL-1 "gslbd made a KSK and a ZSK (Ed25519) in the folder; CDS names the KSK; its DS went to the parent" \
    "CDS: $c0; DNSKEYs: $nk; log: $(grep -E 'made|signed' "$SERVER_LOG")" [ "$pass" = 1 ]

# a validating Unbound: parent.test's key is the anchor
UPORT=$(free_port 127.0.0.1)
UD=$IT_TMP/unbound
mkdir -p "$UD"
ULOG=$LOGDIR/$IT_NAME-unbound.log
fresh_log "$ULOG"
anchor=$(awk '/ DNSKEY /{print $1, "DNSKEY", $5, $6, $7, $8}' "$IT_TMP/pk.txt")
cat >"$UD/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$UPORT
    port: $UPORT
    do-ip6: no
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "$UD"
    pidfile: ""
    use-syslog: no
    logfile: "$ULOG"
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    module-config: "validator iterator"
    access-control: 127.0.0.0/8 allow
    qname-minimisation: no
    local-zone: "test." nodefault
    trust-anchor: "$anchor"
stub-zone:
    name: "parent.test"
    stub-addr: 127.0.0.1@$PORT
remote-control:
    control-enable: no
EOF
unbound -d -c "$UD/unbound.conf" </dev/null >>"$ULOG" 2>&1 &
UPID=$!
IT_PIDS+=("$UPID")
for ((i = 0; i < 100; i++)); do
    dig +tries=1 +time=1 -p "$UPORT" @127.0.0.1 test SOA >/dev/null 2>&1 && break
    sleep 0.1
done

# the prober: until STOP exists, every 0.2 s one of three questions; a line per answer
PROBE=$IT_TMP/probe.txt
/usr/bin/python3 - "$UPORT" "$IT_TMP/STOP" "$PROBE" <<'PY' &
import os, sys, time
import dns.flags, dns.message, dns.query, dns.rcode
port, stop, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
qs = [("www.child.parent.test", "A"), ("child.parent.test", "DNSKEY"),
      ("nope.child.parent.test", "A")]
i = 0
with open(out, "w", buffering=1) as f:
    while not os.path.exists(stop):
        name, t = qs[i % 3]
        i += 1
        try:
            r = dns.query.udp(dns.message.make_query(name, t, want_dnssec=True), "127.0.0.1",
                              port=port, timeout=3)
            ad = "ad" if r.flags & dns.flags.AD else "noad"
            f.write("%.1f %s %s %s %s\n" % (time.time(), name, t, dns.rcode.to_text(r.rcode()), ad))
        except Exception as e:  # a timeout is a failure too
            f.write("%.1f %s %s ERROR %s\n" % (time.time(), name, t, type(e).__name__))
        time.sleep(0.2)
PY
PRPID=$!
IT_PIDS+=("$PRPID")
for ((i = 0; i < $(it_slack 100 | cut -d. -f1); i++)); do # the prober's first three answers
    [ -f "$PROBE" ] && [ "$(wc -l <"$PROBE")" -ge 3 ] && break
    sleep 0.1
done
first=$(head -3 "$PROBE")
pass=0
[ "$(grep -c " NOERROR ad$" <<<"$first")" = 3 ] && pass=1
check ROLL-1 "Unbound validates the child through the parent's DS (address, DNSKEY, compact denial)" \
    "$first" [ "$pass" = 1 ]

# the parent's operator: whenever CDS names another KSK, the parent's DS follows it
deadline=$((SECONDS + $(it_slack 60 | cut -d. -f1)))
ds=$c0
dsnew=
dnskey_double=0
while [ $SECONDS -lt $deadline ]; do
    c=$(cds)
    if [ -n "$c" ] && [ "$c" != "$ds" ]; then
        ds=$c
        dsnew=$c
        write_parent "$c"
        kill -HUP "$GPID"
    fi
    # during the KSK roll the DNSKEY RRset is signed by both KSKs
    n=$(q child.parent.test DNSKEY +dnssec | grep -cE "RRSIG[[:space:]]+DNSKEY 15 ")
    [ "$n" -ge 2 ] && dnskey_double=1
    grep -qE "ksk [0-9]+ removed" "$SERVER_LOG" && grep -qE "zsk [0-9]+ removed" "$SERVER_LOG" &&
        tail -n +"$(grep -n "reload complete" "$SERVER_LOG" | tail -1 | cut -d: -f1)" "$SERVER_LOG" |
        grep -q "zone parent\.test\. signed again" && break
    sleep 0.5
done
sleep 4 # answers after the last step, through Unbound's 2 s caches
touch "$IT_TMP/STOP"
wait "$PRPID" 2>/dev/null

zs=$(grep -E "zsk roll started|zsk [0-9]+ removed" "$SERVER_LOG")
check ROLL-2 "the ZSK rolled: a new ZSK was published, then the old one removed" "$zs" \
    grep -qE "zsk [0-9]+ removed" <<<"$zs"
ks=$(grep -E "ksk roll started|parent publishes|ksk [0-9]+ removed" "$SERVER_LOG")
check ROLL-3 "the KSK roll started; CDS then named the new KSK (${dsnew:-none})" "$ks" \
    [ -n "$dsnew" ]
check ROLL-3 "during the KSK roll the DNSKEY RRset carried two RRSIGs (old and new KSK)" \
    "seen: $dnskey_double" [ "$dnskey_double" = 1 ]
check ROLL-3 "gslbd found the new DS at the parent and removed the old KSK" "$ks" \
    grep -qE "ksk [0-9]+ removed" <<<"$(grep -A99 "parent publishes" <<<"$ks")"
newtag=$(awk '{print $1}' <<<"$dsnew")
oldtag=$(awk '{print $1}' <<<"$c0")
ksks=$(q child.parent.test DNSKEY +multi | grep -oE "KSK; alg = ED25519 ; key id = [0-9]+" | grep -oE "[0-9]+$" | tr '\n' ' ')
pass=0
[ -n "$newtag" ] && grep -qw "$newtag" <<<"$ksks" && ! grep -qw "$oldtag" <<<"$ksks" && pass=1
check ROLL-3 "after the roll the DNSKEY RRset has the new KSK $newtag, not the old $oldtag" \
    "KSKs: $ksks" [ "$pass" = 1 ]

# parent.test signed again before expiry (25 s validity, a quarter left) by the timer
last_load=$(grep -oE "zone parent\.test\. signed: .*valid until [0-9]+" "$SERVER_LOG" | tail -1 | grep -oE "[0-9]+$")
again=$(grep -oE "zone parent\.test\. signed again: .*valid until [0-9]+" "$SERVER_LOG" | tail -1 | grep -oE "[0-9]+$")
pass=0
[ -n "$last_load" ] && [ -n "$again" ] && [ "$again" -gt "$last_load" ] && pass=1
check ROLL-4 "parent.test was signed again while serving (the timer, after its last reload), with a later expiration" \
    "after the last reload: ${last_load:-none}, signed again: ${again:-none}" [ "$pass" = 1 ]
nrel=$(grep -c "reload requested" "$SERVER_LOG")
nag=$(grep -c "zone child.parent.test. signed again" "$SERVER_LOG")
check ROLL-4 "the child was signed again $nag times by the timer (key steps), besides $nrel reloads" \
    "$(grep "signed again" "$SERVER_LOG" | tail -3)" [ "$nag" -ge 3 ]

total=$(wc -l <"$PROBE")
good=$(grep -c " NOERROR ad$" "$PROBE")
pass=0
[ "$total" -ge 50 ] && [ "$good" = "$total" ] && pass=1
check ROLL-5 "every answer Unbound gave during the rolls was validated: $good of $total" \
    "$(grep -v " NOERROR ad$" "$PROBE" | head -5)" [ "$pass" = 1 ]
bogus=$(grep -c "validation failure" "$ULOG")
check ROLL-5 "Unbound logged no validation failure" "$(grep "validation failure" "$ULOG" | head -3)" \
    [ "$bogus" = 0 ]

# the folder: the state file and the live keys, 0600; removed keys' files deleted
mapfile -t pems < <(find "$KD" -name '*.pem')
live=$(/usr/bin/python3 -c 'import json,sys; print(" ".join(sorted(k["file"] for k in json.load(open(sys.argv[1]))["keys"])))' "$KD/child.parent.test.keys.json" 2>&1)
have=$(for p in "${pems[@]}"; do basename "$p"; done | sort | tr '\n' ' ' | sed 's/ $//')
check ROLL-6 "the key folder holds exactly the keys its state file lists" "state: $live; files: $have" \
    [ "$live" = "$have" ]
modes=$(stat -c %a "${pems[@]}" "$KD/child.parent.test.keys.json" | sort -u | tr '\n' ' ')
check ROLL-6 "keys and state are mode 600" "$modes" [ "$modes" = "600 " ]

st=$(curl -s "http://127.0.0.1:$APORT/api/v1/status")
keys=$(/usr/bin/python3 -c '
import json, sys
z = [z for z in json.load(sys.stdin)["dnssec"] if z["zone"] == "child.parent.test."][0]
print(" ".join(sorted("%s:%s:%s" % (k["role"], k["tag"], k["state"]) for k in z["keys"])))' <<<"$st" 2>&1)
check ROLL-7 "/api/v1/status lists the child's keys with role and state (ksk $newtag active)" \
    "$keys" grep -q "ksk:$newtag:active" <<<"$keys"
met=$(curl -s "http://127.0.0.1:$APORT/metrics" | grep '^gslbd_dnssec_key')
check ROLL-7 "metrics: gslbd_dnssec_key_info for the new KSK" "$met" \
    grep -qE "^gslbd_dnssec_key_info\{zone=\"child\.parent\.test\.\",tag=\"$newtag\",role=\"ksk\",algorithm=\"15\",state=\"active\"\} 1$" <<<"$met"
stop_pid "$UPID"
stop_pid "$GPID"
check ROLL-8 "gslbd exits 0 on SIGTERM (a sanitizer's report would make it fail)" \
    "exit status $STOP_RC; $(grep -A5 "Sanitizer" "$SERVER_LOG" | head -8)" [ "$STOP_RC" = 0 ]
finish
