/*
 * core/canon_internal.h: encoders shared between the canon*.c files (test-visible).
 */
#ifndef CROSSCHECK_CORE_CANON_INTERNAL_H
#define CROSSCHECK_CORE_CANON_INTERNAL_H

#include "core/canon.h"

bool canon_encode_date(const char *in, size_t len, struct buf *out, const char **err);
bool canon_encode_time(const struct canon_opts *o, const char *in, size_t len, struct buf *out,
		       const char **err);
bool canon_encode_timestamp(const struct canon_opts *o, const char *in, size_t len,
			    struct buf *out, const char **err);

#endif
