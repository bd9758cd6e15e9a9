// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private memory under load, for a duration: several vCPUs of a
 * software-protected VM convert their own pages between private and shared
 * (KVM_HC_MAP_GPA_RANGE, handled by their vCPU threads), write them and
 * verify a checksum of every page they own on every pass, while host
 * threads punch holes, pre-fault ranges and delete and re-add a second
 * guest_memfd memslot.  Each VM lives a few seconds; then its guest_memfds
 * are closed and it is destroyed (in either order), and a new one starts,
 * until the duration is over.  No byte of guest data may be lost.
 *
 * Memory: slot A (guest_memfd A) gives each vCPU a 2 MiB chunk that it
 * converts; slot B (guest_memfd B, bound at an offset) gives each vCPU 16
 * pages that stay private and hold data; a thread deletes and re-adds slot
 * B all the time, and a vCPU touching it meanwhile gets
 * KVM_EXIT_MEMORY_FAULT, waits for the slot and resumes.
 *
 * The protocol, per page of slot A (the guest's view; the VMM keeps the
 * same state and checks it against the guest's at the end of each VM):
 *
 *   private, data   the page holds what the guest last wrote there; its
 *                   checksum must match on every pass.  Nobody punches it.
 *   private, zero   the page must read as zeroes.  The host may punch it
 *                   at any time (a punch keeps it zero).  Before writing
 *                   data, the guest claims it (a ucall), which ends that.
 *   shared, keep    converted to shared with its private data to be kept:
 *                   nobody punches it, and when it becomes private again
 *                   the old data must be there, checksum and all.
 *   shared, discard converted to shared with its private data given up
 *                   (or it was zero): the host may punch it at any time,
 *                   and the VMM punches it for sure before making it
 *                   private again, so it then reads as zeroes exactly.
 *
 * Whatever the guest asks (keep or discard) travels in a per-vCPU mailbox
 * in guest memory that the vCPU thread reads when it handles the
 * hypercall.  While shared, a page reads the host's fill pattern or what
 * the guest last wrote there while shared, exactly: private data never
 * shows through.  Slot B pages are private data throughout, slot flips
 * included: deleting and re-adding a memslot leaves the file alone.
 *
 * Every thread runs on CPU 0: QEMU 7.2's TCG nested SVM can corrupt a
 * running vCPU when a TLB shootdown IPI reaches its CPU (see
 * pin_self_to_cpu()).  Threads interleave by preemption.
 *
 *   private_mem_stress_test [-s SECONDS] [-l VM_SECONDS] [-r SEED] [-x MASK] [-v]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "privmem_util.h"
#include "privmem_vm.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define NR_VCPUS		4
/* One more vCPU that never runs: the pre-fault thread's usual target. */
#define SPARE_VCPU		NR_VCPUS

#define SZ_2M			(2ul << 20)
#define SLOT_A			10
#define GPA_A			0x100000000ull
#define CHUNK_A_PAGES		512ul		/* 2 MiB per vCPU */
#define CHUNK_A_SIZE		(CHUNK_A_PAGES * PAGE_SIZE)
#define SIZE_A			(NR_VCPUS * CHUNK_A_SIZE)

#define SLOT_B			11
#define GPA_B			0x180000000ull
#define CHUNK_B_PAGES		16ul
#define CHUNK_B_SIZE		(CHUNK_B_PAGES * PAGE_SIZE)
#define SIZE_B			(NR_VCPUS * CHUNK_B_SIZE)
/* guest_memfd B is twice the slot; the slot sits at 0 or at SIZE_B. */
#define GMEM_B_SIZE		(2 * SIZE_B)

/* No slot here: pre-faulting it must fail with ENOENT. */
#define GPA_HOLE		0x300000000ull

#define WORDS_PER_PAGE		(PAGE_SIZE / sizeof(uint64_t))
#define HOST_TAG		0x484f535446494c4cull	/* host's shared fill */
#define POISON_EXIT		0xdeadbeefu

#define DEFAULT_SECONDS		15
#define DEFAULT_VM_SECONDS	5
/* Guest actions between two verification passes. */
#define ACTIONS_PER_PASS	12

/* Guest syncs, first argument. */
enum {
	STAGE_PASS,	/* a verification pass is done; arg: pass number */
	STAGE_CLAIM,	/* private zero pages [gpa, +n) are about to get data */
	STAGE_LOSS,	/* a page did not read back as it must */
};

/* What a page that failed its check was supposed to hold. */
enum {
	LOSS_PRIVATE_DATA = 1,
	LOSS_PRIVATE_ZERO,
	LOSS_SHARED,
	LOSS_SLOT_B,
};

static const char * const loss_kind[] = {
	[LOSS_PRIVATE_DATA] = "private data",
	[LOSS_PRIVATE_ZERO] = "private zeroes",
	[LOSS_SHARED] = "shared view",
	[LOSS_SLOT_B] = "slot B private data",
};

/* ---------------------------------------------------------------------- */
/* Guest side                                                              */
/* ---------------------------------------------------------------------- */

/* The guest's view of one page of its slot A chunk. */
struct gpage {
	uint8_t shared;		/* attribute: shared (1) or private (0) */
	uint8_t zero;		/* private backing holds zeroes, may be punched */
	uint8_t discard;	/* shared: private data given up, may be punched */
	uint8_t pad[5];
	uint64_t token;		/* private data: seed of the content */
	uint64_t csum;		/* private data: checksum of the content */
	uint64_t stoken;	/* shared view: seed of the content, 0: host fill */
};

struct gstats {
	uint64_t passes;
	uint64_t to_shared;
	uint64_t to_private;
	uint64_t claims;
	uint64_t pages_written;
	uint64_t pages_verified;
	uint64_t lost_bytes;
};

static struct gpage gpages[NR_VCPUS][CHUNK_A_PAGES];
static uint64_t gb_token[NR_VCPUS][CHUNK_B_PAGES];
static uint64_t gb_csum[NR_VCPUS][CHUNK_B_PAGES];
static struct gstats gstats[NR_VCPUS];
/* Guest -> VMM: give up the private data of the next to-shared range. */
static uint64_t mailbox_discard[NR_VCPUS];
/* VMM -> guest: finish up. */
static uint64_t guest_stop;

static inline uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t guest_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

static inline uint64_t data_word(uint64_t token, uint64_t i)
{
	return mix64(token + i);
}

static inline uint64_t shared_word(uint64_t gpa, uint64_t stoken, uint64_t i)
{
	if (!stoken)
		return (gpa + i * sizeof(uint64_t)) ^ HOST_TAG;
	return mix64(stoken ^ (i << 48));
}

static inline uint64_t csum_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

/* Fill a page with the content of @token; returns its checksum. */
static uint64_t guest_write_data(uint64_t gpa, uint64_t token)
{
	uint64_t *p = (uint64_t *)gpa;
	uint64_t i, w, h = token;

	for (i = 0; i < WORDS_PER_PAGE; i++) {
		w = data_word(token, i);
		WRITE_ONCE(p[i], w);
		h = csum_step(h, w);
	}
	return h;
}

static uint64_t guest_csum(uint64_t gpa, uint64_t token)
{
	uint64_t *p = (uint64_t *)gpa;
	uint64_t i, h = token;

	for (i = 0; i < WORDS_PER_PAGE; i++)
		h = csum_step(h, READ_ONCE(p[i]));
	return h;
}

/*
 * A page that failed its check: count the bytes that differ from what it
 * must hold, tell the host, and return the count.
 */
static uint64_t guest_report_loss(int kind, uint64_t gpa, uint64_t token)
{
	uint64_t *p = (uint64_t *)gpa;
	uint64_t i, j, got, want, lost = 0, first = ~0ull, first_val = 0;

	for (i = 0; i < WORDS_PER_PAGE; i++) {
		got = READ_ONCE(p[i]);
		switch (kind) {
		case LOSS_PRIVATE_DATA:
		case LOSS_SLOT_B:
			want = data_word(token, i);
			break;
		case LOSS_SHARED:
			want = shared_word(gpa, token, i);
			break;
		default:
			want = 0;
		}
		if (got == want)
			continue;
		if (first == ~0ull) {
			first = i;
			first_val = got;
		}
		for (j = 0; j < 8; j++)
			lost += ((got >> (8 * j)) & 0xff) != ((want >> (8 * j)) & 0xff);
	}
	/* A checksum mismatch with identical bytes is a checksum bug. */
	if (!lost)
		lost = 1;
	GUEST_SYNC_ARGS(STAGE_LOSS, gpa | kind, lost, first, first_val);
	return lost;
}

static void guest_map(uint64_t gpa, uint64_t npages, bool private)
{
	uint64_t attrs = private ? KVM_MAP_GPA_RANGE_ENCRYPTED :
				   KVM_MAP_GPA_RANGE_DECRYPTED;
	uint64_t ret;

	if (npages * PAGE_SIZE == SZ_2M && !(gpa & (SZ_2M - 1)))
		attrs |= KVM_MAP_GPA_RANGE_PAGE_SZ_2M;
	ret = guest_map_gpa_range(gpa, npages, attrs);
	GUEST_ASSERT_2(!ret, gpa, ret);
}

struct guest_ctx {
	uint64_t idx;
	uint64_t rng;
	uint64_t chunk;		/* GPA of the slot A chunk */
	uint64_t bchunk;	/* GPA of the slot B chunk */
	struct gpage *pg;
	struct gstats *st;
};

static uint64_t page_gpa(struct guest_ctx *c, uint64_t i)
{
	return c->chunk + i * PAGE_SIZE;
}

static void guest_action_write(struct guest_ctx *c, uint64_t first, uint64_t n);

/* Check one page of slot A against its state. */
static void guest_verify_page(struct guest_ctx *c, uint64_t i)
{
	struct gpage *pg = &c->pg[i];
	uint64_t gpa = page_gpa(c, i);
	uint64_t *p = (uint64_t *)gpa;
	uint64_t w, lost = 0, acc = 0;

	if (pg->shared) {
		for (w = 0; w < WORDS_PER_PAGE; w++)
			if (READ_ONCE(p[w]) != shared_word(gpa, pg->stoken, w))
				break;
		if (w < WORDS_PER_PAGE) {
			lost = guest_report_loss(LOSS_SHARED, gpa, pg->stoken);
			pg->stoken = guest_rand(&c->rng) | 1;
			for (w = 0; w < WORDS_PER_PAGE; w++)
				WRITE_ONCE(p[w], shared_word(gpa, pg->stoken, w));
		}
	} else if (pg->zero) {
		for (w = 0; w < WORDS_PER_PAGE; w++)
			acc |= READ_ONCE(p[w]);
		if (acc) {
			lost = guest_report_loss(LOSS_PRIVATE_ZERO, gpa, 0);
			/* Claim it and give it data: reported once. */
			guest_action_write(c, i, 1);
		}
	} else if (guest_csum(gpa, pg->token) != pg->csum) {
		lost = guest_report_loss(LOSS_PRIVATE_DATA, gpa, pg->token);
		pg->token = guest_rand(&c->rng);
		pg->csum = guest_write_data(gpa, pg->token);
	}
	c->st->lost_bytes += lost;
	c->st->pages_verified++;
}

static void guest_verify_b(struct guest_ctx *c, uint64_t i)
{
	uint64_t gpa = c->bchunk + i * PAGE_SIZE;

	if (guest_csum(gpa, gb_token[c->idx][i]) != gb_csum[c->idx][i]) {
		c->st->lost_bytes += guest_report_loss(LOSS_SLOT_B, gpa,
						       gb_token[c->idx][i]);
		gb_token[c->idx][i] = guest_rand(&c->rng);
		gb_csum[c->idx][i] = guest_write_data(gpa, gb_token[c->idx][i]);
	}
	c->st->pages_verified++;
}

static void guest_write_b(struct guest_ctx *c, uint64_t i)
{
	uint64_t gpa = c->bchunk + i * PAGE_SIZE;

	gb_token[c->idx][i] = guest_rand(&c->rng);
	gb_csum[c->idx][i] = guest_write_data(gpa, gb_token[c->idx][i]);
	c->st->pages_written++;
}

static void guest_verify_all(struct guest_ctx *c)
{
	uint64_t i;

	for (i = 0; i < CHUNK_A_PAGES; i++)
		guest_verify_page(c, i);
	for (i = 0; i < CHUNK_B_PAGES; i++)
		guest_verify_b(c, i);
}

/* A random range of the chunk: one page, a few, 64, or all 2 MiB. */
static void guest_pick_range(struct guest_ctx *c, uint64_t *first,
			     uint64_t *n)
{
	uint64_t r = guest_rand(&c->rng);

	switch (r % 16) {
	case 0:
		*first = 0;
		*n = CHUNK_A_PAGES;
		return;
	case 1 ... 2:
		*n = 64;
		break;
	case 3 ... 8:
		*n = 1 + (r >> 8) % 16;
		break;
	default:
		*n = 1;
	}
	*first = (r >> 16) % (CHUNK_A_PAGES - *n + 1);
}

/* Write new private data into the private pages of a range. */
static void guest_action_write(struct guest_ctx *c, uint64_t first, uint64_t n)
{
	bool claim = false;
	uint64_t i;

	for (i = first; i < first + n; i++)
		claim |= !c->pg[i].shared && c->pg[i].zero;
	if (claim) {
		/* From here on the host leaves these pages alone. */
		GUEST_SYNC_ARGS(STAGE_CLAIM, page_gpa(c, first), n, 0, 0);
		c->st->claims++;
	}
	for (i = first; i < first + n; i++) {
		struct gpage *pg = &c->pg[i];

		if (pg->shared)
			continue;
		pg->zero = 0;
		pg->token = guest_rand(&c->rng);
		pg->csum = guest_write_data(page_gpa(c, i), pg->token);
		c->st->pages_written++;
	}
}

/* Write new content into the shared pages of a range. */
static void guest_action_write_shared(struct guest_ctx *c, uint64_t first,
				      uint64_t n)
{
	uint64_t i, w, gpa, *p;

	for (i = first; i < first + n; i++) {
		struct gpage *pg = &c->pg[i];

		if (!pg->shared)
			continue;
		gpa = page_gpa(c, i);
		p = (uint64_t *)gpa;
		pg->stoken = guest_rand(&c->rng) | 1;
		for (w = 0; w < WORDS_PER_PAGE; w++)
			WRITE_ONCE(p[w], shared_word(gpa, pg->stoken, w));
	}
}

static void guest_action_to_shared(struct guest_ctx *c, uint64_t first,
				   uint64_t n, bool discard)
{
	uint64_t i;

	WRITE_ONCE(mailbox_discard[c->idx], discard);
	guest_map(page_gpa(c, first), n, false);
	c->st->to_shared++;
	for (i = first; i < first + n; i++) {
		struct gpage *pg = &c->pg[i];

		if (!pg->shared) {
			pg->shared = 1;
			/* Zeroes are never worth keeping. */
			pg->discard = pg->zero || discard;
		} else {
			pg->discard |= discard;
		}
	}
	/* The shared view shows what it showed before, nothing private. */
	for (i = first; i < first + n; i++)
		guest_verify_page(c, i);
}

static void guest_action_to_private(struct guest_ctx *c, uint64_t first,
				    uint64_t n)
{
	uint64_t i;

	guest_map(page_gpa(c, first), n, true);
	c->st->to_private++;
	for (i = first; i < first + n; i++) {
		struct gpage *pg = &c->pg[i];

		if (!pg->shared)
			continue;
		pg->shared = 0;
		/* Discarded: punched for sure on the way back. */
		pg->zero = pg->discard;
		pg->discard = 0;
	}
	/* Kept data is back, discarded data reads as zeroes. */
	for (i = first; i < first + n; i++)
		guest_verify_page(c, i);
}

static void guest_code(uint64_t idx, uint64_t seed)
{
	struct guest_ctx c = {
		.idx = idx,
		.rng = seed | 1,
		.chunk = GPA_A + idx * CHUNK_A_SIZE,
		.bchunk = GPA_B + idx * CHUNK_B_SIZE,
		.pg = gpages[idx],
		.st = &gstats[idx],
	};
	uint64_t i, a, first, n, r;

	/* A fresh guest_memfd: all of slot A is private and zero. */
	for (i = 0; i < CHUNK_A_PAGES; i++)
		c.pg[i].zero = 1;
	for (i = 0; i < CHUNK_B_PAGES; i++)
		guest_write_b(&c, i);

	while (!READ_ONCE(guest_stop)) {
		guest_verify_all(&c);
		c.st->passes++;
		GUEST_SYNC_ARGS(STAGE_PASS, c.st->passes, 0, 0, 0);

		for (a = 0; a < ACTIONS_PER_PASS; a++) {
			r = guest_rand(&c.rng);
			guest_pick_range(&c, &first, &n);
			switch (r % 10) {
			case 0 ... 2:
				guest_action_write(&c, first, n);
				break;
			case 3:
				guest_action_write_shared(&c, first, n);
				break;
			case 4 ... 5:
				guest_action_to_shared(&c, first, n, (r >> 8) & 1);
				break;
			case 6 ... 7:
				guest_action_to_private(&c, first, n);
				break;
			default:
				guest_write_b(&c, (r >> 8) % CHUNK_B_PAGES);
			}
		}
	}

	/* Everything private again, and everything where it must be. */
	guest_action_to_private(&c, 0, CHUNK_A_PAGES);
	guest_verify_all(&c);
	GUEST_DONE();
}

/* ---------------------------------------------------------------------- */
/* Host side                                                               */
/* ---------------------------------------------------------------------- */

/* The VMM's view of a slot A page; may_punch == guest's zero || discard. */
struct hpage {
	uint8_t shared;
	uint8_t may_punch;
};

struct totals {
	uint64_t vms;
	uint64_t passes;
	uint64_t to_shared;
	uint64_t to_private;
	uint64_t claims;
	uint64_t punches;
	uint64_t punched_pages;
	uint64_t slot_flips;
	uint64_t mf_exits;
	uint64_t prefaults;
	uint64_t prefault_pages;
	uint64_t prefault_enoent;
	uint64_t prefault_busy;
	uint64_t pages_written;
	uint64_t pages_verified;
	uint64_t lost_bytes;
	uint64_t loss_reports;
};

struct stress_vm;

struct vcpu_thread {
	struct stress_vm *s;
	struct kvm_vcpu *vcpu;
	int idx;
	pthread_t thread;
	uint64_t mf_exits;
};

struct stress_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[NR_VCPUS + 1];
	struct vcpu_thread vt[NR_VCPUS];
	int gmem_a, gmem_b;
	uint64_t b_offset;
	void *b_hva;
	uint64_t seed;

	pthread_mutex_t chunk_lock[NR_VCPUS];
	struct hpage hp[NR_VCPUS][CHUNK_A_PAGES];

	/* Slot B: odd while it is being deleted, absent or re-added. */
	atomic_ulong b_seq;
	pthread_mutex_t b_lock;
	pthread_cond_t b_cond;

	atomic_bool stop_host;
	atomic_ulong punches, punched_pages, claims;
	atomic_ulong flips, prefaults, prefault_pages, prefault_enoent,
		     prefault_busy, loss_reports;
};

static bool verbose;
/* Host threads left out (-x): to tell which one a failure needs. */
static unsigned int no_threads;
#define NO_PUNCH	1
#define NO_PREFAULT	2
#define NO_FLIP		4
static struct totals tot;

static uint64_t host_rand(uint64_t *state)
{
	*state = *state * 6364136223846793005ull + 1442695040888963407ull;
	return mix64(*state);
}

static void host_fill_shared(struct stress_vm *s)
{
	uint64_t *p = addr_gpa2hva(s->vm, GPA_A);
	uint64_t i;

	for (i = 0; i < SIZE_A / sizeof(uint64_t); i++)
		p[i] = (GPA_A + i * sizeof(uint64_t)) ^ HOST_TAG;
}

/* Punch [first, first + n) of vCPU @v's chunk; chunk lock held. */
static void punch_pages(struct stress_vm *s, int v, uint64_t first, uint64_t n)
{
	uint64_t off = v * CHUNK_A_SIZE + first * PAGE_SIZE;

	guest_memfd_punch_hole(s->gmem_a, off, n * PAGE_SIZE);
	atomic_fetch_add(&s->punches, 1);
	atomic_fetch_add(&s->punched_pages, n);
}

/* Punch every run of punchable pages in [first, end), or of shared ones. */
static void punch_runs(struct stress_vm *s, int v, uint64_t first,
		       uint64_t end, bool shared_only)
{
	uint64_t i = first, run;

	while (i < end) {
		struct hpage *h = &s->hp[v][i];

		if (!h->may_punch || (shared_only && !h->shared)) {
			i++;
			continue;
		}
		for (run = i; run < end; run++) {
			h = &s->hp[v][run];
			if (!h->may_punch || (shared_only && !h->shared))
				break;
		}
		punch_pages(s, v, i, run - i);
		i = run;
	}
}

static void handle_map_gpa_range(struct vcpu_thread *t, struct kvm_run *run)
{
	struct stress_vm *s = t->s;
	uint64_t gpa = run->hypercall.args[0];
	uint64_t npages = run->hypercall.args[1];
	uint64_t attrs = run->hypercall.args[2];
	uint64_t chunk = GPA_A + t->idx * CHUNK_A_SIZE;
	uint64_t first = (gpa - chunk) / PAGE_SIZE, i;
	uint64_t *mailbox = addr_gva2hva(s->vm,
					 (vm_vaddr_t)&mailbox_discard[t->idx]);
	bool discard = READ_ONCE(*mailbox);

	TEST_ASSERT(run->hypercall.longmode, "hypercall not from 64-bit mode");
	TEST_ASSERT(gpa >= chunk && npages && npages <= CHUNK_A_PAGES &&
		    gpa + npages * PAGE_SIZE <= chunk + CHUNK_A_SIZE,
		    "vCPU %d: conversion of [0x%lx, +%lu pages) outside its chunk",
		    t->idx, gpa, npages);

	pthread_mutex_lock(&s->chunk_lock[t->idx]);
	if (attrs & KVM_MAP_GPA_RANGE_ENCRYPTED) {
		/* Given-up private data goes for sure before it is private. */
		punch_runs(s, t->idx, first, first + npages, true);
		vm_mem_set_private(s->vm, gpa, npages * PAGE_SIZE);
		for (i = first; i < first + npages; i++)
			s->hp[t->idx][i].shared = 0;
	} else {
		vm_mem_set_shared(s->vm, gpa, npages * PAGE_SIZE);
		for (i = first; i < first + npages; i++) {
			struct hpage *h = &s->hp[t->idx][i];

			if (!h->shared)
				h->may_punch = h->may_punch || discard;
			else
				h->may_punch |= discard;
			h->shared = 1;
		}
		/* Sometimes right away, sometimes left to the punch thread. */
		if (discard && (gpa >> 12) % 2)
			punch_runs(s, t->idx, first, first + npages, true);
	}
	pthread_mutex_unlock(&s->chunk_lock[t->idx]);
	run->hypercall.ret = 0;
}

static void handle_claim(struct vcpu_thread *t, uint64_t gpa, uint64_t n)
{
	struct stress_vm *s = t->s;
	uint64_t chunk = GPA_A + t->idx * CHUNK_A_SIZE;
	uint64_t first = (gpa - chunk) / PAGE_SIZE, i;

	TEST_ASSERT(gpa >= chunk && n && first + n <= CHUNK_A_PAGES,
		    "vCPU %d: claim of [0x%lx, +%lu pages) outside its chunk",
		    t->idx, gpa, n);
	pthread_mutex_lock(&s->chunk_lock[t->idx]);
	for (i = first; i < first + n; i++)
		if (!s->hp[t->idx][i].shared)
			s->hp[t->idx][i].may_punch = 0;
	pthread_mutex_unlock(&s->chunk_lock[t->idx]);
	atomic_fetch_add(&s->claims, 1);
}

static void handle_loss(struct vcpu_thread *t, struct ucall *uc)
{
	uint64_t gpa = uc->args[2] & PAGE_MASK;
	int kind = uc->args[2] & ~PAGE_MASK;

	/* Report the first few in full; all of them count. */
	if (atomic_fetch_add(&t->s->loss_reports, 1) < 16)
		ksft_print_msg("vCPU %d: LOST %lu bytes of %s at gpa 0x%lx (first bad word %lu reads 0x%lx)\n",
			       t->idx, uc->args[3],
			       kind < ARRAY_SIZE(loss_kind) && loss_kind[kind] ?
			       loss_kind[kind] : "?", gpa, uc->args[4],
			       uc->args[5]);
}

static bool slot_b_stable(unsigned long before, unsigned long after)
{
	return !(before & 1) && before == after;
}

static void wait_for_slot_b(struct stress_vm *s)
{
	pthread_mutex_lock(&s->b_lock);
	while (atomic_load(&s->b_seq) & 1)
		pthread_cond_wait(&s->b_cond, &s->b_lock);
	pthread_mutex_unlock(&s->b_lock);
}

/*
 * KVM_RUN failed: a private access to slot B while it was away is the one
 * failure the VMM expects.  Anything else ends the test.
 */
static void handle_run_failure(struct vcpu_thread *t, int err,
			       unsigned long seq0, unsigned long seq1)
{
	struct kvm_run *run = t->vcpu->run;
	uint64_t b_chunk = GPA_B + t->idx * CHUNK_B_SIZE;
	uint64_t gpa = run->memory_fault.gpa;

	TEST_ASSERT(err == EFAULT && run->exit_reason == KVM_EXIT_MEMORY_FAULT,
		    "vCPU %d: KVM_RUN failed with %s, exit reason %u (%s)",
		    t->idx, strerror(err), run->exit_reason,
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_PRIVATE &&
		    run->memory_fault.size == PAGE_SIZE &&
		    gpa >= b_chunk && gpa < b_chunk + CHUNK_B_SIZE &&
		    !(gpa & ~PAGE_MASK),
		    "vCPU %d: memory fault exit flags 0x%llx gpa 0x%lx size 0x%llx, want a private page of [0x%lx, +0x%lx)",
		    t->idx, run->memory_fault.flags, gpa,
		    run->memory_fault.size, b_chunk, (uint64_t)CHUNK_B_SIZE);
	TEST_ASSERT(!slot_b_stable(seq0, seq1),
		    "vCPU %d: memory fault exit at gpa 0x%lx while slot B was there all along (seq %lu)",
		    t->idx, gpa, seq0);
	t->mf_exits++;
	wait_for_slot_b(t->s);
}

static void *vcpu_thread_main(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvm_run *run = t->vcpu->run;
	unsigned long seq0, seq1;
	struct ucall uc;
	int r, err;

	pin_self_to_cpu(0);
	for (;;) {
		seq0 = atomic_load(&t->s->b_seq);
		/*
		 * KVM does not reset these: stale values of an earlier exit
		 * must not pass for a memory fault exit.  The union is left
		 * alone after a port I/O exit, which completes on entry.
		 */
		if (run->exit_reason != KVM_EXIT_IO) {
			run->memory_fault.flags = ~0ull;
			run->memory_fault.gpa = ~0ull;
			run->memory_fault.size = 0;
		}
		run->exit_reason = POISON_EXIT;
		r = __vcpu_run(t->vcpu);
		err = errno;
		seq1 = atomic_load(&t->s->b_seq);
		if (r == -1 && err == EINTR)
			continue;
		if (r) {
			handle_run_failure(t, err, seq0, seq1);
			continue;
		}
		if (is_map_gpa_range_exit(run)) {
			handle_map_gpa_range(t, run);
			continue;
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
			    "vCPU %d: unexpected exit %u (%s)", t->idx,
			    run->exit_reason, exit_reason_str(run->exit_reason));
		switch (get_ucall(t->vcpu, &uc)) {
		case UCALL_SYNC:
			if (uc.args[1] == STAGE_CLAIM)
				handle_claim(t, uc.args[2], uc.args[3]);
			else if (uc.args[1] == STAGE_LOSS)
				handle_loss(t, &uc);
			else
				TEST_ASSERT(uc.args[1] == STAGE_PASS,
					    "vCPU %d: unknown stage %lu",
					    t->idx, uc.args[1]);
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_N(uc, "vCPU %d: 0x%lx, 0x%lx", t->idx,
					      GUEST_ASSERT_ARG(uc, 0),
					      GUEST_ASSERT_ARG(uc, 1));
			break;
		default:
			TEST_FAIL("vCPU %d: unexpected ucall %lu", t->idx, uc.cmd);
		}
	}
}

/* Punch pages no one expects data from, at random, racing the guest. */
static void *punch_thread(void *arg)
{
	struct stress_vm *s = arg;
	uint64_t rng = s->seed ^ 0x70756e6368ull, r, first, n;
	int v;

	pin_self_to_cpu(0);
	while (!(no_threads & NO_PUNCH) && !atomic_load(&s->stop_host)) {
		r = host_rand(&rng);
		v = r % NR_VCPUS;
		/* Whole chunks rarely: the guest faults all of it back in. */
		switch ((r >> 8) % 32) {
		case 0:
			n = CHUNK_A_PAGES;
			break;
		case 1 ... 4:
			n = 64;
			break;
		case 5 ... 12:
			n = 16;
			break;
		default:
			n = 1;
		}
		first = ((r >> 16) % (CHUNK_A_PAGES / n)) * n;
		/*
		 * Private zero pages a quarter of the time: the guest reads
		 * them on every pass and faults every punched one back in.
		 */
		pthread_mutex_lock(&s->chunk_lock[v]);
		punch_runs(s, v, first, first + n, (r >> 48) % 4);
		pthread_mutex_unlock(&s->chunk_lock[v]);
		usleep(1000 + (r >> 40) % 8000);
	}
	return NULL;
}

static void prefault_range(struct stress_vm *s, struct kvm_vcpu *vcpu,
			   uint64_t gpa, uint64_t size, int where)
{
	struct kvm_pre_fault_memory range = { .gpa = gpa, .size = size };
	unsigned long seq0, seq1;
	int r, err;

	while (range.size) {
		seq0 = atomic_load(&s->b_seq);
		r = __vcpu_pre_fault_memory(vcpu, &range);
		err = errno;
		seq1 = atomic_load(&s->b_seq);
		atomic_fetch_add(&s->prefaults, 1);
		if (!r)
			continue;

		TEST_ASSERT(range.gpa + range.size == gpa + size,
			    "KVM_PRE_FAULT_MEMORY moved the end of [0x%lx, +0x%lx) to 0x%llx",
			    gpa, size, range.gpa + range.size);
		if (where == 2) {
			TEST_ASSERT(err == ENOENT,
				    "KVM_PRE_FAULT_MEMORY outside any slot: %s, want ENOENT",
				    strerror(err));
			atomic_fetch_add(&s->prefault_enoent, 1);
			return;
		}
		if (err == EINTR)
			continue;
		/* Slot B may be away or on its way out; slot A never is. */
		TEST_ASSERT(where == 1 && (err == ENOENT || err == EAGAIN) &&
			    !slot_b_stable(seq0, seq1),
			    "KVM_PRE_FAULT_MEMORY at 0x%llx (slot %s%s): %s",
			    range.gpa, where ? "B" : "A",
			    where && slot_b_stable(seq0, seq1) ? ", there all along" : "",
			    strerror(err));
		atomic_fetch_add(err == ENOENT ? &s->prefault_enoent :
				 &s->prefault_busy, 1);
		return;
	}
	atomic_fetch_add(&s->prefault_pages, size / PAGE_SIZE);
}

/* Pre-fault ranges of both slots and of no slot, mostly from the spare vCPU. */
static void *prefault_thread(void *arg)
{
	struct stress_vm *s = arg;
	uint64_t rng = s->seed ^ 0x7072656661ull, r, n, gpa;
	struct kvm_vcpu *vcpu;

	pin_self_to_cpu(0);
	while (!(no_threads & NO_PREFAULT) && !atomic_load(&s->stop_host)) {
		r = host_rand(&rng);
		vcpu = s->vcpus[(r & 3) ? SPARE_VCPU : (r >> 2) % NR_VCPUS];
		switch ((r >> 8) % 8) {
		case 0 ... 4:
			n = (r >> 16) % 8 ? 1 + (r >> 20) % 32 : CHUNK_A_PAGES;
			gpa = GPA_A + (((r >> 32) % (SIZE_A / PAGE_SIZE - n + 1)) &
				       (n == CHUNK_A_PAGES ? ~(CHUNK_A_PAGES - 1) : ~0ul)) *
				      PAGE_SIZE;
			prefault_range(s, vcpu, gpa, n * PAGE_SIZE, 0);
			break;
		case 5 ... 6:
			n = 1 + (r >> 16) % CHUNK_B_PAGES;
			gpa = GPA_B + ((r >> 32) % (SIZE_B / PAGE_SIZE - n + 1)) *
				      PAGE_SIZE;
			prefault_range(s, vcpu, gpa, n * PAGE_SIZE, 1);
			break;
		default:
			prefault_range(s, vcpu, GPA_HOLE, PAGE_SIZE, 2);
		}
		usleep(500 + (r >> 44) % 3000);
	}
	return NULL;
}

static void slot_b_delete(struct stress_vm *s, bool v1)
{
	struct kvm_userspace_memory_region del = {
		.slot = SLOT_B,
		.guest_phys_addr = GPA_B,
		.userspace_addr = (uintptr_t)s->b_hva,
	};
	int r;

	if (v1)
		r = __vm_ioctl(s->vm, KVM_SET_USER_MEMORY_REGION, &del);
	else
		r = __vm_set_user_memory_region2(s->vm, SLOT_B, KVM_MEM_GUEST_MEMFD,
						 GPA_B, 0, s->b_hva, s->gmem_b,
						 s->b_offset);
	TEST_ASSERT(!r, "deleting slot B (%s): %s", v1 ? "v1" : "v2",
		    strerror(errno));
}

static void slot_b_add(struct stress_vm *s)
{
	vm_set_user_memory_region2(s->vm, SLOT_B, KVM_MEM_GUEST_MEMFD, GPA_B,
				   SIZE_B, s->b_hva, s->gmem_b, s->b_offset);
}

/* Delete slot B and add it back, again and again; it is there at the end. */
static void *flip_thread(void *arg)
{
	struct stress_vm *s = arg;
	uint64_t rng = s->seed ^ 0x666c6970ull, r;

	pin_self_to_cpu(0);
	while (!(no_threads & NO_FLIP) && !atomic_load(&s->stop_host)) {
		r = host_rand(&rng);
		/*
		 * Not too often: deleting a memslot zaps every mapping of the
		 * VM, and the vCPUs fault all of their memory in again.
		 */
		usleep(150000 + r % 600000);

		atomic_fetch_add(&s->b_seq, 1);
		slot_b_delete(s, (r >> 32) & 1);
		usleep(1000 + (r >> 40) % 20000);
		slot_b_add(s);

		pthread_mutex_lock(&s->b_lock);
		atomic_fetch_add(&s->b_seq, 1);
		pthread_cond_broadcast(&s->b_cond);
		pthread_mutex_unlock(&s->b_lock);
		atomic_fetch_add(&s->flips, 1);
	}
	return NULL;
}

static void stress_vm_create(struct stress_vm *s, uint64_t seed, uint64_t iter)
{
	struct userspace_mem_region *region;
	int i;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, NR_VCPUS + 1,
					    (SIZE_A + SIZE_B) / PAGE_SIZE,
					    guest_code, s->vcpus);
	vm_enable_map_gpa_range_exits(s->vm);

	vm_userspace_mem_region_add(s->vm, VM_MEM_SRC_ANONYMOUS, GPA_A, SLOT_A,
				    SIZE_A / PAGE_SIZE, 0);
	s->gmem_a = vm_create_guest_memfd(s->vm, SIZE_A, 0);
	vm_mem_region_bind_guest_memfd(s->vm, SLOT_A, s->gmem_a, 0);
	vm_mem_set_private(s->vm, GPA_A, SIZE_A);
	virt_map(s->vm, GPA_A, GPA_A, SIZE_A / PAGE_SIZE);

	/* Slot B at offset 0 or in the second half of its file. */
	s->b_offset = (iter & 1) ? SIZE_B : 0;
	vm_userspace_mem_region_add(s->vm, VM_MEM_SRC_ANONYMOUS, GPA_B, SLOT_B,
				    SIZE_B / PAGE_SIZE, 0);
	s->gmem_b = vm_create_guest_memfd(s->vm, GMEM_B_SIZE, 0);
	vm_mem_region_bind_guest_memfd(s->vm, SLOT_B, s->gmem_b, s->b_offset);
	vm_mem_set_private(s->vm, GPA_B, SIZE_B);
	virt_map(s->vm, GPA_B, GPA_B, SIZE_B / PAGE_SIZE);
	region = memslot2region(s->vm, SLOT_B);
	s->b_hva = (void *)region->region.userspace_addr;

	host_fill_shared(s);
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_mutex_init(&s->chunk_lock[i], NULL);
		memset(s->hp[i], 0, sizeof(s->hp[i]));
		for (int p = 0; p < CHUNK_A_PAGES; p++)
			s->hp[i][p].may_punch = 1;
		vcpu_args_set(s->vcpus[i], 2, (uint64_t)i,
			      mix64(seed + i + 1));
	}
	pthread_mutex_init(&s->b_lock, NULL);
	pthread_cond_init(&s->b_cond, NULL);
}

/* The VMM's page states must be exactly the guest's. */
static void check_protocol_state(struct stress_vm *s)
{
	struct gpage *g = addr_gva2hva(s->vm, (vm_vaddr_t)&gpages[0][0]);
	int v, i;

	for (v = 0; v < NR_VCPUS; v++) {
		for (i = 0; i < CHUNK_A_PAGES; i++) {
			struct gpage *gp = &g[v * CHUNK_A_PAGES + i];
			struct hpage *hp = &s->hp[v][i];
			bool guest_may_punch = gp->shared ? gp->discard : gp->zero;

			TEST_ASSERT(gp->shared == hp->shared &&
				    guest_may_punch == hp->may_punch,
				    "vCPU %d page %d: guest says shared %u zero %u discard %u, VMM says shared %u may_punch %u",
				    v, i, gp->shared, gp->zero, gp->discard,
				    hp->shared, hp->may_punch);
		}
	}
}

static void run_one_vm(uint64_t seed, uint64_t iter, double seconds)
{
	struct stress_vm *s = calloc(1, sizeof(*s));
	pthread_t punch, prefault, flip;
	struct gstats *gs;
	struct timespec ts;
	uint64_t *stop, passes = 0, mf = 0, lost = 0;
	int i, r;

	TEST_ASSERT(s, "calloc failed");
	stress_vm_create(s, seed, iter);

	for (i = 0; i < NR_VCPUS; i++) {
		s->vt[i].s = s;
		s->vt[i].vcpu = s->vcpus[i];
		s->vt[i].idx = i;
		r = pthread_create(&s->vt[i].thread, NULL, vcpu_thread_main,
				   &s->vt[i]);
		TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	}
	TEST_ASSERT(!pthread_create(&punch, NULL, punch_thread, s) &&
		    !pthread_create(&prefault, NULL, prefault_thread, s) &&
		    !pthread_create(&flip, NULL, flip_thread, s),
		    "pthread_create failed");

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;

	/* The guest finishes its pass, makes all private and checks it all. */
	stop = addr_gva2hva(s->vm, (vm_vaddr_t)&guest_stop);
	WRITE_ONCE(*stop, 1);
	for (i = 0; i < NR_VCPUS; i++) {
		pthread_join(s->vt[i].thread, NULL);
		mf += s->vt[i].mf_exits;
	}
	atomic_store(&s->stop_host, true);
	pthread_join(punch, NULL);
	pthread_join(prefault, NULL);
	pthread_join(flip, NULL);

	check_protocol_state(s);
	gs = addr_gva2hva(s->vm, (vm_vaddr_t)&gstats[0]);
	for (i = 0; i < NR_VCPUS; i++) {
		passes += gs[i].passes;
		lost += gs[i].lost_bytes;
		tot.to_shared += gs[i].to_shared;
		tot.to_private += gs[i].to_private;
		tot.pages_written += gs[i].pages_written;
		tot.pages_verified += gs[i].pages_verified;
	}
	tot.vms++;
	tot.passes += passes;
	tot.claims += atomic_load(&s->claims);
	tot.punches += atomic_load(&s->punches);
	tot.punched_pages += atomic_load(&s->punched_pages);
	tot.slot_flips += atomic_load(&s->flips);
	tot.mf_exits += mf;
	tot.prefaults += atomic_load(&s->prefaults);
	tot.prefault_pages += atomic_load(&s->prefault_pages);
	tot.prefault_enoent += atomic_load(&s->prefault_enoent);
	tot.prefault_busy += atomic_load(&s->prefault_busy);
	tot.lost_bytes += lost;
	tot.loss_reports += atomic_load(&s->loss_reports);

	if (verbose || lost)
		ksft_print_msg("VM %lu: %lu passes, %lu punches, %lu slot flips, %lu memory fault exits, %lu bytes lost\n",
			       iter, passes, atomic_load(&s->punches),
			       atomic_load(&s->flips), mf, lost);

	/*
	 * Tear down with the guest_memfds closed while still bound (their
	 * release unbinds the slots), or with the VM gone first (the files
	 * outlive it and hold it until they are closed).
	 */
	if (iter & 1) {
		close(s->gmem_a);
		close(s->gmem_b);
		kvm_vm_free(s->vm);
	} else {
		kvm_vm_free(s->vm);
		close(s->gmem_b);
		close(s->gmem_a);
	}
	free(s);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *name)
{
	printf("usage: %s [-s SECONDS] [-l VM_SECONDS] [-r SEED] [-x MASK] [-v]\n"
	       "  -s  how long to run (default %d)\n"
	       "  -l  how long each VM lives (default %d)\n"
	       "  -r  random seed (default: from the clock, printed)\n"
	       "  -x  leave out host threads: 1 punch, 2 pre-fault, 4 slot flips\n"
	       "  -v  a line per VM\n", name, DEFAULT_SECONDS,
	       DEFAULT_VM_SECONDS);
}

int main(int argc, char *argv[])
{
	double seconds = DEFAULT_SECONDS, vm_seconds = DEFAULT_VM_SECONDS;
	double start, left, elapsed;
	uint64_t seed = 0, iter;
	int opt;

	while ((opt = getopt(argc, argv, "s:l:r:x:vh")) != -1) {
		switch (opt) {
		case 's':
			seconds = atof(optarg);
			break;
		case 'l':
			vm_seconds = atof(optarg);
			break;
		case 'x':
			no_threads = strtoul(optarg, NULL, 0);
			break;
		default:
			privmem_common_opt(opt, argv[0], usage, &seed, &verbose);
		}
	}
	TEST_ASSERT(seconds > 0 && vm_seconds > 0, "durations must be positive");
	if (!seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_PRE_FAULT_MEMORY));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) &
		     (1ul << KVM_HC_MAP_GPA_RANGE));

	pin_self_to_cpu(0);
	ksft_print_header();
	ksft_set_plan(2);
	ksft_print_msg("seed 0x%lx, %.0f s, VMs of %.1f s, %d vCPUs each\n",
		       seed, seconds, vm_seconds, NR_VCPUS);

	start = now();
	for (iter = 0; ; iter++) {
		left = seconds - (now() - start);
		if (left <= 0 || (iter && left < vm_seconds / 4))
			break;
		run_one_vm(mix64(seed + iter), iter,
			   left < vm_seconds * 1.25 ? left : vm_seconds);
	}
	elapsed = now() - start;

	ksft_print_msg("%.1f s, %lu VMs: %lu guest passes, %lu pages verified, %lu written\n",
		       elapsed, tot.vms, tot.passes, tot.pages_verified,
		       tot.pages_written);
	ksft_print_msg("conversions: %lu to shared, %lu to private; %lu claims\n",
		       tot.to_shared, tot.to_private, tot.claims);
	ksft_print_msg("punches: %lu (%lu pages); slot flips: %lu; memory fault exits: %lu\n",
		       tot.punches, tot.punched_pages, tot.slot_flips,
		       tot.mf_exits);
	ksft_print_msg("pre-faults: %lu calls, %lu pages, %lu ENOENT, %lu EAGAIN\n",
		       tot.prefaults, tot.prefault_pages, tot.prefault_enoent,
		       tot.prefault_busy);
	ksft_print_msg("guest data lost: %lu bytes in %lu pages\n",
		       tot.lost_bytes, tot.loss_reports);

	ksft_test_result(tot.lost_bytes == 0 && tot.loss_reports == 0 &&
			 tot.passes > 0,
			 "no guest data lost: %lu pages verified\n",
			 tot.pages_verified);
	ksft_test_result(tot.to_shared && tot.to_private && tot.punches &&
			 (tot.slot_flips || (no_threads & NO_FLIP)) &&
			 (tot.prefault_pages || (no_threads & NO_PREFAULT)),
			 "conversions, punches, pre-faults and slot flips all happened\n");
	ksft_finished();
}
