/*
 * util/buf.c: growable byte buffer with a hard cap.
 */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data)
		b->data[0] = '\0';
}

bool
buf_reserve(struct buf *b, size_t extra)
{
	size_t cap = b->cap ? b->cap : BUF_DEFAULT_CAP;
	if (b->failed)
		return false;
	if (extra > cap || b->len > cap - extra - 1) {
		b->failed = true;
		return false;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->alloc)
		return true;
	/* never more than cap + 1 bytes: buf_append's inline fast path relies on it */
	size_t n = b->alloc ? b->alloc : 64;
	if (n > cap + 1)
		n = cap + 1;
	while (n < need)
		n = n > cap / 2 ? cap + 1 : n * 2;
	char *p = realloc(b->data, n);
	if (p == NULL) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->alloc = n;
	return true;
}

bool
buf_append_slow(struct buf *b, const void *data, size_t len)
{
	if (!buf_reserve(b, len))
		return false;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

bool
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}


bool
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	bool ok = n >= 0 && buf_reserve(b, (size_t) n);
	if (ok) {
		vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap2);
		b->len += (size_t) n;
	}
	va_end(ap2);
	return ok;
}

const char *
buf_cstr(struct buf *b)
{
	if (b->data == NULL) {
		if (!buf_reserve(b, 0))
			return "";
		b->data[0] = '\0'; /* a fresh allocation is not a string yet */
	}
	return b->data;
}

char *
buf_steal(struct buf *b)
{
	buf_cstr(b);
	char *p = b->data;
	buf_init(b);
	return p;
}

bool
buf_append_json_string(struct buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (!buf_append_char(b, '"'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];
		switch (c) {
		case '"': buf_append(b, "\\\"", 2); break;
		case '\\': buf_append(b, "\\\\", 2); break;
		case '\n': buf_append(b, "\\n", 2); break;
		case '\r': buf_append(b, "\\r", 2); break;
		case '\t': buf_append(b, "\\t", 2); break;
		case '\b': buf_append(b, "\\b", 2); break;
		case '\f': buf_append(b, "\\f", 2); break;
		default:
			if (c < 0x20) {
				char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
				buf_append(b, esc, 6);
			} else {
				buf_append_char(b, (char) c);
			}
		}
	}
	return buf_append_char(b, '"');
}

bool
buf_append_codepoint(struct buf *b, uint32_t cp)
{
	char s[4];
	size_t n;
	if (cp < 0x80) {
		s[0] = (char) cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char) (0xc0 | (cp >> 6));
		s[1] = (char) (0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char) (0xe0 | (cp >> 12));
		s[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
		s[2] = (char) (0x80 | (cp & 0x3f));
		n = 3;
	} else {
		s[0] = (char) (0xf0 | (cp >> 18));
		s[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
		s[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
		s[3] = (char) (0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, s, n);
}
