#!/bin/bash
# First start on an empty data directory: create the system tables, the database and the
# application user (from MARIADB_* variables), then run the server in the foreground.
set -euo pipefail
# Options alone (compose.yaml's `command:`) are options of the server, as in the official image.
if [ "${1:0:1}" = - ]; then
  set -- mariadbd "$@"
fi
if [ "${1:-}" = mariadbd ]; then
  shift
  if [ ! -d /var/lib/mysql/mysql ]; then
    : "${MARIADB_DATABASE:?}" "${MARIADB_USER:?}" "${MARIADB_PASSWORD:?}"
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
      --auth-root-authentication-method=socket >/dev/null
    mariadbd --user=mysql --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 1 60); do
      mariadb --socket=/run/mysqld/init.sock -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
      sleep 0.5
    done
    esc() { printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g"; }
    mariadb --socket=/run/mysqld/init.sock -uroot <<SQL
CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$(esc "$MARIADB_USER")'@'%' IDENTIFIED BY '$(esc "$MARIADB_PASSWORD")';
GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$(esc "$MARIADB_USER")'@'%';
SQL
    kill "$pid"; wait "$pid" || true
    echo "initialised database $MARIADB_DATABASE for user $MARIADB_USER"
  fi
  exec mariadbd --user=mysql --bind-address=0.0.0.0 "$@"
fi
exec "$@"
