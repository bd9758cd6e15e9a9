// SPDX-License-Identifier: GPL-2.0-only
/*
 * Private-memory backends: one per VM type that has private memory.  The
 * software-protected type's lives here; vendor modules register theirs
 * while they are loaded.
 */
#include <linux/kvm_host.h>

#include "mmu.h"
#include "x86.h"
#include "private_backend.h"

/*
 * Indexed by VM type; eight leaves room for every type upstream defines.
 * Vendor modules register from their hardware setup and unregister at
 * their unload, which no VM outlives (each VM pins the vendor module), so
 * a VM may keep its backend pointer without a reference.
 */
static const struct kvm_private_backend *kvm_private_backends[8];
static DEFINE_MUTEX(kvm_private_backends_lock);

/*
 * The software-protected VM: private pages are private because the host
 * never maps them (privmem), not because hardware says so.  Nothing to
 * tell any firmware; only the TDP MMU knows which GFNs are private, the
 * shadow MMU would map them from the HVA.
 */
static bool kvm_sw_available(void)
{
	return IS_ENABLED(CONFIG_KVM_SW_PROTECTED_VM) && kvm_tdp_mmu_wanted();
}

static const struct kvm_private_backend kvm_sw_backend = {
	.name		= "sw-protected",
	.vm_type	= KVM_X86_SW_PROTECTED_VM,
	.available	= kvm_sw_available,
};

int kvm_private_backend_register(const struct kvm_private_backend *backend)
{
	unsigned long type = backend->vm_type;
	int r = 0;

	if (WARN_ON_ONCE(type == KVM_X86_DEFAULT_VM ||
			 type >= ARRAY_SIZE(kvm_private_backends) ||
			 !backend->available))
		return -EINVAL;

	mutex_lock(&kvm_private_backends_lock);
	if (kvm_private_backends[type])
		r = -EBUSY;
	else
		WRITE_ONCE(kvm_private_backends[type], backend);
	mutex_unlock(&kvm_private_backends_lock);
	return r;
}
EXPORT_SYMBOL_GPL(kvm_private_backend_register);

void kvm_private_backend_unregister(const struct kvm_private_backend *backend)
{
	unsigned long type = backend->vm_type;

	mutex_lock(&kvm_private_backends_lock);
	if (type < ARRAY_SIZE(kvm_private_backends) &&
	    kvm_private_backends[type] == backend)
		WRITE_ONCE(kvm_private_backends[type], NULL);
	mutex_unlock(&kvm_private_backends_lock);
}
EXPORT_SYMBOL_GPL(kvm_private_backend_unregister);

/* The backend of @type if VMs of that type can run now, else NULL. */
const struct kvm_private_backend *kvm_private_backend_get(unsigned long type)
{
	const struct kvm_private_backend *backend;

	if (type == KVM_X86_SW_PROTECTED_VM)
		backend = &kvm_sw_backend;
	else if (type < ARRAY_SIZE(kvm_private_backends))
		backend = READ_ONCE(kvm_private_backends[type]);
	else
		backend = NULL;

	/*
	 * Private memory is mapped by GPA, and only the TDP MMU knows which
	 * GFNs are private: the shadow MMU would map them from the HVA.
	 */
	if (!backend || !kvm_tdp_mmu_wanted() || !backend->available())
		return NULL;
	return backend;
}

static int kvm_private_commit(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn,
			      int order, void *opaque)
{
	return kvm_private_backend(kvm)->make_private(kvm, pfn, gfn, order);
}

/*
 * A private fault found @pfn for @gfn in @slot, in a folio of 2^@order pages
 * aligned like @gfn: have the backend make it private to @kvm (the whole
 * folio where every GFN of it is private), and lower *@max_level to what
 * the backend allows for @pfn.  -EAGAIN: the page left the file meanwhile,
 * the fault retries.
 */
int kvm_private_prepare_pfn(struct kvm *kvm, struct kvm_memory_slot *slot,
			    kvm_pfn_t pfn, gfn_t gfn, int order, u8 *max_level)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);
	gfn_t mask = (1UL << order) - 1;
	int r;

	if (WARN_ON_ONCE(!backend))
		return -EFAULT;

	if (backend->make_private) {
		gfn_t first = gfn & ~mask;

		if (order &&
		    (!kvm_range_has_uniform_attributes(kvm, first, first + mask + 1) ||
		     !kvm_mem_is_private(kvm, first)))
			order = 0;
		r = kvm_gmem_make_private(kvm, slot, gfn, pfn, order,
					  kvm_private_commit);
		if (r)
			return r;
	}
	if (backend->max_level)
		*max_level = min_t(int, *max_level,
				   backend->max_level(kvm, pfn, gfn));
	return 0;
}

#ifdef CONFIG_KVM_PRIVATE_MEM
/* guest_memfd lets go of a page the backend made private: hand it back. */
void kvm_arch_gmem_invalidate(struct kvm *kvm, kvm_pfn_t pfn)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	if (backend && backend->reclaim)
		backend->reclaim(kvm, pfn);
}

/* A conversion to shared takes the page from the vendor if it says so. */
bool kvm_arch_gmem_release_on_shared(struct kvm *kvm)
{
	const struct kvm_private_backend *backend = kvm_private_backend(kvm);

	return backend && backend->reclaim && backend->release_on_shared;
}
#endif

/*
 * Ask user space to convert [@gpa, @gpa + @npages pages) to the kind in
 * @attrs (KVM_MAP_GPA_RANGE_*), as a KVM_HC_MAP_GPA_RANGE exit; @complete
 * runs at the next KVM_RUN with user space's answer in the exit's ret.
 * Every backend's conversion protocol ends here, so that a VMM handles
 * one exit for all VM types.  Returns 0 (exit to user space), or a
 * positive KVM_E* hypercall error for the guest when user space did not
 * ask for these exits or the range is bad.
 */
int kvm_private_request_conversion(struct kvm_vcpu *vcpu, gpa_t gpa,
				   u64 npages, u64 attrs,
				   int (*complete)(struct kvm_vcpu *vcpu))
{
	struct kvm_run *run = vcpu->run;

	if (!(vcpu->kvm->arch.hypercall_exit_enabled &
	      BIT(KVM_HC_MAP_GPA_RANGE)))
		return KVM_ENOSYS;
	if (!PAGE_ALIGNED(gpa) || !npages ||
	    gpa_to_gfn(gpa) + npages <= gpa_to_gfn(gpa))
		return KVM_EINVAL;

	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = KVM_HC_MAP_GPA_RANGE;
	run->hypercall.args[0] = gpa;
	run->hypercall.args[1] = npages;
	run->hypercall.args[2] = attrs;
	run->hypercall.longmode = is_64_bit_hypercall(vcpu);
	vcpu->arch.complete_userspace_io = complete;
	return 0;
}
EXPORT_SYMBOL_GPL(kvm_private_request_conversion);
