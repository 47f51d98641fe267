/*
 * endpoint/opensearch_internal.h: the OpenSearch endpoint's pieces, shared between
 * opensearch.c (the endpoint operations), opensearch_http.c (URI, libcurl, retries,
 * auth, error bodies), opensearch_query.c (key plan, request bodies), opensearch_json.c
 * (strict JSON, exact numbers, search pages) and opensearch_doc.c (mapping to columns,
 * documents to rows). Everything but the HTTP transport is a pure function of its
 * inputs, so the unit tests drive it with recorded bodies and no server. The transport
 * is kept apart and general (JSON and NDJSON bodies) for the _bulk repair to come.
 *
 * How a target table is read (see README "OpenSearch"):
 * - the index is the lowercased table name (--target-table overrides); every field of
 *   its mapping is a column; OpenSearch has no primary key, so the audit's source key
 *   names the key fields;
 * - rows come from `_source` whole (never filtered: filtering re-encodes numbers through a
 *   double), in canonical key order: `search_after` on the key field(s) with `_id` as the
 *   tiebreaker, inside a point in time when the server has them (2.4+);
 * - id mode "field" (default, AWS DMS): the key is read from `_source`; `_id` is opaque
 *   (DMS writes a SHA-256 there). id mode "value": the document `_id` IS the key value.
 *
 * Column descriptions carry the engine facts the reads need: column_desc.engine_type is
 * the mapping type ("long", "keyword", "text", "date", "object", ... or "_id" for the
 * document id), column_desc.cast_type the field that sorts, ranges and matches the
 * column ("id", "code.keyword", "_id"; "" when the column cannot be sorted on).
 */
#ifndef CROSSCHECK_ENDPOINT_OPENSEARCH_INTERNAL_H
#define CROSSCHECK_ENDPOINT_OPENSEARCH_INTERNAL_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "endpoint/endpoint.h"
#include "util/buf.h"

#define OS_DEFAULT_PAGE_SIZE 1000
#define OS_MAX_PAGE_SIZE 10000	     /* index.max_result_window's default */
#define OS_DEFAULT_RETRIES 10
#define OS_MAX_RESPONSE ((size_t) 512 << 20)
#define OS_PIT_KEEP_ALIVE "5m"

/* --- configuration (opensearch_http.c) ------------------------------------------------ */

enum os_id_mode { OS_ID_FIELD = 0, OS_ID_VALUE };
enum os_auth { OS_AUTH_NONE = 0, OS_AUTH_BASIC, OS_AUTH_SIGV4 };

/* What the URI and the environment say. Secrets are owned here and never logged. */
struct os_config {
	char *base_url;		/* http[s]://host:port[/prefix], no trailing slash */
	enum os_auth auth;
	char *user;		/* basic: OPENSEARCH_USER or the URI's user */
	char *password;		/* basic: OPENSEARCH_PASSWORD (secret) */
	char *region;		/* sigv4 */
	char *aws_key;		/* sigv4: AWS_ACCESS_KEY_ID */
	char *aws_secret;	/* sigv4: AWS_SECRET_ACCESS_KEY (secret) */
	char *aws_token;	/* sigv4: AWS_SESSION_TOKEN (secret), or NULL */
	char *cafile;
	bool insecure;
	enum os_id_mode id_mode;
	int page_size;
	int max_retries;
	bool gzip;		/* compression=gzip: ask for gzip responses */
	bool use_pit;		/* pit=auto (try, fall back) or pit=off */
};

/*
 * os_config_parse reads an opensearch:// or opensearch+https:// URI and the environment
 * (getenv). Unknown query parameters are errors: a mistyped option must not be
 * silently ignored. Logs once and returns false on bad input.
 */
/* password, when given (a check file's target_password_env), wins over the URI and the
 * environment */
bool os_config_parse(const char *uri, const char *label, const char *password,
		     struct os_config *c);
void os_config_free(struct os_config *c);

/* --- HTTP (opensearch_http.c) ---------------------------------------------------------- */

enum os_content { OS_JSON = 0, OS_NDJSON };

/* One keep-alive connection (a libcurl easy handle) and the last response. */
struct os_http {
	CURL *curl;
	struct curl_slist *hdr_json, *hdr_ndjson;
	const struct os_config *cfg; /* borrowed */
	const char *label;	     /* borrowed: "source" / "target" */
	struct buf resp;	     /* the last response body (capped) */
	long status;		     /* the last HTTP status */
	double retry_after;	     /* seconds from Retry-After, 0 if none */
	bool warned_deprecation;
	bool connected;		     /* the server has answered once */
	int attempts;		     /* of the last request */
	unsigned seed;		     /* jitter */
	char errbuf[CURL_ERROR_SIZE];
};

bool os_http_open(struct os_http *h, const struct os_config *cfg, const char *label,
		  const struct endpoint_options *opts);
void os_http_close(struct os_http *h);

/*
 * os_http_send performs one request, retrying 429 and 5xx answers and failed connections
 * with exponential backoff and jitter (at most retries extra attempts). It returns true
 * when a response arrived (h->status and h->resp hold it, whatever the status) and false,
 * having logged why, when none did. path starts with '/' and carries its query parameters
 * already sorted (AWS SigV4 signs them in that order).
 */
bool os_http_send(struct os_http *h, const char *method, const char *path, const char *body,
		  size_t len, enum os_content ct, int retries, const char *context);

/* os_http_call is os_http_send that also requires a 2xx status, logging the server's
 * error (with a hint) otherwise. */
bool os_http_call(struct os_http *h, const char *method, const char *path, const char *body,
		  size_t len, const char *context);

/* os_http_log_status logs the last non-2xx response as one error line and a hint. */
void os_http_log_status(const struct os_http *h, const char *method, const char *path,
			const char *context);

/* pure helpers, unit-tested */
bool os_retryable_status(long status);
/* os_backoff_delay: seconds to wait before retry number attempt (1-based). */
double os_backoff_delay(int attempt, double retry_after, unsigned *seed);
/*
 * os_error_text appends "TYPE: REASON" (or the text the server sent) describing an error
 * response to out, and the error type ("index_not_found_exception") to type when the
 * body names one (type may be NULL). Never fails.
 */
void os_error_text(long status, const char *body, size_t len, struct buf *out,
		   struct buf *type);
/* os_error_hint gives a hint line for a status and error type, or NULL. */
const char *os_error_hint(long status, const char *type);
/* os_path_segment appends s percent-encoded as one path segment. */
void os_path_segment(struct buf *out, const char *s);
/* os_path_query appends "?k=v&..." with the pairs sorted by key (SigV4 signs that order). */
void os_path_query(struct buf *out, const char *const *pairs, int n);

/* --- key plan and request bodies (opensearch_query.c) ---------------------------------- */

enum os_kind {
	OS_KIND_OTHER = 0, /* not sortable (text without keyword, object, binary, ...) */
	OS_KIND_NUMBER,
	OS_KIND_KEYWORD,
	OS_KIND_DATE,
	OS_KIND_BOOL,
	OS_KIND_ID,	   /* the document _id: terms/ids and sort, but no range */
};

/* os_kind_of classifies a mapping type by how its sort field orders. */
enum os_kind os_kind_of(const char *mapping_type, const char *sort_field);
/* os_canon_of maps a mapping type to this side's canonical type. */
enum canon_type os_canon_of(const char *mapping_type, bool *single_float);

/* How one key column is read, ordered and bounded. */
struct os_key {
	const char *name;	  /* the column (and _source member) name; borrowed */
	const char *sort_field;	  /* sorted, ranged and matched on; borrowed */
	enum os_kind kind;
	bool from_id;		  /* its value is the document _id (id mode value) */
	bool in_source;		  /* the _source also holds it (checked against _id) */
};

/*
 * os_key_plan derives the key plan of a scan request. In id mode value the key must be
 * one column; it is read from _id and ordered by its _source field when the mapping has
 * a sortable one, else by _id itself. Sets *err (static text) and returns false when the
 * key cannot be ordered by OpenSearch.
 */
bool os_key_plan(const struct scan_request *r, enum os_id_mode mode, struct os_key *keys,
		 const char **err);

/* One paged read or count. */
struct os_query {
	const struct os_key *keys;
	int nkeys;
	const char *lo;		  /* canonical key, inclusive, or NULL */
	size_t lolen;
	const char *hi;		  /* canonical key, exclusive, or NULL */
	size_t hilen;
	const char *const *fetch; /* canonical keys to match (fetch), or NULL */
	const size_t *fetchlens;
	int nfetch;
	bool keyless;		  /* also documents without a sortable key (last partition) */
	int size;
	bool desc;		  /* key bounds: the maximum first */
	const char *search_after; /* JSON array text of the last hit's sort values */
	const char *pit_id;	  /* search inside this point in time */
};

/*
 * os_build_search writes the _search body of one page; os_build_count the _count body.
 * The key's canonical values become JSON values of the field's kind; a value whose type
 * the field cannot order (a number bound on a keyword field) sets *err and fails.
 */
bool os_build_search(const struct os_query *q, struct buf *out, const char **err);
bool os_build_count(const struct os_query *q, struct buf *out, const char **err);
/* os_key_json appends the JSON value of one canonical key value for a field of kind. */
bool os_key_json(enum canon_type t, const char *v, size_t len, enum os_kind kind,
		 struct buf *out, const char **err);

/* --- responses (opensearch_json.c) and documents (opensearch_doc.c) ----------------------- */

/* Number tokens of a body matched to json-c nodes, built only when a clamp was seen. */
struct os_numtab;
void os_numtab_free(struct os_numtab *t);

/* --- search pages scanned in place (opensearch_scan.c) --- */

enum os_jtype {
	OS_J_NONE = 0, /* absent */
	OS_J_NULL,
	OS_J_FALSE,
	OS_J_TRUE,
	OS_J_NUMBER,
	OS_J_STRING,
	OS_J_OBJECT,
	OS_J_ARRAY,
};

/* Where one JSON value lies in a response body. */
struct os_span {
	const char *p;	/* strings: the text between the quotes; else the whole value */
	uint32_t len;
	uint8_t type;	/* enum os_jtype */
	bool esc;	/* strings: holds escapes; objects, arrays: holds white space */
};

/* One top-level _source member of a hit. */
struct os_field {
	struct os_span name, value;
};

/* One hit of a page: spans into the body, its _source members in page->fields. */
struct os_hit {
	struct os_span id, source, sort;
	const char *id_text;	/* the decoded _id, NUL-terminated (page arena), when a string */
	size_t id_len;
	size_t field0, nfields;
};

/*
 * A _search response. Scanned pages (os_page_parse) have no json-c tree: hits is a
 * json-c array of handles, one per hit, each carrying its struct os_hit (os_hit_of),
 * so callers keep taking hits with json_object_array_get_idx. root is only set by
 * callers that parse a body with json-c themselves (os_json_write's exact numbers).
 */
struct os_page {
	json_object *root;	  /* owned, or NULL */
	const char *body;	  /* borrowed raw text: every span points into it */
	size_t len;
	json_object *hits;	  /* owned: the handles of hitv */
	size_t nhits;
	const char *pit_id;	  /* in arena, or NULL */
	struct os_numtab *numtab; /* owned, lazily built */
	struct os_hit *hitv;	  /* owned */
	size_t ahits;
	struct os_field *fields;  /* owned: every hit's _source members */
	size_t nfields, afields;
	struct buf arena;	  /* decoded _ids with escapes, the PIT id */
};

/*
 * os_page_parse scans a _search response and refuses what is not a complete answer:
 * garbage or truncated JSON, timed_out:true, _shards.failed > 0 (partial results are an
 * error, never "no documents"), a missing hits.hits. On failure it writes the reason to
 * err and returns false (p is then empty). The body must outlive the page.
 */
bool os_page_parse(struct os_page *p, const char *body, size_t len, struct buf *err);
void os_page_free(struct os_page *p);
/* os_page_last_sort appends the JSON text of the last hit's sort values. */
bool os_page_last_sort(struct os_page *p, struct buf *out, struct buf *err);
/* os_page_check applies os_page_parse's refusals to a json-c tree (opensearch_json.c):
 * the judge of every page that is not plainly complete, for the same error texts. */
bool os_page_check(json_object *root, struct buf *err);
/* os_hit_of returns the scanned hit behind a handle of page->hits, or NULL. */
const struct os_hit *os_hit_of(json_object *hit);
/* os_span_decode appends a string's decoded text (UTF-8; lone surrogates as U+FFFD). */
bool os_span_decode(const struct os_span *s, struct buf *out);
/* os_span_compact appends a value as JSON text without white space between tokens. */
bool os_span_compact(const struct os_span *s, struct buf *out);
/* os_span_item finds item k of an array span; false when there is none. */
bool os_span_item(const struct os_span *arr, size_t k, struct os_span *item);

/* os_count_parse reads {"count":N,"_shards":{...}}, refusing shard failures. */
bool os_count_parse(const char *body, size_t len, int64_t *count, struct buf *err);
/* os_pit_parse reads the id of a created point in time. Caller frees *id. */
bool os_pit_parse(const char *body, size_t len, char **id, struct buf *err);
/* os_settings_window reads index.max_result_window from GET /<index>/_settings
 * (settings or include_defaults' defaults); 0 when the answer does not say. */
bool os_settings_window(const char *body, size_t len, int64_t *window, struct buf *err);
/* os_root_parse reads GET / into "distribution version" text (for logs). */
bool os_root_parse(const char *body, size_t len, struct buf *version, struct buf *err);

/*
 * os_mapping_parse turns GET /<index>/_mapping into a table description: one column per
 * top-level field (objects and nested as JSON), plus "_id" in id mode value. No key:
 * the audit passes the source's. Caller frees with table_desc_free.
 */
bool os_mapping_parse(const char *body, size_t len, const char *index, enum os_id_mode mode,
		      struct table_desc *out, struct buf *err);

/* A _source member name seen before at one position of a document, and its slot. */
struct os_fieldmap {
	char *name;		/* owned copy */
	size_t len;
	int slot;		/* -1: not read */
};

/* Turns hits into row values for one scan request. */
struct os_reader {
	int ncols;
	const char **fields;	/* per delivered column: _source member, or NULL = _id */
	bool *binary;		/* base64 in _source, raw bytes delivered */
	int nkeys;
	const struct os_key *keys; /* borrowed */
	int *key_col;		/* per key: its delivered column, or -1 */
	struct value *vals;
	size_t *offsets;	/* scratch offsets, (size_t) -1 when not in scratch */
	struct buf scratch;
	/* _source members to find: slots 0..ncols-1 are the columns, then key fields
	 * that are not delivered */
	int nslots;
	const char **slot_name;	/* borrowed; NULL: never in _source */
	size_t *slot_len;
	int *key_slot;		/* per key: its slot, or -1 */
	const struct os_span **found; /* per slot, for the current hit */
	struct os_fieldmap *map; /* per member position: the last name seen there */
	size_t nmap;
	struct buf tmp;		/* decoded names, key texts */
};

void os_reader_init(struct os_reader *rd, const struct scan_request *r, const struct os_key *keys,
		    int nkeys);
void os_reader_free(struct os_reader *rd);
/*
 * os_reader_row fills rd->vals from one hit: absent fields and JSON null are NULL,
 * strings as they are, numbers as their exact JSON text, booleans "true"/"false",
 * objects and arrays as JSON text (canonicalized by core). Values are valid until the
 * page is freed or the next row. False (reason in err) on a hit without _source or _id,
 * or an _id that disagrees with its key field.
 */
bool os_reader_row(struct os_reader *rd, struct os_page *p, json_object *hit, struct buf *err);

/* os_hit_id returns the hit's _id (borrowed) or NULL. */
const char *os_hit_id(json_object *hit, size_t *len);

/*
 * os_json_write appends a JSON node as JSON text with every number as its exact source
 * text (integers beyond 64 bits included, through the page's raw body).
 */
bool os_json_write(struct os_page *p, json_object *node, struct buf *out, struct buf *err);
/*
 * os_number_append appends the exact text of a number node. json-c keeps the text of
 * decimals but clamps integers beyond 64 bits to INT64_MIN / UINT64_MAX; for those the
 * token is found again in the raw body (os_numtab), never compared clamped.
 */
bool os_number_append(struct os_page *p, json_object *node, struct buf *out, struct buf *err);
/* os_json_parse parses a whole body strictly (trailing garbage and truncation refused);
 * caller puts *root. */
bool os_json_parse(const char *body, size_t len, json_object **root, struct buf *err);

/* --- the endpoint (opensearch.c) --------------------------------------------------------- */

enum os_pit_state { OS_PIT_UNKNOWN = 0, OS_PIT_YES, OS_PIT_NO };

struct os_endpoint {
	struct endpoint base;
	struct os_config cfg;
	struct os_http http;
	enum os_pit_state pit;
	char *version;		/* from GET /, for logs */
	char *window_index;	/* the index whose max_result_window is cached */
	int page_size;		/* for that index: page_size capped by the window */
};

/* os_member / os_member_str: a JSON object's member (a string member), or NULL */
json_object *os_member(json_object *o, const char *key);
const char *os_member_str(json_object *o, const char *key);

#endif
