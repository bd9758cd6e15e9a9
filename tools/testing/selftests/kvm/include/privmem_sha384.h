/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SHA-384 in user space, for tests that recompute a measurement the
 * firmware or module models compute in the kernel (the SNP launch digest,
 * the TDX MRTD): written here, so that the two sides share no code.
 * Call sha384_init_constants() once before sha384().
 */
#ifndef SELFTEST_KVM_PRIVMEM_SHA384_H
#define SELFTEST_KVM_PRIVMEM_SHA384_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kselftest.h"
#include "test_util.h"

#define SHA384_DIGEST_SIZE	48

/*
 * SHA-512's round constants and SHA-384's initial value are the first 64
 * fraction bits of the cube roots of the first 80 primes and of the square
 * roots of the 9th to 16th primes; compute them exactly rather than carry
 * a table.  Numbers are little-endian arrays of 32-bit limbs.
 */
#define ROOT_LIMBS	3	/* the root: up to 70 bits */
#define POW_LIMBS	9	/* its cube */

static inline void big_mul(const uint32_t *a, int na, const uint32_t *b,
			   int nb, uint32_t *r)
{
	int i, j;

	memset(r, 0, (na + nb) * sizeof(*r));
	for (i = 0; i < na; i++) {
		uint64_t carry = 0;

		for (j = 0; j < nb; j++) {
			uint64_t t = (uint64_t)a[i] * b[j] + r[i + j] + carry;

			r[i + j] = (uint32_t)t;
			carry = t >> 32;
		}
		r[i + nb] = carry;
	}
}

/* floor(frac(p^(1/k)) * 2^64) for k = 2 or 3. */
static inline uint64_t root_fraction(uint32_t p, int k)
{
	uint32_t x[ROOT_LIMBS] = {}, sq[2 * ROOT_LIMBS], pw[POW_LIMBS + ROOT_LIMBS];
	uint32_t target[POW_LIMBS + ROOT_LIMBS] = {};
	int bit, i, n;

	/* x = floor(root(p * 2^(64k))): its low 64 bits are the fraction. */
	target[2 * k] = p;
	for (bit = 32 * ROOT_LIMBS - 1; bit >= 0; bit--) {
		x[bit / 32] |= 1u << (bit % 32);
		big_mul(x, ROOT_LIMBS, x, ROOT_LIMBS, sq);
		if (k == 3) {
			big_mul(sq, 2 * ROOT_LIMBS, x, ROOT_LIMBS, pw);
			n = 3 * ROOT_LIMBS;
		} else {
			memcpy(pw, sq, sizeof(sq));
			n = 2 * ROOT_LIMBS;
		}
		for (i = n - 1; i >= 0 && pw[i] == target[i]; i--)
			;
		if (i >= 0 && pw[i] > target[i])
			x[bit / 32] &= ~(1u << (bit % 32));
	}
	return (uint64_t)x[1] << 32 | x[0];
}

static uint64_t sha512_k[80];
static uint64_t sha384_iv[8];

static inline void sha384_init_constants(void)
{
	uint32_t p, d, n = 0;

	for (p = 2; n < 80; p++) {
		for (d = 2; d * d <= p && p % d; d++)
			;
		if (d * d <= p)
			continue;
		if (n >= 8 && n < 16)
			sha384_iv[n - 8] = root_fraction(p, 2);
		sha512_k[n++] = root_fraction(p, 3);
	}
}

static inline uint64_t ror64(uint64_t x, int n)
{
	return x >> n | x << (64 - n);
}

static inline void sha512_block(uint64_t h[8], const uint8_t *blk)
{
	uint64_t w[80], v[8], t1, t2;
	int i, j;

	for (i = 0; i < 16; i++)
		for (w[i] = 0, j = 0; j < 8; j++)
			w[i] = w[i] << 8 | blk[8 * i + j];
	for (i = 16; i < 80; i++)
		w[i] = (ror64(w[i - 2], 19) ^ ror64(w[i - 2], 61) ^ (w[i - 2] >> 6)) +
		       w[i - 7] +
		       (ror64(w[i - 15], 1) ^ ror64(w[i - 15], 8) ^ (w[i - 15] >> 7)) +
		       w[i - 16];
	memcpy(v, h, sizeof(v));
	for (i = 0; i < 80; i++) {
		t1 = v[7] + (ror64(v[4], 14) ^ ror64(v[4], 18) ^ ror64(v[4], 41)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + sha512_k[i] + w[i];
		t2 = (ror64(v[0], 28) ^ ror64(v[0], 34) ^ ror64(v[0], 39)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		memmove(v + 1, v, 7 * sizeof(v[0]));
		v[4] += t1;
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
}

static inline void sha384(const void *data, size_t len, uint8_t out[SHA384_DIGEST_SIZE])
{
	const uint8_t *p = data;
	uint8_t blk[128];
	uint64_t h[8];
	size_t left = len;
	int i;

	memcpy(h, sha384_iv, sizeof(h));
	for (; left >= 128; left -= 128, p += 128)
		sha512_block(h, p);
	memset(blk, 0, sizeof(blk));
	memcpy(blk, p, left);
	blk[left] = 0x80;
	if (left >= 112) {
		sha512_block(h, blk);
		memset(blk, 0, sizeof(blk));
	}
	for (i = 0; i < 8; i++)
		blk[127 - i] = (uint8_t)((uint64_t)len * 8 >> (8 * i));
	sha512_block(h, blk);
	for (i = 0; i < SHA384_DIGEST_SIZE; i++)
		out[i] = h[i / 8] >> (56 - 8 * (i % 8));
}

static inline void sha384_selftest(void)
{
	static const uint8_t abc[SHA384_DIGEST_SIZE] = {
		0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b, 0xb5, 0xa0, 0x3d, 0x69,
		0x9a, 0xc6, 0x50, 0x07, 0x27, 0x2c, 0x32, 0xab, 0x0e, 0xde, 0xd1, 0x63,
		0x1a, 0x8b, 0x60, 0x5a, 0x43, 0xff, 0x5b, 0xed, 0x80, 0x86, 0x07, 0x2b,
		0xa1, 0xe7, 0xcc, 0x23, 0x58, 0xba, 0xec, 0xa1, 0x34, 0xc8, 0x25, 0xa7,
	};
	uint8_t d[SHA384_DIGEST_SIZE];

	/* FIPS 180-2's example, and the well-known first constants. */
	TEST_ASSERT(sha512_k[0] == 0x428a2f98d728ae22ull &&
		    sha384_iv[0] == 0xcbbb9d5dc1059ed8ull,
		    "SHA-384 constants: %lx %lx", sha512_k[0], sha384_iv[0]);
	sha384("abc", 3, d);
	TEST_ASSERT(!memcmp(d, abc, sizeof(d)), "SHA-384(\"abc\") is wrong");
	ksft_test_result_pass("the test's SHA-384 matches FIPS 180-2's example\n");
}

#endif /* SELFTEST_KVM_PRIVMEM_SHA384_H */
