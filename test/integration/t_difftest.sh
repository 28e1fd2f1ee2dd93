#!/usr/bin/env bash
# t_difftest.sh: the fixed-seed differential batch of make test: 300 generated zones and
# about 10,500 queries served by gslbd, NSD and Knot and compared (test/difftest/run.py
# prints the TAP plan first and stops the three servers on exit, even on failure).
# env DIFFTEST_SEED, DIFFTEST_ZONES, DIFFTEST_QUERIES override the fixed batch.
exec env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$(dirname "$0")/../difftest/run.py" --tap \
    --seed "${DIFFTEST_SEED:-1}" --zones "${DIFFTEST_ZONES:-300}" \
    --queries "${DIFFTEST_QUERIES:-10500}" "$@"
