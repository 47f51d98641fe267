/*
 * recover/recover_internal.h: what the writers share.
 */
#ifndef CROSSCHECK_RECOVER_RECOVER_INTERNAL_H
#define CROSSCHECK_RECOVER_RECOVER_INTERNAL_H

#include <stdio.h>

#include "audit/session.h"
#include "recover/recover.h"
#include "util/buf.h"

/* One failing key of a table. */
struct failing_key {
	int64_t id;	   /* failures.id */
	char *key;	   /* canonical key bytes */
	size_t keylen;
	char *key_json;
	char kind[16];	   /* MISSING_TARGET | MISSING_SOURCE | RECORD_DIFF */
};

struct failing_table {
	char *name;	   /* source schema.table as recorded */
	struct failing_key *keys;
	int n;
};

struct checkpoint_choice {
	int64_t id;
	char engine[32];
	char position[512];
	char gtid[2048];
	char taken_at[40];
	char source[1024];
	int64_t verified_by;
	bool found;
};

/* Everything a writer needs, assembled by recover_write. */
struct recover_job {
	const struct recover_options *o;
	struct store *st;
	char run_source[1024], run_target[1024]; /* redacted URIs of the run */
	char *options_json;
	struct failing_table *tables;
	int ntables;
	int64_t nkeys;
	struct checkpoint_choice cp;
	char *dir;	   /* the temporary folder being written */
	struct buf runbook;
};

bool recover_gather_job(struct recover_job *j);
void recover_job_free(struct recover_job *j);
bool recover_write_file(struct recover_job *j, const char *name, const char *text, size_t len);
/* recover_open_session rebuilds the run's compare plans (for formats that read rows). */
bool recover_open_session(struct recover_job *j, bool writable, struct audit_options *ao,
			  struct audit_session **s);
/* key_values decodes a canonical key into its column values (display text). */
int key_values(const char *key, size_t keylen, const char **vals, size_t *lens, int *types, int max);

bool recover_dms(struct recover_job *j);
bool recover_mysql_replica(struct recover_job *j);
bool recover_debezium(struct recover_job *j);
bool recover_sql(struct recover_job *j, const char *file);
/* recover_bulk writes repair.ndjson for an OpenSearch target (recover_bulk.c) */
bool recover_bulk(struct recover_job *j);
/* recover_s3 writes a change file for an S3 target in the DMS layout (recover_s3.c) */
bool recover_s3(struct recover_job *j);

/* SQL text helpers (recover_sql.c) for the target's dialect */
enum sql_dialect { DIALECT_POSTGRESQL, DIALECT_MYSQL };
enum sql_dialect dialect_of(const char *uri);
void sql_ident(struct buf *b, enum sql_dialect d, const char *name);
void sql_literal(struct buf *b, enum sql_dialect d, const char *v, size_t len, bool binary);
bool recover_sql_cleanup(struct recover_job *j, struct audit_session *s, const char *file,
			 int *nkeys);
/* The source's rows of a batch, converted for the target by recover_value_text and
 * copied (fetched values are borrowed only during the callback): repair and bulk. */
struct row_set {
	const struct table_plan *tp;
	enum sql_dialect d;
	struct value **rows;
	int n;
	bool bad;
};

/* row_set_add is a row_fn for audit_session_fetch; row_set_free frees what it kept. */
bool row_set_add(void *ctx, const struct value *vals);
void row_set_free(struct row_set *rs);
bool recover_value_text(enum canon_type t, enum sql_dialect d, const struct value *v,
			struct buf *out);

#endif
