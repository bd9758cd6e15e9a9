// SPDX-License-Identifier: GPL-2.0-only
/*
 * A memory error on a private page.  The guest writes two private pages;
 * the host finds their pfns (the only new dirty, unmapped, non-anonymous,
 * non-swap-backed pages in /proc/kpageflags) and injects a memory error
 * into one of them with the hwpoison debugfs interface.  The guest's next
 * access to that page must end KVM_RUN with EHWPOISON and a private
 * KVM_EXIT_MEMORY_FAULT at its GPA, the other page must keep its data,
 * and once user space punches the poisoned page out, the guest gets a
 * new, zeroed page there.  The host survives all of it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_NPAGES	2
#define TEST_SIZE	(TEST_NPAGES * PAGE_SIZE)
#define KEY		0x686f6e6573747921ull
#define INJECT		"/sys/kernel/debug/hwpoison/corrupt-pfn"

#define KPF_UPTODATE	3
#define KPF_DIRTY	4
#define KPF_MMAP	11
#define KPF_ANON	12
#define KPF_SWAPBACKED	14
#define KPF_HWPOISON	19

static void guest_code(void)
{
	uint64_t i;

	for (i = 0; i < TEST_NPAGES; i++)
		WRITE_ONCE(*(uint64_t *)(TEST_GPA + i * PAGE_SIZE), KEY + i);
	GUEST_SYNC(0);
	/* The host says which page to read next, in a register-free way. */
	for (;;) {
		GUEST_SYNC(READ_ONCE(*(uint64_t *)TEST_GPA));
		GUEST_SYNC(READ_ONCE(*(uint64_t *)(TEST_GPA + PAGE_SIZE)));
	}
}

/*
 * Whether a kpageflags word looks like a private memory page: file pages
 * that are dirty but not swap-backed (tmpfs) and mapped nowhere.  Not the
 * LRU bits: a new page may still wait in a per-CPU batch.
 */
static bool looks_private(uint64_t flags)
{
	uint64_t want = (1ull << KPF_UPTODATE) | (1ull << KPF_DIRTY);
	uint64_t none = (1ull << KPF_MMAP) | (1ull << KPF_ANON) |
			(1ull << KPF_SWAPBACKED) | (1ull << KPF_HWPOISON);

	return (flags & want) == want && !(flags & none);
}

/* Mark in @map (one byte per pfn) every pfn that looks private. */
static uint64_t snapshot(uint8_t *map, uint64_t max_pfn)
{
	static uint64_t buf[4096];
	int fd = open("/proc/kpageflags", O_RDONLY);
	uint64_t pfn = 0, n = 0;

	TEST_ASSERT(fd >= 0, "opening /proc/kpageflags failed");
	while (pfn < max_pfn) {
		ssize_t got = pread(fd, buf, sizeof(buf), pfn * 8);
		uint64_t i;

		if (got <= 0)
			break;
		for (i = 0; i < got / 8 && pfn + i < max_pfn; i++) {
			map[pfn + i] = looks_private(buf[i]);
			n += map[pfn + i];
		}
		pfn += got / 8;
	}
	close(fd);
	return n;
}

/* Run the guest to its next sync; returns -errno if KVM_RUN failed. */
static int64_t run(struct kvm_vcpu *vcpu, uint64_t *val)
{
	struct ucall uc;

	if (__vcpu_run(vcpu))
		return -errno;
	TEST_ASSERT(get_ucall(vcpu, &uc) == UCALL_SYNC, "unexpected exit %s",
		    exit_reason_str(vcpu->run->exit_reason));
	*val = uc.args[1];
	return 0;
}

int main(void)
{
	const uint64_t max_pfn = 4ull << 20;	/* 16 GiB of RAM at most */
	uint8_t *before = calloc(max_pfn, 1), *after = calloc(max_pfn, 1);
	uint64_t pfn, found[4], nfound = 0, val, i, poisoned = ~0ull;
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct kvm_run *r;
	char cmd[32];
	bool ok = true;
	int fd, inject;
	int64_t ret;

	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(!access(INJECT, W_OK) && !access("/proc/kpageflags", R_OK));
	TEST_ASSERT(before && after, "calloc failed");

	pin_self_to_cpu(0);
	ksft_print_header();
	ksft_set_plan(3);

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, 16,
					 guest_code, &vcpu);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	virt_map(vm, TEST_GPA, TEST_GPA, TEST_NPAGES);
	fd = vm_create_guest_memfd(vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(vm, TEST_SLOT, fd, 0);
	vm_mem_set_private(vm, TEST_GPA, TEST_SIZE);

	snapshot(before, max_pfn);
	TEST_ASSERT(!run(vcpu, &val), "guest did not write its pages");
	snapshot(after, max_pfn);
	for (pfn = 0; pfn < max_pfn; pfn++)
		if (after[pfn] && !before[pfn] && nfound < ARRAY_SIZE(found))
			found[nfound++] = pfn;
	TEST_ASSERT(nfound == TEST_NPAGES, "%lu candidate pfns, want %d",
		    nfound, TEST_NPAGES);

	inject = open(INJECT, O_WRONLY);
	TEST_ASSERT(inject >= 0, "opening " INJECT " failed");
	snprintf(cmd, sizeof(cmd), "%lu", found[0]);
	TEST_ASSERT(write(inject, cmd, strlen(cmd)) == (ssize_t)strlen(cmd),
		    "injecting a memory error at pfn 0x%lx failed", found[0]);
	close(inject);

	/* Which page it was, the guest finds out by reading both. */
	r = vcpu->run;
	for (i = 0; i < TEST_NPAGES; i++) {
		ret = run(vcpu, &val);
		if (ret == -EHWPOISON) {
			ok &= expect(r->exit_reason == KVM_EXIT_MEMORY_FAULT &&
				     r->memory_fault.gpa == TEST_GPA + i * PAGE_SIZE &&
				     (r->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE),
				     "page %lu: exit %u gpa 0x%llx flags 0x%llx", i,
				     r->exit_reason, r->memory_fault.gpa,
				     r->memory_fault.flags);
			ok &= expect(poisoned == ~0ull, "both pages poisoned");
			poisoned = i;
			/* Punch it out; the retried read gets a new page. */
			guest_memfd_punch_hole(fd, i * PAGE_SIZE, PAGE_SIZE);
			ret = run(vcpu, &val);
			ok &= expect(!ret && val == 0,
				     "after the punch page %lu: ret %ld, read 0x%lx",
				     i, ret, val);
			continue;
		}
		ok &= expect(!ret && val == KEY + i, "page %lu: ret %ld, read 0x%lx",
			     i, ret, val);
	}
	ksft_test_result(poisoned != ~0ull && ok,
			 "the poisoned private page exits with EHWPOISON at its GPA\n");
	ksft_test_result(ok, "the other page keeps its data\n");

	/* Both pages work again, and the host is fine. */
	for (i = 0; i < TEST_NPAGES; i++) {
		ret = run(vcpu, &val);
		ok &= expect(!ret && val == (i == poisoned ? 0 : KEY + i),
			     "second round, page %lu: ret %ld, read 0x%lx", i,
			     ret, val);
	}
	ksft_test_result(ok, "after the punch both pages work\n");

	close(fd);
	kvm_vm_free(vm);
	free(before);
	free(after);
	ksft_finished();
}
