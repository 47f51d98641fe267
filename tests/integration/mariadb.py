"""tests/integration/mariadb.py: the MariaDB primary -> replica pair of ci/servers.

The primary (CROSSCHECK_MYSQL_URI, server_id 1, binlog on) and the replica
(CROSSCHECK_MYSQL2_URI, server_id 2) are private instances; these helpers connect to
them with MySQLdb and wire real binlog replication between them.
"""
import time
import unittest
import urllib.parse

import MySQLdb

import harness


def parts(uri):
    u = urllib.parse.urlparse(uri)
    return u.hostname or "127.0.0.1", u.port or 3306, u.username or "crosscheck", (u.path or "/").lstrip("/")


def connect(uri, db=None):
    import os
    host, port, user, path = parts(uri)
    try:
        c = MySQLdb.connect(host=host, port=port, user=user, passwd=os.environ.get("MYSQL_PWD", ""),
                            db=db if db is not None else path, autocommit=True, charset="utf8mb4")
    except MySQLdb.OperationalError as e:
        if harness.IN_CI:
            raise
        raise unittest.SkipTest("MariaDB not reachable: %s" % e)
    return c


def q(conn, sql, args=None):
    cur = conn.cursor()
    cur.execute(sql, args)
    rows = cur.fetchall() if cur.description else None
    cur.close()
    return rows


def with_db(uri, db):
    return uri.rsplit("/", 1)[0] + "/" + db


def slave_status(replica):
    cur = replica.cursor(MySQLdb.cursors.DictCursor)
    cur.execute("SHOW SLAVE STATUS")
    row = cur.fetchone()
    cur.close()
    return row


def start_replication(primary_uri, replica_uri, db):
    """start_replication makes the replica a fresh copy of db and replicates it from the
    primary by GTID, from the primary's current position."""
    import os
    p, r = connect(primary_uri, ""), connect(replica_uri, "")
    q(r, "STOP SLAVE")
    q(r, "RESET SLAVE ALL")
    q(r, "SET GLOBAL slave_exec_mode = 'STRICT'")
    q(r, "DROP DATABASE IF EXISTS `%s`" % db)
    q(p, "DROP DATABASE IF EXISTS `%s`" % db)
    q(p, "CREATE DATABASE `%s`" % db)
    time.sleep(0.2)
    pos = q(p, "SELECT @@gtid_binlog_pos")[0][0]
    q(r, "CREATE DATABASE `%s`" % db)
    host, port, user, _ = parts(primary_uri)
    q(r, "SET GLOBAL gtid_slave_pos = %s", (pos,))
    q(r, "CHANGE MASTER TO MASTER_HOST=%s, MASTER_PORT=%s, MASTER_USER=%s, MASTER_PASSWORD=%s, "
         "MASTER_USE_GTID=slave_pos", (host, port, user, os.environ.get("MYSQL_PWD", "")))
    q(r, "START SLAVE")
    p.close()
    r.close()


def wait_caught_up(primary_uri, replica_uri, timeout=120):
    """wait_caught_up waits until the replica has applied everything the primary wrote."""
    p, r = connect(primary_uri, ""), connect(replica_uri, "")
    try:
        target = q(p, "SELECT @@gtid_binlog_pos")[0][0]
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = q(r, "SELECT MASTER_GTID_WAIT(%s, 1)", (target,))[0][0]
            if got == 0:
                return
            st = slave_status(r)
            if st and st.get("Last_SQL_Error"):
                raise AssertionError("replica stopped: %s" % st["Last_SQL_Error"])
        raise AssertionError("replica did not catch up")
    finally:
        p.close()
        r.close()
