/*
 * endpoint/mysql_write.c: the MySQL/MariaDB endpoint's side of recovery: the source's
 * replication position (a checkpoint) and the repair of a target.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/mysql_internal.h"
#include "util/log.h"
#include "util/str.h"

struct master_status {
	struct buf *position;
	bool seen;
};

static bool
read_master_status(void *ctx, MYSQL_ROW row, unsigned long *lens)
{
	struct master_status *m = ctx;
	if (row[0] == NULL || row[1] == NULL)
		return false;
	m->seen = true;
	buf_append(m->position, row[0], lens[0]);
	buf_append_char(m->position, ':');
	return buf_append(m->position, row[1], lens[1]);
}

static bool
read_gtid(void *ctx, MYSQL_ROW row, unsigned long *lens)
{
	if (row[0] && lens[0] > 0)
		buf_append(ctx, row[0], lens[0]);
	return true;
}

/*
 * my_cdc_position: the binlog file:pos a replica or a DMS cdc task starts from
 * (SHOW MASTER STATUS), and the GTID position: MariaDB's gtid_binlog_pos
 * (domain-server-sequence), MySQL's gtid_executed (uuid:interval). There are no slots.
 */
bool
my_cdc_position(struct endpoint *ep, const char *slot, struct buf *position, struct buf *gtid)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	if (slot) {
		log_error("%s: MySQL/MariaDB has no replication slots (--slot)", ep->label);
		return false;
	}
	struct master_status m = {position, false};
	if (!my_single_row(my, "SHOW MASTER STATUS", read_master_status, &m, "SHOW MASTER STATUS"))
		return false;
	if (!m.seen) {
		log_error("%s: binary logging is off, so there is no replication position", ep->label);
		log_hint("a replication source needs log_bin (and binlog_format=ROW for DMS)");
		return false;
	}
	bool mariadb = my->conn && strstr(mysql_get_server_info(my->conn), "MariaDB") != NULL;
	return my_single_row(my,
			     mariadb ? "SELECT @@GLOBAL.gtid_binlog_pos" : "SELECT @@GLOBAL.gtid_executed",
			     read_gtid, gtid, "GTID position");
}

/*
 * my_write_rows: delete the keys, then insert the rows, in one transaction. Keys are
 * bound through session variables (my_bind_keys) and values through a prepared INSERT,
 * so no value is ever pasted into SQL.
 */
bool
my_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	      const size_t *keylens, int nkeys, const struct value *const *rows, int nrows)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	struct buf q;
	buf_init(&q);
	MYSQL_STMT *st = NULL;
	MYSQL_BIND *binds = xcalloc((size_t) r->ncols + 1, sizeof(MYSQL_BIND));
	unsigned long *lens = xcalloc((size_t) r->ncols + 1, sizeof(unsigned long));
	my_bool *nulls = xcalloc((size_t) r->ncols + 1, sizeof(my_bool));
	bool ok = my_query(my, "START TRANSACTION READ WRITE", "repair");
	if (ok && nkeys > 0) {
		buf_append_str(&q, "DELETE FROM ");
		my_append_table(&q, r->table);
		buf_append_str(&q, r->nkeys > 1 ? " WHERE (" : " WHERE ");
		my_append_key_list(&q, r);
		buf_append_str(&q, r->nkeys > 1 ? ") IN (" : " IN (");
		for (int i = 0; i < nkeys; i++) {
			buf_append_str(&q, i ? ", " : "");
			if (r->nkeys > 1)
				buf_append_char(&q, '(');
			for (int k = 0; k < r->nkeys; k++)
				buf_printf(&q, "%s@cc_d_%d", k ? ", " : "", i * r->nkeys + k);
			if (r->nkeys > 1)
				buf_append_char(&q, ')');
		}
		buf_append_char(&q, ')');
		ok = my_bind_keys(my, r, "d", keys, keylens, nkeys, "repair delete") &&
		     my_query(my, buf_cstr(&q), "repair delete");
	}
	if (ok && nrows > 0) {
		buf_reset(&q);
		buf_append_str(&q, "INSERT INTO ");
		my_append_table(&q, r->table);
		buf_append_str(&q, " (");
		for (int i = 0; i < r->ncols; i++) {
			if (i)
				buf_append_str(&q, ", ");
			my_append_ident(&q, r->table->cols[r->cols[i]].name);
		}
		buf_append_str(&q, ") VALUES (");
		for (int i = 0; i < r->ncols; i++)
			buf_append_str(&q, i ? ", ?" : "?");
		buf_append_char(&q, ')');
		st = mysql_stmt_init(my->conn);
		ok = st && mysql_stmt_prepare(st, q.data, q.len) == 0;
		for (int j = 0; ok && j < nrows; j++) {
			for (int i = 0; i < r->ncols; i++) {
				const struct value *v = &rows[j][i];
				bool binary = r->table->cols[r->cols[i]].type == CANON_BINARY;
				nulls[i] = v->null;
				lens[i] = (unsigned long) v->len;
				binds[i].buffer_type = binary ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
				binds[i].buffer = (void *) (uintptr_t) (v->null ? "" : v->data);
				binds[i].buffer_length = lens[i];
				binds[i].length = &lens[i];
				binds[i].is_null = &nulls[i];
			}
			ok = mysql_stmt_bind_param(st, binds) == 0 && mysql_stmt_execute(st) == 0;
		}
		if (!ok) {
			if (st)
				log_error("%s: repair insert: %s (errno %u)", ep->label, mysql_stmt_error(st),
					  mysql_stmt_errno(st));
			else
				my_log_error(my, "repair insert");
		}
	}
	if (st)
		mysql_stmt_close(st);
	ok = ok && my_query(my, "COMMIT", "repair commit");
	if (!ok && my->conn)
		mysql_query(my->conn, "ROLLBACK");
	free(binds);
	free(lens);
	free(nulls);
	buf_free(&q);
	return ok;
}
