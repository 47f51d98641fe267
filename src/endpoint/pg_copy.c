/*
 * endpoint/pg_copy.c: decoding of COPY ... TO STDOUT text rows.
 *
 * COPY text is the fastest way to stream rows out of PostgreSQL with libpq (one
 * CopyData message per row, no per-row PGresult), and every type's text output is what
 * core/canon.c reads. The format: fields separated by tabs, rows by newlines, NULL as
 * \N, and backslash escapes for \b \f \n \r \t \v \\, octal \NNN and hex \xHH.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/pg_internal.h"
#include "util/str.h"

void
pg_copy_decoder_init(struct pg_copy_decoder *d, int ncols, const bool *is_bytea)
{
	memset(d, 0, sizeof(*d));
	d->ncols = ncols;
	d->is_bytea = xcalloc((size_t) ncols, sizeof(bool));
	if (is_bytea)
		memcpy(d->is_bytea, is_bytea, (size_t) ncols * sizeof(bool));
	d->vals = xcalloc((size_t) ncols, sizeof(struct value));
	d->offsets = xcalloc((size_t) ncols, sizeof(size_t));
	buf_init(&d->scratch);
	d->scratch.cap = 512u << 20;
}

void
pg_copy_decoder_free(struct pg_copy_decoder *d)
{
	free(d->is_bytea);
	free(d->vals);
	free(d->offsets);
	buf_free(&d->scratch);
	memset(d, 0, sizeof(*d));
}

/* unescape appends the decoded bytes of a COPY field to out. */
static bool
unescape(const char *p, const char *end, struct buf *out)
{
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t) (end - p));
		if (bs == NULL) {
			return buf_append(out, p, (size_t) (end - p));
		}
		buf_append(out, p, (size_t) (bs - p));
		if (bs + 1 >= end)
			return false;
		char c = bs[1];
		p = bs + 2;
		switch (c) {
		case 'b': buf_append_char(out, '\b'); break;
		case 'f': buf_append_char(out, '\f'); break;
		case 'n': buf_append_char(out, '\n'); break;
		case 'r': buf_append_char(out, '\r'); break;
		case 't': buf_append_char(out, '\t'); break;
		case 'v': buf_append_char(out, '\v'); break;
		case 'x': {
			int v = 0, n = 0, h;
			while (n < 2 && p < end && (h = hex_digit(*p)) >= 0) {
				v = v * 16 + h;
				p++;
				n++;
			}
			if (n == 0)
				buf_append_char(out, 'x');
			else
				buf_append_char(out, (char) v);
			break;
		}
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0', n = 1;
				while (n < 3 && p < end && *p >= '0' && *p <= '7') {
					v = v * 8 + (*p - '0');
					p++;
					n++;
				}
				buf_append_char(out, (char) v);
			} else {
				buf_append_char(out, c); /* \\ and any other char: itself */
			}
		}
	}
	return !out->failed;
}

bool
pg_copy_decode_row(struct pg_copy_decoder *d, const char *row, size_t len)
{
	if (len > 0 && row[len - 1] == '\n')
		len--;
	const char *p = row, *end = row + len;
	buf_reset(&d->scratch);
	for (int i = 0; i < d->ncols; i++) {
		const char *tab = memchr(p, '\t', (size_t) (end - p));
		const char *fend = tab ? tab : end;
		if ((tab == NULL) != (i == d->ncols - 1))
			return false; /* wrong number of fields */
		struct value *v = &d->vals[i];
		d->offsets[i] = (size_t) -1;
		v->null = fend - p == 2 && p[0] == '\\' && p[1] == 'N';
		if (v->null) {
			v->data = "";
			v->len = 0;
		} else if (d->is_bytea[i]) {
			/* bytea text is \x<hex>, itself escaped as \\x<hex> in COPY */
			size_t start = d->scratch.len;
			bool ok;
			if (fend - p >= 3 && memcmp(p, "\\\\x", 3) == 0 &&
			    memchr(p + 3, '\\', (size_t) (fend - p - 3)) == NULL) {
				/* the usual shape: hex digits behind one escaped backslash */
				ok = endpoint_hex_decode(p + 3, (size_t) (fend - p - 3), &d->scratch);
			} else {
				struct buf tmp;
				buf_init(&tmp);
				ok = unescape(p, fend, &tmp) &&
				     endpoint_hex_decode(tmp.data ? tmp.data : "", tmp.len, &d->scratch);
				buf_free(&tmp);
			}
			if (!ok)
				return false;
			d->offsets[i] = start;
			v->len = d->scratch.len - start;
		} else if (memchr(p, '\\', (size_t) (fend - p)) == NULL) {
			v->data = p;
			v->len = (size_t) (fend - p);
		} else {
			size_t start = d->scratch.len;
			if (!unescape(p, fend, &d->scratch))
				return false;
			d->offsets[i] = start;
			v->len = d->scratch.len - start;
		}
		p = tab ? tab + 1 : end;
	}
	/* scratch may have moved while growing: point decoded fields at it only now */
	for (int i = 0; i < d->ncols; i++)
		if (d->offsets[i] != (size_t) -1)
			d->vals[i].data = d->scratch.data + d->offsets[i];
	return true;
}
