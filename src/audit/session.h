/*
 * audit/session.h: the compare plans of a recorded run, rebuilt for recover and repair.
 *
 * A session reconnects to both endpoints and rebuilds each table's plan (columns, key,
 * compare types, target names) from the options the run recorded, so that recovery
 * reads and writes exactly the columns the audit compared. The plan's fields are
 * read-only for users of a session.
 */
#ifndef CROSSCHECK_AUDIT_SESSION_H
#define CROSSCHECK_AUDIT_SESSION_H

#include "audit/audit.h"
#include "audit/audit_internal.h"

struct audit_session {
	const struct audit_options *o;
	struct endpoint *src, *tgt;
	struct table_plan *tables;
	int ntables;
};

/*
 * audit_options_from_json fills o from a run's recorded options (runs.options) and the
 * endpoints to use; strings in o are owned by o (audit_options_free).
 */
bool audit_options_from_json(const char *json, const char *source_uri, const char *target_uri,
			     struct audit_options *o);

bool audit_session_open(const struct audit_options *o, bool target_writable,
			struct audit_session **out);
void audit_session_close(struct audit_session *s);
/* audit_session_table finds a table by its recorded (source) name, or NULL. */
struct table_plan *audit_session_table(struct audit_session *s, const char *name);
/* audit_session_fetch reads the current rows of the keys on one side (plan column order). */
bool audit_session_fetch(struct audit_session *s, struct table_plan *tp, int side,
			 const char *const *keys, const size_t *lens, int n, row_fn fn, void *ctx);

#endif
