#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (user postgres, trust auth) with a
# database `test` (or $FTBOT_PG_DATABASE). A running server is used as it is, the database created
# when it lacks it; only when no server answers is one installed from Debian's packages and started.
set -euo pipefail
PY=${PY:-.venv/bin/python}
DB=${FTBOT_PG_DATABASE:-test}
SERVER="postgresql://postgres@127.0.0.1:5432"

# Exit 0 when the server answers and has the database (created here if it was missing), 2 when
# no server answers.
ensure_database() {
  "$PY" - "$SERVER" "$DB" <<'PYEOF'
import sys

import psycopg
from psycopg import errors, sql

server, name = sys.argv[1], sys.argv[2]
try:
    admin = psycopg.connect(f"{server}/postgres", connect_timeout=3, autocommit=True)
except psycopg.OperationalError:
    sys.exit(2)
with admin:
    if admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        sys.exit(0)
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        print(f"created database {name}")
    except errors.DuplicateDatabase:  # created by a concurrent run meanwhile
        pass
PYEOF
}

status=0
ensure_database || status=$?
case $status in
  0) echo "PostgreSQL answers on 127.0.0.1:5432 (database $DB)"; exit 0 ;;
  2) ;;  # no server: install one below
  *) echo "PostgreSQL answers on 127.0.0.1:5432, but database $DB could not be made ready" >&2
     exit 1 ;;
esac

echo "PostgreSQL is not running here: installing it from Debian's packages"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /etc/postgresql | sort -V | tail -n 1)
hba="/etc/postgresql/$version/main/pg_hba.conf"
# trust local connections (a throwaway CI server)
$SUDO sed -i -E 's/(scram-sha-256|md5|peer)$/trust/' "$hba"
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
  || $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload
for _ in $(seq 1 30); do
  if $SUDO -u postgres psql -h 127.0.0.1 -U postgres -tAc "select 1" >/dev/null 2>&1; then break; fi
  sleep 1
done
ensure_database && echo "PostgreSQL started on 127.0.0.1:5432 (database $DB)"
