#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# `meson setup DIR` with no options configures a working system install: prefix /usr (the D-Bus
# policy, polkit actions and units work only there), /etc and /var; and both programs print the
# version that meson.build gives.
#   test-defaults.sh SOURCE_ROOT NTPSYNCD NTPSYNCCTL
set -euo pipefail

source_root=$1 ntpsyncd=$2 ntpsyncctl=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

check() {
        local what=$1 got=$2 want=$3
        if [ "$got" = "$want" ]; then
                echo "ok: $what = $got"
        else
                echo "FAIL: $what is '$got', wanted '$want'"
                failed=1
        fi
}

meson setup "$work/build" "$source_root" >"$work/setup.log" 2>&1 || { cat "$work/setup.log"; exit 1; }
options=$(meson introspect --buildoptions "$work/build")
option() {
        /usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]][0])' "$1" <<<"$options"
}
check prefix "$(option prefix)" /usr
check sysconfdir "$(option sysconfdir)" /etc
check localstatedir "$(option localstatedir)" /var

# Where the files that only work in their place go.
installed=$(meson introspect --installed "$work/build")
for want in /usr/share/dbus-1/system.d/org.ntpsync1.conf /usr/share/polkit-1/actions/org.ntpsync1.policy \
        /etc/ntpsyncd.conf; do
        if grep -qF "\"$want\"" <<<"$installed"; then
                echo "ok: installs $want"
        else
                echo "FAIL: does not install $want"
                failed=1
        fi
done

version=$(meson introspect --projectinfo "$work/build" |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
check "ntpsyncd --version" "$("$ntpsyncd" --version)" "ntpsyncd $version"
check "ntpsyncctl --version" "$("$ntpsyncctl" --version)" "ntpsyncctl $version"
exit "$failed"
