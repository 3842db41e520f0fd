#!/bin/sh
# First start: create the cluster with the superuser password from the environment;
# every start: run the newest PostgreSQL the image has in the foreground.
set -eu

PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required to create the cluster}"
    pwfile="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD}" > "${pwfile}"
    "${PGBIN}/initdb" --pgdata="${PGDATA}" --username=postgres --pwfile="${pwfile}" \
        --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8
    rm -f "${pwfile}"
    cat >> "${PGDATA}/postgresql.conf" <<CONF
listen_addresses = '*'
password_encryption = 'scram-sha-256'
CONF
    # Only the compose network reaches this port; every login needs a password.
    echo "host all all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
fi

# Continuous archiving (pg_receivewal) and base backups (pg_basebackup) from the api container
# connect as the superuser over the replication protocol, which "all" above does not cover.
# Added at every start too, so a cluster created by an older image gains it.
if ! grep -q '^host replication postgres all scram-sha-256' "${PGDATA}/pg_hba.conf"; then
    echo "host replication postgres all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
fi

exec "${PGBIN}/postgres" -D "${PGDATA}"
