/*
 * tests/unit/test_opensearch.c: the OpenSearch endpoint without a server: URI and
 * environment, request bodies, and response parsing against bodies recorded in
 * ../shared/opensearch-wire.md (2.x and 1.x with "_type", errors 400/401/404/406/429,
 * shard failures, timed_out, garbage and truncation), numbers beyond double precision,
 * and the search-page scanner (escapes, surrogates, nested values, duplicates, every
 * truncation of a page).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint/opensearch_internal.h"
#include "util/buf.h"
#include "util/log.h"

/* --- helpers ----------------------------------------------------------------------------- */

static const char *
body_of(struct buf *b)
{
	return buf_cstr(b);
}

/* key1 builds a one-column canonical key in b and returns it. */
static const char *
key1(struct buf *b, enum canon_type t, const char *v)
{
	buf_reset(b);
	keyframe_append(b, t, v, strlen(v));
	return b->data;
}

/* A DMS-style mapping: dynamic strings (text + keyword), numbers, dates, objects. */
static const char *dms_mapping =
	"{\"os_orders\":{\"mappings\":{\"properties\":{"
	"\"id\":{\"type\":\"long\"},"
	"\"code\":{\"type\":\"text\",\"fields\":{\"keyword\":{\"type\":\"keyword\",\"ignore_above\":256}}},"
	"\"name\":{\"type\":\"text\"},"
	"\"kw\":{\"type\":\"keyword\"},"
	"\"amount\":{\"type\":\"float\"},"
	"\"price\":{\"type\":\"double\"},"
	"\"big\":{\"type\":\"long\"},"
	"\"placed\":{\"type\":\"date\"},"
	"\"active\":{\"type\":\"boolean\"},"
	"\"doc\":{\"properties\":{\"g\":{\"type\":\"long\"}}},"
	"\"items\":{\"type\":\"nested\",\"properties\":{\"n\":{\"type\":\"long\"}}},"
	"\"blob\":{\"type\":\"binary\"},"
	"\"alias_of_id\":{\"type\":\"alias\",\"path\":\"id\"}"
	"}}}}";

static void
describe(struct table_desc *t, enum os_id_mode mode)
{
	struct buf err;
	buf_init(&err);
	bool ok = os_mapping_parse(dms_mapping, strlen(dms_mapping), "os_orders", mode, t, &err);
	if (!ok)
		fail_msg("mapping: %s", buf_cstr(&err));
	buf_free(&err);
}

/* request builds a scan request over every column with the named key columns. */
struct req {
	struct scan_request r;
	int cols[32];
	int key[4];
};

static void
request(struct req *q, const struct table_desc *t, const char *k1, const char *k2)
{
	memset(q, 0, sizeof(*q));
	q->r.table = t;
	for (int i = 0; i < t->ncols; i++)
		q->cols[i] = i;
	q->r.cols = q->cols;
	q->r.ncols = t->ncols;
	q->key[0] = table_desc_find(t, k1);
	q->r.nkeys = 1;
	if (k2) {
		q->key[1] = table_desc_find(t, k2);
		q->r.nkeys = 2;
	}
	q->r.key = q->key;
}

/* --- configuration ------------------------------------------------------------------------ */

static void
test_config(void **state)
{
	(void) state;
	struct os_config c;
	unsetenv("OPENSEARCH_USER");
	unsetenv("OPENSEARCH_PASSWORD");
	assert_true(os_config_parse("opensearch://127.0.0.1/", "target", NULL, &c));
	assert_string_equal(c.base_url, "http://127.0.0.1:9200");
	assert_int_equal(c.auth, OS_AUTH_NONE);
	assert_int_equal(c.id_mode, OS_ID_FIELD);
	assert_int_equal(c.page_size, OS_DEFAULT_PAGE_SIZE);
	os_config_free(&c);

	assert_true(os_config_parse("opensearch+https://search.example:8443/proxy/os/?id_mode=value"
				    "&page_size=500&insecure=true&cafile=/tmp/ca.pem&pit=off", "target", NULL, &c));
	assert_string_equal(c.base_url, "https://search.example:8443/proxy/os");
	assert_int_equal(c.id_mode, OS_ID_VALUE);
	assert_int_equal(c.page_size, 500);
	assert_true(c.insecure);
	assert_false(c.use_pit);
	assert_string_equal(c.cafile, "/tmp/ca.pem");
	os_config_free(&c);

	/* basic auth from the environment */
	setenv("OPENSEARCH_USER", "admin", 1);
	setenv("OPENSEARCH_PASSWORD", "s3cret", 1);
	/* compression: plain by default (no Accept-Encoding); gzip asks for it */
	assert_true(os_config_parse("opensearch://127.0.0.1/", "target", NULL, &c));
	assert_false(c.gzip);
	os_config_free(&c);
	assert_true(os_config_parse("opensearch://127.0.0.1/?compression=none", "target", NULL, &c));
	assert_false(c.gzip);
	os_config_free(&c);
	assert_true(os_config_parse("opensearch://127.0.0.1/?compression=gzip", "target", NULL, &c));
	assert_true(c.gzip);
	os_config_free(&c);
	assert_false(os_config_parse("opensearch://127.0.0.1/?compression=zstd", "target", NULL, &c));

	assert_true(os_config_parse("opensearch://[::1]:9201/", "target", NULL, &c));
	assert_string_equal(c.base_url, "http://[::1]:9201");
	assert_int_equal(c.auth, OS_AUTH_BASIC);
	assert_string_equal(c.user, "admin");
	assert_string_equal(c.password, "s3cret");
	os_config_free(&c);
	unsetenv("OPENSEARCH_PASSWORD");
	assert_false(os_config_parse("opensearch://h/", "target", NULL, &c)); /* user, no password */
	unsetenv("OPENSEARCH_USER");

	/* SigV4: region and credentials required */
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");
	assert_false(os_config_parse("opensearch+https://h/?auth=sigv4", "target", NULL, &c));
	assert_false(os_config_parse("opensearch+https://h/?auth=sigv4&region=us-east-2", "target", NULL, &c));
	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI", 1);
	setenv("AWS_SESSION_TOKEN", "tok", 1);
	assert_true(os_config_parse("opensearch+https://h/?auth=sigv4&region=us-east-2", "target", NULL, &c));
	assert_int_equal(c.auth, OS_AUTH_SIGV4);
	assert_string_equal(c.region, "us-east-2");
	assert_string_equal(c.aws_key, "AKIDEXAMPLE");
	assert_string_equal(c.aws_token, "tok");
	os_config_free(&c);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_SESSION_TOKEN");

	/* mistakes are errors, not ignored */
	assert_false(os_config_parse("opensearch://h/?idmode=value", "target", NULL, &c));
	assert_false(os_config_parse("opensearch://h/?id_mode=sha", "target", NULL, &c));
	assert_false(os_config_parse("opensearch://h/?page_size=20000", "target", NULL, &c));
	assert_false(os_config_parse("opensearch://h/?service=aoss", "target", NULL, &c));
	assert_false(os_config_parse("opensearch:///", "target", NULL, &c));
	assert_false(os_config_parse("postgresql://h/db", "target", NULL, &c));
}

static void
test_paths(void **state)
{
	(void) state;
	struct buf b;
	buf_init(&b);
	os_path_segment(&b, "os_orders-2024.01");
	assert_string_equal(buf_cstr(&b), "os_orders-2024.01");
	buf_reset(&b);
	os_path_segment(&b, "a b/c?d*");
	assert_string_equal(buf_cstr(&b), "a%20b%2Fc%3Fd%2A");
	/* SigV4 signs the query in sorted order (curl issue 9717): we emit it sorted */
	buf_reset(&b);
	buf_append_str(&b, "/idx/_search");
	const char *params[] = {"sort=_doc", "size=50", "scroll=1m"};
	os_path_query(&b, params, 3);
	assert_string_equal(buf_cstr(&b), "/idx/_search?scroll=1m&size=50&sort=_doc");
	buf_free(&b);
}

/* --- errors ---------------------------------------------------------------------------------- */

static void
expect_error(long status, const char *body, const char *text, const char *type)
{
	struct buf out, t;
	buf_init(&out);
	buf_init(&t);
	os_error_text(status, body, body ? strlen(body) : 0, &out, &t);
	assert_string_equal(buf_cstr(&out), text);
	assert_string_equal(buf_cstr(&t), type);
	buf_free(&out);
	buf_free(&t);
}

static void
test_errors(void **state)
{
	(void) state;
	/* 404, verbatim from opensearch-wire.md section 6 */
	const char *e404 =
		"{ \"error\": { \"root_cause\": [ { \"type\": \"index_not_found_exception\", \"reason\": "
		"\"no such index [first_index]\",\n \"index_uuid\": \"_na_\", \"resource.type\": "
		"\"index_or_alias\", \"resource.id\": \"first_index\", \"index\": \"first_index\" } ],\n"
		" \"type\": \"index_not_found_exception\", \"reason\": \"no such index [first_index]\", "
		"\"index_uuid\": \"_na_\",\n \"resource.type\": \"index_or_alias\", \"resource.id\": "
		"\"first_index\", \"index\": \"first_index\" },\n \"status\": 404 }";
	expect_error(404, e404, "index_not_found_exception: no such index [first_index]",
		     "index_not_found_exception");
	assert_non_null(strstr(os_error_hint(404, "index_not_found_exception"), "--target-table"));
	/* 400 bad query */
	expect_error(400,
		     "{\"error\":{\"root_cause\":[{\"type\":\"parsing_exception\",\"reason\":\"unknown "
		     "query [termm] did you mean any of [term, terms]?\",\"line\":2,\"col\":11}],"
		     "\"type\":\"parsing_exception\",\"reason\":\"unknown query [termm] did you mean "
		     "any of [term, terms]?\",\"line\":2,\"col\":11,\"caused_by\":{\"type\":"
		     "\"named_object_not_found_exception\",\"reason\":\"[2:11] unknown field "
		     "[termm]\"}},\"status\":400}",
		     "parsing_exception: unknown query [termm] did you mean any of [term, terms]? "
		     "(caused by: [2:11] unknown field [termm])",
		     "parsing_exception");
	/* 401 from the security plugin: a text body */
	expect_error(401, "Unauthorized", "Unauthorized", "");
	assert_non_null(strstr(os_error_hint(401, ""), "OPENSEARCH_USER"));
	/* 406: error is a string */
	expect_error(406,
		     "{\"error\":\"Content-Type header [application/x-www-form-urlencoded] is not "
		     "supported\",\"status\":406}",
		     "Content-Type header [application/x-www-form-urlencoded] is not supported", "");
	/* 429: OpenSearch's name, not es_rejected_execution_exception */
	expect_error(429,
		     "{\"error\":{\"root_cause\":[{\"type\":\"rejected_execution_exception\","
		     "\"reason\":\"rejected execution of coordinating operation\"}],\"type\":"
		     "\"rejected_execution_exception\",\"reason\":\"rejected execution of "
		     "coordinating operation\"},\"status\":429}",
		     "rejected_execution_exception: rejected execution of coordinating operation",
		     "rejected_execution_exception");
	/* 429 circuit breaker */
	expect_error(429,
		     "{\"error\":{\"type\":\"circuit_breaking_exception\",\"reason\":\"[parent] Data "
		     "too large\",\"bytes_wanted\":1,\"bytes_limit\":1,\"durability\":\"PERMANENT\"},"
		     "\"status\":429}",
		     "circuit_breaking_exception: [parent] Data too large", "circuit_breaking_exception");
	/* 403 from the AWS IAM layer, both casings */
	expect_error(403,
		     "{\"Message\":\"User: anonymous is not authorized to perform: es:ESHttpPost\"}",
		     "User: anonymous is not authorized to perform: es:ESHttpPost", "");
	expect_error(403, "{\"message\":\"The request signature we calculated does not match\"}",
		     "The request signature we calculated does not match", "");
	/* garbage: its first line, cut, control characters shown as ? */
	expect_error(502, "<html>\n<body>Bad Gateway</body>", "<html>", "");
	expect_error(500, "", "(empty body)", "");
	assert_true(os_retryable_status(429));
	assert_true(os_retryable_status(503));
	assert_false(os_retryable_status(404));
	assert_false(os_retryable_status(400));
}

static void
test_backoff(void **state)
{
	(void) state;
	unsigned seed = 7;
	double prev_max = 0;
	for (int a = 1; a <= 12; a++) {
		double d = os_backoff_delay(a, 0, &seed);
		double hi = 0.1;
		for (int i = 1; i < a && hi < 5; i++)
			hi *= 2;
		if (hi > 5)
			hi = 5;
		assert_true(d >= hi / 2 - 1e-9 && d <= hi + 1e-9); /* jitter in the upper half */
		assert_true(d <= 5.0);
		prev_max = hi;
	}
	assert_true(prev_max == 5.0);
	assert_true(os_backoff_delay(1, 2.5, &seed) >= 2.5); /* Retry-After wins */
	assert_true(os_backoff_delay(1, 3600, &seed) <= 30.0); /* but is capped */
}

/* --- describe ------------------------------------------------------------------------------ */

static void
test_mapping(void **state)
{
	(void) state;
	struct table_desc t;
	describe(&t, OS_ID_FIELD);
	assert_string_equal(t.name, "os_orders");
	assert_int_equal(t.nkeys, 0); /* no primary key: the audit passes the source's */
	assert_int_equal(t.ncols, 12);  /* the alias is not a column */
	struct {
		const char *name, *engine, *sort;
		enum canon_type type;
	} want[] = {
		{"id", "long", "id", CANON_NUMBER},
		{"code", "text", "code.keyword", CANON_TEXT},
		{"name", "text", "", CANON_TEXT},
		{"kw", "keyword", "kw", CANON_TEXT},
		{"amount", "float", "amount", CANON_FLOAT},
		{"price", "double", "price", CANON_FLOAT},
		{"big", "long", "big", CANON_NUMBER},
		{"placed", "date", "placed", CANON_TIMESTAMP},
		{"active", "boolean", "active", CANON_BOOL},
		{"doc", "object", "", CANON_JSON},
		{"items", "nested", "", CANON_JSON},
		{"blob", "binary", "", CANON_BINARY},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_string_equal(t.cols[i].name, want[i].name);
		assert_string_equal(t.cols[i].engine_type, want[i].engine);
		assert_string_equal(t.cols[i].cast_type, want[i].sort);
		assert_int_equal(t.cols[i].type, want[i].type);
	}
	assert_true(t.cols[4].single_float);
	assert_false(t.cols[5].single_float);
	assert_true(t.cols[1].byte_order_text);
	table_desc_free(&t);

	describe(&t, OS_ID_VALUE);
	assert_int_equal(t.ncols, 13);
	assert_string_equal(t.cols[12].name, "_id");
	assert_string_equal(t.cols[12].engine_type, "_id");
	table_desc_free(&t);

	struct buf err;
	buf_init(&err);
	/* 1.x with include_type_name: {"_doc":{"properties":...}} */
	const char *typed = "{\"idx\":{\"mappings\":{\"_doc\":{\"properties\":{\"id\":{\"type\":"
			    "\"integer\"}}}}}}";
	assert_true(os_mapping_parse(typed, strlen(typed), "idx", OS_ID_FIELD, &t, &err));
	assert_int_equal(t.ncols, 1);
	table_desc_free(&t);
	/* an alias over two indices is refused */
	const char *two = "{\"a\":{\"mappings\":{}},\"b\":{\"mappings\":{}}}";
	assert_false(os_mapping_parse(two, strlen(two), "al", OS_ID_FIELD, &t, &err));
	assert_non_null(strstr(buf_cstr(&err), "2 indices"));
	/* a keyword with a normalizer does not sort by bytes; doc_values:false not at all */
	const char *norm = "{\"i\":{\"mappings\":{\"properties\":{\"a\":{\"type\":\"text\",\"fields\":"
			   "{\"keyword\":{\"type\":\"keyword\",\"normalizer\":\"lc\"}}},\"b\":{\"type\":"
			   "\"keyword\",\"doc_values\":false}}}}}";
	assert_true(os_mapping_parse(norm, strlen(norm), "i", OS_ID_FIELD, &t, &err));
	assert_string_equal(t.cols[0].cast_type, "");
	assert_string_equal(t.cols[1].cast_type, "");
	table_desc_free(&t);
	buf_reset(&err);
	assert_false(os_mapping_parse("{\"i\":", 5, "i", OS_ID_FIELD, &t, &err));
	assert_non_null(strstr(buf_cstr(&err), "truncated"));
	buf_free(&err);
}

/* --- request bodies ------------------------------------------------------------------------ */

static void
test_key_plan(void **state)
{
	(void) state;
	struct table_desc t;
	describe(&t, OS_ID_FIELD);
	struct req q;
	struct os_key keys[2];
	const char *err = NULL;
	request(&q, &t, "code", NULL);
	assert_true(os_key_plan(&q.r, OS_ID_FIELD, keys, &err));
	assert_string_equal(keys[0].sort_field, "code.keyword");
	assert_int_equal(keys[0].kind, OS_KIND_KEYWORD);
	assert_false(keys[0].from_id);
	request(&q, &t, "name", NULL); /* text without keyword: no order */
	assert_false(os_key_plan(&q.r, OS_ID_FIELD, keys, &err));
	assert_non_null(strstr(err, "cannot be sorted"));
	request(&q, &t, "id", "code");
	assert_true(os_key_plan(&q.r, OS_ID_FIELD, keys, &err));
	assert_false(os_key_plan(&q.r, OS_ID_VALUE, keys, &err)); /* _id is one value */
	request(&q, &t, "id", NULL);
	assert_true(os_key_plan(&q.r, OS_ID_VALUE, keys, &err));
	assert_true(keys[0].from_id);
	assert_true(keys[0].in_source);
	assert_string_equal(keys[0].sort_field, "id"); /* ordered numerically by the field */
	request(&q, &t, "name", NULL);
	assert_true(os_key_plan(&q.r, OS_ID_VALUE, keys, &err));
	assert_int_equal(keys[0].kind, OS_KIND_ID); /* no sortable copy: by _id */
	table_desc_free(&t);
}

static void
test_search_bodies(void **state)
{
	(void) state;
	struct table_desc t;
	describe(&t, OS_ID_FIELD);
	struct req rq;
	struct os_key keys[2];
	const char *err = NULL;
	struct buf out, lo, hi;
	buf_init(&out), buf_init(&lo), buf_init(&hi);

	/* one numeric key, a middle partition, a first page */
	request(&rq, &t, "id", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &err));
	struct os_query q = {.keys = keys, .nkeys = 1, .size = 1000};
	q.lo = key1(&lo, CANON_NUMBER, "100");
	q.lolen = lo.len;
	q.hi = key1(&hi, CANON_NUMBER, "200");
	q.hilen = hi.len;
	assert_true(os_build_search(&q, &out, &err));
	assert_string_equal(body_of(&out),
			    "{\"size\":1000,\"track_total_hits\":false,\"query\":{\"bool\":{\"filter\":["
			    "{\"range\":{\"id\":{\"gte\":100}}},{\"range\":{\"id\":{\"lt\":200}}}]}},"
			    "\"sort\":[{\"id\":{\"order\":\"asc\",\"missing\":\"_last\"}},{\"_id\":{"
			    "\"order\":\"asc\"}}]}");
	/* the last partition also takes documents without a key; next page; in a PIT */
	buf_reset(&out);
	q.hi = NULL;
	q.keyless = true;
	q.search_after = "[150,\"abc\"]";
	q.pit_id = "o463QQEPbXktaW5k";
	assert_true(os_build_search(&q, &out, &err));
	assert_string_equal(body_of(&out),
			    "{\"size\":1000,\"track_total_hits\":false,\"query\":{\"bool\":{\"should\":["
			    "{\"bool\":{\"filter\":[{\"range\":{\"id\":{\"gte\":100}}}]}},{\"bool\":{"
			    "\"must_not\":[{\"bool\":{\"filter\":[{\"exists\":{\"field\":\"id\"}}]}}]}}],"
			    "\"minimum_should_match\":1}},\"sort\":[{\"id\":{\"order\":\"asc\",\"missing\":"
			    "\"_last\"}},{\"_id\":{\"order\":\"asc\"}}],\"search_after\":[150,\"abc\"],"
			    "\"pit\":{\"id\":\"o463QQEPbXktaW5k\",\"keep_alive\":\"5m\"}}");
	/* the whole index: match_all; never from+size */
	buf_reset(&out);
	struct os_query all = {.keys = keys, .nkeys = 1, .size = 10000};
	assert_true(os_build_search(&all, &out, &err));
	assert_non_null(strstr(body_of(&out), "\"query\":{\"match_all\":{}}"));
	assert_null(strstr(body_of(&out), "\"from\""));
	assert_null(strstr(body_of(&out), "\"_source\"")); /* never filtered: exact numbers */
	/* key bounds: size 1, descending, no tiebreaker */
	buf_reset(&out);
	all.size = 1;
	all.desc = true;
	assert_true(os_build_search(&all, &out, &err));
	assert_string_equal(body_of(&out),
			    "{\"size\":1,\"track_total_hits\":false,\"query\":{\"match_all\":{}},\"sort\":"
			    "[{\"id\":{\"order\":\"desc\",\"missing\":\"_last\"}}]}");

	/* a text key on its keyword sub-field, a text bound */
	request(&rq, &t, "code", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &err));
	struct os_query k = {.keys = keys, .nkeys = 1, .size = 10};
	k.lo = key1(&lo, CANON_TEXT, "b\"\xc3\xa4");
	k.lolen = lo.len;
	buf_reset(&out);
	assert_true(os_build_search(&k, &out, &err));
	assert_non_null(strstr(body_of(&out), "{\"range\":{\"code.keyword\":{\"gte\":\"b\\\"\xc3\xa4\"}}}"));
	/* a numeric source key kept in a keyword field would sort as text: refused */
	k.lo = key1(&lo, CANON_NUMBER, "10");
	k.lolen = lo.len;
	buf_reset(&out);
	assert_false(os_build_search(&k, &out, &err));
	assert_non_null(strstr(err, "keyword"));

	/* a composite key: the tuple comparison spelled out */
	request(&rq, &t, "kw", "id");
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &err));
	struct os_query c = {.keys = keys, .nkeys = 2, .size = 10};
	buf_reset(&lo);
	keyframe_append(&lo, CANON_TEXT, "eu", 2);
	keyframe_append(&lo, CANON_NUMBER, "7", 1);
	c.lo = lo.data;
	c.lolen = lo.len;
	buf_reset(&out);
	assert_true(os_build_count(&c, &out, &err));
	assert_string_equal(body_of(&out),
			    "{\"query\":{\"bool\":{\"filter\":[{\"bool\":{\"should\":[{\"range\":{\"kw\":{"
			    "\"gt\":\"eu\"}}},{\"bool\":{\"filter\":[{\"term\":{\"kw\":\"eu\"}},{\"range\":"
			    "{\"id\":{\"gte\":7}}}]}}],\"minimum_should_match\":1}}]}}}");
	buf_free(&out), buf_free(&lo), buf_free(&hi);
	table_desc_free(&t);
}

static void
test_fetch_bodies(void **state)
{
	(void) state;
	struct table_desc t;
	describe(&t, OS_ID_VALUE);
	struct req rq;
	struct os_key keys[2];
	const char *err = NULL;
	struct buf out, k1, k2;
	buf_init(&out), buf_init(&k1), buf_init(&k2);
	key1(&k1, CANON_NUMBER, "12345678901234567890");
	key1(&k2, CANON_NUMBER, "-5");
	const char *ks[] = {k1.data, k2.data};
	size_t lens[] = {k1.len, k2.len};

	request(&rq, &t, "id", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &err));
	struct os_query q = {.keys = keys, .nkeys = 1, .size = 100, .fetch = ks, .fetchlens = lens,
			     .nfetch = 2};
	assert_true(os_build_search(&q, &out, &err));
	assert_non_null(strstr(body_of(&out), "\"query\":{\"terms\":{\"id\":[12345678901234567890,-5]}}"));
	/* id mode value: the keys are _ids */
	assert_true(os_key_plan(&rq.r, OS_ID_VALUE, keys, &err));
	buf_reset(&out);
	assert_true(os_build_search(&q, &out, &err));
	assert_non_null(strstr(body_of(&out), "\"query\":{\"ids\":{\"values\":[\"12345678901234567890\",\"-5\"]}}"));
	/* an _id has no range */
	request(&rq, &t, "_id", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_VALUE, keys, &err));
	struct os_query r = {.keys = keys, .nkeys = 1, .size = 100, .lo = k1.data, .lolen = k1.len};
	buf_reset(&out);
	assert_false(os_build_search(&r, &out, &err));
	assert_non_null(strstr(err, "range"));
	/* sorting by _id needs no tiebreaker */
	r.lo = NULL;
	buf_reset(&out);
	assert_true(os_build_search(&r, &out, &err));
	assert_non_null(strstr(body_of(&out), "\"sort\":[{\"_id\":{\"order\":\"asc\"}}]"));
	buf_free(&out), buf_free(&k1), buf_free(&k2);
	table_desc_free(&t);
}

/* --- responses ------------------------------------------------------------------------------- */

/* The 2.x search response of opensearch-wire.md section 2 (paginate.md), verbatim. */
static const char *page_2x =
	"{ \"took\" : 7, \"timed_out\" : false,\n"
	"  \"_shards\" : { \"total\" : 1, \"successful\" : 1, \"skipped\" : 0, \"failed\" : 0 },\n"
	"  \"hits\" : { \"total\" : { \"value\" : 4244, \"relation\" : \"eq\" }, \"max_score\" : null,\n"
	"    \"hits\" : [ { \"_index\" : \"shakespeare\", \"_id\" : \"32435\", \"_score\" : null,\n"
	"        \"_source\" : { \"type\" : \"line\", \"line_id\" : 32436, \"play_name\" : \"Hamlet\",\n"
	"                      \"speech_number\" : 1, \"line_number\" : \"1.1.1\", \"speaker\" : "
	"\"BERNARDO\",\n"
	"                      \"text_entry\" : \"Whos there?\" },\n"
	"        \"sort\" : [ 1, \"32435\" ] } ] } }";

static void
test_page_2x(void **state)
{
	(void) state;
	struct os_page p;
	struct buf err, sort;
	buf_init(&err), buf_init(&sort);
	assert_true(os_page_parse(&p, page_2x, strlen(page_2x), &err));
	assert_int_equal(p.nhits, 1);
	assert_null(p.pit_id);
	size_t n;
	assert_string_equal(os_hit_id(json_object_array_get_idx(p.hits, 0), &n), "32435");
	assert_true(os_page_last_sort(&p, &sort, &err));
	assert_string_equal(buf_cstr(&sort), "[1,\"32435\"]");

	/* read two columns and one absent field */
	const char *mapping = "{\"shakespeare\":{\"mappings\":{\"properties\":{\"line_id\":{\"type\":"
			      "\"long\"},\"speaker\":{\"type\":\"keyword\"},\"missing\":{\"type\":"
			      "\"keyword\"}}}}}";
	struct table_desc t;
	assert_true(os_mapping_parse(mapping, strlen(mapping), "shakespeare", OS_ID_FIELD, &t, &err));
	struct req rq;
	request(&rq, &t, "line_id", NULL);
	struct os_key keys[1];
	const char *why;
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &why));
	struct os_reader rd;
	os_reader_init(&rd, &rq.r, keys, 1);
	assert_true(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 0), &err));
	assert_false(rd.vals[0].null);
	assert_int_equal(rd.vals[0].len, 5);
	assert_memory_equal(rd.vals[0].data, "32436", 5);
	assert_memory_equal(rd.vals[1].data, "BERNARDO", 8);
	assert_true(rd.vals[2].null); /* an absent field equals NULL */
	os_reader_free(&rd);
	table_desc_free(&t);
	os_page_free(&p);
	buf_free(&err), buf_free(&sort);
}

/* 1.x hits carry "_type":"_doc"; a PIT id comes back with each page on 2.x. */
static const char *page_1x =
	"{\"_scroll_id\":\"DXF1ZXJ5QW5kRmV0Y2gBAAAAAAAAAAUWdmpUZDhnRFBUcWFtV21nMmFwUGJEQQ==\","
	"\"took\":2,\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,\"skipped\":0,"
	"\"failed\":0},\"hits\":{\"total\":{\"value\":2,\"relation\":\"eq\"},\"max_score\":null,"
	"\"hits\":[{\"_index\":\"os_orders\",\"_type\":\"_doc\",\"_id\":\"a1\",\"_score\":null,"
	"\"_source\":{\"id\":1,\"code\":\"x\",\"amount\":12.50,\"price\":"
	"12345678901234567890.123,\"big\":123456789012345678901234567890,\"active\":true,"
	"\"placed\":\"2024-01-02T03:04:05.123Z\",\"doc\":{\"g\":-123456789012345678901234567890,"
	"\"s\":\"a/b\",\"f\":1.50,\"l\":[1,2.0e0,null,false]},\"blob\":\"aGVsbG8=\",\"kw\":null,"
	"\"items\":[]},\"sort\":[1,\"a1\"]},"
	"{\"_index\":\"os_orders\",\"_type\":\"_doc\",\"_id\":\"a2\",\"_score\":null,"
	"\"_source\":{\"id\":2,\"code\":\"y\",\"big\":18446744073709551615,\"amount\":\"10\","
	"\"price\":-0,\"placed\":1704164645123},\"sort\":[2,\"a2\"]}]}}";

static void
test_page_1x_numbers(void **state)
{
	(void) state;
	struct os_page p;
	struct buf err;
	buf_init(&err);
	assert_true(os_page_parse(&p, page_1x, strlen(page_1x), &err));
	assert_int_equal(p.nhits, 2);
	struct table_desc t;
	describe(&t, OS_ID_FIELD);
	struct req rq;
	request(&rq, &t, "id", NULL);
	struct os_key keys[1];
	const char *why;
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &why));
	struct os_reader rd;
	os_reader_init(&rd, &rq.r, keys, 1);
	assert_true(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 0), &err));
#define VAL(i, s)                                                                      \
	do {                                                                           \
		assert_false(rd.vals[i].null);                                         \
		assert_int_equal(rd.vals[i].len, strlen(s));                           \
		assert_memory_equal(rd.vals[i].data, s, strlen(s));                    \
	} while (0)
	VAL(0, "1");
	VAL(1, "x");
	assert_true(rd.vals[2].null); /* name: absent */
	assert_true(rd.vals[3].null); /* kw: JSON null */
	VAL(4, "12.50");			   /* the decimal's own text, not 12.5 */
	VAL(5, "12345678901234567890.123");	   /* beyond double precision */
	VAL(6, "123456789012345678901234567890"); /* beyond 64 bits: never clamped */
	VAL(7, "2024-01-02T03:04:05.123Z");
	VAL(8, "true");
	VAL(9, "{\"g\":-123456789012345678901234567890,\"s\":\"a/b\",\"f\":1.50,\"l\":[1,2.0e0,null,false]}");
	VAL(10, "[]");
	VAL(11, "hello"); /* binary: base64 decoded */
	assert_true(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 1), &err));
	VAL(0, "2");
	VAL(4, "10"); /* a number sent as a string stays the string */
	VAL(5, "0"); /* json-c reads -0 as the integer 0: the same number */
	VAL(6, "18446744073709551615"); /* exactly the clamp value: still exact */
	VAL(7, "1704164645123");	/* epoch milliseconds: core reads them */
	assert_true(rd.vals[8].null);
#undef VAL
	os_reader_free(&rd);
	table_desc_free(&t);
	os_page_free(&p);
	buf_free(&err);
}

static void
test_numbers_json_c(void **state)
{
	(void) state;
	/* the exact text of numbers inside nested JSON, with the clamp recovered */
	const char *body = "{\"a\":[123456789012345678901234567890,-9223372036854775808,"
			   "-9223372036854775809,1e400,0.1]}";
	struct os_page p = {0};
	struct buf err, out;
	buf_init(&err), buf_init(&out);
	assert_true(os_json_parse(body, strlen(body), &p.root, &err));
	p.body = body;
	p.len = strlen(body);
	assert_true(os_json_write(&p, p.root, &out, &err));
	assert_string_equal(buf_cstr(&out), body);
	os_page_free(&p);
	/* a clamp that cannot be matched to its text is an error, never a value */
	json_object *o = json_tokener_parse("123456789012345678901234567890");
	buf_reset(&out);
	assert_false(os_number_append(NULL, o, &out, &err));
	json_object_put(o);
	buf_free(&err), buf_free(&out);
}

static void
expect_page_error(const char *body, const char *what)
{
	struct os_page p;
	struct buf err;
	buf_init(&err);
	assert_false(os_page_parse(&p, body, strlen(body), &err));
	if (strstr(buf_cstr(&err), what) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", what, buf_cstr(&err));
	assert_null(p.root);
	buf_free(&err);
}

static void
test_page_errors(void **state)
{
	(void) state;
	/* partial results are an error, never "no documents" */
	expect_page_error("{\"took\":1,\"timed_out\":false,\"_shards\":{\"total\":5,\"successful\":4,"
			  "\"skipped\":0,\"failed\":1,\"failures\":[{\"shard\":-1,\"index\":null,"
			  "\"reason\":{\"type\":\"node_disconnected_exception\",\"reason\":\"[n1] "
			  "disconnected\"}}]},\"hits\":{\"hits\":[]}}",
			  "1 of 5 shards failed: node_disconnected_exception: [n1] disconnected");
	expect_page_error("{\"took\":1,\"timed_out\":true,\"_shards\":{\"total\":1,\"successful\":1,"
			  "\"skipped\":0,\"failed\":0},\"hits\":{\"hits\":[]}}",
			  "timed out");
	/* truncated, garbage, trailing garbage, wrong shape */
	char trunc[200];
	snprintf(trunc, sizeof(trunc), "%.*s", 120, page_2x);
	expect_page_error(trunc, "truncated");
	expect_page_error("<html><body>502 Bad Gateway</body></html>", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[]}}xyz", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[]}} {}", "malformed JSON");
	expect_page_error("{\"took\":1}", "without hits.hits");
	expect_page_error("[]", "not a JSON object");
	expect_page_error("", "empty");
}

static void
test_small_responses(void **state)
{
	(void) state;
	struct buf err, v;
	buf_init(&err), buf_init(&v);
	int64_t n = -1;
	const char *count = "{ \"count\" : 14074,\n  \"_shards\" : { \"total\" : 1, \"successful\" : 1, "
			    "\"skipped\" : 0, \"failed\" : 0 } }";
	assert_true(os_count_parse(count, strlen(count), &n, &err));
	assert_int_equal(n, 14074);
	const char *bad = "{\"count\":10,\"_shards\":{\"total\":2,\"successful\":1,\"skipped\":0,"
			  "\"failed\":1}}";
	assert_false(os_count_parse(bad, strlen(bad), &n, &err));
	assert_non_null(strstr(buf_cstr(&err), "1 of 2 shards failed"));
	char *pit = NULL;
	const char *pitbody = "{ \"pit_id\": \"o463QQEPbXktaW5k...AAA\",\n  \"_shards\": { \"total\": 1, "
			      "\"successful\": 1, \"skipped\": 0, \"failed\": 0 },\n  \"creation_time\": "
			      "1658146050064 }";
	assert_true(os_pit_parse(pitbody, strlen(pitbody), &pit, &err));
	assert_string_equal(pit, "o463QQEPbXktaW5k...AAA");
	free(pit);
	const char *root = "{ \"name\": \"opensearch-node1\", \"cluster_name\": \"opensearch-cluster\", "
			   "\"version\": { \"distribution\": \"opensearch\", \"number\": \"3.2.0\" }, "
			   "\"tagline\": \"The OpenSearch Project: https://opensearch.org/\" }";
	assert_true(os_root_parse(root, strlen(root), &v, &err));
	assert_string_equal(buf_cstr(&v), "opensearch 3.2.0");
	buf_reset(&v);
	/* AWS compatibility mode: 7.10.2 and no distribution */
	const char *compat = "{\"version\":{\"number\":\"7.10.2\"}}";
	assert_true(os_root_parse(compat, strlen(compat), &v, &err));
	assert_string_equal(buf_cstr(&v), "elasticsearch-compatible 7.10.2");
	/* max_result_window: set on the index (a string), or among include_defaults' defaults */
	int64_t w = -1;
	const char *set = "{\"os_t\":{\"settings\":{\"index\":{\"max_result_window\":\"500\","
			  "\"number_of_shards\":\"1\"}}}}";
	assert_true(os_settings_window(set, strlen(set), &w, &err));
	assert_int_equal(w, 500);
	const char *def = "{\"os_t\":{\"settings\":{\"index\":{}},\"defaults\":{\"index\":{"
			  "\"max_result_window\":\"10000\"}}}}";
	assert_true(os_settings_window(def, strlen(def), &w, &err));
	assert_int_equal(w, 10000);
	assert_true(os_settings_window("{}", 2, &w, &err));
	assert_int_equal(w, 0);
	buf_free(&err), buf_free(&v);
}

static void
test_key_checks(void **state)
{
	(void) state;
	struct table_desc t;
	describe(&t, OS_ID_VALUE);
	struct buf err;
	buf_init(&err);
	const char *body =
		"{\"timed_out\":false,\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},\"hits\":"
		"{\"hits\":[{\"_id\":\"d1\",\"_source\":{\"code\":\"x\"},\"sort\":[null,\"d1\"]},"
		"{\"_id\":\"d2\",\"_source\":{\"id\":7},\"sort\":[7,\"d2\"]},"
		"{\"_id\":\"7\",\"_source\":{\"id\":7.0},\"sort\":[7]},"
		"{\"_id\":\"8\",\"_source\":{\"id\":7},\"sort\":[7]},"
		"{\"_id\":\"d3\"}]}}";
	struct os_page p;
	assert_true(os_page_parse(&p, body, strlen(body), &err));
	struct req rq;
	struct os_key keys[1];
	const char *why;
	struct os_reader rd;

	/* field mode: a document without its key field is named */
	request(&rq, &t, "id", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &why));
	os_reader_init(&rd, &rq.r, keys, 1);
	assert_false(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 0), &err));
	assert_non_null(strstr(buf_cstr(&err), "document _id d1 has no value for the key field id"));
	buf_reset(&err);
	assert_true(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 1), &err));
	assert_false(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 4), &err));
	assert_non_null(strstr(buf_cstr(&err), "without its _source"));
	os_reader_free(&rd);

	/* a keyword value without a sort value (longer than ignore_above) */
	buf_reset(&err);
	request(&rq, &t, "code", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_FIELD, keys, &why));
	os_reader_init(&rd, &rq.r, keys, 1);
	assert_false(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 0), &err));
	assert_non_null(strstr(buf_cstr(&err), "ignore_above"));
	os_reader_free(&rd);

	/* id mode value: the key comes from _id, and must agree with the ordering field */
	buf_reset(&err);
	request(&rq, &t, "id", NULL);
	assert_true(os_key_plan(&rq.r, OS_ID_VALUE, keys, &why));
	os_reader_init(&rd, &rq.r, keys, 1);
	assert_true(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 2), &err));
	int idc = table_desc_find(&t, "id");
	assert_int_equal(rd.vals[idc].len, 1);
	assert_memory_equal(rd.vals[idc].data, "7", 1);
	assert_false(os_reader_row(&rd, &p, json_object_array_get_idx(p.hits, 3), &err));
	assert_non_null(strstr(buf_cstr(&err), "_id must be the key"));
	os_reader_free(&rd);
	os_page_free(&p);
	table_desc_free(&t);
	buf_free(&err);
}

/* --- the page scanner (opensearch_scan.c) ---------------------------------------------------- */

/* A reader over every column of the DMS-style mapping, keyed by id. */
struct scan_fixture {
	struct table_desc t;
	struct req rq;
	struct os_key keys[1];
	struct os_reader rd;
	struct os_page p;
	struct buf err;
};

static void
scan_open(struct scan_fixture *f, const char *body, enum os_id_mode mode)
{
	describe(&f->t, mode);
	buf_init(&f->err);
	request(&f->rq, &f->t, "id", NULL);
	const char *why;
	assert_true(os_key_plan(&f->rq.r, mode, f->keys, &why));
	os_reader_init(&f->rd, &f->rq.r, f->keys, 1);
	if (!os_page_parse(&f->p, body, strlen(body), &f->err))
		fail_msg("page: %s", buf_cstr(&f->err));
}

static void
scan_close(struct scan_fixture *f)
{
	os_reader_free(&f->rd);
	os_page_free(&f->p);
	table_desc_free(&f->t);
	buf_free(&f->err);
}

static bool
scan_row(struct scan_fixture *f, size_t i)
{
	buf_reset(&f->err);
	return os_reader_row(&f->rd, &f->p, json_object_array_get_idx(f->p.hits, i), &f->err);
}

static void
expect_val(const struct value *v, const char *s, size_t n)
{
	assert_false(v->null);
	if (v->len != n || memcmp(v->data, s, n) != 0)
		fail_msg("expected \"%.*s\" (%zu bytes), got \"%.*s\" (%zu bytes)", (int) n, s, n,
			 (int) v->len, v->data, v->len);
}
#define EXPECT(f, col, lit) expect_val(&(f)->rd.vals[col], lit, sizeof(lit) - 1)

/*
 * The scanner reads strings eight bytes at a time: a quote, backslash or control byte at
 * any offset of a long value, after multi-byte UTF-8, must still be seen.
 */
static void
test_scan_string_offsets(void **state)
{
	(void) state;
	static const char head[] = "{\"timed_out\":false,\"_shards\":{\"failed\":0},\"hits\":{\"hits\":["
				   "{\"_id\":\"1\",\"_source\":{\"id\":1,\"code\":\"";
	static const char tail[] = "\"},\"sort\":[1]}]}}";
	for (int k = 0; k < 26; k++) {
		char text[40], want[40], body[256];
		/* "\xc3\xa9" (é) then ASCII: the stop byte lands at every offset of a word */
		memcpy(text, "\xc3\xa9" "abcdefghijklmnopqrstuvwx", 26);
		memcpy(want, text, 26);
		/* an escaped quote at offset k decodes to a quote there */
		snprintf(body, sizeof(body), "%s%.*s\\\"%.*s%s", head, k, text, 26 - k, text + k, tail);
		struct scan_fixture f;
		scan_open(&f, body, OS_ID_FIELD);
		assert_true(scan_row(&f, 0));
		char dec[40];
		snprintf(dec, sizeof(dec), "%.*s\"%.*s", k, want, 26 - k, want + k);
		expect_val(&f.rd.vals[1], dec, 27);
		scan_close(&f);
		/* a raw control byte at offset k: not JSON, refused */
		for (int c = 1; c < 0x20; c += 0x1e) {
			snprintf(body, sizeof(body), "%s%.*s%c%.*s%s", head, k, text, c, 26 - k, text + k,
				 tail);
			struct os_page p;
			struct buf err;
			buf_init(&err);
			assert_false(os_page_parse(&p, body, strlen(body), &err));
			assert_true(err.len > 0);
			buf_free(&err);
		}
	}
}

static void
test_scan_strings(void **state)
{
	(void) state;
	/* escapes, \uXXXX, surrogate pairs and lone halves (U+FFFD, as json-c), an escaped
	 * member name and _id, base64 with an escape, and the same strings through json-c */
	const char *body =
		"{\"timed_out\":false,\"_shards\":{\"failed\":0},\"hits\":{\"hits\":["
		"{\"_id\":\"x\\u002fy\\\"\",\"_source\":{\"id\":1,"
		"\"code\":\"a\\\"b\\\\c\\/d\\n\\t\\b\\f\\r\\u00e9\\u0000z\","
		"\"name\":\"\\ud83d\\ude00|\\ud800x|\\udc00|\\ud83d\\u0041|\\ud800\\ud800\\udc00\","
		"\"\\u006bw\":\"caf\xc3\xa9\",\"blob\":\"aGVs\\u0062G8=\",\"placed\":\"\"},"
		"\"sort\":[1,\"x/y\"]}]}}";
	struct scan_fixture f;
	scan_open(&f, body, OS_ID_FIELD);
	assert_int_equal(f.p.nhits, 1);
	size_t n;
	assert_string_equal(os_hit_id(json_object_array_get_idx(f.p.hits, 0), &n), "x/y\"");
	assert_int_equal(n, 4);
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "1");
	EXPECT(&f, 1, "a\"b\\c/d\n\t\b\f\r\xc3\xa9\0z");
	EXPECT(&f, 2, "\xf0\x9f\x98\x80|\xef\xbf\xbdx|\xef\xbf\xbd|\xef\xbf\xbd" "A|"
		      "\xef\xbf\xbd\xf0\x90\x80\x80");
	EXPECT(&f, 3, "caf\xc3\xa9"); /* found by its decoded name */
	EXPECT(&f, 7, "");	       /* an empty string is not NULL */
	EXPECT(&f, 11, "hello");
	/* json-c decodes every string the same way */
	const char *strs[] = {"\"a\\\"b\\\\c\\/d\\n\\t\\b\\f\\r\\u00e9\\u0000z\"",
			      "\"\\ud83d\\ude00|\\ud800x|\\udc00|\\ud83d\\u0041|\\ud800\\ud800\\udc00\"",
			      "\"\\uD83D\\uDE00\\u00FF\\u0041\""};
	for (size_t i = 0; i < sizeof(strs) / sizeof(*strs); i++) {
		json_object *o = json_tokener_parse(strs[i]);
		assert_non_null(o);
		struct os_span sp = {strs[i] + 1, (uint32_t) (strlen(strs[i]) - 2), OS_J_STRING, true};
		struct buf b;
		buf_init(&b);
		assert_true(os_span_decode(&sp, &b));
		assert_int_equal(b.len, (size_t) json_object_get_string_len(o));
		assert_memory_equal(b.data, json_object_get_string(o), b.len);
		buf_free(&b);
		json_object_put(o);
	}
	scan_close(&f);
}

static void
test_scan_values(void **state)
{
	(void) state;
	/* numbers keep their text (beyond 64 bits, beyond double precision, exponents);
	 * nested values are JSON text, white space between tokens removed; null is NULL */
	const char *body =
		"{ \"hits\" : { \"hits\" : [ { \"_id\" : \"a\" , \"_source\" : {\n"
		"  \"id\" : 123456789012345678901234567890123,\n"
		"  \"amount\" : -98765432109876543210.5e-3, \"price\" : 12345678901234567890.123456789012,\n"
		"  \"big\" : -0, \"kw\" : null, \"active\" : false, \"placed\" : 1E+2,\n"
		"  \"doc\" : { \"g\" : [ 1 , -0 , -0.0 , \"a \\\" b\" , { } , [ ] , true , null ] },\n"
		"  \"items\" : [{\"n\":-123456789012345678901234567890}] } ,\n"
		"  \"sort\" : [ -0 , \"a\\\"b\" , 1.50 ] } ] } }";
	struct scan_fixture f;
	scan_open(&f, body, OS_ID_FIELD);
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "123456789012345678901234567890123");
	EXPECT(&f, 4, "-98765432109876543210.5e-3");
	EXPECT(&f, 5, "12345678901234567890.123456789012");
	EXPECT(&f, 6, "0"); /* the integer -0, as json-c read it */
	assert_true(f.rd.vals[3].null);
	EXPECT(&f, 7, "1E+2");
	EXPECT(&f, 8, "false");
	EXPECT(&f, 9, "{\"g\":[1,0,-0.0,\"a \\\" b\",{},[],true,null]}");
	EXPECT(&f, 10, "[{\"n\":-123456789012345678901234567890}]"); /* the body's own text */
	assert_true(f.rd.vals[1].null && f.rd.vals[2].null && f.rd.vals[11].null);
	struct buf sort;
	buf_init(&sort);
	assert_true(os_page_last_sort(&f.p, &sort, &f.err));
	assert_string_equal(buf_cstr(&sort), "[0,\"a\\\"b\",1.50]");
	buf_free(&sort);
	scan_close(&f);
}

static void
test_scan_members(void **state)
{
	(void) state;
	/* members in another order each document, unknown members, duplicates (the last
	 * wins, as in json-c), duplicate _source and _id, and a PIT id with an escape */
	const char *body =
		"{\"pit_id\":\"p\\u0031\",\"hits\":{\"hits\":["
		"{\"_id\":\"a\",\"_source\":{\"id\":1,\"code\":\"x\",\"zz\":{\"id\":9}},\"sort\":[1]},"
		"{\"_id\":\"b\",\"_source\":{\"code\":\"y\",\"id\":2,\"code\":\"y2\"},\"sort\":[2]},"
		"{\"_id\":\"c\",\"_source\":{\"id\":0},\"_source\":{\"zz\":1,\"id\":3},\"_id\":\"c2\"},"
		"{\"_id\":\"d\",\"_source\":{\"id\":4,\"code\":\"w\",\"zz\":[]}}]}}";
	struct scan_fixture f;
	scan_open(&f, body, OS_ID_FIELD);
	assert_string_equal(f.p.pit_id, "p1");
	assert_int_equal(f.p.nhits, 4);
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "1");
	EXPECT(&f, 1, "x");
	assert_true(scan_row(&f, 1));
	EXPECT(&f, 0, "2");
	EXPECT(&f, 1, "y2");
	assert_true(scan_row(&f, 2));
	EXPECT(&f, 0, "3");
	assert_true(f.rd.vals[1].null);
	size_t n;
	assert_string_equal(os_hit_id(json_object_array_get_idx(f.p.hits, 2), &n), "c2");
	assert_true(scan_row(&f, 3));
	EXPECT(&f, 0, "4");
	EXPECT(&f, 1, "w");
	/* a second page with the reader's remembered member order */
	os_page_free(&f.p);
	const char *body2 = "{\"hits\":{\"hits\":[{\"_id\":\"e\",\"_source\":{\"idx\":5,\"id\":6,"
			    "\"cod\":\"v\"}},{\"_id\":\"f\",\"_source\":{\"id\":7}}]}}";
	assert_true(os_page_parse(&f.p, body2, strlen(body2), &f.err));
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "6");
	assert_true(f.rd.vals[1].null);
	assert_true(scan_row(&f, 1));
	EXPECT(&f, 0, "7");
	/* no sort on the last hit */
	struct buf sort;
	buf_init(&sort);
	assert_false(os_page_last_sort(&f.p, &sort, &f.err));
	assert_non_null(strstr(buf_cstr(&f.err), "without sort values"));
	buf_free(&sort);
	scan_close(&f);
}

static void
test_scan_bad_bodies(void **state)
{
	(void) state;
	/* every truncation of a page is refused, never read as fewer documents */
	size_t len = strlen(page_1x);
	for (size_t i = 1; i < len; i++) {
		struct os_page p;
		struct buf err;
		buf_init(&err);
		if (os_page_parse(&p, page_1x, i, &err))
			fail_msg("a page cut at byte %zu was accepted", i);
		assert_true(err.len > 0);
		assert_null(p.hits);
		buf_free(&err);
	}
	expect_page_error("{\"hits\":{\"hits\":[{\"_id\":\"a\",}]}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[1,]}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[01]}}", "JSON");
	expect_page_error("{\"hits\":{\"hits\":[NaN]}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":['a']}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[\"\\x\"]}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[\"\\u12g4\"]}}", "malformed JSON");
	expect_page_error("{\"hits\":{\"hits\":[1.]}}", "JSON");
	expect_page_error("{\"hits\":{\"hits\":[-]}}", "JSON");
	expect_page_error("{\"hits\":{\"hits\":[tru]}}", "JSON");
	expect_page_error("{\"hits\":{\"hits\":[]}", "truncated");
	/* strict: a raw control character in a string (json-c lets it through) */
	expect_page_error("{\"hits\":{\"hits\":[\"a\tb\"]}}", "control character");
	/* nesting deeper than the parser's limit */
	char deep[2100];
	size_t k = (size_t) snprintf(deep, sizeof(deep), "{\"hits\":{\"hits\":[");
	for (int i = 0; i < 1000; i++)
		deep[k++] = '[';
	for (int i = 0; i < 1000; i++)
		deep[k++] = ']';
	snprintf(deep + k, sizeof(deep) - k, "]}}");
	expect_page_error(deep, "JSON");
	/* hits that are not documents */
	const char *odd = "{\"hits\":{\"hits\":[1,{\"_id\":7,\"_source\":{}},{\"_id\":\"a\",\"_source\":[]},"
			  "{\"_id\":null,\"sort\":null}]}}";
	struct scan_fixture f;
	scan_open(&f, odd, OS_ID_FIELD);
	assert_int_equal(f.p.nhits, 4);
	assert_false(scan_row(&f, 0));
	assert_non_null(strstr(buf_cstr(&f.err), "without an _id"));
	assert_false(scan_row(&f, 1));
	assert_non_null(strstr(buf_cstr(&f.err), "without an _id"));
	assert_false(scan_row(&f, 2));
	assert_non_null(strstr(buf_cstr(&f.err), "without its _source"));
	size_t n;
	assert_null(os_hit_id(json_object_array_get_idx(f.p.hits, 3), &n));
	assert_false(os_reader_row(&f.rd, &f.p, NULL, &f.err));
	scan_close(&f);
}

static void
test_scan_partial(void **state)
{
	(void) state;
	/* shard failures and timeouts, whatever the shape, are refused with json-c's words */
	expect_page_error("{\"_shards\":{\"total\":3,\"failed\":2},\"hits\":{\"hits\":[]}}",
			  "2 of 3 shards failed (the answer is partial)");
	expect_page_error("{\"_shards\":{\"failed\":0},\"_shards\":{\"total\":2,\"failed\":1},"
			  "\"hits\":{\"hits\":[]}}",
			  "1 of 2 shards failed");
	expect_page_error("{\"timed_out\":false,\"timed_out\":true,\"hits\":{\"hits\":[]}}",
			  "timed out");
	expect_page_error("{\"terminated_early\":true,\"hits\":{\"hits\":[]}}", "terminated early");
	expect_page_error("{\"hits\":{\"hits\":[]},\"hits\":{\"total\":0}}", "without hits.hits");
	expect_page_error("{\"hits\":{\"hits\":{}}}", "without hits.hits");
	expect_page_error("{\"hits\":[]}", "without hits.hits");
	expect_page_error(" [1] ", "not a JSON object");
	/* not plainly complete, yet complete: json-c's verdict, the scanner's hits */
	const char *ok = "{\"timed_out\":0,\"_shards\":{\"failed\":\"0\"},\"hits\":{\"hits\":["
			 "{\"_id\":\"a\",\"_source\":{\"id\":1}}]}}";
	struct scan_fixture f;
	scan_open(&f, ok, OS_ID_FIELD);
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "1");
	scan_close(&f);
	/* sort values: null reads as absent; a null item has no sortable value */
	const char *sorts = "{\"hits\":{\"hits\":[{\"_id\":\"a\",\"_source\":{\"id\":1},\"sort\":null},"
			    "{\"_id\":\"b\",\"_source\":{\"id\":2},\"sort\":[null,\"b\"]},"
			    "{\"_id\":\"c\",\"_source\":{\"id\":3},\"sort\":[]}]}}";
	scan_open(&f, sorts, OS_ID_FIELD);
	assert_true(scan_row(&f, 0));
	assert_false(scan_row(&f, 1));
	assert_non_null(strstr(buf_cstr(&f.err), "no sortable value"));
	assert_false(scan_row(&f, 2));
	assert_non_null(strstr(buf_cstr(&f.err), "no sortable value"));
	scan_close(&f);
	/* id mode value: the _id, decoded, against the key field's text */
	const char *ids = "{\"hits\":{\"hits\":[{\"_id\":\"1\\u0030\",\"_source\":{\"id\":1.0e1}},"
			  "{\"_id\":\"k\\/1\",\"_source\":{\"id\":\"k/1\"}},"
			  "{\"_id\":\"k/1\",\"_source\":{\"id\":\"k\\/2\"}}]}}";
	scan_open(&f, ids, OS_ID_VALUE);
	assert_true(scan_row(&f, 0));
	EXPECT(&f, 0, "10");
	assert_true(scan_row(&f, 1));
	EXPECT(&f, 0, "k/1");
	assert_false(scan_row(&f, 2));
	assert_non_null(strstr(buf_cstr(&f.err), "_id must be the key"));
	scan_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),	     cmocka_unit_test(test_paths),
		cmocka_unit_test(test_errors),	     cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_mapping),	     cmocka_unit_test(test_key_plan),
		cmocka_unit_test(test_search_bodies), cmocka_unit_test(test_fetch_bodies),
		cmocka_unit_test(test_page_2x),	     cmocka_unit_test(test_page_1x_numbers),
		cmocka_unit_test(test_numbers_json_c), cmocka_unit_test(test_page_errors),
		cmocka_unit_test(test_small_responses), cmocka_unit_test(test_key_checks),
		cmocka_unit_test(test_scan_strings),
		cmocka_unit_test(test_scan_string_offsets),   cmocka_unit_test(test_scan_values),
		cmocka_unit_test(test_scan_members),   cmocka_unit_test(test_scan_bad_bodies),
		cmocka_unit_test(test_scan_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
