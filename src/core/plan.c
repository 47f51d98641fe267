/*
 * core/plan.c: the partition planner.
 */
#include "core/plan.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/row.h"
#include "util/buf.h"
#include "util/str.h"

typedef __int128 i128; /* BIGINT UNSIGNED bounds need more than 64 bits of arithmetic */

void
plan_free(struct plan *p)
{
	for (int i = 0; i < p->n; i++) {
		free(p->parts[i].lo);
		free(p->parts[i].hi);
	}
	free(p->parts);
	p->parts = NULL;
	p->n = 0;
}

static bool
parse_i128(const char *s, i128 *out)
{
	bool neg = *s == '-';
	if (neg || *s == '+')
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	i128 v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char) *s) || v > ((i128) 1 << 100))
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return true;
}

static void
format_i128(i128 v, char *out, size_t size)
{
	char tmp[64];
	int n = 0;
	bool neg = v < 0;
	unsigned __int128 u = neg ? (unsigned __int128) (-(v + 1)) + 1 : (unsigned __int128) v;
	do {
		tmp[n++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u && n < 60);
	size_t j = 0;
	if (neg && j + 1 < size)
		out[j++] = '-';
	while (n > 0 && j + 1 < size)
		out[j++] = tmp[--n];
	out[j] = '\0';
}

static char *
dup_key(const char *k, size_t n)
{
	if (k == NULL)
		return NULL;
	char *p = xmalloc(n ? n : 1);
	memcpy(p, k, n);
	return p;
}

void
plan_add_boundary(struct plan *p, const char *key, size_t keylen)
{
	p->parts = xrealloc(p->parts, (size_t) (p->n + 1) * sizeof(*p->parts));
	struct partition_range *r = &p->parts[p->n];
	if (p->n == 0) {
		r->lo = NULL;
		r->lolen = 0;
	} else {
		struct partition_range *prev = &p->parts[p->n - 1];
		r->lo = dup_key(prev->hi, prev->hilen);
		r->lolen = prev->hilen;
	}
	r->hi = dup_key(key, keylen);
	r->hilen = keylen;
	p->n++;
}

bool
plan_integer_split(const char *min, const char *max, int64_t rows, int64_t rows_per_part,
		   struct plan *out)
{
	i128 lo, hi;
	memset(out, 0, sizeof(*out));
	if (!parse_i128(min, &lo) || !parse_i128(max, &hi) || hi < lo)
		return false;
	if (rows_per_part < 1)
		rows_per_part = 1;
	i128 nparts = rows <= 0 ? 1 : ((i128) rows + rows_per_part - 1) / rows_per_part;
	i128 width = hi - lo + 1;
	if (nparts > width)
		nparts = width;
	if (nparts > 1000000)
		nparts = 1000000;
	if (nparts < 1)
		nparts = 1;
	i128 step = width / nparts;
	struct buf key;
	buf_init(&key);
	for (i128 i = 1; i < nparts; i++) {
		char text[64];
		format_i128(lo + step * i, text, sizeof(text));
		buf_reset(&key);
		keyframe_append(&key, CANON_NUMBER, text, strlen(text));
		plan_add_boundary(out, key.data, key.len);
	}
	plan_add_boundary(out, NULL, 0);
	buf_free(&key);
	return true;
}

bool
plan_bound_json(const struct row_layout *l, const char *key, size_t keylen, struct buf *out)
{
	if (key == NULL)
		return buf_append_str(out, "null");
	return key_to_json(l, key, keylen, out);
}
