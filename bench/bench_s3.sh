#!/usr/bin/env bash
# bench/bench_s3.sh ROWS CHANGES [GZIP]: PostgreSQL -> S3 target in the DMS layout
# (file://), audit time and memory against the read limit, measured in one run.
#
# The layout is made from the real table: LOAD files from COPY (1M rows each, the DMS CSV
# dialect: timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", booleans true/false), then CHANGES
# updates applied to the source and written as U rows in CDC files of 100k rows (the rows
# as they are after the update, which is what DMS writes), so the replay is exact; then
# 0.01% drift planted in the files (changed amounts in a LOAD file, deleted rows).
#
#   read limit = wall time of reading (and gunzipping) every object to /dev/null while the
#                source's COPY runs at the same time (the audit reads both at once)
#   audit      = wall time of `crosscheck audit` (release build), peak RSS from GNU time,
#                and the spill files' peak size from the audit's own log line
#
# Prints one Markdown table row.
set -euo pipefail
ROWS=${1:-10000000}
CHANGES=${2:-1000000}
GZ=${3:-}
cd "$(dirname "$0")/.."
BUILD=${CROSSCHECK_BENCH_BUILD:-build-release}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null
eval "$(./ci/servers start 2>/dev/null)"
export PGOPTIONS="-c client_min_messages=warning"
SRC=${CROSSCHECK_PG_URI%/*}/bench
TABLE=bench_s3_$ROWS
DIR=${CROSSCHECK_BENCH_DIR:-/tmp/crosscheck-bench-s3}/$TABLE${GZ:+_gz}
FOLDER=$DIR/public/$TABLE

psql "$CROSSCHECK_PG_URI" -qAt -c "SELECT 1 FROM pg_database WHERE datname = 'bench'" | grep -q 1 ||
	psql "$CROSSCHECK_PG_URI" -qAt -c "CREATE DATABASE bench"

# the DMS text of a row: what dms_s3_writer.py writes, in one SELECT list
COLS="id, account, amount, rate, label, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), CASE WHEN flag THEN 'true' ELSE 'false' END, ref"

if [ ! -f "$DIR/.done" ]; then
	rm -rf "$DIR"
	mkdir -p "$FOLDER"
	psql "$SRC" -qAt -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS $TABLE;
CREATE TABLE $TABLE (
  id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(14,2), rate double precision,
  label text, created timestamptz, flag boolean, ref uuid);
INSERT INTO $TABLE
SELECT g, g % 100000, (g % 100000) * 1.01, g / 7.0, 'label-' || g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 2 = 0,
       md5(g::text)::uuid
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE $TABLE;
SQL
	per=1000000
	n=0
	for ((lo = 1; lo <= ROWS; lo += per)); do
		n=$((n + 1))
		f=$(printf '%s/LOAD%08X.csv' "$FOLDER" "$n")
		psql "$SRC" -qAt -c "COPY (SELECT $COLS FROM $TABLE WHERE id >= $lo AND id < $((lo + per)) ORDER BY id) TO STDOUT (FORMAT csv)" >"$f"
	done
	# CHANGES updates spread over the table, as CDC files of 100k U rows in time order
	step=$((ROWS / CHANGES))
	psql "$SRC" -qAt -c "UPDATE $TABLE SET amount = amount + 1, label = label || '-u' WHERE id % $step = 3" -c "VACUUM ANALYZE $TABLE"
	cdc=100000
	k=0
	for ((lo = 0; lo < CHANGES; lo += cdc)); do
		k=$((k + 1))
		f=$(printf '%s/20240809-19%02d%02d000.csv' "$FOLDER" $((k / 60)) $((k % 60)))
		psql "$SRC" -qAt -c "COPY (SELECT 'U', $COLS FROM $TABLE WHERE id % $step = 3 ORDER BY id OFFSET $lo LIMIT $cdc) TO STDOUT (FORMAT csv)" >"$f"
	done
	# drift in the files: 0.01% of the rows changed in the first LOAD file, as many deleted
	python3 - "$FOLDER/LOAD00000001.csv" <<'PY'
import sys
p = sys.argv[1]
out = []
with open(p) as f:
    for i, line in enumerate(f):
        if i % 10000 == 5:
            continue                      # deleted: missing on the target
        if i % 10000 == 7:
            parts = line.split(",")
            parts[2] = "0.00"             # changed amount
            line = ",".join(parts)
        out.append(line)
open(p, "w").writelines(out)
PY
	if [ -n "$GZ" ]; then
		gzip -1 "$FOLDER"/*.csv
	fi
	touch "$DIR/.done"
fi

now() { date +%s.%N; }
bytes=$(du -sb "$DIR" | cut -f1)
objects=$(find "$FOLDER" -type f | wc -l)
read_objects() { # every object to /dev/null, gunzipped where gzip
	for f in "$FOLDER"/*; do
		case "$f" in *.gz) gzip -dc "$f" ;; *) cat "$f" ;; esac
	done >/dev/null
}
# warm the caches, then the read limit: the objects and the source's COPY at once
read_objects
psql "$SRC" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null
t0=$(now)
read_objects &
psql "$SRC" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null &
wait
t1=$(now)
limit=$(echo "$t1 - $t0" | bc -l)

STORE=$(mktemp -d)/bench.db
t0=$(now)
/usr/bin/time -v -o "$STORE.time" "$BUILD/crosscheck" -v audit --store "$STORE" \
	--source "$SRC" --target "file://$DIR" --table "public.$TABLE" --jobs "${JOBS:-2}" \
	--recheck-delay 0 --recheck-attempts 1 --no-progress >"$STORE.out" 2>&1 || true
t1=$(now)
audit=$(echo "$t1 - $t0" | bc -l)
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$STORE.time")
spill=$(grep -o 'spill files peaked at [0-9.]* MB' "$STORE.out" | grep -o '[0-9.]* MB' | head -1)
replay=$(grep -o 'keys ([0-9]* deleted) in [0-9.]* s' "$STORE.out" | grep -o 'in [0-9.]* s' | head -1)
diffs=$("$BUILD/crosscheck" failures --store "$STORE" --state confirmed --json | grep -o '"kind"' | wc -l)
ratio=$(echo "$audit / $limit" | bc -l)
printf '| %d + %d CDC%s | %d objects, %.0f MB | %.1f s | %.1f s (replay %s) | %.2fx | %.0f MB | %s | %d |\n' \
	"$ROWS" "$CHANGES" "${GZ:+ (gzip)}" "$objects" "$(echo "$bytes / 1000000" | bc -l)" "$limit" \
	"$audit" "${replay#in }" "$ratio" "$(echo "$rss_kb / 1024" | bc -l)" "$spill" "$diffs"
grep -E "error|warning" "$STORE.out" | head -5 >&2 || true
