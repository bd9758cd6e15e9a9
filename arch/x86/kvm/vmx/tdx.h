/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TD guests on the TDX-module model (tdx.c): KVM offers VM type 5 from its
 * hardware setup while the model is built in.  The backend is vendor
 * neutral on purpose: on this machine TD vCPUs run through kvm-amd, which
 * reaches it only through the private-memory backend interface.
 */
#ifndef ARCH_X86_KVM_VMX_TDX_H
#define ARCH_X86_KVM_VMX_TDX_H

#ifdef CONFIG_INTEL_TDX_MODULE_MODEL
void tdx_backend_setup(void);
void tdx_backend_unsetup(void);
#else
static inline void tdx_backend_setup(void)
{
}

static inline void tdx_backend_unsetup(void)
{
}
#endif

#endif /* ARCH_X86_KVM_VMX_TDX_H */
