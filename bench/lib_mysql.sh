# bench/lib_mysql.sh: sourced by the benchmarks that read a MariaDB table.
# shellcheck shell=bash
#
#   MY=(mariadb ...)           the client, connected as CROSSCHECK_MYSQL_URI says (the
#                              password is MYSQL_PWD, from `ci/servers env`)
#   my_load_table DB TABLE ROWS
#                              (re)creates DB.TABLE with ROWS generated rows of 8 mixed
#                              columns: bigint key, int, decimal (NULL in 1 row of 97),
#                              double, varchar, datetime(6), tinyint(1), char(36) uuid.
#                              bench_mysql_pg.sh builds the same values on PostgreSQL with
#                              generate_series; keep the two in step.
my_hostport=${CROSSCHECK_MYSQL_URI#*://}
my_user=${my_hostport%%@*}
my_hostport=${my_hostport#*@}
my_hostport=${my_hostport%%/*}
MY=(mariadb --protocol=tcp -h "${my_hostport%:*}" -P "${my_hostport##*:}" -u "$my_user")

my_load_table() {
	# sql_log_bin = 0: the load is not written to the binlog, so the replica on the other
	# MariaDB port (other engineers' tests) does not replay a million rows
	"${MY[@]}" <<SQL
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS $1;
USE $1;
DROP TABLE IF EXISTS $2;
CREATE TABLE $2 (
  id      BIGINT NOT NULL PRIMARY KEY,
  account INT NOT NULL,
  amount  DECIMAL(14,2),
  rate    DOUBLE,
  label   VARCHAR(40) NOT NULL,
  created DATETIME(6),
  flag    TINYINT(1),
  ref     CHAR(36)
) ENGINE=InnoDB;
INSERT INTO $2
SELECT seq, seq % 100000,
       IF(seq % 97 = 0, NULL, (seq % 100000) * 1.01),
       CAST(seq AS DOUBLE) / 7,
       CONCAT('label-', seq),
       TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND
         + INTERVAL (seq * 7 % 1000000) MICROSECOND,
       seq % 2 = 0,
       CONCAT_WS('-', SUBSTR(MD5(seq), 1, 8), SUBSTR(MD5(seq), 9, 4), SUBSTR(MD5(seq), 13, 4),
                 SUBSTR(MD5(seq), 17, 4), SUBSTR(MD5(seq), 21, 12))
  FROM seq_1_to_$3;
ANALYZE TABLE $2;
SQL
}

# my_count DB TABLE: its row count, or "none"
my_count() { "${MY[@]}" -N -e "SELECT COUNT(*) FROM $1.$2" 2>/dev/null || echo none; }
