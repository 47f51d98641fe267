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
bool buf_append(struct buf *b, const void *data, size_t len);
bool buf_append_str(struct buf *b, const char *s);
bool buf_append_char(struct buf *b, char c);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* buf_cstr returns a NUL-terminated view (borrowed; valid until the next append). */
const char *buf_cstr(struct buf *b);
/* buf_steal returns the data (caller frees) and resets the buffer. */
char *buf_steal(struct buf *b);

/* buf_append_json_string appends s as a JSON string literal with escapes. */
bool buf_append_json_string(struct buf *b, const char *s, size_t len);

#endif
