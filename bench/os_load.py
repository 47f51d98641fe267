#!/usr/bin/python3
"""bench/os_load.py PORT INDEX: index a MariaDB table into OpenSearch the way an AWS DMS
full load does, for bench/bench_opensearch.sh (the loader is not what is measured).

Reads the rows of the table made by bench/lib_mysql.sh (my_load_table) on stdin, as
`mariadb --quick --batch --skip-column-names` prints them (tab-separated, NULL as the
word NULL; the values have no characters that batch mode escapes), and sends them with
`_bulk`, 5000 documents a request, on one keep-alive connection: `_id` the SHA-256 hex of
the key (DMS; opaque to crosscheck), every column in `_source`, the DECIMAL as a string,
the DOUBLE as the number text MariaDB printed, DATETIME(6) as ISO-8601, TINYINT(1) as a
JSON boolean, an SQL NULL as an absent field.

Drift, so that the audit has something exact to find: rows with id % 1000 = 7 are not
indexed (missing on the target), rows with id % 1000 = 9 get a changed label (stale).
Prints "indexed N" on stdout.
"""
import hashlib
import http.client
import json
import sys

MAPPING = {
    "mappings": {"properties": {
        "id": {"type": "long"},
        "account": {"type": "integer"},
        "amount": {"type": "keyword"},     # DMS sends DECIMAL as a string
        "rate": {"type": "double"},
        "label": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
        "created": {"type": "date"},
        "flag": {"type": "boolean"},
        "ref": {"type": "keyword"},
    }},
    "settings": {"number_of_replicas": 0, "refresh_interval": "-1"},
}
BATCH = 5000


def main():
    port, index = int(sys.argv[1]), sys.argv[2]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def call(method, path, body, ctype="application/json"):
        conn.request(method, path, body=body, headers={"Content-Type": ctype})
        r = conn.getresponse()
        data = r.read()
        if r.status >= 300:
            sys.exit("os_load: %s %s: %d %s" % (method, path, r.status, data[:500]))
        return data

    conn.request("DELETE", "/" + index)
    conn.getresponse().read()
    call("PUT", "/" + index, json.dumps(MAPPING))
    action = '{"index":{"_index":"%s","_id":"%%s"}}\n' % index
    lines = []
    n = 0

    def flush():
        out = json.loads(call("POST", "/_bulk", "".join(lines).encode(), "application/x-ndjson"))
        if out.get("errors"):
            bad = [i for i in out["items"] if "error" in next(iter(i.values()))][:3]
            sys.exit("os_load: _bulk item errors: %s" % bad)
        lines.clear()

    for line in sys.stdin:
        id_, account, amount, rate, label, created, flag, ref = line.rstrip("\n").split("\t")
        g = int(id_)
        if g % 1000 == 7:
            continue
        if g % 1000 == 9:
            label += "~"
        parts = ['"id":%s' % id_, '"account":%s' % account]
        if amount != "NULL":
            parts.append('"amount":"%s"' % amount)
        if rate != "NULL":
            parts.append('"rate":%s' % rate)
        parts.append('"label":%s' % json.dumps(label))
        if created != "NULL":
            parts.append('"created":"%s"' % created.replace(" ", "T"))
        if flag != "NULL":
            parts.append('"flag":%s' % ("true" if flag == "1" else "false"))
        if ref != "NULL":
            parts.append('"ref":"%s"' % ref)
        lines.append(action % hashlib.sha256(id_.encode()).hexdigest())
        lines.append("{" + ",".join(parts) + "}\n")
        n += 1
        if len(lines) >= 2 * BATCH:
            flush()
    if lines:
        flush()
    call("POST", "/%s/_refresh" % index, None)
    print("indexed", n)


if __name__ == "__main__":
    main()
