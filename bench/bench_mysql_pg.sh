#!/usr/bin/env bash
# bench/bench_mysql_pg.sh ROWS: MariaDB -> PostgreSQL audit speed and memory against the
# read limit, measured in one run on the same tables (issue 3, must-show 5).
#
#   tables     = database bench_my on the CROSSCHECK_MYSQL_URI server (MariaDB) and on the
#                CROSSCHECK_PG_URI server (PostgreSQL), table bench_ROWS: bigint key, int,
#                decimal, double, varchar, datetime(6), tinyint(1), char(36) uuid (uuid on
#                PostgreSQL), generated on each side by the same arithmetic (MariaDB's
#                seq_1_to_N, PostgreSQL's generate_series), then drift planted on the
#                target: 0.1% of the rows deleted (id % 1000 = 7), 0.1% changed (id % 1000
#                = 9). The audit must find exactly those rows.
#   read limit = wall time of `mariadb --quick` reading the whole source table and of
#                `COPY table TO STDOUT (FORMAT binary)` of the target, at the same time
#                (the audit reads both sides at once) and one after the other
#   audit      = wall time of `crosscheck audit` (release build) of the pair, with peak RSS
#                and CPU (user+sys) from GNU time
#
# The machine is shared, so one measurement is noisy: the limit and the audit are measured
# REPEAT times (default 3), alternating, and the row gives the medians (the ratio is the
# median of each repetition's audit/limit, with its range), the largest peak RSS and the
# load average before and after. Prints one Markdown table row; each repetition on stderr:
#
# | pair | rows | limit (together) | limit (one after the other) | audit | ratio (range) |
#   crosscheck CPU | peak RSS | differences found (exact = the planted ones) | load avg |
#
# env: CROSSCHECK_BENCH_BUILD (default build-release), JOBS (default 2), REPEAT (3),
#      PARTITION_ROWS (the audit's --partition-rows; default: crosscheck's),
#      RELOAD=1 to reload the tables even when they look right.
set -euo pipefail
ROWS=${1:-1000000}
cd "$(dirname "$0")/.."
BUILD=${CROSSCHECK_BENCH_BUILD:-build-release}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null
[ -x /usr/bin/time ] || { echo "bench_mysql_pg: needs GNU time (ci/deps installs it)" >&2; exit 2; }
eval "$(./ci/servers start 2>/dev/null)"
export PGOPTIONS="-c client_min_messages=warning"

DB=bench_my
TABLE=bench_$ROWS
SRC=${CROSSCHECK_MYSQL_URI%/*}/$DB
TGT=${CROSSCHECK_PG_URI%/*}/$DB
. bench/lib_mysql.sh

say() { echo "bench_mysql_pg: $*" >&2; }
now() { date +%s.%N; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }

# planted drift: rows 1..ROWS with id % 1000 = R
planted() { if [ "$ROWS" -ge "$1" ]; then echo $(((ROWS - $1) / 1000 + 1)); else echo 0; fi; }
DELETED=$(planted 7)
CHANGED=$(planted 9)

load_pg() {
	# the same values as my_load_table (bench/lib_mysql.sh) makes on MariaDB
	psql "$TGT" -qAt -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS $TABLE;
CREATE TABLE $TABLE (
  id bigint PRIMARY KEY, account integer NOT NULL, amount numeric(14,2),
  rate double precision, label varchar(40) NOT NULL, created timestamp(6), flag boolean,
  ref uuid);
INSERT INTO $TABLE
SELECT g, g % 100000,
       CASE WHEN g % 97 = 0 THEN NULL ELSE (g % 100000) * 1.01 END,
       g::double precision / 7,
       'label-' || g,
       timestamp '2024-01-01 00:00:00' + g * interval '1 second'
         + (g * 7 % 1000000) * interval '1 microsecond',
       g % 2 = 0,
       md5(g::text)::uuid
  FROM generate_series(1, $ROWS) g;
-- the drift: deleted rows, and as many changed ones
DELETE FROM $TABLE WHERE id % 1000 = 7;
UPDATE $TABLE SET label = label || '~', rate = rate + 1 WHERE id % 1000 = 9;
VACUUM ANALYZE $TABLE;
SQL
}

psql "${CROSSCHECK_PG_URI}" -qAt -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 ||
	psql "${CROSSCHECK_PG_URI}" -qAt -c "CREATE DATABASE $DB"
my_rows=$(my_count "$DB" "$TABLE")
pg_rows=$(psql "$TGT" -qAt -c "SELECT count(*) FROM $TABLE" 2>/dev/null || echo none)
if [ "${RELOAD:-0}" = 1 ] || [ "$my_rows" != "$ROWS" ] || [ "$pg_rows" != "$((ROWS - DELETED))" ]; then
	say "loading $ROWS rows into MariaDB $DB.$TABLE and PostgreSQL $DB.$TABLE"
	t0=$(now)
	my_load_table "$DB" "$TABLE" "$ROWS" >/dev/null
	t1=$(now)
	load_pg
	t2=$(now)
	say "loaded: MariaDB $(printf %.1f "$(echo "$t1 - $t0" | bc -l)") s, PostgreSQL $(printf %.1f "$(echo "$t2 - $t1" | bc -l)") s"
fi

my_read() { "${MY[@]}" --quick --batch --skip-column-names -e "SELECT * FROM $DB.$TABLE" >/dev/null; }
pg_read() { psql "$TGT" -qAt -c "COPY $TABLE TO STDOUT (FORMAT binary)" >/dev/null; }

# warm the caches once, then REPEAT times (default 3): the read limit, both sides at once
# and one after the other, then the audit. The row gives the medians; each repetition is
# on stderr.
my_read
pg_read
WORK=$(mktemp -d /tmp/crosscheck-bench-my.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
REPEAT=${REPEAT:-3}
load_before=$(load_avg)
: >"$WORK/reps"
for rep in $(seq "$REPEAT"); do
	t0=$(now)
	my_read &
	pg_read &
	wait
	t1=$(now)
	limit=$(echo "$t1 - $t0" | bc -l)
	t0=$(now)
	my_read
	t1=$(now)
	pg_read
	t2=$(now)
	my_alone=$(echo "$t1 - $t0" | bc -l)
	pg_alone=$(echo "$t2 - $t1" | bc -l)
	sequential=$(echo "$t2 - $t0" | bc -l)

	STORE=$WORK/bench$rep.db
	t0=$(now)
	status=0
	/usr/bin/time -v -o "$WORK/time" "$BUILD/crosscheck" audit --store "$STORE" \
		--source "$SRC" --target "$TGT" --table "$TABLE" --target-table "public.$TABLE" \
		--jobs "${JOBS:-2}" ${PARTITION_ROWS:+--partition-rows "$PARTITION_ROWS"} \
		--recheck-delay 0 --recheck-attempts 1 --no-progress \
		>"$WORK/out" 2>&1 || status=$?
	t1=$(now)
	audit=$(echo "$t1 - $t0" | bc -l)
	if [ "$status" -gt 1 ]; then
		cat "$WORK/out" >&2
		say "the audit failed (exit $status)"
		exit 2
	fi
	rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/time")
	cpu=$(awk -F: '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/time")
	"$BUILD/crosscheck" failures --store "$STORE" --state confirmed --json >"$WORK/failures.json"
	missing=$(grep -o '"kind": *"MISSING_TARGET"' "$WORK/failures.json" | wc -l)
	changed=$(grep -o '"kind": *"RECORD_DIFF"' "$WORK/failures.json" | wc -l)
	found=$(grep -o '"kind"' "$WORK/failures.json" | wc -l)
	verdict="exact"
	if [ "$missing" != "$DELETED" ] || [ "$changed" != "$CHANGED" ] || [ "$found" != "$((DELETED + CHANGED))" ]; then
		verdict="WRONG: planted $DELETED missing + $CHANGED changed, found $missing + $changed of $found"
		sed -n 1,40p "$WORK/out" >&2
	fi
	ratio=$(echo "$audit / $limit" | bc -l)
	say "$(printf 'run %d: limit %.2f s (sequential %.2f s = mariadb --quick %.2f s + COPY binary %.2f s), audit %.2f s (%.2fx), cpu %s s, rss %.1f MiB, %s differences (%s), load %s' \
		"$rep" "$limit" "$sequential" "$my_alone" "$pg_alone" "$audit" "$ratio" "$cpu" \
		"$(echo "$rss_kb / 1024" | bc -l)" "$found" "$verdict" "$(load_avg)")"
	echo "$limit $sequential $audit $ratio $cpu $rss_kb $found $verdict" >>"$WORK/reps"
done
load_after=$(load_avg)
col() { awk -v c="$1" '{ print $c }' "$WORK/reps" | median; }
verdicts=$(cut -d' ' -f8- "$WORK/reps" | sort -u | paste -sd';')
founds=$(awk '{ print $7 }' "$WORK/reps" | sort -u | paste -sd/)
rmin=$(awk '{ print $4 }' "$WORK/reps" | sort -g | head -1)
rmax=$(awk '{ print $4 }' "$WORK/reps" | sort -g | tail -1)
printf '| MariaDB → PostgreSQL | %s | %.2f s | %.2f s | %.2f s | **%.2f×** (%.2f–%.2f) | %.2f s | %.1f MiB | %s (%s) | %s → %s |\n' \
	"$ROWS" "$(col 1)" "$(col 2)" "$(col 3)" "$(col 4)" "$rmin" "$rmax" "$(col 5)" \
	"$(echo "$(awk '{ print $6 }' "$WORK/reps" | sort -g | tail -1) / 1024" | bc -l)" \
	"$founds" "$verdicts" "$load_before" "$load_after"
