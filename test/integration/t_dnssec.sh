#!/usr/bin/env bash
# t_dnssec.sh: DNSSEC, issue 18 first phase. `gslbd --keygen ZONE DIR` checked with tools
# that share no code with gslbd: the key file is a private P-256 key (openssl) that only
# its owner can read, its public half is the DNSKEY printed, and ldns-key2ds computes the
# same key tag and DS digest; bad arguments exit 2, an unwritable folder 1, naming it.
# Then a zone signed at load, asked directly with dig (RRSIGs only with DO, the DNSKEY at
# the apex, an unsigned zone unchanged) and through Unbound validating on loopback with a
# trust anchor for the zone: positive answers, CNAME and DNAME chains come back with AD;
# a zone signed by a key its anchor does not name comes back SERVFAIL.
# IDs: KG-1 exit and file, KG-2 file mode, KG-3 key and DNSKEY agree, KG-4 DS and key tag,
# KG-5 bad input; SIG-1 served records, SIG-2 validated by Unbound, SIG-3 rejected.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# 9 keygen checks, 10 served-record checks, 7 validated names, 1 rejected
plan $((9 + 10 + 7 + 1))
require_gslbd

DIR=$IT_TMP/keys
mkdir -p "$DIR"
OUTF=$IT_TMP/keygen.out
ERRF=$IT_TMP/keygen.err
(umask 022 && "$GSLBD" --keygen Example.COM "$DIR" >"$OUTF" 2>"$ERRF")
rc=$?
mapfile -t files < <(find "$DIR" -type f)
if [ "$rc" -eq 0 ] && [ ${#files[@]} -eq 1 ] &&
    [[ ${files[0]} =~ /Kexample\.com\.\+013\+([0-9]{5})\.pem$ ]]; then
    ftag=$((10#${BASH_REMATCH[1]}))
    ok KG-1 "--keygen exits 0 and writes one K<zone>+013+<tag>.pem (lowercased zone)"
else
    ftag=
    not_ok KG-1 "--keygen exits 0 and writes one K<zone>+013+<tag>.pem" "exit $rc" \
        "files: ${files[*]:-none}" "stderr: $(cat "$ERRF")"
fi
KEY=${files[0]:-$DIR/none}

mode=$(stat -c %a "$KEY" 2>/dev/null)
check KG-2 "the key file is mode 600 under umask 022" "mode ${mode:-missing}" \
    [ "$mode" = 600 ]

curve=$(openssl pkey -in "$KEY" -noout -text 2>&1 | grep -c 'NIST CURVE: P-256')
check KG-3 "openssl reads a P-256 private key from it" "openssl: $curve" [ "$curve" = 1 ]

# The DNSKEY's public key field is the 64 octets x || y that end the key's DER SPKI.
pub=$(openssl pkey -in "$KEY" -pubout -outform DER 2>/dev/null | tail -c 64 | base64 -w0)
read -r -a dk < <(grep -E '[[:space:]]DNSKEY[[:space:]]' "$OUTF")
if [ ${#dk[@]} -eq 8 ] && [ "${dk[0]}" = example.com. ] && [ "${dk[4]}" = 257 ] &&
    [ "${dk[5]}" = 3 ] && [ "${dk[6]}" = 13 ] && [ -n "$pub" ] && [ "${dk[7]}" = "$pub" ]; then
    ok KG-3 "the printed DNSKEY is 'example.com. ... DNSKEY 257 3 13' with the file's public key"
else
    not_ok KG-3 "the printed DNSKEY is 'example.com. ... DNSKEY 257 3 13' with the file's public key" \
        "printed: ${dk[*]:-none}" "openssl public key: $pub"
fi

grep -E '[[:space:]]DNSKEY[[:space:]]' "$OUTF" >"$IT_TMP/k.key"
theirs=$(cd "$IT_TMP" && ldns-key2ds -n -2 k.key 2>&1)
read -r -a t < <(echo "$theirs")
read -r -a m < <(grep -E '[[:space:]]DS[[:space:]]' "$OUTF")
if [ ${#t[@]} -eq 8 ] && [ ${#m[@]} -eq 8 ] && [ "${m[4]}" = "${t[4]}" ] &&
    [ "${m[4]}" = "$ftag" ] && [ "${m[5]}" = 13 ] && [ "${m[6]}" = 2 ]; then
    ok KG-4 "key tag ${m[4]} equals ldns-key2ds's and the file name's"
else
    not_ok KG-4 "key tag equals ldns-key2ds's and the file name's" "ours: ${m[*]:-none}" \
        "ldns-key2ds: $theirs" "file tag: $ftag"
fi
check KG-4 "DS digest (SHA-256) equals ldns-key2ds's" "ours ${m[7]:-none}, theirs ${t[7]:-none}" \
    [ "${m[7]:-x}" = "$(tr a-f A-F <<<"${t[7]:-y}")" ]

out=$("$GSLBD" --keygen 'a..b' "$DIR" 2>&1)
rc=$?
check KG-5 "a bad zone name exits 2 and says so" "exit $rc: $out" \
    grep -q "not a domain name" <<<"$([ "$rc" = 2 ] && echo "$out")"
out=$("$GSLBD" --keygen example.com 2>&1)
rc=$?
check KG-5 "a missing DIR exits 2 with the usage" "exit $rc: $out" \
    grep -q "usage: gslbd --keygen ZONE DIR" <<<"$([ "$rc" = 2 ] && echo "$out")"
out=$("$GSLBD" --keygen example.com "$IT_TMP/no/such/dir" 2>&1)
rc=$?
check KG-5 "a folder that does not exist exits 1 naming the file" "exit $rc: $out" \
    grep -q "$IT_TMP/no/such/dir/Kexample.com.+013+" <<<"$([ "$rc" = 1 ] && echo "$out")"

# ---- a signed zone, served ----------------------------------------------------------------
KS=$IT_TMP/ks
mkdir -p "$KS" "$IT_TMP/kb"
"$GSLBD" --keygen signed.test "$KS" >"$IT_TMP/ka.txt" 2>/dev/null
KA=$(find "$KS" -name 'Ksigned.test.+013+*.pem' | head -1)
"$GSLBD" --keygen forged.test "$KS" >"$IT_TMP/kf.txt" 2>/dev/null # the one the anchor names
# forged.test is served signed by another key
"$GSLBD" --keygen forged.test "$IT_TMP/kb" >/dev/null 2>&1
KB=$(find "$IT_TMP/kb" -name 'Kforged.test.+013+*.pem' | head -1)
TAG_A=$(awk '/ DS /{print $5}' "$IT_TMP/ka.txt")
PORT=$(free_port 127.0.0.1)
CONF=$IT_TMP/signed.json
cat >"$CONF" <<EOF
{"listen": ["127.0.0.1:$PORT"], "api": {"enabled": false}, "workers": 1,
 "zones": [
  {"origin": "signed.test.", "file": "$DATA/signed.test.zone",
   "dnssec": {"key_file": "$KA", "validity_days": 7}},
  {"origin": "forged.test.", "file": "$DATA/forged.test.zone",
   "dnssec": {"key_file": "$KB"}},
  {"origin": "other.test.", "file": "$DATA/other.test.zone"}]}
EOF
start_gslbd signed -c "$CONF"
GPID=$SERVER_PID
if ! wait_ready "$GPID" "$PORT" signed.test "$(it_slack 10 | cut -d. -f1)"; then
    note "gslbd did not start:" "$(cat "$SERVER_LOG")"
fi

# q NAME TYPE [DIG OPTIONS...]: dig at gslbd; answer and authority records, one a line
q() {
    local name=$1 qtype=$2
    shift 2
    dig +norec +tries=1 +time=2 +noall +answer +authority -p "$PORT" @127.0.0.1 "$name" "$qtype" "$@"
}

out=$(q www.signed.test A +dnssec)
check SIG-1 "DO=1: www.signed.test A comes with RRSIG A 13 3 300 ... $TAG_A signed.test." "$out" \
    grep -qE "RRSIG[[:space:]]+A 13 3 300 [0-9]{14} [0-9]{14} $TAG_A signed\\.test\\. " <<<"$out"
out=$(q www.signed.test A +nodnssec)
pass=0
[ "$(grep -c RRSIG <<<"$out")" = 0 ] && [ "$(grep -cE "IN[[:space:]]+A[[:space:]]" <<<"$out")" = 2 ] && pass=1
check SIG-1 "DO=0: the same answer has no RRSIG, the two A records" "$out" \
    [ "$pass" = 1 ]
out=$(q signed.test DNSKEY +dnssec)
want=$(awk '/ DNSKEY /{print $NF}' "$IT_TMP/ka.txt")
pass=0
grep -qF -- "$want" <<<"$(tr -d " " <<<"$out")" && grep -qE "RRSIG[[:space:]]+DNSKEY 13 2 " <<<"$out" && pass=1
check SIG-1 "the apex DNSKEY is the key --keygen printed, signed" "$out" \
    [ "$pass" = 1 ]
out=$(q sub.signed.test A +dnssec)
pass=0
grep -qE "IN[[:space:]]+NS[[:space:]]" <<<"$out" && ! grep -q RRSIG <<<"$out" && pass=1
check SIG-1 "a referral: the delegation's NS has no RRSIG" "$out" \
    [ "$pass" = 1 ]
out=$(q nope.signed.test A +dnssec)
check SIG-1 "NXDOMAIN: the SOA in authority comes with its RRSIG" "$out" \
    grep -qE "RRSIG[[:space:]]+SOA 13 2 " <<<"$out"
out=$(q www.other.test A +dnssec)
pass=0
[ "$(grep -c RRSIG <<<"$out")" = 0 ] && grep -q "192.0.2.80" <<<"$out" && pass=1
check SIG-1 "an unsigned zone with DO=1: the A record alone" "$out" \
    [ "$pass" = 1 ]
out=$(q other.test DNSKEY +dnssec)
pass=0
! grep -q DNSKEY <<<"$out" && grep -q SOA <<<"$out" && pass=1
check SIG-1 "an unsigned zone has no DNSKEY (NODATA, SOA only)" "$out" \
    [ "$pass" = 1 ]
# TC: 2 TXT of 180 octets fit in 512 alone, not with their RRSIG, which never comes alone
out=$(q big.signed.test TXT +nodnssec +bufsize=512 +ignore +noall +comments +answer)
pass=0
! grep -qE "^;; flags:[^;]* tc[ ;]" <<<"$out" && [ "$(grep -c "IN[[:space:]]TXT" <<<"$out")" = 2 ] && pass=1
check SIG-1 "DO=0, 512-octet buffer: the two long TXT fit, no TC" "$out" [ "$pass" = 1 ]
out=$(q big.signed.test TXT +dnssec +bufsize=512 +ignore +noall +comments +answer)
pass=0
grep -qE "^;; flags:[^;]* tc[ ;]" <<<"$out" && ! grep -q "IN[[:space:]]TXT" <<<"$out" && pass=1
check SIG-1 "DO=1, 512-octet buffer: TC, the TXT RRset not sent without its RRSIG" "$out" \
    [ "$pass" = 1 ]
cnt=$(grep -cE "zone signed\\.test\\. signed: key tag $TAG_A, [0-9]+ signatures" "$SERVER_LOG")
check SIG-1 "the log says the zone was signed, with its key tag" "log: $(cat "$SERVER_LOG")" \
    [ "$cnt" = 1 ]

# ---- through a validating Unbound ---------------------------------------------------------
UPORT=$(free_port 127.0.0.1)
UDIR=$IT_TMP/unbound
mkdir -p "$UDIR"
ULOG=$LOGDIR/$IT_NAME-unbound.log
fresh_log "$ULOG"
anchor_a=$(awk '/ DNSKEY /{print $1, "DNSKEY", $5, $6, $7, $8}' "$IT_TMP/ka.txt")
anchor_f=$(awk '/ DNSKEY /{print $1, "DNSKEY", $5, $6, $7, $8}' "$IT_TMP/kf.txt")
cat >"$UDIR/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$UPORT
    port: $UPORT
    do-ip6: no
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "$UDIR"
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
    trust-anchor: "$anchor_a"
    trust-anchor: "$anchor_f"
stub-zone:
    name: "signed.test"
    stub-addr: 127.0.0.1@$PORT
stub-zone:
    name: "forged.test"
    stub-addr: 127.0.0.1@$PORT
remote-control:
    control-enable: no
EOF
if command -v unbound >/dev/null; then
    unbound -d -c "$UDIR/unbound.conf" </dev/null >>"$ULOG" 2>&1 &
    UPID=$!
    IT_PIDS+=("$UPID")
    up=0
    for ((i = 0; i < 100; i++)); do
        if dig +tries=1 +time=1 -p "$UPORT" @127.0.0.1 signed.test SOA >/dev/null 2>&1; then
            up=1
            break
        fi
        kill -0 "$UPID" 2>/dev/null || break
        sleep 0.1
    done
    [ "$up" = 1 ] || note "unbound did not answer:" "$(cat "$ULOG")"

    # v NAME TYPE: Unbound's whole answer to a query with DO set
    v() {
        dig +dnssec +tries=1 +time=4 -p "$UPORT" @127.0.0.1 "$1" "$2" 2>&1
    }
    for nt in "www.signed.test A" "WWW.Signed.TEST AAAA" "alias.signed.test A" \
        "x.old.signed.test A" "signed.test MX" "txt.signed.test TXT" "signed.test DNSKEY"; do
        # shellcheck disable=SC2086 # name and type
        out=$(v $nt)
        pass=0
        grep -q "status: NOERROR" <<<"$out" && grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" && pass=1
        check SIG-2 "Unbound validates $nt: NOERROR with AD" "$out" \
            [ "$pass" = 1 ]
    done
    out=$(v www.forged.test A)
    check SIG-3 "a zone signed by a key its anchor does not name: SERVFAIL" "$out" \
        grep -q "status: SERVFAIL" <<<"$out"
    stop_pid "$UPID"
else
    skip SIG-2 "Unbound validates the signed names" "unbound is not installed (packaging/deps.sh)" 7
    skip SIG-3 "a zone signed by a key its anchor does not name: SERVFAIL" "no unbound"
fi
stop_pid "$GPID"

finish
