/*
 * report/report_text.c: escaping for HTML/XML and Prometheus, reading the JSON text the
 * audit stored (keys, column lists, bounds, options), and parsing the store's times.
 *
 * Every value a report shows comes from data we do not control: a text key can hold
 * `<script>`, a quote, a control byte or broken UTF-8. One escaping function serves HTML
 * and XML so there is one place to get right, and it is unit-tested.
 *
 * The JSON reader is our own, small and strict, rather than json-c: json-c clamps
 * integers beyond 64 bits, and a report must show a stored bound exactly as stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_internal.h"
#include "util/str.h"

/* --- markup -------------------------------------------------------------------------------- */

/* utf8_sequence returns the length of the valid UTF-8 sequence at s (1..4), 0 if invalid. */
static size_t
utf8_sequence(const unsigned char *s, size_t len)
{
	unsigned c = s[0];
	size_t n;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	unsigned cp = c & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond U+10FFFF, and U+FFFE/U+FFFF (not XML) */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || cp == 0xfffe ||
	    cp == 0xffff)
		return 0;
	return n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

bool
report_escape_markup(struct buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t i = 0;
	while (s && i < len) {
		unsigned char c = p[i];
		const char *rep = NULL;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		case '\t':
		case '\n':
		case '\r': break;
		default:
			if (c < 0x20 || c == 0x7f)
				rep = REPLACEMENT;
		}
		if (rep) {
			buf_append_str(b, rep);
			i++;
			continue;
		}
		size_t n = utf8_sequence(p + i, len - i);
		if (n == 0) {
			buf_append_str(b, REPLACEMENT);
			i++;
			continue;
		}
		buf_append(b, p + i, n);
		i += n;
	}
	return !b->failed;
}

bool
report_escape_markup_str(struct buf *b, const char *s)
{
	return report_escape_markup(b, s, s ? strlen(s) : 0);
}

bool
report_escape_prom_label(struct buf *b, const char *s)
{
	for (const char *p = s; p && *p; p++) {
		switch (*p) {
		case '\\': buf_append_str(b, "\\\\"); break;
		case '"': buf_append_str(b, "\\\""); break;
		case '\n': buf_append_str(b, "\\n"); break;
		default: buf_append_char(b, *p);
		}
	}
	return !b->failed;
}

/* --- JSON ----------------------------------------------------------------------------------- */

#define JSON_MAX_DEPTH 64

struct jscan {
	const char *p;
	int depth;
};

static void
ws(struct jscan *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		int d = hex_digit(p[i]);
		if (d < 0)
			return false;
		v = v * 16 + (unsigned) d;
	}
	*out = v;
	return true;
}

/* scan_string reads a string at j->p ('"'), decoding into out when out is not NULL. */
static bool
scan_string(struct jscan *j, struct buf *out)
{
	if (*j->p != '"')
		return false;
	j->p++;
	for (;;) {
		unsigned char c = (unsigned char) *j->p;
		if (c == '"') {
			j->p++;
			return true;
		}
		if (c < 0x20) /* includes the terminating NUL */
			return false;
		if (c != '\\') {
			if (out)
				buf_append_char(out, (char) c);
			j->p++;
			continue;
		}
		char e = j->p[1];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != '\0' && simple) {
			static const char decoded[] = "\"\\/\b\f\n\r\t";
			if (out)
				buf_append_char(out, decoded[simple - "\"\\/bfnrt"]);
			j->p += 2;
			continue;
		}
		if (e != 'u')
			return false;
		unsigned cp;
		if (!hex4(j->p + 2, &cp))
			return false;
		j->p += 6;
		if (cp >= 0xd800 && cp <= 0xdbff) {
			unsigned lo;
			if (j->p[0] != '\\' || j->p[1] != 'u' || !hex4(j->p + 2, &lo) || lo < 0xdc00 ||
			    lo > 0xdfff)
				return false;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			j->p += 6;
		} else if (cp >= 0xdc00 && cp <= 0xdfff) {
			return false;
		}
		if (out)
			buf_append_codepoint(out, cp);
	}
}

static bool
scan_number(struct jscan *j)
{
	const char *p = j->p;
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	return true;
}

static bool scan_value(struct jscan *j);

static bool
scan_container(struct jscan *j, char close, bool object)
{
	if (++j->depth > JSON_MAX_DEPTH)
		return false;
	j->p++;
	ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		if (object) {
			if (!scan_string(j, NULL))
				return false;
			ws(j);
			if (*j->p != ':')
				return false;
			j->p++;
			ws(j);
		}
		if (!scan_value(j))
			return false;
		ws(j);
		if (*j->p == ',') {
			j->p++;
			ws(j);
			continue;
		}
		if (*j->p != close)
			return false;
		j->p++;
		j->depth--;
		return true;
	}
}

static bool
scan_value(struct jscan *j)
{
	switch (*j->p) {
	case '{': return scan_container(j, '}', true);
	case '[': return scan_container(j, ']', false);
	case '"': return scan_string(j, NULL);
	case 't': return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, true) : false;
	case 'f': return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, true) : false;
	case 'n': return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, true) : false;
	default: return scan_number(j);
	}
}

bool
report_json_valid(const char *s)
{
	if (s == NULL)
		return false;
	struct jscan j = {s, 0};
	ws(&j);
	if (!scan_value(&j))
		return false;
	ws(&j);
	return *j.p == '\0';
}

/* read_value appends a value to out: a string decoded, anything else as its JSON text;
 * true when it was a string */
static bool
read_value(struct jscan *j, struct buf *out)
{
	if (*j->p == '"') {
		scan_string(j, out);
		return true;
	}
	const char *start = j->p;
	scan_value(j);
	buf_append(out, start, (size_t) (j->p - start));
	return false;
}

bool
report_json_each_member(const char *s, json_member_fn fn, void *ctx)
{
	if (!report_json_valid(s))
		return false;
	struct jscan j = {s, 0};
	struct buf name, value;
	buf_init(&name);
	buf_init(&value);
	bool ok = false;
	ws(&j);
	if (*j.p != '{')
		goto cleanup;
	j.p++;
	ws(&j);
	while (*j.p == '"') {
		buf_reset(&name);
		buf_reset(&value);
		scan_string(&j, &name);
		ws(&j);
		j.p++; /* ':' (checked by report_json_valid) */
		ws(&j);
		bool is_string = read_value(&j, &value);
		if (!fn(ctx, buf_cstr(&name), buf_cstr(&value), is_string))
			break;
		ws(&j);
		if (*j.p == ',') {
			j.p++;
			ws(&j);
		}
	}
	ok = true;
cleanup:
	buf_free(&name);
	buf_free(&value);
	return ok;
}

bool
report_json_each_string(const char *s, bool (*fn)(void *ctx, const char *v), void *ctx)
{
	if (!report_json_valid(s))
		return false;
	struct jscan j = {s, 0};
	struct buf v;
	buf_init(&v);
	bool ok = false;
	ws(&j);
	if (*j.p != '[')
		goto cleanup;
	j.p++;
	ws(&j);
	while (*j.p != ']') {
		buf_reset(&v);
		read_value(&j, &v);
		if (!fn(ctx, buf_cstr(&v)))
			break;
		ws(&j);
		if (*j.p == ',') {
			j.p++;
			ws(&j);
		}
	}
	ok = true;
cleanup:
	buf_free(&v);
	return ok;
}

/* --- time ----------------------------------------------------------------------------------- */

bool
report_parse_time(const char *s, double *epoch)
{
	int y, mo, d, h, mi, sec, used = 0;
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return false;
	double frac = 0, scale = 0.1;
	const char *p = s + used;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			frac += (*p - '0') * scale;
	}
	if (*p != 'Z' || p[1] != '\0')
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = sec};
	*epoch = (double) timegm(&tm) + frac;
	return true;
}
