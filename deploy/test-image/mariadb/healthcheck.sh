#!/bin/bash
# The two checks of the official image's healthcheck.sh that compose.yaml uses:
# --connect (the server accepts a connection) and --innodb_initialized (InnoDB is up).
set -eu
for arg in "$@"; do
  case "$arg" in
    --connect) mariadb -uroot -e 'SELECT 1' >/dev/null ;;
    --innodb_initialized)
      [ "$(mariadb -uroot -N -e "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='InnoDB' AND SUPPORT IN ('YES','DEFAULT')")" = 1 ] ;;
    *) echo "healthcheck.sh: unsupported option $arg" >&2; exit 2 ;;
  esac
done
