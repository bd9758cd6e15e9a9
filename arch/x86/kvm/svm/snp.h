/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SEV-SNP guests on the SNP firmware model (snp.c): kvm-amd offers VM type
 * 4 (and the plain SEV and SEV-ES types 2 and 3) from its hardware setup
 * while the model is built in, and hands an SNP or SEV-ES guest's #UD and
 * VMMCALL exits and its GHCB MSR to it.
 */
#ifndef ARCH_X86_KVM_SVM_SNP_H
#define ARCH_X86_KVM_SVM_SNP_H

#include <linux/kvm_types.h>

struct kvm;
struct kvm_vcpu;

#ifdef CONFIG_AMD_SNP_FW_MODEL
void __init snp_backend_setup(void);
void __init snp_set_cpu_caps(void);
void snp_backend_unsetup(void);
int snp_handle_insn(struct kvm_vcpu *vcpu, bool vmmcall);
int snp_ghcb_msr_access(struct kvm_vcpu *vcpu, u64 *data, bool write);
bool snp_vm(struct kvm *kvm);
int snp_handle_npf(struct kvm_vcpu *vcpu, gpa_t gpa, int r);
int snp_sev_status(struct kvm_vcpu *vcpu, u64 *data);
int snp_dev_get_attr(u32 group, u64 attr, u64 *val);
int sev_other_vm_mem_enc_ioctl(struct kvm *kvm, void __user *argp);
#else
static inline void snp_backend_setup(void)
{
}

static inline void snp_set_cpu_caps(void)
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

static inline int snp_handle_npf(struct kvm_vcpu *vcpu, gpa_t gpa, int r)
{
	return r;
}

static inline int snp_sev_status(struct kvm_vcpu *vcpu, u64 *data)
{
	return -ENOENT;
}

static inline int snp_dev_get_attr(u32 group, u64 attr, u64 *val)
{
	return -ENXIO;
}

static inline int sev_other_vm_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	return -ENOENT;
}
#endif

#endif /* ARCH_X86_KVM_SVM_SNP_H */
