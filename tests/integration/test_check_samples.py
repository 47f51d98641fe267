"""tests/integration/test_check_samples.py: every sample in checks/ parses and runs.

Each sample is copied to a temporary folder (its store and reports are relative to it),
the tables it names are created on the test servers with identical data, and
`crosscheck audit --check` and `crosscheck drift --check` run it with --source and
--target overriding the file's endpoints, as an operator would on another machine.
The passwords come from the environment variables the samples name.
"""
import glob
import hashlib
import json
import os
import shutil

import harness
import mariadb
from harness import pg_connect, pg_exec
from mariadb import q
from test_opensearch_audit import FakeOpenSearch

CHECKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "checks")
ROWS = 3000


def pg_tables(uri, schema):
    c = pg_connect(uri)
    pg_exec(c, """
        DROP SCHEMA IF EXISTS %(s)s CASCADE; CREATE SCHEMA %(s)s;
        CREATE TABLE %(s)s.orders (id bigint PRIMARY KEY, customer_id bigint, total numeric(12,2),
                                  status varchar(20), updated_at timestamp(6) NOT NULL);
        CREATE TABLE %(s)s.customers (id bigint PRIMARY KEY, email varchar(80), last_login timestamp,
                                     updated_at timestamp(6) NOT NULL);
        INSERT INTO %(s)s.orders SELECT g, g %% 97, g * 0.25, (ARRAY['new','paid'])[1 + g %% 2],
                                        timestamp '2024-01-01' + g * interval '1 minute'
          FROM generate_series(1, %(n)d) g;
        INSERT INTO %(s)s.customers SELECT g, 'c' || g || '@example.com', now(),
                                           timestamp '2024-01-01' + g * interval '1 hour'
          FROM generate_series(1, 500) g;
    """ % {"s": schema, "n": ROWS})
    c.close()


def my_tables(uri):
    c = mariadb.connect(uri, "")
    q(c, "DROP DATABASE IF EXISTS shop")
    q(c, "CREATE DATABASE shop")
    q(c, "USE shop")  # seq_1_to_N tables live in the current database
    q(c, """CREATE TABLE shop.orders (id BIGINT PRIMARY KEY, customer_id BIGINT, total DECIMAL(12,2),
              status VARCHAR(20), updated_at DATETIME(6) NOT NULL)""")
    q(c, """CREATE TABLE shop.customers (id BIGINT PRIMARY KEY, email VARCHAR(80), last_login DATETIME,
              updated_at DATETIME(6) NOT NULL)""")
    q(c, "INSERT INTO shop.orders SELECT seq, seq %% 97, seq * 0.25, ELT(1 + seq %% 2, 'new', 'paid'), "
         "'2024-01-01' + INTERVAL seq MINUTE FROM seq_1_to_%d" % ROWS)
    q(c, "INSERT INTO shop.customers SELECT seq, CONCAT('c', seq, '@example.com'), NOW() - INTERVAL seq DAY, "
         "'2024-01-01' + INTERVAL seq HOUR FROM seq_1_to_500")
    rows = q(c, "SELECT id, customer_id, total, status, updated_at FROM shop.orders ORDER BY id")
    c.close()
    return rows


class Samples(harness.CrosscheckTest):
    @classmethod
    def setUpClass(cls):
        cls.pg, cls.pg2, cls.my = harness.need_env("CROSSCHECK_PG_URI", "CROSSCHECK_PG2_URI",
                                                   "CROSSCHECK_MYSQL_URI")
        cls.src_pg = harness.ensure_database(cls.pg, "cc_samples")
        cls.tgt_pg = harness.ensure_database(cls.pg2, "cc_samples")
        cls.samples = sorted(glob.glob(os.path.join(CHECKS, "*.ini")))
        pw = os.environ.get("PGPASSWORD", "crosscheck")
        cls.env = {name: pw for name in ("SHOP_PRIMARY_PASSWORD", "SHOP_REPLICA_PASSWORD",
                                          "SHOP_MYSQL_PASSWORD", "SHOP_PG_PASSWORD")}

    def run_sample(self, name, source, target):
        path = os.path.join(CHECKS, name)
        self.assertIn(path, self.samples)
        local = os.path.join(self.dir, name)
        shutil.copy(path, local)
        for verb in ("audit", "drift"):
            r = self.cc(verb, "--check", local, "--source", source, "--target", target,
                        "--store", os.path.join(self.dir, "s.db"), "--recheck-delay", "0",
                        "--no-progress", env=self.env)
            self.assertEqual(r.rc, 0, "%s %s: %r" % (verb, name, r))
        return local

    def test_every_sample_is_covered(self):
        names = {os.path.basename(p) for p in self.samples}
        self.assertEqual(names, {"pg-to-pg.ini", "mysql-to-pg.ini", "mysql-to-opensearch.ini"})

    def test_pg_to_pg(self):
        pg_tables(self.src_pg, "public")
        pg_tables(self.tgt_pg, "public")
        # last_login differs, and the sample excludes it for customers
        c = pg_connect(self.tgt_pg)
        pg_exec(c, "UPDATE public.customers SET last_login = now() - interval '3 days'")
        c.close()
        self.run_sample("pg-to-pg.ini", self.src_pg, self.tgt_pg)
        for report in ("shop-replica.html", "shop-replica.json"):
            self.assertTrue(os.path.exists(os.path.join(self.dir, report)), report)

    def test_mysql_to_pg(self):
        my_tables(self.my)
        pg_tables(self.tgt_pg, "shop")
        c = pg_connect(self.tgt_pg)
        pg_exec(c, "UPDATE shop.customers SET last_login = NULL")
        c.close()
        self.run_sample("mysql-to-pg.ini", mariadb.with_db(self.my, "shop"), self.tgt_pg)
        with open(os.path.join(self.dir, "shop-migration.json")) as f:
            self.assertEqual(json.load(f)["run"]["verdict"], "consistent")

    def test_mysql_to_opensearch(self):
        rows = my_tables(self.my)
        fake = FakeOpenSearch("2.x")
        try:
            fake.ok("PUT", "/orders", {"mappings": {"properties": {
                "id": {"type": "long"}, "customer_id": {"type": "long"}, "total": {"type": "keyword"},
                "status": {"type": "keyword"}, "updated_at": {"type": "date"}}}})
            lines = []
            for (i, cust, total, status, ts) in rows:
                _id = hashlib.sha256(str(i).encode()).hexdigest()  # DMS-style opaque id
                lines.append(json.dumps({"index": {"_index": "orders", "_id": _id}}))
                lines.append(json.dumps({"id": i, "customer_id": cust, "total": str(total),
                                         "status": status,
                                         "updated_at": ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]}))
            fake.ok("POST", "/_bulk?refresh=true", "\n".join(lines) + "\n", ndjson=True)
            self.run_sample("mysql-to-opensearch.ini", mariadb.with_db(self.my, "shop"), fake.uri)
            self.assertTrue(os.path.exists(os.path.join(self.dir, "shop-search.prom")))
        finally:
            fake.stop()


if __name__ == "__main__":
    harness.main()
