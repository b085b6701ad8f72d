#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Installs the Debian 12 packages that ntpsync needs to build and test. Run as root; running it
# again is harmless. Used by the README's commands and by .ci/run.
set -euo pipefail

packages=(
        # build
        gcc libc6-dev meson ninja-build pkg-config
        libglib2.0-dev libsystemd-dev libnl-3-dev libnl-route-3-dev
        # NTS (RFC 8915): TLS 1.3 for the key establishment, AES-SIV-CMAC for the cookies and packets
        libgnutls28-dev
        # the firewall helper (src/daemon/firewall-helper.c): libnftables, jansson; nft(8) for the tests
        libnftables-dev libjansson-dev nftables
        # tests: cmocka, the simulator's CLI check, the libFuzzer build and readable sanitizer traces
        libcmocka-dev python3 clang libclang-rt-dev llvm
        # integration tests (tests/integration): peer servers, fake time, namespaces, setpriv;
        # python3-prometheus-client parses what the metrics socket serves (test-metrics)
        # libbsd0 libcap2 libssl3 are what NTPsec's ntpd links (NTPsec itself conflicts with
        # chrony as a package: tests/integration/setup-peers.sh unpacks it into a cache instead)
        chrony libfaketime iproute2 util-linux libbsd0 libcap2 libssl3 python3-prometheus-client
        # hardware timestamping tests (test-hwts): ethtool -T, what the discovery is held against
        ethtool
        # NTS tests: openssl(1) makes the certificates and plays broken TLS servers
        openssl
        # ntpsyncctl tests (tests/ctl): a private dbus-daemon and a python-dbusmock ntpsyncd
        dbus python3-dbus python3-dbusmock
        # D-Bus API tests (tests/dbus): also dbus-daemon itself and busctl (in systemd)
        dbus-daemon systemd
        # manual pages and bash completion (man/, shell-completion/, tests/man): mandoc -Tlint,
        # groff and man-db to lint and render the pages, bash-completion for its completionsdir
        mandoc groff-base man-db bash-completion
        # the Cockpit page's logic (cockpit/ntpsync): its unit tests run under node's own test
        # runner (node --test, Debian 12's node 18); no npm packages
        nodejs
        # installing (meson install): where dbus-1, polkit and systemd want their files
        libdbus-1-dev libpolkit-gobject-1-dev
        # the booted-system test (tests/system): a Debian 12 tree from debootstrap, booted with
        # systemd-nspawn; nsenter is in util-linux (above)
        debootstrap systemd-container
        # the Cockpit page's browser test (tests/system/test-cockpit.py): headless Chromium driven
        # by Selenium through Debian's chromedriver (nothing is downloaded)
        chromium chromium-driver python3-selenium
)

export DEBIAN_FRONTEND=noninteractive

all_installed() {
        local p
        for p in "${packages[@]}"; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
        done
}

# chrony's package would start chronyd, which sets the clock and talks to the Internet: a
# policy-rc.d keeps invoke-rc.d from starting anything during the installation, and the service
# is disabled afterwards when this script installed chrony.
install_packages() {
        local policy=/usr/sbin/policy-rc.d created_policy=0 had_chrony=0 rc=0
        dpkg-query -W -f='${Status}\n' chrony 2>/dev/null | grep -q '^install ok installed$' && had_chrony=1
        if [ ! -e "$policy" ]; then
                printf '#!/bin/sh\nexit 101\n' >"$policy"
                chmod 755 "$policy"
                created_policy=1
        fi
        apt-get install -y "${packages[@]}" || rc=$?
        [ "$created_policy" -eq 0 ] || rm -f "$policy"
        if [ "$had_chrony" -eq 0 ] && [ -d /run/systemd/system ]; then
                systemctl disable --now chrony.service >/dev/null 2>&1 || true
        fi
        return "$rc"
}

if ! apt-get update; then
        # Without fresh package lists an install may still work from the cached ones, and nothing
        # is lost when everything is installed already.
        echo "install-deps: apt-get update failed" >&2
fi
all_installed || install_packages
# NTPsec for the integration tests, unpacked into /var/cache/ntpsync-test (no-op when there).
bash "$(dirname "${BASH_SOURCE[0]}")/../tests/integration/setup-peers.sh" >/dev/null
