/*
 * core/plan.h: the partition planner.
 *
 * A partition is a key range [lo, hi) in canonical key order; lo == NULL means "from the
 * start", hi == NULL "to the end". The first and last partitions are open so that rows
 * present on one side only, beyond the other side's key range, still fall in a partition.
 * Both sides are read with the same bounds, so both select the same key set.
 *
 * Two ways to cut: integer keys by range arithmetic over [min, max] (no scan needed), and
 * any other key by taking every Nth key of an ordered key walk (the endpoint walks the
 * index; the planner only collects boundaries).
 */
#ifndef CROSSCHECK_CORE_PLAN_H
#define CROSSCHECK_CORE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct partition_range {
	char *lo; /* canonical key (owned) or NULL */
	size_t lolen;
	char *hi;
	size_t hilen;
};

struct plan {
	struct partition_range *parts;
	int n;
};

void plan_free(struct plan *p);

/*
 * plan_integer_split cuts [min, max] (canonical integers, may exceed 64 bits up to
 * 2^64) into about rows/rows_per_part ranges of equal width. Fails (false) if min or
 * max is not an integer.
 */
bool plan_integer_split(const char *min, const char *max, int64_t rows, int64_t rows_per_part,
			struct plan *out);

/* plan_add_boundary appends a partition ending at key (NULL = the final open range). */
void plan_add_boundary(struct plan *p, const char *key, size_t keylen);

/* plan_range_json appends the range bound as JSON (null when open), for the store. */
struct buf;
struct row_layout;
bool plan_bound_json(const struct row_layout *l, const char *key, size_t keylen, struct buf *out);

#endif
