/*
 * tests/unit/test_canon.c: the canonical value contract, type by type.
 *
 * Each case states a logical equality (or inequality) that must hold in canonical
 * bytes; cross-engine spellings of one value must encode identically.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/canon.h"

static struct canon_opts opts;

/* enc returns the canonical text of in as type t, or "!error" (static buffer). */
static const char *
enc_with(enum canon_type t, const struct canon_opts *o, const char *in)
{
	static char out[512];
	struct buf b;
	buf_init(&b);
	const char *err = NULL;
	if (canon_encode(t, o, in, strlen(in), &b, &err))
		snprintf(out, sizeof(out), "%.*s", (int) b.len, b.data ? b.data : "");
	else
		snprintf(out, sizeof(out), "!%s", err ? err : "error");
	buf_free(&b);
	return out;
}

static const char *
enc(enum canon_type t, const char *in)
{
	return enc_with(t, &opts, in);
}

static void
assert_same(enum canon_type t, const char *a, const char *b)
{
	char x[512];
	snprintf(x, sizeof(x), "%s", enc(t, a));
	assert_true(x[0] != '!');
	assert_string_equal(x, enc(t, b));
}

static void
assert_differ(enum canon_type t, const char *a, const char *b)
{
	char x[512];
	snprintf(x, sizeof(x), "%s", enc(t, a));
	assert_string_not_equal(x, enc(t, b));
}

static void
test_numbers(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_NUMBER, "12.50"), "12.5");
	assert_same(CANON_NUMBER, "12.50", "12.5");
	assert_same(CANON_NUMBER, "1.5", "1.50");
	assert_differ(CANON_NUMBER, "1.5", "1.51");
	assert_same(CANON_NUMBER, "-0", "0");
	assert_same(CANON_NUMBER, "-0.000", "0");
	assert_same(CANON_NUMBER, "007", "7");
	assert_same(CANON_NUMBER, "+7", "7");
	assert_same(CANON_NUMBER, "1e3", "1000");
	assert_same(CANON_NUMBER, "1.25E-2", "0.0125");
	assert_same(CANON_NUMBER, ".5", "0.5");
	assert_same(CANON_NUMBER, "5.", "5");
	assert_differ(CANON_NUMBER, "-5", "5");
	/* beyond 64 bits and beyond double precision: exact */
	assert_string_equal(enc(CANON_NUMBER, "18446744073709551616"), "18446744073709551616");
	assert_differ(CANON_NUMBER, "18446744073709551615", "18446744073709551614");
	assert_string_equal(enc(CANON_NUMBER, "12345678901234567890.123456789012345678"),
			    "12345678901234567890.123456789012345678");
	assert_string_equal(enc(CANON_NUMBER, "NaN"), "NaN");
	assert_string_equal(enc(CANON_NUMBER, "-Infinity"), "-Infinity");
	assert_true(enc(CANON_NUMBER, "abc")[0] == '!');
	assert_true(enc(CANON_NUMBER, "1.2.3")[0] == '!');
	assert_true(enc(CANON_NUMBER, "")[0] == '!');
	assert_true(enc(CANON_NUMBER, "1e")[0] == '!');
	/* texts in normal form are kept as they are; the others are normalized */
	assert_string_equal(enc(CANON_NUMBER, "0"), "0");
	assert_string_equal(enc(CANON_NUMBER, "-0.5"), "-0.5");
	assert_string_equal(enc(CANON_NUMBER, "0.0"), "0");
	assert_string_equal(enc(CANON_NUMBER, "10"), "10");
	assert_string_equal(enc(CANON_NUMBER, "-10.01"), "-10.01");
	assert_string_equal(enc(CANON_NUMBER, "-0.0"), "0");
	assert_true(enc(CANON_NUMBER, "-")[0] == '!');
	assert_true(enc(CANON_NUMBER, "1.")[0] != '!');
	assert_true(enc(CANON_NUMBER, "01.5x")[0] == '!');
	/* the shortcut agrees with the normalizer: the same value with a leading '+' and
	 * zeros around it (which takes the long way) encodes the same */
	uint64_t x = 2463534242ull;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		char text[64], padded[80];
		int n = snprintf(text, sizeof(text), "%s%llu", x & 1 ? "-" : "",
				 (unsigned long long) (x >> 20) % 100000000ull);
		if ((x >> 2) & 1)
			snprintf(text + n, sizeof(text) - (size_t) n, ".%03u", (unsigned) (x >> 8) % 1000);
		/* an integer gets its zeros after a point, not as a x10 */
		snprintf(padded, sizeof(padded), "%s00%s%s", text[0] == '-' ? "-" : "+",
			 text + (text[0] == '-'), strchr(text, '.') ? "0" : ".00");
		char a[80];
		snprintf(a, sizeof(a), "%s", enc(CANON_NUMBER, text));
		assert_string_equal(a, enc(CANON_NUMBER, padded));
	}
}

static void
test_floats(void **state)
{
	(void) state;
	assert_same(CANON_FLOAT, "1.5", "1.50");
	assert_same(CANON_FLOAT, "0.1", "0.10000000000000001");
	assert_differ(CANON_FLOAT, "0.1", "0.2");
	assert_same(CANON_FLOAT, "-0", "0");
	assert_same(CANON_FLOAT, "1e300", "1.0E300");
	assert_string_equal(enc(CANON_FLOAT, "NaN"), "NaN");
	assert_string_equal(enc(CANON_FLOAT, "-Infinity"), "-Infinity");
	assert_string_equal(enc(CANON_FLOAT, "inf"), "Infinity");
	/* single precision: float4 0.1 widened to double equals 0.1 at 6 digits only */
	struct canon_opts single = opts;
	single.float_digits = 6;
	char a[64];
	snprintf(a, sizeof(a), "%s", enc_with(CANON_FLOAT, &single, "0.100000001490116"));
	assert_string_equal(a, enc_with(CANON_FLOAT, &single, "0.1"));
	assert_differ(CANON_FLOAT, "0.100000001490116", "0.1");
	assert_true(enc(CANON_FLOAT, "x1")[0] == '!');
}

static void
test_bool(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_BOOL, "t"), "true");
	assert_same(CANON_BOOL, "t", "1");
	assert_same(CANON_BOOL, "true", "TRUE");
	assert_same(CANON_BOOL, "f", "0");
	assert_differ(CANON_BOOL, "t", "f");
	assert_true(enc(CANON_BOOL, "2")[0] == '!');
}

static void
test_text(void **state)
{
	(void) state;
	assert_differ(CANON_TEXT, "abc", "abc  ");
	assert_differ(CANON_TEXT, "", " ");
	assert_differ(CANON_TEXT, "abc", "ABC");
	struct canon_opts o = opts;
	o.trim_trailing = true;
	char x[64];
	snprintf(x, sizeof(x), "%s", enc_with(CANON_TEXT, &o, "abc   "));
	assert_string_equal(x, "abc");
	o.casefold = true;
	snprintf(x, sizeof(x), "%s", enc_with(CANON_TEXT, &o, "AbC"));
	assert_string_equal(x, "abc");
	/* UTF-8 is bytes as stored: composed and decomposed e-acute differ */
	assert_differ(CANON_TEXT, "\xc3\xa9", "e\xcc\x81");
	assert_string_equal(enc(CANON_TEXT, "\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

static void
test_uuid(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_UUID, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
			    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	assert_same(CANON_UUID, "{a0eebc999c0b4ef8bb6d6bb9bd380a11}",
		    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
	assert_true(enc(CANON_UUID, "a0eebc99")[0] == '!');
}

static void
test_dates(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_DATE, "2024-02-29"), "2024-02-29");
	assert_same(CANON_DATE, "2024-2-9", "2024-02-09");
	assert_same(CANON_DATE, "2024-01-02T00:00:00.000Z", "2024-01-02");
	assert_same(CANON_DATE, "1704153600000", "2024-01-02"); /* epoch millis */
	assert_same(CANON_DATE, "2024/01/02", "2024-01-02"); /* OpenSearch yyyy/MM/dd */
	assert_string_equal(enc(CANON_DATE, "0044-03-15 BC"), "-0043-03-15");
	assert_string_equal(enc(CANON_DATE, "infinity"), "infinity");
	assert_true(enc(CANON_DATE, "2023-02-29")[0] == '!');
	assert_string_equal(enc(CANON_DATE, "0000-00-00"),
			    "!zero date (MySQL 0000-00-00) has no calendar value");
	assert_true(enc(CANON_DATE, "2024-01-02 10:00:00")[0] == '!');
}

static void
test_timestamps(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_TIMESTAMP, "2024-01-02 03:04:05.5+00"),
			    "2024-01-02T03:04:05.500000Z");
	/* PostgreSQL, MySQL and OpenSearch spellings of one instant */
	assert_same(CANON_TIMESTAMP, "2024-01-02 03:04:05.5+00", "2024-01-02 03:04:05.500000");
	assert_same(CANON_TIMESTAMP, "2024-01-02 03:04:05.5+00", "2024-01-02T03:04:05.500Z");
	assert_same(CANON_TIMESTAMP, "2024-01-02 05:04:05.5+02", "2024-01-02T03:04:05.500Z");
	assert_same(CANON_TIMESTAMP, "2024-01-01 22:04:05.5-05:00", "2024-01-02T03:04:05.5Z");
	assert_same(CANON_TIMESTAMP, "1704164645500", "2024-01-02T03:04:05.5Z");
	assert_same(CANON_TIMESTAMP, "2024-01-02", "2024-01-02 00:00:00");
	/* OpenSearch's dynamic date formats: yyyy/MM/dd HH:mm:ss Z and yyyy/MM/dd Z */
	assert_same(CANON_TIMESTAMP, "2024/01/02 05:04:05 +0200", "2024-01-02T03:04:05Z");
	assert_same(CANON_TIMESTAMP, "2024/01/02 03:04:05", "2024-01-02T03:04:05Z");
	assert_same(CANON_TIMESTAMP, "2024/01/02 -0100", "2024-01-02T01:00:00Z");
	assert_same(CANON_TIMESTAMP, "2024-01-02 03:04:05 Z", "2024-01-02T03:04:05Z");
	assert_true(enc(CANON_TIMESTAMP, "2024/01-02")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "2024-01-02 -0100")[0] == '!');
	assert_differ(CANON_TIMESTAMP, "2024-01-02 03:04:05", "2024-01-02 03:04:06");
	assert_differ(CANON_TIMESTAMP, "2024-01-02 03:04:05.000001", "2024-01-02 03:04:05");
	/* precision: compared at 3 digits, microseconds differences vanish */
	struct canon_opts o = opts;
	o.frac_digits = 3;
	char a[64];
	snprintf(a, sizeof(a), "%s", enc_with(CANON_TIMESTAMP, &o, "2024-01-02 03:04:05.123456"));
	assert_string_equal(a, enc_with(CANON_TIMESTAMP, &o, "2024-01-02 03:04:05.123"));
	/* zone-less values taken at a configured offset */
	o = opts;
	o.zone_offset_sec = 3600;
	snprintf(a, sizeof(a), "%s", enc_with(CANON_TIMESTAMP, &o, "2024-01-02 04:04:05"));
	assert_string_equal(a, enc(CANON_TIMESTAMP, "2024-01-02 03:04:05+00"));
	/* day and year boundaries after zone conversion */
	assert_string_equal(enc(CANON_TIMESTAMP, "2024-01-01 00:30:00+01"),
			    "2023-12-31T23:30:00.000000Z");
	assert_string_equal(enc(CANON_TIMESTAMP, "-infinity"), "-infinity");
	assert_true(enc(CANON_TIMESTAMP, "2024-13-01 00:00:00")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "0000-00-00 00:00:00")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "yesterday")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "2023-02-29 00:00:00")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "2024-01-02 03:60:00")[0] == '!');
	assert_string_equal(enc(CANON_TIMESTAMP, "2024-02-29 23:59:59.1234567891"),
			    "2024-02-29T23:59:59.123456Z");
	assert_string_equal(enc(CANON_TIMESTAMP, "2024-01-01 24:00:00"),
			    "2024-01-02T00:00:00.000000Z");
}

/*
 * The UTC shortcut (a value already in canonical fields) must agree with the calendar
 * arithmetic: random instants printed as UTC, and the same instants at other offsets
 * (which always take the long way), encode the same.
 */
static void
test_timestamp_shortcut_agrees(void **state)
{
	(void) state;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	for (int i = 0; i < 50000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t secs = (int64_t) (x % 253402300799ull); /* up to 9999-12-31 */
		int offset = (int) ((x >> 40) % 57) * 900 - 14 * 3600; /* -14:00 .. +13:45 */
		int64_t y1, y2;
		unsigned m1, d1, m2, d2;
		int64_t local = secs + offset;
		canon_civil_from_days(secs / 86400, &y1, &m1, &d1);
		canon_civil_from_days(local / 86400 - (local % 86400 < 0), &y2, &m2, &d2);
		if (y1 < 1 || y2 < 1 || y2 > 9999)
			continue;
		int64_t r1 = secs % 86400, r2 = ((local % 86400) + 86400) % 86400;
		unsigned us = (unsigned) (x >> 20) % 1000000;
		char utc[64], zoned[64], a[64];
		snprintf(utc, sizeof(utc), "%04lld-%02u-%02u%c%02lld:%02lld:%02lld.%06u%s",
			 (long long) y1, m1, d1, x & 2 ? 'T' : ' ', (long long) (r1 / 3600),
			 (long long) (r1 / 60 % 60), (long long) (r1 % 60), us,
			 x & 4 ? "Z" : x & 8 ? "+00:00" : "");
		snprintf(zoned, sizeof(zoned), "%04lld-%02u-%02u %02lld:%02lld:%02lld.%06u%c%02d:%02d",
			 (long long) y2, m2, d2, (long long) (r2 / 3600), (long long) (r2 / 60 % 60),
			 (long long) (r2 % 60), us, offset < 0 ? '-' : '+', abs(offset) / 3600,
			 abs(offset) / 60 % 60);
		snprintf(a, sizeof(a), "%s", enc(CANON_TIMESTAMP, utc));
		assert_true(a[0] != '!');
		assert_string_equal(a, enc(CANON_TIMESTAMP, zoned));
	}
}

static void
test_times(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_TIME, "03:04:05"), "03:04:05.000000");
	assert_same(CANON_TIME, "03:04:05.5", "03:04:05.500");
	assert_same(CANON_TIME, "05:04:05+02", "03:04:05");
	assert_string_equal(enc(CANON_TIME, "-838:59:59"), "-838:59:59.000000");
	assert_string_equal(enc(CANON_TIME, "24:00:00"), "24:00:00.000000");
	assert_true(enc(CANON_TIME, "3pm")[0] == '!');
}

static void
test_json(void **state)
{
	(void) state;
	assert_string_equal(enc(CANON_JSON, "{ \"b\": 1, \"a\": [1, 2.50, \"x\"] }"),
			    "{\"a\":[1,2.5,\"x\"],\"b\":1}");
	assert_same(CANON_JSON, "{\"a\":1,\"b\":2}", "{\"b\":2,  \"a\":1.0}");
	assert_differ(CANON_JSON, "[1,2]", "[2,1]");
	assert_same(CANON_JSON, "\"\\u00e9\"", "\"\xc3\xa9\"");
	assert_same(CANON_JSON, "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	/* duplicate keys: the last one wins, as in jsonb and MySQL */
	assert_string_equal(enc(CANON_JSON, "{\"a\":1,\"a\":2}"), "{\"a\":2}");
	/* numbers beyond 64 bits keep every digit (json-c would clamp them) */
	assert_string_equal(enc(CANON_JSON, "[123456789012345678901234567890]"),
			    "[123456789012345678901234567890]");
	assert_string_equal(enc(CANON_JSON, "null"), "null");
	assert_true(enc(CANON_JSON, "{\"a\":}")[0] == '!');
	assert_true(enc(CANON_JSON, "[1,2")[0] == '!');
	assert_true(enc(CANON_JSON, "{} x")[0] == '!');
	char deep[1200];
	memset(deep, '[', 600);
	memset(deep + 600, ']', 600);
	deep[1200 - 1] = '\0';
	assert_true(enc(CANON_JSON, deep)[0] == '!'); /* too deep, not a stack overflow */
}

static void
test_binary(void **state)
{
	(void) state;
	struct buf b, d;
	buf_init(&b);
	buf_init(&d);
	const char *err;
	assert_true(canon_encode(CANON_BINARY, &opts, "a\0b", 3, &b, &err));
	assert_int_equal(b.len, 3);
	assert_true(canon_display(CANON_BINARY, b.data, b.len, &d));
	assert_string_equal(d.data, "\\x610062");
	buf_free(&b);
	buf_free(&d);
}

static void
test_unify(void **state)
{
	(void) state;
	assert_int_equal(canon_unify(CANON_NUMBER, CANON_NUMBER), CANON_NUMBER);
	assert_int_equal(canon_unify(CANON_NUMBER, CANON_BOOL), CANON_BOOL);
	assert_int_equal(canon_unify(CANON_FLOAT, CANON_NUMBER), CANON_FLOAT);
	assert_int_equal(canon_unify(CANON_DATE, CANON_TIMESTAMP), CANON_TIMESTAMP);
	assert_int_equal(canon_unify(CANON_TEXT, CANON_UUID), CANON_UUID);
	assert_int_equal(canon_unify(CANON_JSON, CANON_TEXT), CANON_JSON);
	assert_int_equal(canon_unify(CANON_DATE, CANON_BINARY), CANON_NULL);
	assert_int_equal(canon_unify(CANON_TEXT, CANON_BINARY), CANON_NULL);
}

static int
cmp(enum canon_type t, const char *a, const char *b)
{
	char x[128], y[128];
	snprintf(x, sizeof(x), "%s", enc(t, a));
	snprintf(y, sizeof(y), "%s", enc(t, b));
	int c = canon_compare(t, x, strlen(x), y, strlen(y));
	return c < 0 ? -1 : c > 0 ? 1 : 0;
}

static void
test_compare(void **state)
{
	(void) state;
	assert_int_equal(cmp(CANON_NUMBER, "9", "10"), -1);
	assert_int_equal(cmp(CANON_NUMBER, "-10", "-9"), -1);
	assert_int_equal(cmp(CANON_NUMBER, "-1", "0"), -1);
	assert_int_equal(cmp(CANON_NUMBER, "0.5", "0.25"), 1);
	assert_int_equal(cmp(CANON_NUMBER, "1.5", "1.50"), 0);
	assert_int_equal(cmp(CANON_NUMBER, "0.05", "0.5"), -1);
	assert_int_equal(cmp(CANON_NUMBER, "-0.5", "-0.05"), -1);
	assert_int_equal(cmp(CANON_NUMBER, "18446744073709551615", "9223372036854775808"), 1);
	assert_int_equal(cmp(CANON_TEXT, "B", "a"), -1); /* bytes, not a locale */
	assert_int_equal(cmp(CANON_TEXT, "a", "ab"), -1);
	assert_int_equal(cmp(CANON_TIMESTAMP, "2024-01-02 03:00:00+05", "2024-01-01 23:00:00+00"), -1);
	assert_int_equal(cmp(CANON_FLOAT, "-2.5", "1e-3"), -1);
}

static void
test_civil(void **state)
{
	(void) state;
	assert_int_equal(canon_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(canon_days_from_civil(2000, 3, 1), 11017);
	for (int64_t z = -800000; z < 800000; z += 997) {
		int64_t y;
		unsigned m, d;
		canon_civil_from_days(z, &y, &m, &d);
		assert_int_equal(canon_days_from_civil(y, m, d), z);
	}
}

/*
 * The float fast path (decimal rounding of the text) must agree with the double path
 * (strtod, then printf at the same digits) for every text an engine prints for a double:
 * shortest round-trip, %.17g and %.15g, across magnitudes and digit counts.
 */
static void
reference_float(double v, int digits, char *out, size_t size)
{
	if (v == 0) {
		snprintf(out, size, "0");
		return;
	}
	char s[64];
	snprintf(s, sizeof(s), "%.*e", digits - 1, v);
	char *e = strchr(s, 'e');
	char *m = e;
	while (m > s && m[-1] == '0')
		m--;
	if (m > s && m[-1] == '.')
		m--;
	snprintf(out, size, "%.*se%ld", (int) (m - s), s, strtol(e + 1, NULL, 10));
}

static void
test_float_fast_path_agrees(void **state)
{
	(void) state;
	uint64_t x = 88172645463325252ull;
	int checked = 0;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift */
		double mant = (double) (x >> 11) / 9007199254740992.0;
		int e10 = (int) (x % 41) - 20;
		double v = (mant + 0.1) * pow(10, e10) * ((x >> 3) & 1 ? -1 : 1);
		for (int f = 0; f < 4; f++) {
			char text[64], want[64];
			int prec = f == 0 ? 17 : f == 1 ? 16 : f == 2 ? 15 : 6;
			snprintf(text, sizeof(text), "%.*g", prec, v);
			for (int digits = 6; digits <= 15; digits += 9) {
				struct canon_opts o = opts;
				o.float_digits = digits;
				reference_float(strtod(text, NULL), digits, want, sizeof(want));
				assert_string_equal(enc_with(CANON_FLOAT, &o, text), want);
				checked++;
			}
		}
	}
	/* texts at and around a rounding boundary: the side of the double decides */
	static const char *const tails[] = {"5", "49", "51", "4999", "5001", "499999", "500001",
					    "50000000000000001", "49999999999999999"};
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		for (int digits = 6; digits <= 15; digits += 9) {
			char text[96], want[64];
			int n = 0;
			if ((x >> 5) & 1)
				text[n++] = '-';
			uint64_t y = x;
			text[n++] = (char) ('1' + y % 9);
			y /= 9;
			text[n++] = '.';
			for (int k = 1; k < digits; k++, y /= 10)
				text[n++] = (char) ('0' + (y ? y % 10 : (uint64_t) k % 10));
			snprintf(text + n, sizeof(text) - (size_t) n, "%se%d", tails[x % 9],
				 (int) (x >> 40) % 61 - 30);
			struct canon_opts o = opts;
			o.float_digits = digits;
			reference_float(strtod(text, NULL), digits, want, sizeof(want));
			assert_string_equal(enc_with(CANON_FLOAT, &o, text), want);
		}
	}
	/* exact midpoints go the double's way: 0.5 at the 16th digit */
	char want[64];
	reference_float(strtod("1.0000000000000005", NULL), 15, want, sizeof(want));
	assert_string_equal(enc(CANON_FLOAT, "1.0000000000000005"), want);
	assert_true(checked > 1000000);
}

/*
 * The MySQL/MariaDB <-> PostgreSQL type matrix (issue 3): for each row, the text the
 * MariaDB endpoint delivers and the text PostgreSQL's COPY gives for the same logical
 * value encode identically, and a different value does not.
 */
static void
assert_pair(enum canon_type t, const struct canon_opts *o, const char *mysql, const char *pg,
	    bool equal)
{
	char x[512];
	snprintf(x, sizeof(x), "%s", enc_with(t, o, mysql));
	assert_true(x[0] != '!');
	if (equal)
		assert_string_equal(x, enc_with(t, o, pg));
	else
		assert_string_not_equal(x, enc_with(t, o, pg));
}

static void
test_matrix_integers(void **state)
{
	(void) state;
	/* TINYINT..BIGINT, signed and UNSIGNED, vs smallint/integer/bigint/numeric */
	assert_pair(CANON_NUMBER, &opts, "-128", "-128", true);
	assert_pair(CANON_NUMBER, &opts, "255", "255", true);
	assert_pair(CANON_NUMBER, &opts, "-9223372036854775808", "-9223372036854775808", true);
	assert_pair(CANON_NUMBER, &opts, "18446744073709551615", "18446744073709551615", true);
	assert_pair(CANON_NUMBER, &opts, "9223372036854775808", "9223372036854775808", true);
	/* above 2^63 and 2^53: no double ever rounds these together */
	assert_pair(CANON_NUMBER, &opts, "18446744073709551615", "18446744073709551614", false);
	assert_pair(CANON_NUMBER, &opts, "9007199254740993", "9007199254740992", false);
	/* YEAR vs integer */
	assert_pair(CANON_NUMBER, &opts, "2024", "2024", true);
	assert_pair(CANON_NUMBER, &opts, "2024", "2025", false);
}

static void
test_matrix_decimals(void **state)
{
	(void) state;
	/* DECIMAL(10,2) vs NUMERIC(12,4) and unconstrained numeric: scale never matters */
	assert_pair(CANON_NUMBER, &opts, "1.50", "1.5000", true);
	assert_pair(CANON_NUMBER, &opts, "1.50", "1.5", true);
	assert_pair(CANON_NUMBER, &opts, "1.50", "1.51", false);
	assert_pair(CANON_NUMBER, &opts, "-0.00", "0.0000", true);
	assert_pair(CANON_NUMBER, &opts, "0.001", "0.0010", true);
	assert_pair(CANON_NUMBER, &opts, "12345678901234567890.1234567890",
		    "12345678901234567890.123456789000", true);
	assert_pair(CANON_NUMBER, &opts, "12345678901234567890.1234567890",
		    "12345678901234567890.1234567891", false);
	assert_pair(CANON_NUMBER, &opts, "-12.5", "12.5", false);
}

static void
test_matrix_floats(void **state)
{
	(void) state;
	struct canon_opts single = opts;
	single.float_digits = 6;
	/* MySQL FLOAT prints ~6 digits, PostgreSQL real the shortest exact text */
	assert_pair(CANON_FLOAT, &single, "0.1", "0.1", true);
	assert_pair(CANON_FLOAT, &single, "3.14159", "3.1415927", true);
	assert_pair(CANON_FLOAT, &single, "1e10", "1e+10", true);
	assert_pair(CANON_FLOAT, &single, "3.40282e38", "3.4028235e+38", true);
	assert_pair(CANON_FLOAT, &single, "3.14159", "3.14259", false);
	/* DOUBLE vs double precision: shortest round-trip texts, other exponent spelling */
	assert_pair(CANON_FLOAT, &opts, "0.30000000000000004", "0.30000000000000004", true);
	assert_pair(CANON_FLOAT, &opts, "1e300", "1e+300", true);
	assert_pair(CANON_FLOAT, &opts, "-2.5e-7", "-2.5e-07", true);
	assert_pair(CANON_FLOAT, &opts, "1.5", "1.50000000001", false);
	/* the significant-digits option absorbs what a double cannot tell apart */
	struct canon_opts ten = opts;
	ten.float_digits = 10;
	assert_pair(CANON_FLOAT, &ten, "1.5", "1.50000000001", true);
}

static void
test_matrix_temporal(void **state)
{
	(void) state;
	assert_pair(CANON_DATE, &opts, "2024-02-29", "2024-02-29", true);
	assert_pair(CANON_DATE, &opts, "2024-02-29", "2024-03-01", false);
	/* DATETIME(0..6) vs timestamp: MySQL pads the fraction to the column's scale */
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05", "2024-01-02 03:04:05", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05.500", "2024-01-02 03:04:05.5", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05.123456",
		    "2024-01-02 03:04:05.123456", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05.123456",
		    "2024-01-02 03:04:05.123457", false);
	/* TIMESTAMP (read in a UTC session, delivered with Z) vs timestamptz */
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05.5Z", "2024-01-02 05:04:05.5+02", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05.5Z", "2024-01-02 03:04:05.5+00", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 03:04:05Z", "2024-01-02 03:04:05+01", false);
	/* DATETIME (zone-less) vs timestamptz: taken in the configured zone */
	struct canon_opts plus2 = opts;
	plus2.zone_offset_sec = 7200;
	assert_pair(CANON_TIMESTAMP, &plus2, "2024-01-02 05:00:00", "2024-01-02 03:00:00+00", true);
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02 05:00:00", "2024-01-02 03:00:00+00", false);
	/* a zone-aware value is never shifted by that option */
	assert_pair(CANON_TIMESTAMP, &plus2, "2024-01-02 03:00:00Z", "2024-01-02 03:00:00+00", true);
	/* DATE vs timestamp at midnight (unified to timestamp) */
	assert_pair(CANON_TIMESTAMP, &opts, "2024-01-02", "2024-01-02 00:00:00", true);
	/* TIME vs time */
	assert_pair(CANON_TIME, &opts, "12:34:56.789000", "12:34:56.789", true);
	assert_pair(CANON_TIME, &opts, "-01:00:00", "01:00:00", false);
	assert_pair(CANON_TIME, &opts, "00:00:00", "00:00:00", true);
	/* MySQL zero dates have no calendar value: reported, never matched */
	assert_true(enc(CANON_DATE, "0000-00-00")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "0000-00-00 00:00:00")[0] == '!');
	assert_true(enc(CANON_TIMESTAMP, "0000-00-00 00:00:00.000000Z")[0] == '!');
	assert_true(enc(CANON_DATE, "2024-00-10")[0] == '!');
	assert_true(enc(CANON_DATE, "2024-02-00")[0] == '!');
}

static void
test_matrix_text_binary(void **state)
{
	(void) state;
	/* CHAR(n): MySQL strips the padding, PostgreSQL's bpchar keeps it */
	struct canon_opts trim = opts;
	trim.trim_trailing = true;
	assert_pair(CANON_TEXT, &trim, "ab", "ab   ", true);
	assert_pair(CANON_TEXT, &trim, "ab", "ab", true);
	assert_pair(CANON_TEXT, &trim, "ab", "abc  ", false);
	assert_pair(CANON_TEXT, &opts, "ab", "ab   ", false); /* VARCHAR: spaces are data */
	/* utf8mb4: emoji and combining characters are bytes as stored */
	assert_pair(CANON_TEXT, &opts, "\xf0\x9f\x98\x80 ok", "\xf0\x9f\x98\x80 ok", true);
	assert_pair(CANON_TEXT, &opts, "e\xcc\x81", "e\xcc\x81", true);
	assert_pair(CANON_TEXT, &opts, "e\xcc\x81", "\xc3\xa9", false);
	/* case-insensitive collations do not make 'a' equal 'A' */
	assert_pair(CANON_TEXT, &opts, "a", "A", false);
	/* ENUM/SET vs text */
	assert_pair(CANON_TEXT, &opts, "a,b", "a,b", true);
	assert_pair(CANON_TEXT, &opts, "a,b", "b,a", false);
	/* BINARY/VARBINARY/BLOB vs bytea: raw bytes (BINARY(n) keeps its zero padding) */
	struct buf a, b;
	buf_init(&a);
	buf_init(&b);
	const char *err;
	assert_true(canon_encode(CANON_BINARY, &opts, "\x00\xff", 2, &a, &err));
	assert_true(canon_encode(CANON_BINARY, &opts, "\x00\xff", 2, &b, &err));
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	buf_reset(&b);
	assert_true(canon_encode(CANON_BINARY, &opts, "\x00\xff\x00", 3, &b, &err));
	assert_int_not_equal(a.len, b.len);
	buf_free(&a);
	buf_free(&b);
}

static void
test_matrix_bool_json(void **state)
{
	(void) state;
	/* TINYINT(1) and BIT(1) ("0"/"1") vs boolean: the pair unifies to BOOL */
	assert_int_equal(canon_unify(CANON_NUMBER, CANON_BOOL), CANON_BOOL);
	assert_int_equal(canon_unify(CANON_BOOL, CANON_BOOL), CANON_BOOL);
	assert_pair(CANON_BOOL, &opts, "1", "t", true);
	assert_pair(CANON_BOOL, &opts, "0", "f", true);
	assert_pair(CANON_BOOL, &opts, "1", "f", false);
	assert_true(enc(CANON_BOOL, "2")[0] == '!'); /* a TINYINT(1) holding 2 is no boolean */
	/* JSON (MariaDB LONGTEXT as written) vs jsonb (normalized by PostgreSQL) */
	assert_pair(CANON_JSON, &opts, "{\"b\": 1, \"a\": [1, 2.50, \"x\"]}",
		    "{\"a\": [1, 2.50, \"x\"], \"b\": 1}", true);
	assert_pair(CANON_JSON, &opts, "{\"k\":\"\\u00e9\\ud83d\\ude00\"}",
		    "{\"k\": \"\xc3\xa9\xf0\x9f\x98\x80\"}", true);
	assert_pair(CANON_JSON, &opts, "{\"n\":1e2}", "{\"n\": 100}", true);
	assert_pair(CANON_JSON, &opts, "{\"a\":[1,2]}", "{\"a\": [2, 1]}", false);
	assert_pair(CANON_JSON, &opts, "{\"a\":null}", "{}", false);
	assert_pair(CANON_JSON, &opts, "{\"a\":\"1\"}", "{\"a\": 1}", false);
	/* ENUM/SET/JSON-as-text on one side take the other side's type */
	assert_int_equal(canon_unify(CANON_TEXT, CANON_JSON), CANON_JSON);
}

int
main(void)
{
	opts = canon_opts_default();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers), cmocka_unit_test(test_floats),
		cmocka_unit_test(test_bool),	cmocka_unit_test(test_text),
		cmocka_unit_test(test_uuid),	cmocka_unit_test(test_dates),
		cmocka_unit_test(test_timestamps), cmocka_unit_test(test_times),
		cmocka_unit_test(test_json),	cmocka_unit_test(test_binary),
		cmocka_unit_test(test_unify),	cmocka_unit_test(test_compare),
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_timestamp_shortcut_agrees),	cmocka_unit_test(test_float_fast_path_agrees),
		cmocka_unit_test(test_matrix_integers), cmocka_unit_test(test_matrix_decimals),
		cmocka_unit_test(test_matrix_floats), cmocka_unit_test(test_matrix_temporal),
		cmocka_unit_test(test_matrix_text_binary), cmocka_unit_test(test_matrix_bool_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
