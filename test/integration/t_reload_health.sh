#!/usr/bin/env bash
# t_reload_health.sh: reloads never stall health or the API (issue 12): with fast checks
# and a 500,000-record zone generated into test/out, a backend killed right after SIGHUP is
# failed over within 1 s while the reload still runs (also for a rejected reload); status
# and metrics answer during the build; requests during a build queue one more reload. The
# work is in t_reload_health.py; it starts and stops its own servers.
exec python3 "$(dirname "$0")/t_reload_health.py" "$@"
