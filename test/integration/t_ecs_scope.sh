#!/usr/bin/env bash
# t_ecs_scope.sh: the ECS scope of nearest and failover answers, geoip.ecs_scope, and
# failover past the nearest region in great-circle order, through a real gslbd with dig and
# kdig. The work is in t_ecs_scope.py; it starts and stops its own server.
exec python3 "$(dirname "$0")/t_ecs_scope.py" "$@"
