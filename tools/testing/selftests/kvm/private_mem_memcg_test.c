// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private memory is charged to the memory cgroup of the task that created
 * the guest_memfd, and memory.max holds: fallocate() fails with ENOMEM,
 * also when a task of another cgroup does it, and the memory comes back
 * when it is punched.  KVM_SET_MEMORY_ATTRIBUTES charges its metadata to
 * the caller and fails with ENOMEM at the limit instead of growing slab
 * without bound.  Needs cgroup v2 with the memory controller (the
 * distro-like test kernel has it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/sizes.h>

#include "privmem_util.h"
#include "kvm_util.h"
#include "processor.h"
#include "kselftest.h"

#define CG_ROOT		"/tmp/privmem-cgroup"
#define CG_A		CG_ROOT "/a"
#define CG_B		CG_ROOT "/b"

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val);
}

static long read_long(const char *path)
{
	char buf[64] = {};
	int fd = open(path, O_RDONLY);
	ssize_t n;

	TEST_ASSERT(fd >= 0, "opening %s failed", path);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	TEST_ASSERT(n > 0, "reading %s failed", path);
	return strtol(buf, NULL, 10);
}

static bool has_memory_controller(void)
{
	char buf[256] = {};
	int fd;

	mkdir(CG_ROOT, 0755);
	if (mount("none", CG_ROOT, "cgroup2", 0, NULL) && errno != EBUSY)
		return false;
	fd = open(CG_ROOT "/cgroup.controllers", O_RDONLY);
	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return strstr(buf, "memory") &&
	       write_file(CG_ROOT "/cgroup.subtree_control", "+memory");
}

static void enter_cgroup(const char *cg)
{
	char path[128], pid[32];

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	TEST_ASSERT(write_file(path, pid), "moving to %s failed", cg);
}

static void set_max(const char *cg, long bytes)
{
	char path[128], val[32];

	snprintf(path, sizeof(path), "%s/memory.max", cg);
	if (bytes < 0)
		snprintf(val, sizeof(val), "max");
	else
		snprintf(val, sizeof(val), "%ld", bytes);
	TEST_ASSERT(write_file(path, val), "setting %s to %s failed", path, val);
}

static long current_of(const char *cg)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/memory.current", cg);
	return read_long(path);
}

/*
 * Pages of a guest_memfd count against its creator's cgroup, whoever
 * allocates them, and memory.max stops the allocation with ENOMEM.
 */
static void test_pages_charged_to_creator(void)
{
	struct kvm_vm *vm;
	long before, grown;
	bool ok = true;
	int fd;

	enter_cgroup(CG_A);
	vm = ____vm_create_type(VM_MODE_DEFAULT, 0, KVM_X86_SW_PROTECTED_VM);
	fd = vm_create_guest_memfd(vm, SZ_64M, 0);

	/* Allocated from cgroup B, which has no limit: A pays. */
	enter_cgroup(CG_B);
	before = current_of(CG_A);
	ok &= outcome_is(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, SZ_8M), 0,
			 "fallocate(8M) within the limit");
	grown = current_of(CG_A) - before;
	ok &= expect(grown >= SZ_8M && grown < SZ_8M + SZ_1M,
		     "cgroup A grew by %ld bytes for 8M of private memory", grown);

	set_max(CG_A, current_of(CG_A) + SZ_4M);
	ok &= outcome_is(fallocate(fd, FALLOC_FL_KEEP_SIZE, SZ_8M, SZ_32M), ENOMEM,
			 "fallocate(32M) past memory.max of the creator");
	ok &= expect(current_of(CG_A) <= read_long(CG_A "/memory.max"),
		     "cgroup A is over its limit");

	/* Punching gives it back; nothing else is lost. */
	guest_memfd_punch_hole(fd, 0, SZ_64M);
	ok &= expect(current_of(CG_A) < before + SZ_1M,
		     "cgroup A holds %ld bytes after the punch, had %ld",
		     current_of(CG_A), before);
	set_max(CG_A, -1);

	close(fd);
	kvm_vm_free(vm);
	ksft_test_result(ok, "private pages are charged to the creator's memcg\n");
}

#define FAULT_SLOT	10
#define FAULT_GPA	0x100000000ull
#define FAULT_SIZE	SZ_16M
#define FAULT_KEY	0x6d656d6367726f75ull

/* Writes every page of the private range, then checks every page. */
static void guest_code(void)
{
	uint64_t gpa;

	for (gpa = FAULT_GPA; gpa < FAULT_GPA + FAULT_SIZE; gpa += PAGE_SIZE)
		WRITE_ONCE(*(uint64_t *)gpa, gpa ^ FAULT_KEY);
	for (gpa = FAULT_GPA; gpa < FAULT_GPA + FAULT_SIZE; gpa += PAGE_SIZE)
		GUEST_ASSERT_1(READ_ONCE(*(uint64_t *)gpa) == (gpa ^ FAULT_KEY), gpa);
	GUEST_DONE();
}

/*
 * A guest fault past memory.max of the guest_memfd's creator ends KVM_RUN
 * with ENOMEM and a private memory fault exit; with room again, the same
 * guest goes on and nothing it wrote is lost.
 */
static void test_guest_fault_at_limit(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm;
	struct ucall uc;
	bool ok = true;
	int fd, r, err;

	enter_cgroup(CG_A);
	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1,
					 FAULT_SIZE / PAGE_SIZE, guest_code,
					 &vcpu);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, FAULT_GPA,
				    FAULT_SLOT, FAULT_SIZE / PAGE_SIZE, 0);
	virt_map(vm, FAULT_GPA, FAULT_GPA, FAULT_SIZE / PAGE_SIZE);
	fd = vm_create_guest_memfd(vm, FAULT_SIZE, 0);
	vm_mem_region_bind_guest_memfd(vm, FAULT_SLOT, fd, 0);
	vm_mem_set_private(vm, FAULT_GPA, FAULT_SIZE);
	/* The VMM's own allocations go elsewhere; only the guest's pay. */
	enter_cgroup(CG_B);

	set_max(CG_A, current_of(CG_A) + SZ_4M);
	r = __vcpu_run(vcpu);
	err = errno;
	ok &= expect(r == -1 && err == ENOMEM &&
		     vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT &&
		     (vcpu->run->memory_fault.flags & KVM_MEMORY_EXIT_FLAG_PRIVATE),
		     "KVM_RUN at the limit: %d errno %d exit %u", r, err,
		     vcpu->run->exit_reason);

	set_max(CG_A, -1);
	vcpu_run(vcpu);
	switch (get_ucall(vcpu, &uc)) {
	case UCALL_DONE:
		break;
	case UCALL_ABORT:
		REPORT_GUEST_ASSERT_1(uc, "gpa 0x%lx lost its data");
		ok = false;
		break;
	default:
		TEST_FAIL("unexpected exit %s",
			  exit_reason_str(vcpu->run->exit_reason));
	}

	close(fd);
	kvm_vm_free(vm);
	ksft_test_result(ok, "a guest fault at memory.max exits with ENOMEM, nothing lost\n");
}

/*
 * Alternating 4K attributes over a large range makes the attribute tree
 * grow; its nodes are charged, so memory.max ends it with ENOMEM.
 */
static void test_attributes_charged(void)
{
	const uint64_t base = 1ull << 36;
	struct kvm_vm *vm;
	uint64_t i, limit = 4ul << 20;
	int r = 0, err = 0, max_fd;
	long start, charged;
	char val[32];

	enter_cgroup(CG_A);
	vm = ____vm_create_type(VM_MODE_DEFAULT, 0, KVM_X86_SW_PROTECTED_VM);
	/*
	 * Opened before the limit: at the limit, anything this task
	 * allocates with accounting (a struct file for open()) would call
	 * the memcg OOM killer on it.
	 */
	max_fd = open(CG_A "/memory.max", O_WRONLY);
	TEST_ASSERT(max_fd >= 0, "opening memory.max failed");
	start = current_of(CG_A);
	snprintf(val, sizeof(val), "%ld", start + SZ_4M);
	TEST_ASSERT(write(max_fd, val, strlen(val)) > 0, "setting memory.max failed");

	/* Far more than 4M of metadata if nothing stopped it. */
	for (i = 0; i < limit; i++) {
		r = __vm_set_memory_attributes(vm, base + 2 * i * PAGE_SIZE,
					       PAGE_SIZE,
					       KVM_MEMORY_ATTRIBUTE_PRIVATE);
		if (r) {
			err = errno;
			break;
		}
	}
	TEST_ASSERT(pwrite(max_fd, "max", 3, 0) == 3, "resetting memory.max failed");
	close(max_fd);
	charged = current_of(CG_A) - start;
	ksft_print_msg("%lu single-page ranges before the limit; %ld KiB charged\n",
		       i, charged >> 10);

	kvm_vm_free(vm);
	enter_cgroup(CG_ROOT);
	ksft_test_result(r == -1 && err == ENOMEM && i > 1000,
			 "attribute metadata is charged and bounded by memory.max\n");
}

int main(void)
{
	TEST_REQUIRE(kvm_check_cap(KVM_CAP_GUEST_MEMFD));
	TEST_REQUIRE(vm_type_supported(KVM_X86_SW_PROTECTED_VM));
	TEST_REQUIRE(has_memory_controller());

	mkdir(CG_A, 0755);
	mkdir(CG_B, 0755);

	ksft_print_header();
	ksft_set_plan(3);
	test_pages_charged_to_creator();
	test_guest_fault_at_limit();
	test_attributes_charged();
	enter_cgroup(CG_ROOT);
	ksft_finished();
}
