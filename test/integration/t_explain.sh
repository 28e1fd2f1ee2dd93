#!/usr/bin/env bash
# t_explain.sh: explain tells the engine's truth (EXP-1): for services reached through a
# CNAME, a CNAME chain and wildcards, gslbd --explain and GET /api/v1/explain name the
# service and the decision that dig gets from the live server. The work is in t_explain.py.
exec python3 "$(dirname "$0")/t_explain.py" "$@"
