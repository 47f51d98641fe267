"""tests/integration/test_mysql_audit.py: MySQL/MariaDB endpoint and cross-engine audits.

One dataset of every type in the MariaDB <-> PostgreSQL type matrix (60k rows, composite
keys with case-variant strings under a case-insensitive collation, byte-ordered text
keys, BIGINT UNSIGNED keys above 2^63) is generated once in Python and loaded by two
different paths: batched INSERTs into MariaDB (CROSSCHECK_MYSQL_URI) and COPY into
PostgreSQL (CROSSCHECK_PG_URI, database cc_mysql_xeng). Audits in both directions must
report zero differences; planted drift on each side must be found exactly. A DMS
table mapping drives an audit of renamed target tables, and bad input on the MySQL side
(unknown table, no key, wrong password, unreachable server, a connection killed in the
middle of a scan, ...) gets a clear error, exit 2, and leaves the store intact.
"""
import datetime as dt
import decimal
import hashlib
import io
import json
import os
import threading
import time
import urllib.parse

import MySQLdb

import harness
from harness import pg_connect, pg_exec

ROWS = 60_000
DB = "cc_mysql_xeng"          # on both servers
DMS_DB = "cc_mysql_dms"       # MariaDB only: the DMS source database
ERR_DB = "cc_mysql_err"       # MariaDB only: bad-input tables

REGIONS = ["eu", "EU", "Eu", "us", "US", "ap", "a", "A", "b", "B"]
TEXTS = ["plain", "", "emoji \U0001F600 ok", "e\u0301 combining", "\u00e9 composed",
         "\u65e5\u672c\u8a9e", "tab\there", "new\nline", "back\\slash", "trailing  "]
SLUG_PREFIXES = ["a", "A", "B", "b", "\u00e4", "Z", "\u00e9", "e\u0301", "_", "0",
                 "\U0001F600"]
COLORS = ["red", "green", "blue"]
SETS = ["", "a", "a,b", "a,b,c", "b,c"]


# --- servers ---------------------------------------------------------------------------

def mysql_params(uri, db=None):
    u = urllib.parse.urlparse(uri)
    return dict(host=u.hostname or "127.0.0.1", port=u.port or 3306, user=u.username,
                passwd=os.environ.get("MYSQL_PWD", ""), db=db or u.path.lstrip("/"),
                charset="utf8mb4", binary_prefix=True, autocommit=True)


def my_connect(uri, db=None):
    try:
        conn = MySQLdb.connect(**mysql_params(uri, db))
    except MySQLdb.OperationalError as e:
        if harness.IN_CI:
            raise
        raise harness.unittest.SkipTest("MariaDB not reachable: %s" % e)
    with conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
    return conn


def my_exec(conn, *statements):
    with conn.cursor() as cur:
        for s in statements:
            cur.execute(s)
        return cur.fetchall() if cur.description else None


def my_uri(base, db):
    u = urllib.parse.urlparse(base)
    return urllib.parse.urlunparse(u._replace(path="/" + db))


def my_recreate(admin_uri, db):
    conn = my_connect(admin_uri)
    my_exec(conn, "DROP DATABASE IF EXISTS `%s`" % db,
            "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci" % db)
    conn.close()
    return my_uri(admin_uri, db)


# --- the dataset ------------------------------------------------------------------------

MY_DDL = [
    """CREATE TABLE cc_xeng_types (
         region varchar(8) NOT NULL, id int NOT NULL,
         ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
         mi mediumint, i int, iu int unsigned, bi bigint, biu bigint unsigned,
         dec1 decimal(12,2), dec2 decimal(30,10), fl float, db double,
         d date, dt0 datetime, dt3 datetime(3), dt6 datetime(6),
         ts timestamp(6) NULL DEFAULT NULL, tm time(6), yr year,
         ch char(6), vc varchar(40), tx text,
         bin binary(4), vb varbinary(16), bl blob,
         flag tinyint(1), bt bit(1), en enum('red','green','blue'), st set('a','b','c'),
         doc json,
         PRIMARY KEY (region, id)
       ) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci""",
    """CREATE TABLE cc_xeng_notes (
         slug varchar(40) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, body text, n int)""",
    """CREATE TABLE cc_xeng_big (k bigint unsigned NOT NULL PRIMARY KEY, v varchar(20))""",
]

PG_DDL = """
DROP TABLE IF EXISTS cc_xeng_types, cc_xeng_notes, cc_xeng_big;
DROP TYPE IF EXISTS cc_color;
CREATE TYPE cc_color AS ENUM ('red', 'green', 'blue');
CREATE TABLE cc_xeng_types (
  region text NOT NULL, id integer NOT NULL,
  ti smallint, tiu smallint, si smallint, siu integer, mi integer, i integer, iu bigint,
  bi bigint, biu numeric(20,0),
  dec1 numeric(14,4), dec2 numeric, fl real, db double precision,
  d date, dt0 timestamp(0), dt3 timestamp(3), dt6 timestamp(6), ts timestamptz,
  tm time(6), yr smallint,
  ch char(6), vc varchar(40), tx text,
  bin bytea, vb bytea, bl bytea,
  flag boolean, bt boolean, en cc_color, st text, doc jsonb,
  PRIMARY KEY (region, id)
);
CREATE TABLE cc_xeng_notes (slug text PRIMARY KEY, body text, n integer);
CREATE TABLE cc_xeng_big (k numeric(20,0) PRIMARY KEY, v text);
"""

COLUMNS = ["region", "id", "ti", "tiu", "si", "siu", "mi", "i", "iu", "bi", "biu", "dec1",
           "dec2", "fl", "db", "d", "dt0", "dt3", "dt6", "ts", "tm", "yr", "ch", "vc", "tx",
           "bin", "vb", "bl", "flag", "bt", "en", "st", "doc"]


def type_row(g):
    """type_row gives the logical values of row g as {column: value} (None = NULL)."""
    md5 = hashlib.md5(str(g).encode()).digest()
    r = {"region": REGIONS[g % len(REGIONS)], "id": g}
    if g % 97 == 0:
        r.update({c: None for c in COLUMNS[2:]})
        return r
    specials = {1: 1e300, 2: -2.5e-7, 3: 0.1 + 0.2, 4: -0.0, 5: 123456789.125}
    r.update({
        "ti": g % 256 - 128, "tiu": g % 256,
        "si": (g * 7) % 65536 - 32768, "siu": (g * 7) % 65536,
        "mi": (g * 13) % 16777216 - 8388608,
        "i": (g * 2654435761) % 4294967296 - 2147483648, "iu": (g * 2654435761) % 4294967296,
        "bi": (g * 11400714819323198485) % 2**64 - 2**63,
        "biu": (g * 11400714819323198485) % 2**64,
        "dec1": decimal.Decimal(g * 37 % 10_000_000).scaleb(-2),
        "dec2": decimal.Decimal("%s%d.%010d" % ("-" if g % 5 == 0 else "", g * 1234567,
                                                 (g * 7919) % 10**10)),
        "fl": (g % 2000 - 1000) / 8.0 if g % 3 else g / 7.0,
        "db": specials.get(g % 50, g / 7.0),
        "d": dt.date(1990, 1, 1) + dt.timedelta(days=g % 20000),
        "dt0": dt.datetime(2001, 1, 1) + dt.timedelta(seconds=g * 61),
        "dt3": dt.datetime(2010, 6, 1) + dt.timedelta(seconds=g * 7, milliseconds=g % 1000),
        "dt6": dt.datetime(2020, 2, 29, 12) + dt.timedelta(seconds=g, microseconds=g * 37 % 1000000),
        "ts": dt.datetime(2015, 3, 29, 1) + dt.timedelta(seconds=g * 3607, microseconds=g * 91 % 1000000),
        "tm": dt.timedelta(seconds=g % 86400, microseconds=g * 13 % 1000000),
        "yr": 1901 + g % 255,
        "ch": "c%d" % (g % 1000),
        "vc": ("label %d" % g) + ("  " if g % 4 == 0 else ""),
        "tx": TEXTS[g % len(TEXTS)] * (1 + g % 3),
        "bin": md5[:4], "vb": md5, "bl": b"\x00\t\n\\" + md5[: g % 8],
        "flag": g % 2, "bt": (g // 2) % 2,
        "en": COLORS[g % 3], "st": SETS[g % 5],
        "doc": {"g": g, "tags": ["x", g % 3], "price": "2.50", "name": "\u00e9\U0001F600"},
    })
    return r


def my_doc(doc):
    # as an application writes it into MariaDB: key order of its own, white space, 2.50
    return ('{"name": %s, "g": %d,  "price": 2.50, "tags": ["x", %d]}'
            % (json.dumps(doc["name"], ensure_ascii=False), doc["g"], doc["tags"][1]))


def pg_doc(doc):
    # another writer: other key order, \u escapes, 2.5
    return '{"tags":["x",%d],"price":2.5,"g":%d,"name":%s}' % (
        doc["tags"][1], doc["g"], json.dumps(doc["name"], ensure_ascii=True))


def time_text(v):
    s = v.seconds
    return "%02d:%02d:%02d.%06d" % (s // 3600, s // 60 % 60, s % 60, v.microseconds)


def my_value(c, v):
    if v is None:
        return None
    if c == "doc":
        return my_doc(v)
    if c == "tm":
        return time_text(v)  # MySQLdb would drop a timedelta's microseconds
    if c in ("fl", "db"):
        return repr(v)
    return v


def pg_text(c, v):
    """pg_text spells a value for COPY ... FROM STDIN (text format)."""
    if v is None:
        return "\\N"
    if isinstance(v, bytes):
        return "\\\\x" + v.hex()
    if c in ("flag", "bt"):
        return "t" if v else "f"
    if c == "doc":
        v = pg_doc(v)
    elif c == "tm":
        return time_text(v)
    elif c == "ts":
        return v.isoformat(" ") + "+00"
    elif isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat(" ") if isinstance(v, dt.datetime) else v.isoformat()
    elif isinstance(v, float):
        v = repr(v)
    v = str(v)
    return v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def notes_rows():
    out = []
    for g in range(1, 6001):
        slug = SLUG_PREFIXES[g % len(SLUG_PREFIXES)] + str(g // len(SLUG_PREFIXES))
        out.append((slug, "body " + slug, g))
    return out


def big_rows():
    out = [(2**64 - 1 - g * 1000003, "v%d" % g) for g in range(3000)]
    out += [(g, "small%d" % g) for g in range(1, 1000)]
    out += [(2**63 + g, "mid%d" % g) for g in range(-500, 500)]
    return out


def load_mysql(uri):
    conn = my_connect(uri)
    my_exec(conn, "DROP TABLE IF EXISTS cc_xeng_types, cc_xeng_notes, cc_xeng_big", *MY_DDL)
    with conn.cursor() as cur:
        sql = "INSERT INTO cc_xeng_types (%s) VALUES (%s)" % (
            ", ".join(COLUMNS), ", ".join(["%s"] * len(COLUMNS)))
        batch = []
        for g in range(1, ROWS + 1):
            r = type_row(g)
            batch.append(tuple(my_value(c, r[c]) for c in COLUMNS))
            if len(batch) == 2000:
                cur.executemany(sql, batch)
                batch = []
        if batch:
            cur.executemany(sql, batch)
        cur.executemany("INSERT INTO cc_xeng_notes VALUES (%s, %s, %s)", notes_rows())
        cur.executemany("INSERT INTO cc_xeng_big VALUES (%s, %s)", big_rows())
        cur.execute("ANALYZE TABLE cc_xeng_types, cc_xeng_notes, cc_xeng_big")
        cur.fetchall()
    conn.close()


def load_pg(uri):
    conn = pg_connect(uri)
    pg_exec(conn, PG_DDL)
    buf = io.StringIO()
    for g in range(1, ROWS + 1):
        r = type_row(g)
        buf.write("\t".join(pg_text(c, r[c]) for c in COLUMNS) + "\n")
    buf.seek(0)
    with conn.cursor() as cur:
        cur.copy_expert("COPY cc_xeng_types (%s) FROM STDIN" % ", ".join(COLUMNS), buf)
        notes = io.StringIO("".join("%s\t%s\t%d\n" % (pg_text("slug", s), pg_text("body", b), n)
                                    for s, b, n in notes_rows()))
        cur.copy_expert("COPY cc_xeng_notes FROM STDIN", notes)
        big = io.StringIO("".join("%d\t%s\n" % (k, v) for k, v in big_rows()))
        cur.copy_expert("COPY cc_xeng_big FROM STDIN", big)
    pg_exec(conn, "ANALYZE")
    conn.close()


TABLES = ["cc_xeng_types", "cc_xeng_notes", "cc_xeng_big"]


def key(**kv):
    return tuple(sorted((k, str(v)) for k, v in kv.items()))


class MysqlCrossEngine(harness.CrosscheckTest):
    """MariaDB <-> PostgreSQL on one dataset of the whole type matrix."""

    @classmethod
    def setUpClass(cls):
        my_admin, pg_admin = harness.need_env("CROSSCHECK_MYSQL_URI", "CROSSCHECK_PG_URI")
        cls.my = my_recreate(my_admin, DB)
        # the PostgreSQL side collates with ICU: its text order is not the bytes' order
        cls.pg = harness.ensure_database(
            pg_admin, DB,
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0")
        load_mysql(cls.my)
        load_pg(cls.pg)

    def audit(self, src, tgt, *extra):
        args = ["audit", "--source", src, "--target", tgt]
        for t in TABLES:
            args += ["--table", t]
        return self.cc(*args, "--partition-rows", "10000", "--jobs", "2",
                       "--recheck-delay", "0", "--recheck-attempts", "1", *extra)

    def assert_consistent(self, r, prefix):
        self.assertEqual(r.rc, 0, r)
        out = r.json()
        self.assertEqual(out["verdict"], "consistent", r)
        tables = {t["table"]: t for t in out["tables"]}
        types = tables[prefix + ".cc_xeng_types"]
        self.assertEqual((types["source_rows"], types["target_rows"], types["matched"]),
                         (ROWS, ROWS, ROWS), r)
        self.assertGreaterEqual(types["partitions"], 6)
        self.assertEqual(tables[prefix + ".cc_xeng_notes"]["matched"], 6000)
        self.assertEqual(tables[prefix + ".cc_xeng_big"]["matched"], 4999)
        self.assertEqual(self.failures(), [])

    def test_1_mariadb_to_postgresql_is_consistent(self):
        r = self.audit(self.my, self.pg, "--json")
        self.assert_consistent(r, DB)
        # never a false zero: the MariaDB side must have been read, with its own types
        self.assertNotIn("warning", r.err)

    def test_2_postgresql_to_mariadb_is_consistent(self):
        r = self.audit(self.pg, self.my, "--json")
        self.assert_consistent(r, "public")

    def test_3_mariadb_scheme_and_tiny_partitions(self):
        # mariadb:// is the same endpoint; small partitions cut text and composite keys
        # at many case-variant boundaries on the MariaDB side
        uri = self.my.replace("mysql://", "mariadb://")
        r = self.cc("audit", "--source", self.pg, "--target", uri, "--table", "cc_xeng_notes",
                    "--table", "cc_xeng_big", "--partition-rows", "250", "--jobs", "2",
                    "--recheck-attempts", "0", "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["verdict"], "consistent", r)
        for t in r.json()["tables"]:
            self.assertGreaterEqual(t["partitions"], 10, r)

    def test_4_mariadb_to_mariadb(self):
        # same engine: values hash as the server prints them where that is safe, but a
        # zero date still never matches, not even itself
        my = my_connect(self.my)
        my_exec(my, "DROP TABLE IF EXISTS cc_xeng_zero",
                "CREATE TABLE cc_xeng_zero (id int PRIMARY KEY, d date, at datetime)",
                "INSERT INTO cc_xeng_zero VALUES (1, '2024-01-02', '2024-01-02 03:04:05'),"
                " (2, '0000-00-00', '2024-01-02 03:04:05'), (3, '2024-01-02', '0000-00-00 00:00:00')")
        my.close()
        r = self.cc("audit", "--source", self.my, "--target", self.my, "--table", "cc_xeng_types",
                    "--table", "cc_xeng_zero", "--recheck-delay", "0", "--recheck-attempts", "1",
                    "--json")
        self.assertEqual(r.rc, 1, r)
        tables = {t["table"]: t for t in r.json()["tables"]}
        self.assertEqual(tables[DB + ".cc_xeng_types"]["matched"], ROWS)
        self.assertEqual(self.failure_set(), {
            (DB + ".cc_xeng_zero", key(id=2), "RECORD_DIFF", ("d",)),
            (DB + ".cc_xeng_zero", key(id=3), "RECORD_DIFF", ("at",)),
        })
        self.assertIn("zero date", r.err)

    def test_9_planted_drift_is_found_exactly(self):
        pg = pg_connect(self.pg)
        my = my_connect(self.my)
        try:
            pg_exec(pg, """
                DELETE FROM cc_xeng_types WHERE region = 'EU' AND id = 11;
                INSERT INTO cc_xeng_types (region, id) VALUES ('zz', 999999);
                UPDATE cc_xeng_types SET dec1 = dec1 + 0.01 WHERE id = 1002;
                UPDATE cc_xeng_types SET ts = ts + interval '1 microsecond' WHERE id = 1003;
                UPDATE cc_xeng_types SET doc = doc || '{"extra": 1}' WHERE id = 1004;
                UPDATE cc_xeng_types SET flag = NOT flag WHERE id = 1005;
                UPDATE cc_xeng_types SET tx = NULL WHERE id = 1006;
                UPDATE cc_xeng_types SET biu = biu - 1 WHERE id = 1007;
                UPDATE cc_xeng_types SET bl = '\\x00' WHERE id = 1008;
                UPDATE cc_xeng_types SET db = db * 2 WHERE id = 1009;
                UPDATE cc_xeng_types SET ch = 'zz' WHERE id = 1010;
                UPDATE cc_xeng_types SET dt6 = dt6 + interval '1 microsecond', en = 'blue'
                 WHERE id = 1011;
                -- the same values in another spelling: no difference
                UPDATE cc_xeng_types SET doc = '{"name": "\\u00e9\\ud83d\\ude00", "g": 1012,
                       "tags": ["x", 1], "price": 2.500}' WHERE id = 1012;
                DELETE FROM cc_xeng_notes WHERE slug = 'A3';
                UPDATE cc_xeng_notes SET body = 'changed' WHERE slug = '\u00e93';
                INSERT INTO cc_xeng_notes VALUES ('a3 ', 'trailing space', 0);
                DELETE FROM cc_xeng_big WHERE k = 18446744073709551615;
            """)
            my_exec(my,
                    "UPDATE cc_xeng_types SET vc = 'changed' WHERE region = 'US' AND id = 2004",
                    "INSERT INTO cc_xeng_types (region, id) VALUES ('new', 700000)",
                    "UPDATE cc_xeng_types SET d = '0000-00-00' WHERE id = 2005",
                    "UPDATE cc_xeng_types SET fl = fl + 1 WHERE id = 2006",
                    "UPDATE cc_xeng_types SET tm = '-01:00:00' WHERE id = 2007",
                    "UPDATE cc_xeng_notes SET body = 'changed too' WHERE slug = 'b7'",
                    "UPDATE cc_xeng_big SET v = 'drift' WHERE k = 9223372036854775808")

            T, N, B = "cc_xeng_types", "cc_xeng_notes", "cc_xeng_big"
            k = lambda region, i: key(region=region, id=i)
            expected = {
                (T, k("EU", 11), "MISSING_TARGET", ()),
                (T, k("zz", 999999), "MISSING_SOURCE", ()),
                (T, k("new", 700000), "MISSING_TARGET", ()),
                (T, k("Eu", 1002), "RECORD_DIFF", ("dec1",)),
                (T, k("us", 1003), "RECORD_DIFF", ("ts",)),
                (T, k("US", 1004), "RECORD_DIFF", ("doc",)),
                (T, k("ap", 1005), "RECORD_DIFF", ("flag",)),
                (T, k("a", 1006), "RECORD_DIFF", ("tx",)),
                (T, k("A", 1007), "RECORD_DIFF", ("biu",)),
                (T, k("b", 1008), "RECORD_DIFF", ("bl",)),
                (T, k("B", 1009), "RECORD_DIFF", ("db",)),
                (T, k("eu", 1010), "RECORD_DIFF", ("ch",)),
                (T, k("EU", 1011), "RECORD_DIFF", ("dt6", "en")),
                (T, k("US", 2004), "RECORD_DIFF", ("vc",)),
                (T, k("ap", 2005), "RECORD_DIFF", ("d",)),
                (T, k("a", 2006), "RECORD_DIFF", ("fl",)),
                (T, k("A", 2007), "RECORD_DIFF", ("tm",)),
                (N, key(slug="A3"), "MISSING_TARGET", ()),
                (N, key(slug="a3 "), "MISSING_SOURCE", ()),
                (N, key(slug="\u00e93"), "RECORD_DIFF", ("body",)),
                (N, key(slug="b7"), "RECORD_DIFF", ("body",)),
                (B, key(k=18446744073709551615), "MISSING_TARGET", ()),
                (B, key(k=9223372036854775808), "RECORD_DIFF", ("v",)),
            }
            swap = {"MISSING_TARGET": "MISSING_SOURCE", "MISSING_SOURCE": "MISSING_TARGET",
                    "RECORD_DIFF": "RECORD_DIFF"}

            r = self.audit(self.my, self.pg)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("zero date", r.err)  # reported clearly, never matched
            got = {(t.split(".", 1)[1], kk, kind, cols) for t, kk, kind, cols in self.failure_set()}
            self.assertEqual(got - expected, set(), "unexpected failures")
            self.assertEqual(expected - got, set(), "missed failures")
            self.assertEqual({f["state"] for f in self.failures()}, {"confirmed"})
            self.assertEqual({f["table"].split(".")[0] for f in self.failures()}, {DB})

            # the other direction sees the mirror image
            r = self.audit(self.pg, self.my)
            self.assertEqual(r.rc, 1, r)
            got = self.failure_set()
            mirror = {("public." + t, kk, swap[kind], cols) for t, kk, kind, cols in expected}
            self.assertEqual(got - mirror, set(), "unexpected failures (reverse)")
            self.assertEqual(mirror - got, set(), "missed failures (reverse)")
        finally:
            pg.close()
            my.close()


class MysqlColumnOptions(harness.CrosscheckTest):
    """Per-column compare options: a zone for one DATETIME, float digits, CHAR padding."""

    @classmethod
    def setUpClass(cls):
        my_admin, pg_admin = harness.need_env("CROSSCHECK_MYSQL_URI", "CROSSCHECK_PG_URI")
        cls.my = my_uri(my_admin, DB)
        conn = my_connect(my_admin)
        my_exec(conn, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4" % DB)
        conn.close()
        cls.pg = harness.with_db(pg_admin, DB)
        conn = pg_connect(pg_admin)
        if not pg_exec(conn, "SELECT 1 FROM pg_database WHERE datname = %s", (DB,)):
            pg_exec(conn, "CREATE DATABASE %s" % DB)
        conn.close()
        my = my_connect(cls.my)
        # the application wrote local (+02:00) wall-clock times into a DATETIME
        my_exec(my, "DROP TABLE IF EXISTS cc_xeng_opts",
                "CREATE TABLE cc_xeng_opts (id int PRIMARY KEY, local_at datetime(3),"
                " code char(4), ratio double, note varchar(10))",
                "INSERT INTO cc_xeng_opts SELECT seq, '2024-01-02 05:00:00' + INTERVAL seq MINUTE,"
                " 'ab', seq + 0.1, 'x' FROM seq_1_to_500")
        my.close()
        pg = pg_connect(cls.pg)
        pg_exec(pg, """
            DROP TABLE IF EXISTS cc_xeng_opts;
            CREATE TABLE cc_xeng_opts (id int PRIMARY KEY, local_at timestamptz, code char(4),
                                       ratio double precision, note text);
            INSERT INTO cc_xeng_opts
              SELECT g, timestamptz '2024-01-02 03:00:00+00' + g * interval '1 minute', 'ab',
                     -- a real widened to double: 500.1 reads 500.100006103516
                     (g + 0.1)::real, 'x'
                FROM generate_series(1, 500) g;
        """)
        pg.close()

    def audit(self, *extra):
        return self.cc("audit", "--source", self.my, "--target", self.pg, "--table",
                       "cc_xeng_opts", "--recheck-attempts", "0", "--json", *extra)

    def test_column_options(self):
        r = self.audit()
        self.assertEqual(r.rc, 0, r)  # pending only
        cols = {tuple(f["columns"]) for f in self.failures()}
        self.assertEqual(cols, {("local_at", "ratio")})
        self.assertEqual(len(self.failures()), 500)
        r = self.audit("--column-option", "local_at:timezone=+02:00",
                       "--column-option", "ratio:float_digits=6")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.json()["verdict"], "consistent", r)
        # CHAR padding is ignored by default; trim=off compares it (PostgreSQL pads)
        r = self.audit("--column-option", "local_at:timezone=+02:00,time_precision=0",
                       "--column-option", "ratio:float_digits=6",
                       "--column-option", "code:trim=off")
        self.assertEqual({tuple(f["columns"]) for f in self.failures()}, {("code",)})
        for bad, needle in (("nope:trim=on", 'unknown column "nope" in --column-option'),
                            ("code:trim=maybe", "expected on or off"),
                            ("code:colour=red", 'unknown key "colour"'),
                            ("code", "expected COLUMN:KEY=VALUE"),
                            ("ratio:float_digits=99", "--column-option float_digits")):
            r = self.audit("--column-option", bad)
            self.assertEqual(r.rc, 2, r)
            self.assertIn(needle, r.err)


# --- DMS table mappings ---------------------------------------------------------------------

DMS_MAPPINGS = {
    "rules": [
        {"rule-type": "selection", "rule-id": "1", "rule-name": "all-of-dms",
         "object-locator": {"schema-name": DMS_DB, "table-name": "%"},
         "rule-action": "include", "filters": []},
        {"rule-type": "selection", "rule-id": "2", "rule-name": "no-scratch",
         "object-locator": {"schema-name": DMS_DB, "table-name": "tmp[_]%"},
         "rule-action": "exclude"},
        {"rule-type": "selection", "rule-id": "3", "rule-name": "no-log",
         "object-locator": {"schema-name": DMS_DB, "table-name": "audit_log"},
         "rule-action": "exclude"},
        {"rule-type": "transformation", "rule-id": "4", "rule-name": "to-shop",
         "rule-target": "schema", "object-locator": {"schema-name": DMS_DB},
         "rule-action": "rename", "value": "shop"},
        {"rule-type": "transformation", "rule-id": "5", "rule-name": "lowercase",
         "rule-target": "table", "object-locator": {"schema-name": "%", "table-name": "%"},
         "rule-action": "convert-lowercase"},
        {"rule-type": "transformation", "rule-id": "6", "rule-name": "rename-items",
         "rule-target": "table",
         "object-locator": {"schema-name": DMS_DB, "table-name": "order_items"},
         "rule-action": "rename", "value": "line_items"},
        {"rule-type": "transformation", "rule-id": "7", "rule-name": "amount-is-total",
         "rule-target": "column",
         "object-locator": {"schema-name": DMS_DB, "table-name": "Orders",
                            "column-name": "Amount"},
         "rule-action": "rename", "value": "total"},
        {"rule-type": "transformation", "rule-id": "8", "rule-name": "drop-note",
         "rule-target": "column",
         "object-locator": {"schema-name": DMS_DB, "table-name": "Orders",
                            "column-name": "internal%"},
         "rule-action": "remove-column"},
        {"rule-type": "transformation", "rule-id": "9", "rule-name": "loaded-at",
         "rule-target": "column",
         "object-locator": {"schema-name": DMS_DB, "table-name": "%"},
         "rule-action": "add-column", "value": "loaded_at",
         "data-type": {"type": "datetime", "precision": 6}},
        {"rule-type": "table-settings", "rule-id": "10", "rule-name": "parallel",
         "object-locator": {"schema-name": DMS_DB, "table-name": "order_items"},
         "parallel-load": {"type": "partitions-auto"}},
    ]
}


class MysqlDmsMappings(harness.CrosscheckTest):
    """A DMS table mapping picks MariaDB tables and names their renamed PostgreSQL copies."""

    @classmethod
    def setUpClass(cls):
        my_admin, pg_admin = harness.need_env("CROSSCHECK_MYSQL_URI", "CROSSCHECK_PG_URI")
        cls.my = my_recreate(my_admin, DMS_DB)
        cls.pg = harness.with_db(pg_admin, DB)
        conn = pg_connect(pg_admin)
        if not pg_exec(conn, "SELECT 1 FROM pg_database WHERE datname = %s", (DB,)):
            pg_exec(conn, "CREATE DATABASE %s" % DB)
        conn.close()
        my = my_connect(cls.my)
        my_exec(my,
                "CREATE TABLE `Orders` (id int PRIMARY KEY, `Amount` decimal(10,2),"
                " internal_note varchar(20), placed datetime(3))",
                "CREATE TABLE order_items (order_id int NOT NULL, line int NOT NULL,"
                " sku varchar(10), qty int, PRIMARY KEY (order_id, line))",
                "CREATE TABLE tmp_scratch (id int PRIMARY KEY)",
                "CREATE TABLE audit_log (id int PRIMARY KEY, what text)",
                "CREATE VIEW orders_v AS SELECT id FROM `Orders`",
                "INSERT INTO `Orders` SELECT seq, seq * 1.25, CONCAT('note ', seq),"
                " '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_2000",
                "INSERT INTO order_items SELECT seq DIV 3 + 1, seq MOD 3 + 1, CONCAT('sku', seq),"
                " seq MOD 7 FROM seq_0_to_5999",
                "INSERT INTO tmp_scratch SELECT seq FROM seq_1_to_10",
                "INSERT INTO audit_log SELECT seq, 'x' FROM seq_1_to_10")
        my.close()
        pg = pg_connect(cls.pg)
        pg_exec(pg, """
            DROP SCHEMA IF EXISTS shop CASCADE;
            CREATE SCHEMA shop;
            CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric(12,2), placed timestamp(3),
                                      loaded_at timestamp(6) DEFAULT now());
            CREATE TABLE shop.line_items (order_id int, line int, sku text, qty int,
                                          loaded_at timestamp(6) DEFAULT now(),
                                          PRIMARY KEY (order_id, line));
            INSERT INTO shop.orders (id, total, placed)
              SELECT g, g * 1.25, timestamp '2024-01-01' + g * interval '1 second'
                FROM generate_series(1, 2000) g;
            INSERT INTO shop.line_items (order_id, line, sku, qty)
              SELECT g / 3 + 1, g % 3 + 1, 'sku' || g, g % 7 FROM generate_series(0, 5999) g;
        """)
        pg.close()

    def mappings(self, doc):
        path = os.path.join(self.dir, "table-mappings.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2)
        return path

    def audit(self, path, *extra):
        return self.cc("audit", "--source", self.my, "--target", self.pg,
                       "--table-mappings", path, "--recheck-delay", "0",
                       "--recheck-attempts", "1", *extra)

    def test_1_mapping_drives_the_audit(self):
        r = self.audit(self.mappings(DMS_MAPPINGS), "--json")
        self.assertEqual(r.rc, 0, r)
        out = r.json()
        self.assertEqual(out["verdict"], "consistent", r)
        got = {t["table"]: (t["target_table"], t["matched"]) for t in out["tables"]}
        self.assertEqual(got, {DMS_DB + ".Orders": ("shop.orders", 2000),
                               DMS_DB + ".order_items": ("shop.line_items", 6000)})

    def test_2_drift_in_renamed_tables(self):
        pg = pg_connect(self.pg)
        my = my_connect(self.my)
        try:
            pg_exec(pg, "UPDATE shop.line_items SET qty = qty + 1 WHERE order_id = 5 AND line = 2;"
                        "UPDATE shop.orders SET total = total + 1 WHERE id = 77;"
                        "DELETE FROM shop.orders WHERE id = 78")
            # a removed column may differ at will
            my_exec(my, "UPDATE `Orders` SET internal_note = 'other' WHERE id = 79")
            r = self.audit(self.mappings(DMS_MAPPINGS))
            self.assertEqual(r.rc, 1, r)
            self.assertEqual(self.failure_set(), {
                (DMS_DB + ".order_items", key(order_id=5, line=2), "RECORD_DIFF", ("qty",)),
                (DMS_DB + ".Orders", key(id=77), "RECORD_DIFF", ("Amount",)),
                (DMS_DB + ".Orders", key(id=78), "MISSING_TARGET", ()),
            })
        finally:
            pg_exec(pg, "UPDATE shop.line_items SET qty = qty - 1 WHERE order_id = 5 AND line = 2;"
                        "UPDATE shop.orders SET total = total - 1 WHERE id = 77;"
                        "INSERT INTO shop.orders (id, total, placed)"
                        " VALUES (78, 97.5, timestamp '2024-01-01 00:01:18')")
            my_exec(my, "UPDATE `Orders` SET internal_note = 'note 79' WHERE id = 79")
            pg.close()
            my.close()

    def assert_clean_error(self, r, *needles):
        self.assertEqual(r.rc, 2, r)
        errors = [l for l in r.err.splitlines() if "error:" in l]
        self.assertEqual(len(errors), 1, r)
        for n in needles:
            self.assertIn(n, errors[0], r)
        runs = self.cc("runs", "--json")
        self.assertEqual(runs.rc, 0, runs)

    def test_3_invalid_mappings(self):
        good = self.audit(self.mappings(DMS_MAPPINGS))
        self.assertEqual(good.rc, 0, good)
        bad = json.loads(json.dumps(DMS_MAPPINGS))
        del bad["rules"][5]["value"]
        r = self.audit(self.mappings(bad))
        self.assert_clean_error(r, 'rule 6 ("rename-items")', '"value"')
        bad = json.loads(json.dumps(DMS_MAPPINGS))
        bad["rules"][0]["filters"] = [{"filter-type": "source", "column-name": "id",
                                       "filter-conditions": [{"filter-operator": "gte",
                                                              "value": "5"}]}]
        r = self.audit(self.mappings(bad))
        self.assert_clean_error(r, 'rule 1 ("all-of-dms")', "filters")
        bad = json.loads(json.dumps(DMS_MAPPINGS))
        bad["rules"][6]["rule-action"] = "renam"
        r = self.audit(self.mappings(bad))
        self.assert_clean_error(r, 'rule 7 ("amount-is-total")', '"renam"')
        r = self.audit(self.mappings({"rules": [DMS_MAPPINGS["rules"][0] | {
            "object-locator": {"schema-name": "nosuchdb", "table-name": "%"}}]}))
        self.assert_clean_error(r, "select no table")
        path = os.path.join(self.dir, "broken.json")
        with open(path, "w") as f:
            f.write('{"rules": [')
        self.assert_clean_error(self.audit(path), "not valid JSON")
        r = self.audit(os.path.join(self.dir, "missing.json"))
        self.assert_clean_error(r, "cannot open")
        r = self.cc("audit", "--source", self.my, "--target", self.pg, "--table", "x",
                    "--table-mappings", self.mappings(DMS_MAPPINGS))
        self.assert_clean_error(r, "--table-mappings")
        # the good run is still there, untouched
        runs = self.cc("runs", "--json").json()
        self.assertEqual([x["verdict"] for x in runs], ["consistent"])


# --- bad input on the MySQL side ------------------------------------------------------------

class MysqlBadInput(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        (admin,) = harness.need_env("CROSSCHECK_MYSQL_URI")
        cls.uri = my_recreate(admin, ERR_DB)
        conn = my_connect(cls.uri)
        my_exec(conn,
                "CREATE TABLE err_ok (id int PRIMARY KEY, v varchar(10))",
                "INSERT INTO err_ok SELECT seq, CONCAT('v', seq) FROM seq_1_to_100",
                "CREATE TABLE err_nokey (a int, b varchar(10))",
                "INSERT INTO err_nokey VALUES (1, 'x')",
                "CREATE TABLE err_base (id int PRIMARY KEY, v varchar(10))",
                "INSERT INTO err_base SELECT seq, 'x' FROM seq_1_to_1500",
                # every row costs 2 ms to read: a scan runs for about 3 s
                "CREATE VIEW err_slow AS SELECT id, v FROM err_base WHERE SLEEP(0.002) = 0")
        conn.close()

    def setUp(self):
        super().setUp()
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok")
        self.assertEqual(r.rc, 0, r)

    def audit(self, *args, env=None):
        return self.cc("audit", "--recheck-attempts", "0", *args, env=env)

    def assert_store_intact(self):
        runs = self.cc("runs", "--json")
        self.assertEqual(runs.rc, 0, runs)
        good = [x for x in runs.json() if x["verdict"] == "consistent"]
        self.assertEqual(len(good), 1, runs)
        self.assertEqual(good[0]["source_rows"], 100)

    def assert_clean_error(self, r, *needles):
        self.assertEqual(r.rc, 2, r)
        errors = [l for l in r.err.splitlines() if "error:" in l]
        self.assertEqual(len(errors), 1, r)
        for n in needles:
            self.assertIn(n, errors[0], r)
        self.assert_store_intact()

    def test_unknown_table(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "nope")
        self.assert_clean_error(r, ERR_DB + ".nope", "not found")
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "otherdb.err_ok")
        self.assert_clean_error(r, "otherdb.err_ok", "not found")

    def test_no_primary_key(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_nokey")
        self.assert_clean_error(r, "no primary key")
        self.assertIn("--key", r.err)
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_nokey",
                       "--key", "a")
        self.assertEqual(r.rc, 0, r)

    def test_wrong_password(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok",
                       env={"MYSQL_PWD": "wrong-password"})
        self.assert_clean_error(r, "source", "Access denied")
        self.assertIn("MYSQL_PWD", r.err)  # the hint
        self.assertNotIn("wrong-password", r.err + r.out)

    def test_password_from_my_cnf(self):
        home = os.path.join(self.dir, "home")
        os.makedirs(home)
        with open(os.path.join(home, ".my.cnf"), "w") as f:
            f.write("[client]\npassword=%s\n" % os.environ["MYSQL_PWD"])
        env = {"HOME": home, "MYSQL_PWD": ""}
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok",
                       "--store", os.path.join(self.dir, "other.db"), env=env)
        self.assertEqual(r.rc, 0, r)
        with open(os.path.join(home, ".my.cnf"), "w") as f:
            f.write("[client]\npassword=not-it\n")
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_ok", env=env)
        self.assert_clean_error(r, "Access denied")
        self.assertNotIn("not-it", r.err + r.out)

    def test_password_in_uri_never_shown_or_stored(self):
        bad = self.uri.replace("crosscheck@", "crosscheck:hunter2@")
        r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok",
                       env={"MYSQL_PWD": ""})
        self.assertNotIn("hunter2", r.err + r.out)
        for path in (self.store, self.store + "-wal"):
            if os.path.exists(path):
                with open(path, "rb") as f:
                    self.assertNotIn(b"hunter2", f.read())

    def test_unreachable_server(self):
        bad = "mysql://crosscheck@127.0.0.1:1/" + ERR_DB
        r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok")
        self.assert_clean_error(r, "source", "cannot connect")
        r = self.audit("--source", self.uri, "--target", bad, "--table", "err_ok")
        self.assert_clean_error(r, "target", "cannot connect")

    def test_malformed_uris(self):
        for bad, needle in ((self.uri + "?sslmode=require", 'unknown parameter "sslmode"'),
                            (self.uri + "?ssl-mode=sometimes", 'unknown ssl-mode'),
                            ("mysql://h:99999/db", ""),
                            (self.uri + "?ssl-mode=REQUIRED", "not encrypted")):
            r = self.audit("--source", bad, "--target", self.uri, "--table", "err_ok")
            self.assert_clean_error(r, needle)

    def test_server_gone_mid_scan(self):
        """The server kills the reading connection while rows stream: every retry too."""
        stop = threading.Event()
        killed = []

        def killer():
            conn = my_connect(self.uri)
            try:
                while not stop.is_set():
                    rows = my_exec(conn,
                                   "SELECT ID FROM information_schema.PROCESSLIST"
                                   " WHERE INFO LIKE '%err_slow%ORDER BY%' AND TIME_MS > 300"
                                   "   AND ID <> CONNECTION_ID()")
                    for (pid,) in rows:
                        try:
                            my_exec(conn, "KILL %d" % pid)
                            killed.append(pid)
                        except MySQLdb.OperationalError:
                            pass
                    time.sleep(0.05)
            finally:
                conn.close()

        t = threading.Thread(target=killer)
        t.start()
        try:
            r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_slow",
                           "--key", "id", "--partition-rows", "100000")
        finally:
            stop.set()
            t.join()
        self.assertGreaterEqual(len(killed), 1)
        self.assertEqual(r.rc, 2, r)
        self.assertRegex(r.err, r"(source|target): scan %s.err_slow: .*(Lost connection|killed|gone away)" % ERR_DB)
        self.assert_store_intact()
        runs = self.cc("runs", "--json").json()
        self.assertEqual(runs[0]["verdict"], "error", runs)

    def test_statement_timeout(self):
        r = self.audit("--source", self.uri, "--target", self.uri, "--table", "err_slow",
                       "--key", "id", "--statement-timeout", "1s")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("max_statement_time", r.err)
        self.assertIn("--statement-timeout", r.err)
        self.assert_store_intact()


if __name__ == "__main__":
    harness.main()
