/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the confidential-VM launch tests (SEV-SNP, TDX) set up the same way:
 * a VM of a given type with a private guest_memfd slot and a plain slot,
 * source pages with recognisable content, an unreadable page, and the
 * macro their errno tables use to set one field of a command's struct.
 */
#ifndef SELFTEST_KVM_PRIVMEM_LAUNCH_H
#define SELFTEST_KVM_PRIVMEM_LAUNCH_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kvm_util.h"
#include "privmem_util.h"

#define TEST_SLOT	10
#define TEST_GPA	0x100000000ull
#define TEST_NPAGES	16
#define TEST_SIZE	(TEST_NPAGES * PAGE_SIZE)
/* A slot without guest_memfd, for a launch's "no private memory here". */
#define PLAIN_SLOT	11
#define PLAIN_GPA	0x200000000ull
#define PLAIN_NPAGES	4

/* One field of a command's struct, for an errno table's entry. */
#define SET(type, field, v)					\
	.off = offsetof(type, field),				\
	.size = sizeof(((type *)0)->field),			\
	.val = (v)

struct test_vm {
	struct kvm_vm *vm;
	struct kvm_vcpu *vcpu;
	int gmem_fd;
};

/*
 * A VM of @type with TEST_NPAGES at TEST_GPA bound to a new guest_memfd
 * and PLAIN_NPAGES at PLAIN_GPA without one, both private (a default VM
 * gets no guest_memfd and no attributes).
 */
static inline void test_vm_create(struct test_vm *t, unsigned long type)
{
	t->vm = __vm_create_type(VM_MODE_DEFAULT, type, 1, 0);
	t->vcpu = NULL;
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, TEST_GPA,
				    TEST_SLOT, TEST_NPAGES, 0);
	vm_userspace_mem_region_add(t->vm, VM_MEM_SRC_ANONYMOUS, PLAIN_GPA,
				    PLAIN_SLOT, PLAIN_NPAGES, 0);
	t->gmem_fd = -1;
	if (type == KVM_X86_DEFAULT_VM)
		return;
	t->gmem_fd = vm_create_guest_memfd(t->vm, TEST_SIZE, 0);
	vm_mem_region_bind_guest_memfd(t->vm, TEST_SLOT, t->gmem_fd, 0);
	vm_mem_set_private(t->vm, TEST_GPA, TEST_SIZE);
	vm_mem_set_private(t->vm, PLAIN_GPA, PLAIN_NPAGES * PAGE_SIZE);
}

static inline void test_vm_free(struct test_vm *t)
{
	kvm_vm_free(t->vm);
	if (t->gmem_fd >= 0)
		close(t->gmem_fd);
}

/*
 * KVM_MEMORY_ENCRYPT_OP @id with @data and @sev_fd; kvm_sev_cmd.error
 * holds @error before the call and goes to *@fw_error (if not NULL).
 */
static inline int __vm_sev_cmd(struct kvm_vm *vm, uint32_t id, void *data, int sev_fd,
			       uint32_t error, uint32_t *fw_error)
{
	struct kvm_sev_cmd cmd = {
		.id = id,
		.data = (uintptr_t)data,
		.error = error,
		.sev_fd = sev_fd,
	};
	int r;

	r = ioctl(vm->fd, KVM_MEMORY_ENCRYPT_OP, &cmd);
	if (fw_error)
		*fw_error = cmd.error;
	return r;
}

/* A page-aligned source buffer of @npages pages with recognisable content. */
static inline uint8_t *source_pages(int npages, uint8_t seed)
{
	uint8_t *p = mmap(NULL, npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	TEST_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < npages * PAGE_SIZE; i++)
		p[i] = (uint8_t)(seed + i * 7 + i / PAGE_SIZE);
	return p;
}

/* A page no one can read: a source or argument that faults. */
static inline void *unreadable_page(void)
{
	void *none = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(none != MAP_FAILED, "mmap: %s", strerror(errno));
	return none;
}

#endif /* SELFTEST_KVM_PRIVMEM_LAUNCH_H */
