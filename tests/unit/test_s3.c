/*
 * tests/unit/test_s3.c: the S3 endpoint's parts that need no server: the DMS CSV dialect,
 * NULL and empty told apart, DMS file names and date folders, the settings, gzip
 * detection and truncation, SHA-256/HMAC vectors and the SigV4 signer on AWS's examples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "endpoint/s3_internal.h"
#include "util/sha256.h"

static char dir[] = "/tmp/crosscheck-test-s3-XXXXXX";

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static bool
settings(const char *query, struct s3_settings *s)
{
	char text[1024];
	snprintf(text, sizeof(text), "file://%s%s%s", dir, *query ? "?" : "", query);
	struct uri u;
	assert_true(uri_parse(text, &u));
	bool ok = s3_settings_parse(&u, "target", s);
	uri_free(&u);
	return ok;
}

/* read_all parses a file and renders its records as "f1|f2|...\n", N for NULL, '!' rows */
static void
read_all(const char *name, const char *query, char *out, size_t cap)
{
	struct s3_settings s;
	assert_true(settings(query, &s));
	struct s3_store st;
	assert_true(s3_store_open(&st, &s, "target"));
	char *key = strdup(name);
	struct s3_object o = {key, 0, 0};
	struct s3_reader *r;
	assert_true(s3_reader_open(&st, &o, &r));
	struct csv_reader c;
	csv_reader_init(&c, r, &s);
	size_t n = 0;
	out[0] = '\0';
	for (;;) {
		const char *err;
		bool fatal;
		int rc = csv_next(&c, &err, &fatal);
		if (rc == 0)
			break;
		if (rc < 0) {
			n += (size_t) snprintf(out + n, cap - n, "!%lld:%s\n", (long long) c.line, err);
			if (fatal)
				break;
			continue;
		}
		for (int i = 0; i < c.nfields; i++) {
			const struct csv_field *f = &c.fields[i];
			if (csv_is_null(f, &s))
				n += (size_t) snprintf(out + n, cap - n, "%sN", i ? "|" : "");
			else
				n += (size_t) snprintf(out + n, cap - n, "%s<%.*s>", i ? "|" : "", (int) f->len,
						       f->data);
		}
		n += (size_t) snprintf(out + n, cap - n, "@%lld\n", (long long) c.line);
	}
	csv_reader_free(&c);
	s3_reader_close(r);
	s3_store_close(&st);
	s3_settings_free(&s);
	free(key);
}

static void
test_csv_default_dialect(void **state)
{
	(void) state;
	const char data[] = "1,a,,\"\",\"x,y\"\n2,\"he said \"\"hi\"\"\",NULL,\"two\nlines\",Kelly's\n3,Luleå,z\n";
	write_file("a.csv", data, sizeof(data) - 1);
	char out[2048];
	read_all("a.csv", "", out, sizeof(out));
	assert_string_equal(out, "<1>|<a>|N|<>|<x,y>@1\n"
				 "<2>|<he said \"hi\">|<NULL>|<two\nlines>|<Kelly's>@2\n"
				 "<3>|<Luleå>|<z>@4\n");
	/* CsvNullValue set: that text is NULL, an empty field is an empty string */
	read_all("a.csv", "CsvNullValue=NULL", out, sizeof(out));
	assert_string_equal(out, "<1>|<a>|<>|<>|<x,y>@1\n"
				 "<2>|<he said \"hi\">|N|<two\nlines>|<Kelly's>@2\n"
				 "<3>|<Luleå>|<z>@4\n");
}

static void
test_csv_delimiters_and_errors(void **state)
{
	(void) state;
	const char data[] = "1::a::\"b::c\"||2::::x||";
	write_file("b.csv", data, sizeof(data) - 1);
	char out[1024];
	read_all("b.csv", "CsvDelimiter=::&CsvRowDelimiter=%7C%7C", out, sizeof(out));
	assert_string_equal(out, "<1>|<a>|<b::c>@1\n<2>|N|<x>@1\n");
	/* Rfc4180=false: quotes are data */
	const char q[] = "\"a\",b\n";
	write_file("c.csv", q, sizeof(q) - 1);
	read_all("c.csv", "Rfc4180=false", out, sizeof(out));
	assert_string_equal(out, "<\"a\">|<b>@1\n");
	/* a malformed record is skipped with its line; the next one is read; no final newline */
	const char bad[] = "1,\"a\"x,2\n3,ok\n4,\"never closed\n";
	write_file("d.csv", bad, sizeof(bad) - 1);
	read_all("d.csv", "", out, sizeof(out));
	assert_string_equal(out, "!1:text after a closing quote\n<3>|<ok>@2\n!3:unterminated quoted field\n");
	/* tab delimiter through an escape, as describe-endpoints prints it */
	const char tab[] = "1\tx\n";
	write_file("e.csv", tab, sizeof(tab) - 1);
	read_all("e.csv", "CsvDelimiter=%5Ct", out, sizeof(out));
	assert_string_equal(out, "<1>|<x>@1\n");
}

static void
gzip_bytes(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *) (uintptr_t) in;
	z.avail_in = (uInt) len;
	z.next_out = out;
	z.avail_out = (uInt) *outlen;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*outlen = z.total_out;
	deflateEnd(&z);
}

static void
test_gzip_detected_and_truncated(void **state)
{
	(void) state;
	const char data[] = "1,a\n2,b\n";
	unsigned char gz[256];
	size_t n = sizeof(gz);
	gzip_bytes(data, sizeof(data) - 1, gz, &n);
	write_file("LOAD00000001.csv", gz, n); /* no .gz in the name: found by the magic bytes */
	char out[1024];
	read_all("LOAD00000001.csv", "", out, sizeof(out));
	assert_string_equal(out, "<1>|<a>@1\n<2>|<b>@2\n");
	write_file("t.csv.gz", gz, n - 6);
	read_all("t.csv.gz", "", out, sizeof(out));
	assert_non_null(strstr(out, "truncated gzip"));
}

static void
test_names_and_date_folders(void **state)
{
	(void) state;
	assert_true(s3_is_load_name("LOAD00000001.csv"));
	assert_true(s3_is_load_name("LOAD0000000A.csv.gz"));
	assert_true(s3_is_load_name("LOAD001.csv"));
	assert_true(s3_is_load_name("SEGMENT2_LOAD00000009.csv"));
	assert_false(s3_is_load_name("LOAD0000000g.csv"));
	assert_false(s3_is_load_name("LOAD.csv"));
	assert_false(s3_is_load_name("LOAD00000001.parquet"));
	assert_true(s3_is_cdc_name("20240809-192717787.csv"));
	assert_true(s3_is_cdc_name("20141029-1134010000.csv"));
	assert_true(s3_is_cdc_name("20240809-192717787.csv.gz"));
	assert_false(s3_is_cdc_name("20240809-19271778.csv"));
	assert_false(s3_is_cdc_name("2024080-192717787.csv"));
	struct buf b;
	buf_init(&b);
	assert_true(s3_date_folder("YYYYMMDD", "SLASH", "20240809-192717787.csv", &b));
	assert_string_equal(buf_cstr(&b), "2024/08/09");
	buf_reset(&b);
	assert_true(s3_date_folder("YYYYMMDDHH", "UNDERSCORE", "20240809-192717787.csv", &b));
	assert_string_equal(buf_cstr(&b), "2024_08_09_19");
	buf_reset(&b);
	assert_true(s3_date_folder("DDMMYYYY", "NONE", "20240809-192717787.csv", &b));
	assert_string_equal(buf_cstr(&b), "09082024");
	buf_reset(&b);
	assert_true(s3_date_folder("MMYYYYDD", "DASH", "20240809-192717787.csv", &b));
	assert_string_equal(buf_cstr(&b), "08-2024-09");
	buf_free(&b);
}

static void
test_settings(void **state)
{
	(void) state;
	struct s3_settings s;
	assert_true(settings("AddColumnName=true&csvdelimiter=%7C&DatePartitionEnabled=true&"
			     "DatePartitionSequence=yyyymmddhh&TimestampColumnName=ts",
			     &s));
	assert_true(s.add_column_name);
	assert_string_equal(s.delim, "|");
	assert_string_equal(s.date_sequence, "YYYYMMDDHH");
	assert_string_equal(s.timestamp_column, "ts");
	s3_settings_free(&s);
	assert_false(settings("CsvDelimeter=%7C", &s)); /* misspelt: refused, never ignored */
	s3_settings_free(&s);
	assert_false(settings("DatePartitionSequence=YYYY", &s));
	s3_settings_free(&s);
	assert_false(settings("CdcInsertsOnly=true&CdcInsertsAndUpdates=true", &s));
	s3_settings_free(&s);
	assert_false(settings("PreserveTransactions=true", &s));
	s3_settings_free(&s);
	assert_false(settings("DataFormat=parquet", &s));
	s3_settings_free(&s);
	/* a describe-endpoints document; the URI's own parameters win over it */
	const char json[] = "{\"Endpoints\":[{\"EndpointIdentifier\":\"t\",\"S3Settings\":{"
			    "\"CsvRowDelimiter\":\"\\\\n\",\"CsvDelimiter\":\";\",\"BucketFolder\":\"dms/out\","
			    "\"CompressionType\":\"GZIP\",\"AddColumnName\":true,\"CdcMaxBatchInterval\":60,"
			    "\"ServiceAccessRoleArn\":\"arn:aws:iam::1:role/x\"}}]}";
	write_file("settings.json", json, sizeof(json) - 1);
	char q[600];
	snprintf(q, sizeof(q), "S3Settings=%s/settings.json&AddColumnName=false", dir);
	assert_true(settings(q, &s));
	assert_string_equal(s.delim, ";");
	assert_string_equal(s.row_delim, "\n");
	assert_string_equal(s.folder, "dms/out/");
	assert_false(s.add_column_name);
	s3_settings_free(&s);
	const char bad[] = "{\"S3Settings\":{\"CsvDelimiter\":\",\",\"NoSuchSetting\":1}}";
	write_file("bad.json", bad, sizeof(bad) - 1);
	snprintf(q, sizeof(q), "S3Settings=%s/bad.json", dir);
	assert_false(settings(q, &s));
	s3_settings_free(&s);
}

static void
hex_of(const unsigned char *d, char *hex)
{
	sha256_hex(d, hex);
}

static void
test_sha256_vectors(void **state)
{
	(void) state;
	unsigned char d[SHA256_LEN];
	char hex[65];
	sha256("abc", 3, d);
	hex_of(d, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("", 0, d);
	hex_of(d, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	sha256(two, strlen(two), d);
	hex_of(d, hex);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* RFC 4231 test case 2 */
	hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d);
	hex_of(d, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	/* RFC 4231 test case 6: a key longer than a block */
	unsigned char key[131];
	memset(key, 0xaa, sizeof(key));
	const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
	hmac_sha256(key, sizeof(key), msg, strlen(msg), d);
	hex_of(d, hex);
	assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void
test_sigv4_aws_examples(void **state)
{
	(void) state;
	/* the GET Object example of the S3 SigV4 documentation */
	const char *hdrs[] = {"Range", "bytes=0-9"};
	struct sigv4_request r = {
		.method = "GET", .host = "examplebucket.s3.amazonaws.com", .path = "/test.txt",
		.headers = hdrs, .nheaders = 1, .amz_date = "20130524T000000Z",
		.region = "us-east-1", .service = "s3", .access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	};
	struct buf b;
	buf_init(&b);
	assert_true(sigv4_authorization(&r, &b));
	assert_string_equal(buf_cstr(&b),
			    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
			    "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
			    "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	/* the GET Bucket (list objects) example */
	const char *q[] = {"max-keys", "2", "prefix", "J"};
	struct sigv4_request l = r;
	l.path = "/";
	l.headers = NULL;
	l.nheaders = 0;
	l.query = q;
	l.nquery = 2;
	buf_reset(&b);
	assert_true(sigv4_authorization(&l, &b));
	assert_non_null(strstr(buf_cstr(&b),
			       "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
	/* keys are encoded once: '=' and '+' and ' ' become %XX, '/' stays */
	buf_reset(&b);
	s3_uri_encode(&b, "dt=2024-05-22/a b+c~é", strlen("dt=2024-05-22/a b+c~é"), true);
	assert_string_equal(buf_cstr(&b), "dt%3D2024-05-22/a%20b%2Bc~%C3%A9");
	buf_free(&b);
}

static int
setup(void **state)
{
	(void) state;
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	(void) state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_default_dialect),
		cmocka_unit_test(test_csv_delimiters_and_errors),
		cmocka_unit_test(test_gzip_detected_and_truncated),
		cmocka_unit_test(test_names_and_date_folders),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sigv4_aws_examples),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
