#!/usr/bin/env bash
# Link previews: how long drawing a preview image takes uncached (the server's own
# `Server-Timing: render;dur=…` of each first request: reading the photos, decoding, drawing,
# PNG encoding), cached image answers (full body and 304 revalidations) under wrk, and the app
# HTML with its meta tags (`/quiz/{CODE}`) next to the plain shell (`/`).
# Default engine: mariadb (the issue's figure); others may be given.
# Results: bench/results/previews-<engine>.md
#
#   bench/previews.sh [ENGINE...]          (IPMAT_BIN=target/debug/ipmat for a quick check)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(mariadb)
BENCH_DRAWS="${BENCH_DRAWS:-20}"
bench_require_wrk
bench_binary

# Prints the render time (ms) of a first request for a preview image.
render_ms() {
  curl -fsS -D - -o "$BENCH_ROOT/og.png" "$BENCH_URL$1" |
    tr -d '\r' | sed -n 's/^server-timing: render;dur=//Ip'
}

for engine in "${engines[@]}"; do
  out="$BENCH_DIR/results/previews-$engine.md"
  bench_server_start "$engine"
  token="$(bench_admin_token)"
  list='if type == "array" then . else .items end'
  bank="$(curl -fsS "$BENCH_URL/api/v1/quiz/pairs?count=4" | jq -c "$list")"
  if [ "$(jq length <<<"$bank")" -lt 4 ]; then
    foods="$(curl -fsS "$BENCH_URL/api/v1/foods?limit=40" | jq -c '[.items[].id]')"
    for i in 0 2 4 6; do
      bench_curl POST /api/v1/quiz/pairs \
        "{\"left_id\":$(jq -r ".[$i]" <<<"$foods"),\"right_id\":$(jq -r ".[$((i + 1))]" <<<"$foods")}" "$token" >/dev/null
    done
    bank="$(curl -fsS "$BENCH_URL/api/v1/quiz/pairs?count=4" | jq -c "$list")"
  fi
  answers="$(jq -c '[.[:4][] | {pair_id: .id, food_id: .left.id}]' <<<"$bank")"
  author="$(bench_curl POST /api/v1/auth/signup '{"username":"ogauthor","password":"password123"}' | jq -r .token)"
  codes=()
  for i in $(seq 1 "$BENCH_DRAWS"); do
    codes+=("$(bench_curl POST /api/v1/exams "{\"title\":\"벤치 퀴즈 $i: 나를 맞혀 봐\",\"answers\":$answers}" "$author" | jq -r .code)")
  done
  book="$(curl -fsS "$BENCH_URL/api/v1/books" | jq -r '.[0].id')"

  # Uncached: every exam's image is drawn once (two photos each), then the book's collage.
  times=()
  for code in "${codes[@]}"; do
    times+=("$(render_ms "/og/quiz/$code.png")")
  done
  collage="$(render_ms "/og/books/$book.png")"
  size="$(bench_body_size "$BENCH_URL/og/quiz/${codes[0]}.png")"
  stats="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, max %.1f ms over %d images", a[int((NR+1)/2)], a[NR], NR}')"

  bench_results_init "$out" "Link previews: $engine" \
    "database: $engine, fresh, with the bundled catalog; $BENCH_DRAWS exams of 4 questions" \
    "drawing uncached (Server-Timing of the first request: photos read from storage, decoded, drawn, PNG-encoded): quiz images (2 photos) $stats; book collage (4 photos) $collage ms" \
    "cached image: GET /og/quiz/{CODE}.png answered from memory ($size bytes); revalidation: the same with If-None-Match (304)"

  etag="$(curl -fsS -D - -o /dev/null "$BENCH_URL/og/quiz/${codes[0]}.png" | tr -d '\r' | sed -n 's/^etag: //Ip')"
  bench_wrk "/og/quiz/${codes[0]}.png"
  bench_results_row "$out" "$engine" "GET /og/quiz/{CODE}.png (cached)" "$size"
  bench_wrk "/og/quiz/${codes[0]}.png" "$BENCH_DIR/previews-etag.lua" "$etag"
  bench_results_row "$out" "$engine" "GET /og/quiz/{CODE}.png, If-None-Match (304)" 0
  bench_wrk "/quiz/${codes[0]}"
  bench_results_row "$out" "$engine" "GET /quiz/{CODE} (app HTML with meta tags)" "$(bench_body_size "$BENCH_URL/quiz/${codes[0]}")"
  bench_wrk "/"
  bench_results_row "$out" "$engine" "GET / (app HTML, home meta tags)" "$(bench_body_size "$BENCH_URL/")"
  bench_server_stop
  cat "$out"
done
