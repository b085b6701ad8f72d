#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The bash completion of ntpsyncctl: sources the file given as $1 and calls its function with
# COMP_WORDS/COMP_CWORD for command lines, checking COMPREPLY. Needs no bash-completion package.
#
# A command line is written with "|" where the cursor is: "ntpsyncctl servers |" completes an
# empty word after "servers", "ntpsyncctl --j|" completes "--j".
set -u

completion=${1:?usage: test-completion.sh COMPLETION_FILE}
# shellcheck source=/dev/null
source "$completion" || exit 1

failures=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

fail() {
        echo "FAIL: $*"
        failures=$((failures + 1))
}

# Runs the completion for a command line with "|" at the end of its last word.
complete_at() {
        local line=$1
        local -a words
        read -r -a words <<<"${line%|}"
        [[ $line == *" |" ]] && words+=("")
        COMP_WORDS=("${words[@]}")
        COMP_CWORD=$((${#words[@]} - 1))
        COMP_LINE=${line%|}
        COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _ntpsyncctl
}

offered() {
        local want=$1 r
        for r in "${COMPREPLY[@]}"; do
                [[ $r == "$want" ]] && return 0
        done
        return 1
}

# offers LINE WORD... : each WORD is offered.
offers() {
        local line=$1 want
        shift
        complete_at "$line"
        for want in "$@"; do
                offered "$want" || fail "'$line' does not offer '$want' (offers: ${COMPREPLY[*]})"
        done
}

# offers_only LINE WORD... : exactly these are offered.
offers_only() {
        local line=$1
        shift
        offers "$line" "$@"
        ((${#COMPREPLY[@]} == $#)) || fail "'$line' offers '${COMPREPLY[*]}', expected exactly '$*'"
}

# commands, sub-commands, arguments
offers "ntpsyncctl |" status sources servers restrict firewall server-mode nts query burst reload \
        import-ntpconf wait-sync
offers_only "ntpsyncctl ser|" servers server-mode
offers_only "ntpsyncctl servers |" set add remove list
offers_only "ntpsyncctl restrict |" set add remove list
offers_only "ntpsyncctl firewall |" show enable disable
offers_only "ntpsyncctl firewall enable |" client server
offers_only "ntpsyncctl firewall disable |" client server
offers_only "ntpsyncctl firewall enable c|" client
offers_only "ntpsyncctl server-mode |" on off
offers_only "ntpsyncctl server-mode on |"
offers_only "ntpsyncctl status |"
offers_only "ntpsyncctl burst |"
offers_only "ntpsyncctl servers set |"
offers_only "ntpsyncctl servers add |" server pool
offers_only "ntpsyncctl servers add server ntp.example.com |" iburst prefer noselect minpoll maxpoll nts
offers_only "ntpsyncctl servers add pool pool.example.org |" iburst maxsources nts
offers_only "ntpsyncctl servers add server ntp.example.com iburst nts |" iburst prefer noselect minpoll maxpoll \
        nts noval ca port
offers_only "ntpsyncctl servers add pool pool.example.org nts |" iburst maxsources nts noval ca port
offers_only "ntpsyncctl servers add server ntp.example.com nts port |"
offers_only "ntpsyncctl nts |" show enable disable
offers_only "ntpsyncctl nts enable |" --cert --key
offers_only "ntpsyncctl nts disable |"
offers_only "ntpsyncctl servers add server ntp.example.com minpoll |"
offers_only "ntpsyncctl restrict add |" default -4 -6
offers_only "ntpsyncctl restrict add -6 |" default
offers "ntpsyncctl restrict add 192.0.2.0 |" mask kod limited nomodify notrap nopeer noquery ignore
offers "ntpsyncctl restrict add default |" kod limited nomodify notrap nopeer noquery noserve version ntpport
offers "ntpsyncctl restrict add 192.0.2.0 mask 255.255.255.0 |" kod nomodify
offers_only "ntpsyncctl restrict add 192.0.2.0 mask |"
offers_only "ntpsyncctl wait-sync |" --timeout
offers_only "ntpsyncctl wait-sync --timeout |"

# options, before or after the command; "--" ends them
offers_only "ntpsyncctl --j|" --json
offers_only "ntpsyncctl --ru|" --runtime
offers_only "ntpsyncctl -|" --runtime --json --no-ask-password -h --help --version
offers "ntpsyncctl status --|" --json --help --no-ask-password
offers "ntpsyncctl import-ntpconf --|" --output --force --state-dir
offers_only "ntpsyncctl wait-sync --t|" --timeout
offers_only "ntpsyncctl nts enable --c|" --cert
offers_only "ntpsyncctl --runtime servers |" set add remove list
offers_only "ntpsyncctl --json --no-ask-password firewall |" show enable disable
offers_only "ntpsyncctl -- firewall |" show enable disable

# file names for import-ntpconf's arguments, --output and --state-dir
mkdir -p "$scratch/conf.d" "$scratch/state"
touch "$scratch/ntp.conf" "$scratch/step-tickers"
offers_only "ntpsyncctl import-ntpconf $scratch/ntp.c|" "$scratch/ntp.conf"
offers_only "ntpsyncctl import-ntpconf $scratch/ntp.conf $scratch/step|" "$scratch/step-tickers"
offers_only "ntpsyncctl import-ntpconf $scratch/ntp.conf $scratch/step-tickers $scratch/|"
offers_only "ntpsyncctl import-ntpconf --output $scratch/conf|" "$scratch/conf.d"
offers_only "ntpsyncctl import-ntpconf --state-dir $scratch/s|" "$scratch/state"
offers_only "ntpsyncctl --runtime import-ntpconf --force $scratch/ntp.c|" "$scratch/ntp.conf"
offers_only "ntpsyncctl --output $scratch/conf|" "$scratch/conf.d"
offers_only "ntpsyncctl servers add server ntp.example.com nts ca $scratch/ntp.c|" "$scratch/ntp.conf"
offers_only "ntpsyncctl nts enable --cert $scratch/ntp.c|" "$scratch/ntp.conf"
offers_only "ntpsyncctl nts enable --cert $scratch/ntp.conf --key $scratch/step|" "$scratch/step-tickers"
offers_only "ntpsyncctl nts enable --cert $scratch/ntp.conf |" --cert --key
offers_only "ntpsyncctl --output $scratch/out.conf import-ntpconf $scratch/ntp.c|" "$scratch/ntp.conf"
offers_only "ntpsyncctl --state-dir $scratch/state import-ntpconf --|" --output --force --state-dir \
        --runtime --json --no-ask-password --help --version
# "--output=FILE": bash hands over "--output" "=" "FILE"
COMP_WORDS=(ntpsyncctl import-ntpconf --output "=" "$scratch/conf")
COMP_CWORD=4
COMPREPLY=()
_ntpsyncctl
[[ ${COMPREPLY[*]} == "$scratch/conf.d" ]] || fail "--output=$scratch/conf offers '${COMPREPLY[*]}'"

# bash knows the function
complete -p ntpsyncctl | grep -q -- '-F _ntpsyncctl' || fail "complete -p ntpsyncctl: not registered"

if ((failures > 0)); then
        echo "$failures failure(s)"
        exit 1
fi
echo "all completion checks passed"
