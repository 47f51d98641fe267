/*
 * endpoint/s3_http.c: the S3 REST calls the endpoint needs, signed with SigV4.
 *
 * Two calls: ListObjectsV2 (with continuation, s3-dms.md D1) and GetObject with a Range
 * (D2). Requests are signed here rather than by CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian
 * 12) neither adds x-amz-content-sha256 nor signs keys with '=' correctly (D5), and doing
 * it ourselves keeps the canonical request under our control. The signer follows D4: the
 * path is encoded once and never normalised, query names and values are encoded with the
 * same rule and sorted, header values are trimmed; tests compare it with botocore.
 *
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
 * else from the AWS_PROFILE (default "default") section of ~/.aws/credentials
 * (AWS_SHARED_CREDENTIALS_FILE); they live only in this struct and the signing key, never
 * in a log line. Transient answers (500, 502, 503 SlowDown, 504, a dropped connection) are
 * retried with a growing pause; the others become one clear error line.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "endpoint/s3_internal.h"
#include "util/log.h"
#include "util/sha256.h"
#include "util/str.h"

#define ATTEMPTS 5
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_LIST_BODY ((size_t) 16 << 20)

struct s3_client {
	CURL *curl;
	const char *label;	/* borrowed */
	char *bucket;
	char *scheme_host;	/* "https://s3.us-east-1.amazonaws.com" or the endpoint= URL */
	char *host;		/* Host: header value */
	bool path_style;
	char *region;
	char *access_key, *secret_key, *token;
	struct buf body;
	struct buf error_text;
	char bucket_region[64]; /* x-amz-bucket-region of the last answer */
};

/* --- the signer --------------------------------------------------------------------------- */

void
s3_uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char) s[i];
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
			buf_append_char(out, (char) c);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			buf_append(out, e, 3);
		}
	}
}

struct kv {
	char *k, *v;
};

static int
cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->k, y->k);
	return c ? c : strcmp(x->v, y->v);
}

/* trimmed: the header value without outer spaces and with inner runs of spaces as one */
static char *
trimmed(const char *v)
{
	struct buf b;
	buf_init(&b);
	bool space = false;
	for (const char *p = v; *p; p++) {
		if (isspace((unsigned char) *p)) {
			space = b.len > 0;
			continue;
		}
		if (space)
			buf_append_char(&b, ' ');
		space = false;
		buf_append_char(&b, *p);
	}
	return b.len ? buf_steal(&b) : xstrdup("");
}

static char *
lower(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char) tolower((unsigned char) *p);
	return r;
}

bool
sigv4_authorization(const struct sigv4_request *r, struct buf *out)
{
	struct buf creq, sts, scope;
	buf_init(&creq);
	buf_init(&sts);
	buf_init(&scope);
	/* canonical request: method, path, query, headers, signed headers, payload hash */
	buf_printf(&creq, "%s\n", r->method);
	s3_uri_encode(&creq, r->path, strlen(r->path), true);
	buf_append_char(&creq, '\n');
	struct kv *q = xcalloc((size_t) r->nquery + 1, sizeof(*q));
	for (int i = 0; i < r->nquery; i++) {
		struct buf k, v;
		buf_init(&k);
		buf_init(&v);
		s3_uri_encode(&k, r->query[2 * i], strlen(r->query[2 * i]), false);
		const char *val = r->query[2 * i + 1] ? r->query[2 * i + 1] : "";
		s3_uri_encode(&v, val, strlen(val), false);
		q[i].k = k.len ? buf_steal(&k) : xstrdup("");
		q[i].v = v.len ? buf_steal(&v) : xstrdup("");
		buf_free(&k);
		buf_free(&v);
	}
	qsort(q, (size_t) r->nquery, sizeof(*q), cmp_kv);
	for (int i = 0; i < r->nquery; i++)
		buf_printf(&creq, "%s%s=%s", i ? "&" : "", q[i].k, q[i].v);
	buf_append_char(&creq, '\n');
	int nh = 3 + (r->session_token ? 1 : 0) + r->nheaders;
	struct kv *h = xcalloc((size_t) nh, sizeof(*h));
	int k = 0;
	h[k++] = (struct kv){xstrdup("host"), trimmed(r->host)};
	h[k++] = (struct kv){xstrdup("x-amz-content-sha256"), trimmed(r->payload_hash)};
	h[k++] = (struct kv){xstrdup("x-amz-date"), trimmed(r->amz_date)};
	if (r->session_token)
		h[k++] = (struct kv){xstrdup("x-amz-security-token"), trimmed(r->session_token)};
	for (int i = 0; i < r->nheaders; i++)
		h[k++] = (struct kv){lower(r->headers[2 * i]), trimmed(r->headers[2 * i + 1])};
	qsort(h, (size_t) nh, sizeof(*h), cmp_kv);
	for (int i = 0; i < nh; i++)
		buf_printf(&creq, "%s:%s\n", h[i].k, h[i].v);
	buf_append_char(&creq, '\n');
	struct buf signed_headers;
	buf_init(&signed_headers);
	for (int i = 0; i < nh; i++)
		buf_printf(&signed_headers, "%s%s", i ? ";" : "", h[i].k);
	buf_printf(&creq, "%s\n%s", buf_cstr(&signed_headers), r->payload_hash);

	/* string to sign, and the key derived from the secret by the HMAC chain */
	unsigned char d[SHA256_LEN];
	char hex[65];
	sha256(creq.data, creq.len, d);
	sha256_hex(d, hex);
	buf_printf(&scope, "%.8s/%s/%s/aws4_request", r->amz_date, r->region, r->service);
	buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, buf_cstr(&scope), hex);
	struct buf key0;
	buf_init(&key0);
	buf_printf(&key0, "AWS4%s", r->secret_key);
	unsigned char kd[SHA256_LEN], kr[SHA256_LEN], ks[SHA256_LEN], kk[SHA256_LEN], sig[SHA256_LEN];
	hmac_sha256(key0.data, key0.len, r->amz_date, 8, kd);
	hmac_sha256(kd, SHA256_LEN, r->region, strlen(r->region), kr);
	hmac_sha256(kr, SHA256_LEN, r->service, strlen(r->service), ks);
	hmac_sha256(ks, SHA256_LEN, "aws4_request", 12, kk);
	hmac_sha256(kk, SHA256_LEN, sts.data, sts.len, sig);
	sha256_hex(sig, hex);
	memset(key0.data, 0, key0.len); /* the secret does not linger in freed memory */
	memset(kd, 0, sizeof(kd));
	memset(kk, 0, sizeof(kk));
	buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		   r->access_key, buf_cstr(&scope), buf_cstr(&signed_headers), hex);
	for (int i = 0; i < r->nquery; i++) {
		free(q[i].k);
		free(q[i].v);
	}
	for (int i = 0; i < nh; i++) {
		free(h[i].k);
		free(h[i].v);
	}
	free(q);
	free(h);
	buf_free(&key0);
	buf_free(&signed_headers);
	buf_free(&creq);
	buf_free(&sts);
	buf_free(&scope);
	return !out->failed;
}

/* --- credentials ------------------------------------------------------------------------------ */

static char *
env_dup(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? xstrdup(v) : NULL;
}

static void
wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

/* profile_credentials reads aws_access_key_id & co. from the profile's section. */
static void
profile_credentials(struct s3_client *c)
{
	const char *profile = getenv("AWS_PROFILE");
	if (profile == NULL || *profile == '\0')
		profile = "default";
	struct buf path;
	buf_init(&path);
	const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE");
	if (file && *file)
		buf_append_str(&path, file);
	else if (getenv("HOME"))
		buf_printf(&path, "%s/.aws/credentials", getenv("HOME"));
	FILE *f = path.len ? fopen(buf_cstr(&path), "r") : NULL;
	buf_free(&path);
	if (f == NULL)
		return;
	char *line = NULL;
	size_t cap = 0;
	bool in = false;
	while (getline(&line, &cap, f) > 0) {
		char *s = line;
		while (isspace((unsigned char) *s))
			s++;
		char *e = s + strlen(s);
		while (e > s && isspace((unsigned char) e[-1]))
			*--e = '\0';
		if (*s == '[') {
			char *rb = strchr(s, ']');
			in = rb && (size_t) (rb - s - 1) == strlen(profile) &&
			     strncmp(s + 1, profile, strlen(profile)) == 0;
			continue;
		}
		char *eq = strchr(s, '=');
		if (!in || eq == NULL)
			continue;
		char *k = s, *v = eq + 1;
		char *ke = eq;
		while (ke > k && isspace((unsigned char) ke[-1]))
			ke--;
		*ke = '\0';
		while (isspace((unsigned char) *v))
			v++;
		char **dst = strcmp(k, "aws_access_key_id") == 0       ? &c->access_key
			     : strcmp(k, "aws_secret_access_key") == 0 ? &c->secret_key
			     : strcmp(k, "aws_session_token") == 0     ? &c->token
								       : NULL;
		if (dst && *dst == NULL)
			*dst = xstrdup(v);
	}
	if (line)
		memset(line, 0, cap);
	free(line);
	fclose(f);
}

/* --- transport ------------------------------------------------------------------------------------ */

static size_t
write_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	return buf_append(b, data, size * nmemb) ? size * nmemb : 0;
}

static size_t
read_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct s3_client *c = ctx;
	size_t n = size * nmemb;
	static const char name[] = "x-amz-bucket-region:";
	if (n > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
		const char *v = data + sizeof(name) - 1;
		while (*v == ' ')
			v++;
		size_t l = strcspn(v, "\r\n");
		if (l >= sizeof(c->bucket_region))
			l = sizeof(c->bucket_region) - 1;
		memcpy(c->bucket_region, v, l);
		c->bucket_region[l] = '\0';
	}
	return n;
}

static void
curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool
s3_client_open(const struct s3_settings *set, const char *label, struct s3_client **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_init_once);
	struct s3_client *c = xcalloc(1, sizeof(*c));
	c->label = label;
	c->bucket = xstrdup(set->bucket);
	c->region = set->region ? xstrdup(set->region) : env_dup("AWS_REGION");
	if (c->region == NULL)
		c->region = env_dup("AWS_DEFAULT_REGION");
	if (c->region == NULL)
		c->region = xstrdup("us-east-1");
	c->access_key = env_dup("AWS_ACCESS_KEY_ID");
	c->secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
	c->token = env_dup("AWS_SESSION_TOKEN");
	if (c->access_key == NULL || c->secret_key == NULL) {
		wipe_free(c->access_key);
		wipe_free(c->secret_key);
		wipe_free(c->token);
		c->access_key = c->secret_key = c->token = NULL;
		profile_credentials(c);
	}
	if (c->access_key == NULL || c->secret_key == NULL)
		log_notice("%s: no AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a "
			   "profile in ~/.aws/credentials): requests go unsigned",
			   label);
	struct buf b;
	buf_init(&b);
	bool dotted = strchr(c->bucket, '.') != NULL;
	if (set->endpoint_url) {
		buf_append_str(&b, set->endpoint_url);
		while (b.len > 0 && b.data[b.len - 1] == '/')
			b.data[--b.len] = '\0';
		c->path_style = true; /* an S3-compatible server: no bucket DNS names */
		if (strncmp(b.data, "http://", 7) != 0 && strncmp(b.data, "https://", 8) != 0) {
			log_error("%s: endpoint=%s: expected http://host[:port] or https://host[:port]",
				  label, set->endpoint_url);
			buf_free(&b);
			s3_client_close(c);
			return false;
		}
	} else {
		c->path_style = set->path_style || dotted; /* dotted names fail the TLS wildcard (D3) */
		if (c->path_style)
			buf_printf(&b, "https://s3.%s.amazonaws.com", c->region);
		else
			buf_printf(&b, "https://%s.s3.%s.amazonaws.com", c->bucket, c->region);
	}
	c->scheme_host = buf_steal(&b);
	const char *h = strstr(c->scheme_host, "://") + 3;
	c->host = xstrdup(h);
	buf_free(&b);
	buf_init(&c->body);
	buf_init(&c->error_text);
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		log_error("%s: cannot start libcurl", label);
		s3_client_close(c);
		return false;
	}
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(c->curl, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled read is retried */
	curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_KEEPALIVE, 1L);
	*out = c;
	return true;
}

void
s3_client_close(struct s3_client *c)
{
	if (c == NULL)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->bucket);
	free(c->scheme_host);
	free(c->host);
	free(c->region);
	free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->token);
	buf_free(&c->body);
	buf_free(&c->error_text);
	free(c);
}

/* xml_text: the text of the first <tag>…</tag> in [p, end), entities decoded. */
static bool
xml_text(const char *p, const char *end, const char *tag, struct buf *out, const char **after)
{
	char open[64], close[64];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *s = memmem(p, (size_t) (end - p), open, strlen(open));
	if (s == NULL)
		return false;
	s += strlen(open);
	const char *e = memmem(s, (size_t) (end - s), close, strlen(close));
	if (e == NULL)
		return false;
	buf_reset(out);
	for (const char *q = s; q < e; q++) {
		if (*q != '&') {
			buf_append_char(out, *q);
			continue;
		}
		const char *semi = memchr(q, ';', (size_t) (e - q));
		if (semi == NULL) {
			buf_append_char(out, *q);
			continue;
		}
		size_t n = (size_t) (semi - q - 1);
		static const struct {
			const char *name;
			char c;
		} ents[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
		bool done = false;
		for (size_t i = 0; i < 5 && !done; i++)
			if (n == strlen(ents[i].name) && strncmp(q + 1, ents[i].name, n) == 0) {
				buf_append_char(out, ents[i].c);
				done = true;
			}
		if (!done && n > 1 && q[1] == '#') {
			char num[16];
			snprintf(num, sizeof(num), "%.*s", (int) (n - 1 < 15 ? n - 1 : 15), q + 2);
			long cp = num[0] == 'x' ? strtol(num + 1, NULL, 16) : strtol(num, NULL, 10);
			if (cp > 0 && cp < 0x110000) {
				buf_append_codepoint(out, (uint32_t) cp);
				done = true;
			}
		}
		if (!done) {
			buf_append(out, q, n + 2);
		}
		q = semi;
	}
	if (out->data == NULL)
		buf_append(out, "", 0);
	if (after)
		*after = e + strlen(close);
	return true;
}

/* describe_error turns an answer into one line and a hint; returns the error text. */
static const char *
describe_error(struct s3_client *c, long status, const char *what)
{
	struct buf code, msg;
	buf_init(&code);
	buf_init(&msg);
	const char *b = c->body.data ? c->body.data : "", *e = b + c->body.len;
	xml_text(b, e, "Code", &code, NULL);
	xml_text(b, e, "Message", &msg, NULL);
	buf_reset(&c->error_text);
	buf_printf(&c->error_text, "%s: HTTP %ld%s%s%s%s", what, status, code.len ? " " : "",
		   code.len ? code.data : "", msg.len ? ": " : "", msg.len ? msg.data : "");
	log_error("%s: s3://%s: %s", c->label, c->bucket, buf_cstr(&c->error_text));
	const char *cd = code.len ? code.data : "";
	if (strcmp(cd, "NoSuchBucket") == 0 || (status == 404 && code.len == 0))
		log_hint("check the bucket name, and endpoint= for an S3-compatible server");
	else if (strcmp(cd, "SignatureDoesNotMatch") == 0 || strcmp(cd, "InvalidAccessKeyId") == 0)
		log_hint("check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the AWS_PROFILE used)");
	else if (strcmp(cd, "InvalidToken") == 0 || strcmp(cd, "ExpiredToken") == 0)
		log_hint("AWS_SESSION_TOKEN is wrong or expired: get new temporary credentials");
	else if (strcmp(cd, "AccessDenied") == 0 || status == 403)
		log_hint("the credentials need s3:ListBucket and s3:GetObject on the bucket");
	else if (strcmp(cd, "AuthorizationHeaderMalformed") == 0 || status == 301 || status == 307 ||
		 strcmp(cd, "PermanentRedirect") == 0)
	{
		if (c->bucket_region[0])
			log_hint("the bucket is in region %s: add region=%s to the URI", c->bucket_region,
				 c->bucket_region);
		else
			log_hint("the bucket is in another region: add region=REGION to the URI");
	}
	buf_free(&code);
	buf_free(&msg);
	return buf_cstr(&c->error_text);
}

static bool
retryable(long status, CURLcode rc)
{
	if (rc != CURLE_OK)
		return rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
		       rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING ||
		       rc == CURLE_PARTIAL_FILE;
	return status == 500 || status == 502 || status == 503 || status == 504;
}

/*
 * request performs one signed GET of path?query (raw pairs) with an optional Range,
 * retried on transient failures; the body lands in out. *status gets the last status.
 */
static bool
request(struct s3_client *c, const char *key, const char *const *query, int nquery,
	const char *range, struct buf *out, long *status, const char **err)
{
	struct buf path, url, auth, hdr;
	buf_init(&path);
	buf_init(&url);
	buf_init(&auth);
	buf_init(&hdr);
	if (c->path_style)
		buf_printf(&path, "/%s/%s", c->bucket, key ? key : "");
	else
		buf_printf(&path, "/%s", key ? key : "");
	buf_append_str(&url, c->scheme_host);
	s3_uri_encode(&url, path.data, path.len, true);
	for (int i = 0; i < nquery; i++) {
		buf_append_char(&url, i ? '&' : '?');
		s3_uri_encode(&url, query[2 * i], strlen(query[2 * i]), false);
		buf_append_char(&url, '=');
		s3_uri_encode(&url, query[2 * i + 1], strlen(query[2 * i + 1]), false);
	}
	bool ok = false;
	*err = NULL;
	for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
		size_t before = out->len;
		char amz_date[20];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tm);
		struct curl_slist *hl = NULL;
		buf_reset(&hdr);
		buf_printf(&hdr, "x-amz-date: %s", amz_date);
		hl = curl_slist_append(hl, buf_cstr(&hdr));
		hl = curl_slist_append(hl, "x-amz-content-sha256: " EMPTY_SHA256);
		if (range) {
			buf_reset(&hdr);
			buf_printf(&hdr, "Range: %s", range);
			hl = curl_slist_append(hl, buf_cstr(&hdr));
		}
		if (c->access_key && c->secret_key) {
			const char *extra[2] = {"range", range};
			struct sigv4_request sr = {
				.method = "GET", .host = c->host, .path = buf_cstr(&path),
				.query = query, .nquery = nquery, .headers = extra,
				.nheaders = range ? 1 : 0, .amz_date = amz_date, .region = c->region,
				.service = "s3", .access_key = c->access_key,
				.secret_key = c->secret_key, .session_token = c->token,
				.payload_hash = EMPTY_SHA256,
			};
			buf_reset(&auth);
			buf_append_str(&auth, "Authorization: ");
			sigv4_authorization(&sr, &auth);
			hl = curl_slist_append(hl, buf_cstr(&auth));
			if (c->token) {
				buf_reset(&hdr);
				buf_printf(&hdr, "x-amz-security-token: %s", c->token);
				hl = curl_slist_append(hl, buf_cstr(&hdr));
			}
		}
		c->bucket_region[0] = '\0';
		buf_reset(&c->body);
		curl_easy_setopt(c->curl, CURLOPT_URL, buf_cstr(&url));
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hl);
		curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, out);
		CURLcode rc = curl_easy_perform(c->curl);
		curl_slist_free_all(hl);
		*status = 0;
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
		if (rc == CURLE_OK && (*status == 200 || *status == 206)) {
			ok = true;
			break;
		}
		if (rc == CURLE_OK && range && *status == 416) {
			/* the object is shorter than listed (replaced since): its end is here */
			out->len = before;
			ok = true;
			break;
		}
		/* an error answer: its body is the error XML, not data */
		if (rc == CURLE_OK) {
			buf_append(&c->body, out->data + before, out->len - before);
		}
		out->len = before;
		if (out->data)
			out->data[before] = '\0';
		if (attempt < ATTEMPTS && retryable(*status, rc)) {
			double pause = 0.2 * (double) (1 << (attempt - 1)) * (0.75 + 0.5 * (double) rand() / RAND_MAX);
			log_warn("%s: s3://%s/%s: %s; retrying in %.1f s", c->label, c->bucket,
				 key ? key : "(ListObjectsV2)",
				 rc != CURLE_OK ? curl_easy_strerror(rc) : "server busy", pause);
			usleep((useconds_t) (pause * 1e6));
			continue;
		}
		if (rc != CURLE_OK) {
			buf_reset(&c->error_text);
			buf_printf(&c->error_text, "%s", curl_easy_strerror(rc));
			log_error("%s: %s: %s", c->label, c->scheme_host, curl_easy_strerror(rc));
			log_hint("check endpoint= (or the network) and that the server is up");
			*err = buf_cstr(&c->error_text);
		} else {
			*err = describe_error(c, *status, key ? key : "ListObjectsV2");
		}
		break;
	}
	buf_free(&path);
	buf_free(&url);
	buf_free(&auth);
	buf_free(&hdr);
	return ok;
}

static bool
parse_time(const char *s, double *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int ms = 0;
	if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	const char *dot = strchr(s, '.');
	if (dot)
		ms = (int) (strtol(dot + 1, NULL, 10) % 1000); /* LastModified's "sss" */
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (double) timegm(&tm) + ms / 1000.0;
	return true;
}

bool
s3_client_list(struct s3_client *c, const char *prefix, struct s3_objlist *out)
{
	struct buf body, token, v;
	buf_init(&body);
	buf_init(&token);
	buf_init(&v);
	body.cap = MAX_LIST_BODY;
	bool ok = true, more = true;
	int pages = 0;
	while (ok && more) {
		const char *q[6] = {"list-type", "2", "prefix", prefix, "continuation-token", NULL};
		int nq = 2;
		if (token.len) {
			q[5] = buf_cstr(&token);
			nq = 3;
		}
		long status;
		const char *err;
		buf_reset(&body);
		ok = request(c, NULL, q, nq, NULL, &body, &status, &err);
		if (!ok)
			break;
		const char *p = body.data ? body.data : "", *end = p + body.len;
		if (memmem(p, body.len, "<ListBucketResult", 17) == NULL) {
			/* "a 200 OK can contain invalid XML" (D1) */
			log_error("%s: s3://%s: ListObjectsV2 answered 200 without a ListBucketResult",
				  c->label, c->bucket);
			ok = false;
			break;
		}
		const char *cur = p;
		for (;;) {
			const char *s = memmem(cur, (size_t) (end - cur), "<Contents>", 10);
			if (s == NULL)
				break;
			const char *e = memmem(s, (size_t) (end - s), "</Contents>", 11);
			if (e == NULL) {
				ok = false;
				break;
			}
			int64_t size = 0;
			double mtime = 0;
			if (!xml_text(s, e, "Key", &v, NULL)) {
				ok = false;
				break;
			}
			char *key = xstrdup(buf_cstr(&v));
			if (xml_text(s, e, "Size", &v, NULL))
				str_to_int64(buf_cstr(&v), &size);
			if (xml_text(s, e, "LastModified", &v, NULL))
				parse_time(buf_cstr(&v), &mtime);
			if (out->n == out->alloc) {
				out->alloc = out->alloc ? 2 * out->alloc : 256;
				out->items = xrealloc(out->items, (size_t) out->alloc * sizeof(*out->items));
			}
			out->items[out->n++] = (struct s3_object){key, size, mtime};
			cur = e + 11;
		}
		if (!ok) {
			log_error("%s: s3://%s: a malformed ListObjectsV2 page", c->label, c->bucket);
			break;
		}
		/* elements in any order (s3rver puts NextContinuationToken first, D1) */
		more = xml_text(p, end, "IsTruncated", &v, NULL) && strcmp(buf_cstr(&v), "true") == 0;
		if (more && !xml_text(p, end, "NextContinuationToken", &token, NULL)) {
			log_error("%s: s3://%s: a truncated listing without a continuation token",
				  c->label, c->bucket);
			ok = false;
		}
		pages++;
	}
	if (ok && pages > 1)
		log_debug("%s: s3://%s/%s: %d objects in %d pages", c->label, c->bucket, prefix,
			  out->n, pages);
	buf_free(&body);
	buf_free(&token);
	buf_free(&v);
	return ok;
}

bool
s3_client_get(struct s3_client *c, const char *key, int64_t off, int64_t n, struct buf *out,
	      const char **err)
{
	char range[64];
	snprintf(range, sizeof(range), "bytes=%lld-%lld", (long long) off, (long long) (off + n - 1));
	long status;
	return request(c, key, NULL, 0, range, out, &status, err);
}
