/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A software model of the Intel TDX module for test kernels: the SEAMCALL
 * leaves a hypervisor needs to build, run and tear down a TD, the PAMT, the
 * Secure EPT, TLB tracking and the guest-side TDCALLs KVM emulates.  It is
 * NOT Intel's TDX module and protects nothing by itself: it answers the calls
 * with the module's states and status codes so that the code driving them
 * can be tested.  See Documentation/virt/kvm/x86/tdx-module-model.rst.
 */
#ifndef _ASM_X86_TDX_MODEL_H
#define _ASM_X86_TDX_MODEL_H

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/types.h>

/* Host leaves (SEAMCALL RAX[15:0]). */
#define TDXM_TDH_VP_ENTER		0
#define TDXM_TDH_MNG_ADDCX		1
#define TDXM_TDH_MEM_PAGE_ADD		2
#define TDXM_TDH_MEM_SEPT_ADD		3
#define TDXM_TDH_VP_ADDCX		4
#define TDXM_TDH_MEM_PAGE_AUG		6
#define TDXM_TDH_MEM_RANGE_BLOCK	7
#define TDXM_TDH_MNG_KEY_CONFIG		8
#define TDXM_TDH_MNG_CREATE		9
#define TDXM_TDH_VP_CREATE		10
#define TDXM_TDH_MEM_PAGE_DEMOTE	15
#define TDXM_TDH_MR_EXTEND		16
#define TDXM_TDH_MR_FINALIZE		17
#define TDXM_TDH_VP_FLUSH		18
#define TDXM_TDH_MNG_VPFLUSHDONE	19
#define TDXM_TDH_MNG_KEY_FREEID		20
#define TDXM_TDH_MNG_INIT		21
#define TDXM_TDH_VP_INIT		22
#define TDXM_TDH_MEM_PAGE_PROMOTE	23
#define TDXM_TDH_PHYMEM_PAGE_RECLAIM	28
#define TDXM_TDH_MEM_PAGE_REMOVE	29
#define TDXM_TDH_MEM_SEPT_REMOVE	30
#define TDXM_TDH_MEM_TRACK		38
#define TDXM_TDH_MEM_RANGE_UNBLOCK	39
#define TDXM_TDH_PHYMEM_CACHE_WB	40
#define TDXM_TDH_PHYMEM_PAGE_WBINVD	41

/* Guest leaves (TDCALL RAX), performed by KVM for a TD vCPU. */
#define TDXM_TDG_VP_INFO		1
#define TDXM_TDG_MEM_PAGE_ACCEPT	6

/*
 * Status codes (RAX): class and details in bits 63:32, the operand ID
 * added into bits 31:0.  Compare with TDXM_STATUS().
 */
#define TDXM_STATUS_MASK		GENMASK_ULL(63, 32)
#define TDXM_STATUS(rax)		((rax) & TDXM_STATUS_MASK)
#define TDXM_OPERAND(rax)		((rax) & GENMASK_ULL(31, 0))
#define TDXM_IS_ERROR(rax)		(!!((rax) & BIT_ULL(63)))

#define TDXM_SUCCESS			0x0000000000000000ULL
#define TDXM_INTERRUPTED_RESUMABLE	0x8000000300000000ULL
#define TDXM_OPERAND_INVALID		0xC000010000000000ULL
#define TDXM_OPERAND_ADDR_RANGE_ERROR	0xC000010100000000ULL
#define TDXM_OPERAND_BUSY		0x8000020000000000ULL
#define TDXM_PREVIOUS_TLB_EPOCH_BUSY	0x8000020100000000ULL
#define TDXM_PAGE_METADATA_INCORRECT	0xC000030000000000ULL
#define TDXM_PAGE_NOT_OWNED_BY_TD	0xC000030200000000ULL
#define TDXM_TD_ASSOCIATED_PAGES_EXIST	0xC000040000000000ULL
#define TDXM_TD_NOT_INITIALIZED		0xC000060000000000ULL
#define TDXM_TD_INITIALIZED		0xC000060100000000ULL
#define TDXM_LIFECYCLE_STATE_INCORRECT	0xC000060700000000ULL
#define TDXM_OP_STATE_INCORRECT		0xC000060800000000ULL
#define TDXM_NO_VCPUS			0xC000060900000000ULL
#define TDXM_TDCX_NUM_INCORRECT		0xC000061000000000ULL
#define TDXM_VCPU_STATE_INCORRECT	0xC000070000000000ULL
#define TDXM_VCPU_ASSOCIATED		0x8000070100000000ULL
#define TDXM_VCPU_NOT_ASSOCIATED	0x8000070200000000ULL
#define TDXM_TDVPX_NUM_INCORRECT	0xC000070300000000ULL
#define TDXM_MAX_VCPUS_EXCEEDED		0xC000070500000000ULL
#define TDXM_TD_KEYS_NOT_CONFIGURED	0x8000081000000000ULL
#define TDXM_KEY_CONFIGURED		0x0000081500000000ULL
#define TDXM_WBCACHE_NOT_COMPLETE	0x8000081700000000ULL
#define TDXM_HKID_NOT_FREE		0xC000082000000000ULL
#define TDXM_NO_HKID_READY_TO_WBCACHE	0x0000082100000000ULL
#define TDXM_FLUSHVP_NOT_DONE		0x8000082400000000ULL
#define TDXM_EPT_WALK_FAILED		0xC0000B0000000000ULL
#define TDXM_EPT_ENTRY_NOT_PRESENT	0xC0000B0300000000ULL
#define TDXM_GPA_RANGE_NOT_BLOCKED	0xC0000B0600000000ULL
#define TDXM_GPA_RANGE_ALREADY_BLOCKED	0x00000B0700000000ULL
#define TDXM_TLB_TRACKING_NOT_DONE	0xC0000B0800000000ULL
#define TDXM_EPT_INVALID_PROMOTE_CONDITIONS 0xC0000B0900000000ULL
#define TDXM_PAGE_ALREADY_ACCEPTED	0x00000B0A00000000ULL
#define TDXM_PAGE_SIZE_MISMATCH		0xC0000B0B00000000ULL
#define TDXM_EPT_ENTRY_STATE_INCORRECT	0xC0000B0D00000000ULL
#define TDXM_EPT_PAGE_NOT_FREE		0xC0000B0E00000000ULL
/*
 * Not a module status: TDG.MEM.PAGE.ACCEPT of a FREE or blocked entry is an
 * EPT-violation TD exit to the host, which the model reports with this.
 */
#define TDXM_TDCALL_EPT_VIOLATION	0xFFFF000100000000ULL

/* Operand IDs. */
#define TDXM_OPID_RCX			0x01
#define TDXM_OPID_RDX			0x02
#define TDXM_OPID_R8			0x08
#define TDXM_OPID_R9			0x09
#define TDXM_OPID_TDR			0x80
#define TDXM_OPID_TDCS			0x90
#define TDXM_OPID_SEPT_TREE		0x92
#define TDXM_OPID_SEPT_ENTRY		0x93
#define TDXM_OPID_TD_EPOCH		0xa9

/* Page-info operand (RCX of the S-EPT leaves): level in bits 2:0. */
#define TDXM_LEVEL_MASK			GENMASK_ULL(2, 0)
#define TDXM_LEVEL_4K			0
#define TDXM_LEVEL_2M			1
#define TDXM_LEVEL_1G			2

/* S-EPT entry states, as the leaves report them in RDX[15:8]. */
#define TDXM_SEPT_FREE			0x00
#define TDXM_SEPT_BLOCKED		0x01
#define TDXM_SEPT_PENDING		0x02
#define TDXM_SEPT_PENDING_BLOCKED	0x03
#define TDXM_SEPT_MAPPED		0x04
#define TDXM_SEPT_NL_BLOCKED		0x81
#define TDXM_SEPT_NL_MAPPED		0x84

/* PAMT page types. */
#define TDXM_PT_NDA			0
#define TDXM_PT_RSVD			1
#define TDXM_PT_REG			3
#define TDXM_PT_TDR			4
#define TDXM_PT_TDCX			5
#define TDXM_PT_TDVPR			6
#define TDXM_PT_EPT			8

/* TD life cycle (TDR) and operation (TDCS) states. */
#define TDXM_LC_HKID_ASSIGNED		0
#define TDXM_LC_KEYS_CONFIGURED		1
#define TDXM_LC_BLOCKED			2
#define TDXM_LC_TEARDOWN		3
#define TDXM_OP_UNINITIALIZED		0
#define TDXM_OP_INITIALIZED		1
#define TDXM_OP_RUNNABLE		2

/*
 * Control pages the model takes, as TDH.SYS.INFO would report them (an
 * assumption: the counts of module 1.5, 4 TDCS pages and 5 TDVPX pages
 * besides the TDVPR).
 */
#define TDXM_NR_TDCX			4
#define TDXM_NR_TDVPX			5

/*
 * HKIDs ride in physical address bits [51:46] (the model's choice: real
 * parts report the position); 0 is the global (host) key.
 */
#define TDXM_HKID_SHIFT			46
#define TDXM_HKID_MASK			GENMASK_ULL(51, 46)
#define TDXM_MAX_HKID			63

/* TD_PARAMS (TDH.MNG.INIT's RDX), the fields the model reads. */
struct tdxm_td_params {
	u64 attributes;
	u64 xfam;
	u16 max_vcpus;
	u8 rsvd0[6];
	u64 eptp_controls;	/* bits 5:3: page-walk length - 1 */
	u64 config_flags;	/* bit 0: GPAW 52 (else 48) */
	u16 tsc_frequency;
	u8 rsvd1[38];
} __packed;

#define TDXM_EPTP_PWL_MASK		GENMASK_ULL(5, 3)
#define TDXM_CONFIG_GPAW52		BIT_ULL(0)
#define TDXM_ATTR_SEPT_VE_DISABLE	BIT_ULL(28)

/* General-purpose registers in and out of a SEAMCALL or TDCALL. */
struct tdxm_args {
	u64 rcx;
	u64 rdx;
	u64 r8;
	u64 r9;
	u64 r10;
	u64 r11;
};

#define TDXM_MRTD_SIZE			48	/* SHA-384 */

struct tdx_model;

#ifdef CONFIG_INTEL_TDX_MODULE_MODEL

struct tdx_model *tdx_model_global(void);
struct tdx_model *tdx_model_create(unsigned long start_pfn, unsigned long nr_pfns);
void tdx_model_destroy(struct tdx_model *m);

u64 tdx_model_seamcall(struct tdx_model *m, u64 leaf, struct tdxm_args *args);
u64 tdx_model_tdcall(struct tdx_model *m, u64 tdvpr_pa, u64 leaf, struct tdxm_args *args);
u64 tdx_model_vp_enter(struct tdx_model *m, u64 tdvpr_pa);
void tdx_model_vp_exit(struct tdx_model *m, u64 tdvpr_pa);

int tdx_model_sept_lookup(struct tdx_model *m, u64 tdr_pa, u64 gpa, u64 *pfn,
			  int *level, int *state);
int tdx_model_pamt_read(struct tdx_model *m, u64 pfn, int *pt, u64 *owner_pa,
			u64 *bepoch, int *level);
int tdx_model_mrtd(struct tdx_model *m, u64 tdr_pa, u8 *mrtd);
void tdx_model_inject_busy(struct tdx_model *m, unsigned int count, u32 opid);
unsigned long tdx_model_unflushed_reuses(struct tdx_model *m);
void tdx_model_count_guest_pages(struct tdx_model *m, unsigned long *pages,
				 unsigned long *in_direct_map);
bool tdx_model_map_page(u64 pfn);
void tdx_model_unmap_page(u64 pfn);

#else /* !CONFIG_INTEL_TDX_MODULE_MODEL */

static inline struct tdx_model *tdx_model_global(void)
{
	return NULL;
}

static inline struct tdx_model *tdx_model_create(unsigned long start_pfn,
						 unsigned long nr_pfns)
{
	return NULL;
}

static inline void tdx_model_destroy(struct tdx_model *m)
{
}

static inline u64 tdx_model_seamcall(struct tdx_model *m, u64 leaf, struct tdxm_args *args)
{
	return TDXM_OPERAND_INVALID;
}

static inline u64 tdx_model_tdcall(struct tdx_model *m, u64 tdvpr_pa, u64 leaf,
				   struct tdxm_args *args)
{
	return TDXM_OPERAND_INVALID;
}

static inline u64 tdx_model_vp_enter(struct tdx_model *m, u64 tdvpr_pa)
{
	return TDXM_OPERAND_INVALID;
}

static inline void tdx_model_vp_exit(struct tdx_model *m, u64 tdvpr_pa)
{
}

static inline int tdx_model_sept_lookup(struct tdx_model *m, u64 tdr_pa, u64 gpa,
					u64 *pfn, int *level, int *state)
{
	return -ENODEV;
}

static inline int tdx_model_pamt_read(struct tdx_model *m, u64 pfn, int *pt,
				      u64 *owner_pa, u64 *bepoch, int *level)
{
	return -ENODEV;
}

static inline int tdx_model_mrtd(struct tdx_model *m, u64 tdr_pa, u8 *mrtd)
{
	return -ENODEV;
}

static inline void tdx_model_inject_busy(struct tdx_model *m, unsigned int count, u32 opid)
{
}

static inline unsigned long tdx_model_unflushed_reuses(struct tdx_model *m)
{
	return 0;
}

static inline void tdx_model_count_guest_pages(struct tdx_model *m, unsigned long *pages,
					       unsigned long *in_direct_map)
{
	*pages = 0;
	*in_direct_map = 0;
}

static inline bool tdx_model_map_page(u64 pfn)
{
	return false;
}

static inline void tdx_model_unmap_page(u64 pfn)
{
}

#endif /* CONFIG_INTEL_TDX_MODULE_MODEL */

#endif /* _ASM_X86_TDX_MODEL_H */
