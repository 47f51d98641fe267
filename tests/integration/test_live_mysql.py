"""tests/integration/test_live_mysql.py: beside a live MariaDB primary -> replica replication,
and the recovery lab: a replica broken while writes go on, brought back with
`recover --format mysql-replica` and `repair --apply`, losing nothing.

The replicator is MariaDB's own binlog replication between the two private servers of
ci/servers. Replication lag is made certain, not lucky, with STOP SLAVE SQL_THREAD.
"""
import json
import os
import random
import re
import subprocess
import threading
import time

import harness
import mariadb
from test_recover import aws_validate
from mariadb import q

ROWS = 120_000


class Writer(threading.Thread):
    """Inserts, updates and deletes on the primary; never touches ids in (100000, 120000]
    except to read them, so drift planted there is the test's alone."""

    def __init__(self, uri, db, deletes=True):
        super().__init__(daemon=True)
        self.conn = mariadb.connect(uri, db)
        self.stop_flag = threading.Event()
        self.deletes = deletes
        self.ops = 0
        self.inserted = 0
        self.next_id = max(1_000_000, q(self.conn, "SELECT COALESCE(MAX(id), 0) FROM live_items")[0][0] + 1)

    def run(self):
        rnd = random.Random(11)
        while not self.stop_flag.is_set():
            q(self.conn, "BEGIN")
            for _ in range(20):
                op = rnd.random()
                if op < 0.5:
                    q(self.conn, "UPDATE live_items SET val = MD5(RAND()), n = n + 1 WHERE id = %s",
                      (rnd.randint(1, 100_000),))
                elif op < 0.85 or not self.deletes:
                    q(self.conn, "INSERT INTO live_items (id, val, n) VALUES (%s, 'new', 0)", (self.next_id,))
                    self.next_id += 1
                    self.inserted += 1
                else:
                    q(self.conn, "DELETE FROM live_items WHERE id = %s", (rnd.randint(50_001, 100_000),))
                self.ops += 1
            q(self.conn, "COMMIT")
            time.sleep(0.005)

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=30)
        self.conn.close()


class LiveMariaDB(harness.CrosscheckTest):
    DB = "cc_live_my"

    @classmethod
    def setUpClass(cls):
        cls.primary, cls.replica = harness.need_env("CROSSCHECK_MYSQL_URI", "CROSSCHECK_MYSQL2_URI")
        mariadb.start_replication(cls.primary, cls.replica, cls.DB)
        p = mariadb.connect(cls.primary, cls.DB)
        q(p, """CREATE TABLE live_items (id BIGINT PRIMARY KEY, val VARCHAR(64), n INT NOT NULL,
                  updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))""")
        q(p, "INSERT INTO live_items (id, val, n, updated_at) SELECT seq, MD5(seq), seq, '2024-01-01' "
             "FROM seq_1_to_%d" % ROWS)
        p.close()
        mariadb.wait_caught_up(cls.primary, cls.replica)
        cls.src = mariadb.with_db(cls.primary, cls.DB)
        cls.tgt = mariadb.with_db(cls.replica, cls.DB)

    def audit(self, *extra):
        return self.cc("audit", "--source", self.src, "--target", self.tgt, "--table", "live_items",
                       "--partition-rows", "10000", "--jobs", "2", "--no-progress", *extra)

    def states(self):
        out = {}
        for f in self.failures():
            out[f["state"]] = out.get(f["state"], 0) + 1
        return out

    def stall(self, seconds):
        """stall stops the replica's SQL thread (changes queue in its relay log) and
        starts it again after `seconds`."""
        r = mariadb.connect(self.replica, "")
        q(r, "STOP SLAVE SQL_THREAD")
        t = threading.Timer(seconds, lambda: (q(r, "START SLAVE SQL_THREAD"), r.close()))
        t.start()
        return t

    def test_1_rechecks_turn_lag_into_resolved(self):
        w = Writer(self.src, self.DB)
        w.start()
        time.sleep(0.5)
        t = self.stall(5)
        time.sleep(1)
        try:
            r = self.audit("--recheck-delay", "3s", "--recheck-attempts", "4")
        finally:
            t.join()
            w.stop()
        self.assertEqual(r.rc, 0, "%r\n%r" % (r, self.failures()))
        st = self.states()
        self.assertNotIn("confirmed", st)
        self.assertGreater(st.get("resolved", 0), 0, r)
        mariadb.wait_caught_up(self.primary, self.replica)

    def test_2_one_pass_shows_pending(self):
        w = Writer(self.src, self.DB)
        w.start()
        t = self.stall(8)
        time.sleep(1.5)
        try:
            r = self.audit("--recheck-attempts", "0")
        finally:
            w.stop()
            t.join()
        self.assertEqual(r.rc, 0, r)
        st = self.states()
        self.assertGreater(st.get("pending", 0), 0, r)
        self.assertNotIn("confirmed", st)
        mariadb.wait_caught_up(self.primary, self.replica)

    def test_3_drift_on_the_replica_is_confirmed(self):
        w = Writer(self.src, self.DB)
        w.start()
        r_conn = mariadb.connect(self.replica, self.DB)
        q(r_conn, "SET SESSION sql_log_bin = 0")
        try:
            q(r_conn, "UPDATE live_items SET val = 'drift' WHERE id IN (100005, 110007)")
            q(r_conn, "DELETE FROM live_items WHERE id = 119999")
            q(r_conn, "INSERT INTO live_items (id, val, n) VALUES (5000000, 'stray', 0)")
            r = self.audit("--recheck-delay", "2s", "--recheck-attempts", "2")
        finally:
            w.stop()
            q(r_conn, "UPDATE live_items SET val = MD5(id) WHERE id IN (100005, 110007)")
            q(r_conn, "INSERT IGNORE INTO live_items (id, val, n, updated_at) VALUES (119999, MD5(119999), 119999, '2024-01-01')")
            q(r_conn, "DELETE FROM live_items WHERE id = 5000000")
            r_conn.close()
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.failure_set(state="confirmed"), {
            # ON UPDATE CURRENT_TIMESTAMP moved updated_at on the replica too
            ("%s.live_items" % self.DB, (("id", "100005"),), "RECORD_DIFF", ("val", "updated_at")),
            ("%s.live_items" % self.DB, (("id", "110007"),), "RECORD_DIFF", ("val", "updated_at")),
            ("%s.live_items" % self.DB, (("id", "119999"),), "MISSING_TARGET", ()),
            ("%s.live_items" % self.DB, (("id", "5000000"),), "MISSING_SOURCE", ()),
        })
        mariadb.wait_caught_up(self.primary, self.replica)


class RecoveryLab(harness.CrosscheckTest):
    """The seeds' lab: a replica broken while data keeps arriving, recovered from a
    verified checkpoint without losing a row."""
    DB = "cc_lab"

    @classmethod
    def setUpClass(cls):
        cls.primary, cls.replica = harness.need_env("CROSSCHECK_MYSQL_URI", "CROSSCHECK_MYSQL2_URI")
        mariadb.start_replication(cls.primary, cls.replica, cls.DB)
        p = mariadb.connect(cls.primary, cls.DB)
        q(p, "CREATE TABLE live_items (id BIGINT PRIMARY KEY, val VARCHAR(64), n INT NOT NULL)")
        q(p, "INSERT INTO live_items SELECT seq, MD5(seq), seq FROM seq_1_to_30000")
        p.close()
        mariadb.wait_caught_up(cls.primary, cls.replica)
        cls.src = mariadb.with_db(cls.primary, cls.DB)
        cls.tgt = mariadb.with_db(cls.replica, cls.DB)

    def audit(self, *extra):
        return self.cc("audit", "--source", self.src, "--target", self.tgt, "--table", "live_items",
                       "--partition-rows", "5000", "--no-progress", *extra)

    def test_broken_replica_recovered_without_loss(self):
        w = Writer(self.src, self.DB, deletes=False)
        w.start()
        try:
            # checkpoints, verified by audits that find nothing (after rechecks)
            for _ in range(2):
                r = self.cc("checkpoint", "--source", self.src, "--label", "periodic")
                self.assertEqual(r.rc, 0, r)
                r = self.audit("--recheck-delay", "2s", "--recheck-attempts", "4")
                self.assertEqual(r.rc, 0, "%r %r" % (r, self.failures()))
            cps = self.cc("checkpoints", "--json").json()
            self.assertTrue(any(cp["verified_by"] for cp in cps), cps)
            self.assertTrue(all(cp["engine"] in ("mysql", "mariadb") for cp in cps), cps)

            # the incident: replication reset, rows lost on the replica, writes go on
            rep = mariadb.connect(self.replica, self.DB)
            q(rep, "STOP SLAVE")
            q(rep, "RESET SLAVE ALL")
            q(rep, "SET SESSION sql_log_bin = 0")
            q(rep, "DELETE FROM live_items WHERE id BETWEEN 100 AND 149")
            rep.close()
            time.sleep(2)
            r = self.audit("--recheck-delay", "0", "--recheck-attempts", "1")
            self.assertEqual(r.rc, 1, r)
            run = self.cc("runs", "--json").json()[0]["run"]

            # DMS tasks from the same verified MariaDB checkpoint (binlog file:pos) pass the
            # AWS CLI's offline validation
            dms = os.path.join(self.dir, "dms")
            arns = ["--source-endpoint-arn", "arn:aws:dms:us-east-1:123456789012:endpoint:SRC",
                    "--target-endpoint-arn", "arn:aws:dms:us-east-1:123456789012:endpoint:TGT",
                    "--replication-instance-arn", "arn:aws:dms:us-east-1:123456789012:rep:INST"]
            r = self.cc("recover", "--run", run, "--format", "dms", "--out", dms, *arns)
            self.assertEqual(r.rc, 0, r)
            with open(os.path.join(dms, "replacement-task.json")) as f:
                task = json.load(f)
            self.assertRegex(task["CdcStartPosition"], r"^binlog\.\d+:\d+$")
            for name in ("backfill-task.json", "replacement-task.json"):
                aws_validate(self, os.path.join(dms, name))

            out = os.path.join(self.dir, "recovery")
            r = self.cc("recover", "--run", run, "--format", "mysql-replica", "--out", out)
            self.assertEqual(r.rc, 0, r)
            self.assertIn("newest one verified by a clean audit", r.err)
            sql = open(os.path.join(out, "change-master.sql")).read()
            self.assertIn("CHANGE MASTER TO", sql)
            self.assertIn("MASTER_PASSWORD = '<password>'", sql)  # never the real one
            sql = sql.replace("'<password>'", "'%s'" % os.environ.get("MYSQL_PWD", ""))

            # the runbook: idempotent catch-up from the checkpoint, then repair, then strict
            rep = mariadb.connect(self.replica, "")
            q(rep, "SET GLOBAL slave_exec_mode = 'IDEMPOTENT'")
            for stmt in [s.strip() for s in re.sub(r"--[^\n]*", "", sql).split(";") if s.strip()]:
                q(rep, stmt)
            rep.close()
            time.sleep(3)  # writes keep arriving while the replica catches up
        finally:
            w.stop()
        mariadb.wait_caught_up(self.primary, self.replica)
        r = self.cc("repair", "--run", run, "--apply")
        self.assertEqual(r.rc, 0, r)
        rep = mariadb.connect(self.replica, "")
        q(rep, "SET GLOBAL slave_exec_mode = 'STRICT'")
        rep.close()

        r = self.audit("--recheck-delay", "1s", "--recheck-attempts", "2", "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["verdict"], "consistent")
        p = mariadb.connect(self.src, self.DB)
        t = mariadb.connect(self.tgt, self.DB)
        self.assertEqual(q(p, "SELECT COUNT(*) FROM live_items")[0][0], 30000 + w.inserted)
        self.assertEqual(q(t, "SELECT COUNT(*), SUM(n) FROM live_items"),
                         q(p, "SELECT COUNT(*), SUM(n) FROM live_items"))
        p.close()
        t.close()


if __name__ == "__main__":
    harness.main()
