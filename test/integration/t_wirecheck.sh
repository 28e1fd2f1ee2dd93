#!/usr/bin/env bash
# t_wirecheck.sh: the wirecheck tool's contract (one flushed verdict line per input line) and
# its verdicts on hand-made lines and on a real gslbd's UDP and TCP answers.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

echo "1..7"
WIRECHECK=$(dirname "$GSLBD")/test/wirecheck
if [ ! -x "$WIRECHECK" ]; then
    for id in WC-1 WC-2 WC-3 WC-4 WC-5 WC-6 WC-7; do
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
finish
