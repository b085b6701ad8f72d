#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prints the path of a Debian 12 root file system for the booted-system test, made with
# debootstrap the first time and kept in a cache (rebuilt when the package list below changes).
# The tree is never booted itself: test-system.py boots a copy of it.
#
#   NTPSYNC_IMAGE_CACHE  the cache directory (default /var/cache/ntpsync-test)
#   NTPSYNC_MIRROR       the Debian mirror (default: the first of this machine's apt sources)
set -euo pipefail

cache=${NTPSYNC_IMAGE_CACHE:-/var/cache/ntpsync-test}
packages=(
        # a booted system with a bus, logins and polkitd (polkitd reads JavaScript rules)
        systemd systemd-sysv dbus libpam-systemd polkitd
        # the other NTP client of a Debian system, for `systemd-analyze security` next to ntpsyncd
        systemd-timesyncd
        # what ntpsyncd, ntpsyncctl and the firewall helper link
        libsystemd0 libnl-3-200 libnl-route-3-200 libnftables1 libjansson4 libgnutls30
        # /bin/kill for ExecReload=, ip and nft for looking around
        procps iproute2 nftables
        # man(1): systemd-analyze verify checks that the units' Documentation= pages are installed
        man-db
        # Cockpit for the page's browser test (test-cockpit.py): the web service, the bridge, the
        # shell with its base1 and system pages, a user bus for logins, sudo for administrative access
        cockpit-ws cockpit-bridge cockpit-system dbus-user-session sudo
)

stamp_text() {
        printf 'bookworm minbase %s\n' "${packages[*]}"
}

mirror() {
        if [ -n "${NTPSYNC_MIRROR:-}" ]; then
                echo "$NTPSYNC_MIRROR"
                return
        fi
        local uri
        uri=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
                grep -v security | head -n 1 | awk '{print ($1 == "deb") ? $2 : $2}')
        echo "${uri:-http://deb.debian.org/debian}"
}

root=$cache/debian12-system
# The system tests run side by side: one builds the image, the others wait for it and use it.
mkdir -p "$cache"
exec 9>"$cache/image.lock"
flock 9
if [ -f "$root.stamp" ] && [ "$(cat "$root.stamp")" = "$(stamp_text)" ] && [ -x "$root/lib/systemd/systemd" ]; then
        echo "$root"
        exit 0
fi

work=$(mktemp -d "$cache/debootstrap.XXXXXX")
trap 'rm -rf "$work"' EXIT
include=$(IFS=,; echo "${packages[*]}")
echo "image.sh: debootstrap of Debian 12 into $work (packages: $include)" >&2
if ! debootstrap --variant=minbase --include="$include" bookworm "$work/root" "$(mirror)" >"$work/log" 2>&1; then
        tail -n 30 "$work/log" >&2
        echo "image.sh: debootstrap failed" >&2
        exit 1
fi
# No login prompt on the console (the test logs in with nsenter), no machine id: each boot
# makes its own.
rm -f "$work/root/etc/machine-id" "$work/root/var/lib/dbus/machine-id"
: >"$work/root/etc/machine-id"
rm -rf "$work/root/var/cache/apt/archives/"*.deb
rm -rf "$root" "$root.stamp"
mv "$work/root" "$root"
stamp_text >"$root.stamp"
echo "$root"
