#!/usr/bin/env bash
# Shell completions (bash, zsh, fish) and the man page, generated from the ArgumentParser
# definitions: the completions by `phoneshift --generate-completion-script`, the manual by
# swift-argument-parser's generate-manual tool (from the package's own checkout, offline).
# The results are committed under packaging/; the Debian package installs them.
#
#   bash packaging/generate.sh           # regenerate them in place
#   bash packaging/generate.sh --check   # CI: regenerate into a scratch folder and fail when
#                                        # the committed ones are stale (the date line aside)
set -euo pipefail
cd "$(dirname "$0")/.."
check=false
[ "${1:-}" = "--check" ] && check=true
swift build --product phoneshift >/dev/null
swift build --product generate-manual >/dev/null
bin=$(swift build --show-bin-path)
out=packaging
if $check; then out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; mkdir -p "$out/completions" "$out/man"; fi
"$bin/phoneshift" --generate-completion-script bash > "$out/completions/phoneshift.bash"
"$bin/phoneshift" --generate-completion-script zsh > "$out/completions/_phoneshift"
"$bin/phoneshift" --generate-completion-script fish > "$out/completions/phoneshift.fish"
"$bin/generate-manual" "$bin/phoneshift" --output-directory "$out/man" --section 1 --authors "The PhoneShift team" >/dev/null
if $check; then
    stale=0
    for f in completions/phoneshift.bash completions/_phoneshift completions/phoneshift.fish man/phoneshift.1; do
        if ! diff -q <(grep -v '^\.Dd ' "packaging/$f") <(grep -v '^\.Dd ' "$out/$f") >/dev/null; then
            echo "packaging/$f is stale: run bash packaging/generate.sh and commit it" >&2
            stale=1
        fi
    done
    [ $stale -eq 0 ] && echo "completions and man page: up to date"
    exit $stale
fi
echo "wrote packaging/completions/{phoneshift.bash,_phoneshift,phoneshift.fish} and packaging/man/phoneshift.1"
