// SPDX-License-Identifier: GPL-2.0-only
/*
 * privmem benchmark: the performance ratios of guest private memory,
 * measured inside one run (absolute times under TCG mean nothing; ratios
 * taken in the same boot are stable).  Medians of REPS repetitions (the
 * conversion ratios: of CONV_REPS per-repetition ratios):
 *
 *   populate_vs_memset            fallocate(KEEP_SIZE) of 256 MiB of a fresh
 *                                 guest_memfd, GiB/s, over the GiB/s of a
 *                                 first-touch memset of a fresh anonymous
 *                                 256 MiB mapping with MADV_HUGEPAGE
 *                                 (higher is better)
 *   private_vs_shared_touch       time of a guest touching 256 MiB of private,
 *                                 not pre-allocated memory (one word per
 *                                 4 KiB page) over the same for shared memory
 *                                 (lower is better)
 *   convert_4k_vs_null_hypercall  one 4 KiB private->shared->private round
 *                                 trip (two KVM_HC_MAP_GPA_RANGE exits; to
 *                                 shared = attributes + PUNCH_HOLE) over one
 *                                 null KVM_HC_MAP_GPA_RANGE exit (lower is
 *                                 better, 2.0 is the floor)
 *   convert_2m_vs_null_hypercall  the same for a 2 MiB-aligned 2 MiB range
 *   huge_mapped_after_4k_conversions
 *                                 the fraction of the guest's 256 MiB of
 *                                 private memory that KVM maps with 2 MiB
 *                                 pages (binary stats private_pages_2m and
 *                                 _4k) after the guest converted one 4 KiB
 *                                 page of every 2 MiB block to shared
 *                                 (punching it out of its folio, which
 *                                 splits), touched it all, converted them
 *                                 back and touched it again, which refills
 *                                 the holes and merges the pieces into 2 MiB
 *                                 folios (higher is better, target >= 0.99)
 *   memory_used_vs_touched        the largest growth of the bench's memcg
 *                                 (st_blocks of the file without memcg)
 *                                 over the 64 MiB a guest touched on a
 *                                 guest_memfd-only slot, through ROUNDS
 *                                 in-place conversions of half of it to
 *                                 shared, written by the VMM through its
 *                                 mapping, and back (lower is better,
 *                                 target <= 1.02; two allocations: ~1.5)
 *
 * Where privmem's pool of 1 GiB pages exists (CONFIG_PRIVMEM_GIGANTIC), the
 * bench reserves one page for a 1 GiB private region and also reports:
 *
 *   populate_1g_vs_memset         fallocate(KEEP_SIZE) of the 1 GiB region
 *                                 from the pool, GiB/s, over the memset
 *                                 GiB/s above (higher is better)
 *   convert_4k_in_1g_vs_null_hypercall
 *                                 the 4 KiB round trip inside the populated
 *                                 1 GiB page (the punch zeroes in place)
 *   convert_1g_vs_null_hypercall  the round trip of the whole 1 GiB region
 *   huge_mapped_1g_after_4k_conversions
 *                                 as huge_mapped_after_4k_conversions, over
 *                                 the 1 GiB region, mappings at 2M and 1G
 *                                 counting (target >= 0.99)
 *
 * The only thread is pinned to CPU 0 (see pin_self_to_cpu()).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"

#define REPS		5
#define CONV_REPS	9
#define SZ_2M		(2ul << 20)
#define BENCH_SIZE	(256ul << 20)
#define BENCH_NPAGES	(BENCH_SIZE / PAGE_SIZE)

#define PRIV_SLOT	10
#define PRIV_GPA	0x100000000ull
#define SHARED_SLOT	11
#define SHARED_GPA	0x200000000ull
/* Conversion ranges, inside the private slot; all of it starts private. */
#define CONV_4K_GPA	(PRIV_GPA + 0x1000)
#define CONV_2M_GPA	(PRIV_GPA + SZ_2M)
/* A GPA the VMM recognises and ignores: the null hypercall. */
#define NULL_GPA	0xfe000000ull
/* The guest_memfd-only slot of the memory-use ratio. */
#define FOOT_SLOT	12
#define FOOT_GPA	0x300000000ull
#define FOOT_SIZE	(64ul << 20)
#define FOOT_NPAGES	(FOOT_SIZE / PAGE_SIZE)
#define FOOT_CHUNK	(64ul << 10)	/* the first of every two converts */
#define FOOT_ROUNDS	3
#define CG_DIR		"/tmp/privmem-bench-cg"
/* The 1 GiB region, from privmem's pool of 1 GiB pages. */
#define GIG_SLOT	13
#define GIG_GPA		0x400000000ull
#define GIG_SIZE	(1ul << 30)
#define GIG_NPAGES	(GIG_SIZE / PAGE_SIZE)
#define GIG_CONV_GPA	(GIG_GPA + 5 * SZ_2M + 0x3000)
#define GIG_CONV_ITERS	50
#define POOL		"/sys/kernel/mm/privmem/gigantic_pages"

#define NULL_ITERS	2000
#define CONV_4K_ITERS	1000
#define CONV_2M_ITERS	200

enum {
	CMD_TOUCH,	/* write one word per page of [gpa, gpa + npages) */
	CMD_CONVERT,	/* iters round trips of [gpa, gpa + npages) */
	CMD_NULL,	/* iters null hypercalls */
	CMD_CONVERT_EACH, /* one chunk of each stride of [gpa, gpa + npages) */
};

struct bench_cmd {
	uint64_t cmd;
	uint64_t gpa;
	uint64_t npages;
	uint64_t iters;
	/* CMD_CONVERT_EACH */
	uint64_t stride;	/* bytes */
	uint64_t chunk;		/* pages converted per stride */
	uint64_t scatter;	/* at a page that varies per stride, else first */
	uint64_t attrs;		/* KVM_MAP_GPA_RANGE_ENCRYPTED or DECRYPTED */
};

static struct bench_cmd bench_cmd;

/* Page of stride @i that CMD_CONVERT_EACH converts when scattering. */
static inline uint64_t scatter_page(uint64_t i, uint64_t stride_pages)
{
	return (i * 7919 + 13) % stride_pages;
}

static void guest_convert_each(uint64_t gpa, uint64_t npages)
{
	uint64_t stride = READ_ONCE(bench_cmd.stride);
	uint64_t chunk = READ_ONCE(bench_cmd.chunk);
	uint64_t attrs = READ_ONCE(bench_cmd.attrs);
	uint64_t i, a, ret;

	for (i = 0; i < npages * PAGE_SIZE / stride; i++) {
		a = gpa + i * stride;
		if (READ_ONCE(bench_cmd.scatter))
			a += scatter_page(i, stride / PAGE_SIZE) * PAGE_SIZE;
		ret = guest_map_gpa_range(a, chunk, attrs);
		GUEST_ASSERT_1(!ret, ret);
	}
}

static void guest_code(void)
{
	uint64_t i, gpa, npages, iters, sz, ret;

	for (;;) {
		gpa = READ_ONCE(bench_cmd.gpa);
		npages = READ_ONCE(bench_cmd.npages);
		iters = READ_ONCE(bench_cmd.iters);
		sz = npages == SZ_2M / PAGE_SIZE ? KVM_MAP_GPA_RANGE_PAGE_SZ_2M :
						   KVM_MAP_GPA_RANGE_PAGE_SZ_4K;

		switch (READ_ONCE(bench_cmd.cmd)) {
		case CMD_TOUCH:
			for (i = 0; i < npages; i++)
				WRITE_ONCE(*(uint64_t *)(gpa + i * PAGE_SIZE), i);
			break;
		case CMD_CONVERT:
			for (i = 0; i < iters; i++) {
				ret = guest_map_gpa_range(gpa, npages, sz |
						KVM_MAP_GPA_RANGE_DECRYPTED);
				GUEST_ASSERT_1(!ret, ret);
				ret = guest_map_gpa_range(gpa, npages, sz |
						KVM_MAP_GPA_RANGE_ENCRYPTED);
				GUEST_ASSERT_1(!ret, ret);
			}
			break;
		case CMD_NULL:
			for (i = 0; i < iters; i++) {
				ret = guest_map_gpa_range(gpa, npages, 0);
				GUEST_ASSERT_1(!ret, ret);
			}
			break;
		case CMD_CONVERT_EACH:
			guest_convert_each(gpa, npages);
			break;
		}
		GUEST_SYNC(0);
	}
}

struct bench {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
	int gig_fd;		/* the 1 GiB region's guest_memfd, or -1 */
	void *shared_hva;
	bool keep;		/* conversions to shared do not punch */
	uint64_t nr_exits;
	/* VMM seconds spent in each step of the conversions, for the report */
	double t_to_shared, t_punch, t_to_private;
};

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void handle_map_gpa_range(struct bench *b)
{
	struct kvm_run *run = b->vcpu->run;
	uint64_t gpa = run->hypercall.args[0];
	uint64_t size = run->hypercall.args[1] * PAGE_SIZE;
	double t0, t1;

	b->nr_exits++;
	run->hypercall.ret = 0;
	if (gpa == NULL_GPA)
		return;

	TEST_ASSERT((gpa >= PRIV_GPA && gpa + size <= PRIV_GPA + BENCH_SIZE) ||
		    (gpa >= FOOT_GPA && gpa + size <= FOOT_GPA + FOOT_SIZE) ||
		    (b->gig_fd >= 0 && gpa >= GIG_GPA &&
		     gpa + size <= GIG_GPA + GIG_SIZE),
		    "conversion of [0x%lx, +0x%lx) outside the private slots",
		    gpa, size);
	/* In place, or keeping the private pages for the way back. */
	if ((gpa >= FOOT_GPA && gpa < GIG_GPA) || b->keep) {
		if (run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED)
			vm_mem_set_private(b->vm, gpa, size);
		else
			vm_mem_set_shared(b->vm, gpa, size);
		return;
	}
	t0 = now_sec();
	if (run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED) {
		vm_mem_set_private(b->vm, gpa, size);
		b->t_to_private += now_sec() - t0;
	} else {
		vm_mem_set_shared(b->vm, gpa, size);
		t1 = now_sec();
		if (gpa >= GIG_GPA)
			guest_memfd_punch_hole(b->gig_fd, gpa - GIG_GPA, size);
		else
			guest_memfd_punch_hole(b->gmem_fd, gpa - PRIV_GPA, size);
		b->t_to_shared += t1 - t0;
		b->t_punch += now_sec() - t1;
	}
}

/* Have the guest run one command; returns the seconds it took. */
static double guest_cmd(struct bench *b, uint64_t cmd, uint64_t gpa,
			uint64_t npages, uint64_t iters)
{
	struct kvm_run *run = b->vcpu->run;
	struct ucall uc;
	double t0, t;

	bench_cmd.cmd = cmd;
	bench_cmd.gpa = gpa;
	bench_cmd.npages = npages;
	bench_cmd.iters = iters;
	sync_global_to_guest(b->vm, bench_cmd);
	b->nr_exits = 0;

	t0 = now_sec();
	for (;;) {
		vcpu_run(b->vcpu);
		if (is_map_gpa_range_exit(run)) {
			handle_map_gpa_range(b);
			continue;
		}
		break;
	}
	t = now_sec() - t0;

	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO, "unexpected exit %s",
		    exit_reason_str(run->exit_reason));
	switch (get_ucall(b->vcpu, &uc)) {
	case UCALL_SYNC:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_1(uc, "value 0x%lx");
	default:
		TEST_FAIL("unexpected ucall");
	}
	return t;
}

/* GiB/s of a first-touch memset of a fresh 256 MiB MADV_HUGEPAGE mapping. */
static double memset_gib_per_sec(void)
{
	char *map, *p;
	double t0, t;

	map = mmap(NULL, BENCH_SIZE + SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	TEST_ASSERT(map != MAP_FAILED, "mmap of 256 MiB failed");
	p = (char *)(((uintptr_t)map + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(p, BENCH_SIZE, MADV_HUGEPAGE);
	t0 = now_sec();
	memset(p, 0x5a, BENCH_SIZE);
	t = now_sec() - t0;
	TEST_ASSERT(READ_ONCE(p[BENCH_SIZE - 1]) == 0x5a,
		    "memset did not happen");
	munmap(map, BENCH_SIZE + SZ_2M);
	return (double)BENCH_SIZE / (1ul << 30) / t;
}

/* (1) fallocate of a fresh guest_memfd vs first-touch memset, GiB/s. */
static double bench_populate(struct bench *b)
{
	const double gib = (double)BENCH_SIZE / (1ul << 30);
	double gmem[REPS], mset[REPS], t0, t, g, m;
	int fd, i, r;

	for (i = 0; i < REPS; i++) {
		fd = vm_create_guest_memfd(b->vm, BENCH_SIZE, 0);
		t0 = now_sec();
		r = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, BENCH_SIZE);
		t = now_sec() - t0;
		TEST_ASSERT(!r, __KVM_SYSCALL_ERROR("fallocate(KEEP_SIZE)", r));
		gmem[i] = gib / t;
		close(fd);

		mset[i] = memset_gib_per_sec();
	}
	g = median(gmem, REPS);
	m = median(mset, REPS);
	printf("# populate 256 MiB: guest_memfd fallocate %.3f GiB/s, memset %.3f GiB/s\n",
	       g, m);
	return g / m;
}

/*
 * (2) guest touch of 256 MiB, private vs shared, neither pre-allocated.
 * For information, also a private touch after a timed fallocate(): where
 * the cost of zeroing went.
 */
static double bench_touch(struct bench *b)
{
	double priv[REPS], shared[REPS], falloc[REPS], prealloc[REPS];
	double tp, ts, t0;
	int i, r;

	for (i = 0; i < REPS; i++) {
		priv[i] = guest_cmd(b, CMD_TOUCH, PRIV_GPA, BENCH_NPAGES, 0);
		shared[i] = guest_cmd(b, CMD_TOUCH, SHARED_GPA, BENCH_NPAGES, 0);
		/* Give it all back so that the next round faults afresh. */
		guest_memfd_punch_hole(b->gmem_fd, 0, BENCH_SIZE);
		r = madvise(b->shared_hva, BENCH_SIZE, MADV_DONTNEED);
		TEST_ASSERT(!r, "madvise(MADV_DONTNEED) failed");

		t0 = now_sec();
		guest_memfd_allocate(b->gmem_fd, 0, BENCH_SIZE);
		falloc[i] = now_sec() - t0;
		prealloc[i] = guest_cmd(b, CMD_TOUCH, PRIV_GPA, BENCH_NPAGES, 0);
		guest_memfd_punch_hole(b->gmem_fd, 0, BENCH_SIZE);
	}
	tp = median(priv, REPS);
	ts = median(shared, REPS);
	printf("# guest touch of 256 MiB: private %.1f ms, shared %.1f ms\n",
	       tp * 1e3, ts * 1e3);
	printf("# private after fallocate: fallocate %.1f ms, then touch %.1f ms\n",
	       median(falloc, REPS) * 1e3, median(prealloc, REPS) * 1e3);
	return tp / ts;
}

/* Seconds per null hypercall exit, over one run of NULL_ITERS. */
static double bench_null(struct bench *b)
{
	double t = guest_cmd(b, CMD_NULL, NULL_GPA, 1, NULL_ITERS) / NULL_ITERS;

	ASSERT_EQ(b->nr_exits, (uint64_t)NULL_ITERS);
	return t;
}

/*
 * Seconds per private->shared->private round trip, over one run; the VMM's
 * seconds per round trip in each of its steps are added to @steps (to
 * shared, punch, to private) unless it is NULL.
 */
static double bench_convert(struct bench *b, uint64_t gpa, uint64_t npages,
			    uint64_t iters, double *steps)
{
	double t;

	b->t_to_shared = 0;
	b->t_punch = 0;
	b->t_to_private = 0;
	t = guest_cmd(b, CMD_CONVERT, gpa, npages, iters) / iters;
	ASSERT_EQ(b->nr_exits, 2 * iters);
	if (steps) {
		steps[0] += b->t_to_shared / iters;
		steps[1] += b->t_punch / iters;
		steps[2] += b->t_to_private / iters;
	}
	return t;
}

/* The mean of @reps runs' VMM steps (bench_convert()), to show where it goes. */
static void print_steps(const char *what, const double *steps, int reps)
{
	printf("# %s round trip, VMM steps (us): to shared %.1f, punch %.1f, to private %.1f\n",
	       what, steps[0] * 1e6 / reps, steps[1] * 1e6 / reps,
	       steps[2] * 1e6 / reps);
}

/*
 * (3) and (4): the conversion round trips over the null hypercall.  The
 * three are timed back to back in every repetition and each repetition
 * gives its own ratios, so that a slow patch of the emulator affects
 * numerator and denominator alike; the ratios are the medians.  The mean
 * VMM time of each step is printed too, to show where a round trip goes.
 */
static void bench_conversions(struct bench *b, double *r4k, double *r2m)
{
	double null[CONV_REPS], c4k[CONV_REPS], c2m[CONV_REPS];
	double q4k[CONV_REPS], q2m[CONV_REPS];
	double steps[2][3] = {};
	int i;

	for (i = 0; i < CONV_REPS; i++) {
		null[i] = bench_null(b);

		c4k[i] = bench_convert(b, CONV_4K_GPA, 1, CONV_4K_ITERS,
				       steps[0]);
		c2m[i] = bench_convert(b, CONV_2M_GPA, SZ_2M / PAGE_SIZE,
				       CONV_2M_ITERS, steps[1]);

		q4k[i] = c4k[i] / null[i];
		q2m[i] = c2m[i] / null[i];
	}
	printf("# null hypercall exit %.1f us; round trip: 4 KiB %.1f us, 2 MiB %.1f us\n",
	       median(null, CONV_REPS) * 1e6, median(c4k, CONV_REPS) * 1e6,
	       median(c2m, CONV_REPS) * 1e6);
	print_steps("4 KiB", steps[0], CONV_REPS);
	print_steps("2 MiB", steps[1], CONV_REPS);
	*r4k = median(q4k, CONV_REPS);
	*r2m = median(q2m, CONV_REPS);
}

/* Have the guest convert one chunk of each stride of a range. */
static void guest_convert_each_cmd(struct bench *b, uint64_t gpa,
				   uint64_t npages, uint64_t stride,
				   uint64_t chunk, bool scatter, bool private)
{
	bench_cmd.stride = stride;
	bench_cmd.chunk = chunk;
	bench_cmd.scatter = scatter;
	bench_cmd.attrs = private ? KVM_MAP_GPA_RANGE_ENCRYPTED :
				    KVM_MAP_GPA_RANGE_DECRYPTED;
	guest_cmd(b, CMD_CONVERT_EACH, gpa, npages, 0);
	ASSERT_EQ(b->nr_exits, npages * PAGE_SIZE / stride);
}

/*
 * (5) the fraction of the guest's private memory mapped 2M after one
 * scattered 4 KiB conversion per 2 MiB block, and its reversal, each
 * followed by a touch of everything.  The conversions to shared punch the
 * page out of its folio, which splits it; the touch after the reversal
 * refills each hole, and the allocator merges the block's pieces into one
 * 2 MiB folio again.
 */
static double bench_huge_mapped(struct bench *b)
{
	uint64_t p4k, p2m, split4k, split2m;
	long f4k, f2m;

	guest_memfd_punch_hole(b->gmem_fd, 0, BENCH_SIZE);
	guest_cmd(b, CMD_TOUCH, PRIV_GPA, BENCH_NPAGES, 0);
	guest_convert_each_cmd(b, PRIV_GPA, BENCH_NPAGES, SZ_2M, 1, true, false);
	guest_cmd(b, CMD_TOUCH, PRIV_GPA, BENCH_NPAGES, 0);
	split4k = vm_get_stat(b->vm, "private_pages_4k");
	split2m = vm_get_stat(b->vm, "private_pages_2m");
	f4k = fdinfo_value(b->gmem_fd, "privmem_folios_4k");
	f2m = fdinfo_value(b->gmem_fd, "privmem_folios_2m");
	guest_convert_each_cmd(b, PRIV_GPA, BENCH_NPAGES, SZ_2M, 1, true, true);
	guest_cmd(b, CMD_TOUCH, PRIV_GPA, BENCH_NPAGES, 0);

	p4k = vm_get_stat(b->vm, "private_pages_4k");
	p2m = vm_get_stat(b->vm, "private_pages_2m");
	printf("# private mappings: split %lu 4K + %lu 2M, after the reversal %lu 4K + %lu 2M\n",
	       split4k, split2m, p4k, p2m);
	printf("# folios: split %ld 4K + %ld 2M, after the reversal %ld 4K + %ld 2M\n",
	       f4k, f2m, fdinfo_value(b->gmem_fd, "privmem_folios_4k"),
	       fdinfo_value(b->gmem_fd, "privmem_folios_2m"));
	if (!p4k && !p2m)
		return 0;
	return (double)(p2m * (SZ_2M / PAGE_SIZE)) /
	       (p4k + p2m * (SZ_2M / PAGE_SIZE));
}

/*
 * (6) memory used over memory touched, for a guest that converts half of
 * its memory to shared in place and back, FOOT_ROUNDS times, the VMM
 * writing the shared half through its mapping each time.  Everything the
 * workload allocates (the file's pages, the VM's and the VMM's page
 * tables, metadata) is charged to the bench's child memcg, entered before
 * the file is created.
 */
static double bench_memory_used(struct bench *b)
{
	long base = 0, grown, most = 0;
	bool memcg = memcg_enter_child(CG_DIR);
	struct stat st;
	uint64_t off;
	char *map;
	int fd, i;

	fd = vm_create_guest_memfd(b->vm, FOOT_SIZE, GUEST_MEMFD_FLAG_MMAP);
	vm_userspace_mem_region_add(b->vm, VM_MEM_SRC_ANONYMOUS, FOOT_GPA,
				    FOOT_SLOT, FOOT_NPAGES, 0);
	vm_mem_region_bind_guest_memfd(b->vm, FOOT_SLOT, fd, 0);
	vm_mem_set_private(b->vm, FOOT_GPA, FOOT_SIZE);
	virt_map(b->vm, FOOT_GPA, FOOT_GPA, FOOT_NPAGES);
	map = mmap(NULL, FOOT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	TEST_ASSERT(map != MAP_FAILED, "mmap of the guest_memfd failed");
	if (memcg)
		base = memcg_current(CG_DIR);

	guest_cmd(b, CMD_TOUCH, FOOT_GPA, FOOT_NPAGES, 0);
	for (i = 0; i < FOOT_ROUNDS; i++) {
		guest_convert_each_cmd(b, FOOT_GPA, FOOT_NPAGES, 2 * FOOT_CHUNK,
				       FOOT_CHUNK / PAGE_SIZE, false, false);
		for (off = 0; off < FOOT_SIZE; off += 2 * FOOT_CHUNK)
			memset(map + off, 0x5a, FOOT_CHUNK);
		if (memcg) {
			grown = memcg_current(CG_DIR) - base;
			most = grown > most ? grown : most;
		}
		guest_convert_each_cmd(b, FOOT_GPA, FOOT_NPAGES, 2 * FOOT_CHUNK,
				       FOOT_CHUNK / PAGE_SIZE, false, true);
		guest_cmd(b, CMD_TOUCH, FOOT_GPA, FOOT_NPAGES, 0);
		if (memcg) {
			grown = memcg_current(CG_DIR) - base;
			most = grown > most ? grown : most;
		}
	}
	TEST_ASSERT(!fstat(fd, &st), "fstat failed");
	printf("# memory use: %lu KiB touched, file %ld KiB, memcg growth %s%ld KiB\n",
	       FOOT_SIZE >> 10, (long)st.st_blocks / 2, memcg ? "" : "(no memcg) ",
	       most >> 10);
	munmap(map, FOOT_SIZE);
	close(fd);
	if (!memcg)
		most = st.st_blocks * 512;
	return (double)most / FOOT_SIZE;
}

/* Write @val to the pool's sysfs file; false if it could not be done. */
static bool pool_resize(const char *val)
{
	int fd = open(POOL, O_WRONLY);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

/* The 1 GiB region, if a page of the pool can be reserved for it. */
static bool bench_gig_setup(struct bench *b)
{
	uint64_t off;

	b->gig_fd = -1;
	if (!pool_resize("1")) {
		printf("# no 1 GiB page in privmem's pool: 1 GiB ratios not measured\n");
		return false;
	}
	vm_userspace_mem_region_add(b->vm, VM_MEM_SRC_ANONYMOUS, GIG_GPA,
				    GIG_SLOT, GIG_NPAGES, 0);
	b->gig_fd = vm_create_guest_memfd(b->vm, GIG_SIZE, 0);
	vm_mem_region_bind_guest_memfd(b->vm, GIG_SLOT, b->gig_fd, 0);
	vm_mem_set_private(b->vm, GIG_GPA, GIG_SIZE);
	for (off = 0; off < GIG_SIZE; off += SZ_2M)
		__virt_pg_map(b->vm, GIG_GPA + off, GIG_GPA + off, PG_LEVEL_2M);
	return true;
}

/* (7) fallocate of the 1 GiB region from the pool vs first-touch memset. */
static double bench_gig_populate(struct bench *b)
{
	double gmem[REPS], mset[REPS], t0, t;
	int i, r;

	for (i = 0; i < REPS; i++) {
		t0 = now_sec();
		r = fallocate(b->gig_fd, FALLOC_FL_KEEP_SIZE, 0, GIG_SIZE);
		t = now_sec() - t0;
		TEST_ASSERT(!r, __KVM_SYSCALL_ERROR("fallocate(KEEP_SIZE)", r));
		ASSERT_EQ(fdinfo_value(b->gig_fd, "privmem_gigantic"),
			  (long)GIG_SIZE);
		gmem[i] = 1.0 / t;
		guest_memfd_punch_hole(b->gig_fd, 0, GIG_SIZE);

		mset[i] = memset_gib_per_sec();
	}
	printf("# populate 1 GiB from the pool: %.3f GiB/s, memset %.3f GiB/s\n",
	       median(gmem, REPS), median(mset, REPS));
	return median(gmem, REPS) / median(mset, REPS);
}

/*
 * (8) and (9): a 4 KiB round trip inside the populated, 1G-mapped region,
 * and round trips of all of it, each over the null hypercall of the same
 * repetition.
 */
static void bench_gig_conversions(struct bench *b, double *r4k, double *r1g)
{
	double q4k[CONV_REPS], q1g[CONV_REPS], null[CONV_REPS];
	double c4k[CONV_REPS], c1g[CONV_REPS];
	double steps[2][3] = {};
	int i;

	for (i = 0; i < CONV_REPS; i++) {
		guest_memfd_allocate(b->gig_fd, 0, GIG_SIZE);
		guest_cmd(b, CMD_TOUCH, GIG_GPA, GIG_NPAGES, 0);
		null[i] = bench_null(b);
		c4k[i] = bench_convert(b, GIG_CONV_GPA, 1, GIG_CONV_ITERS,
				       steps[0]);
		/* The first one frees the region; the timed ones find it empty. */
		bench_convert(b, GIG_GPA, GIG_NPAGES, 1, NULL);
		c1g[i] = bench_convert(b, GIG_GPA, GIG_NPAGES, GIG_CONV_ITERS,
				       steps[1]);
		q4k[i] = c4k[i] / null[i];
		q1g[i] = c1g[i] / null[i];
	}
	printf("# null hypercall exit %.1f us; round trip: 4 KiB in 1 GiB %.1f us, 1 GiB %.1f us\n",
	       median(null, CONV_REPS) * 1e6, median(c4k, CONV_REPS) * 1e6,
	       median(c1g, CONV_REPS) * 1e6);
	print_steps("4 KiB in 1 GiB", steps[0], CONV_REPS);
	print_steps("1 GiB", steps[1], CONV_REPS);
	*r4k = median(q4k, CONV_REPS);
	*r1g = median(q1g, CONV_REPS);
}

/*
 * (10) the fraction of the 1 GiB region mapped 2M or 1G after a scattered
 * 4 KiB conversion per 2 MiB block and its reversal, as in (5).  The other
 * private regions are empty by now, so the VM's counts are the region's.
 */
static double bench_gig_huge_mapped(struct bench *b)
{
	uint64_t p4k, p2m, p1g;

	guest_memfd_punch_hole(b->gmem_fd, 0, BENCH_SIZE);
	guest_memfd_allocate(b->gig_fd, 0, GIG_SIZE);
	b->keep = true;
	guest_cmd(b, CMD_TOUCH, GIG_GPA, GIG_NPAGES, 0);
	guest_convert_each_cmd(b, GIG_GPA, GIG_NPAGES, SZ_2M, 1, true, false);
	guest_cmd(b, CMD_TOUCH, GIG_GPA, GIG_NPAGES, 0);
	guest_convert_each_cmd(b, GIG_GPA, GIG_NPAGES, SZ_2M, 1, true, true);
	guest_cmd(b, CMD_TOUCH, GIG_GPA, GIG_NPAGES, 0);
	b->keep = false;

	p4k = vm_get_stat(b->vm, "private_pages_4k");
	p2m = vm_get_stat(b->vm, "private_pages_2m");
	p1g = vm_get_stat(b->vm, "private_pages_1g");
	printf("# 1 GiB region after the reversal: %lu 4K + %lu 2M + %lu 1G private mappings\n",
	       p4k, p2m, p1g);
	if (!p4k && !p2m && !p1g)
		return 0;
	return (double)(p2m * (SZ_2M / PAGE_SIZE) + p1g * GIG_NPAGES) /
	       (p4k + p2m * (SZ_2M / PAGE_SIZE) + p1g * GIG_NPAGES);
}

int main(void)
{
	double populate, touch, conv4k, conv2m, huge, used;
	double gpop = 0, g4k = 0, g1g = 0, ghuge = 0;
	struct bench b = { .gig_fd = -1 };
	bool gig;

	setbuf(stdout, NULL);
	if (!vm_type_supported(KVM_X86_SW_PROTECTED_VM) ||
	    !kvm_has_cap(KVM_CAP_GUEST_MEMFD) ||
	    !(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) & (1ul << KVM_HC_MAP_GPA_RANGE))) {
		printf("# privmem bench: no software-protected VMs with guest_memfd\n");
		return 1;
	}
	pin_self_to_cpu(0);

	/* extra pages: room for the guest page tables of all three ranges */
	b.vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					   2 * BENCH_NPAGES + FOOT_NPAGES,
					   guest_code, &b.vcpu);
	vm_enable_map_gpa_range_exits(b.vm);

	vm_userspace_mem_region_add(b.vm, VM_MEM_SRC_ANONYMOUS, PRIV_GPA,
				    PRIV_SLOT, BENCH_NPAGES, 0);
	b.gmem_fd = vm_create_guest_memfd(b.vm, BENCH_SIZE, 0);
	vm_mem_region_bind_guest_memfd(b.vm, PRIV_SLOT, b.gmem_fd, 0);
	vm_mem_set_private(b.vm, PRIV_GPA, BENCH_SIZE);
	virt_map(b.vm, PRIV_GPA, PRIV_GPA, BENCH_NPAGES);

	vm_userspace_mem_region_add(b.vm, VM_MEM_SRC_ANONYMOUS, SHARED_GPA,
				    SHARED_SLOT, BENCH_NPAGES, 0);
	b.shared_hva = addr_gpa2hva(b.vm, SHARED_GPA);
	virt_map(b.vm, SHARED_GPA, SHARED_GPA, BENCH_NPAGES);

	printf("# privmem bench: 256 MiB, medians of %d repetitions (conversions: %d)\n",
	       REPS, CONV_REPS);
	populate = bench_populate(&b);
	touch = bench_touch(&b);
	bench_conversions(&b, &conv4k, &conv2m);
	huge = bench_huge_mapped(&b);
	used = bench_memory_used(&b);
	gig = bench_gig_setup(&b);
	if (gig) {
		gpop = bench_gig_populate(&b);
		bench_gig_conversions(&b, &g4k, &g1g);
		ghuge = bench_gig_huge_mapped(&b);
	}

	printf("populate_vs_memset: %.2f\n", populate);
	printf("private_vs_shared_touch: %.2f\n", touch);
	printf("convert_4k_vs_null_hypercall: %.2f\n", conv4k);
	printf("convert_2m_vs_null_hypercall: %.2f\n", conv2m);
	printf("huge_mapped_after_4k_conversions: %.3f\n", huge);
	printf("memory_used_vs_touched: %.3f\n", used);
	if (gig) {
		printf("populate_1g_vs_memset: %.2f\n", gpop);
		printf("convert_4k_in_1g_vs_null_hypercall: %.2f\n", g4k);
		printf("convert_1g_vs_null_hypercall: %.2f\n", g1g);
		printf("huge_mapped_1g_after_4k_conversions: %.3f\n", ghuge);
	}

	kvm_vm_free(b.vm);
	close(b.gmem_fd);
	if (gig) {
		close(b.gig_fd);
		TEST_ASSERT(pool_resize("0"), "giving the 1 GiB page back failed");
	}
	return 0;
}
