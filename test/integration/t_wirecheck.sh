#!/usr/bin/env bash
# t_wirecheck.sh: the wirecheck tool's contract (one flushed verdict line per input line) and
# its verdicts on hand-made lines and on a real gslbd's UDP and TCP answers; then a real
# gslbd answering a signed zone (issue 18): its DO answers pass with and without the zone's
# DNSKEY, and copies with a flipped signature bit, a missing RRSIG, a wrong type covered,
# wrong RRSIG header fields, an RRSIG split off by truncation or an RRSIG without DO fail.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

plan 15
WIRECHECK=$(dirname "$GSLBD")/test/wirecheck
if [ ! -x "$WIRECHECK" ]; then
    for id in WC-1 WC-2 WC-3 WC-4 WC-5 WC-6 WC-7 WC-8 WC-9 WC-10 WC-11 WC-12 WC-13 WC-14 WC-15; do
        not_ok "$id" "wirecheck" "no binary at $WIRECHECK (run make)"
    done
    finish
    exit 1
fi

# x.sub.example. A; today's engine answer with NS ns.bar.bar. (a pointer into its own
# unfinished name, issue 11), and the same answer with the name written out.
Q=abcd00000001000000000000017803737562076578616d706c650000010001
BAD=abcd80000001000000010000017803737562076578616d706c650000010001c00e000200010000012c0009026e7303626172c02e
GOOD=abcd80000001000000010000017803737562076578616d706c650000010001c00e000200010000012c000c026e73036261720362617200

out=$(printf '%s %s 512\n%s %s 512\n%s %s 50\nzz 00 1\n' "$Q" "$GOOD" "$Q" "$BAD" "$Q" "$GOOD" |
    "$WIRECHECK")
rc=$?
mapfile -t v <<<"$out"
check WC-1 "four lines in, four verdicts out, exit 0" "exit $rc: $out" \
    test "$rc" -eq 0 -a "${#v[@]}" -eq 4
check WC-2 "a well-formed answer is ok" "${v[0]:-}" test "${v[0]:-}" = ok
check WC-3 "a pointer into an unfinished name is bad" "${v[1]:-}" \
    grep -q '^bad: bad compression pointer' <<<"${v[1]:-}"
check WC-4 "over the limit is bad; a line that is not hex is bad: input" "${v[2]:-} / ${v[3]:-}" \
    bash -c '[[ $1 == "bad: over the size limit"* && $2 == "bad: input"* ]]' _ "${v[2]:-}" "${v[3]:-}"

# Flushed per line: a verdict arrives while stdin is still open.
# bash unsets WC and WC_PID once the coprocess has exited: keep copies at once
coproc WC { "$WIRECHECK"; }
wc_pid=$WC_PID
exec {wc_in}>&"${WC[1]}" {wc_out}<&"${WC[0]}"
echo "$Q $GOOD 512" >&"$wc_in"
line=
read -r -t 10 line <&"$wc_out"
exec {wc_in}>&- {WC[1]}>&- 2>/dev/null
wait "$wc_pid" 2>/dev/null
exec {wc_out}<&-
check WC-5 "the verdict comes before the end of input" "got '$line'" test "$line" = ok

# A real gslbd's answers, asked by a plain socket client, each checked with its limit.
PORT=$(free_port 127.0.0.1)
# Its own fresh log in this run's temp folder (lib.sh removes it and stops the server).
SERVER_LOG=$IT_TMP/gslbd.log
"$GSLBD" --zone "rules.test.=$DATA/rules.test.zone" --listen "127.0.0.1:$PORT" --workers 1 \
    </dev/null >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
IT_PIDS+=("$SERVER_PID")
if ! wait_ready "$SERVER_PID" "$PORT" "rules.test."; then
    not_ok WC-6 "gslbd answers pass wirecheck (UDP)" "gslbd did not start: $(tail -5 "$SERVER_LOG")"
    not_ok WC-7 "gslbd answers pass wirecheck (TCP)" "gslbd did not start: $(tail -5 "$SERVER_LOG")"
    skip WC-8 "signed answers" "gslbd did not start" 8
    finish
    exit 1
fi
for tr in udp tcp; do
    lines=$(python3 - "$PORT" "$tr" <<'PY'
import random, socket, struct, sys
port, tr = int(sys.argv[1]), sys.argv[2]
names = ["rules.test", "www.rules.test", "x.sub.rules.test", "nope.rules.test", "nods.rules.test",
         "x.bigdel.rules.test", "other.invalid"]
types = [1, 2, 6, 15, 28, 16, 255, 33]
rnd = random.Random(7)
for i, n in enumerate(names):
    for t in types:
        qname = b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"
        edns = rnd.random() < 0.5
        q = struct.pack("!HHHHHH", rnd.randrange(65536), 0, 1, 0, 0, 1 if edns else 0)
        q += qname + struct.pack("!HH", t, 1)
        if edns:
            q += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
        if tr == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(q, ("127.0.0.1", port))
            r = s.recv(65535)
            limit = 1232 if edns else 512
        else:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(struct.pack("!H", len(q)) + q)
            buf = b""
            while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    break
                buf += chunk
            r = buf[2:]
            limit = 65535
        s.close()
        print(q.hex(), r.hex(), limit)
PY
sed "s/^/# /" "$IT_TMP/py.err"
)
    verdicts=$("$WIRECHECK" <<<"$lines")
    n=$(grep -c . <<<"$lines")
    nok=$(grep -c '^ok$' <<<"$verdicts")
    id=WC-6
    [ "$tr" = tcp ] && id=WC-7
    check "$id" "gslbd answers pass wirecheck ($tr, $nok of $n)" \
        "$(grep -v '^ok$' <<<"$verdicts" | sort | uniq -c | head -5)" \
        test "$n" -gt 0 -a "$nok" -eq "$n"
done

# ---- a signed zone (issue 18) --------------------------------------------------------------
# rules.test signed with a key from gslbd --keygen; its DNSKEY RRset in a file for wirecheck's
# fourth field. Every answer to a DO query goes through wirecheck with and without it.
KEYS=$IT_TMP/keys
mkdir -p "$KEYS"
"$GSLBD" --keygen rules.test "$KEYS" 2>/dev/null | grep ' DNSKEY ' >"$KEYS/rules.test.dnskey"
KEY=$(find "$KEYS" -name 'Krules.test.+013+*.pem' | head -1)
SPORT=$(free_port 127.0.0.1)
cat >"$IT_TMP/signed.json" <<EOF
{"listen": ["127.0.0.1:$SPORT"], "workers": 1, "api": {"enabled": false},
 "zones": [{"origin": "rules.test.", "file": "$DATA/rules.test.zone",
            "dnssec": {"key_file": "$KEY", "validity_days": 14}}]}
EOF
start_gslbd signed -c "$IT_TMP/signed.json"
if [ -z "$KEY" ] || ! wait_ready "$SERVER_PID" "$SPORT" "rules.test."; then
    not_ok WC-8 "signed answers pass wirecheck" "no key, or gslbd did not start: $(tail -5 "$SERVER_LOG")"
    skip WC-9 "signed answers" "gslbd did not start" 7
    finish
    exit 1
fi
# Writes CASE.keys and CASE.nokeys (wirecheck lines with and without the DNSKEY file) into
# the folder given: "good", gslbd's answers as sent; the others, copies of signed answers
# re-encoded by dnspython with one fault each ("control": none). Prints the counts.
/usr/bin/python3 - "$SPORT" "$KEYS/rules.test.dnskey" "$IT_TMP" 2>"$IT_TMP/py.err" <<'PY'
import os, random, socket, struct, sys
import dns.flags, dns.message, dns.name, dns.rdatatype, dns.rrset
port, keyfile, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rnd = random.Random(18)
names = ["rules.test", "www.rules.test", "WWW.Rules.TEST", "ns1.rules.test", "foo.wild.rules.test",
         "host.wild.rules.test", "x.cw.rules.test", "nope.rules.test", "ent.rules.test",
         "deep.ent.rules.test", "x.sub.rules.test", "sub.rules.test", "x.nods.rules.test",
         "x.bigdel.rules.test"]
types = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "DNSKEY", "DS", "ANY", "SRV"]


def udp(q):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(q, ("127.0.0.1", port))
    r = s.recv(65535)
    s.close()
    return r


def tcp(q):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(struct.pack("!H", len(q)) + q)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        chunk = s.recv(65535)
        if not chunk:
            break
        buf += chunk
    s.close()
    return buf[2:]


answers = []  # (query wire, response wire, limit)
for n in names:
    for t in types:
        for co in (0, 0x4000):
            for tr, size in (("udp", 1232), ("udp", 512), ("tcp", 1232)):
                m = dns.message.make_query(n, t, use_edns=0, payload=size, want_dnssec=True)
                m.flags &= ~dns.flags.RD
                m.ednsflags |= co
                m.id = rnd.randrange(65536)
                q = m.to_wire()
                r = udp(q) if tr == "udp" else tcp(q)
                answers.append((q, r, size if tr == "udp" else 65535))
files = {}


def emit(case, q, r, limit):
    for mode in ("keys", "nokeys"):
        if (case, mode) not in files:
            files[case, mode] = open(os.path.join(out, "%s.%s" % (case, mode)), "w")
        files[case, mode].write("%s %s %d%s\n" % (q.hex(), r.hex(), limit,
                                                  " " + keyfile if mode == "keys" else ""))


def sigs(sec):
    return [x for x in sec if x.rdtype == dns.rdatatype.RRSIG]


def change(x, **kw):
    rd = next(iter(x))
    x.clear()
    x.add(rd.replace(**kw))


signed = tc = 0
for q, r, limit in answers:
    emit("good", q, r, limit)
    m = dns.message.from_wire(r)
    signed += bool(sigs(m.answer + m.authority))
    tc += bool(m.flags & dns.flags.TC)
made = {}
for q, r, limit in answers:
    m = dns.message.from_wire(r)
    if m.flags & dns.flags.TC or any(x.rdtype == dns.rdatatype.SRV for x in
                                     m.answer + m.authority + m.additional):
        continue  # (dnspython would compress an SRV target, which resp_check refuses)
    cases = ["control"]
    if sigs(m.answer):
        cases += ["flip", "nosig-answer", "covers", "labels", "origttl", "signer", "tcsplit",
                  "nodo"]
    if any(x.rdtype == dns.rdatatype.SOA for x in m.authority) and len(sigs(m.authority)) > 1:
        cases += ["nosig-authority"]
    for case in cases:
        if made.get(case, 0) >= 12:
            continue
        c = dns.message.from_wire(r)
        qq = q
        a = sigs(c.answer)
        if case == "flip":  # one bit of the first signature
            rd = next(iter(a[0]))
            change(a[0], signature=rd.signature[:-1] + bytes([rd.signature[-1] ^ 1]))
        elif case == "nosig-answer":
            c.answer.remove(a[0])
        elif case == "nosig-authority":  # the SOA's RRSIG gone, the NSEC's kept
            c.authority.remove(next(x for x in sigs(c.authority)
                                    if x.covers == dns.rdatatype.SOA))
        elif case == "covers":  # A becomes AAAA, anything else A
            rd = next(iter(a[0]))
            new = rd.replace(type_covered=dns.rdatatype.AAAA if rd.type_covered == dns.rdatatype.A
                             else dns.rdatatype.A)
            c.answer[c.answer.index(a[0])] = dns.rrset.from_rdata(a[0].name, a[0].ttl, new)
        elif case == "labels":
            change(a[0], labels=next(iter(a[0])).labels + 1)
        elif case == "origttl":
            change(a[0], original_ttl=max(0, a[0].ttl - 1))
        elif case == "signer":
            change(a[0], signer=dns.name.from_text("other.test."))
        elif case == "tcsplit":  # truncated after the last RRset, before its RRSIG
            c.flags |= dns.flags.TC
            c.answer.remove(a[-1])
            c.authority, c.additional = [], []
        elif case == "nodo":  # the same answer to the same query without DO
            qm = dns.message.from_wire(q)
            qm.ednsflags &= ~dns.flags.DO
            qq = qm.to_wire()
        emit(case, qq, c.to_wire(), 65535)
        made[case] = made.get(case, 0) + 1
for f in files.values():
    f.close()
print("# %d answers, %d signed, %d truncated; copies: %s" % (
    len(answers), signed, tc, " ".join("%s %d" % kv for kv in sorted(made.items()))))
PY
sed "s/^/# /" "$IT_TMP/py.err"

# verdicts CASE MODE: wirecheck's verdicts on the lines CASE.MODE; sets N (lines), NOK,
# NBAD ("bad: DNSSEC: ...") and SAMPLE (the commonest verdicts, counted)
verdicts() {
    local out
    out=$("$WIRECHECK" <"$IT_TMP/$1.$2")
    N=$(grep -c . "$IT_TMP/$1.$2")
    NOK=$(grep -c '^ok$' <<<"$out")
    NBAD=$(grep -c '^bad: DNSSEC: ' <<<"$out")
    SAMPLE=$(sort <<<"$out" | uniq -c | sort -rn | head -4)
}
verdicts good keys
check WC-8 "a signed zone's $N answers to DO queries (UDP 1232, UDP 512, TCP) pass with its DNSKEY" \
    "$SAMPLE" test "$N" -gt 300 -a "$NOK" -eq "$N"
verdicts good nokeys
check WC-9 "the same $N answers pass without the DNSKEY (shape only)" "$SAMPLE" \
    test "$N" -gt 300 -a "$NOK" -eq "$N"
verdicts control keys
ctl="$NOK of $N"
ctl_ok=$((N > 5 && NOK == N))
verdicts control nokeys
ctl_ok=$((ctl_ok && NOK == N))
verdicts flip keys
check WC-10 "a flipped signature bit fails with the DNSKEY ($NBAD of $N; the same answers re-encoded untouched pass: $ctl)" \
    "$SAMPLE" test "$ctl_ok" = 1 -a "$N" -gt 5 -a "$NBAD" -eq "$N"
verdicts nosig-answer keys
a_bad=$NBAD a_n=$N a_sample=$SAMPLE
verdicts nosig-authority keys
b_bad=$NBAD b_n=$N
verdicts nosig-authority nokeys
check WC-11 "a missing RRSIG fails (answer: $a_bad of $a_n with the DNSKEY; a denial's SOA: $b_bad of $b_n with it, $NBAD of $N without)" \
    "$a_sample / $SAMPLE" test "$a_n" -gt 5 -a "$a_bad" -eq "$a_n" -a "$b_n" -gt 2 \
    -a "$b_bad" -eq "$b_n" -a "$NBAD" -eq "$N"
verdicts covers keys
a_bad=$NBAD
verdicts covers nokeys
check WC-12 "an RRSIG whose type covered is wrong fails ($a_bad with the DNSKEY, $NBAD without, of $N)" \
    "$SAMPLE" test "$N" -gt 5 -a "$a_bad" -eq "$N" -a "$NBAD" -eq "$N"
hdr_ok=1 hdr_msg='' hdr_sample=''
for c in labels origttl signer; do
    verdicts "$c" nokeys
    hdr_msg+="$c $NBAD of $N, "
    hdr_sample+="$SAMPLE"$'\n'
    [ "$N" -gt 5 ] && [ "$NBAD" -eq "$N" ] || hdr_ok=0
done
check WC-13 "RRSIG labels above the owner's, an original TTL below the TTL, another signer each fail without the DNSKEY (${hdr_msg%, })" \
    "$hdr_sample" test "$hdr_ok" = 1
verdicts tcsplit keys
check WC-14 "a truncated answer whose last RRset lost its RRSIG fails with the DNSKEY ($NBAD of $N)" "$SAMPLE" \
    bash -c '[ "$1" -gt 5 ] && [ "$2" -eq "$1" ] && grep -q "split by truncation" <<<"$3"' _ \
    "$N" "$NBAD" "$SAMPLE"
verdicts nodo keys
check WC-15 "an RRSIG in the answer to a query without DO fails with the DNSKEY ($NBAD of $N)" \
    "$SAMPLE" test "$N" -gt 5 -a "$NBAD" -eq "$N"
finish
