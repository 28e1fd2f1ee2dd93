#!/usr/bin/env bash
# t_rules.sh: one or more checks per rule ID of docs/protocol.md (the work is in t_rules.py;
# it starts and stops its own servers, also on failure or a signal).
exec env PYTHONDONTWRITEBYTECODE=1 python3 "$(dirname "$0")/t_rules.py" "$@"
