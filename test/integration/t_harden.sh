#!/usr/bin/env bash
# t_harden.sh: DNS cookies (docs/protocol.md CK-1, OP-2, EDNS-6) and response rate limiting
# (docs/hardening.md RRL-1..8) through real gslbd processes with dig and dnsq.py. The work
# is in t_harden.py; it starts and stops its own servers, also on failure or a signal.
exec python3 "$(dirname "$0")/t_harden.py" "$@"
