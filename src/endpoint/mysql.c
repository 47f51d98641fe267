/*
 * endpoint/mysql.c: the MySQL/MariaDB endpoint (mariadb-connector-c): connection,
 * session, binding, and the operations table. The SQL of reads and the row stream are
 * in mysql_read.c, the catalog and the type matrix in mysql_catalog.c.
 *
 * The session is pinned so that the text of every value is what core/canon.c expects:
 * utf8mb4, time_zone '+00:00' (TIMESTAMP values come out in UTC and are delivered with a
 * "Z"; DATETIME stays zone-less), REPEATABLE READ and READ ONLY, a statement timeout
 * (max_statement_time on MariaDB, max_execution_time on MySQL) and a long
 * net_write_timeout, because a partition's reader may wait on the other side's reader.
 * Each read runs in START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY.
 *
 * Rows stream with mysql_use_result over the text protocol: the server's own text of a
 * DECIMAL, DOUBLE or DATETIME(6) is exact, where the binary protocol would hand us C
 * values for the client library to re-print. Values are still never pasted into SQL:
 * partition bounds and key lists are bound as parameters of one prepared statement
 * (mysql_stmt_*) that assigns them to session variables (SET @cc_lo_0 = CAST(? AS ...)),
 * and the streamed query reads those variables. The CAST gives each variable the type
 * of its key column, so an integer bound is compared as a decimal (never through a
 * double) and the range optimizer still uses the key's index.
 *
 * Text keys are ordered and bounded by their UTF-8 bytes whatever the collation
 * (CAST(CONVERT(col USING utf8mb4) AS BINARY)), so that 'a', 'A' and 'B' sort as in the
 * canonical key order; such a key cannot use its index for the order, which costs a
 * sort per partition but never a wrong result.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <errmsg.h>

#include "endpoint/mysql_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

/* --- errors ------------------------------------------------------------------------- */

void
my_log_error(struct my_endpoint *my, const char *context)
{
	if (my->conn == NULL) {
		log_error("%s: %s: the connection to %s was lost and could not be reopened",
			  my->base.label, context, my->base.shown_uri);
		return;
	}
	my->last_errno = mysql_errno(my->conn);
	snprintf(my->sqlstate, sizeof(my->sqlstate), "%s", mysql_sqlstate(my->conn));
	const char *msg = mysql_error(my->conn);
	log_error("%s: %s: %s (errno %u, SQLSTATE %s)", my->base.label, context,
		  msg && *msg ? msg : "unknown error", my->last_errno, my->sqlstate);
	if (my->last_errno == 1969 || my->last_errno == 3024)
		log_hint("the query ran longer than --statement-timeout");
}

bool
my_query(struct my_endpoint *my, const char *sql, const char *context)
{
	if (my->conn == NULL || mysql_real_query(my->conn, sql, strlen(sql)) != 0) {
		my_log_error(my, context);
		return false;
	}
	/* a statement without a result set leaves nothing to drain */
	MYSQL_RES *res = mysql_store_result(my->conn);
	mysql_free_result(res);
	return true;
}

/* --- connection --------------------------------------------------------------------- */

static pthread_once_t library_once = PTHREAD_ONCE_INIT;

/* mysql_library_init is not thread-safe: run it once, before any worker connects. */
static void
library_init(void)
{
	mysql_library_init(0, NULL, NULL);
}

static const struct endpoint_ops my_ops;

/* The URI parameters understood here; '_' may be written for '-'. */
static const char *known_params[] = {"ssl-mode", "ssl-ca", "ssl-capath", "ssl-cert", "ssl-key",
				     "ssl-cipher", "ssl-crl", "ssl-crlpath", "socket",
				     "defaults-file"};

/* param_name normalizes "ssl_ca" to "ssl-ca" into out; false if unknown. */
static bool
param_name(const char *key, char out[32])
{
	snprintf(out, 32, "%s", key);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
	for (size_t i = 0; i < sizeof(known_params) / sizeof(known_params[0]); i++)
		if (strcasecmp(out, known_params[i]) == 0) {
			snprintf(out, 32, "%s", known_params[i]);
			return true;
		}
	return false;
}

static const char *
get_param(const struct uri *u, const char *name)
{
	char n[32];
	for (int i = 0; i < u->nparams; i++)
		if (param_name(u->params[i].key, n) && strcmp(n, name) == 0)
			return u->params[i].value;
	return NULL;
}

/*
 * set_tls maps ssl-mode and the ssl-* files onto the connector's options. The
 * connector verifies the server certificate and its host name together, so VERIFY_CA
 * and VERIFY_IDENTITY both ask for both.
 */
static bool
set_tls(struct my_endpoint *my, const struct uri *u, bool *required)
{
	static const struct {
		const char *param;
		enum mysql_option opt;
	} files[] = {
		{"ssl-ca", MYSQL_OPT_SSL_CA},	    {"ssl-capath", MYSQL_OPT_SSL_CAPATH},
		{"ssl-cert", MYSQL_OPT_SSL_CERT},   {"ssl-key", MYSQL_OPT_SSL_KEY},
		{"ssl-cipher", MYSQL_OPT_SSL_CIPHER}, {"ssl-crl", MYSQL_OPT_SSL_CRL},
		{"ssl-crlpath", MYSQL_OPT_SSL_CRLPATH},
	};
	const char *mode = get_param(u, "ssl-mode");
	bool any_file = false;
	*required = false;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		any_file |= get_param(u, files[i].param) != NULL;
	if (mode && strcasecmp(mode, "DISABLED") == 0) {
		if (any_file) {
			log_error("%s: ssl-mode=DISABLED contradicts the ssl-* files in %s",
				  my->base.label, my->base.shown_uri);
			return false;
		}
		return true;
	}
	bool enforce = false, verify = false;
	if (mode == NULL || strcasecmp(mode, "PREFERRED") == 0) {
		/* the connector's default: TLS when files are given */
	} else if (strcasecmp(mode, "REQUIRED") == 0) {
		enforce = true;
	} else if (strcasecmp(mode, "VERIFY_CA") == 0 || strcasecmp(mode, "VERIFY_IDENTITY") == 0) {
		enforce = verify = true;
	} else {
		log_error("%s: unknown ssl-mode \"%s\" in %s", my->base.label, mode, my->base.shown_uri);
		log_hint("ssl-mode is DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY");
		return false;
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		const char *v = get_param(u, files[i].param);
		if (v && mysql_optionsv(my->conn, files[i].opt, v) != 0)
			return false;
	}
	my_bool on = 1;
	if (enforce && mysql_optionsv(my->conn, MYSQL_OPT_SSL_ENFORCE, &on) != 0)
		return false;
	if (verify && mysql_optionsv(my->conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on) != 0)
		return false;
	*required = enforce;
	return true;
}

/*
 * session_setup pins every setting that changes the text of a value or the safety of
 * a read; see the file header.
 */
static bool
session_setup(struct my_endpoint *my)
{
	if (mysql_set_character_set(my->conn, "utf8mb4") != 0) {
		my_log_error(my, "session setup");
		return false;
	}
	my->mariadb = mariadb_connection(my->conn);
	int timeout_ms = my->opts.statement_timeout_ms;
	int write_timeout = timeout_ms / 1000 + 60 > 600 ? timeout_ms / 1000 + 60 : 600;
	struct buf sql;
	buf_init(&sql);
	buf_printf(&sql, "SET SESSION time_zone = '+00:00', SESSION net_write_timeout = %d",
		   write_timeout);
	if (timeout_ms > 0 && my->mariadb)
		buf_printf(&sql, ", SESSION max_statement_time = %d.%03d", timeout_ms / 1000,
			   timeout_ms % 1000);
	else if (timeout_ms > 0)
		buf_printf(&sql, ", SESSION max_execution_time = %d", timeout_ms);
	bool ok = my_query(my, buf_cstr(&sql), "session setup");
	buf_reset(&sql);
	buf_printf(&sql, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ, %s",
		   my->opts.read_write ? "READ WRITE" : "READ ONLY");
	ok = ok && my_query(my, buf_cstr(&sql), "session setup");
	buf_free(&sql);
	return ok;
}

/*
 * my_connect opens (or reopens) the connection from the stored URI. The password comes
 * from the URI (discouraged; the CLI warns), else MYSQL_PWD, else the [client] group of
 * the option files (~/.my.cnf), which the connector reads itself.
 */
static bool
my_connect(struct my_endpoint *my)
{
	struct uri u;
	bool ok = false;
	if (!uri_parse(my->uri, &u))
		return false;
	my->conn = mysql_init(NULL);
	if (my->conn == NULL) {
		log_error("%s: out of memory", my->base.label);
		goto cleanup;
	}
	unsigned timeout = my->opts.connect_timeout_s > 0 ? (unsigned) my->opts.connect_timeout_s : 10;
	const char *defaults_file = get_param(&u, "defaults-file");
	mysql_optionsv(my->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	if (my->opts.statement_timeout_ms > 0) {
		/* a server that vanishes without closing the socket must not hang a read
		 * forever; the server ends a slow statement itself before this fires */
		unsigned read_timeout = (unsigned) (my->opts.statement_timeout_ms / 1000) + 60;
		mysql_optionsv(my->conn, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
	}
	if (defaults_file)
		mysql_optionsv(my->conn, MYSQL_READ_DEFAULT_FILE, defaults_file);
	mysql_optionsv(my->conn, MYSQL_READ_DEFAULT_GROUP, "client");
	mysql_optionsv(my->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	bool tls_required = false;
	if (!set_tls(my, &u, &tls_required))
		goto cleanup;
	/* a check file's password (named by an environment variable) wins */
	const char *password = my->opts.password ? my->opts.password : u.password;
	const char *env = getenv("MYSQL_PWD");
	if (password == NULL && env && *env)
		password = env;
	if (mysql_real_connect(my->conn, u.host, u.user, password, *u.path ? u.path : NULL,
			       (unsigned) u.port, get_param(&u, "socket"), 0) == NULL) {
		unsigned err = mysql_errno(my->conn);
		log_error("%s: cannot connect to %s: %s (errno %u)", my->base.label, my->base.shown_uri,
			  mysql_error(my->conn), err);
		if (err == 1045 || err == 1698)
			log_hint("give the password in MYSQL_PWD or in ~/.my.cnf [client], not on the "
				 "command line");
		else if (err == CR_CONN_HOST_ERROR || err == CR_CONNECTION_ERROR ||
			 err == CR_UNKNOWN_HOST)
			log_hint("check the host and port, and that the server accepts TCP connections");
		goto cleanup;
	}
	/* the connector may fall back to plain text when the server offers no TLS: a
	 * required encryption is checked here, not assumed */
	if (tls_required && mysql_get_ssl_cipher(my->conn) == NULL) {
		log_error("%s: the connection to %s is not encrypted, and ssl-mode asks for TLS",
			  my->base.label, my->base.shown_uri);
		log_hint("enable TLS on the server (ssl_cert, ssl_key) or lower ssl-mode");
		goto cleanup;
	}
	ok = session_setup(my);

cleanup:
	if (!ok && my->conn) {
		mysql_close(my->conn);
		my->conn = NULL;
	}
	uri_free(&u);
	return ok;
}

bool
mysql_endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out)
{
	pthread_once(&library_once, library_init);
	struct my_endpoint *my = xcalloc(1, sizeof(*my));
	endpoint_base_init(&my->base, &my_ops, uri, opts);
	my->uri = xstrdup(uri);
	my->opts = *opts;
	my->opts.label = NULL; /* borrowed from the caller; base.label is our copy */
	*out = NULL;

	struct uri u;
	bool parsed = uri_parse(uri, &u), ok = parsed;
	for (int i = 0; ok && i < u.nparams; i++) {
		char n[32];
		if (!param_name(u.params[i].key, n)) {
			log_error("%s: unknown parameter \"%s\" in %s", my->base.label, u.params[i].key,
				  my->base.shown_uri);
			log_hint("MySQL URIs take ssl-mode, ssl-ca, ssl-capath, ssl-cert, ssl-key, "
				 "ssl-cipher, ssl-crl, ssl-crlpath, socket and defaults-file");
			ok = false;
		}
	}
	if (parsed)
		uri_free(&u);
	if (ok && my_connect(my)) {
		*out = &my->base;
		return true;
	}
	endpoint_base_free(&my->base);
	free(my->uri);
	free(my);
	return false;
}

static void
my_close(struct endpoint *ep)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	if (my->conn)
		mysql_close(my->conn);
	endpoint_base_free(&my->base);
	free(my->uri);
	free(my);
}

/*
 * my_abandon_stream drops a result that the caller stopped reading: draining it could mean
 * reading the rest of a table, so the connection is cut and opened again instead.
 */
void
my_abandon_stream(struct my_endpoint *my, MYSQL_RES *res)
{
	mariadb_cancel(my->conn);
	mysql_free_result(res);
	mysql_close(my->conn);
	my->conn = NULL;
	if (!my_connect(my))
		log_warn("%s: could not reconnect after an abandoned read", my->base.label);
}

/* --- binding ------------------------------------------------------------------------ */

/*
 * my_bind_vars assigns n values to @cc_<prefix>_<i> with one prepared statement, each
 * through CAST(? AS casts[i]). Values are sent as parameters, never as SQL text.
 */
bool
my_bind_vars(struct my_endpoint *my, const char *prefix, const char *const *vals,
	     const size_t *lens, const bool *is_binary, int n, const char *const *casts,
	     const char *context)
{
	if (n == 0)
		return true;
	if (my->conn == NULL) {
		my_log_error(my, context);
		return false;
	}
	struct buf sql;
	buf_init(&sql);
	buf_append_str(&sql, "SET ");
	for (int i = 0; i < n; i++)
		buf_printf(&sql, "%s@cc_%s_%d = CAST(? AS %s)", i ? ", " : "", prefix, i, casts[i]);
	MYSQL_BIND *binds = xcalloc((size_t) n, sizeof(MYSQL_BIND));
	unsigned long *blens = xcalloc((size_t) n, sizeof(unsigned long));
	for (int i = 0; i < n; i++) {
		blens[i] = (unsigned long) lens[i];
		binds[i].buffer_type = is_binary && is_binary[i] ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
		binds[i].buffer = (void *) (uintptr_t) (vals[i] ? vals[i] : "");
		binds[i].buffer_length = blens[i];
		binds[i].length = &blens[i];
	}
	bool ok = false;
	MYSQL_STMT *st = mysql_stmt_init(my->conn);
	if (st == NULL) {
		my_log_error(my, context);
	} else if (mysql_stmt_prepare(st, sql.data, sql.len) != 0 || mysql_stmt_bind_param(st, binds) ||
		   mysql_stmt_execute(st) != 0) {
		log_error("%s: %s: %s (errno %u, SQLSTATE %s)", my->base.label, context,
			  mysql_stmt_error(st), mysql_stmt_errno(st), mysql_stmt_sqlstate(st));
		my->last_errno = mysql_stmt_errno(st);
	} else {
		ok = true;
	}
	if (st)
		mysql_stmt_close(st);
	free(binds);
	free(blens);
	buf_free(&sql);
	return ok;
}

/*
 * bound_value turns one canonical key value into the parameter text of its type and
 * the CAST that gives the session variable that type. Text and binary keys become
 * binary strings, because they are compared by bytes.
 */
static const char *
bound_value(enum canon_type t, const char *v, size_t len, struct buf *out, bool *binary)
{
	*binary = false;
	switch (t) {
	case CANON_NUMBER:
		buf_append(out, v, len);
		return "DECIMAL(65,30)";
	case CANON_FLOAT:
		buf_append(out, v, len);
		return "DOUBLE";
	case CANON_BOOL:
		buf_append_char(out, len == 4 && memcmp(v, "true", 4) == 0 ? '1' : '0');
		return "SIGNED";
	case CANON_DATE:
		buf_append(out, v, len);
		return "DATE";
	case CANON_TIME:
		buf_append(out, v, len);
		return "TIME(6)";
	case CANON_TIMESTAMP:
		/* "2024-01-02T03:04:05.000000Z" -> "2024-01-02 03:04:05.000000" */
		for (size_t i = 0; i < len; i++)
			if (v[i] != 'Z')
				buf_append_char(out, v[i] == 'T' ? ' ' : v[i]);
		return "DATETIME(6)";
	case CANON_BINARY:
		*binary = true;
		buf_append(out, v, len);
		return "BINARY";
	default:
		buf_append(out, v, len);
		return "BINARY";
	}
}

/* my_bind_keys binds nkeys canonical keys of r as @cc_<prefix>_<i*nkeys + k>. */
bool
my_bind_keys(struct my_endpoint *my, const struct scan_request *r, const char *prefix,
	  const char *const *keys, const size_t *keylens, int nkeys, const char *context)
{
	int n = nkeys * r->nkeys;
	struct buf *vals = xcalloc((size_t) n, sizeof(struct buf));
	const char **ptrs = xcalloc((size_t) n, sizeof(char *));
	const char **casts = xcalloc((size_t) n, sizeof(char *));
	size_t *lens = xcalloc((size_t) n, sizeof(size_t));
	bool *binary = xcalloc((size_t) n, sizeof(bool));
	bool ok = true;
	for (int i = 0; i < nkeys && ok; i++) {
		const char *p = keys[i], *end = keys[i] + keylens[i];
		for (int k = 0; k < r->nkeys && ok; k++) {
			enum canon_type t;
			const char *v;
			size_t len;
			int j = i * r->nkeys + k;
			buf_init(&vals[j]);
			if (!keyframe_next(&p, end, &t, &v, &len)) {
				log_error("%s: %s: corrupt canonical key", my->base.label, context);
				ok = false;
				break;
			}
			casts[j] = bound_value(t, v, len, &vals[j], &binary[j]);
			ptrs[j] = vals[j].data;
			lens[j] = vals[j].len;
		}
	}
	ok = ok && my_bind_vars(my, prefix, ptrs, lens, binary, n, casts, context);
	for (int j = 0; j < n; j++)
		buf_free(&vals[j]);
	free(vals);
	free(ptrs);
	free(casts);
	free(lens);
	free(binary);
	return ok;
}

static bool
read_text(void *ctx, MYSQL_ROW row, unsigned long *lens)
{
	return row[0] && buf_append(ctx, row[0], lens[0]);
}

/* server_time: the source's clock for the lag window, as an instant in UTC. */
static bool
my_server_time(struct endpoint *ep, struct buf *out)
{
	return my_single_row((struct my_endpoint *) ep, "SELECT CONCAT(UTC_TIMESTAMP(6), 'Z')",
			  read_text, out, "server time");
}

/*
 * replication_lag: a replica's Seconds_Behind_Master (NULL while its threads are
 * stopped: unknown), or the user's query. A primary cannot see its replicas' lag.
 */
static bool
my_replication_lag(struct endpoint *ep, const char *query, double *seconds, bool *known)
{
	struct my_endpoint *my = (struct my_endpoint *) ep;
	*known = false;
	const char *context = query ? "--lag-query" : "replication lag";
	if (my->conn == NULL || mysql_query(my->conn, query ? query : "SHOW SLAVE STATUS") != 0) {
		my_log_error(my, context);
		return false;
	}
	MYSQL_RES *res = mysql_store_result(my->conn);
	if (res == NULL) {
		if (mysql_errno(my->conn) != 0) {
			my_log_error(my, context);
			return false;
		}
		return true;
	}
	unsigned col = 0;
	if (query == NULL) {
		MYSQL_FIELD *f = mysql_fetch_fields(res);
		unsigned n = mysql_num_fields(res);
		for (col = 0; col < n && strcmp(f[col].name, "Seconds_Behind_Master") != 0; col++)
			;
		if (col == n)
			col = (unsigned) -1;
	}
	MYSQL_ROW row = mysql_fetch_row(res);
	if (row && col != (unsigned) -1 && row[col]) {
		*known = str_to_double(row[col], seconds);
		if (!*known)
			log_warn("%s: replication lag \"%s\" is not a number of seconds", ep->label, row[col]);
	}
	mysql_free_result(res);
	return true;
}

static const struct endpoint_ops my_ops = {
	.engine = "mysql",
	.describe = my_describe,
	.key_bounds = my_key_bounds,
	.count = my_count,
	.scan = my_scan,
	.fetch = my_fetch,
	.server_time = my_server_time,
	.replication_lag = my_replication_lag,
	.cdc_position = my_cdc_position,
	.write_rows = my_write_rows,
	.list_tables = my_list_tables,
	.close = my_close,
};
