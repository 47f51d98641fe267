/*
 * tests/tools/sigv4_sign.c: crosscheck's SigV4 signer on requests read as JSON lines, one
 * Authorization header value printed per line; tests/integration/test_sigv4_botocore.py
 * compares the lines with what botocore computes for the same requests.
 *
 * Input per line: {"method", "host", "path" (raw), "query": [[name, value]...],
 * "amz_date", "region", "service", "access_key", "secret_key", "session_token" (or null),
 * "payload_hash", "extra_headers": [[name, value]...]}.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/s3_internal.h"

static const char *
str(json_object *o, const char *k)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

/* pairs flattens [[name, value], ...] into name, value, name, value... */
static const char **
pairs(json_object *o, const char *k, int *n)
{
	json_object *a = NULL;
	*n = 0;
	if (!json_object_object_get_ex(o, k, &a) || !json_object_is_type(a, json_type_array))
		return calloc(1, sizeof(char *));
	size_t len = json_object_array_length(a);
	const char **out = calloc(2 * len + 1, sizeof(char *));
	for (size_t i = 0; i < len; i++) {
		json_object *p = json_object_array_get_idx(a, i);
		out[2 * i] = json_object_get_string(json_object_array_get_idx(p, 0));
		out[2 * i + 1] = json_object_get_string(json_object_array_get_idx(p, 1));
	}
	*n = (int) len;
	return out;
}

int
main(void)
{
	char *line = NULL;
	size_t cap = 0;
	int status = 0;
	while (getline(&line, &cap, stdin) > 0) {
		json_object *o = json_tokener_parse(line);
		if (o == NULL) {
			fprintf(stderr, "sigv4_sign: not JSON: %s", line);
			status = 1;
			continue;
		}
		int nq, nh;
		const char **q = pairs(o, "query", &nq), **h = pairs(o, "extra_headers", &nh);
		struct sigv4_request r = {
			.method = str(o, "method"), .host = str(o, "host"), .path = str(o, "path"),
			.query = q, .nquery = nq, .headers = h, .nheaders = nh,
			.amz_date = str(o, "amz_date"), .region = str(o, "region"),
			.service = str(o, "service") ? str(o, "service") : "s3",
			.access_key = str(o, "access_key"), .secret_key = str(o, "secret_key"),
			.session_token = str(o, "session_token"), .payload_hash = str(o, "payload_hash"),
		};
		struct buf out;
		buf_init(&out);
		if (r.method && r.host && r.path && r.amz_date && r.region && r.access_key &&
		    r.secret_key && r.payload_hash && sigv4_authorization(&r, &out)) {
			printf("%s\n", buf_cstr(&out));
		} else {
			printf("ERROR\n");
			status = 1;
		}
		buf_free(&out);
		free(q);
		free(h);
		json_object_put(o);
	}
	free(line);
	return status;
}
