"""tests/integration/test_dms_failures.py: AWS DMS failure table interop, on real servers.

A source on the first PostgreSQL cluster, a target on the second, with planted drift in
tables keyed on an integer, a composite (text, int, timestamp), a uuid and a bytea. An
audit's failures are exported in the shape of awsdms_control.awsdms_validation_failures_v1
(JSON and CSV) and checked field by field; the export is imported into a fresh store
(from the files and straight from a failure table in the target database), where it must
give the same canonical keys as the audit, so that `repair --run <imported run> --apply`
fixes the target and a re-audit is clean. Rows spelled the way DMS writes them import to
the same keys; bad input exits 2 and leaves the store as it was.
"""
import collections
import csv
import io
import json
import os
import re
import sqlite3
import subprocess

import harness
from harness import pg_connect, pg_exec

DDL = """
DROP TABLE IF EXISTS dmsf_single, dmsf_comp, dmsf_uuid, dmsf_bytes;
CREATE TABLE dmsf_single (id integer PRIMARY KEY, v text, n numeric(10,2), ts timestamptz);
CREATE TABLE dmsf_comp (a text NOT NULL, b integer NOT NULL, at timestamp NOT NULL, v text,
                        PRIMARY KEY (a, b, at));
CREATE TABLE dmsf_uuid (u uuid PRIMARY KEY, v text);
CREATE TABLE dmsf_bytes (k bytea PRIMARY KEY, v text);
INSERT INTO dmsf_single SELECT g, 'v' || g, g / 4.0, timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute'
  FROM generate_series(1, 2000) g;
INSERT INTO dmsf_comp SELECT (ARRAY['x', 'Y', 'z,q"'])[1 + g % 3], g,
       timestamp '2024-03-01 10:00:00.5' + g * interval '1 second', 'c' || g FROM generate_series(1, 600) g;
INSERT INTO dmsf_uuid SELECT md5(g::text)::uuid, 'u' || g FROM generate_series(1, 300) g;
INSERT INTO dmsf_bytes SELECT decode(lpad(to_hex(g), 4, '0'), 'hex'), 'b' || g FROM generate_series(1, 300) g;
"""

DRIFT = """
DELETE FROM dmsf_single WHERE id IN (10, 11, 1500);
UPDATE dmsf_single SET v = 'stale' WHERE id = 42;
UPDATE dmsf_single SET n = 0.01 WHERE id = 43;
INSERT INTO dmsf_single VALUES (9999, 'extra', 1, now());
DELETE FROM dmsf_comp WHERE b IN (4, 5);
UPDATE dmsf_comp SET v = 'drift' WHERE b = 7;
DELETE FROM dmsf_uuid WHERE u = md5('3')::uuid;
UPDATE dmsf_uuid SET v = 'drift' WHERE u = md5('4')::uuid;
DELETE FROM dmsf_bytes WHERE k = '\\x0005'::bytea;
UPDATE dmsf_bytes SET v = 'drift' WHERE k = '\\x0100'::bytea;
"""

TABLES = ["dmsf_single", "dmsf_comp", "dmsf_uuid", "dmsf_bytes"]
FIELDS = ["TASK_NAME", "TABLE_OWNER", "TABLE_NAME", "FAILURE_TIME", "KEY_TYPE", "KEY",
          "FAILURE_TYPE", "DETAILS"]
KEY_COLUMNS = {"public.dmsf_single": ["id"], "public.dmsf_comp": ["a", "b", "at"],
               "public.dmsf_uuid": ["u"], "public.dmsf_bytes": ["k"]}
DMS_TABLE_DDL = """
CREATE SCHEMA IF NOT EXISTS awsdms_control;
DROP TABLE IF EXISTS awsdms_control.awsdms_validation_failures_v1;
CREATE TABLE awsdms_control.awsdms_validation_failures_v1 (
  "TASK_NAME" varchar(128) NOT NULL, "TABLE_OWNER" varchar(128) NOT NULL,
  "TABLE_NAME" varchar(128) NOT NULL, "FAILURE_TIME" timestamp NOT NULL,
  "KEY_TYPE" varchar(128) NOT NULL, "KEY" text NOT NULL, "FAILURE_TYPE" varchar(128) NOT NULL,
  "DETAILS" text NOT NULL);
"""


class DmsFailures(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        a, b = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        cls.src = harness.ensure_database(a, "cc_dmsfail")
        cls.tgt = harness.ensure_database(b, "cc_dmsfail")

    def setUp(self):
        super().setUp()
        for uri in (self.src, self.tgt):
            c = pg_connect(uri)
            pg_exec(c, DDL)
            c.close()
        c = pg_connect(self.tgt)
        pg_exec(c, DRIFT)
        pg_exec(c, "DROP SCHEMA IF EXISTS awsdms_control CASCADE")
        c.close()
        self.other = os.path.join(self.dir, "imported.db")

    # --- helpers ---------------------------------------------------------------------------

    def cc_in(self, store, *args):
        """cc_in runs crosscheck on another store than the test's own."""
        proc = subprocess.run([harness.BIN, "--store", store] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=600)
        if "AddressSanitizer" in proc.stderr or "runtime error:" in proc.stderr:
            self.fail("sanitizer report:\n" + proc.stderr)
        return harness.Result(proc)

    def audit(self, store=None):
        args = ["audit", "--source", self.src, "--target", self.tgt, "--recheck-delay", "0",
                "--recheck-attempts", "1", "--no-progress"]
        for t in TABLES:
            args += ["--table", t]
        return self.cc_in(store or self.store, *args)

    def import_dms(self, store, *args):
        return self.cc_in(store, "import-dms", "--source", self.src, "--target", self.tgt, *args)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def keys_in(self, store, run):
        """keys_in: {(table, canonical key bytes, kind)} of a run, straight from the store."""
        db = sqlite3.connect(store)
        try:
            return set(db.execute("SELECT table_name, key, kind FROM failures WHERE run_id = ?",
                                  (run,)).fetchall())
        finally:
            db.close()

    def store_counts(self, store):
        db = sqlite3.connect(store)
        try:
            return (db.execute("SELECT count(*) FROM runs").fetchone()[0],
                    db.execute("SELECT count(*) FROM failures").fetchone()[0],
                    db.execute("SELECT count(*) FROM run_tables").fetchone()[0])
        finally:
            db.close()

    def failure_set_in(self, store, run):
        r = self.cc_in(store, "failures", "--json", "--run", run)
        self.assertEqual(r.rc, 0, r)
        return {(f["table"], tuple(f["key"].items()), f["kind"], tuple(f["columns"]), f["state"])
                for f in r.json()}

    def audited(self):
        r = self.audit()
        self.assertEqual(r.rc, 1, r)
        audit_failures = self.failures(1)
        self.assertEqual(len(audit_failures), 13, audit_failures)
        return audit_failures

    # --- export ----------------------------------------------------------------------------

    def test_export_has_the_dms_shape(self):
        audit_failures = self.audited()
        r = self.cc("failures", "--run", "1", "--format", "dms")
        self.assertEqual(r.rc, 0, r)
        rows = json.loads(r.out, object_pairs_hook=collections.OrderedDict)
        self.assertEqual(len(rows), len(audit_failures))
        by_key = {(f["table"], tuple(f["key"].values())): f for f in audit_failures}
        for row in rows:
            self.assertEqual(list(row.keys()), FIELDS)
            self.assertTrue(all(isinstance(v, str) for v in row.values()), row)
            self.assertEqual(row["TASK_NAME"], "crosscheck-run1")
            self.assertEqual(row["TABLE_OWNER"], "public")
            self.assertIn(row["TABLE_NAME"], TABLES)
            self.assertRegex(row["FAILURE_TIME"], r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
            self.assertEqual(row["KEY_TYPE"], "Row")
            self.assertIn(row["FAILURE_TYPE"], ("RECORD_DIFF", "MISSING_SOURCE", "MISSING_TARGET"))
            self.assertRegex(row["KEY"], r'^\{"key": \[".*"\]\}$')
            key = json.loads(row["KEY"])
            self.assertEqual(list(key.keys()), ["key"])
            table = "public." + row["TABLE_NAME"]
            self.assertEqual(len(key["key"]), len(KEY_COLUMNS[table]))
            f = by_key[(table, tuple(key["key"]))]  # the values, in key column order
            self.assertEqual(list(f["key"].keys()), KEY_COLUMNS[table])
            self.assertEqual(row["FAILURE_TYPE"], f["kind"])
            self.assertEqual(json.loads(row["DETAILS"]), {"columns": f["columns"]})
            self.assertEqual(row["FAILURE_TIME"], f["last_seen"][:19].replace("T", " "))
        kinds = collections.Counter(r["FAILURE_TYPE"] for r in rows)
        self.assertEqual(kinds, {"MISSING_TARGET": 7, "RECORD_DIFF": 5, "MISSING_SOURCE": 1})
        diff = [r for r in rows if r["TABLE_NAME"] == "dmsf_single" and r["KEY"] == '{"key": ["43"]}']
        self.assertEqual(json.loads(diff[0]["DETAILS"]), {"columns": ["n"]})
        comp = [json.loads(r["KEY"])["key"] for r in rows if r["TABLE_NAME"] == "dmsf_comp"]
        self.assertIn(["z,q\"", "5", "2024-03-01T10:00:05.500000Z"], comp)
        byt = [json.loads(r["KEY"])["key"] for r in rows if r["TABLE_NAME"] == "dmsf_bytes"]
        self.assertEqual(sorted(byt), [["\\x0005"], ["\\x0100"]])

        # the CSV holds the same rows, with the header DMS's table has
        r = self.cc("failures", "--run", "1", "--format", "dms-csv", "--task-name", "my-task")
        self.assertEqual(r.rc, 0, r)
        lines = list(csv.reader(io.StringIO(r.out)))
        self.assertEqual(lines[0], FIELDS)
        self.assertEqual(len(lines), len(rows) + 1)
        self.assertTrue(all(line[0] == "my-task" for line in lines[1:]))
        self.assertEqual([line[1:] for line in lines[1:]], [list(row.values())[1:] for row in rows])

        # only confirmed failures by default; --state chooses; --json is unchanged
        r = self.cc("failures", "--run", "1", "--format", "dms", "--state", "pending")
        self.assertEqual((r.rc, json.loads(r.out)), (0, []), r)
        r = self.cc("failures", "--run", "1", "--json")
        self.assertEqual(set(r.json()[0].keys()), {"run", "table", "key", "kind", "columns", "state",
                                                   "attempts", "first_seen", "last_seen"})
        r = self.cc("failures", "--format", "xml")
        self.assertEqual(r.rc, 2, r)

    # --- import -----------------------------------------------------------------------------

    def test_import_gives_the_audits_keys_and_repair_fixes_the_target(self):
        self.audited()
        r = self.cc("failures", "--run", "1", "--format", "dms")
        path = self.write("failures.json", r.out)
        r = self.import_dms(self.other, "--from", path)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("run 1: imported 13 DMS failure rows of 4 tables", r.out)
        # the same canonical key bytes, kinds and columns as the audit recorded
        self.assertEqual(self.keys_in(self.other, 1), self.keys_in(self.store, 1))
        self.assertEqual(self.failure_set_in(self.other, 1), self.failure_set_in(self.store, 1))
        runs = self.cc_in(self.other, "runs", "--json").json()
        self.assertEqual((runs[0]["kind"], runs[0]["status"], runs[0]["verdict"]),
                         ("dms-import", "done", "differences"))
        # an imported run re-exports as it came in (the time of each failure kept)
        r = self.cc_in(self.other, "failures", "--run", "1", "--format", "dms")
        with open(path) as f:
            self.assertEqual(json.loads(r.out), json.load(f))

        # repair works on the imported keys: proof that they are real canonical keys
        r = self.cc_in(self.other, "repair", "--run", "1", "--apply")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("repaired and verified 13 keys; 0 still different", r.out)
        r = self.audit(self.other)
        self.assertEqual(r.rc, 0, r)

    def test_import_csv_with_recheck(self):
        self.audited()
        r = self.cc("failures", "--run", "1", "--format", "dms-csv", "--task-name", "t1")
        path = self.write("failures.csv", r.out)
        r = self.import_dms(self.other, "--from", path, "--recheck", "--recheck-delay", "0",
                            "--recheck-attempts", "1")
        self.assertEqual(r.rc, 1, r)  # differences rechecked and confirmed, as an audit says
        self.assertIn("after the recheck: 13 confirmed, 0 resolved", r.out)
        self.assertEqual(self.keys_in(self.other, 1), self.keys_in(self.store, 1))
        # once the target is repaired, the same (now stale) DMS rows recheck as resolved
        r = self.cc("repair", "--run", "1", "--apply")
        self.assertEqual(r.rc, 0, r)
        r = self.import_dms(self.other, "--from", path, "--recheck", "--recheck-delay", "0",
                            "--recheck-attempts", "1", "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json(), {"run": 2, "rows": 13, "tables": 4, "confirmed": 0, "pending": 0,
                                    "resolved": 13, "rechecked": True})
        runs = self.cc_in(self.other, "runs", "--json").json()
        self.assertEqual(runs[0]["verdict"], "consistent")

    def test_import_from_the_dms_table(self):
        self.audited()
        r = self.cc("failures", "--run", "1", "--format", "dms-csv", "--task-name", "task-a")
        c = pg_connect(self.tgt)
        pg_exec(c, DMS_TABLE_DDL)
        with c.cursor() as cur:
            cur.copy_expert("COPY awsdms_control.awsdms_validation_failures_v1 FROM STDIN "
                            "WITH (FORMAT csv, HEADER)", io.StringIO(r.out))
            # another task's row, which --task-name leaves out
            cur.execute("INSERT INTO awsdms_control.awsdms_validation_failures_v1 VALUES "
                        "('task-b', 'public', 'dmsf_single', now(), 'Row', '{\"key\": [\"1\"]}', "
                        "'MISSING_TARGET', '')")
        c.close()
        r = self.import_dms(self.other, "--from-table", self.tgt, "--task-name", "task-a")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("imported 13 DMS failure rows", r.out)
        self.assertEqual(self.keys_in(self.other, 1), self.keys_in(self.store, 1))
        r = self.import_dms(self.other, "--from-table", self.tgt, "--task-name", "task-c")
        self.assertEqual(r.rc, 2, r)
        self.assertIn('no row of awsdms_control.awsdms_validation_failures_v1 has TASK_NAME "task-c"', r.err)
        self.assertIn('"task-a", "task-b"', r.err)

    def test_rows_as_dms_writes_them(self):
        self.audited()
        # DMS's own spellings: a zone-less timestamp with six digits, Python-style DETAILS,
        # lower-case column names (a psql json_agg of a lower-case table), KEY as jsonb
        rows = [
            {"task_name": "VALIDATION_TEST", "table_owner": "public", "table_name": "dmsf_comp",
             "failure_time": "2024-05-01 12:00:00", "key_type": "Row",
             "key": '{"key": ["z,q\\"", "5", "2024-03-01 10:00:05.500000"]}',
             "failure_type": "MISSING_TARGET", "details": ""},
            {"task_name": "VALIDATION_TEST", "table_owner": "public", "table_name": "dmsf_single",
             "failure_time": "2024-05-01 12:00:01", "key_type": "Row", "key": {"key": ["43"]},
             "failure_type": "RECORD_DIFF",
             "details": "[[{'N': '10.75', 'nope': 'x'}, {'N': '0.01', 'nope': 'y'}]]"},
            {"task_name": "VALIDATION_TEST", "table_owner": "public", "table_name": "dmsf_uuid",
             "failure_time": "2024-05-01 12:00:02", "key_type": "Row",
             "key": '{"key": ["ECCBC87E-4B5C-E2FE-2830-8FD9F2A7BAF3"]}',
             "failure_type": "MISSING_TARGET", "details": ""},
        ]
        path = self.write("dms.json", json.dumps(rows))
        r = self.import_dms(self.other, "--from", path, "--state", "pending")
        self.assertEqual(r.rc, 0, r)
        got = self.failure_set_in(self.other, 1)
        audit = {(t, k, kind, cols) for (t, k, kind, cols, _) in self.failure_set_in(self.store, 1)}
        for (t, k, kind, cols, state) in got:
            self.assertEqual(state, "pending")
            self.assertIn((t, k, kind, cols), audit)
        self.assertEqual(len(got), 3)
        imported = self.keys_in(self.other, 1)
        self.assertTrue(imported <= self.keys_in(self.store, 1), imported)
        f = [x for x in self.cc_in(self.other, "failures", "--json").json()
             if x["table"] == "public.dmsf_single"][0]
        self.assertEqual((f["columns"], f["first_seen"]), (["n"], "2024-05-01T12:00:01.000Z"))

    # --- bad input ---------------------------------------------------------------------------

    def test_bad_input_exits_2_and_records_nothing(self):
        self.audited()
        good = {"TASK_NAME": "t", "TABLE_OWNER": "public", "TABLE_NAME": "dmsf_single",
                "FAILURE_TIME": "2024-05-01 12:00:00", "KEY_TYPE": "Row", "KEY": '{"key": ["10"]}',
                "FAILURE_TYPE": "MISSING_TARGET", "DETAILS": ""}

        def rows(**change):
            bad = dict(good, **change)
            return json.dumps([good, bad])

        cases = [
            ("unknown table", rows(TABLE_NAME="dmsf_nope"), r"row 2 names table public\.dmsf_nope"),
            ("key arity", rows(TABLE_NAME="dmsf_comp", KEY='{"key": ["x", "1"]}'),
             r"row 2: KEY has 2 values but the key of public\.dmsf_comp \(a, b, at\) has 3 columns"),
            ("failure type", rows(FAILURE_TYPE="MISSING"), r'row 2: unknown FAILURE_TYPE "MISSING"'),
            ("key type", rows(KEY_TYPE="Partition"), r'row 2: KEY_TYPE "Partition" is not supported'),
            ("key json", rows(KEY='{"key": ['), r"row 2: bad KEY"),
            ("null key", rows(KEY='{"key": [null]}'), r"row 2: bad KEY .*NULL key value"),
            ("key value", rows(KEY='{"key": ["ten"]}'),
             r'row 2: key value "ten" of public\.dmsf_single\.id cannot be read as number'),
            ("time", rows(FAILURE_TIME="soon"), r'row 2: bad FAILURE_TIME "soon"'),
            ("json", '[{"TASK_NAME": "t",', r"line 1: malformed JSON"),
            ("not rows", "[1]", r"row 1 is not a JSON object"),
            ("no key field", json.dumps([{k: v for k, v in good.items() if k != "KEY"}]), r"row 1: no KEY"),
            ("csv quote", ",".join(FIELDS) + '\nt,public,dmsf_single,,Row,"{""key"": [""1""]},MISSING_TARGET,\n',
             r"row 1 \(line 2\): unterminated quoted CSV field"),
            ("csv fields", ",".join(FIELDS) + "\nt,public,dmsf_single\n",
             r"row 1 \(line 2\): 3 CSV fields, the header has 8"),
            ("csv header", "A,B\n1,2\n", r"the CSV header has no TABLE_OWNER column"),
        ]
        before = self.store_counts(self.store)
        for name, text, message in cases:
            with self.subTest(name):
                path = self.write("bad.json", text)
                r = self.import_dms(self.store, "--from", path)
                self.assertEqual(r.rc, 2, r)
                self.assertRegex(r.err, message)
                self.assertEqual(self.store_counts(self.store), before)
        # the CLI's own usage errors
        for args in (["import-dms", "--source", self.src, "--from", "x"],
                     ["import-dms", "--source", self.src, "--target", self.tgt],
                     ["import-dms", "--source", self.src, "--target", self.tgt, "--from", "/nonexistent"],
                     ["import-dms", "--source", self.src, "--target", self.tgt, "--from", "x",
                      "--state", "resolved"]):
            r = self.cc(*args)
            self.assertEqual(r.rc, 2, r)
        self.assertEqual(self.store_counts(self.store), before)
        # nor is a store created for bad input
        r = self.import_dms(self.other, "--from", self.write("bad.json", "[1]"))
        self.assertEqual(r.rc, 2, r)
        self.assertFalse(os.path.exists(self.other))


if __name__ == "__main__":
    harness.main()
