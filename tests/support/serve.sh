# shellcheck shell=bash
# Sourced by tests/e2e/run.sh, tests/web/run.sh and tests/schemathesis/run.sh: starts one ipmat
# server for a suite (needs python3).
#
#   . tests/support/serve.sh
#   serve_start BIN NAME      # NAME tags the temporary folder and the admin's password
#
# Starts BIN on a free loopback port in development mode with a fresh SQLite database and media
# folder, waits until /readyz answers 200, seeds the bundled catalog and creates an admin.
# Afterwards these are set: $url, $tmp (the folder, with server.log), $server_pid,
# $admin_password, and the server's IPMAT_* variables stay exported (for CLI runs against the
# same database). The server runs from the repository root ($root), so that a debug build
# finds web/ on disk, and is stopped (SIGTERM, then SIGKILL after 10 s) when the shell exits.
# serve_log N prints the server log's last N lines to stderr.

serve_cleanup() {
  if [[ -n "${server_pid:-}" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  [[ -n "${tmp:-}" ]] && rm -rf "$tmp"
}

serve_log() {
  echo "--- server log (last $1 lines) ---" >&2
  tail -n "$1" "$tmp/server.log" >&2
}

serve_start() { # bin name (the caller sets $root, the repository root)
  local bin=$1 name=$2
  : "${root:?serve_start needs \$root}"
  tmp="$(mktemp -d "${TMPDIR:-/tmp}/ipmat-$name.XXXXXX")"
  server_pid=""
  trap serve_cleanup EXIT INT TERM

  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  export IPMAT_MODE=development
  export IPMAT_DATABASE_URL="sqlite://$tmp/ipmat.db"
  export IPMAT_STORAGE="file://$tmp/media"
  export IPMAT_BIND="127.0.0.1:$port"
  export IPMAT_SEED=auto
  export IPMAT_LOG="${IPMAT_LOG:-warn}"
  mkdir -p "$tmp/media"
  (cd "$root" && exec "$bin" serve) >"$tmp/server.log" 2>&1 &
  server_pid=$!

  url="http://127.0.0.1:$port"
  local ready=""
  for _ in $(seq 1 600); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "$name: the server exited before it was ready:" >&2
      cat "$tmp/server.log" >&2
      exit 1
    fi
    if python3 -c 'import sys, urllib.request
try: sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception: sys.exit(1)' "$url/readyz"; then
      ready=1
      break
    fi
    sleep 0.2
  done
  [[ -n "$ready" ]] || { echo "$name: $url/readyz never answered 200" >&2; cat "$tmp/server.log" >&2; exit 1; }

  admin_password="$name-admin-$(python3 -c 'import secrets; print(secrets.token_hex(9))')"
  (cd "$root" && IPMAT_PASSWORD="$admin_password" "$bin" user create admin --admin) >"$tmp/user.log" 2>&1 \
    || { echo "$name: could not create the admin:" >&2; cat "$tmp/user.log" >&2; exit 1; }
}
