/*
 * util/buf.h: a growable byte buffer with a hard cap.
 *
 * Every buffer that grows with data we do not control (a row, a JSON body, a key list)
 * has a cap, so a hostile or broken server makes us fail cleanly instead of exhausting
 * memory. Functions return false when the cap would be exceeded or malloc fails.
 */
#ifndef CROSSCHECK_UTIL_BUF_H
#define CROSSCHECK_UTIL_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BUF_DEFAULT_CAP ((size_t) 1 << 30) /* 1 GiB */

struct buf {
	char *data;    /* owned; always NUL-terminated when len > 0 or after buf_cstr */
	size_t len;
	size_t alloc;
	size_t cap;    /* 0 means BUF_DEFAULT_CAP */
	bool failed;   /* sticky: set when an append did not fit */
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
bool buf_reserve(struct buf *b, size_t extra);
bool buf_append_slow(struct buf *b, const void *data, size_t len);
bool buf_append_str(struct buf *b, const char *s);

/*
 * buf_append and buf_append_char are inline: they run for every value of every row, and
 * most appends fit in what is already allocated (never more than cap + 1 bytes, so the
 * fast path needs no cap check of its own).
 */
static inline bool
buf_append(struct buf *b, const void *data, size_t len)
{
	if (b->data != NULL && !b->failed && b->alloc - b->len > len) {
		if (len > 0)
			memcpy(b->data + b->len, data, len);
		b->len += len;
		b->data[b->len] = '\0';
		return true;
	}
	return buf_append_slow(b, data, len);
}

static inline bool
buf_append_char(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_cstr returns a NUL-terminated view (borrowed; valid until the next append). */
const char *buf_cstr(struct buf *b);
/* buf_steal returns the data (caller frees) and resets the buffer. */
char *buf_steal(struct buf *b);

/* buf_append_codepoint appends a Unicode code point as UTF-8 (JSON \\u escapes). */
bool buf_append_codepoint(struct buf *b, uint32_t cp);

/* buf_append_json_string appends s as a JSON string literal with escapes. */
bool buf_append_json_string(struct buf *b, const char *s, size_t len);

#endif
