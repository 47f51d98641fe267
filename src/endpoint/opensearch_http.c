/*
 * endpoint/opensearch_http.c: the OpenSearch endpoint's transport: URI and environment,
 * one libcurl easy handle per endpoint (keep-alive, gzip, basic auth or AWS SigV4, TLS
 * options), retries of overload answers, and error bodies turned into one clear line.
 *
 * The handle is reused for every request of the endpoint so the TCP/TLS connection stays
 * open. Every request carries an explicit Content-Type: libcurl's default for a POST
 * body (application/x-www-form-urlencoded) gets a 406 from OpenSearch. Retries cover
 * what a busy cluster answers (429 rejected_execution_exception, 502/503/504, any 5xx)
 * and connections that fail before an answer; a truncated or garbled answer is not
 * retried here: it is an error the caller reports.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "endpoint/opensearch_internal.h"
#include "util/log.h"
#include "util/str.h"
#include "util/uri.h"

#ifndef CROSSCHECK_VERSION
#define CROSSCHECK_VERSION "dev"
#endif

/* --- configuration --------------------------------------------------------------------- */

static char *
env_dup(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? xstrdup(v) : NULL;
}

static bool
parse_bool_param(const char *label, const char *key, const char *v, bool *out)
{
	if (strcmp(v, "") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 ||
	    strcasecmp(v, "yes") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0) {
		*out = false;
		return true;
	}
	log_error("%s: URI parameter %s: expected true or false, got \"%s\"", label, key, v);
	return false;
}

static bool
parse_int_param(const char *label, const char *key, const char *v, int min, int max, int *out)
{
	int64_t n;
	if (!str_to_int64(v, &n) || n < min || n > max) {
		log_error("%s: URI parameter %s: expected an integer from %d to %d, got \"%s\"",
			  label, key, min, max, v);
		return false;
	}
	*out = (int) n;
	return true;
}

/* apply_param applies one URI query parameter; false (logged) when unknown or invalid. */
static bool
apply_param(struct os_config *c, const char *label, const char *k, const char *v)
{
	if (strcmp(k, "auth") == 0) {
		if (strcmp(v, "basic") == 0)
			c->auth = OS_AUTH_BASIC;
		else if (strcmp(v, "sigv4") == 0)
			c->auth = OS_AUTH_SIGV4;
		else if (strcmp(v, "none") == 0)
			c->auth = OS_AUTH_NONE;
		else {
			log_error("%s: URI parameter auth: expected basic, sigv4 or none, got \"%s\"",
				  label, v);
			return false;
		}
		return true;
	}
	if (strcmp(k, "region") == 0) {
		free(c->region);
		c->region = xstrdup(v);
		return true;
	}
	if (strcmp(k, "service") == 0) {
		if (strcmp(v, "es") != 0) {
			log_error("%s: URI parameter service: only \"es\" (OpenSearch Service domains) "
				  "is supported, got \"%s\"",
				  label, v);
			log_hint("OpenSearch Serverless (aoss) signs requests differently and is not "
				 "supported yet");
			return false;
		}
		return true;
	}
	if (strcmp(k, "cafile") == 0) {
		free(c->cafile);
		c->cafile = xstrdup(v);
		return true;
	}
	if (strcmp(k, "insecure") == 0)
		return parse_bool_param(label, k, v, &c->insecure);
	if (strcmp(k, "id_mode") == 0) {
		if (strcmp(v, "field") == 0)
			c->id_mode = OS_ID_FIELD;
		else if (strcmp(v, "value") == 0)
			c->id_mode = OS_ID_VALUE;
		else {
			log_error("%s: URI parameter id_mode: expected field or value, got \"%s\"",
				  label, v);
			return false;
		}
		return true;
	}
	if (strcmp(k, "page_size") == 0)
		return parse_int_param(label, k, v, 1, OS_MAX_PAGE_SIZE, &c->page_size);
	if (strcmp(k, "retries") == 0)
		return parse_int_param(label, k, v, 0, 30, &c->max_retries);
	if (strcmp(k, "pit") == 0) {
		if (strcmp(v, "auto") == 0)
			c->use_pit = true;
		else if (strcmp(v, "off") == 0)
			c->use_pit = false;
		else {
			log_error("%s: URI parameter pit: expected auto or off, got \"%s\"", label, v);
			return false;
		}
		return true;
	}
	if (strcmp(k, "compression") == 0) {
		/* Plain by default, as the OpenSearch and Elasticsearch clients are (their
		 * http_compress / compression options default to off): inflating costs a
		 * third of crosscheck's CPU per document (BENCHMARKS.md), which pays only
		 * where bandwidth is scarce, across a WAN. */
		if (strcmp(v, "gzip") == 0)
			c->gzip = true;
		else if (strcmp(v, "none") == 0)
			c->gzip = false;
		else {
			log_error("%s: URI parameter compression: expected gzip or none, got \"%s\"",
				  label, v);
			return false;
		}
		return true;
	}
	log_error("%s: unknown OpenSearch URI parameter \"%s\"", label, k);
	log_hint("known: auth, region, service, cafile, insecure, id_mode, page_size, retries, pit, "
		 "compression");
	return false;
}

bool
os_config_parse(const char *uri, const char *label, const char *password, struct os_config *c)
{
	memset(c, 0, sizeof(*c));
	c->page_size = OS_DEFAULT_PAGE_SIZE;
	c->max_retries = OS_DEFAULT_RETRIES;
	c->use_pit = true;
	struct uri u;
	if (!uri_parse(uri, &u))
		return false;
	bool ok = false;
	bool tls = strcmp(u.scheme, "opensearch+https") == 0;
	if (!tls && strcmp(u.scheme, "opensearch") != 0) {
		log_error("%s: not an OpenSearch URI scheme: %s", label, u.scheme);
		goto done;
	}
	if (u.host == NULL || *u.host == '\0') {
		log_error("%s: OpenSearch URI without a host", label);
		log_hint("e.g. opensearch://127.0.0.1:9200/ or opensearch+https://search-x.us-east-1.es.amazonaws.com/");
		goto done;
	}
	struct buf b;
	buf_init(&b);
	bool v6 = strchr(u.host, ':') != NULL;
	buf_printf(&b, "%s://%s%s%s", tls ? "https" : "http", v6 ? "[" : "", u.host, v6 ? "]" : "");
	if (u.port)
		buf_printf(&b, ":%d", u.port);
	else if (!tls)
		buf_append_str(&b, ":9200");
	/* a path prefix (a proxy in front of the cluster), without trailing slashes */
	size_t plen = strlen(u.path);
	while (plen > 0 && u.path[plen - 1] == '/')
		plen--;
	if (plen > 0) {
		buf_append_char(&b, '/');
		buf_append(&b, u.path, plen);
	}
	c->base_url = buf_steal(&b);

	for (int i = 0; i < u.nparams; i++)
		if (!apply_param(c, label, u.params[i].key, u.params[i].value))
			goto done;

	c->user = u.user ? xstrdup(u.user) : env_dup("OPENSEARCH_USER");
	c->password = password	     ? xstrdup(password)
		      : u.password ? xstrdup(u.password)
				   : env_dup("OPENSEARCH_PASSWORD");
	bool auth_given = uri_param(&u, "auth") != NULL;
	if (!auth_given && c->user)
		c->auth = OS_AUTH_BASIC;
	if (c->auth == OS_AUTH_BASIC && (c->user == NULL || c->password == NULL)) {
		log_error("%s: basic authentication needs a user and a password", label);
		log_hint("set OPENSEARCH_USER and OPENSEARCH_PASSWORD in the environment");
		goto done;
	}
	if (c->auth == OS_AUTH_SIGV4) {
		c->aws_key = env_dup("AWS_ACCESS_KEY_ID");
		c->aws_secret = env_dup("AWS_SECRET_ACCESS_KEY");
		c->aws_token = env_dup("AWS_SESSION_TOKEN");
		if (c->region == NULL) {
			const char *r = getenv("AWS_REGION");
			if (r == NULL || *r == '\0')
				r = getenv("AWS_DEFAULT_REGION");
			c->region = r && *r ? xstrdup(r) : NULL;
		}
		if (c->region == NULL) {
			log_error("%s: auth=sigv4 needs a region", label);
			log_hint("add region=us-east-1 (the domain's region) to the URI, or set AWS_REGION");
			goto done;
		}
		if (c->aws_key == NULL || c->aws_secret == NULL) {
			log_error("%s: auth=sigv4 needs AWS credentials", label);
			log_hint("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN "
				 "for temporary credentials)");
			goto done;
		}
	}
	if (c->insecure && !tls)
		log_warn("%s: insecure=true has no effect on an http:// endpoint", label);
	ok = true;
done:
	uri_free(&u);
	if (!ok)
		os_config_free(c);
	return ok;
}

static void
free_secret(char *s)
{
	if (s) {
		/* volatile: the wipe must not be optimized away */
		volatile char *p = s;
		while (*p)
			*p++ = '\0';
		free(s);
	}
}

void
os_config_free(struct os_config *c)
{
	free(c->base_url);
	free(c->user);
	free_secret(c->password);
	free(c->region);
	free(c->aws_key);
	free_secret(c->aws_secret);
	free_secret(c->aws_token);
	free(c->cafile);
	memset(c, 0, sizeof(*c));
}

/* --- pure helpers --------------------------------------------------------------------- */

bool
os_retryable_status(long status)
{
	return status == 429 || (status >= 500 && status <= 599);
}

/*
 * os_backoff_delay doubles from 0.1 s per attempt up to 5 s, takes a random point in the
 * upper half of that window (jitter, so parallel workers do not retry in lockstep), and
 * never waits less than the server's Retry-After (itself capped at 30 s).
 */
double
os_backoff_delay(int attempt, double retry_after, unsigned *seed)
{
	double d = 0.1;
	for (int i = 1; i < attempt && d < 5.0; i++)
		d *= 2;
	if (d > 5.0)
		d = 5.0;
	double r = (double) (rand_r(seed) % 1000) / 1000.0;
	d = d / 2 + d / 2 * r;
	if (retry_after > 30)
		retry_after = 30;
	return retry_after > d ? retry_after : d;
}

void
os_path_segment(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
		unsigned char ch = *p;
		bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
		if (plain) {
			buf_append_char(out, (char) ch);
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			buf_append(out, e, 3);
		}
	}
}

static int
cmp_pair(const void *a, const void *b)
{
	const char *x = *(const char *const *) a, *y = *(const char *const *) b;
	size_t kx = strcspn(x, "="), ky = strcspn(y, "=");
	int c = strncmp(x, y, kx < ky ? kx : ky);
	return c ? c : (kx > ky) - (kx < ky);
}

void
os_path_query(struct buf *out, const char *const *pairs, int n)
{
	if (n <= 0)
		return;
	const char **sorted = xcalloc((size_t) n, sizeof(char *));
	memcpy(sorted, pairs, (size_t) n * sizeof(char *));
	qsort(sorted, (size_t) n, sizeof(char *), cmp_pair);
	for (int i = 0; i < n; i++) {
		buf_append_char(out, i ? '&' : '?');
		buf_append_str(out, sorted[i]);
	}
	free(sorted);
}

/* first_line appends the first line of text, trimmed and cut at 300 bytes. */
static void
first_line(struct buf *out, const char *s, size_t len)
{
	while (len > 0 && (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t')) {
		s++;
		len--;
	}
	size_t n = 0;
	while (n < len && n < 300 && s[n] != '\n' && s[n] != '\r')
		n++;
	for (size_t i = 0; i < n; i++)
		buf_append_char(out, (s[i] >= 0x20 && s[i] != 0x7f) || (s[i] & 0x80) ? s[i] : '?');
	if (n < len && n == 300)
		buf_append_str(out, "...");
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *v;
	if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/*
 * os_error_text reads the error shapes OpenSearch and the layers in front of it send:
 * {"error":{"type","reason","root_cause":[...],"caused_by"},"status"}, {"error":"text"}
 * (406), the AWS IAM {"Message"} / {"message"}, and plain text ("Unauthorized").
 */
void
os_error_text(long status, const char *body, size_t len, struct buf *out, struct buf *type)
{
	json_object *root = NULL;
	if (body && len > 0) {
		json_tokener *tok = json_tokener_new();
		if (tok) {
			root = json_tokener_parse_ex(tok, body, (int) (len > 0x7fffffff ? 0x7fffffff : len));
			if (json_tokener_get_error(tok) != json_tokener_success) {
				json_object_put(root);
				root = NULL;
			}
			json_tokener_free(tok);
		}
	}
	json_object *err = NULL;
	if (root && json_object_is_type(root, json_type_object) &&
	    json_object_object_get_ex(root, "error", &err)) {
		if (json_object_is_type(err, json_type_string)) {
			buf_append_str(out, json_object_get_string(err));
		} else if (json_object_is_type(err, json_type_object)) {
			/* the root cause names the real problem; the outer type is often generic */
			json_object *rc = NULL, *cause = err;
			if (json_object_object_get_ex(err, "root_cause", &rc) &&
			    json_object_is_type(rc, json_type_array) && json_object_array_length(rc) > 0)
				cause = json_object_array_get_idx(rc, 0);
			const char *t = get_str(cause, "type");
			const char *r = get_str(cause, "reason");
			if (t == NULL) {
				t = get_str(err, "type");
				r = get_str(err, "reason");
			}
			const char *outer = get_str(err, "type");
			buf_printf(out, "%s", t ? t : "error");
			if (r)
				buf_printf(out, ": %s", r);
			json_object *cb = NULL;
			const char *cbr = NULL;
			if (json_object_object_get_ex(err, "caused_by", &cb))
				cbr = get_str(cb, "reason");
			if (cbr && (r == NULL || strcmp(cbr, r) != 0))
				buf_printf(out, " (caused by: %s)", cbr);
			if (type)
				buf_append_str(type, t ? t : outer ? outer : "");
		} else {
			first_line(out, body, len);
		}
	} else if (root && json_object_is_type(root, json_type_object) &&
		   (get_str(root, "Message") || get_str(root, "message"))) {
		const char *m = get_str(root, "Message");
		buf_append_str(out, m ? m : get_str(root, "message"));
	} else if (body && len > 0) {
		first_line(out, body, len);
	} else {
		buf_append_str(out, "(empty body)");
	}
	(void) status;
	json_object_put(root);
}

const char *
os_error_hint(long status, const char *type)
{
	if (status == 401)
		return "set OPENSEARCH_USER and OPENSEARCH_PASSWORD, or use ?auth=sigv4&region=... "
		       "with AWS credentials in the environment";
	if (status == 403)
		return "the user or role lacks a permission on this index (indices:data/read/search, "
		       "indices:admin/mappings/get), or the domain's access policy refuses it";
	if (type && strcmp(type, "index_not_found_exception") == 0)
		return "the index is the table name in lowercase; give the index with --target-table";
	if (status == 406)
		return "the server refused the Content-Type; this is a bug in crosscheck, please report it";
	if (status == 429)
		return "the cluster is overloaded; retry later, or lower --jobs";
	if (type && strstr(type, "search_context_missing"))
		return "a point in time or scroll expired; the read was too slow; retry";
	if (status >= 500)
		return "the cluster failed to answer; check its health (GET _cluster/health) and retry";
	return NULL;
}

/* --- libcurl ---------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t
write_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct os_http *h = ctx;
	size_t n = size * nmemb;
	return buf_append(&h->resp, data, n) ? n : 0;
}

static size_t
read_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct os_http *h = ctx;
	size_t n = size * nmemb;
	if (n > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t m = n - 12 < sizeof(tmp) - 1 ? n - 12 : sizeof(tmp) - 1;
		memcpy(tmp, data + 12, m);
		tmp[m] = '\0';
		double s = strtod(tmp, NULL);
		h->retry_after = s > 0 ? s : 0;
	} else if (n > 8 && strncasecmp(data, "Warning:", 8) == 0 && !h->warned_deprecation) {
		/* e.g. the _id fielddata deprecation when sorting on _id: worth a debug line */
		h->warned_deprecation = true;
		struct buf b;
		buf_init(&b);
		first_line(&b, data + 8, n - 8);
		log_debug("%s: server warning: %s", h->label, buf_cstr(&b));
		buf_free(&b);
	}
	return n;
}

bool
os_http_open(struct os_http *h, const struct os_config *cfg, const char *label,
	     const struct endpoint_options *opts)
{
	memset(h, 0, sizeof(*h));
	h->cfg = cfg;
	h->label = label;
	buf_init(&h->resp);
	h->resp.cap = OS_MAX_RESPONSE;
	h->seed = (unsigned) time(NULL) ^ (unsigned) (uintptr_t) h;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK || (h->curl = curl_easy_init()) == NULL) {
		log_error("%s: cannot initialize libcurl", label);
		return false;
	}
	CURL *c = h->curl;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (cfg->gzip)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding libcurl has */
	/* pages are hundreds of KiB: a larger receive buffer means fewer reads */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "crosscheck/" CROSSCHECK_VERSION);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
			 (long) (opts->connect_timeout_s > 0 ? opts->connect_timeout_s : 10));
	if (opts->statement_timeout_ms > 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long) opts->statement_timeout_ms);
	/* a server that stops sending is an error, not a hang */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 300L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	if (cfg->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->cafile);
	if (cfg->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	h->hdr_json = curl_slist_append(NULL, "Content-Type: application/json");
	h->hdr_json = curl_slist_append(h->hdr_json, "Accept: application/json");
	h->hdr_ndjson = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
	h->hdr_ndjson = curl_slist_append(h->hdr_ndjson, "Accept: application/json");
	if (cfg->auth == OS_AUTH_BASIC) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->password);
	} else if (cfg->auth == OS_AUTH_SIGV4) {
		struct buf sig;
		buf_init(&sig);
		buf_printf(&sig, "aws:amz:%s:es", cfg->region);
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, buf_cstr(&sig)); /* libcurl copies it */
		buf_free(&sig);
		curl_easy_setopt(c, CURLOPT_USERNAME, cfg->aws_key);
		curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->aws_secret);
		if (cfg->aws_token) {
			struct buf t;
			buf_init(&t);
			buf_printf(&t, "x-amz-security-token: %s", cfg->aws_token);
			h->hdr_json = curl_slist_append(h->hdr_json, buf_cstr(&t));
			h->hdr_ndjson = curl_slist_append(h->hdr_ndjson, buf_cstr(&t));
			size_t n = t.len;
			memset(t.data, 0, n);
			buf_free(&t);
		}
	}
	if (h->hdr_json == NULL || h->hdr_ndjson == NULL) {
		log_error("%s: out of memory", label);
		os_http_close(h);
		return false;
	}
	return true;
}

void
os_http_close(struct os_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->hdr_json);
	curl_slist_free_all(h->hdr_ndjson);
	buf_free(&h->resp);
	memset(h, 0, sizeof(*h));
}

/*
 * transport_retryable: failures where no answer arrived, so repeating a read is safe.
 * They are retried only once the server has answered this endpoint: a wrong address
 * fails at once instead of after a minute of backoff.
 */
static bool
transport_retryable(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR ||
	       rc == CURLE_RECV_ERROR;
}

static void
sleep_for(double s)
{
	struct timespec ts = {(time_t) s, (long) ((s - (double) (time_t) s) * 1e9)};
	nanosleep(&ts, NULL);
}

bool
os_http_send(struct os_http *h, const char *method, const char *path, const char *body,
	     size_t len, enum os_content ct, int retries, const char *context)
{
	CURL *c = h->curl;
	if (body == NULL && strcmp(method, "POST") == 0) {
		body = ""; /* an empty body, sent with Content-Length: 0 */
		len = 0;
	}
	struct buf url;
	buf_init(&url);
	buf_printf(&url, "%s%s", h->cfg->base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, buf_cstr(&url));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, ct == OS_NDJSON ? h->hdr_ndjson : h->hdr_json);
	if (body) {
		/* a fixed body (never a chunked stream): SigV4 hashes it */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, strcmp(method, "GET") ? method : NULL);
	}
	bool ok = false;
	for (int attempt = 0;; attempt++) {
		h->attempts = attempt + 1;
		buf_reset(&h->resp);
		h->resp.failed = false;
		h->retry_after = 0;
		h->status = 0;
		h->errbuf[0] = '\0';
		CURLcode rc = curl_easy_perform(c);
		if (rc == CURLE_OK) {
			h->connected = true;
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
			if (!os_retryable_status(h->status) || attempt >= retries) {
				ok = true;
				break;
			}
			log_debug("%s: %s %s: HTTP %ld, retrying (%d of %d)", h->label, method, path,
				  h->status, attempt + 1, retries);
		} else if (rc == CURLE_WRITE_ERROR && h->resp.failed) {
			log_error("%s: %s: %s %s: response larger than %zu MiB", h->label, context,
				  method, path, OS_MAX_RESPONSE >> 20);
			log_hint("lower page_size in the URI");
			break;
		} else if (!transport_retryable(rc) || attempt >= retries || !h->connected) {
			const char *why = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
			if (rc == CURLE_PARTIAL_FILE)
				log_error("%s: %s: %s %s: truncated response: %s", h->label, context,
					  method, path, why);
			else
				log_error("%s: %s: %s %s%s: %s", h->label, context, method, h->cfg->base_url,
					  path, why);
			if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)
				log_hint("is OpenSearch listening there? check the host and port of the URI");
			else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE)
				log_hint("give the CA with cafile=/path/ca.pem in the URI");
			else if (rc == CURLE_OPERATION_TIMEDOUT)
				log_hint("the server did not answer in time; raise --statement-timeout");
			break;
		} else {
			log_debug("%s: %s %s: %s, retrying (%d of %d)", h->label, method, path,
				  curl_easy_strerror(rc), attempt + 1, retries);
		}
		sleep_for(os_backoff_delay(attempt + 1, h->retry_after, &h->seed));
	}
	buf_free(&url);
	return ok;
}

void
os_http_log_status(const struct os_http *h, const char *method, const char *path,
		   const char *context)
{
	struct buf msg, type;
	buf_init(&msg);
	buf_init(&type);
	os_error_text(h->status, h->resp.data, h->resp.len, &msg, &type);
	char tries[48] = "";
	if (h->attempts > 1)
		snprintf(tries, sizeof(tries), " (after %d attempts)", h->attempts);
	log_error("%s: %s: %s %s: HTTP %ld%s: %s", h->label, context, method, path, h->status,
		  tries, buf_cstr(&msg));
	const char *hint = os_error_hint(h->status, buf_cstr(&type));
	if (strstr(buf_cstr(&msg), "Result window is too large"))
		hint = "the index has a smaller index.max_result_window: lower page_size in the URI";
	if (hint)
		log_hint("%s", hint);
	buf_free(&msg);
	buf_free(&type);
}

bool
os_http_call(struct os_http *h, const char *method, const char *path, const char *body,
	     size_t len, const char *context)
{
	if (!os_http_send(h, method, path, body, len, OS_JSON, h->cfg->max_retries, context))
		return false;
	if (h->status >= 200 && h->status <= 299)
		return true;
	os_http_log_status(h, method, path, context);
	return false;
}
