/*
 * endpoint/opensearch.c: the OpenSearch endpoint (a replication target such as AWS DMS
 * writes): describe, key bounds, count, scan and fetch over the REST API.
 *
 * Every read is a sequence of _search pages in canonical key order: sort on the key
 * field(s) then `_id` as the tiebreaker, the next page starting after the last hit's sort
 * values (`search_after`), so no page ever needs from+size beyond max_result_window and
 * memory holds one page. On servers with points in time (2.4+, detected by trying, never
 * by the version string, which AWS may fake) a scan reads one consistent snapshot;
 * otherwise (1.x) it reads the live index, and the audit's rechecks absorb what changed
 * during the read. `_count` takes the same query as the scan, so the counts of a
 * partition and its rows agree. Documents not yet refreshed are invisible to both, like
 * rows of an uncommitted transaction: rechecks see them later.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint/opensearch.h"
#include "endpoint/opensearch_bulk_internal.h"
#include "endpoint/opensearch_internal.h"
#include "util/log.h"
#include "util/str.h"

#define OS_MAX_KEYS 16
#define OS_FETCH_CHUNK 1024

static const struct endpoint_ops os_ops;

/* --- connection ------------------------------------------------------------------------- */

bool
opensearch_endpoint_open(const char *uri, const struct endpoint_options *opts,
			 struct endpoint **out)
{
	*out = NULL;
	struct os_endpoint *os = xcalloc(1, sizeof(*os));
	endpoint_base_init(&os->base, &os_ops, uri, opts);
	struct buf version, err;
	buf_init(&version);
	buf_init(&err);
	bool ok = false;
	if (!os_config_parse(uri, os->base.label, opts->password, &os->cfg))
		goto cleanup;
	if (!os_http_open(&os->http, &os->cfg, os->base.label, opts))
		goto cleanup;
	/* GET / proves the address and the credentials before any table is planned */
	if (!os_http_call(&os->http, "GET", "/", NULL, 0, "connect"))
		goto cleanup;
	if (!os_root_parse(os->http.resp.data, os->http.resp.len, &version, &err)) {
		log_error("%s: %s: %s", os->base.label, os->base.shown_uri, buf_cstr(&err));
		log_hint("is this the OpenSearch REST port (usually 9200, or 443 on AWS)?");
		goto cleanup;
	}
	os->version = buf_steal(&version);
	log_debug("%s: %s at %s", os->base.label, os->version, os->base.shown_uri);
	*out = &os->base;
	ok = true;
cleanup:
	buf_free(&version);
	buf_free(&err);
	if (!ok)
		os->base.ops->close(&os->base);
	return ok;
}

static void
os_close(struct endpoint *ep)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	os_http_close(&os->http);
	os_config_free(&os->cfg);
	free(os->version);
	free(os->window_index);
	endpoint_base_free(&os->base);
	free(os);
}

/* --- describe ---------------------------------------------------------------------------- */

static char *
lowercase(const char *s)
{
	char *l = xstrdup(s);
	for (char *c = l; *c; c++)
		*c = (char) tolower((unsigned char) *c);
	return l;
}

/*
 * os_describe finds the index: the table name in lowercase (OpenSearch index names are
 * lowercase; DMS names one index per table). A dotted name (--target-table logs.2024,
 * which the audit splits at the dot) is first tried whole.
 */
static bool
os_describe(struct endpoint *ep, const char *schema, const char *table, struct table_desc *out)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	memset(out, 0, sizeof(*out));
	char *names[2] = {NULL, NULL};
	int n = 0;
	if (schema && *schema) {
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "%s.%s", schema, table);
		names[n++] = lowercase(buf_cstr(&b));
		buf_free(&b);
	}
	names[n++] = lowercase(table);
	bool ok = false;
	struct buf path, err;
	buf_init(&path);
	buf_init(&err);
	for (int i = 0; i < n; i++) {
		buf_reset(&path);
		buf_append_char(&path, '/');
		os_path_segment(&path, names[i]);
		buf_append_str(&path, "/_mapping");
		if (!os_http_send(&os->http, "GET", buf_cstr(&path), NULL, 0, OS_JSON,
				  os->cfg.max_retries, "describe"))
			goto done;
		if (os->http.status == 404 && i + 1 < n)
			continue;
		if (os->http.status < 200 || os->http.status > 299) {
			os_http_log_status(&os->http, "GET", buf_cstr(&path), "describe");
			goto done;
		}
		if (!os_mapping_parse(os->http.resp.data, os->http.resp.len, names[i], os->cfg.id_mode,
				      out, &err)) {
			log_error("%s: describe %s: %s", ep->label, names[i], buf_cstr(&err));
			goto done;
		}
		if (out->ncols == 0)
			log_warn("%s: index %s has no mapped fields yet", ep->label, names[i]);
		ok = true;
		break;
	}
done:
	buf_free(&path);
	buf_free(&err);
	free(names[0]);
	free(names[1]);
	return ok;
}

/* --- paged reads -------------------------------------------------------------------------- */

/* A read in progress: the query, where rows go, and where an _id-ordered read stops. */
struct read_ctx {
	struct os_endpoint *os;
	const char *index;
	const char *context;
	struct os_query *q;
	struct os_reader *rd;
	row_fn fn;
	void *fnctx;
	const char *id_hi; /* stop at the first _id >= id_hi (byte order), or NULL */
	size_t id_hilen;
	char *pit_id;	   /* owned; the server may hand a new one with each page */
	bool one_page;	   /* key bounds: the first page is the answer */
};

static void
log_read_error(struct read_ctx *c, const char *what, const struct buf *err)
{
	log_error("%s: %s: %s of index %s: %s", c->os->base.label, c->context, what, c->index,
		  err->data ? err->data : "");
	if (strstr(err->data ? err->data : "", "partial"))
		log_hint("the cluster has failing shards or is overloaded; check GET "
			 "_cluster/health and retry: a partial answer is never taken as complete");
	else if (strstr(err->data ? err->data : "", "JSON"))
		log_hint("the server (or a proxy in front of it) sent a broken answer; retry, and "
			 "check the proxy and the cluster logs");
}

/*
 * read_pages runs the query page by page until a short page, delivering every hit to
 * the row callback. A callback that stops the read makes it return false, as the
 * PostgreSQL endpoint does.
 */
static bool
read_pages(struct read_ctx *c)
{
	struct os_endpoint *os = c->os;
	struct buf body, path, after, err;
	buf_init(&body), buf_init(&path), buf_init(&after), buf_init(&err);
	struct os_page page;
	memset(&page, 0, sizeof(page));
	bool ok = false;
	for (;;) {
		buf_reset(&body);
		buf_reset(&path);
		const char *why = NULL;
		c->q->pit_id = c->pit_id;
		if (!os_build_search(c->q, &body, &why)) {
			log_error("%s: %s of index %s: %s", os->base.label, c->context, c->index, why);
			goto done;
		}
		if (c->pit_id) {
			buf_append_str(&path, "/_search"); /* a PIT names its index itself */
		} else {
			buf_append_char(&path, '/');
			os_path_segment(&path, c->index);
			buf_append_str(&path, "/_search");
		}
		if (!os_http_call(&os->http, "POST", buf_cstr(&path), body.data, body.len, c->context))
			goto done;
		buf_reset(&err);
		if (!os_page_parse(&page, os->http.resp.data, os->http.resp.len, &err)) {
			log_read_error(c, "search", &err);
			goto done;
		}
		log_debug("%s: %s of %s: %zu documents", os->base.label, c->context, c->index,
			  page.nhits);
		for (size_t i = 0; i < page.nhits; i++) {
			json_object *hit = json_object_array_get_idx(page.hits, i);
			if (c->id_hi) {
				size_t idlen;
				const char *id = os_hit_id(hit, &idlen);
				size_t m = idlen < c->id_hilen ? idlen : c->id_hilen;
				int cmp = id ? memcmp(id, c->id_hi, m) : 0;
				if (id && (cmp > 0 || (cmp == 0 && idlen >= c->id_hilen))) {
					ok = true; /* past the partition: the read is complete */
					goto done;
				}
			}
			if (!os_reader_row(c->rd, &page, hit, &err)) {
				log_read_error(c, "document", &err);
				goto done;
			}
			if (!c->fn(c->fnctx, c->rd->vals))
				goto done;
		}
		if (page.pit_id && (c->pit_id == NULL || strcmp(page.pit_id, c->pit_id) != 0)) {
			free(c->pit_id);
			c->pit_id = xstrdup(page.pit_id);
		}
		if (c->one_page || page.nhits < (size_t) c->q->size) {
			ok = true;
			goto done;
		}
		buf_reset(&after);
		if (!os_page_last_sort(&page, &after, &err)) {
			log_read_error(c, "search", &err);
			goto done;
		}
		c->q->search_after = buf_cstr(&after);
		os_page_free(&page);
	}
done:
	os_page_free(&page);
	c->q->search_after = NULL;
	buf_free(&body), buf_free(&path), buf_free(&after), buf_free(&err);
	return ok;
}

/*
 * pit_open tries to open a point in time on the index. Servers without them (1.x, 2.0
 * to 2.3) answer 400/404/405; the endpoint remembers that and reads without a snapshot,
 * which is still exact (the rechecks absorb what changed during the read). A missing
 * index, a 401 or an overloaded server is an error all the same.
 */
static bool
pit_open(struct os_endpoint *os, const char *index, char **pit_id)
{
	*pit_id = NULL;
	if (!os->cfg.use_pit || os->pit == OS_PIT_NO)
		return true;
	struct buf path, err, type, msg;
	buf_init(&path), buf_init(&err), buf_init(&type), buf_init(&msg);
	buf_append_char(&path, '/');
	os_path_segment(&path, index);
	buf_append_str(&path, "/_search/point_in_time");
	const char *params[] = {"keep_alive=" OS_PIT_KEEP_ALIVE};
	os_path_query(&path, params, 1);
	bool ok = false;
	if (!os_http_send(&os->http, "POST", buf_cstr(&path), NULL, 0, OS_JSON, os->cfg.max_retries,
			  "open point in time"))
		goto done;
	long st = os->http.status;
	if (st >= 200 && st <= 299) {
		if (!os_pit_parse(os->http.resp.data, os->http.resp.len, pit_id, &err)) {
			log_error("%s: open point in time on %s: %s", os->base.label, index,
				  buf_cstr(&err));
			goto done;
		}
		if (os->pit != OS_PIT_YES)
			log_debug("%s: reading through points in time (consistent snapshots)",
				  os->base.label);
		os->pit = OS_PIT_YES;
		ok = true;
		goto done;
	}
	os_error_text(st, os->http.resp.data, os->http.resp.len, &msg, &type);
	/* 403: a role may search without the right to create PITs; a role that cannot
	 * search at all gets its 403 from the first search */
	if ((st == 400 || st == 403 || st == 404 || st == 405) &&
	    strcmp(buf_cstr(&type), "index_not_found_exception") != 0) {
		/* said once per process, not once per connection */
		static int said;
		if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED) == 0)
			log_info("%s: no point in time on this server (%s): reading the live index "
				 "with search_after",
				 os->base.label, buf_cstr(&msg));
		os->pit = OS_PIT_NO;
		ok = true;
		goto done;
	}
	os_http_log_status(&os->http, "POST", buf_cstr(&path), "open point in time");
done:
	buf_free(&path), buf_free(&err), buf_free(&type), buf_free(&msg);
	return ok;
}

static void
pit_close(struct os_endpoint *os, char *pit_id)
{
	if (pit_id == NULL)
		return;
	struct buf body;
	buf_init(&body);
	buf_append_str(&body, "{\"pit_id\":[");
	buf_append_json_string(&body, pit_id, strlen(pit_id));
	buf_append_str(&body, "]}");
	/* a PIT left behind expires by itself (keep_alive): a failure here is not an error */
	if (!os_http_send(&os->http, "DELETE", "/_search/point_in_time", body.data, body.len,
			  OS_JSON, 1, "close point in time") ||
	    os->http.status < 200 || os->http.status > 299)
		log_debug("%s: could not delete point in time (HTTP %ld)", os->base.label,
			  os->http.status);
	buf_free(&body);
	free(pit_id);
}

/* plan_keys derives the key plan of a request, logging why it cannot be read. */
static bool
plan_keys(struct os_endpoint *os, const struct scan_request *r, struct os_key *keys)
{
	const char *why = NULL;
	if (r->nkeys < 1 || r->nkeys > OS_MAX_KEYS) {
		log_error("%s: %s: keys of 1 to %d columns are supported", os->base.label,
			  r->table->name, OS_MAX_KEYS);
		return false;
	}
	if (!os_key_plan(r, os->cfg.id_mode, keys, &why)) {
		log_error("%s: index %s: key %s: %s", os->base.label, r->table->name,
			  r->table->cols[r->key[0]].name, why);
		if (os->cfg.id_mode == OS_ID_FIELD)
			log_hint("map the key field as keyword or a number (or give it a keyword "
				 "sub-field)");
		return false;
	}
	return true;
}

/* id_bound_ok: a key held only in _id orders as text; refuse bounds that order otherwise */
static bool
id_bound_ok(struct os_endpoint *os, const struct scan_request *r, const char *key, size_t len)
{
	enum canon_type t;
	const char *v;
	size_t n;
	const char *p = key;
	if (key == NULL)
		return true;
	if (keyframe_next(&p, key + len, &t, &v, &n) && (t == CANON_TEXT || t == CANON_UUID))
		return true;
	log_error("%s: index %s: the key %s is held only in _id, which orders as text, but the "
		  "source key is a %s",
		  os->base.label, r->table->name, r->table->cols[r->key[0]].name, canon_type_name(t));
	log_hint("keep the key in _source too: with id_mode=value the read is then ordered by "
		 "that field");
	return false;
}

/*
 * page_size_for keeps pages within the index's max_result_window (the same limit caps
 * size with search_after): it reads the setting once per index and endpoint. When the
 * settings cannot be read, the configured size stands, and a too large one gets the
 * server's own 400 with a hint.
 */
static int
page_size_for(struct os_endpoint *os, const char *index)
{
	if (os->window_index && strcmp(os->window_index, index) == 0)
		return os->page_size;
	free(os->window_index);
	os->window_index = xstrdup(index);
	os->page_size = os->cfg.page_size;
	struct buf path, err;
	buf_init(&path), buf_init(&err);
	buf_append_char(&path, '/');
	os_path_segment(&path, index);
	buf_append_str(&path, "/_settings");
	const char *params[] = {"include_defaults=true"};
	os_path_query(&path, params, 1);
	int64_t window = 0;
	if (os_http_send(&os->http, "GET", buf_cstr(&path), NULL, 0, OS_JSON, os->cfg.max_retries,
			 "settings") &&
	    os->http.status == 200 &&
	    os_settings_window(os->http.resp.data, os->http.resp.len, &window, &err) && window > 0 &&
	    window < os->page_size) {
		log_debug("%s: index %s: max_result_window %lld: pages of that size", os->base.label,
			  index, (long long) window);
		os->page_size = (int) window;
	}
	buf_free(&path), buf_free(&err);
	return os->page_size;
}

static void
init_query(struct os_endpoint *os, const struct scan_request *r, const struct os_key *keys,
	   struct os_query *q)
{
	memset(q, 0, sizeof(*q));
	q->keys = keys;
	q->nkeys = r->nkeys;
	q->lo = r->lo;
	q->lolen = r->lolen;
	q->hi = r->hi;
	q->hilen = r->hilen;
	/* documents without a sortable key are read with the last (open-ended) partition,
	 * so they surface as errors instead of hiding between ranges */
	q->keyless = r->hi == NULL && keys[0].kind != OS_KIND_ID;
	q->size = page_size_for(os, r->table->name);
}

static bool
os_scan(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	struct os_key keys[OS_MAX_KEYS];
	if (!plan_keys(os, r, keys))
		return false;
	struct os_query q;
	init_query(os, r, keys, &q);
	struct os_reader rd;
	os_reader_init(&rd, r, keys, r->nkeys);
	struct read_ctx c = {os, r->table->name, "scan", &q, &rd, fn, ctx, NULL, 0, NULL, false};
	struct buf after;
	buf_init(&after);
	bool ok = false;
	if (keys[0].kind == OS_KIND_ID && (r->lo || r->hi)) {
		/*
		 * OpenSearch has no range query on _id. The range is read in _id order instead:
		 * the lower bound itself by an ids query, then search_after the bound, stopping
		 * at the first _id at or past the upper bound.
		 */
		if (!id_bound_ok(os, r, r->lo, r->lolen) || !id_bound_ok(os, r, r->hi, r->hilen))
			goto done;
		q.lo = q.hi = NULL;
		if (r->hi) {
			const char *p = r->hi;
			enum canon_type t;
			keyframe_next(&p, r->hi + r->hilen, &t, &c.id_hi, &c.id_hilen);
		}
		if (r->lo) {
			const char *keylist[1] = {r->lo};
			size_t lens[1] = {r->lolen};
			q.fetch = keylist;
			q.fetchlens = lens;
			q.nfetch = 1;
			bool first = read_pages(&c);
			q.fetch = NULL;
			q.fetchlens = NULL;
			q.nfetch = 0;
			if (!first)
				goto done;
			const char *p = r->lo, *v;
			enum canon_type t;
			size_t n;
			keyframe_next(&p, r->lo + r->lolen, &t, &v, &n);
			buf_append_char(&after, '[');
			buf_append_json_string(&after, v, n);
			buf_append_char(&after, ']');
			q.search_after = buf_cstr(&after);
		}
		ok = read_pages(&c);
		goto done;
	}
	if (!pit_open(os, r->table->name, &c.pit_id))
		goto done;
	ok = read_pages(&c);
	pit_close(os, c.pit_id);
	c.pit_id = NULL;
done:
	buf_free(&after);
	os_reader_free(&rd);
	return ok;
}

static bool
os_fetch(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	 const size_t *keylens, int nkeys, row_fn fn, void *ctx)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	struct os_key kplan[OS_MAX_KEYS];
	if (nkeys == 0)
		return true;
	if (!plan_keys(os, r, kplan))
		return false;
	struct os_query q;
	init_query(os, r, kplan, &q);
	q.lo = q.hi = NULL;
	q.keyless = false;
	struct os_reader rd;
	os_reader_init(&rd, r, kplan, r->nkeys);
	struct read_ctx c = {os, r->table->name, "fetch", &q, &rd, fn, ctx, NULL, 0, NULL, false};
	bool ok = true;
	for (int i = 0; ok && i < nkeys; i += OS_FETCH_CHUNK) {
		q.fetch = keys + i;
		q.fetchlens = keylens + i;
		q.nfetch = nkeys - i < OS_FETCH_CHUNK ? nkeys - i : OS_FETCH_CHUNK;
		ok = read_pages(&c);
	}
	os_reader_free(&rd);
	return ok;
}

static bool
os_count(struct endpoint *ep, const struct scan_request *r, int64_t *out)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	struct os_key keys[OS_MAX_KEYS];
	if (!plan_keys(os, r, keys))
		return false;
	if (keys[0].kind == OS_KIND_ID && (r->lo || r->hi)) {
		log_error("%s: index %s: a range of a key held only in _id cannot be counted",
			  ep->label, r->table->name);
		log_hint("keep the key in _source too");
		return false;
	}
	struct os_query q;
	init_query(os, r, keys, &q);
	struct buf body, path, err;
	buf_init(&body), buf_init(&path), buf_init(&err);
	const char *why = NULL;
	bool ok = false;
	if (!os_build_count(&q, &body, &why)) {
		log_error("%s: count of index %s: %s", ep->label, r->table->name, why);
		goto done;
	}
	buf_append_char(&path, '/');
	os_path_segment(&path, r->table->name);
	buf_append_str(&path, "/_count");
	if (!os_http_call(&os->http, "POST", buf_cstr(&path), body.data, body.len, "count"))
		goto done;
	if (!os_count_parse(os->http.resp.data, os->http.resp.len, out, &err)) {
		log_error("%s: count of index %s: %s", ep->label, r->table->name, buf_cstr(&err));
		goto done;
	}
	ok = true;
done:
	buf_free(&body), buf_free(&path), buf_free(&err);
	return ok;
}

struct bound_ctx {
	row_fn fn;
	void *ctx;
	int seen;
};

static bool
take_bound(void *vctx, const struct value *vals)
{
	struct bound_ctx *b = vctx;
	b->seen++;
	return b->fn(b->ctx, vals);
}

/* os_key_bounds: the smallest and the largest key, by two one-document sorted searches. */
static bool
os_key_bounds(struct endpoint *ep, const struct scan_request *r, row_fn fn, void *ctx,
	      bool *empty)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	*empty = true;
	if (r->nkeys != 1) {
		log_error("%s: key bounds need a single-column key", ep->label);
		return false;
	}
	struct os_key keys[1];
	if (!plan_keys(os, r, keys))
		return false;
	struct scan_request kr = *r;
	kr.cols = r->key;
	kr.ncols = 1;
	kr.lo = kr.hi = NULL;
	struct os_query q;
	init_query(os, &kr, keys, &q);
	q.size = 1;
	struct os_reader rd;
	os_reader_init(&rd, &kr, keys, 1);
	struct bound_ctx b = {fn, ctx, 0};
	struct read_ctx c = {os,   r->table->name, "key bounds", &q, &rd, take_bound, &b,
			     NULL, 0,	 NULL,		 true};
	bool ok = true;
	for (int pass = 0; ok && pass < 2; pass++) {
		q.desc = pass == 1;
		b.seen = 0;
		ok = read_pages(&c);
		if (ok && b.seen == 0)
			break; /* no document has a key: empty */
		*empty = false;
	}
	os_reader_free(&rd);
	return ok;
}

static const struct endpoint_ops os_ops = {
	.engine = "opensearch",
	.describe = os_describe,
	.key_bounds = os_key_bounds,
	.count = os_count,
	.scan = os_scan,
	.fetch = os_fetch,
	.write_rows = os_write_rows, /* opensearch_write.c: _bulk repair */
	.close = os_close,
};
