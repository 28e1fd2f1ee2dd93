#!/usr/bin/env bash
# t_ctl.sh: `gslbd ctl` against a real gslbd, and the admin change history (t_ctl.py).
exec python3 "$(dirname "$0")/t_ctl.py" "$@"
