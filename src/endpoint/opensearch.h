/*
 * endpoint/opensearch.h: the OpenSearch endpoint's constructor, for endpoint.c's scheme
 * table (opensearch://, opensearch+https://). Everything else is in opensearch_internal.h.
 */
#ifndef CROSSCHECK_ENDPOINT_OPENSEARCH_H
#define CROSSCHECK_ENDPOINT_OPENSEARCH_H

#include <stdbool.h>

#include "endpoint/endpoint.h"

bool opensearch_endpoint_open(const char *uri, const struct endpoint_options *opts,
			      struct endpoint **out);

#endif
