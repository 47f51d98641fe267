/*
 * tests/unit/test_opensearch_bulk.c: the pure parts of the OpenSearch _bulk repair
 * (endpoint/opensearch_bulk.c), without a server: SHA-256 against FIPS 180-4 vectors and
 * Python's hashlib, document ids (DMS's SHA-256 of the key, crosscheck's composite join,
 * the key itself), documents typed by their fields, action lines, and the per-item
 * results of _bulk responses shaped as ../shared/opensearch-wire.md §5 shows them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "endpoint/opensearch_bulk_internal.h"
#include "endpoint/opensearch_internal.h"
#include "util/buf.h"

static void
sha_is(const char *in, size_t len, const char *hex)
{
	char out[65];
	os_sha256_hex(in, len, out);
	assert_string_equal(out, hex);
}

static void
test_sha256(void **state)
{
	(void) state;
	sha_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha_is("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* the padding boundaries: 55 bytes fit one block, 56 and 64 need a second */
	char a[1000];
	memset(a, 'a', sizeof(a));
	sha_is(a, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	sha_is(a, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	sha_is(a, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
	sha_is(a, 1000, "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
}

static void
test_base64_and_compact(void **state)
{
	(void) state;
	const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf_reset(&b);
		assert_true(os_base64_append(&b, in[i], strlen(in[i])));
		assert_string_equal(buf_cstr(&b), out[i]);
	}
	buf_reset(&b);
	assert_true(os_base64_append(&b, "\x00\xff", 2));
	assert_string_equal(buf_cstr(&b), "AP8=");

	/* white space goes, tokens stay byte for byte (numbers never through a double) */
	const char *j = "{ \"a\" : [1, 2.50, \"x y\\n\\\"q\\\" \"] ,\n\t\"big\": 123456789012345678901234567890,"
			"\r\n \"n\" : null }";
	buf_reset(&b);
	assert_true(os_json_compact(j, strlen(j), &b));
	assert_string_equal(buf_cstr(&b), "{\"a\":[1,2.50,\"x y\\n\\\"q\\\" \"],"
					  "\"big\":123456789012345678901234567890,\"n\":null}");
	buf_reset(&b);
	assert_false(os_json_compact("{\"a\":", 5, &b));
	assert_false(os_json_compact("{\"a\":1} x", 9, &b));
	buf_free(&b);
}

static const char *
key_of(struct buf *b, int n, const enum canon_type *t, const char *const *v)
{
	buf_reset(b);
	for (int i = 0; i < n; i++)
		keyframe_append(b, t[i], v[i], strlen(v[i]));
	return b->data;
}

static void
test_key_ids(void **state)
{
	(void) state;
	struct buf k, id;
	buf_init(&k), buf_init(&id);
	const char *err = NULL;
	enum canon_type num[] = {CANON_NUMBER}, pair[] = {CANON_TEXT, CANON_NUMBER};
	const char *v42[] = {"42"}, *vx3[] = {"x", "3"};

	/* DMS: the SHA-256 of the key's text */
	key_of(&k, 1, num, v42);
	assert_true(os_key_id(OS_IDS_SHA256, k.data, k.len, 1, &id, &err));
	assert_string_equal(buf_cstr(&id),
			    "73475cb40a568e8da8a045ced110137e159f890ac4da883b6b17dc651b3a8049");
	/* the key itself */
	buf_reset(&id);
	assert_true(os_key_id(OS_IDS_KEY, k.data, k.len, 1, &id, &err));
	assert_string_equal(buf_cstr(&id), "42");

	/* a composite key: the SHA-256 of the JSON array ["x","3"] */
	key_of(&k, 2, pair, vx3);
	buf_reset(&id);
	assert_true(os_key_id(OS_IDS_SHA256, k.data, k.len, 2, &id, &err));
	assert_string_equal(buf_cstr(&id),
			    "83b7d786cab8c71bc81549e86592f8ee640ae422a6760b39654994e3a5dd3f87");
	buf_reset(&id);
	assert_false(os_key_id(OS_IDS_KEY, k.data, k.len, 2, &id, &err));
	assert_non_null(strstr(err, "composite"));
	assert_false(os_key_id(OS_IDS_UNKNOWN, k.data, k.len, 2, &id, &err));

	/* binary keys name no document; an _id is at most 512 bytes */
	enum canon_type bin[] = {CANON_BINARY}, txt[] = {CANON_TEXT};
	const char *vb[] = {"\x01\x02"};
	key_of(&k, 1, bin, vb);
	assert_false(os_key_id(OS_IDS_SHA256, k.data, k.len, 1, &id, &err));
	char longkey[600];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	const char *vl[] = {longkey};
	key_of(&k, 1, txt, vl);
	assert_false(os_key_id(OS_IDS_KEY, k.data, k.len, 1, &id, &err));
	buf_reset(&id);
	assert_true(os_key_id(OS_IDS_SHA256, k.data, k.len, 1, &id, &err)); /* hashed: 64 bytes */
	assert_int_equal(id.len, 64);
	buf_free(&k), buf_free(&id);
}

/* value_is formats one value for a field of mapping type mtype. */
static void
value_is(const char *mtype, enum canon_type t, const char *in, size_t len, const char *want)
{
	struct column_desc c;
	memset(&c, 0, sizeof(c));
	c.name = (char *) (uintptr_t) "f";
	c.engine_type = (char *) (uintptr_t) mtype;
	c.type = t;
	struct value v = {in, len, in == NULL, false};
	struct buf b;
	buf_init(&b);
	const char *err = NULL;
	bool ok = os_doc_value(&c, &v, &b, &err);
	if (want == NULL) {
		assert_false(ok);
		assert_non_null(err);
	} else {
		assert_true(ok);
		assert_string_equal(buf_cstr(&b), want);
	}
	buf_free(&b);
}

static void
test_doc_values(void **state)
{
	(void) state;
	/* numbers: exact text, or normalized when the text is not a JSON number */
	value_is("long", CANON_NUMBER, "42", 2, "42");
	value_is("long", CANON_NUMBER, "-9223372036854775808", 20, "-9223372036854775808");
	value_is("double", CANON_FLOAT, "12.50", 5, "12.50");
	value_is("double", CANON_FLOAT, "1e+20", 5, "1e+20");
	value_is("scaled_float", CANON_FLOAT, "123456789012345678901234567890.12", 33,
		 "123456789012345678901234567890.12");
	value_is("long", CANON_NUMBER, "+5", 2, "5");
	value_is("long", CANON_NUMBER, "007", 3, "7");
	value_is("double", CANON_FLOAT, "NaN", 3, NULL);
	value_is("double", CANON_FLOAT, "-Infinity", 9, NULL);
	/* booleans as the source spells them */
	value_is("boolean", CANON_BOOL, "t", 1, "true");
	value_is("boolean", CANON_BOOL, "false", 5, "false");
	value_is("boolean", CANON_BOOL, "maybe", 5, NULL);
	/* dates: the UTC text repair hands over becomes ISO 8601; a date stays a date */
	value_is("date", CANON_TIMESTAMP, "2024-01-02 03:04:05.000006", 26,
		 "\"2024-01-02T03:04:05.000006Z\"");
	value_is("date", CANON_TIMESTAMP, "2024-01-02 05:04:05+02", 22,
		 "\"2024-01-02T03:04:05.000000Z\"");
	value_is("date", CANON_TIMESTAMP, "2020-02-29", 10, "\"2020-02-29\"");
	/* objects compact, binary as base64, text as a string, NULL as null */
	value_is("object", CANON_JSON, "{\"g\": 1, \"tags\": [\"a\", 2]}", 26,
		 "{\"g\":1,\"tags\":[\"a\",2]}");
	value_is("object", CANON_JSON, "{broken", 7, NULL);
	value_is("binary", CANON_BINARY, "\x00\xff", 2, "\"AP8=\"");
	value_is("keyword", CANON_TEXT, "a \"q\"\n", 6, "\"a \\\"q\\\"\\n\"");
	value_is("keyword", CANON_TEXT, "12.50", 5, "\"12.50\"");
	value_is("long", CANON_NUMBER, NULL, 0, "null");
}

static void
test_doc_json(void **state)
{
	(void) state;
	struct column_desc cols[4];
	memset(cols, 0, sizeof(cols));
	const char *names[] = {"id", "name", "at", "_id"}, *types[] = {"long", "keyword", "date", "_id"};
	enum canon_type ct[] = {CANON_NUMBER, CANON_TEXT, CANON_TIMESTAMP, CANON_TEXT};
	for (int i = 0; i < 4; i++) {
		cols[i].name = (char *) (uintptr_t) names[i];
		cols[i].engine_type = (char *) (uintptr_t) types[i];
		cols[i].type = ct[i];
	}
	struct table_desc t;
	memset(&t, 0, sizeof(t));
	t.name = (char *) (uintptr_t) "items";
	t.cols = cols;
	t.ncols = 4;
	/* delivery order differs from the mapping's; the _id pseudo column is not a field */
	int order[] = {3, 1, 0, 2}, key[] = {3};
	struct scan_request r = {.table = &t, .cols = order, .ncols = 4, .key = key, .nkeys = 1};
	struct value row[] = {{"7", 1, false, false}, {"", 0, true, false}, {"7", 1, false, false},
			      {"2024-03-01 00:07:00.000000", 26, false, false}};
	struct buf b, err;
	buf_init(&b), buf_init(&err);
	assert_true(os_doc_json(&r, row, &b, &err));
	assert_string_equal(buf_cstr(&b), "{\"name\":null,\"id\":7,\"at\":\"2024-03-01T00:07:00.000000Z\"}");
	/* a value the field cannot hold: the field is named */
	struct value bad[] = {{"7", 1, false, false}, {"x", 1, false, false}, {"NaN", 3, false, false}, {"", 0, true, false}};
	buf_reset(&b);
	assert_false(os_doc_json(&r, bad, &b, &err));
	assert_non_null(strstr(buf_cstr(&err), "field id (long)"));

	buf_reset(&b);
	assert_true(os_bulk_action_line(&b, "delete", "items", "a\"b", 3));
	assert_string_equal(buf_cstr(&b), "{\"delete\":{\"_index\":\"items\",\"_id\":\"a\\\"b\"}}\n");
	buf_free(&b), buf_free(&err);
}

static void
test_bulk_items(void **state)
{
	(void) state;
	struct os_bulk_item it[4];
	struct buf err;
	buf_init(&err);
	/* the wire document's example: a not_found delete and a created index are both done */
	const char *ok2 =
		"{\"took\":35,\"errors\":false,\"items\":[{\"delete\":{\"_index\":\"movies\",\"_id\":"
		"\"tt2229499\",\"_version\":1,\"result\":\"not_found\",\"_shards\":{\"total\":1,"
		"\"successful\":1,\"failed\":0},\"_seq_no\":1,\"_primary_term\":1,\"status\":404}},"
		"{\"index\":{\"_index\":\"movies\",\"_type\":\"_doc\",\"_id\":\"tt1979320\",\"_version\":1,"
		"\"result\":\"created\",\"_shards\":{\"total\":1,\"successful\":1,\"failed\":0},"
		"\"_seq_no\":2,\"_primary_term\":1,\"status\":201}}]}";
	assert_true(os_bulk_parse_items(ok2, strlen(ok2), 2, it, &err));
	assert_int_equal(it[0].outcome, OS_ITEM_OK);
	assert_int_equal(it[1].outcome, OS_ITEM_OK);
	/* a partial failure: 200 with errors:true; 429 is retried, the mapper error is not */
	const char *mixed =
		"{\"took\":9,\"errors\":true,\"items\":["
		"{\"index\":{\"_index\":\"i\",\"_id\":\"1\",\"status\":200,\"result\":\"updated\"}},"
		"{\"index\":{\"_index\":\"i\",\"_id\":\"2\",\"status\":429,\"error\":{\"type\":"
		"\"rejected_execution_exception\",\"reason\":\"rejected execution of coordinating "
		"operation\"}}},"
		"{\"index\":{\"_index\":\"i\",\"_id\":\"3\",\"status\":400,\"error\":{\"type\":"
		"\"mapper_parsing_exception\",\"reason\":\"failed to parse field [at] of type [date]\","
		"\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"bad date\"}}}},"
		"{\"delete\":{\"_index\":\"i\",\"_id\":\"4\",\"status\":404,\"error\":{\"type\":"
		"\"index_not_found_exception\",\"reason\":\"no such index [i]\"}}}]}";
	assert_true(os_bulk_parse_items(mixed, strlen(mixed), 4, it, &err));
	assert_int_equal(it[0].outcome, OS_ITEM_OK);
	assert_int_equal(it[1].outcome, OS_ITEM_RETRY);
	assert_int_equal(it[2].outcome, OS_ITEM_FAILED);
	assert_string_equal(it[2].text, "400 mapper_parsing_exception: failed to parse field [at] of "
					"type [date] (caused by illegal_argument_exception: bad date)");
	assert_int_equal(it[3].outcome, OS_ITEM_FAILED);
	assert_non_null(strstr(it[3].text, "index_not_found_exception"));
	/* an answer that does not account for every action: the outcome is unknown */
	assert_false(os_bulk_parse_items(ok2, strlen(ok2), 3, it, &err));
	assert_non_null(strstr(buf_cstr(&err), "2 items for 3 actions"));
	buf_reset(&err);
	assert_false(os_bulk_parse_items("{\"took\":1}", 10, 1, it, &err));
	buf_reset(&err);
	assert_false(os_bulk_parse_items("{\"items\":[{\"index\":{", 21, 1, it, &err));
	buf_free(&err);
}

static void
test_refresh_setting(void **state)
{
	(void) state;
	const char *off = "{\"items\":{\"settings\":{\"index\":{\"number_of_shards\":\"1\","
			  "\"refresh_interval\":\"-1\",\"provided_name\":\"items\"}}}}";
	const char *on = "{\"items\":{\"settings\":{\"index\":{\"refresh_interval\":\"1s\"}}}}";
	const char *unset = "{\"items\":{\"settings\":{\"index\":{\"number_of_shards\":\"1\"}}}}";
	const char *flat = "{\"items\":{\"settings\":{\"index.refresh_interval\":\"-1\"}}}";
	assert_true(os_settings_refresh_off(off, strlen(off)));
	assert_false(os_settings_refresh_off(on, strlen(on)));
	assert_false(os_settings_refresh_off(unset, strlen(unset)));
	assert_true(os_settings_refresh_off(flat, strlen(flat)));
	assert_false(os_settings_refresh_off("garbage", 7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256),	   cmocka_unit_test(test_base64_and_compact),
		cmocka_unit_test(test_key_ids),	   cmocka_unit_test(test_doc_values),
		cmocka_unit_test(test_doc_json),   cmocka_unit_test(test_bulk_items),
		cmocka_unit_test(test_refresh_setting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
