#!/usr/bin/env bash
# t_readme.sh: README.md's Quick start and Operations, run as written on a fresh clone
# (t_readme.py).
exec python3 "$(dirname "$0")/t_readme.py" "$@"
