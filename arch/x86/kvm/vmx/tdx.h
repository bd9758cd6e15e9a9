/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TD guests on the TDX-module model (tdx.c): KVM offers VM type 5 from its
 * hardware setup while the model is built in.  The backend is vendor
 * neutral on purpose: on this machine TD vCPUs run through kvm-amd, which
 * reaches it only through the private-memory backend interface.
 */
#ifndef ARCH_X86_KVM_VMX_TDX_H
#define ARCH_X86_KVM_VMX_TDX_H

#include <linux/list.h>
#include <linux/types.h>

struct kvm;

/* A TD VM on the audit's list (tdx_audit.c), in its struct kvm_tdx. */
struct tdx_audit_node {
	struct list_head link;
	struct kvm *kvm;
};

/* What the audit and the attack knob need of a TD. */
struct tdx_audit_td {
	u64 tdr_pa;
	u64 tdvpr_pa;			/* vCPU 0's, 0 before KVM_TDX_INIT_VCPU */
	int hkid;
	bool finalized;
};

#ifdef CONFIG_INTEL_TDX_MODULE_MODEL
void tdx_backend_setup(void);
void tdx_backend_unsetup(void);

/* tdx.c, for tdx_audit.c */
int tdx_audit_td_get(struct kvm *kvm, struct tdx_audit_td *td);

/* tdx_audit.c */
void tdx_audit_vm_add(struct tdx_audit_node *node, struct kvm *kvm);
void tdx_audit_vm_del(struct tdx_audit_node *node);
void tdx_audit_debugfs_init(void);
void tdx_audit_debugfs_exit(void);
#else
static inline void tdx_backend_setup(void)
{
}

static inline void tdx_backend_unsetup(void)
{
}
#endif

#endif /* ARCH_X86_KVM_VMX_TDX_H */
