#!/usr/bin/env bash
# t_dname.sh: DNAME (DN-1..DN-3) and compression pointers (COMP-2) through a real gslbd, asked
# with dig and kdig and compared with NSD (the work is in t_dname.py; it starts and stops its
# own servers, also on failure or a signal).
exec env PYTHONDONTWRITEBYTECODE=1 python3 "$(dirname "$0")/t_dname.py" "$@"
