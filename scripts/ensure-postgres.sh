#!/usr/bin/env bash
# Make sure a local PostgreSQL (Debian's package) is installed, running on 127.0.0.1 and has
# the `ledger` role and `ledger_test` database the tests use. Idempotent: a second run on a
# ready machine only checks and prints the URL.
#
# Progress goes to stderr; the only line on stdout is
#   LEDGER_TEST_POSTGRES_URL=postgresql://ledger:ledger@127.0.0.1:<port>/ledger_test
#
# Env overrides: PGPORT (default 5432).
set -euo pipefail

PGPORT="${PGPORT:-5432}"
PGHOST_ADDR=127.0.0.1
CLUSTER=main
ROLE=ledger
PASSWORD=ledger
DATABASE=ledger_test
WAIT_SECONDS=30

log() { echo "ensure-postgres: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

if [[ $(id -u) -ne 0 ]]; then
    die "must run as root (installs packages, starts the cluster, su's to postgres)"
fi

# Serialise concurrent runs (e.g. two test sessions starting at once).
exec 9>/tmp/ensure-postgres.lock
flock -w 120 9 || die "another ensure-postgres run holds /tmp/ensure-postgres.lock for over 120 s"

# Run a command that may start a long-lived server with every fd above 2 closed, so the
# daemon holds neither our lock (fd 9) nor any pipe a caller (make, CI) passed down.
# Its stdout goes to our stderr, keeping stdout for the URL line.
run_detached() {
    (
        for fd_path in /proc/$BASHPID/fd/*; do
            fd="${fd_path##*/}"
            if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec "$@" >&2 </dev/null
    )
}

have_server() {
    command -v pg_ctlcluster >/dev/null 2>&1 \
        && command -v pg_lsclusters >/dev/null 2>&1 \
        && compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
}

# --- 1. install -------------------------------------------------------------------------
if ! have_server; then
    log "PostgreSQL not found; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    run_detached apt-get install -y -qq postgresql
    have_server || die "postgresql installed but pg_ctlcluster/server binaries still missing"
fi

# --- 2. version -------------------------------------------------------------------------
VERSION=""
for dir in /usr/lib/postgresql/*/bin/postgres; do
    v="${dir#/usr/lib/postgresql/}"
    v="${v%%/*}"
    if [[ -z "$VERSION" ]] || (( v > VERSION )); then VERSION="$v"; fi
done
[[ -n "$VERSION" ]] || die "no PostgreSQL server version under /usr/lib/postgresql"

# Socket directory lives on /run, which may be fresh on a new machine.
install -d -o postgres -g postgres -m 2775 /var/run/postgresql

# --- 3. cluster -------------------------------------------------------------------------
cluster_field() {  # $1 = column number of `pg_lsclusters -h` (3 port, 4 status)
    pg_lsclusters -h 2>/dev/null | awk -v ver="$VERSION" -v name="$CLUSTER" -v col="$1" \
        '$1 == ver && $2 == name { print $col }'
}

if [[ -z "$(cluster_field 2)" ]]; then
    log "creating cluster $VERSION/$CLUSTER on port $PGPORT"
    run_detached pg_createcluster --port "$PGPORT" "$VERSION" "$CLUSTER"
fi

current_port="$(cluster_field 3)"
if [[ "$current_port" != "$PGPORT" ]]; then
    log "cluster $VERSION/$CLUSTER is on port $current_port; moving it to $PGPORT"
    if [[ "$(cluster_field 4)" == online* ]]; then
        pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" stop >&2
    fi
    pg_conftool "$VERSION" "$CLUSTER" set port "$PGPORT" >&2
fi

# --- 4. start ---------------------------------------------------------------------------
if [[ "$(cluster_field 4)" != online* ]]; then
    log "starting cluster $VERSION/$CLUSTER"
    run_detached pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$CLUSTER" start
fi

deadline=$((SECONDS + WAIT_SECONDS))
until pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT"; do
    if (( SECONDS >= deadline )); then
        log "last lines of the server log:"
        tail -n 20 "/var/log/postgresql/postgresql-$VERSION-$CLUSTER.log" >&2 || true
        die "PostgreSQL not ready on $PGHOST_ADDR:$PGPORT after ${WAIT_SECONDS}s"
    fi
    sleep 0.5
done

# --- 5. role and database ---------------------------------------------------------------
as_postgres_psql() {  # SQL on stdin, run as the postgres superuser over the local socket
    (cd / && su postgres -s /bin/sh -c "psql -X -q -v ON_ERROR_STOP=1 -p $PGPORT -d postgres")
}

can_login() {
    PGPASSWORD="$PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -q -tA \
        "postgresql://$ROLE@$PGHOST_ADDR:$PGPORT/$DATABASE" -c 'select 1' >/dev/null 2>&1
}

if ! can_login; then
    log "creating role '$ROLE' and database '$DATABASE' (if missing)"
    as_postgres_psql <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
        CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    ELSE
        ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD';
    END IF;
END
\$\$;
SELECT 'CREATE DATABASE $DATABASE OWNER $ROLE'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE')
\gexec
SQL
    can_login || die "cannot log in as $ROLE to $PGHOST_ADDR:$PGPORT/$DATABASE"
fi

log "PostgreSQL $VERSION ready on $PGHOST_ADDR:$PGPORT"
echo "LEDGER_TEST_POSTGRES_URL=postgresql://$ROLE:$PASSWORD@$PGHOST_ADDR:$PGPORT/$DATABASE"
