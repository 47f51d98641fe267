/*
 * endpoint/s3_internal.h: what the S3 endpoint's files share (test-visible).
 *
 * The S3 endpoint reads the files AWS DMS writes to an S3 target (s3-dms.md section A):
 * full-load LOAD<hex>.csv objects and CDC objects named by time, in a bucket (s3://) or a
 * directory (file://). Its pieces, bottom up:
 *
 *   s3_settings.c  the DMS endpoint settings that change the bytes (URI or settings JSON)
 *   s3_store.c     objects: list a prefix, stream one object (gunzipped when gzip)
 *   s3_http.c      the S3 REST client (ListObjectsV2, ranged GetObject) and its SigV4 signer
 *   s3_csv.c       the DMS CSV dialect, one record at a time
 *   s3_replay.c    a table's current state: LOAD rows then CDC rows in name order, sorted
 *                  by canonical key in bounded memory (spill files)
 *   s3.c           the endpoint operations on top of the replayed state
 */
#ifndef CROSSCHECK_ENDPOINT_S3_INTERNAL_H
#define CROSSCHECK_ENDPOINT_S3_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "endpoint/endpoint.h"
#include "util/buf.h"
#include "util/uri.h"

/* --- settings (s3_settings.c) ------------------------------------------------------------ */

struct s3_settings {
	/* where */
	char *bucket;		/* s3:// bucket; NULL for file:// */
	char *root;		/* file:// directory (absolute); NULL for s3:// */
	char *folder;		/* BucketFolder: "" or "a/b/" (always ends in '/') */
	/* the CSV dialect (A3) */
	char *delim;		/* CsvDelimiter, escapes (\t, \n) resolved */
	char *row_delim;	/* CsvRowDelimiter */
	char *null_value;	/* CsvNullValue; NULL = not set (NULL is an empty unquoted field) */
	bool rfc4180;
	bool add_column_name;
	bool include_op_full_load;
	char *timestamp_column; /* TimestampColumnName, or NULL */
	bool cdc_inserts_only;
	bool cdc_inserts_and_updates;
	bool date_partition;
	char *date_sequence;	/* YYYYMMDD (default), YYYYMMDDHH, YYYYMM, MMYYYYDD, DDMMYYYY */
	char *date_delimiter;	/* SLASH (default), UNDERSCORE, DASH, NONE */
	char *cdc_path;		/* CdcPath, or NULL */
	bool preserve_transactions;
	int ignore_header_rows; /* IgnoreHeaderRows (an S3 source's setting) */
	/* the client (s3:// only) */
	char *endpoint_url;	/* endpoint=: an S3-compatible server; NULL = AWS */
	char *region;
	bool path_style;
	char *spill_dir;	/* spill_dir=, else TMPDIR, else /tmp */
};

/* s3_settings_parse reads the URI (its query parameters, named as DMS names them, and an
 * S3Settings=FILE of `aws dms describe-endpoints` JSON); logs and fails on anything unknown. */
bool s3_settings_parse(const struct uri *u, const char *label, struct s3_settings *s);
/* s3_settings_from_json applies the members of a DMS S3Settings JSON text. */
bool s3_settings_from_json(struct s3_settings *s, const char *label, const char *json,
			   const char *what);
void s3_settings_free(struct s3_settings *s);
/* s3_unescape resolves \n, \r, \t and \\ in a delimiter setting; caller frees. */
char *s3_unescape(const char *s);

/* --- objects (s3_store.c, s3_http.c) -------------------------------------------------- */

struct s3_object {
	char *key;		/* the full key (file://: the path under the root) */
	int64_t size;
	double mtime;		/* seconds since the epoch (LastModified) */
};

struct s3_objlist {
	struct s3_object *items;
	int n, alloc;
};

void s3_objlist_free(struct s3_objlist *l);

struct s3_client;	/* s3_http.c */

struct s3_store {
	const struct s3_settings *set; /* borrowed */
	const char *label;	       /* borrowed */
	struct s3_client *client;      /* s3:// only */
};

bool s3_store_open(struct s3_store *st, const struct s3_settings *set, const char *label);
void s3_store_close(struct s3_store *st);
/* s3_store_list: every object under prefix, sorted by key; a missing folder is empty,
 * a missing bucket or directory an error */
bool s3_store_list(struct s3_store *st, const char *prefix, struct s3_objlist *out);

/* A pull stream of one object's bytes, gunzipped when the object starts with 1f 8b. */
struct s3_reader;
bool s3_reader_open(struct s3_store *st, const struct s3_object *o, struct s3_reader **out);
/* s3_reader_read: bytes read, 0 at the end, -1 on error (then *err says why: static or
 * owned by the reader) */
ssize_t s3_reader_read(struct s3_reader *r, char *dst, size_t n, const char **err);
void s3_reader_close(struct s3_reader *r);

/* s3_http.c */
bool s3_client_open(const struct s3_settings *set, const char *label, struct s3_client **out);
void s3_client_close(struct s3_client *c);
bool s3_client_list(struct s3_client *c, const char *prefix, struct s3_objlist *out);
/* s3_client_get: bytes [off, off + n) of an object into out (appended) */
bool s3_client_get(struct s3_client *c, const char *key, int64_t off, int64_t n,
		   struct buf *out, const char **err);

/* The SigV4 signer (exposed for the botocore comparison test). */
struct sigv4_request {
	const char *method;
	const char *host;		/* as sent in Host: (with :port when not default) */
	const char *path;		/* raw, not yet encoded; starts with '/' */
	const char *const *query;	/* raw name, value pairs: query[2i], query[2i+1] */
	int nquery;
	const char *const *headers;	/* extra signed headers: name, value pairs */
	int nheaders;
	const char *amz_date;		/* YYYYMMDDTHHMMSSZ */
	const char *region;
	const char *service;		/* "s3" */
	const char *access_key;
	const char *secret_key;
	const char *session_token;	/* or NULL */
	const char *payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
};
/* sigv4_authorization appends the Authorization header's value to out. */
bool sigv4_authorization(const struct sigv4_request *r, struct buf *out);
/* s3_uri_encode appends s percent-encoded as S3 wants: all but A-Z a-z 0-9 - _ . ~
 * (and '/' when keep_slash) */
void s3_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash);

/* --- the DMS CSV dialect (s3_csv.c) ----------------------------------------------------- */

struct csv_field {
	const char *data;	/* borrowed until the next csv_next */
	size_t len;
	bool quoted;
};

struct csv_reader {
	struct s3_reader *in;	/* borrowed */
	const char *delim, *row_delim;
	size_t dlen, rlen;
	bool rfc4180;
	struct buf buf;		/* bytes read and not yet parsed from pos */
	size_t pos;
	bool eof;
	struct buf unq;		/* unescaped contents of quoted fields */
	struct csv_field *fields;
	size_t *offs;		/* per field: offset in buf (or in unq when quoted) */
	int nfields, alloc;
	int64_t line;		/* physical line where the last record started (1-based) */
	int64_t next_line;
	char *read_error;	/* owned copy of the stream's error */
};

void csv_reader_init(struct csv_reader *c, struct s3_reader *in, const struct s3_settings *s);
void csv_reader_free(struct csv_reader *c);
/*
 * csv_next reads one record: 1 (fields in c->fields), 0 at the end of the object, -1 on
 * a malformed record or a read error (*err says why; after a malformed record the reader
 * has skipped to the next row delimiter and can go on, after a read error it cannot).
 */
int csv_next(struct csv_reader *c, const char **err, bool *fatal);
/* csv_is_null: is this field NULL as DMS writes it (see s3_csv.c) */
bool csv_is_null(const struct csv_field *f, const struct s3_settings *s);

/* --- the replayed table (s3_replay.c) ------------------------------------------------------ */

/* One problem with a file, reported with the object and line. */
struct s3_problem {
	char *object;
	int64_t line;		/* 0 = the whole object */
	char *reason;
};

/* What a record of the replayed state is. */
enum { S3_OP_UPSERT = 'I', S3_OP_DELETE = 'D' };

struct s3_index_entry {
	char *key;
	size_t keylen;
	off_t off;
};

struct s3_table {
	char *id;			/* the registry key */
	pthread_rwlock_t lock;		/* scans read; a rebuild writes */
	pthread_mutex_t build_mu;
	bool built, failed;
	int fd;				/* the sorted state, an unlinked spill file */
	off_t size;
	int ncols;			/* fields per record: the table's columns */
	int64_t nlive, ntombstones, nrecords_read;
	off_t first_live, last_live;	/* -1 when there is no live row */
	struct s3_index_entry *index;	/* every S3_INDEX_EVERY records */
	int nindex;
	char **objects;			/* object keys, by the id records carry */
	int nobjects;
	struct s3_problem *problems;
	int nproblems;
	int64_t problems_dropped;	/* beyond the cap */
	int64_t spill_peak;		/* bytes on disk at most, spill files together */
	uint64_t listing_sig;		/* hash of the objects replayed (rechecks re-list) */
};

/* A record of the state file, decoded in place (borrowed from the reader's buffer). */
struct s3_record {
	const char *key;
	size_t keylen;
	int op;
	uint32_t obj;
	uint32_t line;
	int nfields;
	const char *fields;		/* nfields x ([u32 len | 0xffffffff = NULL][bytes]) */
	size_t fields_len;
};

/* What the replay needs to know about the table. */
struct s3_table_spec {
	const char *schema, *name;		/* the folder names */
	const struct table_desc *desc;		/* columns and canonical types (the source's) */
	const int *key;				/* key columns: indices into desc->cols */
	int nkeys;
};

/* s3_table_get returns the process-wide replayed state of a table, building it on first
 * use (every endpoint of the run shares it); NULL (logged) when it cannot be built. */
struct s3_table *s3_table_get(struct s3_store *st, const char *shown_uri,
			      const struct s3_table_spec *spec);
/* s3_table_refresh rebuilds the state if the table's objects changed since (rechecks) */
bool s3_table_refresh(struct s3_store *st, struct s3_table *t, const struct s3_table_spec *spec);

typedef bool (*s3_record_fn)(void *ctx, const struct s3_record *rec);
/* s3_table_scan: records with lo <= key < hi (canonical keys, NULL = open), tombstones too */
bool s3_table_scan(struct s3_table *t, const char *lo, size_t lolen, const char *hi,
		   size_t hilen, s3_record_fn fn, void *ctx);
/* s3_table_lookup: the record of one key (*found false when no object wrote it) */
bool s3_table_lookup(struct s3_table *t, const char *key, size_t keylen, s3_record_fn fn,
		     void *ctx, bool *found);
/* s3_table_at: the record at an offset of the state file (first_live, last_live) */
bool s3_table_at(struct s3_table *t, off_t off, s3_record_fn fn, void *ctx);
/* s3_record_field: field i of a record; false when it is NULL */
bool s3_record_field(const struct s3_record *rec, int i, const char **v, size_t *len);

/* s3_layout_* (s3_replay.c, exposed for tests) */
/* s3_is_load_name: LOAD<hex>.csv[.gz] or SEGMENTn_LOAD<hex>.csv[.gz] */
bool s3_is_load_name(const char *base);
/* s3_is_cdc_name: YYYYMMDD-HHMMSSmmm[m].csv[.gz] */
bool s3_is_cdc_name(const char *base);
/* s3_date_folder writes the date folder DMS makes for a CDC file name's time */
bool s3_date_folder(const char *sequence, const char *delimiter, const char *cdc_base,
		    struct buf *out);

#define S3_INDEX_EVERY 64

#endif
