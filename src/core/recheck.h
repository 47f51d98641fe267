/*
 * core/recheck.h: the recheck policy that keeps replication lag from being called drift.
 *
 * A difference starts PENDING. Before attempt n (1-based) we wait delay * n seconds (a
 * growing delay: lag that outlives one wait is given longer next time), then re-read the
 * key on both sides. Still different after the last attempt: CONFIRMED. Gone at any
 * attempt: RESOLVED (lag). With zero attempts, differences stay PENDING: a one-pass
 * audit that claims nothing it has not seen twice.
 */
#ifndef CROSSCHECK_CORE_RECHECK_H
#define CROSSCHECK_CORE_RECHECK_H

#include <stdbool.h>

enum failure_state {
	FAILURE_PENDING = 0,
	FAILURE_CONFIRMED,
	FAILURE_RESOLVED,
	FAILURE_REPAIRED,
};

const char *failure_state_name(enum failure_state s);
bool failure_state_from_name(const char *name, enum failure_state *s);

/* recheck_delay returns the wait before attempt (1-based). */
double recheck_delay(double base_delay, int attempt);

/* recheck_next_state: the state after an attempt saw the key still differing or not. */
enum failure_state recheck_next_state(bool still_differs, int attempt, int max_attempts);

#endif
