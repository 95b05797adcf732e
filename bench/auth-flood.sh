#!/usr/bin/env bash
# bench/auth-flood.sh [ENGINE]: the unauthenticated memory flood of issue #10 (item 2).
#
# Starts the release binary on a fresh database (ENGINE: mariadb by default, or sqlite,
# postgres) and sends, all at once, AUTH_FLOOD_LOGINS (600) wrong log-ins on distinct unknown
# accounts and AUTH_FLOOD_SIGNUPS (300) sign-ups, spread over 253 loopback source addresses so
# that the per-address throttles do not hide the hashing work. Meanwhile a probe sends
# GET /api/v1/books one after another. Writes to bench/results/auth-flood.txt: status counts,
# passwords verified, requests refused by the hashing bound, the probe's p50/p99, and the
# server's RSS before, at its peak (VmHWM), right after and 5 s after the flood; then the same
# flood AUTH_FLOOD_REPEATS (3) more times from other addresses, with RSS 5 s after each, to
# tell memory kept for reuse (level) from memory that grows with every flood.
#
# Targets: peak RSS < 256 MB, memory given back afterwards, probe p99 < 50 ms.
# A debug binary checks the script quickly: IPMAT_BIN=$CARGO_TARGET_DIR/debug/ipmat.
# Settings: see the top of bench/lib.sh.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

engine="${1:-mariadb}"
case "$engine" in sqlite | mariadb | postgres) ;; *)
  echo "usage: $0 [sqlite|mariadb|postgres]" >&2
  exit 2
  ;;
esac
: "${AUTH_FLOOD_LOGINS:=600}"
: "${AUTH_FLOOD_SIGNUPS:=300}"
: "${AUTH_FLOOD_REPEATS:=3}"
: "${AUTH_FLOOD_OUT:=$BENCH_DIR/results/auth-flood.txt}"

bench_binary
# Which build was measured (the figures only count for a release build).
profile="$(basename "$(dirname "${IPMAT_BIN:-$CARGO_TARGET_DIR/release/ipmat}")")"
bench_server_start "$engine"
figures="$BENCH_ROOT/auth-flood.txt"
python3 "$BENCH_DIR/auth-flood.py" "$BENCH_URL" "$BENCH_PID" \
  "$AUTH_FLOOD_LOGINS" "$AUTH_FLOOD_SIGNUPS" "$AUTH_FLOOD_REPEATS" >"$figures"
bench_server_stop

{
  echo "# bench/auth-flood.sh $engine, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "# binary: $profile build; ${BENCH_BIN_INFO#release build of }"
  echo "# targets: peak RSS < 256 MB, RSS given back after, probe p99 < 50 ms"
  echo "engine: $engine"
  cat "$figures"
} >"$AUTH_FLOOD_OUT"
cat "$AUTH_FLOOD_OUT"
