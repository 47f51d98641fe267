/*
 * endpoint/opensearch_bulk.h: the _bulk body that repairs an OpenSearch index, for
 * `recover --format bulk`. It holds exactly the actions the endpoint's write_rows sends
 * (opensearch_write.c): delete the documents of the keys that the new rows do not
 * replace, then index the rows, each action naming its index and _id, so an operator
 * can POST it to /_bulk as it is.
 */
#ifndef CROSSCHECK_ENDPOINT_OPENSEARCH_BULK_H
#define CROSSCHECK_ENDPOINT_OPENSEARCH_BULK_H

#include <stdbool.h>

#include "endpoint/endpoint.h"
#include "util/buf.h"

/*
 * opensearch_bulk_build appends to out the NDJSON actions that make the index of r hold
 * exactly rows (values in r->cols order, as write_rows takes them) for the canonical
 * keys. ep must be an OpenSearch endpoint: in id mode field it is searched for the
 * documents the keys have now (their _ids are deleted) and for the id scheme in use.
 * Adds the number of delete and index actions to *ndelete and *nindex. Logs and fails
 * on a key that cannot name a document, a value a field cannot hold, or an index whose
 * ids follow no known scheme when a new document would need one.
 */
bool opensearch_bulk_build(struct endpoint *ep, const struct scan_request *r,
			   const char *const *keys, const size_t *keylens, int nkeys,
			   const struct value *const *rows, int nrows, struct buf *out, int *ndelete,
			   int *nindex);

#endif
