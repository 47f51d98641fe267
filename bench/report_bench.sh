#!/usr/bin/env bash
# bench/report_bench.sh: how fast, and in how much memory, `crosscheck report` writes the
# report of a run with many failures.
#
# It builds stores of N failures (default 100000 and 1000000) by inserting rows straight
# into SQLite, following the schema in src/store/store.c (the binary creates and migrates
# the store first, so the schema is the real one), then times each report format with
# GNU time: wall clock and peak RSS. Flat memory shows as the same peak RSS at 100k and
# at 1M failures. Results go to stdout as a Markdown table.
#
# usage: bench/report_bench.sh [N ...]   (BUILD=build-dir, default build; use a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
BIN=$BUILD/crosscheck
[ -x "$BIN" ] || { echo "report_bench: no $BIN (meson setup $BUILD --buildtype=release && ninja -C $BUILD)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "report_bench: needs GNU time (ci/deps installs it)" >&2; exit 2; }
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
WORK=$(mktemp -d /tmp/crosscheck-report-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# make_store N FILE: one finished audit run, two tables of 100 partitions each, N failures
# (90% confirmed, 8% pending, 2% resolved; kinds in turn).
make_store() {
	"$BIN" --store "$2" runs >/dev/null # creates the store with the current schema
	/usr/bin/python3 - "$1" "$2" <<'PY'
import sqlite3, sys, struct
n, path = int(sys.argv[1]), sys.argv[2]
db = sqlite3.connect(path)
ts = "2026-01-01T00:00:00.000Z"
db.execute("BEGIN")
db.execute("INSERT INTO runs (id, kind, started_at, finished_at, status, verdict, source, target, options,"
           " fingerprint, exit_code, tool_version) VALUES (1, 'audit', ?, '2026-01-01T00:10:00.000Z', 'done',"
           " 'differences', 'postgresql://app@src/db', 'postgresql://app@tgt/db', '{\"jobs\":4}', 'bench', 1, 'bench')",
           (ts,))
kinds = ["MISSING_TARGET", "MISSING_SOURCE", "RECORD_DIFF"]
tables = ["public.big_a", "public.big_b"]
per_table = n // 2
rows = 10 * n
for t in tables:
    db.execute("INSERT INTO run_tables (run_id, table_name, target_table, status, state, key_columns, columns,"
               " partitions, source_rows, target_rows, matched, missing_target, missing_source, record_diff,"
               " elapsed_s) VALUES (1, ?, ?, 'done', 'Mismatched records', '[\"id\"]', '[\"id\",\"v\",\"w\"]',"
               " 100, ?, ?, ?, ?, ?, ?, 600)",
               (t, t, rows, rows, rows - per_table, per_table // 3, per_table // 3, per_table - 2 * (per_table // 3)))
    step = rows // 100
    for p in range(100):
        lo = "null" if p == 0 else '{"id":"%d"}' % (p * step)
        hi = "null" if p == 99 else '{"id":"%d"}' % ((p + 1) * step)
        db.execute("INSERT INTO partitions (run_id, table_name, part_no, lo, hi, status, source_rows, target_rows,"
                   " matched, missing_target, missing_source, record_diff, source_digest, target_digest,"
                   " elapsed_s, attempts, finished_at) VALUES (1, ?, ?, ?, ?, 'done', ?, ?, ?, ?, ?, ?,"
                   " '0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210', 6, 1, ?)",
                   (t, p, lo, hi, step, step, step - per_table // 100, per_table // 300, per_table // 300,
                    per_table // 100 - 2 * (per_table // 300), ts))

def failures():
    for i in range(n):
        state = "confirmed" if i % 50 < 45 else "pending" if i % 50 < 49 else "resolved"
        k = kinds[i % 3]
        yield (tables[i % 2], '{"id":"%d"}' % i, struct.pack(">q", i), k,
               '["v","w"]' if k == "RECORD_DIFF" else "[]", state, ts, ts)

db.executemany("INSERT INTO failures (run_id, table_name, key_json, key, kind, columns, state, attempts,"
               " first_seen, last_seen) VALUES (1, ?, ?, ?, ?, ?, ?, 1, ?, ?)", failures())
db.commit()
db.close()
PY
}

# measure FILE FORMAT: "seconds peak_kib bytes" of one report
measure() {
	local out=$WORK/out.$2 log=$WORK/time.log
	/usr/bin/time -v "$BIN" --store "$1" report --format "$2" --output "$out" 2>"$log"
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
	# m:ss.ss -> seconds
	wall=$(awk -v t="$wall" 'BEGIN { n = split(t, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.2f", s }')
	echo "$wall $rss $(stat -c %s "$out")"
}

echo "crosscheck report benchmark: $(nproc) cores, $($BIN --version), build $BUILD"
echo
echo "| failures | format | wall (s) | peak RSS (MiB) | output (MiB) |"
echo "|---:|---|---:|---:|---:|"
for n in "${SIZES[@]}"; do
	store=$WORK/bench-$n.db
	t0=$(date +%s.%N)
	make_store "$n" "$store"
	t1=$(date +%s.%N)
	echo "(store of $n failures built in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s)" >&2
	for fmt in json html junit prometheus; do
		read -r wall rss bytes < <(measure "$store" "$fmt")
		printf "| %s | %s | %s | %.1f | %.1f |\n" "$n" "$fmt" "$wall" "$(awk -v k="$rss" 'BEGIN{print k/1024}')" \
			"$(awk -v b="$bytes" 'BEGIN{print b/1048576}')"
	done
	rm -f "$store" "$store-wal" "$store-shm"
done
