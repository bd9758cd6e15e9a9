/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SEV-SNP guests on the SNP firmware model (snp.c): kvm-amd offers VM type
 * 4 from its hardware setup while the model is built in, and hands an SNP
 * guest's #UD and VMMCALL exits and its GHCB MSR to it.
 */
#ifndef ARCH_X86_KVM_SVM_SNP_H
#define ARCH_X86_KVM_SVM_SNP_H

struct kvm;
struct kvm_vcpu;

#ifdef CONFIG_AMD_SNP_FW_MODEL
void __init snp_backend_setup(void);
void snp_backend_unsetup(void);
int snp_handle_insn(struct kvm_vcpu *vcpu, bool vmmcall);
int snp_ghcb_msr_access(struct kvm_vcpu *vcpu, u64 *data, bool write);
bool snp_vm(struct kvm *kvm);
#else
static inline void snp_backend_setup(void)
{
}

static inline void snp_backend_unsetup(void)
{
}

static inline int snp_handle_insn(struct kvm_vcpu *vcpu, bool vmmcall)
{
	return -ENOENT;
}

static inline int snp_ghcb_msr_access(struct kvm_vcpu *vcpu, u64 *data, bool write)
{
	return -ENOENT;
}

static inline bool snp_vm(struct kvm *kvm)
{
	return false;
}
#endif

#endif /* ARCH_X86_KVM_SVM_SNP_H */
