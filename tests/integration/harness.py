"""tests/integration/harness.py: what every integration test shares.

The servers are the private instances started by ci/servers; their URIs come from the
environment (`eval "$(ci/servers env)"`). Under CI=true a missing server is a failure,
never a skip. Each test gets its own store in a temporary folder.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import psycopg2

BIN = os.environ.get("CROSSCHECK_BIN", os.path.join(os.path.dirname(__file__), "../../build/crosscheck"))
IN_CI = os.environ.get("CI", "").lower() == "true"


def need_env(*names):
    """need_env returns the variables' values, or fails (CI) / skips (by hand)."""
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        msg = "server environment missing: %s (run: eval \"$(ci/servers env)\")" % ", ".join(missing)
        if IN_CI:
            raise RuntimeError(msg)
        raise unittest.SkipTest(msg)
    return [os.environ[n] for n in names]


def pg_connect(uri, dbname=None):
    """pg_connect opens an autocommit psycopg2 connection to a URI (password from PGPASSWORD)."""
    if dbname:
        uri = uri.rsplit("/", 1)[0] + "/" + dbname
    try:
        conn = psycopg2.connect(uri)
    except psycopg2.OperationalError as e:
        if IN_CI:
            raise
        raise unittest.SkipTest("PostgreSQL not reachable: %s" % e)
    conn.autocommit = True
    return conn


def pg_exec(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        if cur.description:
            return cur.fetchall()
    return None


def with_db(uri, dbname):
    return uri.rsplit("/", 1)[0] + "/" + dbname


def ensure_database(admin_uri, name, extra=""):
    """ensure_database (re)creates a database on the server behind admin_uri."""
    conn = pg_connect(admin_uri)
    pg_exec(conn, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
    pg_exec(conn, "CREATE DATABASE %s %s" % (name, extra))
    conn.close()
    return with_db(admin_uri, name)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%d\nstdout:\n%s\nstderr:\n%s" % (self.rc, self.out, self.err)


class CrosscheckTest(unittest.TestCase):
    """A test case with a private store and a helper to run the binary."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="crosscheck-test-")
        self.store = os.path.join(self.dir, "crosscheck.db")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def cc(self, *args, env=None, timeout=600):
        e = dict(os.environ)
        if env:
            e.update(env)
        proc = subprocess.run([BIN, "--store", self.store] + [str(a) for a in args],
                              capture_output=True, text=True, env=e, timeout=timeout)
        if "AddressSanitizer" in proc.stderr or "runtime error:" in proc.stderr:
            self.fail("sanitizer report:\n" + proc.stderr)
        return Result(proc)

    def failures(self, run=None):
        args = ["failures", "--json"] + (["--run", run] if run else [])
        r = self.cc(*args)
        self.assertEqual(r.rc, 0, r)
        return r.json()

    def failure_set(self, run=None, state=None):
        """failure_set gives {(table, key tuple, kind, columns tuple)} of a run."""
        out = set()
        for f in self.failures(run):
            if state and f["state"] != state:
                continue
            out.add((f["table"], tuple(sorted(f["key"].items())), f["kind"], tuple(f["columns"])))
        return out


def main():
    result = unittest.main(exit=False, verbosity=2).result
    sys.exit(0 if result.wasSuccessful() else 1)
