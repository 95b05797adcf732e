#!/usr/bin/env bash
# World-cup load: starts (POST /api/v1/books/{id}/worldcups) and full 16-food play-throughs
# (a start and 15 picks), against the release binary, on each engine given (default: mariadb
# sqlite postgres). After the runs, checks that the book's play_count equals the number of
# world cups in the database: no lost counter updates under load.
# Results: bench/results/worldcup-<engine>.md
#
#   bench/worldcup.sh [ENGINE...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(mariadb sqlite postgres)
bench_require_wrk
bench_binary

for engine in "${engines[@]}"; do
  out="$BENCH_DIR/results/worldcup-$engine.md"
  bench_server_start "$engine"
  # The first book with at least 32 foods.
  book=$(curl -fsS "$BENCH_URL/api/v1/books" | python3 -c 'import json,sys; print(next(b["id"] for b in json.load(sys.stdin) if b["food_count"] >= 32))')
  bench_results_init "$out" "World cup load: $engine" \
    "database: $engine, fresh, with the bundled catalog; book $book" \
    "start = POST /api/v1/books/$book/worldcups {\"size\": 16}: draw, insert the bracket, play_count + 1 (one transaction), answer the first match" \
    "play-through = start + 15 picks to the champion (the final pick also adds 15 matches to the book's statistics)"

  bench_wrk "$BENCH_URL" "$BENCH_DIR/worldcup-start.lua" "$book" 16
  bench_results_row "$out" "$engine" "POST /books/{id}/worldcups (start, size 16)"

  bench_wrk "$BENCH_URL" "$BENCH_DIR/worldcup-play.lua" "$book" 16
  cups=$(grep -o 'cups finished: [0-9]* ([0-9.]* full cups/s)' "$BENCH_WRK_OUT" | tail -1)
  bench_results_row "$out" "$engine" "full 16-food world cups (start + 15 picks)" "" "$cups"

  sleep 3 # book answers are cached for 2 s
  plays=$(curl -fsS "$BENCH_URL/api/v1/books/$book" | python3 -c 'import json,sys; print(json.load(sys.stdin)["play_count"])')
  rows=$(curl -fsS "$BENCH_URL/metrics" | awk '/^ipmat_worldcups_started_total/ {print $2}')
  finished_metric=$(curl -fsS "$BENCH_URL/metrics" | awk '/^ipmat_worldcups_finished_total/ {print $2}')
  ranking_finished=$(curl -fsS "$BENCH_URL/api/v1/books/$book/ranking?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["worldcups_finished"])')
  {
    echo
    echo "Counters after the runs: play_count = $plays, world cups started (server counter) = $rows;"
    echo "finished world cups in the book's statistics = $ranking_finished, finished (server counter) = $finished_metric."
  } >>"$out"
  bench_server_stop
  if [ "$plays" != "$rows" ] || [ "$ranking_finished" != "$finished_metric" ]; then
    bench_log "FAIL: lost counter updates on $engine (play_count $plays vs $rows starts)"
    cat "$out"
    exit 1
  fi
  cat "$out"
done
