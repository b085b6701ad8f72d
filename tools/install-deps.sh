#!/bin/bash
# Installs the Debian 12 packages that ntpsync needs to build and test. Run as root; running it
# again is harmless. Used by the README's commands and by .ci/run.
set -euo pipefail

packages=(
        # build
        gcc libc6-dev meson ninja-build pkg-config
        libglib2.0-dev libsystemd-dev
        # tests: cmocka, the simulator's CLI check, the libFuzzer build and readable sanitizer traces
        libcmocka-dev python3 clang libclang-rt-dev llvm
)

export DEBIAN_FRONTEND=noninteractive

all_installed() {
        local p
        for p in "${packages[@]}"; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
        done
}

if ! apt-get update; then
        # Without fresh package lists an install may still work from the cached ones, and nothing
        # is lost when everything is installed already.
        all_installed && { echo "install-deps: apt-get update failed, all packages present" >&2; exit 0; }
        echo "install-deps: apt-get update failed" >&2
fi
apt-get install -y "${packages[@]}"
