#!/usr/bin/env bash
# t_dnssec.sh: DNSSEC, issue 18 first phase. `gslbd --keygen ZONE DIR` checked with tools
# that share no code with gslbd: the key file is a private P-256 key (openssl) that only
# its owner can read, its public half is the DNSKEY printed, and ldns-key2ds computes the
# same key tag and DS digest; bad arguments exit 2, an unwritable folder 1, naming it.
# Then a zone signed at load, asked directly with dig (RRSIGs only with DO, the DNSKEY at
# the apex, an unsigned zone unchanged) and through Unbound validating on loopback with a
# trust anchor for the zone: positive answers, CNAME and DNAME chains, and the compact
# denials (RFC 9824) of a name that does not exist, a type a name lacks and an empty
# non-terminal come back with AD;
# a zone signed by a key its anchor does not name, an expired or not yet valid signature
# and a signature with a bit flipped (by a proxy) come back SERVFAIL. delv with the same
# anchor validates the same names.
# Delegations: signed.test delegates sec.signed.test (signed, its DS in the parent) and
# ins.signed.test (unsigned, no DS), both served by the same gslbd: DS is answered from the
# parent, referrals carry DS and its RRSIG or the NSEC that proves there is none, and
# Unbound and delv validate through the secure one and accept the insecure one.
# A zone signed by a KSK and a ZSK pair of Ed25519 keys validates with delv; gslbd
# --dump-zone's output (the zone with an NSEC chain made for the dump) passes BIND's
# dnssec-verify and ldns-verify-zone, and a tampered copy fails both.
# IDs: KG-1 exit and file, KG-2 file mode, KG-3 key and DNSKEY agree, KG-4 DS and key tag,
# KG-5 bad input, KG-6 keys imported from BIND and Knot; SIG-1 served records, SIG-2 validated by Unbound, SIG-3 rejected,
# SIG-4 validated by delv, SIG-5 the signature cache's metrics, SIG-6 GSLB answers signed
# and validated through a failover and a drain, SIG-7 delegations, SIG-8 a KSK/ZSK pair,
# SIG-9 the dump checked by zone checkers, SIG-10 the exit status.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# 9 keygen checks, 4 imports, 17 served-record checks, 1 metrics, 13 names validated by Unbound,
# 13 GSLB checks, 5 rejected, the 13 names validated by delv, 9 delegation checks, 3 pair,
# 4 dump, 1 exit, 1 ANY at a wildcard
plan $((9 + 4 + 17 + 1 + 13 + 13 + 5 + 13 + 9 + 3 + 4 + 1 + 1))
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

# KG-6: keys imported from BIND (K*.private + K*.key) and Knot (keymgr's PEM): the DNSKEY
# gslbd prints is the one the other tool made (normalise: owner, type and the rest)
dk_line() { # the DNSKEY RDATA of a zone file line, spaces removed from the key
    awk '/DNSKEY/ && $1 !~ /^;/ {for (i = 1; i <= NF; i++) if ($i == "DNSKEY") {k = ""; for (j = i + 4; j <= NF; j++) k = k $j; print $(i + 1), $(i + 2), $(i + 3), k; exit}}'
}
IMP=$IT_TMP/import
mkdir -p "$IMP/bind" "$IMP/out" "$IMP/kasp"
if command -v dnssec-keygen >/dev/null; then
    (cd "$IMP/bind" && dnssec-keygen -q -a ED25519 -f KSK example.com >/dev/null 2>&1 &&
        dnssec-keygen -q -a ECDSAP256SHA256 example.com >/dev/null 2>&1)
    bk=$(find "$IMP/bind" -name 'Kexample.com.+015+*.private' | head -1)
    bz=$(find "$IMP/bind" -name 'Kexample.com.+013+*.private' | head -1)
    ours=$("$GSLBD" --keygen example.com "$IMP/out" --import "$bk" 2>&1 | dk_line)
    theirs=$(dk_line <"${bk%.private}.key")
    pass=0
    [ -n "$theirs" ] && [ "$ours" = "$theirs" ] && [ -f "$IMP/out/$(basename "${bk%.private}").pem" ] && pass=1
    check KG-6 "a BIND Ed25519 KSK imported: the same DNSKEY ($theirs) and key tag in the file name" \
        "ours: $ours; BIND: $theirs; $(ls "$IMP/out")" [ "$pass" = 1 ]
    ours=$("$GSLBD" --keygen example.com "$IMP/out" --import "$bz" 2>&1 | dk_line)
    theirs=$(dk_line <"${bz%.private}.key")
    pass=0
    [ -n "$theirs" ] && [ "$ours" = "$theirs" ] && [[ $theirs == "256 3 13 "* ]] && pass=1
    check KG-6 "a BIND ECDSA ZSK imported: the same DNSKEY, flags 256 kept" \
        "ours: $ours; BIND: $theirs" [ "$pass" = 1 ]
    cp "$bk" "$IMP/mismatch.private"
    cp "${bz%.private}.key" "$IMP/mismatch.key"
    out=$("$GSLBD" --keygen example.com "$IMP/out" --import "$IMP/mismatch.private" 2>&1)
    rc=$?
    check KG-6 "a BIND private key with another key's .key beside it is refused (exit 1)" \
        "exit $rc: $out" grep -q "not a BIND key\|does not match" <<<"$([ "$rc" = 1 ] && echo "$out")"
else
    skip KG-6 "BIND keys imported" "dnssec-keygen is not installed (bind9-utils)" 3
fi
if command -v keymgr >/dev/null; then
    keymgr -D "$IMP/kasp" example.net. generate algorithm=ECDSAP256SHA256 ksk=yes >/dev/null 2>&1
    kp=$(find "$IMP/kasp/keys" -name '*.pem' | head -1)
    ours=$("$GSLBD" --keygen example.net "$IMP/out" --import "$kp" 2>&1 | dk_line)
    theirs=$(keymgr -D "$IMP/kasp" example.net. dnskey 2>/dev/null | dk_line)
    ktag=$(keymgr -D "$IMP/kasp" example.net. list 2>/dev/null | awk '{print $2; exit}')
    pass=0
    [ -n "$theirs" ] && [ "$ours" = "$theirs" ] && [ -n "$ktag" ] &&
        [ -f "$IMP/out/Kexample.net.+013+$(printf %05d "$ktag").pem" ] && pass=1
    check KG-6 "a Knot key (keymgr's PEM, mode 0640) imported: the same DNSKEY and key tag $ktag" \
        "ours: $ours; Knot: $theirs; $(ls "$IMP/out")" [ "$pass" = 1 ]
else
    skip KG-6 "a Knot key imported" "keymgr is not installed (knot)" 1
fi

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
# sec.signed.test: a secure child; its DS goes in a copy of the parent's zone, beside a
# delegation (far) to a server that is not here, with a DS too
"$GSLBD" --keygen sec.signed.test "$KS" >"$IT_TMP/kc.txt" 2>/dev/null
KC=$(find "$KS" -name 'Ksec.signed.test.+013+*.pem' | head -1)
TAG_C=$(awk '/ DS /{print $5}' "$IT_TMP/kc.txt")
PARENT=$IT_TMP/signed.test.zone
# pair.test: a KSK and a ZSK, Ed25519
"$GSLBD" --keygen pair.test "$KS" --algorithm ed25519 >"$IT_TMP/kpk.txt" 2>/dev/null
"$GSLBD" --keygen pair.test "$KS" --algorithm ed25519 --zsk >"$IT_TMP/kpz.txt" 2>/dev/null
TAG_PK=$(awk '/ DS /{print $5}' "$IT_TMP/kpk.txt")
KPK=$(find "$KS" -name "Kpair.test.+015+$(printf %05d "$TAG_PK").pem")
KPZ=$(find "$KS" -name 'Kpair.test.+015+*.pem' ! -name "Kpair.test.+015+$(printf %05d "$TAG_PK").pem")
TAG_PZ=$(basename "$KPZ" | sed -E 's/.*\+0*([0-9]+)\.pem$/\1/')
{
    cat "$DATA/signed.test.zone"
    echo "sec IN NS ns1"
    awk '/ DS /{print "sec", $4, $5, $6, $7, $8}' "$IT_TMP/kc.txt"
    echo "ins IN NS ns1"
    echo "far IN NS ns.far"
    echo "ns.far IN A 192.0.2.54"
    awk '/ DS /{print "far", $4, $5, $6, $7, $8}' "$IT_TMP/kc.txt"
} >"$PARENT"
PORT=$(free_port 127.0.0.1)
APORT=$(free_port 127.0.0.1)
# app.signed.test: a GSLB service, cluster a (a TCP check on a listener this test holds)
# then cluster b
LPORT=$(free_port 127.0.3.1)
# listen_a: the listener cluster a's check connects to; sets LPID
listen_a() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.3.1", int(sys.argv[1])))
s.listen(64)
while True:
    c, _ = s.accept()
    c.close()
' "$LPORT" &
    LPID=$!
    IT_PIDS+=("$LPID")
}
listen_a
CONF=$IT_TMP/signed.json
cat >"$CONF" <<EOF
{"listen": ["127.0.0.1:$PORT"], "api": {"listen": "127.0.0.1:$APORT"}, "workers": 1,
 "state_file": "$IT_TMP/state.json", "startup_wait_ms": 2000,
 "regions": [{"name": "lo", "lat": 50.1, "lon": 8.7}],
 "checks": [{"name": "tcp", "type": "tcp", "port": $LPORT, "interval_ms": 200,
             "timeout_ms": 150, "fall": 2, "rise": 2}],
 "clusters": [
  {"name": "a", "region": "lo", "addresses": ["127.0.3.1"], "checks": ["tcp"]},
  {"name": "b", "region": "lo", "addresses": ["127.0.3.2", "2001:db8::3:2"], "checks": []}],
 "services": [{"name": "app.signed.test", "policy": "failover", "clusters": ["a", "b"],
               "ttl": 2, "failover_ttl": 1}],
 "zones": [
  {"origin": "signed.test.", "file": "$PARENT",
   "dnssec": {"key_file": "$KA", "validity_days": 7}},
  {"origin": "sec.signed.test.", "file": "$DATA/sec.signed.test.zone",
   "dnssec": {"key_file": "$KC"}},
  {"origin": "ins.signed.test.", "file": "$DATA/ins.signed.test.zone"},
  {"origin": "pair.test.", "file": "$DATA/pair.test.zone",
   "dnssec": {"ksk_file": "$KPK", "zsk_file": "$KPZ"}},
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
grep -qE "IN[[:space:]]+NS[[:space:]]" <<<"$out" && ! grep -qE "RRSIG[[:space:]]+NS " <<<"$out" && pass=1
check SIG-1 "a referral: the delegation's NS has no RRSIG" "$out" \
    [ "$pass" = 1 ]
out=$(q nope.signed.test A +dnssec)
check SIG-1 "NXDOMAIN: the SOA in authority comes with its RRSIG" "$out" \
    grep -qE "RRSIG[[:space:]]+SOA 13 2 " <<<"$out"
# compact denial (RFC 9824): an NSEC at the name asked, next name \000.name, signed
out=$(q nope.signed.test A +dnssec +noall +comments +authority)
pass=0
grep -q "status: NOERROR" <<<"$out" &&
    grep -qE "^nope\.signed\.test\.[[:space:]]+300[[:space:]]+IN[[:space:]]+NSEC[[:space:]]+\\\\000\.nope\.signed\.test\. RRSIG NSEC TYPE128$" <<<"$out" &&
    grep -qE "^nope\.signed\.test\..*RRSIG[[:space:]]+NSEC 13 3 300 [0-9]{14} [0-9]{14} $TAG_A signed\.test\. " <<<"$out" && pass=1
check SIG-1 "DO=1, a name that does not exist: NOERROR, NSEC \\000.name RRSIG NSEC NXNAME (TYPE128) and its RRSIG" "$out" \
    [ "$pass" = 1 ]
out=$(q nope.signed.test A +nodnssec +noall +comments +authority)
pass=0
grep -q "status: NXDOMAIN" <<<"$out" && ! grep -qE "NSEC|RRSIG" <<<"$out" && pass=1
check SIG-1 "DO=0, the same name: NXDOMAIN, SOA only" "$out" [ "$pass" = 1 ]
co=$(/usr/bin/python3 - "$PORT" <<'PY' 2>&1
import sys
import dns.message, dns.query, dns.rcode
q = dns.message.make_query("nope.signed.test", "A", use_edns=0, want_dnssec=True)
q.ednsflags |= 0x4000  # CO, RFC 9824
r = dns.query.udp(q, "127.0.0.1", port=int(sys.argv[1]), timeout=3)
types = sorted({dns.rdatatype.to_text(x.rdtype) for x in r.authority})
print(dns.rcode.to_text(r.rcode()), hex(r.ednsflags & 0xc000), " ".join(types))
PY
)
check SIG-1 "DO=1 with CO: NXDOMAIN, CO and DO echoed, the NSEC still there" "$co" \
    [ "$co" = "NXDOMAIN 0xc000 NSEC RRSIG SOA" ]
out=$(q www.signed.test TXT +dnssec +noall +comments +authority)
pass=0
grep -q "status: NOERROR" <<<"$out" &&
    grep -qE "^www\.signed\.test\..*NSEC[[:space:]]+\\\\000\.www\.signed\.test\. A AAAA RRSIG NSEC$" <<<"$out" && pass=1
check SIG-1 "NODATA: the NSEC lists the name's types (A AAAA RRSIG NSEC), not TXT" "$out" \
    [ "$pass" = 1 ]
out=$(q sub.signed.test DS +dnssec +noall +comments +authority)
pass=0
grep -qE "^sub\.signed\.test\..*NSEC[[:space:]]+\\\\000\.sub\.signed\.test\. NS RRSIG NSEC$" <<<"$out" && pass=1
check SIG-1 "DS at the unsigned delegation: NODATA, NSEC with NS and without DS (insecure)" "$out" \
    [ "$pass" = 1 ]
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
out=$(q www.signed.test A +dnssec +cdflag +noall +comments)
out2=$(q www.other.test A +dnssec +cdflag +noall +comments)
pass=0
grep -qE "^;; flags:[^;]* cd[ ;]" <<<"$out" && ! grep -qE "^;; flags:[^;]* cd[ ;]" <<<"$out2" && pass=1
check SIG-1 "CD is copied for a signed zone (RFC 4035 3.1.6), not for an unsigned one (HDR-2)" \
    "$out $out2" [ "$pass" = 1 ]
# the same denial asked twice (DO, then DO with CO: the same NSEC) is signed once
met=$(curl -s "http://127.0.0.1:$APORT/metrics" | grep '^gslbd_dnssec_signatures_total')
signed=$(awk -F'} ' '/result="signed"/{print $2}' <<<"$met")
cached=$(awk -F'} ' '/result="cached"/{print $2}' <<<"$met")
refused=$(awk -F'} ' '/result="refused"/{print $2}' <<<"$met")
pass=0
[ "${signed:-x}" = 3 ] && [ "${cached:-0}" -ge 2 ] && [ "${refused:-x}" = 0 ] && pass=1
check SIG-5 "metrics: denials signed once per distinct NSEC (3), then from the cache; none refused" \
    "$met" [ "$pass" = 1 ]
# a wildcard answer is signed at the name asked: labels 4 (a.wild.signed.test), not 3
out=$(q A.Wild.signed.test A +dnssec)
check SIG-1 "a wildcard answer: RRSIG A 13 4 (signed at the name asked, not *.wild)" "$out" \
    grep -qE "RRSIG[[:space:]]+A 13 4 300 [0-9]{14} [0-9]{14} $TAG_A signed\\.test\\. " <<<"$out"
# delegations, asked directly
out=$(q x.sub.signed.test A +dnssec +noall +comments +authority)
pass=0
! grep -qE "^;; flags:[^;]* aa[ ;]" <<<"$out" && grep -qE "^sub\.signed\.test\..*IN[[:space:]]+NS[[:space:]]" <<<"$out" &&
    grep -qE "^sub\.signed\.test\..*NSEC[[:space:]]+\\\\000\.sub\.signed\.test\. NS RRSIG NSEC$" <<<"$out" &&
    grep -qE "^sub\.signed\.test\..*RRSIG[[:space:]]+NSEC 13 3 " <<<"$out" && pass=1
check SIG-7 "a referral to an insecure delegation (DO): NS, then an NSEC with NS and no DS, signed" \
    "$out" [ "$pass" = 1 ]
out=$(q x.far.signed.test A +dnssec +noall +comments +authority +additional)
pass=0
grep -qE "^far\.signed\.test\..*IN[[:space:]]+NS[[:space:]]" <<<"$out" &&
    grep -qE "^far\.signed\.test\..*IN[[:space:]]+DS[[:space:]]+$TAG_C 13 2 " <<<"$out" &&
    grep -qE "^far\.signed\.test\..*RRSIG[[:space:]]+DS 13 3 300 [0-9]{14} [0-9]{14} $TAG_A signed\.test\. " <<<"$out" &&
    grep -qE "^ns\.far\.signed\.test\..*IN[[:space:]]+A[[:space:]]+192\.0\.2\.54$" <<<"$out" && pass=1
check SIG-7 "a referral to a secure delegation (DO): NS, DS and its RRSIG by the parent, glue" \
    "$out" [ "$pass" = 1 ]
out=$(q x.far.signed.test A +nodnssec +noall +authority)
pass=0
grep -qE "IN[[:space:]]+NS[[:space:]]" <<<"$out" && ! grep -qE "DS|NSEC|RRSIG" <<<"$out" && pass=1
check SIG-7 "the same referral without DO: NS alone" "$out" [ "$pass" = 1 ]
out=$(q sec.signed.test DS +dnssec +noall +comments +answer)
pass=0
grep -qE "^;; flags:[^;]* aa[ ;]" <<<"$out" &&
    grep -qE "^sec\.signed\.test\..*IN[[:space:]]+DS[[:space:]]+$TAG_C 13 2 " <<<"$out" &&
    grep -qE "^sec\.signed\.test\..*RRSIG[[:space:]]+DS 13 3 300 [0-9]{14} [0-9]{14} $TAG_A signed\.test\. " <<<"$out" && pass=1
check SIG-7 "DS at a child zone served here comes from the parent (its DS, signed by the parent's key)" \
    "$out" [ "$pass" = 1 ]
cnt=$(grep -cE "zone signed\\.test\\. signed: key tag $TAG_A, [0-9]+ signatures" "$SERVER_LOG")
check SIG-1 "the log says the zone was signed, with its key tag" "log: $(cat "$SERVER_LOG")" \
    [ "$cnt" = 1 ]

# ---- through validating resolvers -----------------------------------------------------------
anchor_a=$(awk '/ DNSKEY /{print $1, "DNSKEY", $5, $6, $7, $8}' "$IT_TMP/ka.txt")
anchor_f=$(awk '/ DNSKEY /{print $1, "DNSKEY", $5, $6, $7, $8}' "$IT_TMP/kf.txt")

# start_unbound NAME SIGNED_PORT [SERVER LINE...]: a validating Unbound on loopback with the
# trust anchors, signed.test asked at 127.0.0.1@SIGNED_PORT, forged.test at gslbd; sets
# UPID, UPORT and ULOG (its fresh log); 1 if it does not answer.
start_unbound() {
    local name=$1 sport=$2 dir=$IT_TMP/unbound-$1 line i
    shift 2
    UPORT=$(free_port 127.0.0.1)
    mkdir -p "$dir"
    local log=$LOGDIR/$IT_NAME-unbound-$name.log
    fresh_log "$log"
    ULOG=$log
    {
        echo "server:"
        echo "    interface: 127.0.0.1@$UPORT"
        echo "    port: $UPORT"
        for line in "do-ip6: no" "do-not-query-localhost: no" 'username: ""' 'chroot: ""' \
            "directory: \"$dir\"" 'pidfile: ""' "use-syslog: no" "logfile: \"$log\"" \
            "verbosity: 1" "val-log-level: 2" "num-threads: 1" \
            'module-config: "validator iterator"' "access-control: 127.0.0.0/8 allow" \
            "qname-minimisation: no" 'local-zone: "test." nodefault' \
            "trust-anchor: \"$anchor_a\"" "trust-anchor: \"$anchor_f\"" "$@"; do
            echo "    $line"
        done
        printf 'stub-zone:\n    name: "signed.test"\n    stub-addr: 127.0.0.1@%s\n' "$sport"
        printf 'stub-zone:\n    name: "forged.test"\n    stub-addr: 127.0.0.1@%s\n' "$PORT"
        printf 'remote-control:\n    control-enable: no\n'
    } >"$dir/unbound.conf"
    unbound -d -c "$dir/unbound.conf" </dev/null >>"$log" 2>&1 &
    UPID=$!
    IT_PIDS+=("$UPID")
    for ((i = 0; i < 100; i++)); do
        dig +tries=1 +time=1 -p "$UPORT" @127.0.0.1 test SOA >/dev/null 2>&1 && return 0
        kill -0 "$UPID" 2>/dev/null || break
        sleep 0.1
    done
    note "unbound $name did not answer:" "$(cat "$log")"
    return 1
}

# v NAME TYPE: the Unbound at UPORT's whole answer to a query with DO set
v() {
    dig +dnssec +tries=1 +time=4 -p "$UPORT" @127.0.0.1 "$1" "$2" 2>&1
}

NAMES=("www.signed.test A" "WWW.Signed.TEST AAAA" "alias.signed.test A" "x.old.signed.test A"
    "signed.test MX" "txt.signed.test TXT" "signed.test DNSKEY"
    "nope.signed.test A" "www.signed.test TXT" "new.signed.test A"
    "Any.Wild.signed.test A" "x.wc.signed.test A" "y.wild.signed.test MX")
if command -v unbound >/dev/null; then
    start_unbound main "$PORT"
    for nt in "${NAMES[@]}"; do
        # shellcheck disable=SC2086 # name and type
        out=$(v $nt)
        pass=0
        grep -q "status: NOERROR" <<<"$out" && grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" && pass=1
        check SIG-2 "Unbound validates $nt: NOERROR with AD" "$out" [ "$pass" = 1 ]
    done
    # delegations through Unbound: the secure child validates through the parent's DS, the
    # insecure one is proven so (no AD, not SERVFAIL)
    for nt in "www.sec.signed.test A" "sec.signed.test DS" "sub.signed.test DS"; do
        # shellcheck disable=SC2086 # name and type
        out=$(v $nt)
        pass=0
        grep -q "status: NOERROR" <<<"$out" && grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" && pass=1
        check SIG-7 "Unbound validates $nt: NOERROR with AD" "$out" [ "$pass" = 1 ]
    done
    out=$(v www.ins.signed.test A)
    pass=0
    grep -q "status: NOERROR" <<<"$out" && ! grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" &&
        grep -qE "IN[[:space:]]+A[[:space:]]+192\.0\.2\.130$" <<<"$out" && pass=1
    check SIG-7 "Unbound: www.ins.signed.test (insecure delegation, proven): the answer, no AD" \
        "$out" [ "$pass" = 1 ]
    # GSLB answers: signed as answered, validated before and after a failover and a drain
    # (service TTL 2 s, failover TTL 1 s: Unbound's cache is empty again well within 3.5 s)
    # gslb_phase WHAT ADDRESS: gslbd answers app.signed.test A with ADDRESS (waits for it),
    # Unbound validates it (AD) and delv fully validates it
    gslb_phase() {
        local what=$1 want=$2 i got=
        for ((i = 0; i < $(it_slack 100 | cut -d. -f1); i++)); do
            got=$(q app.signed.test A +short)
            [ "$got" = "$want" ] && break
            sleep 0.1
        done
        sleep 3.5
        out=$(v app.signed.test A)
        pass=0
        [ "$got" = "$want" ] && grep -q "status: NOERROR" <<<"$out" &&
            grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" &&
            grep -qE "^app\.signed\.test\..*IN[[:space:]]+A[[:space:]]+$want$" <<<"$out" && pass=1
        check SIG-6 "$what: gslbd answers $want; Unbound validates it (AD)" \
            "gslbd: $got; Unbound: $out" [ "$pass" = 1 ]
        if command -v delv >/dev/null; then
            out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 \
                app.signed.test A 2>&1)
            check SIG-6 "$what: delv fully validates $want" "$out" \
                grep -qE "^; fully validated" <<<"$out"
        else
            skip SIG-6 "$what: delv validates" "delv is not installed (bind9-dnsutils)" 1
        fi
    }
    read -r -a dk < <(awk '/ DNSKEY /{print $1, $5, $6, $7, $8}' "$IT_TMP/ka.txt")
    printf 'trust-anchors {\n  %s static-key %s %s %s "%s";\n};\n' "${dk[@]}" >"$IT_TMP/anchor.conf"
    out=$(q app.signed.test A +dnssec)
    check SIG-6 "a GSLB answer with DO: A 127.0.3.1 and RRSIG A 13 3 2 (the service TTL) $TAG_A" \
        "$out" grep -qE "RRSIG[[:space:]]+A 13 3 2 [0-9]{14} [0-9]{14} $TAG_A signed\.test\. " <<<"$out"
    # cluster a has no IPv6 address: AAAA is NODATA while a answers (delv: no cache)
    out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 \
        app.signed.test AAAA 2>&1)
    check SIG-6 "a answering, AAAA: NODATA (a has no IPv6), fully validated by delv" "$out" \
        grep -qE "^; negative response, fully validated" <<<"$out"
    gslb_phase "cluster a up" 127.0.3.1
    signed_now() {
        curl -s "http://127.0.0.1:$APORT/metrics" |
            awk -F'} ' '/^gslbd_dnssec_signatures_total\{result="signed"/{print $2}'
    }
    s0=$(signed_now)
    kill "$LPID" 2>/dev/null
    gslb_phase "a's check failing: failover to b" 127.0.3.2
    s1=$(signed_now)
    pass=0
    [ -n "$s0" ] && [ "$s0" = "$s1" ] && pass=1
    check SIG-6 "the failover's answers were signed ahead: no signature made while answering" \
        "signed before ${s0:-none}, after ${s1:-none}" [ "$pass" = 1 ]
    out=$(v app.signed.test AAAA)
    pass=0
    grep -q "status: NOERROR" <<<"$out" && grep -qE "^;; flags:[^;]* ad[ ;]" <<<"$out" &&
        grep -qE "IN[[:space:]]+AAAA[[:space:]]+2001:db8::3:2$" <<<"$out" && pass=1
    check SIG-6 "after the failover, b's AAAA 2001:db8::3:2: Unbound validates it (AD)" "$out" \
        [ "$pass" = 1 ]
    listen_a
    gslb_phase "a's check passing again: back to a" 127.0.3.1
    "$GSLBD" -c "$CONF" --admin a=drain >/dev/null 2>&1
    mk=$(log_mark)
    kill -HUP "$GPID"
    wait_log "$mk" "reload complete" 1 "$(it_slack 10 | cut -d. -f1)" ||
        note "no reload after --admin a=drain"
    gslb_phase "a drained (gslbd --admin, SIGHUP): b" 127.0.3.2
    # ANY over UDP gets RFC 8482's HINFO, signed as it is made
    out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 signed.test ANY 2>&1)
    pass=0
    grep -q "^; fully validated" <<<"$out" && grep -qE "IN[[:space:]]+HINFO[[:space:]]+\"RFC8482\"" <<<"$out" &&
        grep -qE "RRSIG[[:space:]]+HINFO 13 2 " <<<"$out" && pass=1
    check SIG-6 "ANY over UDP: the RFC 8482 HINFO with its RRSIG, fully validated by delv" "$out" \
        [ "$pass" = 1 ]

    # rejected V REASON: Unbound's answer v was SERVFAIL and its log gives REASON
    rejected() {
        grep -q "status: SERVFAIL" <<<"$1" && grep -q "validation failure.*$2" "$ULOG"
    }
    out=$(v www.forged.test A)
    check SIG-3 "a zone signed by a key its anchor does not name: SERVFAIL" "$out" \
        rejected "$out" "forged.test"
    stop_pid "$UPID"

    # Unbound's clock moved past the signatures' expiration (validity_days 7), then before
    # their inception
    start_unbound late "$PORT" "val-override-date: \"$(date -u -d '+9 days' +%Y%m%d%H%M%S)\""
    out=$(v www.signed.test A)
    check SIG-3 "an expired signature (the validator's clock 9 days on): SERVFAIL" "$out" \
        rejected "$out" "signature expired"
    stop_pid "$UPID"
    start_unbound early "$PORT" "val-override-date: \"$(date -u -d '-1 day' +%Y%m%d%H%M%S)\""
    out=$(v www.signed.test A)
    check SIG-3 "a signature not yet valid (the validator's clock a day back): SERVFAIL" "$out" \
        rejected "$out" "signature before inception date"
    stop_pid "$UPID"

    # A proxy between Unbound and gslbd flips one bit of every RRSIG's signature
    XPORT=$(free_port 127.0.0.1)
    /usr/bin/python3 - "$XPORT" "$PORT" <<'PY' &
import socket, sys
import dns.message, dns.rdatatype
lport, sport = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", lport))
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
up.settimeout(2)
while True:
    q, client = s.recvfrom(65535)
    up.sendto(q, ("127.0.0.1", sport))
    try:
        r = up.recv(65535)
    except socket.timeout:
        continue
    m = dns.message.from_wire(r)
    for rrset in m.answer + m.authority:
        if rrset.rdtype == dns.rdatatype.RRSIG:
            new = [rd.replace(signature=rd.signature[:-1] + bytes([rd.signature[-1] ^ 1]))
                   for rd in rrset]
            rrset.clear()
            for rd in new:
                rrset.add(rd)
    s.sendto(m.to_wire(), client)
PY
    IT_PIDS+=($!)
    start_unbound tampered "$XPORT"
    out=$(v www.signed.test A)
    check SIG-3 "a signature with one bit flipped on the way: SERVFAIL" "$out" \
        rejected "$out" "signature crypto failed"
    out=$(v gone.signed.test A)
    check SIG-3 "a denial whose NSEC signature had a bit flipped: SERVFAIL" "$out" \
        grep -q "status: SERVFAIL" <<<"$out"
    stop_pid "$UPID"
else
    skip SIG-2 "Unbound validates the signed names" "unbound is not installed (packaging/deps.sh)" 13
    skip SIG-6 "GSLB answers validate" "unbound is not installed (packaging/deps.sh)" 13
    skip SIG-7 "delegations through Unbound" "unbound is not installed (packaging/deps.sh)" 4
    skip SIG-3 "Unbound rejects bad signatures" "unbound is not installed (packaging/deps.sh)" 5
fi

# delv (BIND's validating lookup) with the same anchor, asking gslbd directly
read -r -a dk < <(awk '/ DNSKEY /{print $1, $5, $6, $7, $8}' "$IT_TMP/ka.txt")
printf 'trust-anchors {\n  %s static-key %s %s %s "%s";\n};\n' "${dk[@]}" >"$IT_TMP/anchor.conf"
if command -v delv >/dev/null; then
    for nt in "${NAMES[@]}"; do
        # shellcheck disable=SC2086 # name and type
        out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 $nt 2>&1)
        check SIG-4 "delv validates $nt: fully validated" "$out" \
            grep -qE "^; (negative response, )?fully validated" <<<"$out"
    done
    # ANY over UDP at a name under a wildcard: RFC 8482's HINFO, signed at the name asked
    out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 any.wild.signed.test ANY 2>&1)
    pass=0
    grep -q "^; fully validated" <<<"$out" && grep -qE "RRSIG[[:space:]]+HINFO 13 4 " <<<"$out" && pass=1
    check SIG-4 "delv validates ANY at a wildcard-made name: HINFO signed at the name (labels 4)" \
        "$out" [ "$pass" = 1 ]
else
    skip SIG-4 "delv validates the signed names" "delv is not installed (bind9-dnsutils)" 14
fi
if command -v delv >/dev/null; then
    out=$(delv -a "$IT_TMP/anchor.conf" +root=signed.test -p "$PORT" @127.0.0.1 www.sec.signed.test A 2>&1)
    check SIG-7 "delv validates www.sec.signed.test through the parent's DS: fully validated" "$out" \
        grep -qE "^; fully validated" <<<"$out"
else
    skip SIG-7 "delv validates through the secure delegation" "delv is not installed" 1
fi

# a KSK and a ZSK
out=$(q pair.test DNSKEY +dnssec)
pass=0
grep -qE "DNSKEY[[:space:]]+257 3 15 .*" <<<"$out" && grep -qE "DNSKEY[[:space:]]+256 3 15 " <<<"$out" &&
    grep -qE "RRSIG[[:space:]]+DNSKEY 15 2 3600 [0-9]{14} [0-9]{14} $TAG_PK pair\.test\." <<<"$out" && pass=1
check SIG-8 "pair.test DNSKEY: the KSK (257) and the ZSK (256), Ed25519, signed by the KSK $TAG_PK" \
    "$out" [ "$pass" = 1 ]
out=$(q www.pair.test A +dnssec)
check SIG-8 "www.pair.test A is signed by the ZSK ${TAG_PZ:-?}" "$out" \
    grep -qE "RRSIG[[:space:]]+A 15 3 300 [0-9]{14} [0-9]{14} $TAG_PZ pair\.test\. " <<<"$out"
read -r -a dk < <(awk '/ DNSKEY /{print $1, $5, $6, $7, $8}' "$IT_TMP/kpk.txt")
printf 'trust-anchors {\n  %s static-key %s %s %s "%s";\n};\n' "${dk[@]}" >"$IT_TMP/anchor-pair.conf"
if command -v delv >/dev/null; then
    out=$(delv -a "$IT_TMP/anchor-pair.conf" +root=pair.test -p "$PORT" @127.0.0.1 www.pair.test A 2>&1)
    check SIG-8 "delv, anchored at the KSK, fully validates www.pair.test" "$out" \
        grep -qE "^; fully validated" <<<"$out"
else
    skip SIG-8 "delv validates the pair" "delv is not installed" 1
fi

# the dump, checked by two zone checkers; a tampered copy fails both
DUMP=$IT_TMP/signed.dump
"$GSLBD" -c "$CONF" --dump-zone signed.test >"$DUMP" 2>"$IT_TMP/dump.err"
rc=$?
if command -v dnssec-verify >/dev/null; then
    out=$(dnssec-verify -z -o signed.test "$DUMP" 2>&1)
    pass=0
    [ "$rc" = 0 ] && grep -q "Zone fully signed" <<<"$out" && pass=1
    check SIG-9 "dnssec-verify finds the dump of signed.test (with its NSEC chain) fully signed" \
        "exit $rc; $(tail -2 "$IT_TMP/dump.err"); $out" [ "$pass" = 1 ]
    sed 's/192\.0\.2\.10$/192.0.2.111/' "$DUMP" >"$IT_TMP/tampered.dump"
    out=$(dnssec-verify -z -o signed.test "$IT_TMP/tampered.dump" 2>&1)
    check SIG-9 "dnssec-verify rejects the dump with one address changed" "$out" \
        grep -q "DNSSEC completeness test failed" <<<"$out"
else
    skip SIG-9 "dnssec-verify checks the dump" "dnssec-verify is not installed (bind9-utils)" 2
fi
out=$(ldns-verify-zone "$DUMP" 2>&1)
check SIG-9 "ldns-verify-zone verifies the dump: verified and complete" "$out" \
    grep -q "Zone is verified and complete" <<<"$out"
out=$(ldns-verify-zone "$IT_TMP/tampered.dump" 2>&1)
check SIG-9 "ldns-verify-zone finds the bogus signature in the tampered dump" "$out" \
    grep -q "Bogus DNSSEC signature for www.signed.test" <<<"$out"
stop_pid "$GPID"
check SIG-10 "gslbd exits 0 on SIGTERM (a sanitizer's report would make it fail)" \
    "exit status $STOP_RC; $(grep -A5 "Sanitizer" "$SERVER_LOG" | head -8)" [ "$STOP_RC" = 0 ]

finish
