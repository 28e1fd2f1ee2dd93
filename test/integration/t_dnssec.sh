#!/usr/bin/env bash
# t_dnssec.sh: `gslbd --keygen ZONE DIR` (issue 18, first phase), checked with tools that
# share no code with gslbd: the key file is a private P-256 key (openssl) that only its
# owner can read, its public half is the DNSKEY printed, and ldns-key2ds computes the same
# key tag and DS digest. Bad arguments exit 2, an unwritable folder 1, naming it.
# IDs: KG-1 exit and file, KG-2 file mode, KG-3 key and DNSKEY agree, KG-4 DS and key tag,
# KG-5 bad input.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
plan 9
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

finish
