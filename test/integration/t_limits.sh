#!/usr/bin/env bash
# t_limits.sh: connection limits of the HTTP API (per address, request deadline, reserve)
# and tcp.max_per_source across workers (docs/hardening.md, "HTTP API and TCP limits"),
# through real gslbd processes with curl and plain sockets. The work is in t_limits.py; it
# starts and stops its own servers, also on failure or a signal.
exec python3 "$(dirname "$0")/t_limits.py" "$@"
