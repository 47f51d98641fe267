/*
 * core/row.h: a row's canonical bytes, its hashes, and partition digests.
 *
 * Each column's canonical value is hashed with XXH3-64 seeded by its tag (its canon_type,
 * CANON_NULL for NULL), so a column hash covers the tag, the length and the bytes; the
 * row hash is XXH3-64 over the column hashes in column order. Column hashes let a
 * RECORD_DIFF name the differing columns without keeping values. A canonical key is the
 * concatenation of the key columns' segments [tag:1][length:4, little endian][bytes].
 * Partition digest = row count plus XXH3-128 over (canonical key, row hash) in key order.
 */
#ifndef CROSSCHECK_CORE_ROW_H
#define CROSSCHECK_CORE_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/canon.h"
#include "util/buf.h"

#define KEYFRAME_HEADER 5

/* One mapped column, as both sides encode it. */
struct colplan {
	const char *name;	 /* display name (the source column name); borrowed */
	enum canon_type type;	 /* compare type */
	struct canon_opts opts;
	/*
	 * identity: both sides are the same engine and the same exact type, whose text under
	 * the endpoint's pinned session is already a function of the logical value only
	 * (int, numeric(p,s), text, timestamptz in UTC...). That text is then its canonical
	 * form within this audit and is hashed as is, saving the parse on the hot path.
	 */
	bool identity;
};

/* The encoding plan of a table: columns in scan order; keys are indices into cols. */
struct row_layout {
	int ncols;
	const struct colplan *cols;
	int nkeys;
	const int *keys;
};

/* A value handed over by an endpoint: decoded text (or raw bytes), borrowed. */
struct value {
	const char *data;
	size_t len;
	bool null;
	bool bad;	/* the endpoint could not decode it (data is the raw text): never equal */
};

/* An encoded row; all pointers borrowed from the encoder until its next use. */
struct encoded_row {
	const char *key;
	size_t keylen;
	uint64_t hash;
	const uint64_t *colhash; /* ncols entries */
	unsigned flags;		 /* ROW_* below; not part of the row's identity or hash */
};

/* The row changed inside the lag window: its difference is judged only after it. */
#define ROW_RECENT 1u

struct row_encoder {
	const struct row_layout *layout;
	int side;	      /* 0 source, 1 target: salts invalid values so they never match */
	struct buf cols;      /* canonical bytes of the encoded (non-identity) columns */
	struct buf key;	      /* key segments of the current row */
	uint64_t *colhash;
	size_t *seg_start;    /* per column: offset in cols, or (size_t)-1 for identity */
	size_t *seg_len;
	unsigned char *tags;
	const char **seg;     /* per column: its canonical bytes (valid until the next row) */
	/* the last value that could not be read as its type, for the caller to report */
	int bad_col;
	const char *bad_reason;
};

void row_encoder_init(struct row_encoder *e, const struct row_layout *layout, int side);
void row_encoder_free(struct row_encoder *e);

/*
 * row_encode encodes vals (layout->ncols of them, in layout order) into row. A value
 * that cannot be read as its type is encoded as CANON_INVALID (never equal to anything)
 * and reported through bad_col/bad_reason; a key value that cannot be read, or a NULL
 * key, makes it return false.
 */
bool row_encode(struct row_encoder *e, const struct value *vals, struct encoded_row *row);

/* row_encoder_column gives the canonical segment of column i of the last encoded row. */
void row_encoder_column(const struct row_encoder *e, int i, enum canon_type *tag,
			const char **v, size_t *len);

/* keyframe helpers */
bool keyframe_append(struct buf *b, enum canon_type t, const char *v, size_t len);
/* keyframe_next reads one segment at *p (advancing it); false at the end or if corrupt. */
bool keyframe_next(const char **p, const char *end, enum canon_type *t, const char **v,
		   size_t *len);
/* key_compare orders two canonical keys column by column with canon_compare. */
int key_compare(const char *a, size_t alen, const char *b, size_t blen);
/* key_to_json appends {"col": "text", ...} for a canonical key, names from layout. */
bool key_to_json(const struct row_layout *l, const char *key, size_t keylen, struct buf *out);

/* A running partition digest. */
struct digest {
	void *state; /* XXH3_state_t, owned */
	int64_t count;
};

void digest_init(struct digest *d);
void digest_add(struct digest *d, const struct encoded_row *row);
/* digest_final writes 32 lowercase hex characters and a NUL into hex[33]. */
void digest_final(struct digest *d, char hex[33]);
void digest_free(struct digest *d);

/* hash128_hex writes XXH3-128 of data as 32 hex characters and a NUL (fingerprints). */
void hash128_hex(const void *data, size_t len, char hex[33]);

#endif
