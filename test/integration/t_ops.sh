#!/usr/bin/env bash
# t_ops.sh: systemd notifications, journald priorities, metrics and alert rules, what a load
# says (t_ops.py). First it gets promtool the way the issue asks: Debian's prometheus package,
# downloaded with apt-get and extracted with dpkg -x into test/out/promtool (kept between
# runs), never installed or run as a service. Without it the promtool checks are skips.
here=$(cd "$(dirname "$0")" && pwd)
dir=$here/../out/promtool
promtool=$dir/root/usr/bin/promtool
if [ ! -x "$promtool" ] && command -v apt-get >/dev/null && command -v dpkg >/dev/null; then
    mkdir -p "$dir"
    (cd "$dir" && rm -f prometheus_*.deb && apt-get download -q prometheus >download.log 2>&1 &&
        dpkg -x prometheus_*.deb root) || echo "# promtool: apt-get download prometheus failed (see $dir/download.log)"
fi
[ -x "$promtool" ] && export PROMTOOL=$promtool
exec python3 "$here/t_ops.py" "$@"
