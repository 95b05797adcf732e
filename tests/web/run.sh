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

# shellcheck source=tests/support/serve.sh
. "$root/tests/support/serve.sh"
serve_start "$bin" web

export E2E_URL="$url" E2E_ADMIN_USER=admin E2E_ADMIN_PASSWORD="$admin_password"
export CHROMIUM="$chromium" CHROME_PATH="$chromium"

status=0
if [[ "$mode" == measure ]]; then
  node measure.mjs "$label" || status=$?
else
  node --test --test-concurrency=1 --test-reporter=spec ${WEB_ONLY:-*.test.mjs} || status=$?
fi
[[ $status -eq 0 ]] || serve_log 40
exit $status
