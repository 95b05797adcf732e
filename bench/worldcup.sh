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

# One number from the running server's database.
db_scalar() {
  case "$BENCH_ENGINE" in
    sqlite) sqlite3 "${BENCH_DB_URL#sqlite://}" "$1" ;;
    mariadb) mysql --protocol=tcp -h 127.0.0.1 -u root -N "$BENCH_DB_NAME" -e "$1" ;;
    postgres) psql -h 127.0.0.1 -U postgres -d "$BENCH_DB_NAME" -tAc "$1" ;;
  esac
}

for engine in "${engines[@]}"; do
  true=TRUE
  [ "$engine" = sqlite ] && true=1
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

  # Exact counts: the book's play counter against the world cups actually stored.
  plays=$(db_scalar "SELECT SUM(plays) FROM book_plays WHERE book_id = $book")
  rows=$(db_scalar "SELECT COUNT(*) FROM worldcups WHERE book_id = $book")
  finished=$(db_scalar "SELECT SUM(finished) FROM book_plays WHERE book_id = $book")
  finished_rows=$(db_scalar "SELECT COUNT(*) FROM worldcups WHERE book_id = $book AND finished = $true")
  {
    echo
    echo "Counters after the runs: play count $plays for $rows world cups stored;"
    echo "finished count $finished for $finished_rows finished world cups stored."
  } >>"$out"
  bench_server_stop
  if [ "$plays" != "$rows" ] || [ "$finished" != "$finished_rows" ]; then
    bench_log "FAIL: counters are off on $engine"
    cat "$out"
    exit 1
  fi
  cat "$out"
done
