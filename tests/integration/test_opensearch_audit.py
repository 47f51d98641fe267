"""tests/integration/test_opensearch_audit.py: SQL -> OpenSearch audits (the seeds' case).

A MariaDB table of 100k rows and 12 column types is indexed DMS-style (every column in
_source, one lowercase index per table, _id = SHA-256 hex of the key) into the fake
OpenSearch server of fixtures/opensearch, in its 1.x and its 2.x mode. Drift is planted
on the index (missing documents, stale fields, extra documents, a removed field, and
rewrites that must NOT count: a decimal as a number instead of a string, a zone suffix,
reordered JSON keys, an explicit null) and the failures are asserted exactly, with the
counts per table and per partition reconciled against the server's own _count.

Also: a PostgreSQL source (binary, jsonb, real), id mode value (the key is the _id, with
and without a copy in _source), documents written but not refreshed (pending, then
resolved, never confirmed), and the faults the fake injects: 429 storms and 5xx are
retried to the same results; garbage, truncated bodies, failed shards, timed-out
searches, 401 and 404 are a clear error and exit 2 with the earlier runs intact.
"""
import datetime
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import pg_connect, pg_exec

try:
    import MySQLdb
except ImportError:  # ci/deps installs python3-mysqldb; by hand it may be missing
    MySQLdb = None

ROWS = 100_000
FAKE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures",
                    "opensearch", "fake_opensearch.py")


# --- the fake server ------------------------------------------------------------------------

class FakeOpenSearch:
    """A fake OpenSearch server on a free loopback port (stopped by stop())."""

    def __init__(self, mode, user=None, password=None):
        self.dir = tempfile.mkdtemp(prefix="cc-fake-os-")
        port_file = os.path.join(self.dir, "port")
        args = [sys.executable, FAKE, "--port", "0", "--port-file", port_file, "--mode", mode]
        if user:
            args += ["--user", user, "--password", password]
        self.auth = (user, password) if user else None
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        port = ""
        while not port:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    port = f.read().strip()
            if not port and (self.proc.poll() is not None or time.time() > deadline):
                self.stop()
                with open(os.path.join(self.dir, "log")) as f:
                    raise RuntimeError("the fake OpenSearch server did not start: " + f.read())
            time.sleep(0.02)
        self.port = int(port)
        self.uri = "opensearch://127.0.0.1:%d/" % self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()

    def req(self, method, path, body=None, ndjson=False):
        """req sends one request and returns (status, parsed JSON or text)."""
        data = None
        if body is not None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
        headers = {"Content-Type": "application/x-ndjson" if ndjson else "application/json"}
        if self.auth:
            import base64
            headers["Authorization"] = "Basic " + base64.b64encode(
                ("%s:%s" % self.auth).encode()).decode()
        r = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                   method=method, headers=headers)
        try:
            with urllib.request.urlopen(r, timeout=120) as f:
                status, text = f.status, f.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def ok(self, method, path, body=None, ndjson=False):
        status, out = self.req(method, path, body, ndjson)
        if status >= 300:
            raise AssertionError("%s %s: %d %s" % (method, path, status, out))
        return out

    def create_index(self, name, properties, settings=None):
        self.req("DELETE", "/" + name)
        body = {"mappings": {"properties": properties}}
        if settings:
            body["settings"] = settings
        self.ok("PUT", "/" + name, body)

    def bulk(self, index, docs, refresh=True):
        """bulk indexes (id, raw JSON text) pairs, 5000 per request, as DMS's full load does."""
        for start in range(0, len(docs), 5000):
            lines = []
            for doc_id, raw in docs[start:start + 5000]:
                lines.append(json.dumps({"index": {"_index": index, "_id": doc_id}}))
                lines.append(raw)
            out = self.ok("POST", "/_bulk", "\n".join(lines) + "\n", ndjson=True)
            assert not out["errors"], [i for i in out["items"] if "error" in list(i.values())[0]][:3]
        if refresh:
            self.refresh(index)

    def put(self, index, doc_id, raw, refresh=True):
        self.ok("PUT", "/%s/_doc/%s%s" % (index, urllib.parse.quote(doc_id, safe=""),
                                           "?refresh=true" if refresh else ""), raw)

    def delete(self, index, doc_id):
        self.ok("DELETE", "/%s/_doc/%s?refresh=true" % (index, urllib.parse.quote(doc_id, safe="")))

    def refresh(self, index):
        self.ok("POST", "/%s/_refresh" % index)

    def count(self, index, query=None):
        return self.ok("POST", "/%s/_count" % index, {"query": query or {"match_all": {}}})["count"]

    def faults(self, spec):
        self.ok("DELETE", "/_fake/faults")
        self.ok("POST", "/_fake/faults", spec)

    def clear_faults(self):
        self.ok("DELETE", "/_fake/faults")

    def stats(self):
        return self.ok("GET", "/_fake/stats")


def sha(key):
    """DMS writes a SHA-256 of the key as _id; crosscheck treats it as opaque."""
    return hashlib.sha256(str(key).encode()).hexdigest()


# --- MariaDB --------------------------------------------------------------------------------

def mysql_connect(uri, db=None):
    if MySQLdb is None:
        if harness.IN_CI:
            raise RuntimeError("python3-mysqldb is missing")
        raise unittest.SkipTest("python3-mysqldb is missing")
    u = urllib.parse.urlparse(uri)
    try:
        conn = MySQLdb.connect(host=u.hostname, port=u.port or 3306, user=u.username,
                               passwd=os.environ.get("MYSQL_PWD", u.password or ""),
                               db=db or "", charset="utf8mb4", autocommit=True)
    except MySQLdb.OperationalError as e:
        if harness.IN_CI:
            raise
        raise unittest.SkipTest("MariaDB not reachable: %s" % e)
    return conn


def my_exec(conn, sql, params=None, many=False):
    with conn.cursor() as cur:
        if many:
            cur.executemany(sql, params)
        else:
            cur.execute(sql, params)
        return cur.fetchall()


# The seeds' table: a DMS full load of a MariaDB table into OpenSearch.
MY_DDL = """
CREATE TABLE os_orders (
  id      BIGINT NOT NULL PRIMARY KEY,
  code    VARCHAR(24) NOT NULL,
  amount  DECIMAL(14,2),
  qty     INT,
  ratio   DOUBLE,
  price   FLOAT,
  active  BOOLEAN,
  placed  DATETIME(6),
  day     DATE,
  note    TEXT,
  doc     JSON,
  big     DECIMAL(38,0)
) ENGINE=InnoDB
"""

ORDERS_MAPPING = {
    "id": {"type": "long"},
    # strings as dynamic mapping makes them: text with a keyword sub-field
    "code": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "amount": {"type": "keyword"},   # DMS sends DECIMAL as a string
    "qty": {"type": "integer"},
    "ratio": {"type": "double"},
    "price": {"type": "float"},
    "active": {"type": "boolean"},
    "placed": {"type": "date"},
    "day": {"type": "date"},
    "note": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "doc": {"properties": {"g": {"type": "long"}, "tags": {"type": "keyword"}}},
    # DECIMAL(38) beyond 64 bits: _source keeps the number token, compared exactly
    "big": {"type": "keyword"},
}

BASE_TS = datetime.datetime(2024, 1, 1)


def order_values(i):
    cents = i * 125
    return {
        "id": i, "code": "C-%06d" % i, "amount": "%d.%02d" % (cents // 100, cents % 100),
        "qty": i % 1000, "ratio": i / 8, "price": (i % 1000) / 4, "active": i % 3 == 0,
        "placed": BASE_TS + datetime.timedelta(seconds=i, microseconds=i % 1000),
        "day": datetime.date(2020, 1, 1) + datetime.timedelta(days=i % 2000),
        "note": None if i % 11 == 0 else "note %d" % i,
        "doc": {"g": i, "tags": ["a", i % 3]}, "big": 10 ** 29 + i * 1000003,
    }


def order_row(i):
    v = order_values(i)
    return (v["id"], v["code"], v["amount"], v["qty"], v["ratio"], v["price"], v["active"],
            v["placed"], v["day"], v["note"], json.dumps(v["doc"]), v["big"])


def order_doc(i, **override):
    """order_doc writes the raw _source text the way a DMS full load would."""
    v = order_values(i)
    v.update(override)
    parts = ['"id":%d' % v["id"], '"code":%s' % json.dumps(v["code"]),
             '"amount":%s' % (json.dumps(v["amount"]) if isinstance(v["amount"], str) else v["amount"]),
             '"qty":%d' % v["qty"], '"ratio":%r' % v["ratio"], '"price":%r' % v["price"],
             '"active":%s' % ("true" if v["active"] else "false"),
             '"placed":"%s"' % (v["placed"] if isinstance(v["placed"], str)
                                else v["placed"].isoformat(timespec="microseconds")),
             '"day":"%s"' % v["day"].isoformat()]
    if v["note"] is not None:
        parts.append('"note":%s' % json.dumps(v["note"]))
    elif i % 2:
        parts.append('"note":null')  # DMS may write null or leave the field out
    parts.append('"doc":%s' % (v["doc"] if isinstance(v["doc"], str) else json.dumps(v["doc"])))
    parts.append('"big":%d' % v["big"])
    drop = override.get("_drop")
    if drop:
        parts = [p for p in parts if not p.startswith('"%s":' % drop)]
    return "{" + ",".join(parts) + "}"


# a text key in byte order: upper case, lower case, non-ASCII and punctuation mixed
SLUG_PREFIXES = ["a", "A", "B", "b", "\u00e4", "Z", "\u00e9", "e", "_", "0"]
NOTES = 3000


def slug(g):
    return SLUG_PREFIXES[g % 10] + str(g)


NOTES_MAPPING = {
    "slug": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    "body": {"type": "text"},
    "n": {"type": "long"},
}


def note_doc(g, body=None):
    return json.dumps({"slug": slug(g), "body": body or "body %d" % g, "n": g % 97},
                      ensure_ascii=False)


class SeedsCase:
    """MariaDB -> OpenSearch, DMS-style; the test classes below pick the server mode."""
    MODE = None

    @classmethod
    def setUpClass(cls):
        (cls.my_admin,) = harness.need_env("CROSSCHECK_MYSQL_URI")
        conn = mysql_connect(cls.my_admin)
        my_exec(conn, "CREATE DATABASE IF NOT EXISTS cc_os")
        conn.close()
        cls.my = mysql_connect(cls.my_admin, "cc_os")
        cls.src_uri = cls.my_admin.rsplit("/", 1)[0] + "/cc_os"
        if not getattr(SeedsCase, "_loaded_source", False):
            my_exec(cls.my, "DROP TABLE IF EXISTS os_orders, os_notes, os_lag")
            my_exec(cls.my, MY_DDL)
            sql = "INSERT INTO os_orders VALUES (%s)" % ",".join(["%s"] * 12)
            for start in range(1, ROWS + 1, 5000):
                my_exec(cls.my, sql, [order_row(i) for i in range(start, min(start + 5000, ROWS + 1))],
                        many=True)
            my_exec(cls.my, "CREATE TABLE os_notes (slug VARCHAR(40) COLLATE utf8mb4_bin PRIMARY KEY,"
                            " body TEXT, n INT)")
            my_exec(cls.my, "INSERT INTO os_notes VALUES (%s, %s, %s)",
                    [(slug(g), "body %d" % g, g % 97) for g in range(1, NOTES + 1)], many=True)
            SeedsCase._loaded_source = True
        cls.os = FakeOpenSearch(cls.MODE)
        cls.addClassCleanup(cls.os.stop)  # also when the rest of setUpClass fails
        cls.os.create_index("os_orders", ORDERS_MAPPING)
        cls.os.bulk("os_orders", [(sha(i), order_doc(i)) for i in range(1, ROWS + 1)])
        cls.load_notes()

    @classmethod
    def load_notes(cls):
        cls.os.create_index("os_notes", NOTES_MAPPING)
        cls.os.bulk("os_notes", [(sha(slug(g)), note_doc(g)) for g in range(1, NOTES + 1)])

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "my", None):
            cls.my.close()

    def audit(self, *extra, table="cc_os.os_orders", target=None):
        return self.cc("audit", "--source", self.src_uri, "--target", target or self.os.uri,
                       "--table", table, "--partition-rows", "20000", "--jobs", "2",
                       "--recheck-delay", "0", "--recheck-attempts", "1", *extra)

    def partitions(self, run, table):
        db = sqlite3.connect("file:%s?mode=ro" % self.store, uri=True)
        try:
            return db.execute("SELECT part_no, lo, hi, status, source_rows, target_rows, matched,"
                              " missing_target, missing_source, record_diff FROM partitions"
                              " WHERE run_id = ? AND table_name = ? ORDER BY part_no",
                              (run, table)).fetchall()
        finally:
            db.close()

    def test_1_seeds_drift_found_exactly(self):
        """The seeds' scenario: exactly the planted keys and kinds, counts reconciled."""
        r = self.audit("--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["tables"][0]["matched"], ROWS)

        o = self.os
        for i in (17, 50000, 99999):
            o.delete("os_orders", sha(i))                                # missing
        for i in (0, 100001, 100002):
            o.put("os_orders", sha(i), order_doc(i))                     # extra
        o.put("os_orders", sha(42), order_doc(42, amount="52.51"))       # stale: 52.50
        o.put("os_orders", sha(4242), order_doc(4242, code="C-STALE", active=False))  # was true
        o.put("os_orders", sha(60000), order_doc(
            60000, placed=order_values(60000)["placed"] + datetime.timedelta(microseconds=1)))
        o.put("os_orders", sha(777), order_doc(777, doc={"g": 777, "tags": ["a", 0, "x"]}))
        o.put("os_orders", sha(31337), order_doc(31337, big=order_values(31337)["big"] + 1))
        o.put("os_orders", sha(123), order_doc(123, _drop="ratio"))     # a field removed
        o.put("os_orders", sha(124), order_doc(124, _drop="note"))
        # rewrites that are the same logical row: never reported
        o.put("os_orders", sha(55), order_doc(55, amount=68.75, placed="2024-01-01T00:00:55.000055Z",
                                              doc='{"tags":["a",1],"g":55}'))
        o.put("os_orders", sha(66), order_doc(66)[:-1] + ',"note":null}')  # was left out

        r = self.audit("--json")
        self.assertEqual(r.rc, 1, r)
        run = r.json()["run"]
        t = "cc_os.os_orders"
        k = lambda i: (("id", str(i)),)
        expected = {
            (t, k(17), "MISSING_TARGET", ()), (t, k(50000), "MISSING_TARGET", ()),
            (t, k(99999), "MISSING_TARGET", ()),
            (t, k(0), "MISSING_SOURCE", ()), (t, k(100001), "MISSING_SOURCE", ()),
            (t, k(100002), "MISSING_SOURCE", ()),
            (t, k(42), "RECORD_DIFF", ("amount",)),
            (t, k(4242), "RECORD_DIFF", ("code", "active")),
            (t, k(60000), "RECORD_DIFF", ("placed",)),
            (t, k(777), "RECORD_DIFF", ("doc",)),
            (t, k(31337), "RECORD_DIFF", ("big",)),
            (t, k(123), "RECORD_DIFF", ("ratio",)),
            (t, k(124), "RECORD_DIFF", ("note",)),
        }
        got = self.failure_set()
        self.assertEqual(got - expected, set(), "unexpected failures")
        self.assertEqual(expected - got, set(), "missed failures")
        self.assertEqual({f["state"] for f in self.failures()}, {"confirmed"})

        # counts per table and per partition, against the server's own _count
        table = r.json()["tables"][0]
        self.assertEqual(table["source_rows"], ROWS)
        self.assertEqual(table["target_rows"], o.count("os_orders"))
        self.assertEqual(table["target_rows"], ROWS)
        self.assertEqual((table["missing_target"], table["missing_source"], table["record_diff"]),
                         (3, 3, 7))
        parts = self.partitions(run, t)
        self.assertGreaterEqual(len(parts), 5)
        self.assertEqual(sum(p[4] for p in parts), ROWS)
        for part_no, lo, hi, status, srows, trows, matched, mt, ms, rd in parts:
            self.assertEqual(status, "done")
            self.assertEqual(srows - mt, trows - ms)
            self.assertEqual(matched + rd, srows - mt)
            rng = {}
            if json.loads(lo):
                rng["gte"] = int(json.loads(lo)["id"])
            if json.loads(hi):
                rng["lt"] = int(json.loads(hi)["id"])
            q = {"range": {"id": rng}} if rng else None
            self.assertEqual(trows, o.count("os_orders", q), "partition %d" % part_no)

        # restore the index for the other tests
        for i in (17, 50000, 99999, 42, 4242, 60000, 777, 31337, 123, 124, 55, 66):
            o.put("os_orders", sha(i), order_doc(i))
        for i in (0, 100001, 100002):
            o.delete("os_orders", sha(i))

    def test_2_text_keys_in_byte_order(self):
        """A text key: OpenSearch's keyword order is UTF-8 byte order, as crosscheck's."""
        o = self.os
        try:
            o.delete("os_notes", sha("a10"))
            o.put("os_notes", sha("zz-extra"), json.dumps({"slug": "zz-extra", "body": "x", "n": 1}))
            o.put("os_notes", sha("\u00e414"), note_doc(14, body="changed"))
            r = self.audit("--partition-rows", "700", table="cc_os.os_notes")
            self.assertEqual(r.rc, 1, r)
            t = "cc_os.os_notes"
            self.assertEqual(self.failure_set(), {
                (t, (("slug", "a10"),), "MISSING_TARGET", ()),
                (t, (("slug", "zz-extra"),), "MISSING_SOURCE", ()),
                (t, (("slug", "\u00e414"),), "RECORD_DIFF", ("body",)),
            })
        finally:
            self.load_notes()


class OpenSearch1x(SeedsCase, harness.CrosscheckTest):
    """OpenSearch 1.3 (the seeds' version): _type in hits, no point in time."""
    MODE = "1.x"

    def test_3_refresh_lag_is_pending_never_confirmed(self):
        """Documents written but not refreshed: pending, then resolved by the recheck."""
        my_exec(self.my, "DROP TABLE IF EXISTS os_lag")
        my_exec(self.my, "CREATE TABLE os_lag (id INT PRIMARY KEY, v VARCHAR(20))")
        my_exec(self.my, "INSERT INTO os_lag VALUES (%s, %s)",
                [(i, "v%d" % i) for i in range(1, 501)], many=True)
        o = self.os
        o.create_index("os_lag", {"id": {"type": "integer"}, "v": {"type": "keyword"}},
                       settings={"index": {"refresh_interval": "-1"}})
        o.bulk("os_lag", [(sha(i), json.dumps({"id": i, "v": "v%d" % i})) for i in range(1, 501)])
        # the replicator writes five new rows; the index has not refreshed them yet
        my_exec(self.my, "INSERT INTO os_lag VALUES (%s, %s)",
                [(i, "v%d" % i) for i in range(501, 507)], many=True)
        o.bulk("os_lag", [(sha(i), json.dumps({"id": i, "v": "v%d" % i})) for i in range(501, 506)],
               refresh=False)
        self.assertEqual(o.count("os_lag"), 500)
        proc = subprocess.Popen(
            [harness.BIN, "--store", self.store, "audit", "--source", self.src_uri,
             "--target", o.uri, "--table", "cc_os.os_lag", "--recheck-delay", "2s",
             "--recheck-attempts", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # wait for the first pass to record the unrefreshed rows as pending
            deadline = time.time() + 60
            pending = 0
            while time.time() < deadline and proc.poll() is None:
                try:
                    db = sqlite3.connect("file:%s?mode=ro" % self.store, uri=True)
                    pending = db.execute("SELECT count(*) FROM failures WHERE state = 'pending'"
                                         " AND table_name = 'cc_os.os_lag'").fetchone()[0]
                    db.close()
                except sqlite3.Error:
                    pending = 0
                if pending >= 6:
                    break
                time.sleep(0.05)
            self.assertEqual(pending, 6, "the first pass did not record 6 pending rows")
            o.refresh("os_lag")  # the index catches up before the recheck
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertNotIn("AddressSanitizer", err)
        self.assertEqual(proc.returncode, 1, out + err)  # 506 was never written: confirmed
        states = {tuple(f["key"].items()): (f["kind"], f["state"]) for f in self.failures()}
        for i in range(501, 506):
            self.assertEqual(states[(("id", str(i)),)], ("MISSING_TARGET", "resolved"))
        self.assertEqual(states[(("id", "506"),)], ("MISSING_TARGET", "confirmed"))
        self.assertEqual(len(states), 6)


class OpenSearch2x(SeedsCase, harness.CrosscheckTest):
    """OpenSearch 2.x: points in time; the fault cases."""
    MODE = "2.x"

    def baseline(self):
        """baseline runs a notes audit with one planted difference; returns run and failures."""
        self.os.delete("os_notes", sha("B2"))
        r = self.audit("--json", table="cc_os.os_notes")
        self.assertEqual(r.rc, 1, r)
        run = r.json()["run"]
        self.assertEqual(self.failure_set(run), {
            ("cc_os.os_notes", (("slug", "B2"),), "MISSING_TARGET", ())})
        return run, self.failure_set(run)

    def assert_earlier_intact(self, run, fs):
        self.assertEqual(self.failure_set(run), fs)
        runs = {x["run"]: x for x in self.cc("runs", "--json").json()}
        self.assertEqual((runs[run]["status"], runs[run]["verdict"]), ("done", "differences"))

    def test_3_overload_is_retried_to_the_same_results(self):
        try:
            run, fs = self.baseline()
            # a storm on every request (the first ones in a row), one on the searches of
            # the concurrent readers, and gateway errors
            for spec in ({"status_429": 7}, {"status_429": 12, "path_contains": "_search"},
                         {"status_5xx": 4, "code": 503},
                         {"status_5xx": 3, "code": 502, "path_contains": "_search"}):
                before = self.os.stats()["faults_injected"]
                self.os.faults(spec)
                r = self.audit("--json", table="cc_os.os_notes")
                self.assertEqual(r.rc, 1, r)
                self.assertEqual(self.failure_set(r.json()["run"]), fs, spec)
                after = self.os.stats()["faults_injected"]
                kind = [k for k in spec if k.startswith("status")][0]
                self.assertEqual(after.get(kind, 0) - before.get(kind, 0), spec[kind], spec)
            self.assert_earlier_intact(run, fs)
        finally:
            self.os.clear_faults()
            self.load_notes()

    def test_3_gzip_responses_give_the_same_results(self):
        """compression=gzip: gzip on the wire, the same differences as plain responses."""
        try:
            run, fs = self.baseline()
            self.ok_stats_reset()
            r = self.audit("--json", table="cc_os.os_notes")  # the default: plain
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(self.failure_set(r.json()["run"]), fs)
            self.assertEqual(self.os.stats()["gzip_responses"], 0)
            r = self.audit("--json", table="cc_os.os_notes",
                           target=self.os.uri + "?compression=gzip")
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(self.failure_set(r.json()["run"]), fs)
            self.assertGreater(self.os.stats()["gzip_responses"], 0)
        finally:
            self.load_notes()

    def ok_stats_reset(self):
        self.os.ok("DELETE", "/_fake/stats")

    def test_4_broken_answers_are_errors(self):
        try:
            run, fs = self.baseline()
            cases = [
                ({"garbage": 1000, "path_contains": "_search"}, "malformed JSON"),
                ({"truncate": 1000, "path_contains": "_search"}, "truncated"),
                ({"shard_failure": 1000}, "shards failed"),
                ({"timed_out": 1000}, "timed out"),
                ({"garbage": 1000, "path_contains": "point_in_time"}, "malformed JSON"),
            ]
            for spec, message in cases:
                self.os.faults(spec)
                r = self.audit(table="cc_os.os_notes")
                self.assertEqual(r.rc, 2, (spec, r))
                self.assertIn(message, r.err, spec)
                self.assertNotIn("MISSING", r.out)  # never "no documents"
                self.os.clear_faults()
                self.assert_earlier_intact(run, fs)
            # a missing index: 404, named, with a hint
            r = self.audit("--target-table", "os_nope", table="cc_os.os_notes")
            self.assertEqual(r.rc, 2, r)
            self.assertIn("index_not_found_exception", r.err)
            self.assertIn("hint:", r.err)
            self.assert_earlier_intact(run, fs)
        finally:
            self.os.clear_faults()
            self.load_notes()

    def test_5_authentication(self):
        secured = FakeOpenSearch("2.x", user="auditor", password="s3cret pass")
        try:
            secured.create_index("os_notes", NOTES_MAPPING)
            secured.bulk("os_notes", [(sha(slug(g)), note_doc(g)) for g in range(1, NOTES + 1)])
            r = self.audit(table="cc_os.os_notes", target=secured.uri)
            self.assertEqual(r.rc, 2, r)
            self.assertIn("401", r.err)
            self.assertIn("OPENSEARCH_USER", r.err)
            env = {"OPENSEARCH_USER": "auditor", "OPENSEARCH_PASSWORD": "wrong"}
            r = self.cc("audit", "--source", self.src_uri, "--target", secured.uri,
                        "--table", "cc_os.os_notes", env=env)
            self.assertEqual(r.rc, 2, r)
            self.assertNotIn("wrong", r.err)  # the password is never shown
            env["OPENSEARCH_PASSWORD"] = "s3cret pass"
            r = self.cc("audit", "--source", self.src_uri, "--target", secured.uri,
                        "--table", "cc_os.os_notes", "--recheck-attempts", "0", env=env)
            self.assertEqual(r.rc, 0, r)
            self.assertNotIn("s3cret", r.out + r.err)
        finally:
            secured.stop()


# --- PostgreSQL source, id mode value -----------------------------------------------------

PG_DDL = """
DROP TABLE IF EXISTS os_pg, os_pg_tags;
CREATE TABLE os_pg (
  id      integer PRIMARY KEY,
  name    text,
  amount  numeric(12,2),
  at      timestamptz,
  flag    boolean,
  meta    jsonb,
  raw     bytea,
  f4      real
);
INSERT INTO os_pg
SELECT g, 'name ' || g, g * 0.5, timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute',
       g % 2 = 0, jsonb_build_object('g', g, 'big', 123456789012345678901234567890 + g),
       decode(md5(g::text), 'hex'), (g % 100) / 4.0
  FROM generate_series(1, 20000) g;
CREATE TABLE os_pg_tags (tag text PRIMARY KEY, n int);
INSERT INTO os_pg_tags SELECT 't' || g, g FROM generate_series(1, 3000) g;
"""

PG_MAPPING = {
    "id": {"type": "integer"}, "name": {"type": "keyword"}, "amount": {"type": "scaled_float",
                                                                        "scaling_factor": 100},
    "at": {"type": "date"}, "flag": {"type": "boolean"},
    "meta": {"type": "object", "enabled": False},  # kept in _source, not indexed
    "raw": {"type": "binary"}, "f4": {"type": "float"},
}


def pg_doc(g):
    import base64
    raw = hashlib.md5(str(g).encode()).digest()
    at = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(minutes=g)
    return ('{"id":%d,"name":"name %d","amount":%s,"at":"%s","flag":%s,'
            '"meta":{"big":%d,"g":%d},"raw":"%s","f4":%r}') % (
        g, g, "%d.%d" % (g // 2, 5 if g % 2 else 0), at.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "true" if g % 2 == 0 else "false", 123456789012345678901234567890 + g, g,
        base64.b64encode(raw).decode(), (g % 100) / 4)


class PostgresSource(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        (admin,) = harness.need_env("CROSSCHECK_PG_URI")
        cls.src_uri = harness.ensure_database(admin, "cc_os_source")
        conn = pg_connect(cls.src_uri)
        pg_exec(conn, PG_DDL)
        conn.close()
        cls.os = FakeOpenSearch("2.x")
        cls.addClassCleanup(cls.os.stop)
        # binary: base64 in _source, compared as bytes. If the fake cannot map it (a gap
        # of the fixture, not of OpenSearch), the column is left out of the comparison.
        cls.skip_binary = []
        status, out = cls.os.req("PUT", "/os_pg", {"mappings": {"properties": PG_MAPPING}})
        if status == 400 and "binary" in json.dumps(out):
            sys.stderr.write("note: the fake server has no binary type; raw is not compared\n")
            cls.skip_binary = ["--exclude-columns", "raw"]
            mapping = dict(PG_MAPPING)
            mapping["raw"] = {"type": "keyword", "index": False, "doc_values": False}
            cls.os.create_index("os_pg", mapping)
        elif status >= 300:
            raise AssertionError(out)
        cls.os.bulk("os_pg", [(sha(g), pg_doc(g)) for g in range(1, 20001)])
        # another replicator: the key is the _id, and stays in _source
        cls.os.create_index("os_pg_byid", PG_MAPPING if not cls.skip_binary else mapping)
        cls.os.bulk("os_pg_byid", [(str(g), pg_doc(g)) for g in range(1, 20001)])
        # and one that keeps the key only in _id
        cls.os.create_index("os_pg_tags", {"n": {"type": "long"}})
        cls.os.bulk("os_pg_tags", [("t%d" % g, json.dumps({"n": g})) for g in range(1, 3001)])

    def audit(self, *extra):
        return self.cc("audit", "--source", self.src_uri, "--target", self.os.uri,
                       "--recheck-delay", "0", "--recheck-attempts", "1", *extra)

    def test_1_types_from_postgresql(self):
        r = self.audit("--table", "public.os_pg", "--partition-rows", "5000", "--json",
                       *self.skip_binary)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["tables"][0]["matched"], 20000)
        try:
            self.os.put("os_pg", sha(9), pg_doc(9).replace('"raw":"', '"raw":"AA'))
            self.os.put("os_pg", sha(10), pg_doc(10).replace('"big":123456789012345678901234567900',
                                                             '"big":123456789012345678901234567901'))
            r = self.audit("--table", "public.os_pg", "--partition-rows", "5000", *self.skip_binary)
            self.assertEqual(r.rc, 1, r)
            expected = {("public.os_pg", (("id", "10"),), "RECORD_DIFF", ("meta",))}
            if not self.skip_binary:
                expected.add(("public.os_pg", (("id", "9"),), "RECORD_DIFF", ("raw",)))
            self.assertEqual(self.failure_set(), expected)
        finally:
            self.os.put("os_pg", sha(9), pg_doc(9))
            self.os.put("os_pg", sha(10), pg_doc(10))

    def test_2_id_mode_value(self):
        o = self.os
        try:
            o.delete("os_pg_byid", "7")
            o.put("os_pg_byid", "20001", pg_doc(20001))
            r = self.audit("--table", "public.os_pg", "--target-table", "os_pg_byid",
                           "--id-mode", "value", "--partition-rows", "5000", *self.skip_binary)
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(self.failure_set(), {
                ("public.os_pg", (("id", "7"),), "MISSING_TARGET", ()),
                ("public.os_pg", (("id", "20001"),), "MISSING_SOURCE", ()),
            })
            # a document whose _id is not its key cannot be placed: a clear error
            o.put("os_pg_byid", "8", pg_doc(9))
            r = self.audit("--table", "public.os_pg", "--target-table", "os_pg_byid",
                           "--id-mode", "value", "--partition-rows", "5000", *self.skip_binary)
            self.assertEqual(r.rc, 2, r)
            self.assertIn("_id must be the key", r.err)
            # --id-mode is for OpenSearch targets, and must agree with the URI
            r = self.cc("audit", "--source", self.src_uri, "--target", o.uri + "?id_mode=field",
                        "--table", "public.os_pg", "--id-mode", "value")
            self.assertEqual(r.rc, 2, r)
        finally:
            o.put("os_pg_byid", "7", pg_doc(7))
            o.put("os_pg_byid", "8", pg_doc(8))
            o.delete("os_pg_byid", "20001")

    def test_3_key_only_in_id(self):
        """The key lives only in _id: read in _id order, bounded without range queries."""
        o = self.os
        try:
            o.delete("os_pg_tags", "t1234")
            o.put("os_pg_tags", "t9999", json.dumps({"n": 9999}))
            o.put("os_pg_tags", "t15", json.dumps({"n": -15}))
            r = self.cc("audit", "--source", self.src_uri, "--target",
                        o.uri + "?id_mode=value", "--table", "public.os_pg_tags",
                        "--map", "tag=_id", "--partition-rows", "700",
                        "--recheck-delay", "0", "--recheck-attempts", "1", "--json")
            self.assertEqual(r.rc, 1, r)
            self.assertGreaterEqual(r.json()["tables"][0]["partitions"], 4)
            self.assertEqual(self.failure_set(), {
                ("public.os_pg_tags", (("tag", "t1234"),), "MISSING_TARGET", ()),
                ("public.os_pg_tags", (("tag", "t9999"),), "MISSING_SOURCE", ()),
                ("public.os_pg_tags", (("tag", "t15"),), "RECORD_DIFF", ("n",)),
            })
        finally:
            o.put("os_pg_tags", "t1234", json.dumps({"n": 1234}))
            o.put("os_pg_tags", "t15", json.dumps({"n": 15}))
            o.delete("os_pg_tags", "t9999")


if __name__ == "__main__":
    harness.main()
