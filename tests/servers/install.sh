#!/usr/bin/env bash
# Install the database servers whose real query logs the tests and fixtures need:
# PostgreSQL 15 and MariaDB 10.11 from Debian 12. Idempotent: installs only what is missing
# and says nothing when everything is there.
#
# The tests start their own throw-away instances (tests/servers/postgres.py, mariadb.py), so
# no system service may be left running or enabled: service starts during the install are
# refused by a policy-rc.d (only if the machine has none already), and afterwards any
# service the packages started is stopped and disabled.
set -euo pipefail

PACKAGES=(postgresql postgresql-client mariadb-server mariadb-client)

missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    echo "install.sh: need root to install: ${missing[*]}" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
added_policy=0
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# added by tests/servers/install.sh while installing packages\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=1
fi
cleanup() { if ((added_policy)); then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "install.sh: installing ${missing[*]}"
apt_quiet=(-o Dpkg::Use-Pty=0 -qq)
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_quiet[@]}" --no-install-recommends \
        "${missing[@]}" >/tmp/tests-servers-install.log 2>&1; then
    # A stale or missing package list is the usual cause: refresh once and retry.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${apt_quiet[@]}" --no-install-recommends \
        "${missing[@]}" >/tmp/tests-servers-install.log 2>&1 \
        || { cat /tmp/tests-servers-install.log >&2; exit 1; }
fi

# Belt and braces: if a service did start (no policy-rc.d honoured, systemd present), stop it
# and keep it from starting at boot.
for service in postgresql mariadb; do
    if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
        systemctl stop "$service" >/dev/null 2>&1 || true
        systemctl disable "$service" >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/$service ]]; then
        /etc/init.d/"$service" stop >/dev/null 2>&1 || true
    fi
    if command -v update-rc.d >/dev/null; then
        update-rc.d "$service" disable >/dev/null 2>&1 || true
    fi
done
echo "install.sh: done"
