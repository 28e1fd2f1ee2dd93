#!/usr/bin/env python3
"""cluster.py: drain propagation and failover time of three gslbd instances in cluster mode
(one etcd, docs/cluster.md) next to the same three standalone, on loopback.

Drain: standalone, the operator POSTs the drain to each instance in turn (the shell loop
cluster mode replaces); in cluster mode, to instance 1 only. Timed from the first POST
until all three answer the other cluster. Failover: the first backend stops listening;
timed until all three answer the other cluster (checks: interval 200 ms, timeout 150,
fall 2, so the bound is 650 ms). Medians and ranges over CLUSTER_RUNS runs (default 5).
Uses the integration test's machinery (test/integration/t_cluster.py); every process it
starts is stopped at exit."""

import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "integration"))
import itest  # noqa: E402
import t_cluster as T  # noqa: E402

RUNS = int(os.environ.get("CLUSTER_RUNS", "5"))


def all_answer(addr):
    return all(x.answer() == addr for x in T.S.inst)


def timed(action, addr, limit=10.0):
    t0 = time.monotonic()
    action()
    while not all_answer(addr):
        if time.monotonic() - t0 > limit:
            return None
        time.sleep(0.005)
    return time.monotonic() - t0


def measure(mode):
    rule = None if mode == "standalone" else mode
    T.S.inst = [T.Instance(i, rule) for i in (1, 2, 3)]
    for x in T.S.inst:
        x.srv.start(wait=False)
    for x in T.S.inst:
        x.srv.wait_ready(15)
    if rule is not None:
        T.wait_for(T.connected_all(), 10)
    T.wait_for(lambda: all_answer(T.ADDR_ONE), 10)
    drains, fails = [], []
    for _ in range(RUNS):
        if rule is None:
            drains.append(timed(lambda: [x.post_state("one", "drain") for x in T.S.inst],
                                T.ADDR_TWO))
            for x in T.S.inst:
                x.post_state("one", "auto")
        else:
            drains.append(timed(lambda: T.S.inst[0].post_state("one", "drain"), T.ADDR_TWO))
            T.S.inst[0].post_state("one", "auto")
        T.wait_for(lambda: all_answer(T.ADDR_ONE), 10)
        fails.append(timed(lambda: T.set_backend(T.ADDR_ONE, "off"), T.ADDR_TWO))
        T.set_backend(T.ADDR_ONE, "ok")
        T.wait_for(lambda: all_answer(T.ADDR_ONE), 10)
        time.sleep(0.3)
    for x in T.S.inst:
        x.srv.stop()
    return drains, fails


def fmt(v):
    v = [x * 1000 for x in v if x is not None]
    if not v:
        return "never"
    return "%6.0f ms  (%.0f..%.0f)" % (statistics.median(v), min(v), max(v))


def main():
    T.setup()
    print("three instances, %d runs each; median (min..max) until all three answer the other "
          "cluster" % RUNS)
    print("%-22s %-26s %-26s" % ("mode", "drain", "failover (backend dies)"))
    for mode in ("standalone", "local", "majority"):
        d, f = measure(mode)
        label = mode if mode == "standalone" else "cluster, " + mode
        print("%-22s %-26s %-26s" % (label, fmt(d), fmt(f)), flush=True)
    print("(standalone drain: POSTed to each of the three in turn; cluster: to instance 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
