#!/usr/bin/env bash
# bench/catalog.sh [ENGINE...]: load benchmark of the catalog's read API (issue #2, item 10).
#
# For each ENGINE (sqlite, mariadb, postgres; default all three) it starts the release binary
# on a fresh database with the bundled catalog and measures, with wrk (32 connections,
# 2 threads, 10 s after a 2 s warm-up, --latency):
#   GET /healthz             floor reference: the server's whole stack, no handler work
#   GET /api/v1/books        the book list (cached)
#   GET /api/v1/books/1      one book with its foods (cached)
# and, once per invocation, the "bare axum" reference (bench/bare) serving the same bytes as
# GET /api/v1/books. Results go to bench/results/catalog-<engine>.md, each with the bare row
# and every figure as a percentage of it. Settings: see the top of bench/lib.sh. Defaults
# here: BENCH_RUNS=3 and BENCH_PICK=best (the machine is shared: the least disturbed of three
# runs is kept; every run's req/s is in the note column), BENCH_QUIET_WAIT=30 with
# BENCH_QUIET_PCT=25 (each run waits up to 30 s for other work to calm down).
set -euo pipefail
: "${BENCH_RUNS:=3}"
: "${BENCH_PICK:=best}"
: "${BENCH_QUIET_WAIT:=30}"
: "${BENCH_QUIET_PCT:=25}"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# -gt 0 ]; then engines=("$@"); else engines=(sqlite mariadb postgres); fi
for engine in "${engines[@]}"; do
  case "$engine" in sqlite | mariadb | postgres) ;; *)
    echo "usage: $0 [sqlite|mariadb|postgres]..." >&2
    exit 2
    ;;
  esac
done

bench_require_wrk
bench_binary

percent() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%% of bare", 100 * a / b; else print "" }'; }

# The reference body: the book list as the server answers it (the same on every engine).
bench_server_start sqlite
body="$BENCH_ROOT/books.json"
curl -fsS -o "$body" "$BENCH_URL/api/v1/books"
bench_server_stop
body_bytes="$(wc -c <"$body")"
bench_log "GET /api/v1/books answers $body_bytes bytes"

# Bare axum with that body, measured with the same wrk settings.
bench_bare_start "$body"
bench_wrk "$BENCH_BARE_URL/"
bare_rps="$BENCH_RPS"
bare_row="$BENCH_ROOT/bare-row.md"
: >"$bare_row"
bench_results_row "$bare_row" "—" "bare axum GET / (static body)" \
  "$(bench_body_size "$BENCH_BARE_URL/")" "reference; runs: ${BENCH_RPS_ALL// //}"
bench_bare_stop

for engine in "${engines[@]}"; do
  out="$BENCH_DIR/results/catalog-$engine.md"
  bench_server_start "$engine"
  tmp="$BENCH_ROOT/catalog-$engine.md"
  bench_results_init "$tmp" "Catalog read load: $engine" \
    "database: $engine, fresh, with the bundled catalog (148 foods, 15 books); media on local disk" \
    "bare axum: bench/bare serving the same $body_bytes bytes as GET /api/v1/books at GET /" \
    "non-2xx counts wrk's \"Non-2xx or 3xx responses\" (status >= 400); socket errors are connect + read + write + timeout" \
    "other CPU: share of the machine's CPU time (2 vCPU = 100%) used during the kept run by anything but wrk and the server measured (other users' builds and tests, the database server): the noise on that figure"
  cat "$bare_row" >>"$tmp"
  for path in /healthz /api/v1/books /api/v1/books/1; do
    size="$(bench_body_size "$BENCH_URL$path")"
    bench_wrk "$path"
    bench_results_row "$tmp" "$engine" "GET $path" "$size" \
      "$(percent "$BENCH_RPS" "$bare_rps"); runs: ${BENCH_RPS_ALL// //}"
  done
  bench_server_stop
  mv "$tmp" "$out"
  bench_log "wrote $out"
  cat "$out"
done
