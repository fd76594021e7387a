#!/usr/bin/env bash
# Start a PostgreSQL + PostGIS server for the test suite and print the
# connection string for it:
#
#     eval "$(scripts/ci_postgis.sh)"     # sets ECOGIS_TEST_PG
#
# Installs Debian's `postgresql` and `postgis` with apt-get when they are
# missing (as root), starts (or creates) a cluster, creates the database
# `ecogis_test` with `CREATE EXTENSION postgis` and a login role `ecogis`.
# Everything it says goes to stderr; stdout carries only the export line.
# Exits non-zero when no server can be started: under CI that fails the run.
set -euo pipefail

DB="${ECOGIS_TEST_DB:-ecogis_test}"
ROLE="${ECOGIS_TEST_ROLE:-ecogis}"
PASS="${ECOGIS_TEST_PASSWORD:-ecogis}"
say() { echo "ci_postgis: $*" >&2; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else sudo -n -u postgres "$@"
  fi
}

if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing postgresql and postgis with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgis postgresql-postgis >&2
  else
    say "postgresql/postgis are missing and cannot be installed with apt-get (not root)"
    exit 1
  fi
fi

# The newest installed major version that has PostGIS.
VER=""
for d in /usr/share/postgresql/*/extension/postgis.control; do
  v="$(basename "$(dirname "$(dirname "$d")")")"
  VER="$v"
done
[ -n "$VER" ] || { say "no PostGIS extension found for any PostgreSQL version"; exit 1; }

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1}' | grep -qx "$VER"; then
  say "creating cluster $VER/main"
  pg_createcluster "$VER" main >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VER" '$1==v {print $3; exit}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VER" '$1==v {print $4; exit}')"
CLUSTER="$(pg_lsclusters -h | awk -v v="$VER" '$1==v {print $2; exit}')"
if [ "$STATUS" != online ]; then
  say "starting cluster $VER/$CLUSTER on port $PORT"
  pg_ctlcluster "$VER" "$CLUSTER" start >&2 || as_postgres pg_ctlcluster "$VER" "$CLUSTER" start >&2
fi
for _ in $(seq 1 30); do
  as_postgres psql -p "$PORT" -Atqc "SELECT 1" postgres >/dev/null 2>&1 && break
  sleep 1
done
as_postgres psql -p "$PORT" -Atqc "SELECT 1" postgres >/dev/null || { say "server on port $PORT does not answer"; exit 1; }

as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -Atq postgres >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE') THEN
    CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASS';
  ELSE
    ALTER ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASS';
  END IF;
END \$\$;
SQL
if ! as_postgres psql -p "$PORT" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$DB'" postgres | grep -q 1; then
  as_postgres createdb -p "$PORT" -O "$ROLE" "$DB" >&2
fi
as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -Atq -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS postgis" "$DB" >&2
say "PostgreSQL $VER with PostGIS ready: database $DB on port $PORT"
echo "export ECOGIS_TEST_PG=postgresql://$ROLE:$PASS@localhost:$PORT/$DB"
