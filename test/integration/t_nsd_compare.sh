#!/usr/bin/env bash
# t_nsd_compare.sh: the same static zones served by gslbd and NSD 4.6, compared query by
# query (the work is in t_nsd_compare.py; it stops both servers on exit, even on failure).
exec env PYTHONDONTWRITEBYTECODE=1 python3 "$(dirname "$0")/t_nsd_compare.py" "$@"
