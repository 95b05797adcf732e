#!/usr/bin/env bash
# The web app's budgets against a real ipmat binary: page weight and requests, Lighthouse
# (mobile) and an axe-core scan of every screen in both languages.
#
#   tests/web/run.sh [PATH_TO_IPMAT]            the CI checks (node --test *.test.mjs); fail below
#                                               the thresholds
#   tests/web/run.sh PATH measure [LABEL]       print the figures and write bench/results/web.md
#                                               (LABEL, e.g. "before" or "after", names the column)
#
# Starts the server on a free port with a fresh SQLite database and media directory (like
# tests/e2e/run.sh), seeds the bundled catalog, and stops it at the end. Needs Node >= 20.10 and
# Chromium at /usr/bin/chromium (or $CHROMIUM / $CHROME_PATH).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-${IPMAT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/ipmat}}"
mode="${2:-check}"
label="${3:-now}"
[[ -x "$bin" ]] || { echo "tests/web/run.sh: no ipmat binary at $bin" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
unset IPMAT_BIN
chromium="${CHROME_PATH:-${CHROMIUM:-/usr/bin/chromium}}"
if [[ ! -x "$chromium" && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "tests/web/run.sh: apt-get could not install chromium" >&2
fi
[[ -x "$chromium" ]] || { echo "tests/web/run.sh: Chromium not found at $chromium" >&2; exit 2; }
command -v node >/dev/null || { echo "tests/web/run.sh: node is required" >&2; exit 2; }

cd "$here"
if [[ ! -d node_modules/lighthouse || ! -d node_modules/@axe-core/playwright ]]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/ipmat-web.XXXXXX")"
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
(cd "$root" && exec "$bin" serve) >"$tmp/server.log" 2>&1 &
server_pid=$!

url="http://127.0.0.1:$port"
ready=""
for _ in $(seq 1 600); do
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
    ready=1
    break
  fi
  sleep 0.2
done
[[ -n "$ready" ]] || { echo "tests/web/run.sh: $url/readyz never answered 200" >&2; cat "$tmp/server.log" >&2; exit 1; }

admin_password="web-admin-$(node -e 'console.log(require("crypto").randomBytes(9).toString("hex"))')"
(cd "$root" && IPMAT_PASSWORD="$admin_password" "$bin" user create admin --admin) >"$tmp/user.log" 2>&1 \
  || { cat "$tmp/user.log" >&2; exit 1; }

export E2E_URL="$url" E2E_ADMIN_USER=admin E2E_ADMIN_PASSWORD="$admin_password"
export CHROMIUM="$chromium" CHROME_PATH="$chromium"

status=0
if [[ "$mode" == measure ]]; then
  node measure.mjs "$label" || status=$?
else
  node --test --test-concurrency=1 --test-reporter=spec ${WEB_ONLY:-*.test.mjs} || status=$?
fi
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 40 lines) ---" >&2
  tail -n 40 "$tmp/server.log" >&2
fi
exit $status
