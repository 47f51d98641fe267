/*
 * endpoint/opensearch_write.c: the OpenSearch endpoint's write_rows (repair --apply) and
 * the bulk body of `recover --format bulk`, which are one plan sent or written.
 *
 * A plan for a batch of keys: find the documents the keys have now, pick the _id each
 * new row's document gets, then delete the found documents that no new row replaces and
 * index the rows. Indexing a whole document under an existing _id replaces it (no stale
 * field survives), so a document rewritten in place needs no delete of its own, and no
 * _id appears twice in one _bulk body: the actions are independent of their order.
 *
 * Finding documents: in id mode value the _id is the key, so nothing is searched. In id
 * mode field the key fields are searched as fetch does (terms, or one bool clause per
 * composite key), reading every page; any _id may turn up, a stray copy included, and
 * each is deleted unless it is the one being rewritten.
 *
 * Choosing ids (opensearch_bulk_internal.h): the index's documents are asked which
 * scheme names them. Those found for the keys are looked at first; when none follows a
 * known scheme, the first document of the index in key order is too. An empty index
 * gets DMS's scheme.
 *
 * Sending: _bulk with ?refresh=wait_for, so the re-audit that follows sees the
 * documents (refresh=true on an index whose refresh_interval is -1); at most 1000
 * actions or 8 MiB a request; every item's status is checked: 200/201 (and 404 for a
 * delete) are done, 429 items alone are sent again with backoff, anything else is an
 * error that names the document. A request that gets no answer is
 * repeated whole by the transport: deletes and indexes by _id are idempotent.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "endpoint/opensearch_bulk.h"
#include "endpoint/opensearch_bulk_internal.h"
#include "endpoint/opensearch_internal.h"
#include "util/log.h"
#include "util/str.h"

#define WRITE_MAX_KEYS 16
#define FIND_CHUNK 1024
#define FIND_PAGE 1000

/* A document found for the keys: its _id and its key, canonical in the keys' types. */
struct found_doc {
	char *id;
	char *key;
	size_t keylen;
};

struct found {
	struct found_doc *d;
	int n;
};

static void
found_free(struct found *f)
{
	for (int i = 0; i < f->n; i++) {
		free(f->d[i].id);
		free(f->d[i].key);
	}
	free(f->d);
	memset(f, 0, sizeof(*f));
}

/* One action of a plan; its lines are text[off, off + len). */
struct action {
	bool del;
	char *id;
	size_t off, len;
};

struct plan {
	const char *index;
	struct action *a;
	int n;
	struct buf text;
	int ndelete, nindex;
};

static void
plan_free(struct plan *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->a[i].id);
	free(p->a);
	buf_free(&p->text);
	memset(p, 0, sizeof(*p));
}

/* key_display appends a key for messages: its values, comma-separated. */
static void
key_display(struct buf *out, const char *key, size_t keylen)
{
	const char *p = key, *end = key + keylen;
	enum canon_type t;
	const char *v;
	size_t len;
	for (int k = 0; keyframe_next(&p, end, &t, &v, &len); k++) {
		if (k)
			buf_append_str(out, ", ");
		canon_display(t, v, len, out);
	}
}

/* key_types reads the canonical types of a key's columns. */
static bool
key_types(const char *key, size_t keylen, int nkeys, enum canon_type *types)
{
	const char *p = key, *end = key + keylen, *v;
	size_t len;
	for (int k = 0; k < nkeys; k++)
		if (!keyframe_next(&p, end, &types[k], &v, &len))
			return false;
	return true;
}

/*
 * encode_key builds the canonical key of values (vals[pos[k]] for key column k) in the
 * given types, so that a row or a document compares byte for byte with the keys asked.
 */
static bool
encode_key(const struct value *vals, const int *pos, int nkeys, const enum canon_type *types,
	   struct buf *out, const char **err)
{
	struct canon_opts o = canon_opts_default();
	struct buf tmp;
	buf_init(&tmp);
	bool ok = true;
	for (int k = 0; ok && k < nkeys; k++) {
		const struct value *v = &vals[pos[k]];
		buf_reset(&tmp);
		if (v->null) {
			*err = "a key value is NULL";
			ok = false;
		} else if (!canon_encode(types[k], &o, v->data ? v->data : "", v->len, &tmp, err)) {
			ok = false;
		} else {
			ok = keyframe_append(out, types[k], tmp.data ? tmp.data : "", tmp.len);
		}
	}
	buf_free(&tmp);
	return ok;
}

/* --- finding documents ------------------------------------------------------------------------ */

/*
 * search_docs runs one query (q: fetch keys, or the first document when q->fetch is NULL
 * and q->size is 1) page by page and records every hit's _id and key. A document the
 * reader refuses (no key field) is an error while fetching keys; for the sample it only
 * means there is no evidence.
 */
static bool
search_docs(struct os_endpoint *os, const struct scan_request *kr, const struct os_key *kplan,
	    struct os_query *q, const enum canon_type *types, struct found *f, bool sample)
{
	struct buf body, path, after, err, key;
	buf_init(&body), buf_init(&path), buf_init(&after), buf_init(&err), buf_init(&key);
	struct os_page page;
	memset(&page, 0, sizeof(page));
	struct os_reader rd;
	os_reader_init(&rd, kr, kplan, kr->nkeys);
	int pos[WRITE_MAX_KEYS];
	for (int k = 0; k < kr->nkeys; k++)
		pos[k] = k;
	const char *index = kr->table->name;
	bool ok = false;
	buf_append_char(&path, '/');
	os_path_segment(&path, index);
	buf_append_str(&path, "/_search");
	for (;;) {
		buf_reset(&body);
		const char *why = NULL;
		if (!os_build_search(q, &body, &why)) {
			log_error("%s: repair of index %s: %s", os->base.label, index, why);
			goto done;
		}
		if (!os_http_call(&os->http, "POST", buf_cstr(&path), body.data, body.len,
				  "find the documents of the keys"))
			goto done;
		buf_reset(&err);
		if (!os_page_parse(&page, os->http.resp.data, os->http.resp.len, &err)) {
			log_error("%s: repair of index %s: search: %s", os->base.label, index,
				  buf_cstr(&err));
			goto done;
		}
		for (size_t i = 0; i < page.nhits; i++) {
			json_object *hit = json_object_array_get_idx(page.hits, i);
			buf_reset(&err);
			buf_reset(&key);
			const char *why2 = NULL;
			if (!os_reader_row(&rd, &page, hit, &err) ||
			    !encode_key(rd.vals, pos, kr->nkeys, types, &key, &why2)) {
				if (sample) {
					/* a first document without a usable key: no evidence */
					ok = true;
					goto done;
				}
				log_error("%s: repair of index %s: %s", os->base.label, index,
					  err.len ? buf_cstr(&err) : why2);
				goto done;
			}
			size_t idlen;
			const char *id = os_hit_id(hit, &idlen);
			f->d = xrealloc(f->d, (size_t) (f->n + 1) * sizeof(*f->d));
			struct found_doc *d = &f->d[f->n++];
			d->id = xstrndup(id, idlen);
			d->keylen = key.len;
			d->key = xmalloc(key.len ? key.len : 1);
			memcpy(d->key, key.data ? key.data : "", key.len);
		}
		if (sample || page.nhits < (size_t) q->size) {
			ok = true;
			goto done;
		}
		buf_reset(&after);
		if (!os_page_last_sort(&page, &after, &err)) {
			log_error("%s: repair of index %s: %s", os->base.label, index, buf_cstr(&err));
			goto done;
		}
		q->search_after = buf_cstr(&after);
		os_page_free(&page);
	}
done:
	q->search_after = NULL;
	os_page_free(&page);
	os_reader_free(&rd);
	buf_free(&body), buf_free(&path), buf_free(&after), buf_free(&err), buf_free(&key);
	return ok;
}

/* find_docs: the documents of the keys (id mode field), in chunks of keys. */
static bool
find_docs(struct os_endpoint *os, const struct scan_request *kr, const struct os_key *kplan,
	  const char *const *keys, const size_t *keylens, int nkeys, const enum canon_type *types,
	  struct found *f)
{
	struct os_query q;
	memset(&q, 0, sizeof(q));
	q.keys = kplan;
	q.nkeys = kr->nkeys;
	q.size = os->cfg.page_size < FIND_PAGE ? os->cfg.page_size : FIND_PAGE;
	bool ok = true;
	for (int i = 0; ok && i < nkeys; i += FIND_CHUNK) {
		q.fetch = keys + i;
		q.fetchlens = keylens + i;
		q.nfetch = nkeys - i < FIND_CHUNK ? nkeys - i : FIND_CHUNK;
		ok = search_docs(os, kr, kplan, &q, types, f, false);
	}
	return ok;
}

/* scheme_evidence: which schemes a document's _id agrees with. */
static void
scheme_evidence(const struct found_doc *d, int nkeys, int *sha, int *key)
{
	struct buf id;
	buf_init(&id);
	const char *err;
	if (os_key_id(OS_IDS_SHA256, d->key, d->keylen, nkeys, &id, &err) &&
	    strcmp(buf_cstr(&id), d->id) == 0)
		(*sha)++;
	buf_reset(&id);
	if (nkeys == 1 && os_key_id(OS_IDS_KEY, d->key, d->keylen, nkeys, &id, &err) &&
	    strcmp(buf_cstr(&id), d->id) == 0)
		(*key)++;
	buf_free(&id);
}

/*
 * choose_scheme decides how new documents are named in id mode field, from the documents
 * found for the keys, else from the first document of the index (one more search).
 */
static bool
choose_scheme(struct os_endpoint *os, const struct scan_request *kr, const struct os_key *kplan,
	      const enum canon_type *types, const struct found *f, enum os_id_scheme *scheme,
	      struct buf *example)
{
	int sha = 0, key = 0;
	for (int i = 0; i < f->n; i++)
		scheme_evidence(&f->d[i], kr->nkeys, &sha, &key);
	int seen = f->n;
	struct found sample = {NULL, 0};
	if (sha == 0 && key == 0) {
		struct os_query q;
		memset(&q, 0, sizeof(q));
		q.keys = kplan;
		q.nkeys = kr->nkeys;
		q.size = 1;
		if (!search_docs(os, kr, kplan, &q, types, &sample, true)) {
			found_free(&sample);
			return false;
		}
		for (int i = 0; i < sample.n; i++)
			scheme_evidence(&sample.d[i], kr->nkeys, &sha, &key);
		seen += sample.n;
	}
	*scheme = sha ? OS_IDS_SHA256 : key ? OS_IDS_KEY : seen ? OS_IDS_UNKNOWN : OS_IDS_SHA256;
	const struct found_doc *ex = f->n ? &f->d[0] : sample.n ? &sample.d[0] : NULL;
	if (ex) {
		buf_printf(example, "document _id \"%s\" holds key ", ex->id);
		key_display(example, ex->key, ex->keylen);
	}
	found_free(&sample);
	log_debug("%s: index %s: document ids: %s (%d of %d seen follow SHA-256, %d the key)",
		  os->base.label, kr->table->name, os_id_scheme_name(*scheme), sha, seen, key);
	return true;
}

/* --- the plan ---------------------------------------------------------------------------------- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
cmp_key(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	return c ? c : alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* cmp_found orders found documents by key, then _id. */
static int
cmp_found(const void *a, const void *b)
{
	const struct found_doc *x = a, *y = b;
	int c = cmp_key(x->key, x->keylen, y->key, y->keylen);
	return c ? c : strcmp(x->id, y->id);
}

/* existing_id: the smallest _id among the documents found for a key (f sorted by
 * cmp_found), or NULL when the key has none. */
static const char *
existing_id(const struct found *f, const char *key, size_t keylen)
{
	int lo = 0, hi = f->n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (cmp_key(f->d[mid].key, f->d[mid].keylen, key, keylen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->n && cmp_key(f->d[lo].key, f->d[lo].keylen, key, keylen) == 0)
		return f->d[lo].id;
	return NULL;
}

static void
plan_add(struct plan *p, bool del, const char *id, size_t off)
{
	p->a = xrealloc(p->a, (size_t) (p->n + 1) * sizeof(*p->a));
	struct action *a = &p->a[p->n++];
	a->del = del;
	a->id = xstrdup(id);
	a->off = off;
	a->len = p->text.len - off;
	if (del)
		p->ndelete++;
	else
		p->nindex++;
}

/* row_key_pos: where each key column is among the written columns. */
static bool
row_key_pos(struct os_endpoint *os, const struct scan_request *r, int *pos)
{
	for (int k = 0; k < r->nkeys; k++) {
		pos[k] = -1;
		for (int i = 0; i < r->ncols; i++)
			if (r->cols[i] == r->key[k])
				pos[k] = i;
		if (pos[k] < 0) {
			log_error("%s: repair of index %s: the key field %s is not among the written "
				  "fields",
				  os->base.label, r->table->name, r->table->cols[r->key[k]].name);
			return false;
		}
	}
	return true;
}

/*
 * index_actions adds one index action per row, under the _id its scheme gives it (or, for
 * an index of unknown scheme, the _id its key's document has now). new_ids gets every
 * _id indexed (caller frees the strings).
 */
static bool
index_actions(struct os_endpoint *os, const struct scan_request *r, const enum canon_type *types,
	      enum os_id_scheme scheme, const struct found *f, const char *example,
	      const struct value *const *rows, int nrows, struct plan *p, char **new_ids)
{
	int pos[WRITE_MAX_KEYS];
	if (!row_key_pos(os, r, pos))
		return false;
	struct buf key, id, err;
	buf_init(&key), buf_init(&id), buf_init(&err);
	bool ok = false;
	for (int j = 0; j < nrows; j++) {
		const char *why = NULL;
		buf_reset(&key);
		buf_reset(&id);
		if (!encode_key(rows[j], pos, r->nkeys, types, &key, &why)) {
			log_error("%s: repair of index %s: a source row's key cannot be read: %s",
				  os->base.label, p->index, why);
			goto done;
		}
		const char *have = scheme == OS_IDS_UNKNOWN ? existing_id(f, key.data, key.len) : NULL;
		if (have) {
			buf_append_str(&id, have);
		} else if (scheme == OS_IDS_UNKNOWN) {
			buf_reset(&err);
			key_display(&err, key.data, key.len);
			log_error("%s: repair of index %s: key (%s) has no document to rewrite, "
				  "and the index's _ids are neither the SHA-256 of the key nor the "
				  "key (%s): crosscheck cannot give a new document the _id its "
				  "replicator would",
				  os->base.label, p->index, buf_cstr(&err), example);
			log_hint("if the _id is the key, audit with --id-mode value; otherwise let "
				 "the replicator backfill the keys (recover --format dms)");
			goto done;
		} else if (!os_key_id(scheme, key.data, key.len, r->nkeys, &id, &why)) {
			buf_reset(&err);
			key_display(&err, key.data, key.len);
			log_error("%s: repair of index %s: key (%s): %s", os->base.label, p->index,
				  buf_cstr(&err), why);
			goto done;
		}
		size_t off = p->text.len;
		os_bulk_action_line(&p->text, "index", p->index, id.data, id.len);
		buf_reset(&err);
		if (!os_doc_json(r, rows[j], &p->text, &err)) {
			log_error("%s: repair of index %s: document _id %s: %s", os->base.label,
				  p->index, buf_cstr(&id), buf_cstr(&err));
			goto done;
		}
		buf_append_char(&p->text, '\n');
		plan_add(p, false, buf_cstr(&id), off);
		new_ids[j] = xstrdup(buf_cstr(&id));
	}
	ok = true;
done:
	buf_free(&key), buf_free(&id), buf_free(&err);
	return ok;
}

/* delete_actions adds a delete for each document of the keys that no index action
 * rewrites (new_ids sorted): in id mode field those found, in id mode value the keys'. */
static bool
delete_actions(struct os_endpoint *os, const struct scan_request *r, const char *const *keys,
	       const size_t *keylens, int nkeys, const struct found *f, char *const *new_ids,
	       int nnew, struct plan *p)
{
	struct buf id;
	buf_init(&id);
	bool value = os->cfg.id_mode == OS_ID_VALUE, ok = true;
	for (int i = 0; i < (value ? nkeys : f->n); i++) {
		buf_reset(&id);
		const char *why = NULL;
		if (!value) {
			buf_append_str(&id, f->d[i].id);
		} else if (!os_key_id(OS_IDS_KEY, keys[i], keylens[i], r->nkeys, &id, &why)) {
			log_error("%s: repair of index %s: %s", os->base.label, p->index, why);
			ok = false;
			break;
		}
		const char *s = buf_cstr(&id);
		if (bsearch(&s, new_ids, (size_t) nnew, sizeof(char *), cmp_str))
			continue; /* rewritten in place by its index action */
		size_t off = p->text.len;
		os_bulk_action_line(&p->text, "delete", p->index, id.data, id.len);
		plan_add(p, true, s, off);
	}
	buf_free(&id);
	return ok;
}

/*
 * plan_build: the whole plan of a batch. Index actions are built first (the deletes
 * depend on which _ids they rewrite) but deletes come first in the text, the order an
 * operator reads them in; no _id is in both, so the order does not matter to the server.
 */
static bool
plan_build(struct os_endpoint *os, const struct scan_request *r, const char *const *keys,
	   const size_t *keylens, int nkeys, const struct value *const *rows, int nrows,
	   struct plan *p)
{
	memset(p, 0, sizeof(*p));
	buf_init(&p->text);
	p->index = r->table->name;
	if (nkeys == 0 && nrows == 0)
		return true;
	enum canon_type types[WRITE_MAX_KEYS];
	struct os_key kplan[WRITE_MAX_KEYS];
	const char *why = NULL;
	if (r->nkeys < 1 || r->nkeys > WRITE_MAX_KEYS || nkeys < 1 ||
	    !key_types(keys[0], keylens[0], r->nkeys, types)) {
		log_error("%s: repair of index %s: keys of 1 to %d columns are supported",
			  os->base.label, p->index, WRITE_MAX_KEYS);
		return false;
	}
	if (!os_key_plan(r, os->cfg.id_mode, kplan, &why)) {
		log_error("%s: repair of index %s: %s", os->base.label, p->index, why);
		return false;
	}
	struct scan_request kr = *r; /* reads only the key fields */
	kr.cols = r->key;
	kr.ncols = r->nkeys;
	kr.lo = kr.hi = NULL;
	struct found f = {NULL, 0};
	struct plan idx;
	memset(&idx, 0, sizeof(idx));
	buf_init(&idx.text);
	idx.index = p->index;
	struct buf example;
	buf_init(&example);
	char **new_ids = xcalloc((size_t) nrows + 1, sizeof(char *));
	enum os_id_scheme scheme = OS_IDS_KEY;
	bool ok = false;
	if (os->cfg.id_mode == OS_ID_FIELD &&
	    (!find_docs(os, &kr, kplan, keys, keylens, nkeys, types, &f) ||
	     !choose_scheme(os, &kr, kplan, types, &f, &scheme, &example)))
		goto done;
	if (f.n > 1)
		qsort(f.d, (size_t) f.n, sizeof(*f.d), cmp_found);
	if (!index_actions(os, r, types, scheme, &f, buf_cstr(&example), rows, nrows, &idx, new_ids))
		goto done;
	qsort(new_ids, (size_t) nrows, sizeof(char *), cmp_str);
	if (!delete_actions(os, r, keys, keylens, nkeys, &f, new_ids, nrows, p))
		goto done;
	for (int i = 0; i < idx.n; i++) {
		size_t off = p->text.len;
		buf_append(&p->text, idx.text.data + idx.a[i].off, idx.a[i].len);
		plan_add(p, false, idx.a[i].id, off);
	}
	if (p->text.failed) {
		log_error("%s: repair of index %s: the bulk body is too large for memory; use a "
			  "smaller --batch",
			  os->base.label, p->index);
		goto done;
	}
	ok = true;
done:
	for (int j = 0; j < nrows; j++)
		free(new_ids[j]);
	free(new_ids);
	plan_free(&idx);
	found_free(&f);
	buf_free(&example);
	return ok;
}

/*
 * refresh_param: refresh=wait_for, so the re-audit sees the documents without forcing a
 * refresh; but an index whose refresh_interval is -1 never refreshes by itself, and
 * wait_for would then wait for the next refresh someone else triggers: refresh=true.
 */
static const char *
refresh_param(struct os_endpoint *os, const char *index)
{
	struct buf path;
	buf_init(&path);
	buf_append_char(&path, '/');
	os_path_segment(&path, index);
	buf_append_str(&path, "/_settings");
	bool off = os_http_send(&os->http, "GET", buf_cstr(&path), NULL, 0, OS_JSON,
				os->cfg.max_retries, "settings") &&
		   os->http.status == 200 &&
		   os_settings_refresh_off(os->http.resp.data, os->http.resp.len);
	buf_free(&path);
	if (off)
		log_info("%s: index %s has refresh_interval -1: the repair forces a refresh",
			 os->base.label, index);
	return off ? "refresh=true" : "refresh=wait_for";
}

/* --- sending ----------------------------------------------------------------------------------- */

static void
pause_for(double s)
{
	struct timespec ts = {(time_t) s, (long) ((s - (double) (time_t) s) * 1e9)};
	nanosleep(&ts, NULL);
}

/*
 * send_request posts actions pending[from, to) as one _bulk body and sorts their items:
 * retried ones into retry[], failures logged (the first ten) and counted.
 */
static bool
send_request(struct os_endpoint *os, const struct plan *p, const char *path, const int *pending,
	     int from, int to, struct os_bulk_item *items, int *retry, int *nretry, int *failed)
{
	struct buf body, err;
	buf_init(&body), buf_init(&err);
	bool ok = false;
	for (int i = from; i < to; i++)
		buf_append(&body, p->text.data + p->a[pending[i]].off, p->a[pending[i]].len);
	if (body.failed) {
		log_error("%s: repair of index %s: bulk body too large", os->base.label, p->index);
		goto done;
	}
	if (!os_http_send(&os->http, "POST", path, body.data, body.len, OS_NDJSON,
			  os->cfg.max_retries, "repair"))
		goto done;
	if (os->http.status < 200 || os->http.status > 299) {
		os_http_log_status(&os->http, "POST", path, "repair");
		goto done;
	}
	if (!os_bulk_parse_items(os->http.resp.data, os->http.resp.len, to - from, items, &err)) {
		log_error("%s: repair of index %s: %s: the outcome of the write is unknown",
			  os->base.label, p->index, buf_cstr(&err));
		log_hint("run the repair again: its deletes and indexes by _id can be repeated");
		goto done;
	}
	for (int i = from; i < to; i++) {
		const struct os_bulk_item *it = &items[i - from];
		const struct action *a = &p->a[pending[i]];
		if (it->outcome == OS_ITEM_RETRY)
			retry[(*nretry)++] = pending[i];
		else if (it->outcome == OS_ITEM_FAILED && (*failed)++ < 10)
			log_error("%s: repair of index %s: %s of document _id %s: %s", os->base.label,
				  p->index, a->del ? "delete" : "index", a->id, it->text);
	}
	ok = true;
done:
	buf_free(&body), buf_free(&err);
	return ok;
}

/*
 * send_plan sends every action, in requests of at most OS_BULK_MAX_ACTIONS actions and
 * OS_BULK_MAX_BYTES, then sends again only the items the cluster rejected with 429, with
 * backoff, up to the URI's retries. Any other failed item fails the write, after the
 * whole batch was tried (the failures are all named, and what succeeded stays: every
 * action is a whole-document write, so a second run converges).
 */
static bool
send_plan(struct os_endpoint *os, const struct plan *p)
{
	if (p->n == 0)
		return true;
	int *pending = xcalloc((size_t) p->n + 1, sizeof(int));
	int *retry = xcalloc((size_t) p->n + 1, sizeof(int));
	struct os_bulk_item *items = xcalloc(OS_BULK_MAX_ACTIONS, sizeof(*items));
	struct buf path;
	buf_init(&path);
	buf_append_str(&path, "/_bulk");
	const char *params[] = {refresh_param(os, p->index)};
	os_path_query(&path, params, 1);
	int npending = p->n, failed = 0;
	for (int i = 0; i < p->n; i++)
		pending[i] = i;
	bool ok = false;
	for (int round = 0;; round++) {
		int nretry = 0;
		for (int i = 0; i < npending;) {
			int from = i;
			size_t bytes = 0;
			while (i < npending && i - from < OS_BULK_MAX_ACTIONS &&
			       (i == from || bytes + p->a[pending[i]].len <= OS_BULK_MAX_BYTES))
				bytes += p->a[pending[i++]].len;
			if (!send_request(os, p, buf_cstr(&path), pending, from, i, items, retry,
					  &nretry, &failed))
				goto done;
		}
		if (failed) {
			if (failed > 10)
				log_error("%s: repair of index %s: and %d more documents failed",
					  os->base.label, p->index, failed - 10);
			log_hint("the index mapping may not accept the source's values; see the "
				 "errors above");
			goto done;
		}
		if (nretry == 0)
			break;
		if (round >= os->cfg.max_retries) {
			log_error("%s: repair of index %s: %d documents still rejected (429) after %d "
				  "attempts",
				  os->base.label, p->index, nretry, round + 1);
			log_hint("the cluster is overloaded: repair later, or with a smaller --batch");
			goto done;
		}
		log_debug("%s: repair of index %s: %d documents rejected (429), sending them again",
			  os->base.label, p->index, nretry);
		pause_for(os_backoff_delay(round + 1, 0, &os->http.seed));
		int *t = pending;
		pending = retry;
		retry = t;
		npending = nretry;
	}
	log_info("%s: index %s: %d documents deleted, %d indexed", os->base.label, p->index,
		 p->ndelete, p->nindex);
	ok = true;
done:
	free(pending);
	free(retry);
	free(items);
	buf_free(&path);
	return ok;
}

bool
os_write_rows(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
	      const size_t *keylens, int nkeys, const struct value *const *rows, int nrows)
{
	struct os_endpoint *os = (struct os_endpoint *) ep;
	struct plan p;
	bool ok = plan_build(os, r, keys, keylens, nkeys, rows, nrows, &p) && send_plan(os, &p);
	plan_free(&p);
	return ok;
}

bool
opensearch_bulk_build(struct endpoint *ep, const struct scan_request *r, const char *const *keys,
		      const size_t *keylens, int nkeys, const struct value *const *rows, int nrows,
		      struct buf *out, int *ndelete, int *nindex)
{
	if (strcmp(ep->ops->engine, "opensearch") != 0) {
		log_error("%s: a _bulk repair is for an OpenSearch target, not %s", ep->label,
			  ep->ops->engine);
		log_hint("use --format sql for a SQL target");
		return false;
	}
	struct os_endpoint *os = (struct os_endpoint *) ep;
	struct plan p;
	bool ok = plan_build(os, r, keys, keylens, nkeys, rows, nrows, &p) &&
		  buf_append(out, p.text.data ? p.text.data : "", p.text.len);
	if (ok) {
		*ndelete += p.ndelete;
		*nindex += p.nindex;
	}
	plan_free(&p);
	return ok;
}
