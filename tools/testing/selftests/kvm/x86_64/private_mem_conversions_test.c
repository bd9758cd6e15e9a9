// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private <-> shared conversions driven by the guest, in a software-protected
 * VM whose test memory is bound to a guest_memfd.
 *
 * Each vCPU owns a 4 MiB chunk of the test memslot.  The whole slot starts
 * private; the guest fills its chunk with a private pattern, asks the host
 * to convert ranges (KVM_HC_MAP_GPA_RANGE, forwarded as KVM_EXIT_HYPERCALL)
 * and checks, word by word, which backing it sees at every step: the
 * guest_memfd while a range is private, the host's mapping while it is
 * shared.  The host checks its side of the same story through the shared
 * view.  Every word carries its own GPA, so a page showing up at the wrong
 * address is caught as well as a page with the wrong content.
 *
 * All threads run on CPU 0: QEMU's TCG nested SVM can corrupt a running
 * vCPU when a TLB shootdown IPI reaches its CPU (see privmem_util.h).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define NR_VCPUS		4
#define TEST_SLOT		10
#define TEST_GPA		0x100000000ull
#define CHUNK_SIZE		(4ul << 20)
#define TEST_SIZE		(NR_VCPUS * CHUNK_SIZE)
#define TEST_NPAGES		(TEST_SIZE / PAGE_SIZE)
#define SZ_2M			(2ul << 20)
#define ROUNDS			2

/* What a word holds: its own GPA xor one of these tags (or 0 after a punch). */
#define TAG_PRIVATE		0x5052495641544521ull	/* guest's private data */
#define TAG_HOST		0x484f535400000000ull	/* host's shared view */
#define TAG_HOST_MSG		0x484d534700000000ull	/* host -> guest */
#define TAG_GUEST_MSG		0x474d534700000000ull	/* guest -> host */

enum {
	TEST_PRIVATE_FILL,
	TEST_CONVERT_4K,
	TEST_CONVERT_2M,
	TEST_HOST_PUNCH,
};

/* Guest syncs; args: GPA and size of the range they are about. */
enum {
	STAGE_PRIVATE_FILLED,	/* chunk written while private */
	STAGE_SHARED,		/* range converted to shared and seen as such */
	STAGE_GUEST_WROTE,	/* guest wrote its message into shared range */
	STAGE_PRIVATE_AGAIN,	/* range private again and rewritten */
	STAGE_PUNCH,		/* please punch a hole in the range */
};

struct range {
	uint64_t offset;	/* in the vCPU's chunk */
	uint64_t npages;
};

/* 4 KiB conversions: a page, a few pages, across a 2 MiB boundary, the end. */
static const struct range ranges_4k[] = {
	{ 0, 1 },
	{ 5 * PAGE_SIZE, 3 },
	{ SZ_2M - 2 * PAGE_SIZE, 4 },
	{ CHUNK_SIZE - PAGE_SIZE, 1 },
};

static const struct range ranges_2m[] = {
	{ SZ_2M, SZ_2M / PAGE_SIZE },
};

static const struct range ranges_punch[] = {
	{ 3 * PAGE_SIZE, 1 },
	{ (1ul << 20) + PAGE_SIZE, 2 },
	{ SZ_2M, SZ_2M / PAGE_SIZE },
};

static void guest_fill(uint64_t gpa, uint64_t size, uint64_t tag)
{
	guest_fill_words(gpa, size, tag, sizeof(uint64_t));
}

/* Check [gpa, gpa + size) except [skip, skip + skip_size); tag ~0 means 0. */
static void guest_check_except(uint64_t gpa, uint64_t size, uint64_t tag,
			       uint64_t skip, uint64_t skip_size)
{
	uint64_t a, val, want;

	for (a = gpa; a < gpa + size; a += sizeof(uint64_t)) {
		if (a >= skip && a < skip + skip_size)
			continue;
		val = READ_ONCE(*(uint64_t *)a);
		want = tag == ~0ull ? 0 : privmem_word(a, tag);
		GUEST_ASSERT_3(val == want, a, val, want);
	}
}

static void guest_check(uint64_t gpa, uint64_t size, uint64_t tag)
{
	guest_check_except(gpa, size, tag, 0, 0);
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

/*
 * Round trip of one range: private -> shared (data exchanged both ways
 * through it) -> private.  @punched: the host frees the private pages on
 * the way to shared, so they come back as zeroes; otherwise the guest's
 * private data must have survived the trip.
 */
static void guest_round_trip(uint64_t chunk, uint64_t gpa, uint64_t npages,
			     bool punched)
{
	uint64_t size = npages * PAGE_SIZE;

	guest_map(gpa, npages, false);
	/* Shared: the guest sees the host's page, not its private data. */
	guest_check(gpa, size, TAG_HOST);
	GUEST_SYNC_ARGS(STAGE_SHARED, gpa, size, 0, 0);

	guest_check(gpa, size, TAG_HOST_MSG);
	guest_fill(gpa, size, TAG_GUEST_MSG);
	GUEST_SYNC_ARGS(STAGE_GUEST_WROTE, gpa, size, 0, 0);

	guest_map(gpa, npages, true);
	guest_check(gpa, size, punched ? ~0ull : TAG_PRIVATE);
	/* No other page of the chunk was lost or changed on the way. */
	guest_check_except(chunk, CHUNK_SIZE, TAG_PRIVATE, gpa, size);
	guest_fill(gpa, size, TAG_PRIVATE);
	guest_check(gpa, size, TAG_PRIVATE);
	GUEST_SYNC_ARGS(STAGE_PRIVATE_AGAIN, gpa, size, 0, 0);
}

static void guest_code(uint64_t chunk, uint64_t test, uint64_t punched)
{
	const struct range *ranges = NULL;
	int i, round, nr = 0;

	guest_fill(chunk, CHUNK_SIZE, TAG_PRIVATE);
	GUEST_SYNC_ARGS(STAGE_PRIVATE_FILLED, chunk, CHUNK_SIZE, 0, 0);
	/* Read back from the guest_memfd, not from the host's view. */
	guest_check(chunk, CHUNK_SIZE, TAG_PRIVATE);

	switch (test) {
	case TEST_CONVERT_4K:
		ranges = ranges_4k;
		nr = ARRAY_SIZE(ranges_4k);
		break;
	case TEST_CONVERT_2M:
		ranges = ranges_2m;
		nr = ARRAY_SIZE(ranges_2m);
		break;
	case TEST_HOST_PUNCH:
		ranges = ranges_punch;
		nr = ARRAY_SIZE(ranges_punch);
		break;
	}

	for (i = 0; i < nr; i++) {
		uint64_t gpa = chunk + ranges[i].offset;
		uint64_t size = ranges[i].npages * PAGE_SIZE;

		if (test == TEST_HOST_PUNCH) {
			GUEST_SYNC_ARGS(STAGE_PUNCH, gpa, size, 0, 0);
			guest_check(gpa, size, ~0ull);
			guest_check_except(chunk, CHUNK_SIZE, TAG_PRIVATE,
					   gpa, size);
			/* The hole fills again with fresh private pages. */
			guest_fill(gpa, size, TAG_PRIVATE);
			guest_check(gpa, size, TAG_PRIVATE);
			continue;
		}
		/* Converting private memory to private changes nothing. */
		guest_map(gpa, ranges[i].npages, true);
		guest_check(chunk, CHUNK_SIZE, TAG_PRIVATE);
		for (round = 0; round < ROUNDS; round++)
			guest_round_trip(chunk, gpa, ranges[i].npages, punched);
	}
	GUEST_DONE();
}

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpus[NR_VCPUS];
	int gmem_fd;
	bool punch_on_shared;
	uint64_t test;
	uint64_t nr_to_shared;
	uint64_t nr_to_private;
	uint64_t nr_punched;
};

struct vcpu_thread {
	struct test_vm *t;
	struct kvm_vcpu *vcpu;
	uint64_t chunk;
	pthread_t thread;
};

static void host_fill(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
		      uint64_t tag)
{
	uint64_t *p = addr_gpa2hva(vm, gpa);
	uint64_t i;

	for (i = 0; i < size / sizeof(*p); i++)
		p[i] = privmem_word(gpa + i * sizeof(*p), tag);
}

static void host_check(struct kvm_vm *vm, uint64_t gpa, uint64_t size,
		       uint64_t tag, const char *what)
{
	uint64_t *p = addr_gpa2hva(vm, gpa);
	uint64_t i, want;

	for (i = 0; i < size / sizeof(*p); i++) {
		want = privmem_word(gpa + i * sizeof(*p), tag);
		TEST_ASSERT(p[i] == want,
			    "%s: shared view at gpa 0x%lx holds 0x%lx, want 0x%lx",
			    what, gpa + i * sizeof(*p), p[i], want);
	}
}

static void handle_map_gpa_range(struct test_vm *t, struct kvm_run *run)
{
	uint64_t gpa = run->hypercall.args[0];
	uint64_t npages = run->hypercall.args[1];
	uint64_t attrs = run->hypercall.args[2];
	uint64_t size = npages * PAGE_SIZE;

	TEST_ASSERT(run->hypercall.longmode, "hypercall not from 64-bit mode");
	TEST_ASSERT(gpa >= TEST_GPA && size && gpa + size <= TEST_GPA + TEST_SIZE,
		    "conversion of [0x%lx, +0x%lx) outside the test slot",
		    gpa, size);

	if (attrs & KVM_MAP_GPA_RANGE_ENCRYPTED) {
		vm_mem_set_private(t->vm, gpa, size);
		__atomic_add_fetch(&t->nr_to_private, 1, __ATOMIC_RELAXED);
	} else {
		vm_mem_set_shared(t->vm, gpa, size);
		if (t->punch_on_shared) {
			guest_memfd_punch_hole(t->gmem_fd, gpa - TEST_GPA, size);
			__atomic_add_fetch(&t->nr_punched, 1, __ATOMIC_RELAXED);
		}
		__atomic_add_fetch(&t->nr_to_shared, 1, __ATOMIC_RELAXED);
	}
	run->hypercall.ret = 0;
}

static void handle_sync(struct test_vm *t, struct ucall *uc)
{
	uint64_t gpa = uc->args[2], size = uc->args[3];
	struct kvm_vm *vm = t->vm;

	switch (uc->args[1]) {
	case STAGE_PRIVATE_FILLED:
		/* The guest's private writes never reach the host's view. */
		host_check(vm, gpa, size, TAG_HOST, "after private writes");
		break;
	case STAGE_SHARED:
		host_check(vm, gpa, size, TAG_HOST, "after conversion to shared");
		host_fill(vm, gpa, size, TAG_HOST_MSG);
		break;
	case STAGE_GUEST_WROTE:
		host_check(vm, gpa, size, TAG_GUEST_MSG, "guest's message");
		break;
	case STAGE_PRIVATE_AGAIN:
		host_check(vm, gpa, size, TAG_GUEST_MSG,
			   "after conversion back to private");
		host_fill(vm, gpa, size, TAG_HOST);
		break;
	case STAGE_PUNCH:
		guest_memfd_punch_hole(t->gmem_fd, gpa - TEST_GPA, size);
		__atomic_add_fetch(&t->nr_punched, 1, __ATOMIC_RELAXED);
		host_check(vm, gpa, size, TAG_HOST, "after punching a hole");
		break;
	default:
		TEST_FAIL("unknown stage %lu", uc->args[1]);
	}
}

static void *vcpu_thread_main(void *arg)
{
	struct vcpu_thread *vt = arg;
	struct kvm_vcpu *vcpu = vt->vcpu;
	struct kvm_run *run = vcpu->run;
	struct ucall uc;

	pin_self_to_cpu(0);
	for (;;) {
		vcpu_run(vcpu);
		if (is_map_gpa_range_exit(run)) {
			handle_map_gpa_range(vt->t, run);
			continue;
		}
		TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
			    "vCPU %u: unexpected exit %s", vcpu->id,
			    exit_reason_str(run->exit_reason));
		switch (get_ucall(vcpu, &uc)) {
		case UCALL_SYNC:
			handle_sync(vt->t, &uc);
			break;
		case UCALL_DONE:
			return NULL;
		case UCALL_ABORT:
			REPORT_GUEST_ASSERT_N(uc, "vCPU %u: 0x%lx, 0x%lx, 0x%lx",
					      vcpu->id,
					      GUEST_ASSERT_ARG(uc, 0),
					      GUEST_ASSERT_ARG(uc, 1),
					      GUEST_ASSERT_ARG(uc, 2));
		default:
			TEST_FAIL("vCPU %u: unexpected ucall", vcpu->id);
		}
	}
}

static void test_vm_create(struct test_vm *t, uint64_t test, bool punch)
{
	memset(t, 0, sizeof(*t));
	t->test = test;
	t->punch_on_shared = punch;
	t->vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, NR_VCPUS,
					    TEST_NPAGES, guest_code, t->vcpus);
	vm_enable_map_gpa_range_exits(t->vm);

	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t->gmem_fd = vm_create_guest_memfd(t->vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->gmem_fd, 0);
	vm_mem_set_private(t->vm, TEST_GPA, TEST_SIZE);
	virt_map(t->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	host_fill(t->vm, TEST_GPA, TEST_SIZE, TAG_HOST);
}

static void test_vm_run(struct test_vm *t)
{
	struct vcpu_thread vt[NR_VCPUS];
	int i, r;

	for (i = 0; i < NR_VCPUS; i++) {
		vt[i].t = t;
		vt[i].vcpu = t->vcpus[i];
		vt[i].chunk = TEST_GPA + i * CHUNK_SIZE;
		vcpu_args_set(t->vcpus[i], 3, vt[i].chunk, t->test,
			      (uint64_t)t->punch_on_shared);
		r = pthread_create(&vt[i].thread, NULL, vcpu_thread_main, &vt[i]);
		TEST_ASSERT(!r, "pthread_create: %s", strerror(r));
	}
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(vt[i].thread, NULL);
}

static void test_vm_free(struct test_vm *t)
{
	kvm_vm_free(t->vm);
	close(t->gmem_fd);
}

static void test_private_writes_invisible_to_host(void)
{
	struct test_vm t;

	test_vm_create(&t, TEST_PRIVATE_FILL, false);
	test_vm_run(&t);
	/* Nothing the guest wrote while private reached the shared view. */
	host_check(t.vm, TEST_GPA, TEST_SIZE, TAG_HOST, "at the end");
	ASSERT_EQ(t.nr_to_shared + t.nr_to_private, 0);
	test_vm_free(&t);
	ksft_test_result_pass("private writes of %d vCPUs stay out of the shared view\n",
			      NR_VCPUS);
}

static void test_convert(uint64_t test, const char *name, int nr_ranges,
			 bool punch)
{
	uint64_t want = (uint64_t)NR_VCPUS * nr_ranges * ROUNDS;
	struct test_vm t;

	test_vm_create(&t, test, punch);
	test_vm_run(&t);
	ASSERT_EQ(t.nr_to_shared, want);
	/* One private->private conversion per range, before the round trips. */
	ASSERT_EQ(t.nr_to_private, want + NR_VCPUS * nr_ranges);
	ASSERT_EQ(t.nr_punched, punch ? want : 0);
	test_vm_free(&t);
	ksft_test_result_pass("%s conversions %s: %lu round trips, %s\n", name,
			      punch ? "with punch hole" : "without punch hole",
			      want, punch ? "private data reads back as zeroes" :
					    "private data survives");
}

static void test_convert_4k_keeps_private_data(void)
{
	test_convert(TEST_CONVERT_4K, "4 KiB", ARRAY_SIZE(ranges_4k), false);
}

static void test_convert_4k_punch_zeroes(void)
{
	test_convert(TEST_CONVERT_4K, "4 KiB", ARRAY_SIZE(ranges_4k), true);
}

static void test_convert_2m_keeps_private_data(void)
{
	test_convert(TEST_CONVERT_2M, "2 MiB", ARRAY_SIZE(ranges_2m), false);
}

static void test_convert_2m_punch_zeroes(void)
{
	test_convert(TEST_CONVERT_2M, "2 MiB", ARRAY_SIZE(ranges_2m), true);
}

static void test_host_punch_hole_zeroes_private(void)
{
	struct test_vm t;

	test_vm_create(&t, TEST_HOST_PUNCH, false);
	test_vm_run(&t);
	ASSERT_EQ(t.nr_punched, (uint64_t)NR_VCPUS * ARRAY_SIZE(ranges_punch));
	ASSERT_EQ(t.nr_to_shared + t.nr_to_private, 0);
	test_vm_free(&t);
	ksft_test_result_pass("host punch hole: the guest reads zeroes there, neighbours intact\n");
}

int main(void)
{
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MEMORY_ATTRIBUTES));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_EXIT_HYPERCALL) &
		     (1ul << KVM_HC_MAP_GPA_RANGE));

	pin_self_to_cpu(0);

	ksft_print_header();
	ksft_set_plan(6);

	test_private_writes_invisible_to_host();
	test_convert_4k_keeps_private_data();
	test_convert_4k_punch_zeroes();
	test_convert_2m_keeps_private_data();
	test_convert_2m_punch_zeroes();
	test_host_punch_hole_zeroes_private();

	ksft_finished();
}
