/*
 * audit/checkpoint.c: taking a checkpoint: the source's replication position, recorded
 * with its time. Every audit takes one as it starts, so that a clean audit verifies a
 * position that replacement tasks can start from.
 */
#include "audit/audit.h"

#include "endpoint/endpoint.h"
#include "util/buf.h"
#include "util/log.h"

bool
audit_take_checkpoint(struct endpoint *src, const char *slot, struct store *st,
		      const char *shown_source, const char *label, int64_t run, int64_t *id)
{
	if (src->ops->cdc_position == NULL) {
		log_error("%s: %s has no replication position crosscheck can read", src->label,
			  src->ops->engine);
		return false;
	}
	struct buf position, gtid;
	buf_init(&position);
	buf_init(&gtid);
	bool ok = src->ops->cdc_position(src, slot, &position, &gtid);
	if (ok) {
		struct checkpoint_record c = {
			.source = shown_source,
			.engine = src->ops->engine,
			.position = buf_cstr(&position),
			.gtid = gtid.len ? buf_cstr(&gtid) : NULL,
			.label = label,
			.run = run,
		};
		ok = store_checkpoint_add(st, &c, id);
	}
	buf_free(&position);
	buf_free(&gtid);
	return ok;
}
