/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-256 and HMAC-SHA256 in user space, for tests that recompute what the
 * SEV firmware model computes in the kernel (an SEV guest's launch digest
 * and LAUNCH_MEASURE's HMAC): written here, so that the two sides share no
 * code.  Call sha256_init_constants() once before the rest.
 */
#ifndef SELFTEST_KVM_PRIVMEM_SHA256_H
#define SELFTEST_KVM_PRIVMEM_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kselftest.h"
#include "test_util.h"

#define SHA256_DIGEST_SIZE	32
#define SHA256_BLOCK_SIZE	64

static uint32_t sha256_k[64], sha256_iv[8];

static inline unsigned __int128 int_pow(uint64_t x, int n)
{
	return n == 3 ? (unsigned __int128)x * x * x : (unsigned __int128)x * x;
}

/* The largest r with r^n <= v (n = 2 or 3), by bisection. */
static inline uint64_t int_root(unsigned __int128 v, int n)
{
	uint64_t lo = 0, hi = 1ull << 40;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2;

		if (int_pow(mid, n) <= v)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/*
 * The round constants and the initial value are the first 32 fraction bits
 * of the cube roots of the first 64 primes and of the square roots of the
 * first 8: floor(root(p * 2^(32n))) mod 2^32, computed exactly.
 */
static inline void sha256_init_constants(void)
{
	int n = 0, p, d;

	for (p = 2; n < 64; p++) {
		for (d = 2; d * d <= p && p % d; d++)
			;
		if (d * d <= p)
			continue;
		sha256_k[n] = (uint32_t)int_root((unsigned __int128)p << 96, 3);
		if (n < 8)
			sha256_iv[n] = (uint32_t)int_root((unsigned __int128)p << 64, 2);
		n++;
	}
}

static inline uint32_t ror32(uint32_t v, int n)
{
	return v >> n | v << (32 - n);
}

static inline void sha256_block(uint32_t h[8], const uint8_t *blk)
{
	uint32_t w[64], v[8], t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)blk[4 * i] << 24 | blk[4 * i + 1] << 16 |
		       blk[4 * i + 2] << 8 | blk[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = (ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10)) +
		       w[i - 7] +
		       (ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
		       w[i - 16];
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 64; i++) {
		t1 = v[7] + (ror32(v[4], 6) ^ ror32(v[4], 11) ^ ror32(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha256_k[i] + w[i];
		t2 = (ror32(v[0], 2) ^ ror32(v[0], 13) ^ ror32(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

/* SHA-256 over the concatenation of @n pieces. */
static inline void sha256_v(const void *const *data, const size_t *len, int n,
			    uint8_t out[SHA256_DIGEST_SIZE])
{
	uint8_t blk[SHA256_BLOCK_SIZE];
	uint64_t total = 0;
	size_t fill = 0;
	uint32_t h[8];
	int i;

	memcpy(h, sha256_iv, sizeof(h));
	for (i = 0; i < n; i++) {
		const uint8_t *p = data[i];
		size_t left = len[i];

		total += left;
		while (left) {
			size_t k = SHA256_BLOCK_SIZE - fill;

			if (k > left)
				k = left;

			memcpy(blk + fill, p, k);
			fill += k;
			p += k;
			left -= k;
			if (fill == SHA256_BLOCK_SIZE) {
				sha256_block(h, blk);
				fill = 0;
			}
		}
	}
	blk[fill++] = 0x80;
	if (fill > SHA256_BLOCK_SIZE - 8) {
		memset(blk + fill, 0, SHA256_BLOCK_SIZE - fill);
		sha256_block(h, blk);
		fill = 0;
	}
	memset(blk + fill, 0, SHA256_BLOCK_SIZE - fill);
	for (i = 0; i < 8; i++)
		blk[SHA256_BLOCK_SIZE - 1 - i] = (uint8_t)(total * 8 >> (8 * i));
	sha256_block(h, blk);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		out[i] = h[i / 4] >> (24 - 8 * (i % 4));
}

static inline void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	sha256_v(&data, &len, 1, out);
}

/* HMAC-SHA256 (RFC 2104) of @n pieces, with a key of at most 64 bytes. */
static inline void hmac_sha256_v(const uint8_t *key, size_t key_len, const void *const *data,
				 const size_t *len, int n, uint8_t out[SHA256_DIGEST_SIZE])
{
	uint8_t pad[SHA256_BLOCK_SIZE], inner[SHA256_DIGEST_SIZE];
	const void *parts[9];
	size_t lens[9];
	int i;

	TEST_ASSERT(key_len <= SHA256_BLOCK_SIZE && n < 9, "HMAC: key %zu, %d pieces",
		    key_len, n);
	memset(pad, 0x36, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	parts[0] = pad;
	lens[0] = sizeof(pad);
	for (i = 0; i < n; i++) {
		parts[i + 1] = data[i];
		lens[i + 1] = len[i];
	}
	sha256_v(parts, lens, n + 1, inner);

	memset(pad, 0x5c, sizeof(pad));
	for (i = 0; i < key_len; i++)
		pad[i] ^= key[i];
	parts[1] = inner;
	lens[1] = sizeof(inner);
	sha256_v(parts, lens, 2, out);
}

/* FIPS 180-2's "abc" example and RFC 4231's test case 2. */
static inline void sha256_selftest(void)
{
	static const uint8_t abc[SHA256_DIGEST_SIZE] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde,
		0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t jefe[SHA256_DIGEST_SIZE] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26,
		0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	const void *msg = "what do ya want for nothing?";
	size_t msg_len = strlen(msg);
	uint8_t d[SHA256_DIGEST_SIZE];

	TEST_ASSERT(sha256_k[0] == 0x428a2f98 && sha256_k[63] == 0xc67178f2 &&
		    sha256_iv[0] == 0x6a09e667, "SHA-256 constants: %x %x %x",
		    sha256_k[0], sha256_k[63], sha256_iv[0]);
	sha256("abc", 3, d);
	TEST_ASSERT(!memcmp(d, abc, sizeof(d)), "SHA-256(\"abc\") is wrong");
	hmac_sha256_v((const uint8_t *)"Jefe", 4, &msg, &msg_len, 1, d);
	TEST_ASSERT(!memcmp(d, jefe, sizeof(d)), "HMAC-SHA256 (RFC 4231 case 2) is wrong");
	ksft_test_result_pass("the test's SHA-256 and HMAC match FIPS 180-2 and RFC 4231\n");
}

#endif /* SELFTEST_KVM_PRIVMEM_SHA256_H */
