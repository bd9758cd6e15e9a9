// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_PRE_FAULT_MEMORY: map a GPA range into a vCPU's page tables before the
 * guest touches it.  Checks what the ioctl reports for ranges in ordinary and
 * guest_memfd memslots (shared and private), outside any memslot and half
 * outside, what it refuses, and that a pre-faulted private range is memory
 * the guest can use: it reads zeroes, keeps what it writes, and the host's
 * shared view of the slot does not change.
 *
 * Every test_*() function checks one behaviour and reports one TAP result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/compiler.h>
#include <linux/falloc.h>
#include <linux/sizes.h>

#include "kvm_util.h"
#include "processor.h"
#include "privmem_util.h"
#include "privmem_vm.h"
#include "kselftest.h"

#define TEST_SLOT		10
#define TEST_GPA		0x40000000ull
#define TEST_SIZE		SZ_2M

/* What the host fills the shared view with, and what the guest writes. */
#define HOST_FILL		0xa5
#define GUEST_PATTERN		0x6775657374000000ull

/*
 * Touch every page of [gva, gva + npages pages), identity-mapped: it must
 * read as zero (fresh private memory, not the host's fill), keep what the
 * guest writes to its first and last word, and read it back.
 */
static void guest_code(uint64_t gva, uint64_t npages)
{
	const uint64_t last = PAGE_SIZE / sizeof(uint64_t) - 1;
	uint64_t i, v;

	for (i = 0; i < npages; i++) {
		uint64_t *page = (uint64_t *)(gva + i * PAGE_SIZE);

		v = READ_ONCE(page[0]);
		GUEST_ASSERT_2(v == 0, i, v);
		v = READ_ONCE(page[last]);
		GUEST_ASSERT_2(v == 0, i, v);
		WRITE_ONCE(page[0], GUEST_PATTERN | i);
		WRITE_ONCE(page[last], ~(GUEST_PATTERN | i));
	}
	for (i = 0; i < npages; i++) {
		uint64_t *page = (uint64_t *)(gva + i * PAGE_SIZE);

		v = READ_ONCE(page[0]);
		GUEST_ASSERT_2(v == (GUEST_PATTERN | i), i, v);
		v = READ_ONCE(page[last]);
		GUEST_ASSERT_2(v == ~(GUEST_PATTERN | i), i, v);
	}
	GUEST_SYNC(npages);
	GUEST_DONE();
}

/* A VM with one vCPU and the test memslot, identity-mapped for the guest. */
struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;		/* -1: an ordinary memslot */
	uint64_t size;
	uint8_t *shared;	/* the host's (shared) view of the memslot */
};

static void test_vm_create(struct test_vm *t, unsigned long type, uint64_t size,
			   bool gmem)
{
	uint64_t npages = size / PAGE_SIZE;

	t->vm = __vm_create_type_with_vcpus(type, 1, npages, guest_code, &t->vcpu);
	t->size = size;
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, npages, 0);
	virt_map(t->vm, TEST_GPA, TEST_GPA, npages);
	t->shared = addr_gpa2hva(t->vm, TEST_GPA);
	memset(t->shared, HOST_FILL, size);

	t->gmem_fd = -1;
	if (gmem) {
		t->gmem_fd = vm_create_guest_memfd(t->vm, size, 0);
		vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->gmem_fd, 0);
	}
	vcpu_args_set(t->vcpu, 2, TEST_GPA, npages);
}

static void test_vm_destroy(struct test_vm *t)
{
	kvm_vm_free(t->vm);
	if (t->gmem_fd >= 0)
		close(t->gmem_fd);
}

/* Pre-fault [gpa, gpa + size), which must be done in one call. */
static bool prefault_all(struct kvm_vcpu *vcpu, uint64_t gpa, uint64_t size,
			 const char *what)
{
	struct kvm_pre_fault_memory range = { .gpa = gpa, .size = size };
	bool ok;

	ok = outcome_is(__vcpu_pre_fault_memory(vcpu, &range), 0,
			"pre-faulting %s [0x%lx, +0x%lx)", what, gpa, size);
	ok &= expect(range.size == 0 && range.gpa == gpa + size,
		     "%s [0x%lx, +0x%lx) left gpa 0x%llx size 0x%llx, want 0x%lx 0",
		     what, gpa, size, range.gpa, range.size, gpa + size);
	return ok;
}

/* Sub-ranges of the test slot every "inside a memslot" test pre-faults. */
static bool prefault_slot_ranges(struct kvm_vcpu *vcpu, uint64_t size,
				 const char *what)
{
	const struct {
		uint64_t offset;
		uint64_t size;
	} ranges[] = {
		{ 0, PAGE_SIZE },
		{ size / 2, PAGE_SIZE },
		{ size - PAGE_SIZE, PAGE_SIZE },
		{ PAGE_SIZE, 3 * PAGE_SIZE },
		{ 0, size },
		/* Already mapped: still done, still reported done. */
		{ 0, size },
	};
	bool ok = true;
	int i;

	for (i = 0; i < ARRAY_SIZE(ranges); i++)
		ok &= prefault_all(vcpu, TEST_GPA + ranges[i].offset, ranges[i].size,
				   what);
	return ok;
}

/* Run the guest over the test slot; false (and why) if it did not finish. */
static bool run_guest(struct test_vm *t)
{
	struct kvm_run *run = t->vcpu->run;
	uint64_t npages = t->size / PAGE_SIZE;
	struct ucall uc;
	int r;

	r = _vcpu_run(t->vcpu);
	if (!outcome_is(r, 0, "KVM_RUN (exit reason %s)",
			exit_reason_str(run->exit_reason)))
		return false;

	switch (get_ucall(t->vcpu, &uc)) {
	case UCALL_SYNC:
		if (!expect(uc.args[1] == npages, "guest touched %lu pages, want %lu",
			    uc.args[1], npages))
			return false;
		break;
	case UCALL_ABORT:
		ksft_print_msg("guest: %s at %s:%lu (page %lu, value 0x%lx)\n",
			       (const char *)uc.args[GUEST_ERROR_STRING],
			       (const char *)uc.args[GUEST_FILE],
			       uc.args[GUEST_LINE], GUEST_ASSERT_ARG(uc, 0),
			       GUEST_ASSERT_ARG(uc, 1));
		return false;
	default:
		ksft_print_msg("guest exited with %s, want a ucall\n",
			       exit_reason_str(run->exit_reason));
		return false;
	}

	r = _vcpu_run(t->vcpu);
	return outcome_is(r, 0, "KVM_RUN to the end") &&
	       expect(get_ucall(t->vcpu, &uc) == UCALL_DONE,
		      "guest did not reach its end (exit reason %s)",
		      exit_reason_str(run->exit_reason));
}

/* The guest's private writes must not have reached the shared view. */
static bool shared_view_untouched(struct test_vm *t)
{
	uint64_t i;

	for (i = 0; i < t->size; i++) {
		if (t->shared[i] != HOST_FILL)
			return expect(false, "shared view byte 0x%lx is 0x%x, want 0x%x",
				      i, t->shared[i], HOST_FILL);
	}
	return true;
}

/*
 * Pre-fault the sub-ranges of a new VM's test slot: a guest_memfd slot if
 * @gmem, its memory private if @private as well.
 */
static bool prefault_new_slot(unsigned long type, bool gmem, bool private,
			      const char *what)
{
	struct test_vm t;
	bool ok;

	test_vm_create(&t, type, TEST_SIZE, gmem);
	if (private)
		vm_mem_set_private(t.vm, TEST_GPA, t.size);
	ok = prefault_slot_ranges(t.vcpu, t.size, what);
	test_vm_destroy(&t);
	return ok;
}

/* The guest can use the whole slot, and its writes stay private. */
static bool guest_uses_slot(struct test_vm *t)
{
	return run_guest(t) && shared_view_untouched(t);
}

static bool test_prefault_normal_slot(void)
{
	return prefault_new_slot(KVM_X86_SW_PROTECTED_VM, false, false,
				 "an ordinary slot");
}

static bool test_prefault_default_vm(void)
{
	return prefault_new_slot(KVM_X86_DEFAULT_VM, false, false,
				 "a default VM's slot");
}

static bool test_prefault_private(void)
{
	return prefault_new_slot(KVM_X86_SW_PROTECTED_VM, true, true,
				 "private guest_memfd memory");
}

static bool test_prefault_shared_in_gmem_slot(void)
{
	return prefault_new_slot(KVM_X86_SW_PROTECTED_VM, true, false,
				 "shared memory of a guest_memfd slot");
}

/*
 * A pre-fault of [gpa, +size) with @flags that must fail with @want, and
 * make no progress: the range comes back as it went in.
 */
static bool prefault_refused(struct kvm_vcpu *vcpu, uint64_t gpa,
			     uint64_t size, uint64_t flags, int want,
			     const char *what)
{
	struct kvm_pre_fault_memory range = {
		.gpa = gpa,
		.size = size,
		.flags = flags,
	};
	bool ok;

	ok = outcome_is(__vcpu_pre_fault_memory(vcpu, &range), want,
			"pre-faulting %s", what);
	ok &= expect(range.gpa == gpa && range.size == size,
		     "%s: range changed to gpa 0x%llx size 0x%llx without progress",
		     what, range.gpa, range.size);
	return ok;
}

static bool test_prefault_outside_memslot(void)
{
	const struct {
		const char *what;
		uint64_t gpa;
		uint64_t size;
	} cases[] = {
		{ "the page after the slot", TEST_GPA + TEST_SIZE, PAGE_SIZE },
		{ "the page before the slot", TEST_GPA - PAGE_SIZE, PAGE_SIZE },
		{ "a range starting before the slot", TEST_GPA - PAGE_SIZE,
		  2 * PAGE_SIZE },
		{ "2 MiB after the slot", TEST_GPA + TEST_SIZE, SZ_2M },
		{ "far above the slot", TEST_GPA + SZ_1G, SZ_1M },
	};
	struct test_vm t;
	bool ok = true;
	int i;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, TEST_SIZE, false);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= prefault_refused(t.vcpu, cases[i].gpa, cases[i].size, 0,
				       ENOENT, cases[i].what);

	test_vm_destroy(&t);
	return ok;
}

/*
 * A range that runs off the end of the slot: the first call maps what is in
 * the slot and returns 0 with the range advanced to the slot's end; going
 * on from there finds no memslot.
 */
static bool test_prefault_partial(void)
{
	const uint64_t gpa = TEST_GPA + TEST_SIZE / 2, size = TEST_SIZE;
	const uint64_t end = TEST_GPA + TEST_SIZE;
	struct kvm_pre_fault_memory range = { .gpa = gpa, .size = size };
	struct test_vm t;
	bool ok;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, TEST_SIZE, false);

	ok = outcome_is(__vcpu_pre_fault_memory(t.vcpu, &range), 0,
			"pre-faulting [0x%lx, +0x%lx) over the slot's end", gpa, size);
	ok &= expect(range.gpa == end && range.size == gpa + size - end,
		     "after the first call: gpa 0x%llx size 0x%llx, want 0x%lx 0x%lx",
		     range.gpa, range.size, end, gpa + size - end);

	ok &= prefault_refused(t.vcpu, range.gpa, range.size, 0, ENOENT,
			       "the rest, past the slot");

	test_vm_destroy(&t);
	return ok;
}

static bool test_prefault_bad_input(void)
{
	const struct {
		const char *what;
		uint64_t gpa;
		uint64_t size;
		uint64_t flags;
	} cases[] = {
		{ "flags 1", TEST_GPA, PAGE_SIZE, 1 },
		{ "flags 2", TEST_GPA, PAGE_SIZE, 2 },
		{ "flags 1<<63", TEST_GPA, PAGE_SIZE, 1ull << 63 },
		{ "size 0", TEST_GPA, 0, 0 },
		{ "size 0 outside any slot", 0, 0, 0 },
		{ "gpa + 1", TEST_GPA + 1, PAGE_SIZE, 0 },
		{ "gpa + half a page", TEST_GPA + PAGE_SIZE / 2, PAGE_SIZE, 0 },
		{ "gpa + page - 1", TEST_GPA + PAGE_SIZE - 1, PAGE_SIZE, 0 },
		{ "size 1", TEST_GPA, 1, 0 },
		{ "size page - 1", TEST_GPA, PAGE_SIZE - 1, 0 },
		{ "size page + 1", TEST_GPA, PAGE_SIZE + 1, 0 },
		{ "size slot - 1", TEST_GPA, TEST_SIZE - 1, 0 },
		{ "gpa + size wraps", ~0ull & PAGE_MASK, 2 * PAGE_SIZE, 0 },
		{ "gpa + size wraps to 0", ~0ull & PAGE_MASK, PAGE_SIZE, 0 },
		{ "size wraps from the slot", TEST_GPA, -TEST_GPA, 0 },
		{ "size ~0 & page mask", TEST_GPA, ~0ull & PAGE_MASK, 0 },
	};
	struct test_vm t;
	bool ok = true;
	int i;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, TEST_SIZE, false);

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= prefault_refused(t.vcpu, cases[i].gpa, cases[i].size,
				       cases[i].flags, EINVAL, cases[i].what);

	test_vm_destroy(&t);
	return ok;
}

static bool test_prefault_private_then_guest_rw(void)
{
	struct test_vm t;
	bool ok;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, TEST_SIZE, true);
	vm_mem_set_private(t.vm, TEST_GPA, t.size);

	ok = prefault_all(t.vcpu, TEST_GPA, t.size, "private memory");
	ok = ok && guest_uses_slot(&t);

	test_vm_destroy(&t);
	return ok;
}

/*
 * Half of a private range has its guest_memfd pages allocated already
 * (fallocate), half does not: pre-faulting either works, and the guest can
 * use all of it.
 */
static bool test_prefault_fallocated_and_not(void)
{
	const uint64_t half = TEST_SIZE;
	struct test_vm t;
	bool ok;

	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, 2 * half, true);
	TEST_ASSERT(!fallocate(t.gmem_fd, FALLOC_FL_KEEP_SIZE, 0, half),
		    "fallocate of the first half failed, errno %d", errno);
	vm_mem_set_private(t.vm, TEST_GPA, t.size);

	ok = prefault_all(t.vcpu, TEST_GPA, half, "fallocate()d private memory");
	ok &= prefault_all(t.vcpu, TEST_GPA + half, half,
			   "private memory never allocated");
	ok = ok && guest_uses_slot(&t);

	test_vm_destroy(&t);
	return ok;
}

struct slot_flipper {
	struct kvm_vm *vm;
	struct kvm_userspace_memory_region region;
	atomic_bool stop;
	unsigned long flips;
};

/* Delete and re-create the test slot until told to stop. */
static void *flip_slot(void *arg)
{
	struct slot_flipper *f = arg;
	struct kvm_userspace_memory_region del = f->region;

	pin_self_to_cpu(0);
	del.memory_size = 0;
	while (!atomic_load(&f->stop)) {
		vm_ioctl(f->vm, KVM_SET_USER_MEMORY_REGION, &del);
		sched_yield();
		vm_ioctl(f->vm, KVM_SET_USER_MEMORY_REGION, &f->region);
		f->flips++;
		sched_yield();
	}
	return NULL;
}

/*
 * Deleting a memslot waits for readers of kvm->srcu, which pre-faulting
 * holds: a pre-fault that met the slot half-deleted must give up with
 * EAGAIN, not retry forever.  Every call ends with 0, ENOENT (slot gone)
 * or EAGAIN (slot going), and the loop ends at all.
 */
static bool test_prefault_races_memslot_delete(void)
{
	struct slot_flipper f = {};
	struct test_vm t;
	unsigned long calls = 0, done = 0, gone = 0, again = 0;
	pthread_t flipper;
	time_t end;
	bool ok = true;

	pin_self_to_cpu(0);
	test_vm_create(&t, KVM_X86_SW_PROTECTED_VM, TEST_SIZE, false);
	f.vm = t.vm;
	f.region = memslot2region(t.vm, TEST_SLOT)->region;
	TEST_ASSERT(!pthread_create(&flipper, NULL, flip_slot, &f),
		    "pthread_create failed");

	end = time(NULL) + 3;
	while (ok && time(NULL) < end) {
		struct kvm_pre_fault_memory range = {
			.gpa = TEST_GPA, .size = TEST_SIZE,
		};
		int r = __vcpu_pre_fault_memory(t.vcpu, &range);

		calls++;
		if (!r)
			done++;
		else if (errno == ENOENT)
			gone++;
		else if (errno == EAGAIN)
			again++;
		else
			ok = expect(false, "pre-fault racing slot deletion: errno %d (%s)",
				    errno, strerror(errno));
	}
	atomic_store(&f.stop, true);
	pthread_join(flipper, NULL);
	ksft_print_msg("%lu pre-faults: %lu done, %lu ENOENT, %lu EAGAIN; %lu slot flips\n",
		       calls, done, gone, again, f.flips);

	/* The slot is back: pre-faulting it whole works again. */
	ok &= prefault_all(t.vcpu, TEST_GPA, TEST_SIZE, "the re-created slot");
	test_vm_destroy(&t);
	return ok && calls > 0 && f.flips > 0;
}

static const struct privmem_test tests[] = {
	{ test_prefault_normal_slot, "prefault_normal_slot" },
	{ test_prefault_default_vm, "prefault_default_vm" },
	{ test_prefault_private, "prefault_private" },
	{ test_prefault_shared_in_gmem_slot, "prefault_shared_in_gmem_slot" },
	{ test_prefault_outside_memslot, "prefault_outside_memslot" },
	{ test_prefault_partial, "prefault_partial" },
	{ test_prefault_bad_input, "prefault_bad_input" },
	{ test_prefault_private_then_guest_rw, "prefault_private_then_guest_rw" },
	{ test_prefault_fallocated_and_not, "prefault_fallocated_and_not" },
	{ test_prefault_races_memslot_delete, "prefault_races_memslot_delete" },
};

int main(void)
{
	ksft_print_header();
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_PRE_FAULT_MEMORY));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_VM_TYPES) & BIT(KVM_X86_SW_PROTECTED_VM));
	privmem_run_tests(tests, ARRAY_SIZE(tests));
}
