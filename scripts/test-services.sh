#!/usr/bin/env bash
# Makes sure what the tests need is installed, then runs the given test command.
# The tests start and stop their own servers (a throwaway PostgreSQL cluster on a free
# loopback port), so nothing is left running afterwards.
set -euo pipefail

# SERVICES: which of them the command needs (default: both, as the tests do)
services=" ${SERVICES:-chromium postgresql} "
need_debian_packages=()
if [[ $services == *" chromium "* && ! -x /usr/bin/chromium ]]; then
    need_debian_packages+=(chromium)
fi
if [[ $services == *" postgresql "* ]] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    need_debian_packages+=(postgresql)
fi

if ((${#need_debian_packages[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "missing Debian packages: ${need_debian_packages[*]} (install them as root)" >&2
        exit 1
    fi
    echo "installing Debian packages: ${need_debian_packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_debian_packages[@]}" >/dev/null
    # the Debian package starts a default cluster; the tests use their own
    service postgresql stop >/dev/null 2>&1 || true
fi

exec "$@"
