#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Prepares the peer NTP implementations that the integration tests run against, and checks
# the tools they need. Idempotent: a second run only checks.
#
#   chronyd, libfaketime, ip, setpriv   Debian packages chrony, libfaketime, iproute2,
#                                       util-linux (installed by tools/install-deps.sh; with
#                                       --install this script installs them itself)
#   NTPsec (ntpd, ntpdig, ntpq)         conflicts with chrony as a package, so it is fetched
#                                       with `apt-get download` and unpacked with `dpkg -x` into
#                                       $NTPSYNC_TEST_CACHE/ntpsec (default
#                                       /var/cache/ntpsync-test/ntpsec); never installed
#   ntpdate (ntpsec-ntpdate)            optional, the same way into $NTPSYNC_TEST_CACHE/ntpdate
#
# Prints "NAME=VALUE" lines on stdout (CHRONYD, LIBFAKETIME, NTPSEC_ROOT, NTPD, NTPDIG,
# NTPQ, NTPSEC_PYTHONPATH, and NTPDATE when fetched) that the harness reads. Exit status 0
# when everything is there, 1 with a message on stderr naming what is missing otherwise.
# Needs the network (Debian's archive) only the first time, to download NTPsec.
#
# Usage: setup-peers.sh [--install] [--no-ntpsec]
set -euo pipefail

install=0
want_ntpsec=1
for arg in "$@"; do
        case "$arg" in
        --install) install=1 ;;
        --no-ntpsec) want_ntpsec=0 ;;
        -h | --help)
                sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
                exit 0
                ;;
        *)
                echo "setup-peers.sh: unknown argument $arg" >&2
                exit 2
                ;;
        esac
done

cache=${NTPSYNC_TEST_CACHE:-/var/cache/ntpsync-test}
ntpsec_root=$cache/ntpsec
ntpsec_packages=(ntpsec ntpsec-ntpdig python3-ntp)
multiarch=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
# Debian's multiarch triplet, e.g. x86_64-linux-gnu
case "$multiarch" in
*-pc-linux-gnu) multiarch=${multiarch/-pc-/-} ;;
esac

log() { echo "setup-peers: $*" >&2; }

find_libfaketime() {
        local f
        for f in /usr/lib/"$multiarch"/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 \
                /usr/lib/faketime/libfaketime.so.1; do
                [ -e "$f" ] && { echo "$f"; return 0; }
        done
        return 1
}

missing_debs() {
        local missing=()
        command -v chronyd >/dev/null 2>&1 || [ -x /usr/sbin/chronyd ] || missing+=(chrony)
        find_libfaketime >/dev/null || missing+=(libfaketime)
        command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
        command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
        [ -x /usr/bin/python3 ] || missing+=(python3)
        echo "${missing[@]}"
}

# Installing chrony must not start it: a chronyd run by the service manager would set this
# machine's clock. policy-rc.d stops invoke-rc.d/deb-systemd-invoke from starting services
# during the installation; the service is disabled afterwards if it was not installed before.
install_debs() {
        local pkgs=("$@") had_chrony=0 policy=/usr/sbin/policy-rc.d created_policy=0
        dpkg-query -W -f='${Status}\n' chrony 2>/dev/null | grep -q '^install ok installed$' && had_chrony=1
        if [ ! -e "$policy" ]; then
                printf '#!/bin/sh\nexit 101\n' >"$policy"
                chmod 755 "$policy"
                created_policy=1
        fi
        local rc=0
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" >&2 || rc=$?
        [ "$created_policy" -eq 0 ] || rm -f "$policy"
        if [ "$had_chrony" -eq 0 ] && [ -d /run/systemd/system ]; then
                systemctl disable --now chrony.service >/dev/null 2>&1 || true
        fi
        return "$rc"
}

read -r -a missing <<<"$(missing_debs)"
if [ "${#missing[@]}" -gt 0 ]; then
        if [ "$install" -eq 1 ]; then
                log "installing ${missing[*]}"
                install_debs "${missing[@]}" || { log "apt-get install ${missing[*]} failed"; exit 1; }
                read -r -a missing <<<"$(missing_debs)"
        fi
        if [ "${#missing[@]}" -gt 0 ]; then
                log "missing Debian packages: ${missing[*]} (run tools/install-deps.sh, or this script with --install)"
                exit 1
        fi
fi

chronyd=$(command -v chronyd 2>/dev/null || echo /usr/sbin/chronyd)
libfaketime=$(find_libfaketime)

ntpsec_ok() {
        [ -x "$ntpsec_root/usr/sbin/ntpd" ] && [ -x "$ntpsec_root/usr/bin/ntpdig" ] &&
                [ -e "$ntpsec_root/usr/lib/python3/dist-packages/ntp/libntpc.so" ] &&
                [ -e "$ntpsec_root/.complete" ]
}

if [ "$want_ntpsec" -eq 1 ] && ! ntpsec_ok; then
        # Tests run in parallel: one fetches, the others wait for it.
        mkdir -p "$cache"
        exec 9>"$cache/.lock"
        flock 9
fi
if [ "$want_ntpsec" -eq 1 ] && ! ntpsec_ok; then
        # ntpd links libbsd0, libcap2, libssl3; ntpdig/ntpq are Python 3.
        for lib in libbsd.so.0 libcap.so.2 libssl.so.3; do
                if ! ldconfig -p | grep -q "$lib"; then
                        log "NTPsec needs $lib (packages libbsd0 libcap2 libssl3)"
                        exit 1
                fi
        done
        log "fetching NTPsec (${ntpsec_packages[*]}) into $ntpsec_root"
        tmp=$(mktemp -d)
        trap 'rm -rf "$tmp"' EXIT
        chmod 755 "$tmp" # apt's _apt user downloads into it
        if ! (cd "$tmp" && apt-get download "${ntpsec_packages[@]}" >&2); then
                log "apt-get download ${ntpsec_packages[*]} failed (run apt-get update? network?)"
                exit 1
        fi
        rm -rf "$ntpsec_root.new"
        mkdir -p "$ntpsec_root.new"
        for deb in "$tmp"/*.deb; do
                dpkg -x "$deb" "$ntpsec_root.new"
        done
        # ntp/ntpc.py looks for libntpc.so next to itself first.
        ln -sf "../../../$multiarch/ntp/libntpc.so.1" \
                "$ntpsec_root.new/usr/lib/python3/dist-packages/ntp/libntpc.so"
        # Make the unpacked Python tools use this tree and /usr/bin/python3.
        for tool in ntpdig ntpq; do
                sed -i '1s|^#!.*python.*$|#!/usr/bin/python3|' "$ntpsec_root.new/usr/bin/$tool"
        done
        (cd "$tmp" && ls ./*.deb) >"$ntpsec_root.new/.complete"
        rm -rf "$ntpsec_root"
        mv "$ntpsec_root.new" "$ntpsec_root"
fi

# ntpdate as Debian ships it today: NTPsec's ntpsec-ntpdate, a shell wrapper that runs `ntpdig`
# from $PATH. Optional (NTPDATE is only printed when it is there), unpacked into a directory of
# its own so that fetching it never disturbs an NTPsec tree that running tests use.
ntpdate_root=$cache/ntpdate
if [ "$want_ntpsec" -eq 1 ] && [ ! -e "$ntpdate_root/.complete" ]; then
        mkdir -p "$cache"
        exec 8>"$cache/.lock-ntpdate"
        flock 8
        if [ ! -e "$ntpdate_root/.complete" ]; then
                tmp2=$(mktemp -d)
                chmod 755 "$tmp2"
                if (cd "$tmp2" && apt-get download ntpsec-ntpdate >&2); then
                        rm -rf "$ntpdate_root.new"
                        mkdir -p "$ntpdate_root.new"
                        dpkg -x "$tmp2"/ntpsec-ntpdate_*.deb "$ntpdate_root.new"
                        (cd "$tmp2" && ls ./*.deb) >"$ntpdate_root.new/.complete"
                        rm -rf "$ntpdate_root"
                        mv "$ntpdate_root.new" "$ntpdate_root"
                else
                        log "apt-get download ntpsec-ntpdate failed: the ntpdate checks will be skipped"
                fi
                rm -rf "$tmp2"
        fi
fi

echo "CHRONYD=$chronyd"
echo "LIBFAKETIME=$libfaketime"
if [ "$want_ntpsec" -eq 1 ]; then
        echo "NTPSEC_ROOT=$ntpsec_root"
        echo "NTPD=$ntpsec_root/usr/sbin/ntpd"
        echo "NTPDIG=$ntpsec_root/usr/bin/ntpdig"
        echo "NTPQ=$ntpsec_root/usr/bin/ntpq"
        echo "NTPSEC_PYTHONPATH=$ntpsec_root/usr/lib/python3/dist-packages"
        echo "NTPSEC_LD_LIBRARY_PATH=$ntpsec_root/usr/lib/$multiarch/ntp"
        if [ -x "$ntpdate_root/usr/sbin/ntpdate" ]; then
                echo "NTPDATE=$ntpdate_root/usr/sbin/ntpdate"
        fi
fi
