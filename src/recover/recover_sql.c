/*
 * recover/recover_sql.c: SQL repair of a target from the source's current rows.
 *
 * For each batch of failing keys: delete those keys on the target, then insert the
 * source's current rows for them, in one transaction. Delete-then-insert is idempotent
 * (run it twice, same result), needs no unique constraint on the target, and handles all
 * three kinds at once: a key gone from the source is simply not re-inserted.
 *
 * Values are written in a form the target reads whatever the source engine printed:
 * timestamps as UTC text (the file pins the session to UTC), booleans as the target
 * spells them, binary as hex literals.
 */
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "recover/recover_internal.h"
#include "util/log.h"
#include "util/str.h"

enum sql_dialect
dialect_of(const char *uri)
{
	return strncmp(uri, "mysql", 5) == 0 || strncmp(uri, "mariadb", 7) == 0 ? DIALECT_MYSQL
										 : DIALECT_POSTGRESQL;
}

void
sql_ident(struct buf *b, enum sql_dialect d, const char *name)
{
	char q = d == DIALECT_MYSQL ? '`' : '"';
	buf_append_char(b, q);
	for (const char *p = name; *p; p++) {
		if (*p == q)
			buf_append_char(b, q);
		buf_append_char(b, *p);
	}
	buf_append_char(b, q);
}

void
sql_literal(struct buf *b, enum sql_dialect d, const char *v, size_t len, bool binary)
{
	static const char hex[] = "0123456789abcdef";
	if (binary) {
		buf_append_str(b, d == DIALECT_MYSQL ? "X'" : "'\\x");
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char) v[i];
			char h[2] = {hex[c >> 4], hex[c & 15]};
			buf_append(b, h, 2);
		}
		buf_append_char(b, '\'');
		return;
	}
	buf_append_char(b, '\'');
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (c == '\'')
			buf_append_str(b, "''");
		else if (d == DIALECT_MYSQL && c == '\\')
			buf_append_str(b, "\\\\");
		else if (d == DIALECT_MYSQL && c == '\0')
			buf_append_str(b, "\\0");
		else
			buf_append_char(b, c);
	}
	buf_append_char(b, '\'');
}

/*
 * recover_value_text: the text of a source value as the target should receive it, for a
 * column of compare type t. Appends to out; false if the value cannot be read.
 */
bool
recover_value_text(enum canon_type t, enum sql_dialect d, const struct value *v, struct buf *out)
{
	const char *err;
	struct canon_opts o = canon_opts_default();
	size_t start = out->len;
	switch (t) {
	case CANON_TIMESTAMP:
		if (!canon_encode(CANON_TIMESTAMP, &o, v->data, v->len, out, &err))
			return false;
		/* 2024-01-02T03:04:05.000000Z -> 2024-01-02 03:04:05.000000 (UTC session) */
		if (out->len > start + 10 && out->data[start + 10] == 'T')
			out->data[start + 10] = ' ';
		if (out->len > start && out->data[out->len - 1] == 'Z')
			out->data[--out->len] = '\0';
		return true;
	case CANON_BOOL:
		if (!canon_encode(CANON_BOOL, &o, v->data, v->len, out, &err))
			return false;
		if (d == DIALECT_MYSQL) {
			bool yes = out->data[start] == 't';
			out->len = start;
			buf_append_char(out, yes ? '1' : '0');
		}
		return true;
	default:
		return buf_append(out, v->data, v->len);
	}
}

struct sql_batch {
	struct table_plan *tp;
	enum sql_dialect d;
	struct buf *out;
	struct buf val;
	int rows;
	bool bad;
};

static void
target_table(struct buf *b, enum sql_dialect d, const struct table_plan *tp)
{
	if (tp->tgt.schema && tp->tgt.schema[0]) {
		sql_ident(b, d, tp->tgt.schema);
		buf_append_char(b, '.');
	}
	sql_ident(b, d, tp->tgt.name);
}

static bool
add_insert_row(void *ctx, const struct value *vals)
{
	struct sql_batch *s = ctx;
	const struct table_plan *tp = s->tp;
	buf_append_str(s->out, s->rows++ ? ",\n  (" : "  (");
	for (int i = 0; i < tp->ncols; i++) {
		if (i)
			buf_append_str(s->out, ", ");
		if (vals[i].null) {
			buf_append_str(s->out, "NULL");
			continue;
		}
		buf_reset(&s->val);
		if (!recover_value_text(tp->cols[i].type, s->d, &vals[i], &s->val)) {
			log_error("%s: column %s: a source value cannot be written to the target",
				  tp->name, tp->cols[i].name);
			s->bad = true;
			return false;
		}
		sql_literal(s->out, s->d, s->val.data ? s->val.data : "", s->val.len,
			    tp->cols[i].type == CANON_BINARY);
	}
	buf_append_char(s->out, ')');
	return true;
}

/* append_key_match writes (k1, k2) IN ((v, v), ...) for a batch of canonical keys. */
static void
append_key_match(struct buf *b, enum sql_dialect d, const struct table_plan *tp,
		 const struct failing_key *keys, int n)
{
	buf_append_char(b, '(');
	for (int k = 0; k < tp->nkeys; k++) {
		if (k)
			buf_append_str(b, ", ");
		sql_ident(b, d, tp->tgt.cols[tp->tgt_key[k]].name);
	}
	buf_append_str(b, ") IN (");
	for (int i = 0; i < n; i++) {
		const char *vals[16];
		size_t lens[16];
		int types[16];
		int nv = key_values(keys[i].key, keys[i].keylen, vals, lens, types, 16);
		buf_append_str(b, i ? ", (" : "(");
		for (int k = 0; k < nv; k++) {
			if (k)
				buf_append_str(b, ", ");
			sql_literal(b, d, vals[k], lens[k], types[k] == CANON_BINARY);
		}
		buf_append_char(b, ')');
	}
	buf_append_char(b, ')');
}

bool
recover_sql(struct recover_job *j, const char *file)
{
	struct audit_options ao;
	struct audit_session *s = NULL;
	bool ok = recover_open_session(j, false, &ao, &s);
	enum sql_dialect d = dialect_of(ao.target_uri ? ao.target_uri : j->run_target);
	struct buf out;
	buf_init(&out);
	int batch = j->o->batch > 0 ? j->o->batch : 100;
	buf_printf(&out, "-- crosscheck repair of run %lld: delete the failing keys on the target, "
			 "then insert the source's current rows.\n-- Idempotent: running it again "
			 "gives the same target.\n",
		   (long long) j->o->run);
	buf_append_str(&out, d == DIALECT_MYSQL ? "SET time_zone = '+00:00';\n"
						: "SET TimeZone = 'UTC';\nSET standard_conforming_strings = on;\n");
	for (int t = 0; ok && t < j->ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j->tables[t].name);
		if (tp == NULL) {
			log_error("recover: table %s of run %lld is not in its recorded options",
				  j->tables[t].name, (long long) j->o->run);
			ok = false;
			break;
		}
		for (int i = 0; ok && i < j->tables[t].n; i += batch) {
			int n = j->tables[t].n - i < batch ? j->tables[t].n - i : batch;
			const struct failing_key *keys = j->tables[t].keys + i;
			const char **kp = xcalloc((size_t) n, sizeof(char *));
			size_t *kl = xcalloc((size_t) n, sizeof(size_t));
			for (int k = 0; k < n; k++) {
				kp[k] = keys[k].key;
				kl[k] = keys[k].keylen;
			}
			buf_append_str(&out, d == DIALECT_MYSQL ? "\nSTART TRANSACTION;\n" : "\nBEGIN;\n");
			buf_append_str(&out, "DELETE FROM ");
			target_table(&out, d, tp);
			buf_append_str(&out, " WHERE ");
			append_key_match(&out, d, tp, keys, n);
			buf_append_str(&out, ";\n");
			struct buf ins;
			buf_init(&ins);
			struct sql_batch sb = {tp, d, &ins, {0}, 0, false};
			buf_init(&sb.val);
			ok = audit_session_fetch(s, tp, 0, kp, kl, n, add_insert_row, &sb) && !sb.bad;
			if (ok && sb.rows > 0) {
				buf_append_str(&out, "INSERT INTO ");
				target_table(&out, d, tp);
				buf_append_str(&out, " (");
				for (int c = 0; c < tp->ncols; c++) {
					if (c)
						buf_append_str(&out, ", ");
					sql_ident(&out, d, tp->tgt.cols[tp->tgt_cols[c]].name);
				}
				buf_append_str(&out, ") VALUES\n");
				buf_append(&out, ins.data, ins.len);
				buf_append_str(&out, ";\n");
			}
			buf_append_str(&out, "COMMIT;\n");
			buf_free(&ins);
			buf_free(&sb.val);
			free(kp);
			free(kl);
		}
	}
	if (ok && out.failed) {
		log_error("recover: the repair file is too large for memory; use a smaller run");
		ok = false;
	}
	if (ok)
		ok = recover_write_file(j, file, out.data, out.len);
	if (ok && strcmp(file, "repair.sql") == 0)
		buf_printf(&j->runbook,
			   "## Steps\n\n1. Review `repair.sql` (it changes only the failing keys).\n"
			   "2. Apply it to the target:\n   %s\n"
			   "3. Verify with a new audit (the same command line as run %lld), or let "
			   "crosscheck apply and verify in one step:\n"
			   "   `crosscheck repair --run %lld --apply`\n",
			   d == DIALECT_MYSQL ? "`mariadb --host ... --user ... DATABASE < repair.sql`"
					      : "`psql \"TARGET_URI\" -v ON_ERROR_STOP=1 -f repair.sql`",
			   (long long) j->o->run, (long long) j->o->run);
	buf_free(&out);
	audit_session_close(s);
	audit_options_free(&ao);
	return ok;
}

/*
 * recover_sql_cleanup writes DELETEs of the keys a backfill cannot fix by inserting: rows
 * that differ (a full load with DO_NOTHING, or a snapshot, will not overwrite them) and
 * rows that exist only on the target. Run before the backfill.
 */
bool
recover_sql_cleanup(struct recover_job *j, struct audit_session *s, const char *file, int *nkeys)
{
	enum sql_dialect d = dialect_of(s->o->target_uri);
	struct buf out;
	buf_init(&out);
	*nkeys = 0;
	buf_printf(&out, "-- crosscheck run %lld: target rows to remove before the backfill\n"
			 "-- (they differ from the source, or exist only on the target)\n",
		   (long long) j->o->run);
	for (int t = 0; t < j->ntables; t++) {
		struct table_plan *tp = audit_session_table(s, j->tables[t].name);
		if (tp == NULL)
			continue;
		for (int i = 0; i < j->tables[t].n; i++) {
			const struct failing_key *k = &j->tables[t].keys[i];
			if (strcmp(k->kind, "MISSING_TARGET") == 0)
				continue;
			buf_append_str(&out, "DELETE FROM ");
			target_table(&out, d, tp);
			buf_append_str(&out, " WHERE ");
			append_key_match(&out, d, tp, k, 1);
			buf_append_str(&out, ";\n");
			(*nkeys)++;
		}
	}
	bool ok = *nkeys == 0 || recover_write_file(j, file, out.data, out.len);
	buf_free(&out);
	return ok;
}

/* Rows copied out of a fetch (values are borrowed only during the callback). */


bool
row_set_add(void *ctx, const struct value *vals)
{
	struct row_set *rs = ctx;
	int nc = rs->tp->ncols;
	struct value *row = xcalloc((size_t) nc, sizeof(struct value));
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < nc; i++) {
		row[i].null = vals[i].null;
		if (vals[i].null)
			continue;
		buf_reset(&b);
		/* timestamps and booleans as the target reads them, whatever the source printed */
		if (!recover_value_text(rs->tp->cols[i].type, rs->d, &vals[i], &b)) {
			log_error("%s: column %s: a source value cannot be written to the target",
				  rs->tp->name, rs->tp->cols[i].name);
			rs->bad = true;
		}
		row[i].len = b.len;
		char *copy = xmalloc(b.len + 1);
		memcpy(copy, b.data ? b.data : "", b.len);
		copy[b.len] = '\0';
		row[i].data = copy;
	}
	buf_free(&b);
	rs->rows = xrealloc(rs->rows, (size_t) (rs->n + 1) * sizeof(*rs->rows));
	rs->rows[rs->n++] = row;
	return !rs->bad;
}

void
row_set_free(struct row_set *rs)
{
	for (int r = 0; r < rs->n; r++) {
		for (int i = 0; i < rs->tp->ncols; i++)
			if (!rs->rows[r][i].null)
				free((void *) (uintptr_t) rs->rows[r][i].data);
		free(rs->rows[r]);
	}
	free(rs->rows);
	rs->rows = NULL;
	rs->n = 0;
}
