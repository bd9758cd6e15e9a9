// SPDX-License-Identifier: GPL-2.0-only
/*
 * Invalidation races: a host thread punches holes in a guest_memfd and
 * flips GFNs between private and shared while a vCPU writes and reads back
 * the same pages.  Whatever the interleaving, a read must return a value
 * this vCPU wrote to this very GPA (the latest, or an older one left in the
 * other backing while the GFN flipped), zero (a hole punched in between)
 * or the host's shared pattern: never another page's data, never garbage.
 * Run under the debug kernel, lockdep and KASAN watch the same paths.
 *
 * Both threads run on CPU 0 (see pin_self_to_cpu()); they interleave by
 * preemption, which also preempts the vCPU in guest mode.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_SIZE	(4ul << 20)
#define TEST_NPAGES	(TEST_SIZE / PAGE_SIZE)
#define SZ_2M		(2ul << 20)
#define HOST_PATTERN	0x5348415245445f5full	/* the host's shared view */
#define RUN_SECONDS	8

#define VALUE_KEY	0x9e3779b97f4a7c15ull

/* Every word written carries its GPA and the pass, so a wrong page shows. */
static inline uint64_t guest_value(uint64_t gpa, uint64_t pass)
{
	return ((gpa << 16) | (pass & 0xffff)) ^ VALUE_KEY;
}

static inline bool guest_value_ok(uint64_t got, uint64_t gpa, uint64_t pass)
{
	uint64_t v = got ^ VALUE_KEY;

	if (got == 0 || got == HOST_PATTERN)
		return true;
	return (v >> 16) == gpa && (v & 0xffff) <= (pass & 0xffff);
}

static void guest_code(void)
{
	uint64_t pass, i, gpa, want, got;

	for (pass = 1; ; pass++) {
		for (i = 0; i < TEST_NPAGES; i++) {
			gpa = TEST_GPA + i * PAGE_SIZE;
			want = guest_value(gpa, pass);
			WRITE_ONCE(*(uint64_t *)gpa, want);
			got = READ_ONCE(*(uint64_t *)gpa);
			GUEST_ASSERT_2(guest_value_ok(got, gpa, pass), got, want);
		}
		/* The host decides when to stop: it just stops running us. */
		GUEST_SYNC(pass);
	}
}

struct race {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
	uint64_t *shared;
	atomic_bool stop;
	uint64_t punches, conversions;
};

static void fill_shared_view(struct race *r)
{
	uint64_t i;

	for (i = 0; i < TEST_SIZE / sizeof(uint64_t); i++)
		r->shared[i] = HOST_PATTERN;
}

/* Punch holes of 4 KiB, 64 KiB and 2 MiB, and flip single pages. */
static void *host_thread(void *arg)
{
	struct race *r = arg;
	uint64_t seed = 1;

	pin_self_to_cpu(0);
	while (!atomic_load(&r->stop)) {
		uint64_t page, len;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		page = (seed >> 33) % TEST_NPAGES;
		switch ((seed >> 20) % 4) {
		case 0:
			len = PAGE_SIZE;
			break;
		case 1:
			len = 16 * PAGE_SIZE;
			page &= ~15ul;
			break;
		case 2:
			len = SZ_2M;
			page &= ~(SZ_2M / PAGE_SIZE - 1);
			break;
		default:
			/* private -> shared -> private around a host hole */
			vm_mem_set_shared(r->vm, TEST_GPA + page * PAGE_SIZE,
					  PAGE_SIZE);
			sched_yield();
			vm_mem_set_private(r->vm, TEST_GPA + page * PAGE_SIZE,
					   PAGE_SIZE);
			r->conversions++;
			continue;
		}
		guest_memfd_punch_hole(r->gmem_fd, page * PAGE_SIZE, len);
		r->punches++;
		sched_yield();
	}
	return NULL;
}

/* Run the vCPU through its next pass, which must be pass @pass. */
static bool run_guest(struct race *r, uint64_t pass)
{
	struct ucall uc;

	vcpu_run(r->vcpu);
	TEST_ASSERT(r->vcpu->run->exit_reason == KVM_EXIT_IO,
		    "unexpected exit %s",
		    exit_reason_str(r->vcpu->run->exit_reason));
	switch (get_ucall(r->vcpu, &uc)) {
	case UCALL_SYNC:
		return uc.args[1] == pass;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_2(uc, "read 0x%lx, wrote 0x%lx");
		return false;
	default:
		TEST_FAIL("unexpected ucall %lu", uc.cmd);
		return false;
	}
}

static void race_setup(struct race *r)
{
	r->vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					    TEST_NPAGES, guest_code, &r->vcpu);
	vm_userspace_mem_region_add(r->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	virt_map(r->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	r->gmem_fd = vm_create_guest_memfd(r->vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(r->vm, TEST_SLOT, r->gmem_fd, 0);
	vm_mem_set_private(r->vm, TEST_GPA, TEST_SIZE);
	r->shared = addr_gpa2hva(r->vm, TEST_GPA);
	fill_shared_view(r);
}

static void race_teardown(struct race *r)
{
	close(r->gmem_fd);
	kvm_vm_free(r->vm);
}

/* Reads see the write, a hole or the shared view while the host races. */
static void test_invalidate_races_with_access(void)
{
	struct race r = {};
	pthread_t host;
	time_t end;
	uint64_t passes = 0;
	bool ok = true;

	race_setup(&r);
	TEST_ASSERT(!pthread_create(&host, NULL, host_thread, &r),
		    "pthread_create failed");

	/*
	 * Bounded in time and in passes: TCG speed varies a lot, and a loaded
	 * host may let the guest finish only one pass in RUN_SECONDS, so the
	 * second one, which the verdict needs, gets more time.
	 */
	end = time(NULL) + RUN_SECONDS;
	while (ok && passes < 64 &&
	       (time(NULL) < end ||
		(passes < 2 && time(NULL) < end + 10 * RUN_SECONDS)))
		ok = run_guest(&r, ++passes);

	atomic_store(&r.stop, true);
	pthread_join(host, NULL);

	ksft_print_msg("%lu guest passes, %lu holes punched, %lu conversions\n",
		       passes, r.punches, r.conversions);
	race_teardown(&r);
	ksft_test_result(ok && passes > 1 && r.punches > 0,
			 "guest accesses racing punch hole and conversions\n");
}

/* Closing the guest_memfd while the guest keeps faulting is clean. */
static void test_close_races_with_access(void)
{
	struct race r = {};
	struct kvm_run *run;
	int ret;

	race_setup(&r);
	TEST_ASSERT(run_guest(&r, 1), "first pass failed");

	close(r.gmem_fd);
	run = r.vcpu->run;
	ret = __vcpu_run(r.vcpu);

	ksft_test_result(ret == -1 && errno == EFAULT &&
			 run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
			 (run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE),
			 "private faults after close exit with KVM_EXIT_MEMORY_FAULT\n");
	kvm_vm_free(r.vm);
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));

	pin_self_to_cpu(0);
	ksft_print_header();
	ksft_set_plan(2);

	test_invalidate_races_with_access();
	test_close_races_with_access();

	ksft_finished();
}
