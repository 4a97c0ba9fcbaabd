#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (user postgres, trust auth, database
# test). Uses the one that is running; otherwise installs and starts one from Debian's packages.
set -euo pipefail
PY=${PY:-.venv/bin/python}
URL="postgresql://postgres@127.0.0.1:5432/test"

answers() {
  "$PY" - "$URL" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYEOF
}

if answers; then
  echo "PostgreSQL answers on 127.0.0.1:5432"
  exit 0
fi

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
$SUDO -u postgres psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='test'" | grep -q 1 \
  || $SUDO -u postgres createdb -h 127.0.0.1 -U postgres test
answers && echo "PostgreSQL started on 127.0.0.1:5432"
