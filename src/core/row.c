/*
 * core/row.c: canonical row encoding, hashing and partition digests.
 */
#include "core/row.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "util/str.h"

void
row_encoder_init(struct row_encoder *e, const struct row_layout *layout, int side)
{
	memset(e, 0, sizeof(*e));
	e->layout = layout;
	e->side = side;
	buf_init(&e->cols);
	buf_init(&e->key);
	e->cols.cap = 256u << 20; /* one row over 256 MiB is refused, not swallowed */
	size_t n = (size_t) layout->ncols + 1;
	e->colhash = xcalloc(n, sizeof(uint64_t));
	e->seg_start = xcalloc(n, sizeof(size_t));
	e->seg_len = xcalloc(n, sizeof(size_t));
	e->tags = xcalloc(n, 1);
	e->seg = xcalloc(n, sizeof(char *));
	e->bad_col = -1;
}

void
row_encoder_free(struct row_encoder *e)
{
	buf_free(&e->cols);
	buf_free(&e->key);
	free(e->colhash);
	free(e->seg_start);
	free(e->seg_len);
	free(e->tags);
	free(e->seg);
	memset(e, 0, sizeof(*e));
}

static void
put_len(char *p, uint32_t n)
{
	p[0] = (char) (n & 0xff);
	p[1] = (char) ((n >> 8) & 0xff);
	p[2] = (char) ((n >> 16) & 0xff);
	p[3] = (char) ((n >> 24) & 0xff);
}

static uint32_t
get_len(const char *p)
{
	const unsigned char *u = (const unsigned char *) p;
	return (uint32_t) u[0] | ((uint32_t) u[1] << 8) | ((uint32_t) u[2] << 16) |
	       ((uint32_t) u[3] << 24);
}

bool
keyframe_append(struct buf *b, enum canon_type t, const char *v, size_t len)
{
	char h[KEYFRAME_HEADER];
	if (len > UINT32_MAX)
		return false;
	h[0] = (char) t;
	put_len(h + 1, (uint32_t) len);
	return buf_append(b, h, sizeof(h)) && buf_append(b, v, len);
}

bool
keyframe_next(const char **p, const char *end, enum canon_type *t, const char **v, size_t *len)
{
	if (*p >= end || end - *p < KEYFRAME_HEADER)
		return false;
	*t = (enum canon_type) (unsigned char) (*p)[0];
	uint32_t n = get_len(*p + 1);
	if ((size_t) (end - *p - KEYFRAME_HEADER) < n)
		return false;
	*v = *p + KEYFRAME_HEADER;
	*len = n;
	*p += KEYFRAME_HEADER + n;
	return true;
}

/*
 * row_encode: identity columns are hashed where they lie (no copy); the others are
 * canonicalized into one scratch buffer, whose segments are located only once the row is
 * done, since appending may move it.
 */
bool
row_encode(struct row_encoder *e, const struct value *vals, struct encoded_row *row)
{
	const struct row_layout *l = e->layout;
	buf_reset(&e->cols);
	buf_reset(&e->key);
	e->bad_col = -1;
	e->bad_reason = NULL;
	for (int i = 0; i < l->ncols; i++) {
		enum canon_type tag = l->cols[i].type;
		e->seg_start[i] = (size_t) -1;
		if (vals[i].null) {
			tag = CANON_NULL;
			e->seg[i] = "";
			e->seg_len[i] = 0;
		} else if (l->cols[i].identity) {
			e->seg[i] = vals[i].data;
			e->seg_len[i] = vals[i].len;
		} else {
			size_t start = e->cols.len;
			const char *err = NULL;
			if (vals[i].bad)
				err = "cannot be decoded";
			if (vals[i].bad || !canon_encode(tag, &l->cols[i].opts, vals[i].data, vals[i].len,
							 &e->cols, &err)) {
				if (e->cols.failed)
					return false;
				/* keep the raw bytes, salted by side: reported, never matched */
				e->cols.len = start;
				e->bad_col = i;
				e->bad_reason = err;
				tag = CANON_INVALID;
				buf_append_char(&e->cols, (char) ('0' + e->side));
				buf_append(&e->cols, vals[i].data, vals[i].len);
				if (e->cols.failed)
					return false;
			}
			e->seg_start[i] = start;
			e->seg_len[i] = e->cols.len - start;
		}
		e->tags[i] = (unsigned char) tag;
	}
	for (int i = 0; i < l->ncols; i++) {
		if (e->seg_start[i] != (size_t) -1)
			e->seg[i] = e->cols.data + e->seg_start[i];
		e->colhash[i] = XXH3_64bits_withSeed(e->seg[i], e->seg_len[i], e->tags[i]);
	}
	for (int k = 0; k < l->nkeys; k++) {
		int c = l->keys[k];
		enum canon_type tag = (enum canon_type) e->tags[c];
		if (tag == CANON_NULL || tag == CANON_INVALID) {
			e->bad_col = c;
			if (e->bad_reason == NULL)
				e->bad_reason = "NULL key value";
			return false;
		}
		if (e->seg_len[c] > UINT32_MAX || !keyframe_append(&e->key, tag, e->seg[c], e->seg_len[c]))
			return false;
	}
	row->key = e->key.data;
	row->keylen = e->key.len;
	row->hash = XXH3_64bits(e->colhash, (size_t) l->ncols * sizeof(uint64_t));
	row->colhash = e->colhash;
	row->flags = 0;
	return true;
}

void
row_encoder_column(const struct row_encoder *e, int i, enum canon_type *tag, const char **v,
		   size_t *len)
{
	*tag = (enum canon_type) e->tags[i];
	*v = e->seg[i];
	*len = e->seg_len[i];
}

int
key_compare(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *pa = a, *pb = b, *ea = a + alen, *eb = b + blen;
	for (;;) {
		enum canon_type ta, tb;
		const char *va, *vb;
		size_t la, lb;
		bool ha = keyframe_next(&pa, ea, &ta, &va, &la);
		bool hb = keyframe_next(&pb, eb, &tb, &vb, &lb);
		if (!ha || !hb)
			return ha ? 1 : hb ? -1 : 0;
		if (ta != tb)
			return ta < tb ? -1 : 1;
		int c = canon_compare(ta, va, la, vb, lb);
		if (c != 0)
			return c;
	}
}

bool
key_to_json(const struct row_layout *l, const char *key, size_t keylen, struct buf *out)
{
	const char *p = key, *end = key + keylen;
	struct buf text;
	buf_init(&text);
	buf_append_char(out, '{');
	for (int k = 0; k < l->nkeys; k++) {
		enum canon_type t;
		const char *v;
		size_t len;
		if (!keyframe_next(&p, end, &t, &v, &len))
			break;
		if (k > 0)
			buf_append_char(out, ',');
		const char *name = l->cols[l->keys[k]].name;
		buf_append_json_string(out, name, strlen(name));
		buf_append_char(out, ':');
		buf_reset(&text);
		canon_display(t, v, len, &text);
		buf_append_json_string(out, text.data ? text.data : "", text.len);
	}
	buf_free(&text);
	return buf_append_char(out, '}');
}

void
digest_init(struct digest *d)
{
	/* XXH3_state_t wants 64-byte alignment */
	d->state = aligned_alloc(64, (sizeof(XXH3_state_t) + 63) / 64 * 64);
	if (d->state == NULL) {
		fputs("crosscheck: error: out of memory\n", stderr);
		abort();
	}
	XXH3_128bits_reset(d->state);
	d->count = 0;
}

void
digest_add(struct digest *d, const struct encoded_row *row)
{
	char h[8];
	for (int i = 0; i < 8; i++)
		h[i] = (char) ((row->hash >> (8 * i)) & 0xff);
	XXH3_128bits_update(d->state, row->key, row->keylen);
	XXH3_128bits_update(d->state, h, sizeof(h));
	d->count++;
}

void
digest_final(struct digest *d, char hex[33])
{
	XXH128_hash_t h = XXH3_128bits_digest(d->state);
	snprintf(hex, 33, "%016llx%016llx", (unsigned long long) h.high64,
		 (unsigned long long) h.low64);
}

void
digest_free(struct digest *d)
{
	free(d->state);
	d->state = NULL;
}

void
hash128_hex(const void *data, size_t len, char hex[33])
{
	XXH128_hash_t h = XXH3_128bits(data, len);
	snprintf(hex, 33, "%016llx%016llx", (unsigned long long) h.high64,
		 (unsigned long long) h.low64);
}
