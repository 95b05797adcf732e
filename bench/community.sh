#!/usr/bin/env bash
# bench/community.sh: load benchmark of the community list (issue #14).
#
# Starts the release binary on a fresh MariaDB database with the bundled catalog, adds 10,000
# public community books of one member (4 foods each, spread weekly and all-time finish
# counts) straight into the tables, and measures with wrk (settings: bench/lib.sh):
#   GET /api/v1/community/books?sort=popular          the first page (50 books)
#   GET /api/v1/community/books?sort=popular&cursor=… a page deep in the list
#   GET /api/v1/community/books?sort=new
# The list reads one range of ix_books_popular / ix_books_new (the EXPLAIN is in the
# results' notes), never every book. Results: bench/results/community-mariadb.md.
# Against a debug build for a quick check: IPMAT_BIN=target/debug/ipmat BENCH_DURATION=2s.
set -euo pipefail
: "${BENCH_BOOKS:=10000}"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

bench_require_wrk
bench_binary
bench_server_start mariadb

token="$(bench_curl POST /api/v1/auth/signup '{"username":"benchmaker","password":"bench-password"}' | jq -er .token)"
[ -n "$token" ]
bench_log "adding $BENCH_BOOKS community books"
_bench_mysql "USE $BENCH_DB_NAME;
  SET @uid = (SELECT id FROM users WHERE username = 'benchmaker');
  SET SESSION max_recursive_iterations = 1000000;
  INSERT INTO books (name, cover_key, priority, created_at, updated_at, owner_id, name_scope,
                     visibility, description, listed, food_total, finished_week, finished_total)
  SELECT CONCAT('cup ', n), NULL, 0, 1700000000000 + n, 1700000000000 + n, @uid, @uid,
         'public', '', TRUE, 4, n MOD 97, n MOD 1013
  FROM (WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < $BENCH_BOOKS)
        SELECT n FROM seq) s;
  INSERT INTO book_foods (book_id, food_id)
  SELECT b.id, f.id FROM books b JOIN (SELECT id FROM foods ORDER BY id LIMIT 4) f
  WHERE b.owner_id = @uid;
  ANALYZE TABLE books, book_foods;"
listed="$(bench_curl GET '/api/v1/community/books?sort=popular&limit=200' | jq '.items | length')"
[ "$listed" = 200 ] || bench_die "the community list shows $listed books, not 200"
cursor="$(bench_curl GET '/api/v1/community/books?sort=popular&limit=200' | jq -er .next_cursor)"
for _ in 1 2 3 4 5 6 7 8 9 10; do
  cursor="$(bench_curl GET "/api/v1/community/books?sort=popular&limit=200&cursor=$cursor" | jq -er .next_cursor)"
done
plan="$(_bench_mysql "USE $BENCH_DB_NAME; EXPLAIN SELECT id, finished_week, finished_total, created_at
  FROM books WHERE listed = TRUE ORDER BY listed DESC, finished_week DESC, finished_total DESC, id DESC LIMIT 51" |
  awk -F'\t' 'NR == 2 {print "type=" $4 ", key=" $6 ", rows=" $9 ", extra=" $10}')"
bench_log "plan of the popular page: $plan"

out="$BENCH_DIR/results/community-mariadb.md"
tmp="$BENCH_ROOT/community.md"
bench_results_init "$tmp" "Community list load: mariadb" \
  "database: mariadb, fresh, bundled catalog plus $BENCH_BOOKS public community books (4 foods each)" \
  "plan of the popular page (EXPLAIN): $plan" \
  "a deep page: after 11 pages of 200 (cursor $cursor)"
for path in "/api/v1/community/books?sort=popular" "/api/v1/community/books?sort=popular&cursor=$cursor" \
  "/api/v1/community/books?sort=new"; do
  size="$(bench_body_size "$BENCH_URL$path")"
  bench_wrk "$path"
  bench_results_row "$tmp" mariadb "GET ${path%%&cursor=*}$([ "$path" = "${path%%&cursor=*}" ] || echo ' (deep page)')" "$size" \
    "runs: ${BENCH_RPS_ALL// //}"
done
bench_server_stop
mv "$tmp" "$out"
bench_log "wrote $out"
cat "$out"
