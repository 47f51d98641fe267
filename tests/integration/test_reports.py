"""tests/integration/test_reports.py: reports of real audits, checked by real consumers.

Three runs against the private PostgreSQL servers, in one store:
  1. clean: identical copies -> consistent;
  2. errored: the target's rpt_boom is a view whose read raises an exception for one
     row, so that partition's read fails on the target (a real server error, the way a
     corrupt page or a permission change fails a read) -> "Table error";
  3. drift: rows deleted, added and changed on the target, among them the text key
     '<script>alert(1)</script>' -> confirmed differences.
Then: the JSON of each run validates against reports/report.schema.json (jsonschema,
Draft 2020-12); the HTML is loaded in headless Chromium over the DevTools protocol;
JUnit is read by junitparser; the metrics pass `promtool check metrics`.
"""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

import harness
from harness import pg_connect, pg_exec

import cdp

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCHEMA = os.path.join(ROOT, "reports", "report.schema.json")
SCRIPT_KEY = "<script>alert(1)</script>"

DDL = """
DROP VIEW IF EXISTS rpt_boom;
DROP TABLE IF EXISTS rpt_orders, rpt_notes, rpt_boom, rpt_boom_data;
CREATE TABLE rpt_orders (id integer PRIMARY KEY, amount numeric(12,2), note text);
CREATE TABLE rpt_notes (slug text PRIMARY KEY, body text);
INSERT INTO rpt_orders SELECT g, g * 1.5, 'note ' || g FROM generate_series(1, 20000) g;
INSERT INTO rpt_notes SELECT 'slug-' || g, 'body ' || g FROM generate_series(1, 500) g;
INSERT INTO rpt_notes VALUES ('<script>alert(1)</script>', 'a key that is markup'),
                             ('quote"and''apostrophe & amp', 'another');
"""

SOURCE_BOOM = """
CREATE TABLE rpt_boom (id integer PRIMARY KEY, v integer);
INSERT INTO rpt_boom SELECT g, g FROM generate_series(1, 6000) g;
"""

# On the target rpt_boom is a view over the same rows whose column v cannot be read at
# id 4777: the catalog, the key bounds and the counts work (they never read v), and the
# scan of the partition holding id 4777 fails on the server.
TARGET_BOOM = """
CREATE TABLE rpt_boom_data (id integer PRIMARY KEY, v integer);
INSERT INTO rpt_boom_data SELECT g, g FROM generate_series(1, 6000) g;
CREATE OR REPLACE FUNCTION rpt_boom_check(i integer, v integer) RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF i = 4777 THEN RAISE EXCEPTION 'planted read failure at id %', i; END IF;
  RETURN v;
END $$;
CREATE VIEW rpt_boom AS SELECT id, rpt_boom_check(id, v) AS v FROM rpt_boom_data;
"""

DRIFT = """
DELETE FROM rpt_orders WHERE id BETWEEN 15001 AND 15040;      -- a lost batch: one cluster
DELETE FROM rpt_orders WHERE id = 4242;                       -- missing on target
INSERT INTO rpt_orders VALUES (20001, 1, 'extra');            -- extra on target
UPDATE rpt_orders SET amount = amount + 0.01 WHERE id = 1234; -- different
DELETE FROM rpt_notes WHERE slug = '<script>alert(1)</script>';
UPDATE rpt_notes SET body = 'changed' WHERE slug = 'quote"and''apostrophe & amp';
"""


class Reports(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        src_admin, tgt_admin = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        cls.src = harness.ensure_database(src_admin, "cc_rpt_src")
        cls.tgt = harness.ensure_database(tgt_admin, "cc_rpt_tgt")
        for uri, boom in ((cls.src, SOURCE_BOOM), (cls.tgt, TARGET_BOOM)):
            conn = pg_connect(uri)
            pg_exec(conn, "SET client_min_messages = warning")
            pg_exec(conn, DDL)
            pg_exec(conn, boom)
            conn.close()
        # one store for the class: the three runs are the fixture of every test
        cls.keep = tempfile.mkdtemp(prefix="crosscheck-reports-")
        cls.store_path = os.path.join(cls.keep, "crosscheck.db")

        def audit(rc, *tables):
            args = [harness.BIN, "--store", cls.store_path, "audit", "--source", cls.src, "--target", cls.tgt,
                    "--partition-rows", "2000", "--jobs", "2", "--recheck-delay", "0",
                    "--recheck-attempts", "1"]
            for t in tables:
                args += ["--table", t]
            p = subprocess.run(args, capture_output=True, text=True, timeout=600)
            if p.returncode != rc or "AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
                raise AssertionError("audit %s: rc=%d, want %d\n%s%s" % (tables, p.returncode, rc, p.stdout, p.stderr))

        audit(0, "public.rpt_orders", "public.rpt_notes")
        audit(2, "public.rpt_orders", "public.rpt_boom")
        conn = pg_connect(cls.tgt)
        pg_exec(conn, DRIFT)
        conn.close()
        audit(1, "public.rpt_orders", "public.rpt_notes")
        cls.clean_run, cls.error_run, cls.drift_run = 1, 2, 3

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.keep, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self.store = self.store_path

    def report(self, *args):
        out = os.path.join(self.dir, "report.out")
        r = self.cc("report", "--output", out, *args)
        self.assertEqual(r.rc, 0, r)
        with open(out, encoding="utf-8") as f:
            return f.read()

    # --- JSON -----------------------------------------------------------------------------

    def test_json_validates_for_clean_errored_and_drift_runs(self):
        import jsonschema
        with open(SCHEMA) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema)
        docs = {}
        for run in (self.clean_run, self.error_run, self.drift_run):
            doc = json.loads(self.report("--run", run, "--format", "json"))
            errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
            self.assertEqual([], ["%s at %s" % (e.message, list(e.path)) for e in errors], "run %d" % run)
            docs[run] = doc

        clean = docs[self.clean_run]
        self.assertEqual(clean["run"]["verdict"], "consistent")
        self.assertEqual(clean["summary"]["tables_by_state"]["Validated"], 2)
        self.assertEqual(clean["failures"], [])
        orders = {t["name"]: t for t in clean["tables"]}["public.rpt_orders"]
        self.assertEqual(orders["partition_count"], len(orders["partitions"]))
        self.assertGreaterEqual(orders["partition_count"], 5)
        self.assertEqual(sum(p["source_rows"] for p in orders["partitions"]), 20000)
        for p in orders["partitions"]:
            self.assertEqual(p["source_digest"], p["target_digest"])

        errored = docs[self.error_run]
        self.assertEqual(errored["run"]["verdict"], "error")
        boom = {t["name"]: t for t in errored["tables"]}["public.rpt_boom"]
        self.assertEqual(boom["state"], "Table error")
        self.assertEqual(boom["status"], "error")
        self.assertTrue(boom["error"])
        # the partition holding id 4777 failed on the server; the others were compared
        self.assertEqual([p["status"] for p in boom["partitions"]], ["done", "done", "error"])
        self.assertTrue(boom["partitions"][2]["error"])
        self.assertEqual(boom["partitions"][0]["source_digest"], boom["partitions"][0]["target_digest"])
        self.assertEqual({t["name"]: t["state"] for t in errored["tables"]}["public.rpt_orders"], "Validated")

        drift = docs[self.drift_run]
        self.assertEqual(drift["run"]["verdict"], "differences")
        self.assertNotIn("password", json.dumps(drift["run"]))
        got = {(f["table"], tuple(sorted(f["key"].items())), f["kind"], f["state"]) for f in drift["failures"]}
        want = {("public.rpt_orders", (("id", str(i)),), "MISSING_TARGET", "confirmed")
                for i in list(range(15001, 15041)) + [4242]}
        want |= {("public.rpt_orders", (("id", "20001"),), "MISSING_SOURCE", "confirmed"),
                 ("public.rpt_orders", (("id", "1234"),), "RECORD_DIFF", "confirmed"),
                 ("public.rpt_notes", (("slug", SCRIPT_KEY),), "MISSING_TARGET", "confirmed"),
                 ("public.rpt_notes", (("slug", "quote\"and'apostrophe & amp"),), "RECORD_DIFF", "confirmed")}
        self.assertEqual(got, want)
        self.assertEqual(drift["summary"]["failures"]["confirmed"], len(want))
        # history with --last: the three runs, oldest first, the reported one last
        hist = json.loads(self.report("--last", "3", "--format", "json"))
        validator.validate(hist)
        self.assertEqual([h["id"] for h in hist["history"]], [1, 2, 3])

    # --- HTML in a real browser -----------------------------------------------------------------

    def test_html_in_headless_chromium(self):
        if cdp.find_chromium() is None:
            if harness.IN_CI:
                self.fail("chromium is not installed (ci/deps installs it)")
            raise unittest.SkipTest("chromium is not installed")
        html_path = os.path.join(self.dir, "report.html")
        r = self.cc("report", "--last", "3", "--format", "html", "--output", html_path)
        self.assertEqual(r.rc, 0, r)
        url = "file://" + html_path
        # Any request that did escape would go to a proxy on a closed port and fail; the
        # DevTools Network domain sees it either way, which is what the test asserts on.
        browser = cdp.Browser(["--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"])
        try:
            browser.load(url)
            requests = [e["params"]["request"]["url"] for e in browser.events_named("Network.requestWillBeSent")]
            self.assertEqual(requests, [url], "the report made requests beyond itself")
            failed = browser.events_named("Network.loadingFailed")
            self.assertEqual(failed, [])
            console = [e for e in browser.events_named("Runtime.consoleAPICalled")]
            self.assertEqual(console, [], "console output")
            self.assertEqual(browser.events_named("Runtime.exceptionThrown"), [])
            log_errors = [e["params"]["entry"] for e in browser.events_named("Log.entryAdded")
                          if e["params"]["entry"]["level"] in ("error", "warning")]
            self.assertEqual(log_errors, [], "browser log errors (CSP violations land here)")
            self.assertEqual(browser.events_named("Page.javascriptDialogOpening"), [])

            # the markup key is text, not an element: no <script> in the DOM at all
            self.assertEqual(browser.evaluate("document.querySelectorAll('script').length"), 0)
            text = browser.evaluate("document.body.innerText")
            self.assertIn(SCRIPT_KEY, text)
            self.assertIn("slug=" + SCRIPT_KEY, browser.evaluate(
                "Array.from(document.querySelectorAll('#failures td.key')).map(t => t.textContent).join('\\n')"))
            # the planted differences are shown
            self.assertIn("DIFFERENCES", text.upper())
            for key in ("id=4242", "id=20001", "id=1234", "id=15001", "id=15040",
                        "slug=quote\"and'apostrophe & amp"):
                self.assertIn(key, text)
            self.assertIn("missing on target", text)
            self.assertIn("extra on target", text)
            self.assertIn("Mismatched records", text)
            # the heat strip marks the partition holding the lost batch, not the others
            strips = browser.evaluate(
                "Array.from(document.querySelectorAll('#partitions .strip')).map(s => "
                "[s.querySelector('b').textContent, Array.from(s.querySelectorAll('rect title'))"
                ".map(t => t.textContent)])")
            orders = dict(strips)["public.rpt_orders"]
            hot = [t for t in orders if not t.split(": ", 1)[1].startswith("0 differences")]
            self.assertTrue(any(t.startswith("partition 7: 40 differences") for t in hot), orders)
            # drift over time: one bar group per run of --last 3
            labels = browser.evaluate(
                "Array.from(document.querySelectorAll('#drift svg text')).map(t => t.textContent)")
            for run in ("#1", "#2", "#3"):
                self.assertIn(run, labels)
            self.assertTrue(browser.evaluate(
                "document.querySelector('meta[http-equiv=\"Content-Security-Policy\"]')"
                ".content.includes(\"default-src 'none'\")"))
        finally:
            browser.quit()

    def test_html_errored_run_shows_the_error(self):
        html = self.report("--run", self.error_run, "--format", "html")
        self.assertIn('<div class="verdict v-error">', html)
        self.assertIn('<span class="state s-error">Table error</span>', html)
        self.assertIn("partitions failed", html)
        self.assertIn("3 partitions &middot; 0 differences &middot; 1 failed", html)
        self.assertRegex(html, r'<rect x="2" [^>]*fill="#57606a"[^>]*><title>partition 2: 0 differences, 1 failed')
        self.assertNotIn("<script", html)

    # --- JUnit ------------------------------------------------------------------------------------

    def test_junit_read_by_junitparser(self):
        import junitparser
        for run, expect in ((self.clean_run, {"public.rpt_orders": None, "public.rpt_notes": None}),
                            (self.error_run, {"public.rpt_orders": None, "public.rpt_boom": junitparser.Error}),
                            (self.drift_run, {"public.rpt_orders": junitparser.Failure,
                                              "public.rpt_notes": junitparser.Failure})):
            path = os.path.join(self.dir, "junit-%d.xml" % run)
            r = self.cc("report", "--run", run, "--format", "junit", "--output", path)
            self.assertEqual(r.rc, 0, r)
            xml = junitparser.JUnitXml.fromfile(path)
            cases = {}
            for suite in xml:
                self.assertEqual(suite.tests, len(expect))
                for case in suite:
                    cases[case.name] = case
            self.assertEqual(set(cases), set(expect))
            for name, kind in expect.items():
                results = cases[name].result
                if kind is None:
                    self.assertEqual(results, [], name)
                else:
                    self.assertEqual([type(x) for x in results], [kind], name)
            # the attributes the common JUnit XSD (Jenkins/GitLab) requires
            root = ET.parse(path).getroot()
            self.assertEqual(root.tag, "testsuites")
            for suite in root.findall("testsuite"):
                for a in ("name", "tests", "failures", "errors", "time", "timestamp", "hostname"):
                    self.assertIn(a, suite.attrib)
                for case in suite.findall("testcase"):
                    for a in ("name", "classname", "time"):
                        self.assertIn(a, case.attrib)
        with open(os.path.join(self.dir, "junit-%d.xml" % self.drift_run), encoding="utf-8") as f:
            drift = f.read()
        self.assertIn("slug=&lt;script&gt;alert(1)&lt;/script&gt;", drift)

    # --- Prometheus -------------------------------------------------------------------------------

    def test_prometheus_passes_promtool(self):
        promtool = shutil.which("promtool")
        text = self.report("--run", self.drift_run, "--format", "prometheus")
        if promtool is None:
            if harness.IN_CI:
                self.fail("promtool is not installed (ci/deps installs prometheus)")
        else:
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('crosscheck_rows{side="source",table="public.rpt_orders"} 20000\n', text)
        self.assertIn('crosscheck_rows{side="target",table="public.rpt_orders"} 19960\n', text)
        self.assertIn('crosscheck_differences{kind="MISSING_TARGET",table="public.rpt_orders",'
                      'state="confirmed"} 41\n', text)
        self.assertIn('crosscheck_run_verdict{verdict="differences"} 1\n', text)
        self.assertIn("crosscheck_last_run_timestamp_seconds ", text)

    # --- the CLI's contract ------------------------------------------------------------------------

    def test_output_is_atomic_and_errors_exit_2(self):
        out = os.path.join(self.dir, "keep.json")
        good = self.report("--run", self.clean_run, "--format", "json")
        with open(out, "w") as f:
            f.write(good)
        r = self.cc("report", "--run", 99, "--output", out)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("no run 99", r.err)
        with open(out) as f:
            self.assertEqual(f.read(), good, "a failed report replaced the previous one")
        self.assertEqual(sorted(os.listdir(self.dir)), sorted(["keep.json", "report.out"]),
                         "a temporary file was left behind")
        r = self.cc("report", "--output", os.path.join(self.dir, "no", "such", "dir", "r.json"))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("cannot write", r.err)
        r = self.cc("report", "--output", self.dir)  # a folder, not a file
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(sorted(os.listdir(self.dir)), sorted(["keep.json", "report.out"]))
        r = self.cc("report", "--run", 1, "--last", 2)
        self.assertEqual(r.rc, 2, r)
        r = self.cc("report", "--format", "pdf")
        self.assertEqual(r.rc, 2, r)
        r = self.cc("report", "--store", os.path.join(self.dir, "absent.db"))
        self.assertEqual(r.rc, 2, r)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "absent.db")))
        # stdout, and the format from the extension
        r = self.cc("report", "--run", self.clean_run)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(json.loads(r.out)["run"]["id"], self.clean_run)
        r = self.cc("report", "--run", self.clean_run, "--output", os.path.join(self.dir, "x.prom"))
        self.assertEqual(r.rc, 0, r)
        with open(os.path.join(self.dir, "x.prom")) as f:
            self.assertTrue(f.read().startswith("# HELP crosscheck_run_info"))
        r = self.cc("report", "--help")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("--last K", r.out)

    def test_runs_filters_and_table_states(self):
        r = self.cc("runs", "--json", "--verdict", "consistent")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x["run"] for x in r.json()], [self.clean_run])
        r = self.cc("runs", "--json", "--state", "Table error")
        self.assertEqual([x["run"] for x in r.json()], [self.error_run])
        r = self.cc("runs", "--json", "--table", "public.rpt_notes")
        self.assertEqual([x["run"] for x in r.json()], [self.drift_run, self.clean_run])
        r = self.cc("runs", "--json", "--kind", "audit", "--limit", "2")
        self.assertEqual([x["run"] for x in r.json()], [self.drift_run, self.error_run])
        r = self.cc("runs", "--json", "--tables", "--run-never-exists")
        self.assertEqual(r.rc, 2, r)
        r = self.cc("runs", "--json", "--tables")
        self.assertEqual(r.rc, 0, r)
        states = {(x["run"], t["table"]): t["state"] for x in r.json() for t in x["table_results"]}
        self.assertEqual(states[(self.error_run, "public.rpt_boom")], "Table error")
        self.assertEqual(states[(self.error_run, "public.rpt_orders")], "Validated")
        self.assertEqual(states[(self.drift_run, "public.rpt_notes")], "Mismatched records")
        r = self.cc("runs", "--tables")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("Table error", r.out)
        r = self.cc("runs", "--verdict", "maybe")
        self.assertEqual(r.rc, 2, r)
        # failures filters on the drift run
        r = self.cc("failures", "--json", "--run", self.drift_run, "--table", "public.rpt_notes",
                    "--kind", "MISSING_TARGET", "--state", "confirmed")
        self.assertEqual([f["key"] for f in r.json()], [{"slug": SCRIPT_KEY}])


if __name__ == "__main__":
    harness.main()
