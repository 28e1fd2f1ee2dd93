#!/usr/bin/env bash
# t_harden2.sh: the file-handling rules of docs/hardening.md ("Files": state file, $INCLUDE
# confinement, bounded zone reads, --user checks), log escaping and EDNS-6's two COOKIEs,
# through real gslbd processes with dig, curl and dnsq.py. The work is in t_harden2.py; it
# starts and stops its own servers, also on failure or a signal.
exec python3 "$(dirname "$0")/t_harden2.py" "$@"
