/*
 * util/sha256.h: SHA-256 and HMAC-SHA-256 (FIPS 180-4, RFC 2104), for AWS SigV4.
 *
 * crosscheck signs its own S3 requests (endpoint/s3_http.c) so that it controls how
 * paths and queries are canonicalised; these few lines save a crypto library dependency.
 */
#ifndef CROSSCHECK_UTIL_SHA256_H
#define CROSSCHECK_UTIL_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t total;		/* bytes hashed */
	unsigned char block[64];
	size_t used;		/* bytes in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		 unsigned char out[SHA256_LEN]);
/* sha256_hex writes 64 lowercase hex digits and a NUL into hex[65]. */
void sha256_hex(const unsigned char d[SHA256_LEN], char hex[65]);

#endif
