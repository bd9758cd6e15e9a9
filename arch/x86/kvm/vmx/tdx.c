// SPDX-License-Identifier: GPL-2.0-only
/*
 * TD guests (KVM_X86_TDX_VM) on the TDX-module model: the private-memory
 * backend of VM type 5.  This is the code that would drive the Intel TDX
 * module through SEAMCALLs; only the model (asm/tdx_model.h) answers them,
 * so it is built only with the model, in test kernels.
 *
 * Per VM: an HKID, a TDR and its TDCS pages (KVM_TDX_INIT_VM: MNG.CREATE,
 * MNG.KEY.CONFIG, MNG.ADDCX, MNG.INIT), per vCPU a TDVPR and its TDVPX
 * pages (KVM_TDX_INIT_VCPU: VP.CREATE, VP.ADDCX, VP.INIT), the initial
 * private pages (KVM_TDX_INIT_MEM_REGION: MEM.SEPT.ADD for missing S-EPT
 * tables, MEM.PAGE.ADD, MR.EXTEND when measured) and the end of the build
 * (KVM_TDX_FINALIZE_VM: MR.FINALIZE), with upstream's user ABI and errnos
 * (Documentation/virt/kvm/x86/intel-tdx.rst).
 *
 * Every page the TD owns is one guest_memfd recorded when it was added and
 * hands back to tdx_reclaim_page() before it leaves the file: REMOVE (after
 * BLOCK and TRACK once the TD runs) and PHYMEM.PAGE.WBINVD with the TD's
 * HKID.  The VM's end flushes the vCPUs, frees the HKID and RECLAIMs the
 * control and S-EPT pages; a page the model does not give back is leaked,
 * never freed.
 *
 * The backend knows no vendor's CPU: on the machines it is tested on, TD
 * vCPUs run through kvm-amd, which reaches the TD only through the
 * private-memory backend interface.
 *
 * Locking, outermost first: kvm->lock (VM commands), vcpu->mutex (vCPU
 * commands), kvm_tdx.lock (the TD's build state), kvm->slots_lock,
 * guest_memfd's lock, kvm_tdx.sept_lock (the S-EPT tables KVM gave the
 * model), kvm->mmu_lock, the model's lock.  tdx_reclaim_page() and
 * tdx_make_private() run under guest_memfd's lock and so never take
 * kvm_tdx.lock.
 */
#define pr_fmt(fmt) "kvm-tdx: " fmt

#include <linux/idr.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <asm/fpu/xstate.h>
#include <asm/tdx_model.h>

#include "../irq.h"
#include "../mmu.h"
#include "../x86.h"
#include "../private_backend.h"
#include "tdx.h"

/* TD attributes KVM lets a TD ask for: #VE on a pending access, or not. */
#define TDX_SUPPORTED_ATTRS	TDXM_ATTR_SEPT_VE_DISABLE
/* XFAM: x87 and SSE are always on, the model offers nothing more. */
#define TDX_XFAM_FIXED1		(XFEATURE_MASK_FP | XFEATURE_MASK_SSE)
#define TDX_SUPPORTED_XFAM	TDX_XFAM_FIXED1
/* GPAW 48: the shared bit is 47, private GPAs lie below it. */
#define TDX_GPAW		48
#define TDX_SHARED_BIT		BIT_ULL(TDX_GPAW - 1)
/* 4-level S-EPT: the root's entries are level 3. */
#define TDX_SEPT_TOP_LEVEL	3
/* TD_PARAMS.EPTP_CONTROLS: page-walk length 4, minus one, in bits 5:3. */
#define TDX_EPTP_PWL4		(3ULL << 3)
/* TDH.MEM.SEPT.ADD's RDX bit: an existing table is success. */
#define TDX_SEPT_ADD_EXISTING	BIT_ULL(0)
/* TDH.MR.EXTEND measures 256 bytes at a time. */
#define TDX_EXTEND_CHUNK	256
/* How often an OPERAND_BUSY SEAMCALL is tried before it counts as failed. */
#define TDX_BUSY_TRIES		64
/* REMOVE, BLOCK, TRACK: each fixes one reason REMOVE refused. */
#define TDX_REMOVE_TRIES	8

/*
 * CPUID bits user space may configure in KVM_TDX_INIT_VM, as masks: the
 * physical-address width the TD sees.  GuestPhysAddrSize (EAX 23:16) is
 * the GPAW and not configurable.
 */
static const struct kvm_cpuid_entry2 tdx_cpuid_config[] = {
	{ .function = 0x80000008, .eax = 0xff },
};

/* A TD vCPU's control pages, by vcpu_idx. */
struct tdx_vp {
	struct page *tdvpr;		/* NULL before TDH.VP.CREATE */
	struct page *tdvpx[TDXM_NR_TDVPX];
	int nr_tdvpx;
	bool initialized;		/* TDH.VP.INIT done */
	/* The MapGPA in progress: the next chunk to ask for, its end. */
	u64 map_gpa_next;
	u64 map_gpa_end;
};

struct kvm_tdx {
	struct kvm *kvm;
	struct mutex lock;		/* the fields up to @vps */
	int hkid;			/* 0: none */
	struct page *tdr;		/* NULL before TDH.MNG.CREATE */
	struct page *tdcx[TDXM_NR_TDCX];
	int nr_tdcx;
	bool initialized;		/* TDH.MNG.INIT done */
	bool finalized;			/* TDH.MR.FINALIZE done */
	u64 attributes;
	u64 xfam;
	u32 cpuid_maxphyaddr;		/* CPUID 0x80000008 EAX 7:0 */
	/* @sept_pages, @sept_spare; a TDCALL's page against its removal */
	struct mutex sept_lock;
	struct list_head sept_pages;	/* S-EPT tables given to the model */
	struct page *sept_spare;	/* for the next TDH.MEM.SEPT.ADD */
	struct tdx_vp *vps;
	struct xarray gfns;		/* pfn -> gfn of the TD's private pages */
	atomic_long_t nr_private;
	struct tdx_audit_node audit;
};

/* INIT_MEM_REGION's arguments for tdx_add_page(). */
struct tdx_add_args {
	struct kvm_tdx *tdx;
	struct page *src;
	bool measure;
	u64 hw_error;
};

static const struct kvm_private_backend tdx_backend;
static bool tdx_ready;
static DEFINE_IDA(tdx_hkids);

static struct kvm_tdx *to_tdx(struct kvm *kvm)
{
	return kvm->arch.private_state;
}

static u64 tdx_tdr_pa(struct kvm_tdx *tdx)
{
	return page_to_phys(tdx->tdr);
}

/* ---- SEAMCALLs ---------------------------------------------------------- */

/*
 * One SEAMCALL.  OPERAND_BUSY means another caller holds a lock the leaf
 * wants and nothing changed: try again, a bounded number of times, and
 * report it as the failure it is when it does not clear.
 */
static u64 tdx_seamcall(u64 leaf, struct tdxm_args *args)
{
	struct tdxm_args in = *args;
	u64 err = TDXM_OPERAND_BUSY;
	int i;

	for (i = 0; i < TDX_BUSY_TRIES; i++) {
		*args = in;
		err = tdx_model_seamcall(tdx_model_global(), leaf, args);
		if (TDXM_STATUS(err) != TDXM_OPERAND_BUSY)
			break;
		cpu_relax();
	}
	return err;
}

static u64 tdx_call2(u64 leaf, u64 rcx, u64 rdx)
{
	struct tdxm_args a = { .rcx = rcx, .rdx = rdx };

	return tdx_seamcall(leaf, &a);
}

static struct page *tdx_alloc_ctl_page(void)
{
	return alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
}

/*
 * Give a page of a torn-down TD back to the host: RECLAIM.  One the model
 * keeps is leaked: freeing it would hand a TD's page to the allocator.
 */
static void tdx_reclaim_ctl_page(struct page *page)
{
	struct tdxm_args a = { .rcx = page_to_phys(page) };
	u64 err;

	err = tdx_seamcall(TDXM_TDH_PHYMEM_PAGE_RECLAIM, &a);
	if (err) {
		pr_warn_ratelimited("RECLAIM of pfn %#lx failed: %#llx, leaking it\n",
				    page_to_pfn(page), err);
		return;
	}
	__free_page(page);
}

/*
 * TRACK the TD's epoch.  A vCPU still in the previous epoch holds it
 * back: kick every vCPU out of the guest and try again.
 */
static u64 tdx_track(struct kvm_tdx *tdx)
{
	u64 err = TDXM_PREVIOUS_TLB_EPOCH_BUSY;
	int i;

	for (i = 0; i < TDX_BUSY_TRIES; i++) {
		err = tdx_call2(TDXM_TDH_MEM_TRACK, tdx_tdr_pa(tdx), 0);
		if (TDXM_STATUS(err) != TDXM_PREVIOUS_TLB_EPOCH_BUSY)
			break;
		kvm_make_all_cpus_request(tdx->kvm, KVM_REQ_OUTSIDE_GUEST_MODE);
		cond_resched();
	}
	return err;
}

/*
 * Take the private page @pfn at @gpa out of the TD: REMOVE, with the
 * BLOCK and TRACK the module asks for once the TD is runnable, then
 * PHYMEM.PAGE.WBINVD with the TD's HKID before the host reuses it.  A page
 * the model keeps is leaked: a reference that is never dropped keeps it
 * from the allocator.
 */
static int tdx_remove_page(struct kvm_tdx *tdx, gpa_t gpa, kvm_pfn_t pfn)
{
	u64 tdr = tdx_tdr_pa(tdx), info = gpa | TDXM_LEVEL_4K, err = 0;
	int i;

	for (i = 0; i < TDX_REMOVE_TRIES; i++) {
		err = tdx_call2(TDXM_TDH_MEM_PAGE_REMOVE, info, tdr);
		switch (TDXM_STATUS(err)) {
		case TDXM_SUCCESS:
			goto wbinvd;
		case TDXM_GPA_RANGE_NOT_BLOCKED:
			err = tdx_call2(TDXM_TDH_MEM_RANGE_BLOCK, info, tdr);
			break;
		case TDXM_TLB_TRACKING_NOT_DONE:
			err = tdx_track(tdx);
			break;
		default:
			goto leak;
		}
		/* GPA_RANGE_ALREADY_BLOCKED is a success with details. */
		if (TDXM_IS_ERROR(err))
			goto leak;
	}
	goto leak;

wbinvd:
	err = tdx_call2(TDXM_TDH_PHYMEM_PAGE_WBINVD,
			PFN_PHYS(pfn) | ((u64)tdx->hkid << TDXM_HKID_SHIFT), 0);
	if (!err)
		return 0;
leak:
	pr_warn_ratelimited("removing pfn %#llx at gpa %#llx failed: %#llx, leaking it\n",
			    pfn, gpa, err);
	get_page(pfn_to_page(pfn));
	return -EIO;
}

/* ---- The TD and its vCPUs ----------------------------------------------- */

/*
 * Tear the TD down (VP.FLUSH of every vCPU, MNG.VPFLUSHDONE, a cache
 * write-back, MNG.KEY.FREEID) and RECLAIM its control and S-EPT pages, the
 * TDR last.  Its private pages are gone already: guest_memfd handed each
 * back before the VM could go.  Leaves @tdx as before KVM_TDX_INIT_VM.
 */
static void tdx_td_free(struct kvm_tdx *tdx)
{
	struct page *page, *tmp;
	u64 tdr, err;
	int i, j;

	if (!tdx->tdr)
		goto out_hkid;
	tdr = tdx_tdr_pa(tdx);

	for (i = 0; i < KVM_MAX_VCPUS; i++) {
		if (!tdx->vps[i].tdvpr)
			continue;
		err = tdx_call2(TDXM_TDH_VP_FLUSH, page_to_phys(tdx->vps[i].tdvpr), 0);
		if (err && err != TDXM_VCPU_NOT_ASSOCIATED)
			goto leak;
	}
	err = tdx_call2(TDXM_TDH_MNG_VPFLUSHDONE, tdr, 0);
	if (err)
		goto leak;
	err = tdx_call2(TDXM_TDH_PHYMEM_CACHE_WB, 0, 0);
	if (err && err != TDXM_NO_HKID_READY_TO_WBCACHE)
		goto leak;
	err = tdx_call2(TDXM_TDH_MNG_KEY_FREEID, tdr, 0);
	if (err)
		goto leak;

	list_for_each_entry_safe(page, tmp, &tdx->sept_pages, lru) {
		list_del(&page->lru);
		tdx_reclaim_ctl_page(page);
	}
	for (i = 0; i < KVM_MAX_VCPUS; i++) {
		struct tdx_vp *vp = &tdx->vps[i];

		for (j = 0; j < vp->nr_tdvpx; j++)
			tdx_reclaim_ctl_page(vp->tdvpx[j]);
		if (vp->tdvpr)
			tdx_reclaim_ctl_page(vp->tdvpr);
		memset(vp, 0, sizeof(*vp));
	}
	for (i = 0; i < tdx->nr_tdcx; i++)
		tdx_reclaim_ctl_page(tdx->tdcx[i]);
	tdx_reclaim_ctl_page(tdx->tdr);
	goto out;

leak:
	/* The model still has the key and the pages: they stay its own. */
	pr_warn("tearing down TD %#llx failed: %#llx, leaking its pages and HKID %d\n",
		tdr, err, tdx->hkid);
	tdx->hkid = 0;
	for (i = 0; i < KVM_MAX_VCPUS; i++)
		memset(&tdx->vps[i], 0, sizeof(tdx->vps[i]));
	INIT_LIST_HEAD(&tdx->sept_pages);
out:
	tdx->tdr = NULL;
	tdx->nr_tdcx = 0;
	tdx->initialized = false;
	tdx->finalized = false;
out_hkid:
	if (tdx->hkid)
		ida_free(&tdx_hkids, tdx->hkid);
	tdx->hkid = 0;
}

/*
 * MNG.CREATE with a fresh HKID, MNG.KEY.CONFIG, the TDCS pages, MNG.INIT
 * with the TD_PARAMS.  A status the model returns is in *@hw_error.
 */
static int tdx_td_create(struct kvm *kvm, struct kvm_tdx *tdx,
			 const struct kvm_tdx_init_vm *init, u64 *hw_error)
{
	struct tdxm_td_params *params;
	struct page *page;
	u64 err;
	int r;

	r = ida_alloc_range(&tdx_hkids, 1, TDXM_MAX_HKID, GFP_KERNEL);
	if (r < 0)
		return r == -ENOSPC ? -EBUSY : r;
	tdx->hkid = r;

	page = tdx_alloc_ctl_page();
	if (!page) {
		r = -ENOMEM;
		goto err;
	}
	err = tdx_call2(TDXM_TDH_MNG_CREATE, page_to_phys(page), tdx->hkid);
	if (err) {
		__free_page(page);
		goto err_module;
	}
	tdx->tdr = page;

	err = tdx_call2(TDXM_TDH_MNG_KEY_CONFIG, tdx_tdr_pa(tdx), 0);
	if (err)
		goto err_module;

	while (tdx->nr_tdcx < TDXM_NR_TDCX) {
		page = tdx_alloc_ctl_page();
		if (!page) {
			r = -ENOMEM;
			goto err;
		}
		err = tdx_call2(TDXM_TDH_MNG_ADDCX, page_to_phys(page), tdx_tdr_pa(tdx));
		if (err) {
			__free_page(page);
			goto err_module;
		}
		tdx->tdcx[tdx->nr_tdcx++] = page;
	}

	params = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!params) {
		r = -ENOMEM;
		goto err;
	}
	params->attributes = init->attributes;
	params->xfam = init->xfam;
	params->max_vcpus = min_t(unsigned int, kvm->max_vcpus, U16_MAX);
	params->eptp_controls = TDX_EPTP_PWL4;
	err = tdx_call2(TDXM_TDH_MNG_INIT, tdx_tdr_pa(tdx), __pa(params));
	free_page((unsigned long)params);
	if (err)
		goto err_module;

	tdx->attributes = init->attributes;
	tdx->xfam = init->xfam;
	tdx->initialized = true;
	return 0;

err_module:
	*hw_error = err;
	/* The module refuses TD_PARAMS it does not like as OPERAND_INVALID. */
	r = TDXM_STATUS(err) == TDXM_OPERAND_INVALID ? -EINVAL : -EIO;
err:
	tdx_td_free(tdx);
	return r;
}

/* Each configured entry names a configurable leaf and only its bits. */
static int tdx_check_cpuid(struct kvm_tdx *tdx, const struct kvm_cpuid_entry2 *e, u32 nent)
{
	const struct kvm_cpuid_entry2 *c;
	u32 i, j;

	tdx->cpuid_maxphyaddr = TDX_GPAW;
	for (i = 0; i < nent; i++, e++) {
		for (j = 0, c = tdx_cpuid_config; j < ARRAY_SIZE(tdx_cpuid_config); j++, c++)
			if (c->function == e->function && c->index == e->index)
				break;
		if (j == ARRAY_SIZE(tdx_cpuid_config) || e->flags ||
		    (e->eax & ~c->eax) || (e->ebx & ~c->ebx) ||
		    (e->ecx & ~c->ecx) || (e->edx & ~c->edx) ||
		    memchr_inv(e->padding, 0, sizeof(e->padding)))
			return -EINVAL;
		if (e->function == 0x80000008 && (e->eax & 0xff))
			tdx->cpuid_maxphyaddr = e->eax & 0xff;
	}
	return 0;
}

static int tdx_init_vm(struct kvm *kvm, struct kvm_tdx *tdx, struct kvm_tdx_cmd *cmd)
{
	struct kvm_tdx_init_vm __user *uinit = u64_to_user_ptr(cmd->data);
	struct kvm_cpuid_entry2 *entries = NULL;
	struct kvm_tdx_init_vm init;
	int r;

	lockdep_assert_held(&kvm->lock);

	if (cmd->flags)
		return -EINVAL;
	/* Once, and before any vCPU: TD_PARAMS fix the vCPU count. */
	if (tdx->tdr || kvm->created_vcpus)
		return -EINVAL;
	if (copy_from_user(&init, uinit, sizeof(init)))
		return -EFAULT;
	if (init.cpuid.nent > KVM_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (memchr_inv(init.reserved, 0, sizeof(init.reserved)) || init.cpuid.padding)
		return -EINVAL;
	if (init.attributes & ~TDX_SUPPORTED_ATTRS)
		return -EINVAL;
	if ((init.xfam & TDX_XFAM_FIXED1) != TDX_XFAM_FIXED1 ||
	    (init.xfam & ~TDX_SUPPORTED_XFAM))
		return -EINVAL;

	if (init.cpuid.nent) {
		entries = vmemdup_user(uinit->cpuid.entries,
				       array_size(init.cpuid.nent, sizeof(*entries)));
		if (IS_ERR(entries))
			return PTR_ERR(entries);
	}
	r = tdx_check_cpuid(tdx, entries, init.cpuid.nent);
	kvfree(entries);
	if (r)
		return r;
	return tdx_td_create(kvm, tdx, &init, &cmd->hw_error);
}

/*
 * VP.CREATE, the TDVPX pages and VP.INIT with @rcx, the guest's initial
 * RCX.  A failed step leaves what the model took recorded (the VM's end
 * reclaims it) and a second call goes on from there.
 */
static int tdx_init_vcpu(struct kvm_vcpu *vcpu, struct kvm_tdx *tdx, struct kvm_tdx_cmd *cmd)
{
	struct tdx_vp *vp = &tdx->vps[vcpu->vcpu_idx];
	struct page *page;
	u64 err;

	if (cmd->flags || vp->initialized)
		return -EINVAL;

	if (!vp->tdvpr) {
		page = tdx_alloc_ctl_page();
		if (!page)
			return -ENOMEM;
		err = tdx_call2(TDXM_TDH_VP_CREATE, page_to_phys(page), tdx_tdr_pa(tdx));
		if (err) {
			__free_page(page);
			goto err_module;
		}
		vp->tdvpr = page;
	}
	while (vp->nr_tdvpx < TDXM_NR_TDVPX) {
		page = tdx_alloc_ctl_page();
		if (!page)
			return -ENOMEM;
		err = tdx_call2(TDXM_TDH_VP_ADDCX, page_to_phys(page), page_to_phys(vp->tdvpr));
		if (err) {
			__free_page(page);
			goto err_module;
		}
		vp->tdvpx[vp->nr_tdvpx++] = page;
	}
	err = tdx_call2(TDXM_TDH_VP_INIT, page_to_phys(vp->tdvpr), cmd->data);
	if (err)
		goto err_module;
	vp->initialized = true;
	return 0;

err_module:
	cmd->hw_error = err;
	return -EIO;
}

/*
 * Build the S-EPT tables above @gpa's 4 KiB entry that are not there yet.
 * SEPT.ADD with "existing is fine" leaves the offered page alone when the
 * table exists; the PAMT says whether it took it.
 */
static int tdx_sept_populate(struct kvm_tdx *tdx, gpa_t gpa, u64 *hw_error)
{
	u64 err, owner, bepoch, pfn;
	struct tdxm_args a;
	int level, pt, pt_level;

	lockdep_assert_held(&tdx->sept_lock);

	for (level = TDX_SEPT_TOP_LEVEL; level > TDXM_LEVEL_4K; level--) {
		if (!tdx->sept_spare) {
			tdx->sept_spare = tdx_alloc_ctl_page();
			if (!tdx->sept_spare)
				return -ENOMEM;
		}
		pfn = page_to_pfn(tdx->sept_spare);
		a = (struct tdxm_args){
			.rcx	= ALIGN_DOWN(gpa, PAGE_SIZE << (9 * level)) | level,
			.rdx	= tdx_tdr_pa(tdx) | TDX_SEPT_ADD_EXISTING,
			.r8	= PFN_PHYS(pfn),
		};
		err = tdx_seamcall(TDXM_TDH_MEM_SEPT_ADD, &a);
		if (err) {
			pr_warn_ratelimited("SEPT.ADD at %#llx level %d failed: %#llx\n",
					    gpa, level, err);
			*hw_error = err;
			return -EIO;
		}
		if (!tdx_model_pamt_read(tdx_model_global(), pfn, &pt, &owner, &bepoch,
					 &pt_level) && pt == TDXM_PT_EPT) {
			list_add(&tdx->sept_spare->lru, &tdx->sept_pages);
			tdx->sept_spare = NULL;
		}
	}
	return 0;
}

/*
 * One page of INIT_MEM_REGION, under guest_memfd's lock: PAGE.ADD copies
 * the source into @pfn and maps it at @gfn, MR.EXTEND measures it.  The
 * model reaches @pfn through the direct map, where private pages are not.
 */
static int tdx_add_page(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int order, void *opaque)
{
	struct tdx_add_args *args = opaque;
	struct kvm_tdx *tdx = args->tdx;
	gpa_t gpa = gfn_to_gpa(gfn);
	struct tdxm_args a = {
		.rcx	= gpa | TDXM_LEVEL_4K,
		.rdx	= tdx_tdr_pa(tdx),
		.r8	= PFN_PHYS(pfn),
		.r9	= page_to_phys(args->src),
	};
	bool mapped, added;
	u64 err;
	int r, i;

	mutex_lock(&tdx->sept_lock);
	r = tdx_sept_populate(tdx, gpa, &args->hw_error);
	mutex_unlock(&tdx->sept_lock);
	if (r)
		return r;
	r = xa_reserve(&tdx->gfns, pfn, GFP_KERNEL_ACCOUNT);
	if (r)
		return r;

	mapped = tdx_model_map_page(pfn);
	err = tdx_seamcall(TDXM_TDH_MEM_PAGE_ADD, &a);
	added = !err;
	for (i = 0; !err && args->measure && i < PAGE_SIZE; i += TDX_EXTEND_CHUNK)
		err = tdx_call2(TDXM_TDH_MR_EXTEND, gpa + i, tdx_tdr_pa(tdx));
	if (mapped)
		tdx_model_unmap_page(pfn);

	if (err) {
		pr_warn_ratelimited("PAGE.ADD%s of pfn %#llx at %#llx failed: %#llx\n",
				    added ? "/MR.EXTEND" : "", pfn, gpa, err);
		args->hw_error = err;
		xa_release(&tdx->gfns, pfn);
		/* Added but not measured: the TD must not keep it. */
		if (added) {
			tdx_remove_page(tdx, gpa, pfn);
			return -EIO;
		}
		/* Something is mapped at the GPA already. */
		if (TDXM_STATUS(err) == TDXM_EPT_ENTRY_STATE_INCORRECT)
			return -EEXIST;
		return -EIO;
	}
	xa_store(&tdx->gfns, pfn, xa_mk_value(gfn), GFP_KERNEL_ACCOUNT);
	atomic_long_inc(&tdx->nr_private);
	return 0;
}

static int tdx_init_mem_region(struct kvm_vcpu *vcpu, struct kvm_tdx *tdx,
			       struct kvm_tdx_cmd *cmd)
{
	struct kvm_tdx_init_mem_region __user *uregion = u64_to_user_ptr(cmd->data);
	struct tdx_add_args args = {
		.tdx		= tdx,
		.measure	= cmd->flags & KVM_TDX_MEASURE_MEMORY_REGION,
	};
	struct kvm_tdx_init_mem_region region;
	struct kvm *kvm = vcpu->kvm;
	long done;
	int r = 0;

	if (cmd->flags & ~KVM_TDX_MEASURE_MEMORY_REGION)
		return -EINVAL;
	if (!tdx->vps[vcpu->vcpu_idx].initialized)
		return -EINVAL;
	if (copy_from_user(&region, uregion, sizeof(region)))
		return -EFAULT;
	/* Whole pages, private GPAs only: below the shared bit. */
	if (!PAGE_ALIGNED(region.source_addr) || !PAGE_ALIGNED(region.gpa) ||
	    !region.nr_pages || region.nr_pages > (TDX_SHARED_BIT >> PAGE_SHIFT) ||
	    region.gpa + (region.nr_pages << PAGE_SHIFT) > TDX_SHARED_BIT)
		return -EINVAL;

	args.src = alloc_page(GFP_KERNEL_ACCOUNT);
	if (!args.src)
		return -ENOMEM;
	while (region.nr_pages) {
		if (signal_pending(current)) {
			r = -EINTR;
			break;
		}
		/*
		 * The source goes to the model through a kernel page: PAGE.ADD
		 * takes a host physical address.
		 */
		if (copy_from_user(page_address(args.src),
				   u64_to_user_ptr(region.source_addr), PAGE_SIZE)) {
			r = -EFAULT;
			break;
		}
		mutex_lock(&kvm->slots_lock);
		done = kvm_gmem_populate(kvm, gpa_to_gfn(region.gpa), NULL, 1,
					 tdx_add_page, &args);
		mutex_unlock(&kvm->slots_lock);
		if (done <= 0) {
			r = done ? done : -EINVAL;
			cmd->hw_error = args.hw_error;
			break;
		}
		region.source_addr += PAGE_SIZE;
		region.gpa += PAGE_SIZE;
		region.nr_pages--;
		cond_resched();
	}
	__free_page(args.src);

	/* Where the next call has to go on, also after an error. */
	if (copy_to_user(uregion, &region, sizeof(region)))
		r = -EFAULT;
	return r;
}

static int tdx_finalize_vm(struct kvm_tdx *tdx, struct kvm_tdx_cmd *cmd)
{
	u64 err;

	if (cmd->flags || cmd->data)
		return -EINVAL;
	if (!tdx->initialized || tdx->finalized)
		return -EINVAL;
	err = tdx_call2(TDXM_TDH_MR_FINALIZE, tdx_tdr_pa(tdx), 0);
	if (err) {
		cmd->hw_error = err;
		return TDXM_STATUS(err) == TDXM_OPERAND_BUSY ? -EBUSY : -EIO;
	}
	/* Register state is the TD's from here on. */
	WRITE_ONCE(tdx->finalized, true);
	return 0;
}

/* The CPUID values the module virtualizes for the TD. */
static void tdx_cpuid_values(struct kvm_tdx *tdx, struct kvm_cpuid_entry2 *e)
{
	memset(e, 0, sizeof(*e));
	e->function = 0x80000008;
	/* GuestPhysAddrSize, linear address size, physical address size. */
	e->eax = (TDX_GPAW << 16) | (48 << 8) | tdx->cpuid_maxphyaddr;
}

#define TDX_NR_CPUID_VALUES	1

static int tdx_get_cpuid(struct kvm_vcpu *vcpu, struct kvm_tdx *tdx, struct kvm_tdx_cmd *cmd)
{
	struct kvm_cpuid2 __user *ucpuid = u64_to_user_ptr(cmd->data);
	struct kvm_cpuid_entry2 e;
	u32 nent;

	if (cmd->flags || !tdx->vps[vcpu->vcpu_idx].initialized)
		return -EINVAL;
	if (get_user(nent, &ucpuid->nent))
		return -EFAULT;
	if (put_user(TDX_NR_CPUID_VALUES, &ucpuid->nent))
		return -EFAULT;
	if (nent < TDX_NR_CPUID_VALUES)
		return -E2BIG;
	tdx_cpuid_values(tdx, &e);
	return copy_to_user(ucpuid->entries, &e, sizeof(e)) ? -EFAULT : 0;
}

static int tdx_get_capabilities(struct kvm_tdx_cmd *cmd)
{
	struct kvm_tdx_capabilities __user *ucaps = u64_to_user_ptr(cmd->data);
	struct kvm_tdx_capabilities *caps;
	u32 nent;
	int r = 0;

	if (cmd->flags)
		return -EINVAL;
	if (get_user(nent, &ucaps->cpuid.nent))
		return -EFAULT;
	if (nent < ARRAY_SIZE(tdx_cpuid_config))
		return -E2BIG;

	caps = kzalloc(sizeof(*caps), GFP_KERNEL);
	if (!caps)
		return -ENOMEM;
	caps->supported_attrs = TDX_SUPPORTED_ATTRS;
	caps->supported_xfam = TDX_SUPPORTED_XFAM;
	caps->cpuid.nent = ARRAY_SIZE(tdx_cpuid_config);
	if (copy_to_user(ucaps, caps, sizeof(*caps)) ||
	    copy_to_user(ucaps->cpuid.entries, tdx_cpuid_config, sizeof(tdx_cpuid_config)))
		r = -EFAULT;
	kfree(caps);
	return r;
}

/* ---- KVM_MEMORY_ENCRYPT_OP ---------------------------------------------- */

static int tdx_get_cmd(void __user *argp, struct kvm_tdx_cmd *cmd)
{
	if (copy_from_user(cmd, argp, sizeof(*cmd)))
		return -EFAULT;
	/* hw_error is the kernel's to fill in. */
	return cmd->hw_error ? -EINVAL : 0;
}

static int tdx_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	struct kvm_tdx *tdx = to_tdx(kvm);
	struct kvm_tdx_cmd cmd;
	int r;

	/* NULL asks whether the commands are there at all. */
	if (!argp)
		return 0;
	r = tdx_get_cmd(argp, &cmd);
	if (r)
		return r;

	mutex_lock(&kvm->lock);
	mutex_lock(&tdx->lock);
	switch (cmd.id) {
	case KVM_TDX_CAPABILITIES:
		r = tdx_get_capabilities(&cmd);
		break;
	case KVM_TDX_INIT_VM:
		r = tdx_init_vm(kvm, tdx, &cmd);
		break;
	case KVM_TDX_FINALIZE_VM:
		r = tdx_finalize_vm(tdx, &cmd);
		break;
	default:
		r = -EINVAL;
		break;
	}
	mutex_unlock(&tdx->lock);
	mutex_unlock(&kvm->lock);

	if (copy_to_user(argp, &cmd, sizeof(cmd)))
		r = -EFAULT;
	return r;
}

static int tdx_vcpu_mem_enc_ioctl(struct kvm_vcpu *vcpu, void __user *argp)
{
	struct kvm_tdx *tdx = to_tdx(vcpu->kvm);
	struct kvm_tdx_cmd cmd;
	int r;

	r = tdx_get_cmd(argp, &cmd);
	if (r)
		return r;

	mutex_lock(&tdx->lock);
	/* Only while the TD is being built, as upstream. */
	if (!tdx->initialized || tdx->finalized) {
		r = -EINVAL;
		goto out;
	}
	switch (cmd.id) {
	case KVM_TDX_INIT_VCPU:
		r = tdx_init_vcpu(vcpu, tdx, &cmd);
		break;
	case KVM_TDX_INIT_MEM_REGION:
		r = tdx_init_mem_region(vcpu, tdx, &cmd);
		break;
	case KVM_TDX_GET_CPUID:
		r = tdx_get_cpuid(vcpu, tdx, &cmd);
		break;
	default:
		r = -EINVAL;
		break;
	}
out:
	mutex_unlock(&tdx->lock);

	if (copy_to_user(argp, &cmd, sizeof(cmd)))
		r = -EFAULT;
	return r;
}

/* ---- TDCALL ------------------------------------------------------------- */

/*
 * TDCALL is 66 0f 01 cc.  The CPUs the TDs run on here have no TDX, so the
 * guest's TDCALL raises #UD, which the vendor code hands to the backend:
 * KVM performs the call on the guest's behalf, the module's leaves on the
 * model, TDG.VP.VMCALL itself.
 */
static const u8 tdx_insn_tdcall[] = { 0x66, 0x0f, 0x01, 0xcc };

/* TDG.VP.VMCALL (GHCI): R10 0 is a standard call, R11 names it. */
#define TDG_VP_VMCALL			0
#define TDVMCALL_MAP_GPA		0x10001ULL
#define TDVMCALL_REPORT_FATAL_ERROR	0x10003ULL
/* ReportFatalError hands user space RAX..R15, in their encoding order. */
#define TDX_FATAL_NR_GPRS		(VCPU_REGS_R15 + 1)
/* TDG.VP.VMCALL's status in R10. */
#define TDVMCALL_STATUS_SUCCESS		0
#define TDVMCALL_STATUS_RETRY		1
#define TDVMCALL_STATUS_INVALID_OPERAND	0x8000000000000000ULL
#define TDVMCALL_STATUS_ALIGN_ERROR	0x8000000000000002ULL
/*
 * MapGPA goes to user space 2 MiB at a time, so that a large range does
 * not keep an interrupt or a signal waiting for all of it.
 */
#define TDX_MAP_GPA_CHUNK		SZ_2M

static void tdx_skip_tdcall(struct kvm_vcpu *vcpu)
{
	kvm_rip_write(vcpu, kvm_rip_read(vcpu) + sizeof(tdx_insn_tdcall));
}

/*
 * TDG.VP.VMCALL<ReportFatalError>: the TD is dead, user space hears of it
 * as upstream reports it: KVM_SYSTEM_EVENT_TDX_FATAL with the 16 GPRs in
 * their encoding order (R12 the error code, R13 the GPA of more data).
 * The guest does not resume from the call.
 */
static int tdx_report_fatal_error(struct kvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	int i;

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_TDX_FATAL;
	run->system_event.ndata = TDX_FATAL_NR_GPRS;
	for (i = 0; i < TDX_FATAL_NR_GPRS; i++)
		run->system_event.data[i] = kvm_register_read_raw(vcpu, i);
	return 0;
}

/*
 * End a TDG.VP.VMCALL: the TDCALL itself worked (RAX), the call's status
 * is in R10.
 */
static int tdx_vmcall_done(struct kvm_vcpu *vcpu, u64 status)
{
	kvm_rax_write(vcpu, TDXM_SUCCESS);
	kvm_r10_write(vcpu, status);
	tdx_skip_tdcall(vcpu);
	return 1;
}

/* The same with R11, the GPA a RETRY resumes at. */
static int tdx_map_gpa_done(struct kvm_vcpu *vcpu, u64 status, u64 gpa)
{
	kvm_r11_write(vcpu, gpa);
	return tdx_vmcall_done(vcpu, status);
}

static int tdx_map_gpa_complete(struct kvm_vcpu *vcpu);

/* Ask user space to convert the next chunk of the MapGPA in progress. */
static int tdx_map_gpa_next(struct kvm_vcpu *vcpu, struct tdx_vp *vp)
{
	u64 gpa = vp->map_gpa_next;
	u64 size = min_t(u64, vp->map_gpa_end - gpa, TDX_MAP_GPA_CHUNK);
	u64 attrs = KVM_MAP_GPA_RANGE_PAGE_SZ_4K;
	int r;

	attrs |= gpa & TDX_SHARED_BIT ? KVM_MAP_GPA_RANGE_DECRYPTED :
					KVM_MAP_GPA_RANGE_ENCRYPTED;
	r = kvm_private_request_conversion(vcpu, gpa & ~TDX_SHARED_BIT,
					   size >> PAGE_SHIFT, attrs,
					   tdx_map_gpa_complete);
	if (r)
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_INVALID_OPERAND, gpa);
	/* What a VMM that does not write the result back says. */
	vcpu->run->hypercall.ret = 0;
	return 0;
}

/*
 * User space answered for one chunk: 0 converted it, -EAGAIN asks the
 * guest to try again from it (RETRY), anything else refuses the range.
 * Between chunks, a pending interrupt or signal ends the call with RETRY
 * at the next chunk, as upstream: the guest goes on from R11.
 */
static int tdx_map_gpa_complete(struct kvm_vcpu *vcpu)
{
	struct tdx_vp *vp = &to_tdx(vcpu->kvm)->vps[vcpu->vcpu_idx];
	u64 ret = vcpu->run->hypercall.ret;

	if (ret == (u64)-EAGAIN)
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_RETRY, vp->map_gpa_next);
	if (ret)
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_INVALID_OPERAND,
					vp->map_gpa_next);

	vp->map_gpa_next += min_t(u64, vp->map_gpa_end - vp->map_gpa_next,
				  TDX_MAP_GPA_CHUNK);
	if (vp->map_gpa_next == vp->map_gpa_end)
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_SUCCESS, 0);
	if (signal_pending(current) || kvm_cpu_has_interrupt(vcpu))
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_RETRY, vp->map_gpa_next);
	return tdx_map_gpa_next(vcpu, vp);
}

/*
 * TDG.VP.VMCALL<MapGPA>: R12 the start (with the shared bit: to shared,
 * without: to private), R13 the size.  The range lies below the GPAW, on
 * one side of the shared bit, and is page aligned.  It reaches user space
 * as KVM_HC_MAP_GPA_RANGE exits with the shared bit stripped, only if user
 * space asked for those (KVM_CAP_EXIT_HYPERCALL); else the guest hears
 * INVALID_OPERAND, as from upstream.
 */
static int tdx_map_gpa(struct kvm_vcpu *vcpu)
{
	struct tdx_vp *vp = &to_tdx(vcpu->kvm)->vps[vcpu->vcpu_idx];
	u64 gpa = kvm_r12_read(vcpu), size = kvm_r13_read(vcpu);
	u64 last = gpa + size - 1;

	if (!(vcpu->kvm->arch.hypercall_exit_enabled & BIT(KVM_HC_MAP_GPA_RANGE)))
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_INVALID_OPERAND, gpa);
	if (!size || last < gpa || last >= BIT_ULL(TDX_GPAW) ||
	    (gpa & TDX_SHARED_BIT) != (last & TDX_SHARED_BIT))
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_INVALID_OPERAND, gpa);
	if (!PAGE_ALIGNED(gpa) || !PAGE_ALIGNED(size))
		return tdx_map_gpa_done(vcpu, TDVMCALL_STATUS_ALIGN_ERROR, gpa);

	vp->map_gpa_next = gpa;
	vp->map_gpa_end = gpa + size;
	return tdx_map_gpa_next(vcpu, vp);
}

static int tdx_vmcall(struct kvm_vcpu *vcpu)
{
	if (!kvm_r10_read(vcpu)) {
		switch (kvm_r11_read(vcpu)) {
		case TDVMCALL_MAP_GPA:
			return tdx_map_gpa(vcpu);
		case TDVMCALL_REPORT_FATAL_ERROR:
			return tdx_report_fatal_error(vcpu);
		}
	}

	/* The call itself worked; what it asked for is unknown. */
	return tdx_vmcall_done(vcpu, TDVMCALL_STATUS_INVALID_OPERAND);
}

/*
 * A private GPA the guest wants to ACCEPT has nothing in the S-EPT: the
 * module exits to KVM as for an EPT violation.  Give the TD the page
 * (PENDING) the way a private fault would, so the retried ACCEPT finds it.
 */
static int tdx_accept_fault(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvm *kvm = vcpu->kvm;
	gfn_t gfn = gpa_to_gfn(gpa);
	struct kvm_memory_slot *slot;
	u8 max_level = PG_LEVEL_4K;
	int max_order, r;
	kvm_pfn_t pfn;

	slot = gfn_to_memslot(kvm, gfn);
	if (!slot || !kvm_slot_can_be_private(slot) || !kvm_mem_is_private(kvm, gfn))
		goto fault_exit;
	r = kvm_gmem_get_pfn(kvm, slot, gfn, &pfn, &max_order);
	if (r)
		goto fault_exit;
	r = kvm_private_prepare_pfn(kvm, slot, pfn, gfn, 0, &max_level);
	kvm_release_pfn_clean(pfn);
	if (r == -EAGAIN)
		return 1;
	if (r)
		goto fault_exit;
	return 1;

fault_exit:
	kvm_prepare_memory_fault_exit(vcpu, gpa, PAGE_SIZE, true);
	return -EFAULT;
}

/*
 * One of the module's TDCALL leaves, on the model: the vCPU is in the TD
 * for the call.  ACCEPT clears the page through the direct map, where the
 * TD's pages are not: map it for the call.
 */
static int tdx_module_call(struct kvm_vcpu *vcpu, struct kvm_tdx *tdx, u64 tdvpr)
{
	struct tdx_model *m = tdx_model_global();
	u64 leaf = kvm_rax_read(vcpu), err, pfn = 0;
	gpa_t gpa = kvm_rcx_read(vcpu) & PAGE_MASK;
	struct tdxm_args a = {
		.rcx	= kvm_rcx_read(vcpu),
		.rdx	= kvm_rdx_read(vcpu),
		.r8	= kvm_r8_read(vcpu),
		.r9	= kvm_r9_read(vcpu),
	};
	bool mapped = false;
	int level, state;

	/*
	 * sept_lock keeps the page the lookup found in the TD, and so off the
	 * allocator, until it is out of the direct map again: a punch's
	 * tdx_reclaim_page() removes pages under it.
	 */
	mutex_lock(&tdx->sept_lock);
	if (leaf == TDXM_TDG_MEM_PAGE_ACCEPT &&
	    !tdx_model_sept_lookup(m, tdx_tdr_pa(tdx), gpa, &pfn,
				   &level, &state) &&
	    state == TDXM_SEPT_PENDING && level == TDXM_LEVEL_4K)
		mapped = tdx_model_map_page(pfn);

	err = tdx_model_vp_enter(m, tdvpr);
	if (!err) {
		err = tdx_model_tdcall(m, tdvpr, leaf, &a);
		tdx_model_vp_exit(m, tdvpr);
	}
	if (mapped)
		tdx_model_unmap_page(pfn);
	mutex_unlock(&tdx->sept_lock);

	if (err == TDXM_TDCALL_EPT_VIOLATION)
		return tdx_accept_fault(vcpu, gpa);
	if (WARN_ON_ONCE(err && !TDXM_STATUS(err)))
		return -EIO;

	kvm_rax_write(vcpu, err);
	if (leaf == TDXM_TDG_VP_INFO && !err) {
		kvm_rcx_write(vcpu, a.rcx);
		kvm_rdx_write(vcpu, a.rdx);
		kvm_r8_write(vcpu, a.r8);
		kvm_r9_write(vcpu, a.r9);
		kvm_r10_write(vcpu, a.r10);
		kvm_r11_write(vcpu, a.r11);
	}
	tdx_skip_tdcall(vcpu);
	return 1;
}

/*
 * The backend's #UD hook: a TDCALL of a running TD's vCPU is the call;
 * anything else (and a TDCALL before FINALIZE) stays a #UD.
 */
static int tdx_emulate_ud(struct kvm_vcpu *vcpu)
{
	struct kvm_tdx *tdx = to_tdx(vcpu->kvm);
	u8 insn[sizeof(tdx_insn_tdcall)];
	struct x86_exception e;
	struct tdx_vp *vp;

	if (!tdx || !READ_ONCE(tdx->finalized) || !is_64_bit_mode(vcpu))
		return -ENOENT;
	vp = &tdx->vps[vcpu->vcpu_idx];
	if (!READ_ONCE(vp->initialized))
		return -ENOENT;
	if (kvm_read_guest_virt(vcpu, kvm_rip_read(vcpu), insn, sizeof(insn), &e) ||
	    memcmp(insn, tdx_insn_tdcall, sizeof(insn)))
		return -ENOENT;

	if (kvm_rax_read(vcpu) == TDG_VP_VMCALL)
		return tdx_vmcall(vcpu);
	return tdx_module_call(vcpu, tdx, page_to_phys(vp->tdvpr));
}

/* ---- The backend -------------------------------------------------------- */

/*
 * A private fault may map only what the S-EPT maps: the page the module
 * mapped at the GPA, as MAPPED, at least as large as the NPT entry.  The
 * S-EPT is the truth the entry is derived from.
 */
static int tdx_map_check(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int level)
{
	struct kvm_tdx *tdx = to_tdx(kvm);
	int sept_level, state;
	u64 sept_pfn;

	if (!READ_ONCE(tdx->finalized) ||
	    tdx_model_sept_lookup(tdx_model_global(), tdx_tdr_pa(tdx), gfn_to_gpa(gfn),
				  &sept_pfn, &sept_level, &state))
		return -EFAULT;
	if (state != TDXM_SEPT_MAPPED || sept_pfn != pfn || sept_level + 1 < level)
		return -EFAULT;
	return 0;
}

/*
 * A private fault after FINALIZE found @pfn, which the TD does not own
 * yet: AUG it (with the S-EPT tables above it) as a PENDING page the
 * guest must ACCEPT before it can use it.  Before FINALIZE pages reach the
 * TD only through INIT_MEM_REGION: user space hears of the fault.  S-EPT
 * leaves are 4 KiB for now (tdx_max_level()).
 */
static int tdx_make_private(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn, int order)
{
	struct kvm_tdx *tdx = to_tdx(kvm);
	gpa_t gpa = gfn_to_gpa(gfn);
	struct tdxm_args a;
	u64 err, hw_error;
	int r;

	/* KVM_EXIT_MEMORY_FAULT comes with EFAULT (api.rst). */
	if (!READ_ONCE(tdx->finalized))
		return -EFAULT;
	if (order)
		return -EBUSY;

	mutex_lock(&tdx->sept_lock);
	r = tdx_sept_populate(tdx, gpa, &hw_error);
	mutex_unlock(&tdx->sept_lock);
	if (r)
		return r == -EIO ? -EFAULT : r;
	r = xa_reserve(&tdx->gfns, pfn, GFP_KERNEL_ACCOUNT);
	if (r)
		return r;

	a = (struct tdxm_args){
		.rcx	= gpa | TDXM_LEVEL_4K,
		.rdx	= tdx_tdr_pa(tdx),
		.r8	= PFN_PHYS(pfn),
	};
	err = tdx_seamcall(TDXM_TDH_MEM_PAGE_AUG, &a);
	if (err) {
		pr_warn_ratelimited("PAGE.AUG of pfn %#llx at %#llx failed: %#llx\n",
				    pfn, gpa, err);
		xa_release(&tdx->gfns, pfn);
		return -EFAULT;
	}
	xa_store(&tdx->gfns, pfn, xa_mk_value(gfn), GFP_KERNEL_ACCOUNT);
	atomic_long_inc(&tdx->nr_private);
	return 0;
}

static int tdx_max_level(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn)
{
	return PG_LEVEL_4K;
}

/*
 * guest_memfd is about to let @pfn go (punch, file release), or its GFN
 * became shared (release_on_shared): out of the TD and back to the host.
 * After a conversion the page stays in the file, and a private fault on
 * the GFN AUGs it again, PENDING: the guest accepts it anew and finds it
 * zeroed, as on the module.  The file holds the VM, so the TD is alive.
 */
static void tdx_reclaim_page(struct kvm *kvm, kvm_pfn_t pfn)
{
	struct kvm_tdx *tdx = to_tdx(kvm);
	void *entry = xa_erase(&tdx->gfns, pfn);

	if (WARN_ON_ONCE(!xa_is_value(entry)))
		return;
	mutex_lock(&tdx->sept_lock);
	tdx_remove_page(tdx, gfn_to_gpa(xa_to_value(entry)), pfn);
	mutex_unlock(&tdx->sept_lock);
	atomic_long_dec(&tdx->nr_private);
}

static bool tdx_state_protected(struct kvm *kvm)
{
	return READ_ONCE(to_tdx(kvm)->finalized);
}

static int tdx_vm_init(struct kvm *kvm)
{
	struct kvm_tdx *tdx;

	tdx = kzalloc(sizeof(*tdx), GFP_KERNEL_ACCOUNT);
	if (!tdx)
		return -ENOMEM;
	tdx->vps = kvcalloc(KVM_MAX_VCPUS, sizeof(*tdx->vps), GFP_KERNEL_ACCOUNT);
	if (!tdx->vps) {
		kfree(tdx);
		return -ENOMEM;
	}
	tdx->kvm = kvm;
	mutex_init(&tdx->lock);
	mutex_init(&tdx->sept_lock);
	INIT_LIST_HEAD(&tdx->sept_pages);
	xa_init(&tdx->gfns);
	kvm->arch.private_state = tdx;
	tdx_audit_vm_add(&tdx->audit, kvm);
	return 0;
}

/*
 * The last reference is gone, so every guest_memfd file of the VM has been
 * released and has taken its pages out of the TD already.
 */
static void tdx_vm_destroy(struct kvm *kvm)
{
	struct kvm_tdx *tdx = to_tdx(kvm);

	if (!tdx)
		return;
	tdx_audit_vm_del(&tdx->audit);
	WARN_ON_ONCE(atomic_long_read(&tdx->nr_private));
	tdx_td_free(tdx);
	if (tdx->sept_spare)
		__free_page(tdx->sept_spare);
	xa_destroy(&tdx->gfns);
	kvm->arch.private_state = NULL;
	kvfree(tdx->vps);
	kfree(tdx);
}

/*
 * For the audit and the attack knob (tdx_audit.c): the TD's TDR, HKID and
 * first vCPU, once KVM_TDX_INIT_VM made it.  From then on they stay until
 * the VM's end, which takes it off the audit's list first.
 */
int tdx_audit_td_get(struct kvm *kvm, struct tdx_audit_td *td)
{
	struct kvm_tdx *tdx = to_tdx(kvm);
	int r = -ENOENT;

	mutex_lock(&tdx->lock);
	if (tdx->initialized) {
		td->tdr_pa = tdx_tdr_pa(tdx);
		td->hkid = tdx->hkid;
		td->tdvpr_pa = tdx->vps[0].initialized ? page_to_phys(tdx->vps[0].tdvpr) : 0;
		td->finalized = tdx->finalized;
		r = 0;
	}
	mutex_unlock(&tdx->lock);
	return r;
}

/*
 * The model is there: it comes up at late_initcall, after a built-in KVM's
 * hardware setup, so ask each time (kvm_private_backend_get() adds the
 * TDP MMU).
 */
static bool tdx_available(void)
{
	return tdx_ready && tdx_model_global() && tdp_enabled;
}

static const struct kvm_private_backend tdx_backend = {
	.name			= "tdx",
	.vm_type		= KVM_X86_TDX_VM,
	.available		= tdx_available,
	.vm_init		= tdx_vm_init,
	.vm_destroy		= tdx_vm_destroy,
	.make_private		= tdx_make_private,
	.max_level		= tdx_max_level,
	.reclaim		= tdx_reclaim_page,
	.release_on_shared	= true,
	.shared_gpa_bit		= TDX_GPAW - 1,
	.map_check		= tdx_map_check,
	.state_protected	= tdx_state_protected,
	.emulate_ud		= tdx_emulate_ud,
	.mem_enc_ioctl		= tdx_mem_enc_ioctl,
	.vcpu_mem_enc_ioctl	= tdx_vcpu_mem_enc_ioctl,
};

/* From KVM's hardware setup: offer VM type 5 while the model is there. */
void tdx_backend_setup(void)
{
	int r;

	tdx_ready = true;
	r = kvm_private_backend_register(&tdx_backend);
	if (r) {
		tdx_ready = false;
		pr_warn("cannot register the TDX backend: %d\n", r);
		return;
	}
	tdx_audit_debugfs_init();
	pr_info("TD guests on the TDX-module MODEL (tests only)\n");
}

void tdx_backend_unsetup(void)
{
	if (!tdx_ready)
		return;
	tdx_audit_debugfs_exit();
	kvm_private_backend_unregister(&tdx_backend);
	tdx_ready = false;
}
