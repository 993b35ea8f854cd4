#!/usr/bin/env bash
# Builds dist/phoneshift_VERSION_amd64.deb: phoneshift (and the graph-emulator its demo
# starts) built in release mode with the Swift runtime linked in (--static-swift-stdlib), so
# the package needs only Debian's libraries — its Depends are worked out from the binaries
# with dpkg-shlibdeps (libcsv3, libphonenumber8, libcurl4, libsqlite3-0, …). It installs
# the man page and the bash, zsh and fish completions (packaging/, kept fresh by
# generate.sh --check), the demo (/usr/share/phoneshift/demo), the sample jobs, templates and
# README (/usr/share/doc/phoneshift), and the systemd units (disabled; postinst makes the
# `phoneshift` system user they run as).
#
#   bash packaging/build-deb.sh [OUTPUT_DIR]        (default dist/)
#
# Needs: dpkg-dev (dpkg-shlibdeps), the -dev packages .ci/setup installs.
set -euo pipefail
cd "$(dirname "$0")/.."
dist=${1:-dist}
mkdir -p "$dist"
build=.build-deb
swift build -c release --static-swift-stdlib --build-path "$build" --product phoneshift >/dev/null
swift build -c release --static-swift-stdlib --build-path "$build" --product graph-emulator >/dev/null
bin=$(swift build -c release --static-swift-stdlib --build-path "$build" --show-bin-path)
version=$("$bin/phoneshift" --version | head -1 | awk '{print $2}')
case "$version" in [0-9]*) ;; *) echo "cannot read the version from phoneshift --version" >&2; exit 1 ;; esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/phoneshift_${version}_amd64"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/phoneshift" "$root/usr/share/man/man1" \
    "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" "$root/usr/share/fish/vendor_completions.d" \
    "$root/usr/share/phoneshift/demo/Jobs" "$root/usr/share/phoneshift/demo/Samples" "$root/usr/share/doc/phoneshift/examples" \
    "$root/lib/systemd/system"
install -m 755 -s "$bin/phoneshift" "$root/usr/bin/phoneshift"
install -m 755 -s "$bin/graph-emulator" "$root/usr/lib/phoneshift/graph-emulator"
gzip -9n < packaging/man/phoneshift.1 > "$root/usr/share/man/man1/phoneshift.1.gz"
install -m 644 packaging/completions/phoneshift.bash "$root/usr/share/bash-completion/completions/phoneshift"
install -m 644 packaging/completions/_phoneshift "$root/usr/share/zsh/vendor-completions/_phoneshift"
install -m 644 packaging/completions/phoneshift.fish "$root/usr/share/fish/vendor_completions.d/phoneshift.fish"
install -m 644 Jobs/demo.yaml "$root/usr/share/phoneshift/demo/Jobs/demo.yaml"
install -m 644 Samples/migration-q3.csv Samples/directory.json "$root/usr/share/phoneshift/demo/Samples/"
install -m 644 README.md "$root/usr/share/doc/phoneshift/README.md"
cp -r Jobs/*.yaml Jobs/templates Jobs/systemd Jobs/kubernetes "$root/usr/share/doc/phoneshift/examples/"
install -m 644 Samples/*.csv "$root/usr/share/doc/phoneshift/examples/"
for unit in Jobs/systemd/*; do
    sed 's#/usr/local/bin/phoneshift#/usr/bin/phoneshift#; s#file:///opt/phoneshift/README.md#file:///usr/share/doc/phoneshift/README.md#' \
        "$unit" > "$root/lib/systemd/system/$(basename "$unit")"
done
chmod -R u=rwX,go=rX "$root/usr/share" "$root/lib"
cat > "$root/usr/share/doc/phoneshift/copyright" <<'COPYRIGHT'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: phoneshift
Files: *
Copyright: The PhoneShift team
License: proprietary
COPYRIGHT
# Depends from the binaries' own links (dpkg-shlibdeps wants a debian/control beside it).
mkdir -p "$stage/debian"
printf 'Source: phoneshift\n\nPackage: phoneshift\nArchitecture: amd64\n' > "$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O "$root/usr/bin/phoneshift" "$root/usr/lib/phoneshift/graph-emulator" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }
cat > "$root/DEBIAN/control" <<CONTROL
Package: phoneshift
Version: $version
Architecture: amd64
Maintainer: The PhoneShift team <phoneshift@example.invalid>
Depends: $depends, adduser
Section: admin
Priority: optional
Homepage: https://phoneshift.example
Description: change the MFA phone numbers of many Entra ID users at once
 Reads a sheet (CSV or Excel), checks every row, plans against live Microsoft Graph
 state, applies at the speed Graph allows, survives any crash, reports, drafts the
 notices to users, and rolls back. Includes phoneshift init and doctor, the demo
 against a bundled Graph emulator, shell completions, a man page and systemd units.
CONTROL
cat > "$root/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
# The account the systemd units run as (the units stay disabled until enabled by hand).
if [ "$1" = configure ] && ! getent passwd phoneshift >/dev/null; then
    adduser --system --group --home /var/lib/phoneshift phoneshift >/dev/null
    chmod 700 /var/lib/phoneshift   # its job stores and reports are the account's own
fi
exit 0
POSTINST
chmod 755 "$root/DEBIAN/postinst"
deb="$dist/phoneshift_${version}_amd64.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb ($(du -k "$deb" | cut -f1) KB; Depends: $depends, adduser)"
