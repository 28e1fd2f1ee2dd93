#!/usr/bin/env bash
# t_api.sh: the HTTP API (status, metrics, explain, admin states, reloads, limits, config)
# through a real gslbd with curl and dig. The work is in t_api.py; it starts and stops its
# own servers and health-check backends, also on failure or a signal.
exec python3 "$(dirname "$0")/t_api.py" "$@"
