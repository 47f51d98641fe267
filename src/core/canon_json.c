/*
 * core/canon_json.c: canonical JSON (sorted keys, no insignificant white space).
 *
 * A small exact parser of our own rather than json-c: json-c clamps integers beyond
 * 64 bits to 18446744073709551615 and re-prints doubles, and a canonical form must
 * never change a number. Numbers are normalized as exact decimals (1.0 = 1 = 1e0, as
 * PostgreSQL jsonb and MySQL JSON compare them); strings are decoded and re-escaped
 * minimally so "\u00e9" and "é" are the same; object keys are sorted by their UTF-8
 * bytes and, as in jsonb and MySQL, the last of duplicate keys wins.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "util/str.h"

#define JSON_MAX_DEPTH 256

struct jparser {
	const char *p, *end;
	const char *err;
	int depth;
};

static void
skip_ws(struct jparser *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static bool parse_value(struct jparser *j, struct buf *out);

static int
hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit((unsigned char) p[i]);
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* parse_string_raw decodes a JSON string into raw UTF-8 bytes (without quotes). */
static bool
parse_string_raw(struct jparser *j, struct buf *raw)
{
	if (j->p >= j->end || *j->p != '"') {
		j->err = "expected a string";
		return false;
	}
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char) *j->p;
		if (c < 0x20) {
			j->err = "control character in string";
			return false;
		}
		if (c != '\\') {
			buf_append_char(raw, (char) c);
			j->p++;
			continue;
		}
		if (j->p + 1 >= j->end) {
			j->err = "unterminated escape";
			return false;
		}
		char e = j->p[1];
		j->p += 2;
		switch (e) {
		case '"': buf_append_char(raw, '"'); break;
		case '\\': buf_append_char(raw, '\\'); break;
		case '/': buf_append_char(raw, '/'); break;
		case 'b': buf_append_char(raw, '\b'); break;
		case 'f': buf_append_char(raw, '\f'); break;
		case 'n': buf_append_char(raw, '\n'); break;
		case 'r': buf_append_char(raw, '\r'); break;
		case 't': buf_append_char(raw, '\t'); break;
		case 'u': {
			if (j->end - j->p < 4 || hex4(j->p) < 0) {
				j->err = "bad \\u escape";
				return false;
			}
			unsigned cp = (unsigned) hex4(j->p);
			j->p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF && j->end - j->p >= 6 && j->p[0] == '\\' &&
			    j->p[1] == 'u' && hex4(j->p + 2) >= 0xDC00 && hex4(j->p + 2) <= 0xDFFF) {
				unsigned lo = (unsigned) hex4(j->p + 2);
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				j->p += 6;
			}
			buf_append_codepoint(raw, cp);
			break;
		}
		default:
			j->err = "bad escape in string";
			return false;
		}
	}
	if (j->p >= j->end) {
		j->err = "unterminated string";
		return false;
	}
	j->p++;
	return !raw->failed;
}

static bool
parse_string(struct jparser *j, struct buf *out)
{
	struct buf raw;
	buf_init(&raw);
	bool ok = parse_string_raw(j, &raw);
	if (ok)
		ok = buf_append_json_string(out, raw.data ? raw.data : "", raw.len);
	buf_free(&raw);
	return ok;
}

static bool
parse_number(struct jparser *j, struct buf *out)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && (isdigit((unsigned char) *j->p) || *j->p == '.' || *j->p == 'e' ||
				 *j->p == 'E' || *j->p == '+' || *j->p == '-'))
		j->p++;
	if (!canon_normalize_number(s, (size_t) (j->p - s), out)) {
		j->err = "bad number";
		return false;
	}
	return true;
}

struct member {
	char *key; /* raw UTF-8 key bytes */
	size_t keylen;
	char *value; /* canonical text of the value */
	size_t valuelen;
	size_t order;
};

static int
member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->key, y->key, n);
	if (c == 0)
		c = x->keylen < y->keylen ? -1 : x->keylen > y->keylen ? 1 : 0;
	if (c == 0) /* keep input order among duplicates so the last one can win */
		c = x->order < y->order ? -1 : 1;
	return c;
}

static bool
parse_object(struct jparser *j, struct buf *out)
{
	struct member *m = NULL;
	size_t n = 0;
	bool ok = false;
	j->p++; /* { */
	skip_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return buf_append(out, "{}", 2);
	}
	for (;;) {
		struct buf key, val;
		buf_init(&key);
		buf_init(&val);
		skip_ws(j);
		if (!parse_string_raw(j, &key)) {
			buf_free(&key);
			goto done;
		}
		skip_ws(j);
		if (j->p >= j->end || *j->p != ':') {
			j->err = "expected ':'";
			buf_free(&key);
			goto done;
		}
		j->p++;
		skip_ws(j);
		if (!parse_value(j, &val)) {
			buf_free(&key);
			buf_free(&val);
			goto done;
		}
		m = xrealloc(m, (n + 1) * sizeof(*m));
		m[n].keylen = key.len;
		m[n].key = buf_steal(&key);
		m[n].valuelen = val.len;
		m[n].value = buf_steal(&val);
		m[n].order = n;
		n++;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			break;
		}
		j->err = "expected ',' or '}'";
		goto done;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	buf_append_char(out, '{');
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		/* among equal keys only the last (highest order, sorted last) is kept */
		if (i + 1 < n && m[i].keylen == m[i + 1].keylen &&
		    memcmp(m[i].key, m[i + 1].key, m[i].keylen) == 0)
			continue;
		if (!first)
			buf_append_char(out, ',');
		first = false;
		buf_append_json_string(out, m[i].key, m[i].keylen);
		buf_append_char(out, ':');
		buf_append(out, m[i].value, m[i].valuelen);
	}
	ok = buf_append_char(out, '}');
done:
	for (size_t i = 0; i < n; i++) {
		free(m[i].key);
		free(m[i].value);
	}
	free(m);
	return ok;
}

static bool
parse_array(struct jparser *j, struct buf *out)
{
	j->p++; /* [ */
	buf_append_char(out, '[');
	skip_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		return buf_append_char(out, ']');
	}
	for (;;) {
		skip_ws(j);
		if (!parse_value(j, out))
			return false;
		skip_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			buf_append_char(out, ',');
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			return buf_append_char(out, ']');
		}
		j->err = "expected ',' or ']'";
		return false;
	}
}

static bool
parse_literal(struct jparser *j, const char *word, struct buf *out)
{
	size_t n = strlen(word);
	if ((size_t) (j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
		j->err = "unexpected token";
		return false;
	}
	j->p += n;
	return buf_append(out, word, n);
}

static bool
parse_value(struct jparser *j, struct buf *out)
{
	if (++j->depth > JSON_MAX_DEPTH) {
		j->err = "nested too deeply";
		return false;
	}
	bool ok;
	skip_ws(j);
	if (j->p >= j->end) {
		j->err = "unexpected end";
		ok = false;
	} else if (*j->p == '{')
		ok = parse_object(j, out);
	else if (*j->p == '[')
		ok = parse_array(j, out);
	else if (*j->p == '"')
		ok = parse_string(j, out);
	else if (*j->p == 't')
		ok = parse_literal(j, "true", out);
	else if (*j->p == 'f')
		ok = parse_literal(j, "false", out);
	else if (*j->p == 'n')
		ok = parse_literal(j, "null", out);
	else
		ok = parse_number(j, out);
	j->depth--;
	return ok;
}

bool
canon_canonical_json(const char *in, size_t len, struct buf *out, const char **err)
{
	struct jparser j = {in, in + len, NULL, 0};
	size_t before = out->len;
	bool ok = parse_value(&j, out);
	if (ok) {
		skip_ws(&j);
		if (j.p != j.end) {
			j.err = "trailing characters after JSON value";
			ok = false;
		}
	}
	if (!ok) {
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		*err = j.err ? j.err : "invalid JSON";
	}
	return ok;
}
