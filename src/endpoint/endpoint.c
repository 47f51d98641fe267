/*
 * endpoint/endpoint.c: URI dispatch and helpers shared by the engines.
 */
#include "endpoint/endpoint.h"

#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

void
table_desc_free(struct table_desc *t)
{
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].engine_type);
		free(t->cols[i].cast_type);
	}
	free(t->cols);
	free(t->key);
	free(t->schema);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

int
table_desc_find(const struct table_desc *t, const char *name)
{
	for (int i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return i;
	return -1;
}

void
endpoint_base_init(struct endpoint *ep, const struct endpoint_ops *ops, const char *uri,
		   const struct endpoint_options *opts)
{
	ep->ops = ops;
	ep->label = xstrdup(opts->label ? opts->label : "endpoint");
	ep->shown_uri = uri_redact(uri);
}

void
endpoint_base_free(struct endpoint *ep)
{
	free(ep->label);
	free(ep->shown_uri);
}

struct scheme {
	const char *name;
	bool (*open)(const char *uri, const struct endpoint_options *opts, struct endpoint **out);
};

static const struct scheme schemes[] = {
	{"postgresql", pg_endpoint_open},
	{"postgres", pg_endpoint_open},
	{"mysql", mysql_endpoint_open},
	{"mariadb", mysql_endpoint_open},
	{"opensearch", opensearch_endpoint_open},
	{"opensearch+https", opensearch_endpoint_open},
	{"s3", s3_endpoint_open},
	{"file", s3_endpoint_open},
};


static const struct scheme *
find_scheme(const char *uri, const char *label)
{
	struct uri u;
	if (!uri_parse(uri, &u))
		return NULL;
	const struct scheme *found = NULL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strcmp(schemes[i].name, u.scheme) == 0)
			found = &schemes[i];
	if (found == NULL) {
		log_error("%s: unknown URI scheme \"%s\"", label, u.scheme);
		log_hint("supported: postgresql://, mysql://, mariadb://, opensearch://, "
			 "opensearch+https://, s3://, file://");
	}
	uri_free(&u);
	return found;
}

bool
endpoint_check_uri(const char *uri, const char *label)
{
	return find_scheme(uri, label) != NULL;
}

bool
endpoint_open(const char *uri, const struct endpoint_options *opts, struct endpoint **out)
{
	*out = NULL;
	const struct scheme *s = find_scheme(uri, opts->label ? opts->label : "endpoint");
	return s != NULL && s->open(uri, opts, out);
}

void
endpoint_close(struct endpoint *ep)
{
	if (ep)
		ep->ops->close(ep);
}

bool
endpoint_hex_decode(const char *in, size_t len, struct buf *out)
{
	if (len >= 2 && in[0] == '\\' && in[1] == 'x') {
		in += 2;
		len -= 2;
	}
	if (len % 2 != 0)
		return false;
	if (!buf_reserve(out, len / 2))
		return false;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			int d = hex_digit((unsigned char) in[i + (size_t) k]);
			if (d < 0)
				return false;
			v = v * 16 + d;
		}
		out->data[out->len++] = (char) v;
	}
	out->data[out->len] = '\0';
	return true;
}

bool
endpoint_bind_text(enum canon_type t, const char *v, size_t len, struct buf *out)
{
	if (t == CANON_BINARY)
		return canon_display(t, v, len, out);
	return buf_append(out, v, len);
}
