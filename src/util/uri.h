/*
 * util/uri.h: endpoint URI parsing and redaction.
 *
 * crosscheck accepts URIs such as postgresql://user@host:5432/db?sslmode=require,
 * mysql://user@host/db, opensearch://host:9200/. The password is never to be shown:
 * uri_redact() produces the form that logs, the store and reports use.
 */
#ifndef CROSSCHECK_UTIL_URI_H
#define CROSSCHECK_UTIL_URI_H

#include <stdbool.h>

struct uri_param {
	char *key;
	char *value;
};

struct uri {
	char *scheme;   /* lowercased, e.g. "postgresql" */
	char *user;     /* percent-decoded, or NULL */
	char *password; /* percent-decoded, or NULL */
	char *host;     /* or NULL; IPv6 without brackets */
	int port;       /* 0 when absent */
	char *path;     /* without the leading '/', percent-decoded; "" when absent */
	struct uri_param *params;
	int nparams;
};

/* uri_parse fills u (caller calls uri_free); on failure logs why and returns false. */
bool uri_parse(const char *text, struct uri *u);
void uri_free(struct uri *u);
const char *uri_param(const struct uri *u, const char *key);

/* uri_with_param returns uri with key=value added to its query (value percent-encoded);
 * caller frees. A check file's [s3] settings and --s3-settings travel this way, so every
 * place that opens the endpoint again (workers, rechecks, recover) sees them. */
char *uri_with_param(const char *uri, const char *key, const char *value);

/* uri_redact returns text with the password (in userinfo or in a password-like query
 * parameter) replaced by "****"; caller frees. Works on any text, even unparseable. */
char *uri_redact(const char *text);

#endif
