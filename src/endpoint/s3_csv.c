/*
 * endpoint/s3_csv.c: the CSV dialect DMS writes (s3-dms.md A3), one record at a time.
 *
 * Delimiters are strings (CsvDelimiter, CsvRowDelimiter), not single characters. With
 * Rfc4180 (the default) a field that starts with '"' is quoted: it ends at a '"' not
 * doubled, may hold delimiters and raw newlines, and must be followed by a delimiter, the
 * row delimiter or the end; so quotes are parsed before rows are split. Without Rfc4180
 * nothing is quoted and every delimiter ends a field. A '"' inside an unquoted field is
 * data (DMS quotes only when it must).
 *
 * NULL, empty and quoted empty are told apart as DMS writes them:
 *   - CsvNullValue not set: NULL is an empty unquoted field (what DMS writes by default,
 *     s3-dms.md A3 [obs]); an empty string is written quoted, "".
 *   - CsvNullValue set: NULL is that text, unquoted; an empty field is an empty string,
 *     and a quoted field is always a string, even when it spells the null value.
 *
 * The reader keeps one buffer of unparsed bytes and parses a record only when the whole
 * record is in it, reading more otherwise; a record larger than MAX_RECORD is malformed.
 */
#include <stdlib.h>
#include <string.h>

#include "endpoint/s3_internal.h"
#include "util/str.h"

#define READ_SIZE (256u << 10)
#define MAX_RECORD ((size_t) 64 << 20)

void
csv_reader_init(struct csv_reader *c, struct s3_reader *in, const struct s3_settings *s)
{
	memset(c, 0, sizeof(*c));
	c->in = in;
	c->delim = s->delim;
	c->row_delim = s->row_delim;
	c->dlen = strlen(s->delim);
	c->rlen = strlen(s->row_delim);
	c->rfc4180 = s->rfc4180;
	buf_init(&c->buf);
	buf_init(&c->unq);
	c->buf.cap = MAX_RECORD + 2 * READ_SIZE;
	c->unq.cap = MAX_RECORD + 1;
	c->next_line = 1;
}

void
csv_reader_free(struct csv_reader *c)
{
	buf_free(&c->buf);
	buf_free(&c->unq);
	free(c->fields);
	free(c->offs);
	free(c->read_error);
	memset(c, 0, sizeof(*c));
}

bool
csv_is_null(const struct csv_field *f, const struct s3_settings *s)
{
	if (f->quoted)
		return false;
	if (s->null_value == NULL)
		return f->len == 0;
	return f->len == strlen(s->null_value) && memcmp(f->data, s->null_value, f->len) == 0;
}

static void
add_field(struct csv_reader *c, size_t off, size_t len, bool quoted)
{
	if (c->nfields == c->alloc) {
		c->alloc = c->alloc ? 2 * c->alloc : 32;
		c->fields = xrealloc(c->fields, (size_t) c->alloc * sizeof(*c->fields));
		c->offs = xrealloc(c->offs, (size_t) c->alloc * sizeof(*c->offs));
	}
	c->offs[c->nfields] = off;
	c->fields[c->nfields].len = len;
	c->fields[c->nfields].quoted = quoted;
	c->nfields++;
}

static bool
at(const char *p, const char *end, const char *s, size_t n)
{
	return (size_t) (end - p) >= n && memcmp(p, s, n) == 0;
}

static int64_t
count_newlines(const char *p, size_t n)
{
	int64_t k = 0;
	for (const char *e = p + n; (p = memchr(p, '\n', (size_t) (e - p))) != NULL; p++)
		k++;
	return k;
}

enum parse { PARSE_OK, PARSE_MORE, PARSE_BAD };

/*
 * parse_record parses one record at c->pos; on PARSE_OK *used is its length (row
 * delimiter included). With eof, a record may end at the end of the data.
 */
static enum parse
parse_record(struct csv_reader *c, size_t *used, const char **err)
{
	const char *start = c->buf.data + c->pos, *end = c->buf.data + c->buf.len, *p = start;
	const char d0 = c->delim[0], r0 = c->row_delim[0];
	c->nfields = 0;
	buf_reset(&c->unq);
	for (;;) {
		if (c->rfc4180 && p < end && *p == '"') {
			size_t uoff = c->unq.len;
			const char *q = p + 1;
			for (;;) {
				const char *quote = memchr(q, '"', (size_t) (end - q));
				if (quote == NULL)
					return c->eof ? (*err = "unterminated quoted field", PARSE_BAD) : PARSE_MORE;
				buf_append(&c->unq, q, (size_t) (quote - q));
				if (quote + 1 < end && quote[1] == '"') {
					buf_append_char(&c->unq, '"');
					q = quote + 2;
					continue;
				}
				if (quote + 1 == end && !c->eof)
					return PARSE_MORE; /* a doubled quote may straddle the read */
				p = quote + 1;
				break;
			}
			if (c->unq.failed)
				return (*err = "field too large", PARSE_BAD);
			add_field(c, uoff, c->unq.len - uoff, true);
			if (p == end) {
				if (!c->eof)
					return PARSE_MORE;
				*used = (size_t) (p - start);
				return PARSE_OK;
			}
			if ((size_t) (end - p) < (c->dlen > c->rlen ? c->dlen : c->rlen) && !c->eof)
				return PARSE_MORE;
			if (at(p, end, c->delim, c->dlen)) {
				p += c->dlen;
				continue;
			}
			if (at(p, end, c->row_delim, c->rlen)) {
				*used = (size_t) (p + c->rlen - start);
				return PARSE_OK;
			}
			*err = "text after a closing quote";
			return PARSE_BAD;
		}
		/* an unquoted field: up to the next delimiter or row delimiter */
		const char *f = p;
		for (;;) {
			while (p < end && *p != d0 && *p != r0)
				p++;
			if (p == end) {
				if (!c->eof)
					return PARSE_MORE;
				add_field(c, (size_t) (f - c->buf.data), (size_t) (p - f), false);
				*used = (size_t) (p - start);
				return PARSE_OK;
			}
			if ((size_t) (end - p) < (c->dlen > c->rlen ? c->dlen : c->rlen) && !c->eof)
				return PARSE_MORE;
			if (*p == d0 && at(p, end, c->delim, c->dlen)) {
				add_field(c, (size_t) (f - c->buf.data), (size_t) (p - f), false);
				p += c->dlen;
				break;
			}
			if (*p == r0 && at(p, end, c->row_delim, c->rlen)) {
				add_field(c, (size_t) (f - c->buf.data), (size_t) (p - f), false);
				*used = (size_t) (p + c->rlen - start);
				return PARSE_OK;
			}
			p++; /* the first byte of a delimiter, but not the whole of it */
		}
	}
}

/* skip_record: after a malformed record, on to the next row delimiter. */
static void
skip_record(struct csv_reader *c)
{
	const char *start = c->buf.data + c->pos, *end = c->buf.data + c->buf.len;
	const char *p = start;
	while (p < end && !at(p, end, c->row_delim, c->rlen))
		p++;
	p = p < end ? p + c->rlen : end;
	c->next_line += count_newlines(start, (size_t) (p - start));
	c->pos += (size_t) (p - start);
}

/* fill: read more bytes after what is unparsed; false on a read error. */
static bool
fill(struct csv_reader *c, const char **err)
{
	if (c->pos > 0) {
		memmove(c->buf.data, c->buf.data + c->pos, c->buf.len - c->pos);
		c->buf.len -= c->pos;
		c->pos = 0;
	}
	if (!buf_reserve(&c->buf, READ_SIZE)) {
		*err = "record too large";
		return false;
	}
	ssize_t n = s3_reader_read(c->in, c->buf.data + c->buf.len, READ_SIZE, err);
	if (n < 0) {
		free(c->read_error);
		c->read_error = xstrdup(*err);
		*err = c->read_error;
		return false;
	}
	if (n == 0)
		c->eof = true;
	c->buf.len += (size_t) n;
	c->buf.data[c->buf.len] = '\0';
	return true;
}

int
csv_next(struct csv_reader *c, const char **err, bool *fatal)
{
	*err = NULL;
	*fatal = false;
	for (;;) {
		if (c->pos == c->buf.len && c->eof)
			return 0;
		size_t used = 0;
		enum parse r = c->pos < c->buf.len ? parse_record(c, &used, err) : PARSE_MORE;
		if (r == PARSE_MORE) {
			if (c->buf.len - c->pos > MAX_RECORD) {
				*err = "record larger than 64 MiB";
				*fatal = true;
				return -1;
			}
			if (c->eof) /* nothing more will come: the rest is one last record */
				return 0;
			if (!fill(c, err)) {
				*fatal = true;
				return -1;
			}
			continue;
		}
		c->line = c->next_line;
		if (r == PARSE_BAD) {
			skip_record(c);
			return -1;
		}
		const char *rec = c->buf.data + c->pos;
		/* with "\n" rows an unquoted field holds no newline: count only in quoted ones */
		bool quoted = false;
		for (int i = 0; i < c->nfields && !quoted; i++)
			quoted = c->fields[i].quoted;
		c->next_line += c->rlen == 1 && c->row_delim[0] == '\n' && !quoted
					? 1
					: count_newlines(rec, used);
		for (int i = 0; i < c->nfields; i++)
			c->fields[i].data = (c->fields[i].quoted ? c->unq.data : c->buf.data) + c->offs[i];
		if (c->unq.data == NULL)
			for (int i = 0; i < c->nfields; i++)
				if (c->fields[i].quoted)
					c->fields[i].data = "";
		c->pos += used;
		return 1;
	}
}
