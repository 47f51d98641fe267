/*
 * core/canon.c: canonical encoding of booleans, numbers, floats, text, binary and uuid,
 * the compare-type rules, key ordering and display. Dates and times are in
 * canon_time.c, JSON in canon_json.c.
 */
#include "core/canon.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon_internal.h"

static const char *type_names[CANON_TYPE_COUNT] = {
	[CANON_NULL] = "null",	     [CANON_BOOL] = "bool",	    [CANON_NUMBER] = "number",
	[CANON_FLOAT] = "float",     [CANON_TEXT] = "text",	    [CANON_BINARY] = "binary",
	[CANON_DATE] = "date",	     [CANON_TIME] = "time",	    [CANON_TIMESTAMP] = "timestamp",
	[CANON_UUID] = "uuid",	     [CANON_JSON] = "json",	    [CANON_INVALID] = "invalid",
};

struct canon_opts
canon_opts_default(void)
{
	struct canon_opts o = {
		.float_digits = 15,
		.frac_digits = 6,
		.zone_offset_sec = 0,
		.trim_trailing = false,
		.casefold = false,
	};
	return o;
}

const char *
canon_type_name(enum canon_type t)
{
	return (t >= 0 && t < CANON_TYPE_COUNT) ? type_names[t] : "?";
}

enum canon_type
canon_type_from_name(const char *name)
{
	for (int t = CANON_BOOL; t < CANON_TYPE_COUNT; t++)
		if (strcmp(type_names[t], name) == 0)
			return (enum canon_type) t;
	return CANON_NULL;
}

enum canon_type
canon_unify(enum canon_type a, enum canon_type b)
{
	if (a == b)
		return a;
	if (a > b) {
		enum canon_type t = a;
		a = b;
		b = t;
	}
	/* from here a < b in enum order */
	if (a == CANON_BOOL && b == CANON_NUMBER)
		return CANON_BOOL;
	if (a == CANON_NUMBER && b == CANON_FLOAT)
		return CANON_FLOAT;
	if (a == CANON_DATE && b == CANON_TIMESTAMP)
		return CANON_TIMESTAMP;
	if (a == CANON_TEXT && b != CANON_BINARY && b != CANON_INVALID)
		return b;
	if (b == CANON_TEXT && a != CANON_BINARY)
		return a;
	return CANON_NULL;
}

/* --- booleans ---------------------------------------------------------------------- */

static bool
encode_bool(const char *in, size_t len, struct buf *out, const char **err)
{
	if (len == 4 && memcmp(in, "true", 4) == 0) /* JSON */
		return buf_append(out, "true", 4);
	if (len == 5 && memcmp(in, "false", 5) == 0)
		return buf_append(out, "false", 5);
	if (len == 1) { /* the usual spellings: t/f (PostgreSQL), 1/0 (MySQL) */
		switch (in[0]) {
		case 't': case 'T': case '1': case 'y': case 'Y':
			return buf_append(out, "true", 4);
		case 'f': case 'F': case '0': case 'n': case 'N':
			return buf_append(out, "false", 5);
		default:
			*err = "not a boolean";
			return false;
		}
	}
	static const char *truthy[] = {"t", "true", "1", "y", "yes", "on"};
	static const char *falsy[] = {"f", "false", "0", "n", "no", "off"};
	for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++)
		if (len == strlen(truthy[i]) && strncasecmp(in, truthy[i], len) == 0)
			return buf_append(out, "true", 4);
	for (size_t i = 0; i < sizeof(falsy) / sizeof(falsy[0]); i++)
		if (len == strlen(falsy[i]) && strncasecmp(in, falsy[i], len) == 0)
			return buf_append(out, "false", 5);
	*err = "not a boolean";
	return false;
}

/* --- exact numbers ---------------------------------------------------------------- */

/*
 * canon_normalize_number turns [+-]digits[.digits][e[+-]digits] into the normalized
 * decimal. It works on the text alone, never through a double, so DECIMAL(38,10) and
 * BIGINT UNSIGNED keep every digit. NaN and infinities (PostgreSQL numeric) pass as words.
 */
/*
 * normal_form: is the text already the normalized decimal ([-]int[.frac], no leading or
 * trailing zeros, no "-0")? What engines print for integers and most decimals is.
 */
static bool
normal_form(const char *p, size_t len)
{
	const char *end = p + len;
	bool neg = p < end && *p == '-';
	p += neg;
	if (p >= end || *p < '0' || *p > '9')
		return false;
	bool zero = *p == '0';
	p++;
	if (!zero)
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	if (p == end)
		return !(zero && neg);
	if (*p != '.' || ++p == end)
		return false;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p == end && end[-1] != '0';
}

bool
canon_normalize_number(const char *in, size_t len, struct buf *out)
{
	if (normal_form(in, len))
		return buf_append(out, in, len);
	const char *p = in, *end = in + len;
	while (p < end && isspace((unsigned char) *p))
		p++;
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	bool neg = false;
	if (p < end && (*p == '+' || *p == '-')) {
		neg = *p == '-';
		p++;
	}
	size_t rest = (size_t) (end - p);
	if (rest == 3 && strncasecmp(p, "nan", 3) == 0)
		return buf_append_str(out, "NaN");
	if ((rest == 8 && strncasecmp(p, "infinity", 8) == 0) ||
	    (rest == 3 && strncasecmp(p, "inf", 3) == 0))
		return buf_append_str(out, neg ? "-Infinity" : "Infinity");

	const char *int_start = p;
	while (p < end && isdigit((unsigned char) *p))
		p++;
	const char *int_end = p;
	const char *frac_start = p, *frac_end = p;
	if (p < end && *p == '.') {
		p++;
		frac_start = p;
		while (p < end && isdigit((unsigned char) *p))
			p++;
		frac_end = p;
	}
	if (int_end == int_start && frac_end == frac_start)
		return false; /* no digits at all */
	long exp = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		bool eneg = false;
		if (p < end && (*p == '+' || *p == '-')) {
			eneg = *p == '-';
			p++;
		}
		if (p == end)
			return false;
		while (p < end && isdigit((unsigned char) *p)) {
			exp = exp * 10 + (*p - '0');
			if (exp > 4096)
				return false; /* beyond any engine's decimal range */
			p++;
		}
		if (eneg)
			exp = -exp;
	}
	if (p != end)
		return false;

	/* digits = int digits + frac digits; the decimal point sits after `point` digits */
	char small[128];
	size_t ndigits = (size_t) (int_end - int_start) + (size_t) (frac_end - frac_start);
	char *digits = ndigits < sizeof(small) ? small : malloc(ndigits + 1);
	if (digits == NULL)
		return false;
	memcpy(digits, int_start, (size_t) (int_end - int_start));
	memcpy(digits + (int_end - int_start), frac_start, (size_t) (frac_end - frac_start));
	long point = (long) (int_end - int_start) + exp;

	/* strip leading zeros (they move the point) and trailing zeros after the point */
	size_t first = 0;
	while (first < ndigits && digits[first] == '0') {
		first++;
		point--;
	}
	size_t last = ndigits;
	while (last > first && digits[last - 1] == '0' && (long) (last - first) > point)
		last--;
	bool ok = true;
	if (first == last) {
		ok = buf_append_char(out, '0'); /* zero, whatever its sign or scale */
	} else {
		long n = (long) (last - first);
		if (neg)
			buf_append_char(out, '-');
		if (point <= 0) {
			buf_append(out, "0.", 2);
			for (long i = 0; i < -point; i++)
				buf_append_char(out, '0');
			buf_append(out, digits + first, (size_t) n);
		} else if (point >= n) {
			buf_append(out, digits + first, (size_t) n);
			for (long i = n; i < point; i++)
				buf_append_char(out, '0');
		} else {
			buf_append(out, digits + first, (size_t) point);
			buf_append_char(out, '.');
			buf_append(out, digits + first + point, (size_t) (n - point));
		}
		ok = !out->failed;
	}
	if (digits != small)
		free(digits);
	return ok;
}

/* --- floats ----------------------------------------------------------------------- */

/* put_exponent writes "e<X>" at out (room for 24 bytes) without printf; returns its length */
static size_t
put_exponent(char *out, long x)
{
	char tmp[24];
	int n = 0;
	size_t k = 0;
	unsigned long u = x < 0 ? (unsigned long) -x : (unsigned long) x;
	do {
		tmp[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u);
	out[k++] = 'e';
	if (x < 0)
		out[k++] = '-';
	while (n > 0)
		out[k++] = tmp[--n];
	return k;
}

/* append_exponent: put_exponent on a buffer (the hot path of float columns) */
static void
append_exponent(struct buf *out, long x)
{
	char e[24];
	buf_append(out, e, put_exponent(e, x));
}

/*
 * boundary_side says on which side of the rounding boundary B the double nearest to the
 * text lies: B is the kept digits d[0..digits) followed by a 5, times 10^(x-digits).
 * Rounding to nearest is monotonic, so with b = strtod(B): a double above b is above B
 * itself (it is at least b's successor, and B lies below the midpoint of b and that
 * successor), and one below b is below B. Equal says nothing (B may lie either side of
 * its own double): 0, and printf decides. Two strtod calls cost a fraction of printf's
 * exact binary-to-decimal conversion.
 */
static int
boundary_side(const char *in, size_t len, const char *d, int digits, long x)
{
	char text[128], bound[64];
	if (len >= sizeof(text))
		return 0;
	memcpy(text, in, len);
	text[len] = '\0';
	double v = fabs(strtod(text, NULL));
	memcpy(bound, d, (size_t) digits);
	bound[digits] = '5';
	bound[(size_t) digits + 1 + put_exponent(bound + digits + 1, x - digits)] = '\0';
	double b = strtod(bound, NULL);
	return v > b ? 1 : v < b ? -1 : 0;
}

/*
 * float_from_text is encode_float's fast path: it rounds the decimal text itself to
 * `digits` significant digits, without printf. It must give exactly what the double path
 * gives, and it does whenever the rounding direction of the text is the rounding
 * direction of the nearest double: that double is within half an ulp (2^-53 relative)
 * of the text, which, for a text m.mmm x 10^x with leading digit d0 (m < d0 + 1), is at
 * most 1.12e-16 * (d0 + 1) * 10^(digits-1) units of the last kept digit. So when the
 * discarded part is farther than that from one half, both round the same way; when it
 * is nearer, boundary_side compares the double with the boundary. For more than 15
 * digits, exotic input, or a double that is the boundary's own, it returns false and the
 * double path decides.
 */
static bool
float_from_text(const char *in, size_t len, int digits, struct buf *out)
{
	const char *p = in, *end = in + len;
	if (digits > 15)
		return false;
	bool neg = false;
	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	char d[40];
	int n = 0;
	long point = 0; /* digits before the decimal point, among the significant ones */
	bool seen_point = false, any = false;
	long lead_zeros_after_point = 0;
	for (; p < end; p++) {
		if (*p >= '0' && *p <= '9') {
			any = true;
			if (n == 0 && *p == '0') {
				if (seen_point)
					lead_zeros_after_point++;
				continue;
			}
			if (n >= (int) sizeof(d))
				return false;
			d[n++] = *p;
			if (!seen_point)
				point++;
		} else if (*p == '.' && !seen_point) {
			seen_point = true;
		} else {
			break;
		}
	}
	long exp10 = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		bool eneg = false;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end)
			return false;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			exp10 = exp10 * 10 + (*p - '0');
			if (exp10 > 1000)
				return false;
		}
		if (eneg)
			exp10 = -exp10;
	}
	if (p != end || !any)
		return false;
	while (n > 0 && d[n - 1] == '0')
		n--;
	if (n == 0)
		return buf_append_char(out, '0');
	/* value = d[0].d[1..] x 10^x */
	long x = (point > 0 ? point - 1 : -lead_zeros_after_point - 1) + exp10;
	if (x > 300 || x < -300)
		return false; /* near the limits of doubles: let strtod decide */
	if (n > digits) {
		double f = 0, scale = 0.1;
		for (int i = digits; i < n && i < digits + 18; i++, scale /= 10)
			f += (d[i] - '0') * scale;
		double margin = 1.2e-16 * (d[0] - '0' + 1);
		for (int i = 1; i < digits; i++)
			margin *= 10;
		bool up = f > 0.5;
		if (f - 0.5 <= margin && 0.5 - f <= margin) {
			int side = boundary_side(in, len, d, digits, x);
			if (side == 0)
				return false;
			up = side > 0;
		}
		n = digits;
		if (up) {
			int i = n - 1;
			while (i >= 0 && d[i] == '9')
				d[i--] = '0';
			if (i < 0) {
				d[0] = '1';
				n = 1;
				x++;
			} else {
				d[i]++;
			}
		}
		while (n > 0 && d[n - 1] == '0')
			n--;
	}
	if (neg)
		buf_append_char(out, '-');
	buf_append_char(out, d[0]);
	if (n > 1) {
		buf_append_char(out, '.');
		buf_append(out, d + 1, (size_t) n - 1);
	}
	append_exponent(out, x);
	return !out->failed;
}

/*
 * encode_float rounds to float_digits significant digits in scientific notation. Going
 * through a double is right here: both engines store IEEE values, and the digit count
 * is what absorbs single-vs-double and shortest-text differences.
 */
static bool
encode_float(const struct canon_opts *o, const char *in, size_t len, struct buf *out,
	     const char **err)
{
	int digits = o->float_digits > 0 && o->float_digits <= 17 ? o->float_digits : 15;
	size_t before = out->len;
	if (float_from_text(in, len, digits, out))
		return true;
	out->len = before;
	if (out->data)
		out->data[before] = '\0';
	char tmp[128];
	if (len == 0 || len >= sizeof(tmp)) {
		*err = "not a float";
		return false;
	}
	memcpy(tmp, in, len);
	tmp[len] = '\0';
	char *end = NULL;
	errno = 0;
	double v = strtod(tmp, &end);
	while (end && isspace((unsigned char) *end))
		end++;
	if (end == NULL || end == tmp || *end != '\0') {
		*err = "not a float";
		return false;
	}
	if (isnan(v))
		return buf_append_str(out, "NaN");
	if (isinf(v))
		return buf_append_str(out, v < 0 ? "-Infinity" : "Infinity");
	if (v == 0)
		return buf_append_char(out, '0');
	char s[64];
	snprintf(s, sizeof(s), "%.*e", digits - 1, v);
	/* s = [-]d.ddddde[+-]XX: trim mantissa zeros, print exponent as a plain integer */
	char *e = strchr(s, 'e');
	if (e == NULL) {
		*err = "not a float";
		return false;
	}
	char *m_end = e;
	while (m_end > s && m_end[-1] == '0')
		m_end--;
	if (m_end > s && m_end[-1] == '.')
		m_end--;
	buf_append(out, s, (size_t) (m_end - s));
	append_exponent(out, strtol(e + 1, NULL, 10));
	return !out->failed;
}

/* --- text, binary, uuid ------------------------------------------------------------- */

static bool
encode_text(const struct canon_opts *o, const char *in, size_t len, struct buf *out)
{
	if (o->trim_trailing)
		while (len > 0 && in[len - 1] == ' ')
			len--;
	if (!o->casefold)
		return buf_append(out, in, len);
	if (!buf_reserve(out, len) || out->data == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		out->data[out->len + i] = (char) tolower((unsigned char) in[i]);
	out->len += len;
	out->data[out->len] = '\0';
	return true;
}

/* lowercase hex digit of c, or 0 when c is not one (the uuid hot path: no locale calls) */
static char
hex_lower(unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
		return (char) c;
	if (c >= 'A' && c <= 'F')
		return (char) (c - 'A' + 'a');
	return 0;
}

static bool
encode_uuid(const char *in, size_t len, struct buf *out, const char **err)
{
	char hex[32];
	size_t n = 0;
	const char *p = in, *end = in + len;
	if (p < end && *p == '{' && end[-1] == '}') {
		p++;
		end--;
	}
	for (; p < end; p++) {
		if (*p == '-')
			continue;
		char h = hex_lower((unsigned char) *p);
		if (h == 0 || n == 32) {
			*err = "not a uuid";
			return false;
		}
		hex[n++] = h;
	}
	if (n != 32) {
		*err = "not a uuid";
		return false;
	}
	char s[36];
	memcpy(s, hex, 8);
	s[8] = '-';
	memcpy(s + 9, hex + 8, 4);
	s[13] = '-';
	memcpy(s + 14, hex + 12, 4);
	s[18] = '-';
	memcpy(s + 19, hex + 16, 4);
	s[23] = '-';
	memcpy(s + 24, hex + 20, 12);
	return buf_append(out, s, sizeof(s));
}

bool
canon_encode(enum canon_type t, const struct canon_opts *o, const char *in, size_t len,
	     struct buf *out, const char **err)
{
	*err = NULL;
	switch (t) {
	case CANON_BOOL:
		return encode_bool(in, len, out, err);
	case CANON_NUMBER: {
		size_t before = out->len;
		if (canon_normalize_number(in, len, out))
			return true;
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		*err = "not a number";
		return false;
	}
	case CANON_FLOAT:
		return encode_float(o, in, len, out, err);
	case CANON_TEXT:
		return encode_text(o, in, len, out);
	case CANON_BINARY:
	case CANON_INVALID:
		return buf_append(out, in, len);
	case CANON_UUID:
		return encode_uuid(in, len, out, err);
	case CANON_DATE:
		return canon_encode_date(in, len, out, err);
	case CANON_TIME:
		return canon_encode_time(o, in, len, out, err);
	case CANON_TIMESTAMP:
		return canon_encode_timestamp(o, in, len, out, err);
	case CANON_JSON:
		return canon_canonical_json(in, len, out, err);
	case CANON_NULL:
	case CANON_TYPE_COUNT:
		break;
	}
	*err = "unknown canonical type";
	return false;
}

/* --- ordering ---------------------------------------------------------------------- */

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* number_cmp orders normalized decimals: sign, integer digit count, then digits. */
static int
number_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	bool an = alen > 0 && a[0] == '-', bn = blen > 0 && b[0] == '-';
	if (an != bn)
		return an ? -1 : 1;
	if (an) {
		a++, alen--, b++, blen--;
	}
	const char *adot = memchr(a, '.', alen), *bdot = memchr(b, '.', blen);
	size_t ai = adot ? (size_t) (adot - a) : alen;
	size_t bi = bdot ? (size_t) (bdot - b) : blen;
	/* canonical "0.x" has integer part "0": treat as zero-length integer part */
	size_t ail = (ai == 1 && a[0] == '0') ? 0 : ai;
	size_t bil = (bi == 1 && b[0] == '0') ? 0 : bi;
	int c;
	if (ail != bil)
		c = ail < bil ? -1 : 1;
	else {
		c = bytes_cmp(a, ai, b, bi);
		if (c == 0)
			c = bytes_cmp(a + ai, alen - ai, b + bi, blen - bi);
	}
	return an ? -c : c;
}

int
canon_compare(enum canon_type t, const char *a, size_t alen, const char *b, size_t blen)
{
	switch (t) {
	case CANON_NUMBER:
		return number_cmp(a, alen, b, blen);
	case CANON_FLOAT: {
		char x[64] = {0}, y[64] = {0};
		memcpy(x, a, alen < sizeof(x) - 1 ? alen : sizeof(x) - 1);
		memcpy(y, b, blen < sizeof(y) - 1 ? blen : sizeof(y) - 1);
		double dx = strtod(x, NULL), dy = strtod(y, NULL);
		return dx < dy ? -1 : dx > dy ? 1 : 0;
	}
	case CANON_BOOL: /* "false" < "true" by bytes, as engines order booleans */
	default:
		return bytes_cmp(a, alen, b, blen);
	}
}

bool
canon_display(enum canon_type t, const char *v, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789abcdef";
	if (t != CANON_BINARY && t != CANON_INVALID)
		return buf_append(out, v, len);
	buf_append(out, "\\x", 2);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) v[i];
		char h[2] = {hex[c >> 4], hex[c & 15]};
		buf_append(out, h, 2);
	}
	return !out->failed;
}
