#!/usr/bin/env bash
# t_health.sh: health probes and failover (docs/gslb-rules.md HC-1..HC-8, POL-6, TTL-G2, the
# Patroni leader pattern) through a real gslbd, with python backends (backend.py,
# patroni_sim.py) on 127.0.0.0/8 addresses; failover and recovery times are printed. The
# work is in t_health.py; it starts and stops its own servers, also on failure or a signal.
exec python3 "$(dirname "$0")/t_health.py" "$@"
