// SPDX-License-Identifier: GPL-2.0-only
/*
 * TDX-module model: the PAMT, the Secure EPT of each TD, TD and vCPU life
 * cycles, TLB epochs, the MRTD and the SEAMCALL leaves a hypervisor needs to
 * build, run and tear down a TD, plus the TDCALLs KVM performs for a TD vCPU.
 *
 * Test kernels only.  This is NOT Intel's TDX module and enforces nothing by
 * itself: it answers each call with the module's state checks and status
 * codes (operand IDs included) so that the hypervisor can be tested on
 * machines without TDX.  Documentation/virt/kvm/x86/tdx-module-model.rst
 * lists what is modelled and every assumption made where the facts are
 * silent (marked "Assumption" below).
 *
 * Like the module, the model keeps a TD's state in the pages the host gives
 * it: the TD's control fields in its TDR page, the S-EPT root in its last
 * TDCX page, every other S-EPT table in the page TDH.MEM.SEPT.ADD was given,
 * a vCPU's state in its TDVPR page.  The module encrypts and integrity
 * protects those pages; the model does not, so a host that writes them
 * corrupts the model (a bug the model cannot see).
 *
 * Locking: one spinlock per model (tdx_model.lock) serializes every call,
 * as if the module took all its locks at once; nothing in a call sleeps, so
 * KVM may call in with its mmu_lock held.  Contention that the module would
 * report as TDX_OPERAND_BUSY is injected (tdx_model_inject_busy()).
 */
#define pr_fmt(fmt) "tdx_model: " fmt

#include <linux/bitfield.h>
#include <linux/bitmap.h>
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <crypto/hash.h>
#include <asm/set_memory.h>
#include <asm/tlbflush.h>
#include <asm/tdx_model.h>

#define PTRS			512		/* entries per S-EPT table */
#define SEPT_TOP_LEVEL		3		/* 4-level S-EPT (GPAW 48) */
#define GPAW			48
#define SHARED_BIT		BIT_ULL(GPAW - 1)

/*
 * S-EPT entry bits the model stores: R/W/X, the PS bit of a large leaf,
 * the address, and the module's TDB (blocked) and TDP (pending) bits.
 */
#define SEPT_RWX		GENMASK_ULL(2, 0)
#define SEPT_PS			BIT_ULL(7)
#define SEPT_PFN		GENMASK_ULL(51, 12)
#define SEPT_TDB		BIT_ULL(55)
#define SEPT_TDP		BIT_ULL(56)

/* Page-info operand: bits 11:3 and 63:52 must be zero. */
#define PAGE_INFO_MBZ		(GENMASK_ULL(11, 3) | GENMASK_ULL(63, 52))
#define HPA_PFN			GENMASK_ULL(45, 12)
#define SEPT_ADD_ALLOW_EXISTING	BIT_ULL(0)

#define TD_MAGIC		0x5444584d4f44454cULL	/* "TDXMODEL" */
#define MRTD_BLOCK		128
#define HASH_DESC_MAX		384

/*
 * PAMT entry, 16 bytes like the module's: page type, owner (TDR pfn),
 * BEPOCH.  The model adds which HKID the page's cache lines may still hold
 * and the HKID's write-back count at that time, to see reuse without
 * TDH.PHYMEM.PAGE.WBINVD (the hardware does not catch it, facts C10).
 */
struct tdxm_pamt {
	u64 owner:40;
	u64 dirty_hkid:8;
	u64 dirty_wb:16;
	u64 bepoch:56;
	u64 pt:8;
};

static_assert(sizeof(struct tdxm_pamt) == 16);

/* A TD's TDR and TDCS fields; lives in its TDR page. */
struct tdxm_td {
	u64 magic;
	u64 tdr_pfn;
	u8 lifecycle;
	u8 op_state;
	u8 nr_tdcx;
	u8 rsvd;
	u32 hkid;
	u64 tdcx[TDXM_NR_TDCX];
	u64 chldcnt;			/* 4 KiB pages the TD owns */
	u64 epoch;			/* TD_EPOCH */
	u64 refcount[2];		/* vCPUs in, by epoch parity */
	u32 nr_vcpus;
	u32 max_vcpus;
	u32 nr_associated;		/* vCPUs not flushed since entering */
	u64 attributes;
	u8 mrtd[TDXM_MRTD_SIZE];
	u8 hash[HASH_DESC_MAX] __aligned(16);
};

static_assert(sizeof(struct tdxm_td) <= PAGE_SIZE);

enum tdxm_vp_state {
	VP_CREATED = 1,
	VP_INITIALIZED,
};

/* A vCPU's TDVPS fields; lives in its TDVPR page. */
struct tdxm_vp {
	u64 tdr_pfn;
	u8 state;
	u8 nr_tdvpx;
	bool in;			/* between vp_enter and vp_exit */
	bool associated;		/* entered, not flushed since */
	u32 index;
	u64 epoch;			/* TD_EPOCH when it entered */
	u64 tdvpx[TDXM_NR_TDVPX];
};

struct tdx_model {
	spinlock_t lock;		/* everything below */
	unsigned long start_pfn;
	unsigned long nr_pfns;
	struct tdxm_pamt *pamt_4k;
	struct tdxm_pamt *pamt_2m;
	struct crypto_shash *sha384;
	unsigned int inject_busy;
	u32 inject_opid;
	unsigned long unflushed_reuses;
	u64 hkid_owner[TDXM_MAX_HKID + 1];	/* TDR pfn, 0 if free */
	u16 hkid_wb[TDXM_MAX_HKID + 1];		/* TDH.PHYMEM.CACHE.WB count */
	DECLARE_BITMAP(hkid_wb_pending, TDXM_MAX_HKID + 1);
	DECLARE_BITMAP(hkid_wb_done, TDXM_MAX_HKID + 1);
};

static struct tdx_model *global_model;

static inline u64 err_op(u64 status, u32 opid)
{
	return status | opid;
}

/*
 * The model reaches TD pages through the direct map.  Assumption: the
 * caller keeps pages it hands to the model mapped there.
 */
static void *pfn_va(u64 pfn)
{
	return page_address(pfn_to_page(pfn));
}

/* ---- PAMT --------------------------------------------------------------- */

static bool pamt_covers(struct tdx_model *m, u64 pfn, unsigned long n)
{
	return pfn >= m->start_pfn && pfn - m->start_pfn + n <= m->nr_pfns;
}

static struct tdxm_pamt *pamt4k(struct tdx_model *m, u64 pfn)
{
	return &m->pamt_4k[pfn - m->start_pfn];
}

static struct tdxm_pamt *pamt2m(struct tdx_model *m, u64 pfn)
{
	return &m->pamt_2m[(pfn - m->start_pfn) / PTRS];
}

/* The entry that describes @pfn: its 2 MiB page's if that is in use. */
static struct tdxm_pamt *pamt_find(struct tdx_model *m, u64 pfn, int *level)
{
	struct tdxm_pamt *p = pamt2m(m, pfn);

	if (p->pt != TDXM_PT_NDA) {
		*level = TDXM_LEVEL_2M;
		return p;
	}
	*level = TDXM_LEVEL_4K;
	return pamt4k(m, pfn);
}

/* Is [pfn, pfn + 512^level) free in the PAMT at every level? */
static bool pamt_range_free(struct tdx_model *m, u64 pfn, int level)
{
	unsigned long i, n = level ? PTRS : 1;

	if (pamt2m(m, pfn)->pt != TDXM_PT_NDA)
		return false;
	for (i = 0; i < n; i++)
		if (pamt4k(m, pfn + i)->pt != TDXM_PT_NDA)
			return false;
	return true;
}

/*
 * The page (4 KiB or 2 MiB) at @pfn returns to the host.  Its lines may
 * still hold the TD's key (@hkid, 0 if written back) until
 * TDH.PHYMEM.PAGE.WBINVD or TDH.PHYMEM.CACHE.WB.
 */
static void pamt_free(struct tdx_model *m, u64 pfn, int level, u32 hkid)
{
	unsigned long i, n = level ? PTRS : 1;
	struct tdxm_pamt *p;

	if (level)
		*pamt2m(m, pfn) = (struct tdxm_pamt){};
	for (i = 0; i < n; i++) {
		p = pamt4k(m, pfn + i);
		*p = (struct tdxm_pamt){};
		if (hkid) {
			p->dirty_hkid = hkid;
			p->dirty_wb = m->hkid_wb[hkid];
		}
	}
}

/* A free page is taken: count it if it was never written back. */
static void pamt_take(struct tdx_model *m, u64 pfn, int level, u8 pt, u64 owner)
{
	unsigned long i, n = level ? PTRS : 1;
	struct tdxm_pamt *p;

	for (i = 0; i < n; i++) {
		p = pamt4k(m, pfn + i);
		if (p->dirty_hkid && p->dirty_wb == m->hkid_wb[p->dirty_hkid]) {
			m->unflushed_reuses++;
			pr_warn_ratelimited("pfn %#llx reused without WBINVD of HKID %u\n",
					    pfn + i, (unsigned int)p->dirty_hkid);
		}
		*p = (struct tdxm_pamt){};
	}
	p = level ? pamt2m(m, pfn) : pamt4k(m, pfn);
	p->pt = pt;
	p->owner = owner;
}

/*
 * An HPA operand: 4 KiB aligned, within the PAMT and, unless it may carry
 * one, without HKID bits.
 */
static u64 hpa_check(struct tdx_model *m, u64 hpa, u32 opid, bool hkid_ok, u64 *pfn)
{
	if (hpa & ~(HPA_PFN | (hkid_ok ? TDXM_HKID_MASK : 0)))
		return err_op(TDXM_OPERAND_INVALID, opid);
	*pfn = FIELD_GET(HPA_PFN, hpa);
	if (!pamt_covers(m, *pfn, 1) || !pfn_valid(*pfn))
		return err_op(TDXM_OPERAND_ADDR_RANGE_ERROR, opid);
	return TDXM_SUCCESS;
}

/* A page operand that must be free (PT_NDA) at every PAMT level. */
static u64 free_page_check(struct tdx_model *m, u64 hpa, u32 opid, int level, u64 *pfn)
{
	u64 ret = hpa_check(m, hpa, opid, false, pfn);

	if (ret)
		return ret;
	if (level && (!IS_ALIGNED(*pfn, PTRS) || !pamt_covers(m, *pfn, PTRS) ||
		      !pfn_valid(*pfn + PTRS - 1)))
		return err_op(TDXM_OPERAND_INVALID, opid);
	if (!pamt_range_free(m, *pfn, level))
		return err_op(TDXM_PAGE_METADATA_INCORRECT, opid);
	return TDXM_SUCCESS;
}

/* ---- TDs and vCPUs ------------------------------------------------------ */

/* The TD whose TDR is at @hpa. */
static u64 td_get(struct tdx_model *m, u64 hpa, u32 opid, struct tdxm_td **tdp)
{
	struct tdxm_pamt *p;
	struct tdxm_td *td;
	int level;
	u64 pfn, ret;

	ret = hpa_check(m, hpa, opid, false, &pfn);
	if (ret)
		return ret;
	p = pamt_find(m, pfn, &level);
	if (p->pt != TDXM_PT_TDR || level != TDXM_LEVEL_4K)
		return err_op(TDXM_PAGE_METADATA_INCORRECT, opid);
	td = pfn_va(pfn);
	if (WARN_ON_ONCE(td->magic != TD_MAGIC || td->tdr_pfn != pfn))
		return err_op(TDXM_PAGE_METADATA_INCORRECT, opid);
	*tdp = td;
	return TDXM_SUCCESS;
}

/* Most leaves need the TD's keys configured and no teardown begun. */
static u64 td_keyed(struct tdxm_td *td)
{
	if (td->lifecycle == TDXM_LC_HKID_ASSIGNED)
		return err_op(TDXM_TD_KEYS_NOT_CONFIGURED, TDXM_OPID_TDR);
	if (td->lifecycle != TDXM_LC_KEYS_CONFIGURED)
		return err_op(TDXM_LIFECYCLE_STATE_INCORRECT, TDXM_OPID_TDR);
	return TDXM_SUCCESS;
}

/* A keyed TD whose op_state is one of @ok (a mask of BIT(op_state)). */
static u64 td_get_op(struct tdx_model *m, u64 hpa, u32 opid, unsigned int ok,
		     struct tdxm_td **tdp)
{
	u64 ret = td_get(m, hpa, opid, tdp);

	if (!ret)
		ret = td_keyed(*tdp);
	if (!ret && !(ok & BIT((*tdp)->op_state)))
		ret = err_op(TDXM_OP_STATE_INCORRECT, TDXM_OPID_TDCS);
	return ret;
}

#define OP_UNINIT	BIT(TDXM_OP_UNINITIALIZED)
#define OP_INIT		BIT(TDXM_OP_INITIALIZED)
#define OP_RUN		BIT(TDXM_OP_RUNNABLE)

static bool td_running(struct tdxm_td *td)
{
	return td->op_state == TDXM_OP_RUNNABLE;
}

/* A free page becomes one of the TD's pages of type @pt, cleared. */
static void td_page_add(struct tdx_model *m, struct tdxm_td *td, u64 pfn, u8 pt)
{
	pamt_take(m, pfn, TDXM_LEVEL_4K, pt, td->tdr_pfn);
	clear_page(pfn_va(pfn));
	td->chldcnt++;
}

/* The vCPU whose TDVPR is at @hpa. */
static u64 vp_get(struct tdx_model *m, u64 hpa, u32 opid, struct tdxm_vp **vpp,
		  struct tdxm_td **tdp)
{
	struct tdxm_pamt *p;
	struct tdxm_vp *vp;
	int level;
	u64 pfn, ret;

	ret = hpa_check(m, hpa, opid, false, &pfn);
	if (ret)
		return ret;
	p = pamt_find(m, pfn, &level);
	if (p->pt != TDXM_PT_TDVPR)
		return err_op(TDXM_PAGE_METADATA_INCORRECT, opid);
	vp = pfn_va(pfn);
	*vpp = vp;
	*tdp = pfn_va(vp->tdr_pfn);
	return TDXM_SUCCESS;
}

/* ---- TLB epochs ------------------------------------------------------- */

/*
 * A range blocked in epoch @b is tracked once TDH.MEM.TRACK moved the TD
 * past it and no vCPU that entered before that TRACK is still in.
 */
static bool tracked(struct tdxm_td *td, u64 b)
{
	u64 e = td->epoch;

	return b + 1 < e || (b + 1 == e && !td->refcount[b & 1]);
}

/* ---- S-EPT ------------------------------------------------------------ */

static u64 *sept_table(u64 pfn)
{
	return pfn_va(pfn);
}

static u64 *sept_root(struct tdxm_td *td)
{
	return sept_table(td->tdcx[TDXM_NR_TDCX - 1]);
}

static unsigned int sept_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * level)) & (PTRS - 1);
}

static bool sept_leaf(u64 e, int level)
{
	return !level || (e & SEPT_PS);
}

static int sept_state(u64 e, int level)
{
	bool b = e & SEPT_TDB;

	if (!(e & (SEPT_RWX | SEPT_TDB | SEPT_TDP)))
		return TDXM_SEPT_FREE;
	if (!sept_leaf(e, level))
		return b ? TDXM_SEPT_NL_BLOCKED : TDXM_SEPT_NL_MAPPED;
	if (e & SEPT_TDP)
		return b ? TDXM_SEPT_PENDING_BLOCKED : TDXM_SEPT_PENDING;
	return b ? TDXM_SEPT_BLOCKED : TDXM_SEPT_MAPPED;
}

static u64 sept_make(int state, u64 pfn, int level)
{
	u64 e = pfn << PAGE_SHIFT;

	switch (state) {
	case TDXM_SEPT_FREE:
		return 0;
	case TDXM_SEPT_NL_MAPPED:
		return e | SEPT_RWX;
	case TDXM_SEPT_NL_BLOCKED:
		return e | SEPT_TDB;
	}
	if (level)
		e |= SEPT_PS;
	switch (state) {
	case TDXM_SEPT_MAPPED:
		return e | SEPT_RWX;
	case TDXM_SEPT_BLOCKED:
		return e | SEPT_TDB;
	case TDXM_SEPT_PENDING:
		return e | SEPT_TDP;
	default:
		return e | SEPT_TDP | SEPT_TDB;
	}
}

/* The state an entry returns to when unblocked. */
static int sept_unblocked(int state)
{
	switch (state) {
	case TDXM_SEPT_BLOCKED:
		return TDXM_SEPT_MAPPED;
	case TDXM_SEPT_PENDING_BLOCKED:
		return TDXM_SEPT_PENDING;
	case TDXM_SEPT_NL_BLOCKED:
		return TDXM_SEPT_NL_MAPPED;
	}
	return state;
}

static u64 sept_pfn(u64 e)
{
	return FIELD_GET(SEPT_PFN, e);
}

/* What a failing S-EPT leaf returns: RCX = the entry, RDX = level and state. */
static u64 sept_err(struct tdxm_args *a, u64 status, u64 e, int level)
{
	a->rcx = e;
	a->rdx = level | (u64)sept_state(e, level) << 8;
	return status;
}

static u64 state_err(struct tdxm_args *a, u64 e, int level)
{
	return sept_err(a, err_op(TDXM_EPT_ENTRY_STATE_INCORRECT, TDXM_OPID_RCX), e, level);
}

/*
 * Walk to the entry at @level for @gpa through NL_MAPPED entries only.  On
 * failure the status is EPT_WALK_FAILED and RCX/RDX describe where it stopped.
 */
static u64 sept_walk(struct tdxm_td *td, u64 gpa, int level, struct tdxm_args *a,
		     u64 **ep)
{
	u64 *table = sept_root(td);
	int l;

	for (l = SEPT_TOP_LEVEL; l > level; l--) {
		u64 e = table[sept_index(gpa, l)];

		if (sept_state(e, l) != TDXM_SEPT_NL_MAPPED)
			return sept_err(a, err_op(TDXM_EPT_WALK_FAILED, TDXM_OPID_RCX), e, l);
		table = sept_table(sept_pfn(e));
	}
	*ep = &table[sept_index(gpa, level)];
	return TDXM_SUCCESS;
}

/*
 * A page-info operand: reserved bits clear, @level at most @max, the GPA
 * aligned to it, private and inside GPAW.
 */
static u64 gpa_check(u64 rcx, int min, int max, u64 *gpa, int *level)
{
	*level = rcx & TDXM_LEVEL_MASK;
	*gpa = rcx & ~(PAGE_INFO_MBZ | TDXM_LEVEL_MASK);
	if ((rcx & PAGE_INFO_MBZ) || *level < min || *level > max ||
	    !IS_ALIGNED(*gpa, PAGE_SIZE << (9 * *level)) || *gpa >= SHARED_BIT)
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RCX);
	return TDXM_SUCCESS;
}

/*
 * The S-EPT leaves' common start: the TD in RDX (keyed, INITIALIZED or
 * RUNNABLE), the page-info in RCX with a level from @min to @max, and the
 * entry it names.
 */
static u64 sept_locate(struct tdx_model *m, struct tdxm_args *a, int min, int max,
		       struct tdxm_td **tdp, int *level, u64 **ep)
{
	u64 gpa, ret;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT | OP_RUN, tdp);
	if (!ret)
		ret = gpa_check(a->rcx, min, max, &gpa, level);
	if (!ret)
		ret = sept_walk(*tdp, gpa, *level, a, ep);
	return ret;
}

static u64 pages_at(int level)
{
	return 1ULL << (9 * level);
}

/* ---- MRTD --------------------------------------------------------------- */

static struct shash_desc *td_hash(struct tdx_model *m, struct tdxm_td *td)
{
	struct shash_desc *desc = (struct shash_desc *)td->hash;

	desc->tfm = m->sha384;
	return desc;
}

/* One 128-byte block: the leaf's name zero-padded to 16 bytes, the GPA. */
static void mrtd_block(struct tdx_model *m, struct tdxm_td *td, const char *what, u64 gpa)
{
	u8 block[MRTD_BLOCK] = {};
	__le64 lgpa = cpu_to_le64(gpa);

	strscpy((char *)block, what, 16);
	memcpy(block + 16, &lgpa, sizeof(lgpa));
	WARN_ON_ONCE(crypto_shash_update(td_hash(m, td), block, sizeof(block)));
}

/* ---- Host leaves: TD and vCPU creation -------------------------------- */

static u64 tdh_mng_create(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 pfn, ret;

	ret = free_page_check(m, a->rcx, TDXM_OPID_RCX, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	if (!a->rdx || a->rdx > TDXM_MAX_HKID)
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RDX);
	/* Assumption: an HKID another TD holds is HKID_NOT_FREE. */
	if (m->hkid_owner[a->rdx])
		return err_op(TDXM_HKID_NOT_FREE, TDXM_OPID_RDX);
	pamt_take(m, pfn, TDXM_LEVEL_4K, TDXM_PT_TDR, pfn);
	td = pfn_va(pfn);
	memset(td, 0, PAGE_SIZE);
	td->magic = TD_MAGIC;
	td->tdr_pfn = pfn;
	td->hkid = a->rdx;
	td->lifecycle = TDXM_LC_HKID_ASSIGNED;
	td->op_state = TDXM_OP_UNINITIALIZED;
	m->hkid_owner[td->hkid] = pfn;
	clear_bit(td->hkid, m->hkid_wb_done);
	return TDXM_SUCCESS;
}

static u64 tdh_mng_key_config(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret;

	ret = td_get(m, a->rcx, TDXM_OPID_RCX, &td);
	if (ret)
		return ret;
	if (td->lifecycle == TDXM_LC_KEYS_CONFIGURED)
		return TDXM_KEY_CONFIGURED;
	if (td->lifecycle != TDXM_LC_HKID_ASSIGNED)
		return err_op(TDXM_LIFECYCLE_STATE_INCORRECT, TDXM_OPID_TDR);
	td->lifecycle = TDXM_LC_KEYS_CONFIGURED;
	return TDXM_SUCCESS;
}

static u64 tdh_mng_addcx(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 pfn, ret;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_UNINIT, &td);
	if (ret)
		return ret;
	if (td->nr_tdcx == TDXM_NR_TDCX)
		return err_op(TDXM_TDCX_NUM_INCORRECT, TDXM_OPID_RDX);
	ret = free_page_check(m, a->rcx, TDXM_OPID_RCX, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	td_page_add(m, td, pfn, TDXM_PT_TDCX);
	td->tdcx[td->nr_tdcx++] = pfn;
	return TDXM_SUCCESS;
}

static u64 tdh_mng_init(struct tdx_model *m, struct tdxm_args *a)
{
	const struct tdxm_td_params *p;
	struct tdxm_td *td;
	u64 pfn, ret;

	ret = td_get_op(m, a->rcx, TDXM_OPID_RCX, OP_UNINIT, &td);
	if (ret)
		return ret;
	if (td->nr_tdcx != TDXM_NR_TDCX)
		return err_op(TDXM_TDCX_NUM_INCORRECT, TDXM_OPID_TDR);
	/* TD_PARAMS: 1024-byte aligned host memory with HKID 0. */
	pfn = PHYS_PFN(a->rdx);
	if (!IS_ALIGNED(a->rdx, SZ_1K) || (a->rdx & TDXM_HKID_MASK) || !pfn_valid(pfn))
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RDX);
	p = pfn_va(pfn) + offset_in_page(a->rdx);
	/* Assumption: the model offers 4-level S-EPT and GPAW 48 only. */
	if (!p->max_vcpus || FIELD_GET(TDXM_EPTP_PWL_MASK, p->eptp_controls) != 3 ||
	    (p->config_flags & TDXM_CONFIG_GPAW52))
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RDX);
	td->attributes = p->attributes;
	td->max_vcpus = p->max_vcpus;
	td->epoch = 1;
	if (crypto_shash_init(td_hash(m, td)))
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RCX);
	td->op_state = TDXM_OP_INITIALIZED;
	return TDXM_SUCCESS;
}

static u64 tdh_vp_create(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 pfn, ret;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT, &td);
	if (ret)
		return ret;
	ret = free_page_check(m, a->rcx, TDXM_OPID_RCX, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	td_page_add(m, td, pfn, TDXM_PT_TDVPR);
	vp = pfn_va(pfn);
	vp->tdr_pfn = td->tdr_pfn;
	vp->state = VP_CREATED;
	return TDXM_SUCCESS;
}

static u64 tdh_vp_addcx(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 pfn, ret;

	ret = vp_get(m, a->rdx, TDXM_OPID_RDX, &vp, &td);
	if (!ret)
		ret = td_keyed(td);
	if (ret)
		return ret;
	if (vp->state != VP_CREATED)
		return err_op(TDXM_VCPU_STATE_INCORRECT, TDXM_OPID_RDX);
	if (vp->nr_tdvpx == TDXM_NR_TDVPX)
		return err_op(TDXM_TDVPX_NUM_INCORRECT, TDXM_OPID_RDX);
	ret = free_page_check(m, a->rcx, TDXM_OPID_RCX, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	td_page_add(m, td, pfn, TDXM_PT_TDCX);
	vp->tdvpx[vp->nr_tdvpx++] = pfn;
	return TDXM_SUCCESS;
}

static u64 tdh_vp_init(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 ret;

	ret = vp_get(m, a->rcx, TDXM_OPID_RCX, &vp, &td);
	if (!ret)
		ret = td_keyed(td);
	if (ret)
		return ret;
	if (td->op_state != TDXM_OP_INITIALIZED)
		return err_op(TDXM_OP_STATE_INCORRECT, TDXM_OPID_TDCS);
	if (vp->state != VP_CREATED)
		return err_op(TDXM_VCPU_STATE_INCORRECT, TDXM_OPID_RCX);
	if (vp->nr_tdvpx != TDXM_NR_TDVPX)
		return err_op(TDXM_TDVPX_NUM_INCORRECT, TDXM_OPID_RCX);
	if (td->nr_vcpus >= td->max_vcpus)
		return err_op(TDXM_MAX_VCPUS_EXCEEDED, TDXM_OPID_TDCS);
	vp->index = td->nr_vcpus++;
	vp->state = VP_INITIALIZED;
	return TDXM_SUCCESS;
}

/* ---- Host leaves: memory ---------------------------------------------- */

static u64 tdh_mem_sept_add(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	int level, st;
	u64 gpa, pfn, ret, *e;

	ret = td_get_op(m, a->rdx & ~SEPT_ADD_ALLOW_EXISTING, TDXM_OPID_RDX,
			OP_INIT | OP_RUN, &td);
	if (!ret)
		ret = gpa_check(a->rcx, TDXM_LEVEL_2M, SEPT_TOP_LEVEL, &gpa, &level);
	if (ret)
		return ret;
	ret = free_page_check(m, a->r8, TDXM_OPID_R8, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	ret = sept_walk(td, gpa, level, a, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	if (st == TDXM_SEPT_NL_MAPPED && (a->rdx & SEPT_ADD_ALLOW_EXISTING))
		return TDXM_SUCCESS;
	if (st != TDXM_SEPT_FREE)
		return state_err(a, *e, level);
	td_page_add(m, td, pfn, TDXM_PT_EPT);
	*e = sept_make(TDXM_SEPT_NL_MAPPED, pfn, level);
	return TDXM_SUCCESS;
}

static u64 tdh_mem_page_add(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 gpa, pfn, src, ret, *e;
	int level;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT, &td);
	if (!ret)
		ret = gpa_check(a->rcx, TDXM_LEVEL_4K, TDXM_LEVEL_4K, &gpa, &level);
	if (ret)
		return ret;
	src = PHYS_PFN(a->r9);
	if (offset_in_page(a->r9) || (a->r9 & TDXM_HKID_MASK) || !pfn_valid(src))
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_R9);
	ret = free_page_check(m, a->r8, TDXM_OPID_R8, TDXM_LEVEL_4K, &pfn);
	if (ret)
		return ret;
	ret = sept_walk(td, gpa, level, a, &e);
	if (ret)
		return ret;
	if (sept_state(*e, level) != TDXM_SEPT_FREE)
		return state_err(a, *e, level);
	pamt_take(m, pfn, TDXM_LEVEL_4K, TDXM_PT_REG, td->tdr_pfn);
	copy_page(pfn_va(pfn), pfn_va(src));
	*e = sept_make(TDXM_SEPT_MAPPED, pfn, level);
	td->chldcnt++;
	/* The GPA is measured, the contents are not (TDH.MR.EXTEND does that). */
	mrtd_block(m, td, "MEM.PAGE.ADD", gpa);
	return TDXM_SUCCESS;
}

static u64 tdh_mr_extend(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 gpa, ret, *table, e = 0;
	int l;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT, &td);
	if (ret)
		return ret;
	gpa = a->rcx;
	if (!IS_ALIGNED(gpa, 256) || gpa >= SHARED_BIT)
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RCX);
	table = sept_root(td);
	for (l = SEPT_TOP_LEVEL; l >= 0; l--) {
		e = table[sept_index(gpa, l)];
		if (sept_state(e, l) != TDXM_SEPT_NL_MAPPED)
			break;
		table = sept_table(sept_pfn(e));
	}
	if (l < 0 || sept_state(e, l) != TDXM_SEPT_MAPPED)
		return sept_err(a, err_op(TDXM_EPT_ENTRY_NOT_PRESENT, TDXM_OPID_RCX), e,
				max(l, 0));
	mrtd_block(m, td, "MR.EXTEND", gpa);
	WARN_ON_ONCE(crypto_shash_update(td_hash(m, td),
					 pfn_va(sept_pfn(e)) + (gpa & ((PAGE_SIZE << (9 * l)) - 1)),
					 256));
	return TDXM_SUCCESS;
}

static u64 tdh_mr_finalize(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret;

	ret = td_get_op(m, a->rcx, TDXM_OPID_RCX, OP_INIT, &td);
	if (ret)
		return ret;
	if (!td->nr_vcpus)
		return TDXM_NO_VCPUS;
	WARN_ON_ONCE(crypto_shash_final(td_hash(m, td), td->mrtd));
	td->op_state = TDXM_OP_RUNNABLE;
	return TDXM_SUCCESS;
}

static u64 tdh_mem_page_aug(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 gpa, pfn, ret, *e;
	int level;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT | OP_RUN, &td);
	if (!ret)
		ret = gpa_check(a->rcx, TDXM_LEVEL_4K, TDXM_LEVEL_2M, &gpa, &level);
	if (ret)
		return ret;
	ret = free_page_check(m, a->r8, TDXM_OPID_R8, level, &pfn);
	if (ret)
		return ret;
	ret = sept_walk(td, gpa, level, a, &e);
	if (ret)
		return ret;
	if (sept_state(*e, level) != TDXM_SEPT_FREE)
		return state_err(a, *e, level);
	pamt_take(m, pfn, level, TDXM_PT_REG, td->tdr_pfn);
	*e = sept_make(TDXM_SEPT_PENDING, pfn, level);
	td->chldcnt += pages_at(level);
	return TDXM_SUCCESS;
}

/* The PAMT entry whose BEPOCH a blocked entry at @level uses. */
static struct tdxm_pamt *sept_bepoch(struct tdx_model *m, u64 e, int level)
{
	int l;

	if (!sept_leaf(e, level))
		return pamt4k(m, sept_pfn(e));
	return pamt_find(m, sept_pfn(e), &l);
}

static u64 tdh_mem_range_block(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret, *e;
	int level, st;

	ret = sept_locate(m, a, TDXM_LEVEL_4K, TDXM_LEVEL_1G, &td, &level, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	switch (st) {
	case TDXM_SEPT_MAPPED:
		st = TDXM_SEPT_BLOCKED;
		break;
	case TDXM_SEPT_PENDING:
		st = TDXM_SEPT_PENDING_BLOCKED;
		break;
	case TDXM_SEPT_NL_MAPPED:
		st = TDXM_SEPT_NL_BLOCKED;
		break;
	case TDXM_SEPT_BLOCKED:
	case TDXM_SEPT_PENDING_BLOCKED:
	case TDXM_SEPT_NL_BLOCKED:
		return sept_err(a, TDXM_GPA_RANGE_ALREADY_BLOCKED, *e, level);
	default:
		return state_err(a, *e, level);
	}
	*e = sept_make(st, sept_pfn(*e), level);
	sept_bepoch(m, *e, level)->bepoch = td->epoch;
	return TDXM_SUCCESS;
}

static u64 tdh_mem_track(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret;

	ret = td_get_op(m, a->rcx, TDXM_OPID_RCX, OP_INIT | OP_RUN, &td);
	if (ret)
		return ret;
	if (td->refcount[(td->epoch - 1) & 1])
		return TDXM_PREVIOUS_TLB_EPOCH_BUSY;
	td->epoch++;
	return TDXM_SUCCESS;
}

static u64 tdh_mem_range_unblock(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret, *e;
	int level, st;

	ret = sept_locate(m, a, TDXM_LEVEL_4K, TDXM_LEVEL_1G, &td, &level, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	if (st != TDXM_SEPT_BLOCKED && st != TDXM_SEPT_PENDING_BLOCKED &&
	    st != TDXM_SEPT_NL_BLOCKED)
		return state_err(a, *e, level);
	if (!tracked(td, sept_bepoch(m, *e, level)->bepoch))
		return err_op(TDXM_TLB_TRACKING_NOT_DONE, TDXM_OPID_SEPT_TREE);
	*e = sept_make(sept_unblocked(st), sept_pfn(*e), level);
	return TDXM_SUCCESS;
}

/*
 * What REMOVE, SEPT.REMOVE, DEMOTE and PROMOTE need of an entry in a
 * RUNNABLE TD: blocked, and tracked since.  Before TDH.MR.FINALIZE no vCPU
 * ran, so nothing is needed.  Assumption: the operand ID is RCX.
 */
static u64 blocked_and_tracked(struct tdx_model *m, struct tdxm_td *td, u64 e, int level,
			       struct tdxm_args *a)
{
	int st = sept_state(e, level);

	if (!td_running(td))
		return TDXM_SUCCESS;
	if (st != TDXM_SEPT_BLOCKED && st != TDXM_SEPT_PENDING_BLOCKED &&
	    st != TDXM_SEPT_NL_BLOCKED)
		return sept_err(a, err_op(TDXM_GPA_RANGE_NOT_BLOCKED, TDXM_OPID_RCX), e, level);
	if (!tracked(td, sept_bepoch(m, e, level)->bepoch))
		return sept_err(a, err_op(TDXM_TLB_TRACKING_NOT_DONE, TDXM_OPID_RCX), e, level);
	return TDXM_SUCCESS;
}

static bool leaf_page_state(int st)
{
	return st == TDXM_SEPT_MAPPED || st == TDXM_SEPT_BLOCKED ||
	       st == TDXM_SEPT_PENDING || st == TDXM_SEPT_PENDING_BLOCKED;
}

static u64 tdh_mem_page_remove(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 pfn, ret, *e;
	int level, l;

	ret = sept_locate(m, a, TDXM_LEVEL_4K, TDXM_LEVEL_1G, &td, &level, &e);
	if (ret)
		return ret;
	if (!sept_leaf(*e, level) || !leaf_page_state(sept_state(*e, level)))
		return state_err(a, *e, level);
	ret = blocked_and_tracked(m, td, *e, level, a);
	if (ret)
		return ret;
	pfn = sept_pfn(*e);
	*e = 0;
	/* The page is the host's again right away. */
	pamt_find(m, pfn, &l);
	pamt_free(m, pfn, l, td->hkid);
	td->chldcnt -= pages_at(level);
	a->rcx = PFN_PHYS(pfn);
	return TDXM_SUCCESS;
}

static u64 tdh_mem_sept_remove(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 pfn, ret, *e, *child;
	int level, st, i;

	ret = sept_locate(m, a, TDXM_LEVEL_2M, SEPT_TOP_LEVEL, &td, &level, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	if (st != TDXM_SEPT_NL_MAPPED && st != TDXM_SEPT_NL_BLOCKED)
		return state_err(a, *e, level);
	ret = blocked_and_tracked(m, td, *e, level, a);
	if (ret)
		return ret;
	pfn = sept_pfn(*e);
	child = sept_table(pfn);
	for (i = 0; i < PTRS; i++)
		if (sept_state(child[i], level - 1) != TDXM_SEPT_FREE)
			return sept_err(a, err_op(TDXM_EPT_PAGE_NOT_FREE, TDXM_OPID_RCX),
					*e, level);
	*e = 0;
	pamt_free(m, pfn, TDXM_LEVEL_4K, td->hkid);
	td->chldcnt--;
	a->rcx = PFN_PHYS(pfn);
	return TDXM_SUCCESS;
}

static u64 tdh_mem_page_demote(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_pamt old;
	u64 gpa, pfn, tpfn, ret, *e, *child;
	int level, st, i;

	ret = td_get_op(m, a->rdx, TDXM_OPID_RDX, OP_INIT | OP_RUN, &td);
	if (!ret)
		ret = gpa_check(a->rcx, TDXM_LEVEL_2M, TDXM_LEVEL_2M, &gpa, &level);
	if (ret)
		return ret;
	ret = free_page_check(m, a->r8, TDXM_OPID_R8, TDXM_LEVEL_4K, &tpfn);
	if (ret)
		return ret;
	ret = sept_walk(td, gpa, level, a, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	if (!sept_leaf(*e, level) || !leaf_page_state(st))
		return state_err(a, *e, level);
	ret = blocked_and_tracked(m, td, *e, level, a);
	if (ret)
		return ret;
	td_page_add(m, td, tpfn, TDXM_PT_EPT);
	pfn = sept_pfn(*e);
	child = sept_table(tpfn);
	/* Assumption: the 512 new entries are the unblocked state of the old. */
	st = sept_unblocked(st);
	for (i = 0; i < PTRS; i++)
		child[i] = sept_make(st, pfn + i, TDXM_LEVEL_4K);
	*e = sept_make(TDXM_SEPT_NL_MAPPED, tpfn, level);
	old = *pamt2m(m, pfn);
	*pamt2m(m, pfn) = (struct tdxm_pamt){};
	for (i = 0; i < PTRS; i++) {
		struct tdxm_pamt *p = pamt4k(m, pfn + i);

		p->pt = TDXM_PT_REG;
		p->owner = old.owner;
		p->bepoch = old.bepoch;
	}
	return TDXM_SUCCESS;
}

static u64 tdh_mem_page_promote(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_pamt *p;
	u64 pfn, tpfn, ret, *e, *child;
	int level, st, cst, i;

	ret = sept_locate(m, a, TDXM_LEVEL_2M, TDXM_LEVEL_2M, &td, &level, &e);
	if (ret)
		return ret;
	st = sept_state(*e, level);
	if (st != TDXM_SEPT_NL_MAPPED && st != TDXM_SEPT_NL_BLOCKED)
		return state_err(a, *e, level);
	ret = blocked_and_tracked(m, td, *e, level, a);
	if (ret)
		return ret;
	tpfn = sept_pfn(*e);
	child = sept_table(tpfn);
	/*
	 * All 512 children MAPPED or all PENDING, over one 2 MiB-aligned
	 * physical range.  Assumption: blocked children do not qualify.
	 */
	pfn = sept_pfn(child[0]);
	cst = sept_state(child[0], TDXM_LEVEL_4K);
	if ((cst != TDXM_SEPT_MAPPED && cst != TDXM_SEPT_PENDING) || !IS_ALIGNED(pfn, PTRS))
		return sept_err(a, err_op(TDXM_EPT_INVALID_PROMOTE_CONDITIONS, TDXM_OPID_RCX),
				*e, level);
	for (i = 1; i < PTRS; i++)
		if (sept_state(child[i], TDXM_LEVEL_4K) != cst || sept_pfn(child[i]) != pfn + i)
			return sept_err(a, err_op(TDXM_EPT_INVALID_PROMOTE_CONDITIONS,
						  TDXM_OPID_RCX), *e, level);
	*e = sept_make(cst, pfn, level);
	p = pamt2m(m, pfn);
	p->pt = TDXM_PT_REG;
	p->owner = pamt4k(m, pfn)->owner;
	p->bepoch = pamt4k(m, pfn)->bepoch;
	for (i = 0; i < PTRS; i++)
		*pamt4k(m, pfn + i) = (struct tdxm_pamt){};
	pamt_free(m, tpfn, TDXM_LEVEL_4K, td->hkid);
	td->chldcnt--;
	a->rcx = PFN_PHYS(tpfn);
	return TDXM_SUCCESS;
}

/* ---- Host leaves: teardown ------------------------------------------- */

static u64 tdh_vp_flush(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 ret;

	ret = vp_get(m, a->rcx, TDXM_OPID_RCX, &vp, &td);
	if (ret)
		return ret;
	/* Assumption: flushing a vCPU that is in the TD is a state error. */
	if (vp->in)
		return err_op(TDXM_VCPU_STATE_INCORRECT, TDXM_OPID_RCX);
	if (!vp->associated)
		return TDXM_VCPU_NOT_ASSOCIATED;
	vp->associated = false;
	td->nr_associated--;
	return TDXM_SUCCESS;
}

static u64 tdh_mng_vpflushdone(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret;

	ret = td_get(m, a->rcx, TDXM_OPID_RCX, &td);
	if (ret)
		return ret;
	if (td->lifecycle != TDXM_LC_HKID_ASSIGNED && td->lifecycle != TDXM_LC_KEYS_CONFIGURED)
		return err_op(TDXM_LIFECYCLE_STATE_INCORRECT, TDXM_OPID_TDR);
	if (td->nr_associated)
		return TDXM_FLUSHVP_NOT_DONE;
	td->lifecycle = TDXM_LC_BLOCKED;
	set_bit(td->hkid, m->hkid_wb_pending);
	return TDXM_SUCCESS;
}

static u64 tdh_phymem_cache_wb(struct tdx_model *m, struct tdxm_args *a)
{
	unsigned long h;

	if (a->rcx > 1)
		return err_op(TDXM_OPERAND_INVALID, TDXM_OPID_RCX);
	if (bitmap_empty(m->hkid_wb_pending, TDXM_MAX_HKID + 1))
		return TDXM_NO_HKID_READY_TO_WBCACHE;
	for_each_set_bit(h, m->hkid_wb_pending, TDXM_MAX_HKID + 1) {
		m->hkid_wb[h]++;
		set_bit(h, m->hkid_wb_done);
	}
	bitmap_zero(m->hkid_wb_pending, TDXM_MAX_HKID + 1);
	return TDXM_SUCCESS;
}

static u64 tdh_mng_key_freeid(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_td *td;
	u64 ret;

	ret = td_get(m, a->rcx, TDXM_OPID_RCX, &td);
	if (ret)
		return ret;
	if (td->lifecycle != TDXM_LC_BLOCKED)
		return err_op(TDXM_LIFECYCLE_STATE_INCORRECT, TDXM_OPID_TDR);
	if (!test_bit(td->hkid, m->hkid_wb_done))
		return TDXM_WBCACHE_NOT_COMPLETE;
	clear_bit(td->hkid, m->hkid_wb_done);
	m->hkid_owner[td->hkid] = 0;
	td->lifecycle = TDXM_LC_TEARDOWN;
	return TDXM_SUCCESS;
}

static u64 tdh_phymem_page_reclaim(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_pamt *p;
	struct tdxm_td *td;
	u64 pfn, ret;
	int level;
	u8 pt;

	ret = hpa_check(m, a->rcx, TDXM_OPID_RCX, false, &pfn);
	if (ret)
		return ret;
	p = pamt_find(m, pfn, &level);
	if (p->pt == TDXM_PT_NDA || p->pt == TDXM_PT_RSVD ||
	    (level && !IS_ALIGNED(pfn, PTRS)))
		return err_op(TDXM_PAGE_METADATA_INCORRECT, TDXM_OPID_RCX);
	td = pfn_va(p->owner);
	if (td->lifecycle != TDXM_LC_TEARDOWN)
		return err_op(TDXM_LIFECYCLE_STATE_INCORRECT, TDXM_OPID_TDR);
	pt = p->pt;
	if (pt == TDXM_PT_TDR) {
		if (td->chldcnt)
			return TDXM_TD_ASSOCIATED_PAGES_EXIST;
		td->magic = 0;
	} else {
		td->chldcnt -= pages_at(level);
	}
	a->rcx = pt;
	a->rdx = PFN_PHYS(p->owner);
	a->r8 = level;
	/* The TD's HKID was written back before KEY.FREEID. */
	pamt_free(m, pfn, level, 0);
	return TDXM_SUCCESS;
}

static u64 tdh_phymem_page_wbinvd(struct tdx_model *m, struct tdxm_args *a)
{
	struct tdxm_pamt *p;
	u64 pfn, ret;
	u32 hkid;
	int level;

	ret = hpa_check(m, a->rcx, TDXM_OPID_RCX, true, &pfn);
	if (ret)
		return ret;
	hkid = FIELD_GET(TDXM_HKID_MASK, a->rcx);
	p = pamt_find(m, pfn, &level);
	if (p->pt != TDXM_PT_NDA)
		return err_op(TDXM_PAGE_METADATA_INCORRECT, TDXM_OPID_RCX);
	if (p->dirty_hkid == hkid)
		p->dirty_hkid = 0;
	return TDXM_SUCCESS;
}

/* ---- Entry points ------------------------------------------------------- */

/**
 * tdx_model_seamcall - perform a SEAMCALL on the model
 * @m: the model
 * @leaf: RAX: the leaf number in bits 15:0, its version in bits 23:16
 * @args: RCX, RDX, R8, R9... in; what the leaf returns in them out
 *
 * Return: the status the module returns in RAX (TDXM_*, the operand ID in
 * bits 31:0).
 */
u64 tdx_model_seamcall(struct tdx_model *m, u64 leaf, struct tdxm_args *args)
{
	u64 ret;

	if (!m)
		return TDXM_OPERAND_INVALID;
	spin_lock(&m->lock);
	if (m->inject_busy) {
		m->inject_busy--;
		ret = err_op(TDXM_OPERAND_BUSY, m->inject_opid);
		goto out;
	}
	switch (leaf & 0xffff) {
	case TDXM_TDH_MNG_CREATE:
		ret = tdh_mng_create(m, args);
		break;
	case TDXM_TDH_MNG_KEY_CONFIG:
		ret = tdh_mng_key_config(m, args);
		break;
	case TDXM_TDH_MNG_ADDCX:
		ret = tdh_mng_addcx(m, args);
		break;
	case TDXM_TDH_MNG_INIT:
		ret = tdh_mng_init(m, args);
		break;
	case TDXM_TDH_VP_CREATE:
		ret = tdh_vp_create(m, args);
		break;
	case TDXM_TDH_VP_ADDCX:
		ret = tdh_vp_addcx(m, args);
		break;
	case TDXM_TDH_VP_INIT:
		ret = tdh_vp_init(m, args);
		break;
	case TDXM_TDH_MEM_SEPT_ADD:
		ret = tdh_mem_sept_add(m, args);
		break;
	case TDXM_TDH_MEM_PAGE_ADD:
		ret = tdh_mem_page_add(m, args);
		break;
	case TDXM_TDH_MR_EXTEND:
		ret = tdh_mr_extend(m, args);
		break;
	case TDXM_TDH_MR_FINALIZE:
		ret = tdh_mr_finalize(m, args);
		break;
	case TDXM_TDH_MEM_PAGE_AUG:
		ret = tdh_mem_page_aug(m, args);
		break;
	case TDXM_TDH_MEM_RANGE_BLOCK:
		ret = tdh_mem_range_block(m, args);
		break;
	case TDXM_TDH_MEM_TRACK:
		ret = tdh_mem_track(m, args);
		break;
	case TDXM_TDH_MEM_RANGE_UNBLOCK:
		ret = tdh_mem_range_unblock(m, args);
		break;
	case TDXM_TDH_MEM_PAGE_REMOVE:
		ret = tdh_mem_page_remove(m, args);
		break;
	case TDXM_TDH_MEM_SEPT_REMOVE:
		ret = tdh_mem_sept_remove(m, args);
		break;
	case TDXM_TDH_MEM_PAGE_DEMOTE:
		ret = tdh_mem_page_demote(m, args);
		break;
	case TDXM_TDH_MEM_PAGE_PROMOTE:
		ret = tdh_mem_page_promote(m, args);
		break;
	case TDXM_TDH_VP_FLUSH:
		ret = tdh_vp_flush(m, args);
		break;
	case TDXM_TDH_MNG_VPFLUSHDONE:
		ret = tdh_mng_vpflushdone(m, args);
		break;
	case TDXM_TDH_PHYMEM_CACHE_WB:
		ret = tdh_phymem_cache_wb(m, args);
		break;
	case TDXM_TDH_MNG_KEY_FREEID:
		ret = tdh_mng_key_freeid(m, args);
		break;
	case TDXM_TDH_PHYMEM_PAGE_RECLAIM:
		ret = tdh_phymem_page_reclaim(m, args);
		break;
	case TDXM_TDH_PHYMEM_PAGE_WBINVD:
		ret = tdh_phymem_page_wbinvd(m, args);
		break;
	default:
		/* Assumption: an unknown leaf is OPERAND_INVALID|RAX. */
		ret = TDXM_OPERAND_INVALID;
		break;
	}
out:
	spin_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(tdx_model_seamcall);

/**
 * tdx_model_vp_enter - a vCPU enters its TD (TDH.VP.ENTER, as far as epochs go)
 * @m: the model
 * @tdvpr_pa: the vCPU's TDVPR
 *
 * The vCPU holds the TD's current epoch until tdx_model_vp_exit().
 *
 * Return: TDXM_SUCCESS or the status TDH.VP.ENTER fails with.
 */
u64 tdx_model_vp_enter(struct tdx_model *m, u64 tdvpr_pa)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 ret;

	if (!m)
		return TDXM_OPERAND_INVALID;
	spin_lock(&m->lock);
	ret = vp_get(m, tdvpr_pa, TDXM_OPID_RCX, &vp, &td);
	if (!ret)
		ret = td_keyed(td);
	if (ret)
		goto out;
	if (!td_running(td)) {
		ret = err_op(TDXM_OP_STATE_INCORRECT, TDXM_OPID_TDCS);
		goto out;
	}
	if (vp->state != VP_INITIALIZED || vp->in) {
		ret = err_op(TDXM_VCPU_STATE_INCORRECT, TDXM_OPID_RCX);
		goto out;
	}
	vp->in = true;
	if (!vp->associated) {
		vp->associated = true;
		td->nr_associated++;
	}
	vp->epoch = td->epoch;
	td->refcount[vp->epoch & 1]++;
out:
	spin_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(tdx_model_vp_enter);

/**
 * tdx_model_vp_exit - a vCPU leaves its TD (a TD exit)
 * @m: the model
 * @tdvpr_pa: the vCPU's TDVPR
 */
void tdx_model_vp_exit(struct tdx_model *m, u64 tdvpr_pa)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;

	if (!m)
		return;
	spin_lock(&m->lock);
	if (!vp_get(m, tdvpr_pa, TDXM_OPID_RCX, &vp, &td) && !WARN_ON_ONCE(!vp->in)) {
		td->refcount[vp->epoch & 1]--;
		vp->in = false;
	}
	spin_unlock(&m->lock);
}
EXPORT_SYMBOL_GPL(tdx_model_vp_exit);

static u64 tdg_vp_info(struct tdxm_td *td, struct tdxm_vp *vp, struct tdxm_args *a)
{
	a->rcx = GPAW;
	a->rdx = td->attributes;
	a->r8 = td->nr_vcpus | (u64)td->max_vcpus << 32;
	a->r9 = vp->index;
	a->r10 = 0;
	a->r11 = 0;
	return TDXM_SUCCESS;
}

static u64 tdg_mem_page_accept(struct tdxm_td *td, struct tdxm_args *a)
{
	u64 gpa, pfn, ret, e = 0, *table;
	int level, l, st = TDXM_SEPT_FREE;
	unsigned long i;

	ret = gpa_check(a->rcx, TDXM_LEVEL_4K, TDXM_LEVEL_2M, &gpa, &level);
	if (ret)
		return ret;
	table = sept_root(td);
	for (l = SEPT_TOP_LEVEL; l >= level; l--) {
		e = table[sept_index(gpa, l)];
		st = sept_state(e, l);
		if (l > level && st == TDXM_SEPT_NL_MAPPED) {
			table = sept_table(sept_pfn(e));
			continue;
		}
		break;
	}
	if (l > level) {
		/* A larger leaf maps the GPA: the guest asked for too little. */
		if (st == TDXM_SEPT_PENDING || st == TDXM_SEPT_MAPPED)
			return TDXM_PAGE_SIZE_MISMATCH | l;
		return TDXM_TDCALL_EPT_VIOLATION;
	}
	switch (st) {
	case TDXM_SEPT_PENDING:
		break;
	case TDXM_SEPT_MAPPED:
		return TDXM_PAGE_ALREADY_ACCEPTED | level;
	case TDXM_SEPT_NL_MAPPED:
		/* Smaller pages map the range: the guest asked for too much. */
		return TDXM_PAGE_SIZE_MISMATCH | level;
	default:
		return TDXM_TDCALL_EPT_VIOLATION;
	}
	pfn = sept_pfn(e);
	for (i = 0; i < pages_at(level); i++)
		clear_page(pfn_va(pfn + i));
	table[sept_index(gpa, level)] = sept_make(TDXM_SEPT_MAPPED, pfn, level);
	return TDXM_SUCCESS;
}

/**
 * tdx_model_tdcall - perform a guest's TDCALL for one of its vCPUs
 * @m: the model
 * @tdvpr_pa: the vCPU's TDVPR; it must be in the TD (tdx_model_vp_enter())
 * @leaf: RAX of the TDCALL
 * @args: RCX, RDX, ... in and out
 *
 * Return: the status the module returns to the guest in RAX, or
 * TDXM_TDCALL_EPT_VIOLATION when the call exits to the host instead.
 */
u64 tdx_model_tdcall(struct tdx_model *m, u64 tdvpr_pa, u64 leaf, struct tdxm_args *args)
{
	struct tdxm_td *td;
	struct tdxm_vp *vp;
	u64 ret;

	if (!m)
		return TDXM_OPERAND_INVALID;
	spin_lock(&m->lock);
	ret = vp_get(m, tdvpr_pa, TDXM_OPID_RCX, &vp, &td);
	if (ret)
		goto out;
	if (WARN_ON_ONCE(!vp->in)) {
		ret = err_op(TDXM_VCPU_STATE_INCORRECT, TDXM_OPID_RCX);
		goto out;
	}
	switch (leaf) {
	case TDXM_TDG_VP_INFO:
		ret = tdg_vp_info(td, vp, args);
		break;
	case TDXM_TDG_MEM_PAGE_ACCEPT:
		ret = tdg_mem_page_accept(td, args);
		break;
	default:
		ret = TDXM_OPERAND_INVALID;
		break;
	}
out:
	spin_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(tdx_model_tdcall);

/**
 * tdx_model_sept_lookup - what the S-EPT of a TD maps at a GPA
 * @m: the model
 * @tdr_pa: the TD's TDR
 * @gpa: a private GPA
 * @pfn: the page mapped at @gpa (inside a large leaf: its 4 KiB page)
 * @level: the level of the entry found (TDXM_LEVEL_*)
 * @state: its state (TDXM_SEPT_*): the leaf's, or the entry where the walk
 *	stopped (FREE, NL_BLOCKED)
 *
 * The S-EPT is the truth: KVM derives the nested page table entries that map
 * a TD's private GPAs from this.
 *
 * Return: 0; -ENOENT if nothing maps @gpa (*pfn is then 0), -EINVAL if
 * @tdr_pa is no TD or its S-EPT does not exist yet.
 */
int tdx_model_sept_lookup(struct tdx_model *m, u64 tdr_pa, u64 gpa, u64 *pfn,
			  int *level, int *state)
{
	struct tdxm_td *td;
	u64 e = 0, *table;
	int l, st = TDXM_SEPT_FREE, ret = 0;

	if (!m)
		return -ENODEV;
	spin_lock(&m->lock);
	if (td_get(m, tdr_pa, TDXM_OPID_RCX, &td) || td->op_state == TDXM_OP_UNINITIALIZED ||
	    gpa >= SHARED_BIT) {
		ret = -EINVAL;
		goto out;
	}
	table = sept_root(td);
	for (l = SEPT_TOP_LEVEL; l >= 0; l--) {
		e = table[sept_index(gpa, l)];
		st = sept_state(e, l);
		if (st != TDXM_SEPT_NL_MAPPED)
			break;
		table = sept_table(sept_pfn(e));
	}
	*level = l;
	*state = st;
	*pfn = 0;
	if (st == TDXM_SEPT_FREE || st == TDXM_SEPT_NL_BLOCKED)
		ret = -ENOENT;
	else
		*pfn = sept_pfn(e) + ((gpa >> PAGE_SHIFT) & (pages_at(l) - 1));
out:
	spin_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(tdx_model_sept_lookup);

/**
 * tdx_model_pamt_read - the PAMT entry that describes a page
 * @m: the model
 * @pfn: the page
 * @pt: its page type (TDXM_PT_*)
 * @owner_pa: the owning TD's TDR
 * @bepoch: the epoch it was blocked in
 * @level: the PAMT level the entry is at (TDXM_LEVEL_4K or _2M)
 *
 * Return: 0, or -ERANGE if the PAMT does not cover @pfn.
 */
int tdx_model_pamt_read(struct tdx_model *m, u64 pfn, int *pt, u64 *owner_pa,
			u64 *bepoch, int *level)
{
	struct tdxm_pamt *p;

	if (!m)
		return -ENODEV;
	if (!pamt_covers(m, pfn, 1))
		return -ERANGE;
	spin_lock(&m->lock);
	p = pamt_find(m, pfn, level);
	*pt = p->pt;
	*owner_pa = PFN_PHYS(p->owner);
	*bepoch = p->bepoch;
	spin_unlock(&m->lock);
	return 0;
}
EXPORT_SYMBOL_GPL(tdx_model_pamt_read);

/**
 * tdx_model_mrtd - a finalized TD's MRTD
 * @m: the model
 * @tdr_pa: the TD's TDR
 * @mrtd: TDXM_MRTD_SIZE bytes
 *
 * Return: 0, -EINVAL if @tdr_pa is no TD, -EBUSY before TDH.MR.FINALIZE.
 */
int tdx_model_mrtd(struct tdx_model *m, u64 tdr_pa, u8 *mrtd)
{
	struct tdxm_td *td;
	int ret = 0;

	if (!m)
		return -ENODEV;
	spin_lock(&m->lock);
	if (td_get(m, tdr_pa, TDXM_OPID_RCX, &td))
		ret = -EINVAL;
	else if (td->op_state != TDXM_OP_RUNNABLE)
		ret = -EBUSY;
	else
		memcpy(mrtd, td->mrtd, TDXM_MRTD_SIZE);
	spin_unlock(&m->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(tdx_model_mrtd);

/**
 * tdx_model_inject_busy - make the next SEAMCALLs fail with OPERAND_BUSY
 * @m: the model
 * @count: how many
 * @opid: the operand ID they report (e.g. TDXM_OPID_SEPT_TREE)
 *
 * The module returns OPERAND_BUSY when another logical processor holds a
 * lock it needs; this lets the callers' retry paths run.
 */
void tdx_model_inject_busy(struct tdx_model *m, unsigned int count, u32 opid)
{
	if (!m)
		return;
	spin_lock(&m->lock);
	m->inject_busy = count;
	m->inject_opid = opid;
	spin_unlock(&m->lock);
}
EXPORT_SYMBOL_GPL(tdx_model_inject_busy);

/**
 * tdx_model_unflushed_reuses - pages taken again without a cache write-back
 * @m: the model
 *
 * Return: how many times a page that left a TD was given to a TD or made a
 * control page before TDH.PHYMEM.PAGE.WBINVD or TDH.PHYMEM.CACHE.WB
 * wrote back the old key's lines.  The module does not refuse that; the
 * model counts it.
 */
unsigned long tdx_model_unflushed_reuses(struct tdx_model *m)
{
	return m ? READ_ONCE(m->unflushed_reuses) : 0;
}
EXPORT_SYMBOL_GPL(tdx_model_unflushed_reuses);

/*
 * Call @fn for each 4 KiB page the PAMT covers, with the entry that
 * describes it, under the lock; the walk drops it every 2 MiB.
 */
static void pamt_walk(struct tdx_model *m,
		      void (*fn)(struct tdx_model *m, u64 pfn, struct tdxm_pamt *p, void *data),
		      void *data)
{
	unsigned long i;
	int level;

	for (i = 0; i < m->nr_pfns; i++) {
		if (!(i % PTRS)) {
			if (i)
				spin_unlock(&m->lock);
			cond_resched();
			spin_lock(&m->lock);
		}
		fn(m, m->start_pfn + i, pamt_find(m, m->start_pfn + i, &level), data);
	}
	if (m->nr_pfns)
		spin_unlock(&m->lock);
}

/* Does the kernel's direct map reach @pfn?  Does not sleep. */
static bool direct_mapped(u64 pfn)
{
	unsigned int level;
	pte_t *pte;

	pte = lookup_address((unsigned long)page_address(pfn_to_page(pfn)), &level);
	return pte && pte_present(*pte);
}

/* count[0]: a TD's private pages, count[1]: those still in the direct map. */
static void count_guest_page(struct tdx_model *m, u64 pfn, struct tdxm_pamt *p, void *data)
{
	unsigned long *count = data;

	if (p->pt != TDXM_PT_REG || !pfn_valid(pfn))
		return;
	count[0]++;
	count[1] += direct_mapped(pfn);
}

/**
 * tdx_model_count_guest_pages - the TDs' memory, and how much the host reaches
 * @m: the model
 * @pages: 4 KiB pages of type PT_REG (a TD's private memory), all TDs
 * @in_direct_map: how many of them the kernel's direct map still reaches
 *
 * For audits: a TD's private page must be out of the direct map for as
 * long as the TD owns it (the module's key protects it on real parts; here
 * nothing does).  Control and S-EPT pages are the model's, which reaches
 * them through the direct map, and are not counted.  The lock is dropped
 * every 2 MiB, as in the debugfs walk: the counts are exact while no TD
 * changes.
 */
void tdx_model_count_guest_pages(struct tdx_model *m, unsigned long *pages,
				 unsigned long *in_direct_map)
{
	unsigned long count[2] = {};

	if (m)
		pamt_walk(m, count_guest_page, count);
	*pages = count[0];
	*in_direct_map = count[1];
}
EXPORT_SYMBOL_GPL(tdx_model_count_guest_pages);

/**
 * tdx_model_map_page - put a TD page the model is about to read or write
 *	back into the direct map
 * @pfn: the page (a private guest_memfd page, say, which privmem keeps out
 *	of the direct map)
 *
 * The model reaches page contents through the direct map (PAGE.ADD's
 * copy, MR.EXTEND's hash, ACCEPT's clearing), where the module uses the
 * TD's key.  Callers bracket such leaves with this and
 * tdx_model_unmap_page().  Sleeps: it may split a large direct mapping.
 *
 * Return: true if the page was out and must go out again.
 */
bool tdx_model_map_page(u64 pfn)
{
	struct page *page = pfn_to_page(pfn);

	might_sleep();
	if (direct_mapped(pfn))
		return false;
	if (set_direct_map_default_noflush(page)) {
		pr_warn_ratelimited("cannot map pfn %#llx for the model\n", pfn);
		return false;
	}
	return true;
}
EXPORT_SYMBOL_GPL(tdx_model_map_page);

/**
 * tdx_model_unmap_page - take a page tdx_model_map_page() mapped out again
 * @pfn: the page
 */
void tdx_model_unmap_page(u64 pfn)
{
	unsigned long va = (unsigned long)page_address(pfn_to_page(pfn));

	/* Failing would leave a private page readable: never ignore it. */
	if (WARN_ON_ONCE(set_direct_map_invalid_noflush(pfn_to_page(pfn))))
		return;
	flush_tlb_kernel_range(va, va + PAGE_SIZE);
}
EXPORT_SYMBOL_GPL(tdx_model_unmap_page);

/* ---- debugfs: what tests read back (the model's, not the ABI's) --------- */

/*
 * One line per TD that holds an HKID: its TDR, HKID, life cycle and
 * operation states, vCPUs, the 4 KiB pages it owns, and the MRTD (zeroes
 * before TDH.MR.FINALIZE).  The module reports the MRTD only in a TD
 * report; tests read it here instead.
 */
static int tdx_model_tds_show(struct seq_file *sf, void *unused)
{
	struct tdx_model *m = sf->private;
	struct tdxm_td *td;
	int h;

	spin_lock(&m->lock);
	for (h = 1; h <= TDXM_MAX_HKID; h++) {
		if (!m->hkid_owner[h])
			continue;
		td = pfn_va(m->hkid_owner[h]);
		seq_printf(sf, "tdr %llx hkid %u lifecycle %u op %u vcpus %u pages %llu mrtd %*phN\n",
			   PFN_PHYS(td->tdr_pfn), td->hkid, td->lifecycle, td->op_state,
			   td->nr_vcpus, td->chldcnt, TDXM_MRTD_SIZE, td->mrtd);
	}
	spin_unlock(&m->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tdx_model_tds);

/* count[pt] per page type; count[TDXM_PT_EPT + 1]: pages left unflushed. */
static void pamt_count_page(struct tdx_model *m, u64 pfn, struct tdxm_pamt *p, void *data)
{
	unsigned long *count = data;

	if (p->pt <= TDXM_PT_EPT)
		count[p->pt]++;
	/* Left by a TD and not written back since (see pamt_take()). */
	count[TDXM_PT_EPT + 1] += p->pt == TDXM_PT_NDA && p->dirty_hkid &&
				  p->dirty_wb == m->hkid_wb[p->dirty_hkid];
}

/*
 * The PAMT's 4 KiB pages by type, over all of it: a test sees that a TD's
 * pages all went back to NDA when the counts return to where they were.
 * The walk drops the lock every 2 MiB; the counts are exact while nothing
 * else changes the PAMT.
 */
static int tdx_model_pamt_show(struct seq_file *sf, void *unused)
{
	static const char * const names[] = {
		[TDXM_PT_REG] = "reg", [TDXM_PT_TDR] = "tdr", [TDXM_PT_TDCX] = "tdcx",
		[TDXM_PT_TDVPR] = "tdvpr", [TDXM_PT_EPT] = "ept",
	};
	unsigned long count[TDXM_PT_EPT + 2] = {};
	int pt;

	pamt_walk(sf->private, pamt_count_page, count);
	for (pt = 0; pt < ARRAY_SIZE(names); pt++)
		if (names[pt])
			seq_printf(sf, "%s %lu\n", names[pt], count[pt]);
	seq_printf(sf, "unflushed %lu\n", count[TDXM_PT_EPT + 1]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tdx_model_pamt);

static void __init tdx_model_debugfs_init(struct tdx_model *m)
{
	struct dentry *dir = debugfs_create_dir("tdx_model", NULL);

	debugfs_create_file("tds", 0400, dir, m, &tdx_model_tds_fops);
	debugfs_create_file("pamt", 0400, dir, m, &tdx_model_pamt_fops);
}

/* ---- Instances ---------------------------------------------------------- */

/**
 * tdx_model_create - a model whose PAMT covers [start_pfn, start_pfn + nr_pfns)
 * @start_pfn: first page covered, 2 MiB aligned
 * @nr_pfns: pages covered, rounded up to 2 MiB
 *
 * Sleeps.  The PAMT costs 16 bytes per 4 KiB page plus 16 per 2 MiB.
 *
 * Return: the model, or NULL.
 */
struct tdx_model *tdx_model_create(unsigned long start_pfn, unsigned long nr_pfns)
{
	struct tdx_model *m;

	if (!IS_ALIGNED(start_pfn, PTRS) || !nr_pfns)
		return NULL;
	nr_pfns = ALIGN(nr_pfns, PTRS);
	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return NULL;
	m->pamt_4k = vzalloc(array_size(nr_pfns, sizeof(struct tdxm_pamt)));
	m->pamt_2m = vzalloc(array_size(nr_pfns / PTRS, sizeof(struct tdxm_pamt)));
	if (!m->pamt_4k || !m->pamt_2m)
		goto err_free;
	m->sha384 = crypto_alloc_shash("sha384", 0, 0);
	if (IS_ERR(m->sha384))
		goto err_free;
	/* Each TD keeps its running hash in its TDR page. */
	if (WARN_ON_ONCE(sizeof(struct shash_desc) + crypto_shash_descsize(m->sha384) >
			 HASH_DESC_MAX))
		goto err_tfm;
	m->start_pfn = start_pfn;
	m->nr_pfns = nr_pfns;
	spin_lock_init(&m->lock);
	return m;

err_tfm:
	crypto_free_shash(m->sha384);
err_free:
	vfree(m->pamt_2m);
	vfree(m->pamt_4k);
	kfree(m);
	return NULL;
}
EXPORT_SYMBOL_GPL(tdx_model_create);

/**
 * tdx_model_destroy - free a model made by tdx_model_create()
 * @m: the model; the pages it was given stay with their owners
 */
void tdx_model_destroy(struct tdx_model *m)
{
	if (!m || WARN_ON_ONCE(m == global_model))
		return;
	crypto_free_shash(m->sha384);
	vfree(m->pamt_2m);
	vfree(m->pamt_4k);
	kfree(m);
}
EXPORT_SYMBOL_GPL(tdx_model_destroy);

/**
 * tdx_model_global - the machine's model, whose PAMT covers all RAM
 *
 * Return: the model, or NULL if it could not be set up.
 */
struct tdx_model *tdx_model_global(void)
{
	return global_model;
}
EXPORT_SYMBOL_GPL(tdx_model_global);

/* Late: the SHA-384 implementation registers at subsys_initcall. */
static int __init tdx_model_init(void)
{
	struct tdx_model *m;

	m = tdx_model_create(0, max_pfn);
	if (!m) {
		pr_err("no memory for the PAMT of %lu pages\n", max_pfn);
		return -ENOMEM;
	}
	global_model = m;
	tdx_model_debugfs_init(m);
	pr_notice("TDX-module MODEL for tests, not Intel's TDX module: PAMT of %lu pages\n",
		  m->nr_pfns);
	return 0;
}
late_initcall(tdx_model_init);
