/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A software model of the SEV-SNP Reverse Map Table, the SNP guest
 * instructions and the SNP firmware commands, for test kernels without SNP
 * hardware.  It is NOT AMD firmware and protects nothing by itself: it only
 * answers the calls the way the CPU and the AMD-SP would, so that the code
 * driving them can be tested.  See
 * Documentation/virt/kvm/x86/snp-firmware-model.rst.
 */
#ifndef _ASM_X86_SNP_MODEL_H
#define _ASM_X86_SNP_MODEL_H

#include <linux/bits.h>
#include <linux/errno.h>
#include <linux/types.h>
#include <asm/pgtable_types.h>

/* RMPUPDATE, PSMASH, PVALIDATE and RMPADJUST results (EAX). */
#define SNP_RMP_SUCCESS			0
#define SNP_RMP_FAIL_INPUT		1
#define SNP_RMP_FAIL_PERMISSION		2
#define SNP_RMP_FAIL_INUSE		3
#define SNP_RMP_FAIL_OVERLAP		4
#define SNP_RMP_FAIL_SIZEMISMATCH	6

/* The RMPUPDATE operand RCX points to. */
struct snp_rmpupdate_desc {
	u64 gpa;
	u8 assigned;
	u8 pagesize;		/* 0: 4 KiB, 1: 2 MiB */
	u8 immutable;
	u8 rsvd;
	u32 asid;
} __packed;

/* An RMP entry, decoded. */
struct snp_rmp_state {
	bool covered;		/* false: outside the RMP, hypervisor-owned */
	bool assigned;
	bool huge;		/* RMP page size 2 MiB */
	bool immutable;
	bool validated;
	bool vmsa;
	u64 gpa;
	u32 asid;
	u8 vmpl_perms[4];	/* SNP_VMPL_PERM_* for VMPL0..3 */
};

/* VMPL permissions, as RMPADJUST takes them in RDX[11:8]. */
#define SNP_VMPL_PERM_READ		BIT(0)
#define SNP_VMPL_PERM_WRITE		BIT(1)
#define SNP_VMPL_PERM_EXEC_USER		BIT(2)
#define SNP_VMPL_PERM_EXEC_SUPER	BIT(3)
#define SNP_VMPL_PERM_ALL		0xf

/* RMPADJUST's RDX. */
#define SNP_RMPADJUST_VMPL_MASK		GENMASK_ULL(7, 0)
#define SNP_RMPADJUST_PERMS_SHIFT	8
#define SNP_RMPADJUST_VMSA		BIT_ULL(16)

/* Nested page fault EXITINFO1 bits of RMP checks (APM Vol. 2 15.36.10). */
#define SNP_NPF_RMP			BIT_ULL(31)
#define SNP_NPF_ENC			BIT_ULL(34)
#define SNP_NPF_SIZEM			BIT_ULL(35)
#define SNP_NPF_VMPL			BIT_ULL(36)
/* #PF error code bit of a host write that hit an assigned page. */
#define SNP_PF_RMP			BIT_ULL(31)
/* #VC error code of a private access to a page that is not validated. */
#define SNP_VC_PAGE_NOT_VALIDATED	0x404

/* A guest access (snp_model_guest_access()). */
#define SNP_ACCESS_WRITE		BIT(0)
#define SNP_ACCESS_FETCH		BIT(1)
#define SNP_ACCESS_USER			BIT(2)
#define SNP_ACCESS_ENC			BIT(3)	/* C-bit set: private */

enum snp_access_result {
	SNP_ACCESS_OK,
	SNP_ACCESS_NPF,		/* #VMEXIT(NPF); *code = EXITINFO1 */
	SNP_ACCESS_VC,		/* #VC in the guest; *code = error code */
};

/* What a guest instruction did. */
enum snp_insn_outcome {
	SNP_INSN_DONE,		/* completed: rax and cf are the results */
	SNP_INSN_NPF,		/* #VMEXIT(NPF) with npf_error; no change */
	SNP_INSN_GP,		/* #GP in the guest; no change */
};

struct snp_insn_result {
	enum snp_insn_outcome outcome;
	u64 rax;
	bool cf;
	u64 npf_error;
};

/* Firmware command IDs (SNP firmware ABI). */
#define SNP_CMD_INIT			0x81
#define SNP_CMD_DF_FLUSH		0x84
#define SNP_CMD_DECOMMISSION		0x90
#define SNP_CMD_ACTIVATE		0x91
#define SNP_CMD_GCTX_CREATE		0x93
#define SNP_CMD_LAUNCH_START		0xa0
#define SNP_CMD_LAUNCH_UPDATE		0xa1
#define SNP_CMD_LAUNCH_FINISH		0xa2
#define SNP_CMD_PAGE_RECLAIM		0xc7

/* Firmware status codes. */
#define SNP_FW_SUCCESS			0x00
#define SNP_FW_INVALID_PLATFORM_STATE	0x01
#define SNP_FW_INVALID_GUEST_STATE	0x02
#define SNP_FW_POLICY_FAILURE		0x07
#define SNP_FW_INACTIVE			0x08
#define SNP_FW_INVALID_ADDRESS		0x09
#define SNP_FW_ASID_OWNED		0x0c
#define SNP_FW_INVALID_ASID		0x0d
#define SNP_FW_DFFLUSH_REQUIRED		0x0f
#define SNP_FW_INVALID_GUEST		0x10
#define SNP_FW_INVALID_COMMAND		0x11
#define SNP_FW_UNSUPPORTED		0x15
#define SNP_FW_INVALID_PARAM		0x16
#define SNP_FW_INVALID_PAGE_SIZE	0x19
#define SNP_FW_INVALID_PAGE_STATE	0x1a
#define SNP_FW_INVALID_PAGE_OWNER	0x1c

/* LAUNCH_UPDATE page types. */
#define SNP_PAGE_TYPE_NORMAL		1
#define SNP_PAGE_TYPE_VMSA		2
#define SNP_PAGE_TYPE_ZERO		3
#define SNP_PAGE_TYPE_UNMEASURED	4
#define SNP_PAGE_TYPE_SECRETS		5
#define SNP_PAGE_TYPE_CPUID		6

/* Guest policy bits the model checks. */
#define SNP_POLICY_RSVD_MBO		BIT_ULL(17)
#define SNP_POLICY_RSVD_MBZ		GENMASK_ULL(63, 26)

/* ASIDs the model's firmware hands out to SNP guests: 1..SNP_MODEL_MAX_ASID. */
#define SNP_MODEL_MAX_ASID		63

#define SNP_DIGEST_SIZE			48	/* SHA-384 */
/* The GPA a VMSA page is measured at (the RMP GPA KVM gives it). */
#define SNP_VMSA_GPA			0xfffffffff000ULL

/* Command buffers, in the layouts of the SNP firmware ABI. */
struct snp_fw_gctx_create {
	u64 gctx_paddr;
} __packed;

struct snp_fw_activate {
	u64 gctx_paddr;
	u32 asid;
} __packed;

struct snp_fw_launch_start {
	u64 gctx_paddr;
	u64 policy;
	u64 ma_gctx_paddr;
	u32 ma_en:1;
	u32 imi_en:1;
	u32 rsvd:30;
	u32 desired_tsc_khz;
	u8 gosvw[16];
} __packed;

struct snp_fw_launch_update {
	u64 gctx_paddr;
	u32 page_size:1;
	u32 page_type:3;
	u32 imi_page:1;
	u32 rsvd:27;
	u32 rsvd2;
	u64 address;
	/* Order of the VMPL bytes assumed as in PAGE_INFO (see the .c). */
	u8 rsvd3;
	u8 vmpl3_perms;
	u8 vmpl2_perms;
	u8 vmpl1_perms;
	u32 rsvd4;
} __packed;

struct snp_fw_launch_finish {
	u64 gctx_paddr;
	u64 id_block_paddr;
	u64 id_auth_paddr;
	u8 id_block_en:1;
	u8 auth_key_en:1;
	u8 vcek_disabled:1;
	u8 rsvd:5;
	u8 rsvd2[7];
	u8 host_data[32];
} __packed;

/* DECOMMISSION takes the same buffer as GCTX_CREATE. */
struct snp_fw_decommission {
	u64 gctx_paddr;
} __packed;

struct snp_fw_page_reclaim {
	u64 paddr;		/* bit 0: the page is 2 MiB */
} __packed;

/*
 * Plain SEV and SEV-ES guests (the SEV firmware ABI, older than SNP): the
 * command IDs, the status codes beyond the SNP ones above (same numbering),
 * the guest states GUEST_STATUS reports and the policy bits.
 */
#define SEV_CMD_INIT			0x001
#define SEV_CMD_DECOMMISSION		0x020
#define SEV_CMD_ACTIVATE		0x021
#define SEV_CMD_DEACTIVATE		0x022
#define SEV_CMD_GUEST_STATUS		0x023
#define SEV_CMD_LAUNCH_START		0x030
#define SEV_CMD_LAUNCH_UPDATE_DATA	0x031
#define SEV_CMD_LAUNCH_UPDATE_VMSA	0x032
#define SEV_CMD_LAUNCH_MEASURE		0x033
#define SEV_CMD_LAUNCH_FINISH		0x035

#define SEV_FW_INVALID_LEN		0x04
#define SEV_FW_ACTIVE			0x12

#define SEV_GSTATE_UNINIT		0
#define SEV_GSTATE_LUPDATE		1
#define SEV_GSTATE_LSECRET		2
#define SEV_GSTATE_RUNNING		3

#define SEV_POLICY_NODBG		BIT(0)
#define SEV_POLICY_NOKS			BIT(1)
#define SEV_POLICY_ES			BIT(2)
#define SEV_POLICY_NOSEND		BIT(3)
#define SEV_POLICY_DOMAIN		BIT(4)
#define SEV_POLICY_SEV			BIT(5)
#define SEV_POLICY_RSVD			GENMASK(15, 6)
#define SEV_POLICY_API_MAJOR		GENMASK(23, 16)
#define SEV_POLICY_API_MINOR		GENMASK(31, 24)

/* The SEV API version the model implements, as PLATFORM_STATUS would say. */
#define SEV_MODEL_API_MAJOR		0
#define SEV_MODEL_API_MINOR		24
#define SEV_MODEL_BUILD			0

/*
 * ASIDs: 1..SNP_MODEL_MAX_ASID run SEV-ES and SNP guests, the ones after
 * them up to SEV_MODEL_MAX_ASID plain SEV guests only, as CPUID 0x8000001F
 * EDX (the first SEV-only ASID) and ECX (the last ASID) describe.
 */
#define SEV_MODEL_MIN_SEV_ASID		(SNP_MODEL_MAX_ASID + 1)
#define SEV_MODEL_MAX_ASID		(SNP_MODEL_MAX_ASID + 16)

/* LAUNCH_MEASURE's output: the HMAC, then the nonce it covers. */
#define SEV_MEASURE_SIZE		32
#define SEV_MNONCE_SIZE			16
#define SEV_MEASURE_BLOB_SIZE		(SEV_MEASURE_SIZE + SEV_MNONCE_SIZE)
#define SEV_TIK_SIZE			16
#define SEV_LD_SIZE			32	/* SHA-256 */

/* Command buffers, in the layouts of the SEV firmware ABI. */
struct sev_fw_launch_start {
	u32 handle;			/* in: 0 for a new guest; out: its handle */
	u32 policy;
	u64 dh_cert_address;
	u32 dh_cert_len;
	u32 rsvd;
	u64 session_address;
	u32 session_len;
} __packed;

/* ACTIVATE; DEACTIVATE, DECOMMISSION and LAUNCH_FINISH use the handle only. */
struct sev_fw_activate {
	u32 handle;
	u32 asid;
} __packed;

struct sev_fw_handle {
	u32 handle;
} __packed;

struct sev_fw_guest_status {
	u32 handle;
	u32 policy;			/* out */
	u32 asid;			/* out */
	u8 state;			/* out: SEV_GSTATE_* */
} __packed;

/* LAUNCH_UPDATE_DATA, LAUNCH_UPDATE_VMSA and LAUNCH_MEASURE. */
struct sev_fw_launch_data {
	u32 handle;
	u32 rsvd;
	u64 address;			/* system physical */
	u32 len;			/* MEASURE: in/out */
} __packed;

struct snp_model;
struct file;

#ifdef CONFIG_AMD_SNP_FW_MODEL

bool snp_model_file_is_sev(struct file *file);

struct snp_model *snp_model_global(void);
struct snp_model *snp_model_create(unsigned long start_pfn, unsigned long nr_pfns);
void snp_model_destroy(struct snp_model *m);
size_t snp_model_rmp_bytes(struct snp_model *m);

int snp_model_rmpupdate(struct snp_model *m, u64 spa, const struct snp_rmpupdate_desc *d);
int snp_model_psmash(struct snp_model *m, u64 spa);
void snp_model_rmpread(struct snp_model *m, u64 pfn, struct snp_rmp_state *st);
int snp_model_rmp_raw(struct snp_model *m, u64 pfn, u64 *lo, u64 *hi);
void snp_model_inject_inuse(struct snp_model *m, unsigned int count);
void snp_model_walk_assigned(struct snp_model *m,
			     void (*fn)(u64 pfn, const struct snp_rmp_state *st, void *data),
			     void *data);

u64 snp_model_npt_check(struct snp_model *m, u32 asid, u64 gpa, u64 pfn,
			enum pg_level level, bool private);
u64 snp_model_host_write_check(struct snp_model *m, u64 pfn, enum pg_level level);
enum snp_access_result snp_model_guest_access(struct snp_model *m, u32 asid, u8 vmpl,
					      u64 gpa, u64 pfn, enum pg_level level,
					      unsigned int access, u64 *code);

void snp_model_pvalidate(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa, u64 pfn,
			 u64 rcx, u64 rdx, struct snp_insn_result *res);
void snp_model_rmpadjust(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa, u64 pfn,
			 u64 rcx, u64 rdx, struct snp_insn_result *res);

int snp_model_fw_cmd(struct snp_model *m, int cmd, void *data, int *fw_err);
int snp_model_guest_digest(struct snp_model *m, u64 gctx_paddr, u8 *digest);
int sev_model_guest_keys(struct snp_model *m, u32 handle, u8 *tik, u8 *ld);

#else /* !CONFIG_AMD_SNP_FW_MODEL */

static inline bool snp_model_file_is_sev(struct file *file)
{
	return false;
}

static inline struct snp_model *snp_model_global(void)
{
	return NULL;
}

static inline struct snp_model *snp_model_create(unsigned long start_pfn,
						 unsigned long nr_pfns)
{
	return NULL;
}

static inline void snp_model_destroy(struct snp_model *m)
{
}

static inline size_t snp_model_rmp_bytes(struct snp_model *m)
{
	return 0;
}

static inline int snp_model_rmpupdate(struct snp_model *m, u64 spa,
				      const struct snp_rmpupdate_desc *d)
{
	return SNP_RMP_FAIL_INPUT;
}

static inline int snp_model_psmash(struct snp_model *m, u64 spa)
{
	return SNP_RMP_FAIL_INPUT;
}

static inline void snp_model_rmpread(struct snp_model *m, u64 pfn, struct snp_rmp_state *st)
{
	*st = (struct snp_rmp_state){};
}

static inline int snp_model_rmp_raw(struct snp_model *m, u64 pfn, u64 *lo, u64 *hi)
{
	return -ENODEV;
}

static inline void snp_model_inject_inuse(struct snp_model *m, unsigned int count)
{
}

static inline void snp_model_walk_assigned(struct snp_model *m,
					   void (*fn)(u64 pfn, const struct snp_rmp_state *st,
						      void *data),
					   void *data)
{
}

static inline u64 snp_model_npt_check(struct snp_model *m, u32 asid, u64 gpa, u64 pfn,
				      enum pg_level level, bool private)
{
	return private ? SNP_NPF_RMP | SNP_NPF_ENC : 0;
}

static inline u64 snp_model_host_write_check(struct snp_model *m, u64 pfn,
					     enum pg_level level)
{
	return 0;
}

static inline enum snp_access_result
snp_model_guest_access(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa, u64 pfn,
		       enum pg_level level, unsigned int access, u64 *code)
{
	*code = SNP_NPF_RMP;
	return SNP_ACCESS_NPF;
}

static inline void snp_model_pvalidate(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa,
				       u64 pfn, u64 rcx, u64 rdx,
				       struct snp_insn_result *res)
{
	*res = (struct snp_insn_result){ .outcome = SNP_INSN_GP };
}

static inline void snp_model_rmpadjust(struct snp_model *m, u32 asid, u8 vmpl, u64 gpa,
				       u64 pfn, u64 rcx, u64 rdx,
				       struct snp_insn_result *res)
{
	*res = (struct snp_insn_result){ .outcome = SNP_INSN_GP };
}

static inline int snp_model_fw_cmd(struct snp_model *m, int cmd, void *data, int *fw_err)
{
	return -ENODEV;
}

static inline int snp_model_guest_digest(struct snp_model *m, u64 gctx_paddr, u8 *digest)
{
	return -ENODEV;
}

static inline int sev_model_guest_keys(struct snp_model *m, u32 handle, u8 *tik, u8 *ld)
{
	return -ENODEV;
}

#endif /* CONFIG_AMD_SNP_FW_MODEL */

#endif /* _ASM_X86_SNP_MODEL_H */
