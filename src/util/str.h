/*
 * util/str.h: small string helpers: safe number parsing, lists, duplication.
 */
#ifndef CROSSCHECK_UTIL_STR_H
#define CROSSCHECK_UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* str_to_int64 parses the whole string as a base-10 integer (no atoi: errors are seen). */
bool str_to_int64(const char *s, int64_t *out);
bool str_to_double(const char *s, double *out);
/* str_to_duration parses "30", "30s", "5m", "2h", "1.5s" into seconds. */
bool str_to_duration(const char *s, double *seconds);

/* A list of owned strings. */
struct strlist {
	char **items;
	size_t n;
};

void strlist_free(struct strlist *l);
bool strlist_push(struct strlist *l, const char *s);
/* strlist_split appends the comma-separated, trimmed, non-empty items of s. */
bool strlist_split(struct strlist *l, const char *s);
bool strlist_contains(const struct strlist *l, const char *s);
ptrdiff_t strlist_index(const struct strlist *l, const char *s);

/* xstrdup / xmalloc abort on out-of-memory: failing to copy a 20-byte option is not
 * something any caller can recover from. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);

/* hex_digit gives the value of a hexadecimal digit (either case), or -1. */
int hex_digit(int c);

/* time helpers */
double time_monotonic(void);
/* time_now_iso writes the current UTC time as 2026-11-21T06:03:41.123Z (buf >= 32). */
void time_now_iso(char *buf, size_t size);

#endif
