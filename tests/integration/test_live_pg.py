"""tests/integration/test_live_pg.py: auditing beside a live PostgreSQL logical replication.

The replicator is real: a publication on the first cluster and a subscription on the
second. A writer thread inserts, updates and deletes continuously during the audits. To
make replication lag certain rather than lucky, the test can stall the subscriber's
apply worker by holding a row lock on the subscriber that the writer's next update needs;
releasing the lock lets replication catch up.
"""
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time

import harness
from harness import pg_connect, pg_exec

ROWS = 120_000
DB = "cc_live"


class Writer(threading.Thread):
    """Continuous inserts, updates and deletes on the publisher; never touches ids > 100000
    except its own inserts (>= 1,000,000), so drift planted there is the test's alone."""

    def __init__(self, uri):
        super().__init__(daemon=True)
        self.conn = pg_connect(uri)
        self.stop_flag = threading.Event()
        self.ops = 0
        # while set, every transaction also updates row 1: the lever that stalls the
        # subscriber behind a lock; cleared, row 1 is left alone (a row rewritten every
        # few milliseconds differs between any two reads: that is what --lag-column is for)
        self.lever = threading.Event()
        top = pg_exec(self.conn, "SELECT max(id) FROM live_items")[0][0]
        self.next_id = max(1_000_000, top + 1)

    def run(self):
        rnd = random.Random(7)
        while not self.stop_flag.is_set():
            with self.conn.cursor() as cur:
                cur.execute("BEGIN")
                for _ in range(20):
                    op = rnd.random()
                    if op < 0.5:
                        cur.execute("UPDATE live_items SET val = md5(random()::text), n = n + 1,"
                                    " updated_at = now() WHERE id = %s", (rnd.randint(2, 100_000),))
                    elif op < 0.8:
                        cur.execute("INSERT INTO live_items (id, val, n) VALUES (%s, 'new', 0)",
                                    (self.next_id,))
                        self.next_id += 1
                    else:
                        cur.execute("DELETE FROM live_items WHERE id = %s", (rnd.randint(50_001, 100_000),))
                    self.ops += 1
                if self.lever.is_set():
                    cur.execute("UPDATE live_items SET n = n + 1, updated_at = now() WHERE id = 1")
                cur.execute("COMMIT")
            time.sleep(0.005)

    def stop(self):
        self.stop_flag.set()
        self.join(timeout=30)
        self.conn.close()


class LivePg(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        cls.pub_admin, cls.sub_admin = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        # tear down an earlier run's subscription before dropping its database
        sub = pg_connect(cls.sub_admin)
        if pg_exec(sub, "SELECT 1 FROM pg_database WHERE datname = %s", (DB,)):
            s = pg_connect(harness.with_db(cls.sub_admin, DB))
            if pg_exec(s, "SELECT 1 FROM pg_subscription WHERE subname = 'cc_live_sub'"):
                pg_exec(s, "ALTER SUBSCRIPTION cc_live_sub DISABLE")
                pg_exec(s, "ALTER SUBSCRIPTION cc_live_sub SET (slot_name = NONE)")
                pg_exec(s, "DROP SUBSCRIPTION cc_live_sub")
            s.close()
        sub.close()
        pub = pg_connect(cls.pub_admin)
        pg_exec(pub, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                     " WHERE slot_name = 'cc_live_sub' AND NOT active")
        pub.close()
        cls.src = harness.ensure_database(cls.pub_admin, DB)
        cls.tgt = harness.ensure_database(cls.sub_admin, DB)
        ddl = """CREATE TABLE live_items (id bigint PRIMARY KEY, val text, n integer,
                                          updated_at timestamptz NOT NULL DEFAULT now())"""
        s = pg_connect(cls.src)
        pg_exec(s, ddl)
        pg_exec(s, "INSERT INTO live_items SELECT g, md5(g::text), g, now() FROM generate_series(1, %d) g" % ROWS)
        pg_exec(s, "CREATE PUBLICATION cc_live_pub FOR TABLE live_items")
        s.close()
        t = pg_connect(cls.tgt)
        pg_exec(t, ddl)
        port = cls.pub_admin.rsplit(":", 1)[1].split("/")[0]
        pg_exec(t, "CREATE SUBSCRIPTION cc_live_sub CONNECTION 'host=127.0.0.1 port=%s dbname=%s"
                   " user=crosscheck password=%s' PUBLICATION cc_live_pub"
                   % (port, DB, os.environ.get("PGPASSWORD", "crosscheck")))
        t.close()
        cls.wait_synced()

    @classmethod
    def wait_synced(cls, timeout=120):
        """wait_synced waits until the subscriber has the publisher's exact rows."""
        s, t = pg_connect(cls.src), pg_connect(cls.tgt)
        q = "SELECT count(*), coalesce(sum(n), 0), coalesce(max(id), 0) FROM live_items"
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                states = pg_exec(t, "SELECT srsubstate FROM pg_subscription_rel")
                if states and all(x[0] == "r" for x in states) and pg_exec(s, q) == pg_exec(t, q):
                    return
                time.sleep(0.5)
            raise AssertionError("subscriber did not catch up")
        finally:
            s.close()
            t.close()

    def audit(self, *extra):
        return self.cc("audit", "--source", self.src, "--target", self.tgt, "--table", "live_items",
                       "--partition-rows", "10000", "--jobs", "2", "--no-progress", *extra)

    def stall_subscriber(self, writer):
        """stall_subscriber locks row 1 on the subscriber and has the writer update it: the
        apply worker's next update of row 1 waits for the lock, and every later change
        queues behind it. release() lets replication go on."""
        conn = pg_connect(self.tgt)
        conn.autocommit = False
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM live_items WHERE id = 1 FOR UPDATE")
        writer.lever.set()

        def release():
            writer.lever.clear()
            conn.rollback()
        return conn, release

    def states(self):
        out = {}
        for f in self.failures():
            out[f["state"]] = out.get(f["state"], 0) + 1
        return out

    def test_1_rechecks_turn_lag_into_resolved_not_drift(self):
        writer = Writer(self.src)
        writer.start()
        lock, release_fn = self.stall_subscriber(writer)
        time.sleep(2)  # changes pile up behind the lock
        release = threading.Timer(4.0, release_fn)
        release.start()
        try:
            r = self.audit("--recheck-delay", "3s", "--recheck-attempts", "4")
        finally:
            release.join()
            writer.stop()
            lock.close()
        self.assertEqual(r.rc, 0, "%r\n%r" % (r, [f for f in self.failures() if f["state"] == "confirmed"]))
        st = self.states()
        self.assertNotIn("confirmed", st, r)
        # there was lag to see, and the rechecks are what cleared it
        self.assertGreater(st.get("resolved", 0), 0, r)
        self.assertGreater(writer.ops, 100)
        self.wait_synced()

    def test_2_one_pass_shows_the_lag_as_pending(self):
        writer = Writer(self.src)
        writer.start()
        lock, release = self.stall_subscriber(writer)
        time.sleep(2)
        try:
            r = self.audit("--recheck-attempts", "0")
        finally:
            release()
            lock.close()
            writer.stop()
        self.assertEqual(r.rc, 0, r)
        st = self.states()
        self.assertGreater(st.get("pending", 0), 0, r)
        self.assertNotIn("confirmed", st)
        self.assertIn("pending", r.out)
        self.wait_synced()

    def test_3_drift_on_the_subscriber_is_confirmed_exactly(self):
        writer = Writer(self.src)
        writer.start()
        t = pg_connect(self.tgt)
        try:
            # direct writes on the subscriber, on rows the replicator does not touch
            pg_exec(t, "UPDATE live_items SET val = 'drift' WHERE id IN (100005, 110007)")
            pg_exec(t, "DELETE FROM live_items WHERE id IN (119999)")
            pg_exec(t, "INSERT INTO live_items (id, val, n) VALUES (5000000, 'stray', 0)")
            r = self.audit("--recheck-delay", "2s", "--recheck-attempts", "2",
                           "--lag-column", "updated_at", "--lag-window", "3s")
        finally:
            writer.stop()
            pg_exec(t, "UPDATE live_items l SET val = md5(l.id::text) WHERE id IN (100005, 110007)")
            pg_exec(t, "INSERT INTO live_items SELECT 119999, md5('119999'), 119999, now()"
                       " WHERE NOT EXISTS (SELECT 1 FROM live_items WHERE id = 119999)")
            pg_exec(t, "DELETE FROM live_items WHERE id = 5000000")
            t.close()
        self.assertEqual(r.rc, 1, r)
        confirmed = self.failure_set(state="confirmed")
        self.assertEqual(confirmed, {
            ("public.live_items", (("id", "100005"),), "RECORD_DIFF", ("val",)),
            ("public.live_items", (("id", "110007"),), "RECORD_DIFF", ("val",)),
            ("public.live_items", (("id", "119999"),), "MISSING_TARGET", ()),
            ("public.live_items", (("id", "5000000"),), "MISSING_SOURCE", ()),
        })
        self.assertNotIn("pending", self.states())
        self.wait_synced()


class ResumeAndFaults(harness.CrosscheckTest):
    """A static drifted pair: killed and resumed runs, and a target restart mid-audit."""

    @classmethod
    def setUpClass(cls):
        cls.a_admin, cls.b_admin = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI")
        cls.src = harness.ensure_database(cls.a_admin, "cc_resume")
        cls.tgt = harness.ensure_database(cls.b_admin, "cc_resume")
        for uri in (cls.src, cls.tgt):
            c = pg_connect(uri)
            pg_exec(c, "CREATE TABLE items (id int PRIMARY KEY, val text, amount numeric(10,2))")
            pg_exec(c, "INSERT INTO items SELECT g, md5(g::text), g / 3.0 FROM generate_series(1, 60000) g")
            c.close()
        c = pg_connect(cls.tgt)
        pg_exec(c, "DELETE FROM items WHERE id % 5000 = 17")
        pg_exec(c, "UPDATE items SET amount = amount + 1 WHERE id % 7000 = 3")
        pg_exec(c, "INSERT INTO items VALUES (70001, 'x', 1), (80002, 'y', 2)")
        c.close()

    def args(self, *extra):
        return ["audit", "--source", self.src, "--target", self.tgt, "--table", "items",
                "--partition-rows", "2000", "--recheck-delay", "0", "--recheck-attempts", "1",
                "--no-progress"] + list(extra)

    def test_kill_and_resume_equals_uninterrupted(self):
        r = self.cc(*self.args())
        self.assertEqual(r.rc, 1, r)
        baseline = self.failure_set(run=1)
        self.assertEqual(len(baseline), 12 + 9 + 2)

        for attempt in range(3):
            # a second run, slowed down so that the kill lands mid-run
            proc = subprocess.Popen([harness.BIN, "--store", self.store] +
                                    self.args("--max-rows-per-second", "40000", "--jobs", "2"),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            time.sleep(random.uniform(0.5, 2.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            db = sqlite3.connect(self.store)
            run = db.execute("SELECT max(id) FROM runs").fetchone()[0]
            done = db.execute("SELECT count(*) FROM partitions WHERE run_id = ? AND status = 'done'",
                              (run,)).fetchone()[0]
            total = db.execute("SELECT count(*) FROM partitions WHERE run_id = ?", (run,)).fetchone()[0]
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            db.close()
            if 0 < done < total:
                break
        else:
            self.fail("could not kill a run mid-way (done=%d of %d)" % (done, total))

        # a resume with other options is refused, and changes nothing
        r = self.cc(*self.args("--resume", str(run), "--exclude-columns", "val"))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("other endpoints, tables or options", r.err)

        r = self.cc(*self.args("--resume", str(run), "--jobs", "1"))  # --jobs may differ
        self.assertEqual(r.rc, 1, r)
        self.assertIn("resuming run %d" % run, r.err)
        self.assertEqual(self.failure_set(run=run), baseline)
        db = sqlite3.connect(self.store)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        statuses = db.execute("SELECT DISTINCT status FROM partitions WHERE run_id = ?", (run,)).fetchall()
        self.assertEqual(statuses, [("done",)])
        rows = db.execute("SELECT sum(source_rows), sum(target_rows) FROM partitions WHERE run_id = ?",
                          (run,)).fetchone()
        self.assertEqual(rows, (60000, 60000 - 12 + 2))
        db.close()

        # a finished run is not resumed again
        r = self.cc(*self.args("--resume", str(run)))
        self.assertEqual(r.rc, 2, r)
        self.assertIn("already finished", r.err)

    def test_target_restart_mid_audit_is_retried(self):
        base = os.environ.get("CROSSCHECK_SERVERS_DIR", "/tmp/crosscheck-servers")
        pgctl = "/usr/lib/postgresql/15/bin/pg_ctl"
        cmd = [pgctl, "-D", os.path.join(base, "pg2", "data"), "-w", "-m", "fast", "restart",
               "-l", os.path.join(base, "pg2", "server.log")]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        proc = subprocess.Popen([harness.BIN, "--store", self.store] +
                                self.args("--max-rows-per-second", "15000", "--jobs", "2"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        subprocess.run(cmd, check=True, capture_output=True)
        out, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("retrying on new connections", err)
        got = self.failure_set()
        self.assertEqual(len(got), 23, err)
        self.assertIn(("public.items", (("id", "70001"),), "MISSING_SOURCE", ()), got)


if __name__ == "__main__":
    harness.main()
