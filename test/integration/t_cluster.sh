#!/usr/bin/env bash
# t_cluster.sh: cluster mode through etcd (docs/cluster.md): three gslbd instances and one
# etcd (Debian's etcd-server) on loopback; shared drains, shared health under the quorum
# rules, etcd lost and back, an instance killed. Propagation and failover times are printed.
# The work is in t_cluster.py; it starts and stops its own servers, also on failure.
exec env PYTHONDONTWRITEBYTECODE=1 python3 "$(dirname "$0")/t_cluster.py" "$@"
