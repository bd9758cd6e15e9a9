// SPDX-License-Identifier: GPL-2.0-only
/*
 * SEV-SNP guests (KVM_X86_SNP_VM) on the SNP firmware model: the
 * private-memory backend of VM type 4.  This is the code that would drive
 * real SNP firmware and the RMP; only the model (asm/snp_model.h) sits
 * behind its calls, so it is built only with the model, in test kernels.
 *
 * Plain SEV and SEV-ES guests (types 2 and 3) are served here too, on the
 * model's SEV firmware commands: see "Plain SEV and SEV-ES guests" below.
 *
 * Per VM: an ASID from the model's SNP range (KVM_SEV_INIT2), a guest
 * context page (KVM_SEV_SNP_LAUNCH_START: GCTX_CREATE, LAUNCH_START,
 * ACTIVATE), measured private pages (KVM_SEV_SNP_LAUNCH_UPDATE) and the
 * end of the launch (KVM_SEV_SNP_LAUNCH_FINISH), with upstream's user ABI
 * and errnos.  At run time: private faults assign pages in the RMP, every
 * private NPT entry is checked against the RMP before KVM installs it, and
 * the guest's PVALIDATE, RMPADJUST and VMGEXIT (GHCB MSR protocol), which
 * the emulator cannot execute, are done here.  Every page made
 * guest-owned in the RMP is recorded by guest_memfd and handed back to
 * snp_reclaim_page() before it leaves the file or becomes host-shared, so
 * no assigned page reaches the page allocator or the host.
 *
 * Locking: kvm->lock serialises the KVM_MEMORY_ENCRYPT_OP commands of a VM
 * and nests outside kvm->slots_lock (LAUNCH_UPDATE) as everywhere in KVM;
 * the model's own locks nest inside everything here.
 * Documentation/virt/kvm/x86/snp-guests.rst describes the design.
 */
#define pr_fmt(fmt) "kvm-snp: " fmt

#include <linux/bitfield.h>
#include <linux/capability.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/snp_model.h>
#include <asm/trapnr.h>

#include "../cpuid.h"
#include "../kvm_cache_regs.h"
#include "../mmu.h"
#include "../x86.h"
#include "../private_backend.h"
#include "svm.h"
#include "snp.h"

/*
 * Policy bits KVM lets a guest ask for, as upstream: API version, SMT,
 * the must-be-one bit, migration agent and debug.  SINGLE_SOCKET (20) is
 * valid but refused, as upstream does.
 */
#define SNP_POLICY_VALID		GENMASK_ULL(20, 0)
#define SNP_POLICY_SINGLE_SOCKET	BIT_ULL(20)
/* GHCB protocol versions KVM implements. */
#define SNP_GHCB_VERSION_MAX		2
/* VMSA features KVM can set for a guest: none with the model. */
#define SNP_VMSA_FEATURES		0ULL
/* The order of a 2 MiB RMP page. */
#define SNP_ORDER_2M			(PMD_SHIFT - PAGE_SHIFT)
/* RMPUPDATE and PSMASH report FAIL_INUSE while the entry is busy; retry. */
#define SNP_RMP_RETRIES			16

struct kvm_snp {
	bool active;			/* KVM_SEV_INIT2 done */
	bool finished;			/* KVM_SEV_SNP_LAUNCH_FINISH done */
	bool vmsa_encrypted;		/* SEV-ES: KVM_SEV_LAUNCH_UPDATE_VMSA done */
	u32 handle;			/* SEV, SEV-ES: from KVM_SEV_LAUNCH_START */
	u32 asid;
	u64 vmsa_features;
	u16 ghcb_version;
	struct page *gctx;		/* guest context, from LAUNCH_START */
	int sev_fd;			/* LAUNCH_START's /dev/sev */
	atomic_long_t nr_private;	/* pages assigned to the guest */
	u64 *ghcb_msr;			/* MSR_AMD64_SEV_ES_GHCB, per vCPU index */
	atomic_long_t nr_vc;		/* #VC injected, for the audit */
	struct kvm *kvm;
	struct list_head link;		/* in snp_vms */
};

/* LAUNCH_UPDATE's arguments for snp_launch_page(). */
struct snp_launch_args {
	struct kvm_snp *snp;
	u8 type;
	int fw_error;
};

static const struct kvm_private_backend snp_backend;
static const struct kvm_private_backend sev_backend;
static const struct kvm_private_backend sev_es_backend;
static bool snp_ready;
/* SEV INIT done too: plain SEV and SEV-ES guests (types 2 and 3) can run. */
static bool sev_ready;
static bool snp_available(void);
static DEFINE_MUTEX(snp_asid_lock);
static DECLARE_BITMAP(snp_asid_used, SEV_MODEL_MAX_ASID + 1);
/*
 * Every SNP VM, for the debugfs audit.  A VM leaves the list in its
 * vm_destroy, so one found under the lock has its struct kvm and its
 * mmu_lock still there, even when its MMU is already torn down.
 */
static LIST_HEAD(snp_vms);
static DEFINE_MUTEX(snp_vms_lock);
static struct dentry *snp_debugfs_dir;

static struct kvm_snp *to_snp(struct kvm *kvm)
{
	return kvm->arch.private_state;
}

static struct snp_model *snp_model(void)
{
	return snp_model_global();
}

/* The SNP state of @kvm, NULL if it is not an SNP VM. */
static struct kvm_snp *snp_of(struct kvm *kvm)
{
	return kvm->arch.private_backend == &snp_backend ? kvm->arch.private_state : NULL;
}

/* The state of an SEV-ES or SNP VM (a VMSA, a GHCB), NULL for others. */
static struct kvm_snp *sev_es_of(struct kvm *kvm)
{
	const struct kvm_private_backend *b = kvm->arch.private_backend;

	return b == &snp_backend || b == &sev_es_backend ? kvm->arch.private_state : NULL;
}

/* The state of a VM of type 2, 3 or 4, NULL for others. */
static struct kvm_snp *sev_of(struct kvm *kvm)
{
	return kvm->arch.private_backend == &sev_backend ? kvm->arch.private_state :
	       sev_es_of(kvm);
}

/* ---- RMP and firmware pages --------------------------------------------- */

static int snp_rmpupdate(u64 pfn, const struct snp_rmpupdate_desc *d)
{
	int i, rc;

	for (i = 0; i < SNP_RMP_RETRIES; i++) {
		rc = snp_model_rmpupdate(snp_model(), PFN_PHYS(pfn), d);
		if (rc != SNP_RMP_FAIL_INUSE)
			break;
		cond_resched();
	}
	return rc;
}

static int snp_psmash(u64 pfn)
{
	int i, rc;

	for (i = 0; i < SNP_RMP_RETRIES; i++) {
		rc = snp_model_psmash(snp_model(), PFN_PHYS(ALIGN_DOWN(pfn, PTRS_PER_PMD)));
		if (rc != SNP_RMP_FAIL_INUSE)
			break;
		cond_resched();
	}
	return rc;
}

static int snp_page_reclaim(u64 pfn, int *fw_err)
{
	struct snp_fw_page_reclaim d = { .paddr = PFN_PHYS(pfn) };

	return snp_model_fw_cmd(snp_model(), SNP_CMD_PAGE_RECLAIM, &d, fw_err);
}

/*
 * Make @pfn hypervisor-owned again, whatever owned it: firmware and
 * Pre-Guest pages (immutable) through PAGE_RECLAIM first, a 4 KiB part of
 * a 2 MiB guest page after PSMASH.  On failure the page must never be
 * reused: take a reference that is never dropped, as upstream leaks such
 * pages.
 */
static int snp_make_shared(u64 pfn)
{
	struct snp_rmpupdate_desc d = {};
	struct snp_rmp_state st;
	int rc, fw_err;

	snp_model_rmpread(snp_model(), pfn, &st);
	if (!st.assigned)
		return 0;
	if (st.immutable) {
		rc = snp_page_reclaim(pfn, &fw_err);
		if (rc)
			goto leak;
	}
	if (st.huge) {
		rc = snp_psmash(pfn);
		if (rc)
			goto leak;
	}
	rc = snp_rmpupdate(pfn, &d);
	if (rc)
		goto leak;
	return 0;

leak:
	pr_warn_ratelimited("pfn %#llx stays assigned (%d), leaking it\n", pfn, rc);
	get_page(pfn_to_page(pfn));
	return -EIO;
}

/* A firmware page: assigned to ASID 0 and immutable, as the AMD-SP wants. */
static struct page *snp_alloc_fw_page(void)
{
	struct snp_rmpupdate_desc d = { .assigned = 1, .immutable = 1 };
	struct page *page;

	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return NULL;
	if (snp_rmpupdate(page_to_pfn(page), &d)) {
		__free_page(page);
		return NULL;
	}
	return page;
}

static void snp_free_fw_page(struct page *page)
{
	if (!snp_make_shared(page_to_pfn(page)))
		__free_page(page);
}

/* ---- ASIDs -------------------------------------------------------------- */

/*
 * An ASID of [@min, @max]: SEV-ES and SNP guests take the ones below the
 * first SEV-only ASID, plain SEV guests the others, as the hardware wants.
 */
static int snp_asid_alloc_range(unsigned int min, unsigned int max)
{
	int asid;

	mutex_lock(&snp_asid_lock);
	asid = find_next_zero_bit(snp_asid_used, max + 1, min);
	if (asid > max)
		asid = -EBUSY;
	else
		__set_bit(asid, snp_asid_used);
	mutex_unlock(&snp_asid_lock);
	return asid;
}

static int snp_asid_alloc(void)
{
	return snp_asid_alloc_range(1, SNP_MODEL_MAX_ASID);
}

static void snp_asid_free(u32 asid)
{
	mutex_lock(&snp_asid_lock);
	__clear_bit(asid, snp_asid_used);
	mutex_unlock(&snp_asid_lock);
}

/*
 * ACTIVATE the guest on its ASID.  A decommissioned guest's ASID needs a
 * DF_FLUSH before reuse; flush lazily, when the firmware asks.
 */
static int snp_activate(struct kvm_snp *snp, int *fw_err)
{
	struct snp_fw_activate d = {
		.gctx_paddr	= page_to_phys(snp->gctx),
		.asid		= snp->asid,
	};
	int r;

	r = snp_model_fw_cmd(snp_model(), SNP_CMD_ACTIVATE, &d, fw_err);
	if (r != -EIO || *fw_err != SNP_FW_DFFLUSH_REQUIRED)
		return r;
	r = snp_model_fw_cmd(snp_model(), SNP_CMD_DF_FLUSH, NULL, fw_err);
	if (r)
		return r;
	return snp_model_fw_cmd(snp_model(), SNP_CMD_ACTIVATE, &d, fw_err);
}

static void snp_decommission(struct kvm_snp *snp)
{
	struct snp_fw_decommission d = { .gctx_paddr = page_to_phys(snp->gctx) };
	int fw_err;

	/* A context the firmware still holds must not be freed. */
	if (snp_model_fw_cmd(snp_model(), SNP_CMD_DECOMMISSION, &d, &fw_err)) {
		pr_warn("DECOMMISSION failed (%#x), leaking the context\n", fw_err);
		get_page(snp->gctx);
	} else {
		snp_free_fw_page(snp->gctx);
	}
	snp->gctx = NULL;
}

/* ---- KVM_MEMORY_ENCRYPT_OP ---------------------------------------------- */

static int snp_init2(struct kvm *kvm, struct kvm_snp *snp, struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_init data;
	int asid;

	if (copy_from_user(&data, u64_to_user_ptr(cmd->data), sizeof(data)))
		return -EFAULT;
	if (kvm->created_vcpus)
		return -EINVAL;
	if (data.flags || (data.vmsa_features & ~SNP_VMSA_FEATURES) ||
	    data.ghcb_version > SNP_GHCB_VERSION_MAX)
		return -EINVAL;

	asid = snp_asid_alloc();
	if (asid < 0)
		return asid;
	snp->asid = asid;
	snp->vmsa_features = data.vmsa_features;
	snp->ghcb_version = data.ghcb_version ?: SNP_GHCB_VERSION_MAX;
	/* Private faults read it without kvm->lock: the ASID first. */
	smp_store_release(&snp->active, true);
	return 0;
}

/*
 * Upstream's KVM issues a guest's firmware commands only for a VMM that
 * holds /dev/sev open: LAUNCH_START's kvm_sev_cmd.sev_fd, kept for the
 * launch commands after it, which ignore their own.  An fd that is not
 * open, or open on any other file, is EBADF, as upstream.
 */
static int snp_check_sev_fd(int fd)
{
	struct fd f = fdget(fd);
	bool sev = snp_model_file_is_sev(f.file);

	fdput(f);
	return sev ? 0 : -EBADF;
}

static int snp_launch_start(struct kvm *kvm, struct kvm_snp *snp, struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_snp_launch_start params;
	struct snp_fw_launch_start start = {};
	struct snp_fw_gctx_create create;
	int r, fw_err;

	if (!snp->active)
		return -ENOTTY;
	if (copy_from_user(&params, u64_to_user_ptr(cmd->data), sizeof(params)))
		return -EFAULT;
	/* One launch per VM. */
	if (snp->gctx || snp->finished)
		return -EINVAL;
	if (params.flags)
		return -EINVAL;
	if ((params.policy & ~SNP_POLICY_VALID) ||
	    !(params.policy & SNP_POLICY_RSVD_MBO) ||
	    (params.policy & SNP_POLICY_SINGLE_SOCKET))
		return -EINVAL;
	r = snp_check_sev_fd(cmd->sev_fd);
	if (r)
		return r;

	snp->gctx = snp_alloc_fw_page();
	if (!snp->gctx)
		return -ENOMEM;
	create.gctx_paddr = page_to_phys(snp->gctx);
	r = snp_model_fw_cmd(snp_model(), SNP_CMD_GCTX_CREATE, &create, &fw_err);
	if (r)
		goto err_free;

	start.gctx_paddr = create.gctx_paddr;
	start.policy = params.policy;
	memcpy(start.gosvw, params.gosvw, sizeof(start.gosvw));
	r = snp_model_fw_cmd(snp_model(), SNP_CMD_LAUNCH_START, &start, &fw_err);
	if (r)
		goto err_decommission;
	r = snp_activate(snp, &fw_err);
	if (r)
		goto err_decommission;
	snp->sev_fd = cmd->sev_fd;
	return 0;

err_decommission:
	cmd->error = fw_err;
	snp_decommission(snp);
	return r;
err_free:
	cmd->error = fw_err;
	snp_free_fw_page(snp->gctx);
	snp->gctx = NULL;
	return r;
}

/*
 * One page of LAUNCH_UPDATE, under guest_memfd's lock, its content already
 * copied: Pre-Guest in the RMP (the guest's ASID and GPA, immutable), then
 * measured.  A page already assigned is -EEXIST, as upstream.
 */
static int snp_launch_page(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int order,
			   void *opaque)
{
	struct snp_launch_args *args = opaque;
	struct kvm_snp *snp = args->snp;
	struct snp_rmpupdate_desc d = {
		.gpa		= gfn_to_gpa(gfn),
		.assigned	= 1,
		.immutable	= 1,
		.asid		= snp->asid,
	};
	struct snp_fw_launch_update update = {
		.gctx_paddr	= page_to_phys(snp->gctx),
		.page_type	= args->type,
		.address	= PFN_PHYS(pfn),
	};
	struct snp_rmp_state st;
	int r;

	snp_model_rmpread(snp_model(), pfn, &st);
	if (st.assigned)
		return -EEXIST;
	if (snp_rmpupdate(pfn, &d))
		return -EIO;

	r = snp_model_fw_cmd(snp_model(), SNP_CMD_LAUNCH_UPDATE, &update, &args->fw_error);
	if (r) {
		snp_make_shared(pfn);
		return r;
	}
	atomic_long_inc(&snp->nr_private);
	return 0;
}

static bool snp_page_type_valid(u8 type)
{
	switch (type) {
	case KVM_SEV_SNP_PAGE_TYPE_NORMAL:
	case KVM_SEV_SNP_PAGE_TYPE_ZERO:
	case KVM_SEV_SNP_PAGE_TYPE_UNMEASURED:
	case KVM_SEV_SNP_PAGE_TYPE_SECRETS:
	case KVM_SEV_SNP_PAGE_TYPE_CPUID:
		return true;
	default:
		return false;
	}
}

static int snp_launch_update(struct kvm *kvm, struct kvm_snp *snp, struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_snp_launch_update params;
	struct snp_launch_args args = { .snp = snp };
	void __user *argp = u64_to_user_ptr(cmd->data);
	const void __user *src;
	long count;
	int r;

	if (!snp->active || !snp->gctx || snp->finished)
		return -EINVAL;
	if (copy_from_user(&params, argp, sizeof(params)))
		return -EFAULT;
	if (!params.len || !PAGE_ALIGNED(params.len) || params.flags ||
	    !snp_page_type_valid(params.type))
		return -EINVAL;
	/* ZERO pages take no source; the others whole pages of it. */
	src = params.type == KVM_SEV_SNP_PAGE_TYPE_ZERO ? NULL :
	      u64_to_user_ptr(params.uaddr);
	if (src && !PAGE_ALIGNED(params.uaddr))
		return -EINVAL;
	r = snp_check_sev_fd(snp->sev_fd);
	if (r)
		return r;
	args.type = params.type;

	mutex_lock(&kvm->slots_lock);
	count = kvm_gmem_populate(kvm, params.gfn_start, src,
				  params.len >> PAGE_SHIFT, snp_launch_page, &args);
	mutex_unlock(&kvm->slots_lock);
	if (count < 0) {
		cmd->error = args.fw_error;
		return count;
	}

	/* Possibly short: say where the next call has to go on. */
	params.gfn_start += count;
	params.len -= count << PAGE_SHIFT;
	if (src)
		params.uaddr += count << PAGE_SHIFT;
	return copy_to_user(argp, &params, sizeof(params)) ? -EFAULT : 0;
}

static int snp_launch_finish(struct kvm *kvm, struct kvm_snp *snp, struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_snp_launch_finish params;
	struct snp_fw_launch_finish finish = {};
	int r, fw_err;

	if (!snp->active)
		return -ENOTTY;
	if (!snp->gctx || snp->finished)
		return -EINVAL;
	if (copy_from_user(&params, u64_to_user_ptr(cmd->data), sizeof(params)))
		return -EFAULT;
	if (params.flags)
		return -EINVAL;
	r = snp_check_sev_fd(snp->sev_fd);
	if (r)
		return r;

	finish.gctx_paddr = page_to_phys(snp->gctx);
	/*
	 * ID blocks are not copied in: the model refuses id_block_en and
	 * auth_key_en (UNSUPPORTED), which reaches user space as the
	 * firmware's error.
	 */
	finish.id_block_en = !!params.id_block_en;
	finish.auth_key_en = !!params.auth_key_en;
	finish.vcek_disabled = !!params.vcek_disabled;
	memcpy(finish.host_data, params.host_data, sizeof(finish.host_data));
	r = snp_model_fw_cmd(snp_model(), SNP_CMD_LAUNCH_FINISH, &finish, &fw_err);
	if (r) {
		cmd->error = fw_err;
		return r;
	}
	WRITE_ONCE(snp->finished, true);
	return 0;
}

/*
 * Upstream's errnos for a command an SNP VM does not take before INIT2:
 * the legacy inits EINVAL (the VM type is not the default one), the other
 * SEV commands ENOTTY (no SEV guest yet), unknown ones EINVAL.
 */
static int snp_unknown_cmd(u32 id)
{
	if (id == KVM_SEV_INIT || id == KVM_SEV_ES_INIT)
		return -EINVAL;
	return id <= KVM_SEV_SEND_CANCEL ? -ENOTTY : -EINVAL;
}

/*
 * KVM_MEMORY_ENCRYPT_OP of a VM of type 2, 3 or 4: @dispatch runs the
 * command under kvm->lock, and kvm_sev_cmd goes back to user space with
 * the firmware's status in error, 0 where the firmware was not asked.
 */
static int sev_cmd_ioctl(struct kvm *kvm, void __user *argp,
			 int (*dispatch)(struct kvm *kvm, struct kvm_snp *sev,
					 struct kvm_sev_cmd *cmd))
{
	struct kvm_sev_cmd cmd;
	int r;

	/* NULL asks whether the commands are there at all. */
	if (!argp)
		return 0;
	if (copy_from_user(&cmd, argp, sizeof(cmd)))
		return -EFAULT;
	cmd.error = 0;

	mutex_lock(&kvm->lock);
	r = dispatch(kvm, to_snp(kvm), &cmd);
	mutex_unlock(&kvm->lock);

	if (copy_to_user(argp, &cmd, sizeof(cmd)))
		r = -EFAULT;
	return r;
}

static int snp_dispatch(struct kvm *kvm, struct kvm_snp *snp, struct kvm_sev_cmd *cmd)
{
	lockdep_assert_held(&kvm->lock);
	/* Once an SNP guest, only the SNP commands, INIT2 included (upstream). */
	if (snp->active && cmd->id < KVM_SEV_SNP_LAUNCH_START)
		return -EPERM;
	switch (cmd->id) {
	case KVM_SEV_INIT2:
		return snp_init2(kvm, snp, cmd);
	case KVM_SEV_SNP_LAUNCH_START:
		return snp_launch_start(kvm, snp, cmd);
	case KVM_SEV_SNP_LAUNCH_UPDATE:
		return snp_launch_update(kvm, snp, cmd);
	case KVM_SEV_SNP_LAUNCH_FINISH:
		return snp_launch_finish(kvm, snp, cmd);
	default:
		return snp_unknown_cmd(cmd->id);
	}
}

static int snp_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	return sev_cmd_ioctl(kvm, argp, snp_dispatch);
}

/* ---- Plain SEV and SEV-ES guests (VM types 2 and 3) --------------------- */

/*
 * Upstream's clients create these before they try SNP.  Their memory is
 * ordinary memslot memory, which the firmware encrypts in place at
 * LAUNCH_UPDATE_DATA (the model measures it and leaves it as it is): no
 * guest_memfd, no RMP.  The commands are upstream's, on the SEV firmware
 * ABI's commands of the model, with upstream's errnos: EIO and the
 * firmware's status in kvm_sev_cmd.error for what the firmware refuses,
 * commands out of order included.
 */

/* Upstream's cap on the blobs KVM copies for the firmware. */
#define SEV_BLOB_MAX_SIZE		0x4000

static bool sev_es_vm(struct kvm *kvm)
{
	return kvm->arch.private_backend == &sev_es_backend;
}

static int sev_fw_cmd(int id, void *data, struct kvm_sev_cmd *cmd)
{
	int fw_err = 0, r;

	r = snp_model_fw_cmd(snp_model(), id, data, &fw_err);
	if (r)
		cmd->error = fw_err;
	return r;
}

/*
 * The launch commands after LAUNCH_START use the /dev/sev it was given.
 * Before it the firmware knows no guest of this VM: it answers for handle
 * 0 (INVALID_GUEST).
 */
static int sev_check_fd(struct kvm_snp *sev)
{
	return sev->handle ? snp_check_sev_fd(sev->sev_fd) : 0;
}

static int sev_init2(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	bool es = sev_es_vm(kvm);
	struct kvm_sev_init data;
	int asid;

	if (copy_from_user(&data, u64_to_user_ptr(cmd->data), sizeof(data)))
		return -EFAULT;
	if (kvm->created_vcpus)
		return -EINVAL;
	/* VMSA features and GHCB versions only for guests with a VMSA. */
	if (data.flags || (data.vmsa_features & ~(es ? SNP_VMSA_FEATURES : 0)) ||
	    data.ghcb_version > SNP_GHCB_VERSION_MAX || (!es && data.ghcb_version))
		return -EINVAL;
	if (sev->active)
		return -EINVAL;

	asid = es ? snp_asid_alloc() :
	       snp_asid_alloc_range(SEV_MODEL_MIN_SEV_ASID, SEV_MODEL_MAX_ASID);
	if (asid < 0)
		return asid;
	sev->asid = asid;
	sev->vmsa_features = data.vmsa_features;
	sev->ghcb_version = es ? data.ghcb_version ?: SNP_GHCB_VERSION_MAX : 0;
	/* The SEV status MSR reads it without kvm->lock. */
	smp_store_release(&sev->active, true);
	return 0;
}

/* ACTIVATE, with the DF_FLUSH a reused ASID needs. */
static int sev_activate(struct kvm_snp *sev, u32 handle, struct kvm_sev_cmd *cmd)
{
	struct sev_fw_activate d = { .handle = handle, .asid = sev->asid };
	int r, fw_err = 0;

	r = snp_model_fw_cmd(snp_model(), SEV_CMD_ACTIVATE, &d, &fw_err);
	if (r == -EIO && fw_err == SNP_FW_DFFLUSH_REQUIRED) {
		r = snp_model_fw_cmd(snp_model(), SNP_CMD_DF_FLUSH, NULL, &fw_err);
		if (!r)
			r = snp_model_fw_cmd(snp_model(), SEV_CMD_ACTIVATE, &d, &fw_err);
	}
	if (r)
		cmd->error = fw_err;
	return r;
}

/* DEACTIVATE, then DECOMMISSION: the handle and the guest's key are gone. */
static void sev_decommission(u32 handle)
{
	struct sev_fw_handle d = { .handle = handle };
	int fw_err;

	snp_model_fw_cmd(snp_model(), SEV_CMD_DEACTIVATE, &d, &fw_err);
	if (snp_model_fw_cmd(snp_model(), SEV_CMD_DECOMMISSION, &d, &fw_err))
		pr_warn("DECOMMISSION of handle %u failed (%#x)\n", handle, fw_err);
}

/*
 * A new guest context with the user's policy (the firmware checks it),
 * bound to the VM's ASID.  A second LAUNCH_START makes a second context,
 * which cannot have the ASID: the firmware says ASID_OWNED, as upstream
 * would hear.  The DH exchange is not modelled (the firmware refuses the
 * blobs: UNSUPPORTED).
 */
static int sev_launch_start(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	void __user *argp = u64_to_user_ptr(cmd->data);
	struct kvm_sev_launch_start params;
	struct sev_fw_launch_start start = {};
	int r;

	if (!sev->active)
		return -ENOTTY;
	if (copy_from_user(&params, argp, sizeof(params)))
		return -EFAULT;
	r = snp_check_sev_fd(cmd->sev_fd);
	if (r)
		return r;

	start.handle = params.handle;
	start.policy = params.policy;
	start.dh_cert_address = params.dh_uaddr;
	start.dh_cert_len = params.dh_len;
	start.session_address = params.session_uaddr;
	start.session_len = params.session_len;
	r = sev_fw_cmd(SEV_CMD_LAUNCH_START, &start, cmd);
	if (r)
		return r;
	r = sev_activate(sev, start.handle, cmd);
	if (r)
		goto err_decommission;

	params.handle = start.handle;
	if (copy_to_user(argp, &params, sizeof(params))) {
		r = -EFAULT;
		goto err_decommission;
	}
	sev->handle = start.handle;
	sev->sev_fd = cmd->sev_fd;
	return 0;

err_decommission:
	sev_decommission(start.handle);
	return r;
}

/*
 * Pin the user's pages and hand them to the firmware a page at a time;
 * the firmware checks alignment (16 bytes) and the guest's state.
 */
static int sev_launch_update_data(struct kvm *kvm, struct kvm_snp *sev,
				  struct kvm_sev_cmd *cmd)
{
	struct kvm_sev_launch_update_data params;
	struct sev_fw_launch_data d = { .handle = sev->handle };
	unsigned long first, last, npages, i;
	struct page **pages;
	u64 uaddr, end;
	int r = 0, pinned;

	if (!sev->active)
		return -ENOTTY;
	if (copy_from_user(&params, u64_to_user_ptr(cmd->data), sizeof(params)))
		return -EFAULT;
	if (!params.len || params.uaddr + params.len < params.uaddr)
		return -EINVAL;
	r = sev_check_fd(sev);
	if (r)
		return r;

	first = params.uaddr >> PAGE_SHIFT;
	last = (params.uaddr + params.len - 1) >> PAGE_SHIFT;
	npages = last - first + 1;
	/* Pinned memory is locked memory, as upstream counts it. */
	if (npages > INT_MAX)
		return -EINVAL;
	if (npages > (rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT) && !capable(CAP_IPC_LOCK))
		return -ENOMEM;
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return -ENOMEM;
	pinned = pin_user_pages_fast(params.uaddr & PAGE_MASK, npages,
				     FOLL_WRITE | FOLL_LONGTERM, pages);
	/* Whatever went wrong, ENOMEM, as upstream. */
	if (pinned != (int)npages) {
		r = -ENOMEM;
		goto out_unpin;
	}

	uaddr = params.uaddr;
	end = params.uaddr + params.len;
	for (i = 0; i < npages && !r; i++) {
		u64 next = min_t(u64, ALIGN_DOWN(uaddr, PAGE_SIZE) + PAGE_SIZE, end);

		d.address = page_to_phys(pages[i]) + offset_in_page(uaddr);
		d.len = next - uaddr;
		r = sev_fw_cmd(SEV_CMD_LAUNCH_UPDATE_DATA, &d, cmd);
		uaddr = next;
	}

out_unpin:
	if (pinned > 0)
		unpin_user_pages(pages, pinned);
	kvfree(pages);
	return r;
}

/*
 * What the firmware measures as @vcpu's VMSA: KVM's save area with the
 * registers KVM caches outside it.  (It is not the hardware's VMSA layout,
 * which 6.1 knows only for its own SEV-ES code.)
 */
static void sev_fill_vmsa(struct kvm_vcpu *vcpu, void *va)
{
	struct vmcb_save_area *save = va;

	memcpy(save, &to_svm(vcpu)->vmcb->save, sizeof(*save));
	save->rip = kvm_rip_read(vcpu);
	save->rsp = kvm_rsp_read(vcpu);
	save->rax = kvm_rax_read(vcpu);
}

/*
 * Every vCPU's register state is measured into the launch digest and is
 * the guest's from then on: the register ioctls fail, as upstream's do for
 * a vCPU whose VMSA is encrypted.  Once only.
 */
static int sev_launch_update_vmsa(struct kvm *kvm, struct kvm_snp *sev,
				  struct kvm_sev_cmd *cmd)
{
	struct sev_fw_launch_data d = { .handle = sev->handle, .len = PAGE_SIZE };
	struct kvm_vcpu *vcpu;
	struct page *page;
	unsigned long i;
	int r = 0;

	if (!sev->active || !sev_es_vm(kvm))
		return -ENOTTY;
	if (sev->vmsa_encrypted)
		return -EINVAL;
	r = sev_check_fd(sev);
	if (r)
		return r;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	d.address = page_to_phys(page);

	kvm_for_each_vcpu(i, vcpu, kvm) {
		r = mutex_lock_killable(&vcpu->mutex);
		if (r)
			break;
		sev_fill_vmsa(vcpu, page_address(page));
		r = sev_fw_cmd(SEV_CMD_LAUNCH_UPDATE_VMSA, &d, cmd);
		mutex_unlock(&vcpu->mutex);
		if (r)
			break;
		/* Protected from the first one on, as upstream per vCPU. */
		WRITE_ONCE(sev->vmsa_encrypted, true);
	}
	__free_page(page);
	return r;
}

/*
 * The measurement blob, or with len 0 its size: the firmware answers
 * INVALID_LEN with the length it needs, which user space gets in len (and
 * EIO), as upstream.
 */
static int sev_launch_measure(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	void __user *argp = u64_to_user_ptr(cmd->data);
	struct sev_fw_launch_data d = { .handle = sev->handle };
	struct kvm_sev_launch_measure params;
	void __user *p;
	void *blob = NULL;
	int r;

	if (!sev->active)
		return -ENOTTY;
	if (copy_from_user(&params, argp, sizeof(params)))
		return -EFAULT;
	p = u64_to_user_ptr(params.uaddr);
	if (params.len && p) {
		if (params.len > SEV_BLOB_MAX_SIZE)
			return -EINVAL;
		blob = kzalloc(params.len, GFP_KERNEL_ACCOUNT);
		if (!blob)
			return -ENOMEM;
		d.address = __pa(blob);
		d.len = params.len;
	}
	r = sev_check_fd(sev);
	if (r)
		goto out;

	r = sev_fw_cmd(SEV_CMD_LAUNCH_MEASURE, &d, cmd);
	/* A size query: the firmware said how much it needs. */
	if (!params.len)
		goto done;
	if (r)
		goto out;
	if (blob && copy_to_user(p, blob, params.len)) {
		r = -EFAULT;
		goto out;
	}
done:
	params.len = d.len;
	if (copy_to_user(argp, &params, sizeof(params)))
		r = -EFAULT;
out:
	kfree(blob);
	return r;
}

static int sev_guest_status(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	struct sev_fw_guest_status d = { .handle = sev->handle };
	struct kvm_sev_guest_status params = {};
	int r;

	if (!sev->active)
		return -ENOTTY;
	r = sev_check_fd(sev) ?: sev_fw_cmd(SEV_CMD_GUEST_STATUS, &d, cmd);
	if (r)
		return r;
	params.handle = sev->handle;
	params.policy = d.policy;
	params.state = d.state;
	if (copy_to_user(u64_to_user_ptr(cmd->data), &params, sizeof(params)))
		return -EFAULT;
	return 0;
}

static int sev_launch_finish(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	struct sev_fw_handle d = { .handle = sev->handle };

	if (!sev->active)
		return -ENOTTY;
	return sev_check_fd(sev) ?: sev_fw_cmd(SEV_CMD_LAUNCH_FINISH, &d, cmd);
}

/*
 * KVM_MEMORY_ENCRYPT_OP of a type 2 or 3 VM.  Upstream's errnos: the
 * legacy inits are EINVAL on these types, the SNP commands ENOTTY (not an
 * SNP guest), unknown commands EINVAL.  The SEV commands the model does
 * not implement (secrets, debug, migration) are ENOTTY.
 */
static int sev_dispatch(struct kvm *kvm, struct kvm_snp *sev, struct kvm_sev_cmd *cmd)
{
	lockdep_assert_held(&kvm->lock);
	switch (cmd->id) {
	case KVM_SEV_INIT:
	case KVM_SEV_ES_INIT:
		return -EINVAL;
	case KVM_SEV_INIT2:
		return sev_init2(kvm, sev, cmd);
	case KVM_SEV_LAUNCH_START:
		return sev_launch_start(kvm, sev, cmd);
	case KVM_SEV_LAUNCH_UPDATE_DATA:
		return sev_launch_update_data(kvm, sev, cmd);
	case KVM_SEV_LAUNCH_UPDATE_VMSA:
		return sev_launch_update_vmsa(kvm, sev, cmd);
	case KVM_SEV_LAUNCH_MEASURE:
		return sev_launch_measure(kvm, sev, cmd);
	case KVM_SEV_GUEST_STATUS:
		return sev_guest_status(kvm, sev, cmd);
	case KVM_SEV_LAUNCH_FINISH:
		return sev_launch_finish(kvm, sev, cmd);
	default:
		return cmd->id < KVM_SEV_NR_MAX ? -ENOTTY : -EINVAL;
	}
}

static int sev_legacy_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	return sev_cmd_ioctl(kvm, argp, sev_dispatch);
}

/**
 * sev_other_vm_mem_enc_ioctl - KVM_MEMORY_ENCRYPT_OP of a type 0 or 1 VM
 * @kvm: the VM, of a type without SEV commands
 * @argp: the user's struct kvm_sev_cmd
 *
 * While the model offers SEV, upstream's clients probe the SEV commands
 * on any VM: NULL says they exist; KVM_SEV_INIT2 is EINVAL (wrong VM
 * type), KVM_SEV_INIT and KVM_SEV_ES_INIT too on a type 1 VM; every other
 * known command is ENOTTY (no SEV guest; the legacy inits, which would
 * make a default VM one upstream, are not offered), unknown ones EINVAL.
 * kvm_sev_cmd.error is left as it came.
 *
 * Return: as above, or -ENOENT without the model: KVM's own handling.
 */
int sev_other_vm_mem_enc_ioctl(struct kvm *kvm, void __user *argp)
{
	struct kvm_sev_cmd cmd;

	if (!sev_ready || !snp_available())
		return -ENOENT;
	if (!argp)
		return 0;
	if (copy_from_user(&cmd, argp, sizeof(cmd)))
		return -EFAULT;
	switch (cmd.id) {
	case KVM_SEV_INIT2:
		return -EINVAL;
	case KVM_SEV_INIT:
	case KVM_SEV_ES_INIT:
		return kvm->arch.vm_type == KVM_X86_DEFAULT_VM ? -ENOTTY : -EINVAL;
	default:
		return cmd.id < KVM_SEV_NR_MAX ? -ENOTTY : -EINVAL;
	}
}

/* After LAUNCH_UPDATE_VMSA an SEV-ES guest's registers are its own. */
static bool sev_state_protected(struct kvm *kvm)
{
	struct kvm_snp *sev = to_snp(kvm);

	return READ_ONCE(sev->vmsa_encrypted);
}

/* ---- The guest's instructions and the GHCB MSR protocol ----------------- */

/*
 * QEMU's TCG has no PVALIDATE or RMPADJUST and raises #UD for them;
 * VMGEXIT (REP VMMCALL) arrives as #UD or as a VMMCALL exit, depending on
 * how the emulator treats VMMCALL.  An SNP VM takes both exits, decodes
 * the instruction at RIP and does what the hardware would.  Everything
 * else takes KVM's usual path: no other #UD is swallowed.
 */
#define SNP_INSN_LEN		4
static const u8 snp_insn_pvalidate[SNP_INSN_LEN] = { 0xf2, 0x0f, 0x01, 0xff };
static const u8 snp_insn_rmpadjust[SNP_INSN_LEN] = { 0xf3, 0x0f, 0x01, 0xfe };
static const u8 snp_insn_vmgexit[SNP_INSN_LEN] = { 0xf3, 0x0f, 0x01, 0xd9 };

/*
 * The GHCB MSR protocol's fields beyond asm/sev-common.h's: the page-state
 * change request's GFN and operation, and a failed response.
 */
#define SNP_PSC_MSR_GFN			GENMASK_ULL(51, 12)
#define SNP_PSC_MSR_OP			GENMASK_ULL(55, 52)
#define SNP_PSC_MSR_RESP_ERROR		(BIT_ULL(32) | GHCB_MSR_PSC_RESP)
/* Where AMD's EPYC parts put the C-bit; the model encrypts nothing. */
#define SNP_CBIT			47

/* Whether @kvm is an SEV-ES or SNP VM, whose vCPUs' GHCB MSR KVM intercepts. */
bool snp_vm(struct kvm *kvm)
{
	return sev_es_of(kvm);
}

static u64 *snp_ghcb_msr(struct kvm_snp *snp, struct kvm_vcpu *vcpu)
{
	return &snp->ghcb_msr[vcpu->vcpu_idx];
}

/**
 * snp_ghcb_msr_access - MSR_AMD64_SEV_ES_GHCB of an SEV-ES or SNP VM's vCPU
 * @vcpu: the vCPU
 * @data: the value to write, or where to read it to
 * @write: a WRMSR
 *
 * Return: 0, or -ENOENT if @vcpu is not an SEV-ES or SNP guest's (the MSR
 * is not there).
 */
int snp_ghcb_msr_access(struct kvm_vcpu *vcpu, u64 *data, bool write)
{
	struct kvm_snp *snp = sev_es_of(vcpu->kvm);

	if (!snp)
		return -ENOENT;
	if (write)
		*snp_ghcb_msr(snp, vcpu) = *data;
	else
		*data = *snp_ghcb_msr(snp, vcpu);
	return 0;
}

/**
 * snp_sev_status - MSR_AMD64_SEV (SEV_STATUS) of an SEV, SEV-ES or SNP guest
 * @vcpu: the vCPU
 * @data: where to read it to
 *
 * What a guest reads to learn what it is, once KVM_SEV_INIT2 made the VM
 * one: SEV active; SEV-ES too for type 3; SNP too for type 4.  Read-only,
 * as on the hardware: a write is not taken here, so it gets #GP.
 *
 * Return: 0, or -ENOENT if @vcpu's VM is none of them (yet).
 */
int snp_sev_status(struct kvm_vcpu *vcpu, u64 *data)
{
	struct kvm_snp *sev = sev_of(vcpu->kvm);

	/* Pairs with INIT2's release. */
	if (!sev || !smp_load_acquire(&sev->active))
		return -ENOENT;
	*data = MSR_AMD64_SEV_ENABLED;
	if (sev_es_of(vcpu->kvm))
		*data |= MSR_AMD64_SEV_ES_ENABLED;
	if (snp_of(vcpu->kvm))
		*data |= MSR_AMD64_SEV_SNP_ENABLED;
	return 0;
}

/**
 * snp_dev_get_attr - the KVM_X86_GRP_SEV attributes of /dev/kvm
 * @group: the attribute group
 * @attr: the attribute
 * @val: its value
 *
 * How upstream's clients learn what KVM_SEV_INIT2 and LAUNCH_START take:
 * the VMSA features (none with the model) and the SNP policy bits.
 *
 * Return: 0, or -ENXIO for an attribute that is not there (no SNP).
 */
int snp_dev_get_attr(u32 group, u64 attr, u64 *val)
{
	if (group != KVM_X86_GRP_SEV || !snp_available())
		return -ENXIO;
	switch (attr) {
	case KVM_X86_SEV_VMSA_FEATURES:
		*val = SNP_VMSA_FEATURES;
		return 0;
	case KVM_X86_SNP_POLICY_BITS:
		*val = SNP_POLICY_VALID & ~SNP_POLICY_SINGLE_SOCKET;
		return 0;
	default:
		return -ENXIO;
	}
}

/**
 * snp_set_cpu_caps - CPUID 0x8000001F for clients of the SNP backend
 *
 * Upstream's VMMs and guests find SEV, SEV-ES and SNP, the C-bit and the
 * ASID ranges in KVM_GET_SUPPORTED_CPUID's 0x8000001F.  The CPU under the
 * model reports none of them: report what the model runs.  The C-bit is
 * where AMD's EPYC parts put it; no physical address bits are reduced
 * (EBX[11:6] stays 0, as upstream reports the reduced MAXPHYADDR in
 * 0x80000008 instead).  The model's ASIDs below SEV_MODEL_MIN_SEV_ASID
 * are SEV-ES/SNP ones, the others up to SEV_MODEL_MAX_ASID for SEV-only
 * guests (EDX: the first of those, ECX: the last ASID).
 */
void __init snp_set_cpu_caps(void)
{
	if (!snp_available())
		return;
	kvm_cpu_cap_set(X86_FEATURE_SEV);
	kvm_cpu_cap_set(X86_FEATURE_SEV_ES);
	kvm_cpu_cap_set(X86_FEATURE_SEV_SNP);
	kvm_caps.sev_cbit = SNP_CBIT;
	kvm_caps.sev_nr_asids = SEV_MODEL_MAX_ASID;
	kvm_caps.sev_min_asid = SEV_MODEL_MIN_SEV_ASID;
}

static void snp_skip_insn(struct kvm_vcpu *vcpu)
{
	kvm_rip_write(vcpu, kvm_rip_read(vcpu) + SNP_INSN_LEN);
}

/* User space answered the page-state change: so does the GHCB MSR. */
static int snp_complete_psc_msr(struct kvm_vcpu *vcpu)
{
	struct kvm_snp *snp = snp_of(vcpu->kvm);

	*snp_ghcb_msr(snp, vcpu) = vcpu->run->hypercall.ret ?
				   SNP_PSC_MSR_RESP_ERROR : GHCB_MSR_PSC_RESP;
	return 1;
}

/*
 * VMGEXIT with the GHCB MSR protocol: SEV information, a page-state
 * change (SNP only; to user space as KVM_HC_MAP_GPA_RANGE, as upstream)
 * and termination (KVM_EXIT_SYSTEM_EVENT), for SEV-ES and SNP guests.
 * Other requests leave the MSR as it is, as upstream.
 */
static int snp_vmgexit(struct kvm_vcpu *vcpu, struct kvm_snp *snp)
{
	u64 *msr = snp_ghcb_msr(snp, vcpu), val = *msr;
	u64 gpa, op;
	int r;

	snp_skip_insn(vcpu);
	switch (GHCB_MSR_INFO(val)) {
	case GHCB_MSR_SEV_INFO_REQ:
		*msr = GHCB_MSR_SEV_INFO((u64)snp->ghcb_version, GHCB_VERSION_MIN,
					 SNP_CBIT);
		return 1;
	case GHCB_MSR_PSC_REQ:
		/* SEV-ES guests have no private pages to convert. */
		if (!snp_of(vcpu->kvm))
			return 1;
		gpa = val & SNP_PSC_MSR_GFN;
		op = FIELD_GET(SNP_PSC_MSR_OP, val);
		if (op != SNP_PAGE_STATE_PRIVATE && op != SNP_PAGE_STATE_SHARED) {
			*msr = SNP_PSC_MSR_RESP_ERROR;
			return 1;
		}
		r = kvm_private_request_conversion(vcpu, gpa, 1,
						   KVM_MAP_GPA_RANGE_PAGE_SZ_4K |
						   (op == SNP_PAGE_STATE_PRIVATE ?
						    KVM_MAP_GPA_RANGE_ENCRYPTED :
						    KVM_MAP_GPA_RANGE_DECRYPTED),
						   snp_complete_psc_msr);
		if (r) {
			*msr = SNP_PSC_MSR_RESP_ERROR;
			return 1;
		}
		return 0;
	case GHCB_MSR_TERM_REQ:
		vcpu->run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
		vcpu->run->system_event.type = KVM_SYSTEM_EVENT_SEV_TERM;
		vcpu->run->system_event.ndata = 1;
		vcpu->run->system_event.data[0] = val;
		return 0;
	default:
		return 1;
	}
}

/*
 * The page a PVALIDATE or RMPADJUST names, by its guest virtual address in
 * RAX: its GPA and, if guest_memfd has one, its pfn (0 otherwise).
 */
static int snp_insn_page(struct kvm_vcpu *vcpu, gpa_t *gpa, kvm_pfn_t *pfn)
{
	struct kvm_memory_slot *slot;
	struct x86_exception e;
	int order;

	*gpa = kvm_mmu_gva_to_gpa_read(vcpu, kvm_rax_read(vcpu) & PAGE_MASK, &e);
	if (*gpa == INVALID_GPA) {
		kvm_inject_emulated_page_fault(vcpu, &e);
		return -EFAULT;
	}
	*pfn = 0;
	slot = gfn_to_memslot(vcpu->kvm, gpa_to_gfn(*gpa));
	if (slot && kvm_slot_can_be_private(slot) &&
	    kvm_mem_is_private(vcpu->kvm, gpa_to_gfn(*gpa)) &&
	    !kvm_gmem_get_pfn(vcpu->kvm, slot, gpa_to_gfn(*gpa), pfn, &order))
		kvm_release_pfn_clean(*pfn);
	return 0;
}

/*
 * Whether a private access to @gpa raises #VC (page not validated) on
 * the hardware: the RMP entry of the page guest_memfd has there is this
 * guest's at @gpa, of the size it has, but not validated.  Private faults
 * never map such a page (see snp_map_check()); this tells why a fault
 * refused.
 */
static bool snp_gpa_unvalidated(struct kvm_vcpu *vcpu, gpa_t gpa)
{
	struct kvm_snp *snp = snp_of(vcpu->kvm);
	gfn_t gfn = gpa_to_gfn(gpa);
	struct kvm_memory_slot *slot;
	struct snp_rmp_state st;
	kvm_pfn_t pfn;
	int order;
	u64 code;

	if (!snp || !kvm_mem_is_private(vcpu->kvm, gfn))
		return false;
	slot = gfn_to_memslot(vcpu->kvm, gfn);
	if (!slot || !kvm_slot_can_be_private(slot) ||
	    kvm_gmem_get_pfn(vcpu->kvm, slot, gfn, &pfn, &order))
		return false;
	kvm_release_pfn_clean(pfn);

	snp_model_rmpread(snp_model(), pfn, &st);
	return snp_model_guest_access(snp_model(), snp->asid, 0, gpa, pfn,
				      st.huge ? PG_LEVEL_2M : PG_LEVEL_4K,
				      SNP_ACCESS_ENC, &code) == SNP_ACCESS_VC;
}

/**
 * snp_handle_npf - what a nested page fault of an SNP guest ends in
 * @vcpu: the vCPU
 * @gpa: the faulting GPA
 * @r: what kvm_mmu_page_fault() returned for it
 *
 * A private fault refused because the guest has not validated the page
 * is, on the hardware, an access that raises #VC with the error code
 * 0x404 in the guest: inject it and resume the guest.
 *
 * Return: @r, or 1 when the guest gets #VC.
 */
int snp_handle_npf(struct kvm_vcpu *vcpu, gpa_t gpa, int r)
{
	if (r != -EFAULT || !snp_gpa_unvalidated(vcpu, gpa))
		return r;
	kvm_queue_exception_e(vcpu, X86_TRAP_VC, SNP_VC_PAGE_NOT_VALIDATED);
	atomic_long_inc(&to_snp(vcpu->kvm)->nr_vc);
	return 1;
}

/*
 * The nested page fault the hardware takes when the instruction's page is
 * not the guest's in the RMP: PSMASH on a size mismatch, fault a private
 * page in, and execute the instruction again; a page that is not private
 * is user space's business (KVM_EXIT_MEMORY_FAULT), as upstream treats an
 * RMP fault on a shared GFN.
 */
static int snp_insn_npf(struct kvm_vcpu *vcpu, gpa_t gpa, kvm_pfn_t pfn, u64 err)
{
	gfn_t gfn_2m = ALIGN_DOWN(gpa_to_gfn(gpa), PTRS_PER_PMD);
	int r;

	if (pfn && (err & SNP_NPF_SIZEM)) {
		snp_psmash(pfn);
		/* No 2 MiB NPT entry may outlive the 2 MiB RMP page. */
		kvm_zap_gfn_range(vcpu->kvm, gfn_2m, gfn_2m + PTRS_PER_PMD);
		return 1;
	}
	if (!pfn) {
		kvm_prepare_memory_fault_exit(vcpu, gpa & PAGE_MASK, PAGE_SIZE, true);
		return -EFAULT;
	}
	r = kvm_mmu_page_fault(vcpu, gpa, PFERR_WRITE_MASK | PFERR_USER_MASK, NULL, 0);
	/* Assigned now, and not mapped until validated: what PVALIDATE needs. */
	if (r == -EFAULT && snp_gpa_unvalidated(vcpu, gpa))
		return 1;
	return r;
}

static void snp_zap_validated(struct kvm *kvm, gpa_t gpa, bool huge)
{
	gfn_t n = huge ? PTRS_PER_PMD : 1;
	gfn_t gfn = ALIGN_DOWN(gpa_to_gfn(gpa), n);

	kvm_zap_gfn_range(kvm, gfn, gfn + n);
}

static int snp_page_insn(struct kvm_vcpu *vcpu, struct kvm_snp *snp, bool pvalidate)
{
	struct snp_insn_result res;
	kvm_pfn_t pfn;
	gpa_t gpa;
	u64 rflags;

	if (snp_insn_page(vcpu, &gpa, &pfn))
		return 1;
	if (pvalidate)
		snp_model_pvalidate(snp_model(), snp->asid, 0, gpa, pfn,
				    kvm_rcx_read(vcpu), kvm_rdx_read(vcpu), &res);
	else
		snp_model_rmpadjust(snp_model(), snp->asid, 0, gpa, pfn,
				    kvm_rcx_read(vcpu), kvm_rdx_read(vcpu), &res);
	switch (res.outcome) {
	case SNP_INSN_DONE:
		/*
		 * A page the guest rescinded must fault again (#VC) on its
		 * next access, as the hardware checks Validated each time.
		 */
		if (pvalidate && !res.rax && !res.cf && !kvm_rdx_read(vcpu))
			snp_zap_validated(vcpu->kvm, gpa, kvm_rcx_read(vcpu) & 1);
		kvm_rax_write(vcpu, res.rax);
		rflags = kvm_get_rflags(vcpu) & ~(X86_EFLAGS_CF | X86_EFLAGS_PF |
						  X86_EFLAGS_AF | X86_EFLAGS_ZF |
						  X86_EFLAGS_SF | X86_EFLAGS_OF);
		kvm_set_rflags(vcpu, rflags | (res.cf ? X86_EFLAGS_CF : 0));
		snp_skip_insn(vcpu);
		return 1;
	case SNP_INSN_NPF:
		return snp_insn_npf(vcpu, gpa, pfn, res.npf_error);
	default:
		kvm_inject_gp(vcpu, 0);
		return 1;
	}
}

/**
 * snp_handle_insn - a #UD or VMMCALL exit of an SEV-ES or SNP guest
 * @vcpu: the vCPU
 * @vmmcall: the exit was VMMCALL's, which only VMGEXIT is
 *
 * VMGEXIT for both; PVALIDATE and RMPADJUST for SNP guests only.
 *
 * Return: what an exit handler returns (1: back to the guest, 0: to user
 * space, < 0: error), or -ENOENT when the instruction is none of the
 * guest's, or the VM is neither: KVM's usual handling follows.
 */
int snp_handle_insn(struct kvm_vcpu *vcpu, bool vmmcall)
{
	struct kvm_snp *snp = sev_es_of(vcpu->kvm);
	struct x86_exception e;
	u8 insn[SNP_INSN_LEN];

	if (!snp || !is_64_bit_mode(vcpu))
		return -ENOENT;
	if (kvm_read_guest_virt(vcpu, kvm_rip_read(vcpu), insn, sizeof(insn), &e))
		return -ENOENT;
	if (!memcmp(insn, snp_insn_vmgexit, sizeof(insn)))
		return snp_vmgexit(vcpu, snp);
	if (vmmcall || !snp_of(vcpu->kvm))
		return -ENOENT;
	if (!memcmp(insn, snp_insn_pvalidate, sizeof(insn)))
		return snp_page_insn(vcpu, snp, true);
	if (!memcmp(insn, snp_insn_rmpadjust, sizeof(insn)))
		return snp_page_insn(vcpu, snp, false);
	return -ENOENT;
}

/* ---- The backend -------------------------------------------------------- */

/*
 * A private fault found @pfn, which guest_memfd does not know as the
 * guest's yet: assign it (2 MiB where guest_memfd asks for the whole
 * folio) to the guest's ASID at @gfn.  A page never launched is not
 * validated, as on hardware: the guest PVALIDATEs it.  Before INIT2 there
 * is no ASID to give it to: user space hears of the fault.
 */
static int snp_make_private(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn, int order)
{
	struct kvm_snp *snp = to_snp(kvm);
	struct snp_rmpupdate_desc d = {
		.gpa		= gfn_to_gpa(gfn),
		.assigned	= 1,
		.pagesize	= order == SNP_ORDER_2M,
		.asid		= snp->asid,
	};
	int rc;

	/* KVM_EXIT_MEMORY_FAULT comes with EFAULT (api.rst). */
	if (!smp_load_acquire(&snp->active))
		return -EFAULT;
	if (order && order != SNP_ORDER_2M)
		return -EBUSY;
	rc = snp_rmpupdate(pfn, &d);
	if (rc == SNP_RMP_FAIL_OVERLAP && order)
		return -EBUSY;
	if (rc)
		return -EIO;
	atomic_long_add(1L << order, &snp->nr_private);
	return 0;
}

/* No NPT entry larger than the RMP entry it maps. */
static int snp_max_level(struct kvm *kvm, kvm_pfn_t pfn, gfn_t gfn)
{
	struct snp_rmp_state st;

	snp_model_rmpread(snp_model(), pfn, &st);
	return st.assigned && st.huge ? PG_LEVEL_2M : PG_LEVEL_4K;
}

/*
 * The RMP check the hardware makes of a private NPT entry, made before the
 * entry exists: what it would refuse is never mapped.  A 4 KiB entry over
 * a 2 MiB RMP page is PSMASHed and retried, as upstream handles the
 * size-mismatch fault; any other mismatch goes to user space.
 */
static int snp_map_check(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int level)
{
	struct kvm_snp *snp = to_snp(kvm);
	struct snp_rmp_state st;
	u64 bits;

	bits = snp_model_npt_check(snp_model(), snp->asid, gfn_to_gpa(gfn), pfn,
				   level, true);
	if (!bits) {
		/*
		 * The hardware maps an unvalidated page and raises #VC at
		 * each access; the emulator checks nothing at access time,
		 * so the page stays unmapped until the guest validates it,
		 * and each access faults (snp_handle_npf()).
		 */
		snp_model_rmpread(snp_model(), pfn, &st);
		return st.validated ? 0 : -EFAULT;
	}
	/* Under mmu_lock: one PSMASH, and a busy entry retries the fault. */
	if ((bits & SNP_NPF_SIZEM) && level == PG_LEVEL_4K &&
	    snp_max_level(kvm, pfn, gfn) == PG_LEVEL_2M) {
		switch (snp_model_psmash(snp_model(), PFN_PHYS(ALIGN_DOWN(pfn, PTRS_PER_PMD)))) {
		case SNP_RMP_SUCCESS:
		case SNP_RMP_FAIL_INUSE:
			return -EAGAIN;
		default:
			return -EFAULT;
		}
	}
	pr_debug("NPT entry for gfn %#llx refused by the RMP: %#llx\n", gfn, bits);
	return -EFAULT;
}

/* After LAUNCH_FINISH the register state is the guest's, as with a VMSA. */
static bool snp_state_protected(struct kvm *kvm)
{
	struct kvm_snp *snp = to_snp(kvm);

	return READ_ONCE(snp->finished);
}

/*
 * guest_memfd is about to let @pfn go (punch, file release): back to the
 * hypervisor.  The file holds the VM, so @kvm is alive.
 */
static void snp_reclaim_page(struct kvm *kvm, kvm_pfn_t pfn)
{
	struct kvm_snp *snp = to_snp(kvm);

	snp_make_shared(pfn);
	atomic_long_dec(&snp->nr_private);
}

static int snp_vm_init(struct kvm *kvm)
{
	struct kvm_snp *snp;

	snp = kzalloc(sizeof(*snp), GFP_KERNEL_ACCOUNT);
	if (!snp)
		return -ENOMEM;
	snp->ghcb_msr = kvcalloc(KVM_MAX_VCPUS, sizeof(*snp->ghcb_msr), GFP_KERNEL_ACCOUNT);
	if (!snp->ghcb_msr) {
		kfree(snp);
		return -ENOMEM;
	}
	snp->kvm = kvm;
	kvm->arch.private_state = snp;
	INIT_LIST_HEAD(&snp->link);
	/* The audit and the attack knob are about SNP guests only. */
	if (kvm->arch.private_backend != &snp_backend)
		return 0;
	mutex_lock(&snp_vms_lock);
	list_add_tail(&snp->link, &snp_vms);
	mutex_unlock(&snp_vms_lock);
	return 0;
}

/*
 * The last reference is gone, so every guest_memfd file of the VM has been
 * released and has given its pages back already.
 */
static void snp_vm_destroy(struct kvm *kvm)
{
	struct kvm_snp *snp = to_snp(kvm);

	if (!snp)
		return;
	mutex_lock(&snp_vms_lock);
	list_del(&snp->link);
	mutex_unlock(&snp_vms_lock);
	WARN_ON_ONCE(atomic_long_read(&snp->nr_private));
	if (snp->gctx)
		snp_decommission(snp);
	if (snp->handle)
		sev_decommission(snp->handle);
	if (snp->active)
		snp_asid_free(snp->asid);
	kvm->arch.private_state = NULL;
	kvfree(snp->ghcb_msr);
	kfree(snp);
}

/* ---- debugfs: the invariant audit and the attack knob ------------------ */

struct snp_audit {
	struct seq_file *sf;
	struct kvm_snp *snp;
	unsigned long leaves;
	unsigned long violations;
	unsigned long direct_mapped;
};

/* At most this many violations are shown one by one, per VM. */
#define SNP_AUDIT_SHOW		8

/*
 * One present private NPT entry: the RMP check the hardware would make of
 * an access through it (this guest's ASID, the entry's GPA, the entry's
 * size, mutable), and Validated, without which no access may go through
 * (#VC), so none may be mapped here.
 */
static void snp_audit_leaf(struct kvm *kvm, gfn_t gfn, kvm_pfn_t pfn, int level,
			   void *data)
{
	struct snp_audit *a = data;
	struct snp_rmp_state st;
	u64 bits;

	a->leaves++;
	bits = snp_model_npt_check(snp_model(), a->snp->asid, gfn_to_gpa(gfn), pfn,
				   level, true);
	snp_model_rmpread(snp_model(), pfn, &st);
	if (!bits && st.validated)
		return;
	if (a->violations++ < SNP_AUDIT_SHOW)
		seq_printf(a->sf,
			   "violation asid %u gfn %llx pfn %llx level %d npf %llx rmp asid %u gpa %llx assigned %d huge %d validated %d\n",
			   a->snp->asid, gfn, pfn, level, bits, st.asid, st.gpa,
			   st.assigned, st.huge, st.validated);
}

/* A guest's page that the host kernel can still reach through its direct map. */
static void snp_audit_direct_map(u64 pfn, const struct snp_rmp_state *st, void *data)
{
	struct snp_audit *a = data;
	unsigned int level;
	pte_t *pte;

	if (!pfn_valid(pfn))
		return;
	pte = lookup_address((unsigned long)pfn_to_kaddr(pfn), &level);
	if (pte && pte_present(*pte))
		a->direct_mapped++;
}

/*
 * The invariants of SNP guests' private memory, checked now: for every
 * SNP VM, every present private NPT entry is one the RMP accepts for an
 * access (owner, GPA, size, mutable) of a validated page; and how many
 * guest-assigned pages the direct map still reaches (0 unless private
 * memory keeps them there: privmem.direct_map=1).  Tests read it after
 * each step; it is exact while the VMs it walks do not change.
 */
static int snp_audit_show(struct seq_file *sf, void *unused)
{
	struct snp_audit total = { .sf = sf };
	struct kvm_snp *snp;

	mutex_lock(&snp_vms_lock);
	list_for_each_entry(snp, &snp_vms, link) {
		struct snp_audit a = { .sf = sf, .snp = snp };

		/* Pairs with INIT2's release: the ASID is set. */
		if (!smp_load_acquire(&snp->active))
			continue;
		kvm_tdp_mmu_walk_private_leaves(snp->kvm, snp_audit_leaf, &a);
		seq_printf(sf, "vm asid %u private_leaves %lu violations %lu vc %lu\n",
			   snp->asid, a.leaves, a.violations, atomic_long_read(&snp->nr_vc));
		total.leaves += a.leaves;
		total.violations += a.violations;
	}
	mutex_unlock(&snp_vms_lock);
	snp_model_walk_assigned(snp_model(), snp_audit_direct_map, &total);
	seq_printf(sf, "private_leaves %lu\nviolations %lu\ndirect_mapped %lu\n",
		   total.leaves, total.violations, total.direct_mapped);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(snp_audit);

/*
 * "reassign ASID GPA TO_ASID TO_GPA": what a buggy or hostile host could
 * do with RMPUPDATE, which does not refuse it: give the page of the guest
 * with ASID at GPA to TO_ASID at TO_GPA (the same guest at another GPA, or
 * another guest), leaving the victim's NPT entry as it is.  The audit
 * then shows the stale entry.
 * "flush ASID GPA": the next access of that guest at GPA goes through the
 * RMP check again, as every access does on the hardware; the emulator
 * keeps translations, so drop them.  The victim then faults.
 */
static int snp_attack(u32 asid, gpa_t gpa, u32 to_asid, gpa_t to_gpa, bool reassign)
{
	struct snp_rmpupdate_desc d = {
		.gpa		= to_gpa,
		.assigned	= 1,
		.asid		= to_asid,
	};
	struct kvm_memory_slot *slot;
	struct snp_rmp_state st;
	struct kvm_snp *snp;
	gfn_t gfn = gpa_to_gfn(gpa);
	kvm_pfn_t pfn;
	int r = -ESRCH, order, idx;

	mutex_lock(&snp_vms_lock);
	list_for_each_entry(snp, &snp_vms, link) {
		/* Pairs with INIT2's release: the ASID is set. */
		if (!smp_load_acquire(&snp->active) || snp->asid != asid)
			continue;
		/* The zap and the lookup walk the memslots. */
		idx = srcu_read_lock(&snp->kvm->srcu);
		if (!reassign) {
			kvm_zap_gfn_range(snp->kvm, gfn, gfn + 1);
			r = 0;
		} else {
			slot = gfn_to_memslot(snp->kvm, gfn);
			r = -ENOENT;
			if (slot && kvm_slot_can_be_private(slot) &&
			    !kvm_gmem_get_pfn(snp->kvm, slot, gfn, &pfn, &order)) {
				kvm_release_pfn_clean(pfn);
				/*
				 * Only a page guest_memfd knows as the
				 * victim's: it gives it back at the end.
				 */
				snp_model_rmpread(snp_model(), pfn, &st);
				if (st.assigned && st.asid == asid)
					r = snp_rmpupdate(pfn, &d) ? -EIO : 0;
			}
		}
		srcu_read_unlock(&snp->kvm->srcu, idx);
		break;
	}
	mutex_unlock(&snp_vms_lock);
	return r;
}

static ssize_t snp_attack_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	u64 gpa, to_gpa;
	u32 asid, to_asid;
	char buf[128];
	int r;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	if (sscanf(buf, "reassign %u %llx %u %llx", &asid, &gpa, &to_asid, &to_gpa) == 4) {
		if (!to_asid || to_asid > SNP_MODEL_MAX_ASID || !PAGE_ALIGNED(gpa) ||
		    !PAGE_ALIGNED(to_gpa))
			return -EINVAL;
		r = snp_attack(asid, gpa, to_asid, to_gpa, true);
	} else if (sscanf(buf, "flush %u %llx", &asid, &gpa) == 2) {
		r = snp_attack(asid, gpa, 0, 0, false);
	} else {
		return -EINVAL;
	}
	return r ? r : count;
}

static const struct file_operations snp_attack_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= snp_attack_write,
	.llseek	= noop_llseek,
};

static void __init snp_debugfs_init(void)
{
	snp_debugfs_dir = debugfs_create_dir("kvm_snp", NULL);
	debugfs_create_file("audit", 0400, snp_debugfs_dir, NULL, &snp_audit_fops);
	debugfs_create_file("attack", 0200, snp_debugfs_dir, NULL, &snp_attack_fops);
}

/*
 * The model is there and initialised, and private memory maps through NPT
 * (kvm_private_backend_get() adds the TDP MMU).
 */
static bool snp_available(void)
{
	return snp_ready && npt_enabled;
}

static const struct kvm_private_backend snp_backend = {
	.name		= "sev-snp",
	.vm_type	= KVM_X86_SNP_VM,
	.available	= snp_available,
	.vm_init	= snp_vm_init,
	.vm_destroy	= snp_vm_destroy,
	.make_private	= snp_make_private,
	.max_level	= snp_max_level,
	.reclaim	= snp_reclaim_page,
	.map_check	= snp_map_check,
	.state_protected = snp_state_protected,
	.mem_enc_ioctl	= snp_mem_enc_ioctl,
};

static bool sev_available(void)
{
	return sev_ready && snp_available();
}

/*
 * Plain SEV and SEV-ES VMs: their memory is encrypted in place, none of it
 * is private in guest_memfd's sense (no_private_mem), as upstream.
 */
static const struct kvm_private_backend sev_backend = {
	.name		= "sev",
	.vm_type	= KVM_X86_SEV_VM,
	.no_private_mem	= true,
	.available	= sev_available,
	.vm_init	= snp_vm_init,
	.vm_destroy	= snp_vm_destroy,
	.mem_enc_ioctl	= sev_legacy_mem_enc_ioctl,
};

static const struct kvm_private_backend sev_es_backend = {
	.name		= "sev-es",
	.vm_type	= KVM_X86_SEV_ES_VM,
	.no_private_mem	= true,
	.available	= sev_available,
	.vm_init	= snp_vm_init,
	.vm_destroy	= snp_vm_destroy,
	.state_protected = sev_state_protected,
	.mem_enc_ioctl	= sev_legacy_mem_enc_ioctl,
};

/*
 * SEV INIT the platform too, and offer VM types 2 and 3, which upstream's
 * clients try before SNP.
 */
static void __init sev_backend_setup(void)
{
	int r, fw_err;

	r = snp_model_fw_cmd(snp_model(), SEV_CMD_INIT, NULL, &fw_err);
	if (r && !(r == -EIO && fw_err == SNP_FW_INVALID_PLATFORM_STATE)) {
		pr_warn("SEV INIT of the model failed: %d (%#x)\n", r, fw_err);
		return;
	}
	sev_ready = true;
	r = kvm_private_backend_register(&sev_backend);
	if (!r) {
		r = kvm_private_backend_register(&sev_es_backend);
		if (r)
			kvm_private_backend_unregister(&sev_backend);
	}
	if (r) {
		sev_ready = false;
		pr_warn("cannot register the SEV backends: %d\n", r);
	}
}

/*
 * From kvm-amd's hardware setup: SNP_INIT the platform, as the PSP driver
 * does on an SNP host, and offer VM type 4.  A platform initialised
 * already (INVALID_PLATFORM_STATE) is as good.
 */
void __init snp_backend_setup(void)
{
	int r, fw_err;

	if (!snp_model() || !npt_enabled)
		return;
	r = snp_model_fw_cmd(snp_model(), SNP_CMD_INIT, NULL, &fw_err);
	if (r && !(r == -EIO && fw_err == SNP_FW_INVALID_PLATFORM_STATE)) {
		pr_warn("SNP_INIT of the model failed: %d (%#x)\n", r, fw_err);
		return;
	}
	snp_ready = true;
	r = kvm_private_backend_register(&snp_backend);
	if (r) {
		snp_ready = false;
		pr_warn("cannot register the SNP backend: %d\n", r);
		return;
	}
	snp_debugfs_init();
	sev_backend_setup();
	pr_info("SEV-SNP guests on the firmware MODEL (tests only)\n");
}

void snp_backend_unsetup(void)
{
	if (!snp_ready)
		return;
	debugfs_remove_recursive(snp_debugfs_dir);
	if (sev_ready) {
		kvm_private_backend_unregister(&sev_es_backend);
		kvm_private_backend_unregister(&sev_backend);
		sev_ready = false;
	}
	kvm_private_backend_unregister(&snp_backend);
	snp_ready = false;
}
