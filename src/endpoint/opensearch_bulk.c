/*
 * endpoint/opensearch_bulk.c: the pure parts of writing an index with _bulk: document
 * ids (SHA-256, as AWS DMS names documents), documents built from source rows, NDJSON
 * action lines, and the per-item results of a _bulk response. No I/O: the unit tests
 * drive every function with literal inputs (opensearch_write.c does the requests).
 *
 * A document is typed by the index field it goes to, not by how the source printed the
 * value: the mapping decides what a field accepts (a `long` field takes a JSON number, a
 * `date` field an ISO string, a `keyword` field holding a source DECIMAL a string, as
 * DMS writes it), and the audit compares the result with the compare type of the
 * column pair either way. Numbers keep their exact text (never through a double), so a
 * DECIMAL(38) or a 64-bit integer is written as the source holds it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/canon.h"
#include "endpoint/opensearch_bulk_internal.h"
#include "endpoint/opensearch_internal.h"
#include "util/str.h"

const char *
os_id_scheme_name(enum os_id_scheme s)
{
	switch (s) {
	case OS_IDS_SHA256: return "sha256";
	case OS_IDS_KEY: return "key";
	case OS_IDS_UNKNOWN: return "unknown";
	}
	return "unknown";
}

/* --- SHA-256 (FIPS 180-4) ------------------------------------------------------------------ */

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t
rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

/* sha_block mixes one 64-byte block into the state h. */
static void
sha_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 |
		       (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha_k[i] + w[i];
		uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void
os_sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	const unsigned char *p = data;
	size_t left = len;
	for (; left >= 64; p += 64, left -= 64)
		sha_block(h, p);
	/* the tail, 0x80, zeros, and the bit length in the last 8 bytes (one or two blocks) */
	unsigned char tail[128];
	memset(tail, 0, sizeof(tail));
	if (left)
		memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t n = left + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t) len * 8;
	for (int i = 0; i < 8; i++)
		tail[n - 1 - i] = (unsigned char) (bits >> (8 * i));
	sha_block(h, tail);
	if (n == 128)
		sha_block(h, tail + 64);
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++) {
			unsigned char byte = (unsigned char) (h[i] >> (24 - 8 * j));
			out[8 * i + 2 * j] = hex[byte >> 4];
			out[8 * i + 2 * j + 1] = hex[byte & 15];
		}
	out[64] = '\0';
}

/* --- encodings --------------------------------------------------------------------------- */

bool
os_base64_append(struct buf *out, const void *data, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t) p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t) p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		char q[4] = {tab[v >> 18], tab[(v >> 12) & 63], i + 1 < len ? tab[(v >> 6) & 63] : '=',
			     i + 2 < len ? tab[v & 63] : '='};
		buf_append(out, q, 4);
	}
	return !out->failed;
}

bool
os_json_compact(const char *in, size_t len, struct buf *out)
{
	json_object *root = NULL;
	struct buf err;
	buf_init(&err);
	bool valid = os_json_parse(in, len, &root, &err);
	json_object_put(root);
	buf_free(&err);
	if (!valid)
		return false;
	bool in_string = false, escaped = false;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			continue;
		} else if (c == '"') {
			in_string = true;
		}
		buf_append_char(out, c);
	}
	return !out->failed;
}

/* --- ids ---------------------------------------------------------------------------------- */

bool
os_key_id(enum os_id_scheme scheme, const char *key, size_t keylen, int nkeys, struct buf *out,
	  const char **err)
{
	const char *p = key, *end = key + keylen;
	struct buf join;
	buf_init(&join);
	bool ok = false;
	if (scheme == OS_IDS_UNKNOWN) {
		*err = "the index's documents follow no id scheme crosscheck knows";
		goto done;
	}
	if (scheme == OS_IDS_KEY && nkeys != 1) {
		*err = "a composite key cannot be a document _id";
		goto done;
	}
	buf_append_char(&join, '[');
	const char *v1 = NULL;
	size_t len1 = 0;
	for (int k = 0; k < nkeys; k++) {
		enum canon_type t;
		const char *v;
		size_t len;
		if (!keyframe_next(&p, end, &t, &v, &len)) {
			*err = "corrupt canonical key";
			goto done;
		}
		if (t == CANON_BINARY || t == CANON_JSON || t == CANON_NULL || t == CANON_INVALID) {
			*err = "a binary, JSON or NULL key value cannot name a document";
			goto done;
		}
		if (k)
			buf_append_char(&join, ',');
		buf_append_json_string(&join, v, len);
		v1 = v;
		len1 = len;
	}
	if (scheme == OS_IDS_KEY) {
		if (len1 == 0 || len1 > OS_MAX_ID_BYTES) {
			*err = "the key is empty or longer than the 512 bytes of a document _id";
			goto done;
		}
		ok = buf_append(out, v1, len1);
		goto done;
	}
	buf_append_char(&join, ']');
	char hex[65];
	if (nkeys == 1)
		os_sha256_hex(v1, len1, hex);
	else
		os_sha256_hex(join.data, join.len, hex);
	ok = buf_append(out, hex, 64) && !join.failed;
done:
	buf_free(&join);
	return ok;
}

/* --- documents ---------------------------------------------------------------------------- */

/* json_number_ok: is s exactly a JSON number token (RFC 8259)? */
static bool
json_number_ok(const char *s, size_t len)
{
	size_t i = 0;
	if (i < len && s[i] == '-')
		i++;
	if (i >= len)
		return false;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return false;
	if (i < len && s[i] == '.') {
		size_t d = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		size_t d = i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == d)
			return false;
	}
	return i == len;
}

static bool
is_iso_date(const char *s, size_t len)
{
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

bool
os_doc_value(const struct column_desc *c, const struct value *v, struct buf *out, const char **err)
{
	if (v->null)
		return buf_append_str(out, "null");
	const char *s = v->data ? v->data : "";
	struct canon_opts o = canon_opts_default();
	struct buf tmp;
	buf_init(&tmp);
	bool ok = false;
	switch (c->type) {
	case CANON_NUMBER:
	case CANON_FLOAT:
		if (json_number_ok(s, v->len)) {
			ok = buf_append(out, s, v->len);
		} else if (canon_normalize_number(s, v->len, &tmp) &&
			   json_number_ok(tmp.data, tmp.len)) {
			ok = buf_append(out, tmp.data, tmp.len); /* "+5", "007", "5." */
		} else {
			*err = "not a finite number, which a numeric field cannot hold";
		}
		break;
	case CANON_BOOL:
		if (canon_encode(CANON_BOOL, &o, s, v->len, &tmp, err))
			ok = buf_append(out, tmp.data, tmp.len);
		break;
	case CANON_TIMESTAMP:
		/* a date stays a date; any other time is written as an ISO 8601 instant in UTC */
		if (is_iso_date(s, v->len))
			ok = buf_append_json_string(out, s, v->len);
		else if (canon_encode(CANON_TIMESTAMP, &o, s, v->len, &tmp, err))
			ok = buf_append_json_string(out, tmp.data, tmp.len);
		break;
	case CANON_JSON:
		ok = os_json_compact(s, v->len, out);
		if (!ok)
			*err = "not valid JSON";
		break;
	case CANON_BINARY:
		ok = buf_append_char(out, '"') && os_base64_append(out, s, v->len) &&
		     buf_append_char(out, '"');
		break;
	default: ok = buf_append_json_string(out, s, v->len); break;
	}
	buf_free(&tmp);
	return ok && !out->failed;
}

bool
os_doc_json(const struct scan_request *r, const struct value *row, struct buf *out, struct buf *err)
{
	buf_append_char(out, '{');
	int n = 0;
	for (int i = 0; i < r->ncols; i++) {
		const struct column_desc *c = &r->table->cols[r->cols[i]];
		if (strcmp(c->engine_type, "_id") == 0)
			continue; /* the document id, not a field */
		if (n++)
			buf_append_char(out, ',');
		buf_append_json_string(out, c->name, strlen(c->name));
		buf_append_char(out, ':');
		const char *why = "value too large";
		if (!os_doc_value(c, &row[i], out, &why)) {
			buf_printf(err, "field %s (%s): %s", c->name, c->engine_type, why);
			return false;
		}
	}
	buf_append_char(out, '}');
	if (out->failed) {
		buf_append_str(err, "document too large");
		return false;
	}
	return true;
}

bool
os_bulk_action_line(struct buf *out, const char *action, const char *index, const char *id,
		    size_t idlen)
{
	buf_printf(out, "{\"%s\":{\"_index\":", action);
	buf_append_json_string(out, index, strlen(index));
	buf_append_str(out, ",\"_id\":");
	buf_append_json_string(out, id, idlen);
	return buf_append_str(out, "}}\n");
}

/* --- responses ------------------------------------------------------------------------------ */

static json_object *
member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
		return v;
	return NULL;
}

static const char *
member_str(json_object *o, const char *key)
{
	json_object *v = member(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
}

/* item_text describes a failed item: "STATUS TYPE: REASON (caused by TYPE: REASON)". */
static void
item_text(struct os_bulk_item *it, json_object *error)
{
	if (json_object_is_type(error, json_type_string)) {
		snprintf(it->text, sizeof(it->text), "%d %s", it->status,
			 json_object_get_string(error));
		return;
	}
	json_object *cause = member(error, "caused_by");
	if (cause)
		snprintf(it->text, sizeof(it->text), "%d %s: %s (caused by %s: %s)", it->status,
			 member_str(error, "type"), member_str(error, "reason"),
			 member_str(cause, "type"), member_str(cause, "reason"));
	else
		snprintf(it->text, sizeof(it->text), "%d %s: %s", it->status,
			 member_str(error, "type"), member_str(error, "reason"));
}

bool
os_bulk_parse_items(const char *body, size_t len, int nitems, struct os_bulk_item *items,
		    struct buf *err)
{
	json_object *root = NULL;
	if (!os_json_parse(body, len, &root, err))
		return false;
	bool ok = false;
	json_object *arr = member(root, "items");
	if (arr == NULL || !json_object_is_type(arr, json_type_array)) {
		buf_append_str(err, "bulk response without items");
		goto done;
	}
	if (json_object_array_length(arr) != (size_t) nitems) {
		buf_printf(err, "bulk response with %zu items for %d actions",
			   json_object_array_length(arr), nitems);
		goto done;
	}
	for (int i = 0; i < nitems; i++) {
		struct os_bulk_item *it = &items[i];
		memset(it, 0, sizeof(*it));
		json_object *wrap = json_object_array_get_idx(arr, (size_t) i);
		if (!json_object_is_type(wrap, json_type_object) ||
		    json_object_object_length(wrap) != 1) {
			buf_printf(err, "bulk response item %d is not one action", i);
			goto done;
		}
		const char *action = NULL;
		json_object *res = NULL;
		json_object_object_foreach(wrap, k, v)
		{
			action = k;
			res = v;
		}
		json_object *st = member(res, "status");
		if (st == NULL || !json_object_is_type(st, json_type_int)) {
			buf_printf(err, "bulk response item %d has no status", i);
			goto done;
		}
		it->status = json_object_get_int(st);
		json_object *error = member(res, "error");
		if (it->status == 200 || it->status == 201) {
			it->outcome = OS_ITEM_OK;
		} else if (it->status == 404 && strcmp(action, "delete") == 0 &&
			   strcmp(member_str(error, "type"), "index_not_found_exception") != 0) {
			it->outcome = OS_ITEM_OK; /* already gone: what a delete wants */
		} else if (it->status == 429) {
			it->outcome = OS_ITEM_RETRY;
		} else {
			it->outcome = OS_ITEM_FAILED;
			if (error)
				item_text(it, error);
			else
				snprintf(it->text, sizeof(it->text), "%d %s", it->status,
					 member_str(res, "result"));
		}
	}
	ok = true;
done:
	json_object_put(root);
	return ok;
}

bool
os_settings_refresh_off(const char *body, size_t len)
{
	json_object *root = NULL;
	struct buf err;
	buf_init(&err);
	bool off = false;
	if (os_json_parse(body, len, &root, &err) && json_object_is_type(root, json_type_object)) {
		json_object_object_foreach(root, name, idx)
		{
			(void) name;
			json_object *settings = member(idx, "settings");
			json_object *v = member(member(settings, "index"), "refresh_interval");
			if (v == NULL)
				v = member(settings, "index.refresh_interval"); /* flat_settings */
			if (v && (json_object_is_type(v, json_type_string) ||
				  json_object_is_type(v, json_type_int)))
				off |= strcmp(json_object_get_string(v), "-1") == 0;
		}
	}
	json_object_put(root);
	buf_free(&err);
	return off;
}
