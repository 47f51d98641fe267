"""tests/integration/test_s3_errors.py: the S3 target against a server that checks signatures.

s3rver accepts any signature, so these tests serve a DMS layout with
fixtures/s3/strict_s3.py, which recomputes every request's SigV4 signature with botocore
and answers as S3 does. The layout is written here, by hand, from the rows of a real
PostgreSQL table (DMS CSV: NULL is an empty unquoted field, an empty string is ""), with
one CDC file on top (I/U/D first field), under s3://BUCKET/folder/public/t/.

  * the right credentials (environment or AWS_PROFILE + credentials file, a session
    token too) audit to "consistent", the listing paged with continuation tokens full
    of + / = and the objects read with ranged GETs;
  * 503 SlowDown on the first requests is retried, and says so;
  * a wrong secret, access key, token, region or bucket is exit 2 with one error line
    naming S3's code (and at most one hint), never retried, no secret in the output,
    and nothing recorded: the store still holds the earlier run, intact;
  * file:// input: a misspelt setting and a missing directory are exit 2; a row with a
    wrong field count is a file problem (object and line in the store), exit 1; an
    undecodable timestamp is a RECORD_DIFF whose origin is object:line, pending (exit 0,
    README "Exit codes") in a one-pass audit and confirmed (exit 1) after a recheck.

Under CI=true a missing server or botocore is a failure; by hand it is a skip.
"""
import json
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import pg_connect, pg_exec

try:
    import botocore.config
    import botocore.exceptions
    import botocore.session
except ImportError:  # reported by need_botocore(): CI fails, a user skips
    botocore = None

STRICT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../fixtures/s3/strict_s3.py")
DB = "cc_s3_errors"
BUCKET = "dms-bucket"
REGION = "eu-west-1"
ACCESS_KEY = "AKIASTRICTS3TEST0001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSTRICT/s3="   # '/' and '+' as real secrets have
WRONG_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzWRONG/s3="
TOKEN = "IQoJb3JpZ2luX2VjEOv//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+strict/token=="

# public.t: the source rows, and what the layout makes of them (LOAD, then one CDC file)
ROWS = [(1, "alpha"), (2, None), (3, ""), (4, "with, comma"), (5, 'say "hi"'),
        (6, "Zürich\nline two"), (8, "inserted by CDC")]
LOAD_ROWS = [(1, "alpha"), (2, None), (3, ""), (4, "with, comma"), (5, "stale"),
             (6, "Zürich\nline two"), (7, "deleted by CDC")]
CDC_NAME = "20240809-192717787.csv"
CDC_ROWS = [("U", 5, 'say "hi"'), ("D", 7, "deleted by CDC"), ("I", 8, "inserted by CDC")]


def need_botocore():
    if botocore is None:
        msg = "botocore is missing (Debian: python3-botocore; run ci/deps)"
        if harness.IN_CI:
            raise RuntimeError(msg)
        raise unittest.SkipTest(msg)


def dms_field(v):
    """One DMS CSV field (defaults: ',' and Rfc4180): NULL empty, "" the empty string."""
    if v is None:
        return ""
    s = str(v)
    if s == "" or any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def dms_lines(rows):
    return "".join(",".join(dms_field(v) for v in r) + "\n" for r in rows)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


class StrictS3:
    """fixtures/s3/strict_s3.py on a free port; stop() ends it."""

    def __init__(self, root, workdir, name, *extra):
        self.log_path = os.path.join(workdir, name + ".log")
        self.err_path = os.path.join(workdir, name + ".stderr")
        self.err = open(self.err_path, "w")
        args = [sys.executable, STRICT, "--root", root, "--bucket", BUCKET, "--port", "0",
                "--region", REGION, "--access-key", ACCESS_KEY, "--secret", SECRET,
                "--log", self.log_path] + list(extra)
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.err, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("listening on 127.0.0.1:"):
            self.stop()
            with open(self.err_path) as f:
                raise RuntimeError("strict_s3.py did not start: %r\n%s" % (line, f.read()))
        self.port = int(line.strip().rsplit(":", 1)[1])
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def uri(self, bucket=BUCKET, **params):
        q = {"endpoint": self.endpoint}
        q.update(params)
        return "s3://%s/folder?%s" % (bucket, "&".join("%s=%s" % kv for kv in q.items()))

    def requests(self):
        """The requests served so far, one dict each (strict_s3.py --log)."""
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err.close()


def aws_env(**kw):
    """The AWS variables a run sees: the test's credentials, nothing inherited. (An empty
    value counts as unset for crosscheck; no credentials file unless one is given.)"""
    e = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
         "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
         "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/crosscheck-test-credentials"}
    e.update(kw)
    return e


class S3Base(harness.CrosscheckTest):
    def error_lines(self, r, code, extra_ok=()):
        """The run's stderr is one error line naming code, at most one hint, and nothing
        else (but lines starting with one of extra_ok); returns (error, hint or "")."""
        lines = [l for l in r.err.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("crosscheck: error:")]
        hints = [l for l in lines if l.startswith("crosscheck: hint:")]
        other = [l for l in lines if l not in errors and l not in hints
                 and not any(l.startswith(p) for p in extra_ok)]
        self.assertEqual(len(errors), 1, r)
        self.assertLessEqual(len(hints), 1, r)
        self.assertEqual(other, [], r)
        self.assertIn(code, errors[0], r)
        return errors[0], hints[0] if hints else ""

    def runs(self):
        r = self.cc("runs", "--json")
        self.assertEqual(r.rc, 0, r)
        return r.json()

    def store_intact(self):
        with sqlite3.connect(self.store) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            return db.execute("SELECT count(*) FROM runs").fetchone()[0]


    def no_run(self):
        """Nothing recorded: no store, or one without runs."""
        if os.path.exists(self.store):
            self.assertEqual(self.store_intact(), 0)


class S3Errors(S3Base):
    """s3:// against strict_s3.py."""

    @classmethod
    def setUpClass(cls):
        (admin,) = harness.need_env("CROSSCHECK_PG_URI")
        need_botocore()
        cls.src = harness.ensure_database(admin, DB)
        conn = pg_connect(cls.src)
        pg_exec(conn, "CREATE TABLE public.t (id integer PRIMARY KEY, name text)")
        pg_exec(conn, "INSERT INTO public.t VALUES " + ",".join(["(%s, %s)"] * len(ROWS)),
                [v for r in ROWS for v in r])
        # the layout from the table's own rows: LOAD is the table before the CDC file
        got = pg_exec(conn, "SELECT id, name FROM public.t ORDER BY id")
        conn.close()
        assert [tuple(r) for r in got] == ROWS, got
        cls.tmp = tempfile.mkdtemp(prefix="crosscheck-s3-errors-")
        cls.root = os.path.join(cls.tmp, "bucket")
        table_dir = os.path.join(cls.root, "folder", "public", "t")
        write(os.path.join(table_dir, "LOAD00000001.csv"), dms_lines(LOAD_ROWS))
        write(os.path.join(table_dir, CDC_NAME), dms_lines(CDC_ROWS))
        write(os.path.join(cls.root, "folder", "public", "other", "LOAD00000001.csv"), "1,x\n")
        # one key per page: the listing needs continuation tokens (+ / = in each)
        cls.s3 = StrictS3(cls.root, cls.tmp, "strict", "--page-size", "1")

    @classmethod
    def tearDownClass(cls):
        cls.s3.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        conn = pg_connect(os.environ["CROSSCHECK_PG_URI"])
        pg_exec(conn, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB)
        conn.close()

    def audit(self, target, env=None, *more):
        return self.cc("audit", "--source", self.src, "--target", target, "--table", "public.t",
                       "--recheck-attempts", "0", *more, env=aws_env(**(env or {})), timeout=120)

    def consistent(self, r):
        self.assertEqual(r.rc, 0, r)
        self.assertIn("consistent", r.out, r)
        self.assertNotIn("crosscheck: error", r.err, r)

    def no_secret(self, r, *secrets):
        for s in secrets + (SECRET,):
            self.assertNotIn(s, r.out)
            self.assertNotIn(s, r.err)

    def test_server_speaks_s3(self):
        """strict_s3.py itself: botocore's own client pages, reads ranges and parses its
        errors; a wrong secret and a wrong region are refused (so it really checks)."""
        def client(secret=SECRET, region=REGION):
            c = botocore.session.get_session().create_client(
                "s3", endpoint_url=self.s3.endpoint, region_name=region,
                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=secret,
                config=botocore.config.Config(s3={"addressing_style": "path"},
                                              retries={"max_attempts": 1}))
            self.addCleanup(c.close)
            return c
        c = client()
        keys, token, tokens = [], None, []
        while True:
            kw = {"Bucket": BUCKET, "Prefix": "folder/public/t/"}
            if token:
                kw["ContinuationToken"] = token
            page = c.list_objects_v2(**kw)
            keys += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
            tokens.append(token)
        load = dms_lines(LOAD_ROWS).encode()
        self.assertEqual(keys, [("folder/public/t/" + CDC_NAME, len(dms_lines(CDC_ROWS).encode())),
                                ("folder/public/t/LOAD00000001.csv", len(load))])
        self.assertTrue(tokens and all(set("+/=") <= set(t) for t in tokens), tokens)
        got = c.get_object(Bucket=BUCKET, Key="folder/public/t/LOAD00000001.csv", Range="bytes=2-9")
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(got["ContentRange"], "bytes 2-9/%d" % len(load))
        self.assertEqual(got["Body"].read(), load[2:10])
        for cl, call, status, code in [
                (client(secret=WRONG_SECRET), lambda c: c.list_objects_v2(Bucket=BUCKET), 403,
                 "SignatureDoesNotMatch"),
                (c, lambda c: c.get_object(Bucket=BUCKET, Key="folder/none.csv"), 404, "NoSuchKey"),
                (c, lambda c: c.list_objects_v2(Bucket="no-such-bucket"), 404, "NoSuchBucket")]:
            with self.assertRaises(botocore.exceptions.ClientError) as e:
                call(cl)
            self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], status)
            self.assertEqual(e.exception.response["Error"]["Code"], code)
        # botocore follows the 400's <Region> by itself; the log shows it was refused first
        before = len(self.s3.requests())
        client(region="us-east-1").list_objects_v2(Bucket=BUCKET, Prefix="folder/")
        codes = [q["code"] for q in self.s3.requests()[before:]]
        self.assertEqual(codes[0], "AuthorizationHeaderMalformed", codes)

    def test_consistent(self):
        """The right credentials: consistent, paged listing, ranged reads, all verified."""
        before = len(self.s3.requests())
        r = self.audit(self.s3.uri(region=REGION))
        self.consistent(r)
        self.no_secret(r)
        served = self.s3.requests()[before:]
        self.assertTrue(served)
        self.assertEqual([q for q in served if q["status"] not in (200, 206)], [], served)
        self.assertTrue(any("continuation-token=" in q["query"] for q in served), served)
        for q in served:
            if "continuation-token=" in q["query"]:  # the opaque token, percent-encoded
                tok = q["query"].split("continuation-token=")[1].split("&")[0]
                self.assertTrue("%2B" in tok and "%2F" in tok and "%3D" in tok, q)
        gets = [q for q in served if q["range"]]
        self.assertEqual(sorted({q["path"] for q in gets}),
                         ["/%s/folder/public/t/%s" % (BUCKET, CDC_NAME),
                          "/%s/folder/public/t/LOAD00000001.csv" % BUCKET])
        self.assertTrue(all(q["status"] == 206 for q in gets), gets)
        runs = self.runs()
        self.assertEqual([(x["verdict"], x["exit_code"]) for x in runs], [("consistent", 0)])
        # the region from AWS_REGION instead of the URI
        self.consistent(self.audit(self.s3.uri(), {"AWS_REGION": REGION}))

    def test_profile_credentials(self):
        """AWS_PROFILE's section of the credentials file, when the environment has none."""
        creds = os.path.join(self.dir, "credentials")
        with open(creds, "w") as f:
            f.write("[default]\naws_access_key_id = AKIADEFAULTNOTTHISONE\n"
                    "aws_secret_access_key = not-this-one\n\n"
                    "[dms-audit]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                    % (ACCESS_KEY, SECRET))
        env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_PROFILE": "dms-audit",
               "AWS_SHARED_CREDENTIALS_FILE": creds}
        r = self.audit(self.s3.uri(region=REGION), env)
        self.consistent(r)
        self.no_secret(r)
        # the default profile's key is not in the server's records
        env["AWS_PROFILE"] = ""
        r = self.audit(self.s3.uri(region=REGION), env)
        self.assertEqual(r.rc, 2, r)
        self.error_lines(r, "InvalidAccessKeyId")
        self.no_secret(r, "not-this-one")

    def test_retries(self):
        """503 SlowDown on the first three requests: retried, said so, still consistent."""
        s3 = StrictS3(self.root, self.dir, "slowdown", "--fail-first", "3")
        try:
            r = self.audit(s3.uri(region=REGION))
            served = s3.requests()
        finally:
            s3.stop()
        self.consistent(r)
        self.assertIn("retrying", r.err, r)
        self.assertEqual(len([l for l in r.err.splitlines() if "retrying" in l]), 3, r)
        self.assertEqual([q["code"] for q in served[:3]], ["SlowDown"] * 3, served)
        self.assertEqual([q for q in served[3:] if q["status"] not in (200, 206)], [], served)

    def test_retries_give_up(self):
        """A server that stays busy: a few retries, then exit 2 naming SlowDown."""
        s3 = StrictS3(self.root, self.dir, "busy", "--fail-first", "1000")
        try:
            r = self.audit(s3.uri(region=REGION))
            served = s3.requests()
        finally:
            s3.stop()
        self.assertEqual(r.rc, 2, r)
        self.error_lines(r, "SlowDown", extra_ok=("crosscheck: warning: target: s3://%s/(ListObjectsV2): server busy; "
                                                  "retrying" % BUCKET,))
        retries = len([l for l in r.err.splitlines() if "retrying" in l])
        self.assertGreaterEqual(retries, 1, r)
        self.assertEqual(len(served), retries + 1, served)  # each retry is one more request
        self.no_run()

    def test_wrong_secret(self):
        """SignatureDoesNotMatch: exit 2, one line, not retried, no secret, store intact."""
        self.consistent(self.audit(self.s3.uri(region=REGION)))
        self.assertEqual(self.store_intact(), 1)
        before = len(self.s3.requests())
        r = self.audit(self.s3.uri(region=REGION), {"AWS_SECRET_ACCESS_KEY": WRONG_SECRET})
        self.assertEqual(r.rc, 2, r)
        _, hint = self.error_lines(r, "SignatureDoesNotMatch")
        self.assertIn("AWS_SECRET_ACCESS_KEY", hint, r)
        self.no_secret(r, WRONG_SECRET)
        served = self.s3.requests()[before:]
        self.assertEqual([(q["status"], q["code"]) for q in served],
                         [(403, "SignatureDoesNotMatch")], served)  # an answer, not retried
        # an audit that cannot read its target records nothing; run 1 is as it was
        self.assertEqual(self.store_intact(), 1)
        self.assertEqual([(x["run"], x["verdict"], x["exit_code"]) for x in self.runs()],
                         [(1, "consistent", 0)])

    def test_wrong_access_key(self):
        r = self.audit(self.s3.uri(region=REGION), {"AWS_ACCESS_KEY_ID": "AKIANOTINTHERECORDS0"})
        self.assertEqual(r.rc, 2, r)
        _, hint = self.error_lines(r, "InvalidAccessKeyId")
        self.assertIn("AWS_ACCESS_KEY_ID", hint, r)
        self.no_secret(r)

    def test_no_credentials(self):
        """Unsigned requests (with a notice saying so): 403 AccessDenied."""
        r = self.audit(self.s3.uri(region=REGION), {"AWS_ACCESS_KEY_ID": "",
                                                    "AWS_SECRET_ACCESS_KEY": "",
                                                    "HOME": self.dir})
        self.assertEqual(r.rc, 2, r)
        self.error_lines(r, "AccessDenied", extra_ok=("crosscheck: target: no AWS credentials",))
        self.assertIn("no AWS credentials", r.err, r)

    def test_session_token(self):
        """Temporary credentials: the token is sent and signed; a wrong one is refused."""
        s3 = StrictS3(self.root, self.dir, "token", "--session-token", TOKEN)
        try:
            r = self.audit(s3.uri(region=REGION), {"AWS_SESSION_TOKEN": TOKEN})
            self.consistent(r)
            self.no_secret(r, TOKEN)
            r = self.audit(s3.uri(region=REGION), {"AWS_SESSION_TOKEN": TOKEN[:-4] + "XX=="})
            self.assertEqual(r.rc, 2, r)
            self.error_lines(r, "InvalidToken")
            self.no_secret(r, TOKEN, TOKEN[:-4] + "XX==")
        finally:
            s3.stop()

    def test_wrong_region(self):
        """region=us-east-1 for a bucket in eu-west-1: AuthorizationHeaderMalformed, and the
        hint names the region S3 gave (x-amz-bucket-region)."""
        r = self.audit(self.s3.uri(region="us-east-1"))
        self.assertEqual(r.rc, 2, r)
        error, hint = self.error_lines(r, "AuthorizationHeaderMalformed")
        self.assertIn("us-east-1", error, r)
        self.assertIn("region", hint, r)
        self.assertIn(REGION, hint, r)

    def test_no_such_bucket(self):
        r = self.audit(self.s3.uri(bucket="no-such-bucket", region=REGION))
        self.assertEqual(r.rc, 2, r)
        _, hint = self.error_lines(r, "NoSuchBucket")
        self.assertIn("bucket", hint, r)
        self.no_run()


class FileErrors(S3Base):
    """file:// input that is wrong."""

    @classmethod
    def setUpClass(cls):
        (admin,) = harness.need_env("CROSSCHECK_PG_URI")
        cls.src = harness.with_db(admin, DB + "_file")
        harness.ensure_database(admin, DB + "_file")
        conn = pg_connect(cls.src)
        pg_exec(conn, "CREATE TABLE public.t (id integer PRIMARY KEY, name text)")
        pg_exec(conn, "INSERT INTO public.t VALUES (1, 'a'), (2, NULL), (3, ''), (4, 'd')")
        pg_exec(conn, "CREATE TABLE public.t_time (id integer PRIMARY KEY, at timestamp)")
        pg_exec(conn, "INSERT INTO public.t_time VALUES (1, '2024-08-09 19:27:17.787'), "
                      "(2, '2024-01-01 00:00:00'), (3, NULL)")
        rows = pg_exec(conn, "SELECT id, at::text FROM public.t_time ORDER BY id")
        conn.close()
        cls.tmp = tempfile.mkdtemp(prefix="crosscheck-s3-file-")
        cls.root = os.path.join(cls.tmp, "layout")
        # row 4 has one field too many
        write(os.path.join(cls.root, "public", "t", "LOAD00000001.csv"),
              dms_lines([(1, "a"), (2, None), (3, "")]) + "4,d,extra\n")
        # row 2's timestamp cannot be read
        rows = [(i, "not-a-time" if i == 2 else v) for i, v in rows]
        write(os.path.join(cls.root, "public", "t_time", "LOAD00000001.csv"), dms_lines(rows))
        cls.target = "file://" + cls.root

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        conn = pg_connect(os.environ["CROSSCHECK_PG_URI"])
        pg_exec(conn, "DROP DATABASE IF EXISTS %s_file WITH (FORCE)" % DB)
        conn.close()

    def audit(self, target, table, *more):
        if "--recheck-attempts" not in more:
            more = ("--recheck-attempts", "0") + more
        return self.cc("audit", "--source", self.src, "--target", target, "--table", table,
                       *more, timeout=120)

    def test_unknown_setting(self):
        r = self.audit(self.target + "?CsvDelimeter=%7C", "public.t")
        self.assertEqual(r.rc, 2, r)
        error, hint = self.error_lines(r, "unknown S3 setting")
        self.assertIn("CsvDelimeter", error, r)
        self.assertIn("CsvDelimiter", hint, r)
        self.no_run()

    def test_missing_directory(self):
        r = self.audit("file://" + os.path.join(self.tmp, "no-such-dir"), "public.t")
        self.assertEqual(r.rc, 2, r)
        error, _ = self.error_lines(r, "no-such-dir")
        self.assertIn("not a directory", error, r)
        self.no_run()

    def test_wrong_field_count(self):
        """A row with three fields for two columns: a file problem (object, line) in the
        store, the row skipped (its key missing), and exit 1 even in a one-pass audit."""
        r = self.audit(self.target, "public.t")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("public/t/LOAD00000001.csv:4", r.err, r)
        self.assertNotIn("crosscheck: error", r.err, r)
        with sqlite3.connect(self.store) as db:
            problems = db.execute("SELECT run_id, table_name, side, object, line, reason "
                                  "FROM file_problems").fetchall()
        self.assertEqual(len(problems), 1, problems)
        self.assertEqual(problems[0][:5], (1, "public.t", "target", "public/t/LOAD00000001.csv", 4))
        self.assertIn("expected 2 fields, found 3", problems[0][5])
        f = self.cc("failures", "--state", "pending", "--json")
        self.assertEqual(f.rc, 0, f)
        self.assertEqual([(x["table"], x["key"], x["kind"]) for x in f.json()],
                         [("public.t", {"id": "4"}, "MISSING_TARGET")], f)
        self.assertEqual([(x["verdict"], x["exit_code"]) for x in self.runs()],
                         [("differences", 1)])

    def test_bad_timestamp(self):
        """not-a-time in a timestamp column: a RECORD_DIFF from object:line, never matched:
        pending in a one-pass audit (exit 0, README "Exit codes"), confirmed after a recheck."""
        r = self.audit(self.target, "public.t_time")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("pending", r.out, r)
        self.assertNotIn("crosscheck: error", r.err, r)
        f = self.cc("failures", "--state", "pending", "--json")
        self.assertEqual(f.rc, 0, f)
        self.assertEqual([(x["key"], x["kind"], x["columns"], x.get("origin")) for x in f.json()],
                         [({"id": "2"}, "RECORD_DIFF", ["at"], "public/t_time/LOAD00000001.csv:2")], f)
        r = self.audit(self.target, "public.t_time", "--recheck-attempts", "1",
                       "--recheck-delay", "0s")
        self.assertEqual(r.rc, 1, r)
        confirmed = [x for x in self.failures("2") if x["state"] == "confirmed"]
        self.assertEqual([(x["key"], x["kind"], x.get("origin")) for x in confirmed],
                         [({"id": "2"}, "RECORD_DIFF", "public/t_time/LOAD00000001.csv:2")])


if __name__ == "__main__":
    harness.main()
