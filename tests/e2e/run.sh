#!/usr/bin/env bash
# Runs the browser end-to-end tests against a real ipmat binary.
#
#   tests/e2e/run.sh [PATH_TO_IPMAT]      (or IPMAT_BIN=...; default target/debug/ipmat)
#
# Starts the server on a free port with a fresh SQLite database and media directory, creates an
# admin, runs every *.test.mjs one at a time with Node's test runner, stops the server, and exits
# non-zero on any failure. Needs Node >= 20.10 and Chromium at /usr/bin/chromium (or $CHROMIUM).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${IPMAT_BIN:-}}"
if [[ -z "$bin" ]]; then
  for candidate in "${CARGO_TARGET_DIR:-$root/target}/debug/ipmat" "$root/target/release/ipmat"; do
    [[ -x "$candidate" ]] && { bin="$candidate"; break; }
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "run.sh: no ipmat binary; pass its path as \$1 or IPMAT_BIN" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
# The server refuses unknown IPMAT_* variables: keep only the ones it knows from here on.
unset IPMAT_BIN
chromium="${CHROMIUM:-/usr/bin/chromium}"
# Chromium comes from the distribution (playwright-core never downloads a browser). As root on a
# Debian-like machine it is installed when missing, with Korean fonts for readable screenshots.
if [[ ! -x "$chromium" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "run.sh: installing Chromium with apt-get" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "run.sh: apt-get could not install chromium" >&2
fi
[[ -x "$chromium" ]] || { echo "run.sh: Chromium not found at $chromium (apt-get install -y chromium)" >&2; exit 2; }
if [[ -z "${CI:-}" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null && command -v fc-list >/dev/null \
  && [[ -z "$(fc-list :lang=ko 2>/dev/null)" ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 \
    || echo "run.sh: no Korean font; screenshots will show boxes" >&2
fi
command -v node >/dev/null || { echo "run.sh: node is required" >&2; exit 2; }

cd "$here"
if [[ ! -d node_modules/playwright-core ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ipmat-e2e.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export IPMAT_MODE=development
export IPMAT_DATABASE_URL="sqlite://$tmp/ipmat.db"
export IPMAT_STORAGE="file://$tmp/media"
export IPMAT_BIND="127.0.0.1:$port"
export IPMAT_SEED=auto
export IPMAT_LOG="${IPMAT_LOG:-warn}"
mkdir -p "$tmp/media"

# The server runs from the repository root so that a debug build finds web/ on disk.
(cd "$root" && exec "$bin" serve) >"$tmp/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 600); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "run.sh: the server exited before it was ready:" >&2
    cat "$tmp/server.log" >&2
    exit 1
  fi
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ -n "$ready" ]] || { echo "run.sh: $url/readyz never answered 200" >&2; cat "$tmp/server.log" >&2; exit 1; }

admin_password="e2e-admin-$(node -e 'console.log(require("crypto").randomBytes(9).toString("hex"))')"
(cd "$root" && IPMAT_PASSWORD="$admin_password" "$bin" user create admin --admin) >"$tmp/user.log" 2>&1 \
  || { echo "run.sh: could not create the admin:" >&2; cat "$tmp/user.log" >&2; exit 1; }

export E2E_URL="$url"
export E2E_ADMIN_USER=admin
export E2E_ADMIN_PASSWORD="$admin_password"
export CHROMIUM="$chromium"
export E2E_BIN="$bin"

status=0
node --test --test-concurrency=1 --test-reporter=spec ${E2E_ONLY:-*.test.mjs} || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 80 lines) ---" >&2
  tail -n 80 "$tmp/server.log" >&2
fi
exit $status
