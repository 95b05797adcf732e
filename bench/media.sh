#!/usr/bin/env bash
# bench/media.sh: how long the release server takes to store a 12-megapixel phone photo
# (issue #5).
#
# bench/media/ writes a 4032×3024 photo-like JPEG (noisy gradient, quality 90, EXIF
# orientation 6 as phones write in portrait). The release server (SQLite, local media) then
# receives it BENCH_UPLOADS times (default 20, after 2 warm-up uploads) at
# POST /api/v1/images, one at a time, with curl. Two figures per upload:
#   - request: curl's total time (upload over loopback, multipart parsing, decode, EXIF
#     rotation, Lanczos3 resize to 450×600, JPEG encode, write to disk, answer);
#   - processing: the server's own `process_ms` log field (decode to encode, on the blocking
#     pool), read from its JSON log.
# Results go to bench/results/media.md (min / median / max). Settings: bench/lib.sh; the
# photo size can be changed with BENCH_PHOTO_SIZE="WIDTH HEIGHT".
set -euo pipefail
: "${BENCH_UPLOADS:=20}"
: "${BENCH_PHOTO_SIZE:=4032 3024}"
export BENCH_SERVER_ENV="${BENCH_SERVER_ENV:-} IPMAT_LOG=warn,ipmat::media=info IPMAT_LOG_FORMAT=json"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || bench_die "jq is needed" || exit 1
bench_binary

helper_target="$CARGO_TARGET_DIR/media-bench"
(cd "$BENCH_DIR/media" && CARGO_TARGET_DIR="$helper_target" cargo build --release --locked -q >&2) ||
  bench_die "building bench/media failed" || exit 1
photo="$BENCH_ROOT/phone.jpg"
# shellcheck disable=SC2086
"$helper_target/release/ipmat-media-bench" "$photo" $BENCH_PHOTO_SIZE
photo_bytes="$(wc -c <"$photo")"

bench_server_start sqlite
token="$(bench_admin_token)"

upload() { # prints "STATUS SECONDS"
  curl -sS -o "$BENCH_ROOT/upload.json" -w '%{http_code} %{time_total}\n' \
    -H "Authorization: Bearer $token" -F "file=@$photo;type=image/jpeg" \
    "$BENCH_URL/api/v1/images"
}

for _ in 1 2; do upload >/dev/null; done
bench_wait_quiet
times="$BENCH_ROOT/times"
: >"$times"
before="$(_bench_cpu_ticks "$BENCH_PID" "$BASHPID")"
for i in $(seq 1 "$BENCH_UPLOADS"); do
  read -r status seconds < <(upload)
  [ "$status" = 201 ] || bench_die "upload $i answered $status: $(cat "$BENCH_ROOT/upload.json")" || exit 1
  awk -v s="$seconds" 'BEGIN { printf "%.1f\n", s * 1000 }' >>"$times"
done
read -r others_cpu _ < <(_bench_others_cpu "$before" "$(_bench_cpu_ticks "$BENCH_PID" "$BASHPID")")
answer="$(cat "$BENCH_ROOT/upload.json")"
stored_bytes="$(curl -fsS -o /dev/null -w '%{size_download}' "$BENCH_URL$(jq -r .url <<<"$answer")")"

# The last BENCH_UPLOADS log lines are the measured uploads (the warm-up ones come first).
processing="$BENCH_ROOT/processing"
jq -r 'select(.message == "stored an uploaded image") | .process_ms' "$BENCH_WORK/server.log" |
  tail -n "$BENCH_UPLOADS" | awk '{ printf "%.1f\n", $1 }' >"$processing"
[ "$(wc -l <"$processing")" -eq "$BENCH_UPLOADS" ] ||
  bench_die "expected $BENCH_UPLOADS log lines with process_ms in $BENCH_WORK/server.log" || exit 1

stats() { # FILE: prints "min median max" (the lower middle value for an even count)
  sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%s %s %s\n", v[1], v[int((NR + 1) / 2)], v[NR] }'
}
read -r req_min req_med req_max < <(stats "$times")
read -r proc_min proc_med proc_max < <(stats "$processing")
bench_server_stop

out="$BENCH_DIR/results/media.md"
{
  printf '# Image upload: a 12-megapixel phone photo\n\n'
  printf -- '- date: %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)"
  printf -- '- machine: %s; curl runs on the same machine as the server\n' "$(_bench_machine)"
  printf -- '- server: %s; SQLite, media on local disk\n' "$BENCH_BIN_INFO"
  # shellcheck disable=SC2086
  printf -- '- photo: %s×%s JPEG, quality 90, EXIF orientation 6, %s bytes (bench/media/)\n' $BENCH_PHOTO_SIZE "$photo_bytes"
  printf -- '- stored: %s (%s bytes)\n' "$(jq -c '{width, height}' <<<"$answer")" "$stored_bytes"
  printf -- '- %s uploads one after another, after 2 warm-up uploads; other CPU during them: %s%% of the machine\n' "$BENCH_UPLOADS" "$others_cpu"
  printf '\n| figure | min ms | median ms | max ms |\n|---|---:|---:|---:|\n'
  printf '| request (curl total: upload, parse, process, store, answer) | %s | %s | %s |\n' "$req_min" "$req_med" "$req_max"
  printf '| processing (server log `process_ms`: decode, rotate, resize, encode) | %s | %s | %s |\n' "$proc_min" "$proc_med" "$proc_max"
} >"$out"
bench_log "wrote $out"
cat "$out"
