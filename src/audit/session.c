/*
 * audit/session.c: rebuilding a run's compare plans for recover and repair.
 */
#include "audit/session.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/str.h"

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int64_t
jint(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : dflt;
}

static void
jlist(json_object *o, const char *key, struct strlist *out)
{
	json_object *arr;
	if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		if (json_object_is_type(v, json_type_string))
			strlist_push(out, json_object_get_string(v));
	}
}

bool
audit_options_from_json(const char *json, const char *source_uri, const char *target_uri,
			struct audit_options *o)
{
	audit_options_init(o);
	json_object *root = json_tokener_parse(json);
	if (root == NULL || !json_object_is_type(root, json_type_object)) {
		log_error("the run's recorded options are not valid JSON");
		json_object_put(root);
		return false;
	}
	o->source_uri = source_uri;
	o->target_uri = target_uri;
	json_object *tables;
	if (json_object_object_get_ex(root, "tables", &tables) &&
	    json_object_is_type(tables, json_type_array)) {
		size_t n = json_object_array_length(tables);
		o->tables = xcalloc(n + 1, sizeof(*o->tables));
		for (size_t i = 0; i < n; i++) {
			json_object *t = json_object_array_get_idx(tables, i);
			const char *s = jstr(t, "source"), *g = jstr(t, "target");
			if (s == NULL)
				continue;
			struct table_spec *ts = &o->tables[o->ntables];
			ts->source = xstrdup(s);
			ts->target = g ? xstrdup(g) : NULL;
			jlist(t, "exclude_columns", &ts->exclude);
			jlist(t, "key", &ts->key);
			jlist(t, "columns", &ts->columns);
			json_object *tm;
			if (json_object_object_get_ex(t, "map", &tm) && json_object_is_type(tm, json_type_object)) {
				json_object_object_foreach(tm, mk, mv)
				{
					if (!json_object_is_type(mv, json_type_string))
						continue;
					ts->maps = xrealloc(ts->maps, (size_t) (ts->nmaps + 1) * sizeof(*ts->maps));
					ts->maps[ts->nmaps].source = xstrdup(mk);
					ts->maps[ts->nmaps].target = xstrdup(json_object_get_string(mv));
					ts->nmaps++;
				}
			}
			o->ntables++;
		}
	}
	jlist(root, "key", &o->key);
	jlist(root, "columns", &o->columns);
	jlist(root, "exclude_columns", &o->exclude);
	json_object *map;
	if (json_object_object_get_ex(root, "map", &map) && json_object_is_type(map, json_type_object)) {
		json_object_object_foreach(map, k, v)
		{
			if (!json_object_is_type(v, json_type_string))
				continue;
			o->maps = xrealloc(o->maps, (size_t) (o->nmaps + 1) * sizeof(*o->maps));
			o->maps[o->nmaps].source = xstrdup(k);
			o->maps[o->nmaps].target = xstrdup(json_object_get_string(v));
			o->nmaps++;
		}
	}
	o->partition_rows = jint(root, "partition_rows", o->partition_rows);
	o->float_digits = (int) jint(root, "float_digits", 0);
	o->frac_digits = (int) jint(root, "frac_digits", 6);
	o->zone_offset_sec = (int) jint(root, "zone_offset_s", 0);
	json_object *cf;
	o->casefold = json_object_object_get_ex(root, "casefold", &cf) && json_object_get_boolean(cf);
	json_object_put(root);
	if (o->ntables == 0) {
		log_error("the run recorded no tables");
		return false;
	}
	return true;
}

bool
audit_session_open(const struct audit_options *o, bool target_writable, struct audit_session **out)
{
	struct audit_session *s = xcalloc(1, sizeof(*s));
	s->o = o;
	*out = NULL;
	struct endpoint_options so = {"source", o->statement_timeout_ms, 10, false, o->source_password};
	struct endpoint_options to = {"target", o->statement_timeout_ms, 10, target_writable,
				      o->target_password};
	if (!endpoint_open(o->source_uri, &so, &s->src) || !endpoint_open(o->target_uri, &to, &s->tgt)) {
		audit_session_close(s);
		return false;
	}
	s->tables = xcalloc((size_t) o->ntables, sizeof(struct table_plan));
	for (int i = 0; i < o->ntables; i++) {
		s->ntables++;
		if (!table_plan_build(o, &o->tables[i], s->src, s->tgt, &s->tables[i])) {
			audit_session_close(s);
			return false;
		}
		s->tables[i].lag_col = -1;
	}
	*out = s;
	return true;
}

void
audit_session_close(struct audit_session *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->ntables; i++)
		table_plan_free(&s->tables[i]);
	free(s->tables);
	endpoint_close(s->src);
	endpoint_close(s->tgt);
	free(s);
}

struct table_plan *
audit_session_table(struct audit_session *s, const char *name)
{
	for (int i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].name, name) == 0)
			return &s->tables[i];
	return NULL;
}

bool
audit_session_fetch(struct audit_session *s, struct table_plan *tp, int side,
		    const char *const *keys, const size_t *lens, int n, row_fn fn, void *ctx)
{
	struct endpoint *ep = side == 0 ? s->src : s->tgt;
	struct scan_request r;
	table_plan_scan_request(tp, side, &r);
	return ep->ops->fetch(ep, &r, keys, lens, n, fn, ctx);
}
