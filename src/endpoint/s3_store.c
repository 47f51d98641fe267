/*
 * endpoint/s3_store.c: the objects of a DMS S3 layout, in a bucket or a directory.
 *
 * Both kinds of store give the same two things: a sorted listing of a prefix, and a pull
 * stream of one object's bytes. An s3:// object is read in ranged GETs of READ_CHUNK bytes
 * (each one retried on its own), so no object is ever whole in memory. DMS writes
 * CompressionType=GZIP objects without a telling name (s3-dms.md A1), so gzip is detected
 * by its magic bytes and inflated on the fly; concatenated gzip members are read on, and
 * a stream that ends inside a member is a "truncated gzip" error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "endpoint/s3_internal.h"
#include "util/log.h"
#include "util/str.h"

#define READ_CHUNK ((int64_t) 8 << 20)
#define RAW_BUF (256u << 10)

void
s3_objlist_free(struct s3_objlist *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->items[i].key);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static void
objlist_add(struct s3_objlist *l, const char *key, int64_t size, double mtime)
{
	if (l->n == l->alloc) {
		l->alloc = l->alloc ? 2 * l->alloc : 64;
		l->items = xrealloc(l->items, (size_t) l->alloc * sizeof(*l->items));
	}
	l->items[l->n++] = (struct s3_object){xstrdup(key), size, mtime};
}

static int
cmp_object(const void *a, const void *b)
{
	return strcmp(((const struct s3_object *) a)->key, ((const struct s3_object *) b)->key);
}

bool
s3_store_open(struct s3_store *st, const struct s3_settings *set, const char *label)
{
	memset(st, 0, sizeof(*st));
	st->set = set;
	st->label = label;
	if (set->root) {
		struct stat sb;
		if (stat(set->root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
			log_error("%s: %s is not a directory", label, set->root);
			log_hint("file:///DIR names the folder that holds schema/table/LOAD*.csv");
			return false;
		}
		return true;
	}
	return s3_client_open(set, label, &st->client);
}

void
s3_store_close(struct s3_store *st)
{
	if (st->client)
		s3_client_close(st->client);
	st->client = NULL;
}

/* walk: every regular file under dir (rel = its path under the root) into out. */
static bool
walk(const char *root, const char *rel, struct s3_objlist *out, const char *label, int depth)
{
	struct buf path;
	buf_init(&path);
	buf_printf(&path, "%s/%s", root, rel);
	DIR *d = opendir(buf_cstr(&path));
	if (d == NULL) {
		bool missing = errno == ENOENT || errno == ENOTDIR;
		if (!missing)
			log_error("%s: cannot read %s: %m", label, buf_cstr(&path));
		buf_free(&path);
		return missing;
	}
	bool ok = true;
	struct dirent *e;
	while (ok && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		struct buf child, full;
		buf_init(&child);
		buf_init(&full);
		buf_printf(&child, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		buf_printf(&full, "%s/%s", root, buf_cstr(&child));
		struct stat sb;
		if (stat(buf_cstr(&full), &sb) == 0) {
			if (S_ISDIR(sb.st_mode) && depth < 16)
				ok = walk(root, buf_cstr(&child), out, label, depth + 1);
			else if (S_ISREG(sb.st_mode))
				objlist_add(out, buf_cstr(&child), (int64_t) sb.st_size,
					    (double) sb.st_mtim.tv_sec + (double) sb.st_mtim.tv_nsec / 1e9);
		}
		buf_free(&child);
		buf_free(&full);
	}
	closedir(d);
	buf_free(&path);
	return ok;
}

bool
s3_store_list(struct s3_store *st, const char *prefix, struct s3_objlist *out)
{
	memset(out, 0, sizeof(*out));
	bool ok;
	if (st->client) {
		ok = s3_client_list(st->client, prefix, out);
	} else {
		/* a prefix here is always a folder (it ends in '/') */
		struct buf dir;
		buf_init(&dir);
		buf_append_str(&dir, prefix);
		while (dir.len > 0 && dir.data[dir.len - 1] == '/')
			dir.data[--dir.len] = '\0';
		ok = walk(st->set->root, dir.len ? buf_cstr(&dir) : "", out, st->label, 0);
		buf_free(&dir);
	}
	if (!ok) {
		s3_objlist_free(out);
		return false;
	}
	qsort(out->items, (size_t) out->n, sizeof(*out->items), cmp_object);
	return true;
}

/* --- reading --------------------------------------------------------------------------- */

struct s3_reader {
	struct s3_store *st;
	char *key;
	int64_t size;
	int fd;			/* file:// */
	int64_t off;		/* next raw byte to fetch */
	struct buf raw;		/* raw bytes fetched, from raw_pos */
	size_t raw_pos;
	bool raw_eof;
	bool gzip_checked, gzip;
	z_stream z;
	bool z_live, z_member_done;
	char *err;
};

/* fill_raw: more raw bytes into r->raw; false on a read error (r->err set). */
static bool
fill_raw(struct s3_reader *r)
{
	if (r->raw_pos > 0 && r->raw_pos == r->raw.len) {
		buf_reset(&r->raw);
		r->raw_pos = 0;
	}
	if (r->raw_eof)
		return true;
	if (r->st->client) {
		int64_t n = r->size - r->off < READ_CHUNK ? r->size - r->off : READ_CHUNK;
		if (n <= 0) {
			r->raw_eof = true;
			return true;
		}
		const char *err = NULL;
		size_t before = r->raw.len;
		if (!s3_client_get(r->st->client, r->key, r->off, n, &r->raw, &err)) {
			free(r->err);
			r->err = xstrdup(err ? err : "read failed");
			return false;
		}
		size_t got = r->raw.len - before;
		if (got == 0) {
			r->raw_eof = true; /* shorter than listed: the object was replaced */
			return true;
		}
		r->off += (int64_t) got;
		return true;
	}
	if (!buf_reserve(&r->raw, RAW_BUF)) {
		r->err = xstrdup("out of memory");
		return false;
	}
	ssize_t n;
	do
		n = read(r->fd, r->raw.data + r->raw.len, RAW_BUF);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		struct buf e;
		buf_init(&e);
		buf_printf(&e, "read failed: %s", strerror(errno));
		r->err = buf_steal(&e);
		return false;
	}
	if (n == 0)
		r->raw_eof = true;
	r->raw.len += (size_t) n;
	r->raw.data[r->raw.len] = '\0';
	return true;
}

bool
s3_reader_open(struct s3_store *st, const struct s3_object *o, struct s3_reader **out)
{
	struct s3_reader *r = xcalloc(1, sizeof(*r));
	r->st = st;
	r->key = xstrdup(o->key);
	r->size = o->size;
	r->fd = -1;
	buf_init(&r->raw);
	r->raw.cap = (size_t) READ_CHUNK + RAW_BUF;
	if (st->client == NULL) {
		struct buf path;
		buf_init(&path);
		buf_printf(&path, "%s/%s", st->set->root, o->key);
		r->fd = open(buf_cstr(&path), O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			log_error("%s: cannot open %s: %m", st->label, buf_cstr(&path));
			buf_free(&path);
			s3_reader_close(r);
			return false;
		}
		buf_free(&path);
	}
	*out = r;
	return true;
}

static ssize_t
read_plain(struct s3_reader *r, char *dst, size_t n)
{
	while (r->raw_pos == r->raw.len) {
		if (r->raw_eof)
			return 0;
		if (!fill_raw(r))
			return -1;
	}
	size_t avail = r->raw.len - r->raw_pos;
	size_t k = avail < n ? avail : n;
	memcpy(dst, r->raw.data + r->raw_pos, k);
	r->raw_pos += k;
	return (ssize_t) k;
}

static ssize_t
read_gzip(struct s3_reader *r, char *dst, size_t n)
{
	r->z.next_out = (Bytef *) dst;
	r->z.avail_out = (uInt) (n > (1u << 30) ? (1u << 30) : n);
	while (r->z.avail_out > 0) {
		if (r->raw_pos == r->raw.len && !r->raw_eof && !fill_raw(r))
			return -1;
		size_t avail = r->raw.len - r->raw_pos;
		if (avail == 0 && r->raw_eof) {
			if (!r->z_member_done) {
				free(r->err);
				r->err = xstrdup("truncated gzip stream");
				return -1;
			}
			break;
		}
		if (r->z_member_done) {
			/* another gzip member follows (concatenated files are valid gzip) */
			if (inflateReset(&r->z) != Z_OK)
				return -1;
			r->z_member_done = false;
		}
		r->z.next_in = (Bytef *) r->raw.data + r->raw_pos;
		r->z.avail_in = (uInt) avail;
		int rc = inflate(&r->z, Z_NO_FLUSH);
		r->raw_pos = r->raw.len - r->z.avail_in;
		if (rc == Z_STREAM_END) {
			r->z_member_done = true;
		} else if (rc != Z_OK && rc != Z_BUF_ERROR) {
			free(r->err);
			struct buf e;
			buf_init(&e);
			buf_printf(&e, "corrupt gzip data (%s)", r->z.msg ? r->z.msg : "inflate failed");
			r->err = buf_steal(&e);
			return -1;
		}
		if ((size_t) (r->z.next_out - (Bytef *) dst) > 0 && r->z.avail_out < n)
			break; /* give what we have; the caller asks again */
	}
	return (ssize_t) ((char *) r->z.next_out - dst);
}

ssize_t
s3_reader_read(struct s3_reader *r, char *dst, size_t n, const char **err)
{
	*err = NULL;
	if (!r->gzip_checked) {
		while (r->raw.len - r->raw_pos < 2 && !r->raw_eof)
			if (!fill_raw(r)) {
				*err = r->err;
				return -1;
			}
		r->gzip_checked = true;
		const unsigned char *p = (const unsigned char *) r->raw.data + r->raw_pos;
		if (r->raw.len - r->raw_pos >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
			r->gzip = true;
			memset(&r->z, 0, sizeof(r->z));
			if (inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) {
				*err = "cannot start gzip";
				return -1;
			}
			r->z_live = true;
		}
	}
	ssize_t got = r->gzip ? read_gzip(r, dst, n) : read_plain(r, dst, n);
	if (got < 0)
		*err = r->err ? r->err : "read failed";
	return got;
}

void
s3_reader_close(struct s3_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	if (r->z_live)
		inflateEnd(&r->z);
	buf_free(&r->raw);
	free(r->key);
	free(r->err);
	free(r);
}
