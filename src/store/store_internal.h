/*
 * store/store_internal.h: the access layer shared by the store's files.
 */
#ifndef CROSSCHECK_STORE_STORE_INTERNAL_H
#define CROSSCHECK_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"

struct store {
	sqlite3 *db;
	char *path;
	pthread_mutex_t mu;
};

enum param_type { P_END = 0, P_INT, P_REAL, P_TEXT, P_BLOB, P_NULL };

/* A named, typed parameter: {":run", P_INT, .i = 3}. Lists end with {NULL}. */
struct param {
	const char *name;
	enum param_type type;
	int64_t i;
	double d;
	const char *s;	  /* P_TEXT (NULL binds NULL), P_BLOB */
	size_t len;	  /* P_BLOB */
};

#define PI(n, v) ((struct param){.name = (n), .type = P_INT, .i = (v)})
#define PR(n, v) ((struct param){.name = (n), .type = P_REAL, .d = (v)})
#define PT(n, v) ((struct param){.name = (n), .type = P_TEXT, .s = (v)})
#define PB(n, v, l) ((struct param){.name = (n), .type = P_BLOB, .s = (v), .len = (l)})
#define PEND ((struct param){.name = NULL})

typedef bool (*sql_row_fn)(void *ctx, sqlite3_stmt *stmt);

/*
 * store_sql prepares, binds, steps (calling fn per row, if given) and finalizes one
 * statement. The caller holds the store's mutex. Logs the error with the statement.
 */
bool store_sql(struct store *s, const char *sql, const struct param *params, sql_row_fn fn,
	       void *ctx);
bool store_exec(struct store *s, const char *sql);
const char *store_col_text(sqlite3_stmt *st, int i);

/*
 * Every query that lists failures selects FAILURE_COLUMNS (optionally qualified, see
 * FAILURE_COLUMNS_OF) and hands its rows to store_failure_row with a
 * struct store_failure_ctx: one place maps a row to struct failure_row.
 */
#define FAILURE_COLUMNS_OF(t)                                                              \
	t "id, " t "run_id, " t "table_name, " t "key_json, " t "key, " t "kind, " t "columns, " \
	t "state, " t "attempts, " t "first_seen, " t "last_seen, " t "deferred, " t "origin"
#define FAILURE_COLUMNS FAILURE_COLUMNS_OF("")

struct store_failure_ctx {
	failure_fn fn;
	void *ctx;
};

bool store_failure_row(void *ctx, sqlite3_stmt *st);

#endif
