#!/usr/bin/env bash
# t_zonemaster.sh: issue 18, "Zonemaster's DNSSEC tests find nothing, delegated from a
# loopback root that holds the DS". Zonemaster (zonemaster-cli, a DNS checker that shares
# no code with gslbd) runs its DNSSEC test module against zones gslbd signs, found by
# recursion from a root zone "." that gslbd also serves, signed, on loopback:
#   127.53.0.1:53        gslbd "root": the root zone, its NS a.root.test. with glue there;
#                        it delegates (NS, glue, DS) insure.example. and the two zones of
#                        the negative checks
#   127.53.0.2:53, .3:53 gslbd "child", one process on two addresses: insure.example.
#                        (signed, NS ns1 and ns2 at .2 and .3), baddigest.example. (signed,
#                        but the root's DS has one digest digit changed) and
#                        unsigned.example. (not signed, but the root holds a DS for it)
# Zonemaster asks port 53 only, so the servers must bind port 53 (root, or
# CAP_NET_BIND_SERVICE); every check is skipped, named, when that or zonemaster-cli is
# missing, or when something else already holds 127.53.0.1-3:53.
# Zonemaster is run with --hints (the loopback root instead of the real one), --no-ipv6,
# --test DNSSEC (only the DNSSEC module: the others would report what is inherent to a test
# on loopback, e.g. ADDRESS01 NAMESERVER_IP_PRIVATE_NETWORK for 127/8), and --json
# --level DEBUG, parsed here.
# IDs: ZM-1 keys and servers, ZM-2 the root's referral, ZM-3 insure.example. found clean
# (every DNSSEC test case ran, DS found at the loopback root, no ERROR, CRITICAL or
# WARNING), ZM-4 compact denial accepted (DNSSEC10), ZM-5 the root zone itself, ZM-6 a DS
# that does not match the key, ZM-7 a DS for an unsigned zone, ZM-8 clean exits.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# 3 setup, 1 referral, 5 insure.example., 1 compact denial, 1 root, 1 + 1 negative, 2 exits
plan $((3 + 1 + 5 + 1 + 1 + 2 + 2))
require_gslbd

ROOT_IP=127.53.0.1
NS1_IP=127.53.0.2
NS2_IP=127.53.0.3
ZM_TIMEOUT=$(it_slack 60 | cut -d. -f1)

# skip_all REASON: every check of the plan, skipped with REASON
skip_all() {
    skip ZM-1 "keys made, both gslbd answer on 127.53.0.1-3:53" "$1" 3
    skip ZM-2 "the root's referral to insure.example. carries the DS and its RRSIG" "$1"
    skip ZM-3 "Zonemaster DNSSEC: insure.example. clean" "$1" 5
    skip ZM-4 "Zonemaster DNSSEC10 accepts compact denial" "$1"
    skip ZM-5 "Zonemaster DNSSEC: the root zone clean" "$1"
    skip ZM-6 "Zonemaster: a DS that does not match the key" "$1"
    skip ZM-7 "Zonemaster: a DS for an unsigned zone" "$1"
    skip ZM-8 "both gslbd exit 0 on SIGTERM" "$1" 2
    finish
    exit $?
}

if ! command -v zonemaster-cli >/dev/null; then
    skip_all "zonemaster-cli is not installed (packaging/deps.sh)"
fi
# port53_free: 0 if UDP and TCP port 53 can be bound on the three addresses; else prints why
port53_free() {
    python3 - "$ROOT_IP" "$NS1_IP" "$NS2_IP" <<'PY'
import errno, socket, sys
for a in sys.argv[1:]:
    for t, name in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
        s = socket.socket(socket.AF_INET, t)
        try:
            s.bind((a, 53))
        except OSError as e:
            if e.errno == errno.EACCES:
                print("binding port 53 needs root or CAP_NET_BIND_SERVICE (Zonemaster asks port 53 only)")
            else:
                print(f"{a}:53/{name} is not free ({e.strerror})")
            sys.exit(1)
        finally:
            s.close()
PY
}
if ! why=$(port53_free); then
    skip_all "$why"
fi

# ---- keys and zones -------------------------------------------------------------------
KEYS=$IT_TMP/keys
mkdir -p "$KEYS"
keygen_ok=1
# keygen ZONE: a key for ZONE; its --keygen output (DNSKEY and DS lines) in $IT_TMP/ZONE.txt
keygen() {
    "$GSLBD" --keygen "$1" "$KEYS" >"$IT_TMP/ds-$1txt" 2>>"$IT_TMP/keygen.err" || keygen_ok=0
}
keygen .
keygen insure.example.
keygen baddigest.example.
keygen unsigned.example. # its DS goes in the root; the zone is served unsigned
keyfile() { find "$KEYS" -name "K$1+013+*.pem" | head -1; }
RKEY=$(keyfile .)
IKEY=$(keyfile insure.example.)
BKEY=$(keyfile baddigest.example.)
# ds ZONE: ZONE's DS line as --keygen printed it, TTL 86400
ds() { awk '$4 == "DS" { $2 = 86400; print }' "$IT_TMP/ds-$1txt"; }
pass=0
[ "$keygen_ok" = 1 ] && [ -n "$RKEY" ] && [ -n "$IKEY" ] && [ -n "$BKEY" ] &&
    [ -n "$(ds insure.example.)" ] && [ -n "$(ds unsigned.example.)" ] && pass=1
check ZM-1 "gslbd --keygen: keys and DS lines for ., insure.example., baddigest.example., unsigned.example." \
    "$(cat "$IT_TMP/keygen.err")" [ "$pass" = 1 ]

# The root zone. Its DS for baddigest.example. has the key's tag and the last hex digit of
# its digest changed.
ROOTZ=$IT_TMP/root.zone
{
    echo "\$TTL 86400"
    echo '.                    IN SOA a.root.test. hostmaster.root.test. 2026010101 14400 3600 604800 86400'
    echo '.                    IN NS  a.root.test.'
    echo "a.root.test.         IN A   $ROOT_IP"
    for z in insure baddigest unsigned; do
        echo "$z.example.          IN NS  ns1.$z.example."
        echo "$z.example.          IN NS  ns2.$z.example."
        echo "ns1.$z.example.      IN A   $NS1_IP"
        echo "ns2.$z.example.      IN A   $NS2_IP"
    done
    ds insure.example.
    ds unsigned.example.
    ds baddigest.example. | awk '{ d = $8; l = substr(d, length(d)); $8 = substr(d, 1, length(d) - 1) (l == "0" ? "1" : "0"); print }'
} >"$ROOTZ"
# child_zone NAME: the zone file of NAME.example., NS ns1 and ns2 at the child's addresses
child_zone() {
    cat <<EOF >"$IT_TMP/$1.zone"
\$ORIGIN $1.example.
\$TTL 3600
@    IN SOA  ns1 hostmaster 2026010101 14400 3600 1209600 300
@    IN NS   ns1
@    IN NS   ns2
ns1  IN A    $NS1_IP
ns2  IN A    $NS2_IP
www  IN A    192.0.2.10
www  IN AAAA 2001:db8::10
@    IN MX   10 mail
mail IN A    192.0.2.25
EOF
}
for z in insure baddigest unsigned; do child_zone "$z"; done
cat >"$IT_TMP/root.json" <<EOF
{"listen": ["$ROOT_IP:53"], "workers": 1, "api": {"enabled": false},
 "zones": [{"origin": ".", "file": "$ROOTZ", "dnssec": {"key_file": "$RKEY"}}]}
EOF
cat >"$IT_TMP/child.json" <<EOF
{"listen": ["$NS1_IP:53", "$NS2_IP:53"], "workers": 1, "api": {"enabled": false},
 "zones": [
  {"origin": "insure.example.", "file": "$IT_TMP/insure.zone", "dnssec": {"key_file": "$IKEY"}},
  {"origin": "baddigest.example.", "file": "$IT_TMP/baddigest.zone", "dnssec": {"key_file": "$BKEY"}},
  {"origin": "unsigned.example.", "file": "$IT_TMP/unsigned.zone"}]}
EOF
# Zonemaster's root hints: the loopback root only
HINTS=$IT_TMP/hints
printf '.            3600000 IN NS a.root.test.\na.root.test. 3600000 IN A  %s\n' "$ROOT_IP" >"$HINTS"

# ---- servers ----------------------------------------------------------------------------
start_gslbd root -c "$IT_TMP/root.json"
RPID=$SERVER_PID
RLOG=$SERVER_LOG
start_gslbd child -c "$IT_TMP/child.json"
CPID=$SERVER_PID
CLOG=$SERVER_LOG

# ready PID ADDR ZONE: until gslbd at ADDR:53 answers ZONE's SOA; 1 if it died or timed out
ready() {
    local i
    for ((i = 0; i < $(it_slack 100 | cut -d. -f1); i++)); do
        kill -0 "$1" 2>/dev/null || return 1
        dig +norec +tries=1 +time=1 +short @"$2" "$3" SOA 2>/dev/null | grep -q . && return 0
        sleep 0.1
    done
    return 1
}
check ZM-1 "gslbd root answers on $ROOT_IP:53" "$(tail -5 "$RLOG")" ready "$RPID" "$ROOT_IP" .
pass=0
ready "$CPID" "$NS1_IP" insure.example && ready "$CPID" "$NS2_IP" insure.example && pass=1
check ZM-1 "gslbd child answers on $NS1_IP:53 and $NS2_IP:53" "$(tail -5 "$CLOG")" [ "$pass" = 1 ]

out=$(dig +norec +tries=1 +time=2 +dnssec +noall +authority @"$ROOT_IP" www.insure.example A 2>&1)
want=$(ds insure.example. | awk '{print $5}')
pass=0
grep -qE "^insure\.example\.[[:space:]].*IN[[:space:]]+DS[[:space:]]+$want 13 2 " <<<"$out" &&
    grep -qE "^insure\.example\.[[:space:]].*RRSIG[[:space:]]+DS 13 2 " <<<"$out" && pass=1
check ZM-2 "the root's referral to insure.example. carries the DS (tag $want) and its RRSIG" "$out" \
    [ "$pass" = 1 ]

# zm ZONE OUT [ARGS...]: Zonemaster's DNSSEC module on ZONE, every message as JSON in OUT
zm() {
    local zone=$1 out=$2
    shift 2
    timeout "$ZM_TIMEOUT" zonemaster-cli --hints "$HINTS" --no-ipv6 --test DNSSEC --json \
        --level DEBUG --no-progress "$@" "$zone" >"$out" 2>"$out.err"
}
# msgs OUT LEVEL...: the messages at those levels, one a line: LEVEL TESTCASE TAG args
msgs() {
    python3 - "$@" <<'PY'
import json, sys
levels = set(sys.argv[2:])
for e in json.load(open(sys.argv[1])):
    if e["level"] in levels:
        args = " ".join(f"{k}={v}" for k, v in sorted((e.get("args") or {}).items()))
        print(e["level"], e["testcase"], e["tag"], args)
PY
}

# ---- insure.example.: clean -------------------------------------------------------------
ZI=$IT_TMP/zm-insure.json
zm insure.example "$ZI"
rc=$?
pass=0
[ "$rc" = 0 ] && msgs "$ZI" DEBUG >/dev/null 2>&1 && pass=1
check ZM-3 "zonemaster-cli --test DNSSEC insure.example exits 0 with JSON" \
    "exit $rc: $(head -c 2000 "$ZI.err") $(head -c 500 "$ZI")" [ "$pass" = 1 ]
# The 17 test cases of the DNSSEC module 1.1.58 (no DNSSEC12); one missing would mean a
# test that did not run, which reports nothing.
want="DNSSEC01 DNSSEC02 DNSSEC03 DNSSEC04 DNSSEC05 DNSSEC06 DNSSEC07 DNSSEC08 DNSSEC09 DNSSEC10 DNSSEC11 DNSSEC13 DNSSEC14 DNSSEC15 DNSSEC16 DNSSEC17 DNSSEC18"
ran=$(msgs "$ZI" DEBUG 2>/dev/null | awk '$3 == "TEST_CASE_END" && $2 ~ /^DNSSEC/ {print $2}' | sort -u | xargs)
check ZM-3 "every DNSSEC test case ran (TEST_CASE_END for each of the 17)" "ran: $ran" \
    [ "$ran" = "$want" ]
# DNSSEC07 names where it found the DNSKEY (child) and the DS (parent): the loopback root.
# This guards against a clean result that means nothing: with the child's servers down,
# Zonemaster 4.6.2's DNSSEC module reports no ERROR at all (tried), only that no
# DNSKEY_AND_DS was found.
out=$(msgs "$ZI" DEBUG 2>/dev/null | grep -E ' (DNSKEY_AND_DS|DS_BUT_NOT_DNSKEY|DNSKEY_BUT_NOT_DS|NEITHER_DNSKEY_NOR_DS) ')
check ZM-3 "DNSSEC07 found the DNSKEY at the child and the DS at the loopback root ($ROOT_IP)" \
    "$out" grep -qE "^DEBUG DNSSEC07 DNSKEY_AND_DS child=(${NS1_IP//./\\.}|${NS2_IP//./\\.}) parent=${ROOT_IP//./\\.}$" <<<"$out"
out=$(msgs "$ZI" CRITICAL ERROR 2>&1)
check ZM-3 "no message at level CRITICAL or ERROR" "$out" [ -z "$out" ]
out=$(msgs "$ZI" WARNING 2>&1)
check ZM-3 "no message at level WARNING" "$out" [ -z "$out" ]
# what is left above DEBUG, for the log: INFO (RRSIG_EXPIRATION, ALGORITHM_OK,
# DS10_HAS_NSEC, DS15_NO_CDS_CDNSKEY) and NOTICE (none expected)
note "Zonemaster on insure.example., INFO and NOTICE:"
while read -r line; do note "  $line"; done < <(msgs "$ZI" NOTICE INFO 2>/dev/null)

# ---- compact denial ------------------------------------------------------------------
# DNSSEC10 asks both servers for a name that does not exist (A, DO). gslbd's answer is
# RFC 9824's: NOERROR and an NSEC at the name asked (next name \000.name, types RRSIG NSEC
# NXNAME), signed. Zonemaster accepts it when the NSEC "covers" the name (ldns: owner <=
# name < next) and its RRSIG verifies; otherwise it reports DS10_NAME_NOT_COVERED_BY_NSEC,
# DS10_NSEC_RRSIG_VERIFY_ERROR, DS10_MISSING_NSEC_NSEC3...
out=$(msgs "$ZI" INFO NOTICE WARNING ERROR CRITICAL 2>&1 | grep ' DNSSEC10 ')
check ZM-4 "DNSSEC10 found gslbd's compact-denial NSEC on both servers (DS10_HAS_NSEC) and nothing else" \
    "$out" [ "$out" = "INFO DNSSEC10 DS10_HAS_NSEC ns_ip_list=$NS1_IP;$NS2_IP" ]

# ---- the root zone itself ---------------------------------------------------------------
# It has no parent: its DS is given to Zonemaster as the trust anchor (--ds), as the root's
# would be; without it DNSSEC07 warns DNSKEY_BUT_NOT_DS.
ZR=$IT_TMP/zm-root.json
rds=$(awk '$4 == "DS" {print $5 "," $6 "," $7 "," $8}' "$IT_TMP/ds-.txt")
zm . "$ZR" --ds "$rds"
rc=$?
out=$(msgs "$ZR" CRITICAL ERROR WARNING 2>&1)
ran=$(msgs "$ZR" DEBUG 2>/dev/null | awk '$3 == "TEST_CASE_END" && $2 ~ /^DNSSEC/ {print $2}' | sort -u | xargs)
pass=0
[ "$rc" = 0 ] && [ -z "$out" ] && [ "$ran" = "$want" ] && pass=1
check ZM-5 "Zonemaster DNSSEC on the root zone (its DS as --ds): every test case ran, no CRITICAL, ERROR or WARNING" \
    "exit $rc; ran: $ran; $out $(head -c 1000 "$ZR.err")" [ "$pass" = 1 ]

# ---- negative checks: the same assertions must fail on broken delegations ---------------
# has_error OUT TAG...: each TAG reported at level ERROR
has_error() {
    local out=$1 tag
    shift
    for tag in "$@"; do
        msgs "$out" ERROR 2>/dev/null | grep -qE "^ERROR [A-Z0-9]+ $tag( |$)" || return 1
    done
}
ZB=$IT_TMP/zm-baddigest.json
zm baddigest.example "$ZB"
check ZM-6 "a root DS whose digest does not match the zone's key: ERROR DS02_NO_MATCH_DS_DNSKEY" \
    "$(msgs "$ZB" CRITICAL ERROR WARNING NOTICE 2>&1; head -c 1000 "$ZB.err")" \
    has_error "$ZB" DS02_NO_MATCH_DS_DNSKEY
ZU=$IT_TMP/zm-unsigned.json
zm unsigned.example "$ZU"
check ZM-7 "a root DS for a zone served unsigned: ERROR DS_BUT_NOT_DNSKEY and DS11_DS_BUT_UNSIGNED_ZONE" \
    "$(msgs "$ZU" CRITICAL ERROR WARNING NOTICE 2>&1; head -c 1000 "$ZU.err")" \
    has_error "$ZU" DS_BUT_NOT_DNSKEY DS11_DS_BUT_UNSIGNED_ZONE

# ---- clean exits ------------------------------------------------------------------------
stop_pid "$RPID"
check ZM-8 "gslbd root: SIGTERM, exit status 0" "exit $STOP_RC: $(tail -5 "$RLOG")" [ "$STOP_RC" = 0 ]
stop_pid "$CPID"
check ZM-8 "gslbd child: SIGTERM, exit status 0" "exit $STOP_RC: $(tail -5 "$CLOG")" [ "$STOP_RC" = 0 ]

finish
