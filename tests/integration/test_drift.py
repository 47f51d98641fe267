"""tests/integration/test_drift.py: check files and scheduled drift checks on real servers.

A pair of PostgreSQL databases is checked by `crosscheck drift` again and again, as cron
would. The test asserts from the store that every partition is audited within
cover_every runs, that drift planted between runs is found within the promised number of
runs (at once when the source row changed recently, through lag_column), that fixed rows
are closed, that count gaps are reported, and that malformed check files get FILE:LINE
errors.
"""
import os
import sqlite3
import textwrap

import harness
from harness import pg_connect, pg_exec

COVER = 4


class Drift(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        a, b = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        cls.src = harness.ensure_database(a, "cc_drift")
        cls.tgt = harness.ensure_database(b, "cc_drift")

    def setUp(self):
        super().setUp()
        for uri in (self.src, self.tgt):
            c = pg_connect(uri)
            pg_exec(c, """
                DROP TABLE IF EXISTS d_orders, d_items;
                CREATE TABLE d_orders (id int PRIMARY KEY, v text,
                                       updated_at timestamptz NOT NULL DEFAULT '2024-01-01');
                INSERT INTO d_orders (id, v) SELECT g, 'v' || g FROM generate_series(1, 30000) g;
                CREATE TABLE d_items (a text, b int, q int, updated_at timestamptz NOT NULL DEFAULT '2024-01-01',
                                      PRIMARY KEY (a, b));
                INSERT INTO d_items (a, b, q) SELECT (ARRAY['k','L','m'])[1 + g % 3], g, g FROM generate_series(1, 9000) g;
            """)
            c.close()
        self.check = os.path.join(self.dir, "check.ini")
        with open(self.check, "w") as f:
            f.write(textwrap.dedent("""\
                [check]
                name = drift-test
                source = %s
                target = %s
                store = drift.db
                partition_rows = 2000
                recheck_delay = 0
                recheck_attempts = 1
                lag_column = updated_at
                lag_window = 1s
                cover_every = %d
                report_html = drift.html
                report_json = drift.json

                [table public.d_orders]

                [table public.d_items]
                """ % (self.src, self.tgt, COVER)))
        self.store = os.path.join(self.dir, "drift.db")

    def drift(self):
        return self.cc("drift", "--check", self.check, "--no-progress")

    def audited(self, run):
        db = sqlite3.connect(self.store)
        rows = db.execute("SELECT table_name, part_no FROM partitions WHERE run_id = ? AND status = 'done'",
                          (run,)).fetchall()
        db.close()
        return set(rows)

    def all_partitions(self, run):
        db = sqlite3.connect(self.store)
        rows = db.execute("SELECT table_name, part_no FROM partitions WHERE run_id = ?", (run,)).fetchall()
        db.close()
        return set(rows)

    def test_every_partition_within_cover_every_runs(self):
        seen = set()
        for run in range(1, COVER + 1):
            r = self.drift()
            self.assertEqual(r.rc, 0, r)
            self.assertIn("drift run %d of the rotation" % run, r.err)
            part = self.audited(run)
            self.assertTrue(part, "run %d audited nothing" % run)
            self.assertLess(len(part), len(self.all_partitions(run)))  # a slice, not all
            seen |= part
        self.assertEqual(seen, self.all_partitions(COVER))
        # the bounds are kept from run to run, so the slices are the same ranges
        db = sqlite3.connect(self.store)
        bounds = db.execute("SELECT DISTINCT run_id, table_name, part_no, lo, hi FROM partitions").fetchall()
        db.close()
        per_run = {}
        for run, t, p, lo, hi in bounds:
            per_run.setdefault(run, set()).add((t, p, lo, hi))
        self.assertEqual(len({frozenset(v) for v in per_run.values()}), 1)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "drift.html")))

    def test_drift_found_in_time_and_closed_when_fixed(self):
        r = self.drift()
        self.assertEqual(r.rc, 0, r)
        # drift on the target only (the source row is old): found by the rotation
        t = pg_connect(self.tgt)
        pg_exec(t, "UPDATE d_orders SET v = 'drift' WHERE id = 17000")
        found_at = None
        for i in range(COVER):
            r = self.drift()
            if r.rc == 1:
                found_at = i + 1
                break
            self.assertEqual(r.rc, 0, r)
        self.assertIsNotNone(found_at, "drift not found within %d runs" % COVER)
        fs = [f for f in self.failures("all") if f["state"] == "confirmed"]
        self.assertEqual([(f["key"], f["kind"], f["columns"]) for f in fs],
                         [({"id": "17000"}, "RECORD_DIFF", ["v"])])
        # a source change the replica missed, on a recent row: found by the very next run
        s = pg_connect(self.src)
        pg_exec(s, "UPDATE d_items SET q = -1, updated_at = now() WHERE a = 'L' AND b = 1")
        r = self.drift()
        self.assertEqual(r.rc, 1, r)
        keys = {tuple(sorted(f["key"].items())) for f in self.failures("all") if f["state"] == "confirmed"}
        self.assertIn((("a", "L"), ("b", "1")), keys)
        # fix both on the target: the next run closes them and exits 0
        pg_exec(t, "UPDATE d_orders SET v = 'v17000' WHERE id = 17000")
        s_row = pg_exec(s, "SELECT q, updated_at FROM d_items WHERE a = 'L' AND b = 1")[0]
        pg_exec(t, "UPDATE d_items SET q = %s, updated_at = %s WHERE a = 'L' AND b = 1", s_row)
        r = self.drift()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("2 now match (closed)", r.err)
        states = {f["state"] for f in self.failures("all")}
        self.assertNotIn("confirmed", states)
        self.assertNotIn("pending", states)
        # the history: drift runs, one of them with differences
        runs = self.cc("runs", "--json").json()
        self.assertTrue(all(x["kind"] == "drift" for x in runs))
        self.assertEqual(sorted({x["verdict"] for x in runs}), ["consistent", "differences"])
        s.close()
        t.close()

    def test_count_gap_reported(self):
        t = pg_connect(self.tgt)
        pg_exec(t, "INSERT INTO d_orders (id, v) VALUES (90001, 'x'), (90002, 'y')")
        t.close()
        r = self.drift()
        self.assertEqual(r.rc, 1, r)
        self.assertIn("largest count gap 2", r.out)
        r = self.cc("drift", "--check", self.check, "--no-progress", "--max-count-gap", "5",
                    "--max-differences", "10")
        self.assertEqual(r.rc, 0, r)

    def test_malformed_check_files(self):
        cases = {
            "unknown key": ("[check]\nname = x\nsource = %s\ntarget = %s\nbogus = 1\n[table t]\n", 5, "unknown key \"bogus\""),
            "bad uri": ("[check]\nname = x\nsource = nope\ntarget = %s\n[table t]\n", 3, "source"),
            "missing table": ("[check]\nname = x\nsource = %s\ntarget = %s\n", None, "no table to audit"),
            "secret inline": ("[check]\nname = x\nsource = %s\ntarget = %s\npassword = hunter2\n[table t]\n", 5, "secrets are not written"),
            "password in uri": ("[check]\nname = x\nsource = postgresql://u:hunter2@h/db\ntarget = %s\n[table t]\n", 3, "password is written in the URI"),
            "bad value": ("[check]\nname = x\nsource = %s\ntarget = %s\njobs = many\n[table t]\n", 5, "jobs"),
            "unknown scheme": ("[check]\nname = x\nsource = ftp://h/db\ntarget = %s\n[table t]\n", 3, "ftp"),
        }
        for name, (text, line, needle) in cases.items():
            path = os.path.join(self.dir, name.replace(" ", "_") + ".ini")
            n = text.count("%s")
            with open(path, "w") as f:
                f.write(text % ((self.src, self.tgt)[:n] if n == 2 else (self.tgt,) * n))
            r = self.cc("drift", "--check", path)
            self.assertEqual(r.rc, 2, "%s: %r" % (name, r))
            self.assertIn(needle, r.err, name)
            if line:
                self.assertIn("%s:%d:" % (path, line), r.err, name)
            self.assertNotIn("hunter2", r.err)


if __name__ == "__main__":
    harness.main()
