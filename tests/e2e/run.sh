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

# shellcheck source=tests/support/serve.sh
. "$root/tests/support/serve.sh"
serve_start "$bin" e2e

export E2E_URL="$url"
export E2E_ADMIN_USER=admin
export E2E_ADMIN_PASSWORD="$admin_password"
export CHROMIUM="$chromium"
export E2E_BIN="$bin"

status=0
node --test --test-concurrency=1 --test-reporter=spec ${E2E_ONLY:-*.test.mjs} || status=$?
[[ $status -eq 0 ]] || serve_log 80
exit $status
