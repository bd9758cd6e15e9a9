/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Private-memory backends: what makes a guest_memfd page private to one
 * VM on x86.  Each VM type with private memory has exactly one backend;
 * Documentation/virt/kvm/x86/private-memory-backends.rst describes the
 * interface.
 */
#ifndef ARCH_X86_KVM_PRIVATE_BACKEND_H
#define ARCH_X86_KVM_PRIVATE_BACKEND_H

#include <linux/kvm_host.h>

/**
 * struct kvm_private_backend - the vendor side of a VM type's private memory
 * @name: for messages and debugfs.
 * @vm_type: the KVM_X86_*_VM type the backend serves.
 * @no_private_mem: the type protects its memory in place, without
 *	guest_memfd (SEV, SEV-ES): its VMs have no private memory
 *	(kvm_arch_has_private_mem()); the hooks about private pages are
 *	never called.
 * @available: whether VMs of the type can run on this host now (firmware
 *	present and initialised, TDP MMU in use).  KVM_CAP_VM_TYPES reports
 *	the type only while this says yes.
 * @vm_init: optional; set up the VM's vendor state at KVM_CREATE_VM.
 * @vm_destroy: optional; tear it down.
 * @make_private: optional; make the 2^@order pages at @pfn private to
 *	@kvm at @gfn (both aligned to the order), before the first mapping of
 *	any of them.  guest_memfd calls it once per page (it remembers the
 *	pages, and gives them back through @reclaim), under its lock.
 *	Returns 0 or a negative errno, which ends the fault in a
 *	KVM_EXIT_MEMORY_FAULT; -EBUSY for a 2 MiB range has it retried for
 *	the faulting 4 KiB page alone.
 * @max_level: optional; the largest mapping level (PG_LEVEL_*) the vendor
 *	allows for private @pfn at @gfn.  Without it, any level the folio
 *	and the attributes allow.
 * @reclaim: optional; @pfn, which the backend made private to @kvm (at
 *	launch or in @make_private), is leaving its guest_memfd file: give it
 *	back to the host before it is freed.  Its mappings are gone already.
 *	Called under guest_memfd's lock, may sleep, cannot fail: a page that
 *	cannot be given back must be leaked, never freed.
 * @release_on_shared: @reclaim also runs for a page whose GFN becomes
 *	shared while the page stays in its file (TDX, where a conversion
 *	removes the page from the Secure EPT); the next private fault on
 *	the GFN has @make_private take it again.
 * @shared_gpa_bit: optional; the GPA bit that makes a guest's access shared
 *	(TDX: 47 for GPAW 48).  KVM maps a GPA with it to the shared page of
 *	the GPA without it, and zaps those mappings with the GPA's; an access
 *	through it to a GFN whose attributes say private exits to user space
 *	(KVM_EXIT_MEMORY_FAULT, the GPA without the bit, not private).
 * @map_check: optional; the private SPTE about to map @pfn at @gfn with
 *	@level (both aligned to it) is what the vendor's hardware would
 *	accept (SNP: the RMP check of the nested page table walk).  Under
 *	mmu_lock, must not sleep.  0, -EAGAIN when it fixed something and
 *	the fault must retry, or another errno that ends the fault in a
 *	KVM_EXIT_MEMORY_FAULT: never a mapping the hardware would refuse.
 * @state_protected: optional; the vCPUs' register state belongs to the
 *	guest now: ioctls that read or write it fail with -EINVAL.
 * @mem_enc_ioctl: optional; KVM_MEMORY_ENCRYPT_OP on a VM of the type.
 * @vcpu_mem_enc_ioctl: optional; KVM_MEMORY_ENCRYPT_OP on a vCPU of a VM
 *	of the type (TDX's per-vCPU commands), under the vCPU's mutex and
 *	with the vCPU loaded.  Without it the ioctl is -ENOTTY.
 * @emulate_ud: optional; the guest took a #UD, perhaps on an instruction
 *	of the VM type that the CPU running it lacks (TDX's TDCALL): perform
 *	it.  From the vendor's #UD intercept, in the vCPU's exit handling,
 *	may sleep.  -ENOENT when the instruction is not the backend's (the
 *	guest gets its #UD), else what an exit handler returns: 1 to resume
 *	the guest, 0 to exit to user space, a negative errno for KVM_RUN.
 *
 * The guest's conversion protocol is the backend's exit handling; it asks
 * user space for a conversion with kvm_private_request_conversion(), which
 * is what a KVM_HC_MAP_GPA_RANGE hypercall does for any type.
 */
struct kvm_private_backend {
	const char *name;
	unsigned long vm_type;
	bool no_private_mem;
	bool (*available)(void);
	int (*vm_init)(struct kvm *kvm);
	void (*vm_destroy)(struct kvm *kvm);
	int (*make_private)(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn,
			    int order);
	int (*max_level)(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn);
	void (*reclaim)(struct kvm *kvm, kvm_pfn_t pfn);
	bool release_on_shared;
	u8 shared_gpa_bit;
	int (*map_check)(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int level);
	bool (*state_protected)(struct kvm *kvm);
	int (*mem_enc_ioctl)(struct kvm *kvm, void __user *argp);
	int (*vcpu_mem_enc_ioctl)(struct kvm_vcpu *vcpu, void __user *argp);
	int (*emulate_ud)(struct kvm_vcpu *vcpu);
};

int kvm_private_backend_register(const struct kvm_private_backend *backend);
void kvm_private_backend_unregister(const struct kvm_private_backend *backend);
const struct kvm_private_backend *kvm_private_backend_get(unsigned long type);

int kvm_private_request_conversion(struct kvm_vcpu *vcpu, gpa_t gpa,
				   u64 npages, u64 attrs,
				   int (*complete)(struct kvm_vcpu *vcpu));

static inline const struct kvm_private_backend *
kvm_private_backend(struct kvm *kvm)
{
	return kvm->arch.private_backend;
}

static inline void kvm_private_vm_destroy(struct kvm *kvm)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	if (backend && backend->vm_destroy)
		backend->vm_destroy(kvm);
}

int kvm_private_prepare_pfn(struct kvm *kvm, struct kvm_memory_slot *slot,
			    kvm_pfn_t pfn, gfn_t gfn, int order, u8 *max_level);

static inline int kvm_private_map_check(struct kvm *kvm, gfn_t gfn,
					kvm_pfn_t pfn, int level)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	if (!backend || !backend->map_check)
		return 0;
	return backend->map_check(kvm, gfn, pfn, level);
}

/* The GFN bit of a shared access (GPA alias), 0 if the VM type has none. */
static inline gfn_t kvm_gfn_shared_mask(struct kvm *kvm)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	if (!backend || !backend->shared_gpa_bit)
		return 0;
	return gpa_to_gfn(BIT_ULL(backend->shared_gpa_bit));
}

/* Register state that KVM_GET/SET_REGS and the like must not touch. */
static inline bool kvm_private_state_protected(struct kvm *kvm)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	return backend && backend->state_protected &&
	       backend->state_protected(kvm);
}

/* A #UD the backend may turn into its VM type's instruction; -ENOENT if not. */
static inline int kvm_private_emulate_ud(struct kvm_vcpu *vcpu)
{
	const struct kvm_private_backend *backend = kvm_private_backend(vcpu->kvm);

	if (!backend || !backend->emulate_ud)
		return -ENOENT;
	return backend->emulate_ud(vcpu);
}

#endif /* ARCH_X86_KVM_PRIVATE_BACKEND_H */
