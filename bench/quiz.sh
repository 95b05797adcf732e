#!/usr/bin/env bash
# Load benchmark of the taste quiz against the release binary: exam detail, first attempts by
# members, guest creation with first attempts by guests, and the scoreboard of an exam with
# 10,000 participants.
#
#   bench/quiz.sh [sqlite|mariadb|postgres]      (default sqlite)
#
# Builds `ipmat` in release mode, starts it on a free port over a fresh database (a SQLite file
# in a temporary folder, or a new database on the local MariaDB / PostgreSQL, dropped after),
# makes 24 quiz pairs and one exam through the API, then bulk-inserts the participants, their
# sessions and their attempts with one generated SQL file (bench/quiz-seed.py) through the
# engine's CLI: signing up 10,000 users through the API would spend minutes in Argon2. Each
# endpoint then gets one wrk run (10 s, 32 connections, 2 threads). The figures go to
# bench/results/quiz-ENGINE.md and are printed.
#
# Environment: PARTICIPANTS (10000), SUBMITTERS (members without an attempt, 60000: the first
# attempt is final, so each submission needs a member of its own), DURATION (10s), CONNECTIONS (32), THREADS (2),
# IPMAT_DB_MAX_CONNECTIONS (16, the server's default pool), CARGO_TARGET_DIR
# (/var/tmp/ipmat-target). Needs wrk (`apt-get install -y wrk`), curl, python3 and the
# engine's CLI (sqlite3, mysql or psql).
set -euo pipefail

ENGINE=${1:-sqlite}
PARTICIPANTS=${PARTICIPANTS:-10000}
SUBMITTERS=${SUBMITTERS:-60000}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
QUESTIONS=24
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/ipmat-target}
PROFILE=${PROFILE:-release}
BIN=$CARGO_TARGET_DIR/$PROFILE/ipmat

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (wrk: apt-get install -y wrk)" >&2; exit 2; }
done

if [ "$PROFILE" = release ]; then
  echo "==> building the release binary"
  (cd "$ROOT" && cargo build --release --quiet)
else
  echo "==> using $BIN (PROFILE=$PROFILE: figures are not meaningful, this only checks the script)"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ipmat-bench-quiz.XXXXXX")
DB_NAME="ipmat_bench_quiz_$$"
SERVER_PID=""

case "$ENGINE" in
  sqlite)
    command -v sqlite3 >/dev/null || { echo "sqlite3 is missing" >&2; exit 2; }
    DATABASE_URL="sqlite://$WORK/ipmat.db"
    run_sql() { sqlite3 -cmd ".timeout 30000" "$WORK/ipmat.db" <"$1"; }
    drop_db() { :; }
    ;;
  mariadb | mysql)
    ENGINE=mariadb
    MYSQL=(mysql --protocol=tcp -h 127.0.0.1 -P 3306 -u root)
    "${MYSQL[@]}" -e "CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    DATABASE_URL="mysql://root@127.0.0.1:3306/$DB_NAME"
    run_sql() { "${MYSQL[@]}" "$DB_NAME" <"$1"; }
    drop_db() { "${MYSQL[@]}" -e "DROP DATABASE IF EXISTS $DB_NAME"; }
    ;;
  postgres)
    PSQL=(psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 -U postgres)
    "${PSQL[@]}" -d postgres -c "CREATE DATABASE $DB_NAME"
    DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB_NAME"
    run_sql() { "${PSQL[@]}" -d "$DB_NAME" -f "$1"; }
    drop_db() { "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)"; }
    ;;
  *)
    echo "usage: $0 [sqlite|mariadb|postgres]" >&2
    exit 2
    ;;
esac

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  drop_db >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"

echo "==> starting ipmat on $BASE over $ENGINE"
# Started from the work folder so that no .env of the clone is read.
# The loopback is a trusted proxy so that the guest run can spread guests over client addresses.
(cd "$WORK" && exec env IPMAT_BIND="127.0.0.1:$PORT" IPMAT_DATABASE_URL="$DATABASE_URL" IPMAT_TRUSTED_PROXIES=127.0.0.1/32 \
  IPMAT_STORAGE="file://$WORK/media" IPMAT_SEED=auto IPMAT_LOG=warn \
  IPMAT_DB_MAX_CONNECTIONS="${IPMAT_DB_MAX_CONNECTIONS:-16}" "$BIN" serve) \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fs "$BASE/readyz" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "$BASE/readyz" >/dev/null || { echo "ipmat did not become ready" >&2; cat "$WORK/server.log" >&2; exit 1; }

# api METHOD PATH [TOKEN] [BODY]: prints the answer's body, fails on an HTTP error.
api() {
  local args=(-fsS -X "$1" "$BASE/api/v1$2" -H 'content-type: application/json')
  [ -n "${3:-}" ] && args+=(-H "authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(--data "$4")
  curl "${args[@]}"
}
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

echo "==> question bank, author and exam through the API"
ADMIN=$(api POST /auth/signup "" '{"username": "bench-admin", "password": "bench-password"}' | json 'd["token"]')
echo "UPDATE users SET is_admin = TRUE WHERE username_key = 'bench-admin';" >"$WORK/admin.sql"
run_sql "$WORK/admin.sql"
api GET "/foods?limit=200" | json '"\n".join(str(f["id"]) for f in d["items"])' >"$WORK/foods.txt"
mapfile -t FOODS <"$WORK/foods.txt"
[ "${#FOODS[@]}" -ge $((2 * QUESTIONS)) ] || { echo "the seed catalog has too few foods" >&2; exit 1; }
# The bundled catalog may hold pairs already: a pair that exists is 409, which is fine here.
for i in $(seq 0 $((QUESTIONS - 1))); do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/api/v1/quiz/pairs" -H "authorization: Bearer $ADMIN" \
    -H 'content-type: application/json' --data "{\"left_id\": ${FOODS[$((2 * i))]}, \"right_id\": ${FOODS[$((2 * i + 1))]}}")
  case "$status" in 201 | 409) ;; *) echo "POST /quiz/pairs answered $status" >&2; exit 1 ;; esac
done
AUTHOR=$(api POST /auth/signup "" '{"username": "bench-author", "password": "bench-password"}' | json 'd["token"]')
api GET "/quiz/pairs?count=$QUESTIONS" >"$WORK/pairs.json"
json '"\n".join("%d %d %d" % (p["id"], p["left"]["id"], p["right"]["id"]) for p in d)' <"$WORK/pairs.json" >"$WORK/pairs.txt"
ANSWERS=$(json 'json.dumps({"title": "벤치마크 입맛", "answers": [{"pair_id": p["id"], "food_id": p["left"]["id"]} for p in d]})' <"$WORK/pairs.json")
CODE=$(api POST /exams "$AUTHOR" "$ANSWERS" | json 'd["code"]')

echo "==> $PARTICIPANTS participants with sessions and attempts, $SUBMITTERS members with sessions, straight into the database"
python3 "$ROOT/bench/quiz-seed.py" "$CODE" "$PARTICIPANTS" "$SUBMITTERS" "$WORK/seed.sql" "$WORK/tokens.txt" "$WORK/submitters.txt"
SEED_START=$(date +%s.%N)
run_sql "$WORK/seed.sql"
SEED_SECONDS=$(python3 -c "print(f'{$(date +%s.%N) - $SEED_START:.1f}')")
COUNT=$(api GET "/exams/$CODE/scoreboard" | json 'len(d["participants"])')
[ "$COUNT" = "$PARTICIPANTS" ] || { echo "the scoreboard lists $COUNT participants, not $PARTICIPANTS" >&2; exit 1; }
BOARD_BYTES=$(curl -fs "$BASE/api/v1/exams/$CODE/scoreboard" | wc -c)
# Lone requests, one at a time (median of 10 with curl): right after a submission, when the
# scoreboard must be read from the database again, and with nothing changed (served from cache).
median_ms() { sort -n | python3 -c 'import sys; t = [float(x) for x in sys.stdin]; print(f"{1000 * t[len(t) // 2]:.1f}")'; }
ATTEMPT=$(json 'json.dumps({"answers": [{"pair_id": p["id"], "food_id": p["right"]["id"]} for p in d]})' <"$WORK/pairs.json")
MISS_MS=$(tail -n 10 "$WORK/submitters.txt" | while read -r token; do
  api PUT "/exams/$CODE/attempt" "$token" "$ATTEMPT" >/dev/null
  curl -fs -o /dev/null -w '%{time_total}\n' "$BASE/api/v1/exams/$CODE/scoreboard"
done | median_ms)
HIT_MS=$(for _ in $(seq 1 10); do curl -fs -o /dev/null -w '%{time_total}\n' "$BASE/api/v1/exams/$CODE/scoreboard"; done | median_ms)
echo "    seeded in ${SEED_SECONDS}s; scoreboard: $COUNT participants, $BOARD_BYTES bytes," \
  "${MISS_MS} ms alone after a submission, ${HIT_MS} ms alone unchanged"

ROWS=()
# measure NAME WRK_ARGS...: one wrk run, one row of the table.
measure() {
  local name=$1
  shift
  echo "==> wrk: $name"
  local out
  out=$(wrk --latency "$@")
  LAST_OUT=$out
  echo "$out" | sed 's/^/    /'
  local rps p50 p99 bad
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx or 3xx responses/ {print $NF}')
  if [ -n "$bad" ]; then
    echo "$name: $bad answers were not 2xx; the server's last log lines:" >&2
    grep -v -E '^ +([0-9]+: | +at )' "$WORK/server.log" | tail -n 20 >&2
    exit 1
  fi
  ROWS+=("| $name | $rps | $p50 | $p99 |")
}

LOAD=(-t "$THREADS" -c "$CONNECTIONS" -d "$DURATION")
measure "GET /exams/{code} (24 questions)" "${LOAD[@]}" "$BASE/api/v1/exams/$CODE"
# The last 10 submitters took it above; the others are free.
head -n $((SUBMITTERS - 10)) "$WORK/submitters.txt" >"$WORK/free.txt"
measure "PUT /exams/{code}/attempt (first attempts by members)" "${LOAD[@]}" \
  -s "$ROOT/bench/quiz-submit.lua" "$BASE/api/v1/exams/$CODE/attempt" -- \
  "$WORK/free.txt" "$WORK/pairs.txt" "$CODE" "$THREADS"
MEMBER_RPS=${ROWS[-1]}
measure "POST /auth/guest + PUT …/attempt (guests, alternating)" "${LOAD[@]}" \
  -s "$ROOT/bench/quiz-guest.lua" "$BASE/api/v1/auth/guest" -- "$WORK/pairs.txt" "$CODE"
GUEST_LINE=$(echo "$LAST_OUT" | grep '^guests created:' || true)
GUEST_ATTEMPTS=$(echo "$GUEST_LINE" | sed -E 's/.*guest attempts: ([0-9]+).*/\1/')
GUEST_APS=$(python3 -c 'import sys; print(round(int(sys.argv[1]) / float(sys.argv[2])))' "${GUEST_ATTEMPTS:-0}" "${DURATION%s}")
echo "    $GUEST_LINE → $GUEST_APS guest attempts/s"
BOARD_COUNT=$(api GET "/exams/$CODE" | json 'd["participant_count"]')
measure "GET /exams/{code}/scoreboard ($BOARD_COUNT participants)" "${LOAD[@]}" "$BASE/api/v1/exams/$CODE/scoreboard"
measure "GET /exams/{code}/scoreboard, 1 connection" -t 1 -c 1 -d "$DURATION" "$BASE/api/v1/exams/$CODE/scoreboard"

ATTEMPTS=$(api GET "/exams/$CODE" | json 'd["participant_count"]')
LISTED=$(api GET "/exams/$CODE/scoreboard" | json 'len(d["participants"])')
[ "$ATTEMPTS" = "$LISTED" ] || { echo "the participant count $ATTEMPTS is not the $LISTED participants listed" >&2; exit 1; }

mkdir -p "$ROOT/bench/results"
RESULT="$ROOT/bench/results/quiz-$ENGINE.md"
# Figures of a debug build are no figures: keep them out of bench/results.
[ "$PROFILE" = release ] || RESULT="$WORK/quiz-$ENGINE.md"
{
  echo "# Quiz benchmark on $ENGINE"
  echo
  echo "\`bench/quiz.sh $ENGINE\` on $(date -u +%Y-%m-%d), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)," \
    "$(nproc) cores, $PROFILE build; wrk $THREADS threads, $CONNECTIONS connections, $DURATION per row" \
    "(the last row: one connection). Server and wrk share the machine."
  echo
  echo "One exam of $QUESTIONS questions with $PARTICIPANTS participants (bulk-inserted in ${SEED_SECONDS}s)." \
    "The scoreboard answer is $BOARD_BYTES bytes. A lone scoreboard request (median of 10 with curl) takes" \
    "${MISS_MS} ms right after a submission (read from the database) and ${HIT_MS} ms when nothing changed" \
    "(served from the cache, as in the wrk rows below, which run after the submissions)."
  echo
  echo "| endpoint | req/s | p50 | p99 |"
  echo "|---|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "Guests: $GUEST_LINE in $DURATION, that is **$GUEST_APS guest attempts/s** (each after creating" \
    "its guest in the same run), next to the members' first attempts above" \
    "($(echo "$MEMBER_RPS" | awk -F'|' '{gsub(/ /, "", $3); print $3}') req/s, sessions seeded; a member's sign-up costs an Argon2id hash, a guest none)." \
    "After the runs the exam counts $ATTEMPTS participants, exactly the $LISTED on its scoreboard."
} >"$RESULT"
echo
cat "$RESULT"
