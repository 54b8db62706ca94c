#!/usr/bin/env bash
# Make a PostgreSQL server available for the test suite.
#
# stdout: the URL the tests should use (KOPILKA_TEST_POSTGRES_URL), or nothing when no server is
#         reachable outside CI. Everything else goes to stderr.
# exit:   0, or 1 under CI=true when no server could be made reachable (fail loudly there:
#         CI must never silently skip the PostgreSQL tests).
#
# Steps: already reachable? -> start an installed cluster with pg_ctlcluster -> (CI only)
# install the Debian package, start it and allow trust login for postgres on 127.0.0.1.
set -uo pipefail

HOST=127.0.0.1
PORT=5432
DEFAULT_URL="postgresql://postgres@${HOST}:${PORT}/postgres"
WAIT_SECONDS=30

NAME=ensure-postgres
# shellcheck source=scripts/ci-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/ci-lib.sh"

# The server accepts connections (says nothing about authentication).
is_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PORT" -t 3
    elif command -v psql >/dev/null 2>&1; then
        can_login
    else
        python3 - "$HOST" "$PORT" <<'PY' 2>/dev/null
import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3).close()
PY
    fi
}

# We can log in as postgres without a password, as the tests will.
can_login() {
    local py="${PY:-.venv/bin/python}"
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=3 psql -X -q -w -At -h "$HOST" -p "$PORT" -U postgres -d postgres \
            -c 'select 1' >/dev/null 2>&1
    elif [[ -x "$py" ]] && "$py" -c 'import psycopg' 2>/dev/null; then
        "$py" -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()' \
            "$DEFAULT_URL" >/dev/null 2>&1
    else
        is_up  # nothing to log in with: reachable is the best we can check
    fi
}

ready() { is_up && can_login; }

server_installed() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; }

# Newest PostgreSQL version with a configuration directory, e.g. "15".
cluster_version() {
    [[ -d /etc/postgresql ]] || return 1
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$version" ]] || return 1
    echo "$version"
}

wait_until_up() {
    local i
    for ((i = 0; i < WAIT_SECONDS; i++)); do
        is_up && return 0
        sleep 1
    done
    return 1
}

start_cluster() {
    local version
    version="$(cluster_version)" || { log "no cluster in /etc/postgresql"; return 1; }
    if [[ ! -d "/etc/postgresql/$version/main" ]] && command -v pg_createcluster >/dev/null; then
        log "creating cluster $version/main"
        as_root pg_createcluster "$version" main >&2 || return 1
    fi
    log "starting cluster $version/main"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
    wait_until_up
}

# Let postgres log in over TCP from 127.0.0.1 without a password (CI machines only).
allow_trust_login() {
    local version hba
    version="$(cluster_version)" || return 1
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    [[ -f "$hba" ]] || { log "no $hba"; return 1; }
    if ! grep -qE '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' \
        "$hba"; then
        log "adding trust authentication for 127.0.0.1 to $hba"
        as_root sed -i '1i host all all 127.0.0.1/32 trust' "$hba" || return 1
    fi
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload >&2
    sleep 1
}

install_server() {
    log "no PostgreSQL server installed: installing the Debian package"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2 || return 1
}

succeed() {
    echo "$DEFAULT_URL"
    exit 0
}

if [[ -n "${KOPILKA_TEST_POSTGRES_URL:-}" ]]; then
    log "using KOPILKA_TEST_POSTGRES_URL from the environment"
    echo "$KOPILKA_TEST_POSTGRES_URL"
    exit 0
fi

ready && succeed

if ! is_up && [[ -d /etc/postgresql ]]; then
    start_cluster || log "could not start the installed cluster"
fi

if is_ci; then
    if ! is_up && ! server_installed; then
        install_server && start_cluster
    fi
    if is_up && ! can_login; then
        allow_trust_login
    fi
fi

ready && succeed

if is_ci; then
    if is_up; then
        log "ERROR: PostgreSQL on $HOST:$PORT is up but 'postgres' cannot log in without a password"
    else
        log "ERROR: no PostgreSQL server reachable on $HOST:$PORT"
    fi
    log "CI=true: the PostgreSQL tests must run; set KOPILKA_TEST_POSTGRES_URL or start a server"
    exit 1
fi

log "warning: no usable PostgreSQL on $HOST:$PORT (set KOPILKA_TEST_POSTGRES_URL to use one)"
exit 0
