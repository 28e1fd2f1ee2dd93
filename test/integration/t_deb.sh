#!/usr/bin/env bash
# t_deb.sh: the Debian package. Builds it (packaging/build-deb.sh, what `make deb` runs),
# checks its metadata, lintian and the man pages, installs it with dpkg into this machine
# (root needed; meant for disposable test machines), runs the INSTALLED daemon as the gslbd
# user on the INSTALLED config (on a free loopback port instead of 53), then reinstalls,
# removes and purges it, and checks that nothing is left. A trap purges the package on any
# exit, so the machine is left as it was found. Skipped (not failed) when not root, or
# when a gslbd package or user already exists (the test would change what it found).
# GSLBD is not used: the package holds its own release build.
# IDs (operations checks of the packaging, not docs/protocol.md IDs):
#   PKG-1 build: one build/deb/gslbd_VERSION_ARCH.deb, VERSION = the binary's + Debian rev.
#   PKG-2 control: Depends lists, with a minimum version, the package of every library the
#         binary links, and adduser; the conffiles.
#   PKG-3 lintian reports no error (E:).
#   PKG-4 man pages: gslbd(8) names every option of --help, gslbd.json(5) every key of
#         docs/config.md; both render without groff warnings.
#   PKG-5 the packaged config is conf/gslbd.json with only the installed-layout keys changed.
#   PKG-6 dpkg -i succeeds (this machine runs no systemd).
#   PKG-7 files in place, owned by root, with the right modes; conffiles registered.
#   PKG-8 the gslbd system user and group, /var/lib/gslbd (gslbd, 0750), unit enabled.
#   PKG-9 systemd-analyze verify accepts the installed unit; its key settings are there.
#   PKG-10 the installed binary, as gslbd, checks and serves the installed config (UDP, TCP)
#          and exits 0 on SIGTERM.
#   PKG-11 reinstalling (the upgrade path) keeps an edited conffile and the state file.
#   PKG-12 dpkg -r removes the program but keeps the conffiles and the user.
#   PKG-13 dpkg --purge leaves nothing: files, user, group, state, unit enablement.
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"

UNIT=/lib/systemd/system/gslbd.service
CONF=/etc/gslbd/gslbd.json
WANTS=/etc/systemd/system/multi-user.target.wants/gslbd.service
DSH=/var/lib/systemd/deb-systemd-helper-enabled

plan 17
# skip_all REASON: every planned check reported as skipped
skip_all() {
    local id
    skip PKG-1 "build and name the package" "$1" 2
    for id in PKG-2 PKG-3 PKG-4 PKG-5 PKG-6 PKG-7 PKG-8; do
        skip "$id" "the package" "$1"
    done
    skip PKG-9 "the installed unit" "$1" 2
    skip PKG-10 "the installed daemon" "$1" 3
    for id in PKG-11 PKG-12 PKG-13; do
        skip "$id" "the package" "$1"
    done
    finish
    exit 0
}
[ "$(id -u)" -eq 0 ] || skip_all "not root: dpkg -i needs root"
if dpkg-query -W -f='${Status}' gslbd 2>/dev/null | grep -qv 'not-installed'; then
    skip_all "a gslbd package is already on this machine; not touching it"
fi
if getent passwd gslbd >/dev/null || getent group gslbd >/dev/null; then
    skip_all "a gslbd user or group already exists; the purge would delete it"
fi
for t in dpkg-deb dig python3 setpriv systemd-analyze; do
    command -v "$t" >/dev/null || skip_all "$t not installed"
done

# dpkg_do ARGS...: dpkg, retried for up to 60 s while another dpkg/apt holds the lock
dpkg_do() {
    local i out rc
    for ((i = 0; i < 60; i++)); do
        out=$(dpkg "$@" </dev/null 2>&1)
        rc=$?
        if [ $rc -eq 0 ] || ! grep -qiE 'frontend lock|area is locked|locked by another' <<<"$out"; then
            DPKG_OUT=$out
            return $rc
        fi
        sleep 1
    done
    DPKG_OUT=$out
    return $rc
}

INSTALLED=0
deb_cleanup() {
    local pid i
    for pid in "${IT_PIDS[@]}"; do # stop the server before its user goes
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    if [ "$INSTALLED" -eq 1 ] || dpkg-query -W gslbd >/dev/null 2>&1; then
        dpkg_do --purge gslbd >/dev/null 2>&1 || echo "# cleanup: dpkg --purge gslbd failed: $DPKG_OUT"
    fi
    # the test checked at the start that neither existed
    getent passwd gslbd >/dev/null && userdel gslbd
    getent group gslbd >/dev/null && groupdel gslbd
    it_cleanup
}
trap deb_cleanup EXIT

# --- PKG-1 build ---------------------------------------------------------------------------
BUILD_LOG=$LOGDIR/t_deb-build.log
if DEB=$(bash "$REPO/packaging/build-deb.sh" 2>"$BUILD_LOG"); then
    DEB=$REPO/$DEB
    ok PKG-1 "build-deb.sh built ${DEB#"$REPO"/}"
else
    not_ok PKG-1 "build-deb.sh failed" "$(tail -n 20 "$BUILD_LOG")"
    finish
    exit 1
fi
ARCH=$(dpkg --print-architecture)
BIN_VERSION=$("$REPO/build/deb/obj/gslbd" --version | awk '{print $2}')
PKG_VERSION=$(dpkg-deb -f "$DEB" Version)
debs=("$REPO"/build/deb/*.deb)
if [ ${#debs[@]} -eq 1 ] && [ "$DEB" = "$REPO/build/deb/gslbd_${PKG_VERSION}_$ARCH.deb" ] &&
    [[ $PKG_VERSION == "$BIN_VERSION"-[0-9]* ]]; then
    ok PKG-1 "one package, version $PKG_VERSION (binary $BIN_VERSION), architecture $ARCH"
else
    not_ok PKG-1 "package name and version" "files: ${debs[*]}" \
        "Version: $PKG_VERSION, binary: $BIN_VERSION, arch: $ARCH"
fi

# --- PKG-2 control ---------------------------------------------------------------------------
DEPENDS=$(dpkg-deb -f "$DEB" Depends)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
probs=()
needed=$(readelf -d "$REPO/build/deb/obj/gslbd" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
want_pkgs=(adduser)
for so in $needed; do
    pkg=$(dpkg -S "*/$multiarch/$so" 2>/dev/null | head -1 | cut -d: -f1)
    if [ -z "$pkg" ]; then
        probs+=("no package ships $so")
    else
        want_pkgs+=("$pkg")
    fi
done
for pkg in $(printf '%s\n' "${want_pkgs[@]}" | sort -u); do
    if [ "$pkg" = adduser ]; then
        grep -qE "(^|, )adduser(,|$| )" <<<"$DEPENDS" || probs+=("Depends lacks adduser")
    else
        grep -qE "(^|, )$pkg \(>= [^)]+\)" <<<"$DEPENDS" || probs+=("Depends lacks '$pkg (>= ...)'")
    fi
done
for pkg in libc6 libldns3 libuv1 libmaxminddb0 libjansson4; do
    grep -qE "(^|, )$pkg \(>= " <<<"$DEPENDS" || probs+=("Depends lacks $pkg")
done
conffiles=$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles 2>/dev/null)
[ "$conffiles" = $'/etc/gslbd/gslbd.json\n/etc/gslbd/zones/insure.example.zone' ] ||
    probs+=("conffiles: $conffiles")
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-2 "Depends: $DEPENDS"
else
    not_ok PKG-2 "control fields" "${probs[@]}" "Depends: $DEPENDS" "linked: ${needed//$'\n'/ }"
fi

# --- PKG-3 lintian -----------------------------------------------------------------------------
if command -v lintian >/dev/null; then
    LINT_LOG=$LOGDIR/t_deb-lintian.log
    lintian --display-info --pedantic "$DEB" 2>&1 | grep -v 'running with root privileges' >"$LINT_LOG"
    errors=$(grep -c '^E: ' "$LINT_LOG")
    warnings=$(grep -c '^W: ' "$LINT_LOG")
    if [ "$errors" -eq 0 ]; then
        ok PKG-3 "lintian: no errors ($warnings warnings, $(grep -c '^[IP]: ' "$LINT_LOG") infos/pedantic)"
    else
        not_ok PKG-3 "lintian: $errors errors" "$(grep '^E: ' "$LINT_LOG")"
    fi
    [ "$warnings" -gt 0 ] && note "lintian warnings:" "$(grep '^W: ' "$LINT_LOG")"
else
    skip PKG-3 "lintian reports no error" "lintian not installed"
fi

# --- PKG-4 man pages ---------------------------------------------------------------------------
# rendered text, hyphens and quotes as plain ASCII, no hyphenation
render() { MANROFFOPT=-rHY=0 MANWIDTH=200 man -E ascii -l "$1" 2>/dev/null | col -bx; }
probs=()
for page in "$REPO"/packaging/man/gslbd.8 "$REPO"/packaging/man/gslbd.json.5 \
    "$REPO"/packaging/man/gslbd-ctl.8 "$REPO"/packaging/man/gslbd-api.7; do
    warn=$(MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" 2>&1 >/dev/null)
    [ -z "$warn" ] || probs+=("${page##*/}: groff warnings: $warn")
done
man8=$(render "$REPO/packaging/man/gslbd.8")
for opt in $("$REPO/build/deb/obj/gslbd" --help | grep -oE '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' | tr -d ' ,' | sort -u); do
    grep -qF -- "$opt" <<<"$man8" || probs+=("gslbd(8) does not mention $opt")
done
for sig in SIGHUP SIGTERM 'EXIT STATUS' FILES EXAMPLES dig; do
    grep -qF -- "$sig" <<<"$man8" || probs+=("gslbd(8) has no '$sig'")
done
man5=$(render "$REPO/packaging/man/gslbd.json.5")
# shellcheck disable=SC2016 # the backquotes and $ are literal
while read -r key; do
    grep -qE "(^|[^a-z_])${key//\$/\\$}([^a-z_]|\$)" <<<"$man5" ||
        probs+=("gslbd.json(5) does not document '$key'")
done < <(sed -n 's/^| `\([a-z_$][a-z_]*\)` |.*/\1/p' "$REPO/docs/config.md" | sort -u)
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-4 "gslbd(8) names every --help option, gslbd.json(5) every docs/config.md key"
else
    not_ok PKG-4 "man pages" "${probs[@]}"
fi

# --- PKG-5 packaged config vs conf/gslbd.json -----------------------------------------------
if out=$(python3 - "$REPO/conf/gslbd.json" "$REPO/packaging/etc/gslbd.json" 2>&1 <<'PY'
import json, sys
dev, pkg = (json.load(open(p)) for p in sys.argv[1:3])
want = {"listen": ["127.0.0.1:53", "[::1]:53"],
        "file": "/etc/gslbd/zones/insure.example.zone",
        "database": "/usr/share/gslbd/demo.mmdb",
        "state_file": "/var/lib/gslbd/state.json"}
got = {"listen": pkg["listen"], "file": pkg["zones"][0]["file"],
       "database": pkg["geoip"]["database"], "state_file": pkg["state_file"]}
if got != want:
    sys.exit("installed-layout keys: %s, want %s" % (got, want))
for c in (dev, pkg):  # the layout keys and their comments may differ, nothing else
    # "api": the demo names its token (conf/api.token, made by make); the package ships
    # without one (changes disabled until the operator makes a token, README Operations)
    for k in ("listen", "state_file", "$comment", "api"):
        c.pop(k, None)
    c["zones"][0].pop("file")
    for k in ("database", "$comment"):
        c["geoip"].pop(k, None)
if dev != pkg:
    sys.exit("packaging/etc/gslbd.json differs from conf/gslbd.json beyond the layout keys")
PY
); then
    ok PKG-5 "packaging/etc/gslbd.json is conf/gslbd.json with the installed paths and port 53"
else
    not_ok PKG-5 "packaged config drifted" "$out"
fi

# --- PKG-6 install -------------------------------------------------------------------------------
if dpkg_do -i "$DEB"; then
    INSTALLED=1
    ok PKG-6 "dpkg -i (systemd running: $([ -d /run/systemd/system ] && echo yes || echo no))"
else
    INSTALLED=1 # half-installed: the trap purges it
    not_ok PKG-6 "dpkg -i failed" "$DPKG_OUT"
    finish
    exit 1
fi

# --- PKG-7 files --------------------------------------------------------------------------------
probs=()
while read -r path mode; do
    if [ ! -e "$path" ]; then
        probs+=("missing $path")
        continue
    fi
    got=$(stat -c '%a %U:%G' "$path")
    [ "$got" = "$mode root:root" ] || probs+=("$path: $got, want $mode root:root")
done <<'EOF'
/usr/sbin/gslbd 755
/lib/systemd/system/gslbd.service 644
/etc/gslbd 755
/etc/gslbd/gslbd.json 644
/etc/gslbd/zones/insure.example.zone 644
/usr/share/gslbd/demo.mmdb 644
/usr/share/man/man8/gslbd.8.gz 644
/usr/share/man/man5/gslbd.json.5.gz 644
/usr/share/doc/gslbd/copyright 644
/usr/share/doc/gslbd/changelog.Debian.gz 644
/usr/share/man/man8/gslbd-ctl.8.gz 644
/usr/share/man/man7/gslbd-api.7.gz 644
/usr/share/doc/gslbd/api.md.gz 644
/usr/share/doc/gslbd/gslb-rules.md.gz 644
/usr/share/doc/gslbd/schema/status.schema.json 644
/usr/share/doc/gslbd/schema/explain.schema.json 644
EOF
registered=$(dpkg-query -W -f='${Conffiles}\n' gslbd | awk 'NF {print $1}')
[ "$registered" = $'/etc/gslbd/gslbd.json\n/etc/gslbd/zones/insure.example.zone' ] ||
    probs+=("registered conffiles: $registered")
v=$(/usr/sbin/gslbd --version 2>&1)
[ "$v" = "gslbd $BIN_VERSION" ] || probs+=("/usr/sbin/gslbd --version: $v")
head -1 /usr/share/doc/gslbd/copyright | grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' ||
    probs+=("copyright is not in the machine-readable format")
grep -q '^License: Expat' /usr/share/doc/gslbd/copyright || probs+=("copyright: no Expat licence")
man -w gslbd >/dev/null 2>&1 && man -w 5 gslbd.json >/dev/null 2>&1 &&
    man -w gslbd-ctl >/dev/null 2>&1 && man -w 7 gslbd-api >/dev/null 2>&1 ||
    probs+=("man cannot find gslbd(8), gslbd.json(5), gslbd-ctl(8) or gslbd-api(7)")
# the installed client reads the installed config (no API is running: exit 4, not 3)
/usr/sbin/gslbd ctl status >/dev/null 2>&1
rc=$?
[ "$rc" -eq 4 ] || probs+=("gslbd ctl status without a daemon: exit $rc, want 4 (unreachable)")
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-7 "files in place with their modes; conffiles registered"
else
    not_ok PKG-7 "installed files" "${probs[@]}"
fi

# --- PKG-8 user, state folder, enablement -------------------------------------------------------
probs=()
IFS=: read -r _ _ uid gid _ home shell <<<"$(getent passwd gslbd)"
if [ -z "${uid:-}" ]; then
    probs+=("no gslbd user")
else
    sys_max=$(awk '$1 == "SYS_UID_MAX" {print $2}' /etc/login.defs)
    [ "$uid" -le "${sys_max:-999}" ] || probs+=("uid $uid is not a system uid")
    [ "$(getent group gslbd | cut -d: -f3)" = "$gid" ] || probs+=("primary group is not gslbd")
    [ "$home" = /var/lib/gslbd ] || probs+=("home $home")
    [[ $shell == */nologin ]] || probs+=("shell $shell")
fi
got=$(stat -c '%a %U:%G' /var/lib/gslbd 2>&1)
[ "$got" = "750 gslbd:gslbd" ] || probs+=("/var/lib/gslbd: $got")
[ "$(readlink "$WANTS")" = "$UNIT" ] || probs+=("$WANTS does not point to $UNIT")
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-8 "system user gslbd (uid $uid), /var/lib/gslbd gslbd:gslbd 0750, unit enabled"
else
    not_ok PKG-8 "user and state folder" "${probs[@]}"
fi

# --- PKG-9 systemd unit -------------------------------------------------------------------------
out=$(systemd-analyze verify "$UNIT" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
    ok PKG-9 "systemd-analyze verify $UNIT: clean"
else
    not_ok PKG-9 "systemd-analyze verify $UNIT (exit $rc)" "$out"
fi
probs=()
while read -r line; do
    grep -qxF -- "$line" "$UNIT" || probs+=("no '$line'")
done <<'EOF'
Type=notify
ExecStartPre=/usr/sbin/gslbd -c /etc/gslbd/gslbd.json --check
ExecStart=/usr/sbin/gslbd -c /etc/gslbd/gslbd.json
ExecReload=/usr/sbin/gslbd --reload-wait $MAINPID
RuntimeDirectory=gslbd
Restart=on-failure
User=gslbd
Group=gslbd
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ReadWritePaths=/var/lib/gslbd
StateDirectory=gslbd
ReadOnlyPaths=/etc/gslbd
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
LimitNOFILE=65536
WantedBy=multi-user.target
EOF
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-9 "the unit has its service, sandbox and install settings"
else
    not_ok PKG-9 "unit settings" "${probs[@]}"
fi

# --- PKG-10 the installed daemon, as gslbd -------------------------------------------------------
# setpriv execs gslbd itself (runuser would fork and keep a parent), so $! below is gslbd's
# pid; started directly, not through this function, which would add a subshell
as_gslbd() { setpriv --reuid=gslbd --regid=gslbd --init-groups -- "$@"; }
if out=$(as_gslbd /usr/sbin/gslbd -c "$CONF" --check 2>&1); then
    ok PKG-10 "as gslbd: gslbd -c $CONF --check"
else
    not_ok PKG-10 "as gslbd: --check of the installed config" "$out"
fi
PORT=$(free_port 127.0.0.1)
SERVER_LOG=$LOGDIR/t_deb-server.log
: >"$SERVER_LOG"
setpriv --reuid=gslbd --regid=gslbd --init-groups -- \
    /usr/sbin/gslbd -c "$CONF" --listen "127.0.0.1:$PORT" </dev/null >>"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
IT_PIDS+=("$SERVER_PID")
if wait_ready "$SERVER_PID" "$PORT" insure.example 15; then
    user=$(ps -o user= -p "$SERVER_PID" | tr -d ' ')
    probs=()
    [ "$user" = gslbd ] || probs+=("runs as '$user'")
    www_addrs='^(192\.0\.2\.1[01]|198\.51\.100\.10|203\.0\.113\.10)$'
    for tcp in +notcp +tcp; do
        a=$(dig @127.0.0.1 -p "$PORT" $tcp +norec +time=2 +tries=1 www.insure.example A 2>&1)
        grep -q 'status: NOERROR' <<<"$a" && grep -qE 'flags: qr aa' <<<"$a" ||
            probs+=("www A $tcp: not an authoritative NOERROR: $a")
        ans=$(dig @127.0.0.1 -p "$PORT" $tcp +norec +time=2 +tries=1 +short www.insure.example A)
        [ -n "$ans" ] && ! grep -vqE "$www_addrs" <<<"$ans" || probs+=("www A $tcp: '$ans'")
        soa=$(dig @127.0.0.1 -p "$PORT" $tcp +norec +time=2 +tries=1 +short insure.example SOA)
        [ "$soa" = "ns1.insure.example. hostmaster.insure.example. 2024061501 7200 900 1209600 300" ] ||
            probs+=("SOA $tcp: '$soa'")
    done
    if [ ${#probs[@]} -eq 0 ]; then
        ok PKG-10 "installed gslbd as user gslbd on 127.0.0.1:$PORT: www A (${ans//$'\n'/ }) and SOA over UDP and TCP"
    else
        not_ok PKG-10 "answers of the installed gslbd" "${probs[@]}"
    fi
    stop_pid "$SERVER_PID" TERM
    if [ "$STOP_RC" = 0 ]; then
        ok PKG-10 "SIGTERM: exit 0"
    else
        not_ok PKG-10 "SIGTERM: exit $STOP_RC, want 0" "$(tail -n 5 "$SERVER_LOG")"
    fi
else
    not_ok PKG-10 "installed gslbd did not answer on 127.0.0.1:$PORT" "$(tail -n 20 "$SERVER_LOG")"
fi

# --- PKG-11 reinstall keeps local changes ---------------------------------------------------------
probs=()
sed -i 's/"log_level": "info"/"log_level": "warning"/' "$CONF"
out=$(as_gslbd /usr/sbin/gslbd -c "$CONF" --admin eu-west-a=drain 2>&1) || probs+=("--admin as gslbd: $out")
[ -f /var/lib/gslbd/state.json ] || probs+=("--admin wrote no /var/lib/gslbd/state.json")
if dpkg_do -i "$DEB"; then
    grep -q '"log_level": "warning"' "$CONF" || probs+=("the edited conffile was replaced")
    grep -q '"eu-west-a": *"drain"' /var/lib/gslbd/state.json 2>/dev/null ||
        probs+=("the state file was lost: $(cat /var/lib/gslbd/state.json 2>&1)")
    got=$(stat -c '%a %U:%G' /var/lib/gslbd 2>&1)
    [ "$got" = "750 gslbd:gslbd" ] || probs+=("/var/lib/gslbd: $got")
else
    probs+=("dpkg -i over the installed package failed: $DPKG_OUT")
fi
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-11 "reinstall keeps the edited conffile and the state file (--admin as gslbd)"
else
    not_ok PKG-11 "reinstall" "${probs[@]}"
fi

# --- PKG-12 remove ---------------------------------------------------------------------------------
probs=()
if dpkg_do -r gslbd; then
    for f in /usr/sbin/gslbd "$UNIT" /usr/share/gslbd/demo.mmdb /usr/share/man/man8/gslbd.8.gz; do
        [ ! -e "$f" ] || probs+=("$f still there")
    done
    [ -f "$CONF" ] || probs+=("$CONF removed (conffiles stay until purge)")
    getent passwd gslbd >/dev/null || probs+=("the gslbd user is gone before purge")
    [ -d /var/lib/gslbd ] || probs+=("/var/lib/gslbd is gone before purge")
else
    probs+=("dpkg -r failed: $DPKG_OUT")
fi
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-12 "dpkg -r: program gone; conffiles, state and user kept"
else
    not_ok PKG-12 "remove" "${probs[@]}"
fi

# --- PKG-13 purge --------------------------------------------------------------------------------
probs=()
if dpkg_do --purge gslbd; then
    INSTALLED=0
    grep -q 'not executed' <<<"$DPKG_OUT" && probs+=("purge output: $DPKG_OUT")
    dpkg-query -W gslbd >/dev/null 2>&1 && probs+=("dpkg still knows gslbd")
    getent passwd gslbd >/dev/null && probs+=("user gslbd left")
    getent group gslbd >/dev/null && probs+=("group gslbd left")
    for f in /etc/gslbd /var/lib/gslbd "$WANTS" "$DSH/gslbd.service.dsh-also" \
        "$DSH/multi-user.target.wants/gslbd.service"; do
        [ ! -e "$f" ] && [ ! -L "$f" ] || probs+=("$f left")
    done
else
    probs+=("dpkg --purge failed: $DPKG_OUT")
fi
if [ ${#probs[@]} -eq 0 ]; then
    ok PKG-13 "dpkg --purge: no files, user, group, state or unit enablement left"
else
    not_ok PKG-13 "purge" "${probs[@]}"
fi

finish
