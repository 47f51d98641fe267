#!/usr/bin/env bash
# bench/bench_opensearch.sh DOCS: crosscheck's own CPU per document, and its memory, when
# it audits a MariaDB table against its OpenSearch index (issue 4, must-show 5).
#
#   source  = MariaDB table bench_my.os_DOCS (bench/lib_mysql.sh: 8 mixed columns) on the
#             CROSSCHECK_MYSQL_URI server
#   target  = the fake OpenSearch server of fixtures/opensearch (2.x mode, so the read is
#             inside a PIT; --refresh-interval -1), index os_DOCS, filled DMS-style by
#             bench/os_load.py with `_bulk` (SHA-256 `_id`, every column in `_source`),
#             0.1% of the documents missing and 0.1% stale: the audit must find exactly
#             those
#   measure = user+sys CPU of the crosscheck process alone (GNU time; the fake server's
#             and MariaDB's CPU are not crosscheck's) divided by DOCS, in µs per document,
#             and its peak RSS; the wall time is reported too but is the fake server's
#             (single-threaded Python), not crosscheck's
#
# The run is repeated REPEAT times (default 2) on the same index; the row gives the
# median CPU, the range, and the largest peak RSS. With PERF=FILE, one more audit runs
# under `perf record -g` and FILE gets the top of `perf report` (self time per symbol,
# and per library); the recording itself is kept as FILE.data.
#
# Prints one Markdown table row:
# | docs | crosscheck CPU (user+sys) | µs/doc (range) | peak RSS | audit wall | fake server
#   CPU during the audit | differences found | load avg |
#
# env: CROSSCHECK_BENCH_BUILD (default build-release), JOBS (default 2), REPEAT (2),
#      PAGE_SIZE (the URI's page_size; default: crosscheck's), PARTITION_ROWS (the audit's
#      --partition-rows; default: crosscheck's), COMPRESSION (gzip: ask for gzip
#      responses; default: crosscheck's, plain), PERF=FILE.
#
# Flat memory: peak RSS depends on how many partitions are read at once (--jobs, two
# sides each) and on the page size, not on DOCS. A run at DOCS/10 with the default
# 100000 rows per partition has fewer partitions than workers; compare it with
# PARTITION_ROWS=DOCS/100 so that both runs have 10 partitions.
set -euo pipefail
DOCS=${1:-1000000}
cd "$(dirname "$0")/.."
BUILD=${CROSSCHECK_BENCH_BUILD:-build-release}
[ -d "$BUILD" ] || meson setup "$BUILD" --buildtype=release -Dtests=false >/dev/null
ninja -C "$BUILD" >/dev/null
[ -x /usr/bin/time ] || { echo "bench_opensearch: needs GNU time (ci/deps installs it)" >&2; exit 2; }
eval "$(./ci/servers start 2>/dev/null)"

DB=bench_my
TABLE=os_$DOCS
SRC=${CROSSCHECK_MYSQL_URI%/*}/$DB
. bench/lib_mysql.sh

say() { echo "bench_opensearch: $*" >&2; }
now() { date +%s.%N; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
# cpu_ticks PID: user+sys clock ticks of a process so far
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
planted() { if [ "$DOCS" -ge "$1" ]; then echo $(((DOCS - $1) / 1000 + 1)); else echo 0; fi; }
MISSING=$(planted 7)
STALE=$(planted 9)

WORK=$(mktemp -d /tmp/crosscheck-bench-os.XXXXXX)
FAKE_PID=
cleanup() {
	if [ -n "$FAKE_PID" ] && kill -0 "$FAKE_PID" 2>/dev/null; then
		kill "$FAKE_PID"
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(my_count "$DB" "$TABLE")" != "$DOCS" ]; then
	say "loading $DOCS rows into MariaDB $DB.$TABLE"
	my_load_table "$DB" "$TABLE" "$DOCS" >/dev/null
fi

/usr/bin/python3 fixtures/opensearch/fake_opensearch.py --port 0 --port-file "$WORK/port" \
	--mode 2.x --refresh-interval -1 >"$WORK/fake.log" 2>&1 &
FAKE_PID=$!
for _ in $(seq 200); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { cat "$WORK/fake.log" >&2; say "the fake OpenSearch server did not start"; exit 2; }
PORT=$(cat "$WORK/port")
# URI parameters: PAGE_SIZE, and COMPRESSION=gzip|none (default: crosscheck's, plain)
params=""
[ -n "${PAGE_SIZE:-}" ] && params="page_size=$PAGE_SIZE"
[ -n "${COMPRESSION:-}" ] && params="${params:+$params&}compression=$COMPRESSION"
TGT="opensearch://127.0.0.1:$PORT/${params:+?$params}"

t0=$(now)
"${MY[@]}" --quick --batch --skip-column-names -e "SELECT * FROM $DB.$TABLE ORDER BY id" |
	/usr/bin/python3 bench/os_load.py "$PORT" "$TABLE" >"$WORK/load.out"
t1=$(now)
count=$(curl -s "http://127.0.0.1:$PORT/$TABLE/_count" | sed 's/.*"count":\([0-9]*\).*/\1/')
[ "$count" = "$((DOCS - MISSING))" ] || { say "the index holds $count documents, not $((DOCS - MISSING))"; exit 2; }
fake_rss=$(awk '/VmRSS/ { print $2 }' "/proc/$FAKE_PID/status")
say "$(cat "$WORK/load.out") documents in $(printf %.0f "$(echo "$t1 - $t0" | bc -l)") s; fake server RSS $((fake_rss / 1024)) MiB"

audit() { # audit STORE [wrapper...]: one audit of the table against its index
	local store=$1
	shift
	"$@" "$BUILD/crosscheck" audit --store "$store" --source "$SRC" --target "$TGT" \
		--table "$TABLE" --jobs "${JOBS:-2}" ${PARTITION_ROWS:+--partition-rows "$PARTITION_ROWS"} \
		--recheck-delay 0 --recheck-attempts 1 \
		--no-progress >"$WORK/out" 2>&1
}

load_before=$(load_avg)
: >"$WORK/reps"
for rep in $(seq "${REPEAT:-2}"); do
	STORE=$WORK/bench$rep.db
	fake0=$(cpu_ticks "$FAKE_PID")
	t0=$(now)
	status=0
	audit "$STORE" /usr/bin/time -v -o "$WORK/time" || status=$?
	t1=$(now)
	fake1=$(cpu_ticks "$FAKE_PID")
	if [ "$status" -gt 1 ]; then
		cat "$WORK/out" >&2
		say "the audit failed (exit $status)"
		exit 2
	fi
	wall=$(echo "$t1 - $t0" | bc -l)
	fake_cpu=$(echo "($fake1 - $fake0) / $(getconf CLK_TCK)" | bc -l)
	user=$(awk -F: '/User time/ { print $2 + 0 }' "$WORK/time")
	sys=$(awk -F: '/System time/ { print $2 + 0 }' "$WORK/time")
	cpu=$(echo "$user + $sys" | bc -l)
	us_doc=$(echo "$cpu * 1000000 / $DOCS" | bc -l)
	rss_kb=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$WORK/time")
	"$BUILD/crosscheck" failures --store "$STORE" --state confirmed --json >"$WORK/failures.json"
	missing=$(grep -o '"kind": *"MISSING_TARGET"' "$WORK/failures.json" | wc -l)
	stale=$(grep -o '"kind": *"RECORD_DIFF"' "$WORK/failures.json" | wc -l)
	found=$(grep -o '"kind"' "$WORK/failures.json" | wc -l)
	verdict=exact
	if [ "$missing" != "$MISSING" ] || [ "$stale" != "$STALE" ] || [ "$found" != "$((MISSING + STALE))" ]; then
		verdict="WRONG: planted $MISSING missing + $STALE stale, found $missing + $stale of $found"
		sed -n 1,40p "$WORK/out" >&2
	fi
	say "$(printf 'run %d: crosscheck cpu %.2f s (user %.2f + sys %.2f) = %.2f µs/doc, rss %.1f MiB, wall %.1f s, fake server cpu %.1f s, %s differences (%s), load %s' \
		"$rep" "$cpu" "$user" "$sys" "$us_doc" "$(echo "$rss_kb / 1024" | bc -l)" "$wall" \
		"$fake_cpu" "$found" "$verdict" "$(load_avg)")"
	echo "$cpu $us_doc $rss_kb $wall $fake_cpu $found $verdict" >>"$WORK/reps"
done
load_after=$(load_avg)

if [ -n "${PERF:-}" ]; then
	audit "$WORK/perf.db" perf record -g -F 1999 -o "$WORK/perf.data" || true
	{
		echo "# perf record -g -F 1999 of one audit of $DOCS documents: self time per symbol"
		perf report -i "$WORK/perf.data" --no-children --sort dso,symbol --stdio \
			--percent-limit 0.7 -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
			sed 's/  *- *- *$//'
		echo "# per library"
		perf report -i "$WORK/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -15
	} >"$PERF"
	cp "$WORK/perf.data" "$PERF.data" # for `perf report -i FILE.data` by caller
	say "profile in $PERF (perf data in $PERF.data)"
fi

col() { awk -v c="$1" '{ print $c }' "$WORK/reps" | median; }
umin=$(awk '{ print $2 }' "$WORK/reps" | sort -g | head -1)
umax=$(awk '{ print $2 }' "$WORK/reps" | sort -g | tail -1)
rss_max=$(awk '{ print $3 }' "$WORK/reps" | sort -g | tail -1)
printf '| %s | %.2f s | **%.2f µs** (%.2f–%.2f) | %.1f MiB | %.1f s | %.1f s | %s (%s) | %s → %s |\n' \
	"$DOCS" "$(col 1)" "$(col 2)" "$umin" "$umax" "$(echo "$rss_max / 1024" | bc -l)" \
	"$(col 4)" "$(col 5)" "$(awk '{ print $6 }' "$WORK/reps" | sort -u | paste -sd/)" \
	"$(cut -d' ' -f7- "$WORK/reps" | sort -u | paste -sd';')" "$load_before" "$load_after"
