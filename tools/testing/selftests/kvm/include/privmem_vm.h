/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What several private memory test programs do the same way: run a table of
 * test_*() functions as TAP results, set up a VM whose test memory is
 * private guest_memfd memory, and take the command-line options the
 * randomised long-running tests share.
 */
#ifndef SELFTEST_KVM_PRIVMEM_VM_H
#define SELFTEST_KVM_PRIVMEM_VM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "kvm_util.h"
#include "kselftest.h"
#include "privmem_util.h"

/* One behaviour a test program checks: one TAP result, named @name. */
struct privmem_test {
	bool (*fn)(void);
	const char *name;
};

/* Plan @n results, report each of @tests in order, and exit with the verdict. */
static inline void privmem_run_tests(const struct privmem_test *tests, int n)
{
	int i;

	ksft_set_plan(n);
	for (i = 0; i < n; i++)
		ksft_test_result(tests[i].fn(), "%s\n", tests[i].name);
	ksft_finished();
}

#ifdef __x86_64__
/*
 * A software-protected VM with one vCPU that runs @guest_code, and @npages
 * of memory at @gpa in memslot @slot: identity-mapped for the guest, bound
 * to a new guest_memfd (returned in @gmem_fd, the caller closes it) and
 * private, so the guest's accesses go to the guest_memfd.
 */
static inline struct kvm_vm *privmem_vm_create(void *guest_code,
					       struct kvm_vcpu **vcpu,
					       uint32_t slot, uint64_t gpa,
					       uint64_t npages, int *gmem_fd)
{
	struct kvm_vm *vm;

	vm = __vm_create_type_with_vcpus(KVM_X86_SW_PROTECTED_VM, 1, npages,
					 guest_code, vcpu);
	vm_userspace_mem_region_add(vm, VM_MEM_SRC_ANONYMOUS, gpa, slot,
				    npages, 0);
	virt_map(vm, gpa, gpa, npages);
	*gmem_fd = vm_create_guest_memfd(vm, npages * PAGE_SIZE, 0);
	vm_mem_region_bind_guest_memfd(vm, slot, *gmem_fd, 0);
	vm_mem_set_private(vm, gpa, npages * PAGE_SIZE);
	return vm;
}
#endif /* __x86_64__ */

/*
 * The options the randomised tests have in common: -r SEED and -v; -h, or
 * an option the program does not know, prints @usage and exits.  Called
 * from the default case of the program's own getopt() switch.
 */
static inline void privmem_common_opt(int opt, const char *name,
				      void (*usage)(const char *name),
				      uint64_t *seed, bool *verbose)
{
	switch (opt) {
	case 'r':
		*seed = strtoull(optarg, NULL, 0);
		return;
	case 'v':
		*verbose = true;
		return;
	}
	usage(name);
	exit(opt == 'h' ? 0 : KSFT_FAIL);
}

#endif /* SELFTEST_KVM_PRIVMEM_VM_H */
