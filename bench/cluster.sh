#!/usr/bin/env bash
# cluster.sh: drain propagation and failover time of three gslbd instances in cluster mode
# (one etcd, docs/cluster.md) next to the same three standalone, on loopback; the work is
# in bench/cluster.py. Needs etcd (Debian's etcd-server: make deps); skips without it.
# Usage: bash bench/cluster.sh [GSLBD]   (default build/release/gslbd if built, else debug)
# Environment: CLUSTER_RUNS=5. Results on stdout and in bench/out/cluster-STAMP.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v etcd >/dev/null; then
    echo "cluster.sh: no etcd (Debian package etcd-server); skipped" >&2
    exit 0
fi
if [ -n "${1:-}" ]; then
    export GSLBD=$(realpath -m "$1")
elif [ -x build/release/gslbd ]; then
    export GSLBD=$PWD/build/release/gslbd
fi
mkdir -p bench/out
python3 bench/cluster.py | tee "bench/out/cluster-$(date +%Y%m%d-%H%M%S).txt"
