#!/usr/bin/env bash
# t_layout.sh: the source layout's rules (issue 16) on this checkout and the objects of the
# build under test: no include cycle, server/dns a leaf, rooted includes, no circle of calls
# across folders, circles inside a folder explained, unit tests in mirror folders
# (test/layout/check.py says each rule).
set -u
GSLBD=${GSLBD:-build/dev/gslbd}
exec /usr/bin/python3 "$(dirname "$0")/../layout/check.py" "$(dirname "$GSLBD")"
