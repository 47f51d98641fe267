/*
 * core/recheck.c: the recheck policy.
 */
#include "core/recheck.h"

#include <string.h>

static const char *state_names[] = {
	[FAILURE_PENDING] = "pending",
	[FAILURE_CONFIRMED] = "confirmed",
	[FAILURE_RESOLVED] = "resolved",
	[FAILURE_REPAIRED] = "repaired",
};

const char *
failure_state_name(enum failure_state s)
{
	return state_names[s];
}

bool
failure_state_from_name(const char *name, enum failure_state *s)
{
	for (int i = 0; i <= FAILURE_REPAIRED; i++)
		if (strcmp(name, state_names[i]) == 0) {
			*s = (enum failure_state) i;
			return true;
		}
	return false;
}

double
recheck_delay(double base_delay, int attempt)
{
	return attempt < 1 ? 0 : base_delay * attempt;
}

enum failure_state
recheck_next_state(bool still_differs, int attempt, int max_attempts)
{
	if (!still_differs)
		return FAILURE_RESOLVED;
	return attempt >= max_attempts ? FAILURE_CONFIRMED : FAILURE_PENDING;
}
