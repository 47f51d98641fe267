/*
 * core/canon.h: canonical values, the contract that makes cross-engine hashing honest.
 *
 * A row hashes the same on both sides iff its logical values are equal. Each mapped
 * column pair gets one compare type (canon_unify of the two sides' types); each side
 * turns its engine text into the canonical bytes of that type with canon_encode. Engines
 * hand us decoded text (escapes removed) and raw bytes for binary columns; everything
 * else about the engine stays in endpoint/.
 *
 * Canonical forms (DESIGN.md "Canonical values"):
 *   BOOL       "true" | "false"
 *   NUMBER     integers and exact decimals as normalized decimal text: no leading zeros,
 *              no trailing fractional zeros, no "-0", no exponent ("12.50" = "12.5")
 *   FLOAT      N significant digits in scientific form ("1.5e2"), "NaN", "Infinity"
 *   TEXT       bytes as stored (options: trim trailing spaces, ASCII case-fold)
 *   BINARY     raw bytes
 *   DATE       "YYYY-MM-DD" (astronomical years: 1 BC = 0000), "infinity"
 *   TIME       "HH:MM:SS[.f…]" to frac_digits, zones applied (UTC)
 *   TIMESTAMP  "YYYY-MM-DDTHH:MM:SS[.f…]Z", an instant in UTC, fixed width
 *   UUID       lowercase 8-4-4-4-12
 *   JSON       sorted keys, no insignificant white space, numbers as NUMBER
 */
#ifndef CROSSCHECK_CORE_CANON_H
#define CROSSCHECK_CORE_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum canon_type {
	CANON_NULL = 0, /* the tag of a NULL value; never a column's type */
	CANON_BOOL,
	CANON_NUMBER,
	CANON_FLOAT,
	CANON_TEXT,
	CANON_BINARY,
	CANON_DATE,
	CANON_TIME,
	CANON_TIMESTAMP,
	CANON_UUID,
	CANON_JSON,
	CANON_INVALID, /* a value that has no logical meaning (MySQL zero date): never equal */
	CANON_TYPE_COUNT
};

/* Per-column comparison options. canon_opts_default() gives the documented defaults. */
struct canon_opts {
	int float_digits;      /* significant digits for FLOAT (default 15; 6 for single) */
	int frac_digits;       /* fractional seconds kept for TIME/TIMESTAMP (default 6) */
	int zone_offset_sec;   /* zone-less timestamps are taken at this UTC offset (0) */
	bool trim_trailing;    /* TEXT: ignore trailing spaces (CHAR padding) */
	bool casefold;         /* TEXT: ASCII case-insensitive */
};

struct canon_opts canon_opts_default(void);

const char *canon_type_name(enum canon_type t);
/* canon_type_from_name parses the names above (lowercase); CANON_NULL when unknown. */
enum canon_type canon_type_from_name(const char *name);

/*
 * canon_unify picks the compare type of a column pair, or CANON_NULL when the two sides
 * cannot be compared (e.g. DATE vs BINARY). The rules: equal types stay; BOOL with
 * NUMBER becomes BOOL (MySQL TINYINT(1) vs boolean); NUMBER with FLOAT becomes FLOAT;
 * DATE with TIMESTAMP becomes TIMESTAMP; TEXT with anything textual takes the other
 * side's type (ENUM/char(36)/JSON-as-text carry no type of their own).
 */
enum canon_type canon_unify(enum canon_type a, enum canon_type b);

/*
 * canon_encode appends the canonical bytes of `in` (len bytes, engine text already
 * decoded) read as type t. On a value that cannot be read as t it returns false and
 * sets *err to a static description ("not a number"); the caller decides how to report.
 */
bool canon_encode(enum canon_type t, const struct canon_opts *o, const char *in, size_t len,
		  struct buf *out, const char **err);

/* canon_normalize_number writes the normalized decimal of in into out. */
bool canon_normalize_number(const char *in, size_t len, struct buf *out);

/* canon_canonical_json writes canonical JSON of a JSON text into out; false if invalid. */
bool canon_canonical_json(const char *in, size_t len, struct buf *out, const char **err);

/*
 * canon_compare orders two canonical values of the same type the way the engines are
 * asked to order keys: numbers numerically, text/binary/uuid by bytes (the "C" collation),
 * dates and timestamps chronologically (their fixed-width text sorts so). Returns <0, 0, >0.
 */
int canon_compare(enum canon_type t, const char *a, size_t alen, const char *b, size_t blen);

/*
 * canon_display appends a human-readable text of a canonical value (binary as \x hex),
 * used in failure keys and reports. It never fails except on buffer cap.
 */
bool canon_display(enum canon_type t, const char *v, size_t len, struct buf *out);

/*
 * canon_timestamp_shift reads a timestamp (any accepted spelling) and appends the
 * canonical timestamp `seconds` later (earlier if negative): the lag-window cutoff.
 */
bool canon_timestamp_shift(const struct canon_opts *o, const char *in, size_t len,
			   double seconds, struct buf *out);

/* canon_days_from_civil / canon_civil_from_days: proleptic Gregorian day numbers
 * (1970-01-01 = 0), exposed for the timestamp tests. */
int64_t canon_days_from_civil(int64_t y, unsigned m, unsigned d);
void canon_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
