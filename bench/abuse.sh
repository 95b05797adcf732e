#!/usr/bin/env bash
# bench/abuse.sh: ipmat under abuse (release binary, MariaDB). Writes bench/results/abuse.txt.
#
#   bench/abuse.sh                      (IPMAT_BIN=... to use a given binary, see bench/lib.sh)
#
# Phases, each against one server over a fresh MariaDB database:
#   1. slowloris: ABUSE_SLOW (default 20000) connections sending a partial head slowly, while a
#      probe GETs /api/v1/books on fresh connections; the probe's p99 and status counts;
#   2. extreme images: ABUSE_UPLOADS (10) parallel uploads of the worst accepted image (a
#      40 MP transparent RGBA PNG) and of refused ones (40,000,000×1; 16-bit 36 MP), the peak RSS
#      of the server (once with the CPUs of this machine, once pinned to one CPU, as a swarm
#      replica capped at 0.5 CPU sees it), and a probe meanwhile;
#   3. a frozen database: the server reaches MariaDB through a socat proxy whose process group
#      is stopped with SIGSTOP (the shared MariaDB itself is never touched): time to the first
#      503, p99 of requests while frozen, time to recover after SIGCONT;
#   4. login/signup floods: bench/auth-flood.sh when present (written with the log-in throttle).
# Peak RSS is sampled from /proc every 50 ms over each phase.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
py="python3 $here/abuse.py"
out="$here/results/abuse.txt"
slow="${ABUSE_SLOW:-20000}"
uploads="${ABUSE_UPLOADS:-10}"
phases="${ABUSE_PHASES:-1 2 3 4}"   # a subset, e.g. ABUSE_PHASES="2 3"
phase() { [[ " $phases " == *" $1 "* ]]; }
command -v socat >/dev/null || bench_die "socat is required (apt-get install -y socat)"
# Room for the slowloris connections on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
BENCH_SERVER_ENV="${BENCH_SERVER_ENV:-} IPMAT_MAX_CONNECTIONS=8192 IPMAT_LOG=warn"

report() { printf '%s\n' "$*" | tee -a "$out"; }
: >"$out"
bench_binary
report "# ipmat abuse benchmark — $(date -u +%Y-%m-%dT%H:%MZ)"
info="$BENCH_BIN_INFO"
[ -z "${IPMAT_BIN:-}" ] || info="$IPMAT_BIN (given as IPMAT_BIN), built $(date -u -r "$IPMAT_BIN" +%Y-%m-%dT%H:%MZ)"
report "binary: $info; machine: $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)" MiB"}' /proc/meminfo)"
report "open files: $(ulimit -n)"
report ""

# --- 1. slowloris -------------------------------------------------------------------------
if phase 1; then
bench_server_start mariadb
report "## slowloris: $slow slow connections (partial head, a header line every 5 s)"
$py rss "$BENCH_PID" 40 >"$BENCH_WORK/rss" &
rss_pid=$!
$py slowloris "$BENCH_URL" "$slow" 35 >"$BENCH_WORK/slow" &
slow_pid=$!
sleep 5
report "probe GET /api/v1/books during the flood: $($py probe "$BENCH_URL" /api/v1/books 25)"
wait "$slow_pid" || true
wait "$rss_pid" || true
report "attacker: $(cat "$BENCH_WORK/slow")"
report "peak RSS: $(cat "$BENCH_WORK/rss") MiB"
report "connections: $(curl -fsS "$BENCH_URL/metrics" | grep -E '^ipmat_http_connections_(shed|timed_out|accepted)_total' | tr '\n' ' ')"
bench_server_stop
report ""
fi

# --- 2. extreme images --------------------------------------------------------------------
if phase 2; then
images="$BENCH_ROOT/images"
mkdir -p "$images"
$py png 6324 6324 8 "$images/rgba-40mp.png"
$py png 4472 4472 16 "$images/rgba16-20mp.png"
python3 - "$images" <<'EOF'
import struct, sys, zlib
def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
for name, (w, h, bits) in {"line.png": (40_000_000, 1, 8), "deep36mp.png": (6000, 6000, 16)}.items():
    with open(f"{sys.argv[1]}/{name}", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, 6, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
EOF
for pin in "" "taskset -c 0"; do
  label="all $(nproc) CPUs"
  [ -z "$pin" ] || label="pinned to 1 CPU"
  if [ -n "$pin" ]; then
    real_bin="$BENCH_BIN"
    printf '#!/bin/sh\nexec taskset -c 0 %s "$@"\n' "$real_bin" >"$BENCH_ROOT/pinned"
    chmod +x "$BENCH_ROOT/pinned"
    BENCH_BIN="$BENCH_ROOT/pinned"
  fi
  bench_server_start mariadb
  [ -z "$pin" ] || BENCH_BIN="$real_bin"
  # With the wrapper, BENCH_PID is the exec'd server itself.
  token="$(bench_admin_token)"
  report "## images ($label): $uploads parallel uploads each"
  base="$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$BENCH_PID/status")"
  report "RSS before: $base MiB"
  for file in rgba-40mp.png rgba16-20mp.png line.png deep36mp.png; do
    $py rss "$BENCH_PID" 90 >"$BENCH_WORK/rss-$file" &
    rss_pid=$!
    $py probe "$BENCH_URL" /api/v1/books 8 >"$BENCH_WORK/probe-$file" &
    probe_pid=$!
    result="$($py upload "$BENCH_URL" "$token" "$images/$file" "$uploads")"
    wait "$probe_pid" || true
    kill "$rss_pid" 2>/dev/null || true
    wait "$rss_pid" 2>/dev/null || true
    peak="$(cat "$BENCH_WORK/rss-$file" 2>/dev/null || echo '?')"
    report "$file ($(du -k "$images/$file" | cut -f1) KiB): uploads $result; probe $(cat "$BENCH_WORK/probe-$file")"
    report "  peak RSS so far: $(awk '/VmHWM/ {print int($2/1024)}' "/proc/$BENCH_PID/status") MiB (VmHWM)"
  done
  bench_server_stop
  report ""
done
fi

# --- 3. a frozen database -----------------------------------------------------------------
if phase 3; then
report "## frozen database (socat proxy stopped with SIGSTOP)"
proxy_port="$(bench_free_port)"
setsid socat "TCP-LISTEN:$proxy_port,fork,reuseaddr,bind=127.0.0.1" "TCP:127.0.0.1:3306" &
proxy_pid=$!
sleep 0.5
real_mysql="$BENCH_MYSQL_URL"
BENCH_MYSQL_URL="mysql://root@127.0.0.1:$proxy_port"
bench_server_start mariadb
BENCH_MYSQL_URL="$real_mysql"
report "healthy: $($py flood "$BENCH_URL" /api/v1/categories 50)"
kill -STOP -- "-$proxy_pid"
start=$(date +%s.%N)
first="$($py flood "$BENCH_URL" /api/v1/categories 1)"
t_first=$(echo "$(date +%s.%N) - $start" | bc)
report "first request after the freeze: $first (after ${t_first}s)"
sleep 3
report "while frozen, 200 parallel: $($py flood "$BENCH_URL" /api/v1/categories 200)"
report "while frozen, probe 5 s: $($py probe "$BENCH_URL" /api/v1/categories 5)"
kill -CONT -- "-$proxy_pid"
start=$(date +%s.%N)
until curl -fsS -o /dev/null --max-time 2 "$BENCH_URL/api/v1/categories" 2>/dev/null; do
  sleep 0.1
  [ "$(echo "$(date +%s.%N) - $start > 60" | bc)" = 1 ] && break
done
report "recovered after SIGCONT in $(echo "$(date +%s.%N) - $start" | bc)s"
bench_server_stop
kill -- "-$proxy_pid" 2>/dev/null || true
report ""
fi

# --- 4. login and signup floods -----------------------------------------------------------
if ! phase 4; then
  :
elif [ -x "$here/auth-flood.sh" ]; then
  report "## login/signup floods (bench/auth-flood.sh)"
  "$here/auth-flood.sh" | tee -a "$out"
else
  report "## login/signup floods: bench/auth-flood.sh is not on this branch; not measured here"
fi
bench_log "wrote $out"
