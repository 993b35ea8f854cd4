#!/usr/bin/env bash
# Installs a built .deb into a clean root (dpkg -x: no maintainer scripts, nothing of this
# machine's build) and runs it from there: every library the binaries need resolves to a
# system one (ldd: nothing missing, nothing from the Swift toolchain), every Depends is an
# installed Debian package, `phoneshift --version`, the man page and completions are in
# place, and `phoneshift demo` runs the whole job against the packaged emulator.
#
#   bash packaging/test-deb.sh dist/phoneshift_VERSION_amd64.deb
set -euo pipefail
deb=$(readlink -f "$1")
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
fail() { echo "test-deb: $*" >&2; exit 1; }
for binary in "$root/usr/bin/phoneshift" "$root/usr/lib/phoneshift/graph-emulator"; do
    links=$(ldd "$binary")
    echo "$links" | grep -q "not found" && fail "$(basename "$binary"): a library is missing: $(echo "$links" | grep 'not found')"
    echo "$links" | grep -q "/opt/swift\|swift/linux" && fail "$(basename "$binary") links the Swift toolchain: $(echo "$links" | grep swift)"
done
# Every dependency the package declares is a package this machine has (the same Debian release).
provided=$(dpkg-query -W -f='${Status} ${Provides}\n' 2>/dev/null | grep '^install ok installed' || true)
for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g'); do
    dpkg -s "$dep" >/dev/null 2>&1 && continue
    # …or a virtual package one of them provides (libphonenumber8 provides libphonenumber8-protobuf32).
    echo "$provided" | grep -qE "(^| |,)$dep( |,|\(|$)" || fail "Depends names $dep, which no installed package is or provides"
done
"$root/usr/bin/phoneshift" --version | grep -q "^phoneshift " || fail "phoneshift --version"
for f in usr/share/man/man1/phoneshift.1.gz usr/share/bash-completion/completions/phoneshift usr/share/zsh/vendor-completions/_phoneshift \
         usr/share/fish/vendor_completions.d/phoneshift.fish usr/share/doc/phoneshift/README.md usr/share/doc/phoneshift/examples/quarterly-migration.yaml \
         lib/systemd/system/phoneshift-hr-nightly.service; do
    [ -s "$root/$f" ] || fail "$f is missing"
done
grep -q "ExecStart=/usr/bin/phoneshift" "$root/lib/systemd/system/phoneshift-hr-nightly.service" || fail "the unit does not start /usr/bin/phoneshift"
zcat "$root/usr/share/man/man1/phoneshift.1.gz" | grep -q "doctor" || fail "the man page lacks doctor"
# The demo from the installed files, in an empty folder (outputs go to ./phoneshift-demo).
work=$(mktemp -d)
(cd "$work" && "$root/usr/bin/phoneshift" demo --quiet) || fail "phoneshift demo failed (exit $?)"
[ -s "$work/phoneshift-demo/report.html" ] || fail "the demo wrote no report"
rm -rf "$work"
echo "test-deb: $(basename "$deb") installs into a clean root and runs the demo"
