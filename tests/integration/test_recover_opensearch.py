"""tests/integration/test_recover_opensearch.py: repairing an OpenSearch target.

A PostgreSQL source (database cc_recover_os) is indexed DMS-style into the fake OpenSearch
server of fixtures/opensearch (2.x mode): one lowercase index per table, every column in
_source, _id = SHA-256 hex of the key. Drift is planted on the index (missing documents,
stale documents, extra documents, one of them under an _id no replicator would give it)
and audited; then:

- `repair --run N` (a dry run) changes nothing: the documents and the server's write
  counters are the same before and after;
- `repair --run N --apply` fixes it (with bulk items rejected by 429 on the way), marks
  every failure repaired, and a fresh audit is clean; the documents it wrote are typed
  from their fields (numbers, booleans, ISO dates, objects);
- `recover --format bulk` writes repair.ndjson; POSTed to /_bulk as an operator would (with
  a plain HTTP client, twice: it is idempotent), the next audit is clean;
- id mode value with the key only in _id, and composite keys: with crosscheck's documented
  join as _id, and with ids of a scheme crosscheck cannot derive (stale documents are
  rewritten under their own _id, a missing one is refused with a clear error and nothing
  is written);
- a document the index mapping rejects is an error naming its _id (exit 2).

The first two run against the fake in its 1.x mode too (the seeds' OpenSearch 1.3).
"""
import hashlib
import json
import urllib.parse

import harness
from harness import pg_connect, pg_exec
from test_opensearch_audit import FakeOpenSearch

ROWS = 3000

PG_DDL = """
DROP TABLE IF EXISTS ro_items, ro_tags, ro_pairs;
CREATE TABLE ro_items (
  id      integer PRIMARY KEY,
  name    text,
  amount  numeric(12,2),
  at      timestamptz,
  flag    boolean,
  meta    jsonb,
  ratio   double precision,
  big     numeric(38,0)
);
INSERT INTO ro_items
SELECT g, 'name ' || g, g * 0.25, timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute',
       g % 3 = 0, jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g % 5)), g / 8.0,
       100000000000000000000000000000 + g
  FROM generate_series(1, %d) g;
CREATE TABLE ro_tags (tag text PRIMARY KEY, n integer, at timestamp);
INSERT INTO ro_tags SELECT 't' || g, g, timestamp '2024-01-01 00:00:00' + g * interval '1 second'
  FROM generate_series(1, 500) g;
CREATE TABLE ro_pairs (a text NOT NULL, b integer NOT NULL, v text, PRIMARY KEY (a, b));
INSERT INTO ro_pairs SELECT (ARRAY['x', 'y', 'z'])[1 + g %% 3], g, 'v' || g FROM generate_series(1, 600) g;
""".replace("%d", str(ROWS)).replace("%%", "%")

ITEMS_MAPPING = {
    "id": {"type": "integer"},
    "name": {"type": "keyword"},
    "amount": {"type": "keyword"},   # DMS sends DECIMAL as a string
    "at": {"type": "date"},
    "flag": {"type": "boolean"},
    "meta": {"type": "object", "enabled": False},
    "ratio": {"type": "double"},
    "big": {"type": "keyword"},
}
TAGS_MAPPING = {"n": {"type": "integer"}, "at": {"type": "date"}}
PAIRS_MAPPING = {"a": {"type": "keyword"}, "b": {"type": "integer"}, "v": {"type": "keyword"}}


def sha(text):
    """sha: DMS's _id, the SHA-256 hex of the key's text."""
    return hashlib.sha256(text.encode()).hexdigest()


def pair_id(a, b):
    """pair_id: crosscheck's documented composite join, the JSON array of the key texts."""
    return sha(json.dumps([a, str(b)], separators=(",", ":"), ensure_ascii=False))


def other_pair_id(a, b):
    """other_pair_id: a replicator's join crosscheck cannot know."""
    return sha("%s|%d" % (a, b))


def item_doc(row, **override):
    """item_doc: the raw _source a DMS full load writes for a source row."""
    g, name, amount, at, flag, meta, ratio, big = row
    d = {"id": g, "name": name, "amount": str(amount), "at": at.isoformat(), "flag": flag,
         "meta": meta, "ratio": ratio, "big": int(big)}
    d.update(override)
    return json.dumps(d)


class ItemsCase:
    """The items table, DMS-style; the classes below pick the server's mode."""
    MODE = None

    @classmethod
    def setUpClass(cls):
        (admin,) = harness.need_env("CROSSCHECK_PG_URI")
        cls.src = harness.ensure_database(admin, "cc_recover_os")
        c = pg_connect(cls.src)
        pg_exec(c, PG_DDL)
        cls.items = {r[0]: r for r in pg_exec(c, "SELECT * FROM ro_items ORDER BY id")}
        cls.tags = pg_exec(c, "SELECT tag, n, at FROM ro_tags ORDER BY tag")
        cls.pairs = pg_exec(c, "SELECT a, b, v FROM ro_pairs ORDER BY a, b")
        c.close()
        cls.os = FakeOpenSearch(cls.MODE)
        cls.addClassCleanup(cls.os.stop)

    def setUp(self):
        super().setUp()
        o = self.os
        o.clear_faults()
        o.create_index("ro_items", ITEMS_MAPPING)
        o.bulk("ro_items", [(sha(str(g)), item_doc(r)) for g, r in self.items.items()])

    # --- helpers ------------------------------------------------------------------------------

    def audit(self, *args, table="public.ro_items", target=None):
        r = self.cc("audit", "--source", self.src, "--target", target or self.os.uri,
                    "--table", table, "--recheck-delay", "0", "--recheck-attempts", "1",
                    "--no-progress", "--json", *args)
        return r

    def docs(self, index):
        """docs: every document of the index as {_id: raw _source}, after a refresh."""
        self.os.refresh(index)
        out = self.os.ok("POST", "/%s/_search" % index,
                         {"size": 10000, "sort": [{"_id": "asc"}], "query": {"match_all": {}}})
        return {h["_id"]: h["_source"] for h in out["hits"]["hits"]}

    def writes(self):
        """writes: how many write requests the server has answered so far."""
        by = self.os.stats()["by_endpoint"]
        return sum(n for k, n in by.items()
                   if "_bulk" in k or k.startswith(("PUT ", "DELETE ")) or "/_doc" in k)

    def get(self, index, doc_id):
        return self.os.req("GET", "/%s/_doc/%s" % (index, urllib.parse.quote(doc_id, safe="")))

    def plant_item_drift(self):
        """plant_item_drift: 3 missing, 3 stale, 2 extra documents (one under a stray _id)."""
        o, it = self.os, self.items
        for g in (10, 11, 500):
            o.delete("ro_items", sha(str(g)))
        o.put("ro_items", sha("42"), item_doc(it[42], name="stale", amount="1.00"))
        o.put("ro_items", sha("43"), item_doc(it[43], meta={"g": 43, "tags": ["changed"]}))
        o.put("ro_items", sha("44"), item_doc(it[44], at="2024-03-01T00:44:00.5Z", flag=True))
        extra = list(it[5])
        extra[0] = 5001
        o.put("ro_items", sha("5001"), item_doc(extra))
        extra[0] = 5002
        o.put("ro_items", "manual-1", item_doc(extra))
        r = self.audit()
        self.assertEqual(r.rc, 1, r)
        run = r.json()["run"]
        kinds = sorted((f["key"]["id"], f["kind"]) for f in self.failures(run))
        self.assertEqual(kinds, sorted([
            ("10", "MISSING_TARGET"), ("11", "MISSING_TARGET"), ("500", "MISSING_TARGET"),
            ("42", "RECORD_DIFF"), ("43", "RECORD_DIFF"), ("44", "RECORD_DIFF"),
            ("5001", "MISSING_SOURCE"), ("5002", "MISSING_SOURCE")]))
        return run

    # --- tests --------------------------------------------------------------------------------

    def test_1_repair_dry_run_then_apply(self):
        run = self.plant_item_drift()
        before, writes = self.docs("ro_items"), self.writes()
        r = self.cc("repair", "--run", run)
        self.assertEqual(r.rc, 0, r)
        self.assertIn("3 missing on target (insert), 3 different (replace), 2 extra on target "
                      "(delete) [dry run: nothing changed]", r.out)
        self.assertEqual(self.writes(), writes)
        self.assertEqual(self.docs("ro_items"), before)

        # two bulk items rejected by an overloaded cluster: sent again, not failed
        self.os.faults({"bulk_item_429": 2})
        r = self.cc("repair", "--run", run, "--apply")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("repaired and verified 8 keys; 0 still different", r.out)
        self.assertEqual(self.os.stats()["faults_injected"].get("bulk_item_429"), 2)
        self.assertEqual({f["state"] for f in self.failures(run)}, {"repaired"})

        # the documents: DMS's _id, every column typed for its field
        status, doc = self.get("ro_items", sha("10"))
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["_source"], {
            "id": 10, "name": "name 10", "amount": "2.50", "at": "2024-03-01T00:10:00.000000Z",
            "flag": False, "meta": {"g": 10, "tags": ["a", 0]}, "ratio": 1.25,
            "big": "100000000000000000000000000010"})
        self.assertEqual(self.get("ro_items", "manual-1")[0], 404)
        self.assertEqual(self.get("ro_items", sha("5001"))[0], 404)
        self.assertEqual(self.os.count("ro_items"), ROWS)
        r = self.audit()
        self.assertEqual(r.rc, 0, r)

    def test_2_bulk_file_applied_by_hand(self):
        run = self.plant_item_drift()
        before = self.docs("ro_items")
        out = self.dir + "/bulk"
        r = self.cc("recover", "--run", run, "--format", "bulk", "--out", out)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.docs("ro_items"), before)  # writing the file changes nothing
        with open(out + "/repair.ndjson") as f:
            body = f.read()
        self.assertTrue(body.endswith("\n"))
        lines = body.splitlines()
        actions = [json.loads(x) for x in lines if x.startswith(('{"delete"', '{"index"'))]
        deletes = sorted(a["delete"]["_id"] for a in actions if "delete" in a)
        indexed = sorted(a["index"]["_id"] for a in actions if "index" in a)
        self.assertEqual(deletes, sorted([sha("5001"), "manual-1"]))
        self.assertEqual(indexed, sorted(sha(str(g)) for g in (10, 11, 500, 42, 43, 44)))
        self.assertEqual(len(lines), 2 + 2 * 6)
        self.assertTrue(all(a[list(a)[0]]["_index"] == "ro_items" for a in actions))
        with open(out + "/RUNBOOK.md") as f:
            runbook = f.read()
        self.assertIn("2 delete and 6 index actions", runbook)
        self.assertIn("curl -sS -XPOST 'http://127.0.0.1:%d/_bulk?refresh=wait_for'" % self.os.port,
                      runbook)
        self.assertIn("--data-binary @repair.ndjson", runbook)
        # what the runbook says, with a plain HTTP client; twice gives the same index
        for _ in range(2):
            res = self.os.ok("POST", "/_bulk?refresh=wait_for", body, ndjson=True)
            self.assertFalse(res["errors"], res)
        r = self.audit()
        self.assertEqual(r.rc, 0, r)
        # the wrong target for the format: a clear error, nothing written
        r = self.cc("recover", "--run", run, "--format", "bulk", "--out", self.dir + "/pg",
                    "--target", self.src)
        self.assertEqual(r.rc, 2, r)
        self.assertIn("--format bulk is for an OpenSearch target", r.err)



class RecoverOpenSearch1x(ItemsCase, harness.CrosscheckTest):
    """OpenSearch 1.3 (the seeds' version): bulk items carry "_type"."""
    MODE = "1.x"


class RecoverOpenSearch2x(ItemsCase, harness.CrosscheckTest):
    """OpenSearch 2.x: also id mode value, composite keys, a rejected document."""
    MODE = "2.x"

    def test_3_id_mode_value_key_only_in_id(self):
        o = self.os
        # an index that never refreshes by itself: the repair forces the refresh
        o.create_index("ro_tags", TAGS_MAPPING, settings={"index": {"refresh_interval": "-1"}})
        o.bulk("ro_tags", [(tag, json.dumps({"n": n, "at": at.isoformat()}))
                           for tag, n, at in self.tags])
        o.delete("ro_tags", "t5")
        o.put("ro_tags", "t7", json.dumps({"n": -7, "at": "2024-01-01T00:00:07"}))
        o.put("ro_tags", "t9999", json.dumps({"n": 9999}))
        target = o.uri + "?id_mode=value"
        r = self.audit("--map", "tag=_id", table="public.ro_tags", target=target)
        self.assertEqual(r.rc, 1, r)
        run = r.json()["run"]
        self.assertEqual(len(self.failures(run)), 3)
        r = self.cc("-v", "repair", "--run", run, "--apply")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("repaired and verified 3 keys", r.out)
        self.assertIn("refresh_interval -1: the repair forces a refresh", r.err)
        status, doc = self.get("ro_tags", "t5")
        self.assertEqual((status, doc["_source"]), (200, {"n": 5, "at": "2024-01-01T00:00:05.000000Z"}))
        self.assertEqual(self.get("ro_tags", "t9999")[0], 404)
        r = self.audit("--map", "tag=_id", table="public.ro_tags", target=target)
        self.assertEqual(r.rc, 0, r)

    def load_pairs(self, index, id_of):
        self.os.create_index(index, PAIRS_MAPPING)
        self.os.bulk(index, [(id_of(a, b), json.dumps({"a": a, "b": b, "v": v}))
                             for a, b, v in self.pairs])

    def test_4_composite_keys(self):
        o = self.os
        # ids with crosscheck's documented join: missing, stale and extra are all repaired
        self.load_pairs("ro_pairs", pair_id)
        o.delete("ro_pairs", pair_id("y", 1))
        o.put("ro_pairs", pair_id("z", 2), json.dumps({"a": "z", "b": 2, "v": "stale"}))
        o.put("ro_pairs", pair_id("x", 9999), json.dumps({"a": "x", "b": 9999, "v": "extra"}))
        r = self.audit(table="public.ro_pairs")
        self.assertEqual(r.rc, 1, r)
        r = self.cc("repair", "--run", r.json()["run"], "--apply")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("repaired and verified 3 keys", r.out)
        self.assertEqual(self.get("ro_pairs", pair_id("y", 1))[0], 200)
        self.assertEqual(self.audit(table="public.ro_pairs").rc, 0)

        # ids of a scheme crosscheck cannot derive: a new document is refused, nothing written
        self.load_pairs("ro_pairs_dms", other_pair_id)
        o.delete("ro_pairs_dms", other_pair_id("y", 4))
        o.put("ro_pairs_dms", other_pair_id("z", 5), json.dumps({"a": "z", "b": 5, "v": "stale"}))
        r = self.audit("--target-table", "ro_pairs_dms", table="public.ro_pairs")
        self.assertEqual(r.rc, 1, r)
        run = r.json()["run"]
        before = self.docs("ro_pairs_dms")
        r = self.cc("repair", "--run", run, "--apply")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("key (y, 4) has no document to rewrite", r.err)
        self.assertIn("cannot give a new document the _id its replicator would", r.err)
        self.assertIn("hint:", r.err)
        self.assertEqual(self.docs("ro_pairs_dms"), before)
        # the same for the bulk file
        r = self.cc("recover", "--run", run, "--format", "bulk", "--out", self.dir + "/b")
        self.assertEqual(r.rc, 2, r)
        self.assertIn("has no document to rewrite", r.err)
        # with only the stale document: rewritten under its own _id
        o.put("ro_pairs_dms", other_pair_id("y", 4), json.dumps({"a": "y", "b": 4, "v": "v4"}))
        r = self.audit("--target-table", "ro_pairs_dms", table="public.ro_pairs")
        self.assertEqual(r.rc, 1, r)
        r = self.cc("repair", "--run", r.json()["run"], "--apply")
        self.assertEqual(r.rc, 0, r)
        status, doc = self.get("ro_pairs_dms", other_pair_id("z", 5))
        self.assertEqual((status, doc["_source"]), (200, {"a": "z", "b": 5, "v": "v5"}))
        self.assertEqual(self.audit("--target-table", "ro_pairs_dms", table="public.ro_pairs").rc, 0)

    def test_5_rejected_document_is_named(self):
        c = pg_connect(self.src)
        try:
            pg_exec(c, "INSERT INTO ro_items VALUES (7000, 'forever', 1, 'infinity', true, '{}', 1, 1)")
            r = self.audit()
            self.assertEqual(r.rc, 1, r)
            run = r.json()["run"]
            r = self.cc("repair", "--run", run, "--apply")
            self.assertEqual(r.rc, 2, r)
            self.assertIn("index of document _id %s" % sha("7000"), r.err)
            self.assertIn("mapper_parsing_exception", r.err)
            self.assertEqual({f["state"] for f in self.failures(run)}, {"confirmed"})
        finally:
            pg_exec(c, "DELETE FROM ro_items WHERE id = 7000")
            c.close()


if __name__ == "__main__":
    harness.main()
