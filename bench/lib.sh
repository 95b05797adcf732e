# shellcheck shell=bash
# bench/lib.sh: shared helpers of ipmat's load benchmarks. Source it from a bench script:
#
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     bench_require_wrk
#     bench_server_start sqlite            # sets BENCH_URL, BENCH_DB_URL, ...
#     bench_wrk /api/v1/books              # sets BENCH_RPS, BENCH_P50, BENCH_P99, ...
#     bench_results_init "$BENCH_DIR/results/x.md" "Title"
#     bench_results_row  "$BENCH_DIR/results/x.md" sqlite "GET /api/v1/books"
#     bench_server_stop                    # stops it, drops the database, removes temp files
#
# Sourcing installs an EXIT/INT/TERM trap that stops whatever is still running and drops the
# database (bench_cleanup, which turns `set -e` off); a script that sets its own trap must
# call bench_cleanup in it.
#
# Settings (environment, with defaults):
#   BENCH_CONNECTIONS=32 BENCH_THREADS=2 BENCH_DURATION=10s BENCH_WARMUP=2s  wrk settings
#   BENCH_RUNS=1            measured runs per figure
#   BENCH_PICK=median       which run is kept: median (by req/s; the lower middle one for an
#                           even count) or best (highest req/s: on a machine shared with other
#                           work, the run least disturbed by it)
#   BENCH_TIMEOUT=2s        wrk's per-request timeout (a slower answer counts as a timeout)
#   CARGO_TARGET_DIR=/var/tmp/ipmat-target   where the release binary is built
#   IPMAT_BIN               use this ipmat binary instead of building/locating one
#   BENCH_BUILD=auto        auto: build only if the release binary is missing; always: run
#                           `cargo build --release --locked` first; never: fail if missing
#   BENCH_MYSQL_URL=mysql://root@127.0.0.1:3306       MariaDB server (user root, no password)
#   BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432
#   BENCH_READY_TIMEOUT=180 seconds to wait for /readyz after start (seeding included)
#   BENCH_QUIET_WAIT=0      before each measured run, wait up to this many seconds for other
#   BENCH_QUIET_PCT=10      work to use < BENCH_QUIET_PCT % of the machine (bench_wait_quiet)
#   BENCH_SERVER_ENV        extra "NAME=value" words passed to the server's environment
#
# Functions (all fail with a message on stderr and a non-zero status):
#   bench_require_wrk             installs wrk with apt-get (after apt-get update) if missing
#   bench_binary                  sets BENCH_BIN to a private copy of the release binary
#                                 (copied once per script run, so that a rebuild by someone
#                                 else mid-run cannot change what is measured) and
#                                 BENCH_BIN_INFO (build time, commit); call it directly, not
#                                 in $(...), or the variables are lost
#   bench_bare_binary             builds bench/bare (CARGO_TARGET_DIR=$CARGO_TARGET_DIR/bare)
#                                 and prints its path
#   bench_free_port               prints a free TCP port on 127.0.0.1
#   bench_ensure_engine ENGINE    starts MariaDB/PostgreSQL if they are installed but down
#   bench_server_start ENGINE     ENGINE = sqlite | mariadb | postgres. Fresh database (a
#                                 temp SQLite file or a new database on the server), temp
#                                 media dir, free port; waits for GET /readyz = 200. Sets
#                                 BENCH_URL (http://127.0.0.1:PORT), BENCH_PID, BENCH_ENGINE,
#                                 BENCH_DB_URL, BENCH_DB_NAME, BENCH_WORK (temp dir, with
#                                 server.log). One ipmat server at a time.
#   bench_server_stop             SIGTERM (SIGKILL after 25 s), drop the database, rm temp dir
#   bench_ipmat ARGS...           runs the same binary as a CLI against the running server's
#                                 database/storage (e.g. `bench_ipmat user create bob --admin`)
#   bench_admin_token [NAME]      creates an admin account (default "benchadmin") and prints a
#                                 bearer token from POST /api/v1/auth/login
#   bench_curl METHOD PATH [JSON] [TOKEN]   one request to BENCH_URL; prints the body; fails
#                                 on a status >= 400 (PATH may also be a full URL)
#   bench_body_size URL           prints the size in bytes of GET URL's body
#   bench_bare_start BODY_FILE    starts the bare axum reference serving BODY_FILE at GET /;
#                                 sets BENCH_BARE_URL, BENCH_BARE_PID
#   bench_bare_stop
#   bench_wrk PATH_OR_URL [LUA_SCRIPT [SCRIPT_ARGS...]]
#                                 a warm-up run (BENCH_WARMUP, output discarded), then
#                                 BENCH_RUNS measured runs with --latency (each after
#                                 bench_wait_quiet). A PATH is relative to BENCH_URL. Sets
#                                 from the run that BENCH_PICK keeps: BENCH_RPS, BENCH_P50,
#                                 BENCH_P99 (milliseconds), BENCH_REQUESTS, BENCH_NON2XX (wrk's
#                                 "Non-2xx or 3xx responses", i.e. status >= 400),
#                                 BENCH_SOCKET_ERRORS (connect+read+write+timeout),
#                                 BENCH_SOCKET_DETAIL, BENCH_SERVER_US (CPU time the server
#                                 under test spent per request, in µs: user + system, all
#                                 threads; steadier than req/s on a busy machine),
#                                 BENCH_OTHERS_CPU (share in % of the
#                                 machine's CPU time that anything but wrk and the server
#                                 under test used during the run: noise from other work;
#                                 the server is BENCH_TARGET_PID, else BENCH_BARE_PID for
#                                 BENCH_BARE_URL, else BENCH_PID), BENCH_RPS_ALL (every run's
#                                 req/s) and BENCH_WRK_OUT (file with wrk's raw output).
#   bench_results_init FILE TITLE [NOTE...]  (re)writes FILE with a header: date, machine,
#                                 binary, wrk settings, NOTE lines, and the table head
#   bench_results_row FILE ENGINE ENDPOINT [BODY_BYTES [EXTRA]]   appends one table row
#                                 from the last bench_wrk; EXTRA is a free last column
#   bench_wait_quiet              see BENCH_QUIET_WAIT (called by bench_wrk)
#   bench_log MESSAGE             prints "[bench] MESSAGE" to stderr

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_REPO="$(cd "$BENCH_DIR/.." && pwd)"

: "${BENCH_CONNECTIONS:=32}"
: "${BENCH_THREADS:=2}"
: "${BENCH_DURATION:=10s}"
: "${BENCH_WARMUP:=2s}"
: "${BENCH_RUNS:=1}"
: "${BENCH_PICK:=median}"
: "${BENCH_TIMEOUT:=2s}"
: "${BENCH_BUILD:=auto}"
: "${BENCH_MYSQL_URL:=mysql://root@127.0.0.1:3306}"
: "${BENCH_POSTGRES_URL:=postgres://postgres@127.0.0.1:5432}"
: "${BENCH_READY_TIMEOUT:=180}"
: "${BENCH_SERVER_ENV:=}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ipmat-target}"

BENCH_PID=""
BENCH_BARE_PID=""
BENCH_ENGINE=""
BENCH_DB_NAME=""
BENCH_WORK=""
BENCH_BIN=""
BENCH_BIN_INFO=""
BENCH_ROOT="$(mktemp -d "${TMPDIR:-/tmp}/ipmat-bench.XXXXXX")"

bench_log() { printf '[bench] %s\n' "$*" >&2; }
bench_die() {
  bench_log "error: $*"
  return 1
}

bench_require_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  bench_log "installing wrk with apt-get"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >&2 ||
    bench_die "cannot install wrk" || return 1
  command -v wrk >/dev/null 2>&1 || bench_die "wrk is still missing"
}

bench_binary() {
  [ -z "$BENCH_BIN" ] || return 0
  local src
  if [ -n "${IPMAT_BIN:-}" ]; then
    src="$IPMAT_BIN"
  else
    src="$CARGO_TARGET_DIR/release/ipmat"
    if [ "$BENCH_BUILD" = always ] || { [ "$BENCH_BUILD" = auto ] && [ ! -x "$src" ]; }; then
      bench_log "building the release binary in $CARGO_TARGET_DIR"
      (cd "$BENCH_REPO" && cargo build --release --locked >&2) ||
        bench_die "cargo build --release failed" || return 1
    fi
  fi
  [ -x "$src" ] || bench_die "no binary at $src (set IPMAT_BIN or BENCH_BUILD=auto)" || return 1
  cp "$src" "$BENCH_ROOT/ipmat" || bench_die "cannot copy $src" || return 1
  BENCH_BIN="$BENCH_ROOT/ipmat"
  local built commit
  built="$(date -u -r "$src" +%Y-%m-%dT%H:%MZ)"
  commit="$(git -C "$BENCH_REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git -C "$BENCH_REPO" status --porcelain --untracked-files=no -- src migrations Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    commit="$commit + uncommitted changes"
  fi
  BENCH_BIN_INFO="release build of $built; work tree at $commit"
}

bench_bare_binary() {
  local target="$CARGO_TARGET_DIR/bare"
  (cd "$BENCH_DIR/bare" && CARGO_TARGET_DIR="$target" cargo build --release --locked -q >&2) ||
    bench_die "building bench/bare failed" || return 1
  printf '%s\n' "$target/release/ipmat-bare-bench"
}

bench_free_port() {
  local port i
  for i in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  bench_die "no free port found"
}

_bench_mysql() { # SQL
  local rest="${BENCH_MYSQL_URL#mysql://}" user host port
  user="${rest%%@*}"
  rest="${rest#*@}"
  host="${rest%%:*}"
  port="${rest#*:}"
  port="${port%%/*}"
  mysql --protocol=tcp -h "$host" -P "$port" -u "$user" -e "$1"
}

_bench_psql() { # SQL
  psql "$BENCH_POSTGRES_URL/postgres" -q -v ON_ERROR_STOP=1 -c "$1" >/dev/null
}

bench_ensure_engine() {
  case "$1" in
    sqlite) return 0 ;;
    mariadb)
      _bench_mysql "SELECT 1" >/dev/null 2>&1 && return 0
      bench_log "starting MariaDB"
      start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >&2 || true
      for _ in $(seq 1 60); do
        _bench_mysql "SELECT 1" >/dev/null 2>&1 && return 0
        sleep 1
      done
      bench_die "MariaDB at $BENCH_MYSQL_URL is not reachable"
      ;;
    postgres)
      _bench_psql "SELECT 1" 2>/dev/null && return 0
      bench_log "starting PostgreSQL"
      local version
      for version in /etc/postgresql/*; do
        pg_ctlcluster --skip-systemctl-redirect "${version##*/}" main start >&2 || true
        break
      done
      for _ in $(seq 1 60); do
        _bench_psql "SELECT 1" 2>/dev/null && return 0
        sleep 1
      done
      bench_die "PostgreSQL at $BENCH_POSTGRES_URL is not reachable"
      ;;
    *) bench_die "unknown engine '$1' (sqlite | mariadb | postgres)" ;;
  esac
}

_bench_drop_database() {
  [ -n "$BENCH_DB_NAME" ] || return 0
  case "$BENCH_ENGINE" in
    mariadb) _bench_mysql "DROP DATABASE IF EXISTS $BENCH_DB_NAME" || bench_log "could not drop $BENCH_DB_NAME" ;;
    postgres) _bench_psql "DROP DATABASE IF EXISTS $BENCH_DB_NAME WITH (FORCE)" || bench_log "could not drop $BENCH_DB_NAME" ;;
  esac
  BENCH_DB_NAME=""
}

# The server's environment, as NAME=value words.
_bench_server_env() {
  # shellcheck disable=SC2086
  printf '%s\n' "IPMAT_DATABASE_URL=$BENCH_DB_URL" "IPMAT_STORAGE=file://$BENCH_WORK/media" \
    "IPMAT_LOG=${IPMAT_LOG:-warn}" "IPMAT_MODE=development" $BENCH_SERVER_ENV
}

bench_server_start() {
  local engine="$1" port
  [ -z "$BENCH_PID" ] || bench_die "a server is already running (pid $BENCH_PID)" || return 1
  bench_ensure_engine "$engine" || return 1
  bench_binary || return 1
  BENCH_ENGINE="$engine"
  BENCH_WORK="$(mktemp -d "$BENCH_ROOT/$engine.XXXXXX")"
  mkdir -p "$BENCH_WORK/media"
  case "$engine" in
    sqlite)
      BENCH_DB_NAME=""
      BENCH_DB_URL="sqlite://$BENCH_WORK/ipmat.db"
      ;;
    mariadb)
      BENCH_DB_NAME="ipmat_bench_$(date +%s)_$RANDOM"
      _bench_mysql "CREATE DATABASE $BENCH_DB_NAME CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" ||
        bench_die "cannot create the MariaDB database" || return 1
      BENCH_DB_URL="$BENCH_MYSQL_URL/$BENCH_DB_NAME"
      ;;
    postgres)
      BENCH_DB_NAME="ipmat_bench_$(date +%s)_$RANDOM"
      _bench_psql "CREATE DATABASE $BENCH_DB_NAME" ||
        bench_die "cannot create the PostgreSQL database" || return 1
      BENCH_DB_URL="$BENCH_POSTGRES_URL/$BENCH_DB_NAME"
      ;;
  esac
  port="$(bench_free_port)" || return 1
  BENCH_URL="http://127.0.0.1:$port"
  local -a env
  mapfile -t env < <(_bench_server_env)
  # Started from its temp dir so that no stray .env is read.
  (cd "$BENCH_WORK" && exec env "${env[@]}" IPMAT_BIND="127.0.0.1:$port" "$BENCH_BIN" serve) \
    >"$BENCH_WORK/server.log" 2>&1 &
  BENCH_PID=$!
  bench_log "ipmat ($engine) starting at $BENCH_URL, pid $BENCH_PID"
  local deadline=$((SECONDS + BENCH_READY_TIMEOUT))
  until curl -fsS -o /dev/null --max-time 2 "$BENCH_URL/readyz" 2>/dev/null; do
    if ! kill -0 "$BENCH_PID" 2>/dev/null; then
      tail -n 30 "$BENCH_WORK/server.log" >&2
      BENCH_PID=""
      bench_die "the $engine server exited before it was ready" || return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$BENCH_WORK/server.log" >&2
      bench_die "the $engine server was not ready within ${BENCH_READY_TIMEOUT}s" || return 1
    fi
    sleep 0.1
  done
  bench_log "ipmat ($engine) ready"
}

_bench_stop_pid() { # PID
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 250); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    bench_log "pid $pid did not stop within 25 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

bench_server_stop() {
  if [ -n "$BENCH_PID" ]; then
    _bench_stop_pid "$BENCH_PID"
    bench_log "ipmat ($BENCH_ENGINE) stopped"
  fi
  BENCH_PID=""
  _bench_drop_database
  [ -z "$BENCH_WORK" ] || rm -rf "$BENCH_WORK"
  BENCH_WORK=""
}

bench_ipmat() {
  [ -n "$BENCH_WORK" ] || bench_die "no server started" || return 1
  local -a env
  mapfile -t env < <(_bench_server_env)
  (cd "$BENCH_WORK" && env "${env[@]}" "$BENCH_BIN" "$@")
}

bench_curl() { # METHOD PATH [JSON] [TOKEN]
  local method="$1" url="$2" json="${3:-}" token="${4:-}" out code
  case "$url" in http*) ;; *) url="$BENCH_URL$url" ;; esac
  local -a args=(-sS -X "$method" -o "$BENCH_ROOT/curl.out" -w '%{http_code}')
  [ -z "$json" ] || args+=(-H 'Content-Type: application/json' --data "$json")
  [ -z "$token" ] || args+=(-H "Authorization: Bearer $token")
  code="$(curl "${args[@]}" "$url")" || bench_die "$method $url failed" || return 1
  out="$(cat "$BENCH_ROOT/curl.out")"
  if [ "$code" -ge 400 ]; then
    bench_die "$method $url answered $code: $out" || return 1
  fi
  printf '%s\n' "$out"
}

bench_admin_token() { # [NAME]
  local name="${1:-benchadmin}" password
  password="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  IPMAT_PASSWORD="$password" bench_ipmat user create "$name" --admin >/dev/null ||
    bench_die "cannot create the admin account" || return 1
  bench_curl POST /api/v1/auth/login "{\"username\":\"$name\",\"password\":\"$password\"}" |
    jq -er .token
}

bench_body_size() { # URL
  curl -fsS -o /dev/null -w '%{size_download}\n' "$1"
}

bench_bare_start() { # BODY_FILE
  local bin port
  bin="$(bench_bare_binary)" || return 1
  port="$(bench_free_port)" || return 1
  BENCH_BARE_URL="http://127.0.0.1:$port"
  "$bin" "127.0.0.1:$port" "$1" >"$BENCH_ROOT/bare.log" 2>&1 &
  BENCH_BARE_PID=$!
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null --max-time 2 "$BENCH_BARE_URL/" 2>/dev/null; do
    if ! kill -0 "$BENCH_BARE_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      cat "$BENCH_ROOT/bare.log" >&2
      bench_bare_stop
      bench_die "bare axum did not start"
      return 1
    fi
    sleep 0.1
  done
  bench_log "bare axum at $BENCH_BARE_URL, pid $BENCH_BARE_PID"
}

bench_bare_stop() {
  [ -z "$BENCH_BARE_PID" ] || _bench_stop_pid "$BENCH_BARE_PID"
  BENCH_BARE_PID=""
}

# wrk prints durations as 812.00us, 1.23ms, 2.01s, 1.00m; print milliseconds.
_bench_to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
    else if (u == "h") n *= 3600000;
    printf "%.2f\n", n }'
}

_bench_parse_wrk() { # FILE: sets the BENCH_* figures
  local f="$1" v
  BENCH_RPS="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$f")"
  BENCH_REQUESTS="$(awk '/ requests in / {print $1}' "$f")"
  v="$(awk '/Latency Distribution/ {d=1} d && $1 == "50%" {print $2; exit}' "$f")"
  BENCH_P50="$(_bench_to_ms "${v:-0}")"
  v="$(awk '/Latency Distribution/ {d=1} d && $1 == "99%" {print $2; exit}' "$f")"
  BENCH_P99="$(_bench_to_ms "${v:-0}")"
  BENCH_NON2XX="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$f")"
  BENCH_NON2XX="${BENCH_NON2XX:-0}"
  BENCH_SOCKET_DETAIL="$(sed -n 's/^ *Socket errors: //p' "$f")"
  BENCH_SOCKET_ERRORS="$(printf '%s' "$BENCH_SOCKET_DETAIL" | awk -F', ' '{s=0; for (i=1;i<=NF;i++) {split($i,a," "); s+=a[2]}; print s+0}')"
  BENCH_SOCKET_ERRORS="${BENCH_SOCKET_ERRORS:-0}"
  [ -n "$BENCH_RPS" ] || bench_die "could not parse wrk's output in $f"
}

# "all-CPU ticks, busy ticks, the target's ticks, the shell's waited-for children's ticks".
# Busy ticks leave out interrupt and softirq time, which the kernel charges to no process
# (loopback traffic is mostly softirq work done for wrk and the server).
_bench_cpu_ticks() { # TARGET_PID SHELL_PID
  local cpu target=0 children
  cpu="$(awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $2 + $3 + $4 + $9}' /proc/stat)"
  if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then
    target="$(sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}')"
  fi
  children="$(sed 's/^.*) //' "/proc/$2/stat" | awk '{print $14 + $15}')"
  printf '%s %s %s\n' "$cpu" "$target" "$children"
}

# Between two _bench_cpu_ticks readings: the share (%) of the machine's CPU time used by
# anything but the target and wrk (database servers count as others), and the target's ticks.
_bench_others_cpu() { # BEFORE AFTER
  awk -v b="$1" -v a="$2" 'BEGIN {
    split(b, x, " "); split(a, y, " ")
    total = y[1] - x[1]; others = (y[2] - x[2]) - (y[3] - x[3]) - (y[4] - x[4])
    if (others < 0) others = 0
    printf "%.0f %d\n", (total > 0 ? 100 * others / total : 0), y[3] - x[3] }'
}

# Waits (at most BENCH_QUIET_WAIT seconds, default 0) until other work on the machine uses
# less than BENCH_QUIET_PCT (default 10) % of its CPU over 3 s; then or at the deadline goes on.
bench_wait_quiet() {
  local max="${BENCH_QUIET_WAIT:-0}" pct="${BENCH_QUIET_PCT:-10}" start=$SECONDS b a busy
  [ "$max" -gt 0 ] || return 0
  while :; do
    b="$(awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $2 + $3 + $4 + $9}' /proc/stat)"
    sleep 3
    a="$(awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $2 + $3 + $4 + $9}' /proc/stat)"
    busy="$(awk -v b="$b" -v a="$a" 'BEGIN { split(b, x, " "); split(a, y, " "); printf "%.0f", 100 * (y[2] - x[2]) / (y[1] - x[1]) }')"
    [ "$busy" -ge "$pct" ] || return 0
    if [ $((SECONDS - start)) -ge "$max" ]; then
      bench_log "the machine is still ${busy}% busy after ${max}s; measuring anyway"
      return 0
    fi
    [ "$((SECONDS - start))" -gt 3 ] || bench_log "waiting up to ${max}s for a quiet machine (${busy}% busy)"
  done
}

bench_wrk() { # PATH_OR_URL [LUA_SCRIPT [SCRIPT_ARGS...]]
  local url="$1"
  shift
  case "$url" in http*) ;; *) url="$BENCH_URL$url" ;; esac
  local -a common=(-c "$BENCH_CONNECTIONS" -t "$BENCH_THREADS" --timeout "$BENCH_TIMEOUT")
  local -a script=()
  if [ $# -gt 0 ]; then
    script=(-s "$1")
    shift
  fi
  bench_log "wrk $url (${BENCH_CONNECTIONS} connections, ${BENCH_THREADS} threads, ${BENCH_WARMUP} warm-up + ${BENCH_RUNS} x ${BENCH_DURATION})"
  wrk "${common[@]}" -d "$BENCH_WARMUP" "${script[@]}" "$url" "$@" >"$BENCH_ROOT/warmup.out" 2>&1 ||
    { cat "$BENCH_ROOT/warmup.out" >&2; bench_die "wrk warm-up failed"; return 1; }
  local target="${BENCH_TARGET_PID:-}"
  if [ -z "$target" ]; then
    case "$url" in "${BENCH_BARE_URL:-none}"*) target="$BENCH_BARE_PID" ;; *) target="$BENCH_PID" ;; esac
  fi
  local i runs=() before self="$BASHPID"
  for i in $(seq 1 "$BENCH_RUNS"); do
    bench_wait_quiet
    before="$(_bench_cpu_ticks "$target" "$self")"
    wrk "${common[@]}" -d "$BENCH_DURATION" --latency "${script[@]}" "$url" "$@" \
      >"$BENCH_ROOT/wrk.$i.out" 2>&1 ||
      { cat "$BENCH_ROOT/wrk.$i.out" >&2; bench_die "wrk failed"; return 1; }
    _bench_others_cpu "$before" "$(_bench_cpu_ticks "$target" "$self")" >"$BENCH_ROOT/wrk.$i.others"
    _bench_parse_wrk "$BENCH_ROOT/wrk.$i.out" || return 1
    runs+=("$BENCH_RPS $i")
  done
  BENCH_RPS_ALL="$(printf '%s\n' "${runs[@]}" | cut -d' ' -f1 | paste -sd' ')"
  local keep=$(((BENCH_RUNS + 1) / 2))
  case "$BENCH_PICK" in
    median) ;;
    best) keep="$BENCH_RUNS" ;;
    *) bench_die "BENCH_PICK must be median or best" || return 1 ;;
  esac
  i="$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "${keep}p" | cut -d' ' -f2)"
  BENCH_WRK_OUT="$BENCH_ROOT/wrk.$i.out"
  read -r BENCH_OTHERS_CPU BENCH_SERVER_TICKS <"$BENCH_ROOT/wrk.$i.others"
  _bench_parse_wrk "$BENCH_WRK_OUT" || return 1
  BENCH_SERVER_US="$(awk -v t="$BENCH_SERVER_TICKS" -v n="$BENCH_REQUESTS" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')"
  bench_log "  $BENCH_RPS req/s (runs: $BENCH_RPS_ALL), p50 ${BENCH_P50} ms, p99 ${BENCH_P99} ms, non-2xx $BENCH_NON2XX, socket errors $BENCH_SOCKET_ERRORS, server CPU ${BENCH_SERVER_US} us/req, other CPU ${BENCH_OTHERS_CPU}%"
}

_bench_machine() {
  local cpu cores mem
  cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
  cores="$(nproc)"
  mem="$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  printf '%s, %s vCPU, %s RAM, Linux %s' "$cpu" "$cores" "$mem" "$(uname -r)"
}

bench_results_init() { # FILE TITLE [NOTE...]
  local file="$1" title="$2" wrkv
  shift 2
  mkdir -p "$(dirname "$file")"
  wrkv="$(wrk -v 2>&1 | awk 'NR == 1 {print $2}' || true)"
  {
    printf '# %s\n\n' "$title"
    printf -- '- date: %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
    printf -- '- machine: %s; wrk runs on the same machine as the server\n' "$(_bench_machine)"
    printf -- '- server: %s\n' "${BENCH_BIN_INFO:-n/a}"
    printf -- '- load: wrk %s, %s connections, %s threads, %s after a %s warm-up, --latency; %s run(s) per figure, the %s one by req/s kept\n' \
      "$wrkv" "$BENCH_CONNECTIONS" "$BENCH_THREADS" "$BENCH_DURATION" "$BENCH_WARMUP" "$BENCH_RUNS" "$BENCH_PICK"
    local note
    for note in "$@"; do printf -- '- %s\n' "$note"; done
    printf '\n| engine | endpoint | req/s | p50 ms | p99 ms | requests | non-2xx | socket errors | body bytes | server CPU µs/req | other CPU | note |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n'
  } >"$file"
}

bench_results_row() { # FILE ENGINE ENDPOINT [BODY_BYTES [EXTRA]]
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "$2" "$3" "$BENCH_RPS" "$BENCH_P50" "$BENCH_P99" "$BENCH_REQUESTS" "$BENCH_NON2XX" \
    "$BENCH_SOCKET_ERRORS" "${4:--}" "$BENCH_SERVER_US" "$BENCH_OTHERS_CPU%" "${5:-}" >>"$1"
}

bench_cleanup() {
  set +e # clean up as much as possible, whatever failed
  bench_bare_stop
  bench_server_stop
  [ -z "$BENCH_ROOT" ] || rm -rf "$BENCH_ROOT"
}

trap 'bench_cleanup' EXIT
trap 'bench_cleanup; exit 130' INT
trap 'bench_cleanup; exit 143' TERM
