"""tests/integration/test_recover.py: checkpoints, recovery files and repair, on real servers.

A source on the first PostgreSQL cluster, a target on the second. A checkpoint is taken
and verified by a clean audit, then drift is planted and audited; recovery files are
generated for every format, the DMS ones are checked by the real AWS CLI's offline
validation, repair.sql and `repair --apply` must each bring the target back to a clean
audit, and bad input must leave nothing behind.
"""
import json
import os
import subprocess

import harness
from harness import pg_connect, pg_exec

AWS = "/usr/bin/aws"
ARNS = ["--source-endpoint-arn", "arn:aws:dms:us-east-1:123456789012:endpoint:SRCEXAMPLE",
        "--target-endpoint-arn", "arn:aws:dms:us-east-1:123456789012:endpoint:TGTEXAMPLE",
        "--replication-instance-arn", "arn:aws:dms:us-east-1:123456789012:rep:INSTEXAMPLE"]

def read(path):
    with open(path) as f:
        return f.read()


DDL = """
DROP TABLE IF EXISTS rc_single, rc_comp;
CREATE TABLE rc_single (id integer PRIMARY KEY, v text, n numeric(10,2), b bytea, ts timestamptz, ok boolean);
CREATE TABLE rc_comp (a text NOT NULL, b integer NOT NULL, v text, PRIMARY KEY (a, b));
INSERT INTO rc_single SELECT g, 'v' || g, g / 4.0, decode(md5(g::text), 'hex'),
       timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute', g % 3 = 0
  FROM generate_series(1, 5000) g;
INSERT INTO rc_comp SELECT (ARRAY['x', 'Y', 'z''q'])[1 + g % 3], g, 'c' || g FROM generate_series(1, 3000) g;
"""

DRIFT = """
DELETE FROM rc_single WHERE id IN (10, 11, 12, 13, 500);
UPDATE rc_single SET v = 'stale', ok = NOT ok WHERE id = 42;
UPDATE rc_single SET b = '\\x00ff'::bytea WHERE id = 43;
INSERT INTO rc_single VALUES (9999, 'extra', 1, NULL, now(), true);
DELETE FROM rc_comp WHERE (a, b) IN (('Y', 1), ('z''q', 2));
UPDATE rc_comp SET v = 'drift' WHERE a = 'x' AND b = 3;
"""


def aws_validate(test, path):
    """aws_validate runs the real AWS CLI on a task file against an unreachable endpoint:
    it must get as far as connecting, i.e. its offline validation accepted the input."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
               AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    p = subprocess.run([AWS, "dms", "create-replication-task", "--cli-input-json", "file://" + path,
                        "--endpoint-url", "http://127.0.0.1:9", "--cli-connect-timeout", "2"],
                       capture_output=True, text=True, env=env, timeout=120)
    test.assertNotEqual(p.returncode, 0)
    test.assertNotIn("Parameter validation failed", p.stderr)
    test.assertNotIn("Missing required parameter", p.stderr)
    test.assertIn("Could not connect to the endpoint URL", p.stderr, p.stderr)


class Recover(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        a, b = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        cls.src = harness.ensure_database(a, "cc_recover")
        cls.tgt = harness.ensure_database(b, "cc_recover")
        for uri in (cls.src, cls.tgt):
            c = pg_connect(uri)
            pg_exec(c, DDL)
            c.close()

    def setUp(self):
        super().setUp()
        # a clean pair, a checkpoint, and the clean audit that verifies it
        c = pg_connect(self.tgt)
        pg_exec(c, "TRUNCATE rc_single, rc_comp")
        c.close()
        c = pg_connect(self.src)
        pg_exec(c, "SELECT 1")
        c.close()
        subprocess.run(["pg_dump", "--data-only", "-t", "rc_single", "-t", "rc_comp", self.src],
                       check=True, capture_output=True)
        self.copy_tables()
        r = self.cc("checkpoint", "--source", self.src, "--label", "before the incident")
        self.assertEqual(r.rc, 0, r)
        r = self.audit()
        self.assertEqual(r.rc, 0, r)
        cps = self.cc("checkpoints", "--json").json()
        self.assertTrue(all(cp["verified_by"] == 1 for cp in cps), cps)
        c = pg_connect(self.tgt)
        pg_exec(c, DRIFT)
        c.close()
        r = self.audit()
        self.assertEqual(r.rc, 1, r)
        self.run_id = 2

    def copy_tables(self):
        dump = subprocess.run(["pg_dump", "--data-only", "-t", "rc_single", "-t", "rc_comp", self.src],
                              check=True, capture_output=True, text=True).stdout
        subprocess.run(["psql", self.tgt, "-q", "-v", "ON_ERROR_STOP=1"], input=dump, text=True,
                       check=True, capture_output=True)

    def audit(self):
        return self.cc("audit", "--source", self.src, "--target", self.tgt, "--table", "rc_single",
                       "--table", "rc_comp", "--recheck-delay", "0", "--recheck-attempts", "1",
                       "--no-progress")

    def out(self, name):
        return os.path.join(self.dir, name)

    def aws_validate(self, path):
        aws_validate(self, path)

    def test_dms_task_files_pass_the_aws_cli(self):
        r = self.cc("recover", "--run", self.run_id, "--format", "dms", "--out", self.out("dms"), *ARNS)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("the newest one verified by a clean audit (run 1)", r.err)
        backfill = json.loads(read(self.out("dms/backfill-task.json")))
        replace = json.loads(read(self.out("dms/replacement-task.json")))
        self.assertEqual(backfill["MigrationType"], "full-load")
        self.assertEqual(replace["MigrationType"], "cdc")
        settings = json.loads(backfill["ReplicationTaskSettings"])
        self.assertEqual(settings["FullLoadSettings"]["TargetTablePrepMode"], "DO_NOTHING")
        rules = json.loads(backfill["TableMappings"])["rules"]
        single = [x for x in rules if x["object-locator"]["table-name"] == "rc_single"]
        conds = [c for x in single for f in x["filters"] for c in f["filter-conditions"]]
        # 10..13 are consecutive: one between; 500, 42 and 43 are eq (42, 43: a pair, not a run)
        self.assertIn({"filter-operator": "between", "start-value": "10", "end-value": "13"}, conds)
        self.assertEqual(sorted(c["value"] for c in conds if c["filter-operator"] == "eq"), ["42", "43", "500"])
        comp = [x for x in rules if x["object-locator"]["table-name"] == "rc_comp"]
        self.assertEqual(len(comp), 3)  # one rule per composite key, one filter per column
        self.assertTrue(all(len(x["filters"]) == 2 for x in comp))
        cps = {cp["checkpoint"]: cp for cp in self.cc("checkpoints", "--json").json()}
        self.assertIn(replace["CdcStartPosition"], [cp["position"] for cp in cps.values()])
        self.assertRegex(replace["CdcStartPosition"], r"^[0-9A-F]+/[0-9A-F]+$")
        self.aws_validate(self.out("dms/backfill-task.json"))
        self.aws_validate(self.out("dms/replacement-task.json"))
        cleanup = read(self.out("dms/target-cleanup.sql"))
        self.assertIn("9999", cleanup)  # the extra row is removed, not backfilled
        runbook = read(self.out("dms/RUNBOOK.md"))
        self.assertIn("start-replication", runbook)
        self.assertLess(runbook.index("replacement-task.json"), runbook.index("backfill-task.json"))

    def test_dms_with_a_dms_recovery_checkpoint(self):
        mysql_style = ("checkpoint:V1#27#mysql-bin-changelog.157832:1975:-1:2002:677883278264080:"
                       "mysql-bin-changelog.157832:1876#0#0#*#0#93")
        r = self.cc("checkpoint", "--source", self.src, "--dms-checkpoint", mysql_style, "--json")
        self.assertEqual(r.rc, 0, r)
        cid = r.json()["checkpoint"]
        r = self.cc("recover", "--run", self.run_id, "--format", "dms", "--checkpoint", cid,
                    "--out", self.out("dms2"), *ARNS)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("NOT verified", r.err)
        replace = json.loads(read(self.out("dms2/replacement-task.json")))
        self.assertEqual(replace["CdcStartPosition"], mysql_style)
        self.aws_validate(self.out("dms2/replacement-task.json"))

    def test_sql_repair_file_makes_the_target_clean(self):
        r = self.cc("recover", "--run", self.run_id, "--format", "sql", "--out", self.out("sql"))
        self.assertEqual(r.rc, 0, r)
        sql = self.out("sql/repair.sql")
        for _ in range(2):  # idempotent: twice gives the same target
            subprocess.run(["psql", self.tgt, "-q", "-v", "ON_ERROR_STOP=1", "-f", sql], check=True,
                           capture_output=True)
        r = self.audit()
        self.assertEqual(r.rc, 0, r)

    def test_debezium_signals(self):
        r = self.cc("recover", "--run", self.run_id, "--format", "debezium", "--out", self.out("dbz"),
                    "--signal-table", "public.dbz_signal")
        self.assertEqual(r.rc, 0, r)
        c = pg_connect(self.src)
        pg_exec(c, "DROP TABLE IF EXISTS dbz_signal; CREATE TABLE dbz_signal (id text PRIMARY KEY, type text, data text)")
        c.close()
        subprocess.run(["psql", self.src, "-q", "-v", "ON_ERROR_STOP=1", "-f", self.out("dbz/signals.sql")],
                       check=True, capture_output=True)
        c = pg_connect(self.src)
        rows = pg_exec(c, "SELECT type, data FROM dbz_signal ORDER BY id")
        # each filter is valid SQL on the source, selecting exactly the keys it names
        for typ, data in rows:
            self.assertEqual(typ, "execute-snapshot")
            d = json.loads(data)
            self.assertEqual(d["type"], "incremental")
            cond = d["additional-conditions"][0]
            n = pg_exec(c, "SELECT count(*) FROM %s WHERE %s" % (cond["data-collection"], cond["filter"]))[0][0]
            self.assertGreater(n, 0)
        self.assertEqual(sum(pg_exec(c, "SELECT count(*) FROM %s WHERE %s" % (
            json.loads(d)["additional-conditions"][0]["data-collection"],
            json.loads(d)["additional-conditions"][0]["filter"]))[0][0] for _, d in rows), 5 + 2 + 2 + 1)
        pg_exec(c, "DROP TABLE dbz_signal")
        c.close()

    def table_digest(self):
        c = pg_connect(self.tgt)
        d = pg_exec(c, "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM rc_single t")[0][0]
        c.close()
        return d

    def test_repair_dry_run_then_apply(self):
        before = self.table_digest()
        r = self.cc("repair", "--run", self.run_id)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("dry run", r.out)
        self.assertEqual(self.table_digest(), before)
        r = self.cc("repair", "--run", self.run_id, "--apply")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("repaired and verified 11 keys; 0 still different", r.out)
        states = {f["state"] for f in self.failures(self.run_id)}
        self.assertEqual(states, {"repaired"})
        r = self.audit()
        self.assertEqual(r.rc, 0, r)

    def assert_nothing_written(self, name):
        self.assertFalse(os.path.exists(self.out(name)))
        self.assertEqual([x for x in os.listdir(self.dir) if ".tmp-" in x], [])

    def test_bad_input(self):
        # a run with no confirmed failures
        r = self.cc("recover", "--run", "1", "--format", "sql", "--out", self.out("a"))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("nothing to recover", r.err)
        self.assert_nothing_written("a")
        # an unknown checkpoint
        r = self.cc("recover", "--run", self.run_id, "--format", "dms", "--checkpoint", "999",
                    "--out", self.out("b"), *ARNS)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("no checkpoint 999", r.err)
        self.assert_nothing_written("b")
        # a checkpoint of another source
        r = self.cc("checkpoint", "--source", self.tgt, "--json")
        self.assertEqual(r.rc, 0, r)
        other = r.json()["checkpoint"]
        r = self.cc("recover", "--run", self.run_id, "--format", "dms", "--checkpoint", other,
                    "--out", self.out("c"), *ARNS)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("not on run %d's source" % self.run_id, r.err)
        self.assert_nothing_written("c")
        # an output folder that cannot be written, or is not empty
        r = self.cc("recover", "--run", self.run_id, "--format", "sql", "--out", "/etc/hostname/out")
        self.assertEqual(r.rc, 2, r)
        os.mkdir(self.out("full"))
        with open(self.out("full/keep.txt"), "w") as f:
            f.write("mine")
        r = self.cc("recover", "--run", self.run_id, "--format", "sql", "--out", self.out("full"))
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(os.listdir(self.out("full")), ["keep.txt"])
        # dms without its ARNs; an unknown run; an unknown format
        r = self.cc("recover", "--run", self.run_id, "--format", "dms", "--out", self.out("d"))
        self.assertEqual(r.rc, 2, r)
        self.assert_nothing_written("d")
        r = self.cc("recover", "--run", "77", "--format", "sql", "--out", self.out("e"))
        self.assertEqual(r.rc, 2, r)
        r = self.cc("recover", "--run", self.run_id, "--format", "nope", "--out", self.out("f"))
        self.assertEqual(r.rc, 2, r)
        # the store is intact
        self.assertEqual(len(self.cc("runs", "--json").json()), 2)


if __name__ == "__main__":
    harness.main()
