#!/usr/bin/env bash
# t_gslb.sh: GeoDNS checks (docs/gslb-rules.md LOC, POL, TTL-G, ECS-G, EXP;
# docs/protocol.md ECS-*, CN-4) and t_geo_compat, through a real gslbd with dig, kdig and
# dnsq.py. The work is in t_gslb.py; it starts and stops its own servers, also on failure or
# a signal.
exec python3 "$(dirname "$0")/t_gslb.py" "$@"
