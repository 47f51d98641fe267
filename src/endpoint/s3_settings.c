/*
 * endpoint/s3_settings.c: the DMS S3 endpoint settings that decide the bytes of the files.
 *
 * Settings are named exactly as DMS names them (S3Settings members, s3-dms.md A3), as URI
 * query parameters (s3://bucket/folder?AddColumnName=true) or in a settings JSON file
 * (S3Settings=FILE; the output of `aws dms describe-endpoints`, of create-endpoint, a bare
 * "S3Settings" object, or the settings object itself). Names match case-insensitively,
 * since the API spells them in PascalCase and consoles and Terraform differ. A name that
 * is not a setting is an error: a misspelt CsvDelimiter would otherwise read every file
 * wrong and call it drift. Settings that do not change the bytes of a CSV file are known
 * and accepted; those that would change them in undocumented ways are refused.
 */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint/s3_internal.h"
#include "util/log.h"
#include "util/str.h"

/* S3Settings members that do not change the bytes of a CSV object (API model). */
static const char *inert_settings[] = {
	"ServiceAccessRoleArn", "ExternalTableDefinition", "EncryptionMode",
	"ServerSideEncryptionKmsKeyId", "CannedAclForObjects", "ParquetVersion",
	"EnableStatistics", "EncodingType", "DictPageSizeLimit", "RowGroupLength",
	"DataPageSize", "ParquetTimestampInMillisecond", "CdcMaxBatchInterval", "CdcMinFileSize",
	"MaxFileSize", "GlueCatalogGeneration", "ExpectedBucketOwner", "DatePartitionTimezone",
	"UseTaskStartTimeForFullLoadTimestamp", "CompressionType", "UseCsvNoSupValue",
	"CsvNoSupValue",
};

char *
s3_unescape(const char *s)
{
	struct buf b;
	buf_init(&b);
	for (const char *p = s; *p; p++) {
		if (*p == '\\' && p[1]) {
			char c = p[1];
			char r = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' : c == '\\' ? '\\' : 0;
			if (r) {
				buf_append_char(&b, r);
				p++;
				continue;
			}
		}
		buf_append_char(&b, *p);
	}
	if (b.len == 0)
		return xstrdup("");
	return buf_steal(&b);
}

static bool
parse_bool(const char *label, const char *k, const char *v, bool *out)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = false;
	else {
		log_error("%s: setting %s: expected true or false, got \"%s\"", label, k, v);
		return false;
	}
	return true;
}

static bool
one_of(const char *label, const char *k, const char *v, const char *const *allowed, char **out)
{
	for (const char *const *a = allowed; *a; a++)
		if (strcasecmp(v, *a) == 0) {
			free(*out);
			*out = xstrdup(*a);
			return true;
		}
	log_error("%s: setting %s: \"%s\" is not one of the values DMS takes", label, k, v);
	struct buf b;
	buf_init(&b);
	for (const char *const *a = allowed; *a; a++)
		buf_printf(&b, "%s%s", a == allowed ? "" : ", ", *a);
	log_hint("%s is one of %s", k, buf_cstr(&b));
	buf_free(&b);
	return false;
}

static void
set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

static bool
set_folder(struct s3_settings *s, const char *v)
{
	free(s->folder);
	struct buf b;
	buf_init(&b);
	while (*v == '/')
		v++;
	buf_append_str(&b, v);
	if (b.len > 0 && b.data[b.len - 1] != '/')
		buf_append_char(&b, '/');
	s->folder = b.len ? buf_steal(&b) : xstrdup("");
	buf_free(&b);
	return true;
}

/* apply_setting: one DMS setting by name; *known false when the name is not one. */
static bool
apply_setting(struct s3_settings *s, const char *label, const char *k, const char *v, bool *known)
{
	static const char *sequences[] = {"YYYYMMDD", "YYYYMMDDHH", "YYYYMM", "MMYYYYDD", "DDMMYYYY", NULL};
	static const char *delimiters[] = {"SLASH", "UNDERSCORE", "DASH", "NONE", NULL};
	*known = true;
	if (strcasecmp(k, "CsvDelimiter") == 0 || strcasecmp(k, "CsvRowDelimiter") == 0) {
		char *d = s3_unescape(v);
		if (*d == '\0') {
			log_error("%s: setting %s is empty", label, k);
			free(d);
			return false;
		}
		char **dst = strcasecmp(k, "CsvDelimiter") == 0 ? &s->delim : &s->row_delim;
		free(*dst);
		*dst = d;
		return true;
	}
	if (strcasecmp(k, "CsvNullValue") == 0) {
		set_str(&s->null_value, v);
		return true;
	}
	if (strcasecmp(k, "Rfc4180") == 0)
		return parse_bool(label, k, v, &s->rfc4180);
	if (strcasecmp(k, "AddColumnName") == 0)
		return parse_bool(label, k, v, &s->add_column_name);
	if (strcasecmp(k, "IncludeOpForFullLoad") == 0)
		return parse_bool(label, k, v, &s->include_op_full_load);
	if (strcasecmp(k, "TimestampColumnName") == 0) {
		if (*v == '\0') { /* DMS refuses it too (s3-dms.md A4) */
			log_error("%s: setting TimestampColumnName is empty", label);
			return false;
		}
		set_str(&s->timestamp_column, v);
		return true;
	}
	if (strcasecmp(k, "CdcInsertsOnly") == 0)
		return parse_bool(label, k, v, &s->cdc_inserts_only);
	if (strcasecmp(k, "CdcInsertsAndUpdates") == 0)
		return parse_bool(label, k, v, &s->cdc_inserts_and_updates);
	if (strcasecmp(k, "DatePartitionEnabled") == 0)
		return parse_bool(label, k, v, &s->date_partition);
	if (strcasecmp(k, "DatePartitionSequence") == 0)
		return one_of(label, k, v, sequences, &s->date_sequence);
	if (strcasecmp(k, "DatePartitionDelimiter") == 0)
		return one_of(label, k, v, delimiters, &s->date_delimiter);
	if (strcasecmp(k, "CdcPath") == 0) {
		struct buf b;
		buf_init(&b);
		while (*v == '/')
			v++;
		buf_append_str(&b, v);
		while (b.len > 0 && b.data[b.len - 1] == '/')
			b.data[--b.len] = '\0';
		free(s->cdc_path);
		s->cdc_path = b.len ? buf_steal(&b) : NULL;
		buf_free(&b);
		return true;
	}
	if (strcasecmp(k, "PreserveTransactions") == 0)
		return parse_bool(label, k, v, &s->preserve_transactions);
	if (strcasecmp(k, "BucketFolder") == 0)
		return set_folder(s, v);
	if (strcasecmp(k, "BucketName") == 0) {
		if (s->bucket && strcmp(s->bucket, v) != 0) {
			log_error("%s: the settings name bucket %s but the URI names %s", label, v,
				  s->bucket);
			return false;
		}
		return true;
	}
	if (strcasecmp(k, "IgnoreHeaderRows") == 0) {
		int64_t n;
		if (!str_to_int64(v, &n) || n < 0 || n > 1000) {
			log_error("%s: setting IgnoreHeaderRows: expected a small number, got \"%s\"",
				  label, v);
			return false;
		}
		s->ignore_header_rows = (int) n;
		return true;
	}
	if (strcasecmp(k, "DataFormat") == 0) {
		if (strcasecmp(v, "csv") != 0) {
			log_error("%s: DataFormat %s is not supported: crosscheck reads the CSV files",
				  label, v);
			log_hint("DMS validates Parquet targets itself (Athena); CSV is what it cannot");
			return false;
		}
		return true;
	}
	if (strcasecmp(k, "AddTrailingPaddingCharacter") == 0) {
		bool on = false;
		if (!parse_bool(label, k, v, &on))
			return false;
		if (on) {
			log_error("%s: AddTrailingPaddingCharacter=true is not supported: DMS does not "
				  "document what padding it writes",
				  label);
			return false;
		}
		return true;
	}
	for (size_t i = 0; i < sizeof(inert_settings) / sizeof(inert_settings[0]); i++)
		if (strcasecmp(k, inert_settings[i]) == 0)
			return true;
	*known = false;
	return true;
}

static char *
read_small_file(const char *path, const char *label)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		log_error("%s: cannot open the S3 settings file %s: %m", label, path);
		return NULL;
	}
	struct buf b;
	buf_init(&b);
	b.cap = 4u << 20;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (!buf_append(&b, chunk, n))
			break;
	bool err = ferror(f) != 0 || b.failed;
	fclose(f);
	if (err) {
		log_error("%s: cannot read the S3 settings file %s (larger than 4 MiB?)", label, path);
		buf_free(&b);
		return NULL;
	}
	if (b.len == 0) {
		buf_free(&b);
		return xstrdup("");
	}
	return buf_steal(&b);
}

/* settings_object: the S3Settings object inside what describe-endpoints prints. */
static json_object *
settings_object(json_object *root, const char *label, const char *what)
{
	json_object *o = NULL;
	if (json_object_object_get_ex(root, "Endpoints", &o)) {
		if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 1) {
			log_error("%s: %s: \"Endpoints\" must hold exactly one endpoint", label, what);
			log_hint("describe one endpoint: aws dms describe-endpoints --filters "
				 "Name=endpoint-arn,Values=ARN");
			return NULL;
		}
		root = json_object_array_get_idx(o, 0);
	} else if (json_object_object_get_ex(root, "Endpoint", &o)) {
		root = o;
	}
	if (json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "S3Settings", &o))
		root = o;
	if (!json_object_is_type(root, json_type_object)) {
		log_error("%s: %s: expected an S3Settings object", label, what);
		return NULL;
	}
	return root;
}

bool
s3_settings_from_json(struct s3_settings *s, const char *label, const char *json, const char *what)
{
	json_tokener *tok = json_tokener_new();
	size_t len = strlen(json);
	json_object *root = tok ? json_tokener_parse_ex(tok, json, (int) len) : NULL;
	bool ok = false;
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t) json_tokener_get_parse_end(tok) < len) {
		log_error("%s: %s is not valid JSON", label, what);
		goto done;
	}
	json_object *set = settings_object(root, label, what);
	if (set == NULL)
		goto done;
	ok = true;
	json_object_object_foreach(set, key, val)
	{
		if (!ok)
			break;
		const char *v = json_object_is_type(val, json_type_null) ? NULL : json_object_get_string(val);
		if (json_object_is_type(val, json_type_object) || json_object_is_type(val, json_type_array)) {
			if (strcasecmp(key, "ExternalTableDefinition") == 0)
				continue;
			log_error("%s: %s: setting %s is not a single value", label, what, key);
			ok = false;
			break;
		}
		if (v == NULL)
			continue;
		bool known;
		ok = apply_setting(s, label, key, v, &known);
		if (ok && !known) {
			log_error("%s: %s: unknown S3 setting \"%s\"", label, what, key);
			log_hint("settings are named as in the DMS API (S3Settings), e.g. CsvDelimiter");
			ok = false;
		}
	}
done:
	if (root)
		json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	return ok;
}

static void
settings_defaults(struct s3_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->folder = xstrdup("");
	s->delim = xstrdup(",");
	s->row_delim = xstrdup("\n");
	s->rfc4180 = true;
	s->date_sequence = xstrdup("YYYYMMDD");
	s->date_delimiter = xstrdup("SLASH");
}

bool
s3_settings_parse(const struct uri *u, const char *label, struct s3_settings *s)
{
	settings_defaults(s);
	if (strcmp(u->scheme, "file") == 0) {
		if (u->host && *u->host) {
			log_error("%s: file URIs name a local directory: file:///path", label);
			log_hint("three slashes: file:///data/dms (the host part must be empty)");
			return false;
		}
		struct buf b;
		buf_init(&b);
		buf_printf(&b, "/%s", u->path);
		while (b.len > 1 && b.data[b.len - 1] == '/')
			b.data[--b.len] = '\0';
		s->root = buf_steal(&b);
	} else {
		if (u->host == NULL || *u->host == '\0') {
			log_error("%s: an s3 URI names a bucket: s3://bucket/folder", label);
			return false;
		}
		s->bucket = xstrdup(u->host);
		set_folder(s, u->path);
	}
	/* the settings file first, so that the URI's own parameters override it */
	const char *file = uri_param(u, "S3Settings");
	for (int i = 0; i < u->nparams && file == NULL; i++)
		if (strcasecmp(u->params[i].key, "S3Settings") == 0)
			file = u->params[i].value;
	if (file) {
		char *json = read_small_file(file, label);
		struct buf what;
		buf_init(&what);
		buf_printf(&what, "S3 settings file %s", file);
		bool ok = json && s3_settings_from_json(s, label, json, buf_cstr(&what));
		free(json);
		buf_free(&what);
		if (!ok)
			return false;
	}
	for (int i = 0; i < u->nparams; i++) {
		const char *k = u->params[i].key, *v = u->params[i].value ? u->params[i].value : "";
		bool known = true;
		if (strcasecmp(k, "S3Settings") == 0)
			continue;
		if (strcmp(k, "endpoint") == 0) {
			set_str(&s->endpoint_url, v);
		} else if (strcmp(k, "region") == 0) {
			set_str(&s->region, v);
		} else if (strcmp(k, "path_style") == 0) {
			if (!parse_bool(label, k, v, &s->path_style))
				return false;
		} else if (strcmp(k, "spill_dir") == 0) {
			set_str(&s->spill_dir, v);
		} else if (!apply_setting(s, label, k, v, &known)) {
			return false;
		}
		if (!known) {
			log_error("%s: unknown S3 setting \"%s\"", label, k);
			log_hint("settings are named as in the DMS API: CsvDelimiter, CsvRowDelimiter, "
				 "CsvNullValue, Rfc4180, AddColumnName, IncludeOpForFullLoad, "
				 "TimestampColumnName, CdcInsertsOnly, CdcInsertsAndUpdates, "
				 "DatePartitionEnabled, DatePartitionSequence, DatePartitionDelimiter, "
				 "CdcPath, PreserveTransactions, BucketFolder; and endpoint=, region=, "
				 "path_style=, spill_dir=, S3Settings=FILE");
			return false;
		}
	}
	/* the combinations DMS itself refuses (s3-dms.md A3, A5) */
	if (s->cdc_inserts_only && s->cdc_inserts_and_updates) {
		log_error("%s: CdcInsertsOnly and CdcInsertsAndUpdates cannot both be true", label);
		return false;
	}
	if (s->preserve_transactions && s->cdc_path == NULL) {
		log_error("%s: PreserveTransactions needs CdcPath", label);
		return false;
	}
	if (s->preserve_transactions && (s->date_partition || s->add_column_name)) {
		log_error("%s: PreserveTransactions cannot be combined with %s", label,
			  s->date_partition ? "DatePartitionEnabled" : "AddColumnName");
		return false;
	}
	if (strcmp(s->delim, s->row_delim) == 0) {
		log_error("%s: CsvDelimiter and CsvRowDelimiter are the same", label);
		return false;
	}
	return true;
}

void
s3_settings_free(struct s3_settings *s)
{
	free(s->bucket);
	free(s->root);
	free(s->folder);
	free(s->delim);
	free(s->row_delim);
	free(s->null_value);
	free(s->timestamp_column);
	free(s->date_sequence);
	free(s->date_delimiter);
	free(s->cdc_path);
	free(s->endpoint_url);
	free(s->region);
	free(s->spill_dir);
	memset(s, 0, sizeof(*s));
}
