#!/usr/bin/env bash
# t_rfc8906.sh: the RFC 8906 section 8 test queries (docs/protocol.md, "Checking against
# real tools") sent with dig and kdig (and a few with drill), over UDP and TCP, to a real gslbd.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# the plan: the rfc lines of the per-transport loop run over four transports (udp6 and tcp6
# are reported as skips without IPv6), then the ones after it, then the exit status check
per_tr=$(sed -n '/^for tr in/,/^done/p' "$0" | grep -c '^ *rfc ')
after=$(sed -n '/^done/,$p' "$0" | grep -c '^rfc ')
plan $((4 * per_tr + after + 1))

KDIG_WAIT=$(it_slack 2 | cut -d. -f1) # whole seconds for kdig +timeout
require_gslbd

Z=rules.test
NSID=gslbd-8906
PORT=$(free_port 127.0.0.1 ::1 2>/dev/null || free_port 127.0.0.1)
V6=0
if [ "${GSLBD_TEST_NO_IPV6:-}" != 1 ] && python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
    V6=1
fi
args=(--zone "$Z.=$DATA/rules.test.zone" --listen "127.0.0.1:$PORT" --nsid "$NSID" --workers 1)
[ "$V6" = 1 ] && args+=(--listen "[::1]:$PORT")
start_gslbd main "${args[@]}"
if ! wait_ready "$SERVER_PID" "$PORT" "$Z."; then
    not_ok SETUP "gslbd starts and answers on 127.0.0.1:$PORT" "$(tail -20 "$SERVER_LOG")"
    finish
    exit 1
fi

# probe TOOL TRANSPORT SERVER ARGS...: run one query; parse the output into STATUS, FLAGS,
# AN, OPT (0/1), EVER (EDNS version), EFLAGS, SIZE; OUTPUT keeps the whole text.
probe() {
    local tool=$1 tr=$2 srv=$3
    shift 3
    local t=()
    [ "$tr" = tcp ] && t=(+tcp)
    case $tool in
    dig)
        OUTPUT=$(dig +time=2 +tries=1 "${t[@]}" "$@" "@$srv" -p "$PORT" 2>&1)
        STATUS=$(sed -n 's/.*status: \([A-Z0-9]*\),.*/\1/p' <<<"$OUTPUT" | head -1)
        FLAGS=$(sed -n 's/^;; flags: *\([^;]*\);.*/\1/p' <<<"$OUTPUT" | head -1)
        AN=$(sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' <<<"$OUTPUT" | head -1)
        OPT=0
        grep -q '^;; OPT PSEUDOSECTION' <<<"$OUTPUT" && OPT=1
        EVER=$(sed -n 's/^; EDNS: version: \([0-9]*\),.*/\1/p' <<<"$OUTPUT")
        EFLAGS=$(sed -n 's/^; EDNS: version: [0-9]*, flags:\([^;]*\);.*/\1/p' <<<"$OUTPUT")
        SIZE=$(sed -n 's/^;; MSG SIZE *rcvd: \([0-9]*\).*/\1/p' <<<"$OUTPUT")
        ;;
    kdig)
        OUTPUT=$(kdig +timeout="$KDIG_WAIT" +retry=0 "${t[@]}" "$@" "@$srv" -p "$PORT" 2>&1)
        STATUS=$(sed -n 's/.*status: \([A-Z0-9]*\);.*/\1/p' <<<"$OUTPUT" | head -1)
        FLAGS=$(sed -n 's/^;; Flags: *\([^;]*\);.*/\1/p' <<<"$OUTPUT" | head -1)
        AN=$(sed -n 's/.* ANSWER: \([0-9]*\);.*/\1/p' <<<"$OUTPUT" | head -1)
        OPT=0
        grep -q '^;; EDNS PSEUDOSECTION' <<<"$OUTPUT" && OPT=1
        EVER=$(sed -n 's/^;; Version: \([0-9]*\);.*/\1/p' <<<"$OUTPUT")
        EFLAGS=$(sed -n 's/^;; Version: [0-9]*; flags: *\([^;]*\);.*/\1/p' <<<"$OUTPUT")
        SIZE=$(sed -n 's/^;; Received \([0-9]*\) B.*/\1/p' <<<"$OUTPUT")
        ;;
    drill)
        local d=()
        [ "$tr" = tcp ] && d=(-t)
        OUTPUT=$(drill "${d[@]}" -p "$PORT" "$@" "@$srv" 2>&1)
        STATUS=$(sed -n 's/.*rcode: \([A-Z0-9]*\),.*/\1/p' <<<"$OUTPUT" | head -1)
        FLAGS=$(sed -n 's/^;; flags: *\([^;]*\);.*/\1/p' <<<"$OUTPUT" | head -1)
        AN=$(sed -n 's/.* ANSWER: \([0-9]*\),.*/\1/p' <<<"$OUTPUT" | head -1)
        OPT=0
        EVER=
        EFLAGS=
        SIZE=$(sed -n 's/^;; MSG SIZE *rcvd: \([0-9]*\).*/\1/p' <<<"$OUTPUT")
        ;;
    esac
}

has_word() { [[ " $1 " == *" $2 "* ]]; }

# rfc ID "RFC section: description" "EXPECTATIONS" TOOL TRANSPORT ARGS...
# EXPECTATIONS, space separated: status=X aa noaa an=N an+ opt noopt v0 noopts no100
# nombz do nodo noflag=F small(<=512 or tc) ecs0 nsid cookie nocookie noexpire
rfc() {
    local id=$1 desc=$2 exp=$3 tool=$4 tr=$5
    shift 5
    if [[ $tr == *6 ]] && [ "$V6" != 1 ]; then
        skip "$id" "$desc [$tool ${tr}]" "no IPv6 on loopback (::1)"
        return
    fi
    local srv=127.0.0.1
    if [ "$tr" = udp6 ] || [ "$tr" = tcp6 ]; then
        srv=::1
    fi
    probe "$tool" "${tr%6}" "$srv" "$@"
    local probs=() e
    if [ -z "$STATUS" ]; then
        probs+=("no usable reply")
    else
        for e in $exp; do
            case $e in
            status=*) [ "$STATUS" = "${e#status=}" ] || probs+=("status $STATUS, want ${e#status=}") ;;
            aa) has_word "$FLAGS" aa || probs+=("aa missing (flags: $FLAGS)") ;;
            noaa) has_word "$FLAGS" aa && probs+=("aa set") ;;
            an=*) [ "$AN" = "${e#an=}" ] || probs+=("ANSWER $AN, want ${e#an=}") ;;
            an+) [ "${AN:-0}" -ge 1 ] || probs+=("empty answer") ;;
            opt) [ "$OPT" = 1 ] || probs+=("no OPT") ;;
            noopt) [ "$OPT" = 0 ] || probs+=("OPT present") ;;
            v0) [ "$EVER" = 0 ] || probs+=("EDNS version '$EVER'") ;;
            noopts) grep -qE '^; (OPT=|COOKIE|NSID|EXPIRE|CLIENT-SUBNET)|^;; (Option|COOKIE|NSID|EXPIRE|CLIENT-SUBNET)' <<<"$OUTPUT" &&
                probs+=("options echoed") ;;
            no100) grep -qE '^; OPT=100|Option \(100\)' <<<"$OUTPUT" && probs+=("option 100 echoed") ;;
            nombz) grep -q 'MBZ' <<<"$OUTPUT" && probs+=("MBZ flag bits echoed") ;;
            do) has_word "$EFLAGS" "do" || probs+=("DO not copied (EDNS flags: $EFLAGS)") ;;
            nodo) has_word "$EFLAGS" "do" && probs+=("DO set") ;;
            noflag=*) has_word "$FLAGS" "${e#noflag=}" && probs+=("${e#noflag=} flag set ($FLAGS)") ;;
            small) if ! has_word "$FLAGS" tc && [ "${SIZE:-0}" -gt 512 ]; then
                probs+=("$SIZE bytes > 512 without TC")
            fi ;;
            tc) has_word "$FLAGS" tc || probs+=("tc not set") ;;
            ecs0) grep -q 'CLIENT-SUBNET: 0.0.0.0/0/0' <<<"$OUTPUT" || probs+=("ECS 0.0.0.0/0/0 not echoed") ;;
            nsid) grep -q "NSID: .*$NSID" <<<"$OUTPUT" || probs+=("NSID $NSID missing") ;;
            cookie) grep -qiE 'COOKIE: [0-9a-f]{48}( \(good\))?$' <<<"$OUTPUT" ||
                probs+=("no COOKIE with our 16-byte server cookie (CK-1)") ;;
            nocookie) grep -q 'COOKIE' <<<"$OUTPUT" && probs+=("COOKIE echoed") ;;
            noexpire) grep -q 'EXPIRE' <<<"$OUTPUT" && probs+=("EXPIRE echoed") ;;
            *) probs+=("test bug: unknown expectation $e") ;;
            esac
        done
    fi
    if [ ${#probs[@]} -eq 0 ]; then
        ok "$id" "$desc [$tool ${tr}]"
    else
        not_ok "$id" "$desc [$tool ${tr}]" "${probs[@]}" "command: $tool $* (${tr})" "$OUTPUT"
    fi
}

transports=(udp tcp udp6 tcp6)

for tr in "${transports[@]}"; do
    # 8.1: plain DNS
    rfc HDR-3 "8.1.1 SOA without EDNS: NOERROR, SOA, aa, no OPT" "status=NOERROR aa an=1 noopt" \
        dig "$tr" +noedns +noad +norec soa $Z
    rfc HDR-3 "8.1.1 SOA without EDNS: NOERROR, SOA, aa, no OPT" "status=NOERROR aa an=1 noopt" \
        kdig "$tr" +noedns +noadflag +norec soa $Z
    rfc Q-3 "8.1.2 TYPE1000: NOERROR, empty answer, aa" "status=NOERROR aa an=0 noopt" \
        dig "$tr" +noedns +noad +norec type1000 $Z
    rfc Q-3 "8.1.2 TYPE1000: NOERROR, empty answer, aa" "status=NOERROR aa an=0 noopt" \
        kdig "$tr" +noedns +noadflag +norec type1000 $Z
    rfc HDR-2 "8.1.3.1 CD=1: NOERROR, SOA, CD not copied" "status=NOERROR aa an=1 noflag=cd" \
        dig "$tr" +noedns +noad +norec +cd soa $Z
    rfc HDR-2 "8.1.3.1 CD=1: NOERROR, SOA, CD not copied" "status=NOERROR aa an=1 noflag=cd" \
        kdig "$tr" +noedns +noadflag +norec +cdflag soa $Z
    rfc HDR-2 "8.1.3.2 AD=1: NOERROR, SOA, AD=0" "status=NOERROR aa an=1 noflag=ad" \
        dig "$tr" +noedns +norec +ad soa $Z
    rfc HDR-2 "8.1.3.2 AD=1: NOERROR, SOA, AD=0" "status=NOERROR aa an=1 noflag=ad" \
        kdig "$tr" +noedns +norec +adflag soa $Z
    rfc HDR-2 "8.1.3.3 Z=1: NOERROR, SOA, Z=0" "status=NOERROR aa an=1 noflag=z nombz" \
        dig "$tr" +noedns +noad +norec +zflag soa $Z
    rfc HDR-2 "8.1.3.3 Z=1: NOERROR, SOA, Z=0" "status=NOERROR aa an=1 noflag=z" \
        kdig "$tr" +noedns +noadflag +norec +zflag soa $Z
    rfc HDR-2 "RD=1 copied, RA=0" "status=NOERROR aa an=1 noflag=ra" \
        dig "$tr" +noedns +rec soa $Z
    rfc OP-1 "8.1.4 opcode 15, header only: NOTIMP, no aa" "status=NOTIMP noaa an=0 noopt" \
        dig "$tr" +noedns +noad +opcode=15 +norec +header-only
    rfc OP-1 "opcode 15 with EDNS: NOTIMP, no aa, OPT" "status=NOTIMP noaa an=0 opt" \
        dig "$tr" +nocookie +edns=0 +noad +opcode=15 +norec +header-only

    # 8.2: EDNS
    rfc EDNS-1 "8.2.1 EDNS 0: NOERROR, SOA, aa, OPT version 0, no options" \
        "status=NOERROR aa an=1 opt v0 noopts" dig "$tr" +nocookie +edns=0 +noad +norec soa $Z
    rfc EDNS-1 "8.2.1 EDNS 0: NOERROR, SOA, aa, OPT version 0, no options" \
        "status=NOERROR aa an=1 opt v0 noopts" kdig "$tr" +nocookie +edns=0 +noadflag +norec soa $Z
    rfc EDNS-3 "8.2.2 EDNS version 1: BADVERS, OPT version 0, no SOA, no aa" \
        "status=BADVERS noaa an=0 opt v0" dig "$tr" +nocookie +edns=1 +noednsneg +noad +norec soa $Z
    rfc EDNS-3 "8.2.2 EDNS version 1: BADVERS, OPT version 0, no SOA, no aa" \
        "status=BADVERS noaa an=0 opt v0" kdig "$tr" +nocookie +edns=1 +noadflag +norec soa $Z
    rfc EDNS-4 "8.2.3 unknown option 100: NOERROR, SOA, option not echoed" \
        "status=NOERROR aa an=1 opt v0 no100" dig "$tr" +nocookie +edns=0 +noad +norec +ednsopt=100 soa $Z
    rfc EDNS-4 "8.2.3 unknown option 100: NOERROR, SOA, option not echoed" \
        "status=NOERROR aa an=1 opt v0 no100" kdig "$tr" +nocookie +edns=0 +noadflag +norec +ednsopt=100 soa $Z
    rfc EDNS-4 "8.2.4 unknown EDNS flag 0x80: NOERROR, SOA, flag not echoed" \
        "status=NOERROR aa an=1 opt v0 nombz" dig "$tr" +nocookie +edns=0 +noad +norec +ednsflags=0x80 soa $Z
    rfc EDNS-4 "unknown EDNS flag 0x40 (docs/protocol.md): not echoed" \
        "status=NOERROR aa an=1 opt v0 nombz" dig "$tr" +nocookie +edns=0 +norec +ednsflags=0x40 soa $Z
    rfc EDNS-3 "8.2.5 version 1 + option 100: BADVERS, option not echoed" \
        "status=BADVERS noaa an=0 opt v0 no100" dig "$tr" +nocookie +edns=1 +noednsneg +noad +norec +ednsopt=100 soa $Z
    rfc EDNS-3 "8.2.5 version 1 + option 100: BADVERS, option not echoed" \
        "status=BADVERS noaa an=0 opt v0 no100" kdig "$tr" +nocookie +edns=1 +noadflag +norec +ednsopt=100 soa $Z
    rfc EDNS-3 "8.2.6 version 1 + flag 0x80: BADVERS, flag not echoed" \
        "status=BADVERS noaa an=0 opt v0 nombz" dig "$tr" +nocookie +edns=1 +noednsneg +noad +norec +ednsflags=0x80 soa $Z
    rfc EDNS-3 "8.2.7 version 1 + option 100 + flag 0x80: BADVERS, nothing echoed" \
        "status=BADVERS noaa an=0 opt v0 no100 nombz" dig "$tr" +nocookie +edns=1 +noednsneg +noad +norec +ednsopt=100 +ednsflags=0x80 soa $Z
    rfc EDNS-4 "8.2.8 DO=1: NOERROR, SOA, DO copied" "status=NOERROR aa an=1 opt v0 do" \
        dig "$tr" +nocookie +edns=0 +noad +norec +dnssec soa $Z
    rfc EDNS-4 "8.2.8 DO=1: NOERROR, SOA, DO copied" "status=NOERROR aa an=1 opt v0 do" \
        kdig "$tr" +nocookie +edns=0 +noadflag +norec +dnssec soa $Z
    rfc EDNS-5 "8.2.9 DO=1, bufsize 512, DNSKEY: NOERROR, OPT, <= 512 bytes or TC" \
        "status=NOERROR aa opt v0 do small" dig "$tr" +nocookie +edns=0 +noad +norec +dnssec +bufsize=512 +ignore dnskey $Z
    rfc EDNS-5 "8.2.9 DO=1, bufsize 512, DNSKEY: NOERROR, OPT, <= 512 bytes or TC" \
        "status=NOERROR aa opt v0 do small" kdig "$tr" +nocookie +edns=0 +noadflag +norec +dnssec +bufsize=512 +ignore dnskey $Z
    rfc EDNS-8 "8.2.10 cookie + nsid + expire + subnet 0/0: NOERROR, SOA, aa" \
        "status=NOERROR aa an=1 opt v0 ecs0 nsid cookie noexpire" \
        dig "$tr" +edns=0 +noad +norec +cookie +nsid +expire +subnet=0.0.0.0/0 soa $Z
    rfc EDNS-8 "8.2.10 cookie + nsid + expire + subnet 0/0: NOERROR, SOA, aa" \
        "status=NOERROR aa an=1 opt v0 ecs0 nsid cookie noexpire" \
        kdig "$tr" +edns=0 +noadflag +norec +cookie +nsid +expire +subnet=0.0.0.0/0 soa $Z
    rfc ECS-7 "subnet 0.0.0.0/0 alone: answered, echoed with scope 0" \
        "status=NOERROR aa an=1 opt ecs0" dig "$tr" +norec +subnet=0.0.0.0/0 soa $Z
    rfc CK-1 "client cookie: NOERROR, COOKIE with a server cookie" "status=NOERROR aa an=1 opt cookie" \
        dig "$tr" +norec +cookie soa $Z
    rfc CK-1 "client cookie: NOERROR, COOKIE with a server cookie" "status=NOERROR aa an=1 opt cookie" \
        kdig "$tr" +norec +cookie soa $Z
    rfc EDNS-8 "NSID asked: our NSID" "status=NOERROR aa opt nsid" kdig "$tr" +norec +nsid soa $Z
done

# TC over UDP with each tool, full answer over TCP
rfc TC-1 "bigtxt over UDP without EDNS: tc" "status=NOERROR aa tc" dig udp +noedns +norec +ignore txt bigtxt.$Z
rfc TC-1 "bigtxt over UDP with bufsize 1232: tc" "status=NOERROR aa tc opt" kdig udp +edns=0 +bufsize=1232 +norec +ignore txt bigtxt.$Z
rfc TC-3 "bigtxt over TCP: full answer (8 TXT)" "status=NOERROR aa an=8 noflag=tc" dig tcp +noedns +norec txt bigtxt.$Z
rfc TC-3 "dig retries a truncated answer over TCP: full answer" "status=NOERROR aa an=8 noflag=tc" dig udp +noedns +norec txt bigtxt.$Z

# drill, the third yardstick
rfc ANS-1 "drill: SOA" "status=NOERROR aa an=1" drill udp SOA $Z
rfc TCP-1 "drill: SOA over TCP" "status=NOERROR aa an=1" drill tcp SOA $Z
rfc NEG-1 "drill: NXDOMAIN" "status=NXDOMAIN aa an=0" drill udp A nothere.$Z

stop_pid "$SERVER_PID" TERM
check SETUP "gslbd exits 0 on SIGTERM" "exit status $STOP_RC" [ "$STOP_RC" = 0 ]
finish
