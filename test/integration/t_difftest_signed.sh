#!/usr/bin/env bash
# t_difftest_signed.sh: the signed differential batch of make test (issue 18): 20 generated
# zones signed by gslbd and by Knot with the same key, about 1,260 queries with DO and CO
# compared where comparable, every gslbd answer validated by dnspython and by the wire
# validator with the zone's DNSKEY, and a tampered answer rejected by both
# (test/difftest/signed.py prints the TAP plan first and stops the servers on exit).
# env DIFFTEST_SIGNED_SEED, DIFFTEST_SIGNED_ZONES, DIFFTEST_SIGNED_QUERIES override it.
exec env PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 "$(dirname "$0")/../difftest/signed.py" --tap \
    --seed "${DIFFTEST_SIGNED_SEED:-7}" --zones "${DIFFTEST_SIGNED_ZONES:-20}" \
    --queries "${DIFFTEST_SIGNED_QUERIES:-1200}" "$@"
