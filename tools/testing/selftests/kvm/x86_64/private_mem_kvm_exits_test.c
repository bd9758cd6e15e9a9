// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private accesses that KVM cannot serve must reach user space as
 * KVM_EXIT_MEMORY_FAULT: KVM_RUN fails with EFAULT and run->memory_fault
 * names the page (flags PRIVATE, page-aligned gpa, size 4 KiB), so that the
 * VMM can fix things up (e.g. make the GFN shared) and resume the guest.
 *
 * The guest loops over one access at a time, described by the host in
 * guest_cmd; after a memory fault exit the access is retried on re-entry.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_NPAGES	16
#define TEST_SIZE	(TEST_NPAGES * PAGE_SIZE)
/* Accesses land inside the page, the exit must report the page. */
#define ACCESS_OFFSET	0x128

#define POISON_EXIT	0xdeadbeefu
#define POISON_FIELD	0xdeadbeefdeadbeefull

struct guest_cmd {
	uint64_t gpa;
	uint64_t write;
	uint64_t val;
};

static struct guest_cmd guest_cmd;

static void guest_code(void)
{
	uint64_t *p, val;

	for (;;) {
		p = (uint64_t *)READ_ONCE(guest_cmd.gpa);
		if (READ_ONCE(guest_cmd.write))
			WRITE_ONCE(*p, READ_ONCE(guest_cmd.val));
		val = READ_ONCE(*p);
		GUEST_SYNC(val);
	}
}

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
};

static void test_vm_create(struct test_vm *t, bool guest_memfd)
{
	t->vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					    TEST_NPAGES, guest_code, &t->vcpu);
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	t->gmem_fd = -1;
	if (guest_memfd) {
		t->gmem_fd = vm_create_guest_memfd(t->vm, TEST_SIZE, 0);
		vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->gmem_fd, 0);
	}
	virt_map(t->vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
}

static void test_vm_free(struct test_vm *t)
{
	kvm_vm_free(t->vm);
	if (t->gmem_fd >= 0)
		close(t->gmem_fd);
}

static uint64_t *shared_view(struct test_vm *t, uint64_t gpa)
{
	return addr_gpa2hva(t->vm, gpa);
}

static void set_cmd(struct test_vm *t, uint64_t gpa, bool write, uint64_t val)
{
	guest_cmd.gpa = gpa;
	guest_cmd.write = write;
	guest_cmd.val = val;
	sync_global_to_guest(t->vm, guest_cmd);
}

/*
 * KVM_RUN (retrying EINTR) with the exit fields poisoned first, so that
 * stale values cannot pass for KVM's; the union is left alone when it
 * carries the data of an MMIO read that KVM completes on entry.
 */
static int run_poisoned(struct kvm_vcpu *vcpu, int *err)
{
	struct kvm_run *run = vcpu->run;
	int r;

	if (run->exit_reason != KVM_EXIT_MMIO) {
		run->memory_fault.flags = POISON_FIELD;
		run->memory_fault.gpa = POISON_FIELD;
		run->memory_fault.size = POISON_FIELD;
	}
	run->exit_reason = POISON_EXIT;
	do {
		r = __vcpu_run(vcpu);
		*err = errno;
	} while (r == -1 && *err == EINTR);
	return r;
}

static void expect_memory_fault(struct kvm_vcpu *vcpu, uint64_t gpa)
{
	struct kvm_run *run = vcpu->run;
	uint64_t page = gpa & PAGE_MASK;
	int r, err;

	r = run_poisoned(vcpu, &err);
	TEST_ASSERT(r == -1 && err == EFAULT,
		    "KVM_RUN: want -1/EFAULT, got %d/%s (exit %s)", r,
		    r ? strerror(err) : "none", exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MEMORY_FAULT,
		    "want KVM_EXIT_MEMORY_FAULT, got exit reason %u (%s)",
		    run->exit_reason, exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->memory_fault.flags == KVM_MEMORY_EXIT_FLAG_PRIVATE,
		    "memory_fault.flags 0x%llx, want KVM_MEMORY_EXIT_FLAG_PRIVATE",
		    run->memory_fault.flags);
	TEST_ASSERT(run->memory_fault.gpa == page,
		    "memory_fault.gpa 0x%llx, want 0x%lx",
		    run->memory_fault.gpa, page);
	TEST_ASSERT(run->memory_fault.size == PAGE_SIZE,
		    "memory_fault.size 0x%llx, want 0x%llx",
		    run->memory_fault.size, PAGE_SIZE);
}

/* Run until the guest's access completes; returns the value it read. */
static uint64_t expect_sync(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct ucall uc;
	int r, err;

	r = run_poisoned(vcpu, &err);
	TEST_ASSERT(!r, "KVM_RUN failed: %s (exit %s)", strerror(err),
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_IO,
		    "want the guest's sync, got exit %s",
		    exit_reason_str(run->exit_reason));
	r = get_ucall(vcpu, &uc);
	if (r == UCALL_ABORT)
		REPORT_GUEST_ASSERT(uc);
	TEST_ASSERT(r == UCALL_SYNC, "want UCALL_SYNC, got %d", r);
	return uc.args[1];
}

static void test_memory_fault_info_cap(void)
{
	TEST_ASSERT(kvm_check_cap(KVM_CAP_MEMORY_FAULT_INFO) > 0,
		    "KVM_CAP_MEMORY_FAULT_INFO not reported");
	ksft_test_result_pass("KVM_CAP_MEMORY_FAULT_INFO is reported\n");
}

/*
 * (a) A GFN set private in a memslot that has no guest_memfd cannot be
 * served: read and write both exit; once the GFN is shared again the same
 * access completes against the host's mapping.
 */
static void test_private_gfn_without_guest_memfd(void)
{
	uint64_t rd = TEST_GPA + PAGE_SIZE + ACCESS_OFFSET;
	uint64_t wr = TEST_GPA + 2 * PAGE_SIZE + ACCESS_OFFSET;
	struct test_vm t;
	uint64_t val;

	test_vm_create(&t, false);

	/* Control: shared accesses to this slot just work. */
	*shared_view(&t, TEST_GPA) = 0x1111;
	set_cmd(&t, TEST_GPA, false, 0);
	ASSERT_EQ(expect_sync(t.vcpu), 0x1111ull);

	*shared_view(&t, rd) = 0x2222;
	vm_mem_set_private(t.vm, rd & PAGE_MASK, PAGE_SIZE);
	set_cmd(&t, rd, false, 0);
	expect_memory_fault(t.vcpu, rd);
	/* Exits again when resumed without a fix. */
	expect_memory_fault(t.vcpu, rd);
	vm_mem_set_shared(t.vm, rd & PAGE_MASK, PAGE_SIZE);
	ASSERT_EQ(expect_sync(t.vcpu), 0x2222ull);

	*shared_view(&t, wr) = 0;
	vm_mem_set_private(t.vm, wr & PAGE_MASK, PAGE_SIZE);
	set_cmd(&t, wr, true, 0x3333);
	expect_memory_fault(t.vcpu, wr);
	TEST_ASSERT(*shared_view(&t, wr) == 0,
		    "a faulting private write reached the shared view");
	vm_mem_set_shared(t.vm, wr & PAGE_MASK, PAGE_SIZE);
	val = expect_sync(t.vcpu);
	ASSERT_EQ(val, 0x3333ull);
	ASSERT_EQ(*shared_view(&t, wr), 0x3333ull);

	test_vm_free(&t);
	ksft_test_result_pass("private GFN without guest_memfd: exits, shared access works\n");
}

/*
 * (b) Closing the last reference to the guest_memfd while a memslot still
 * points at it: private faults, on a page that was mapped before and on one
 * that never was, exit cleanly; shared accesses still work.
 */
static void test_closed_guest_memfd(void)
{
	uint64_t mapped = TEST_GPA + ACCESS_OFFSET;
	uint64_t fresh = TEST_GPA + 3 * PAGE_SIZE + ACCESS_OFFSET;
	struct test_vm t;

	test_vm_create(&t, true);
	vm_mem_set_private(t.vm, TEST_GPA, TEST_SIZE);
	*shared_view(&t, mapped) = 0x4444;
	*shared_view(&t, fresh) = 0x5555;

	/* Control: while the fd is open the private page is served. */
	set_cmd(&t, mapped, true, 0xabcd);
	ASSERT_EQ(expect_sync(t.vcpu), 0xabcdull);
	ASSERT_EQ(*shared_view(&t, mapped), 0x4444ull);

	TEST_ASSERT(!close(t.gmem_fd), "close(guest_memfd) failed");
	t.gmem_fd = -1;

	set_cmd(&t, mapped, false, 0);
	expect_memory_fault(t.vcpu, mapped);
	vm_mem_set_shared(t.vm, mapped & PAGE_MASK, PAGE_SIZE);
	ASSERT_EQ(expect_sync(t.vcpu), 0x4444ull);

	set_cmd(&t, fresh, false, 0);
	expect_memory_fault(t.vcpu, fresh);
	vm_mem_set_shared(t.vm, fresh & PAGE_MASK, PAGE_SIZE);
	ASSERT_EQ(expect_sync(t.vcpu), 0x5555ull);

	test_vm_free(&t);
	ksft_test_result_pass("closed guest_memfd: private faults exit, shared access works\n");
}

/*
 * (c) A private GFN whose memslot was deleted: memory fault exit; made
 * shared, the access is MMIO (no memslot), completed by the host.
 */
static void test_deleted_memslot(void)
{
	uint64_t gpa = TEST_GPA + 5 * PAGE_SIZE + ACCESS_OFFSET;
	struct kvm_run *run;
	struct test_vm t;
	uint64_t val = 0x6666;
	int r, err;

	test_vm_create(&t, true);
	run = t.vcpu->run;
	vm_mem_set_private(t.vm, TEST_GPA, TEST_SIZE);

	set_cmd(&t, gpa, true, 0x7777);
	ASSERT_EQ(expect_sync(t.vcpu), 0x7777ull);

	vm_mem_region_delete(t.vm, TEST_SLOT);

	set_cmd(&t, gpa, false, 0);
	expect_memory_fault(t.vcpu, gpa);

	vm_mem_set_shared(t.vm, gpa & PAGE_MASK, PAGE_SIZE);
	r = run_poisoned(t.vcpu, &err);
	TEST_ASSERT(!r, "KVM_RUN failed: %s", strerror(err));
	TEST_ASSERT(run->exit_reason == KVM_EXIT_MMIO,
		    "shared access without memslot: want KVM_EXIT_MMIO, got %s",
		    exit_reason_str(run->exit_reason));
	TEST_ASSERT(run->mmio.phys_addr == gpa && !run->mmio.is_write &&
		    run->mmio.len == sizeof(val),
		    "MMIO exit: gpa 0x%llx len %u write %u",
		    run->mmio.phys_addr, run->mmio.len, run->mmio.is_write);
	memcpy(run->mmio.data, &val, sizeof(val));
	ASSERT_EQ(expect_sync(t.vcpu), val);

	test_vm_free(&t);
	ksft_test_result_pass("deleted memslot: private fault exits, shared access is MMIO\n");
}

int main(void)
{
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(kvm_has_cap(KVM_CAP_MEMORY_ATTRIBUTES));

	pin_self_to_cpu(0);

	ksft_print_header();
	ksft_set_plan(4);

	test_memory_fault_info_cap();
	test_private_gfn_without_guest_memfd();
	test_closed_guest_memfd();
	test_deleted_memslot();

	ksft_finished();
}
