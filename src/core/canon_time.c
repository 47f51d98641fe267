/*
 * core/canon_time.c: dates, times and timestamps to their canonical text.
 *
 * Engines print temporal values differently (PostgreSQL "2024-01-02 03:04:05.5+00",
 * MySQL "2024-01-02 03:04:05.500000", OpenSearch "2024-01-02T03:04:05.500Z" or epoch
 * milliseconds). All of them parse to one broken-down value here; timestamps then become
 * an instant in UTC (zone-less ones taken at the configured offset) printed at a fixed
 * fractional precision, so that equal instants give equal bytes and the text sorts
 * chronologically. The calendar arithmetic is Howard Hinnant's days_from_civil, which is
 * exact for the proleptic Gregorian calendar that PostgreSQL and MySQL both use.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/canon.h"
#include "core/canon_internal.h"

int64_t
canon_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned) (y - era * 400);
	const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t) doe - 719468;
}

void
canon_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned) (z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t) yoe + era * 400 + (*m <= 2);
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

struct dt {
	int special;	 /* 0, +1 infinity, -1 -infinity */
	int64_t year;	 /* astronomical */
	unsigned mon, day;
	bool has_date;
	bool has_time;
	int64_t hour;	 /* may exceed 24 or be negative for MySQL TIME */
	bool neg_time;
	unsigned min, sec;
	char frac[10];	 /* up to 9 digits, NUL-terminated */
	bool has_zone;
	int zone_sec;	 /* east of UTC */
	bool epoch_ms;	 /* the text was epoch milliseconds */
	int64_t epoch;	 /* milliseconds, when epoch_ms */
};

struct cursor {
	const char *p, *end;
};

static bool
read_uint(struct cursor *c, int min_digits, int max_digits, int64_t *out)
{
	int n = 0;
	int64_t v = 0;
	while (c->p < c->end && isdigit((unsigned char) *c->p) && n < max_digits) {
		v = v * 10 + (*c->p - '0');
		c->p++;
		n++;
	}
	*out = v;
	return n >= min_digits;
}

static bool
accept(struct cursor *c, char ch)
{
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

static bool
accept_word(struct cursor *c, const char *w)
{
	size_t n = strlen(w);
	if ((size_t) (c->end - c->p) >= n && strncasecmp(c->p, w, n) == 0) {
		c->p += n;
		return true;
	}
	return false;
}

static bool
read_zone(struct cursor *c, struct dt *t)
{
	/* "yyyy/MM/dd HH:mm:ss Z" puts the offset after a space */
	if (c->end - c->p > 1 && c->p[0] == ' ' &&
	    (c->p[1] == '+' || c->p[1] == '-' || c->p[1] == 'Z'))
		c->p++;
	if (accept(c, 'Z') || accept(c, 'z')) {
		t->has_zone = true;
		t->zone_sec = 0;
		return true;
	}
	if (c->p < c->end && (*c->p == '+' || *c->p == '-')) {
		int sign = *c->p == '-' ? -1 : 1;
		c->p++;
		int64_t h = 0, m = 0, s = 0;
		if (!read_uint(c, 2, 2, &h))
			return false;
		accept(c, ':');
		if (c->p < c->end && isdigit((unsigned char) *c->p)) {
			if (!read_uint(c, 2, 2, &m))
				return false;
			accept(c, ':');
			if (c->p < c->end && isdigit((unsigned char) *c->p) && !read_uint(c, 2, 2, &s))
				return false;
		}
		if (h > 15 || m > 59 || s > 59)
			return false;
		t->has_zone = true;
		t->zone_sec = sign * (int) (h * 3600 + m * 60 + s);
		return true;
	}
	if (accept_word(c, " UTC") || accept_word(c, " GMT")) {
		t->has_zone = true;
		t->zone_sec = 0;
	}
	return true;
}

/* read_clock parses [-]H+:MM[:SS[.frac]] */
static bool
read_clock(struct cursor *c, struct dt *t, int max_hour_digits)
{
	t->neg_time = accept(c, '-');
	int64_t h, m, s = 0;
	if (!read_uint(c, 1, max_hour_digits, &h) || !accept(c, ':') || !read_uint(c, 2, 2, &m))
		return false;
	if (accept(c, ':') && !read_uint(c, 2, 2, &s))
		return false;
	t->hour = h;
	t->min = (unsigned) m;
	t->sec = (unsigned) s;
	t->frac[0] = '\0';
	if (accept(c, '.') || accept(c, ',')) {
		int n = 0;
		while (c->p < c->end && isdigit((unsigned char) *c->p)) {
			if (n < 9)
				t->frac[n++] = *c->p;
			c->p++;
		}
		t->frac[n] = '\0';
	}
	t->has_time = true;
	return m <= 59 && s <= 59;
}

static bool
all_digits(const char *p, const char *end)
{
	if (p < end && *p == '-')
		p++;
	if (p == end)
		return false;
	for (; p < end; p++)
		if (!isdigit((unsigned char) *p))
			return false;
	return true;
}

/*
 * parse_datetime reads a date, a timestamp, or epoch milliseconds (a bare integer, as
 * OpenSearch sort values and epoch_millis fields give). *err names the problem.
 */
static bool
parse_datetime(const char *in, size_t len, struct dt *t, const char **err)
{
	memset(t, 0, sizeof(*t));
	struct cursor c = {in, in + len};
	while (c.p < c.end && isspace((unsigned char) *c.p))
		c.p++;
	while (c.end > c.p && isspace((unsigned char) c.end[-1]))
		c.end--;
	*err = "not a date/time";
	if (accept_word(&c, "infinity") || accept_word(&c, "+infinity")) {
		t->special = 1;
		return c.p == c.end;
	}
	if (accept_word(&c, "-infinity")) {
		t->special = -1;
		return c.p == c.end;
	}
	if (c.end - c.p > 5 && all_digits(c.p, c.end)) {
		bool neg = accept(&c, '-');
		int64_t v;
		if (!read_uint(&c, 1, 18, &v) || c.p != c.end)
			return false;
		t->epoch_ms = true;
		t->epoch = neg ? -v : v;
		return true;
	}
	int64_t y, mo, d;
	/* ISO "2024-01-02", or "2024/01/02": OpenSearch's dynamic date detection formats
	 * are strict_date_optional_time and "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z" */
	char sep = 0;
	if (!read_uint(&c, 4, 7, &y))
		return false;
	if (accept(&c, '-'))
		sep = '-';
	else if (accept(&c, '/'))
		sep = '/';
	if (sep == 0 || !read_uint(&c, 1, 2, &mo) || !accept(&c, sep) || !read_uint(&c, 1, 2, &d))
		return false;
	if (y == 0 && mo == 0 && d == 0) {
		*err = "zero date (MySQL 0000-00-00) has no calendar value";
		return false;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned) mo)) {
		*err = "date out of range";
		return false;
	}
	t->has_date = true;
	t->year = y;
	t->mon = (unsigned) mo;
	t->day = (unsigned) d;
	if (c.p < c.end && (*c.p == 'T' || *c.p == 't' || *c.p == ' ') && c.p + 1 < c.end &&
	    isdigit((unsigned char) c.p[1])) {
		c.p++;
		if (!read_clock(&c, t, 2) || t->neg_time || t->hour > 24)
			return false;
		if (!read_zone(&c, t))
			return false;
	} else if (sep == '/' && c.end - c.p > 1 && c.p[0] == ' ' &&
		   (c.p[1] == '+' || c.p[1] == '-' || c.p[1] == 'Z')) {
		if (!read_zone(&c, t)) /* "yyyy/MM/dd Z": midnight at that offset */
			return false;
	}
	if (accept_word(&c, " BC"))
		t->year = 1 - t->year; /* 1 BC is year 0 */
	if (c.p != c.end)
		return false;
	return true;
}

static void
append_frac(struct buf *out, const char *frac, int digits)
{
	if (digits <= 0)
		return;
	char f[10];
	size_t n = strlen(frac);
	for (int i = 0; i < digits && i < 9; i++)
		f[i] = (size_t) i < n ? frac[i] : '0';
	buf_append_char(out, '.');
	buf_append(out, f, (size_t) (digits < 9 ? digits : 9));
}

/* put2 appends a two-digit field: the hot path avoids printf. */
static void
put2(struct buf *out, char sep, int64_t v)
{
	char s[3] = {sep, (char) ('0' + v / 10 % 10), (char) ('0' + v % 10)};
	if (sep)
		buf_append(out, s, 3);
	else
		buf_append(out, s + 1, 2);
}

static void
append_year(struct buf *out, int64_t y)
{
	if (y >= 0 && y <= 9999) {
		char s[4] = {(char) ('0' + y / 1000), (char) ('0' + y / 100 % 10),
			     (char) ('0' + y / 10 % 10), (char) ('0' + y % 10)};
		buf_append(out, s, 4);
	} else if (y < 0) {
		buf_printf(out, "-%04lld", (long long) -y);
	} else {
		buf_printf(out, "+%lld", (long long) y);
	}
}

/* append_clock writes HH:MM:SS (hours may have more digits: MySQL TIME). */
static void
append_clock(struct buf *out, int64_t secs)
{
	int64_t h = secs / 3600;
	if (h < 100)
		put2(out, 0, h);
	else
		buf_printf(out, "%lld", (long long) h);
	put2(out, ':', secs / 60 % 60);
	put2(out, ':', secs % 60);
}

bool
canon_encode_date(const char *in, size_t len, struct buf *out, const char **err)
{
	struct dt t;
	if (!parse_datetime(in, len, &t, err))
		return false;
	if (t.special)
		return buf_append_str(out, t.special > 0 ? "infinity" : "-infinity");
	int64_t y = t.year;
	unsigned m = t.mon, d = t.day;
	if (t.epoch_ms) {
		int64_t days = t.epoch / 86400000 - (t.epoch % 86400000 < 0);
		canon_civil_from_days(days, &y, &m, &d);
	} else if (t.has_time && (t.hour || t.min || t.sec || strspn(t.frac, "0") != strlen(t.frac))) {
		*err = "date with a time of day";
		return false;
	}
	append_year(out, y);
	put2(out, '-', m);
	put2(out, '-', d);
	return !out->failed;
}

static inline bool
digits_at(const char *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

static inline unsigned
num2(const char *p)
{
	return (unsigned) (p[0] - '0') * 10 + (unsigned) (p[1] - '0');
}

/*
 * utc_fast: what engines print for an instant in UTC ("YYYY-MM-DD HH:MM:SS[.f]" taken at
 * offset 0, or ending in "Z", "+00" or "+00:00"; 'T' or ' ' between date and time) holds
 * the canonical fields already: check them and write them, without calendar arithmetic.
 * Anything else (other offsets, years outside 1..9999, 24:00, odd forms) returns false
 * having written nothing, and the general parse decides.
 */
static bool
utc_fast(const struct canon_opts *o, const char *in, size_t len, struct buf *out)
{
	if (len < 19 || len > 40 || !digits_at(in, 4) || in[4] != '-' || !digits_at(in + 5, 2) ||
	    in[7] != '-' || !digits_at(in + 8, 2) || (in[10] != ' ' && in[10] != 'T') ||
	    !digits_at(in + 11, 2) || in[13] != ':' || !digits_at(in + 14, 2) || in[16] != ':' ||
	    !digits_at(in + 17, 2))
		return false;
	const char *p = in + 19, *end = in + len, *frac = p;
	size_t nfrac = 0;
	if (p < end && *p == '.') {
		frac = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		nfrac = (size_t) (p - frac);
		if (nfrac == 0 || nfrac > 9)
			return false;
	}
	size_t zone = (size_t) (end - p);
	if (zone == 0 ? o->zone_offset_sec != 0
		      : !((zone == 1 && *p == 'Z') || (zone == 3 && memcmp(p, "+00", 3) == 0) ||
			  (zone == 6 && memcmp(p, "+00:00", 6) == 0)))
		return false;
	int64_t y = (int64_t) num2(in) * 100 + num2(in + 2);
	unsigned mo = num2(in + 5), d = num2(in + 8);
	if (y == 0 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
	    num2(in + 11) > 23 || num2(in + 14) > 59 || num2(in + 17) > 59)
		return false;
	int fd = o->frac_digits > 9 ? 9 : o->frac_digits < 0 ? 0 : o->frac_digits;
	if (!buf_reserve(out, 21 + (size_t) fd) || out->data == NULL)
		return false;
	char *w = out->data + out->len;
	memcpy(w, in, 19);
	w[10] = 'T';
	w += 19;
	if (fd > 0) {
		*w++ = '.';
		for (int i = 0; i < fd; i++)
			*w++ = (size_t) i < nfrac ? frac[i] : '0';
	}
	*w++ = 'Z';
	out->len = (size_t) (w - out->data);
	*w = '\0';
	return true;
}

bool
canon_encode_timestamp(const struct canon_opts *o, const char *in, size_t len,
		       struct buf *out, const char **err)
{
	if (utc_fast(o, in, len, out))
		return true;
	struct dt t;
	if (!parse_datetime(in, len, &t, err))
		return false;
	if (t.special)
		return buf_append_str(out, t.special > 0 ? "infinity" : "-infinity");
	int64_t secs;
	if (t.epoch_ms) {
		int64_t ms = t.epoch % 1000;
		secs = t.epoch / 1000;
		if (ms < 0) {
			ms += 1000;
			secs--;
		}
		snprintf(t.frac, sizeof(t.frac), "%03lld", (long long) ms);
	} else {
		secs = canon_days_from_civil(t.year, t.mon, t.day) * 86400 + t.hour * 3600 +
		       t.min * 60 + t.sec;
		secs -= t.has_zone ? t.zone_sec : o->zone_offset_sec;
	}
	int64_t days = secs / 86400, rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	canon_civil_from_days(days, &y, &m, &d);
	append_year(out, y);
	put2(out, '-', m);
	put2(out, '-', d);
	buf_append_char(out, 'T');
	append_clock(out, rem);
	append_frac(out, t.frac, o->frac_digits);
	return buf_append_char(out, 'Z');
}

/*
 * canon_encode_time handles PostgreSQL time/timetz ("24:00:00" allowed) and MySQL TIME,
 * which is an interval-like value from -838:59:59 to 838:59:59.
 */
bool
canon_encode_time(const struct canon_opts *o, const char *in, size_t len, struct buf *out,
		  const char **err)
{
	struct dt t;
	memset(&t, 0, sizeof(t));
	struct cursor c = {in, in + len};
	*err = "not a time";
	if (!read_clock(&c, &t, 3) || !read_zone(&c, &t) || c.p != c.end)
		return false;
	int64_t secs = t.hour * 3600 + t.min * 60 + t.sec;
	if (t.has_zone) {
		/* a time with a zone is normalized to UTC within the day */
		secs = ((secs - t.zone_sec) % 86400 + 86400) % 86400;
	}
	if (t.neg_time && (secs != 0 || strspn(t.frac, "0") != strlen(t.frac)))
		buf_append_char(out, '-');
	append_clock(out, secs);
	append_frac(out, t.frac, o->frac_digits);
	return !out->failed;
}

bool
canon_timestamp_shift(const struct canon_opts *o, const char *in, size_t len, double seconds,
		      struct buf *out)
{
	struct buf tmp;
	buf_init(&tmp);
	const char *err;
	/* shift through the canonical UTC text, whose fields are fixed: no zone to reapply */
	struct canon_opts utc = *o;
	utc.zone_offset_sec = 0;
	bool ok = canon_encode_timestamp(o, in, len, &tmp, &err);
	if (ok) {
		int64_t whole = (int64_t) seconds;
		struct dt t;
		ok = parse_datetime(tmp.data, tmp.len, &t, &err) && !t.special;
		if (ok) {
			int64_t secs = canon_days_from_civil(t.year, t.mon, t.day) * 86400 +
				       t.hour * 3600 + t.min * 60 + t.sec + whole;
			int64_t days = secs / 86400, rem = secs % 86400;
			if (rem < 0) {
				rem += 86400;
				days--;
			}
			int64_t y;
			unsigned m, d;
			canon_civil_from_days(days, &y, &m, &d);
			char text[80];
			snprintf(text, sizeof(text), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%sZ",
				 (long long) y, m, d, (long long) (rem / 3600), (long long) (rem / 60 % 60),
				 (long long) (rem % 60), t.frac[0] ? t.frac : "0");
			ok = canon_encode_timestamp(&utc, text, strlen(text), out, &err);
		}
	}
	buf_free(&tmp);
	return ok;
}
