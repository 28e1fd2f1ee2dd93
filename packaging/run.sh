#!/usr/bin/env bash
# run.sh: what `make run` does after building: print a few dig commands, then run gslbd in
# the foreground on the example config (Ctrl-C stops it).
set -eu
bin=${1:-build/dev/gslbd}
conf=conf/gslbd.json
cat <<TXT
gslbd: starting on $conf (UDP and TCP on 127.0.0.1:5300 and [::1]:5300). Try, in another shell:

  dig @127.0.0.1 -p 5300 www.insure.example A
  dig @127.0.0.1 -p 5300 insure.example MX +norec
  dig @127.0.0.1 -p 5300 nothere.insure.example A      # NXDOMAIN with the SOA
  dig @127.0.0.1 -p 5300 host.partners.insure.example  # referral to a delegated subzone
  dig @127.0.0.1 -p 5300 +tcp insure.example ANY        # full ANY over TCP
  kdig @127.0.0.1 -p 5300 +subnet=198.51.100.0/24 api.insure.example

Reload after editing zones/ or conf/: kill -HUP \$(pgrep -f 'gslbd -c $conf')
TXT
exec "$bin" -c "$conf"
