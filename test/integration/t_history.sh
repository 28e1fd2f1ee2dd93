#!/usr/bin/env bash
# t_history.sh: the dashboard's history through a real gslbd: GET /api/v1/history with curl
# while dig drives traffic and a backend.py health backend is killed (the share moves, the
# transition is marked), admin changes and reloads marked, "now answering" against explain,
# and the charts in headless chromium. The work is in t_history.py.
exec python3 "$(dirname "$0")/t_history.py" "$@"
