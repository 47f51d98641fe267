#!/usr/bin/env bash
# bench/bench_pg.sh ROWS: PostgreSQL -> PostgreSQL audit speed and memory against the read
# limit, measured in one run on the same tables.
#
#   read limit = wall time of `COPY table TO STDOUT (FORMAT binary)` of the source and the
#                target table, run at the same time (the audit reads both sides at once)
#   audit      = wall time of `crosscheck audit` of the same pair (release build), with
#                peak RSS from GNU time
#
# Prints one Markdown table row: rows, read limit (sequential, concurrent), audit, the two
# ratios, peak RSS, differences found (0.1% deleted + 0.1% changed are planted), load.
set -euo pipefail
ROWS=${1:-1000000}
cd "$(dirname "$0")/.."
BUILD=${CROSSCHECK_BENCH_BUILD:-build-release}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null
eval "$(./ci/servers start 2>/dev/null)"
export PGOPTIONS="-c client_min_messages=warning"

SRC=${CROSSCHECK_PG_URI%/*}/bench
TGT=${CROSSCHECK_PG2_URI%/*}/bench
TABLE=bench_$ROWS

load() { # load URI: the table, identical on both sides but for planted drift
	psql "$1" -qAt -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE IF NOT EXISTS $TABLE (
  id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(14,2), rate double precision,
  label text, created timestamptz, flag boolean, ref uuid);
TRUNCATE $TABLE;
INSERT INTO $TABLE
SELECT g, g % 100000, (g % 100000) * 1.01, g / 7.0, 'label-' || g,
       timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second', g % 2 = 0,
       md5(g::text)::uuid
  FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE $TABLE;
SQL
}

for admin in "$CROSSCHECK_PG_URI" "$CROSSCHECK_PG2_URI"; do
	psql "$admin" -qAt -c "SELECT 1 FROM pg_database WHERE datname = 'bench'" | grep -q 1 ||
		psql "$admin" -qAt -c "CREATE DATABASE bench"
done
if [ "$(psql "$TGT" -qAt -c "SELECT count(*) FROM pg_class WHERE relname = '$TABLE'")" = 0 ] ||
	[ "$(psql "$TGT" -qAt -c "SELECT count(*) FROM $TABLE")" != "$((ROWS - ROWS / 1000))" ]; then
	load "$SRC"
	load "$TGT"
	# 0.1% drift: deletes, and as many changed amounts
	psql "$TGT" -qAt -c "DELETE FROM $TABLE WHERE id % 1000 = 7" \
		-c "UPDATE $TABLE SET amount = amount + 1 WHERE id % 1000 = 9" -c "VACUUM ANALYZE $TABLE"
fi

now() { date +%s.%N; }

# warm the caches once, then measure the read limit two ways: both tables one after the
# other (the time to read both tables), and both at once (as the audit reads them)
psql "$SRC" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null
psql "$TGT" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null
t0=$(now)
psql "$SRC" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null
psql "$TGT" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null
t1=$(now)
seq_limit=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
psql "$SRC" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null &
psql "$TGT" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null &
wait
t1=$(now)
limit=$(echo "$t1 - $t0" | bc -l)

STORE=$(mktemp -d)/bench.db
t0=$(now)
/usr/bin/time -v -o "$STORE.time" "$BUILD/crosscheck" audit --store "$STORE" \
	--source "$SRC" --target "$TGT" --table "$TABLE" --jobs "${JOBS:-2}" \
	--recheck-delay 0 --recheck-attempts 1 --no-progress >"$STORE.out" 2>&1 || true
t1=$(now)
audit=$(echo "$t1 - $t0" | bc -l)
rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$STORE.time")
diffs=$("$BUILD/crosscheck" failures --store "$STORE" --state confirmed --json | grep -o '"kind"' | wc -l)
ratio=$(echo "$audit / $limit" | bc -l)
seq_ratio=$(echo "$audit / $seq_limit" | bc -l)
load=$(cut -d' ' -f1 /proc/loadavg)
printf '| PostgreSQL → PostgreSQL | %s | %.2f s | %.2f s | %.2f s | %.2f× | %.2f× | %.1f MB | %s | %s |\n' \
	"$ROWS" "$seq_limit" "$limit" "$audit" "$seq_ratio" "$ratio" \
	"$(echo "$rss_kb / 1024" | bc -l)" "$diffs" "$load"
rm -rf "$(dirname "$STORE")"
