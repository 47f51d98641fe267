/*
 * endpoint/opensearch_bulk_internal.h: writing an index with _bulk (the repair of an
 * OpenSearch target), shared by opensearch_bulk.c (pure: ids, documents, action lines,
 * per-item results; unit-tested without a server) and opensearch_write.c (finding the
 * documents of keys, write_rows, the bulk file of recover --format bulk).
 *
 * How a document id is chosen for a key (README "OpenSearch repair"):
 * - id mode value: the `_id` is the key's canonical text (single-column keys);
 * - id mode field (AWS DMS): the `_id` is the 64-hex SHA-256 of the key's canonical text.
 *   DMS does not document how it joins a composite key before hashing, so for composite
 *   keys crosscheck hashes its own, documented join: the JSON array of the key values'
 *   canonical texts as strings (`["x","3"]`, no spaces). Either scheme is used only when
 *   the index's own documents follow it (or the index is empty): a document whose `_id`
 *   follows neither scheme means the replicator names documents some other way, and then
 *   existing documents are rewritten under their own `_id` and new ones are refused,
 *   since a guessed `_id` would become a duplicate the next time the replicator writes
 *   that row.
 */
#ifndef CROSSCHECK_ENDPOINT_OPENSEARCH_BULK_INTERNAL_H
#define CROSSCHECK_ENDPOINT_OPENSEARCH_BULK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoint/endpoint.h"
#include "util/buf.h"

#define OS_MAX_ID_BYTES 512		     /* OpenSearch refuses longer _id values */
#define OS_BULK_MAX_ACTIONS 1000	     /* per _bulk request */
#define OS_BULK_MAX_BYTES ((size_t) 8 << 20) /* per _bulk request (http.max_content_length
					      * is 100 MiB by default) */

/* How the documents of an index are named. */
enum os_id_scheme {
	OS_IDS_SHA256 = 0, /* SHA-256 hex of the key text (AWS DMS), or of the JSON join */
	OS_IDS_KEY,	   /* the key's canonical text itself (single-column keys) */
	OS_IDS_UNKNOWN,	   /* neither: only existing documents can be rewritten */
};

const char *os_id_scheme_name(enum os_id_scheme s);

/* os_sha256_hex writes the lowercase hex SHA-256 of data (FIPS 180-4) and a NUL. */
void os_sha256_hex(const void *data, size_t len, char out[65]);

/* os_base64_append appends standard base64 (with padding) of len bytes. */
bool os_base64_append(struct buf *out, const void *data, size_t len);

/*
 * os_json_compact appends a JSON text without its insignificant white space (a bulk
 * source line must be one line), keeping every token, numbers included, byte for byte.
 * False if the text is not one valid JSON value.
 */
bool os_json_compact(const char *in, size_t len, struct buf *out);

/*
 * os_key_id appends the _id a key gets under scheme (OS_IDS_SHA256 or OS_IDS_KEY): key
 * is a canonical key of nkeys columns. Sets *err and fails for keys that cannot name a
 * document (binary or JSON values, an _id over 512 bytes, a composite key as OS_IDS_KEY).
 */
bool os_key_id(enum os_id_scheme scheme, const char *key, size_t keylen, int nkeys,
	       struct buf *out, const char **err);

/*
 * os_doc_value appends the JSON value of one column of a source row for the index field
 * described by c (its mapping type decides what the field accepts): numbers as JSON
 * numbers keeping their exact text, booleans, dates as ISO 8601 UTC strings, objects
 * and arrays as compact JSON, binary as base64, everything else as a string; NULL as
 * null. The value is text as repair hands it to write_rows (recover_value_text: UTC
 * timestamps, "true"/"false", raw bytes for binary). Sets *err and fails when the field
 * cannot hold the value (a NaN in a numeric field, a broken JSON text).
 */
bool os_doc_value(const struct column_desc *c, const struct value *v, struct buf *out,
		  const char **err);

/*
 * os_doc_json appends the document of one row: a JSON object with one member per
 * requested column named as the index field (the `_id` pseudo column of id mode value is
 * not a field and is left out). On failure err names the column.
 */
bool os_doc_json(const struct scan_request *r, const struct value *row, struct buf *out,
		 struct buf *err);

/* os_bulk_action_line appends {"ACTION":{"_index":INDEX,"_id":ID}} and a newline. */
bool os_bulk_action_line(struct buf *out, const char *action, const char *index, const char *id,
			 size_t idlen);

/* The outcome of one item of a _bulk response. */
enum os_item_outcome {
	OS_ITEM_OK = 0, /* 200/201, or 404 not_found on a delete */
	OS_ITEM_RETRY,	/* 429: not applied, send it again */
	OS_ITEM_FAILED, /* anything else: text says why */
};

struct os_bulk_item {
	enum os_item_outcome outcome;
	int status;
	char text[512]; /* "STATUS TYPE: REASON" for a failed item */
};

/*
 * os_bulk_parse_items reads a _bulk response of exactly nitems items into items[]. False
 * (reason in err) when the body is not a bulk response or the item count differs: the
 * write's outcome is then unknown.
 */
bool os_bulk_parse_items(const char *body, size_t len, int nitems, struct os_bulk_item *items,
			 struct buf *err);

/*
 * os_settings_refresh_off reads GET /<index>/_settings: true when the index's
 * refresh_interval is -1 (it never refreshes by itself, so a refresh=wait_for write would
 * wait until something else refreshes it). False when it is not, or the body does not say.
 */
bool os_settings_refresh_off(const char *body, size_t len);

/* write_rows of the OpenSearch endpoint (opensearch_write.c), in opensearch.c's ops table. */
bool os_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
		   const size_t *keylens, int nkeys, const struct value *const *rows, int nrows);

#endif
