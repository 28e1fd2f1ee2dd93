#!/usr/bin/env bash
# t_apidoc.sh: the documented /v1 API (JSON schemas, number format, explain, config errors)
# against a real gslbd (t_apidoc.py).
exec python3 "$(dirname "$0")/t_apidoc.py" "$@"
