#!/usr/bin/env bash
# Generated API tests: schemathesis against a real ipmat binary on a fresh SQLite database.
#
#   tests/schemathesis/run.sh [PATH_TO_IPMAT]      (or IPMAT_BIN=...; default target/debug/ipmat)
#
# Installs the pinned schemathesis from PyPI into a venv (needs python3 with venv and pip),
# starts the server on a free port with a fresh database and media directory, creates an admin
# and logs in for a token, then runs every phase (examples, coverage, fuzzing, stateful) of
# `st run` against /api/v1/openapi.json with that token. Fails on any 5xx, any response whose
# status, content type, headers or body the document does not declare. The run is bounded by
# ST_MAX_EXAMPLES cases per operation and phase (default 100) and seeded by ST_SEED (default
# fixed), so two runs send the same requests. See docs/testing.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=4.32.5
venv="${ST_VENV:-/var/tmp/ipmat-schemathesis-$version}"
max_examples="${ST_MAX_EXAMPLES:-100}"
seed="${ST_SEED:-16}"

bin="${1:-${IPMAT_BIN:-}}"
if [[ -z "$bin" ]]; then
  for candidate in "${CARGO_TARGET_DIR:-$root/target}/debug/ipmat" "$root/target/release/ipmat"; do
    [[ -x "$candidate" ]] && { bin="$candidate"; break; }
  done
fi
[[ -n "$bin" && -x "$bin" ]] || { echo "schemathesis: no ipmat binary; pass its path as \$1 or IPMAT_BIN" >&2; exit 2; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
# The server refuses unknown IPMAT_* variables: keep only the ones it knows from here on.
unset IPMAT_BIN

if [[ ! -x "$venv/bin/st" ]] || [[ "$("$venv/bin/st" --version 2>/dev/null)" != *"$version"* ]]; then
  echo "schemathesis: installing schemathesis $version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi
py="$venv/bin/python"

# shellcheck source=tests/support/serve.sh
. "$root/tests/support/serve.sh"
serve_start "$bin" st

# Two accounts: the admin whose token drives the main run, and a throwaway member for the two
# operations that end the caller's session (log-out, account deletion), run on their own after.
login() { # username, password → token
  "$py" - "$url" "$1" "$2" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/api/v1/auth/login",
    data=json.dumps({"username": sys.argv[2], "password": sys.argv[3]}).encode(),
    headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=30))["token"])
PY
}
(cd "$root" && IPMAT_PASSWORD="$admin_password" "$bin" user create leaver) >"$tmp/user.log" 2>&1 \
  || { echo "schemathesis: could not create leaver:" >&2; cat "$tmp/user.log" >&2; exit 1; }
admin_token="$(login admin "$admin_password")"
leaver_token="$(login leaver "$admin_password")"
[[ -n "$admin_token" && -n "$leaver_token" ]] || { echo "schemathesis: logging in gave no token" >&2; exit 1; }

st_run() { # token, filter arguments...
  local token=$1; shift
  (cd "$tmp" && "$venv/bin/st" run "$url/api/v1/openapi.json" "$@" \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --checks "${ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance}" \
    --max-examples "$max_examples" --seed "$seed" --workers 1 \
    --request-timeout 30 --generation-database none --no-color ${ST_ARGS:-})
}

status=0
echo "==> every operation but the two that end the session, as the admin" >&2
st_run "$admin_token" --exclude-operation-id logout --exclude-operation-id delete_me || status=$?
echo "==> log-out and account deletion, as a throwaway member" >&2
st_run "$leaver_token" --include-operation-id logout --include-operation-id delete_me || status=$?
[[ $status -eq 0 ]] || serve_log 60
exit $status
