#!/usr/bin/env bash
# Rolling-restart test: nginx (Debian package) in front of two ipmat instances on loopback,
# under steady load from wrk; each instance is stopped with SIGTERM and started again, one
# after the other. Passes only with zero failed requests and both instances exiting 0.
#
#   deploy/test-rolling.sh PATH/TO/ipmat [sqlite|mariadb]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:?usage: deploy/test-rolling.sh PATH/TO/ipmat [sqlite|mariadb]}")
engine=${2:-mariadb}

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need nginx nginx-light
need wrk wrk

work=$(mktemp -d)
db_name="ipmat_rolling_$$"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  [ "$engine" = mariadb ] && mysql --protocol=tcp -h 127.0.0.1 -u root -e "DROP DATABASE IF EXISTS $db_name" || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_a=$(free_port); port_b=$(free_port); listen_port=$(free_port)

case "$engine" in
  sqlite) db_url="sqlite://$work/ipmat.db" ;;
  mariadb)
    mysql --protocol=tcp -h 127.0.0.1 -u root -e "CREATE DATABASE $db_name CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    db_url="mysql://root@127.0.0.1:3306/$db_name" ;;
  *) echo "unknown engine $engine" >&2; exit 2 ;;
esac

start_instance() { # name port; sets $last_pid (a child of this shell, so `wait` sees its exit code)
  IPMAT_BIND="127.0.0.1:$2" IPMAT_DATABASE_URL="$db_url" IPMAT_STORAGE="file://$work/media" \
    IPMAT_LOG=warn "$bin" serve >>"$work/$1.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}
wait_ready() { # port
  for _ in $(seq 1 200); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ]; then return 0; fi
    sleep 0.05
  done
  echo "instance on $1 never became ready" >&2; return 1
}
restart() { # name port pid-variable
  local name=$1 port=$2 old=$3
  local started; started=$(date +%s.%N)
  kill -TERM "$old"
  local code=0; wait "$old" || code=$?
  [ "$code" = 0 ] || { echo "$name exited $code after SIGTERM" >&2; exit 1; }
  start_instance "$name" "$port"
  wait_ready "$port"
  printf '%s restarted in %.2f s\n' "$name" "$(echo "$(date +%s.%N) - $started" | bc)"
}

start_instance a "$port_a"; a=$last_pid; wait_ready "$port_a"
start_instance b "$port_b"; b=$last_pid; wait_ready "$port_b"

sed -e "s|@PREFIX@|$work|g" -e "s|@LISTEN@|127.0.0.1:$listen_port|g" \
    -e "s|@PORT_A@|$port_a|g" -e "s|@PORT_B@|$port_b|g" \
    deploy/nginx/test-rolling.conf.template >"$work/nginx.conf"
nginx -p "$work" -e "$work/error.log" -c "$work/nginx.conf" &
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$listen_port/healthz" && break; sleep 0.05; done

# A mix of reads and world-cup starts (writes).
cat >"$work/mix.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  if n % 4 == 0 then
    return wrk.format("POST", "/api/v1/books/2/worldcups", {["Content-Type"] = "application/json"}, '{"size": 8}')
  elseif n % 4 == 1 then
    return wrk.format("GET", "/api/v1/books/1")
  end
  return wrk.format("GET", "/api/v1/books")
end
LUA

wrk -t2 -c16 -d16s --latency -s "$work/mix.lua" "http://127.0.0.1:$listen_port" >"$work/wrk.txt" 2>&1 &
load=$!
sleep 3
restart a "$port_a" "$a"
sleep 3
restart b "$port_b" "$b"
wait "$load"
cat "$work/wrk.txt"

fail=0
if grep -q "Non-2xx or 3xx responses" "$work/wrk.txt"; then echo "FAIL: some requests failed" >&2; fail=1; fi
if grep -q "Socket errors" "$work/wrk.txt"; then echo "FAIL: socket errors" >&2; fail=1; fi
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
[ "${requests:-0}" -gt 1000 ] || { echo "FAIL: too few requests ($requests)" >&2; fail=1; }
starts=$(mysql --protocol=tcp -h 127.0.0.1 -u root -N -e "SELECT COUNT(*) FROM $db_name.worldcups" 2>/dev/null || echo "?")
echo "requests: $requests, world cups started through the restarts: $starts"
[ "$fail" = 0 ] && echo "rolling restart: zero failed requests"
exit "$fail"
