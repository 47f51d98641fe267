/*
 * util/uri.c: endpoint URI parsing and redaction.
 */
#include "util/uri.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/log.h"
#include "util/str.h"

/* pct_decode returns a newly allocated, percent-decoded copy of s[0..n), or NULL. */
static char *
pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[j++] = (char) (hi * 16 + lo);
			i += 2;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	return out;
}

void
uri_free(struct uri *u)
{
	free(u->scheme);
	free(u->user);
	free(u->password);
	free(u->host);
	free(u->path);
	for (int i = 0; i < u->nparams; i++) {
		free(u->params[i].key);
		free(u->params[i].value);
	}
	free(u->params);
	memset(u, 0, sizeof(*u));
}

const char *
uri_param(const struct uri *u, const char *key)
{
	for (int i = 0; i < u->nparams; i++)
		if (strcmp(u->params[i].key, key) == 0)
			return u->params[i].value;
	return NULL;
}

static bool
parse_params(const char *q, struct uri *u, char **redacted_text)
{
	(void) redacted_text;
	while (*q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t) (amp - q) : strlen(q);
		if (len > 0) {
			const char *eq = memchr(q, '=', len);
			size_t klen = eq ? (size_t) (eq - q) : len;
			char *k = pct_decode(q, klen);
			char *v = eq ? pct_decode(eq + 1, len - klen - 1) : xstrdup("");
			if (k == NULL || v == NULL || *k == '\0') {
				free(k);
				free(v);
				return false;
			}
			u->params = xrealloc(u->params, (size_t) (u->nparams + 1) * sizeof(*u->params));
			u->params[u->nparams].key = k;
			u->params[u->nparams].value = v;
			u->nparams++;
		}
		if (!amp)
			break;
		q = amp + 1;
	}
	return true;
}

/*
 * uri_parse splits scheme://[user[:password]@]host[:port][/path][?query]. It checks
 * shape only; each endpoint checks what its engine needs (libpq re-parses its own URI).
 */
bool
uri_parse(const char *text, struct uri *u)
{
	memset(u, 0, sizeof(*u));
	char *shown = uri_redact(text);
	const char *sep = strstr(text, "://");
	if (sep == NULL || sep == text) {
		log_error("malformed URI \"%s\": expected scheme://host/...", shown);
		log_hint("e.g. postgresql://user@127.0.0.1:5432/db or mysql://user@host/db");
		goto fail;
	}
	u->scheme = xstrndup(text, (size_t) (sep - text));
	for (char *c = u->scheme; *c; c++) {
		*c = (char) tolower((unsigned char) *c);
		if (!isalnum((unsigned char) *c) && *c != '+' && *c != '-' && *c != '.') {
			log_error("malformed URI \"%s\": invalid scheme", shown);
			goto fail;
		}
	}
	const char *p = sep + 3;
	const char *end_auth = p + strcspn(p, "/?#");
	const char *at = NULL;
	for (const char *c = p; c < end_auth; c++)
		if (*c == '@')
			at = c;
	if (at) {
		const char *colon = memchr(p, ':', (size_t) (at - p));
		u->user = pct_decode(p, (size_t) ((colon ? colon : at) - p));
		if (colon)
			u->password = pct_decode(colon + 1, (size_t) (at - colon - 1));
		if (u->user == NULL || (colon && u->password == NULL)) {
			log_error("malformed URI \"%s\": bad percent-encoding in user info", shown);
			goto fail;
		}
		p = at + 1;
	}
	/* host[:port], with [v6] allowed */
	const char *host_end;
	const char *port_start = NULL;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t) (end_auth - p));
		if (rb == NULL) {
			log_error("malformed URI \"%s\": unterminated [ in host", shown);
			goto fail;
		}
		u->host = xstrndup(p + 1, (size_t) (rb - p - 1));
		host_end = rb + 1;
		if (host_end < end_auth && *host_end == ':')
			port_start = host_end + 1;
		else if (host_end != end_auth) {
			log_error("malformed URI \"%s\": unexpected text after host", shown);
			goto fail;
		}
	} else {
		const char *colon = memchr(p, ':', (size_t) (end_auth - p));
		host_end = colon ? colon : end_auth;
		if (host_end > p)
			u->host = pct_decode(p, (size_t) (host_end - p));
		if (colon)
			port_start = colon + 1;
	}
	if (port_start) {
		if (port_start == end_auth) {
			log_error("malformed URI \"%s\": empty port", shown);
			goto fail;
		}
		long port = 0;
		for (const char *c = port_start; c < end_auth; c++) {
			if (!isdigit((unsigned char) *c) || port > 65535) {
				log_error("malformed URI \"%s\": invalid port", shown);
				goto fail;
			}
			port = port * 10 + (*c - '0');
		}
		if (port < 1 || port > 65535) {
			log_error("malformed URI \"%s\": port out of range", shown);
			goto fail;
		}
		u->port = (int) port;
	}
	p = end_auth;
	if (*p == '/') {
		size_t plen = strcspn(p + 1, "?#");
		u->path = pct_decode(p + 1, plen);
		if (u->path == NULL) {
			log_error("malformed URI \"%s\": bad percent-encoding in path", shown);
			goto fail;
		}
		p = p + 1 + plen;
	} else {
		u->path = xstrdup("");
	}
	if (*p == '?') {
		char *q = xstrndup(p + 1, strcspn(p + 1, "#"));
		bool ok = parse_params(q, u, NULL);
		free(q);
		if (!ok) {
			log_error("malformed URI \"%s\": bad query parameters", shown);
			goto fail;
		}
	}
	free(shown);
	return true;

fail:
	free(shown);
	uri_free(u);
	return false;
}

static bool
is_secret_param(const char *k, size_t n)
{
	static const char *names[] = {"password", "sslpassword", "pass", "pwd", "secret",
				      "token", "aws_secret_access_key", "secret_key"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && strncasecmp(k, names[i], n) == 0)
			return true;
	return false;
}

/*
 * uri_redact works on raw text rather than on a parsed uri so that even a URI we failed
 * to parse can be shown in an error message without leaking its password.
 */
char *
uri_redact(const char *text)
{
	struct buf b;
	buf_init(&b);
	const char *sep = strstr(text, "://");
	const char *p = text;
	if (sep) {
		const char *auth = sep + 3;
		const char *end_auth = auth + strcspn(auth, "/?#");
		const char *at = NULL;
		for (const char *c = auth; c < end_auth; c++)
			if (*c == '@')
				at = c;
		if (at) {
			const char *colon = memchr(auth, ':', (size_t) (at - auth));
			if (colon) {
				buf_append(&b, text, (size_t) (colon - text));
				buf_append_str(&b, ":****");
				p = at;
			}
		}
	}
	/* copy the rest, masking secret query parameters */
	const char *q = strchr(p, '?');
	if (q == NULL) {
		buf_append_str(&b, p);
		return buf_steal(&b);
	}
	buf_append(&b, p, (size_t) (q - p + 1));
	q++;
	while (*q) {
		size_t len = strcspn(q, "&#");
		const char *eq = memchr(q, '=', len);
		if (eq && is_secret_param(q, (size_t) (eq - q))) {
			buf_append(&b, q, (size_t) (eq - q + 1));
			buf_append_str(&b, "****");
		} else {
			buf_append(&b, q, len);
		}
		q += len;
		if (*q == '&') {
			buf_append_char(&b, '&');
			q++;
		} else if (*q == '#') {
			buf_append_str(&b, q);
			break;
		}
	}
	return buf_steal(&b);
}

char *
uri_with_param(const char *uri, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b;
	buf_init(&b);
	size_t n = strcspn(uri, "#");
	buf_append(&b, uri, n);
	buf_append_char(&b, memchr(uri, '?', n) ? '&' : '?');
	const char *parts[2] = {key, value};
	for (int k = 0; k < 2; k++) {
		if (k)
			buf_append_char(&b, '=');
		for (const unsigned char *p = (const unsigned char *) parts[k]; *p; p++) {
			if (isalnum(*p) || strchr("-_.~/", *p)) {
				buf_append_char(&b, (char) *p);
			} else {
				char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
				buf_append(&b, e, 3);
			}
		}
	}
	return buf_steal(&b);
}
