/*
 * endpoint/s3_replay.c: a table's current state from the files DMS wrote.
 *
 * The state is the LOAD rows with the CDC rows applied in name (time) order: I and U
 * upsert the row (U carries the after image), D deletes it (s3-dms.md A4). To hand the
 * audit a partition's rows in canonical key order with memory bounded whatever the table
 * size, the replay is an external sort:
 *
 *   1. read every object once, in apply order, and append each row as a record (canonical
 *      key, sequence number, op, object and line, raw field texts) to a run buffer; when
 *      the buffer is full, sort it by (key, sequence), keep the last record of each key,
 *      and write it out as a sorted run;
 *   2. merge the runs, keeping for each key the record of the latest run, into one state
 *      file with a sparse index (every S3_INDEX_EVERY-th key and its offset).
 *
 * A deleted key stays in the state as a tombstone, so that a key missing on the target
 * can still name the object and line that deleted it. Spill files are unlinked as soon as
 * they are created: the kernel frees them on every exit, a kill -9 included. The state is
 * built once per process and table and shared by every endpoint (each worker has its
 * own), read with pread, so scans of different partitions run in parallel.
 *
 * Problems with the files (a row with the wrong field count, a malformed quote, a
 * truncated gzip, an object out of name order) are collected with object and line, and
 * the replay goes on with the rest; the audit records them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <xxhash.h>

#include "endpoint/s3_internal.h"
#include "util/log.h"
#include "util/str.h"

#define RUN_BYTES ((size_t) 24 << 20)	/* the in-memory run: the replay's memory bound */
#define WRITE_BUF ((size_t) 1 << 20)
#define READ_BUF ((size_t) 128 << 10) /* per run in the merge, and per scan */
#define MAX_PROBLEMS 1000
#define NULL_LEN 0xffffffffu
#define OUT_OF_ORDER_SLACK 60.0 /* CdcMaxBatchInterval's default: DMS writes a file at least this often */

/* --- names ------------------------------------------------------------------------------ */

static bool
all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return false;
	return true;
}

/* csv_suffix: the length of base without ".csv" or ".csv.gz", or 0 if neither. */
static size_t
csv_stem(const char *base)
{
	size_t n = strlen(base);
	if (n > 7 && strcmp(base + n - 7, ".csv.gz") == 0)
		return n - 7;
	if (n > 4 && strcmp(base + n - 4, ".csv") == 0)
		return n - 4;
	return 0;
}

bool
s3_is_load_name(const char *base)
{
	size_t n = csv_stem(base);
	const char *p = base;
	if (n == 0)
		return false;
	if (strncmp(p, "SEGMENT", 7) == 0) { /* SEGMENT1_LOAD00000001.csv (A1) */
		const char *u = memchr(p, '_', n);
		if (u == NULL || u == p + 7 || !all_digits(p + 7, (size_t) (u - p - 7)))
			return false;
		n -= (size_t) (u + 1 - p);
		p = u + 1;
	}
	if (n <= 4 || strncmp(p, "LOAD", 4) != 0)
		return false;
	for (size_t i = 4; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F')))
			return false;
	return true;
}

bool
s3_is_cdc_name(const char *base)
{
	size_t n = csv_stem(base);
	return (n == 18 || n == 19) && all_digits(base, 8) && base[8] == '-' &&
	       all_digits(base + 9, n - 9);
}

/* is_txn_name: CDC_TXN-YYYYMMDDHHMMSSmmm.csv (A5) */
static bool
is_txn_name(const char *base)
{
	size_t n = csv_stem(base);
	return n >= 8 + 14 && strncmp(base, "CDC_TXN-", 8) == 0 && all_digits(base + 8, n - 8);
}

/* time_digits: the digits of a CDC name's time, padded to 18 so all kinds sort together */
static void
time_digits(const char *base, char out[20])
{
	const char *p = strncmp(base, "CDC_TXN-", 8) == 0 ? base + 8 : base;
	int k = 0;
	for (; *p && *p != '.' && k < 18; p++)
		if (*p >= '0' && *p <= '9')
			out[k++] = *p;
	while (k < 18)
		out[k++] = '0';
	out[k] = '\0';
}

bool
s3_date_folder(const char *sequence, const char *delimiter, const char *cdc_base, struct buf *out)
{
	char t[20];
	time_digits(cdc_base, t);
	const char *Y = t, *M = t + 4, *D = t + 6, *H = t + 8;
	const char *sep = strcmp(delimiter, "SLASH") == 0 ? "/"
			  : strcmp(delimiter, "UNDERSCORE") == 0 ? "_"
			  : strcmp(delimiter, "DASH") == 0 ? "-" : "";
	const char *parts[4];
	int lens[4], n = 0;
#define PART(p, l) (parts[n] = (p), lens[n] = (l), n++)
	if (strcmp(sequence, "YYYYMMDD") == 0)
		PART(Y, 4), PART(M, 2), PART(D, 2);
	else if (strcmp(sequence, "YYYYMMDDHH") == 0)
		PART(Y, 4), PART(M, 2), PART(D, 2), PART(H, 2);
	else if (strcmp(sequence, "YYYYMM") == 0)
		PART(Y, 4), PART(M, 2);
	else if (strcmp(sequence, "MMYYYYDD") == 0)
		PART(M, 2), PART(Y, 4), PART(D, 2);
	else if (strcmp(sequence, "DDMMYYYY") == 0)
		PART(D, 2), PART(M, 2), PART(Y, 4);
	else
		return false;
#undef PART
	for (int i = 0; i < n; i++)
		buf_printf(out, "%s%.*s", i ? sep : "", lens[i], parts[i]);
	return true;
}

/* --- problems ------------------------------------------------------------------------------ */

static void problem(struct s3_table *t, const char *object, int64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
problem(struct s3_table *t, const char *object, int64_t line, const char *fmt, ...)
{
	if (t->nproblems >= MAX_PROBLEMS) {
		t->problems_dropped++;
		return;
	}
	struct buf b;
	buf_init(&b);
	va_list ap;
	va_start(ap, fmt);
	char tmp[1024];
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_append_str(&b, tmp);
	t->problems = xrealloc(t->problems, (size_t) (t->nproblems + 1) * sizeof(*t->problems));
	t->problems[t->nproblems++] = (struct s3_problem){xstrdup(object), line, buf_steal(&b)};
}

/* --- spill files ---------------------------------------------------------------------------- */

struct spill {
	int fd;
	off_t size;
	struct buf out;	/* not yet written */
};

/*
 * A record of the run buffer, with an order-preserving 8-byte prefix of its key's first
 * column (sort_prefix): most comparisons of the sort are then one integer comparison, and
 * only equal prefixes compare the canonical keys.
 */
struct sortent {
	uint64_t prefix;
	size_t off;
};

struct replay {
	struct s3_table *t;
	const struct s3_table_spec *spec;
	const struct s3_settings *set;
	const char *label;
	const char *tmpdir;
	/* the run being filled */
	struct buf run;
	struct sortent *offs;
	size_t noffs, aoffs;
	uint64_t seq;
	/* sorted runs on disk */
	struct spill *runs;
	int nruns;
	int64_t spill_now;
	/* scratch for one row */
	struct buf key, enc;
	struct buf rec;
	const char **vals;
	size_t *lens;
	bool *nulls;
};

static bool
spill_open(struct replay *rp, struct spill *s)
{
	struct buf path;
	buf_init(&path);
	buf_printf(&path, "%s/crosscheck-s3-XXXXXX", rp->tmpdir);
	memset(s, 0, sizeof(*s));
	s->fd = mkstemp(path.data);
	if (s->fd < 0) {
		log_error("%s: cannot create a spill file in %s: %m", rp->label, rp->tmpdir);
		log_hint("set TMPDIR or spill_dir= to a writable folder with room for the table");
		buf_free(&path);
		return false;
	}
	unlink(path.data); /* gone on every exit; the data lives while the fd is open */
	buf_free(&path);
	buf_init(&s->out);
	return true;
}

static bool
spill_flush(struct replay *rp, struct spill *s)
{
	size_t done = 0;
	while (done < s->out.len) {
		ssize_t n = write(s->fd, s->out.data + done, s->out.len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			log_error("%s: cannot write a spill file in %s: %m", rp->label, rp->tmpdir);
			return false;
		}
		done += (size_t) n;
	}
	s->size += (off_t) s->out.len;
	rp->spill_now += (int64_t) s->out.len;
	if (rp->spill_now > rp->t->spill_peak)
		rp->t->spill_peak = rp->spill_now;
	buf_reset(&s->out);
	return true;
}

static bool
spill_write(struct replay *rp, struct spill *s, const void *p, size_t n)
{
	if (!buf_append(&s->out, p, n))
		return false;
	return s->out.len < WRITE_BUF || spill_flush(rp, s);
}

static void
spill_close(struct replay *rp, struct spill *s)
{
	if (s->fd >= 0) {
		close(s->fd);
		rp->spill_now -= (int64_t) s->size;
	}
	s->fd = -1;
	buf_free(&s->out);
}

/* --- records ---------------------------------------------------------------------------------- */

static uint32_t
get32(const char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* record layout: [u32 len][u32 keylen][key][u64 seq][u8 op][u32 obj][u32 line][u16 nf][fields] */
#define REC_FIXED (4 + 4 + 8 + 1 + 4 + 4 + 2)

static bool
decode_record(const char *p, size_t avail, struct s3_record *r, uint64_t *seq, size_t *total)
{
	if (avail < 4)
		return false;
	uint32_t len = get32(p);
	if (avail < 4 + (size_t) len || len < REC_FIXED - 4)
		return false;
	uint32_t kl = get32(p + 4);
	if (kl > len - (REC_FIXED - 4))
		return false;
	r->key = p + 8;
	r->keylen = kl;
	const char *q = p + 8 + kl;
	memcpy(seq, q, 8);
	r->op = (unsigned char) q[8];
	r->obj = get32(q + 9);
	r->line = get32(q + 13);
	uint16_t nf;
	memcpy(&nf, q + 17, 2);
	r->nfields = nf;
	r->fields = q + 19;
	r->fields_len = (size_t) (p + 4 + len - r->fields);
	*total = 4 + (size_t) len;
	return true;
}

bool
s3_record_field(const struct s3_record *rec, int i, const char **v, size_t *len)
{
	const char *p = rec->fields, *end = rec->fields + rec->fields_len;
	for (int k = 0; k <= i; k++) {
		if (end - p < 4)
			return false;
		uint32_t l = get32(p);
		p += 4;
		if (l == NULL_LEN) {
			if (k == i)
				return false;
			continue;
		}
		if ((size_t) (end - p) < l)
			return false;
		if (k == i) {
			*v = p;
			*len = l;
			return true;
		}
		p += l;
	}
	return false;
}

/*
 * sort_prefix maps the first key column to 8 bytes whose unsigned order never contradicts
 * canon_compare's: numbers by the floor of their value (saturated), byte-ordered types
 * (text, binary, uuid, fixed-width dates and timestamps, booleans) by their first 8 bytes.
 * Floats and anything else get 0: all equal, decided by the full comparison.
 */
static uint64_t
sort_prefix(const char *key, size_t keylen)
{
	const char *p = key, *end = key + keylen, *v;
	enum canon_type t;
	size_t len;
	if (!keyframe_next(&p, end, &t, &v, &len))
		return 0;
	if (t == CANON_NUMBER) {
		bool neg = len > 0 && v[0] == '-';
		size_t i = neg ? 1 : 0;
		uint64_t mag = 0;
		bool frac = false, big = false;
		for (; i < len && v[i] != '.'; i++) {
			if (v[i] < '0' || v[i] > '9')
				return 0;
			if (mag > (UINT64_MAX >> 1) / 10)
				big = true;
			else
				mag = mag * 10 + (uint64_t) (v[i] - '0');
		}
		frac = i < len;
		if (big || mag > (uint64_t) INT64_MAX - 1)
			return neg ? 0 : UINT64_MAX;
		int64_t x = neg ? -(int64_t) mag - (frac ? 1 : 0) : (int64_t) mag;
		return (uint64_t) x ^ (UINT64_C(1) << 63);
	}
	if (t == CANON_FLOAT || t == CANON_JSON || t == CANON_INVALID)
		return 0;
	uint64_t x = 0;
	for (size_t i = 0; i < 8; i++)
		x = x << 8 | (i < len ? (unsigned char) v[i] : 0);
	return x;
}

static int
cmp_run_records(const void *a, const void *b, void *ctx)
{
	const char *base = ctx;
	const struct sortent *ea = a, *eb = b;
	if (ea->prefix != eb->prefix)
		return ea->prefix < eb->prefix ? -1 : 1;
	size_t oa = ea->off, ob = eb->off;
	const char *pa = base + oa, *pb = base + ob;
	int c = key_compare(pa + 8, get32(pa + 4), pb + 8, get32(pb + 4));
	if (c != 0)
		return c;
	return oa < ob ? -1 : oa > ob; /* appended in sequence order */
}

/* flush_run sorts the run buffer and writes the last record of each key to a new run. */
static bool
flush_run(struct replay *rp)
{
	if (rp->noffs == 0)
		return true;
	qsort_r(rp->offs, rp->noffs, sizeof(*rp->offs), cmp_run_records, rp->run.data);
	rp->runs = xrealloc(rp->runs, (size_t) (rp->nruns + 1) * sizeof(*rp->runs));
	struct spill *s = &rp->runs[rp->nruns];
	if (!spill_open(rp, s))
		return false;
	rp->nruns++;
	for (size_t i = 0; i < rp->noffs; i++) {
		const char *p = rp->run.data + rp->offs[i].off;
		if (i + 1 < rp->noffs) {
			const char *q = rp->run.data + rp->offs[i + 1].off;
			if (key_compare(p + 8, get32(p + 4), q + 8, get32(q + 4)) == 0)
				continue; /* a later record of the same key wins */
		}
		if (!spill_write(rp, s, p, 4 + (size_t) get32(p)))
			return false;
	}
	if (!spill_flush(rp, s))
		return false;
	buf_free(&s->out); /* a run is written once: its write buffer is not kept (memory bound) */
	buf_reset(&rp->run);
	rp->noffs = 0;
	return true;
}

/* add_record appends one row (fields in table column order) to the run buffer. */
static bool
add_record(struct replay *rp, int op, uint32_t obj, uint32_t line)
{
	struct buf *r = &rp->rec;
	buf_reset(r);
	uint32_t zero = 0, kl = (uint32_t) rp->key.len;
	buf_append(r, &zero, 4);
	buf_append(r, &kl, 4);
	buf_append(r, rp->key.data, rp->key.len);
	buf_append(r, &rp->seq, 8);
	rp->seq++;
	unsigned char o = (unsigned char) op;
	buf_append(r, &o, 1);
	buf_append(r, &obj, 4);
	buf_append(r, &line, 4);
	uint16_t nf = (uint16_t) (op == S3_OP_DELETE ? 0 : rp->t->ncols);
	buf_append(r, &nf, 2);
	for (int i = 0; i < nf; i++) {
		uint32_t l = rp->nulls[i] ? NULL_LEN : (uint32_t) rp->lens[i];
		buf_append(r, &l, 4);
		if (!rp->nulls[i])
			buf_append(r, rp->vals[i], rp->lens[i]);
	}
	if (r->failed || r->len - 4 > UINT32_MAX)
		return false;
	uint32_t len = (uint32_t) (r->len - 4);
	memcpy(r->data, &len, 4);
	if (rp->run.len + r->len > RUN_BYTES && !flush_run(rp))
		return false;
	if (rp->noffs == rp->aoffs) {
		rp->aoffs = rp->aoffs ? 2 * rp->aoffs : 65536;
		rp->offs = xrealloc(rp->offs, rp->aoffs * sizeof(*rp->offs));
	}
	rp->offs[rp->noffs++] = (struct sortent){sort_prefix(rp->key.data, rp->key.len), rp->run.len};
	return buf_append(&rp->run, r->data, r->len);
}

/* --- reading one object ------------------------------------------------------------------------ */

enum obj_kind { OBJ_LOAD, OBJ_CDC, OBJ_TXN };

enum { COL_IGNORE = -1, COL_OP = -2, COL_TS = -3, COL_TABLE = -4, COL_SCHEMA = -5 };

struct apply {
	const struct s3_object *o;
	enum obj_kind kind;
	char time[20];
};

/* positional_map: the fields of a file without a header (s3-dms.md A3-A5). */
static int
positional_map(const struct replay *rp, enum obj_kind kind, int *map)
{
	const struct s3_settings *s = rp->set;
	int n = 0;
	bool op = kind == OBJ_LOAD ? s->include_op_full_load
				   : !(s->cdc_inserts_only && !s->include_op_full_load);
	if (kind == OBJ_TXN)
		op = true;
	if (op)
		map[n++] = COL_OP;
	if (kind == OBJ_TXN) {
		map[n++] = COL_TABLE;
		map[n++] = COL_SCHEMA;
	}
	if (s->timestamp_column)
		map[n++] = COL_TS;
	for (int i = 0; i < rp->t->ncols; i++)
		map[n++] = i;
	return n;
}

/* header_map: the fields named by a header row (AddColumnName). */
static int
header_map(struct replay *rp, const char *object, const struct csv_reader *c, int *map, int cap)
{
	const struct table_desc *d = rp->spec->desc;
	bool *seen = xcalloc((size_t) d->ncols + 1, sizeof(bool));
	int n = c->nfields < cap ? c->nfields : cap;
	for (int i = 0; i < n; i++) {
		const struct csv_field *f = &c->fields[i];
		char *name = xstrndup(f->data, f->len);
		int col = table_desc_find(d, name);
		for (int j = 0; j < d->ncols && col < 0; j++)
			if (strcasecmp(d->cols[j].name, name) == 0)
				col = j;
		if (col >= 0 && !seen[col]) {
			map[i] = col;
			seen[col] = true;
		} else if (i == 0 && strcasecmp(name, "Op") == 0) {
			map[i] = COL_OP;
		} else if (rp->set->timestamp_column && strcmp(name, rp->set->timestamp_column) == 0) {
			map[i] = COL_TS;
		} else {
			map[i] = COL_IGNORE;
			problem(rp->t, object, c->line, "the header names \"%s\", which is not a column of %s.%s",
				name, rp->spec->schema, rp->spec->name);
		}
		free(name);
	}
	for (int j = 0; j < d->ncols; j++)
		if (!seen[j])
			problem(rp->t, object, c->line,
				"the header has no column \"%s\": read as NULL in this file", d->cols[j].name);
	free(seen);
	return n;
}

static int
parse_op(const struct csv_field *f)
{
	static const struct {
		const char *name;
		int op;
	} ops[] = {{"I", 'I'}, {"U", 'U'}, {"D", 'D'}, {"INSERT", 'I'}, {"UPDATE", 'U'}, {"DELETE", 'D'}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (f->len == strlen(ops[i].name) && strncasecmp(f->data, ops[i].name, f->len) == 0)
			return ops[i].op;
	return 0;
}

/* encode_key: the canonical key of the row in rp->vals, or false with *why. */
static bool
encode_key(struct replay *rp, const char **why, int *badcol)
{
	buf_reset(&rp->key);
	struct canon_opts opts = canon_opts_default();
	for (int k = 0; k < rp->spec->nkeys; k++) {
		int c = rp->spec->key[k];
		*badcol = c;
		if (rp->nulls[c]) {
			*why = "NULL";
			return false;
		}
		const struct column_desc *cd = &rp->spec->desc->cols[c];
		buf_reset(&rp->enc);
		if (cd->type == CANON_BINARY) {
			if (!endpoint_hex_decode(rp->vals[c], rp->lens[c], &rp->enc)) {
				*why = "not hexadecimal binary";
				return false;
			}
		} else if (!canon_encode(cd->type, &opts, rp->vals[c], rp->lens[c], &rp->enc, why)) {
			return false;
		}
		if (!keyframe_append(&rp->key, cd->type, rp->enc.data ? rp->enc.data : "", rp->enc.len)) {
			*why = "too large";
			return false;
		}
	}
	return true;
}

static bool
same_name(const struct csv_field *f, const char *name)
{
	return f->len == strlen(name) && memcmp(f->data, name, f->len) == 0;
}

/* read_object replays one object's rows into the run; false only on a fatal error. */
static bool
read_object(struct replay *rp, struct s3_store *st, const struct apply *a, uint32_t obj)
{
	const char *object = a->o->key;
	struct s3_reader *in = NULL;
	if (!s3_reader_open(st, a->o, &in))
		return false;
	struct csv_reader c;
	csv_reader_init(&c, in, rp->set);
	int cap = rp->t->ncols + 8;
	int *map = xcalloc((size_t) cap, sizeof(int));
	int nmap = positional_map(rp, a->kind, map);
	bool header = rp->set->add_column_name && a->kind != OBJ_TXN;
	int skip = header ? 0 : rp->set->ignore_header_rows;
	bool ok = true;
	int64_t bad_rows = 0;
	for (;;) {
		const char *err;
		bool fatal;
		int rc = csv_next(&c, &err, &fatal);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (fatal) {
				problem(rp->t, object, c.next_line, "%s; the rest of the object is not read", err);
				break;
			}
			problem(rp->t, object, c.line, "%s; row skipped", err);
			bad_rows++;
			continue;
		}
		if (header) {
			nmap = header_map(rp, object, &c, map, cap);
			header = false;
			continue;
		}
		if (skip > 0) {
			skip--;
			continue;
		}
		if (c.nfields == 1 && c.fields[0].len == 0 && !c.fields[0].quoted && rp->t->ncols > 1)
			continue; /* a blank line */
		/* a transaction file holds every table's rows: the others are not ours to judge */
		if (a->kind == OBJ_TXN && c.nfields >= 3 &&
		    !(same_name(&c.fields[1], rp->spec->name) && same_name(&c.fields[2], rp->spec->schema)))
			continue;
		if (c.nfields != nmap) {
			problem(rp->t, object, c.line, "expected %d fields, found %d; row skipped", nmap,
				c.nfields);
			bad_rows++;
			continue;
		}
		int op = 'I';
		bool mine = true;
		for (int i = 0; i < rp->t->ncols; i++) {
			rp->nulls[i] = true;
			rp->vals[i] = "";
			rp->lens[i] = 0;
		}
		for (int i = 0; i < nmap; i++) {
			const struct csv_field *f = &c.fields[i];
			if (map[i] >= 0) {
				rp->nulls[map[i]] = csv_is_null(f, rp->set);
				rp->vals[map[i]] = f->data;
				rp->lens[map[i]] = f->len;
			} else if (map[i] == COL_OP) {
				op = parse_op(f);
			} else if (map[i] == COL_TABLE) {
				mine &= same_name(f, rp->spec->name);
			} else if (map[i] == COL_SCHEMA) {
				mine &= same_name(f, rp->spec->schema);
			}
		}
		if (!mine)
			continue;
		if (op == 0) {
			problem(rp->t, object, c.line, "\"%.*s\" is not an operation (I, U or D); row skipped",
				(int) (c.fields[0].len > 20 ? 20 : c.fields[0].len), c.fields[0].data);
			bad_rows++;
			continue;
		}
		const char *why = NULL;
		int badcol = 0;
		if (!encode_key(rp, &why, &badcol)) {
			problem(rp->t, object, c.line, "key column %s: %s; row skipped",
				rp->spec->desc->cols[badcol].name, why ? why : "unreadable");
			bad_rows++;
			continue;
		}
		if (c.line > UINT32_MAX) {
			problem(rp->t, object, c.line, "more than 2^32 lines; the rest is not read");
			break;
		}
		if (!add_record(rp, op == 'D' ? S3_OP_DELETE : S3_OP_UPSERT, obj, (uint32_t) c.line)) {
			ok = false;
			break;
		}
		rp->t->nrecords_read++;
	}
	free(map);
	csv_reader_free(&c);
	s3_reader_close(in);
	return ok;
}

/* --- apply order ----------------------------------------------------------------------------------- */

static const char *
base_name(const char *key)
{
	const char *s = strrchr(key, '/');
	return s ? s + 1 : key;
}

static int
cmp_apply(const void *a, const void *b)
{
	const struct apply *x = a, *y = b;
	if (x->kind == OBJ_LOAD || y->kind == OBJ_LOAD) {
		if (x->kind != y->kind)
			return x->kind == OBJ_LOAD ? -1 : 1;
		return strcmp(x->o->key, y->o->key);
	}
	int c = strcmp(x->time, y->time);
	if (c == 0)
		c = strcmp(base_name(x->o->key), base_name(y->o->key));
	return c ? c : strcmp(x->o->key, y->o->key);
}

/*
 * plan_objects classifies the listed objects and puts them in apply order: every LOAD
 * file (by key: segments and partitions of a parallel load write disjoint rows), then
 * every CDC file by the time in its name. Names that are not DMS's, date folders that do
 * not match a file's time and files written out of name order are reported.
 */
static struct apply *
plan_objects(struct replay *rp, const char *prefix, const struct s3_objlist *tbl,
	     const struct s3_objlist *txn, int *n)
{
	struct apply *a = xcalloc((size_t) (tbl->n + txn->n) + 1, sizeof(*a));
	int k = 0;
	size_t plen = strlen(prefix);
	for (int i = 0; i < tbl->n; i++) {
		const struct s3_object *o = &tbl->items[i];
		const char *base = base_name(o->key);
		const char *rel = o->key + plen;
		if (s3_is_load_name(base)) {
			a[k++] = (struct apply){o, OBJ_LOAD, ""};
		} else if (s3_is_cdc_name(base)) {
			a[k] = (struct apply){o, OBJ_CDC, ""};
			time_digits(base, a[k].time);
			size_t dlen = (size_t) (base - rel);
			if (rp->set->date_partition) {
				struct buf want;
				buf_init(&want);
				s3_date_folder(rp->set->date_sequence, rp->set->date_delimiter, base, &want);
				buf_append_char(&want, '/');
				if (dlen != want.len || memcmp(rel, want.data, dlen) != 0)
					problem(rp->t, o->key, 0,
						"CDC file in folder \"%.*s\", but its time belongs in \"%s\" "
						"(DatePartitionSequence %s, DatePartitionDelimiter %s)",
						(int) dlen, rel, buf_cstr(&want), rp->set->date_sequence,
						rp->set->date_delimiter);
				buf_free(&want);
			} else if (dlen > 0) {
				problem(rp->t, o->key, 0,
					"CDC file in a subfolder; applied by its name's time (is "
					"DatePartitionEnabled set on the endpoint?)");
			}
			k++;
		} else if (strstr(base, ".parquet")) {
			problem(rp->t, o->key, 0, "a Parquet object: crosscheck reads CSV; not read");
		} else {
			problem(rp->t, o->key, 0, "not a DMS file name (LOAD*.csv or a CDC time); not read");
		}
	}
	for (int i = 0; i < txn->n; i++) {
		const struct s3_object *o = &txn->items[i];
		if (!is_txn_name(base_name(o->key)))
			continue; /* other files of the CDC folder are another table's business */
		a[k] = (struct apply){o, OBJ_TXN, ""};
		time_digits(base_name(o->key), a[k].time);
		k++;
	}
	qsort(a, (size_t) k, sizeof(*a), cmp_apply);
	/* out of name order: an earlier name written well after a later one (it replaced or
	 * arrived late, so its rows may have been applied out of order downstream) */
	double newest = 0;
	const char *newest_key = NULL;
	for (int i = 0; i < k; i++) {
		if (a[i].kind == OBJ_LOAD)
			continue;
		if (newest_key && a[i].o->mtime + OUT_OF_ORDER_SLACK < newest)
			problem(rp->t, newest_key, 0,
				"CDC file out of name order: written %.0f s after %s, which sorts after it",
				newest - a[i].o->mtime, a[i].o->key);
		if (a[i].o->mtime > newest) {
			newest = a[i].o->mtime;
			newest_key = a[i].o->key;
		}
	}
	*n = k;
	return a;
}

/* --- merging into the state file ------------------------------------------------------------------ */

struct run_reader {
	struct spill *s;
	off_t off;
	struct buf b;
	size_t pos;
	struct s3_record cur;
	uint64_t seq;
	bool live;
};

static bool
run_next(struct run_reader *r, const char *label)
{
	size_t total = 0;
	for (;;) {
		if (r->pos < r->b.len &&
		    decode_record(r->b.data + r->pos, r->b.len - r->pos, &r->cur, &r->seq, &total)) {
			r->pos += total;
			r->live = true;
			return true;
		}
		if (r->off >= r->s->size) {
			if (r->pos < r->b.len)
				log_error("%s: a spill file is corrupt", label);
			r->live = false;
			return r->pos >= r->b.len;
		}
		/* keep the partial record, read more */
		if (r->b.len > r->pos)
			memmove(r->b.data, r->b.data + r->pos, r->b.len - r->pos);
		r->b.len -= r->pos;
		r->pos = 0;
		size_t need = READ_BUF;
		if (r->b.len >= 4) {
			size_t rec = 4 + (size_t) get32(r->b.data);
			if (rec > r->b.len + need)
				need = rec - r->b.len;
		}
		if (!buf_reserve(&r->b, need))
			return false;
		ssize_t n = pread(r->s->fd, r->b.data + r->b.len, need, r->off);
		if (n <= 0) {
			log_error("%s: cannot read a spill file: %m", label);
			r->live = false;
			return false;
		}
		r->off += n;
		r->b.len += (size_t) n;
	}
}

struct state_writer {
	struct spill out;
	int64_t nrec;
};

static bool
state_put(struct replay *rp, struct state_writer *w, const char *p, size_t len,
	  const struct s3_record *r)
{
	struct s3_table *t = rp->t;
	off_t at = w->out.size + (off_t) w->out.out.len;
	if (w->nrec % S3_INDEX_EVERY == 0) {
		t->index = xrealloc(t->index, (size_t) (t->nindex + 1) * sizeof(*t->index));
		char *k = xmalloc(r->keylen ? r->keylen : 1);
		memcpy(k, r->key, r->keylen);
		t->index[t->nindex++] = (struct s3_index_entry){k, r->keylen, at};
	}
	w->nrec++;
	if (r->op == S3_OP_DELETE) {
		t->ntombstones++;
	} else {
		t->nlive++;
		if (t->first_live < 0)
			t->first_live = at;
		t->last_live = at;
	}
	return spill_write(rp, &w->out, p, len);
}

/* heap of run readers, ordered by (key, run index) */
static bool
heap_less(struct run_reader **h, int a, int b)
{
	int c = key_compare(h[a]->cur.key, h[a]->cur.keylen, h[b]->cur.key, h[b]->cur.keylen);
	return c < 0 || (c == 0 && h[a]->s < h[b]->s);
}

static void
heap_down(struct run_reader **h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && heap_less(h, l, m))
			m = l;
		if (r < n && heap_less(h, r, m))
			m = r;
		if (m == i)
			return;
		struct run_reader *tmp = h[i];
		h[i] = h[m];
		h[m] = tmp;
		i = m;
	}
}

static bool
record_bytes(const struct s3_record *r, const char **p, size_t *len)
{
	*p = r->key - 8;
	*len = (size_t) (r->fields + r->fields_len - *p);
	return true;
}

static bool
merge_runs(struct replay *rp, struct state_writer *w)
{
	int n = rp->nruns;
	struct run_reader *rr = xcalloc((size_t) n, sizeof(*rr));
	struct run_reader **h = xcalloc((size_t) n, sizeof(*h));
	struct buf best;
	buf_init(&best);
	int nh = 0;
	bool ok = true;
	for (int i = 0; i < n && ok; i++) {
		rr[i].s = &rp->runs[i];
		buf_init(&rr[i].b);
		ok = run_next(&rr[i], rp->label);
		if (ok && rr[i].live)
			h[nh++] = &rr[i];
	}
	for (int i = nh / 2 - 1; i >= 0; i--)
		heap_down(h, nh, i);
	while (ok && nh > 0) {
		/* the smallest key; of its records, the one from the latest run wins */
		const char *p;
		size_t len;
		record_bytes(&h[0]->cur, &p, &len);
		buf_reset(&best);
		buf_append(&best, p, len);
		for (;;) {
			struct run_reader *top = h[0];
			if (!run_next(top, rp->label)) {
				ok = false;
				break;
			}
			if (!top->live)
				h[0] = h[--nh];
			heap_down(h, nh, 0);
			if (nh == 0)
				break;
			struct s3_record cur = {0};
			uint64_t seq = 0;
			size_t total = 0;
			decode_record(best.data, best.len, &cur, &seq, &total);
			if (key_compare(h[0]->cur.key, h[0]->cur.keylen, cur.key, cur.keylen) != 0)
				break;
			record_bytes(&h[0]->cur, &p, &len);
			buf_reset(&best);
			buf_append(&best, p, len);
		}
		if (!ok)
			break;
		struct s3_record cur = {0};
		uint64_t seq = 0;
		size_t total = 0;
		decode_record(best.data, best.len, &cur, &seq, &total);
		ok = state_put(rp, w, best.data, best.len, &cur);
	}
	for (int i = 0; i < n; i++)
		buf_free(&rr[i].b);
	free(rr);
	free(h);
	buf_free(&best);
	return ok;
}

/* finish_state: the runs (or the one run still in memory) into the state file. */
static bool
finish_state(struct replay *rp)
{
	struct s3_table *t = rp->t;
	struct state_writer w;
	memset(&w, 0, sizeof(w));
	if (!spill_open(rp, &w.out))
		return false;
	bool ok;
	if (rp->nruns == 0) {
		/* everything fit in one run: sort it and write it as the state, no merge */
		qsort_r(rp->offs, rp->noffs, sizeof(*rp->offs), cmp_run_records, rp->run.data);
		ok = true;
		for (size_t i = 0; ok && i < rp->noffs; i++) {
			const char *p = rp->run.data + rp->offs[i].off;
			if (i + 1 < rp->noffs) {
				const char *q = rp->run.data + rp->offs[i + 1].off;
				if (key_compare(p + 8, get32(p + 4), q + 8, get32(q + 4)) == 0)
					continue;
			}
			struct s3_record r = {0};
			uint64_t seq = 0;
			size_t total = 0;
			decode_record(p, 4 + (size_t) get32(p), &r, &seq, &total);
			ok = state_put(rp, &w, p, total, &r);
		}
	} else {
		ok = flush_run(rp) && merge_runs(rp, &w);
	}
	ok = ok && spill_flush(rp, &w.out);
	for (int i = 0; i < rp->nruns; i++)
		spill_close(rp, &rp->runs[i]);
	if (!ok) {
		spill_close(rp, &w.out);
		return false;
	}
	t->fd = w.out.fd;
	t->size = w.out.size;
	buf_free(&w.out.out);
	return true;
}

/* --- building ------------------------------------------------------------------------------------------ */

static uint64_t
listing_signature(const struct s3_objlist *a, const struct s3_objlist *b)
{
	XXH3_state_t *s = XXH3_createState();
	XXH3_64bits_reset(s);
	const struct s3_objlist *ls[2] = {a, b};
	for (int l = 0; l < 2; l++)
		for (int i = 0; i < ls[l]->n; i++) {
			const struct s3_object *o = &ls[l]->items[i];
			XXH3_64bits_update(s, o->key, strlen(o->key) + 1);
			XXH3_64bits_update(s, &o->size, sizeof(o->size));
			XXH3_64bits_update(s, &o->mtime, sizeof(o->mtime));
		}
	uint64_t h = XXH3_64bits_digest(s);
	XXH3_freeState(s);
	return h;
}

static void
table_clear(struct s3_table *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	for (int i = 0; i < t->nindex; i++)
		free(t->index[i].key);
	free(t->index);
	t->index = NULL;
	t->nindex = 0;
	for (int i = 0; i < t->nobjects; i++)
		free(t->objects[i]);
	free(t->objects);
	t->objects = NULL;
	t->nobjects = 0;
	for (int i = 0; i < t->nproblems; i++) {
		free(t->problems[i].object);
		free(t->problems[i].reason);
	}
	free(t->problems);
	t->problems = NULL;
	t->nproblems = 0;
	t->problems_dropped = 0;
	t->nlive = t->ntombstones = t->nrecords_read = 0;
	t->first_live = t->last_live = -1;
	t->size = 0;
}

static bool
list_table(struct s3_store *st, const struct s3_table_spec *spec, struct buf *prefix,
	   struct s3_objlist *tbl, struct s3_objlist *txn)
{
	const struct s3_settings *set = st->set;
	buf_reset(prefix);
	buf_printf(prefix, "%s%s/%s/", set->folder, spec->schema, spec->name);
	memset(txn, 0, sizeof(*txn));
	if (!s3_store_list(st, buf_cstr(prefix), tbl))
		return false;
	if (set->preserve_transactions && set->cdc_path) {
		struct buf p;
		buf_init(&p);
		buf_printf(&p, "%s%s/", set->folder, set->cdc_path);
		bool ok = s3_store_list(st, buf_cstr(&p), txn);
		buf_free(&p);
		if (!ok) {
			s3_objlist_free(tbl);
			return false;
		}
	}
	return true;
}

static bool
build(struct s3_store *st, struct s3_table *t, const struct s3_table_spec *spec)
{
	struct replay rp;
	memset(&rp, 0, sizeof(rp));
	rp.t = t;
	rp.spec = spec;
	rp.set = st->set;
	rp.label = st->label;
	rp.tmpdir = st->set->spill_dir ? st->set->spill_dir
		    : getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	buf_init(&rp.run);
	rp.run.cap = RUN_BYTES + ((size_t) 64 << 20);
	buf_init(&rp.key);
	buf_init(&rp.enc);
	buf_init(&rp.rec);
	rp.rec.cap = (size_t) 64 << 20;
	t->ncols = spec->desc->ncols;
	rp.vals = xcalloc((size_t) t->ncols + 1, sizeof(char *));
	rp.lens = xcalloc((size_t) t->ncols + 1, sizeof(size_t));
	rp.nulls = xcalloc((size_t) t->ncols + 1, sizeof(bool));
	table_clear(t);

	double t0 = time_monotonic();
	struct buf prefix;
	buf_init(&prefix);
	struct s3_objlist tbl, txn;
	bool ok = list_table(st, spec, &prefix, &tbl, &txn);
	struct apply *order = NULL;
	int n = 0;
	if (ok) {
		t->listing_sig = listing_signature(&tbl, &txn);
		order = plan_objects(&rp, buf_cstr(&prefix), &tbl, &txn, &n);
		t->objects = xcalloc((size_t) n + 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			t->objects[i] = xstrdup(order[i].o->key);
		t->nobjects = n;
		if (tbl.n == 0 && txn.n == 0)
			log_notice("%s: no objects under %s%s: the table is empty there (DMS creates a "
				   "table's folder only when it has rows)",
				   st->label, st->set->bucket ? "" : st->set->root,
				   buf_cstr(&prefix));
	}
	int64_t bytes = 0;
	for (int i = 0; ok && i < n; i++) {
		ok = read_object(&rp, st, &order[i], (uint32_t) i);
		bytes += order[i].o->size;
	}
	ok = ok && finish_state(&rp);
	if (ok)
		log_info("%s: %s.%s: replayed %lld rows from %d objects (%.1f MB) into %lld keys "
			 "(%lld deleted) in %.1f s; spill files peaked at %.1f MB",
			 st->label, spec->schema, spec->name, (long long) t->nrecords_read, n,
			 (double) bytes / 1e6, (long long) t->nlive, (long long) t->ntombstones,
			 time_monotonic() - t0, (double) t->spill_peak / 1e6);
	if (ok && (t->nproblems || t->problems_dropped))
		log_warn("%s: %s.%s: %d problem%s with the files (%s:%lld: %s)%s", st->label,
			 spec->schema, spec->name, t->nproblems, t->nproblems == 1 ? "" : "s",
			 t->problems[0].object, (long long) t->problems[0].line, t->problems[0].reason,
			 t->nproblems > 1 ? ", ..." : "");
	for (int i = 0; i < rp.nruns; i++)
		spill_close(&rp, &rp.runs[i]);
	free(rp.runs);
	free(order);
	if (ok) {
		s3_objlist_free(&tbl);
		s3_objlist_free(&txn);
	}
	buf_free(&prefix);
	buf_free(&rp.run);
	buf_free(&rp.key);
	buf_free(&rp.enc);
	buf_free(&rp.rec);
	free(rp.offs);
	free(rp.vals);
	free(rp.lens);
	free(rp.nulls);
	return ok;
}

/* --- the registry ------------------------------------------------------------------------------------------ */

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static struct s3_table **registry;
static int nregistry;

static void
registry_free(void)
{
	for (int i = 0; i < nregistry; i++) {
		table_clear(registry[i]);
		pthread_rwlock_destroy(&registry[i]->lock);
		pthread_mutex_destroy(&registry[i]->build_mu);
		free(registry[i]->id);
		free(registry[i]);
	}
	free(registry);
	registry = NULL;
	nregistry = 0;
}

struct s3_table *
s3_table_get(struct s3_store *st, const char *shown_uri, const struct s3_table_spec *spec)
{
	struct buf id;
	buf_init(&id);
	buf_printf(&id, "%s\n%s.%s\n", shown_uri, spec->schema, spec->name);
	for (int k = 0; k < spec->nkeys; k++)
		buf_printf(&id, "%d,", spec->key[k]);
	pthread_mutex_lock(&registry_mu);
	struct s3_table *t = NULL;
	for (int i = 0; i < nregistry && t == NULL; i++)
		if (strcmp(registry[i]->id, buf_cstr(&id)) == 0)
			t = registry[i];
	if (t == NULL) {
		if (nregistry == 0)
			atexit(registry_free);
		t = xcalloc(1, sizeof(*t));
		t->id = buf_steal(&id);
		t->fd = -1;
		t->first_live = t->last_live = -1;
		pthread_rwlock_init(&t->lock, NULL);
		pthread_mutex_init(&t->build_mu, NULL);
		registry = xrealloc(registry, (size_t) (nregistry + 1) * sizeof(*registry));
		registry[nregistry++] = t;
	}
	pthread_mutex_unlock(&registry_mu);
	buf_free(&id);

	/* one thread builds; the others wait for it and share the result */
	pthread_mutex_lock(&t->build_mu);
	if (!t->built && !t->failed) {
		pthread_rwlock_wrlock(&t->lock);
		t->built = build(st, t, spec);
		t->failed = !t->built;
		pthread_rwlock_unlock(&t->lock);
	}
	bool ok = t->built;
	pthread_mutex_unlock(&t->build_mu);
	if (!ok)
		log_error("%s: %s.%s: the files could not be replayed (see above)", st->label,
			  spec->schema, spec->name);
	return ok ? t : NULL;
}

bool
s3_table_refresh(struct s3_store *st, struct s3_table *t, const struct s3_table_spec *spec)
{
	struct buf prefix;
	buf_init(&prefix);
	struct s3_objlist tbl, txn;
	bool ok = list_table(st, spec, &prefix, &tbl, &txn);
	buf_free(&prefix);
	if (!ok)
		return false;
	uint64_t sig = listing_signature(&tbl, &txn);
	s3_objlist_free(&tbl);
	s3_objlist_free(&txn);
	pthread_mutex_lock(&t->build_mu);
	if (sig != t->listing_sig) {
		log_info("%s: %s.%s: the objects changed since the replay; replaying again",
			 st->label, spec->schema, spec->name);
		pthread_rwlock_wrlock(&t->lock);
		t->built = build(st, t, spec);
		t->failed = !t->built;
		pthread_rwlock_unlock(&t->lock);
	}
	ok = t->built;
	pthread_mutex_unlock(&t->build_mu);
	return ok;
}

/* --- reading the state ---------------------------------------------------------------------------------------- */

/* index_start: the offset of the last index entry whose key is <= key (0 if none). */
static off_t
index_start(const struct s3_table *t, const char *key, size_t keylen)
{
	int lo = 0, hi = t->nindex - 1, found = -1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (key_compare(t->index[mid].key, t->index[mid].keylen, key, keylen) <= 0) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found >= 0 ? t->index[found].off : 0;
}

bool
s3_table_scan(struct s3_table *t, const char *lo, size_t lolen, const char *hi, size_t hilen,
	      s3_record_fn fn, void *ctx)
{
	pthread_rwlock_rdlock(&t->lock);
	struct spill s = {t->fd, t->size, {0}};
	struct run_reader r;
	memset(&r, 0, sizeof(r));
	r.s = &s;
	r.off = lo ? index_start(t, lo, lolen) : 0;
	buf_init(&r.b);
	bool ok = true;
	while ((ok = run_next(&r, "s3")) && r.live) {
		if (lo && key_compare(r.cur.key, r.cur.keylen, lo, lolen) < 0)
			continue;
		if (hi && key_compare(r.cur.key, r.cur.keylen, hi, hilen) >= 0)
			break;
		if (!fn(ctx, &r.cur))
			break;
	}
	buf_free(&r.b);
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

bool
s3_table_at(struct s3_table *t, off_t off, s3_record_fn fn, void *ctx)
{
	pthread_rwlock_rdlock(&t->lock);
	struct spill s = {t->fd, t->size, {0}};
	struct run_reader r;
	memset(&r, 0, sizeof(r));
	r.s = &s;
	r.off = off;
	buf_init(&r.b);
	bool ok = run_next(&r, "s3") && r.live;
	if (ok)
		fn(ctx, &r.cur);
	buf_free(&r.b);
	pthread_rwlock_unlock(&t->lock);
	return ok;
}

struct lookup_ctx {
	s3_record_fn fn;
	void *ctx;
	const char *key;
	size_t keylen;
	bool *found;
	bool stopped;
};

static bool
lookup_one(void *vctx, const struct s3_record *rec)
{
	struct lookup_ctx *c = vctx;
	if (key_compare(rec->key, rec->keylen, c->key, c->keylen) != 0)
		return false;
	*c->found = true;
	c->fn(c->ctx, rec);
	return false;
}

bool
s3_table_lookup(struct s3_table *t, const char *key, size_t keylen, s3_record_fn fn, void *ctx,
		bool *found)
{
	*found = false;
	struct lookup_ctx c = {fn, ctx, key, keylen, found, false};
	return s3_table_scan(t, key, keylen, NULL, 0, lookup_one, &c);
}
