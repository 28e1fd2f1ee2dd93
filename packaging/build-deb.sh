#!/usr/bin/env bash
# build-deb.sh: builds the Debian package of gslbd (what `make deb` runs), with dpkg-dev's
# own tools and no debhelper:
#   1. builds the daemon with Debian's hardening flags (dpkg-buildflags) in build/deb/obj
#      (a release build of its own, so build/release/ stays as `make bench` made it), and
#      the demonstration GeoIP database build/geo/demo.mmdb;
#   2. stages the installed tree in build/deb/src/debian/gslbd (a source-like layout, so
#      dpkg-shlibdeps and dpkg-gencontrol work as in a normal package build);
#   3. computes Depends with dpkg-shlibdeps from the libraries the binary really links,
#      and the control file (Version from packaging/debian/changelog, Installed-Size) with
#      dpkg-gencontrol;
#   4. packs build/deb/gslbd_VERSION_ARCH.deb with dpkg-deb, owned by root, with file times
#      set to the changelog date (SOURCE_DATE_EPOCH) so that rebuilds are reproducible.
# The upstream part of the changelog's version must be what `gslbd --version` prints: a
# version bump in server/main.c needs a new packaging/debian/changelog entry.
#
# usage: bash packaging/build-deb.sh        (prints the path of the .deb on success)
set -euo pipefail
umask 022

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
PKG=packaging
DEB=build/deb
OBJ=$DEB/obj
SRC=$DEB/src
ROOT=$SRC/debian/gslbd

die() {
    echo "build-deb: $*" >&2
    exit 1
}

for tool in dpkg-buildflags dpkg-shlibdeps dpkg-gencontrol dpkg-parsechangelog dpkg-deb; do
    command -v "$tool" >/dev/null || die "$tool not found (install dpkg-dev: make deps)"
done

# --- 1. build --------------------------------------------------------------------------
# Debian's hardening flags (stack protector, _FORTIFY_SOURCE, format checks, full RELRO,
# bind now); the Makefile appends CFLAGS and LDFLAGS to its own.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cflags="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
ldflags=$(dpkg-buildflags --get LDFLAGS)
jobs=()
case " ${MAKEFLAGS:-} " in
*jobserver*) ;; # called from make -jN: share its job slots
*) jobs=(-j"$(nproc)") ;;
esac
make --no-print-directory "${jobs[@]}" VARIANT=release BUILD="$OBJ" \
    CFLAGS="$cflags" LDFLAGS="$ldflags" all >&2
BIN=$OBJ/gslbd
MMDB=build/geo/demo.mmdb
[ -x "$BIN" ] || die "no binary at $BIN after make"
[ -f "$MMDB" ] || die "no GeoIP database at $MMDB after make"

# --- versions ------------------------------------------------------------------------------
upstream=$("$BIN" --version | sed -n 's/^gslbd \([^ ]*\)$/\1/p')
[ -n "$upstream" ] || die "cannot read the version from '$BIN --version'"
CHANGELOG=$PKG/debian/changelog
version=$(dpkg-parsechangelog -l "$CHANGELOG" -S Version)
if [ "${version%-*}" != "$upstream" ]; then
    die "$CHANGELOG: the top entry is $version but the binary is version $upstream;" \
        "add a changelog entry '$upstream-1'"
fi
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l "$CHANGELOG" -S Timestamp)
export SOURCE_DATE_EPOCH
arch=$(dpkg --print-architecture)

# --- 2. stage ------------------------------------------------------------------------------
rm -rf "$SRC"
mkdir -p "$SRC/debian" "$ROOT/DEBIAN"
cp "$PKG/debian/control" "$SRC/debian/control"
cp "$CHANGELOG" "$SRC/debian/changelog"

install -D -m 0755 "$BIN" "$ROOT/usr/sbin/gslbd"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$ROOT/usr/sbin/gslbd"
install -D -m 0644 "$PKG/gslbd.service" "$ROOT/lib/systemd/system/gslbd.service"
install -D -m 0644 "$PKG/etc/gslbd.json" "$ROOT/etc/gslbd/gslbd.json"
install -D -m 0644 zones/insure.example.zone "$ROOT/etc/gslbd/zones/insure.example.zone"
install -D -m 0644 "$MMDB" "$ROOT/usr/share/gslbd/demo.mmdb"
for page in gslbd.8 gslbd.json.5 gslbd-ctl.8 gslbd-api.7; do
    dir=$ROOT/usr/share/man/man${page##*.}
    install -d -m 0755 "$dir"
    gzip -9n <"$PKG/man/$page" >"$dir/$page.gz"
    chmod 0644 "$dir/$page.gz"
done

doc=$ROOT/usr/share/doc/gslbd
install -d -m 0755 "$doc"
gzip -9n <"$CHANGELOG" >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
# the project's reference (docs/: protocol and GSLB rules, config, the API) and the API's
# JSON schemas; text compressed as Debian policy asks, the schemas kept as they are
for f in README.md docs/*.md; do
    gzip -9n <"$f" >"$doc/${f##*/}.gz"
    chmod 0644 "$doc/${f##*/}.gz"
done
install -d -m 0755 "$doc/schema"
install -m 0644 docs/schema/*.schema.json "$doc/schema/"
# debian/copyright in the machine-readable format, its notice and licence text from LICENSE
holder=$(sed -n 's/^Copyright ([cC]) //p' LICENSE | head -1)
[ -n "$holder" ] || die "LICENSE: no 'Copyright (c) ...' line"
licence=$(sed '1,/^Copyright /d' LICENSE | sed '/./,$!d' | sed 's/^$/./; s/^/ /')
[ -n "$licence" ] || die "LICENSE: no licence text after the copyright line"
awk -v holder="$holder" -v licence="$licence" \
    '$0 == "@LICENSE@" { print licence; next } { sub(/@COPYRIGHT@/, holder); print }' \
    "$PKG/debian/copyright.in" >"$doc/copyright"
chmod 0644 "$doc/copyright"

install -D -m 0644 "$PKG/debian/lintian-overrides" "$ROOT/usr/share/lintian/overrides/gslbd"

for script in postinst prerm postrm; do
    install -m 0755 "$PKG/debian/$script" "$ROOT/DEBIAN/$script"
done
install -m 0644 "$PKG/debian/conffiles" "$ROOT/DEBIAN/conffiles"
while read -r conffile; do
    [ -f "$ROOT$conffile" ] || die "conffiles lists $conffile, which is not in the package"
done <"$ROOT/DEBIAN/conffiles"

# --- 3. control ----------------------------------------------------------------------------
(
    cd "$SRC"
    dpkg-shlibdeps -Tdebian/gslbd.substvars debian/gslbd/usr/sbin/gslbd
    dpkg-gencontrol -pgslbd -Pdebian/gslbd -Tdebian/gslbd.substvars
)
grep -q '^Depends: .*libc6 (>=' "$ROOT/DEBIAN/control" ||
    die "dpkg-shlibdeps gave no versioned libc6 dependency"

# md5sums of everything but the conffiles (dpkg keeps those separately)
(
    cd "$ROOT"
    find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort |
        grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles) | xargs -r md5sum
) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/md5sums"

# --- 4. pack -------------------------------------------------------------------------------
find "$ROOT" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
out=$DEB/gslbd_${version}_${arch}.deb
rm -f "$DEB"/gslbd_*.deb
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$out" >&2
echo "$out"
