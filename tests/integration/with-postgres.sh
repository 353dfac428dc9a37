#!/usr/bin/env bash
# Run COMMAND with a fresh, empty PostgreSQL database URL as its last
# argument; drop the database afterwards. Exit 77 (skipped) when no server is
# running, unless MEDREG_REQUIRE_POSTGRES=1.
set -u
port=$(pg_lsclusters -h 2>/dev/null | awk '$4=="online"{print $3; exit}')
if [ -z "${port:-}" ]; then
  if [ "${MEDREG_REQUIRE_POSTGRES:-0}" = 1 ]; then echo "PostgreSQL is not running" >&2; exit 1; fi
  echo "PostgreSQL is not running: skipped"; exit 77
fi
db="medreg_test_$$_$RANDOM"
createdb -p "$port" "$db" || exit 1
"$@" "postgresql:///$db?host=/var/run/postgresql&port=$port"
rc=$?
dropdb -p "$port" "$db" >/dev/null 2>&1
exit $rc
