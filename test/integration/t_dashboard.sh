#!/usr/bin/env bash
# t_dashboard.sh: the web dashboard in headless chromium against a real gslbd: cluster states
# in the DOM (down, drained), the rejected-reload banner and the lost-connection state of an
# open page, screenshots in test/out/dashboard/. The work is in t_dashboard.py; it fails
# when chromium is missing (packaging/deps.sh installs it).
exec python3 "$(dirname "$0")/t_dashboard.py" "$@"
