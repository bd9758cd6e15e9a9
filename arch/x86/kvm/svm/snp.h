/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SEV-SNP guests on the SNP firmware model (snp.c): kvm-amd offers VM type
 * 4 from its hardware setup while the model is built in.
 */
#ifndef ARCH_X86_KVM_SVM_SNP_H
#define ARCH_X86_KVM_SVM_SNP_H

#ifdef CONFIG_AMD_SNP_FW_MODEL
void __init snp_backend_setup(void);
void snp_backend_unsetup(void);
#else
static inline void snp_backend_setup(void)
{
}

static inline void snp_backend_unsetup(void)
{
}
#endif

#endif /* ARCH_X86_KVM_SVM_SNP_H */
