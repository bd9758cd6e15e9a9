/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for the private memory (guest_memfd) tests, on top of kvm_util:
 * raw wrappers for the ioctls, with a __ variant that returns the result
 * and a plain one that asserts success.
 */
#ifndef SELFTEST_KVM_PRIVMEM_UTIL_H
#define SELFTEST_KVM_PRIVMEM_UTIL_H

#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <linux/falloc.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_util.h"
#include "test_util.h"
#ifdef __x86_64__
#include <linux/kvm_para.h>
#include "processor.h"
#endif

static inline int __vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size,
					  uint64_t flags)
{
	struct kvm_create_guest_memfd gmem = {
		.size = size,
		.flags = flags,
	};

	return __vm_ioctl(vm, KVM_CREATE_GUEST_MEMFD, &gmem);
}

static inline int vm_create_guest_memfd(struct kvm_vm *vm, uint64_t size,
					uint64_t flags)
{
	int fd = __vm_create_guest_memfd(vm, size, flags);

	TEST_ASSERT(fd >= 0, KVM_IOCTL_ERROR(KVM_CREATE_GUEST_MEMFD, fd));
	return fd;
}

static inline int __vm_set_user_memory_region2(struct kvm_vm *vm, uint32_t slot,
					       uint32_t flags, uint64_t gpa,
					       uint64_t size, void *hva,
					       int gmem_fd, uint64_t gmem_offset)
{
	struct kvm_userspace_memory_region2 region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
		.guest_memfd = gmem_fd,
		.guest_memfd_offset = gmem_offset,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION2, &region);
}

static inline void vm_set_user_memory_region2(struct kvm_vm *vm, uint32_t slot,
					      uint32_t flags, uint64_t gpa,
					      uint64_t size, void *hva,
					      int gmem_fd, uint64_t gmem_offset)
{
	int r = __vm_set_user_memory_region2(vm, slot, flags, gpa, size, hva,
					     gmem_fd, gmem_offset);

	TEST_ASSERT(!r, KVM_IOCTL_ERROR(KVM_SET_USER_MEMORY_REGION2, r));
}

static inline int __vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa,
					     uint64_t size, uint64_t attributes)
{
	struct kvm_memory_attributes attr = {
		.address = gpa,
		.size = size,
		.attributes = attributes,
	};

	return ioctl(vm->fd, KVM_SET_MEMORY_ATTRIBUTES, &attr);
}

static inline void vm_set_memory_attributes(struct kvm_vm *vm, uint64_t gpa,
					    uint64_t size, uint64_t attributes)
{
	int r = __vm_set_memory_attributes(vm, gpa, size, attributes);

	TEST_ASSERT(!r, KVM_IOCTL_ERROR(KVM_SET_MEMORY_ATTRIBUTES, r));
}

static inline void vm_mem_set_private(struct kvm_vm *vm, uint64_t gpa,
				      uint64_t size)
{
	vm_set_memory_attributes(vm, gpa, size, KVM_MEMORY_ATTRIBUTE_PRIVATE);
}

static inline void vm_mem_set_shared(struct kvm_vm *vm, uint64_t gpa,
				     uint64_t size)
{
	vm_set_memory_attributes(vm, gpa, size, 0);
}

/*
 * Turn memslot @slot, added earlier with vm_userspace_mem_region_add(), into
 * a guest_memfd slot backed by @gmem_fd at @gmem_offset: the library's view
 * of the slot (gpa, size, host address of the shared view) stays valid.
 */
static inline void vm_mem_region_bind_guest_memfd(struct kvm_vm *vm,
						  uint32_t slot, int gmem_fd,
						  uint64_t gmem_offset)
{
	struct userspace_mem_region *region = memslot2region(vm, slot);
	struct kvm_userspace_memory_region del = region->region;

	del.memory_size = 0;
	vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &del);
	vm_set_user_memory_region2(vm, slot, KVM_MEM_GUEST_MEMFD,
				   region->region.guest_phys_addr,
				   region->region.memory_size,
				   (void *)region->region.userspace_addr,
				   gmem_fd, gmem_offset);
	/*
	 * region->region keeps flags 0: the library deletes slots with the
	 * v1 ioctl, which refuses KVM_MEM_GUEST_MEMFD but deletes any slot.
	 */
}

static inline int __vcpu_pre_fault_memory(struct kvm_vcpu *vcpu,
					  struct kvm_pre_fault_memory *range)
{
	return ioctl(vcpu->fd, KVM_PRE_FAULT_MEMORY, range);
}

/*
 * QEMU 7.2's TCG nested SVM can corrupt a running vCPU when a TLB shootdown
 * IPI reaches its CPU; keeping all of a test's threads on one CPU avoids
 * it (see the project's verified facts).  Tests with several threads call
 * this first.
 */
static inline void pin_self_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	TEST_ASSERT(!sched_setaffinity(0, sizeof(set), &set),
		    "sched_setaffinity(%d) failed", cpu);
}

/* fallocate() on a guest_memfd; the __ variant returns 0 or -1/errno. */
static inline int __guest_memfd_fallocate(int fd, int mode, uint64_t offset,
					  uint64_t size)
{
	return fallocate(fd, mode, offset, size);
}

/* Allocate [offset, offset + size) of a guest_memfd, keeping its size. */
static inline void guest_memfd_allocate(int fd, uint64_t offset, uint64_t size)
{
	int r = __guest_memfd_fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, size);

	TEST_ASSERT(!r, __KVM_SYSCALL_ERROR("fallocate(KEEP_SIZE)", r));
}

/*
 * Free [offset, offset + size) of a guest_memfd: the guest reads zeroes
 * there on its next private access.
 */
static inline void guest_memfd_punch_hole(int fd, uint64_t offset,
					  uint64_t size)
{
	int r = __guest_memfd_fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					FALLOC_FL_KEEP_SIZE, offset, size);

	TEST_ASSERT(!r, __KVM_SYSCALL_ERROR("fallocate(PUNCH_HOLE)", r));
}

static inline bool vm_type_supported(unsigned long type)
{
	return kvm_check_cap(KVM_CAP_VM_TYPES) & (1ul << type);
}

/*
 * Test memory holds tagged words: each word its own GPA xor a tag, so that
 * a page showing up at the wrong GPA is caught as well as wrong content.
 */
static inline uint64_t privmem_word(uint64_t gpa, uint64_t tag)
{
	return gpa ^ tag;
}

/* Guest side: write the tagged word every @stride bytes of the range. */
static inline void guest_fill_words(uint64_t gpa, uint64_t size, uint64_t tag,
				    uint64_t stride)
{
	uint64_t a;

	for (a = gpa; a < gpa + size; a += stride)
		WRITE_ONCE(*(uint64_t *)a, privmem_word(a, tag));
}

#ifdef __x86_64__
/*
 * Forward the guest's KVM_HC_MAP_GPA_RANGE hypercalls to user space as
 * KVM_EXIT_HYPERCALL exits.
 */
static inline void vm_enable_map_gpa_range_exits(struct kvm_vm *vm)
{
	vm_enable_cap(vm, KVM_CAP_EXIT_HYPERCALL, 1ul << KVM_HC_MAP_GPA_RANGE);
}

/*
 * Guest side: ask the host to make [gpa, gpa + npages * 4 KiB) private
 * (KVM_MAP_GPA_RANGE_ENCRYPTED in @attrs) or shared; returns the value the
 * VMM put in run->hypercall.ret.
 */
static inline uint64_t guest_map_gpa_range(uint64_t gpa, uint64_t npages,
					   uint64_t attrs)
{
	return kvm_hypercall(KVM_HC_MAP_GPA_RANGE, gpa, npages, attrs, 0);
}

/* Is this exit a KVM_HC_MAP_GPA_RANGE hypercall forwarded to user space? */
static inline bool is_map_gpa_range_exit(struct kvm_run *run)
{
	return run->exit_reason == KVM_EXIT_HYPERCALL &&
	       run->hypercall.nr == KVM_HC_MAP_GPA_RANGE;
}
#endif

/*
 * Compare the outcome of a call that returns -1 and sets errno on failure
 * with @want (0: the call must succeed).  On a mismatch, say which input
 * it was and what happened, and return false.
 */
static inline bool __printf(3, 4)
outcome_is(long ret, int want, const char *fmt, ...)
{
	int err = errno;
	char what[200];
	va_list ap;

	if (want ? (ret == -1 && err == want) : ret >= 0)
		return true;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);

	if (ret >= 0)
		ksft_print_msg("%s: succeeded (%ld), want %s\n", what, ret,
			       strerror(want));
	else
		ksft_print_msg("%s: failed with errno %d (%s), want %s\n", what,
			       err, strerror(err),
			       want ? strerror(want) : "success");
	return false;
}

static inline bool __printf(2, 3)
expect(bool cond, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	if (cond)
		return true;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ksft_print_msg("%s\n", what);
	return false;
}

/*
 * The demos' output: one line per fact, marked when it did not hold, and
 * counted in *@failures so that the exit status says whether all held.
 */
static inline void __printf(3, 4)
demo_fact(int *failures, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("%s\n", ok ? "" : "  <-- FAILED");
	if (!ok)
		(*failures)++;
}

/* The value of field @key in /proc/self/fdinfo/@fd, -1 if there is none. */
static inline long fdinfo_value(int fd, const char *key)
{
	char path[64], line[128];
	size_t n = strlen(key);
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	TEST_ASSERT(f, "opening %s failed", path);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':')
			val = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return val;
}

/*
 * Move the caller into a child memory cgroup of its own, @dir/t, mounting
 * cgroup v2 at @dir; false if the kernel has no memory controller.  What
 * the caller allocates from then on (guest_memfd pages are charged to
 * their creator) shows in memcg_current(@dir).
 */
static inline bool memcg_enter_child(const char *dir)
{
	char path[128], pid[32];
	int fd;

	mkdir(dir, 0755);
	if (mount("none", dir, "cgroup2", 0, NULL) && errno != EBUSY)
		return false;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	if (write(fd, "+memory", 7) != 7) {
		close(fd);
		return false;
	}
	close(fd);
	snprintf(path, sizeof(path), "%s/t", dir);
	if (mkdir(path, 0755) && errno != EEXIST)
		return false;
	snprintf(path, sizeof(path), "%s/t/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return false;
	if (write(fd, pid, strlen(pid)) != (ssize_t)strlen(pid)) {
		close(fd);
		return false;
	}
	close(fd);
	return true;
}

/* memory.current of the child cgroup memcg_enter_child(@dir) made. */
static inline long memcg_current(const char *dir)
{
	char path[128];
	long val = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/t/memory.current", dir);
	f = fopen(path, "r");
	TEST_ASSERT(f, "opening %s failed", path);
	TEST_ASSERT(fscanf(f, "%ld", &val) == 1, "reading %s failed", path);
	fclose(f);
	return val;
}

/* Set when private memory stays in the direct map (privmem.direct_map=1). */
#define PRIVMEM_DIRECT_MAP	"/sys/module/privmem/parameters/direct_map"

/* Whether guest pages may legitimately stay in the direct map. */
static inline int privmem_keeps_direct_map(void)
{
	FILE *f = fopen(PRIVMEM_DIRECT_MAP, "r");
	int c = f ? fgetc(f) : 'N';

	if (f)
		fclose(f);
	return c == 'Y';
}

/*
 * Write one command, formatted from @fmt, to the (debugfs) file open at @fd,
 * as one write.  Returns 0 or the write's errno.
 */
static inline int privmem_write_cmd(int fd, const char *fmt, va_list ap)
{
	char cmd[128];

	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	return write(fd, cmd, strlen(cmd)) < 0 ? errno : 0;
}

#endif /* SELFTEST_KVM_PRIVMEM_UTIL_H */
