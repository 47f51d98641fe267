"""tests/integration/test_cli_errors.py: bad input gets a clear error and exit 2.

Each case must: exit 2, print one error line naming the problem, not crash (no signal,
no sanitizer report), and leave the store openable with the earlier runs intact.
"""
import os

import harness
from harness import pg_connect, pg_exec


class CliErrors(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        (cls.uri,) = harness.need_env("CROSSCHECK_PG_URI")
        conn = pg_connect(cls.uri)
        pg_exec(conn, """
            DROP TABLE IF EXISTS err_ok, err_nokey;
            CREATE TABLE err_ok (id int PRIMARY KEY, v text);
            INSERT INTO err_ok SELECT g, 'v' || g FROM generate_series(1, 100) g;
            CREATE TABLE err_nokey (a int, b text);
            INSERT INTO err_nokey VALUES (1, 'x');
        """)
        conn.close()

    def setUp(self):
        super().setUp()
        # an earlier, good run that every failure below must leave intact
        r = self.cc("audit", "--source", self.uri, "--target", self.uri, "--table", "err_ok",
                    "--recheck-attempts", "0")
        self.assertEqual(r.rc, 0, r)

    def assert_clean_error(self, r, *needles):
        self.assertEqual(r.rc, 2, r)
        self.assertLess(r.rc, 128, r)
        errors = [l for l in r.err.splitlines() if "error:" in l]
        self.assertEqual(len(errors), 1, r)
        for n in needles:
            self.assertIn(n, errors[0], r)
        self.assertNotIn("crosscheck", r.out.lower().replace("crosscheck failures", ""))
        runs = self.cc("runs", "--json")
        self.assertEqual(runs.rc, 0, runs)
        good = [x for x in runs.json() if x["verdict"] == "consistent"]
        self.assertEqual(len(good), 1, runs)
        self.assertEqual(good[0]["source_rows"], 100)

    def audit(self, *args, env=None):
        return self.cc("audit", "--recheck-attempts", "0", *args, env=env)

    def test_unknown_table(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "public.nope")
        self.assert_clean_error(r, "public.nope", "not found")

    def test_no_primary_key(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_nokey")
        self.assert_clean_error(r, "no primary key")
        self.assertIn("--key", r.err)
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_nokey", "--key", "a")
        self.assertEqual(r.rc, 0, r)

    def test_unreachable_host(self):
        bad = "postgresql://crosscheck@127.0.0.1:1/crosscheck"
        r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok")
        self.assert_clean_error(r, "source", "cannot connect")

    def test_wrong_password(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok",
                       env={"PGPASSWORD": "wrong-password"})
        self.assert_clean_error(r, "password authentication failed")
        self.assertNotIn("wrong-password", r.err + r.out)

    def test_password_in_uri_never_shown_or_stored(self):
        bad = self.uri.replace("crosscheck@", "crosscheck:hunter2@")
        r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok",
                       env={"PGPASSWORD": ""})
        self.assertNotIn("hunter2", r.err + r.out)
        with open(self.store, "rb") as f:
            self.assertNotIn(b"hunter2", f.read())
        wal = self.store + "-wal"
        if os.path.exists(wal):
            with open(wal, "rb") as f:
                self.assertNotIn(b"hunter2", f.read())

    def test_malformed_uri(self):
        for bad in ("postgresql//nohost", "postgresql://h:99999/db", "ftp://h/db"):
            r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok")
            self.assert_clean_error(r)

    def test_unknown_column(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok",
                       "--columns", "v,nope")
        self.assert_clean_error(r, "nope", "--columns")
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok",
                       "--exclude-columns", "zzz")
        self.assert_clean_error(r, "zzz")

    def test_usage_errors(self):
        for args in (["--source", self.uri], ["--jobs", "0"], ["--partition-rows", "x"],
                     ["--recheck-delay", "soon"], ["--bogus"], ["--map", "novalue"]):
            r = self.audit(*args)
            self.assert_clean_error(r)
        r = self.cc("nosuchverb")
        self.assertEqual(r.rc, 2, r)

    def test_store_not_sqlite(self):
        path = os.path.join(self.dir, "notes.txt")
        with open(path, "w") as f:
            f.write("precious notes\n")
        r = harness.Result(__import__("subprocess").run(
            [harness.BIN, "--store", path, "runs"], capture_output=True, text=True))
        self.assertEqual(r.rc, 2, r)
        with open(path) as f:
            self.assertEqual(f.read(), "precious notes\n")

    def test_help_for_every_verb(self):
        for verb in ("audit", "runs", "failures"):
            r = self.cc(verb, "--help")
            self.assertEqual(r.rc, 0, r)
            self.assertIn("usage: crosscheck " + verb, r.out)
        r = self.cc("--version")
        self.assertEqual(r.rc, 0)
        self.assertRegex(r.out, r"crosscheck \d+\.\d+")

    def test_failures_unknown_run(self):
        r = self.cc("failures", "--run", "999")
        self.assert_clean_error(r, "no run 999")


if __name__ == "__main__":
    harness.main()
